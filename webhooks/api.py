"""The JSON API under /api: the reports and the dialogs, for scripts, spreadsheets and BI tools.

Every endpoint but the OpenAPI document wants `Authorization: Bearer <CHATTRACK_API_TOKEN>`. Periods
take the bot's words ("week", "2026-11-01..2026-11-15"...) in the business's time zone. Any bad
parameter is a 400 naming it; the reports themselves live in `reports/`, this module only translates.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Set
from dataclasses import replace
from datetime import timedelta
from decimal import Decimal
from functools import partial, wraps
from pathlib import Path
from typing import Any, cast

from aiohttp import web

from reports import counts
from reports.card import CardValue, DialogCard, card_record, delivery_record, dialog_card
from reports.counts import (
    SPAM,
    Change,
    Comparison,
    Dynamics,
    PeriodTotals,
    Ranking,
    ReportError,
    TagFilter,
    TagScope,
    Totals,
)
from reports.export import DELIMITERS, MAX_PAGE, Delimiter, DialogFilter, dialogs_csv, page_dialogs, team_record
from reports.i18n import LANGS, Lang
from reports.money import Figures, MoneyColumns, money_columns
from reports.periods import Period, PeriodError, parse_comparison, parse_period
from reports.team import ResponseFigures, TeamReport, team_report
from reports.xlsx import XLSX_TYPE, export_workbook
from tracking.amounts import AmountError, amount_number, checked_amount, parse_amount
from tracking.models import Dialog, Sale
from tracking.pages import page_key
from tracking.periods import utc_now
from tracking.store.base import GROUPABLE_FIELDS, Bucket
from webhooks.app import ON_DIALOG_CHANGED, SETTINGS, STORE, TRACKER, bearer_refusal, error

OPENAPI = Path(__file__).with_name("openapi.yaml")
MAX_PARAM = 200  # characters of any one query parameter
REPEATABLE = {"without_tag"}  # parameters that may be given more than once
MAX_REPEATS = 20

Json = dict[str, Any]
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class BadRequest(Exception):
    """A parameter the API cannot use: answered 400 with this message."""


class Unprocessable(Exception):
    """A well-formed body with a value the API cannot use (a negative amount): answered 422 with this message."""


def authorized(handler: Handler) -> Handler:
    """401 without the right bearer token (compared in constant time); 403 while no token is configured."""

    @wraps(handler)
    async def check(request: web.Request) -> web.StreamResponse:
        refusal = bearer_refusal(request, "the API is off: set CHATTRACK_API_TOKEN to enable it")
        if refusal is not None:
            return refusal
        try:
            return await handler(request)
        except (BadRequest, PeriodError, ReportError) as exc:
            return error(400, str(exc))
        except Unprocessable as exc:
            return error(422, str(exc))

    return check


class Params:
    """The query string of one request, read with checks: every problem becomes a BadRequest."""

    def __init__(self, request: web.Request, allowed: Set[str]) -> None:
        self.query = request.query
        self.settings = request.app[SETTINGS]
        self.now = utc_now()
        for name in self.query:
            if name not in allowed:
                raise BadRequest(f"unknown parameter {name!r}; this endpoint takes {', '.join(sorted(allowed))}")
            if len(self.query.getall(name)) > (MAX_REPEATS if name in REPEATABLE else 1):
                raise BadRequest(f"parameter {name!r} is given more than once")
            if any(len(value) > MAX_PARAM for value in self.query.getall(name)):
                raise BadRequest(f"parameter {name!r} is longer than {MAX_PARAM} characters")

    def text(self, name: str, default: str | None = None) -> str | None:
        value = self.query.get(name)
        return default if value is None or value.strip() == "" else value.strip()

    def choice(self, name: str, options: tuple[str, ...] | list[str], default: str | None = None) -> str | None:
        value = self.text(name, default)
        if value is not None and value not in options:
            raise BadRequest(f"{name} must be one of {', '.join(options)}")
        return value

    def integer(self, name: str, default: int, low: int, high: int) -> int:
        value = self.text(name)
        if value is None:
            return default
        if not value.isascii() or not value.isdigit() or not low <= int(value) <= high:
            raise BadRequest(f"{name} must be a whole number from {low} to {high}")
        return int(value)

    def boolean(self, name: str, default: bool) -> bool:
        value = self.choice(name, ("true", "false", "1", "0"))
        return default if value is None else value in ("true", "1")

    def period(self, name: str = "period", default: str = "today") -> Period:
        return parse_period(self.text(name, default), self.settings.zone, self.now, default)

    def filters(self) -> dict[str, str]:
        found = {name: self.query[name].strip() for name in GROUPABLE_FIELDS if self.text(name) is not None}
        for name in PAGE_FIELDS & found.keys():  # a page as the browser sent it or as reports show it: its key
            found[name] = page_key(found[name], self.settings.kept_page_params) or found[name]
        return found

    def tags(self) -> TagFilter:
        """Tags left out: `without_tag=spam&without_tag=b2b` or `without_tag=spam,b2b` (empty: none), spam by
        default; `spam=include` counts spam too. A `tag=` filter's own tag is never left out."""
        given = self.query.getall("without_tag", [])
        without = [tag.strip() for value in given for tag in value.split(",") if tag.strip()] if given else [SPAM]
        spam = self.choice("spam", ("include", "exclude"))
        if spam == "include":
            without = [tag for tag in without if tag != SPAM]
        elif spam == "exclude" and SPAM not in without:
            without.append(SPAM)
        return TagFilter(without=tuple(without))


