"""Ad spend sent to the bot: an owner's .csv or .xlsx document in the private chat is imported
(integrations/cost_files.py) and answered with what was stored, or with what is wrong and nothing stored.
The document's caption («vk», «google») names the source of a platform's export, which has no source column.

Staff are told only owners import spend; strangers never reach this router (their documents are customers'
messages, or the fallback's refusal). The router sits after the relay (a document replying to an alert goes
to the customer) and the customers' router.
"""

from __future__ import annotations

import html
import io
import logging

from aiogram import Bot, F, Router
from aiogram.exceptions import AiogramError
from aiogram.types import Message

from bot.access import MEMBERS, HasRole, Role
from bot.texts import language, plain_text, text
from integrations.cost_files import (
    MAX_BYTES,
    SOURCE_EXAMPLES,
    CostFileError,
    CostImport,
    Problem,
    import_cost_file,
)
from reports.i18n import Lang, day_label, money
from tracking.store.base import Store

log = logging.getLogger("chattrack.bot.costs")

TABLE_SUFFIXES = (".csv", ".xlsx", ".txt", ".tsv")


def describe_import(result: CostImport, lang: Lang, *, markup: bool = True) -> str:
    """«💰 Расходы загружены: строк — 42, 1 ноя 2026 — 30 ноя 2026.» and a total per source."""
    say = text if markup else plain_text
    totals = "\n".join(
        say(lang, "costs_total", source=source, amount=money(amount, result.costs[0].currency, lang))
        for source, amount in result.totals().items()
    )
    first, last = day_label(lang, result.first), day_label(lang, result.last)
    summary = say(lang, "costs_imported", lines=result.lines, first=first, last=last, totals=totals)
    return summary + "\n" + say(lang, "costs_replaced")


def describe_problem(problem: Problem, lang: Lang, *, command: str | None = None) -> str:
    """One problem in plain text (the values as they are: the caller escapes the whole for HTML). With the
    `command` that imported the file (the CLI's), a missing source is asked for as its `--source`, else as the
    document's caption."""
    values = dict(problem.values)
    key = problem.key
    if key == "columns":
        missing = values.get("missing", [])
        assert isinstance(missing, list)
        names = [plain_text(lang, f"costs_column_{column}") for column in missing]
        values["missing"] = ", ".join(names)
    if key == "no_source" and command is not None:
        key, values = "no_source_cli", {"command": f"{command} --source {SOURCE_EXAMPLES.split(',')[0]}"}
    return plain_text(lang, f"costs_error_{key}", **values)


def describe_rejection(error: CostFileError, lang: Lang, *, command: str | None = None) -> str:
    """Plain text: «Файл не загружен, расходы не изменились.» and each problem on its line."""
    problems = "\n".join(describe_problem(problem, lang, command=command) for problem in error.problems)
    return plain_text(lang, "costs_rejected", problems=problems)


def costs_router(store: Store, currency: str) -> Router:
    router = Router(name="costs")
    router.message.filter(F.chat.type == "private", F.document, HasRole(MEMBERS))

    @router.message()
    async def cost_file(message: Message, role: Role, bot: Bot) -> None:
        user, document = message.from_user, message.document
        assert user is not None and document is not None  # private chats have a sender; the filter's document
        lang = language(user.language_code)
        if role is not Role.OWNER:
            await message.answer(text(lang, "costs_owners_only"))
            return
        name = document.file_name or ""
        if not name.lower().endswith(TABLE_SUFFIXES):
            await message.answer(text(lang, "costs_send_table", examples=SOURCE_EXAMPLES))
            return
        if document.file_size is not None and document.file_size > MAX_BYTES:
            error = CostFileError([Problem("too_big", {"limit": MAX_BYTES // (1024 * 1024)})])
            await message.answer(_escaped(describe_rejection(error, lang)))
            return
        buffer = io.BytesIO()
        try:
            await bot.download(document, destination=buffer)
        except (AiogramError, OSError) as exc:  # Telegram refused the file or the download broke
            log.warning("could not download a cost file: %s", exc)
            await message.answer(text(lang, "costs_download_failed"))
            return
        data = buffer.getvalue()
        try:
            result = await import_cost_file(store, data, name, currency, source=message.caption)
        except CostFileError as exc:
            await message.answer(_escaped(describe_rejection(exc, lang)))
            return
        log.info("cost file %r imported by %s: %d lines", name, user.id, result.lines)
        await message.answer(describe_import(result, lang))

    return router


def _escaped(plain: str) -> str:
    return html.escape(plain, quote=False)
