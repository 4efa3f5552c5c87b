"""Prometheus metrics at GET /metrics: requests, ingest outcomes, outbox depth, attribution rate."""

from __future__ import annotations

import os
import time
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web
from aiohttp.web_urldispatcher import AbstractRoute
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from prometheus_client.multiprocess import MultiProcessCollector

from tracking.models import DELIVERY_KINDS, InboundMessage, IngestOutcome, IngestResult
from tracking.store import StoreUnavailable
from webhooks.app import SETTINGS, STORE, TRACKER, bearer_refusal, error, failure_as_json, refusal_as_json
from webhooks.serving import GUARD, ConnectionGuard


class Metrics:
    """One registry per application, so several apps in one process (tests) never share counters."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "chattrack_http_requests", "HTTP requests by route and status", ["route", "status"], registry=self.registry
        )
        self.latency = Histogram(
            "chattrack_http_request_seconds",
            "Request handling time",
            ["route"],
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1, 5),
            registry=self.registry,
        )
        self.ingested = Counter(
            "chattrack_ingest",
            "Inbound messages by provider and outcome",
            ["provider", "outcome"],
            registry=self.registry,
        )
        self.dialogs = Counter(
            "chattrack_dialogs",
            "New dialogs by attribution status (exact / probable / ad_referral / unknown_code / none)",
            ["status"],
            registry=self.registry,
        )
        self.skipped = Counter(
            "chattrack_events_skipped",
            "Provider events stored nowhere on purpose (receipts, unknown types, untracked numbers)",
            ["provider", "kind"],
            registry=self.registry,
        )
        self.replies = Counter(
            "chattrack_replies",
            "The business's own messages providers reported, by what they did: first (answered a dialog), "
            "later (it was answered before), no_dialog (the business wrote first, or to someone forgotten)",
            ["provider", "outcome"],
            registry=self.registry,
        )
        self.connections_closed = Counter(
            "chattrack_connections_closed",
            "Connections closed or refused at the edge (slow_headers / slow_body / too_many_from_address)",
            ["reason"],
            registry=self.registry,
        )
        self.new_visits_refused = Counter(
            "chattrack_new_visits_refused",
            "First page views refused with 429 over CHATTRACK_NEW_VISITS_PER_MINUTE",
            registry=self.registry,
        )
        self.outbox = Gauge(
            "chattrack_outbox_pending",
            "Lead alerts waiting to be sent",
            registry=self.registry,
            multiprocess_mode="livemostrecent",  # set by whichever worker was scraped last
        )
        self.deliveries = Counter(
            "chattrack_deliveries",
            "Conversions and events sent to other systems (integrations/outbox.py), by kind (metrica, ga4, "
            "event) and outcome: sent, refused, too_late, skipped, or retry (a failed attempt, tried again later)",
            ["kind", "outcome"],
            registry=self.registry,
        )
        self.deliveries_pending = Gauge(
            "chattrack_deliveries_pending",
            "Conversions and events waiting in the outbox, by kind",
            ["kind"],
            registry=self.registry,
            multiprocess_mode="livemostrecent",
        )
        # Children by label values: `labels()` validates and locks on every call, a few µs per request.
        self._timers: dict[str, Any] = {}
        self._counts: dict[tuple[str, int], Any] = {}
        self._labels: dict[AbstractRoute, str] = {}

    def route_label(self, route: AbstractRoute) -> str:
        """The route's pattern, not the raw path: unknown paths must not grow the label set."""
        label = self._labels.get(route)
        if label is None:
            if route.resource is None:  # aiohttp's own 404/405 routes: a new object every time
                return "unmatched"
            label = self._labels[route] = route.resource.canonical
        return label

    def request_done(self, route: str, status: int, seconds: float) -> None:
        timer = self._timers.get(route)
        if timer is None:
            timer = self._timers[route] = self.latency.labels(route)
        count = self._counts.get((route, status))
        if count is None:
            count = self._counts[route, status] = self.requests.labels(route, str(status))
        timer.observe(seconds)
        count.inc()

    def observe_skip(self, provider: str, kind: str) -> None:
        self.skipped.labels(provider, kind).inc()

    def observe_reply(self, provider: str, outcome: str) -> None:
        self.replies.labels(provider, outcome).inc()

    def observe_delivery(self, kind: str, outcome: str) -> None:
        self.deliveries.labels(kind, outcome).inc()

    def observe_ingest(self, message: InboundMessage, result: IngestResult) -> None:
        self.ingested.labels(message.provider, result.outcome.value).inc()
        if result.outcome is IngestOutcome.NEW_DIALOG:
            self.dialogs.labels(result.dialog.status.value).inc()


