"""One period and one set of filters for the whole page: read from the query string with the JSON API's own
checks (`webhooks.api.Params`: a bad value is a 400 naming it), and written back into every link a widget
or the dialog list makes, so a click keeps what the owner chose."""

from __future__ import annotations

import json
from collections.abc import Mapping, Set
from urllib.parse import urlencode

from aiohttp import web

from reports.counts import TagFilter
from reports.periods import Period
from tracking.store.base import GROUPABLE_FIELDS
from webhooks.api import COMMON, Params

DEFAULT_PERIOD = "30d"
# What the page's picker and filters set; every widget reads them, every link carries them on.
PAGE_PARAMS = frozenset({*COMMON})


class DashboardQuery:
    """The request's page-level choices (period, filters, tags, probable) and a widget's own (`extra`)."""

    def __init__(self, request: web.Request, extra: Set[str] = frozenset()) -> None:
        self.params = Params(request, PAGE_PARAMS | extra)
        self.period: Period = self.params.period(default=DEFAULT_PERIOD)
        self.filters: dict[str, str] = self.params.filters()
        self.tags: TagFilter = self.params.tags()
        self.probable: bool = self.params.boolean("probable", True)
        self.now = self.params.now
        self.settings = self.params.settings
        # the page-level parameters as given, to carry on in links (a widget's own ones are not carried)
        self.kept: list[tuple[str, str]] = [
            (name, value) for name, value in request.query.items() if name in PAGE_PARAMS and value.strip()
        ]

    def text(self, name: str, default: str | None = None) -> str | None:
        return self.params.text(name, default)

    def choice(self, name: str, options: tuple[str, ...] | list[str], default: str | None = None) -> str | None:
        return self.params.choice(name, options, default)

    def query_string(self, changes: Mapping[str, str | None] | None = None) -> str:
        """The page-level parameters with `changes` (None removes one), as `?a=b&…` or '' when none."""
        changes = changes or {}
        pairs = [(k, v) for k, v in self.kept if k not in changes]
        pairs += [(k, v) for k, v in changes.items() if v is not None]
        return "?" + urlencode(pairs) if pairs else ""

    def link(self, path: str, changes: Mapping[str, str | None] | None = None) -> str:
        return path + self.query_string(changes)

    def dialogs_link(self, **filters: str | None) -> str:
        """The dialogs behind a number: the dialog list with the page's choices and these filters added."""
        for name in filters:
            assert name in GROUPABLE_FIELDS, name
        return self.link("/dashboard/dialogs", filters)


def chart(
    kind: str,
    labels: list[str],
    datasets: list[dict[str, object]],
    *,
    stacked: bool = False,
    percent: bool = False,
    links: list[str] | None = None,
) -> str:
    """A chart as the page script draws it (`data-chart` of a <canvas>): `kind` is doughnut, bar, hbar
    (horizontal bars) or line; each dataset {"label": str, "data": [numbers]}; `links` (one per label) opens
    the dialogs behind a bar or slice when tapped. Colours come from the theme, not from here."""
    spec: dict[str, object] = {"kind": kind, "labels": labels, "datasets": datasets}
    if stacked:
        spec["stacked"] = True
    if percent:
        spec["percent"] = True
    if links is not None:
        spec["links"] = links
    return json.dumps(spec, ensure_ascii=False, separators=(",", ":"))
