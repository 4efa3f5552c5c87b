"""Words and number formats of the reports, in Russian and English. Plain text: callers escape."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime, timedelta, tzinfo
from decimal import ROUND_HALF_UP, Decimal
from typing import Literal
from zoneinfo import ZoneInfo

import phonenumbers

from reports.periods import Period
from tracking.geo import region_country
from tracking.models import NAME_LIMIT, AttributionStatus, Dialog, Messenger
from tracking.pages import page_label
from tracking.periods import bucket_start
from tracking.reasons import Reason, ReasonKind, parse_reason
from tracking.store.base import CUSTOMER, CUSTOMERS, NOT_TAKEN, TAKEN_BY, Bucket
from tracking.strings import one_line

STATUSES = frozenset(status.value for status in AttributionStatus)

Lang = Literal["ru", "en"]
LANGS: tuple[Lang, ...] = ("ru", "en")
DEFAULT_LANG: Lang = "ru"


def normalise_lang(code: str | None) -> Lang:
    """A Telegram language_code ("ru", "en-US", "uk"...) → the report language we speak."""
    if not code:
        return DEFAULT_LANG
    head = code.lower().split("-")[0].split("_")[0]
    if head in ("ru", "uk", "be", "kk", "uz", "ky", "tg"):
        return "ru"
    return "en"


WORDS: dict[Lang, dict[str, str]] = {
    "ru": {
        # reports
        "summary": "Сводка",
        "dialogs": "Диалоги",
        "new": "Новые",
        "repeat": "Повторные",
        "channels": "Каналы",
        "pages_contact": "Страницы, с которых написали",
        "pages_landing": "Страницы входа",
        "drilldown": "Детализация",
        "dynamics": "Динамика",
        "comparison": "Сравнение",
        "change": "Изменение",
        "total": "Всего",
        "rest": "Остальные",
        "other": "Прочее",
        "not_set": "(не задано)",
        "no_dialogs": "Диалогов нет.",
        "so_far": "пока",
        "cut_at": "до {time} — по то же время",
        "in_full": "целиком",
        "side_a": "А",
        "side_b": "Б",
        "filters": "Фильтр",
        "vs": "против",
        "was_none": "не было",
        "against_day_before": "К предыдущему дню",
        "against_week_ago": "К тому же дню неделю назад",
        "daily_title": "Итоги дня",
        "top_channels": "Каналы",
        "top_pages": "Страницы, с которых написали",
        "chart_dialogs": "Диалоги по каналам",
        "chart_context": "на фоне предыдущих дней",
        "chart_days_by_month": "дни сложены по месяцам",
        "history": "Прошлые обращения",
        "no_history": "Раньше обращений не было",
        "alert_withheld": "Оповещение не отправлено: слишком много обращений с этого контакта за час",
        "card": "Карточка диалога",
        "attribution": "Откуда клиент",
        "visit": "Посещение сайта",
        "device_block": "Устройство",
        "contact": "Контакт",
        "first_message_block": "Первое сообщение",
        "dialog_not_found": "Диалог не найден.",
        # card values
        "customer_new": "новый клиент",
        "customer_repeat": "повторный клиент",
        "status_exact": "точно, по коду из ссылки",
        "status_unknown_code": "код неизвестен или устарел",
        "status_ad_referral": "по данным рекламного объявления",
        "status_probable": "вероятно: клик по ссылке на сайте без кода",
        "status_none": "источник неизвестен",
        # exports (CSV, Excel): values, sheet names (≤ 31 characters), headers, notes
        "export_new": "новый",
        "export_repeat": "повторный",
        "tag_qualified": "Целевой",
        "tag_sale": "Продажа",
        "tag_spam": "Спам",
        # a dialog's sales on its card and alert (reports/card.sales_line)
        "sale_line_one": "Продажа",
        "sale_line_many": "Продажи",
        "sale_no_amount": "сумма не указана",
        "sheet_sources": "Источники",
        "sheet_campaigns": "Кампании",
        "sheet_by_day": "По дням",
        "day": "День",
        "share": "Доля",
        "period": "Период",
        "created": "Выгружено",
        "export_cut": "Показаны первые {shown} из {total} диалогов: для полного списка выберите период короче.",
        # why a dialog got its status (tracking/reasons.py), the daily summary's earlier count, time zones
        "reason_code_unknown": "код {code} не найден среди посещений сайта или устарел",
        "reason_code_unknown_ad": "код {code} не найден или устарел; клиент пришёл из рекламы с кнопкой WhatsApp",
        "reason_ad": "клиент пришёл из рекламы с кнопкой WhatsApp",
        "reason_only_click": "единственный клик по ссылке на этот номер за последние {minutes} мин",
        "reason_scored": "уверенность {confidence}",
        "reason_scored_kept": "сообщение совпадает с текстом ссылки на {kept}",
        "reason_scored_delay": "пришло через {delay} после нажатия на ссылку",
        "reason_scored_same_browser": "с этого браузера уже писали с этого номера",
        "reason_scored_code_part": "в сообщении осталась часть кода",
        "change_was": "было {count}",
        "zone_moscow": "МСК",
        "direct_visit": "прямой заход",
        # the tag filter's note (reports/tag_words.py); a count of dialogs in its grammatical form (plural_form)
        "tag_note_only": "Только с тегом «{tag}»",
        "tag_note_left_out_one": "Без {tags}: {count} не учтён",
        "tag_note_left_out_many": "Без {tags}: {count} не учтены",
        "tag_note_left_out_compare": "Без {tags}: не учтено диалогов — {a} и {b}",
        "tag_note_spam_included": "Спам учтён",
        "tag_note_custom": "тега «{tag}»",
        "tag_note_and": " и ",
        "tag_qualified_left_out": "целевых",
        "tag_sale_left_out": "продаж",
        "tag_spam_left_out": "спама",
        "dialogs_one": "{count} диалог",
        "dialogs_few": "{count} диалога",
        "dialogs_many": "{count} диалогов",
        # the team report (reports/team.py): who took leads, how fast the business answered
        "team_title": "Команда",
        "team_taken": "взяты в работу",
        "team_answered": "Ответили",
        "team_of": "{answered} из {known}",
        "team_first_response": "Первый ответ",
        "team_median": "медиана {time}",
        "team_p90": "90 % — за {time}",
        "team_late": "ждали ответа",
        "team_longer": "дольше {time}",
        "team_unknown": (
            "Об ответах неизвестно: {count} — сервис, через который подключён их номер, не сообщает об ответах компании"
        ),
        "team_row_unknown": "неизвестно — {count}",
        "team_people": "Кто взял заявки",
        "team_nobody": "Никто не взял",
        "taker_nobody": "никто",  # taken_by=none, under «Кто взял»
        "taker_user": "пользователь Telegram {id}",  # a taker whose name is not known
        "team_none_taken": "Заявки в работу пока никто не брал.",
        "team_cut": "Посчитаны первые {shown} диалогов: выберите период короче.",
        "team_unanswered_leads": "Без ответа",
        "and_more": "и ещё {count}",
        "answer_answered": "ответили",
        "answer_unanswered": "без ответа",
        "answer_unknown": "неизвестно",
        "answer_after": "через {time}",
        # a dialog's conversions and events sent to other systems, on its card (reports/card.delivery_line)
        "deliveries_block": "Передача в другие системы",
        "delivery_system_metrica": "Метрика",
        "delivery_system_ga4": "GA4",
        "delivery_system_event": "Вебхук",
        "delivery_goal_lead": "Заявка",
        "delivery_goal_qualified": "Целевая заявка",
        "delivery_goal_sale": "Продажа",
        "delivery_event_dialog.created": "новый диалог",
        "delivery_event_dialog.tagged": "теги",
        "delivery_event_dialog.taken": "взят в работу",
        "delivery_event_sale.recorded": "продажа",
        "delivery_sent_goal": "{system}: цель «{goal}» отправлена {time}",
        "delivery_sent_list": "{system}: отправлено — {items}",
        "delivery_sent_item": "«{name}» {time}",
        "delivery_sent_event": "{system}: событие «{event}» отправлено {time}",
        "delivery_what_goal": "цель «{goal}»",
        "delivery_what_event": "событие «{event}»",
        "delivery_refused": "{system}: {what} — ошибка: {reason}",
        "delivery_not_sent": "{system}: {what} — не отправлено: {reason}",
        "delivery_waiting": "{system}: {what} — отправится {time}",
        "delivery_waiting_after": "{system}: {what} — отправится {time} (прошлая попытка: {reason})",
        "delivery_reason_invalid_token": "неверный токен",
        "delivery_reason_no_access": "у токена нет доступа к счётчику",
        "delivery_reason_visit_too_old_one": "визит старше {days} дня",
        "delivery_reason_visit_too_old_many": "визит старше {days} дней",
        "delivery_reason_no_client_id": "у визита нет идентификатора посетителя",
        "delivery_reason_bad_client_id": "неверный идентификатор посетителя",
        "delivery_reason_no_goal": "не указана цель",
        "delivery_reason_no_event": "не указано событие",
        "delivery_reason_dialog_erased": "диалог удалён",
        "delivery_reason_sale_removed": "продажа отменена",
        "delivery_reason_quota": "превышен лимит запросов",
        "delivery_reason_http_error": "сервис ответил ошибкой {detail}",
        "delivery_reason_timeout": "сервис не ответил вовремя",
        "delivery_reason_connection_error": "нет связи с сервисом",
        "delivery_reason_not_yet_open": "загрузка в Метрику ещё не открыта",
        "delivery_reason_unknown": "ошибка",
        "delivery_reason_error": "внутренняя ошибка, подробности в журнале сервера",
        # money reports (reports/money.py): the «💰» view of /channels, the daily summary, the exports
        "money_spend": "расход",
        "money_leads": "заявок",
        "money_qualified": "целевых",
        "money_sales": "продаж",
        "money_revenue": "выручка",
        "money_cost_per_lead": "цена заявки",
        "money_cost_per_sale": "цена продажи",
        "money_romi": "окупаемость",
        "money_unmatched": "Расход без заявок",
        "money_no_costs": "Расходов на рекламу за этот период нет: их загружают из Директа или файлом.",
        "money_spend_unknown": "Расход не делится по этому фильтру: показаны заявки и продажи.",
        "money_daily": "Расход на рекламу: {spend} · цена заявки {cost_per_lead}",
        "sheet_costs": "Расходы",
        "origin_direct": "Директ",
        "origin_file": "файл",
        "bad_period": (
            "Не понял период «{text}». Примеры: сегодня, вчера, позавчера, неделя, прошлая неделя, "
            "последние 7 дней, за 2 недели, с понедельника, месяц, прошлый месяц, ноябрь, ноябрь 2025, "
            "с 1 по 15 ноября, 01.11–15.11, 3 квартал, 2025 год."
        ),
    },
    "en": {
        "summary": "Summary",
        "dialogs": "Dialogs",
        "new": "New",
        "repeat": "Repeat",
        "channels": "Channels",
        "pages_contact": "Pages of contact",
        "pages_landing": "Landing pages",
        "drilldown": "Drill-down",
        "dynamics": "Dynamics",
        "comparison": "Comparison",
        "change": "Change",
        "total": "Total",
        "rest": "The rest",
        "other": "Other",
        "not_set": "(not set)",
        "no_dialogs": "No dialogs.",
        "so_far": "so far",
        "cut_at": "until {time} — to the same time",
        "in_full": "in full",
        "side_a": "A",
        "side_b": "B",
        "filters": "Filter",
        "vs": "vs",
        "was_none": "none before",
        "against_day_before": "Against the day before",
        "against_week_ago": "Against the same weekday a week ago",
        "daily_title": "Daily summary",
        "top_channels": "Channels",
        "top_pages": "Pages of contact",
        "chart_dialogs": "Dialogs by channel",
        "chart_context": "against the days before it",
        "chart_days_by_month": "days added up by month",
        "history": "Earlier dialogs",
        "no_history": "No earlier dialogs",
        "alert_withheld": "No lead alert was sent: too many dialogs from this contact within an hour",
        "card": "Dialog card",
        "attribution": "Attribution",
        "visit": "Visit",
        "device_block": "Device",
        "contact": "Contact",
        "first_message_block": "First message",
        "dialog_not_found": "Dialog not found.",
        "customer_new": "new customer",
        "customer_repeat": "repeat customer",
        "status_exact": "by its code",
        "status_unknown_code": "code unknown or expired",
        "status_ad_referral": "from the provider's ad data",
        "status_probable": "probably: a click on a link without a code",
        "status_none": "not attributed",
        "export_new": "new",
        "export_repeat": "repeat",
        "tag_qualified": "Qualified",
        "tag_sale": "Sale",
        "tag_spam": "Spam",
        "sale_line_one": "Sale",
        "sale_line_many": "Sales",
        "sale_no_amount": "amount not given",
        "sheet_sources": "Sources",
        "sheet_campaigns": "Campaigns",
        "sheet_by_day": "By day",
        "day": "Day",
        "share": "Share",
        "period": "Period",
        "created": "Exported",
        "export_cut": "The first {shown} of {total} dialogs are shown: choose a shorter period for the full list.",
        "reason_code_unknown": "code {code} matches no site visit, or it expired",
        "reason_code_unknown_ad": "code {code} is unknown or expired; the customer came from a click-to-WhatsApp ad",
        "reason_ad": "the customer came from a click-to-WhatsApp ad",
        "reason_only_click": "the only click on a link to this number in the last {minutes} min",
        "reason_scored": "{confidence} sure",
        "reason_scored_kept": "the message keeps {kept} of the link's text",
        "reason_scored_delay": "came {delay} after the link was clicked",
        "reason_scored_same_browser": "this browser wrote from this number before",
        "reason_scored_code_part": "part of the code is left in the message",
        "change_was": "was {count}",
        "zone_moscow": "Moscow time",
        "direct_visit": "direct visit",
        "tag_note_only": "Only dialogs tagged “{tag}”",
        "tag_note_left_out_one": "{tags} left out: {count}",
        "tag_note_left_out_many": "{tags} left out: {count}",
        "tag_note_left_out_compare": "{tags} left out: {a} and {b} dialogs",
        "tag_note_spam_included": "Spam included",
        "tag_note_custom": "tag “{tag}”",
        "tag_note_and": " and ",
        "tag_qualified_left_out": "Qualified",
        "tag_sale_left_out": "Sale",
        "tag_spam_left_out": "Spam",
        "dialogs_one": "{count} dialog",
        "dialogs_few": "{count} dialogs",
        "dialogs_many": "{count} dialogs",
        "team_title": "Team",
        "team_taken": "taken",
        "team_answered": "Answered",
        "team_of": "{answered} of {known}",
        "team_first_response": "First response",
        "team_median": "median {time}",
        "team_p90": "90% within {time}",
        "team_late": "waited",
        "team_longer": "over {time}",
        "team_unknown": (
            "Replies unknown: {count} — the service their number is connected through does not report replies"
        ),
        "team_row_unknown": "unknown: {count}",
        "team_people": "Taken by",
        "team_nobody": "Nobody took",
        "taker_nobody": "nobody",
        "taker_user": "Telegram user {id}",
        "team_none_taken": "Nobody has taken a lead yet.",
        "team_cut": "The first {shown} dialogs are counted: choose a shorter period.",
        "team_unanswered_leads": "Unanswered",
        "and_more": "and {count} more",
        "answer_answered": "answered",
        "answer_unanswered": "unanswered",
        "answer_unknown": "unknown",
        "answer_after": "after {time}",
        "deliveries_block": "Sent to other systems",
        "delivery_system_metrica": "Metrica",
        "delivery_system_ga4": "GA4",
        "delivery_system_event": "Webhook",
        "delivery_goal_lead": "Lead",
        "delivery_goal_qualified": "Qualified lead",
        "delivery_goal_sale": "Sale",
        "delivery_event_dialog.created": "new dialog",
        "delivery_event_dialog.tagged": "tags",
        "delivery_event_dialog.taken": "taken",
        "delivery_event_sale.recorded": "sale",
        "delivery_sent_goal": "{system}: goal “{goal}” sent {time}",
        "delivery_sent_list": "{system}: sent — {items}",
        "delivery_sent_item": "“{name}” {time}",
        "delivery_sent_event": "{system}: event “{event}” sent {time}",
        "delivery_what_goal": "goal “{goal}”",
        "delivery_what_event": "event “{event}”",
        "delivery_refused": "{system}: {what} — error: {reason}",
        "delivery_not_sent": "{system}: {what} — not sent: {reason}",
        "delivery_waiting": "{system}: {what} — goes {time}",
        "delivery_waiting_after": "{system}: {what} — goes {time} (last attempt: {reason})",
        "delivery_reason_invalid_token": "wrong token",
        "delivery_reason_no_access": "the token has no access to the counter",
        "delivery_reason_visit_too_old_one": "visit older than {days} day",
        "delivery_reason_visit_too_old_many": "visit older than {days} days",
        "delivery_reason_no_client_id": "the visit has no visitor id",
        "delivery_reason_bad_client_id": "wrong visitor id",
        "delivery_reason_no_goal": "no goal",
        "delivery_reason_no_event": "no event",
        "delivery_reason_dialog_erased": "dialog erased",
        "delivery_reason_sale_removed": "sale removed",
        "delivery_reason_quota": "request limit reached",
        "delivery_reason_http_error": "the service answered with error {detail}",
        "delivery_reason_timeout": "the service did not answer in time",
        "delivery_reason_connection_error": "cannot reach the service",
        "delivery_reason_not_yet_open": "Metrica does not take uploads yet",
        "delivery_reason_unknown": "error",
        "delivery_reason_error": "internal error, see the server's log",
        "money_spend": "spend",
        "money_leads": "leads",
        "money_qualified": "qualified",
        "money_sales": "sales",
        "money_revenue": "revenue",
        "money_cost_per_lead": "cost per lead",
        "money_cost_per_sale": "cost per sale",
        "money_romi": "ROMI",
        "money_unmatched": "Spend without leads",
        "money_no_costs": "No ad spend for this period: it comes from Yandex Direct or a file.",
        "money_spend_unknown": "Spend cannot be split by this filter: leads and sales only.",
        "money_daily": "Ad spend: {spend} · cost per lead {cost_per_lead}",
        "sheet_costs": "Spend",
        "origin_direct": "Direct",
        "origin_file": "file",
        "bad_period": (
            "I don't know the period “{text}”. Examples: today, yesterday, week, last week, last 7 days, "
            "since monday, month, last month, november, november 2025, Nov 1-15, Q3, 2025, 2026-11-01..2026-11-15."
        ),
    },
}

CHANNELS: dict[Lang, dict[str, str]] = {
    "ru": {
        "paid_search": "Платный поиск",
        "organic_search": "Поиск без рекламы",
        "paid_social": "Реклама в соцсетях",
        "organic_social": "Соцсети",
        "email": "Рассылки",
        "referral": "Переходы с сайтов",
        "maps": "Карты и справочники",
        "display": "Баннерная реклама",
        "messenger": "Мессенджеры",
        "affiliate": "Партнёры",
        "other_campaign": "Другие кампании",
        "direct": "Прямые заходы",
        "unattributed": "Источник неизвестен",
    },
    "en": {
        "paid_search": "Paid search",
        "organic_search": "Organic search",
        "paid_social": "Paid social",
        "organic_social": "Organic social",
        "email": "Email",
        "referral": "Referral",
        "maps": "Maps and directories",
        "display": "Display",
        "messenger": "Messengers",
        "affiliate": "Affiliates",
        "other_campaign": "Other campaigns",
        "direct": "Direct",
        "unattributed": "Unattributed",
    },
}

# Maps and directories (tracking/channels.py stores one name for each) as people call them.
SOURCES: dict[Lang, dict[str, str]] = {
    "ru": {
        "yandex maps": "Яндекс Карты",
        "yandex uslugi": "Яндекс Услуги",
        "2gis": "2ГИС",
        "google maps": "Google Карты",
        "apple maps": "Apple Карты",
        "zoon": "Zoon",
        "yell": "Yell",
        "avito": "Авито",
        "profi.ru": "Профи",
        "flamp": "Фламп",
        "otzovik": "Отзовик",
        "tripadvisor": "Tripadvisor",
        # the big search engines and social networks, as utm_source and referrers name them
        "yandex": "Яндекс",
        "google": "Google",
        "vk": "ВКонтакте",
        "ok": "Одноклассники",
        "dzen": "Дзен",
        "instagram": "Instagram",
        "facebook": "Facebook",
        "youtube": "YouTube",
    },
    "en": {
        "yandex maps": "Yandex Maps",
        "yandex uslugi": "Yandex Services",
        "2gis": "2GIS",
        "google maps": "Google Maps",
        "apple maps": "Apple Maps",
        "zoon": "Zoon",
        "yell": "Yell",
        "avito": "Avito",
        "profi.ru": "Profi.ru",
        "flamp": "Flamp",
        "otzovik": "Otzovik",
        "tripadvisor": "Tripadvisor",
        "yandex": "Yandex",
        "google": "Google",
        "vk": "VK",
        "ok": "Odnoklassniki",
        "dzen": "Dzen",
        "instagram": "Instagram",
        "facebook": "Facebook",
        "youtube": "YouTube",
    },
}

# utm_medium values as an owner says them (GA4's names and the usual ones); an owner's own value reads as written.
MEDIUMS: dict[Lang, dict[str, str]] = {
    "ru": {
        "cpc": "оплата за клик",
        "ppc": "оплата за клик",
        "paid": "платная реклама",
        "paidsearch": "оплата за клик",
        "cpm": "оплата за показы",
        "cpv": "оплата за просмотры",
        "cpa": "оплата за действия",
        "retargeting": "ретаргетинг",
        "display": "баннеры",
        "banner": "баннеры",
        "organic": "без оплаты",
        "social": "соцсети",
        "referral": "переход по ссылке",
        "link": "переход по ссылке",
        "app": "приложение",
        "email": "рассылка",
        "newsletter": "рассылка",
        "messenger": "мессенджер",
        "sms": "СМС",
        "affiliate": "партнёры",
        "(none)": "прямой заход",
        "(not set)": "(не задано)",
    },
    "en": {
        "cpc": "cost per click",
        "ppc": "cost per click",
        "paid": "paid",
        "paidsearch": "cost per click",
        "cpm": "cost per impressions",
        "cpv": "cost per view",
        "cpa": "cost per action",
        "retargeting": "retargeting",
        "display": "banners",
        "banner": "banners",
        "organic": "organic",
        "social": "social",
        "referral": "referral link",
        "link": "referral link",
        "app": "app",
        "email": "email",
        "newsletter": "email",
        "messenger": "messenger",
        "sms": "SMS",
        "affiliate": "affiliates",
        "(none)": "direct visit",
        "(not set)": "(not set)",
    },
}

# The visitor's device kind (tracking/useragent.py).
DEVICES: dict[Lang, dict[str, str]] = {
    "ru": {"mobile": "телефон", "tablet": "планшет", "desktop": "компьютер", "bot": "робот"},
    "en": {"mobile": "phone", "tablet": "tablet", "desktop": "computer", "bot": "robot"},
}

# ua-parser's browser families (without "Mobile") that have a name of their own in the language.
BROWSERS: dict[Lang, dict[str, str]] = {
    "ru": {
        "Yandex Browser": "Яндекс Браузер",
        "Chrome WebView": "Chrome в приложении",
        "Safari UI/WKWebView": "Safari в приложении",
    },
    "en": {
        "Yandex Browser": "Yandex Browser",
        "Chrome WebView": "Chrome in an app",
        "Safari UI/WKWebView": "Safari in an app",
    },
}

FIELDS: dict[Lang, dict[str, str]] = {
    "ru": {
        "id": "Идентификатор диалога",
        "started": "Дата и время",
        "contact_name": "Имя",
        "contact_phone": "Телефон",
        "contact_id": "Идентификатор контакта",
        "messenger": "Мессенджер",
        "business_number": "Номер компании",
        "customer": "Клиент",
        "channel": "Канал",
        "source": "Источник",
        "medium": "Тип перехода",
        "campaign": "Кампания",
        "content": "Объявление",
        "term": "Ключевое слово",
        "gclid": "gclid",
        "yclid": "yclid",
        "fbclid": "fbclid",
        "referrer": "Откуда перешли",
        "landing_page": "Страница входа",
        "contact_page": "Страница, откуда написали",
        "pages_seen": "Просмотрено страниц",
        "time_on_site_seconds": "Время на сайте, с",
        "time_on_site": "Время на сайте",
        "region": "Регион",
        "os": "Система",
        "browser": "Браузер",
        "device": "Устройство",
        "screen": "Экран",
        "language": "Язык",
        "tags": "Теги",
        "status": "Откуда клиент",
        "status_reason": "Причина",
        "code": "Код",
        "first_message": "Первое сообщение",
        "message_count": "Сообщений",
        "last_message": "Последнее сообщение",
        "started_at_utc": "Начало (UTC)",
        "click_ids": "Метки клика",
        "landing": "Вход",
        "contact": "Контакт",
        "business": "Номер",
        "status_word": "Статус",
        "tag": "Тег",
        "taken_by": "Кто взял",
        "taken_at": "Когда взяли",
        "answered_at": "Когда ответили",
        "first_response_minutes": "Первый ответ, мин",
        "answer_state": "Ответ",
        "spend": "Расход",
        "leads": "Заявки",
        "qualified": "Целевые",
        "sales": "Продажи",
        "revenue": "Выручка",
        "cost_per_lead": "Цена заявки",
        "cost_per_sale": "Цена продажи",
        "romi": "Окупаемость",
        "campaign_id": "Номер кампании",
        "ad_id": "Номер объявления",
        "amount": "Сумма",
        "currency": "Валюта",
        "origin": "Откуда",
        "joined_leads": "Заявок найдено",
        "sale_amount": "Сумма продаж",
    },
    "en": {
        "id": "Dialog id",
        "started": "Date and time",
        "contact_name": "Name",
        "contact_phone": "Phone",
        "contact_id": "Contact id",
        "messenger": "Messenger",
        "business_number": "Business number",
        "customer": "Customer",
        "channel": "Channel",
        "source": "Source",
        "medium": "Medium",
        "campaign": "Campaign",
        "content": "Ad (content)",
        "term": "Keyword (term)",
        "gclid": "gclid",
        "yclid": "yclid",
        "fbclid": "fbclid",
        "referrer": "Referrer",
        "landing_page": "Landing page",
        "contact_page": "Page of contact",
        "pages_seen": "Pages seen",
        "time_on_site_seconds": "Time on site, s",
        "time_on_site": "Time on site",
        "region": "Region",
        "os": "OS",
        "browser": "Browser",
        "device": "Device",
        "screen": "Screen",
        "language": "Language",
        "tags": "Tags",
        "status": "Attribution",
        "status_reason": "Reason",
        "code": "Code",
        "first_message": "First message",
        "message_count": "Messages",
        "last_message": "Last message",
        "started_at_utc": "Started (UTC)",
        "click_ids": "Click ids",
        "landing": "Landing",
        "contact": "Contact",
        "business": "Number",
        "status_word": "Status",
        "tag": "Tag",
        "taken_by": "Taken by",
        "taken_at": "Taken at",
        "answered_at": "Answered at",
        "first_response_minutes": "First response, min",
        "answer_state": "Answer",
        "spend": "Spend",
        "leads": "Leads",
        "qualified": "Qualified",
        "sales": "Sales",
        "revenue": "Revenue",
        "cost_per_lead": "Cost per lead",
        "cost_per_sale": "Cost per sale",
        "romi": "ROMI",
        "campaign_id": "Campaign id",
        "ad_id": "Ad id",
        "amount": "Amount",
        "currency": "Currency",
        "origin": "From",
        "joined_leads": "Leads joined",
        "sale_amount": "Sales amount",
    },
}

MONTHS: dict[Lang, tuple[str, ...]] = {
    "ru": ("янв", "фев", "мар", "апр", "мая", "июн", "июл", "авг", "сен", "окт", "ноя", "дек"),
    "en": ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"),
}
MONTHS_NOMINATIVE_RU = ("янв", "фев", "мар", "апр", "май", "июн", "июл", "авг", "сен", "окт", "ноя", "дек")
WEEKDAYS: dict[Lang, tuple[str, ...]] = {
    "ru": ("пн", "вт", "ср", "чт", "пт", "сб", "вс"),
    "en": ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"),
}


def word(lang: Lang, key: str) -> str:
    return WORDS[lang][key]


def field_label(lang: Lang, name: str) -> str:
    return FIELDS[lang].get(name, name)


def value_label(lang: Lang, by: str, value: str | None, names: Mapping[str, str] | None = None) -> str:
    """How a grouped value reads: channel names translated, a missing value as "(not set)". `names`: people's
    names by user id, for who took a lead (reports.people.team_names)."""
    if by == TAKEN_BY:
        return taker_label(lang, value, names)
    if by == CUSTOMER and value in CUSTOMERS:  # «новый», «повторный»: as the exports write the customer
        return WORDS[lang][f"export_{value}"]
    if by == "status" and value in STATUSES:  # how a dialog was attributed, as its card says it
        return WORDS[lang][f"status_{value}"]
    if value is None or value == "":
        return WORDS[lang]["not_set"]
    if by == "channel":
        return CHANNELS[lang].get(value, value)
    if by == "medium":
        return medium_label(lang, value)
    if by == "source":
        return source_label(lang, value)
    if by in ("landing_page", "contact_page"):
        return page_label(value)
    if by == "device":
        return DEVICES[lang].get(value, value)
    if by == "region":
        return region_label(lang, value)
    if by in ("tag", "tags"):
        return tag_name(lang, value)
    return value


def taker_label(lang: Lang, value: str | None, names: Mapping[str, str] | None = None) -> str:
    """Who took a lead (a taken_by value: a Telegram user id as text): their name when `names` knows it, else
    «пользователь Telegram 123»; nobody (None, or the filter's "none") as «никто»."""
    if value is None or value in ("", NOT_TAKEN):
        return WORDS[lang]["taker_nobody"]
    name = one_line((names or {}).get(value), NAME_LIMIT)
    return name or WORDS[lang]["taker_user"].format(id=value)


def medium_label(lang: Lang, medium: str) -> str:
    """ "cpc" → "оплата за клик"; a medium of the owner's own UTM tags reads as they wrote it."""
    return MEDIUMS[lang].get(medium.strip().lower(), medium)


def source_label(lang: Lang, source: str) -> str:
    """A source is a name (yandex, google, 2gis.ru) and reads as it is, but for the placeholders of GA4."""
    if source == "(direct)":
        return WORDS[lang]["direct_visit"]
    if source in SOURCES[lang]:  # maps and directories: «Яндекс Карты», «2ГИС»
        return SOURCES[lang][source]
    return WORDS[lang]["not_set"] if source == "(not set)" else source


def tag_name(lang: Lang, tag: str) -> str:
    """A built-in tag in `lang`; an owner's own tag as the owner wrote it."""
    return WORDS[lang].get(f"tag_{tag}", tag) if tag in ("qualified", "sale", "spam") else tag


def plural_form(lang: Lang, n: int) -> str:
    """The form of a noun after the number `n`: "one", "few" or "many" (1 диалог, 2 диалога, 5 диалогов)."""
    if lang == "en":
        return "one" if n == 1 else "many"
    last, tens = n % 10, n % 100
    if last == 1 and tens != 11:
        return "one"
    return "few" if 2 <= last <= 4 and not 12 <= tens <= 14 else "many"


def number(lang: Lang, n: int) -> str:
    grouped = f"{n:,}"
    return grouped.replace(",", "\u00a0") if lang == "ru" else grouped


# Currency signs as owners write them: the dollar, euro and pound before the number («$120», «€95»), the rest
# after it («12 000 ₽», «12 000 ₸»); a currency without a sign here is named by its code («1 200 CNY»).
_SIGN_BEFORE = {"USD": "$", "EUR": "€", "GBP": "£"}
_SIGN_AFTER = {"RUB": "₽", "KZT": "₸", "UAH": "₴", "BYN": "Br", "TRY": "₺", "INR": "₹"}


def money(amount: Decimal | None, currency: str, lang: Lang) -> str:
    """An amount as the owner writes it: «12 000 ₽», «$120», «€95», «1 234,50 ₽» («12,000 ₽», «$1,234.50»
    in English); kopecks and cents only when there are some; «—» when the amount is unknown."""
    if amount is None:
        return "—"
    cents = amount.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    whole, fraction = divmod(abs(cents), 1)
    text = number(lang, int(whole))
    if fraction:
        text += ("," if lang == "ru" else ".") + f"{int(fraction * 100):02d}"
    code = currency.strip().upper()
    if code in _SIGN_BEFORE:
        text = _SIGN_BEFORE[code] + text
    else:
        text += "\u00a0" + _SIGN_AFTER.get(code, code)
    return ("−" if cents < 0 else "") + text


def percent(lang: Lang, share: float | None, digits: int = 0) -> str:
    if share is None:
        return "—"
    text = f"{share * 100:.{digits}f}"
    return text.replace(".", ",") + "\u00a0%" if lang == "ru" else text + "%"


def signed_percent(lang: Lang, ratio: float | None) -> str:
    if ratio is None:
        return WORDS[lang]["was_none"]
    text = percent(lang, abs(ratio), 0 if abs(ratio) >= 0.095 else 1)
    return ("+" if ratio > 0 else "−" if ratio < 0 else "±") + text


def signed(lang: Lang, n: int) -> str:
    return ("+" if n > 0 else "−" if n < 0 else "±") + number(lang, abs(n))


def day_label(lang: Lang, day: date, year: bool = True) -> str:
    month = MONTHS[lang][day.month - 1]
    text = f"{day.day} {month}" if lang == "ru" else f"{month} {day.day}"
    if year:
        text += f" {day.year}" if lang == "ru" else f", {day.year}"
    return text


def period_label(lang: Lang, period: Period) -> str:
    """ "27 ноя 2026", "Nov 1–15, 2026 (so far)" — the days a report covers, as a person reads them. An earlier
    period compared with a running one says where it is cut («16–20 ноя 2026, до 12:00 — по то же время») or
    that it counts whole («16–22 ноя 2026 (целиком)»)."""
    last, running = period.last_covered, period.running
    if period.first == last:
        text = day_label(lang, last)
    elif period.first.year != last.year:
        text = f"{day_label(lang, period.first)} – {day_label(lang, last)}"
    elif period.first.month != last.month:
        text = f"{day_label(lang, period.first, year=False)} – {day_label(lang, last)}"
    elif lang == "ru":
        text = f"{period.first.day}–{last.day} {MONTHS['ru'][last.month - 1]} {last.year}"
    else:
        text = f"{MONTHS['en'][last.month - 1]} {period.first.day}–{last.day}, {last.year}"
    if period.cut:
        return f"{text}, {WORDS[lang]['cut_at'].format(time=f'{period.end.astimezone(period.zone):%H:%M}')}"
    if period.matched and period.until is None:
        return f"{text} ({WORDS[lang]['in_full']})"
    return f"{text} ({WORDS[lang]['so_far']})" if running else text


def bucket_label(lang: Lang, bucket: Bucket, key: str, period: Period | None = None, year: bool = True) -> str:
    """A bucket key ("2026-11-27", "2026-W48", "2026-11", "2026-Q4") as a short axis label: "27 ноя",
    a week by its days ("23–29 ноя", "Nov 23–29", "30 ноя – 6 дек"), "ноя 2026", "4 кв 2026".

    With `period`, a week is cut to the days the period covers (a report from Wednesday starts with "25–29 ноя",
    a running one ends today); `year=False` leaves the year out of months and quarters (a chart's title has it)."""
    if bucket is Bucket.DAY:
        return day_label(lang, date.fromisoformat(key), year=False)
    if bucket is Bucket.WEEK:
        first = bucket_start(bucket.value, key)
        last = first + timedelta(days=6)
        if period is not None:
            first, last = max(first, period.first), max(min(last, period.last_covered), period.first)
        return days_label(lang, first, last)
    if bucket is Bucket.MONTH:
        key_year, month = key.split("-")
        names = MONTHS_NOMINATIVE_RU if lang == "ru" else MONTHS["en"]
        return f"{names[int(month) - 1]} {key_year}" if year else names[int(month) - 1]
    key_year, quarter = key.split("-Q")
    if lang == "ru":
        return f"{quarter} кв {key_year}" if year else f"{quarter} кв"
    return f"Q{quarter} {key_year}" if year else f"Q{quarter}"


def days_label(lang: Lang, first: date, last: date) -> str:
    """A run of days without the year: "3–9 ноя", "Nov 3–9", "27 окт – 2 ноя", "Oct 27 – Nov 2", "3 ноя"."""
    if first == last:
        return day_label(lang, first, year=False)
    if first.month != last.month:
        return f"{day_label(lang, first, year=False)} – {day_label(lang, last, year=False)}"
    month = MONTHS[lang][first.month - 1]
    return f"{first.day}–{last.day} {month}" if lang == "ru" else f"{month} {first.day}–{last.day}"


def duration(lang: Lang, span: timedelta) -> str:
    seconds = int(span.total_seconds())
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    units = ("д", "ч", "мин", "с") if lang == "ru" else ("d", "h", "min", "s")
    parts = [f"{v}\u00a0{u}" for v, u in zip((days, hours, minutes, secs), units, strict=True) if v]
    return " ".join(parts[:2]) or f"0\u00a0{units[3]}"


def response_time(lang: Lang, seconds: float | None) -> str:
    """A first response time as people say it: «45 с» under a minute, else whole minutes («4 мин», «1 ч 20 мин»);
    «—» when there is none."""
    if seconds is None:
        return "—"
    if seconds < 59.5:
        return duration(lang, timedelta(seconds=round(seconds)))
    return duration(lang, timedelta(minutes=round(seconds / 60)))


def messenger_label(dialog: Dialog) -> str:
    """WhatsApp, Telegram (a chat with the bot itself) or Telegram Business (the owner's own account)."""
    if dialog.messenger is Messenger.WHATSAPP:
        return "WhatsApp"
    return "Telegram Business" if dialog.provider == "telegram_business" else "Telegram"


# how stored values read to a person ----------------------------------------------------------------

_MOSCOW_ZONES = frozenset({"Europe/Moscow", "W-SU"})


def country_name(lang: Lang, code: str) -> str:
    """ "RU" → "Россия" / "Russia", from libphonenumber's country names (CLDR); the code when it has none."""
    # Imported on first use: the table of every country in 200 languages takes 0.4 s to load.
    from phonenumbers.geodata.locale import LOCALE_DATA

    names = LOCALE_DATA.get(code.upper(), {})
    name = names.get(lang, "")
    if name.startswith("*"):  # "*aa": the name is the one held under another language
        name = names.get(name[1:], "")
    return name or code


def region_label(lang: Lang, region: str) -> str:
    """A stored region ("Москва, RU", "Moscow, RU", "RU") with its country named in `lang`. The place is
    kept as stored: the geo base wrote it in the bot's language when it had the name (tracking/geo.py)."""
    country = region_country(region)
    if country is None:
        return region
    place = region.rpartition(", ")[0]
    return f"{place}, {country_name(lang, country)}" if place else country_name(lang, country)


def phone_label(phone: str) -> str:
    """+79161112233 → "+7 916 111-22-33", as people write it (libphonenumber's international format);
    anything that is not a valid number is shown as stored."""
    try:
        parsed = phonenumbers.parse(phone, None)
    except phonenumbers.NumberParseException:
        return phone
    if not phonenumbers.is_valid_number(parsed):
        return phone
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.INTERNATIONAL)


