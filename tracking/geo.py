"""Region of a visit ("Москва, RU"): from a trusted CDN's location headers, else an .mmdb file.

The place is named in the resolver's language (the server passes the bot's) where the base has that name,
else in English; the country stays its ISO code, which the bot names in the reader's language
(`reports.i18n.region_label`). Cloudflare's headers only carry English names.

Two sources, both optional, both configured by the owner:
- Cloudflare adds CF-IPCountry to every request (and CF-IPCity / CF-Region with its "visitor
  location headers" transform). Only trust them when the service sits behind Cloudflare: anyone
  can send those headers to a server that is reachable directly.
- A MaxMind GeoLite2 / DB-IP City Lite (or Country) `.mmdb` file the owner downloaded, read with
  `maxminddb`. IPinfo's flat layout ({"country": "RU", "city": "Moscow"}) works too.
Private, loopback and other non-public addresses have no region.
"""

from __future__ import annotations

import ipaddress
import os
import re
from collections.abc import Mapping
from types import TracebackType
from typing import Any

import maxminddb

_COUNTRY = re.compile(r"[A-Z]{2}")
_UNKNOWN_COUNTRIES = frozenset({"XX"})  # Cloudflare: no country known (Tor is "T1", not a country)
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_MAX_NAME = 100


class GeoError(ValueError):
    """The configured geo database cannot be used."""


def _clean(value: object) -> str | None:
    if not isinstance(value, str):
        return None
    value = value[:_MAX_NAME].encode("utf-8", "replace").decode("utf-8")
    return _CONTROL.sub("", value).strip() or None


def _country(value: object) -> str | None:
    code = _clean(value)
    if code is None:
        return None
    code = code.upper()
    return code if _COUNTRY.fullmatch(code) and code not in _UNKNOWN_COUNTRIES else None


def region_name(country: str | None, city: str | None = None, region: str | None = None) -> str | None:
    """'City, CC', else 'Region, CC', else 'CC'; None when the country is unknown. The code is kept (not a
    name) so that the bot can name the country in each reader's language."""
    if country is None:
        return None
    place = city or region
    return f"{place}, {country}" if place else country


def region_country(region: str) -> str | None:
    """The ISO country a stored region ends with ("Москва, RU" → "RU", as region_name writes it), or None."""
    country = region.rpartition(", ")[2]
    return country if _COUNTRY.fullmatch(country) else None


def _public_ip(ip: str | None) -> str | None:
    if not isinstance(ip, str):
        return None
    try:
        address = ipaddress.ip_address(ip.strip())
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return str(address) if address.is_global else None


class RegionResolver:
    """Resolves a visitor's region; build it once at start-up and share it (lookups are thread-safe)."""

    def __init__(
        self,
        mmdb_path: str | os.PathLike[str] | None = None,
        *,
        trust_cdn_headers: bool = False,
        language: str = "en",
    ) -> None:
        self.trust_cdn_headers = trust_cdn_headers
        self.language = language
        self._reader: maxminddb.Reader | None = None
        if mmdb_path is not None:
            try:
                self._reader = maxminddb.open_database(os.fspath(mmdb_path))
            except (OSError, ValueError, maxminddb.InvalidDatabaseError) as exc:  # missing, unreadable, not .mmdb
                raise GeoError(f"cannot read the geo database {os.fspath(mmdb_path)!r}: {exc}") from exc

    def resolve(self, ip: str | None, headers: Mapping[str, str] | None = None) -> str | None:
        """The region of a visitor at `ip` whose request carried `headers`, or None when unknown."""
        if self.trust_cdn_headers and headers:
            found = self._from_headers(headers)
            if found is not None:
                return found
        if self._reader is not None:
            return self._from_database(self._reader, ip)
        return None

    def _from_headers(self, headers: Mapping[str, str]) -> str | None:
        cf = {key.lower(): value for key, value in headers.items() if key.lower().startswith("cf-")}
        return region_name(_country(cf.get("cf-ipcountry")), _clean(cf.get("cf-ipcity")), _clean(cf.get("cf-region")))

    def _from_database(self, reader: maxminddb.Reader, ip: str | None) -> str | None:
        address = _public_ip(ip)
        if address is None:
            return None
        try:
            record = reader.get(address)
        except ValueError:  # an IPv6 address asked of an IPv4-only database
            return None
        if not isinstance(record, dict):
            return None
        subdivisions = record.get("subdivisions")
        first_subdivision = subdivisions[0] if isinstance(subdivisions, list) and subdivisions else None
        country = record.get("country") or record.get("registered_country")
        iso = country.get("iso_code") if isinstance(country, dict) else country
        return region_name(
            _country(iso),
            self._name(record.get("city")),
            self._name(first_subdivision) or self._name(record.get("region")),
        )

    def _name(self, place: Any) -> str | None:
        """A place's name in our language, else English: MaxMind nests them, IPinfo has plain strings."""
        if isinstance(place, str):
            return _clean(place)
        names = place.get("names") if isinstance(place, dict) else None
        if not isinstance(names, dict):
            return None
        return _clean(names.get(self.language)) or _clean(names.get("en"))

    def close(self) -> None:
        if self._reader is not None:
            self._reader.close()
            self._reader = None

    def __enter__(self) -> RegionResolver:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()
