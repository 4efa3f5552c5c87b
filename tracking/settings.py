"""All configuration: one pydantic-settings class, variables prefixed CHATTRACK_, also read from `.env`."""

from __future__ import annotations

import functools
import json
import re
import typing
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, PrivateAttr, SecretStr, ValidationError, field_validator, model_validator
from pydantic_core.core_schema import ValidatorFunctionWrapHandler
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from tracking.pages import DEFAULT_PAGE_PARAMS, TRACKING_PARAMS

ENV_PREFIX = "CHATTRACK_"
_PARAM_NAME = re.compile(r"[a-z0-9_.\-\[\]]{1,64}")


def _split(value: object) -> object:
    """Lists are written comma-separated in the environment: "a, b,c"."""
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    return value


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, env_file=".env", extra="ignore")

    host: str = "127.0.0.1"
    port: int = Field(8080, ge=1, le=65535)
    # Server processes sharing the port and the store: one per core the server may use (`serve --workers`).
    workers: int = Field(1, ge=1, le=64)
    # A worker that dies sooner after its start stops the server (a start-up error would only repeat);
    # one that dies later is replaced.
    worker_startup_grace_seconds: float = Field(10, ge=0)
    # Where the public internet reaches this server (providers sign requests against it).
    public_url: str | None = None
    database_url: str = "sqlite:///chattrack.db"

    tracked_numbers: Annotated[list[str], NoDecode] = Field(default_factory=list)
    telegram_usernames: Annotated[list[str], NoDecode] = Field(default_factory=list)
    default_region: str = "RU"  # for numbers written without a country code (8 999 ...)
    timezone: str = "UTC"
    code_marker: str | None = None  # None: "код" on Russian-language pages, "ref" elsewhere
    collect_rate_per_minute: int = Field(120, ge=1)  # page views and clicks one IP may post
    # Visits opened a minute (per server process), from all addresses together: bounds what a flood stores.
    new_visits_per_minute: int = Field(6000, ge=1)
    trust_forwarded_for: bool = False  # behind a reverse proxy: take the client IP from X-Forwarded-For
    # Reverse proxies in front of chattrack that each append to X-Forwarded-For: the client is the N-th
    # entry from the right (what the nearest proxy saw); entries further left are the client's own claim.
    forwarded_proxies: int = Field(1, ge=1, le=10)
    # Slow or idle clients: the time to send a request's headers, and then its body; open connections
    # one address may hold (0: no cap; off behind a trusted proxy, whose address every connection has).
    header_timeout_seconds: float = Field(10, gt=0)
    body_timeout_seconds: float = Field(30, gt=0)
    connections_per_address: int = Field(256, ge=0)
    # GET /metrics: `public` (anyone who reaches the port), `token` (Bearer CHATTRACK_API_TOKEN), or `off`.
    metrics_access: Literal["public", "token", "off"] = "token"
    geoip_database: str | None = None  # a GeoLite2 / DB-IP City Lite .mmdb file, for the visitor's region
    trust_cdn_headers: bool = False  # behind Cloudflare: take the region from CF-IPCountry / CF-IPCity
    log_format: Literal["text", "json"] = "text"
    # Preset first messages by page, for links without text of their own: {"/kids/*": "How much is a kids' shoot?"}
    presets: dict[str, str] = Field(default_factory=dict)
    consent_required: bool = False  # the snippet stores nothing in the browser until the site calls chattrack.consent()
    site_origins: Annotated[list[str], NoDecode] = Field(default_factory=list)  # CORS for /collect

    twilio_auth_token: SecretStr | None = None
    meta_app_secret: SecretStr | None = None  # Meta app → Settings → Basic → App secret (signs webhooks)
    meta_verify_token: SecretStr | None = None  # any string; typed again in Meta's webhook settings
    greenapi_webhook_token: SecretStr | None = None  # Green-API instance setting webhookUrlToken
    generic_webhook_secret: SecretStr | None = None  # shared secret of /webhooks/generic signatures
    wazzup_crm_key: SecretStr | None = None  # Wazzup's crmKey (Authorization: Bearer), or ?crmKey= in its URL
    # Wazzup names a channel by its id (GET /v3/channels): {"<channelId>": "+79991234567" or "@username"}
    wazzup_channels: Annotated[dict[str, str], NoDecode] = Field(default_factory=dict)

    telegram_bot_token: SecretStr | None = None
    telegram_owner_ids: Annotated[list[int], NoDecode] = Field(default_factory=list)
    telegram_api_url: str | None = None  # a self-hosted Bot API server; None: Telegram's
    telegram_webhook_secret: SecretStr | None = None
    bot_language: Literal["ru", "en"] = "ru"  # lead alerts and summaries; replies follow each user's language
    # Owners' daily summary time (local HH:MM) until they choose one with /summary; None: only on request.
    summary_time: str | None = None
    # The owner's own tags, as buttons under lead alerts beside qualified / sale / spam.
    lead_tags: Annotated[list[str], NoDecode] = Field(default_factory=list)
    # Query parameters that name a page's content, kept when pages are grouped (all others, UTM tags and
    # click ids among them, are dropped): "id,p,product". Empty: pages are grouped by host and path alone.
    page_params: Annotated[list[str], NoDecode] = Field(default_factory=lambda: list(DEFAULT_PAGE_PARAMS))

    # The team (bot/team.py): a lead nobody took («Беру») within this many minutes is reminded once to
    # everyone who got its alert; 0: no reminder.
    take_reminder_minutes: float = Field(15, ge=0)
    # What a customer who writes to the bot is told first; unset: the built-in greeting in the bot's language.
    bot_greeting: str | None = Field(None, max_length=1024)  # one short message, far below Telegram's 4096
    # Replies relayed to customers through the bot are signed with the team member's first name.
    reveal_staff_names: bool = False
    # The first minutes: GET /demo, a page whose «send as a customer» button makes a demo lead. `auto`: until
    # the first real message arrives; `on`; `off`.
    demo: Literal["auto", "on", "off"] = "auto"
    # The owner is told once when a provider that sent messages has sent none for this many hours; 0: never.
    provider_silence_hours: float = Field(24, ge=0)

    # Money (integrations/): the business's currency (ISO 4217) for sales and costs.
    currency: str = "RUB"
    # Yandex Direct's spend, imported per campaign and day: an OAuth token with access to the Direct API;
    # an agency names its client's login. Costs are taken with VAT (what the owner pays) unless turned off.
    direct_token: SecretStr | None = None
    direct_client_login: str | None = None
    direct_api_url: str = "https://api.direct.yandex.com"
    direct_import_hours: float = Field(3, gt=0)
    direct_include_vat: bool = True
    # Conversions back to Yandex Metrica (offline conversions upload), under JavaScript-event goals.
    metrica_counter_id: str | None = Field(None, pattern=r"^\d{1,20}$")
    metrica_token: SecretStr | None = None
    metrica_api_url: str = "https://api-metrika.yandex.net"
    metrica_goal_lead: str = "chattrack_lead"
    metrica_goal_qualified: str = "chattrack_qualified"
    metrica_goal_sale: str = "chattrack_sale"
    # Conversions to Google Analytics 4 (Measurement Protocol): the web stream's id and an API secret.
    ga4_measurement_id: str | None = Field(None, pattern=r"^G-[A-Z0-9]{4,20}$")
    ga4_api_secret: SecretStr | None = None
    ga4_api_url: str = "https://www.google-analytics.com"
    # Signed JSON events to a CRM, n8n, Make, Albato (signed as /webhooks/generic expects).
    events_url: str | None = None
    events_secret: SecretStr | None = None
    # Outgoing batches (Metrica, GA4, events) are sent this often.
    conversions_interval_seconds: float = Field(300, gt=0)

    api_token: SecretStr | None = None
    # The dashboard inside Telegram (a Mini App) signs in with the initData Telegram gives it: refused once
    # older than this many hours.
    mini_app_max_age_hours: float = Field(24, gt=0, le=168)

    dialog_gap_hours: float = Field(72, gt=0)  # silence after which a message opens a new dialog
    visit_retention_days: int = Field(90, ge=1)
    # A code-less first message is matched to a recent click on a link to its number (tracking/fallback.py):
    # clicks this recent are weighed (0: never match), and the best visit is named only when this sure of it.
    fallback_window_minutes: float = Field(30, ge=0)
    fallback_confidence: float = Field(0.95, ge=0.5, le=0.999)
    alert_retry_max_seconds: float = Field(300, gt=0)

    # Secret settings written but left empty (`CHATTRACK_META_APP_SECRET=`), for the start-up report.
    _blank_secrets: list[str] = PrivateAttr(default_factory=list)

    @model_validator(mode="wrap")
    @classmethod
    def _blank_secret_is_unset(cls, data: object, handler: ValidatorFunctionWrapHandler) -> Settings:
        """One rule for every secret, present and future: empty or whitespace-only is the same as unset. An
        empty key would otherwise switch a check off (an HMAC with the key "" is easy to forge)."""
        blank: list[str] = []
        if isinstance(data, dict):
            data = dict(data)
            for name in secret_settings():
                value = data.get(name)
                raw = value.get_secret_value() if isinstance(value, SecretStr) else value
                if isinstance(raw, str) and not raw.strip():
                    data[name] = None
                    blank.append(ENV_PREFIX + name.upper())
        settings: Settings = handler(data)
        settings._blank_secrets = blank
        return settings

    @property
    def blank_secrets(self) -> list[str]:
        return list(self._blank_secrets)

    @field_validator(
        "tracked_numbers",
        "telegram_usernames",
        "site_origins",
        "telegram_owner_ids",
        "lead_tags",
        "page_params",
        mode="before",
    )
    @classmethod
    def _comma_list(cls, value: object) -> object:
        return _split(value)

    @field_validator("wazzup_channels", mode="before")
    @classmethod
    def _json_object(cls, value: object) -> object:
        """A JSON object, from the environment or given directly (NoDecode: a broken one is named here, not
        by pydantic-settings' own traceback)."""
        if not isinstance(value, str):
            return value
        try:
            return json.loads(value) if value.strip() else {}
        except json.JSONDecodeError:
            raise ValueError('expected a JSON object: {"<channelId>": "+79991234567"}') from None

    @field_validator("telegram_usernames")
    @classmethod
    def _usernames(cls, value: list[str]) -> list[str]:
        return [v.lstrip("@").lower() for v in value]

    @field_validator("lead_tags")
    @classmethod
    def _lead_tags(cls, value: list[str]) -> list[str]:
        for tag in value:
            # A tag rides in a button's callback data, which Telegram caps at 64 bytes.
            if len(tag.encode()) > 24 or ":" in tag:
                raise ValueError(f"tag {tag!r} is too long (24 bytes at most) or has a colon")
        return list(dict.fromkeys(value))

    @field_validator("page_params")
    @classmethod
    def _page_params(cls, value: list[str]) -> list[str]:
        names = [name.lower() for name in value]
        for name in names:
            if not _PARAM_NAME.fullmatch(name):
                raise ValueError(f"{name!r} is not a query parameter name; list names like id,p,product")
            if name.startswith("utm_") or name in TRACKING_PARAMS:
                raise ValueError(f"{name} is a tracking parameter: keeping it would split pages by click or campaign")
        return list(dict.fromkeys(names))

    @field_validator("timezone")
    @classmethod
    def _timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r}; use an IANA name like Europe/Moscow") from exc
        return value

    @field_validator("summary_time")
    @classmethod
    def _summary_time(cls, value: str | None) -> str | None:
        if value is None or value.strip().lower() in ("", "off"):
            return None
        hours, _, minutes = value.strip().partition(":")
        if not (hours.isdigit() and minutes.isdigit() and int(hours) < 24 and int(minutes) < 60 and len(minutes) == 2):
            raise ValueError("use local time as HH:MM, e.g. 09:00 (or off)")
        return f"{int(hours):02d}:{minutes}"

    @field_validator("currency")
    @classmethod
    def _currency(cls, value: str) -> str:
        code = value.strip().upper()
        if not re.fullmatch(r"[A-Z]{3}", code):
            raise ValueError("use a three-letter ISO 4217 code, e.g. RUB, USD, EUR, KZT")
        return code

    @field_validator("direct_api_url", "metrica_api_url", "ga4_api_url", "events_url")
    @classmethod
    def _base_url(cls, value: str | None) -> str | None:
        if value is None or value == "":
            return None
        if not value.startswith(("http://", "https://")):
            raise ValueError("must be an address starting with https://")
        return value.rstrip("/")

    @field_validator("metrica_goal_lead", "metrica_goal_qualified", "metrica_goal_sale")
    @classmethod
    def _goal_id(cls, value: str) -> str:
        # Metrica's JavaScript-event goal identifier: what the Target column of an upload names.
        if not re.fullmatch(r"[A-Za-z0-9_.\-]{1,100}", value):
            raise ValueError("a goal identifier is letters, digits, _ . - (as typed in Metrica's goal)")
        return value

    @model_validator(mode="after")
    def _integrations_complete(self) -> Settings:
        """Half a connection is a mistake to name at start-up, not a silence later."""
        pairs = (
            ("metrica_counter_id", "metrica_token"),
            ("ga4_measurement_id", "ga4_api_secret"),
            ("events_url", "events_secret"),
        )
        for one, other in pairs:
            if (getattr(self, one) is None) != (getattr(self, other) is None):
                missing = other if getattr(self, other) is None else one
                given = one if missing == other else other
                raise ValueError(f"{ENV_PREFIX}{given.upper()} is set: set {ENV_PREFIX}{missing.upper()} too")
        return self

    @property
    def metrica_enabled(self) -> bool:
        return self.metrica_counter_id is not None and self.metrica_token is not None

    @property
    def ga4_enabled(self) -> bool:
        return self.ga4_measurement_id is not None and self.ga4_api_secret is not None

    @property
    def events_enabled(self) -> bool:
        return self.events_url is not None and self.events_secret is not None

    @property
    def direct_enabled(self) -> bool:
        return self.direct_token is not None

    @field_validator("public_url")
    @classmethod
    def _public_url(cls, value: str | None) -> str | None:
        if value is None or value == "":
            return None
        if not value.startswith(("http://", "https://")):
            raise ValueError("must start with https:// (the address providers call)")
        return value.rstrip("/")

    @field_validator("database_url")
    @classmethod
    def _database_url(cls, value: str) -> str:
        if not value.startswith(("sqlite:///", "mongodb://", "mongodb+srv://")):
            raise ValueError("use sqlite:///path/to/file.db or mongodb://host/dbname")
        return value

    @functools.cached_property
    def kept_page_params(self) -> frozenset[str]:
        return frozenset(self.page_params)

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @functools.cached_property
    def fallback_window(self) -> timedelta:
        return timedelta(minutes=self.fallback_window_minutes)

    @functools.cached_property
    def take_reminder(self) -> timedelta | None:
        return timedelta(minutes=self.take_reminder_minutes) if self.take_reminder_minutes else None

    @property
    def dialog_gap(self) -> timedelta:
        return timedelta(hours=self.dialog_gap_hours)


