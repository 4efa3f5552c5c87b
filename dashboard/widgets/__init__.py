"""The widgets: each an HTML fragment (GET /dashboard/widgets/{name}) built from one report of `reports/`,
the same code the bot and the JSON API use. Each widget module registers itself with `@widget`; the page
shows them in ORDER.

A fragment (templates/widgets/<name>.html, extending widgets/_widget.html) holds its title, its controls
(links marked `data-reload`: the page script fetches them into the same widget), its numbers (`<a class="num"
data-value="…" href="/dashboard/dialogs?…">`: every number opens the dialogs behind it) and its chart
(`<canvas class="chart" data-chart="…">`, see `dashboard.query.chart`).
"""

from __future__ import annotations

import importlib
from collections.abc import Awaitable, Callable, Set
from dataclasses import dataclass

from aiohttp import web

from dashboard.query import DashboardQuery
from dashboard.viewer import Viewer, page, viewer_of

Build = Callable[[web.Request, DashboardQuery, Viewer], Awaitable[web.StreamResponse]]


@dataclass(frozen=True, slots=True)
class Widget:
    name: str
    title: str  # the key of its title in dashboard/texts.py
    build: Build
    extra: frozenset[str]  # the widget's own parameters (a bucket, a drill-down level...)


WIDGETS: dict[str, Widget] = {}
# The page's order; modules named here are imported by setup().
ORDER = ("summary", "channels", "dynamics", "compare", "pages", "money", "team")


def widget(name: str, title: str, extra: Set[str] = frozenset()) -> Callable[[Build], Build]:
    def register(build: Build) -> Build:
        WIDGETS[name] = Widget(name, title, build, frozenset(extra))
        return build

    return register


@page
async def fragment(request: web.Request) -> web.StreamResponse:
    found = WIDGETS.get(request.match_info["name"])
    if found is None:
        return web.Response(status=404, text="no such widget", content_type="text/plain")
    viewer = await viewer_of(request)
    assert viewer is not None  # page() let the request in
    return await found.build(request, DashboardQuery(request, found.extra), viewer)


def setup(app: web.Application) -> None:
    for name in ORDER:
        importlib.import_module(f"dashboard.widgets.{name}")
    app.router.add_get("/dashboard/widgets/{name}", fragment)