FILTERS = set(GROUPABLE_FIELDS)
PAGE_FIELDS = {"landing_page", "contact_page"}
TAG_PARAMS = {"without_tag", "spam"}
COMMON = {"period", "probable", *FILTERS, *TAG_PARAMS}


# JSON shapes ----------------------------------------------------------------------------------------


def period_json(period: Period) -> Json:
    return {
        "label": period.label,
        "first": period.first.isoformat(),
        "last": period.last.isoformat(),
        "start": period.start.isoformat(),
        "end": period.end.isoformat(),
        "running": period.running,
        "timezone": period.zone.key,
    }


def totals_json(totals: Totals) -> Json:
    return {
        "dialogs": totals.dialogs,
        "new": totals.new,
        "repeat": totals.repeat,
        "new_share": totals.new_share,
        "repeat_share": totals.repeat_share,
    }


def change_json(change: Change) -> Json:
    return {"a": change.a, "b": change.b, "delta": change.delta, "ratio": change.ratio}


def tags_json(scope: TagScope) -> Json:
    return {"without_tags": list(scope.without), "left_out": scope.left_out}


def summary_json(report: PeriodTotals) -> Json:
    return {
        "period": period_json(report.period),
        "filters": report.filters,
        **tags_json(report.tags),
        **totals_json(report.totals),
    }


def ranking_json(report: Ranking) -> Json:
    return {
        "period": period_json(report.period),
        "filters": report.filters,
        **tags_json(report.tags),
        "by": report.by,
        "total": totals_json(report.total),
        "rest": totals_json(report.rest),
        "rows": [
            {"value": r.value, "dialogs": r.totals.dialogs, "new": r.totals.new, "repeat": r.totals.repeat,
             "share": r.share}
            for r in report.rows
        ],
    }  # fmt: skip


def dynamics_json(report: Dynamics) -> Json:
    return {
        "period": period_json(report.period),
        "filters": report.filters,
        **tags_json(report.tags),
        "by": report.by,
        "bucket": report.bucket.value,
        "buckets": report.buckets,
        "totals": report.totals,
        "series": [{"value": s.value, "other": s.other, "total": s.total, "points": s.points} for s in report.series],
    }


