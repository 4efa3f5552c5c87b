"""The dialog list (search by phone, name or code) and the dialog card, with tags, sales and the taker.

`GET /dashboard/dialogs` lists the page's period and filters (DashboardQuery: the numbers of the widgets link
here), newest first, PAGE_SIZE at a time, «Показать ещё» carrying a cursor: the place in the list of every
dialog by (started_at, id) where the page stopped (Store.browse_dialogs, indexed, as /recent pages). The
store cannot filter that list, so one page reads a few growing batches (SCAN_ROUNDS at most) and may end
short while «more» still leads on, as GET /api/dialogs does. `q` searches every dialog, whatever the period
and filters, as the bot's /recent does: a phone, a code or an id first (reports/card.find_dialogs), else a
part of the contact's name, looking through NAME_SCAN dialogs a page and going on from where it stopped.

`GET /dashboard/dialogs/{id}` is the card: every field of the bot's card, the contact's earlier dialogs,
what was sent to other systems. Its forms POST to `@change` routes (the session's CSRF token in a hidden
field) that change the dialog through the Tracker, as the bot and the API do (conversions queued with the
change), tell the bot to redraw every copy of the alert (`webhooks.api.changed`), and redirect back to the
card (303): a reload never repeats a change. A value the dialog cannot take (an amount that is no amount)
shows the card again with the reason, status 422.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from aiohttp import web

from bot.access import Role
from bot.runtime import lead_tags
from dashboard.card_view import card_view, list_row
from dashboard.pages import filter_value_text
from dashboard.query import DashboardQuery
from dashboard.templating import render
from dashboard.texts import t
from dashboard.viewer import Handler, Viewer, change, page, viewer_of
from reports.card import dialog_card, find_dialogs
from reports.counts import tag_query
from reports.export import DialogFilter
from reports.i18n import Lang, field_label, period_label, tag_name, word
from tracking.amounts import AmountError, parse_amount
from tracking.models import Attribution, AttributionStatus, Dialog
from tracking.periods import utc_now
from tracking.store.base import NAME_SCAN, DialogPosition, Store
from tracking.strings import one_line
from webhooks.api import MAX_TAG, MAX_TAGS, BadRequest, changed
from webhooks.app import SETTINGS, STORE, TRACKER

PAGE_SIZE = 25
EXACT_LIMIT = 500  # one contact's or one code's dialogs: far more than anyone has
SCAN_ROUNDS = 5  # batches of the store one filtered page reads at most (each four times the one before)
MAX_BATCH = 1000
LIST_PARAMS = frozenset({"q", "cursor"})
MAX_SEARCH = 64  # characters: a phone, a code or a part of a name (find_dialogs reads no more)
NAME_SHOWN = 64  # a taker's name as the alert shows it (bot/team.py)
MAX_USER_ID = 2**63 - 1  # Telegram's user ids fit in 52 bits; both stores keep 64-bit integers
# The bot card's own headings, shown on the page's card in the same words.
BOT_WORDS = ("card", "attribution", "deliveries_block", "first_message_block", "history", "no_history")


# the cursor: a place in the list of every dialog ------------------------------------------------------


def encode_cursor(at: DialogPosition) -> str:
    raw = f"{at.started_at.isoformat()}|{at.dialog_id}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> DialogPosition:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        moment, _, dialog_id = raw.partition("|")
        at = datetime.fromisoformat(moment)
        if at.tzinfo is None:
            raise ValueError("a cursor's time has its zone")
    except (binascii.Error, ValueError, UnicodeDecodeError) as exc:
        raise BadRequest("bad cursor: follow the page's «more» link as it is") from exc
    return DialogPosition(started_at=at, dialog_id=dialog_id)


def position(dialog: Dialog) -> DialogPosition:
    return DialogPosition(started_at=dialog.started_at, dialog_id=dialog.id)


# the three ways of listing -------------------------------------------------------------------------


@dataclass(frozen=True)
class Listing:
    dialogs: list[Dialog]
    more: str | None = None  # the cursor of the next page
    scanned: bool = False  # a name search stopped after NAME_SCAN dialogs: «more» searches on


def keeper(q: DashboardQuery) -> Callable[[Dialog], bool]:
    """Which dialogs the page's filters keep, as the reports count them: field filters, tags left out (spam by
    default), demo leads never; without probable matches a probable dialog reads as unattributed."""
    checked, without = tag_query(q.filters, q.tags)
    keep = DialogFilter(checked, tuple(without))
    hidden = Attribution()

    def keeps(dialog: Dialog) -> bool:
        if not q.probable and dialog.status is AttributionStatus.PROBABLE:
            dialog = dialog.model_copy(update={"attribution": hidden})
        return keep.keeps(dialog)

    return keeps


async def period_listing(store: Store, q: DashboardQuery, at: DialogPosition | None) -> Listing:
    """The period's dialogs the filters keep, newest first, from `at` (the period's end when None)."""
    period, keeps = q.period, keeper(q)
    end = DialogPosition(started_at=period.end)  # ("" sorts first): strictly before the end
    cursor = end if at is None or at.started_at > period.end else at
    kept: list[Dialog] = []
    batch = PAGE_SIZE + 1
    for _ in range(SCAN_ROUNDS):
        walk = (await store.browse_dialogs(before=cursor, limit=batch)).dialogs
        for index, dialog in enumerate(walk):
            if dialog.started_at < period.start:
                return Listing(kept)
            cursor = position(dialog)
            if keeps(dialog):
                kept.append(dialog)
                if len(kept) == PAGE_SIZE:
                    last = index == len(walk) - 1 and len(walk) < batch
                    return Listing(kept, None if last else encode_cursor(cursor))
        if len(walk) < batch:
            return Listing(kept)
        batch = min(batch * 4, MAX_BATCH)
    return Listing(kept, encode_cursor(cursor))  # short of a page: the rest lies further back


async def exact_listing(found: list[Dialog], at: DialogPosition | None) -> Listing:
    """A contact's or a code's dialogs (all of them at hand), newest first, a page from `at`."""
    ordered = sorted(found, key=lambda d: (d.started_at, d.id), reverse=True)
    if at is not None:
        ordered = [d for d in ordered if (d.started_at, d.id) < (at.started_at, at.dialog_id)]
    shown = ordered[:PAGE_SIZE]
    return Listing(shown, encode_cursor(position(shown[-1])) if len(ordered) > PAGE_SIZE else None)


async def name_listing(store: Store, name: str, at: DialogPosition | None) -> Listing:
    """Dialogs whose contact's name holds `name` (any case), newest first; NAME_SCAN dialogs looked at a page."""
    walk = await store.browse_dialogs(before=at, name=name, limit=PAGE_SIZE, scan=NAME_SCAN)
    if walk.scanned_to is not None:
        return Listing(walk.dialogs, encode_cursor(walk.scanned_to), scanned=True)
    full = len(walk.dialogs) == PAGE_SIZE
    return Listing(walk.dialogs, encode_cursor(position(walk.dialogs[-1])) if full else None)


