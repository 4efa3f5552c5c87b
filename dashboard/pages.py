"""GET /dashboard: the page of widgets, one period picker and one set of filters for all of them.

The page itself runs no report: it draws the picker, the filter form and one empty <section> per widget whose
`data-src` is the widget's fragment with the page's choices; the page script loads them all at once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from aiohttp import web
from multidict import MultiDict

from bot.runtime import BOT_RUNTIME, lead_tags
from dashboard.query import DEFAULT_PERIOD, DashboardQuery
from dashboard.templating import render
from dashboard.texts import t
from dashboard.viewer import Viewer, page, viewer_of
from dashboard.widgets import ORDER, WIDGETS
from reports.counts import check_filters
from reports.i18n import field_label, period_label, tag_name, taker_label, value_label
from tracking.models import AttributionStatus, Channel
from tracking.store.base import CUSTOMERS, GROUPABLE_FIELDS, NOT_TAKEN
from webhooks.api import BadRequest
from webhooks.app import STORE

# The picker's presets: the period's code (as the API reads it) and the key of its words in texts.py.
PRESETS = (
    ("today", "p_today"),
    ("7d", "p_7d"),
    ("30d", "p_30d"),
    ("month", "p_month"),
    ("last month", "p_last_month"),
    ("quarter", "p_quarter"),
    ("year", "p_year"),
)
# The filter form's fields in order, as the issue lists them (customer: new or repeat).
FORM_FIELDS = tuple(
    name
    for name in ("channel", "source", "campaign", "tag", "status", "customer", "taken_by")
    if name in GROUPABLE_FIELDS
)


@dataclass(frozen=True, slots=True)
class Option:
    value: str
    label: str


@dataclass(frozen=True, slots=True)
class Field:
    name: str
    label: str
    value: str
    options: list[Option] | None  # a select; None: free text


@dataclass(frozen=True, slots=True)
class Chip:
    label: str  # «Канал: Платный поиск»
    remove: str  # the page without this filter


@dataclass(frozen=True, slots=True)
class Link:
    label: str
    href: str
    current: bool


@dataclass(frozen=True, slots=True)
class Section:
    name: str
    title: str
    src: str


@page
async def dashboard(request: web.Request) -> web.StreamResponse:
    custom = _custom_period(request)
    if custom is not None:
        raise web.HTTPSeeOther(custom)
    viewer = await viewer_of(request)
    assert viewer is not None  # page() let the request in
    lang = viewer.lang
    q = DashboardQuery(request)
    check_filters(q.filters)  # a value no report takes (customer=old, taken_by=anna) is the page's 400 too
    given = q.text("period")
    presets = [
        Link(t(lang, key), q.link("/dashboard", {"period": code}), (given or DEFAULT_PERIOD) == code)
        for code, key in PRESETS
    ]
    custom_open = not any(link.current for link in presets)
    first, last = q.period.first, q.period.last_covered
    fields = [await _field(request, viewer, q, name) for name in FORM_FIELDS]
    in_form = {field.name for field in fields}
    chips = [
        Chip(
            f"{field_label(lang, name)}: {await filter_value_text(request, viewer, name, value)}",
            q.link("/dashboard", {name: None}),
        )
        for name, value in q.filters.items()
    ]
    sections = [
        Section(name, t(lang, WIDGETS[name].title), q.link(f"/dashboard/widgets/{name}"))
        for name in ORDER
        if name in WIDGETS
    ]
    return render(
        request,
        "dashboard.html",
        {
            "presets": presets,
            "custom_open": custom_open,
            "period_text": period_label(lang, q.period),
            "period_first": first.isoformat(),
            "period_last": last.isoformat(),
            "fields": fields,
            # the page's other choices (a drill-down's ad, a page...) ride along with the form unchanged
            "hidden": [(k, v) for k, v in q.kept if k not in in_form],
            "hidden_but_period": [(k, v) for k, v in q.kept if k != "period"],
            "chips": chips,
            "clear": q.link("/dashboard", {name: None for name in q.filters}),
            "sections": sections,
            "nav_reports": q.link("/dashboard"),
            "nav_dialogs": q.link("/dashboard/dialogs"),
        },
    )


def _custom_period(request: web.Request) -> str | None:
    """The custom from–to form sends `from` and `to`: the page's own link names that period as the API does."""
    if "from" not in request.query and "to" not in request.query:
        return None
    try:
        first = date.fromisoformat(request.query.get("from", "").strip())
        last = date.fromisoformat(request.query.get("to", "").strip() or first.isoformat())
    except ValueError as exc:
        raise BadRequest("from and to must be dates as YYYY-MM-DD") from exc
    if last < first:
        first, last = last, first
    rest = MultiDict(request.query)
    rest.popall("from", None)
    rest.popall("to", None)
    rest["period"] = f"{first.isoformat()}..{last.isoformat()}"
    return str(request.rel_url.with_query(rest))


async def _field(request: web.Request, viewer: Viewer, q: DashboardQuery, name: str) -> Field:
    lang = viewer.lang
    value = q.filters.get(name, "")
    options: list[Option] | None = None
    if name == "channel":
        options = [Option(channel.value, value_label(lang, "channel", channel.value)) for channel in Channel]
    elif name == "status":
        options = [Option(status.value, value_label(lang, "status", status.value)) for status in AttributionStatus]
    elif name == "tag":
        options = [Option(tag, tag_name(lang, tag)) for tag in lead_tags(q.settings)]
    elif name == "customer":
        options = [Option(customer, value_label(lang, "customer", customer)) for customer in CUSTOMERS]
    elif name == "taken_by":
        options = [Option(str(user_id), label) for user_id, label in await _team(request, viewer)]
        options.append(Option(NOT_TAKEN, taker_label(lang, None)))  # the leads nobody took
    if options is not None and value and value not in {option.value for option in options}:
        options.append(Option(value, value))  # a value from a link that the list does not name: still shown
    return Field(name, field_label(lang, name), value, options)


async def _team(request: web.Request, viewer: Viewer) -> list[tuple[int, str]]:
    """Who can take a lead: the owners (by name only the viewer's own is known here), then the staff."""
    people: list[tuple[int, str]] = []
    for user_id in request.app[BOT_RUNTIME].owners:
        people.append((user_id, viewer.name if user_id == viewer.user_id else t(viewer.lang, "owner")))
    known = {user_id for user_id, _ in people}
    people += [(s.user_id, s.name) for s in await request.app[STORE].list_staff() if s.user_id not in known]
    return people


async def filter_value_text(request: web.Request, viewer: Viewer, name: str, value: str) -> str:
    """A filter's value in words, as its chip shows it (here and on the list of leads): a taker by name."""
    names = {str(user_id): label for user_id, label in await _team(request, viewer)} if name == "taken_by" else None
    return value_label(viewer.lang, name, value, names)


def setup(app: web.Application) -> None:
    app.router.add_get("/dashboard", dashboard)