def moment_label(lang: Lang, moment: datetime, zone: tzinfo | None = None) -> str:
    """ "3 ноя 2026, 14:05" / "Nov 3, 2026, 14:05": one format for a moment in the alert, the card and lists."""
    local = moment.astimezone(zone) if zone is not None else moment
    return f"{day_label(lang, local.date())}, {local:%H:%M}"


def zone_label(lang: Lang, zone: ZoneInfo, at: datetime | None = None) -> str:
    """ "МСК" for Moscow time, else the offset from UTC at `at` (now by default): "UTC+5", "UTC−3:30"."""
    if zone.key in _MOSCOW_ZONES:
        return WORDS[lang]["zone_moscow"]
    offset = (at or datetime.now(UTC)).astimezone(zone).utcoffset() or timedelta(0)
    minutes = int(offset.total_seconds()) // 60
    sign = "+" if minutes >= 0 else "−"
    hours, rest = divmod(abs(minutes), 60)
    return f"UTC{sign}{hours}" + (f":{rest:02d}" if rest else "") if minutes else "UTC"


def delivery_reason(lang: Lang, note: str | None) -> str:
    """A delivery's note (integrations/: "invalid_token", "http_error: 503", "rejected: <the system's words>")
    in `lang`; a system's own words as they are."""
    code, _, detail = (note or "").partition(":")
    code, detail = code.strip(), detail.strip()
    if code == "rejected":  # the system's own reason
        return detail or WORDS[lang]["delivery_reason_unknown"]
    if code == "visit_too_old" and detail.isdigit():
        form = "one" if plural_form(lang, int(detail)) == "one" else "many"
        return WORDS[lang][f"delivery_reason_visit_too_old_{form}"].format(days=detail)
    words = WORDS[lang].get(f"delivery_reason_{code}")
    if words is None:
        return note or WORDS[lang]["delivery_reason_unknown"]
    if "{detail}" not in words:
        return words
    return words.format(detail=detail if detail.isdigit() else "").strip()  # an HTTP status; other detail is for logs


