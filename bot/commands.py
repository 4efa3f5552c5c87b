"""Report commands for owners and staff, with natural arguments in Russian and English.

/stats [period], /channels [period] [source|campaign|…], /pages [landing] [period], /team [period] (who took
leads and how fast they were answered), /compare [periods],
/report [period] [по месяцам|by week…] (a chart as a photo, then the totals), /dialog <code or phone>,
/recent [search or date], /summary [HH:MM|off], /help. Every answer follows the asker's Telegram language;
long ones are split at Telegram's limit. Reports come from `reports/`: this module only parses, picks and sends.
"""

from __future__ import annotations

import asyncio
import html
import re
from collections.abc import Callable, Iterable, Sequence
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from aiogram import F, Router
from aiogram.filters import Command, CommandObject
from aiogram.types import BufferedInputFile, CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message

from bot.access import MEMBERS, HasRole, Role, Steps
from bot.alerts import TAGS, CardCallback, send_card
from bot.export import ExportCallback, export_keyboard, pressed, send_export
from bot.money import MoneyCallback, channels_keyboard, pressed_money
from bot.outbox import Clock
from bot.recent import Recent, RecentCallback
from bot.texts import language, text
from reports.card import find_dialogs
from reports.charts import chart_period, dynamics_png
from reports.counts import (
    DRILLDOWN_FIELDS,
    ReportError,
    TagFilter,
    channels,
    compare,
    dynamics,
    pages,
    ranking,
    summary,
)
from reports.i18n import Lang, day_label, phone_label, tag_name, value_label, zone_label
from reports.money import money_report, render_money
from reports.periods import Period, PeriodError, Unit, add_months, parse_comparison, parse_period
from reports.render import (
    CAPTION_LIMIT,
    clip,
    render_comparison,
    render_dynamics,
    render_period_error,
    render_ranking,
    render_summary,
    render_team,
    split_message,
    team_line,
)
from reports.tag_words import TagWordsError, split_tag_words
from reports.team import team_report
from tracking.demo import is_demo
from tracking.models import Dialog
from tracking.store.base import Bucket, Store, SummaryChoice
from tracking.strings import one_line

TOP = 10
# /stats' line on the team reads at most this many dialogs (~0.5 s on SQLite); a longer period leaves it to /team.
STATS_TEAM_ROWS = 20_000

# A first word that picks what /channels drills into, and which pages /pages lists.
DRILLDOWN_WORDS: dict[str, str] = {
    **{name: name for name in DRILLDOWN_FIELDS},
    "keyword": "term",
    "источник": "source",
    "источники": "source",
    "тип": "medium",
    "кампания": "campaign",
    "кампании": "campaign",
    "объявление": "content",
    "объявления": "content",
    "ключ": "term",
    "ключи": "term",
}
PAGE_WORDS: dict[str, str] = {
    "landing": "landing",
    "вход": "landing",
    "входа": "landing",
    "входы": "landing",
    "contact": "contact",
    "контакт": "contact",
    "контакта": "contact",
}
OFF_WORDS = frozenset({"off", "stop", "no", "выкл", "выключить", "откл", "отключить", "нет", "стоп"})
_TIME = re.compile(r"^(\d{1,2})(?:[:.](\d{2}))?$")


def parse_time(value: str) -> time | None:
    """ "9", "09:00", "9.30" → a local time of day; None for anything else."""
    match = _TIME.match(value.strip())
    if match is None:
        return None
    hours, minutes = int(match.group(1)), int(match.group(2) or 0)
    return time(hours, minutes) if hours < 24 and minutes < 60 else None


def pick_word(args: str | None, words: dict[str, str]) -> tuple[str | None, str]:
    """A leading (or trailing) keyword from `words`, and the rest of the arguments (the period)."""
    parts = (args or "").split()
    for index in (0, -1):
        if parts and parts[index].lower() in words:
            picked = words[parts[index].lower()]
            del parts[index]
            return picked, " ".join(parts)
    return None, " ".join(parts)


