"""A local Telegram Bot API server for tests: real HTTP on a free port, speaking the API as aiogram calls it.

Point aiogram at it with `AiohttpSession(api=TelegramAPIServer.from_base(fake.url))`. Every call is
recorded (`fake.calls`); `await fake.wait_for(method, predicate)` waits for one without sleeping;
`push_update` feeds long polling (and remembers the messages it carries, so copyMessage and forwardMessage
find them as Telegram would); `fail_next` injects 429 / 5xx / 4xx answers or a dropped connection.

Like Telegram, it checks Telegram-HTML (`parse_mode=HTML`): an unsupported tag or an unescaped `<`, `>`
or `&` is a 400 "can't parse entities", so a missing `html.escape` fails a test instead of an alert.
"""

from __future__ import annotations

import asyncio
import contextlib
import html
import json
import re
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from aiohttp import web

from tests.fakes import serve_app

# Form fields that carry JSON (aiogram serialises objects and lists), integers and booleans.
JSON_FIELDS = {
    "reply_markup",
    "allowed_updates",
    "commands",
    "entities",
    "caption_entities",
    "link_preview_options",
    "reply_parameters",
    "scope",
    "media",
    "menu_button",
}
INT_FIELDS = {
    "chat_id",
    "message_id",
    "offset",
    "limit",
    "timeout",
    "user_id",
    "from_chat_id",
    "message_thread_id",
    "cache_time",
    "max_connections",
}
BOOL_FIELDS = {
    "drop_pending_updates",
    "show_alert",
    "disable_notification",
    "protect_content",
    "disable_web_page_preview",
    "has_spoiler",
}
TRUE_METHODS = {
    "answercallbackquery",
    "setmycommands",
    "deletemycommands",
    "setwebhook",
    "deletewebhook",
    "close",
    "logout",
    "sendchataction",
    "deletemessage",
    "setchatmenubutton",
}
MAX_TEXT = 4096
# What copyMessage and forwardMessage carry over from a message; those that can take a caption.
CAPTIONED = frozenset({"photo", "video", "animation", "audio", "document", "voice"})
COPIED_FIELDS = CAPTIONED | {
    "text",
    "entities",
    "caption",
    "caption_entities",
    "sticker",
    "video_note",
    "contact",
    "location",
    "venue",
    "poll",
    "dice",
}
MAX_CAPTION = 1024
MAX_UPLOAD = 50 * 1024 * 1024

ALLOWED_TAGS = {
    "b",
    "strong",
    "i",
    "em",
    "u",
    "ins",
    "s",
    "strike",
    "del",
    "span",
    "tg-spoiler",
    "a",
    "code",
    "pre",
    "blockquote",
    "tg-emoji",
}
TAG = re.compile(r"<(/?)([a-zA-Z][a-zA-Z0-9-]*)(\s[^<>]*)?>")
ENTITY = re.compile(r"&(?:#\d+|#x[0-9a-fA-F]+|lt|gt|amp|quot);")


class BadRequest(Exception):
    """Answered as HTTP 400 with Telegram's wording."""


def html_to_text(source: str) -> str:
    """The plain text Telegram would show for a Telegram-HTML message; BadRequest where Telegram refuses."""
    out: list[str] = []
    open_tags: list[str] = []
    pos = 0
    while pos < len(source):
        char = source[pos]
        if char == "<":
            tag = TAG.match(source, pos)
            if tag is None:
                raise BadRequest(f"can't parse entities: Unsupported start tag at byte offset {pos}")
            closing, name = tag.group(1), tag.group(2).lower()
            if name not in ALLOWED_TAGS:
                raise BadRequest(f'can\'t parse entities: Unsupported start tag "{name}" at byte offset {pos}')
            if not closing:
                open_tags.append(name)
            elif not open_tags or open_tags.pop() != name:
                raise BadRequest(f"can't parse entities: Can't find end tag corresponding to start tag \"{name}\"")
            pos = tag.end()
        elif char == "&":
            entity = ENTITY.match(source, pos)
            if entity is None:
                raise BadRequest(f"can't parse entities: unescaped '&' at byte offset {pos}")
            out.append(html.unescape(entity.group(0)))
            pos = entity.end()
        elif char == ">":
            raise BadRequest(f"can't parse entities: unescaped '>' at byte offset {pos}")
        else:
            out.append(char)
            pos += 1
    if open_tags:
        raise BadRequest(f"can't parse entities: Can't find end tag corresponding to start tag \"{open_tags[-1]}\"")
    return "".join(out)