def comparison_json(report: Comparison) -> Json:
    return {
        "a": period_json(report.a),
        "b": {**period_json(report.b), "cut": report.b.cut},  # cut: ends at the moment a has reached
        "filters": report.filters,
        "without_tags": list(report.tags.without),
        "left_out": {"a": report.tags.left_out, "b": report.tags_b.left_out},
        "by": report.by,
        "dialogs": change_json(report.dialogs),
        "new": change_json(report.new),
        "repeat": change_json(report.repeat),
        "rows": [{"value": r.value, **change_json(r.dialogs)} for r in report.rows],
    }


def figures_json(f: ResponseFigures, waits: tuple[timedelta, ...]) -> Json:
    """One group's team figures; times in seconds, null when nothing was answered."""
    late = {f"unanswered_after_{int(w.total_seconds())}s": n for w, n in zip(waits, f.late, strict=True)}
    return {
        "dialogs": f.dialogs,
        "taken": f.taken,
        "answered": f.answered,
        "unanswered": f.unanswered,
        "unknown": f.unknown,
        "answered_share": f.answered_share,
        "median_first_response_seconds": f.median_seconds,
        "p90_first_response_seconds": f.p90_seconds,
        **late,
    }


def team_json(report: TeamReport) -> Json:
    waits = report.waits
    return {
        "period": period_json(report.period),
        "filters": report.filters,
        **tags_json(report.tags),
        "cut": report.cut,
        "total": figures_json(report.total, waits),
        "people": [{"user_id": p.user_id, "name": p.name, **figures_json(p.figures, waits)} for p in report.people],
        "channels": [{"channel": c.channel, **figures_json(c.figures, waits)} for c in report.channels],
    }


def _json_number(value: object) -> int | float:
    """Money (Decimal) as a JSON number: whole amounts as integers; two decimals print back exactly."""
    if isinstance(value, Decimal):
        return amount_number(value)
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


dumps = partial(json.dumps, default=_json_number)


def sale_json(sale: Sale) -> Json:
    return {
        "id": sale.id,
        "amount": sale.amount,
        "currency": sale.currency,
        "at": sale.at.isoformat(),
        "by_name": sale.by_name,
    }


def card_json(card: DialogCard) -> Json:
    """The card's record with the dialog's sales (`sale_amount` is their total of known amounts)."""
    return {**card.record, "sales": [sale_json(sale) for sale in card.dialog.sales]}


# handlers -------------------------------------------------------------------------------------------


@authorized
async def summary(request: web.Request) -> web.Response:
    p = Params(request, COMMON)
    store = request.app[STORE]
    report = await counts.summary(
        store, p.period(), filters=p.filters(), include_probable=p.boolean("probable", True), tags=p.tags()
    )
    return web.json_response(summary_json(report))


def money_value(amount: Decimal | None, places: int = 2) -> float | None:
    """An amount (or a ratio) as a JSON number, rounded; null when unknown."""
    return None if amount is None else float(round(amount, places))


def money_json(f: Figures, *, sales_known: bool = True) -> Json:
    """A row's money: spend, sales and revenue, cost per lead and per sale, ROMI ((revenue − spend) / spend,
    0.5 = +50 %); null where unknown (no cost known, spend zero, a field the sales are not grouped by)."""
    return {
        "spend": money_value(f.spend),
        "sales": f.sales if sales_known else None,
        "revenue": money_value(f.revenue) if sales_known else None,
        "cost_per_lead": money_value(f.cost_per_lead),
        "cost_per_sale": money_value(f.cost_per_sale),
        "romi": money_value(f.romi, 4),
    }


def with_money(answer: Json, report: Ranking, columns: MoneyColumns) -> Json:
    """A ranking's answer with money in each row and the total, and the spend that found no leads."""
    known = columns.sales_known
    for row, rank in zip(answer["rows"], report.rows, strict=True):
        row.update(money_json(columns.figures(rank.value, rank.totals.dialogs), sales_known=known))
    answer["total"].update(money_json(replace(columns.total, leads=report.total.dialogs)))
    answer["currency"] = columns.currency
    answer["unmatched_spend"] = [
        {"source": s.source, "campaign": s.campaign, "campaign_id": s.campaign_id, "ad_id": s.ad_id,
         "spend": money_value(s.amount)}
        for s in columns.unmatched
    ]  # fmt: skip
    return answer


