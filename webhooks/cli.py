"""`chattrack` command: `serve` runs the server; configuration comes from CHATTRACK_* variables / `.env`."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
from collections.abc import Awaitable, Callable
from typing import NamedTuple

from tracking.prefill import recovers
from tracking.settings import ENV_PREFIX, Settings, SettingsError, load_settings
from tracking.store import Store

# An empty secret counts as unset (tracking/settings.py); what that means for each, said at start-up.
BLANK_DEFAULT = "the requests it checks are refused (403) until it has a value"
BLANK_SECRET = {
    "CHATTRACK_TWILIO_AUTH_TOKEN": "Twilio webhooks are refused (403)",
    "CHATTRACK_META_APP_SECRET": "Meta webhooks are refused (403)",
    "CHATTRACK_META_VERIFY_TOKEN": "Meta's verification is refused (403)",
    "CHATTRACK_GREENAPI_WEBHOOK_TOKEN": "Green-API webhooks are refused (403)",
    "CHATTRACK_WAZZUP_CRM_KEY": "Wazzup webhooks are refused (403)",
    "CHATTRACK_GENERIC_WEBHOOK_SECRET": "the generic webhook is refused (403)",
    "CHATTRACK_API_TOKEN": "the JSON API is off (403)",
    "CHATTRACK_TELEGRAM_BOT_TOKEN": "lead alerts wait in the outbox",
    "CHATTRACK_TELEGRAM_WEBHOOK_SECRET": "the bot's webhook secret is derived from the bot token",
}


class Webhook(NamedTuple):
    """Where a provider is told to post (docs/providers.md), and the secret that turns its webhook on."""

    provider: str
    where: str  # where in the provider's own settings the URL goes
    path: str
    secret: str  # the Settings field

    @property
    def label(self) -> str:
        return f"{self.provider} ({self.where})"

    @property
    def setting(self) -> str:
        return ENV_PREFIX + self.secret.upper()


GENERIC = "any other platform"
WEBHOOKS = (
    Webhook("Twilio", "Messaging → 'A message comes in', HTTP POST", "/webhooks/twilio", "twilio_auth_token"),
    Webhook("Meta", "WhatsApp → Configuration → Callback URL", "/webhooks/meta", "meta_app_secret"),
    Webhook("Green-API", "instance settings → webhookUrl", "/webhooks/greenapi", "greenapi_webhook_token"),
    Webhook("Wazzup", "PATCH /v3/webhooks → webhooksUri", "/webhooks/wazzup", "wazzup_crm_key"),
    Webhook(GENERIC, "generic JSON webhook", "/webhooks/generic", "generic_webhook_secret"),
)


def configured_webhooks(settings: Settings) -> list[Webhook]:
    """The providers in use: their secret is set, or set but empty (refused until it has a value)."""
    blank = set(settings.blank_secrets)
    return [hook for hook in WEBHOOKS if getattr(settings, hook.secret) is not None or hook.setting in blank]


def webhook_lines(settings: Settings, base: str) -> list[str]:
    """The webhook URL of each provider in use; before any is, every provider's secret and URL."""
    chosen = configured_webhooks(settings)
    if not chosen:
        return [
            "No provider is configured yet: set your provider's secret, then give it its webhook URL:",
            *(f"  {hook.label}: {hook.setting}, {base}{hook.path}" for hook in WEBHOOKS),
            "  (docs/providers.md)",
        ]
    return ["Give your provider its webhook URL:", *(f"  {hook.label}: {base}{hook.path}" for hook in chosen)]


def snippet_tag(base: str) -> str:
    """The tag to paste into every page of the site (docs/snippet.md)."""
    return f'<script async src="{base}/t.js"></script>'


class Missing(NamedTuple):
    """One thing start-up lists as not configured yet."""

    setting: str | None  # the variable to set; None: any one of several (a provider's secret)
    meaning: str

    def __str__(self) -> str:
        return f"{self.setting}: {self.meaning}" if self.setting else self.meaning


def not_configured(settings: Settings) -> list[Missing]:
    """What start-up lists as not configured yet; `chattrack doctor` reports the same list."""
    missing = [
        Missing(name, f"set but empty, so it counts as not set: {BLANK_SECRET.get(name, BLANK_DEFAULT)}")
        for name in settings.blank_secrets
    ]
    if settings.public_url is None:
        missing.append(
            Missing("CHATTRACK_PUBLIC_URL", "providers cannot reach a local address; set your public https URL")
        )
    if not settings.tracked_numbers and not settings.telegram_usernames:
        missing.append(Missing("CHATTRACK_TRACKED_NUMBERS", "no number is tracked, so the snippet marks no link"))
    if settings.meta_app_secret is not None and settings.meta_verify_token is None:
        missing.append(Missing("CHATTRACK_META_VERIFY_TOKEN", "Meta cannot verify the callback URL until it is set"))
    if settings.wazzup_crm_key is not None and not settings.wazzup_channels:
        missing.append(Missing("CHATTRACK_WAZZUP_CHANNELS", "Wazzup dialogs name their channel's id, not its number"))
    if not configured_webhooks(settings):
        missing.append(Missing(None, "your provider's secret (listed above): its webhooks are refused until it is set"))
    if settings.telegram_bot_token is None and "CHATTRACK_TELEGRAM_BOT_TOKEN" not in settings.blank_secrets:
        missing.append(
            Missing(
                "CHATTRACK_TELEGRAM_BOT_TOKEN",
                "lead alerts are printed to this log and kept in the outbox until a bot is configured",
            )
        )
    elif not settings.telegram_owner_ids:
        missing.append(
            Missing(
                "CHATTRACK_TELEGRAM_OWNER_IDS",
                "not set, so until someone owns the bot a one-time link to own it is printed below: open it in "
                "Telegram",
            )
        )
    return missing


