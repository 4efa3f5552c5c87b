"""Who is looking at the dashboard: one-time login links, sessions, and the person's role.

Everything lives in the store's marks, so every copy of the server shares it: a login link's secret and a
session's id are stored only as digests (`tracking.strings.secret_digest`), so reading the store lets no one
in. A session names a Telegram user; their role (owner, staff, nobody) is worked out again on every request
exactly as the bot does (`bot/access.py`), so removing someone from the staff ends their sessions at once.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from reports.i18n import Lang, normalise_lang
from tracking.store.base import Store
from tracking.strings import secret_digest

LOGIN_PREFIX = "dash:login:"
SESSION_PREFIX = "dash:session:"
INIT_DATA_PREFIX = "dash:initdata:"  # a Mini App's initData already used: a replay is refused
LOGIN_LIFETIME = timedelta(minutes=10)
SESSION_LIFETIME = timedelta(days=14)


@dataclass(frozen=True, slots=True)
class Person:
    """A Telegram user the dashboard opened for (their role is read per request)."""

    user_id: int
    name: str
    lang: Lang


@dataclass(frozen=True, slots=True)
class Session:
    id: str  # the cookie's value; stored only as its digest
    person: Person
    expires: datetime

    @property
    def csrf(self) -> str:
        """The token a change must carry (form field or X-CSRF-Token): derived from the session's secret id,
        so a page of another site cannot know it."""
        return secret_digest("csrf:" + self.id)[:32]


def _person(value: dict[str, Any]) -> Person:
    return Person(
        user_id=int(value["user_id"]), name=str(value.get("name") or ""), lang=normalise_lang(value.get("lang"))
    )


def _fields(person: Person, expires: datetime) -> dict[str, Any]:
    return {"user_id": person.user_id, "name": person.name, "lang": person.lang, "expires": expires.isoformat()}


async def sweep_expired(store: Store, prefix: str, now: datetime) -> None:
    """Forget expired marks of `prefix` (links never opened, sessions never seen again)."""
    for key, value in (await store.marks(prefix)).items():
        if datetime.fromisoformat(str(value.get("expires", "1970-01-01T00:00:00+00:00"))) <= now:
            await store.take_mark(key)


async def new_login(store: Store, person: Person, now: datetime) -> str:
    """A one-time secret for `/dashboard/login?token=…`, valid LOGIN_LIFETIME."""
    await sweep_expired(store, LOGIN_PREFIX, now)
    secret = secrets.token_urlsafe(24)
    await store.put_mark(LOGIN_PREFIX + secret_digest(secret), _fields(person, now + LOGIN_LIFETIME))
    return secret


async def redeem_login(store: Store, secret: str, now: datetime) -> Person | None:
    """The person a login secret was made for, once (taken atomically: a second use gets None), before expiry."""
    if not 16 <= len(secret) <= 64:
        return None
    value = await store.take_mark(LOGIN_PREFIX + secret_digest(secret))
    if value is None or datetime.fromisoformat(str(value["expires"])) <= now:
        return None
    return _person(value)


async def open_session(store: Store, person: Person, now: datetime) -> Session:
    await sweep_expired(store, SESSION_PREFIX, now)
    session = Session(id=secrets.token_urlsafe(32), person=person, expires=now + SESSION_LIFETIME)
    await store.put_mark(SESSION_PREFIX + secret_digest(session.id), _fields(person, session.expires))
    return session


async def find_session(store: Store, session_id: str, now: datetime) -> Session | None:
    if not 16 <= len(session_id) <= 64:
        return None
    value = await store.get_mark(SESSION_PREFIX + secret_digest(session_id))
    if value is None:
        return None
    expires = datetime.fromisoformat(str(value["expires"]))
    if expires <= now:
        await store.take_mark(SESSION_PREFIX + secret_digest(session_id))
        return None
    return Session(id=session_id, person=_person(value), expires=expires)


async def end_session(store: Store, session_id: str) -> None:
    if 16 <= len(session_id) <= 64:
        await store.take_mark(SESSION_PREFIX + secret_digest(session_id))
