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
        # sign-in ---------------------------------------------------------------------------------------
        # widgets ---------------------------------------------------------------------------------------
        # dialogs ---------------------------------------------------------------------------------------
    },
    "en": {
        # page --------------------------------------------------------------------------------------
        "title": "Reports",
        "dialogs": "Leads",
        # sign-in ---------------------------------------------------------------------------------------
        # widgets ---------------------------------------------------------------------------------------
        # dialogs ---------------------------------------------------------------------------------------
    },
}


def t(lang: Lang, key: str, **values: object) -> str:
    """The text `key` in `lang` with `{name}` values filled in (templates escape it when they print it)."""
    template = TEXTS[lang][key]
    return template.format(**values) if values else template
