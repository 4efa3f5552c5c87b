"""Words and number formats of the reports, in Russian and English. Plain text: callers escape."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Literal

from reports.periods import Period
from tracking.models import Dialog, Messenger
from tracking.store.base import Bucket

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
        "pages_contact": "Страницы контакта",
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
        "filters": "Фильтр",
        "vs": "против",
        "was_none": "не было",
        "against_day_before": "К предыдущему дню",
        "against_week_ago": "К тому же дню неделю назад",
        "daily_title": "Итоги дня",
        "top_channels": "Каналы",
        "top_pages": "Страницы контакта",
        "chart_dialogs": "Диалоги по каналам",
        "history": "Ранее",
        "no_history": "Ранее не писал",
        "alert_withheld": "Оповещение не отправлено: слишком много обращений с этого контакта за час",
        "card": "Карточка диалога",
        "attribution": "Атрибуция",
        "visit": "Визит",
        "device_block": "Устройство",
        "contact": "Контакт",
        "first_message_block": "Первое сообщение",
        "dialog_not_found": "Диалог не найден.",
        # card values
        "customer_new": "новый клиент",
        "customer_repeat": "повторный клиент",
        "status_exact": "по коду",
        "status_unknown_code": "код неизвестен или устарел",
        "status_ad_referral": "по данным рекламы от провайдера",
        "status_probable": "вероятно: клик по ссылке без кода",
        "status_none": "не атрибутирован",
        # exports (CSV, Excel): values, sheet names (≤ 31 characters), headers, notes
        "export_new": "новый",
        "export_repeat": "повторный",
        "tag_qualified": "Целевой",
        "tag_sale": "Продажа",
        "tag_spam": "Спам",
        "sheet_sources": "Источники",
        "sheet_campaigns": "Кампании",
        "sheet_by_day": "По дням",
        "day": "День",
        "share": "Доля",
        "period": "Период",
        "created": "Выгружено",
        "export_cut": "Показаны первые {shown} из {total} диалогов: для полного списка выберите период короче.",
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
        "filters": "Filter",
        "vs": "vs",
        "was_none": "none before",
        "against_day_before": "Against the day before",
        "against_week_ago": "Against the same weekday a week ago",
        "daily_title": "Daily summary",
        "top_channels": "Channels",
        "top_pages": "Pages of contact",
        "chart_dialogs": "Dialogs by channel",
        "history": "Earlier",
        "no_history": "First time",
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
        "sheet_sources": "Sources",
        "sheet_campaigns": "Campaigns",
        "sheet_by_day": "By day",
        "day": "Day",
        "share": "Share",
        "period": "Period",
        "created": "Exported",
        "export_cut": "The first {shown} of {total} dialogs are shown: choose a shorter period for the full list.",
    },
}

CHANNELS: dict[Lang, dict[str, str]] = {
    "ru": {
        "paid_search": "Платный поиск",
        "organic_search": "Органический поиск",
        "paid_social": "Платные соцсети",
        "organic_social": "Соцсети",
        "email": "Email",
        "referral": "Переходы с сайтов",
        "display": "Медийная реклама",
        "messenger": "Мессенджеры",
        "affiliate": "Партнёры",
        "other_campaign": "Другие кампании",
        "direct": "Прямые заходы",
        "unattributed": "Без атрибуции",
    },
    "en": {
        "paid_search": "Paid search",
        "organic_search": "Organic search",
        "paid_social": "Paid social",
        "organic_social": "Organic social",
        "email": "Email",
        "referral": "Referral",
        "display": "Display",
        "messenger": "Messengers",
        "affiliate": "Affiliates",
        "other_campaign": "Other campaigns",
        "direct": "Direct",
        "unattributed": "Unattributed",
    },
}

FIELDS: dict[Lang, dict[str, str]] = {
    "ru": {
        "id": "ID диалога",
        "started": "Дата и время",
        "contact_name": "Имя",
        "contact_phone": "Телефон",
        "contact_id": "ID контакта",
        "messenger": "Мессенджер",
        "business_number": "Номер компании",
        "customer": "Клиент",
        "channel": "Канал",
        "source": "Источник",
        "medium": "Тип трафика",
        "campaign": "Кампания",
        "content": "Объявление",
        "term": "Ключевое слово",
        "gclid": "gclid",
        "yclid": "yclid",
        "fbclid": "fbclid",
        "referrer": "Реферер",
        "landing_page": "Страница входа",
        "contact_page": "Страница контакта",
        "pages_seen": "Просмотрено страниц",
        "time_on_site_seconds": "Время на сайте, с",
        "time_on_site": "Время на сайте",
        "region": "Регион",
        "os": "ОС",
        "browser": "Браузер",
        "device": "Устройство",
        "screen": "Экран",
        "language": "Язык",
        "tags": "Теги",
        "status": "Атрибуция",
        "status_reason": "Причина",
        "code": "Код",
        "first_message": "Первое сообщение",
        "message_count": "Сообщений",
        "last_message": "Последнее сообщение",
        "started_at_utc": "Начало (UTC)",
        "click_ids": "Click ID",
        "landing": "Вход",
        "contact": "Контакт",
        "business": "Номер",
        "status_word": "Статус",
        "tag": "Тег",
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


def value_label(lang: Lang, by: str, value: str | None) -> str:
    """How a grouped value reads: channel names translated, a missing value as "(not set)"."""
    if value is None or value == "":
        return WORDS[lang]["not_set"]
    if by == "channel":
        return CHANNELS[lang].get(value, value)
    return value


def number(lang: Lang, n: int) -> str:
    grouped = f"{n:,}"
    return grouped.replace(",", "\u00a0") if lang == "ru" else grouped


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
    """ "27 ноя 2026", "1–15 Nov 2026 (so far)" — the days a report covers, as a person reads them."""
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
    return f"{text} ({WORDS[lang]['so_far']})" if running else text


def bucket_label(lang: Lang, bucket: Bucket, key: str) -> str:
    """A bucket key ("2026-11-27", "2026-W48", "2026-11", "2026-Q4") as a short axis label."""
    if bucket is Bucket.DAY:
        day = date.fromisoformat(key)
        return f"{day.day:02d}.{day.month:02d}" if lang == "ru" else f"{MONTHS['en'][day.month - 1]} {day.day}"
    if bucket is Bucket.WEEK:
        year, week = key.split("-W")
        return f"{int(week)} нед {year}" if lang == "ru" else f"W{int(week)} {year}"
    if bucket is Bucket.MONTH:
        year, month = key.split("-")
        names = MONTHS_NOMINATIVE_RU if lang == "ru" else MONTHS["en"]
        return f"{names[int(month) - 1]} {year}"
    year, quarter = key.split("-Q")
    return f"{quarter} кв {year}" if lang == "ru" else f"Q{quarter} {year}"


def duration(lang: Lang, span: timedelta) -> str:
    seconds = int(span.total_seconds())
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    units = ("д", "ч", "мин", "с") if lang == "ru" else ("d", "h", "min", "s")
    parts = [f"{v}\u00a0{u}" for v, u in zip((days, hours, minutes, secs), units, strict=True) if v]
    return " ".join(parts[:2]) or f"0\u00a0{units[3]}"


def messenger_label(dialog: Dialog) -> str:
    """WhatsApp, Telegram (a chat with the bot itself) or Telegram Business (the owner's own account)."""
    if dialog.messenger is Messenger.WHATSAPP:
        return "WhatsApp"
    return "Telegram Business" if dialog.provider == "telegram_business" else "Telegram"
