"""Region of a visit from trusted Cloudflare headers or a real .mmdb file written for the test."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from mmdb_writer import MMDBWriter
from netaddr import IPSet

from tracking.geo import GeoError, RegionResolver, region_name


def _place(en: str, ru: str | None = None) -> dict[str, object]:
    names = {"en": en} | ({"ru": ru} if ru else {})
    return {"geoname_id": 524901, "names": names}


# Records shaped like GeoLite2-City / DB-IP City Lite ones.
MOSCOW = {
    "city": _place("Moscow", "Москва"),
    "country": {"iso_code": "RU", "names": {"en": "Russia", "ru": "Россия"}},
    "subdivisions": [{"iso_code": "MOW", **_place("Moscow", "Москва")}],
    "location": {"latitude": 55.7522, "longitude": 37.6156, "time_zone": "Europe/Moscow"},
}
KAZAN_REGION_ONLY = {
    "country": {"iso_code": "RU", "names": {"en": "Russia"}},
    "subdivisions": [{"iso_code": "TA", **_place("Tatarstan Republic", "Татарстан")}],
}
COUNTRY_ONLY = {"country": {"iso_code": "kz", "names": {"en": "Kazakhstan"}}}
REGISTERED_ONLY = {"registered_country": {"iso_code": "DE", "names": {"en": "Germany"}}}
IPINFO_FLAT = {"country": "GB", "city": "London", "region": "England"}


@pytest.fixture(scope="module")
def city_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    writer = MMDBWriter(ip_version=6, ipv4_compatible=True, database_type="GeoLite2-City", languages=["en", "ru"])
    writer.insert_network(IPSet(["77.88.0.0/18"]), MOSCOW)
    writer.insert_network(IPSet(["2a02:6b8::/32"]), MOSCOW)
    writer.insert_network(IPSet(["95.213.0.0/17"]), KAZAN_REGION_ONLY)
    writer.insert_network(IPSet(["2.72.0.0/13"]), COUNTRY_ONLY)
    writer.insert_network(IPSet(["5.9.0.0/16"]), REGISTERED_ONLY)
    writer.insert_network(IPSet(["81.2.69.0/24"]), IPINFO_FLAT)
    writer.insert_network(IPSet(["10.0.0.0/8", "127.0.0.0/8", "192.168.0.0/16"]), MOSCOW)  # must never be used
    path = tmp_path_factory.mktemp("geo") / "city.mmdb"
    writer.to_db_file(str(path))
    return path


@pytest.fixture(scope="module")
def ipv4_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    writer = MMDBWriter(ip_version=4, database_type="DBIP-Country-Lite")
    writer.insert_network(IPSet(["77.88.0.0/18"]), {"country": {"iso_code": "RU"}})
    path = tmp_path_factory.mktemp("geo") / "country4.mmdb"
    writer.to_db_file(str(path))
    return path


@pytest.mark.parametrize(
    ("ip", "expected"),
    [
        ("77.88.55.242", "Moscow, RU"),
        ("2a02:6b8::2:242", "Moscow, RU"),
        ("::ffff:77.88.55.242", "Moscow, RU"),  # IPv4-mapped, as dual-stack sockets report it
        (" 77.88.55.242 ", "Moscow, RU"),
        ("95.213.1.1", "Tatarstan Republic, RU"),  # no city: the region
        ("2.72.10.10", "KZ"),  # a country database: the country alone
        ("5.9.1.1", "DE"),  # only the registered country is known
        ("81.2.69.160", "London, GB"),  # IPinfo's flat layout
        ("8.8.8.8", None),  # not in the database
        ("2001:4860:4860::8888", None),
        ("127.0.0.1", None),  # loopback, private, link-local, CGNAT, unspecified: never looked up
        ("10.1.2.3", None),
        ("192.168.1.10", None),
        ("169.254.1.1", None),
        ("100.64.0.1", None),
        ("::1", None),
        ("fe80::1", None),
        ("0.0.0.0", None),
        ("::ffff:127.0.0.1", None),
        ("", None),
        (None, None),
        ("not an ip", None),
        ("77.88.55.242:443", None),
        ("999.1.1.1", None),
    ],
)
def test_region_from_database(city_db: Path, ip: str | None, expected: str | None) -> None:
    with RegionResolver(city_db) as resolver:
        assert resolver.resolve(ip) == expected


def test_names_in_the_configured_language(city_db: Path) -> None:
    with RegionResolver(city_db, language="ru") as resolver:
        assert resolver.resolve("77.88.55.242") == "Москва, RU"
        assert resolver.resolve("2.72.10.10") == "KZ"
    with RegionResolver(city_db, language="de") as resolver:  # no German names: English
        assert resolver.resolve("77.88.55.242") == "Moscow, RU"


def test_ipv6_in_an_ipv4_only_database_is_unknown(ipv4_db: Path) -> None:
    with RegionResolver(ipv4_db) as resolver:
        assert resolver.resolve("77.88.1.1") == "RU"
        assert resolver.resolve("2a02:6b8::1") is None


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"CF-IPCountry": "RU", "CF-IPCity": "Moscow", "CF-Region": "Moscow"}, "Moscow, RU"),
        ({"cf-ipcountry": "ru", "cf-ipcity": "Kazan"}, "Kazan, RU"),  # any case of name and value
        ({"CF-IPCountry": "RU", "CF-Region": "Tatarstan Republic"}, "Tatarstan Republic, RU"),
        ({"CF-IPCountry": "DE"}, "DE"),
        ({"CF-IPCountry": "RU", "CF-IPCity": "  "}, "RU"),
        ({"CF-IPCountry": "RU", "CF-IPCity": "Mos\x00cow\n"}, "Moscow, RU"),
        ({"CF-IPCountry": "KZ", "CF-IPCity": "Алматы"}, "Алматы, KZ"),
    ],
)
def test_region_from_trusted_cloudflare_headers(headers: dict[str, str], expected: str) -> None:
    resolver = RegionResolver(trust_cdn_headers=True)
    assert resolver.resolve("203.0.113.9", headers) == expected


@pytest.mark.parametrize(
    "headers",
    [
        {"CF-IPCountry": "XX"},  # Cloudflare does not know
        {"CF-IPCountry": "T1"},  # Tor
        {"CF-IPCountry": "Russia"},
        {"CF-IPCity": "Moscow"},  # a city without a country says too little
        {"X-Country": "RU"},
        {},
    ],
)
def test_unusable_headers_give_no_region(headers: dict[str, str]) -> None:
    assert RegionResolver(trust_cdn_headers=True).resolve("203.0.113.9", headers) is None


def test_headers_are_ignored_unless_trusted(city_db: Path) -> None:
    spoofed = {"CF-IPCountry": "US", "CF-IPCity": "Nowhere"}
    assert RegionResolver().resolve("77.88.55.242", spoofed) is None
    with RegionResolver(city_db) as resolver:
        assert resolver.resolve("77.88.55.242", spoofed) == "Moscow, RU"


def test_database_answers_when_trusted_headers_are_missing(city_db: Path) -> None:
    with RegionResolver(city_db, trust_cdn_headers=True) as resolver:
        assert resolver.resolve("77.88.55.242", {"CF-IPCountry": "AM", "CF-IPCity": "Yerevan"}) == "Yerevan, AM"
        assert resolver.resolve("77.88.55.242", {"CF-IPCountry": "XX"}) == "Moscow, RU"
        assert resolver.resolve("77.88.55.242", {}) == "Moscow, RU"
        assert resolver.resolve("77.88.55.242") == "Moscow, RU"


def test_nothing_configured_knows_nothing() -> None:
    assert RegionResolver().resolve("77.88.55.242", {"CF-IPCountry": "RU"}) is None


def test_missing_database_is_a_clear_error(tmp_path: Path) -> None:
    missing = tmp_path / "GeoLite2-City.mmdb"
    with pytest.raises(GeoError, match=re.escape(str(missing))):
        RegionResolver(missing)


def test_a_file_that_is_not_a_database_is_a_clear_error(tmp_path: Path) -> None:
    junk = tmp_path / "city.mmdb"
    junk.write_bytes(b"this is not a MaxMind database" * 10)
    with pytest.raises(GeoError, match=re.escape(str(junk))):
        RegionResolver(junk)


def test_closed_resolver_answers_none(city_db: Path) -> None:
    resolver = RegionResolver(city_db)
    assert resolver.resolve("77.88.55.242") == "Moscow, RU"
    resolver.close()
    resolver.close()  # twice is harmless
    assert resolver.resolve("77.88.55.242") is None


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (("RU", "Moscow", "Moscow"), "Moscow, RU"),
        (("RU", None, "Tatarstan"), "Tatarstan, RU"),
        (("RU", None, None), "RU"),
        ((None, "Moscow", None), None),
    ],
)
def test_region_name(args: tuple[str | None, str | None, str | None], expected: str | None) -> None:
    assert region_name(*args) == expected