async def _ranking(request: web.Request, p: Params, by: str, *, money: bool = False) -> web.Response:
    store, period, filters, tags = request.app[STORE], p.period(), p.filters(), p.tags()
    probable = p.boolean("probable", True)
    limit = p.integer("limit", 10, 1, counts.MAX_LIMIT)
    report = await counts.ranking(store, period, by, filters=filters, limit=limit, include_probable=probable, tags=tags)
    if not money:
        return web.json_response(ranking_json(report))
    columns = await money_columns(
        store, period, by, filters=filters, tags=tags, include_probable=probable, currency=p.settings.currency
    )
    return web.json_response(with_money(ranking_json(report), report, columns))


@authorized
async def channels(request: web.Request) -> web.Response:
    return await _ranking(request, Params(request, COMMON | {"limit"}), "channel", money=True)


@authorized
async def pages(request: web.Request) -> web.Response:
    p = Params(request, COMMON | {"limit", "kind"})
    kind = p.choice("kind", list(counts.PAGE_FIELDS), "contact")
    assert kind is not None
    return await _ranking(request, p, counts.PAGE_FIELDS[kind])


@authorized
async def drilldown(request: web.Request) -> web.Response:
    p = Params(request, COMMON | {"limit", "by"})
    by = p.choice("by", GROUPABLE_FIELDS, "source")
    assert by is not None
    return await _ranking(request, p, by, money=True)


@authorized
async def dynamics(request: web.Request) -> web.Response:
    p = Params(request, COMMON | {"bucket", "by", "top"})
    bucket = p.choice("bucket", [b.value for b in Bucket], "day")
    by = p.choice("by", GROUPABLE_FIELDS, "channel")
    assert bucket is not None and by is not None
    report = await counts.dynamics(
        request.app[STORE],
        p.period(default="30d"),
        Bucket(bucket),
        by=by,
        filters=p.filters(),
        top=p.integer("top", 6, 1, 100),
        include_probable=p.boolean("probable", True),
        tags=p.tags(),
    )
    return web.json_response(dynamics_json(report))


@authorized
async def compare(request: web.Request) -> web.Response:
    p = Params(request, {"a", "b", "whole", "by", "limit", "probable", *FILTERS, *TAG_PARAMS})
    zone = p.settings.zone
    a_text, b_text = p.text("a", "week"), p.text("b", "previous")
    by = p.choice("by", GROUPABLE_FIELDS, "channel")
    assert a_text is not None and b_text is not None and by is not None
    if b_text in ("previous", "year_ago"):
        suffix = " yoy" if b_text == "year_ago" else ""
        # b is cut at a's moment while a runs, unless whole=true asks for it whole
        a, b = parse_comparison(a_text + suffix, zone, p.now, whole=p.boolean("whole", False))
    else:
        a, b = parse_period(a_text, zone, p.now), parse_period(b_text, zone, p.now)
    report = await counts.compare(
        request.app[STORE],
        a,
        b,
        by=by,
        filters=p.filters(),
        limit=p.integer("limit", 10, 1, counts.MAX_LIMIT),
        include_probable=p.boolean("probable", True),
        tags=p.tags(),
    )
    return web.json_response(comparison_json(report))


@authorized
async def team(request: web.Request) -> web.Response:
    p = Params(request, COMMON)
    report = await team_report(
        request.app[STORE],
        p.period(),
        now=p.now,
        filters=p.filters(),
        include_probable=p.boolean("probable", True),
        tags=p.tags(),
    )
    return web.json_response(team_json(report))


