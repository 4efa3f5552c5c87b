"""Wires the dashboard into the server: its templates, static files and routes (each part's `setup`)."""

from __future__ import annotations

from aiohttp import web

from dashboard import auth, dialogs, pages, templating, widgets
from dashboard.keys import STATIC
from dashboard.static_files import StaticFiles


def setup(app: web.Application) -> None:
    app[STATIC] = StaticFiles()
    app.router.add_get("/dashboard/static/{name}", app[STATIC].serve)
    templating.setup(app)
    auth.setup(app)
    pages.setup(app)
    widgets.setup(app)
    dialogs.setup(app)
