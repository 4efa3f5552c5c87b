"""The daily summary: one day's dialogs against the day before and the same weekday a week ago, with a chart;
how many the team answered, and the customers left without an answer, by name."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from html import escape
from zoneinfo import ZoneInfo

from reports.charts import chart_period, dynamics_png
from reports.counts import TagFilter, channels, dynamics, pages, summary
from reports.i18n import WEEKDAYS, Lang, day_label, money, number, percent, word
from reports.money import cost_days
from reports.periods import Period, Unit
from reports.render import CAPTION_LIMIT, ranking_lines, render_change_line, split_message, team_line, unanswered_lines
from reports.tag_words import tag_note
from reports.team import figures, team_rows, unanswered_dialogs
from tracking.store.base import Bucket, Store

TOP = 5
UNANSWERED_NAMES = 10  # customers named in «Без ответа»; the rest are counted («и ещё 3»)


@dataclass(frozen=True)
class Summary:
    text: str  # Telegram HTML, under one message's limit
    png: bytes | None  # the chart; None when the whole chart window had no dialogs
    caption: str  # a short Telegram-HTML caption for the photo (≤ 1024 characters)


async def daily_summary(
    store: Store, zone: ZoneInfo, day: date, lang: Lang, *, tags: TagFilter | None = None, currency: str = "RUB"
) -> Summary:
    """The summary of local day `day` (usually yesterday) in `zone`; spam left out unless `tags` say otherwise.
    With ad spend known for the day: the spend and what a lead cost (spend / the day's dialogs)."""
    period = Period(day, day, zone, Unit.DAY)
    before, week_ago = period.shifted(days=-1), period.shifted(days=-7)
    window = chart_period(period)  # the day shaded among the 13 before it
    spend_of_day = asyncio.ensure_future(store.cost_rows(*cost_days(period)))  # beside the six below
    day_before, last_week, by_channel, by_page, trend, team = await asyncio.gather(
        summary(store, before, tags=tags),
        summary(store, week_ago, tags=tags),
        channels(store, period, limit=TOP, tags=tags),
        pages(store, period, "contact", limit=TOP, tags=tags),
        dynamics(store, window, Bucket.DAY, top=5, tags=tags),
        team_rows(store, period, tags=tags),
    )
    costs = await spend_of_day
    t = by_channel.total  # the channels add up to the day's totals: no query of its own
    heading = f"{day_label(lang, day)} ({WEEKDAYS[lang][day.weekday()]})"
    head = [
        f"<b>{escape(word(lang, 'daily_title'))}</b> · {escape(heading)}",
        f"{escape(word(lang, 'dialogs'))}: <b>{number(lang, t.dialogs)}</b>",
        *(f"<i>{escape(note)}</i>" for note in tag_note(lang, by_channel.filters.get("tag"), by_channel.tags)),
    ]
    if t.dialogs:
        head.append(
            f"{escape(word(lang, 'new'))}: {number(lang, t.new)} ({percent(lang, t.new_share)}) · "
            f"{escape(word(lang, 'repeat'))}: {number(lang, t.repeat)} ({percent(lang, t.repeat_share)})"
        )
    spent = [cost.amount for cost in costs if cost.currency.upper() == currency.upper()]
    if spent:  # no costs at all (none imported): no line, rather than a spend of zero
        spend = sum(spent, Decimal(0))
        cost_per_lead = money(spend / t.dialogs if t.dialogs else None, currency, lang)
        head.append(
            escape(word(lang, "money_daily").format(spend=money(spend, currency, lang), cost_per_lead=cost_per_lead))
        )
    head += [
        render_change_line(lang, "against_day_before", t, day_before.totals),
        render_change_line(lang, "against_week_ago", t, last_week.totals),
    ]
    body = list(head)
    answered = team_line(lang, figures(team.rows, team.windows, period.end))
    body += [answered] if answered else []
    unanswered = unanswered_lines(lang, unanswered_dialogs(team.rows, team.windows), UNANSWERED_NAMES)
    body += ["", *unanswered] if unanswered else []
    if t.dialogs:
        body += ["", f"<b>{escape(word(lang, 'top_channels'))}</b>", *ranking_lines(lang, by_channel)]
        if by_page.rows:
            body += ["", f"<b>{escape(word(lang, 'top_pages'))}</b>", *ranking_lines(lang, by_page)]
    png = await asyncio.to_thread(dynamics_png, trend, lang, focus=period) if any(trend.totals) else None
    caption = split_message("\n".join(head), CAPTION_LIMIT)[0]
    return Summary(text="\n".join(body), png=png, caption=caption)