@authorized
async def list_dialogs(request: web.Request) -> web.Response:
    p = Params(request, {"period", "limit", "cursor", *FILTERS, *TAG_PARAMS})
    zone = p.settings.zone
    period = p.period()
    checked, without = counts.tag_query(p.filters(), p.tags())
    found, cursor = await page_dialogs(
        request.app[STORE],
        period,
        p.integer("limit", 100, 1, MAX_PAGE),
        p.text("cursor"),
        keep=DialogFilter(checked, tuple(without)),
    )
    return web.json_response(
        {
            "period": period_json(period),
            "filters": checked,
            "without_tags": without,
            "dialogs": [card_record(d, zone) for d in found],
            "next": cursor,
        },
        dumps=dumps,
    )


def _history_item(record: dict[str, CardValue]) -> Json:
    return {k: record[k] for k in ("id", "started", "channel", "source", "medium", "campaign", "status")}


@authorized
async def get_dialog(request: web.Request) -> web.Response:
    return await dialog_answer(request)


async def dialog_answer(request: web.Request) -> web.Response:
    """GET /api/dialogs/{dialog_id}'s answer: also what a change of the dialog answers with."""
    Params(request, set())
    dialog_id = request.match_info["dialog_id"]
    zone = request.app[SETTINGS].zone
    card = await dialog_card(request.app[STORE], dialog_id, zone) if len(dialog_id) <= 64 else None
    if card is None:
        return error(404, "no dialog with this id")
    return web.json_response(
        {
            "card": card_json(card),
            "team": team_record(card.dialog, card.windows, zone),
            "history": [_history_item(card_record(d, zone)) for d in card.history],
            # conversions and events sent to other systems, oldest first; `text` in the bot's language
            "deliveries": [delivery_record(item, request.app[SETTINGS].bot_language, zone) for item in card.deliveries],
            "dialog": card.dialog.model_dump(mode="json"),
        },
        dumps=dumps,
    )


# changing a dialog: its sales and tags, through the Tracker (deliveries queued), every alert copy redrawn ---

MAX_TAGS = 20
MAX_TAG = 64


def _no_constant(name: str) -> None:
    raise ValueError(f"{name} is not a number")


async def json_body(request: web.Request, allowed: Set[str]) -> dict[str, Any]:
    """The request's JSON object, numbers with a fraction kept exact (Decimal); 400 for anything else."""
    loads = partial(json.loads, parse_float=Decimal, parse_constant=_no_constant)
    try:
        data = await request.json(loads=loads)
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:
        raise BadRequest(f"the body must be a JSON object: {exc}") from None
    if not isinstance(data, dict):
        raise BadRequest("the body must be a JSON object")
    unknown = sorted(set(data) - allowed)
    if unknown:
        raise BadRequest(f"unknown field {unknown[0]!r}; this endpoint takes {', '.join(sorted(allowed))}")
    return data


def currency_of(data: dict[str, Any], default: str) -> str:
    value = data.get("currency")
    if value is None:
        return default.upper()
    if not isinstance(value, str) or not value.isascii() or not value.isalpha() or len(value) != 3:
        raise Unprocessable("currency must be a three-letter ISO 4217 code, e.g. RUB")
    return value.upper()


def amount_of(value: object, name: str, currency: str) -> tuple[Decimal | None, str]:
    """An amount as JSON gives it (a number, a text such as "12 000 ₽", or null) and its currency."""
    if value is None:
        return None, currency
    if isinstance(value, str):
        try:
            amount = parse_amount(value, currency)
        except AmountError as exc:
            raise Unprocessable(f"{name}: {exc}") from None
        return amount.value, amount.currency
    if isinstance(value, bool) or not isinstance(value, int | Decimal):
        raise Unprocessable(f"{name} must be a number (or null)")
    try:
        return checked_amount(Decimal(value)), currency
    except AmountError as exc:
        raise Unprocessable(f"{name}: {exc}") from None


