"""The owner's language: every Russian text of the bot is in the catalogues (bot/texts.py, reports/i18n.py), in
both languages, with no English or engineering word in it; and what the bot renders from real-looking data
(cpc, (direct)/(none), a region, a phone, a device, a percent-encoded page, tags, attribution reasons) reads
in Russian too, checked by the same checker."""

from __future__ import annotations

import ast
import html
import importlib
import re
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

import bot.texts
import reports.i18n
from bot.alerts import plain_alert, render_alert
from bot.commands import recent_line
from reports.card import DialogCard
from reports.counts import channels, compare, dynamics, ranking, summary
from reports.daily import daily_summary
from reports.i18n import (
    Lang,
    region_label,
    zone_label,
)
from reports.periods import Period, Unit
from reports.render import (
    render_card,
    render_comparison,
    render_dynamics,
    render_period_error,
    render_ranking,
    render_summary,
)
from tests.fakes.telegram_api import html_to_text
from tests.seed import MOSCOW, seed_dialog
from tests.test_bot_alerts import make_dialog
from tracking.models import Attribution, AttributionStatus, Channel, Dialog
from tracking.reasons import Reason, ReasonKind, parse_reason
from tracking.store.base import Bucket
from tracking.store.sqlite import SQLiteStore

ROOT = Path(__file__).resolve().parent.parent

# Latin words a Russian text may hold, each a name people use as it is. Kept short on purpose: anything
# else is either a value of the owner's own (a campaign, a source name: see `names`) or a word to translate.
NAMES = frozenset(
    {
        "WhatsApp",  # the messengers and Telegram's product for companies, named so in Russian too
        "Telegram",
        "Business",  # only in "Telegram Business"
        "Excel",  # the program the owner opens exports in
        "Google",  # services with no Russian name, written so in Russian (sources, maps and directories)
        "Apple",
        "Instagram",
        "Facebook",
        "YouTube",
        "Zoon",
        "Yell",
        "Tripadvisor",
        "Chrome",  # browsers and systems (the card): no Russian names
        "Safari",
        "Android",
        "UTC",  # the time standard: "UTC+5" for zones other than Moscow's, "Начало (UTC)" in exports
        "gclid",  # the ad platforms' click ids, named as Google, Yandex and Meta name them (exports, card)
        "yclid",
        "fbclid",
    }
)
# What is not a word: markup and code, placeholders, addresses, commands, mentions, contact ids, codes.
_MARKUP = (
    re.compile(r"<code>.*?</code>", re.DOTALL),  # a tracking code, a command example
    re.compile(r"<[^>]+>"),  # markup
)
_NOT_WORDS = (
    re.compile(r"\b[0-9a-f]{32}\b"),  # a dialog's id (/dialog <id>)
    re.compile(r"\{[a-z_]+\}"),  # a template's placeholders
    re.compile(r"\b[a-z][a-z0-9+.-]*://\S*", re.IGNORECASE),  # URLs, tg://user
    re.compile(r"\b[\w-]+(?:\.[a-z0-9-]+)+\b[^\s,;)»]*", re.IGNORECASE),  # hosts and pages: t.me, salon.ru/цены
    re.compile(r"(?<![\w/])/[a-z_]+", re.IGNORECASE),  # /stats
    re.compile(r"@\w+"),  # @olga_flowers
    re.compile(r"\btg:\d+"),  # a Telegram customer's id
    re.compile(r"\b\d[\w-]*"),  # 2026-W48, 7d, 30d, 412x915, 2026-Q4
    re.compile(r"\b[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+\b"),  # a setting's name: CHATTRACK_PUBLIC_URL
    re.compile(r"\b[A-Z0-9]*\d[A-Z0-9]*\b"),  # K7Q2M, Q4
)
_LATIN = re.compile(r"[A-Za-z]+")
_RUSSIAN = re.compile("[а-яА-ЯёЁ]")


