"""One Telegram account sending `/start <fresh code>` again and again: every dialog is stored, the owner
gets three alerts an hour, and the card of a quiet dialog says why it brought none."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from bot.alerts import card_messages
from bot.runtime import BOT_RUNTIME
from tests import test_telegram_business as business
from tests.fakes.telegram_api import ApiCall, html_to_text
from tests.test_bot_commands import OWNER, BotAPI, Person, to_chat
from tests.test_telegram_business import CUSTOMER, dialogs_of
from tracking.codes import new_code
from tracking.limits import alert_withheld

api, serve = business.api, business.serve  # the shared fixtures
T0 = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)


def lead_alert(call: ApiCall) -> bool:
    """An alert to the owner (new or repeat customer): it carries the card button."""
    return to_chat(OWNER)(call) and "card:" in str(call.params.get("reply_markup"))


def test_the_fourth_dialog_within_an_hour_goes_without_an_alert() -> None:
    def starts(*minutes: float) -> list[datetime]:
        return [T0 + timedelta(minutes=m) for m in minutes]

    now = T0 + timedelta(minutes=59)
    assert not alert_withheld([], now)
    assert not alert_withheld(starts(0, 30), now)
    assert alert_withheld(starts(0, 30, 58), now)
    assert not alert_withheld(starts(-1, 30, 58), now)  # the first is more than an hour old
    assert alert_withheld(starts(30, 58, 60), now)  # stored out of order, or a late retry: later ones count too
    assert not alert_withheld(starts(30, 58, 120), now)  # the last is more than an hour later


async def test_a_flood_of_deep_link_starts_brings_three_alerts_and_every_dialog(
    serve: Callable[..., Any], api: BotAPI
) -> None:
    server, ingested = await serve()
    mallory = Person(api, CUSTOMER, "en", "Mallory")
    for _ in range(5):
        mallory.says(f"/start {new_code()}")
    await ingested.wait(5)
    await api.wait_for("sendMessage", lead_alert, count=3)
    await server.app[BOT_RUNTIME].alerts.stop()  # the pass in flight ends: whatever was queued is sent

    assert len(await dialogs_of(server, CUSTOMER)) == 5  # every dialog is stored
    dialogs = [result.dialog for result in ingested.results]  # in the order they were stored
    assert [d.alert_withheld for d in dialogs] == [False, False, False, True, True]
    assert await server.store.pending_alerts() == 0
    assert len(api.calls_to("sendMessage", lead_alert)) == 3

    ru = await card_messages(server.store, dialogs[-1].id, "ru", server.settings.zone)
    en = await card_messages(server.store, dialogs[-1].id, "en", server.settings.zone)
    assert ru is not None and en is not None
    assert "Оповещение не отправлено: слишком много обращений с этого контакта за час" in html_to_text(ru[0])
    assert "No lead alert was sent: too many dialogs from this contact within an hour" in html_to_text(en[0])
    earliest = await card_messages(server.store, dialogs[0].id, "ru", server.settings.zone)
    assert earliest is not None and "Оповещение не отправлено" not in html_to_text(earliest[0])
