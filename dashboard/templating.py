"""Server-side templates (Jinja2 through aiohttp-jinja2, HTML autoescaped): every page gets the viewer, its
language and words, and the URLs of the static files."""

from __future__ import annotations

from typing import Any

import aiohttp_jinja2
import jinja2
from aiohttp import web

from dashboard.keys import STATIC
from dashboard.texts import t
from reports.i18n import Lang, normalise_lang


def setup(app: web.Application) -> None:
    env = aiohttp_jinja2.setup(
        app,
        loader=jinja2.PackageLoader("dashboard", "templates"),
        autoescape=jinja2.select_autoescape(default=True, default_for_string=True),
        undefined=jinja2.StrictUndefined,  # a missing value is a bug to see in tests, not an empty cell
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.globals["static"] = app[STATIC].url


def browser_lang(request: web.Request) -> Lang:
    """Russian or English from the browser's Accept-Language (its first language we speak)."""
    for part in request.headers.get("Accept-Language", "").split(","):
        code = part.split(";")[0].strip().lower()
        if code[:2] in ("ru", "uk", "be", "kk", "uz", "ky", "tg"):
            return "ru"
        if code[:2] == "en":
            return "en"
    return "ru"


def render(request: web.Request, template: str, context: dict[str, Any], *, status: int = 200) -> web.Response:
    """The page `template` in the viewer's language (else the browser's), with its words as `t(key)`."""
    from dashboard.viewer import VIEWER

    viewer = request.get(VIEWER)
    lang: Lang = context.get("lang") or (viewer.lang if viewer is not None else browser_lang(request))
    lang = normalise_lang(lang)
    full = {"viewer": viewer, "lang": lang, "t": lambda key, **values: t(lang, key, **values), **context}
    response = aiohttp_jinja2.render_template(template, request, full, status=status)
    response.headers["Content-Security-Policy"] = CSP
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "same-origin"
    response.enable_compression()  # gzip or deflate when the browser takes it: pages and fragments are text
    return response


# Only our own files run; Telegram may frame the Mini App (its web client), nobody else.
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
    "frame-ancestors 'self' https://web.telegram.org https://*.telegram.org; base-uri 'none'; form-action 'self'"
)
