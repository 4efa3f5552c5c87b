"""GET /healthz: is the server up, and can it reach its store."""

from __future__ import annotations

from aiohttp import web

from tracking.store import StoreUnavailable
from webhooks.app import STORE


async def healthz(request: web.Request) -> web.Response:
    store = request.app[STORE]
    reachable = await store.ping()
    body: dict[str, object] = {
        "status": "ok" if reachable else "degraded",
        "store": "ok" if reachable else "unavailable",
    }
    if reachable:
        try:
            body["pending_alerts"] = await store.pending_alerts()
        except StoreUnavailable:
            pass
    return web.json_response(body, status=200 if reachable else 503)


def setup(app: web.Application) -> None:
    app.router.add_get("/healthz", healthz)
