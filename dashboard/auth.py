"""The ways in: a Mini App's initData (POST /dashboard/session), the bot's one-time link
(/dashboard/login?token=…), signing out; and the page a signed-out or refused visitor sees.

initData is checked as Telegram documents it (core.telegram.org/bots/webapps, "Validating data received via
the Mini App"), through aiogram's helper: an HMAC-SHA256 of the sorted fields, keyed by HMAC("WebAppData",
bot token). It must be younger than CHATTRACK_MINI_APP_MAX_AGE_HOURS and is taken once: the same initData
posted again (copied from a page, a log, a proxy) is refused, whichever copy of the server it reaches.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from aiogram.utils.web_app import WebAppInitData, safe_parse_webapp_init_data
from aiohttp import web

from bot.access import Role
from dashboard.sessions import INIT_DATA_PREFIX, Person, open_session, redeem_login, sweep_expired
from dashboard.templating import browser_lang, render
from dashboard.texts import t
from dashboard.viewer import VIEWER, csrf_ok, role_of, same_origin, set_session_cookie, sign_out, viewer_of
from reports.i18n import Lang, normalise_lang
from tracking.periods import utc_now
from webhooks.app import SETTINGS, STORE

HOME = "/dashboard"
INIT_DATA_LIMIT = 4096  # Telegram's initData is well under 1 KB; anything longer is not from it
TOKEN_LIMIT = 64


def wants_json(request: web.Request) -> bool:
    """The page's own script (fetch) asks for JSON; a browser's navigation or form wants a page."""
    return request.content_type == "application/json" or "application/json" in request.headers.get("Accept", "")


def refusal_page(request: web.Request, status: int, reason: str, lang: Lang | None = None) -> web.StreamResponse:
    """401: how to sign in (inside Telegram the page signs in by itself from initData); 403: why not.

    `reason` names the words shown (`signin_<reason>` in dashboard/texts.py); in the viewer's language, else
    `lang` (a Mini App's user), else the browser's. A request for JSON gets `{"error": words, "reason": …}`."""
    viewer = request.get(VIEWER)
    lang = viewer.lang if viewer is not None else lang or browser_lang(request)
    words = t(lang, f"signin_{reason}")
    if wants_json(request):
        response = web.json_response({"error": words, "reason": reason}, status=status)
        response.headers["Cache-Control"] = "no-store"
        return response
    # No viewer on a refusal: a stranger's page carries nothing of their session (not even its CSRF token).
    context = {"reason": reason, "words": words, "lang": lang, "viewer": None}
    return render(request, "signin.html", context, status=status)


def _see_dashboard(request: web.Request) -> web.StreamResponse:
    if wants_json(request):
        return web.json_response({"ok": True, "next": HOME})
    return web.Response(status=303, headers={"Location": HOME})


async def _start_session(request: web.Request, person: Person) -> web.StreamResponse:
    session = await open_session(request.app[STORE], person, utc_now())
    response = _see_dashboard(request)
    set_session_cookie(response, request, session)
    return response


# inside Telegram: the Mini App's initData ------------------------------------------------------------


class Refused(Exception):
    """A refusal on the way in: its status and the reason shown (see `refusal_page`)."""

    def __init__(self, status: int, reason: str, lang: Lang | None = None) -> None:
        super().__init__(reason)
        self.status, self.reason, self.lang = status, reason, lang


async def _init_data_of(request: web.Request) -> str:
    if request.content_type == "application/json":
        try:
            body = await request.json()
        except ValueError:
            raise Refused(400, "bad_request") from None
        value = body.get("initData") if isinstance(body, dict) else None
    else:
        value = (await request.post()).get("initData")
    if not isinstance(value, str) or not value or len(value) > INIT_DATA_LIMIT:
        raise Refused(400, "bad_request")
    return value


def _checked(request: web.Request, init_data: str, now: datetime) -> WebAppInitData:
    """initData signed with this bot's token and fresh enough; Refused (401) otherwise."""
    token = request.app[SETTINGS].telegram_bot_token
    if token is None:
        raise Refused(401, "no_bot")
    try:  # aiogram raises ValueError for a bad signature; pydantic's and json's errors are ValueErrors too
        data = safe_parse_webapp_init_data(token.get_secret_value(), init_data)
    except ValueError:
        raise Refused(401, "forged") from None
    lang = normalise_lang(data.user.language_code) if data.user is not None else None
    max_age = timedelta(hours=request.app[SETTINGS].mini_app_max_age_hours)
    if now - data.auth_date.astimezone(UTC) > max_age:
        raise Refused(401, "expired", lang)
    return data


async def mini_app_session(request: web.Request) -> web.StreamResponse:
    """POST /dashboard/session, initData as a form field or JSON `initData`: the same session as a link opens."""
    now = utc_now()
    lang: Lang | None = None
    try:
        if not same_origin(request):
            raise Refused(403, "csrf")
        data = _checked(request, await _init_data_of(request), now)
        user = data.user
        if user is None:  # a Mini App opened from a keyboard button carries no user: nobody to sign in
            raise Refused(401, "forged")
        lang = normalise_lang(user.language_code)
        if await role_of(request, user.id) is Role.STRANGER:
            raise Refused(403, "stranger", lang)
        store = request.app[STORE]
        await sweep_expired(store, INIT_DATA_PREFIX, now)
        expires = data.auth_date.astimezone(UTC) + timedelta(hours=request.app[SETTINGS].mini_app_max_age_hours)
        if not await store.add_mark(INIT_DATA_PREFIX + data.hash, {"expires": expires.isoformat()}):
            raise Refused(401, "replayed", lang)
    except Refused as refused:
        return refusal_page(request, refused.status, refused.reason, refused.lang or lang)
    name = " ".join(part for part in (user.first_name, user.last_name) if part)
    return await _start_session(request, Person(user_id=user.id, name=name[:64], lang=lang or "ru"))


# in a browser: the bot's one-time link ----------------------------------------------------------------


async def login_page(request: web.Request) -> web.StreamResponse:
    """GET /dashboard/login?token=…: a page whose form spends the token (its script submits it at once; a
    button without scripts). A GET spends nothing, so a link previewer or a mail scanner cannot burn it."""
    token = request.query.get("token", "")
    if not 16 <= len(token) <= TOKEN_LIMIT:
        return refusal_page(request, 401, "link_used")
    return render(request, "login.html", {"token": token})


async def login(request: web.Request) -> web.StreamResponse:
    """POST /dashboard/login: the token from the page's form, redeemed once → a session → the dashboard."""
    if not same_origin(request):
        return refusal_page(request, 403, "csrf")
    token = str((await request.post()).get("token", ""))
    person = await redeem_login(request.app[STORE], token, utc_now())
    if person is None:
        return refusal_page(request, 401, "link_used")
    if await role_of(request, person.user_id) is Role.STRANGER:  # removed from the staff since /web
        return refusal_page(request, 403, "stranger", person.lang)
    return await _start_session(request, person)


async def logout(request: web.Request) -> web.StreamResponse:
    """POST /dashboard/logout with the session's CSRF token (a page of another site cannot sign anyone out)."""
    viewer = await viewer_of(request)
    if viewer is not None and not await csrf_ok(request, viewer):
        return refusal_page(request, 403, "csrf")
    response = web.Response(status=303, headers={"Location": HOME})
    await sign_out(request, response)
    return response


def setup(app: web.Application) -> None:
    app.router.add_post("/dashboard/session", mini_app_session)
    app.router.add_get("/dashboard/login", login_page)
    app.router.add_post("/dashboard/login", login)
    app.router.add_post("/dashboard/logout", logout)