def tags_of(value: object) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(tag, str) for tag in value):
        raise Unprocessable("tags must be a list of strings")
    tags = list(dict.fromkeys(tag.strip() for tag in value))
    if any(not tag or len(tag) > MAX_TAG for tag in tags) or len(tags) > MAX_TAGS:
        raise Unprocessable(f"tags: at most {MAX_TAGS}, each 1 to {MAX_TAG} characters")
    return tags


async def _dialog(request: web.Request) -> Dialog:
    dialog_id = request.match_info["dialog_id"]
    found = await request.app[STORE].get_dialog(dialog_id) if len(dialog_id) <= 64 else None
    if found is None:
        raise web.HTTPNotFound(reason="no dialog with this id")
    return found


def changed(app: web.Application, dialog_id: str) -> None:
    """Every copy of the dialog's alert in Telegram shows the change (the bot redraws them in the background)."""
    for redraw in app.get(ON_DIALOG_CHANGED, []):
        redraw(dialog_id)


@authorized
async def patch_dialog(request: web.Request) -> web.Response:
    """`{"tags": [...]}` replaces the tags; `{"sale_amount": 12000, "currency": "RUB"}` sets the amount of the
    dialog's latest sale (records one when it has none); `{"sale_amount": null}` says the latest sale's amount
    is not known (no sale: nothing). Sales are removed with DELETE .../sales/{id} or tags without "sale"."""
    Params(request, set())  # before anything changes: the answer's card reads the query too
    data = await json_body(request, {"sale_amount", "currency", "tags"})
    if "currency" in data and "sale_amount" not in data:
        raise BadRequest("currency goes with sale_amount")
    if not data.keys() & {"sale_amount", "tags"}:
        raise BadRequest("nothing to change: give sale_amount or tags")
    settings, tracker = request.app[SETTINGS], request.app[TRACKER]
    amount, currency = amount_of(data.get("sale_amount"), "sale_amount", currency_of(data, settings.currency))
    tags = tags_of(data["tags"]) if "tags" in data else None
    if tags is not None and "sale" not in tags and amount is not None:
        raise Unprocessable('sale_amount with tags without "sale": a dialog with a sale carries the "sale" tag')
    dialog: Dialog | None = await _dialog(request)
    if tags is not None:
        dialog = await tracker.set_tags(request.match_info["dialog_id"], tags)
    if dialog is not None and "sale_amount" in data:
        if dialog.sales:
            dialog = await tracker.change_sale(dialog.id, dialog.sales[-1].id, amount, currency)
        elif amount is not None:
            dialog = await tracker.add_sale(dialog.id, amount, currency)
    if dialog is None:  # erased meanwhile
        return error(404, "no dialog with this id")
    changed(request.app, dialog.id)
    return await dialog_answer(request)


@authorized
async def add_sale(request: web.Request) -> web.Response:
    """`{"amount": 3000}` (or null: not known yet; "currency" optional): one more sale of the dialog."""
    Params(request, set())
    data = await json_body(request, {"amount", "currency"})
    amount, currency = amount_of(data.get("amount"), "amount", currency_of(data, request.app[SETTINGS].currency))
    dialog = await _dialog(request)
    if await request.app[TRACKER].add_sale(dialog.id, amount, currency) is None:
        return error(404, "no dialog with this id")
    changed(request.app, dialog.id)
    answer = await dialog_answer(request)
    answer.set_status(201 if answer.status == 200 else answer.status)
    return answer


@authorized
async def remove_sale(request: web.Request) -> web.Response:
    """One sale removed; the last one takes the "sale" tag with it."""
    Params(request, set())
    dialog = await _dialog(request)
    sale_id = request.match_info["sale_id"]
    if not any(sale.id == sale_id for sale in dialog.sales):
        return error(404, "no sale with this id in the dialog")
    if await request.app[TRACKER].remove_sale(dialog.id, sale_id) is None:
        return error(404, "no dialog with this id")
    changed(request.app, dialog.id)
    return await dialog_answer(request)