async def search_listing(request: web.Request, search: str, at: DialogPosition | None) -> Listing:
    store = request.app[STORE]
    exact = await find_dialogs(store, search, request.app[SETTINGS].default_region, limit=EXACT_LIMIT)
    if exact:
        return await exact_listing(exact, at)
    return await name_listing(store, search, at)


# pages ---------------------------------------------------------------------------------------------------


async def person_name(request: web.Request, viewer: Viewer, user_id: int) -> str | None:
    """A team member's name: the viewer's own, or a staff member's; None for anyone else."""
    if user_id == viewer.user_id:
        return viewer.name
    if not 0 < user_id <= MAX_USER_ID:  # no one's id, and more than the store's integers hold
        return None
    member = await request.app[STORE].get_staff(user_id)
    return None if member is None else one_line(member.name, NAME_SHOWN)


async def filter_chips(request: web.Request, q: DashboardQuery, viewer: Viewer) -> list[dict[str, str]]:
    """The page's filters in words (as the reports page's chips say them), each with the link to the list
    without it."""
    chips = []
    for name, value in q.filters.items():
        shown = await filter_value_text(request, viewer, name, value)
        href = q.link("/dashboard/dialogs", {name: None})
        chips.append({"label": field_label(viewer.lang, name), "value": shown, "href": href})
    return chips


@page
async def dialog_list(request: web.Request) -> web.StreamResponse:
    q = DashboardQuery(request, LIST_PARAMS)
    viewer = await _viewer(request)
    lang, zone = viewer.lang, q.settings.zone
    search = " ".join((q.text("q") or "").split())
    if len(search) > MAX_SEARCH:
        raise BadRequest(f"q: at most {MAX_SEARCH} characters")
    given = q.text("cursor")
    at = decode_cursor(given) if given else None
    listing = await search_listing(request, search, at) if search else await period_listing(request.app[STORE], q, at)
    more = None
    if listing.more is not None:
        more = q.link("/dashboard/dialogs", {"q": search or None, "cursor": listing.more})
    context = {
        "q": q,
        "search": search,
        "period": period_label(lang, q.period),
        "chips": [] if search else await filter_chips(request, q, viewer),
        "rows": [list_row(lang, dialog, zone) for dialog in listing.dialogs],
        "card_query": q.query_string(),
        "more": more,
        "scanned": listing.scanned,
        "scan": f"{NAME_SCAN:,}".replace(",", "\u00a0"),
        "first": at is None,
        "hidden": q.kept,
        "nav_reports": q.link("/dashboard"),  # the top bar's links keep the page's choices
        "nav_dialogs": q.link("/dashboard/dialogs"),
        "everything": q.link("/dashboard/dialogs", dict.fromkeys(q.filters)),
    }
    return render(request, "dialogs.html", context)