# Words that pick the bars of /report's chart: «по месяцам», "by month", «помесячно».
_BUCKET_WORDS = re.compile(
    r"(?:^|\s)(?:по\s+(?P<ru>дням|неделям|месяцам|кварталам)|by\s+(?P<en>day|week|month|quarter)s?|"
    r"(?P<adv>daily|weekly|monthly|quarterly|подневно|понедельно|помесячно|поквартально))(?=\s|$)",
    re.IGNORECASE,
)
_BUCKET_OF = {
    **dict.fromkeys(("дням", "day", "daily", "подневно"), Bucket.DAY),
    **dict.fromkeys(("неделям", "week", "weekly", "понедельно"), Bucket.WEEK),
    **dict.fromkeys(("месяцам", "month", "monthly", "помесячно"), Bucket.MONTH),
    **dict.fromkeys(("кварталам", "quarter", "quarterly", "поквартально"), Bucket.QUARTER),
}


def pick_bucket(args: str | None) -> tuple[Bucket | None, str]:
    """The bars the owner asked for («по месяцам», "by week") and the rest of the arguments (the period)."""
    text = args or ""
    match = _BUCKET_WORDS.search(text)
    if match is None:
        return None, " ".join(text.split())
    picked = (match.group("ru") or match.group("en") or match.group("adv")).lower()
    return _BUCKET_OF[picked], " ".join((text[: match.start()] + " " + text[match.end() :]).split())


