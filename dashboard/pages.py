"""GET /dashboard: the page of widgets, one period picker and one set of filters for all of them."""

from __future__ import annotations

from aiohttp import web

from dashboard.templating import render
from dashboard.viewer import page


@page
async def dashboard(request: web.Request) -> web.StreamResponse:
    return render(request, "dashboard.html", {})


def setup(app: web.Application) -> None:
    app.router.add_get("/dashboard", dashboard)