def reason_label(lang: Lang, stored: str | None) -> str | None:
    """Why the dialog got its status, in `lang`; None when there is no reason, or one we cannot say in `lang`
    (a line no version of chattrack wrote is shown only in English, the language it was stored in)."""
    reason = parse_reason(stored)
    if reason is None:
        return stored if lang == "en" and stored else None
    if reason.kind is ReasonKind.SCORED:
        return _scored_reason(lang, reason)
    return WORDS[lang][f"reason_{reason.kind.value}"].format(code=reason.code, minutes=reason.minutes)


def _scored_reason(lang: Lang, reason: Reason) -> str:
    """«уверенность 97 %: сообщение совпадает с текстом ссылки на 100 %, написал через 45 с после нажатия…»"""
    words = WORDS[lang]
    sure = words["reason_scored"].format(confidence=percent(lang, (reason.confidence or 0) / 100))
    signals = []
    if reason.kept is not None:
        signals.append(words["reason_scored_kept"].format(kept=percent(lang, reason.kept / 100)))
    if reason.seconds is not None:
        signals.append(words["reason_scored_delay"].format(delay=response_time(lang, reason.seconds)))
    if reason.same_browser:
        signals.append(words["reason_scored_same_browser"])
    if reason.code_part:
        signals.append(words["reason_scored_code_part"])
    return sure + (": " + ", ".join(signals) if signals else "")
