"""The dialog list (search by phone, name or code) and the dialog card, with tags, sales and the taker."""

from __future__ import annotations

from aiohttp import web


def setup(app: web.Application) -> None:
    pass
