"""Reports as Telegram HTML, in Russian or English, and `split_message` for Telegram's length limit.

Every value that comes from data or from a person (names, pages, campaign names, message text) goes
through `html.escape`, so nothing a customer or an ad system writes can break the markup.
"""

from __future__ import annotations

import re
from datetime import timedelta
from html import escape
from zoneinfo import ZoneInfo

from reports.card import DialogCard, delivery_lines
from reports.card_rows import NAME_WIDTH, CardRow, card_head, card_rows, history_line
from reports.counts import Change, Comparison, Dynamics, PeriodTotals, Ranking, TagScope, Totals
from reports.i18n import (
    Lang,
    bucket_label,
    duration,
    field_label,
    number,
    percent,
    period_label,
    phone_label,
    response_time,
    signed,
    signed_percent,
    value_label,
    word,
)
from reports.periods import PeriodError
from reports.tag_words import tag_note
from reports.team import ResponseFigures, TeamReport
from tracking.models import Dialog
from tracking.store.base import ResponseRow
from tracking.strings import ELLIPSIS, message_text, one_line

TELEGRAM_LIMIT = 4096  # characters of a message (Telegram counts UTF-16 code units)
CAPTION_LIMIT = 1024  # characters of a photo's caption
VALUE_WIDTH = 80  # a page URL longer than this is shortened in the middle (full values are in the API)