EXPORT_PARAMS = {"period", "lang", "sep", "format", "probable", *FILTERS, *TAG_PARAMS}


class Export:
    """The parameters both exports take: the period, the language, the field and tag filters. `format=excel`
    (the default) is what Russian Excel opens: `;`, headers and values in words of `lang` (the bot's language
    by default), local dates; `format=machine` is the stable form for scripts: `,`, keys, codes, ISO times."""

    def __init__(self, request: web.Request) -> None:
        p = Params(request, EXPORT_PARAMS)
        self.period = p.period()
        self.machine = p.choice("format", ("excel", "machine"), "excel") == "machine"
        default_lang = None if self.machine else p.settings.bot_language
        self.lang = cast(Lang | None, p.choice("lang", LANGS, default_lang))
        self.sep = cast(Delimiter, p.choice("sep", list(DELIMITERS), "comma" if self.machine else "semicolon"))
        self.filters, self.tags = p.filters(), p.tags()
        self.include_probable = p.boolean("probable", True)
        checked, without = counts.tag_query(self.filters, self.tags)
        self.keep = DialogFilter(checked, tuple(without))
        self.zone, self.now = p.settings.zone, p.now


@authorized
async def dialogs_csv_export(request: web.Request) -> web.StreamResponse:
    x = Export(request)
    response = web.StreamResponse(
        headers={
            "Content-Type": "text/csv; charset=utf-8",
            "Content-Disposition": f'attachment; filename="dialogs-{x.period.label}.csv"',
        }
    )
    chunks = dialogs_csv(
        request.app[STORE], x.period, x.zone, lang=x.lang, delimiter=x.sep, people=not x.machine, keep=x.keep
    )
    first = await anext(chunks)  # a store error here still becomes a JSON error, before any byte is sent
    await response.prepare(request)
    await response.write(first)
    async for chunk in chunks:
        await response.write(chunk)
    await response.write_eof()
    return response


@authorized
async def dialogs_xlsx_export(request: web.Request) -> web.Response:
    x = Export(request)
    file = await export_workbook(
        request.app[STORE],
        x.period,
        x.zone,
        x.lang or request.app[SETTINGS].bot_language,
        now=x.now,
        filters=x.filters,
        tags=x.tags,
        include_probable=x.include_probable,
        focus="dialogs",
        currency=request.app[SETTINGS].currency,
    )
    return web.Response(
        body=file.data,
        content_type=XLSX_TYPE,
        headers={
            "Content-Disposition": f'attachment; filename="{file.filename}"',
            "X-Dialogs-Total": str(file.total),
            "X-Dialogs-Written": str(file.rows),
        },
    )


async def openapi(request: web.Request) -> web.Response:
    return web.Response(body=OPENAPI.read_bytes(), content_type="application/yaml", charset="utf-8")


def setup(app: web.Application) -> None:
    app.router.add_get("/api/openapi.yaml", openapi)
    app.router.add_get("/api/reports/summary", summary)
    app.router.add_get("/api/reports/channels", channels)
    app.router.add_get("/api/reports/pages", pages)
    app.router.add_get("/api/reports/drilldown", drilldown)
    app.router.add_get("/api/reports/dynamics", dynamics)
    app.router.add_get("/api/reports/compare", compare)
    app.router.add_get("/api/reports/team", team)
    app.router.add_get("/api/dialogs", list_dialogs)
    app.router.add_get("/api/dialogs.csv", dialogs_csv_export)
    app.router.add_get("/api/dialogs.xlsx", dialogs_xlsx_export)
    app.router.add_get("/api/dialogs/{dialog_id}", get_dialog)
    app.router.add_patch("/api/dialogs/{dialog_id}", patch_dialog)
    app.router.add_post("/api/dialogs/{dialog_id}/sales", add_sale)
    app.router.add_delete("/api/dialogs/{dialog_id}/sales/{sale_id}", remove_sale)