def latin_words(text: str, names: tuple[str, ...] = ()) -> list[str]:
    """The Latin words of `text` that are not names, addresses, commands or codes; `names` are values of the
    owner's own the text may show as they are (a campaign, a source's name)."""
    for name in sorted(names, key=len, reverse=True):
        text = text.replace(name, " ")
    for pattern in _MARKUP:
        text = pattern.sub(" ", text)
    text = html.unescape(text)
    for pattern in _NOT_WORDS:
        text = pattern.sub(" ", text)
    return [word for word in _LATIN.findall(text) if word not in NAMES]


def test_the_checker_catches_english_and_passes_names_urls_commands_and_codes() -> None:
    assert latin_words("Источник: (direct) / (none), cpc") == ["direct", "none", "cpc"]
    assert latin_words("💻 mobile · qualified · Moscow, RU (Europe/Moscow)") == [
        "mobile",
        "qualified",
        "Moscow",
        "RU",
        "Europe",
        "Moscow",
    ]
    assert latin_words("код 7K3M9QX is unknown or expired") == ["is", "unknown", "or", "expired"]
    fine = (
        "🆕 Новая заявка · WhatsApp · Telegram Business\n🔗 код <code>K7Q2M</code>, /stats неделя, "
        "@olga_flowers, tg:777, ссылка t.me, страница salon.ru/цены?a=b, https://wa.me/79161234567, "
        "2026-W48, 7d, 412x915, UTC+5, {name}, <b>жирный</b>, CHATTRACK_PUBLIC_URL"
    )
    assert latin_words(fine) == []
    assert latin_words("Кампания: winter_sale", names=("winter_sale",)) == []


# the catalogues ----------------------------------------------------------------------------------------


def _tables(module: object) -> Iterator[tuple[str, dict[str, object]]]:
    """A module's tables by language: module-level dicts whose keys are the two languages."""
    for name, value in vars(module).items():
        if isinstance(value, dict) and set(value) == {"ru", "en"}:
            yield name, value


def _strings(value: object) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, (tuple, list)):
        for item in value:
            yield from _strings(item)


CATALOGUES = {
    f"{module.__name__}.{name}": table for module in (bot.texts, reports.i18n) for name, table in _tables(module)
}


def test_the_catalogues_are_found() -> None:
    # The test reads every table by language, present and future; these must be among them.
    assert {"bot.texts.TEXTS", "reports.i18n.WORDS", "reports.i18n.CHANNELS", "reports.i18n.FIELDS"} <= set(CATALOGUES)
    assert {"reports.i18n.MEDIUMS", "reports.i18n.DEVICES", "reports.i18n.MONTHS"} <= set(CATALOGUES)


@pytest.mark.parametrize("name", sorted(CATALOGUES))
def test_every_key_is_in_both_languages(name: str) -> None:
    table = CATALOGUES[name]
    ru, en = table["ru"], table["en"]
    if isinstance(ru, dict) and isinstance(en, dict):
        assert sorted(set(ru) - set(en)) == [], f"{name}: only in Russian"
        assert sorted(set(en) - set(ru)) == [], f"{name}: only in English"
    else:
        assert isinstance(ru, tuple) and isinstance(en, tuple) and len(ru) == len(en), name


@pytest.mark.parametrize("name", sorted(CATALOGUES))
def test_russian_texts_have_no_english_words(name: str) -> None:
    wrong = {text: found for text in _strings(CATALOGUES[name]["ru"]) if (found := latin_words(text))}
    assert wrong == {}, f"{name}: English in Russian texts"


def _catalogue_strings() -> set[str]:
    return {text for table in CATALOGUES.values() for lang in ("ru", "en") for text in _strings(table[lang])}


BOT_MODULES = sorted(
    f"{path.parent.name}.{path.stem}"
    for folder in ("bot", "reports")
    for path in (ROOT / folder).glob("*.py")
    if path.stem not in ("__init__", "texts", "i18n")
)


