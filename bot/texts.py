"""What the bot says, in Russian and English.

Templates are Telegram-HTML; `text()` escapes every value it fills in, so a customer's name or message can
never break the markup (or inject a link).
"""

from __future__ import annotations

import html

DEFAULT_LANGUAGE = "ru"

TEXTS: dict[str, dict[str, str]] = {
    "ru": {
        "lead_new": "🆕 <b>Новый лид</b> · {messenger}",
        "lead_repeat": "🔁 <b>Повторное обращение</b> · {messenger}",
        "to_number": "📞 на номер {number}",
        "no_name": "Без имени",
        "no_text": "(без текста)",
        "channel": "📊 <b>{channel}</b>",
        "source": "🌐 Источник: {source}",
        "campaign": "🎯 Кампания: {value}",
        "content": "🧩 Объявление: {value}",
        "term": "🔑 Ключ: {value}",
        "contact_page": "📄 Страница контакта: {value}",
        "landing_page": "🛬 Вход на сайт: {value}",
        "region": "📍 Регион: {value}",
        "device": "💻 {value}",
        "started": "🕐 {value}",
        "status_exact": "🔗 Точный код <code>{code}</code>",
        "status_unknown_code": "⚠️ Неизвестный код <code>{code}</code>: визит не найден или устарел",
        "status_ad_referral": "📣 Реклама: данные объявления от провайдера",
        "status_probable": "❔ Вероятно: клик по ссылке без кода",
        "status_none": "❔ Не атрибутирован: в сообщении нет кода",
        "tag_qualified": "Целевой",
        "tag_sale": "Продажа",
        "tag_spam": "Спам",
        "card": "📇 Карточка",
        "tag_set": "Тег «{tag}» поставлен",
        "tag_removed": "Тег «{tag}» снят",
        "dialog_missing": "Диалог не найден",
        "not_allowed": "Эта кнопка только для владельцев",
        "start_owner": (
            "Здравствуйте, {name}! Я буду присылать сюда новые заявки из WhatsApp и Telegram "
            "с источником, кампанией и страницей сайта."
        ),
        "start_stranger": "Здравствуйте! Это служебный бот компании, он работает только для её сотрудников.",
    },
    "en": {
        "lead_new": "🆕 <b>New lead</b> · {messenger}",
        "lead_repeat": "🔁 <b>Returning customer</b> · {messenger}",
        "to_number": "📞 to {number}",
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
        "device": "💻 {value}",
        "started": "🕐 {value}",
        "status_exact": "🔗 Exact code <code>{code}</code>",
        "status_unknown_code": "⚠️ Unknown code <code>{code}</code>: no such visit, or it expired",
        "status_ad_referral": "📣 Ad: the provider sent the ad's data",
        "status_probable": "❔ Probable: a click on a link without a code",
        "status_none": "❔ Not attributed: no code in the message",
        "tag_qualified": "Qualified",
        "tag_sale": "Sale",
        "tag_spam": "Spam",
        "card": "📇 Card",
        "tag_set": "Tag “{tag}” set",
        "tag_removed": "Tag “{tag}” removed",
        "dialog_missing": "Dialog not found",
        "not_allowed": "This button is for the owners only",
        "start_owner": (
            "Hello, {name}! I will post new WhatsApp and Telegram leads here, with their source, "
            "campaign and site page."
        ),
        "start_stranger": "Hello! This is a company's internal bot; it only works for its staff.",
    },
}

CHANNELS: dict[str, dict[str, str]] = {
    "ru": {
        "paid_search": "Платный поиск",
        "organic_search": "Поиск",
        "paid_social": "Реклама в соцсетях",
        "organic_social": "Соцсети",
        "email": "Email",
        "referral": "Переход с сайта",
        "display": "Медийная реклама",
        "messenger": "Мессенджер",
        "affiliate": "Партнёры",
        "other_campaign": "Другая кампания",
        "direct": "Прямой заход",
        "unattributed": "Источник неизвестен",
    },
    "en": {
        "paid_search": "Paid search",
        "organic_search": "Organic search",
        "paid_social": "Paid social",
        "organic_social": "Organic social",
        "email": "Email",
        "referral": "Referral",
        "display": "Display",
        "messenger": "Messenger",
        "affiliate": "Affiliates",
        "other_campaign": "Other campaign",
        "direct": "Direct",
        "unattributed": "Unknown source",
    },
}


def language(code: str | None) -> str:
    """The bot's language for a Telegram user's language_code: Russian for "ru…", English otherwise."""
    return "ru" if code and code.lower().startswith("ru") else "en"


def _table(lang: str) -> str:
    return lang if lang in TEXTS else "en"


def text(lang: str, key: str, **values: object) -> str:
    """The template `key` in `lang` (English when unknown), with every value HTML-escaped."""
    template = TEXTS[_table(lang)][key]
    return template.format(**{name: html.escape(str(value)) for name, value in values.items()})


def channel_name(lang: str, channel: str) -> str:
    """Plain text (not escaped): a channel's human name."""
    return CHANNELS[_table(lang)].get(channel, channel)