METRICS = web.AppKey("metrics", Metrics)


@web.middleware
async def count_requests(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    """Counts and times every request, and turns failures into JSON answers (webhooks.app): 4xx with a
    reason for bad input, 503 when the store is away. One layer, so a request pays for one frame here."""
    app = request.app
    metrics = app[METRICS]
    route = metrics.route_label(request.match_info.route)
    status, started = 500, time.perf_counter()  # 500: what aiohttp answers for an exception that passes
    response: web.StreamResponse
    connection = app[GUARD].request_started(request)  # the headers are in: from now on the body's time counts
    try:
        try:
            encoding = request.headers.get("Content-Encoding")
            if encoding is not None and encoding.strip().lower() not in ("", "identity"):
                # Bodies are never inflated (auto_decompress is off, webhooks.app): no provider or browser
                # compresses what it posts to us, and a 0.5 MB gzip bomb inflates to 512 MB on the loop.
                response = error(415, "compressed request bodies are not accepted: send Content-Encoding: identity")
            else:
                response = await handler(request)
        except Exception as exc:
            response = failure_as_json(request, exc)  # raises again what it does not answer
        else:
            if response.status >= 400:
                response = refusal_as_json(response)
        status = response.status
        return response
    except web.HTTPException as exc:
        status = exc.status
        raise
    finally:
        ConnectionGuard.request_finished(connection)
        metrics.request_done(route, status, time.perf_counter() - started)


async def metrics_endpoint(request: web.Request) -> web.Response:
    # Lead counts and traffic are the business's own figures: not for anyone who finds the port.
    access = request.app[SETTINGS].metrics_access
    if access == "off":
        return error(404, "metrics are off: CHATTRACK_METRICS_ACCESS=off")
    if access == "token":
        refusal = bearer_refusal(
            request, "metrics need CHATTRACK_API_TOKEN (sent as a bearer token) or CHATTRACK_METRICS_ACCESS=public"
        )
        if refusal is not None:
            return refusal
    metrics = request.app[METRICS]
    try:
        metrics.outbox.set(await request.app[STORE].pending_alerts())
        for kind in DELIVERY_KINDS:
            metrics.deliveries_pending.labels(kind).set(await request.app[STORE].pending_alerts(kinds=(kind,)))
    except StoreUnavailable:
        pass
    body = generate_latest(_all_workers() or metrics.registry)
    return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})


def _all_workers() -> CollectorRegistry | None:
    """With several worker processes (PROMETHEUS_MULTIPROC_DIR set by `serve --workers`), each keeps its
    counts in a memory-mapped file there; a scrape, served by any one worker, adds them all up."""
    if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        return None
    registry = CollectorRegistry()
    MultiProcessCollector(registry)
    return registry


def setup(app: web.Application) -> None:
    metrics = Metrics()
    app[METRICS] = metrics
    app[GUARD].on_close = lambda reason: metrics.connections_closed.labels(reason).inc()
    app[TRACKER].observers.append(metrics.observe_ingest)
    app[TRACKER].skip_observers.append(metrics.observe_skip)
    app[TRACKER].reply_observers.append(metrics.observe_reply)
    app.router.add_get("/metrics", metrics_endpoint)