def demo_lines(settings: Settings, host: str, port: int) -> list[str]:
    """The demo page (webhooks/demo.py) while it may be on: a lead alert before any provider is connected."""
    if settings.demo == "off":
        return []
    from tracking.demo import demo_url
    from webhooks.demo import PAGE

    button = PAGE[settings.bot_language]["send"]  # as the page, in the bot's language, names it
    lines = [f"Try it: open {demo_url(settings, port, host)} and press «{button}»: a demo lead alert"]
    lines.append("  comes to Telegram, marked and left out of reports; /demo in the bot erases it")
    if settings.demo == "auto":
        lines.append("  (on until the first real customer message; CHATTRACK_DEMO=off turns it off now)")
    return [*lines, ""]


def startup_banner(settings: Settings, host: str, port: int) -> str:
    base = settings.public_url or f"http://{host}:{port}"
    lines = [
        f"chattrack listening on http://{host}:{port}",
        f"store: {settings.database_url.split('@')[-1]}",
        "",
        "Paste this into every page of the site, before </body>:",
        f"  {snippet_tag(base)}",
        "",
        *demo_lines(settings, host, port),
        *webhook_lines(settings, base),
    ]
    missing = not_configured(settings)
    if missing:
        lines += ["", "Not configured yet:", *(f"  - {m}" for m in missing)]
    vague = [f"{pattern}: «{phrase}»" for pattern, phrase in settings.presets.items() if not recovers(phrase)]
    if vague:
        lines += [
            "",
            "CHATTRACK_PRESETS: these phrases say too little to recover a lead whose customer deletes the code;",
            "name the page's service or product in them («Сколько стоит детская фотосессия?»):",
            *(f"  - {v}" for v in vague),
        ]
    return "\n".join(lines)


