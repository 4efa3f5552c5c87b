"""What the bot says, in Russian and English.

Templates are Telegram-HTML; `text()` escapes every value it fills in, so a customer's name or message can
never break the markup (or inject a link).
"""

from __future__ import annotations

import html

from reports.i18n import CHANNELS, Lang, normalise_lang

DEFAULT_LANGUAGE = "ru"

TEXTS: dict[str, dict[str, str]] = {
    "ru": {
        # the command menu (bot/access.py), at most 256 characters each
        "menu_stats": "Сводка за период: /stats неделя",
        "menu_channels": "Откуда приходят клиенты",
        "menu_pages": "Страницы, с которых написали",
        "menu_compare": "Сравнение периодов",
        "menu_report": "График и итоги",
        "menu_team": "Кто взял заявки и как быстро ответили",
        "menu_dialog": "Карточка по коду или телефону",
        "menu_recent": "Последние диалоги",
        "menu_summary": "Время ежедневной сводки",
        "menu_alerts": "Уведомления о новых заявках: включить или выключить",
        "menu_help": "Все команды",
        "menu_invite": "Пригласить сотрудника",
        "menu_staff": "Сотрудники и доступ",
        "menu_forget": "Удалить данные контакта",
        "lead_new": "🆕 <b>Новая заявка</b> · {messenger}",
        "lead_repeat": "🔁 <b>Повторное обращение</b> · {messenger}",
        # Plain text (no markup): the form sent when Telegram refused the full alert.
        "lead_plain_new": (
            "🆕 Новая заявка · {messenger}\n👤 {contact}\n"
            "Не получилось показать уведомление целиком. Карточка диалога: /dialog {dialog_id}"
        ),
        "lead_plain_repeat": (
            "🔁 Повторное обращение · {messenger}\n👤 {contact}\n"
            "Не получилось показать уведомление целиком. Карточка диалога: /dialog {dialog_id}"
        ),
        "to_number": "📞 на номер {number}",
        "to_account": "✈️ в чат {number}",
        "no_name": "Без имени",
        "no_text": "(без текста)",
        "channel": "📊 <b>{channel}</b>",
        "source": "🌐 Источник: {source}",
        "campaign": "🎯 Кампания: {value}",
        "content": "🧩 Объявление: {value}",
        "term": "🔑 Ключевое слово: {value}",
        "contact_page": "📄 Написали со страницы: {value}",
        "landing_page": "🛬 Вход на сайт: {value}",
        "region": "📍 Регион: {value}",
        "device": "{icon} {value}",
        "started": "🕐 {value}",
        "status_exact": "🔗 Источник точный: код <code>{code}</code> из ссылки на сайте",
        "status_unknown_code": "⚠️ Неизвестный код <code>{code}</code>: посещения сайта с ним нет или оно было давно",
        "status_ad_referral": "📣 Клиент пришёл из рекламы с кнопкой WhatsApp",
        "status_probable": "❔ Вероятно, с сайта: клиент нажал ссылку, но код в сообщение не попал",
        "status_none": "❔ Источник неизвестен: в сообщении нет кода с сайта",
        "card": "📇 Карточка",
        "tag_set": "Тег «{tag}» поставлен",
        "tag_removed": "Тег «{tag}» снят",
        "dialog_missing": "Диалог не найден",
        # sales (bot/sales.py): the amount asked after «Продажа», the card's sale buttons
        "sale_question": "Сумма продажи? Ответьте числом, например 12 000",
        "sale_question_for": "{name}, сумма продажи? Ответьте числом, например 12 000",
        "sale_asked_private": "Продажа записана. Сумму спросил в личном чате",
        "sale_asked_here": "Продажа записана. Ответьте на вопрос суммой",
        "sale_saved": "Записал. {line}",
        "sale_gone": "Этой продажи уже нет: тег «Продажа» сняли",
        "sale_amount_button": "✏️ Сумма",
        "sale_more_button": "➕ Ещё продажа",
        "amount_empty": "Напишите сумму числом, например 12 000",
        "amount_not_a_number": "Не похоже на сумму. Ответьте числом: 12 000, 12к, 1,2 млн или 12 000 ₽",
        "amount_negative": "Сумма не может быть отрицательной. Ответьте ещё раз",
        "amount_too_large": "Слишком большая сумма — нет ли опечатки? Ответьте ещё раз",
        "amount_too_precise": "Не больше двух знаков после запятой, например 12 000,50. Ответьте ещё раз",
        "not_allowed": "Эта кнопка только для сотрудников компании",
        # the team (bot/team.py): taking leads, where alerts go
        "take": "✋ Беру",
        "taken": "✋ Взял(а) {name}, {time}",
        "reassign": "🔁 Передать",
        "take_yours": "Заявка ваша",
        "take_already": "Заявку уже взял(а) {name}",
        "take_reminder": "⏰ <b>Заявку никто не взял</b> уже {minutes} мин",
        "reassign_owners_only": "Передать заявку может только владелец",
        "reassign_ask": "Кому передать заявку?",
        "reassign_me": "Мне",
        "reassign_done": "✋ Заявка передана: {name}",
        "reassigned_to_you": "👉 Вам передали заявку. Карточка: /dialog {dialog_id}",
        "alerts_on": "🔔 Уведомления о новых заявках приходят вам в этот чат.",
        "alerts_off": "🔕 Уведомления о новых заявках для вас выключены.",
        "alerts_in_group": "👥 Сейчас уведомления приходят в группу «{title}», а не в личные чаты.",
        "alerts_button_on": "🔔 Включить",
        "alerts_button_off": "🔕 Выключить",
        "alerts_button_private": "👤 Вернуть в личные чаты",
        "alerts_turned_on": "Уведомления включены",
        "alerts_turned_off": "Уведомления выключены",
        "team_set": (
            "👥 Готово: уведомления о новых заявках теперь приходят в эту группу. Отчёты остаются в личных "
            "чатах, а нажимать кнопки могут только приглашённые сотрудники. Вернуть уведомления в личные чаты: "
            "/team выкл"
        ),
        "team_set_topic": (
            "👥 Готово: уведомления о новых заявках теперь приходят в эту тему. Отчёты остаются в личных "
            "чатах, а нажимать кнопки могут только приглашённые сотрудники. Вернуть уведомления в личные чаты: "
            "/team выкл"
        ),
        "team_off": "👤 Уведомления о новых заявках снова приходят владельцам и сотрудникам в личные чаты.",
        "team_owners_only": "Направить уведомления в группу может только владелец.",
        "team_chat_lost": "Бот больше не может писать в группу «{title}»: уведомления снова приходят в личные чаты.",
        "start_owner": (
            "Здравствуйте, {name}! Я буду присылать сюда новые заявки из WhatsApp и Telegram "
            "с источником, кампанией и страницей сайта. Отчёты и настройки: /help"
        ),
        "start_staff": "Здравствуйте, {name}! Вам доступны отчёты по заявкам: /help",
        "start_stranger": "Здравствуйте! Это служебный бот компании, он работает только для её сотрудников.",
        # the demo (webhooks/demo.py, bot/demo.py)
        "demo_mark": "🧪 Демо",
        "demo_alert_mark": "🧪 <b>Демо</b> — пробная заявка, в отчёты не попадёт",
        "demo_erase_button": "🧹 Стереть демо",
        "demo_erase_all_button": "🧹 Стереть демо-заявки",
        "demo_link": (
            "🧪 Пробная заявка без подключения WhatsApp: откройте {url} и нажмите «Отправить как клиент». "
            "Через несколько секунд сюда придёт заявка — с кампанией страницы и без кода в сообщении, "
            "как придут настоящие."
        ),
        "demo_count": "Пробных заявок сейчас: {count}. В отчётах их нет; стереть — кнопкой ниже.",
        "demo_off": "Пробная страница выключена: уже пришло настоящее сообщение клиента (или так задано "
        "настройкой `CHATTRACK_DEMO`).",
        "demo_erased": "🧹 Стёрто пробных заявок: {count}.",
        "demo_none": "Пробных заявок нет.",
        "demo_alert_erased": "🧹 Демо-заявка стёрта",
        "step_demo": "Посмотрите, как выглядит заявка: откройте {url} и нажмите «Отправить как клиент». "
        "Пробная заявка придёт сюда и не попадёт в отчёты. Подробнее: /demo",
        "menu_demo": "Пробная заявка",
        "customer_welcome": "Здравствуйте! Спасибо за обращение. Напишите, пожалуйста, ваш вопрос — мы скоро ответим.",
        # a member's reply to a bot customer (bot/relay.py)
        "relay_sent": "✅ Отправлено клиенту",
        "relay_blocked": "Клиент заблокировал бота: сообщение не доставлено.",
        "relay_failed": "Telegram не принял сообщение для клиента. Попробуйте ещё раз или отправьте иначе.",
        "relay_not_bot": "Этот клиент писал не боту: ответьте ему там, где он написал.",
        "unknown_command": "Не знаю такой команды. Список команд: /help",
        # installation checks (tracking/install.py, bot/status.py): notices told once, and /status
        "menu_status": "Что работает: сайт, провайдеры, Telegram",
        "notice_site": "✅ Код на сайте работает: получен первый просмотр страницы с {host}",
        "notice_click": (
            "✅ Первый переход в мессенджер по ссылке с кодом: код на сайте помечает ссылки, "
            "заявки придут с источником и кампанией"
        ),
        "notice_provider": "✅ {provider}: подключено, первое сообщение получено",
        "provider_generic": "Другая платформа",
        "notice_silent": (
            "⚠️ {provider} молчит: последнее сообщение пришло {since}. Проверьте подключение в личном "
            "кабинете провайдера; что видит сервер — /status"
        ),
        "status_title": "<b>Что работает</b>",
        "status_site": "{mark} Код на сайте {host}: последний просмотр {at}",
        "status_no_site": "⚠️ Код на сайте: ни одного просмотра — вставьте код на сайт",
        "status_more_sites": "   … и ещё сайтов: {n}",
        "status_provider": "{mark} {provider}: последнее сообщение {at}",
        "status_provider_silent": "⚠️ {provider}: последнее сообщение {at}, с тех пор тишина",
        "status_provider_none": "⚠️ {provider}: сообщений ещё не было",
        "status_refusal": "   {mark} последний отказ {at}: {why}",
        "refusal_unset": "секрет не задан: задайте <code>{setting}</code>",
        "refusal_signature_url": (
            "подпись не совпала: проверьте <code>CHATTRACK_PUBLIC_URL</code> — провайдер подписывает адрес, "
            "на который шлёт"
        ),
        "refusal_signature": (
            "подпись не совпала: проверьте <code>{setting}</code> — он должен совпадать с секретом у провайдера"
        ),
        "refusal_key": "ключ не совпал: проверьте <code>{setting}</code> — он должен совпадать с ключом у провайдера",
        "refusal_stale": "время запроса расходится с часами сервера больше чем на 5 минут: проверьте часы",
        "refusal_verify": (
            "проверка адреса не прошла: <code>CHATTRACK_META_VERIFY_TOKEN</code> должен совпадать с маркером "
            "подтверждения в настройках приложения"
        ),
        "refusal_other": "запрос отклонён",
        "status_telegram_polling": (
            "✅ Telegram: бот сам забирает сообщения у Telegram, адрес сервера для этого не нужен"
        ),
        "status_telegram_webhook": "✅ Telegram: сообщения приходят на {url}, ждут обработки: {pending}",
        "status_telegram_error": "⚠️ Telegram: сообщения приходят на {url}, ждут обработки: {pending}; "
        "последняя ошибка {at}: «{error}»",
        "status_telegram_elsewhere": (
            "⚠️ Telegram: сообщения уходят на «{url}», а не на {expected}: перезапустите сервер, "
            "он зарегистрирует свой адрес"
        ),
        "status_telegram_unreachable": "⚠️ Telegram: не ответил на проверку ({error})",
        "status_store_ok": "✅ База данных: отвечает, запись работает",
        "status_store_writes": "⚠️ База данных: запись не проходит — проверьте место на диске и права на файл",
        "status_store_down": "⚠️ База данных: не отвечает",
        "status_outbox_empty": "✅ Уведомления о заявках: все отправлены",
        "status_outbox_pending": "⚠️ Уведомления о заявках: ждут отправки {n}",
        "private_only": "Отчёты и карточки клиентов — только в личном чате со мной, чтобы их не читали все в "
        "группе: напишите мне {bot}.",
        "help": (
            "<b>Отчёты</b> (период: сегодня, вчера, неделя, ноябрь, с 1 по 15 ноября, 01.11–15.11, "
            "3 квартал, 7 дней…)\n"
            "/stats неделя — диалоги, новые и повторные, каналы\n"
            "/channels месяц — откуда приходят клиенты\n"
            "/pages неделя — страницы, с которых написали (/pages вход — страницы входа)\n"
            "/team неделя — кто взял заявки, как быстро ответили, кто остался без ответа\n"
            "/compare неделя — с прошлой неделей по то же время "
            "(неделя целиком — с прошлой целиком; месяц год назад — с прошлым годом)\n"
            "/report 30 дней — график и итоги (/report год по месяцам — по месяцам)\n"
            "/export ноябрь — файл для Excel за период (и кнопка «📥 Excel» под каждым отчётом)\n"
            "Спам в отчётах не считается. /channels месяц продажа — только продажи, "
            "/stats неделя со спамом — вместе со спамом, /stats неделя спам — только спам\n"
            "/dialog 7K3M9QX или /dialog +7 916 123-45-67 — карточка диалога\n"
            "/recent — последние диалоги (/recent 15.11, /recent Анна, /recent +7 916… — поиск)\n"
            "/summary 09:00 — ежедневная сводка в это время (/summary выкл — отключить)\n"
            "/web — отчёты в браузере: ссылка для входа"
        ),
        "help_owner": (
            "\n\n<b>Команда</b>\n/invite — пригласить сотрудника\n/staff — сотрудники и доступ"
            "\n/forget — удалить данные контакта\n/status — что работает: сайт, провайдеры, Telegram"
            "\n/demo — пробная заявка\n/owner — владелец бота, передать бот"
        ),
        "invite_link": (
            "Одноразовая ссылка-приглашение, действует до {until}:\n{link}\n\n"
            "Перешлите её сотруднику: открыв её, он получит доступ к отчётам (без управления доступом)."
        ),
        "invite_welcome": "Добро пожаловать, {name}! Теперь вам доступны отчёты по заявкам: /help",
        "invite_joined": "{name} присоединяется к боту по вашему приглашению. Список сотрудников: /staff",
        # the dashboard: /web and the menu button (bot/web.py)
        "menu_web": "Отчёты в браузере: ссылка для входа",
        "web_link": "Ссылка для входа в отчёты в браузере. Она действует 10 минут и один раз, не пересылайте её:\n"
        "{link}",
        "web_app_hint": "\n\nВ Telegram отчёты открывает кнопка «{button}» слева от поля ввода.",
        "web_button": "Отчёты",
        # owning the bot: the one-time link printed at start-up, /owner and the handover (bot/ownership.py)
        "menu_owner": "Владелец бота, передать бот",
        "claim_owned": (
            "Теперь вы владелец бота, {name}! Сюда будут приходить новые заявки с источником, кампанией и "
            "страницей сайта. Ссылка, по которой вы пришли, больше не действует. Отчёты и настройки: /help"
        ),
        "claim_already": "Вы уже владелец этого бота. Отчёты и настройки: /help",
        "claim_taken": "У этого бота уже есть владелец. Чтобы получить доступ, попросите у него приглашение.",
        "claim_used": (
            "Эта ссылка уже не действует. Пока у бота нет владельца, новая ссылка появляется при каждом "
            "запуске сервера."
        ),
        "claim_configured": (
            "Владельцы этого бота заданы в настройке CHATTRACK_TELEGRAM_OWNER_IDS, ссылка не нужна. "
            "Если вы владелец, добавьте туда ваш номер пользователя Telegram (это не телефон): <code>{user_id}</code>"
        ),
        "owner_title": "<b>Владелец бота</b>: {name}",
        "owner_choose": "Передать бот можно сотруднику: выберите кому. Вы останетесь сотрудником с доступом к отчётам.",
        "owner_no_staff": (
            "Передать бот можно только сотруднику. Сначала пригласите человека: /invite — а когда он откроет "
            "приглашение, вернитесь сюда: /owner"
        ),
        "owner_button": "Передать: {name}",
        "owner_confirm": (
            "Сделать владельцем бота: {name}? Новый владелец будет приглашать и удалять сотрудников. "
            "Вы останетесь сотрудником: отчёты и заявки по-прежнему будут вам доступны."
        ),
        "owner_confirm_yes": "Да, передать",
        "owner_kept": "Бот остаётся за вами.",
        "owner_handed": (
            "Готово: владелец бота теперь {name}. Вы остаётесь сотрудником: отчёты и заявки по-прежнему у вас."
        ),
        "owner_received": (
            "{name} передаёт вам бот: теперь вы его владелец. Пригласить сотрудника: /invite, сотрудники: "
            "/staff, передать бот дальше: /owner"
        ),
        "owner_gone": "Вы уже не владелец этого бота.",
        "owner_configured": (
            "Владельцы бота заданы в настройке CHATTRACK_TELEGRAM_OWNER_IDS: передать бот отсюда нельзя. "
            "Измените настройку и перезапустите сервер."
        ),
        "invite_invalid": "Это приглашение недействительно: оно уже использовано или устарело. Попросите новое.",
        "invite_owner": "Вы владелец — приглашение вам не нужно. Отчёты: /help",
        "invite_already": "У вас уже есть доступ. Отчёты: /help",
        "staff_title": "<b>Сотрудники</b> ({count})",
        "staff_line": "{index}. {name}{username} — с {since}",
        "staff_none": "Сотрудников пока нет. Пригласить: /invite",
        "forget_usage": "Напишите телефон контакта или его Telegram, как в уведомлении или карточке: "
        "<code>/forget +7 916 123-45-67</code>, <code>/forget @olga_flowers</code>, <code>/forget tg:777</code>",
        "forget_telegram_user": "пользователе Telegram {id}",
        "forget_nothing": "О {who} ничего не сохранено.",
        "forget_done": "Удалено всё о {phone}: диалогов — {count}, с сообщениями, уведомлениями и визитами.",
        "staff_remove": "✖ {name}",
        "staff_removed": "{name}: доступ закрыт",
        "staff_missing": "Этого сотрудника уже нет в списке",
        "summary_on": "Ежедневная сводка за вчера будет приходить в {time} ({zone}). Ближайшая — {next}.",
        "summary_off": "Ежедневная сводка отключена. Включить: /summary 09:00",
        "summary_status_on": "Сводка приходит в {time} ({zone}). Изменить: /summary 08:30, отключить: /summary выкл",
        "summary_status_off": "Ежедневная сводка не приходит. Включить: /summary 09:00",
        "summary_bad_time": "Не понял время «{text}». Пример: /summary 09:00 или /summary выкл",
        "dialog_usage": "Укажите код или телефон: /dialog 7K3M9QX или /dialog +7 916 123-45-67",
        "dialog_many": "Найдено диалогов: {count}. Откройте нужный:",
        "recent_title": "<b>Последние диалоги</b> · стр. {page}",
        "recent_none": "Диалогов пока нет.",
        "newer": "◀ Новее",
        "older": "Старше ▶",
        "report_failed": "Не получилось построить отчёт за такой период. Попробуйте период короче.",
        "export_button": "📥 Excel",
        "money_button": "💰 Деньги",
        "money_back_button": "📊 Заявки",
        "export_caption": "Выгрузка для Excel · {period}\nДиалогов: {count}",
        "export_cut": "В файле первые {shown} из {total}: для полного списка выберите период короче.",
        "export_failed": "Не получилось собрать файл за такой период. Попробуйте период короче.",
        "tags_one_at_a_time": (
            "Отчёт считает один тег за раз, а названо несколько: {tags}. Например: /channels месяц продажа"
        ),
        "business_connected": (
            "Бот подключён к Telegram Business аккаунта {name}: о новых чатах с клиентами он скажет, "
            "откуда они пришли (по коду из ссылки t.me на сайте)."
        ),
        "business_disconnected": "Бот отключён от Telegram Business аккаунта {name}.",
        # confirmations, first steps, /recent's search (bot/confirm.py, bot/onboarding.py, bot/commands.py)
        "confirm_yes": "Да, удалить",
        "confirm_no": "Отмена",
        "confirm_expired": "Эта кнопка больше не действует. Повторите команду, если это ещё нужно.",
        "confirm_foreign": "Эта кнопка не для вас: нажать её может только тот, кто спрашивал.",
        "forget_confirm": (
            "Удалить всё о {who}: диалогов — {count}, с сообщениями, уведомлениями и визитами? Это нельзя отменить."
        ),
        "forget_cancelled": "Ничего не удалено.",
        "forget_too_long": "Слишком длинное имя контакта. Укажите его телефон или Telegram, как в карточке.",
        "forget_alert_erased": "Контакт удалён по запросу",
        "staff_confirm": "Закрыть доступ к отчётам: {name}? Вернуть его можно только новым приглашением.",
        "steps_title": "<b>С чего начать</b>",
        "step_snippet": (
            "Вставьте эту строку в каждую страницу сайта, лучше в самый конец, — так станет видно, "
            "откуда пришёл каждый клиент:\n<code>{tag}</code>"
        ),
        "step_snippet_no_url": (
            "Укажите адрес сервера в интернете в настройке CHATTRACK_PUBLIC_URL — тогда здесь появится "
            "строка для вашего сайта."
        ),
        "step_provider": (
            "Подключите WhatsApp: в личном кабинете сервиса, через который он работает, укажите адрес "
            "для входящих сообщений:\n{urls}"
        ),
        "step_provider_none": (
            "Подключите WhatsApp: впишите в настройки ключ сервиса, через который он работает, и укажите "
            "в личном кабинете сервиса адрес для входящих сообщений:\n{settings}"
        ),
        "step_summary": "Включите ежедневную сводку: /summary 09:00",
        "webhook_generic": "другая платформа",
        "recent_latest": "<b>Последние диалоги</b>",
        "recent_page": "<b>Диалоги</b>",
        "recent_search": "<b>Поиск: {query}</b>",
        "recent_until": "<b>Диалоги по {day}</b>",
        "recent_not_found": (
            "Ничего не нашлось: {query}. Ищите по телефону, имени или коду, или укажите дату: "
            "/recent +7 916 123-45-67, /recent Анна, /recent 7K3M9QX, /recent 15.11"
        ),
        "recent_scanned": "Просмотрено {count} диалогов, дальше — кнопкой «Искать дальше».",
        "recent_search_on": "Искать дальше ▶",
        # ad spend (integrations/direct.py, bot/costs.py)
        "direct_refused": (
            "⚠️ Директ не принимает токен: {reason}. Расходы из Директа не загружаются, пока в "
            "<code>CHATTRACK_DIRECT_TOKEN</code> не будет рабочего токена."
        ),
        "costs_imported": "💰 Расходы загружены: строк — {lines}, {first} — {last}.\n{totals}",
        "costs_total": "• {source}: {amount}",
        "costs_replaced": "Если эти дни уже загружались, их цифры заменены, а не сложены.",
        "costs_rejected": "Файл не загружен, расходы не изменились.\n{problems}",
        "costs_send_table": (
            "Пришлите расходы таблицей Excel или текстовым файлом с разделителями (расходы.xlsx, "
            "расходы.csv). Подойдёт выгрузка рекламного кабинета как есть — подпишите файл источником, как он "
            "назван в ссылках сайта ({examples}). Или своя таблица со столбцами «Дата», «Источник», «Кампания», "
            "«Расход»."
        ),
        "costs_owners_only": "Загружать расходы может только владелец.",
        "costs_download_failed": "Не получилось скачать файл из Телеграма, пришлите его ещё раз.",
        "costs_error_too_big": "Файл больше {limit} МБ: разделите его на части.",
        "costs_error_too_many_rows": "В файле больше {limit} строк: разделите его на части.",
        "costs_error_book": "Не получилось открыть файл как книгу Excel: сохраните его заново.",
        "costs_error_columns": (
            "Не нашёл столбцы: {missing}. Нужна строка с названиями столбцов: «Дата», «Кампания», «Расход» "
            "(или «Потрачено», «Сумма») и «Источник», если источник не указан для всего файла."
        ),
        "costs_error_no_source": (
            "В файле нет столбца «Источник». Пришлите файл ещё раз с подписью — одним словом, откуда эти "
            "расходы, как источник назван в ссылках сайта: {examples}."
        ),
        "costs_error_no_source_cli": (
            "В файле нет столбца «Источник». Укажите источник всего файла, как он назван в ссылках сайта: {command}"
        ),
        "costs_error_given_source": (
            "«{value}» не похоже на источник: нужно одно слово, как источник назван в ссылках сайта ({examples})."
        ),
        "costs_error_encoding": "Не получилось прочитать текст файла: сохраните его заново книгой Excel.",
        "costs_error_period": (
            "Строка {line}: расход за период {first} — {last}, а нужен по дням: выгрузите отчёт с разбивкой по дням"
        ),
        "costs_error_empty": "В файле нет ни одной строки с расходом.",
        "costs_error_date": "Строка {line}: не понял дату «{value}» (пишите 01.11.2026)",
        "costs_error_source": "Строка {line}: не указан источник",
        "costs_error_campaign": "Строка {line}: не указана кампания",
        "costs_error_amount": "Строка {line}: не понял сумму «{value}»",
        "costs_error_no_amount": "Строка {line}: не указана сумма",
        "costs_error_negative": "Строка {line}: расход меньше нуля «{value}»",
        "costs_error_currency": "Строка {line}: расход в {value}, а сводки считаются в {currency}",
        "costs_column_day": "«Дата»",
        "costs_column_source": "«Источник»",
        "costs_column_campaign": "«Кампания»",
        "costs_column_amount": "«Расход»",
    },
    "en": {
        "menu_stats": "Totals for a period: /stats week",
        "menu_channels": "Traffic channels",
        "menu_pages": "Pages of contact",
        "menu_compare": "Compare periods",
        "menu_report": "Chart and totals",
        "menu_team": "Who took leads, how fast they were answered",
        "menu_dialog": "A dialog's card by code or phone",
        "menu_recent": "Latest dialogs",
        "menu_summary": "Daily summary time",
        "menu_alerts": "Lead alerts on or off",
        "menu_help": "All commands",
        "menu_invite": "Invite a staff member",
        "menu_staff": "Staff and access",
        "menu_forget": "Erase a contact's data",
        "lead_new": "🆕 <b>New lead</b> · {messenger}",
        "lead_repeat": "🔁 <b>Returning customer</b> · {messenger}",
        "lead_plain_new": (
            "🆕 New lead · {messenger}\n👤 {contact}\n"
            "The alert could not be shown in full. The dialog's card: /dialog {dialog_id}"
        ),
        "lead_plain_repeat": (
            "🔁 Returning customer · {messenger}\n👤 {contact}\n"
            "The alert could not be shown in full. The dialog's card: /dialog {dialog_id}"
        ),
        "to_number": "📞 to {number}",
        "to_account": "✈️ to the chat {number}",
        "no_name": "No name",
        "no_text": "(no text)",
        "channel": "📊 <b>{channel}</b>",
        "source": "🌐 Source: {source}",
        "campaign": "🎯 Campaign: {value}",
        "content": "🧩 Ad: {value}",
        "term": "🔑 Keyword: {value}",
        "contact_page": "📄 Contact page: {value}",
        "landing_page": "🛬 Landing page: {value}",
        "region": "📍 Region: {value}",
        "device": "{icon} {value}",
        "started": "🕐 {value}",
        "status_exact": "🔗 Exact code <code>{code}</code>",
        "status_unknown_code": "⚠️ Unknown code <code>{code}</code>: no such visit, or it expired",
        "status_ad_referral": "📣 Ad: the provider sent the ad's data",
        "status_probable": "❔ Probable: a click on a link without a code",
        "status_none": "❔ Not attributed: no code in the message",
        "card": "📇 Card",
        "tag_set": "Tag “{tag}” set",
        "tag_removed": "Tag “{tag}” removed",
        "dialog_missing": "Dialog not found",
        "sale_question": "Sale amount? Reply with a number, e.g. 12,000",
        "sale_question_for": "{name}, the sale amount? Reply with a number, e.g. 12,000",
        "sale_asked_private": "Sale recorded. I asked for the amount in our private chat",
        "sale_asked_here": "Sale recorded. Reply to the question with the amount",
        "sale_saved": "Saved. {line}",
        "sale_gone": "This sale is gone: the Sale tag was removed",
        "sale_amount_button": "✏️ Amount",
        "sale_more_button": "➕ Another sale",
        "amount_empty": "Write the amount as a number, e.g. 12,000",
        "amount_not_a_number": "That is not an amount. Reply with a number: 12000, 12k, 1.2 mln or $120",
        "amount_negative": "An amount cannot be negative. Reply again",
        "amount_too_large": "That amount is too large — a typo? Reply again",
        "amount_too_precise": "At most two decimal places, e.g. 12,000.50. Reply again",
        "not_allowed": "This button is for the company's staff only",
        # the team (bot/team.py): taking leads, where alerts go
        "take": "✋ Take",
        "taken": "✋ Taken by {name}, {time}",
        "reassign": "🔁 Reassign",
        "take_yours": "The lead is yours",
        "take_already": "Already taken by {name}",
        "take_reminder": "⏰ <b>Nobody has taken this lead</b> for {minutes} min",
        "reassign_owners_only": "Only an owner can reassign a lead",
        "reassign_ask": "Who takes this lead?",
        "reassign_me": "Me",
        "reassign_done": "✋ Lead handed to {name}",
        "reassigned_to_you": "👉 A lead was handed to you. Card: /dialog {dialog_id}",
        "alerts_on": "🔔 Lead alerts come to you in this chat.",
        "alerts_off": "🔕 Lead alerts are off for you.",
        "alerts_in_group": "👥 Alerts go to the group “{title}” now, not to private chats.",
        "alerts_button_on": "🔔 On",
        "alerts_button_off": "🔕 Off",
        "alerts_button_private": "👤 Back to private chats",
        "alerts_turned_on": "Alerts on",
        "alerts_turned_off": "Alerts off",
        "team_set": (
            "👥 Done: lead alerts now come to this group. Reports stay in private chats, and only invited staff "
            "can press the buttons. Back to private alerts: /team off"
        ),
        "team_set_topic": (
            "👥 Done: lead alerts now come to this topic. Reports stay in private chats, and only invited staff "
            "can press the buttons. Back to private alerts: /team off"
        ),
        "team_off": "👤 Lead alerts go to owners and staff in their private chats again.",
        "team_owners_only": "Only an owner can send alerts to a group.",
        "team_chat_lost": "The bot can no longer write to the group “{title}”: alerts go to private chats again.",
        "start_owner": (
            "Hello, {name}! I will post new WhatsApp and Telegram leads here, with their source, "
            "campaign and site page. Reports and settings: /help"
        ),
        "start_staff": "Hello, {name}! Lead reports are at your service: /help",
        "start_stranger": "Hello! This is a company's internal bot; it only works for its staff.",
        "demo_mark": "🧪 Demo",
        "demo_alert_mark": "🧪 <b>Demo</b>: a trial lead, left out of reports",
        "demo_erase_button": "🧹 Erase demo",
        "demo_erase_all_button": "🧹 Erase demo leads",
        "demo_link": (
            "🧪 A trial lead without connecting WhatsApp: open {url} and press «Send as a customer». "
            "In a few seconds a lead comes here, with the page's campaign and no code in the message, as "
            "real ones will."
        ),
        "demo_count": "Demo leads now: {count}. They are not in reports; the button below erases them.",
        "demo_off": "The demo page is off: a real customer message has arrived (or the setting "
        "`CHATTRACK_DEMO` says so).",
        "demo_erased": "🧹 Demo leads erased: {count}.",
        "demo_none": "No demo leads.",
        "demo_alert_erased": "🧹 Demo lead erased",
        "step_demo": "See what a lead looks like: open {url} and press «Send as a customer». The trial lead "
        "comes here and stays out of reports. More: /demo",
        "menu_demo": "Trial lead",
        "customer_welcome": "Hello! Thank you for getting in touch. Please write your question, we will answer soon.",
        "relay_sent": "✅ Sent to the customer",
        "relay_blocked": "The customer has blocked the bot: the message was not delivered.",
        "relay_failed": "Telegram did not accept the message for the customer. Try again or send it another way.",
        "relay_not_bot": "This customer did not write to the bot: answer them where they wrote.",
        "unknown_command": "I don't know that command. The list: /help",
        # installation checks (tracking/install.py, bot/status.py): notices told once, and /status
        "menu_status": "What works: site, providers, Telegram",
        "notice_site": "✅ The site code works: the first page view from {host} arrived",
        "notice_click": (
            "✅ The first click to a messenger through a link with a code: the site code marks links, "
            "leads will come with their source and campaign"
        ),
        "notice_provider": "✅ {provider}: connected, the first message arrived",
        "provider_generic": "Your platform",
        "notice_silent": (
            "⚠️ {provider} is silent: its last message came {since}. Check the connection in the provider's "
            "account; what the server sees: /status"
        ),
        "status_title": "<b>What works</b>",
        "status_site": "{mark} Site code on {host}: last page view {at}",
        "status_no_site": "⚠️ Site code: no page views yet — paste the code into your site",
        "status_more_sites": "   … and more sites: {n}",
        "status_provider": "{mark} {provider}: last message {at}",
        "status_provider_silent": "⚠️ {provider}: last message {at}, silent since",
        "status_provider_none": "⚠️ {provider}: no messages yet",
        "status_refusal": "   {mark} last refusal {at}: {why}",
        "refusal_unset": "secret not set: set <code>{setting}</code>",
        "refusal_signature_url": (
            "signature did not match: check <code>CHATTRACK_PUBLIC_URL</code> — the provider signs the address "
            "it posts to"
        ),
        "refusal_signature": (
            "signature did not match: check <code>{setting}</code> — it must equal the provider's secret"
        ),
        "refusal_key": "key did not match: check <code>{setting}</code> — it must equal the provider's key",
        "refusal_stale": "the request's time is more than 5 minutes away from the server's clock: check the clocks",
        "refusal_verify": (
            "address check failed: <code>CHATTRACK_META_VERIFY_TOKEN</code> must equal the verify token in the "
            "app's settings"
        ),
        "refusal_other": "request refused",
        "status_telegram_polling": "✅ Telegram: the bot fetches messages from Telegram itself (long polling), "
        "no server address needed",
        "status_telegram_webhook": "✅ Telegram: messages come to {url}, waiting: {pending}",
        "status_telegram_error": "⚠️ Telegram: messages come to {url}, waiting: {pending}; last error {at}: «{error}»",
        "status_telegram_elsewhere": (
            "⚠️ Telegram: messages go to «{url}», not {expected}: restart the server, it registers its own address"
        ),
        "status_telegram_unreachable": "⚠️ Telegram: did not answer the check ({error})",
        "status_store_ok": "✅ Database: answers, writes work",
        "status_store_writes": "⚠️ Database: writes fail — check the free disk space and the file's permissions",
        "status_store_down": "⚠️ Database: does not answer",
        "status_outbox_empty": "✅ Lead alerts: all sent",
        "status_outbox_pending": "⚠️ Lead alerts: {n} waiting to be sent",
        "private_only": "Reports and customer cards are for a private chat with me, so not everyone in the "
        "group reads them: write to {bot}.",
        "help": (
            "<b>Reports</b> (period: today, yesterday, week, november, Nov 1-15, 2026-11-01..2026-11-15, q3, 7d…)\n"
            "/stats week — dialogs, new and repeat, channels\n"
            "/channels month — traffic channels\n"
            "/pages week — pages of contact (/pages landing — landing pages)\n"
            "/team week — who took leads, how fast they were answered, who was left unanswered\n"
            "/compare week — against last week to the same time "
            "(week whole — the whole of last week; month yoy — against last year)\n"
            "/report 30d — a chart and the totals (/report year by month — bars by month)\n"
            "/export november — an Excel file of the period (and the «📥 Excel» button under every report)\n"
            "Reports leave spam out. /channels month sale — sales only, "
            "/stats week with spam — spam counted too, /stats week spam — spam only\n"
            "/dialog 7K3M9QX or /dialog +79161234567 — a dialog's card\n"
            "/recent — the latest dialogs (/recent 15.11, /recent Anna, /recent +7 916… — search)\n"
            "/summary 09:00 — a daily summary at this time (/summary off — stop it)\n"
            "/web — the reports in a browser: a link to sign in"
        ),
        "help_owner": (
            "\n\n<b>Team</b>\n/invite — invite a staff member\n/staff — staff and access"
            "\n/forget — erase a contact's data\n/status — what works: the site, providers, Telegram"
            "\n/demo — a demo lead\n/owner — the bot's owner, hand the bot over"
        ),
        "invite_link": (
            "A one-time invite link, valid until {until}:\n{link}\n\n"
            "Send it to your staff member: opening it gives them the reports (not access management)."
        ),
        "invite_welcome": "Welcome, {name}! Lead reports are now at your service: /help",
        "invite_joined": "{name} joined the bot with your invite. Staff list: /staff",
        # the dashboard: /web and the menu button (bot/web.py)
        "menu_web": "Reports in a browser: a link to sign in",
        "web_link": "A link to sign in to the reports in a browser. It is valid for 10 minutes, once; do not forward "
        "it:\n{link}",
        "web_app_hint": "\n\nIn Telegram, the «{button}» button left of the message field opens the reports.",
        "web_button": "Reports",
        # owning the bot: the one-time link printed at start-up, /owner and the handover (bot/ownership.py)
        "menu_owner": "The bot's owner, hand the bot over",
        "claim_owned": (
            "You own the bot now, {name}! New leads will come here with their source, campaign and page. "
            "The link you came with no longer works. Reports and settings: /help"
        ),
        "claim_already": "You own this bot already. Reports and settings: /help",
        "claim_taken": "This bot has an owner already. To get access, ask them for an invite.",
        "claim_used": "This link no longer works. While the bot has no owner, a new link appears at each server start.",
        "claim_configured": (
            "This bot's owners are set in CHATTRACK_TELEGRAM_OWNER_IDS: no link is needed. "
            "If you are an owner, add your Telegram id there: <code>{user_id}</code>"
        ),
        "owner_title": "<b>The bot's owner</b>: {name}",
        "owner_choose": "You can hand the bot over to a staff member: pick one. You stay on as staff, with reports.",
        "owner_no_staff": (
            "The bot can only be handed over to a staff member. Invite the person first: /invite — once they "
            "open the invite, come back here: /owner"
        ),
        "owner_button": "Hand over to {name}",
        "owner_confirm": (
            "Make {name} the bot's owner? The new owner invites and removes staff. You stay on as staff: "
            "the reports and leads stay yours to read."
        ),
        "owner_confirm_yes": "Yes, hand it over",
        "owner_kept": "The bot stays yours.",
        "owner_handed": "Done: {name} owns the bot now. You stay on as staff: the reports and leads are still yours.",
        "owner_received": (
            "{name} handed the bot over to you: you own it now. Invite staff: /invite, staff: /staff, "
            "hand it over further: /owner"
        ),
        "owner_gone": "You no longer own this bot.",
        "owner_configured": (
            "The bot's owners are set in CHATTRACK_TELEGRAM_OWNER_IDS: it cannot be handed over from here. "
            "Change the setting and restart the server."
        ),
        "invite_invalid": "This invite is not valid: it was used already or it expired. Please ask for a new one.",
        "invite_owner": "You are an owner: no invite needed. Reports: /help",
        "invite_already": "You have access already. Reports: /help",
        "staff_title": "<b>Staff</b> ({count})",
        "staff_line": "{index}. {name}{username} — since {since}",
        "staff_none": "No staff yet. Invite someone: /invite",
        "forget_usage": "Give the contact's phone or Telegram, as the alert or the card shows it: "
        "<code>/forget +7 916 123-45-67</code>, <code>/forget @olga_flowers</code>, <code>/forget tg:777</code>",
        "forget_telegram_user": "Telegram user {id}",
        "forget_nothing": "Nothing is stored about {who}.",
        "forget_done": "Erased everything about {phone}: {count} dialog(s), with messages, alerts and visits.",
        "staff_remove": "✖ {name}",
        "staff_removed": "{name}: access closed",
        "staff_missing": "This staff member is no longer on the list",
        "summary_on": "Yesterday's summary will arrive daily at {time} ({zone}). The next one: {next}.",
        "summary_off": "The daily summary is off. Turn it on: /summary 09:00",
        "summary_status_on": "The summary arrives at {time} ({zone}). Change: /summary 08:30, stop: /summary off",
        "summary_status_off": "No daily summary. Turn it on: /summary 09:00",
        "summary_bad_time": "I don't understand the time “{text}”. For example: /summary 09:00 or /summary off",
        "dialog_usage": "Give a code or a phone: /dialog 7K3M9QX or /dialog +79161234567",
        "dialog_many": "{count} dialogs found. Open one:",
        "recent_title": "<b>Latest dialogs</b> · page {page}",
        "recent_none": "No dialogs yet.",
        "newer": "◀ Newer",
        "older": "Older ▶",
        "report_failed": "Could not build the report: {error}",
        "export_button": "📥 Excel",
        "money_button": "💰 Money",
        "money_back_button": "📊 Leads",
        "export_caption": "Excel export · {period}\nDialogs: {count}",
        "export_cut": "The file holds the first {shown} of {total}: choose a shorter period for the full list.",
        "export_failed": "Could not build the file for this period. Please try a shorter one.",
        "tags_one_at_a_time": (
            "A report counts one tag at a time, and several were named: {tags}. For example: /channels month sale"
        ),
        "business_connected": (
            "The bot is connected to the Telegram Business account {name}: customers' first messages in your "
            "chats will be attributed by the code from the site's t.me links."
        ),
        "business_disconnected": "The bot is disconnected from the Telegram Business account {name}.",
        # confirmations, first steps, /recent's search (bot/confirm.py, bot/onboarding.py, bot/commands.py)
        "confirm_yes": "Yes, erase",
        "confirm_no": "Cancel",
        "confirm_expired": "This button no longer works. Send the command again if you still need it.",
        "confirm_foreign": "This button is not yours: only the person who asked can press it.",
        "forget_confirm": (
            "Erase everything about {who}: {count} dialog(s), with messages, alerts and visits? This cannot be undone."
        ),
        "forget_cancelled": "Nothing was erased.",
        "forget_too_long": "This contact's name is too long. Give their phone or Telegram, as the card shows it.",
        "forget_alert_erased": "Contact erased on request",
        "staff_confirm": "Close access to the reports for {name}? Only a new invite gives it back.",
        "steps_title": "<b>Getting started</b>",
        "step_snippet": (
            "Put this line into every page of the site, best at the very end, to see where each customer "
            "came from:\n<code>{tag}</code>"
        ),
        "step_snippet_no_url": (
            "Set the server's public address in CHATTRACK_PUBLIC_URL: the line for your site then appears here."
        ),
        "step_provider": "Connect WhatsApp: give your provider this address for incoming messages:\n{urls}",
        "step_provider_none": (
            "Connect WhatsApp: set your provider's secret and give the provider the address for incoming "
            "messages:\n{settings}"
        ),
        "step_summary": "Turn on the daily summary: /summary 09:00",
        "webhook_generic": "any other platform",
        "recent_latest": "<b>Latest dialogs</b>",
        "recent_page": "<b>Dialogs</b>",
        "recent_search": "<b>Search: {query}</b>",
        "recent_until": "<b>Dialogs up to {day}</b>",
        "recent_not_found": (
            "Nothing found: {query}. Search by phone, name or code, or give a date: "
            "/recent +7 916 123-45-67, /recent Anna, /recent 7K3M9QX, /recent 15.11"
        ),
        "recent_scanned": "{count} dialogs looked through; the “Search on” button goes further.",
        "recent_search_on": "Search on ▶",
        "direct_refused": (
            "⚠️ Yandex Direct refuses the token: {reason}. Spend from Direct is not imported until "
            "<code>CHATTRACK_DIRECT_TOKEN</code> holds a working token."
        ),
        "costs_imported": "💰 Spend imported: {lines} lines, {first} – {last}.\n{totals}",
        "costs_total": "• {source}: {amount}",
        "costs_replaced": "Days imported before had their figures replaced, not added to.",
        "costs_rejected": "The file was not imported; spend is unchanged.\n{problems}",
        "costs_send_table": (
            "Send the spend as an Excel book or a delimited text file (spend.xlsx, spend.csv). An ad platform's "
            "export works as it is: give the file a caption naming the source as the site's links do "
            "({examples}). Or a table of your own with the columns Date, Source, Campaign, Cost."
        ),
        "costs_owners_only": "Only an owner can import spend.",
        "costs_download_failed": "Could not download the file from Telegram; please send it again.",
        "costs_error_too_big": "The file is larger than {limit} MB: split it into parts.",
        "costs_error_too_many_rows": "The file has more than {limit} lines: split it into parts.",
        "costs_error_book": "Could not open the file as an Excel book: save it again.",
        "costs_error_columns": (
            "Columns not found: {missing}. A line must name the columns: Date, Campaign, Cost (or Amount "
            "spent, Spend), and Source unless the source is given for the whole file."
        ),
        "costs_error_no_source": (
            "The file has no Source column. Send it again with a caption: one word saying where this spend "
            "comes from, as the site's links name the source: {examples}."
        ),
        "costs_error_no_source_cli": (
            "The file has no Source column. Name the source of the whole file as the site's links name it: {command}"
        ),
        "costs_error_given_source": (
            "“{value}” is not a source: one word is needed, as the site's links name the source ({examples})."
        ),
        "costs_error_encoding": "Could not read the file's text: save it again as an Excel book.",
        "costs_error_period": (
            "Line {line}: spend for {first} – {last}, but it is needed per day: export the report broken down by day"
        ),
        "costs_error_empty": "The file has no line with spend.",
        "costs_error_date": "Line {line}: can't read the date “{value}” (write 2026-11-01 or 01.11.2026)",
        "costs_error_source": "Line {line}: no source",
        "costs_error_campaign": "Line {line}: no campaign",
        "costs_error_amount": "Line {line}: can't read the amount “{value}”",
        "costs_error_no_amount": "Line {line}: no amount",
        "costs_error_negative": "Line {line}: spend below zero “{value}”",
        "costs_error_currency": "Line {line}: spend in {value}, but reports count in {currency}",
        "costs_column_day": "Date",
        "costs_column_source": "Source",
        "costs_column_campaign": "Campaign",
        "costs_column_amount": "Cost",
    },
}


def language(code: str | None) -> Lang:
    """The bot's language for a Telegram user's language_code: Russian for "ru…" and the languages of
    countries where Russian is widely read (uk, be, kk…), English otherwise (also when Telegram sent none)."""
    return normalise_lang(code) if code else "en"


def _table(lang: str) -> str:
    return lang if lang in TEXTS else "en"


def text(lang: str, key: str, **values: object) -> str:
    """The template `key` in `lang` (English when unknown), with every value HTML-escaped."""
    template = TEXTS[_table(lang)][key]
    return template.format(**{name: html.escape(str(value)) for name, value in values.items()})


def plain_text(lang: str, key: str, **values: object) -> str:
    """The template `key` in `lang` with its values as they are: for a message sent without markup."""
    return TEXTS[_table(lang)][key].format(**values)


def channel_name(lang: str, channel: str) -> str:
    """Plain text (not escaped): a channel's human name."""
    return CHANNELS[normalise_lang(lang)].get(channel, channel)