def base_url(settings: Settings, *, port: int | None = None, host: str | None = None) -> str:
    """Where a browser reaches this server: the public address, else this machine's own (development on
    http://127.0.0.1 works; a wildcard listening address means the loopback one)."""
    if settings.public_url:
        return settings.public_url
    host = host or settings.host
    host = host if host not in ("0.0.0.0", "::", "") else "127.0.0.1"
    host = f"[{host}]" if ":" in host else host
    return f"http://{host}:{port or settings.port}"


@functools.cache
def secret_settings() -> tuple[str, ...]:
    """Every setting typed as a secret: the rule above needs no list kept by hand."""
    return tuple(
        name for name, field in Settings.model_fields.items() if SecretStr in typing.get_args(field.annotation)
    )


class SettingsError(Exception):
    """A setting is wrong; the message names the variable and how to fix it."""


def load_settings(**overrides: object) -> Settings:
    try:
        settings = Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        err = exc.errors()[0]
        if not err["loc"]:  # a rule across settings: its message names them
            raise SettingsError(str(err["msg"]).removeprefix("Value error, ")) from exc
        name = ENV_PREFIX + str(err["loc"][0]).upper()
        raise SettingsError(f"{name}: {err['msg']}") from exc
    from tracking.phones import PhoneError, parse_channel_addresses, parse_tracked_numbers

    if settings.geoip_database is not None and not Path(settings.geoip_database).is_file():
        raise SettingsError(f"{ENV_PREFIX}GEOIP_DATABASE: no such file {settings.geoip_database}")
    try:
        settings.tracked_numbers = parse_tracked_numbers(settings.tracked_numbers, settings.default_region)
    except PhoneError as exc:
        raise SettingsError(f"{ENV_PREFIX}TRACKED_NUMBERS: {exc}") from exc
    try:
        settings.wazzup_channels = parse_channel_addresses(settings.wazzup_channels, settings.default_region)
    except PhoneError as exc:
        raise SettingsError(f"{ENV_PREFIX}WAZZUP_CHANNELS: {exc}") from exc
    return settings