def configure_logging(log_format: str) -> None:
    handler = logging.StreamHandler()
    if log_format == "json":
        from pythonjsonlogger.json import JsonFormatter

        handler.setFormatter(JsonFormatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    logging.basicConfig(level=logging.INFO, handlers=[handler], force=True)


def new_event_loop() -> asyncio.AbstractEventLoop:
    """uvloop where it installs (not on Windows): libuv's I/O costs less per request than asyncio's
    selector loop. bench/bench_http.py runs its bare aiohttp baseline on the same loop."""
    try:
        import uvloop
    except ImportError:
        return asyncio.new_event_loop()
    return uvloop.new_event_loop()


def serve(host: str | None, port: int | None, workers: int | None = None) -> int:
    try:
        settings = load_settings()
    except SettingsError as exc:
        print(f"chattrack: configuration error: {exc}", file=sys.stderr)
        return 2
    configure_logging(settings.log_format)
    host = host or settings.host
    port = port or settings.port
    from webhooks.app import create_app

    workers = workers or settings.workers
    if workers > 1 and not hasattr(os, "fork"):
        reason = "CHATTRACK_WORKERS: several workers need fork (Linux, macOS)"
        print(f"chattrack: configuration error: {reason}", file=sys.stderr)
        return 2
    try:
        app = create_app(settings, primary=workers == 1)  # with workers, worker 0 is the primary
    except SettingsError as exc:
        print(f"chattrack: configuration error: {exc}", file=sys.stderr)
        return 2
    print(startup_banner(settings, host, port), flush=True)
    if workers > 1:
        from webhooks.workers import serve_workers

        del app  # each worker builds its own; this one only proved the configuration sound
        return serve_workers(settings, host, port, workers, new_event_loop)
    from webhooks.serving import run_app

    run_app(app, host=host, port=port, loop=new_event_loop())
    return 0


def with_store(settings: Settings, work: Callable[[Store], Awaitable[int]]) -> int:
    """Run one piece of work against the configured store, opened and closed around it."""
    from tracking.store import open_store

    async def run() -> int:
        store = open_store(settings.database_url, settings.visit_retention_days)
        await store.open()
        try:
            return await work(store)
        finally:
            await store.close()

    return asyncio.run(run())


def forget(settings: Settings, naming: str) -> int:
    """Erase a contact's dialogs, messages, alerts and visits (a data subject's request). The contact is
    named as alerts and cards show it: a phone in any format, tg:777, 777 or @username (tracking/contacts.py)."""
    from tracking.contacts import contacts_meant

    async def erase(store: Store) -> int:
        contacts = await contacts_meant(store, naming, settings.default_region)
        if not contacts:
            print(f"nothing is stored about {naming.strip()!r}: nothing erased")
        for contact in contacts:
            erased = await store.forget_contact(contact)
            print(f"erased {erased} dialog(s) of {contact}, with their messages, alerts and visits")
        return 0

    return with_store(settings, erase)


def recompute(settings: Settings) -> int:
    """Rewrite the local day/week/month/quarter keys of every dialog after a time-zone change."""
    from tracking.recompute import recompute_buckets
    from tracking.store import StoreUnavailable

    try:
        changed = with_store(settings, lambda store: recompute_buckets(store, settings.zone))
    except StoreUnavailable as exc:
        where = settings.database_url.split("@")[-1]  # without the credentials
        print(
            f"chattrack: the store in CHATTRACK_DATABASE_URL ({where}) cannot be reached: {exc}\n"
            "Nothing is half-done: run recompute-buckets again once it answers.",
            file=sys.stderr,
        )
        return 1
    print(f"recomputed the time buckets of {changed} dialog(s) for {settings.timezone}")
    return 0


def import_costs(settings: Settings, path: str, source: str | None = None) -> int:
    """Ad spend from a CSV or .xlsx file (an ad platform's export as it is, or date, source, campaign, cost),
    `source` naming the source of lines without one: all of it, or nothing (exit code 1)."""
    import shlex

    from bot.costs import describe_import, describe_rejection
    from integrations.cost_files import MAX_BYTES, CostFileError, Problem, import_cost_file
    from reports.i18n import normalise_lang
    from tracking.store import StoreUnavailable

    lang = normalise_lang(settings.bot_language)
    try:
        with open(path, "rb") as file:
            data = file.read(MAX_BYTES + 1)
    except OSError as exc:
        print(f"chattrack: cannot read {path}: {exc.strerror or exc}", file=sys.stderr)
        return 1

    async def work(store: Store) -> int:
        try:
            if len(data) > MAX_BYTES:
                raise CostFileError([Problem("too_big", {"limit": MAX_BYTES // (1024 * 1024)})])
            result = await import_cost_file(store, data, path, settings.currency, source)
        except CostFileError as exc:
            print(describe_rejection(exc, lang, command=f"chattrack costs import {shlex.quote(path)}"), file=sys.stderr)
            return 1
        print(describe_import(result, lang, markup=False))
        return 0

    try:
        return with_store(settings, work)
    except StoreUnavailable as exc:
        print(f"chattrack: the store cannot be reached: {exc}; nothing was imported", file=sys.stderr)
        return 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="chattrack", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("serve", help="run the web server (snippet, collect, webhooks, bot)")
    run.add_argument("--host", help="interface to listen on (default CHATTRACK_HOST or 127.0.0.1)")
    run.add_argument("--port", type=int, help="port (default CHATTRACK_PORT or 8080)")
    run.add_argument(
        "--workers", type=int, help="server processes sharing the port: one per core (default CHATTRACK_WORKERS or 1)"
    )
    erase = commands.add_parser("forget", help="erase everything stored about one contact")
    erase.add_argument(
        "contact", help="the contact as alerts and cards show it: a phone (any format), tg:777, 777 or @username"
    )
    commands.add_parser("recompute-buckets", help="regroup stored dialogs after CHATTRACK_TIMEZONE changed")
    commands.add_parser(
        "doctor", help="check the settings, the store, the bot and the public address; print each problem's fix"
    )
    costs = commands.add_parser("costs", help="ad spend of platforms without an import (VK Ads, Avito, ...)")
    costs_commands = costs.add_subparsers(dest="costs_command", required=True)
    costs_import = costs_commands.add_parser(
        "import", help="import a .csv or .xlsx: an ad platform's export as it is, or date, source, campaign, cost"
    )
    costs_import.add_argument("file", help="the file; a bad line stops it all, with the line named")
    costs_import.add_argument(
        "--source", help="the source of lines without one, as the site's links name it in utm_source (vk, google)"
    )
    args = parser.parse_args(argv)
    if args.command == "serve":
        if args.workers is not None and args.workers < 1:
            parser.error("--workers: at least 1")
        return serve(args.host, args.port, args.workers)
    if args.command == "doctor":  # a wrong setting is one of its findings, not a reason to stop
        from webhooks import doctor

        return doctor.run()
    try:
        settings = load_settings()
    except SettingsError as exc:
        print(f"chattrack: configuration error: {exc}", file=sys.stderr)
        return 2
    configure_logging(settings.log_format)
    if args.command == "forget":
        return forget(settings, args.contact)
    if args.command == "costs":
        return import_costs(settings, args.file, args.source)
    return recompute(settings)


if __name__ == "__main__":
    sys.exit(main())
