"""The «💰» button under /channels: it switches the message between the counting view and the money view
(spend, leads, sales, revenue, cost per lead and sale, ROMI: reports/money.py) of the same rows and period.

Its callback data says what the message shows, compactly (Telegram allows 64 bytes):
`mn:<view>:<field>:<first>:<last>:<running>:<only tag>:<tags left out>`, days as YYMMDD. A period that was
still running when the report was shown runs to the moment the button is pressed, as the Excel button's does.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from aiogram.filters.callback_data import CallbackData
from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup

from bot.export import CALLBACK_LIMIT, DAY, DRILLDOWN_FOCUS, export_data
from bot.texts import text
from reports.counts import TagFilter
from reports.i18n import Lang
from reports.money import MONEY_FIELDS
from reports.periods import Period, Unit

# One letter per field the money view drills into.
FIELD: dict[str, str] = {"c": "channel", "s": "source", "m": "campaign", "a": "content"}
LETTER = {name: letter for letter, name in FIELD.items()}


class MoneyCallback(CallbackData, prefix="mn"):
    v: int  # 1: show the money view; 0: show the counting view
    f: str  # the field's letter (FIELD)
    a: str  # first day, YYMMDD
    z: str  # last day
    run: int = 0  # 1: the period was running
    t: str = ""  # the only tag counted
    w: str = ""  # tags left out, comma-separated


def money_data(show_money: bool, by: str, period: Period, tags: TagFilter) -> str | None:
    """The button's callback data; None when it does not fit (or a tag holds a ':')."""
    if by not in LETTER:
        return None
    try:
        data = MoneyCallback(
            v=1 if show_money else 0,
            f=LETTER[by],
            a=period.first.strftime(DAY),
            z=period.last.strftime(DAY),
            run=1 if period.running else 0,
            t=tags.only or "",
            w=",".join(tags.without),
        ).pack()
    except ValueError:
        return None
    return data if len(data.encode()) <= CALLBACK_LIMIT else None


def channels_keyboard(
    lang: Lang, by: str, period: Period, tags: TagFilter, *, money: bool
) -> InlineKeyboardMarkup | None:
    """Under /channels: «💰 Деньги» (or, under the money view, «📊 Заявки» back) beside «📥 Excel»."""
    buttons = []
    switch = money_data(not money, by, period, tags)
    if switch is not None and by in MONEY_FIELDS:
        label = text(lang, "money_back_button" if money else "money_button")
        buttons.append(InlineKeyboardButton(text=label, callback_data=switch))
    export = export_data(DRILLDOWN_FOCUS.get(by, "channels"), period, tags)
    if export is not None:
        buttons.append(InlineKeyboardButton(text=text(lang, "export_button"), callback_data=export))
    return InlineKeyboardMarkup(inline_keyboard=[buttons]) if buttons else None


def pressed_money(data: MoneyCallback, zone: ZoneInfo, now: datetime) -> tuple[bool, str, Period, TagFilter]:
    """What a pressed button asks for: the view, the field, the period (a running one runs to `now`), the tags.
    ValueError for data no button of ours carries."""
    first, last = (datetime.strptime(v, DAY).date() for v in (data.a, data.z))
    if last < first or data.f not in FIELD:
        raise ValueError("not a money button")
    period = Period(first, last, zone, Unit.SPAN, until=now if data.run & 1 else None)
    tags = TagFilter(only=data.t or None, without=tuple(t for t in data.w.split(",") if t))
    return bool(data.v), FIELD[data.f], period, tags