@dataclass
class ApiCall:
    method: str  # as in the URL path, e.g. "sendMessage"
    params: dict[str, Any]
    files: dict[str, bytes] = field(default_factory=dict)
    token: str = ""
    status: int = 200  # the HTTP status answered; 0 when the connection was dropped
    result: Any = None

    @property
    def ok(self) -> bool:
        return self.status == 200


@dataclass
class Hold:
    """A call held without an answer until the test releases it: `arrived` is set when the call came in."""

    arrived: asyncio.Event = field(default_factory=asyncio.Event)
    released: asyncio.Event = field(default_factory=asyncio.Event)

    def release(self) -> None:
        self.released.set()


@dataclass
class Failure:
    status: int | Literal["unreachable"]
    retry_after: int | None
    description: str | None
    when: Callable[[ApiCall], bool] | None = None
    migrate_to_chat_id: int | None = None  # a 400 for a group upgraded to a supergroup carries its new id


DESCRIPTIONS = {
    400: "Bad Request: chat not found",
    401: "Unauthorized",
    403: "Forbidden: bot was blocked by the user",
    404: "Not Found",
    409: "Conflict: terminated by other getUpdates request",
    429: "Too Many Requests: retry after {retry_after}",
    500: "Internal Server Error",
    502: "Bad Gateway",
}


