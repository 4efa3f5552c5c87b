"""The ways in: a Mini App's initData (POST /dashboard/session), the bot's one-time link
(/dashboard/login?token=…), signing out; and the page a signed-out or refused visitor sees."""

from __future__ import annotations

from aiohttp import web

from dashboard.templating import render


def refusal_page(request: web.Request, status: int, reason: str) -> web.StreamResponse:
    """401: how to sign in (inside Telegram the page signs in by itself from initData); 403: why not."""
    return render(request, "signin.html", {"reason": reason}, status=status)


def setup(app: web.Application) -> None:
    pass