async def _viewer(request: web.Request) -> Viewer:
    viewer = await viewer_of(request)
    assert viewer is not None  # the guard let the request in
    return viewer


def tag_choices(request: web.Request, dialog: Dialog, lang: Lang) -> list[dict[str, object]]:
    """The lead tags (qualified, sale, spam, CHATTRACK_LEAD_TAGS) and the dialog's own ones, checked where set."""
    tags = [*lead_tags(request.app[SETTINGS]), *dialog.tags]
    return [
        {"tag": tag, "label": tag_name(lang, one_line(tag, 80)), "checked": tag in dialog.tags}
        for tag in dict.fromkeys(tags)
    ]


async def team_choices(request: web.Request, viewer: Viewer) -> list[dict[str, object]]:
    """Whom an owner may hand the lead to, as the bot offers: themselves, then each staff member."""
    if not viewer.owner:
        return []
    staff = await request.app[STORE].list_staff()
    choices: list[dict[str, object]] = [{"id": viewer.user_id, "name": t(viewer.lang, "d_me")}]
    return choices + [
        {"id": m.user_id, "name": one_line(m.name, NAME_SHOWN) or str(m.user_id)}
        for m in staff
        if m.user_id != viewer.user_id
    ]


async def card_page(request: web.Request, *, error: str | None = None, status: int = 200) -> web.StreamResponse:
    """The card of the route's dialog (404 when there is none), with `error` over its forms when given."""
    q = DashboardQuery(request)
    viewer = await _viewer(request)
    lang = viewer.lang
    dialog_id = request.match_info["dialog_id"]
    card = await dialog_card(request.app[STORE], dialog_id, q.settings.zone) if len(dialog_id) <= 64 else None
    context: dict[str, object] = {
        "q": q,
        "back": q.link("/dashboard/dialogs"),
        "card_query": q.query_string(),
        "nav_reports": q.link("/dashboard"),
        "nav_dialogs": q.link("/dashboard/dialogs"),
    }
    if card is None:
        return render(request, "card.html", {**context, "card": None, "error": t(lang, "d_missing")}, status=404)
    context |= {
        "card": card_view(card, lang, utc_now()),
        "action": f"/dashboard/dialogs/{card.dialog.id}",
        "tag_choices": tag_choices(request, card.dialog, lang),
        "max_tag": MAX_TAG,
        "team": await team_choices(request, viewer),
        "error": error,
        "w": {key: word(lang, key) for key in BOT_WORDS} | {"taken_by": field_label(lang, "taken_by")},
    }
    return render(request, "card.html", context, status=status)


@page
async def dialog_card_page(request: web.Request) -> web.StreamResponse:
    return await card_page(request)


# changes ----------------------------------------------------------------------------------------------


class Refused(Exception):
    """A change the dialog cannot take: the card again, with the reason (a key of the dialogs' texts)."""

    def __init__(self, status: int, key: str, **values: object) -> None:
        super().__init__(key)
        self.status, self.key, self.values = status, key, values


async def _changed(request: web.Request, dialog: Dialog | None) -> web.StreamResponse:
    """After a change: every alert copy redrawn, and the card again by a GET (303)."""
    if dialog is None:
        raise Refused(404, "d_missing")
    changed(request.app, dialog.id)
    q = DashboardQuery(request)
    raise web.HTTPSeeOther(q.link(f"/dashboard/dialogs/{dialog.id}"))


Change = Callable[[web.Request, Viewer, Dialog], Awaitable[Dialog | None]]


def changing(handler: Change) -> Handler:
    """A change route: the guard (session, role, CSRF), the dialog it names (404 page when none), and a refusal
    shown on the card with its reason."""

    @change
    async def route(request: web.Request) -> web.StreamResponse:
        DashboardQuery(request)  # the page's choices carried to the card: checked before anything changes
        viewer = await _viewer(request)
        dialog_id = request.match_info["dialog_id"]
        dialog = await request.app[STORE].get_dialog(dialog_id) if len(dialog_id) <= 64 else None
        try:
            if dialog is None:
                raise Refused(404, "d_missing")
            result = await handler(request, viewer, dialog)
            return await _changed(request, result)
        except Refused as refused:
            return await card_page(request, error=t(viewer.lang, refused.key, **refused.values), status=refused.status)

    return route