class FakeTelegramAPI:
    def __init__(self, *, username: str = "chattrack_test_bot", first_name: str = "Chattrack") -> None:
        self.username = username
        self.first_name = first_name
        self.calls: list[ApiCall] = []
        self.messages: dict[tuple[int, int], dict[str, Any]] = {}
        # Supergroups with topics (is_forum) → their topics' message_thread_id; other negative ids are groups.
        self.forums: dict[int, set[int]] = {}
        self.webhook_url = ""
        # The menu button of each private chat as setChatMenuButton left it (None: the bot's default one)
        self.menu_buttons: dict[int | None, dict[str, Any]] = {}
        # (Unix time, message) of the last failed webhook delivery, as getWebhookInfo reports it
        self.webhook_error: tuple[int, str] | None = None
        self._updates: deque[dict[str, Any]] = deque()
        self._next_update_id = 1
        self._next_message_id = 1
        self._failures: dict[str, deque[Failure]] = {}
        self._holds: dict[str, deque[Hold]] = {}
        self._file_names: dict[str, str] = {}  # multipart field → the uploaded file's name
        self.files: dict[str, bytes] = {}  # file_id → content: what people sent, for getFile and its download
        self._tick: asyncio.Event | None = None  # set and replaced on every change; created on the loop
        self._closing = False
        self._runner: web.AppRunner | None = None
        self.url = ""

    # lifecycle ----------------------------------------------------------------------------------

    async def start(self) -> None:
        self._tick = asyncio.Event()
        self._closing = False
        app = web.Application(client_max_size=MAX_UPLOAD + 1024 * 1024)  # a document and its form fields
        app.router.add_route("POST", "/bot{token}/{method}", self._handle)
        app.router.add_route("GET", "/bot{token}/{method}", self._handle)
        app.router.add_route("GET", "/file/bot{token}/{path:.+}", self._download)
        self._runner, self.url = await serve_app(app, access_log=None, shutdown_timeout=1)

    async def stop(self) -> None:
        self._closing = True
        self._notify()  # long polls answer at once instead of holding shutdown
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> FakeTelegramAPI:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    # test helpers -------------------------------------------------------------------------------

    def push_update(self, update: dict[str, Any]) -> int:
        """Queue an update for getUpdates (update_id assigned when missing); returns its update_id."""
        update = dict(update)
        update.setdefault("update_id", self._next_update_id)
        self._next_update_id = max(self._next_update_id, update["update_id"]) + 1
        self._updates.append(update)
        for kind in ("message", "business_message"):
            if isinstance(update.get(kind), dict):
                self.remember_message(update[kind])
        self._notify()
        return int(update["update_id"])

    def add_file(self, content: bytes, name: str, mime_type: str = "text/csv") -> dict[str, Any]:
        """A document someone sends (put it in a message's "document"): getFile and the download serve it."""
        file_id = f"BQACAgIAAxkBAAI{len(self.files) + 1:06d}"
        self.files[file_id] = content
        return {"file_id": file_id, "file_unique_id": f"u{file_id[-6:]}", "file_name": name,
                "mime_type": mime_type, "file_size": len(content)}  # fmt: skip

    def remember_message(self, message: dict[str, Any]) -> None:
        """A message people sent (a customer, a team member): what copyMessage and forwardMessage copy."""
        self.messages[(message["chat"]["id"], message["message_id"])] = message

    def fail_next(
        self,
        method: str,
        n: int = 1,
        *,
        status: int | Literal["unreachable"] = 429,
        retry_after: int | None = 1,
        description: str | None = None,
        when: Callable[[ApiCall], bool] | None = None,
        migrate_to_chat_id: int | None = None,
    ) -> None:
        """The next `n` calls of `method` (those matching `when`, if given) fail: with an HTTP status
        (429 carries retry_after) or a dropped connection ("unreachable")."""
        queue = self._failures.setdefault(method.lower(), deque())
        queue.extend(Failure(status, retry_after, description, when, migrate_to_chat_id) for _ in range(n))

    def hold_next(self, method: str) -> Hold:
        """The next call of `method` is answered only after `hold.release()`, as a slow Telegram would."""
        hold = Hold()
        self._holds.setdefault(method.lower(), deque()).append(hold)
        return hold

    def calls_to(self, method: str, predicate: Callable[[ApiCall], bool] | None = None) -> list[ApiCall]:
        return [c for c in self.calls if c.method.lower() == method.lower() and (predicate is None or predicate(c))]

    def sent_messages(self, chat_id: int | None = None) -> list[ApiCall]:
        """sendMessage calls that were answered ok (optionally to one chat)."""
        return self.calls_to("sendMessage", lambda c: c.ok and chat_id in (None, c.params.get("chat_id")))

    async def wait_for(
        self,
        method: str,
        predicate: Callable[[ApiCall], bool] | None = None,
        *,
        timeout: float = 5.0,  # noqa: ASYNC109 - the helper's documented signature
        count: int = 1,
    ) -> ApiCall:
        """The `count`-th call of `method` matching `predicate`, counting calls already made."""
        try:
            await self._until(lambda: len(self.calls_to(method, predicate)) >= count, timeout)
        except TimeoutError:
            seen = [(c.method, c.status) for c in self.calls]
            raise AssertionError(f"no {count} matching {method} call(s) within {timeout}s; calls: {seen}") from None
        return self.calls_to(method, predicate)[count - 1]

    # the API ------------------------------------------------------------------------------------

    def _notify(self) -> None:
        if self._tick is not None:
            self._tick.set()
            self._tick = asyncio.Event()

    async def _until(self, condition: Callable[[], bool], within: float) -> None:
        """Wake on every change until `condition` holds; TimeoutError after `within` seconds."""
        async with asyncio.timeout(within):
            while not condition():
                assert self._tick is not None, "start the fake first"
                await self._tick.wait()

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        method = request.match_info["method"]
        token = request.match_info["token"]
        params, files = await self._read_params(request)
        call = ApiCall(method=method, params=params, files=files, token=token)
        self.calls.append(call)
        holds = self._holds.get(method.lower())
        if holds:
            hold = holds.popleft()
            hold.arrived.set()
            await hold.released.wait()
        failure = self._take_failure(call)
        if failure is not None:
            return await self._fail(request, call, failure)
        if not re.fullmatch(r"\d+:[\w-]+", token):
            return await self._error(call, 401, "Unauthorized")
        try:
            result = await self._answer(method.lower(), params, files, token)
        except BadRequest as exc:
            return await self._error(call, 400, f"Bad Request: {exc}")
        except KeyError as exc:
            return await self._error(call, 400, f"Bad Request: {exc.args[0]} is required")
        if result is NotImplemented:
            return await self._error(call, 404, "Not Found: method not found")
        call.result = result
        self._notify()
        return web.json_response({"ok": True, "result": result})

    def _take_failure(self, call: ApiCall) -> Failure | None:
        queue = self._failures.get(call.method.lower(), deque())
        for failure in queue:
            if failure.when is None or failure.when(call):
                queue.remove(failure)
                return failure
        return None

    async def _fail(self, request: web.Request, call: ApiCall, failure: Failure) -> web.StreamResponse:
        if failure.status == "unreachable":
            call.status = 0
            self._notify()
            assert request.transport is not None
            request.transport.abort()  # the client sees the connection die without an answer
            raise asyncio.CancelledError
        status = failure.status
        description = failure.description or DESCRIPTIONS.get(status, "Error").format(retry_after=failure.retry_after)
        extra = {"parameters": {"retry_after": failure.retry_after}} if status == 429 else {}
        if failure.migrate_to_chat_id is not None:
            extra = {"parameters": {"migrate_to_chat_id": failure.migrate_to_chat_id}}
        return await self._error(call, status, description, **extra)

    async def _error(self, call: ApiCall, status: int, description: str, **extra: Any) -> web.Response:
        call.status = status
        self._notify()
        body = {"ok": False, "error_code": status, "description": description, **extra}
        return web.json_response(body, status=status)

    async def _read_params(self, request: web.Request) -> tuple[dict[str, Any], dict[str, bytes]]:
        if request.content_type == "application/json":
            return dict(await request.json()), {}
        params: dict[str, Any] = {}
        files: dict[str, bytes] = {}
        for name, value in (await request.post()).items():
            if isinstance(value, web.FileField):
                files[name] = value.file.read()
                self._file_names[name] = value.filename
            else:
                params[name] = _typed(name, str(value))
        params.update({k: _typed(k, v) for k, v in request.query.items() if k not in params})
        return params, files

    async def _answer(self, method: str, params: dict[str, Any], files: dict[str, bytes], token: str) -> Any:
        if method == "getme":
            return self.me(token)
        if method == "getupdates":
            return await self._get_updates(params)
        if method == "sendmessage":
            return self._send_message(params, token)
        if method == "sendphoto":
            return self._send_photo(params, files, token)
        if method == "senddocument":
            return self._send_document(params, files, token)
        if method == "getfile":
            return self._get_file(params)
        if method == "copymessage":
            return {"message_id": self._copy(params, token, forward=False)["message_id"]}  # Telegram: a MessageId
        if method == "forwardmessage":
            return self._copy(params, token, forward=True)
        if method == "editmessagetext":
            text = self._check_text(params, "text", MAX_TEXT)
            return self._edit(params, {"text": text, "reply_markup": params.get("reply_markup")})
        if method == "editmessagereplymarkup":
            return self._edit(params, {"reply_markup": params.get("reply_markup")})
        if method == "setwebhook":
            self.webhook_url = str(params["url"])
            return True
        if method == "deletewebhook":
            self.webhook_url = ""
            if params.get("drop_pending_updates"):
                self._updates.clear()
            return True
        if method == "getwebhookinfo":  # as documented: last_error_* only when a delivery failed
            info = {
                "url": self.webhook_url,
                "has_custom_certificate": False,
                "pending_update_count": len(self._updates),
            }
            if self.webhook_error is not None:
                info["last_error_date"], info["last_error_message"] = self.webhook_error
            return info
        if method == "setchatmenubutton":
            return self._set_menu_button(params)
        if method == "getchatmenubutton":
            return self.menu_buttons.get(params.get("chat_id"), {"type": "default"})
        if method in TRUE_METHODS:
            return True
        return NotImplemented

    def _set_menu_button(self, params: dict[str, Any]) -> bool:
        button = params.get("menu_button") or {"type": "default"}
        if button.get("type") == "web_app":
            url = str(button.get("web_app", {}).get("url", ""))
            if not url.startswith("https://"):  # Telegram opens Mini Apps over https only
                raise BadRequest("BUTTON_URL_INVALID")
            if not button.get("text"):
                raise BadRequest("BUTTON_TEXT_INVALID")
        self.menu_buttons[params.get("chat_id")] = button
        return True

    def me(self, token: str) -> dict[str, Any]:
        return {
            "id": int(token.split(":")[0]),
            "is_bot": True,
            "first_name": self.first_name,
            "username": self.username,
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
        }

    async def _get_updates(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        offset = params.get("offset")
        if isinstance(offset, int):  # confirms every update before it, as Telegram does
            while self._updates and self._updates[0]["update_id"] < offset:
                self._updates.popleft()
        timeout = float(params.get("timeout") or 0)
        limit = int(params.get("limit") or 100)
        if not self._updates and timeout > 0:
            with contextlib.suppress(TimeoutError):
                await self._until(lambda: bool(self._updates) or self._closing, timeout)
        return list(self._updates)[:limit]

    def _check_text(self, params: dict[str, Any], key: str, limit: int) -> str:
        source = str(params[key]) if key != "caption" else str(params.get(key, ""))
        text = html_to_text(source) if str(params.get("parse_mode", "")).upper() == "HTML" else source
        if key == "text" and not text.strip():
            raise BadRequest("message text is empty")
        if len(text) > limit:
            raise BadRequest("message is too long" if key == "text" else "message caption is too long")
        return text

    def _chat(self, params: dict[str, Any]) -> dict[str, Any]:
        chat_id = params["chat_id"]
        if not isinstance(chat_id, int):
            raise BadRequest("chat not found")
        if chat_id > 0:
            return {"id": chat_id, "type": "private", "first_name": "Owner"}
        if chat_id in self.forums:
            return {"id": chat_id, "type": "supergroup", "title": "Team", "is_forum": True}
        return {"id": chat_id, "type": "supergroup", "title": "Team"}

    def _new_message(self, params: dict[str, Any], token: str, **content: Any) -> dict[str, Any]:
        chat = self._chat(params)
        message = {
            "message_id": self._next_message_id,
            "from": self.me(token),
            "chat": chat,
            "date": int(time.time()),
            **content,
        }
        markup = params.get("reply_markup")
        if isinstance(markup, dict) and "inline_keyboard" in markup:
            message["reply_markup"] = markup
        self._place(chat, params, message)
        self._next_message_id += 1
        self.messages[(chat["id"], message["message_id"])] = message
        return message

    def _get_file(self, params: dict[str, Any]) -> dict[str, Any]:
        """Bots download files of at most 20 MB (getFile refuses bigger ones)."""
        file_id = str(params["file_id"])
        if file_id not in self.files:
            raise BadRequest("invalid file_id")
        size = len(self.files[file_id])
        if size > 20 * 1024 * 1024:
            raise BadRequest("file is too big")
        return {"file_id": file_id, "file_unique_id": f"u{file_id[-6:]}", "file_size": size,
                "file_path": f"documents/{file_id}"}  # fmt: skip

    async def _download(self, request: web.Request) -> web.Response:
        content = self.files.get(request.match_info["path"].removeprefix("documents/"))
        return web.Response(body=content) if content is not None else web.Response(status=404)

    def _send_message(self, params: dict[str, Any], token: str) -> dict[str, Any]:
        text = self._check_text(params, "text", MAX_TEXT)
        entities = params.get("entities")  # given instead of parse_mode: kept, as Telegram hands them back
        return self._new_message(params, token, text=text, **({"entities": entities} if entities else {}))

    def _send_photo(self, params: dict[str, Any], files: dict[str, bytes], token: str) -> dict[str, Any]:
        ref = str(params.get("photo", ""))
        # aiogram uploads under a random field name and passes "attach://<name>"; a file_id is a string
        photo = files.get(ref.removeprefix("attach://")) if ref.startswith("attach://") else files.get("photo")
        if photo is None and not ref:
            raise BadRequest("there is no photo in the request")
        if photo is not None:
            params["photo"] = photo  # tests read the uploaded bytes here
        size = len(photo) if photo is not None else 0
        sizes = [
            {
                "file_id": f"photo-{self._next_message_id}-{w}",
                "file_unique_id": f"u{self._next_message_id}{w}",
                "width": w,
                "height": w * 3 // 4,
                "file_size": size,
            }
            for w in (320, 800)
        ]
        content: dict[str, Any] = {"photo": sizes}
        if params.get("caption"):
            content["caption"] = self._check_text(params, "caption", MAX_CAPTION)
        return self._new_message(params, token, **content)

    def _send_document(self, params: dict[str, Any], files: dict[str, bytes], token: str) -> dict[str, Any]:
        """A file uploaded as multipart (aiogram: "attach://<field>"); tests read its bytes in params["document"]
        and its name in params["document_name"]. Telegram takes at most 50 MB from a bot."""
        ref = str(params.get("document", ""))
        field = ref.removeprefix("attach://") if ref.startswith("attach://") else "document"
        document = files.get(field)
        if document is None:
            raise BadRequest("there is no document in the request")
        if len(document) > MAX_UPLOAD:
            raise BadRequest("file is too big")
        params["document"] = document
        params["document_name"] = self._file_names.get(field, "")
        content: dict[str, Any] = {
            "document": {
                "file_id": f"doc-{self._next_message_id}",
                "file_unique_id": f"d{self._next_message_id}",
                "file_name": params["document_name"],
                "file_size": len(document),
            }
        }
        if params.get("caption"):
            content["caption"] = self._check_text(params, "caption", MAX_CAPTION)
        return self._new_message(params, token, **content)

    def _copy(self, params: dict[str, Any], token: str, *, forward: bool) -> dict[str, Any]:
        """copyMessage (the content alone, a new caption when given) or forwardMessage (with its origin: the
        sender, as Bot API 7.0+ names it). Files travel by their file_id, as Telegram copies them."""
        source = self.messages.get((params["from_chat_id"], params["message_id"]))
        if source is None:
            raise BadRequest(f"message to {'forward' if forward else 'copy'} not found")
        content = {key: value for key, value in source.items() if key in COPIED_FIELDS}
        if not forward and "caption" in params:
            if not any(key in content for key in CAPTIONED):
                raise BadRequest("message can't have a caption")  # a caption on a text, a sticker…
            content["caption"] = self._check_text(params, "caption", MAX_CAPTION)
            content.pop("caption_entities", None)
        if forward:
            origin = {"type": "user", "date": source["date"], "sender_user": source.get("from")}
            content["forward_origin"] = origin
        if "message_thread_id" in params:
            content["message_thread_id"] = params["message_thread_id"]
        return self._new_message(params, token, **content)

    def _place(self, chat: dict[str, Any], params: dict[str, Any], message: dict[str, Any]) -> None:
        """A forum topic (message_thread_id, is_topic_message) and the message replied to (reply_parameters),
        as Telegram sets them; a topic the forum does not have, or a missing message to reply to without
        allow_sending_without_reply, is refused with Telegram's wording."""
        thread = params.get("message_thread_id")
        if thread is not None and chat["id"] in self.forums:
            if thread not in self.forums[chat["id"]]:
                raise BadRequest("message thread not found")
            message["message_thread_id"] = thread
            message["is_topic_message"] = True
        reply = params.get("reply_parameters")
        if isinstance(reply, dict) and "message_id" in reply:
            replied = self.messages.get((reply.get("chat_id", chat["id"]), reply["message_id"]))
            if replied is not None:
                message["reply_to_message"] = {k: v for k, v in replied.items() if k != "reply_to_message"}
            elif not reply.get("allow_sending_without_reply"):
                raise BadRequest("message to be replied not found")

    def _edit(self, params: dict[str, Any], changes: dict[str, Any]) -> Any:
        if "inline_message_id" in params:
            return True
        key = (params.get("chat_id"), params.get("message_id"))
        message = self.messages.get(key)  # type: ignore[arg-type]
        if message is None:
            raise BadRequest("message to edit not found")
        if all(message.get(name) == value for name, value in changes.items()):
            raise BadRequest(
                "message is not modified: specified new message content and reply markup are exactly the same "
                "as a current content and reply markup of the message"
            )
        for name, value in changes.items():
            if value is None:
                message.pop(name, None)
            else:
                message[name] = value
        message["edit_date"] = int(time.time())
        return message


def _typed(name: str, value: str) -> Any:
    if name in JSON_FIELDS:
        try:
            return json.loads(value)
        except json.JSONDecodeError:
            return value
    if name in INT_FIELDS:
        try:
            return int(value)
        except ValueError:
            return value
    if name in BOOL_FIELDS:
        return value.lower() == "true"
    return value