def bucket_period(bucket: Bucket, zone: ZoneInfo, now: datetime) -> Period:
    """/report «по месяцам» with no period: whole bars back from today, about a dozen of them (30 days, 13
    weeks, 12 months, 8 quarters), the last one so far."""
    today = now.astimezone(zone).date()
    match bucket:
        case Bucket.DAY:
            first = today - timedelta(days=29)
        case Bucket.WEEK:
            first = today - timedelta(days=today.weekday(), weeks=12)
        case Bucket.MONTH:
            first = add_months(today.replace(day=1), -11)
        case Bucket.QUARTER:
            first = add_months(date(today.year, (today.month - 1) // 3 * 3 + 1, 1), -21)
    return Period(first, today, zone, Unit.SPAN, until=now)


def chart_bucket(period: Period) -> Bucket:
    """The bucket chosen when the owner names none: about 5 to 45 bars. Days up to six weeks (a month by day),
    weeks up to about a quarter (13–14 bars labelled "3–9 ноя"), months up to two years (a year is 12
    bars), quarters beyond."""
    if period.days <= 45:
        return Bucket.DAY
    if period.days <= 100:
        return Bucket.WEEK
    if period.days <= 2 * 366:
        return Bucket.MONTH
    return Bucket.QUARTER


def next_slot(at: time, zone: ZoneInfo, now: datetime) -> datetime:
    """The next moment the local time `at` comes round (strictly after `now`)."""
    today = now.astimezone(zone).date()
    slot = datetime.combine(today, at, tzinfo=zone)
    return slot if slot > now else datetime.combine(today + timedelta(days=1), at, tzinfo=zone)


def summary_time_of(
    user_id: int, role: Role, choices: Iterable[SummaryChoice], default: str | None
) -> tuple[str | None, bool]:
    """The member's summary time ("HH:MM" or None) and whether they chose it themselves."""
    for choice in choices:
        if choice.user_id == user_id:
            return choice.at, True
    return (default if role is Role.OWNER else None), False


def recent_line(index: int, dialog: Dialog, lang: Lang, zone: ZoneInfo) -> str:
    local = dialog.started_at.astimezone(zone)
    # One line per dialog, bounded once escaped: eight of them always fit one Telegram message.
    phone = phone_label(one_line(dialog.contact_phone)) if dialog.contact_phone else None
    who = html.escape(clip(one_line(dialog.contact_name or phone or dialog.contact_id), 120))
    channel = html.escape(value_label(lang, "channel", dialog.attribution.channel.value))
    source = one_line(dialog.attribution.source)
    # GA4's placeholders say nothing the channel does not ("Прямые заходы"); a name reads as people know it.
    source = "" if source in ("", "(direct)", "(not set)") else value_label(lang, "source", source)
    source = f" · {html.escape(clip(source, 60))}" if source else ""
    repeat = " 🔁" if dialog.is_repeat else ""
    demo = f"{text(lang, 'demo_mark')} · " if is_demo(dialog) else ""  # a trial lead (GET /demo), said so
    when = f"{day_label(lang, local.date(), year=False)}, {local:%H:%M}"  # as the alert and the card write it
    return f"{index}. {demo}{when} — <b>{who}</b>{repeat} — {channel}{source}"


def card_buttons(dialogs: list[Dialog], first_index: int = 1) -> list[list[InlineKeyboardButton]]:
    """Numbered buttons that open each dialog's card, five to a row."""
    buttons = [
        InlineKeyboardButton(text=str(first_index + i), callback_data=CardCallback(dialog_id=d.id).pack())
        for i, d in enumerate(dialogs)
    ]
    return [buttons[i : i + 5] for i in range(0, len(buttons), 5)]


def commands_router(
    store: Store,
    *,
    zone: ZoneInfo,
    clock: Clock,
    default_region: str = "RU",
    summary_default: str | None = None,
    render_chart: Callable[..., bytes] = dynamics_png,
    tags: Sequence[str] = TAGS,
    steps: Steps | None = None,
    currency: str = "RUB",
) -> Router:
    """`steps`: an owner's next steps (bot/onboarding.py), said under an empty /recent; `currency`: the business's
    (the «💰» view of /channels)."""
    router = Router(name="commands")
    router.message.filter(HasRole(MEMBERS), F.chat.type == "private")  # in a group: bot/access.py private_only
    router.callback_query.filter(HasRole(MEMBERS))

    def lang_of(message: Message | CallbackQuery) -> Lang:
        return language(message.from_user.language_code if message.from_user else None)

    async def answer_long(message: Message, body: str, keyboard: InlineKeyboardMarkup | None = None) -> None:
        """The answer in parts at Telegram's limit; `keyboard` (the Excel button) under the last one."""
        parts = split_message(body)
        for i, part in enumerate(parts, 1):
            await message.answer(part, reply_markup=keyboard if i == len(parts) else None)

    async def tags_or_error(message: Message, args: str | None) -> tuple[TagFilter, str] | None:
        """The tag words of a report's arguments (spam left out when none) and the rest, for the period."""
        try:
            picked, rest = split_tag_words(args, tags)
        except TagWordsError as error:
            lang = lang_of(message)
            named = ", ".join(f"«{tag_name(lang, tag)}»" for tag in error.tags)
            await message.answer(text(lang, "tags_one_at_a_time", tags=named))
            return None
        return picked or TagFilter(), rest

    async def period_or_error(message: Message, args: str | None, default: str) -> Period | None:
        try:
            return parse_period(args, zone, clock(), default=default)
        except PeriodError as error:
            await message.answer(render_period_error(lang_of(message), error))
            return None

    async def report_args(
        message: Message, args: str | None, default: str, words: dict[str, str] | None = None
    ) -> tuple[TagFilter, str | None, Period] | None:
        """A report's tag filter, its first word from `words` (what it lists), and its period; None when the
        owner was told what was wrong."""
        picked = await tags_or_error(message, args)
        if picked is None:
            return None
        chosen, rest = picked
        word, rest = pick_word(rest, words) if words else (None, rest)
        period = await period_or_error(message, rest, default)
        return None if period is None else (chosen, word, period)

    async def teach_if_empty(message: Message, role: Role, body: str, dialogs: int) -> str:
        """An empty report tells an owner the steps not taken yet (no snippet, no provider, no summary)."""
        if dialogs or role is not Role.OWNER or steps is None:
            return body
        todo = await steps(message.from_user.id if message.from_user else 0, lang_of(message))
        return body + f"\n\n{todo}" if todo else body

    @router.message(Command("help"))
    async def help_(message: Message, role: Role) -> None:
        lang = lang_of(message)
        await message.answer(text(lang, "help") + (text(lang, "help_owner") if role is Role.OWNER else ""))

    @router.message(Command("stats"))
    async def stats(message: Message, command: CommandObject, role: Role) -> None:
        asked = await report_args(message, command.args, "today")
        if asked is None:
            return
        chosen, _, period = asked
        lang = lang_of(message)
        totals, by_channel, team = await asyncio.gather(
            summary(store, period, tags=chosen),
            channels(store, period, limit=TOP, tags=chosen),
            team_report(store, period, now=clock(), tags=chosen, limit=STATS_TEAM_ROWS),
        )
        body = render_summary(totals, lang)
        answered = None if team.cut else team_line(lang, team.total)  # a partial count would mislead: /team says
        body += f"\n{answered}" if answered else ""
        if totals.totals.dialogs:
            body += "\n\n" + render_ranking(by_channel, lang, filters=False)
        body = await teach_if_empty(message, role, body, totals.totals.dialogs)
        await answer_long(message, body, export_keyboard(lang, "summary", period, chosen))

    @router.message(Command("channels"))
    async def channels_(message: Message, command: CommandObject, role: Role) -> None:
        asked = await report_args(message, command.args, "today", DRILLDOWN_WORDS)
        if asked is None:
            return
        chosen, field, period = asked
        report = await ranking(store, period, field or "channel", limit=TOP * 2, tags=chosen)
        lang = lang_of(message)
        body = await teach_if_empty(message, role, render_ranking(report, lang), report.total.dialogs)
        await answer_long(message, body, channels_keyboard(lang, field or "channel", period, chosen, money=False))

    @router.callback_query(MoneyCallback.filter())
    async def channels_money(query: CallbackQuery, callback_data: MoneyCallback) -> None:
        """«💰»: the same rows and period with spend, sales and revenue; «📊» back to the counts."""
        await query.answer()
        if not isinstance(query.message, Message):
            return
        try:
            show_money, by, period, chosen = pressed_money(callback_data, zone, clock())
        except ValueError:
            return  # data no button of ours carries
        lang = lang_of(query)
        if show_money:
            body = render_money(await money_report(store, period, by, tags=chosen, currency=currency, limit=TOP), lang)
        else:
            body = render_ranking(await ranking(store, period, by, limit=TOP * 2, tags=chosen), lang)
        keyboard = channels_keyboard(lang, by, period, chosen, money=show_money)
        await query.message.edit_text(split_message(body)[0], reply_markup=keyboard)

    @router.message(Command("pages"))
    async def pages_(message: Message, command: CommandObject, role: Role) -> None:
        asked = await report_args(message, command.args, "today", PAGE_WORDS)
        if asked is None:
            return
        chosen, kind, period = asked
        report = await pages(store, period, "landing" if kind == "landing" else "contact", limit=TOP * 2, tags=chosen)
        lang = lang_of(message)
        button = export_keyboard(lang, "landing" if kind == "landing" else "pages", period, chosen)
        body = await teach_if_empty(message, role, render_ranking(report, lang), report.total.dialogs)
        await answer_long(message, body, button)

    @router.message(Command("team"), F.chat.type == "private")  # in a group, /team picks the team chat (bot/team.py)
    async def team_(message: Message, command: CommandObject) -> None:
        asked = await report_args(message, command.args, "today")
        if asked is None:
            return
        chosen, _, period = asked
        lang = lang_of(message)
        report = await team_report(store, period, now=clock(), tags=chosen)
        await answer_long(message, render_team(report, lang), export_keyboard(lang, "dialogs", period, chosen))

    @router.message(Command("compare"))
    async def compare_(message: Message, command: CommandObject) -> None:
        lang = lang_of(message)
        picked = await tags_or_error(message, command.args)
        if picked is None:
            return
        chosen, rest = picked
        try:
            a, b = parse_comparison(rest, zone, clock(), default="week")
        except PeriodError as error:
            await message.answer(render_period_error(lang, error))
            return
        button = export_keyboard(lang, "comparison", a, chosen, b)
        await answer_long(message, render_comparison(await compare(store, a, b, tags=chosen), lang), button)

    @router.message(Command("report"))
    async def report(message: Message, command: CommandObject) -> None:
        picked = await tags_or_error(message, command.args)
        if picked is None:
            return
        chosen, rest = picked
        bucket, rest = pick_bucket(rest)
        if bucket is not None and not rest:
            period: Period | None = bucket_period(bucket, zone, clock())
        else:
            period = await period_or_error(message, rest, "30d")
        if period is None:
            return
        lang = lang_of(message)
        bars = bucket or chart_bucket(period)
        drawn = chart_period(period) if bars is Bucket.DAY else period  # one day: with the days before it
        try:
            trend, totals, by_channel, by_page = await asyncio.gather(
                dynamics(store, drawn, bars, tags=chosen),
                summary(store, period, tags=chosen),
                channels(store, period, limit=TOP, tags=chosen),
                pages(store, period, "contact", limit=5, tags=chosen),
            )
        except ReportError as error:
            await message.answer(text(lang, "report_failed", error=str(error)))
            return
        caption = split_message(render_summary(totals, lang), CAPTION_LIMIT)[0]
        if not any(trend.totals):  # an empty chart says nothing the caption does not
            await message.answer(caption)
            return
        focus = period if drawn != period else None
        png = await asyncio.to_thread(render_chart, trend, lang, focus=focus)
        await message.answer_photo(BufferedInputFile(png, filename="report.png"), caption=caption)
        body = render_ranking(by_channel, lang, filters=False)  # the caption said them
        if bucket is not None:  # bars asked for by name: their numbers too, one line each
            body = render_dynamics(trend, lang) + "\n\n" + body
        if by_page.rows:
            body += "\n\n" + render_ranking(by_page, lang, filters=False)
        await answer_long(message, body, export_keyboard(lang, "dynamics", period, chosen))

    @router.message(Command("export"))
    async def export(message: Message, command: CommandObject) -> None:
        asked = await report_args(message, command.args, "month")
        if asked is None or message.bot is None:
            return
        chosen, _, period = asked
        await send_export(
            message.bot, message.chat.id, store, zone, lang_of(message), now=clock(), period=period, tags=chosen,
            currency=currency,
        )  # fmt: skip

    @router.callback_query(ExportCallback.filter())
    async def export_pressed(query: CallbackQuery, callback_data: ExportCallback) -> None:
        await query.answer()
        if query.message is None or query.bot is None:
            return
        now = clock()
        try:
            focus, period, compared, chosen = pressed(callback_data, zone, now)
        except ValueError:
            return  # data no button of ours carries
        await send_export(
            query.bot, query.message.chat.id, store, zone, lang_of(query),
            now=now, period=period, tags=chosen, focus=focus, compared=compared, currency=currency,
        )  # fmt: skip

    @router.message(Command("dialog"))
    async def dialog(message: Message, command: CommandObject) -> None:
        lang = lang_of(message)
        if not command.args:
            await message.answer(text(lang, "dialog_usage"))
            return
        found = await find_dialogs(store, command.args, default_region, limit=10)
        if not found:
            await message.answer(text(lang, "dialog_missing"))
        elif len(found) == 1:
            await send_card(message, store, found[0], lang, zone, tags)
        else:
            lines = [text(lang, "dialog_many", count=len(found))]
            lines += [recent_line(i, d, lang, zone) for i, d in enumerate(found, 1)]
            await message.answer(
                "\n".join(lines), reply_markup=InlineKeyboardMarkup(inline_keyboard=card_buttons(found))
            )

    recent_pages = Recent(store, zone, default_region, lambda i, d, lang: recent_line(i, d, lang, zone), card_buttons)

    @router.message(Command("recent"))
    async def recent(message: Message, command: CommandObject, role: Role) -> None:
        lang = lang_of(message)
        page = await recent_pages.first(lang, command.args, clock())
        body = page.body
        if page.empty and role is Role.OWNER and steps is not None:
            todo = await steps(message.from_user.id if message.from_user else 0, lang)
            body += f"\n\n{todo}" if todo else ""
        await message.answer(body, reply_markup=page.keyboard)

    @router.callback_query(RecentCallback.filter())
    async def recent_more(query: CallbackQuery, callback_data: RecentCallback) -> None:
        await query.answer()
        if isinstance(query.message, Message):
            page = await recent_pages.turn(lang_of(query), callback_data)
            await query.message.edit_text(page.body, reply_markup=page.keyboard)

    @router.message(Command("summary"))
    async def summary_(message: Message, command: CommandObject, role: Role) -> None:
        user = message.from_user
        assert user is not None  # the role filter matched a sender
        lang = lang_of(message)
        args = (command.args or "").strip()
        now = clock()
        if not args:
            current, _ = summary_time_of(user.id, role, await store.summary_choices(), summary_default)
            if current is None:
                await message.answer(text(lang, "summary_status_off"))
            else:
                await message.answer(text(lang, "summary_status_on", time=current, zone=zone_label(lang, zone, now)))
            return
        if args.lower() in OFF_WORDS:
            await store.set_summary_choice(SummaryChoice(user_id=user.id, at=None, lang=lang, chosen_at=now))
            await message.answer(text(lang, "summary_off"))
            return
        at = parse_time(args)
        if at is None:
            await message.answer(text(lang, "summary_bad_time", text=args[:40]))
            return
        chosen = f"{at:%H:%M}"
        await store.set_summary_choice(SummaryChoice(user_id=user.id, at=chosen, lang=lang, chosen_at=now))
        upcoming = next_slot(at, zone, now)
        when = f"{day_label(lang, upcoming.date(), year=False)}, {chosen}"
        await message.answer(text(lang, "summary_on", time=chosen, zone=zone_label(lang, zone, now), next=when))

    return router


__all__ = [
    "RecentCallback",
    "bucket_period",
    "chart_bucket",
    "commands_router",
    "next_slot",
    "parse_time",
    "pick_bucket",
    "pick_word",
]
