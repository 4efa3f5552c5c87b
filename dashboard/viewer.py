"""The person behind a dashboard request, and the guards every route wears.

`page` and `fragment` want a session of an owner or a staff member: without one a page answers 401 with the
sign-in page (inside Telegram it signs in by itself), a stranger's session 403. `change` also wants the
session's CSRF token (form field `csrf` or header `X-CSRF-Token`) and, when the browser names one, an Origin
of this very server: a page of another site cannot change a dialog with the owner's cookie.
"""

from __future__ import annotations

import hmac
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from functools import wraps
from urllib.parse import urlsplit

from aiohttp import web

from bot.access import Role
from bot.runtime import BOT_RUNTIME
from dashboard.sessions import Session, end_session, find_session
from reports.counts import ReportError
from reports.i18n import Lang
from reports.periods import PeriodError
from tracking.periods import utc_now
from webhooks.api import BadRequest, Unprocessable
from webhooks.app import SETTINGS, STORE

COOKIE = "chattrack_session"

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass(frozen=True, slots=True)
class Viewer:
    session: Session
    role: Role

    @property
    def user_id(self) -> int:
        return self.session.person.user_id

    @property
    def name(self) -> str:
        return self.session.person.name

    @property
    def lang(self) -> Lang:
        return self.session.person.lang

    @property
    def csrf(self) -> str:
        return self.session.csrf

    @property
    def owner(self) -> bool:
        return self.role is Role.OWNER


VIEWER = web.RequestKey("dashboard_viewer", Viewer)  # the request's live session, once read
READ = web.RequestKey("dashboard_viewer_read", bool)


async def role_of(request: web.Request, user_id: int) -> Role:
    """Owner, staff or nobody, exactly as the bot decides (the setting or the claim; the staff list)."""
    owners = request.app[BOT_RUNTIME].owners
    await owners.refresh()
    if user_id in owners:
        return Role.OWNER
    return Role.STAFF if await request.app[STORE].get_staff(user_id) is not None else Role.STRANGER


async def viewer_of(request: web.Request) -> Viewer | None:
    """The request's session and the role its person has now; None without a live session."""
    if READ in request:
        return request.get(VIEWER)
    session_id = request.cookies.get(COOKIE, "")
    session = await find_session(request.app[STORE], session_id, utc_now()) if session_id else None
    viewer = None if session is None else Viewer(session, await role_of(request, session.person.user_id))
    request[READ] = True
    if viewer is not None:
        request[VIEWER] = viewer
    return viewer


def secure(request: web.Request) -> bool:
    public = request.app[SETTINGS].public_url
    return request.secure or (public is not None and public.startswith("https://"))


def set_session_cookie(response: web.StreamResponse, request: web.Request, session: Session) -> None:
    """HttpOnly; Secure over https, where it is also SameSite=None so Telegram's web client (which shows the
    Mini App in a frame) keeps it; SameSite=Lax over plain http (development)."""
    https = secure(request)
    response.set_cookie(
        COOKIE,
        session.id,
        path="/dashboard",
        max_age=int((session.expires - utc_now()).total_seconds()),
        httponly=True,
        secure=https,
        samesite="None" if https else "Lax",
    )


async def sign_out(request: web.Request, response: web.StreamResponse) -> None:
    session_id = request.cookies.get(COOKIE, "")
    if session_id:
        await end_session(request.app[STORE], session_id)
    response.del_cookie(COOKIE, path="/dashboard")


def _refusal(request: web.Request, status: int, reason: str) -> web.StreamResponse:
    from dashboard.auth import refusal_page  # the sign-in page lives with the ways in

    return refusal_page(request, status, reason)


def _guarded(handler: Handler, *, check_csrf: bool) -> Handler:
    @wraps(handler)
    async def guard(request: web.Request) -> web.StreamResponse:
        viewer = await viewer_of(request)
        if viewer is None:
            return _refusal(request, 401, "signed_out")
        if viewer.role is Role.STRANGER:
            return _refusal(request, 403, "stranger")
        if check_csrf and not await csrf_ok(request, viewer):
            return _refusal(request, 403, "csrf")
        try:
            return await handler(request)
        except (BadRequest, PeriodError, ReportError) as exc:
            return web.Response(status=400, text=str(exc), content_type="text/plain")
        except Unprocessable as exc:
            return web.Response(status=422, text=str(exc), content_type="text/plain")

    return guard


def page(handler: Handler) -> Handler:
    """A page or a fragment for owners and staff."""
    return _guarded(handler, check_csrf=False)


def change(handler: Handler) -> Handler:
    """A request that changes something (POST): owners and staff, with the session's CSRF token."""
    return _guarded(handler, check_csrf=True)


def same_origin(request: web.Request) -> bool:
    """True unless the browser says the request comes from a page of another origin."""
    origin = request.headers.get("Origin")
    if origin is None or origin == "null":
        return origin is None
    public = request.app[SETTINGS].public_url
    allowed = {f"{request.scheme}://{request.host}"}
    if public is not None:
        parts = urlsplit(public)
        allowed.add(f"{parts.scheme}://{parts.netloc}")
    return origin in allowed


async def csrf_ok(request: web.Request, viewer: Viewer) -> bool:
    if not same_origin(request):
        return False
    given = request.headers.get("X-CSRF-Token")
    if given is None and request.content_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
        given = str((await request.post()).get("csrf", ""))
    return given is not None and hmac.compare_digest(given.encode(), viewer.csrf.encode())