@pytest.mark.parametrize("module_name", BOT_MODULES)
def test_no_texts_by_language_outside_the_catalogues(module_name: str) -> None:
    """A table by language elsewhere may only be a view of the catalogues' texts (built from them)."""
    module = importlib.import_module(module_name)
    known = _catalogue_strings()
    for name, table in _tables(module):
        strays = [text for text in _strings(table) if _RUSSIAN.search(text) and text not in known]
        assert strays == [], f"{module_name}.{name}: texts outside the catalogues"


# Tables of words people type (periods, drill-downs, tags), not texts the bot says: the parsers' input.
INPUT_WORDS = {
    "bot.commands": {"DRILLDOWN_WORDS", "PAGE_WORDS", "OFF_WORDS", "_BUCKET_WORDS", "_BUCKET_OF"},
    "reports.tag_words": {"TAG_SYNONYMS", "LEADS", "ENDINGS", "_CYRILLIC"},
}
PARSERS = {"reports.periods"}  # the period grammar: every Russian string in it is a word people type


@pytest.mark.parametrize("module_name", BOT_MODULES)
def test_no_russian_text_outside_the_catalogues(module_name: str) -> None:
    if module_name in PARSERS:
        return
    tree = ast.parse((ROOT / f"{module_name.replace('.', '/')}.py").read_text(encoding="utf-8"))
    allowed: set[int] = set()
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if isinstance(body, list) and body and isinstance(body[0], ast.Expr):
            allowed.add(id(body[0].value))  # a docstring
        if isinstance(node, ast.Assign | ast.AnnAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            if any(isinstance(t, ast.Name) and t.id in INPUT_WORDS.get(module_name, ()) for t in targets):
                allowed |= {id(inner) for inner in ast.walk(node)}
    russian = [
        (node.lineno, node.value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant)
        and isinstance(node.value, str)
        and _RUSSIAN.search(node.value)
        and len(node.value) > 1  # a letter to fold ("ё" → "е") is no text
        and id(node) not in allowed
    ]
    assert russian == [], f"{module_name}: Russian texts belong in bot/texts.py or reports/i18n.py"


# rendered outputs --------------------------------------------------------------------------------------

STARTED = datetime(2026, 11, 27, 9, 30, tzinfo=UTC)
PAGE = "https://salon.example/%D1%83%D1%81%D0%BB%D1%83%D0%B3%D0%B8/%D1%81%D1%82%D1%80%D0%B8%D0%B6%D0%BA%D0%B0"
LANDING = PAGE + "?utm_source=yandex&utm_medium=cpc&utm_campaign=strizhki&yclid=1878123456789"
# The owner's own values shown as they are: the Direct campaign's name.
OWN = ("strizhki",)


def salon_dialog(**fields: object) -> Dialog:
    values: dict[str, object] = {
        "contact_phone": "+79161112233",
        "contact_id": "+79161112233",
        "tags": ["qualified", "sale"],
        "status": AttributionStatus.PROBABLE,
        "status_reason": "the only click on a link to this number in the last 10 min",
        "attribution": Attribution(
            channel=Channel.PAID_SEARCH,
            source="yandex",
            medium="cpc",
            campaign="strizhki",
            yclid="1878123456789",
            referrer="https://yandex.ru/search/?text=%D1%81%D1%82%D1%80%D0%B8%D0%B6%D0%BA%D0%B0",
            landing_page=LANDING,
            contact_page=PAGE,
            region="Москва, RU",  # as the geo base writes it in the bot's language
            os="Android 14",
            browser="Chrome Mobile",
            device="mobile",
            screen="412x915",
        ),
    }
    values.update(fields)
    return make_dialog(**values)


DIRECT = Attribution(channel=Channel.DIRECT, source="(direct)", medium="(none)", device="desktop", region="RU")
ORGANIC = Attribution(channel=Channel.ORGANIC_SEARCH, source="google", medium="organic", device="tablet")


@pytest.mark.parametrize(
    "dialog",
    [
        salon_dialog(),
        salon_dialog(attribution=DIRECT, status=AttributionStatus.EXACT, status_reason=None, tags=["spam"]),
        salon_dialog(
            attribution=ORGANIC,
            status=AttributionStatus.UNKNOWN_CODE,
            code="ZZZZZ",
            status_reason="code ZZZZZ is unknown or expired",
        ),
        salon_dialog(status=AttributionStatus.AD_REFERRAL, status_reason="click-to-WhatsApp ad", code=None),
        salon_dialog(status=AttributionStatus.NONE, status_reason=None, code=None, is_repeat=True),
    ],
    ids=["paid-search-probable", "direct", "unknown-code", "ad-referral", "none-repeat"],
)
def test_alert_and_card_read_in_russian(dialog: Dialog) -> None:
    alert = render_alert(dialog, "ru", MOSCOW)
    card = render_card(
        DialogCard(dialog, [salon_dialog(id="e" * 32, started_at=STARTED.replace(day=20))], MOSCOW), "ru"
    )
    for shown in (alert, plain_alert(dialog, "ru"), card):
        assert latin_words(shown, OWN) == [], html_to_text(shown)
        assert "+7 916 111-22-33" in shown  # as people write phones
    assert "27 ноя 2026, 12:30" in alert and "27 ноя 2026, 12:30" in card  # one date format
    line = recent_line(1, dialog.model_copy(update={"contact_name": None}), "ru", MOSCOW)
    assert latin_words(line, OWN) == [] and "27 ноя, 12:30 — <b>+7 916 111-22-33</b>" in line


@pytest.mark.parametrize("lang", ["ru", "en"])
def test_a_demo_lead_reads_marked_in_the_owners_language(lang: Lang) -> None:
    from bot.alerts import alert_keyboard

    demo = salon_dialog(tags=["demo"], contact_name="Демо-клиент", contact_phone=None, contact_id="demo:0a1b2c")
    alert, plain = render_alert(demo, lang, MOSCOW), plain_alert(demo, lang)
    buttons = [b.text for row in alert_keyboard(demo, lang).inline_keyboard for b in row]
    line = recent_line(1, demo, lang, MOSCOW)
    mark = {"ru": "🧪 Демо", "en": "🧪 Demo"}[lang]
    assert html_to_text(alert).startswith(mark) and plain.startswith(mark) and mark in line
    assert buttons[0] == {"ru": "🧹 Стереть демо", "en": "🧹 Erase demo"}[lang]
    if lang == "ru":
        for shown in (alert, plain, line, *buttons):
            assert latin_words(shown, OWN) == [], shown


def test_the_card_says_what_the_owner_met_in_english() -> None:
    card = html_to_text(render_card(DialogCard(salon_dialog(), [], MOSCOW), "ru"))
    for said in (
        "Источник: Яндекс",
        "Тип перехода: оплата за клик",
        "единственный клик по ссылке на этот номер за последние 10 мин",
        "Регион: Москва, Россия",
        "Устройство: телефон",
        "Браузер: Chrome",
        "Теги: Целевой, Продажа",
        "Раньше обращений не было",
        "salon.example/услуги/стрижка",  # the page decoded
        "yandex.ru/search/?text=стрижка",  # the referrer too
    ):
        assert said in card, said
    alert = html_to_text(render_alert(salon_dialog(), "ru", MOSCOW))
    assert "Источник: Яндекс · оплата за клик" in alert and "📱 Телефон · Android 14 · 412x915" in alert
    direct = html_to_text(render_alert(salon_dialog(attribution=DIRECT), "ru", MOSCOW))
    assert "Источник:" not in direct and "Прямые заходы" in direct and "Регион: Россия" in direct
    english = html_to_text(render_card(DialogCard(salon_dialog(), [], MOSCOW), "en"))
    assert "Medium: cost per click" in english and "Region: Москва, Russia" in english


@pytest.mark.parametrize(
    ("stored", "ru"),
    [
        ("code 7K3M9QX is unknown or expired", None),  # the status line already says it
        ("code 7K3M9QX is unknown or expired; click-to-WhatsApp ad", "код 7K3M9QX не найден или устарел"),
        ("click-to-WhatsApp ad", "клиент пришёл из рекламы с кнопкой WhatsApp"),
        ("the only click on a link to this number in the last 30 min", "за последние 30 мин"),
        (
            "probable 97%: keeps 100% of the link's text; written 45 s after the click",
            "уверенность 97\u00a0%: сообщение совпадает с текстом ссылки на 100\u00a0%, пришло через "
            "45\u00a0с после нажатия на ссылку",
        ),
        (
            "probable 96%: written 300 s after the click; the same browser wrote from this contact before; "
            "keeps part of the code",
            "пришло через 5\u00a0мин после нажатия на ссылку, с этого браузера уже писали с этого номера, в сообщении "
            "осталась часть кода",
        ),
        ("a reason no version wrote", None),  # never shown in English to a Russian reader
    ],
)
def test_old_stored_reasons_read_in_russian(stored: str, ru: str | None) -> None:
    status = AttributionStatus.AD_REFERRAL if "ad" in stored else AttributionStatus.UNKNOWN_CODE
    card = render_card(DialogCard(salon_dialog(status=status, status_reason=stored), [], MOSCOW), "ru")
    attribution = next(line for line in card.split("\n") if line.startswith("<b>Откуда клиент</b>"))
    assert latin_words(html_to_text(attribution)) == [] and stored not in attribution
    if ru is not None:
        assert ru in attribution


def test_reasons_are_stored_as_before_and_read_back() -> None:
    for reason in (
        Reason(ReasonKind.CODE_UNKNOWN, code="7K3M9QX"),
        Reason(ReasonKind.CODE_UNKNOWN_AD, code="7K3M9QX"),
        Reason(ReasonKind.AD),
        Reason(ReasonKind.ONLY_CLICK, minutes=10),
        Reason(ReasonKind.SCORED, confidence=97, kept=100, seconds=45),
        Reason(ReasonKind.SCORED, confidence=95, kept=60, seconds=0, code_part=True),
        Reason(ReasonKind.SCORED, confidence=99, seconds=1800, same_browser=True, code_part=True),
    ):
        assert parse_reason(str(reason)) == reason
        assert len(str(reason)) < 200  # the card shows a reason of up to 200 characters
    # The API and older stores hold exactly these lines.
    assert (
        str(Reason(ReasonKind.ONLY_CLICK, minutes=10)) == "the only click on a link to this number in the last 10 min"
    )
    assert str(Reason(ReasonKind.CODE_UNKNOWN, code="K7Q2M")) == "code K7Q2M is unknown or expired"


def test_zones_regions_and_phones_as_people_say_them() -> None:
    winter = datetime(2026, 12, 1, tzinfo=UTC)
    assert zone_label("ru", ZoneInfo("Europe/Moscow")) == "МСК"
    assert zone_label("ru", ZoneInfo("Asia/Yekaterinburg"), winter) == "UTC+5"
    assert zone_label("en", ZoneInfo("America/St_Johns"), winter) == "UTC−3:30"
    assert region_label("ru", "KZ") == "Казахстан" and region_label("ru", "Москва, RU") == "Москва, Россия"
    assert region_label("ru", "Moscow, RU") == "Moscow, Россия"  # an old English place stays a name as stored
    assert region_label("ru", "XX") == "XX" and region_label("ru", "ул. Ленина") == "ул. Ленина"


def test_the_geo_base_names_places_in_the_bots_language(tmp_path: Path) -> None:
    from mmdb_writer import MMDBWriter
    from netaddr import IPSet

    from tracking.settings import load_settings
    from webhooks.app import TRACKER, create_app

    writer = MMDBWriter(ip_version=6, ipv4_compatible=True, database_type="GeoLite2-City", languages=["en", "ru"])
    moscow = {"geoname_id": 524901, "names": {"en": "Moscow", "ru": "Москва"}}
    writer.insert_network(IPSet(["77.88.0.0/18"]), {"city": moscow, "country": {"iso_code": "RU"}})
    writer.to_db_file(str(tmp_path / "city.mmdb"))
    settings = load_settings(
        database_url=f"sqlite:///{tmp_path / 'db.sqlite'}", geoip_database=str(tmp_path / "city.mmdb")
    )
    app = create_app(settings)
    regions = app[TRACKER].regions
    assert regions is not None and regions.resolve("77.88.55.242") == "Москва, RU"
    regions.close()


# reports from a store ----------------------------------------------------------------------------------


@pytest.fixture
async def salon_store(tmp_path: Path) -> AsyncIterator[SQLiteStore]:
    if True:
        store = SQLiteStore(tmp_path / "chattrack.db")
        await store.open()
        day = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)
        for hour, (channel, source, medium, device) in enumerate(
            [
                (Channel.PAID_SEARCH, "yandex", "cpc", "mobile"),
                (Channel.PAID_SEARCH, "yandex", "cpc", "desktop"),
                (Channel.DIRECT, "(direct)", "(none)", "mobile"),
                (Channel.ORGANIC_SEARCH, "google", "organic", "tablet"),
            ]
        ):
            await seed_dialog(
                store,
                day.replace(hour=9 + hour),
                channel=channel,
                source=source,
                medium=medium,
                device=device,
                region="Москва, RU",
                contact_page=PAGE,
                tags=["qualified"],
            )
        await seed_dialog(store, day.replace(day=26), channel=Channel.DIRECT, source="(direct)", medium="(none)")
        yield store
        await store.close()