def shorten(text: str, width: int = VALUE_WIDTH) -> str:
    if len(text) <= width:
        return text
    keep = width - 1
    return text[: keep - keep // 3] + "…" + text[len(text) - keep // 3 :]


def clip(value: str, budget: int) -> str:
    """`value` cut so that, HTML-escaped, it takes at most `budget` of Telegram's characters: a field of
    `&` or `"` grows fivefold in the markup, and the markup is what Telegram measures against its limit."""
    if telegram_length(escape(value)) <= budget:
        return value
    used = 1  # the ellipsis
    for index, char in enumerate(value):
        used += _ESCAPED.get(char, 2 if ord(char) > 0xFFFF else 1)
        if used > budget:
            return value[:index] + ELLIPSIS
    return value


_ESCAPED = {"&": 5, "<": 4, ">": 4, '"': 6, "'": 6}  # &amp; &lt; &gt; &quot; &#x27;


def _value(lang: Lang, by: str, value: str | None) -> str:
    return escape(shorten(one_line(value_label(lang, by, value))))


def _title(lang: Lang, key: str, extra: str | None = None) -> str:
    return f"<b>{escape(word(lang, key))}</b>" + (f" · {escape(extra)}" if extra else "")


def _filters(
    lang: Lang, filters: dict[str, str], tags: TagScope | None = None, tags_b: TagScope | None = None
) -> list[str]:
    """The filters a report applied; the tag filter in words (only a tag, spam left out: how many)."""
    lines = [f"<i>{escape(note)}</i>" for note in tag_note(lang, filters.get("tag"), tags or TagScope(), tags_b)]
    parts = [f"{escape(field_label(lang, k))} = {_value(lang, k, v)}" for k, v in filters.items() if k != "tag"]
    if parts:
        lines.insert(0, f"<i>{escape(word(lang, 'filters'))}: {'; '.join(parts)}</i>")
    return lines


def _share_line(lang: Lang, key: str, count: int, share: float | None) -> str:
    return f"{escape(word(lang, key))}: {number(lang, count)} ({percent(lang, share)})"


def render_period_error(lang: Lang, error: PeriodError) -> str:
    return escape(word(lang, "bad_period").format(text=error.text))


def render_summary(report: PeriodTotals, lang: Lang) -> str:
    t = report.totals
    lines = [_title(lang, "summary", period_label(lang, report.period)), *_filters(lang, report.filters, report.tags)]
    lines.append(f"{escape(word(lang, 'dialogs'))}: <b>{number(lang, t.dialogs)}</b>")
    if t.dialogs:
        lines.append(_share_line(lang, "new", t.new, t.new_share))
        lines.append(_share_line(lang, "repeat", t.repeat, t.repeat_share))
    return "\n".join(lines)


def ranking_lines(lang: Lang, report: Ranking) -> list[str]:
    lines = []
    for place, row in enumerate(report.rows, 1):
        lines.append(
            f"{place}. {_value(lang, report.by, row.value)} — <b>{number(lang, row.totals.dialogs)}</b> "
            f"({percent(lang, row.share)}) · {escape(word(lang, 'new').lower())} {number(lang, row.totals.new)}"
        )
    if report.rest.dialogs:
        lines.append(f"{escape(word(lang, 'rest'))} — {number(lang, report.rest.dialogs)}")
    return lines


def render_ranking(report: Ranking, lang: Lang, title: str | None = None, *, filters: bool = True) -> str:
    """Channels, pages or a drill-down; `title` defaults to the grouped field's name. `filters=False` when
    the message already said them (under the summary of the same period)."""
    heading = title or _ranking_title(lang, report.by)
    lines = [
        f"<b>{escape(heading)}</b> · {escape(period_label(lang, report.period))}",
        *(_filters(lang, report.filters, report.tags) if filters else []),
    ]
    if not report.total.dialogs:
        return "\n".join([*lines, escape(word(lang, "no_dialogs"))])
    lines += ranking_lines(lang, report)
    lines.append(f"{escape(word(lang, 'total'))}: <b>{number(lang, report.total.dialogs)}</b>")
    return "\n".join(lines)


def _ranking_title(lang: Lang, by: str) -> str:
    names = {"channel": "channels", "contact_page": "pages_contact", "landing_page": "pages_landing"}
    if by in names:
        return word(lang, names[by])
    return f"{word(lang, 'drilldown')}: {field_label(lang, by)}"


def render_dynamics(report: Dynamics, lang: Lang) -> str:
    """One line per bucket: its total and the series that had dialogs in it."""
    lines = [
        _title(lang, "dynamics", period_label(lang, report.period)),
        *_filters(lang, report.filters, report.tags),
    ]
    if not any(report.totals):
        return "\n".join([*lines, escape(word(lang, "no_dialogs"))])
    for i, key in enumerate(report.buckets):
        parts = [
            f"{_series_name(lang, report, s.value, s.other)} {number(lang, s.points[i])}"
            for s in report.series
            if s.points[i]
        ]
        detail = f": {', '.join(parts)}" if parts else ""
        label = bucket_label(lang, report.bucket, key, report.period)  # a week cut to the period's days
        lines.append(f"{escape(label)} — <b>{number(lang, report.totals[i])}</b>{detail}")
    return "\n".join(lines)


def _series_name(lang: Lang, report: Dynamics, value: str | None, other: bool) -> str:
    return escape(word(lang, "other")) if other else _value(lang, report.by, value)


def _change(lang: Lang, change: Change) -> str:
    head = f"<b>{number(lang, change.a)}</b> {escape(word(lang, 'vs'))} {number(lang, change.b)} — "
    if change.a == change.b == 0:  # nothing either time: "±0 (не было)" read as a puzzle
        return head + signed(lang, 0)
    return head + f"{signed(lang, change.delta)} ({escape(signed_percent(lang, change.ratio))})"


def render_comparison(report: Comparison, lang: Lang) -> str:
    lines = [
        _title(lang, "comparison"),
        f"{escape(word(lang, 'side_a'))}: {escape(period_label(lang, report.a))}",
        f"{escape(word(lang, 'side_b'))}: {escape(period_label(lang, report.b))}",
        *_filters(lang, report.filters, report.tags, report.tags_b),
        f"{escape(word(lang, 'dialogs'))}: {_change(lang, report.dialogs)}",
        f"{escape(word(lang, 'new'))}: {_change(lang, report.new)}",
        f"{escape(word(lang, 'repeat'))}: {_change(lang, report.repeat)}",
    ]
    if report.rows:
        lines.append("")
        lines.append(f"<b>{escape(_ranking_title(lang, report.by))}</b>")
        lines += [f"{_value(lang, report.by, row.value)}: {_change(lang, row.dialogs)}" for row in report.rows]
    return "\n".join(lines)


def render_change_line(lang: Lang, label_key: str, now: Totals, before: Totals) -> str:
    """ "К предыдущему дню: +2 (+200 %, было 1)"; "(не было)" when there were none."""
    change = Change(now.dialogs, before.dialogs)
    if change.a == change.b == 0:
        return f"{escape(word(lang, label_key))}: {signed(lang, 0)}"
    ratio = signed_percent(lang, change.ratio)
    was = f", {word(lang, 'change_was').format(count=number(lang, before.dialogs))}" if before.dialogs else ""
    return f"{escape(word(lang, label_key))}: {signed(lang, change.delta)} ({escape(ratio + was)})"


# the team report ---------------------------------------------------------------------------------


def _answered(lang: Lang, f: ResponseFigures) -> str:
    of = word(lang, "team_of").format(answered=number(lang, f.answered), known=number(lang, f.known))
    return f"{escape(of)} ({percent(lang, f.answered_share)})"


def team_line(lang: Lang, f: ResponseFigures) -> str | None:
    """/stats' line on the team: «Ответили: 30 из 34 (88 %) · первый ответ — медиана 4 мин»; None while no
    dialog's answer is known (its providers do not report replies)."""
    if not f.known:
        return None
    line = f"{escape(word(lang, 'team_answered'))}: {_answered(lang, f)}"
    if f.median_seconds is not None:
        median = word(lang, "team_median").format(time=response_time(lang, f.median_seconds))
        line += f" · {escape(word(lang, 'team_first_response').lower())}: {escape(median)}"
    return line


def _speed(lang: Lang, f: ResponseFigures) -> str:
    """ "медиана 5 мин, 90 % — за 48 мин"; one answer is its own median, said once."""
    median = word(lang, "team_median").format(time=response_time(lang, f.median_seconds))
    if f.answered < 2:
        return escape(median)
    return escape(f"{median}, {word(lang, 'team_p90').format(time=response_time(lang, f.p90_seconds))}")


def _late(lang: Lang, f: ResponseFigures, waits: tuple[timedelta, ...]) -> str:
    """ "ждали ответа дольше 15 мин — 4, дольше 1 ч — 2": the waits past each mark, answered late or not at all."""
    counts = ", ".join(
        f"{word(lang, 'team_longer').format(time=duration(lang, wait))} — {number(lang, n)}"
        for wait, n in zip(waits, f.late, strict=True)
    )
    return escape(f"{word(lang, 'team_late')} {counts}")


def _team_row(lang: Lang, head: str, f: ResponseFigures, waits: tuple[timedelta, ...]) -> str:
    """One person's or channel's line: how many, answered of known, speed, late, unknown — what is known."""
    parts = [f"{head} — <b>{number(lang, f.dialogs)}</b>"]
    if f.known:
        parts.append(f"{escape(word(lang, 'team_answered').lower())} {_answered(lang, f)}")
    if f.answered:
        parts.append(_speed(lang, f))
    if f.known:
        parts.append(_late(lang, f, waits))
    if f.unknown:
        parts.append(escape(word(lang, "team_row_unknown").format(count=number(lang, f.unknown))))
    return " · ".join(parts)


def contact_label(row: ResponseRow) -> str:
    """A customer as the team knows them: their name, else their phone as people write it, else their id."""
    name = one_line(row.contact_name, NAME_WIDTH)
    if name:
        return name
    return phone_label(row.contact_id) if row.contact_id.startswith("+") else one_line(row.contact_id, NAME_WIDTH)


def unanswered_lines(lang: Lang, rows: list[ResponseRow], limit: int = 10) -> list[str]:
    """The daily summary's «Без ответа (7)» and the customers by name, the first `limit` of them «и ещё 2»."""
    if not rows:
        return []
    names = ", ".join(escape(clip(contact_label(row), 40)) for row in rows[:limit])
    if len(rows) > limit:
        names += " " + escape(word(lang, "and_more").format(count=number(lang, len(rows) - limit)))
    return [f"<b>{escape(word(lang, 'team_unanswered_leads'))}</b> ({number(lang, len(rows))})", names]


def render_team(report: TeamReport, lang: Lang) -> str:
    """/team: the period's totals, then a line per person who took leads (and those nobody took), per channel."""
    t, waits = report.total, report.waits
    lines = [
        _title(lang, "team_title", period_label(lang, report.period)),
        *_filters(lang, report.filters, report.tags),
    ]
    if report.cut:
        lines.append(f"<i>{escape(word(lang, 'team_cut').format(shown=number(lang, t.dialogs)))}</i>")
    if not t.dialogs:
        return "\n".join([*lines, escape(word(lang, "no_dialogs"))])
    lines.append(
        f"{escape(word(lang, 'dialogs'))}: <b>{number(lang, t.dialogs)}</b> · "
        f"{escape(word(lang, 'team_taken'))}: {number(lang, t.taken)}"
    )
    if t.known:
        lines.append(f"{escape(word(lang, 'team_answered'))}: {_answered(lang, t)}")
    if t.answered:
        lines.append(f"{escape(word(lang, 'team_first_response'))}: {_speed(lang, t)}")
    if t.known:
        late = _late(lang, t, waits)
        lines.append(late[:1].upper() + late[1:])
    if t.unknown:
        lines.append(f"<i>{escape(word(lang, 'team_unknown').format(count=number(lang, t.unknown)))}</i>")
    lines += ["", f"<b>{escape(word(lang, 'team_people'))}</b>"]
    if not t.taken:
        lines.append(escape(word(lang, "team_none_taken")))
    else:
        place = 0
        for person in report.people:
            if person.user_id is None:
                head = f"<b>{escape(word(lang, 'team_nobody'))}</b>"
            else:
                place += 1
                name = one_line(person.name, NAME_WIDTH) or str(person.user_id)
                head = f"{place}. <b>{escape(name)}</b>"
            lines.append(_team_row(lang, head, person.figures, waits))
    lines += ["", f"<b>{escape(word(lang, 'channels'))}</b>"]
    for place, channel in enumerate(report.channels, 1):
        lines.append(_team_row(lang, f"{place}. {_value(lang, 'channel', channel.channel)}", channel.figures, waits))
    return "\n".join(lines)


# the dialog card ---------------------------------------------------------------------------------


def _card_line(row: CardRow) -> str:
    """A row of the card (reports/card_rows.py) as one line of the message."""
    if row.key == "channel":
        return f"{escape(row.label)}: <b>{escape(shorten(row.value))}</b>"
    if row.key == "sales":
        return escape(f"💰 {row.label}: {row.value}")
    return f"{escape(row.label)}: {escape(shorten(row.value, 200))}"


def render_card(card: DialogCard, lang: Lang) -> str:
    """Everything known about one dialog, laid out by reports/card_rows.py (as the dashboard's card)."""
    d, head = card.dialog, card_head(card, lang)
    status = escape(head.status)
    if head.code:
        status += f" <code>{escape(head.code)}</code>"
    if head.reason:
        status += f" ({escape(head.reason)})"
    lines: list[str | None] = [
        _title(lang, "card"),
        f"👤 <b>{escape(head.name or '—')}</b>" + (f" · {escape(head.phone)}" if head.phone else ""),
        f"💬 {escape(head.messenger)}",
        f"🕐 {escape(head.started)} · {escape(head.customer)}",
        f"🔕 <i>{escape(head.withheld)}</i>" if head.withheld else None,
        "",
        f"<b>{escape(word(lang, 'attribution'))}</b>: {status}",
        *(_card_line(row) for row in card_rows(card, lang)),
    ]
    if card.deliveries:  # conversions and events sent to other systems, the latest last
        lines += ["", f"<b>{escape(word(lang, 'deliveries_block'))}</b>"]
        lines += [escape(line) for line in delivery_lines(card.deliveries, lang, card.zone)]
    first_message = message_text(d.first_message, 1000)
    if first_message:
        lines += ["", f"<b>{escape(word(lang, 'first_message_block'))}</b>"]
        lines.append(f"<blockquote>{escape(first_message)}</blockquote>")
    lines += ["", *_history(lang, card.history, card.zone)]
    return "\n".join(line for line in lines if line is not None)


def _history(lang: Lang, history: list[Dialog], zone: ZoneInfo) -> list[str]:
    if not history:
        return [f"<i>{escape(word(lang, 'no_history'))}</i>"]
    lines = [f"<b>{escape(word(lang, 'history'))}</b> ({len(history)}):"]
    for earlier in history:
        h = history_line(lang, earlier, zone)
        lines.append(f"• {escape(h.when)} — {escape(h.channel)}" + (f" · {escape(h.source)}" if h.source else ""))
    return lines


# splitting ---------------------------------------------------------------------------------------

# Atoms never cut: a tag, an entity, a newline, a single character.
_ATOM = re.compile(r"<[^>]*>|&#?\w+;|\n|.", re.DOTALL)
_TAG = re.compile(r"<(/?)([a-zA-Z][\w-]*)")
_ANY_TAG = re.compile(r"<[^>]*>")


def telegram_length(text: str) -> int:
    """Length as Telegram counts it: UTF-16 code units (an emoji outside the BMP counts 2)."""
    return len(text.encode("utf-16-le")) // 2


def _closers(stack: list[tuple[str, str]]) -> str:
    return "".join(f"</{name}>" for name, _ in reversed(stack))


def _push_or_pop(stack: list[tuple[str, str]], atom: str) -> list[tuple[str, str]]:
    match = _TAG.match(atom)
    if match is None:
        return stack
    closing, name = match.group(1), match.group(2).lower()
    if not closing:
        return [*stack, (name, atom)]
    for i in range(len(stack) - 1, -1, -1):
        if stack[i][0] == name:
            return stack[:i] + stack[i + 1 :]
    return stack


def split_message(text: str, limit: int = TELEGRAM_LIMIT) -> list[str]:
    """Cut Telegram HTML into messages of at most `limit`, at line ends where possible (else at a space).

    Never inside a tag or an entity; a tag open at a cut is closed at the end of one part and opened again
    at the start of the next, so every part is valid HTML on its own. Blank parts are dropped.
    """
    atoms = _ATOM.findall(text)
    parts: list[str] = []
    stack: list[tuple[str, str]] = []  # (tag name, opening tag) open where the current part begins
    i = 0
    while i < len(atoms):
        prefix = "".join(opening for _, opening in stack)
        size = telegram_length(prefix)
        current = stack
        j = i
        at_line: tuple[int, list[tuple[str, str]]] | None = None
        at_space: tuple[int, list[tuple[str, str]]] | None = None
        while j < len(atoms):
            after = _push_or_pop(current, atoms[j])
            grown = size + telegram_length(atoms[j])
            if grown + telegram_length(_closers(after)) > limit:
                break
            size, current, j = grown, after, j + 1
            if atoms[j - 1] == "\n":
                at_line = (j, current)
            elif atoms[j - 1] == " ":
                at_space = (j, current)
        if j < len(atoms):
            cut, cut_stack = at_line or at_space or (j, current)
        else:
            cut, cut_stack = j, current
        if cut == i:
            raise ValueError(f"limit {limit} is too small for the markup open at this point")
        part = prefix + "".join(atoms[i:cut]) + _closers(cut_stack)
        if _ANY_TAG.sub("", part).strip():
            parts.append(part.strip("\n"))
        stack, i = cut_stack, cut
    return parts