async def _form(request: web.Request) -> dict[str, list[str]]:
    form = await request.post()
    return {name: [str(v) for v in form.getall(name)] for name in form}


def _amount(request: web.Request, text: str) -> tuple[Decimal | None, str]:
    """The amount as an owner writes it («12 000», «12к», «$120»); empty: not known yet."""
    currency = request.app[SETTINGS].currency
    if not text.strip():
        return None, currency.upper()
    try:
        amount = parse_amount(text, currency)
    except AmountError as exc:
        raise Refused(422, f"d_amount_{exc.reason.value}") from None
    return amount.value, amount.currency


@changing
async def set_tags(request: web.Request, viewer: Viewer, dialog: Dialog) -> Dialog | None:
    """The tags checked, and a new one typed in."""
    form = await _form(request)
    typed = [tag.strip() for tag in form.get("tag", []) + form.get("new_tag", [])]
    tags = list(dict.fromkeys(tag for tag in typed if tag))
    if any(len(tag) > MAX_TAG for tag in tags) or len(tags) > MAX_TAGS:
        raise Refused(422, "d_bad_tags", length=MAX_TAG, count=MAX_TAGS)
    return await request.app[TRACKER].set_tags(dialog.id, tags, by=viewer.user_id, by_name=viewer.name)


@changing
async def add_sale(request: web.Request, viewer: Viewer, dialog: Dialog) -> Dialog | None:
    """One more sale (a repeat purchase), its amount when given."""
    form = await _form(request)
    amount, currency = _amount(request, (form.get("amount") or [""])[0])
    tracker = request.app[TRACKER]
    return await tracker.add_sale(dialog.id, amount, currency, by=viewer.user_id, by_name=viewer.name)


def _sale_of(request: web.Request, dialog: Dialog) -> str:
    sale_id = request.match_info["sale_id"]
    if not any(sale.id == sale_id for sale in dialog.sales):
        raise Refused(404, "d_no_sale")
    return sale_id


@changing
async def change_sale(request: web.Request, viewer: Viewer, dialog: Dialog) -> Dialog | None:
    """A sale's amount set, changed, or cleared (empty: not known)."""
    sale_id = _sale_of(request, dialog)
    form = await _form(request)
    amount, currency = _amount(request, (form.get("amount") or [""])[0])
    return await request.app[TRACKER].change_sale(dialog.id, sale_id, amount, currency)


@changing
async def remove_sale(request: web.Request, viewer: Viewer, dialog: Dialog) -> Dialog | None:
    """One sale removed; the last one takes the «sale» tag with it."""
    return await request.app[TRACKER].remove_sale(dialog.id, _sale_of(request, dialog))


@changing
async def take(request: web.Request, viewer: Viewer, dialog: Dialog) -> Dialog | None:
    """The viewer takes the lead while nobody holds it (the first taker wins, as «Беру» in the bot)."""
    taken = await request.app[TRACKER].take_dialog(
        dialog.id, viewer.user_id, one_line(viewer.name, NAME_SHOWN), utc_now()
    )
    if taken is not None and taken.taken_by != viewer.user_id:
        raise Refused(409, "d_taken_already", name=one_line(taken.taken_by_name, NAME_SHOWN) or str(taken.taken_by))
    return taken


@changing
async def give(request: web.Request, viewer: Viewer, dialog: Dialog) -> Dialog | None:
    """An owner hands the lead to themselves or a staff member, whoever holds it now."""
    if viewer.role is not Role.OWNER:
        raise Refused(403, "d_owners_only")
    given = (await _form(request)).get("to", [""])[0].strip()
    if not given.isascii() or not given.isdigit():
        raise Refused(400, "d_no_person")
    name = await person_name(request, viewer, int(given))
    if name is None:  # not on the staff (removed since the card was drawn)
        raise Refused(400, "d_no_person")
    tracker = request.app[TRACKER]
    return await tracker.take_dialog(dialog.id, int(given), one_line(name, NAME_SHOWN), utc_now(), replace=True)


def setup(app: web.Application) -> None:
    app.router.add_get("/dashboard/dialogs", dialog_list)
    app.router.add_get("/dashboard/dialogs/{dialog_id}", dialog_card_page)
    app.router.add_post("/dashboard/dialogs/{dialog_id}/tags", set_tags)
    app.router.add_post("/dashboard/dialogs/{dialog_id}/sales", add_sale)
    app.router.add_post("/dashboard/dialogs/{dialog_id}/sales/{sale_id}", change_sale)
    app.router.add_post("/dashboard/dialogs/{dialog_id}/sales/{sale_id}/remove", remove_sale)
    app.router.add_post("/dashboard/dialogs/{dialog_id}/take", take)
    app.router.add_post("/dashboard/dialogs/{dialog_id}/give", give)
