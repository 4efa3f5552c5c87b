"""GET /healthz: is the server up, and can it reach its store."""

from __future__ import annotations

from aiohttp import web

from tracking.periods import utc_now
from tracking.store import StoreUnavailable
from webhooks.app import STORE


async def healthz(request: web.Request) -> web.Response:
    store = request.app[STORE]
    reachable = await store.ping()
    body: dict[str, object] = {
        "status": "ok" if reachable else "degraded",
        "store": "ok" if reachable else "unavailable",
    }
    healthy = reachable
    if reachable:
        # Reads answering is not enough: on a full disk every webhook would answer 503 while this said ok.
        failing = await store.check_writes(utc_now())
        body["writes"] = "ok" if failing is None else "failing"
        if failing is not None:
            healthy = False
            body["status"], body["reason"] = "degraded", failing
        try:
            body["pending_alerts"] = await store.pending_alerts()
        except StoreUnavailable:
            pass
    return web.json_response(body, status=200 if healthy else 503)


def setup(app: web.Application) -> None:
    app.router.add_get("/healthz", healthz)
