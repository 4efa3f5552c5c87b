"""The use-cases: record a visit from the snippet, ingest a customer's message from any provider."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Awaitable, Callable, Mapping
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from tracking import deliveries
from tracking.channels import classify
from tracking.clicks import code_markers
from tracking.codes import extract_code, normalise_code
from tracking.demo import DEMO, is_demo_message
from tracking.edits import attribution_by_code, read_edit
from tracking.fallback import FallbackMatcher
from tracking.geo import RegionResolver
from tracking.limits import NewVisitBudget
from tracking.models import (
    Attribution,
    AttributionStatus,
    BusinessReply,
    Click,
    Dialog,
    InboundMessage,
    IngestOutcome,
    IngestResult,
    Messenger,
    PageView,
    Sale,
    Visit,
)
from tracking.pages import paged
from tracking.periods import buckets_for, utc_now
from tracking.reasons import Reason, ReasonKind
from tracking.settings import Settings
from tracking.store.base import CodeAttribution, NewDialog, Store
from tracking.useragent import describe

log = logging.getLogger("chattrack.tracking")


# A new dialog with one of these came from a visit we know, which so wrote: no candidate for anyone else.
_VISIT_WROTE = (AttributionStatus.EXACT, AttributionStatus.PROBABLE)


class Tracker:
    def __init__(self, store: Store, settings: Settings, regions: RegionResolver | None = None) -> None:
        self.store = store
        self.settings = settings
        self.regions = regions
        self.new_visits = NewVisitBudget(settings.new_visits_per_minute)
        self.fallback = FallbackMatcher(store, settings.fallback_window, settings.fallback_confidence, self._markers())
        # Called after every stored message (metrics); must not raise.
        self.observers: list[Callable[[InboundMessage, IngestResult], None]] = []
        # Called with (provider, kind) for every event a provider sent that is stored nowhere on purpose
        # (receipts, unknown message types, numbers not tracked); must not raise. `kind` is one of a few
        # fixed words, never a value from the request: it becomes a metrics label.
        self.skip_observers: list[Callable[[str, str], None]] = []
        # Called with (provider, outcome) for every reply of the business a provider reported: "first" (it
        # answered its dialog), "later" (the dialog was answered before) or "no_dialog"; must not raise.
        self.reply_observers: list[Callable[[str, str], None]] = []
        # Called with a dialog's id when a second look attributed it after its alert went out: every copy of
        # the alert shows it (webhooks/app.py wires the bot's redraw); must not raise.
        self.attributed_later: list[Callable[[str], None]] = []

    def record_view(self, view: PageView, headers: Mapping[str, str] | None = None) -> Awaitable[str]:
        """Record a page view; the first one of a visit keeps its landing page, referrer and device.
        Awaits to the visit's code; raises CodeTaken when another visitor holds it, VisitBudgetSpent when
        it would open a visit past this minute's budget. (Not a coroutine of its own: one frame less on
        the snippet's hottest path.)"""
        if self.regions is not None:  # from the request's own headers: only known now
            view.region = self.regions.resolve(view.ip, headers or {})
        return self.store.record_page_view(view, self.new_visits)

    def skipped(self, provider: str, kind: str) -> None:
        """Count an event that is not a customer's message and is stored nowhere (see skip_observers)."""
        log.debug("%s: %s, stored nowhere", provider, kind)
        for observe in self.skip_observers:
            observe(provider, kind)

    @staticmethod
    def attributed(visit: Visit) -> Visit:
        """The visit with its attribution classified from the landing page, referrer and user agent it
        keeps. Pure and repeatable: visits stored already classified come out the same."""
        kept = visit.attribution
        attribution = classify(kept.landing_page or "", kept.referrer)  # the page's own host is no referral
        device = describe(visit.user_agent)
        attribution.os, attribution.browser, attribution.device = device.os, device.browser, device.device
        attribution.screen, attribution.language = kept.screen, kept.language
        attribution.region, attribution.contact_page = kept.region, kept.contact_page
        return visit.model_copy(update={"attribution": attribution})

    async def visit(self, code: str) -> Visit | None:
        """The visit with this code, attributed; None when unknown or expired."""
        stored = await self.store.get_visit(code)
        return None if stored is None else self.attributed(stored)

    async def record_click(self, click: Click, visitor_id: str) -> bool:
        """Only the browser that holds the visit's code moves its page of contact (Store.record_click)."""
        return await self.store.record_click(click, visitor_id)

    async def ingest(self, message: InboundMessage) -> IngestResult:
        """Store a message exactly once and attribute the dialog it opens. Safe to call on retries."""
        if not self.tracks(message):
            # A sandbox number, a second line: not ours to count.
            log.info("message from %s: not to a tracked number, stored nowhere", message.provider)
            self.skipped(message.provider, "untracked_number")
            return IngestResult(outcome=IngestOutcome.UNTRACKED, dialog=self._draft(message, message.text))
        links = self._links(message)  # the phone and a user id: linked once stored
        if message.contact_alias is not None and message.contact_alias == message.contact_id:
            message = await self._by_alias(message)  # a user id only: only such messages pay this look-up
        extraction = extract_code(message.text, self._markers())
        code = normalise_code(message.start_code) if message.start_code else extraction.code
        status, reason, attribution, visit = AttributionStatus.NONE, None, Attribution(), None
        if code is not None:
            visit = await self.visit(code)
            if visit is not None:
                status, attribution = AttributionStatus.EXACT, visit.attribution.model_copy()
                attribution.contact_page = attribution.contact_page or visit.current_page
            elif message.ad_referral is not None:  # the ad still tells where the customer came from
                status, attribution = AttributionStatus.AD_REFERRAL, message.ad_referral
                reason = str(Reason(ReasonKind.CODE_UNKNOWN_AD, code=code))
            else:
                status, reason = AttributionStatus.UNKNOWN_CODE, str(Reason(ReasonKind.CODE_UNKNOWN, code=code))
        elif message.ad_referral is not None:
            status, attribution = AttributionStatus.AD_REFERRAL, message.ad_referral
            reason = str(Reason(ReasonKind.AD))
        elif (
            match := await self.fallback.match(
                message.business_number,
                message.contact_id,
                message.contact_phone,
                extraction.text,
                message.received_at,
            )
        ) is not None and await self._opens_dialog(message):  # clicks first: most messages have none near
            visit = self.attributed(match.visit)  # read by the matcher already
            code, status, reason = match.code, AttributionStatus.PROBABLE, match.reason
            attribution = visit.attribution.model_copy()
        attribution = paged(attribution, self.settings.kept_page_params)  # pages grouped by host and path
        draft = self._draft(
            message,
            extraction.text,
            code=code,
            status=status,
            status_reason=reason,
            attribution=attribution,
            visit=visit,
        )
        # One alert item for chat 0, "the team at delivery time" (bot/outbox.py): the team group, or each owner
        # and staff member then; with none configured it waits. The store withholds the alert of a contact's
        # dialogs past ALERTS_PER_CONTACT an hour (limits.py), and queues the take reminder with the alert.
        demo = is_demo_message(message)  # a demo lead: no take reminder, nothing sent to other systems
        result = await self.store.add_message(
            NewDialog(
                message=message,
                draft=draft,
                dialog_gap=self.settings.dialog_gap,
                alert_chats=[0],
                reminder_after=None if demo else self.settings.take_reminder,
                deliveries=[] if demo else deliveries.for_new_dialog(draft, self.settings, utc_now()),
            )
        )
        if links and result.outcome is not IngestOutcome.ERASED:
            await self._link(message)  # after storing: a retry of an erased message must not link again
        for observe in self.observers:
            observe(message, result)
        # Message ids name the sender in some providers (Telegram's chat id is the customer's user id, Meta's
        # wamid encodes the phone): personal data, so only at DEBUG; the dialog id traces the message.
        if result.outcome is IngestOutcome.ERASED:
            log.info("message from %s: erased (its contact was forgotten), stored nowhere", message.provider)
            return result
        log.info(
            "message from %s: %s, dialog %s, %s",
            message.provider,
            result.outcome.value,
            result.dialog.id,
            result.dialog.status.value,
        )
        log.debug("message %s/%s is in dialog %s", message.provider, message.message_id, result.dialog.id)
        if result.outcome is IngestOutcome.NEW_DIALOG and result.dialog.status in _VISIT_WROTE and not demo:
            await self.second_look(result.dialog)  # after the observers: they see dialogs in the order stored
        return result

    async def second_look(self, written: Dialog) -> list[Dialog]:
        """A visit just wrote with its code (or was matched): it cannot also be the customer of a code-less
        first message on the same number a little earlier, so those left unattributed while it was one of
        their candidates are weighed again without it. Returns the dialogs this attributed (as probable),
        whose deliveries are queued and whose alert copies are redrawn."""
        window = self.settings.fallback_window
        if window <= timedelta(0):
            return []
        attributed = []
        pending = await self.store.unattributed_dialogs(
            written.business_number, written.started_at - window, written.started_at
        )
        for dialog in pending:
            match = await self.fallback.match(
                dialog.business_number, dialog.contact_id, dialog.contact_phone, dialog.first_message, dialog.started_at
            )
            if match is None:
                continue
            visit = self.attributed(match.visit)  # read by the matcher already
            found = CodeAttribution(
                code=match.code,
                status=AttributionStatus.PROBABLE,
                status_reason=match.reason,
                attribution=paged(visit.attribution.model_copy(), self.settings.kept_page_params),
                visit=visit,
            )
            changed = await self.store.attribute_dialog(dialog.id, found)
            if changed is None:
                continue  # attributed by something else meanwhile
            await self.store.queue_deliveries(deliveries.for_new_dialog(changed, self.settings, utc_now()))
            log.info("dialog %s: attributed on a second look, %s", changed.id, changed.status.value)
            for observe in self.attributed_later:
                observe(changed.id)
            attributed.append(changed)
        return attributed

    def tracks(self, message: InboundMessage) -> bool:
        """Whether the message is to one of the business's numbers: any, when CHATTRACK_TRACKED_NUMBERS is
        empty. Telegram accounts are chosen by their own settings, and a channel id standing for a number
        (an unmapped Wazzup channel) cannot be told from the list, so only WhatsApp phone numbers are checked."""
        tracked, number = self.settings.tracked_numbers, message.business_number
        return (
            not tracked
            or message.messenger is not Messenger.WHATSAPP
            or not number.startswith("+")
            or (number in tracked)
        )

    # one person, one contact: a provider's user id linked to the phone it first came with ---------

    @staticmethod
    def _links(message: InboundMessage) -> bool:
        """Whether the message carries a user id besides the phone that is its contact id. Links are made
        to phones only, so a message resolved through one knows its sender's phone again."""
        return (
            message.contact_alias is not None
            and message.contact_phone is not None
            and message.contact_id == message.contact_phone != message.contact_alias
        )

    async def _by_alias(self, message: InboundMessage) -> InboundMessage:
        """A message naming its sender by user id only (Meta stops sending the phone) joins the contact the
        id was linked to; an id never linked, or erased with its contact, stays a contact of its own."""
        assert message.contact_alias is not None
        linked = await self.store.aliased_contact(message.contact_alias)
        if linked is None:
            return message
        return message.model_copy(update={"contact_id": linked, "contact_phone": linked})

    async def _link(self, message: InboundMessage) -> None:
        assert message.contact_alias is not None
        linked = await self.store.link_alias(message.contact_alias, message.contact_id)
        if linked != message.contact_id:  # the first link wins: a user id never moves to another phone
            log.info("message from %s: its user id is linked to another contact already, kept", message.provider)

    def _draft(self, message: InboundMessage, first_message: str, **decided: Any) -> Dialog:
        """The dialog `message` would open, with the attribution `decided` (used only if it opens one)."""
        return Dialog(
            id=uuid.uuid4().hex,
            provider=message.provider,
            messenger=message.messenger,
            business_number=message.business_number,
            contact_id=message.contact_id,
            contact_phone=message.contact_phone,
            contact_name=message.contact_name,
            started_at=message.received_at,
            last_message_at=message.received_at,
            is_repeat=False,  # decided by the store, atomically with the insert
            buckets=buckets_for(message.received_at, self.settings.zone),
            first_message=first_message,
            tags=[DEMO] if is_demo_message(message) else [],  # from creation: no report ever counts it
            **decided,
        )

    async def _opens_dialog(self, message: InboundMessage) -> bool:
        """Whether this message would start a dialog (fallback matching is for first messages only)."""
        recent = await self.store.find_dialogs(contact_id=message.contact_id, limit=1)
        latest = recent[0] if recent else None
        return not (
            latest is not None
            and latest.business_number == message.business_number
            and message.received_at - latest.last_message_at < self.settings.dialog_gap
        )

    def _markers(self) -> tuple[str, ...]:
        return code_markers(self.settings.code_marker)

    async def purge_expired_visits(self, now: datetime) -> int:
        """Retention: visits (and clicks) older than the configured number of days are deleted."""
        return await self.store.delete_visits_before(now - timedelta(days=self.settings.visit_retention_days))

    # the business's replies (first response time) -----------------------------------------------

    async def record_reply(self, reply: BusinessReply) -> Dialog | None:
        """A provider told us the business sent a message to a customer (or the bot relayed one): the
        contact's latest dialog with this number that had opened by then records it as answered (the
        earliest reply wins). Returns that dialog; None when there is none (a message the business sent
        first, an erased contact): nothing is stored but the fact that this source reports replies."""
        await self.store.reply_seen(reply.provider, reply.business_number, reply.sent_at)
        contact = reply.contact_id
        if reply.contact_alias is not None and reply.contact_alias == contact:
            contact = await self.store.aliased_contact(reply.contact_alias) or contact
        dialogs = await self.store.find_dialogs(contact_id=contact, limit=5)
        dialog = next(
            (d for d in dialogs if d.business_number == reply.business_number and d.started_at <= reply.sent_at),
            None,
        )
        if dialog is None:
            log.debug("reply from %s: no dialog of its contact opened before it", reply.provider)
            self._replied(reply.provider, "no_dialog")
            return None
        if dialog.answered_at is not None and dialog.answered_at <= reply.sent_at:
            self._replied(reply.provider, "later")
            return dialog  # answered before: most replies after the first cost one read, no write
        answered = await self.store.record_reply(dialog.id, reply.sent_at, reply.by)
        self._replied(reply.provider, "later" if dialog.answered_at is not None else "first")
        return answered

    def _replied(self, provider: str, outcome: str) -> None:
        for observe in self.reply_observers:
            observe(provider, outcome)

    # customers' edits and deletions --------------------------------------------------------------

    async def edit_message(self, provider: str, message_id: str, text: str, at: datetime | None = None) -> bool:
        """A customer edited a message already stored: its text is replaced (a dialog without a code takes
        one the edit brings, tracking.edits). Opens no dialog, sends no alert. False when the message is
        unknown (never stored, or erased): nothing is stored. `at`: when the edit was made, so a late copy
        of an older edit never reverts a newer one; now when the provider does not say."""
        dialog = await self.store.message_dialog(provider, message_id)
        if dialog is None:
            log.info("edit from %s of a message not stored: stored nowhere", provider)
            return False
        edit = read_edit(dialog, text, self._markers())
        attribution = None
        if edit.code is not None:
            attribution = attribution_by_code(edit.code, await self.visit(edit.code), dialog)
            attribution.attribution = paged(attribution.attribution, self.settings.kept_page_params)
        edited = await self.store.edit_message(provider, message_id, edit.text, at or utc_now(), attribution)
        if edited:
            log.info("edit from %s in dialog %s%s", provider, dialog.id, " brought a code" if attribution else "")
        return edited

    async def delete_message(self, provider: str, message_id: str, at: datetime | None = None) -> bool:
        """A customer deleted a message already stored: it is marked deleted, its row kept (a retry of the
        original stays a duplicate). False when the message is unknown: nothing is stored."""
        deleted = await self.store.delete_message(provider, message_id, at or utc_now())
        log.info("deletion from %s of a message %s", provider, "stored: marked deleted" if deleted else "not stored")
        return deleted

    # a dialog's tags, taker and sales: changed here, so every delivery they make is queued with them ----

    async def set_tags(
        self, dialog_id: str, tags: list[str], *, by: int | None = None, by_name: str | None = None
    ) -> Dialog | None:
        """Replace the dialog's tags. "qualified" added converts (once per dialog); "sale" added records a sale
        without an amount yet (the bot asks for it); "sale" removed removes the dialog's sales. None when
        there is no such dialog."""
        dialog = await self.store.get_dialog(dialog_id)
        return None if dialog is None else await self._set_tags(dialog, tags, by, by_name)

    async def toggle_tag(
        self, dialog_id: str, tag: str, *, by: int | None = None, by_name: str | None = None
    ) -> Dialog | None:
        """A tag button pressed: the tag set when the dialog lacks it, removed when it has it (as set_tags)."""
        dialog = await self.store.get_dialog(dialog_id)
        if dialog is None:
            return None
        tags = [t for t in dialog.tags if t != tag] if tag in dialog.tags else [*dialog.tags, tag]
        return await self._set_tags(dialog, tags, by, by_name)

    async def _set_tags(self, dialog: Dialog, tags: list[str], by: int | None, by_name: str | None) -> Dialog | None:
        planned = deliveries.for_tags(dialog, tags, self.settings, utc_now())
        updated = await self.store.set_tags(dialog.id, tags, planned)
        if updated is not None and deliveries.SALE_TAG in tags and not updated.sales:
            updated = await self._add_sale(updated, None, None, by, by_name) or updated
        return updated

    async def add_sale(
        self,
        dialog_id: str,
        amount: Decimal | None,
        currency: str | None = None,
        *,
        by: int | None = None,
        by_name: str | None = None,
    ) -> Dialog | None:
        """One more sale of the dialog (a repeat purchase is another), with its amount when known. None when
        there is no such dialog."""
        dialog = await self.store.get_dialog(dialog_id)
        return None if dialog is None else await self._add_sale(dialog, amount, currency, by, by_name)

    async def _add_sale(
        self, dialog: Dialog, amount: Decimal | None, currency: str | None, by: int | None, by_name: str | None
    ) -> Dialog | None:
        now = utc_now()
        sale = Sale(
            id=uuid.uuid4().hex,
            amount=amount,
            currency=currency or self.settings.currency,
            at=now,
            by=by,
            by_name=by_name,
        )
        return await self.store.add_sale(dialog.id, sale, deliveries.for_sale(dialog, sale, self.settings, now))

    async def change_sale(
        self, dialog_id: str, sale_id: str, amount: Decimal | None, currency: str | None = None
    ) -> Dialog | None:
        """Set or change a sale's amount (conversions not sent yet carry the new one)."""
        return await self.store.update_sale(dialog_id, sale_id, amount, currency or self.settings.currency)

    async def remove_sale(self, dialog_id: str, sale_id: str) -> Dialog | None:
        return await self.store.remove_sale(dialog_id, sale_id)

    async def take_dialog(
        self, dialog_id: str, user_id: int, name: str, at: datetime, *, replace: bool = False
    ) -> Dialog | None:
        """Store.take_dialog, and `dialog.taken` when this user became the taker."""
        if not self.settings.events_enabled:
            return await self.store.take_dialog(dialog_id, user_id, name, at, replace=replace)
        before = await self.store.get_dialog(dialog_id)
        dialog = await self.store.take_dialog(dialog_id, user_id, name, at, replace=replace)
        newly = before is not None and before.taken_by != user_id  # a second press by the taker is no event
        if dialog is not None and dialog.taken_by == user_id and newly:
            await self.store.queue_deliveries(deliveries.for_taken(dialog, self.settings, utc_now()))
        return dialog
