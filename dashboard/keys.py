"""The dashboard's shared app state (aiohttp AppKeys), in one small module route modules import."""

from __future__ import annotations

from aiohttp import web

from dashboard.static_files import StaticFiles

STATIC = web.AppKey("dashboard_static", StaticFiles)