async def test_reports_read_in_russian(salon_store: SQLiteStore) -> None:
    period = Period(date(2026, 11, 27), date(2026, 11, 27), MOSCOW, Unit.DAY)
    texts = [(await daily_summary(salon_store, MOSCOW, date(2026, 11, 27), "ru")).text]
    texts.append(render_ranking(await channels(salon_store, period), "ru"))
    for by in ("source", "medium", "device", "region", "tag", "contact_page"):
        texts.append(render_ranking(await ranking(salon_store, period, by), "ru"))
    week = Period(date(2026, 11, 23), date(2026, 11, 29), MOSCOW, Unit.WEEK)
    others = [
        render_summary(await summary(salon_store, period, filters={"medium": "cpc"}), "ru"),
        render_dynamics(await dynamics(salon_store, week, Bucket.DAY, by="medium"), "ru"),
        render_comparison(await compare(salon_store, period, period.shifted(days=-1), by="source"), "ru"),
    ]
    for text in texts + others:
        assert latin_words(html_to_text(text), OWN) == [], html_to_text(text)
    assert "Фильтр: Тип перехода = оплата за клик" in html_to_text(others[0])
    assert "прямой заход 1" in html_to_text(others[1]) and "Яндекс: <b>2</b>" in others[2]
    daily, *_, by_medium, by_device, by_region, by_tag, by_page = texts
    summary_text = daily
    assert "(было 1)" not in summary_text and "было 1)" in summary_text  # "+3 (+300 %, было 1)", not "; 1"
    assert "оплата за клик — 2" in html_to_text(by_medium) and "прямой заход — 1" in html_to_text(by_medium)
    assert "телефон — 2" in html_to_text(by_device) and "Москва, Россия — 4" in html_to_text(by_region)
    assert "Целевой — 4" in html_to_text(by_tag) and "услуги/стрижка" in html_to_text(by_page)


def test_an_unknown_period_answers_in_russian() -> None:
    from reports.periods import PeriodError

    assert latin_words(html_to_text(render_period_error("ru", PeriodError("послезавтра", "unknown period")))) == []
