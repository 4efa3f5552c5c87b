"""The dashboard's words, in Russian and English as an owner speaks them (no code words, no English in the
Russian). Report words (channels, fields, periods, money) come from `reports/i18n.py`, as the bot's do;
these are the page's own: titles, buttons, sign-in and refusals.

Each part of the dashboard keeps its words in its own section below, marked by a comment.
"""

from __future__ import annotations

from reports.i18n import Lang

TEXTS: dict[Lang, dict[str, str]] = {
    "ru": {
        # page --------------------------------------------------------------------------------------
        "title": "Отчёты",
        "dialogs": "Заявки",
        "nav": "Разделы",
        "period": "Период",
        "p_today": "Сегодня",
        "p_7d": "7 дней",
        "p_30d": "30 дней",
        "p_month": "Этот месяц",
        "p_last_month": "Прошлый месяц",
        "p_quarter": "Квартал",
        "p_year": "Год",
        "p_custom": "Свои даты",
        "p_from": "С",
        "p_to": "По",
        "show": "Показать",
        "filters": "Фильтры",
        "any": "Все",
        "clear_filters": "Сбросить фильтры",
        "remove_filter": "Убрать фильтр",
        "owner": "Владелец",
        "loading": "Загружается…",
        "load_failed": "Не удалось загрузить.",
        "retry": "Повторить",
        "sign_out": "Выйти",
        # sign-in ---------------------------------------------------------------------------------------
        "signin_title": "Вход в отчёты",
        "signin_signed_out": "Чтобы открыть отчёты, отправьте боту команду /web: он пришлёт ссылку для входа "
        "(она действует 10 минут и один раз). В Telegram отчёты открывает кнопка «Отчёты» в чате с ботом.",
        "signin_telegram": "Входим через Telegram…",
        "signin_network": "Сервер не ответил. Проверьте связь и откройте отчёты снова.",
        "signin_stranger": "Отчёты открыты только владельцам и сотрудникам. Попросите владельца пригласить вас.",
        "signin_csrf": "Запрос пришёл не со страницы отчётов и не выполнен. Обновите страницу и повторите.",
        "signin_forged": "Telegram не подтвердил данные для входа. Закройте отчёты и откройте их снова кнопкой "
        "«Отчёты» в чате с ботом.",
        "signin_expired": "Данные для входа устарели. Закройте отчёты и откройте их снова кнопкой «Отчёты» "
        "в чате с ботом.",
        "signin_replayed": "Эти данные для входа уже использованы. Закройте отчёты и откройте их снова кнопкой "
        "«Отчёты» в чате с ботом.",
        "signin_no_bot": "Вход через Telegram недоступен: к серверу не подключён бот.",
        "signin_bad_request": "В запросе нет данных для входа из Telegram.",
        "signin_link_used": "Ссылка для входа уже использована или устарела: она действует 10 минут и один раз. "
        "Отправьте боту /web, чтобы получить новую.",
        "signin_login_text": "Нажмите кнопку, чтобы войти в отчёты.",
        "signin_login_button": "Войти",
        # widgets ---------------------------------------------------------------------------------------
        "w_summary": "Новые и повторные",
        "w_summary_chart": "Доли новых и повторных диалогов: {period}",
        "w_dynamics": "Динамика по каналам",
        "w_bucket": "Шаг графика",
        "w_bucket_day": "Дни",
        "w_bucket_week": "Недели",
        "w_bucket_month": "Месяцы",
        "w_bucket_quarter": "Кварталы",
        "w_money": "Расходы и выручка",
        "w_money_spend": "Расход",
        "w_money_leads": "Заявки",
        "w_money_cost_per_lead": "Цена заявки",
        "w_money_sales": "Продажи",
        "w_money_revenue": "Выручка",
        "w_money_romi": "Окупаемость",
        "w_team": "Скорость ответа",
        "w_team_taken": "Взяли",
        "w_team_answered": "Ответили",
        "w_team_median": "Первый ответ, медиана",
        "w_team_p90": "9 из 10 ответили за",
        "w_team_waited": "Ждали дольше {time}",
        "w_team_median_minutes": "Первый ответ, медиана, мин",
        # dialogs ---------------------------------------------------------------------------------------
    },
    "en": {
        # page --------------------------------------------------------------------------------------
        "title": "Reports",
        "dialogs": "Leads",
        "nav": "Sections",
        "period": "Period",
        "p_today": "Today",
        "p_7d": "7 days",
        "p_30d": "30 days",
        "p_month": "This month",
        "p_last_month": "Last month",
        "p_quarter": "Quarter",
        "p_year": "Year",
        "p_custom": "Custom dates",
        "p_from": "From",
        "p_to": "To",
        "show": "Show",
        "filters": "Filters",
        "any": "Any",
        "clear_filters": "Clear filters",
        "remove_filter": "Remove filter",
        "owner": "Owner",
        "loading": "Loading…",
        "load_failed": "Could not load.",
        "retry": "Retry",
        "sign_out": "Sign out",
        # sign-in ---------------------------------------------------------------------------------------
        "signin_title": "Signing in to the reports",
        "signin_signed_out": "To open the reports, send /web to the bot: it answers with a link to sign in "
        "(valid for 10 minutes, once). In Telegram, the «Reports» button in the bot's chat opens them.",
        "signin_telegram": "Signing in through Telegram…",
        "signin_network": "The server did not answer. Check the connection and open the reports again.",
        "signin_stranger": "The reports are for the owners and the staff only. Ask an owner to invite you.",
        "signin_csrf": "The request did not come from the reports page and was not carried out. Reload the page "
        "and try again.",
        "signin_forged": "Telegram did not confirm the sign-in data. Close the reports and open them again with "
        "the «Reports» button in the bot's chat.",
        "signin_expired": "The sign-in data is too old. Close the reports and open them again with the «Reports» "
        "button in the bot's chat.",
        "signin_replayed": "This sign-in data was used already. Close the reports and open them again with the "
        "«Reports» button in the bot's chat.",
        "signin_no_bot": "Signing in through Telegram is not available: no bot is connected to the server.",
        "signin_bad_request": "The request carries no sign-in data from Telegram.",
        "signin_link_used": "This sign-in link was used already or has expired: it is valid for 10 minutes, once. "
        "Send /web to the bot for a new one.",
        "signin_login_text": "Press the button to sign in to the reports.",
        "signin_login_button": "Sign in",
        # widgets ---------------------------------------------------------------------------------------
        "w_summary": "New and repeat",
        "w_summary_chart": "Shares of new and repeat dialogs: {period}",
        "w_dynamics": "Dynamics by channel",
        "w_bucket": "Chart step",
        "w_bucket_day": "Days",
        "w_bucket_week": "Weeks",
        "w_bucket_month": "Months",
        "w_bucket_quarter": "Quarters",
        "w_money": "Spend and revenue",
        "w_money_spend": "Spend",
        "w_money_leads": "Leads",
        "w_money_cost_per_lead": "Cost per lead",
        "w_money_sales": "Sales",
        "w_money_revenue": "Revenue",
        "w_money_romi": "ROMI",
        "w_team": "Response times",
        "w_team_taken": "Taken",
        "w_team_answered": "Answered",
        "w_team_median": "First response, median",
        "w_team_p90": "9 in 10 answered within",
        "w_team_waited": "Waited over {time}",
        "w_team_median_minutes": "First response, median, min",
        # dialogs ---------------------------------------------------------------------------------------
    },
}


def t(lang: Lang, key: str, **values: object) -> str:
    """The text `key` in `lang` with `{name}` values filled in (templates escape it when they print it)."""
    template = TEXTS[lang][key]
    return template.format(**values) if values else template
