"""What widgets put in their tables: a number as the page shows it (formatted, with its raw value for scripts
and tests, and the dialogs behind it), a row's name, and the line about the tag filter a report applied.
Formats are the bot's (reports/i18n.py), so a figure reads the same in a chat and on the page."""

from __future__ import annotations

from dataclasses import dataclass

from dashboard.query import DashboardQuery, chart
from reports.counts import Ranking, TagScope
from reports.i18n import Lang, number, percent, value_label, word
from reports.render import shorten
from reports.tag_words import tag_note
from tracking.strings import one_line


@dataclass(frozen=True, slots=True)
class Num:
    """One figure: `raw` goes into data-value (plain units, unformatted), `text` is what people read, `href`
    the dialogs behind it (None when no list can show exactly those: a value that is not set, a change)."""

    raw: int | float | None
    text: str
    href: str | None = None

    @property
    def value(self) -> str:
        return "" if self.raw is None else str(self.raw)


def count(lang: Lang, n: int, href: str | None = None) -> Num:
    return Num(n, number(lang, n), href)


def share(lang: Lang, fraction: float | None, href: str | None = None) -> Num:
    return Num(fraction, percent(lang, fraction), href)


def name(lang: Lang, by: str, value: str | None) -> str:
    """A grouped value as the bot's reports show it: channels in words, pages without their query, long
    ones shortened in the middle, «(не задано)» for none."""
    return shorten(one_line(value_label(lang, by, value)))


def row_link(q: DashboardQuery, by: str, value: str | None) -> str | None:
    """The dialogs of one row: the page's choices and this row's value. A value that is not set has no
    link: the dialog list filters by a value, not by its absence."""
    return None if value is None or value == "" else q.dialogs_link(**{by: value})


def customer_link(q: DashboardQuery, customer: str, **filters: str | None) -> str | None:
    """The dialogs of new or repeat customers (customer=new|repeat) with these filters. None when the page
    already keeps the other customers only: the figure is 0, and no list shows it."""
    chosen = q.filters.get("customer")
    return None if chosen not in (None, customer) else q.dialogs_link(**filters, customer=customer)


def ranking_chart(lang: Lang, names: list[str], report: Ranking, links: list[str | None]) -> str:
    """A ranking's dialogs as horizontal bars, each opening the dialogs behind it (channels, pages)."""
    data = [r.totals.dialogs for r in report.rows]
    return chart("hbar", names, [{"label": table_words(lang)["dialogs"], "data": data}], links=[x or "" for x in links])


# The reports' own words that tables use as headings (the bot's words, not the page's).
TABLE_WORDS = ("dialogs", "new", "repeat", "share", "total", "rest", "no_dialogs", "change", "vs")


def table_words(lang: Lang) -> dict[str, str]:
    return {key: word(lang, key) for key in TABLE_WORDS}


def notes(lang: Lang, q: DashboardQuery, scope: TagScope, scope_b: TagScope | None = None) -> list[str]:
    """The tag filter in words, as under the bot's reports («Без спама: 2 диалога не учтены»)."""
    return tag_note(lang, q.filters.get("tag"), scope, scope_b)
