"""The widgets: each an HTML fragment (GET /dashboard/widgets/{name}) built from one report of `reports/`."""

from __future__ import annotations

from aiohttp import web


def setup(app: web.Application) -> None:
    pass
