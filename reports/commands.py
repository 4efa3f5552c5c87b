"""The bot's report commands as plain functions: arguments text in, a ready answer out.

A bot handler stays one line: `answer = await commands.stats(store, zone, args, lang, now)`, then send
`answer.messages` (each within Telegram's limit, Telegram HTML), `answer.photo` with `answer.caption`
and `answer.document` when they are set. A bad argument comes back as a message, never an exception.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import datetime
from html import escape
from zoneinfo import ZoneInfo

from reports import counts
from reports.card import dialog_card, find_dialogs
from reports.charts import dynamics_png
from reports.counts import ReportError
from reports.export import dialogs_csv_bytes
from reports.i18n import CHANNELS, Lang, period_label, word
from reports.periods import Period, PeriodError, parse_comparison, parse_period
from reports.render import (
    CAPTION_LIMIT,
    render_card,
    render_comparison,
    render_dialog_list,
    render_period_error,
    render_ranking,
    render_summary,
    split_message,
)
from tracking.models import Channel
from tracking.store.base import Bucket, Store

RECENT = 10
USAGE: dict[Lang, dict[str, str]] = {
    "ru": {
        "dialog": "Напишите код визита или телефон: <code>/dialog 7K3M9QE</code> или <code>/dialog +79161234567</code>",
        "error": "Не получилось: {reason}",
    },
    "en": {
        "dialog": "Give a visit code or a phone: <code>/dialog 7K3M9QE</code> or <code>/dialog +79161234567</code>",
        "error": "Could not do that: {reason}",
    },
}
LANDING_WORDS = {"landing", "landings", "вход", "входа", "входы", "посадочные"}


@dataclass
class Answer:
    messages: list[str] = field(default_factory=list)  # Telegram HTML, each within the message limit
    photo: bytes | None = None  # a PNG to send as a photo, with `caption`
    caption: str | None = None
    document: tuple[str, bytes] | None = None  # (file name, content) to send as a file


def _text(text: str) -> Answer:
    return Answer(messages=split_message(text))


def _failed(lang: Lang, error: Exception) -> Answer:
    if isinstance(error, PeriodError):
        return _text(render_period_error(lang, error))
    return _text(escape(USAGE[lang]["error"].format(reason=error)))


def _channel(token: str) -> str | None:
    """A channel named in an argument: its key ("paid_search") or its name in either language."""
    folded = token.strip().lower().replace(" ", "_")
    for channel in Channel:
        names = {channel.value, *(CHANNELS[lang][channel.value].lower().replace(" ", "_") for lang in CHANNELS)}
        if folded in names:
            return channel.value
    return None


def bucket_for(period: Period) -> Bucket:
    """The bucket that gives a readable chart for a period of this length."""
    if period.days <= 45:
        return Bucket.DAY
    if period.days <= 200:
        return Bucket.WEEK
    if period.days <= 800:
        return Bucket.MONTH
    return Bucket.QUARTER


async def stats(store: Store, zone: ZoneInfo, args: str, lang: Lang, now: datetime) -> Answer:
    """/stats [period]: dialogs, new and repeat (default today)."""
    try:
        period = parse_period(args, zone, now, "today")
        return _text(render_summary(await counts.summary(store, period), lang))
    except (PeriodError, ReportError) as exc:
        return _failed(lang, exc)


async def channels(store: Store, zone: ZoneInfo, args: str, lang: Lang, now: datetime) -> Answer:
    """/channels [channel] [period]: channels (default this week); with a channel, its sources."""
    words = args.split()
    channel, rest = None, args
    for n in (3, 2, 1):  # a channel may be named in several words: "платный поиск неделя"
        if len(words) >= n and (channel := _channel(" ".join(words[:n]))) is not None:
            rest = " ".join(words[n:])
            break
    try:
        period = parse_period(rest, zone, now, "week")
        if channel is None:
            return _text(render_ranking(await counts.channels(store, period), lang))
        report = await counts.ranking(store, period, "source", filters={"channel": channel})
        return _text(render_ranking(report, lang))
    except (PeriodError, ReportError) as exc:
        return _failed(lang, exc)


async def pages(store: Store, zone: ZoneInfo, args: str, lang: Lang, now: datetime) -> Answer:
    """/pages [landing] [period]: top pages of contact, or landing pages (default this week)."""
    words = args.split(maxsplit=1)
    landing = bool(words) and words[0].lower() in LANDING_WORDS
    rest = (words[1] if len(words) > 1 else "") if landing else args
    try:
        period = parse_period(rest, zone, now, "week")
        report = await counts.pages(store, period, "landing" if landing else "contact")
        return _text(render_ranking(report, lang))
    except (PeriodError, ReportError) as exc:
        return _failed(lang, exc)


async def compare(store: Store, zone: ZoneInfo, args: str, lang: Lang, now: datetime) -> Answer:
    """/compare [week | month | month yoy | A vs B]: two periods side by side (default this week vs last)."""
    try:
        a, b = parse_comparison(args, zone, now, "week")
        return _text(render_comparison(await counts.compare(store, a, b), lang))
    except (PeriodError, ReportError) as exc:
        return _failed(lang, exc)


async def report(store: Store, zone: ZoneInfo, args: str, lang: Lang, now: datetime) -> Answer:
    """/report [period]: summary, channels and pages of contact, and a chart by channel (default 30 days)."""
    try:
        period = parse_period(args, zone, now, "30d")
        total, by_channel, by_page, trend = await asyncio.gather(
            counts.summary(store, period),
            counts.channels(store, period),
            counts.pages(store, period, "contact"),
            counts.dynamics(store, period, bucket_for(period)),
        )
    except (PeriodError, ReportError) as exc:
        return _failed(lang, exc)
    text = "\n\n".join([render_summary(total, lang), render_ranking(by_channel, lang), render_ranking(by_page, lang)])
    answer = _text(text)
    if any(trend.totals):
        answer.photo = await asyncio.to_thread(dynamics_png, trend, lang)
        caption = f"<b>{escape(word(lang, 'chart_dialogs'))}</b> · {escape(period_label(lang, period))}"
        answer.caption = split_message(caption, CAPTION_LIMIT)[0]
    return answer


async def export(store: Store, zone: ZoneInfo, args: str, lang: Lang, now: datetime) -> Answer:
    """/export [period]: the dialogs as a CSV file for Excel (default this month)."""
    try:
        period = parse_period(args, zone, now, "month")
    except PeriodError as exc:
        return _failed(lang, exc)
    data = await dialogs_csv_bytes(store, period, zone, lang=lang, delimiter="semicolon" if lang == "ru" else "comma")
    return Answer(messages=[escape(period_label(lang, period))], document=(f"dialogs-{period.label}.csv", data))


async def dialog(store: Store, zone: ZoneInfo, args: str, lang: Lang, default_region: str = "RU") -> Answer:
    """/dialog <code, phone or id>: the dialog card (the newest dialog that matches)."""
    if not args.strip():
        return _text(USAGE[lang]["dialog"])
    found = await find_dialogs(store, args, default_region, limit=1)
    card = await dialog_card(store, found[0], zone) if found else None
    if card is None:
        return _text(escape(word(lang, "dialog_not_found")))
    return _text(render_card(card, lang))


async def card(store: Store, zone: ZoneInfo, dialog_id: str, lang: Lang) -> Answer:
    """The card behind a lead alert's "card" button."""
    found = await dialog_card(store, dialog_id, zone)
    return _text(render_card(found, lang) if found else escape(word(lang, "dialog_not_found")))


async def recent(store: Store, zone: ZoneInfo, lang: Lang, limit: int = RECENT) -> Answer:
    """/recent: the latest dialogs, newest first (the store's newest-first search with no filter)."""
    return _text(render_dialog_list(await store.find_dialogs(limit=limit), lang, zone))
