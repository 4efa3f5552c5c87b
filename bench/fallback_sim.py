"""Simulated traffic on one tracked number, to measure how the fallback matcher does on code-less messages.

Every assumption is a field of `Scenario` (docs/fallback-simulation.md says why each range is realistic).
Visitors click marked links to the number (a Poisson stream); some never write, the rest write after a delay
drawn from `Delay`; a share of the writers delete the code, some of those also edit the text; other people
write without ever clicking, from the corpus of real-looking code-free first messages. Clicks and messages
go through `Tracker.record_view` / `record_click` / `ingest` as the collector and the providers' webhooks
send them, so what is measured is whatever matcher `Tracker.ingest` runs today.

Today's matcher before issue #21 is copied here as `OldMatcher` (one visit clicked a link to the number in
the last 10 minutes and has no dialog yet) and judged on the same traffic in the same run.

    recovered = code-less first messages of clickers matched to their own visit / code-less ones of clickers
    wrong     = code-less first messages matched to someone else's visit (a never-clicker matched is wrong)
                / all code-less first messages
"""

from __future__ import annotations

import bisect
import math
import random
import re
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from pathlib import Path

from tracking.codes import ALPHABET, PAYLOAD_LENGTH, RUSSIAN_MARKER, check_character, format_prefill
from tracking.models import AttributionStatus, Click, InboundMessage, PageView
from tracking.prefill import recovers
from tracking.service import Tracker
from tracking.settings import load_settings
from tracking.store.sqlite import SQLiteStore

NUMBER = "+79991234567"
SITE = "https://site.example"
START = datetime(2026, 10, 5, 6, 0, tzinfo=UTC)  # a Monday, 09:00 in Moscow
CORPUS = Path(__file__).resolve().parent.parent / "tests" / "payloads" / "fallback"
OLD_WINDOW = timedelta(minutes=10)


# --- the corpus -------------------------------------------------------------------------------------------


def corpus_sections(name: str) -> dict[str, list[str]]:
    """A corpus file's lines by section ("# --- <section>" headers); `\\n` is a line break, `<empty>` no text."""
    sections: dict[str, list[str]] = {}
    current = ""
    for line in (CORPUS / name).read_text(encoding="utf-8").splitlines():
        if line.startswith("# ---"):
            current = line.removeprefix("# ---").strip()
        elif line.strip() and not line.startswith("#"):
            text = "" if line.strip() == "<empty>" else line.replace("\\n", "\n")
            sections.setdefault(current, []).append(text)
    return sections


def _cyrillic(text: str) -> bool:
    return re.search(r"[а-яё]", text, re.IGNORECASE) is not None


@dataclass(frozen=True)
class Corpus:
    codeless: tuple[str, ...]  # what people write without a link's text: never-clickers, rewrites
    page_presets: tuple[str, ...]  # one phrase per page or service (Russian sites)
    site_phrases: tuple[str, ...]  # one phrase for a whole site

    @classmethod
    def load(cls) -> Corpus:
        messages = corpus_sections("codeless_messages.txt")
        presets = corpus_sections("presets.txt")
        page = [p for s, texts in presets.items() if "per-page" in s or "written by us" in s for p in texts]
        site = [p for s, texts in presets.items() if "site-wide" in s for p in texts]
        return cls(
            codeless=tuple(t for texts in messages.values() for t in texts),
            page_presets=tuple(p for p in page if _cyrillic(p) and "товар" not in p),
            # a bare greeting is no site's phrase worth measuring: it is the codeless corpus itself
            site_phrases=tuple(p for p in site if _cyrillic(p) and len(p.split()) > 2),
        )


# One shop's catalogue: each card's link says which product (presets.txt "product cards" shape).
PRODUCTS = (
    "Платье миди «Вишня», размер 44", "Платье макси льняное «Лето», размер 46", "Сарафан «Ромашка», размер 42",
    "Блузка шёлковая белая, размер 44", "Юбка плиссе чёрная, размер 42", "Жакет оверсайз бежевый, размер 48",
    "Брюки палаццо серые, размер 46", "Кардиган вязаный молочный", "Пальто шерстяное «Милан», размер 44",
    "Тренч классический песочный", "Пуховик короткий чёрный, размер 46", "Свитер кашемировый голубой",
    "Джинсы мом синие, размер 28", "Футболка базовая белая, размер S", "Худи оверсайз графит",
    "Костюм спортивный «Актив», серый", "Кроссовки кожаные белые, 38", "Ботильоны замшевые коричневые, 37",
    "Сумка кросс-боди «Мия», бордо", "Рюкзак городской чёрный", "Ремень кожаный тонкий",
    "Шарф кашемировый клетка", "Берет шерстяной красный", "Перчатки кожаные чёрные, размер 7",
    "Кольцо «Луна», арт. 1043", "Серьги-кольца золотые, арт. 2210", "Браслет с жемчугом, арт. 3307",
    "Подвеска «Звезда», серебро", "Часы женские «Классика», арт. 5512", "Очки солнцезащитные «Кошка»",
    "Пижама шёлковая изумрудная", "Халат махровый белый, размер M", "Комбинезон джинсовый, размер 44",
    "Рубашка мужская льняная, размер L", "Шорты бермуды хаки, размер 48", "Купальник слитный чёрный, размер 44",
    "Топ бра спортивный, размер S", "Леггинсы спортивные графит, размер M", "Носки шерстяные, набор 3 пары",
    "Сертификат подарочный на 5000 рублей",
)  # fmt: skip
PRODUCT_PREFIX = "Здравствуйте! Интересует товар: "
# One salon's service pages, each link "Здравствуйте! Хочу записаться на <service>": pages differ in a word or two.
SERVICES = (
    "маникюр", "педикюр", "маникюр с покрытием", "наращивание ресниц", "ламинирование ресниц",
    "ламинирование бровей", "окрашивание бровей", "стрижку", "окрашивание волос", "мелирование",
    "кератиновое выпрямление", "чистку лица", "массаж лица", "депиляцию", "шугаринг", "макияж",
    "свадебную причёску", "пилинг", "консультацию косметолога", "ботокс",
)  # fmt: skip
SERVICE_TEMPLATE = "Здравствуйте! Хочу записаться на {service}"

# A person's phone and where their browser's clock says they are (PageView.timezone) and their IP (region).
RUSSIAN_ZONES: tuple[tuple[str, str, float], ...] = (
    ("Europe/Moscow", "Москва, RU", 0.62), ("Europe/Samara", "Самара, RU", 0.04),
    ("Asia/Yekaterinburg", "Екатеринбург, RU", 0.1), ("Asia/Omsk", "Омск, RU", 0.03),
    ("Asia/Novosibirsk", "Новосибирск, RU", 0.07), ("Asia/Krasnoyarsk", "Красноярск, RU", 0.05),
    ("Asia/Irkutsk", "Иркутск, RU", 0.03), ("Asia/Vladivostok", "Владивосток, RU", 0.03),
    ("Europe/Kaliningrad", "Калининград, RU", 0.02), ("Europe/Volgograd", "Волгоград, RU", 0.01),
)  # fmt: skip
# (country calling prefix, digits after it, time zone, region) of the foreign phones seen by a Russian site
FOREIGN: tuple[tuple[str, int, str, str], ...] = (
    ("+7 70", 8, "Asia/Almaty", "Алматы, KZ"), ("+375 29", 7, "Europe/Minsk", "Минск, BY"),
    ("+998 90", 7, "Asia/Tashkent", "Ташкент, UZ"), ("+374 91", 6, "Asia/Yerevan", "Ереван, AM"),
    ("+995 55", 7, "Asia/Tbilisi", "Тбилиси, GE"), ("+49 151", 8, "Europe/Berlin", "Берлин, DE"),
    ("+90 532", 7, "Europe/Istanbul", "Стамбул, TR"), ("+971 50", 7, "Asia/Dubai", "Дубай, AE"),
)  # fmt: skip
# where a browser is when it is not where its phone's country says: travel, a VPN
ELSEWHERE = (
    ("Europe/Istanbul", "Стамбул, TR"), ("Asia/Dubai", "Дубай, AE"), ("Asia/Bangkok", "Бангкок, TH"),
    ("Europe/Amsterdam", "Амстердам, NL"), ("Europe/Helsinki", "Хельсинки, FI"), ("Asia/Almaty", "Алматы, KZ"),
)  # fmt: skip


# --- the assumptions --------------------------------------------------------------------------------------


class TextMode(StrEnum):
    PAGE_PRESETS = "presets per page"  # each page's links carry that page's phrase
    PAGE_TEMPLATE = "one template per page"  # each page's phrase is the same sentence naming its service
    SITE_WIDE = "one site-wide phrase"
    CODE_ONLY = "code only"  # links carry no text: the message is "(код 7K3M9QX)"
    PRODUCT_CARDS = "product cards"  # each product card's link names the product


class Edit(StrEnum):
    """What a customer who deleted the code may also do to the text before sending."""

    DROP_GREETING = "drop greeting"
    CHANGE_WORDS = "change words"  # one or two words dropped or swapped for others
    ADD_WORDS = "add words"  # a question of their own appended
    TYPOS = "typos"
    CASUAL = "casual"  # lower case, no punctuation, no emoji
    REWRITE = "rewrite"  # their own message instead (nothing of the link's text left)


DEFAULT_EDITS: tuple[tuple[Edit, float], ...] = (
    (Edit.DROP_GREETING, 0.25),
    (Edit.CHANGE_WORDS, 0.2),
    (Edit.ADD_WORDS, 0.2),
    (Edit.TYPOS, 0.1),
    (Edit.CASUAL, 0.1),
    (Edit.REWRITE, 0.15),
)


@dataclass(frozen=True)
class Delay:
    """Seconds from the click to the message: log-normal (median, sigma), or uniform [low, high]; with
    `tail_share` of writers instead writing `tail_low`–`tail_high` seconds later (came back to it)."""

    median: float = 40.0
    sigma: float = 1.0
    uniform: tuple[float, float] | None = None
    tail_share: float = 0.0
    tail: tuple[float, float] = (600.0, 1800.0)

    def sample(self, rng: random.Random) -> float:
        if self.tail_share and rng.random() < self.tail_share:
            return rng.uniform(*self.tail)
        if self.uniform is not None:
            return rng.uniform(*self.uniform)
        return max(2.0, rng.lognormvariate(math.log(self.median), self.sigma))

    def label(self) -> str:
        base = (
            f"uniform {self.uniform[0]:g}–{self.uniform[1]:g} s"
            if self.uniform
            else f"log-normal {self.median:g} s σ{self.sigma:g}"
        )
        if self.tail_share:
            base += f" + {self.tail_share:.0%} at {self.tail[0] / 60:g}–{self.tail[1] / 60:g} min"
        return base


@dataclass(frozen=True, kw_only=True)
class Scenario:
    name: str
    clicks_per_hour: float = 20.0  # visits that click a marked link to the number (2–120), in open hours
    day_hours: float = 14.0  # hours a day with traffic, from 09:00 Moscow; the night is quiet (24: no night)
    abandoned_share: float = 0.45  # clickers who never write (30–60%): the noise candidates
    deleted_share: float = 0.25  # writers who delete the code before sending (10–40%)
    edited_share: float = 0.3  # of those, who also edit the text
    edits: tuple[tuple[Edit, float], ...] = DEFAULT_EDITS  # which edit, by weight (one or two each)
    remnant_share: float = 0.1  # of those who delete the code, who leave part of it ("(код 7K", "(код)")
    never_clicked_share: float = 0.15  # share of all first messages from people who never clicked (5–30%)
    on_topic_share: float = 0.1  # of those, who ask about one of the site's pages in their own words
    delay: Delay = field(default_factory=Delay)
    text: TextMode = TextMode.PAGE_PRESETS
    pages: int = 8  # pages (or product cards) with their own text; clicks spread over them by Zipf's law
    double_click_share: float = 0.1  # clickers who click again 5–60 s later (the messenger did not open)
    foreign_share: float = 0.1  # phones from other countries
    zone_mismatch_share: float = 0.05  # browsers whose time zone is not their phone's country's
    regions: bool = False  # whether visits carry a region (the owner configured a geo base or Cloudflare)
    # Pages' phrases as start-up advises owners to write them (tracking.prefill.recovers: naming the service),
    # rather than real sites' phrases as found, a quarter of which are greetings and «хочу записаться».
    advised: bool = False

    def text_label(self) -> str:
        if self.text in (TextMode.PAGE_PRESETS, TextMode.PAGE_TEMPLATE, TextMode.PRODUCT_CARDS):
            return f"{self.text.value} ({self.pages})"
        return self.text.value


# --- one simulated run ------------------------------------------------------------------------------------


@dataclass
class Outcome:
    """One matcher's results on the code-less first messages of a run."""

    clickers: int = 0  # code-less first messages of people who clicked
    never_clicked: int = 0  # code-less first messages of people who never clicked
    recovered: int = 0
    wrong_clicker: int = 0  # a clicker's message matched to another visit
    wrong_never: int = 0  # a never-clicker's message matched to some visit
    by_how: dict[str, list[int]] = field(default_factory=dict)  # how the text came about: messages, right, wrong

    @property
    def codeless(self) -> int:
        return self.clickers + self.never_clicked

    @property
    def wrong(self) -> int:
        return self.wrong_clicker + self.wrong_never

    @property
    def recovered_share(self) -> float:
        return self.recovered / self.clickers if self.clickers else 0.0

    @property
    def wrong_share(self) -> float:
        return self.wrong / self.codeless if self.codeless else 0.0

    def judge(self, own: str | None, matched: str | None, how: str) -> None:
        kind = self.by_how.setdefault(how, [0, 0, 0])  # messages, recovered, wrong
        kind[0] += 1
        kind[1] += matched is not None and matched == own
        kind[2] += matched is not None and matched != own
        if own is None:
            self.never_clicked += 1
            self.wrong_never += matched is not None
        else:
            self.clickers += 1
            self.recovered += matched == own
            self.wrong_clicker += matched is not None and matched != own


@dataclass(frozen=True)
class WrongMatch:
    """A code-less message the new matcher gave to someone else's visit: for reading why."""

    text: str
    own_prefill: str | None  # None: a never-clicker
    matched_prefill: str | None
    seconds_after_matched_click: float


@dataclass
class Result:
    scenario: Scenario
    hours: float  # per site
    sites: int
    clicks: int = 0
    exact: int = 0  # messages that kept their code
    new: Outcome = field(default_factory=Outcome)
    old: Outcome = field(default_factory=Outcome)
    wrong_examples: list[WrongMatch] = field(default_factory=list)
    lost_exact: int = 0  # messages with their code that the tracker did not attribute exactly (a bug)
    later: int = 0  # code-less messages the new matcher attributed on a second look, after their own ingest


class OldMatcher:
    """The rule before issue #21, kept as the baseline: a code-less first message goes to the one visit that
    clicked a link to the number in the last 10 minutes and has no dialog yet; with two or more, to none."""

    def __init__(self, window: timedelta = OLD_WINDOW) -> None:
        self.window = window
        self.times: list[datetime] = []
        self.codes: list[str] = []
        self.with_dialog: set[str] = set()

    def click(self, at: datetime, code: str) -> None:
        index = bisect.bisect_right(self.times, at)
        self.times.insert(index, at)
        self.codes.insert(index, code)

    def exact(self, code: str) -> None:
        self.with_dialog.add(code)

    def match(self, at: datetime) -> str | None:
        first = bisect.bisect_left(self.times, at - self.window)
        last = bisect.bisect_right(self.times, at)
        candidates = set(self.codes[first:last]) - self.with_dialog
        if len(candidates) != 1:
            return None
        (code,) = candidates
        self.with_dialog.add(code)  # its probable dialog: the old rule's find_dialogs(code=...) saw it
        return code


@dataclass(frozen=True)
class _Person:
    phone: str
    timezone: str
    region: str


@dataclass(frozen=True)
class _Click:
    at: datetime
    code: str
    visitor: str
    page: str
    prefill: str | None
    person: _Person


@dataclass(frozen=True)
class _Message:
    at: datetime
    text: str
    phone: str
    own: _Click | None  # the click it came from; None for a never-clicker
    how: str | None  # how the text came about; None: it carries its code


class _World:
    """Draws everything a scenario leaves to chance from seeded generators: the site's texts from `site` (so
    that scenarios that differ in one field compare on the same sites), the traffic from `rng`."""

    def __init__(self, scenario: Scenario, corpus: Corpus, rng: random.Random, site: random.Random) -> None:
        self.s, self.corpus, self.rng = scenario, corpus, rng
        self.serial = 0
        self.link_texts = self._link_texts(site)
        self.popularity = [1 / (rank + 1) for rank in range(len(self.link_texts))]  # Zipf: few pages get most
        self.site_phrase = site.choice(corpus.site_phrases)

    def _link_texts(self, rng: random.Random) -> list[str | None]:
        s = self.s
        if s.text is TextMode.PAGE_PRESETS:
            presets = [p for p in self.corpus.page_presets if recovers(p) or not s.advised]
            rng.shuffle(presets)
            return list(presets[: max(1, min(s.pages, len(presets)))])
        if s.text is TextMode.PAGE_TEMPLATE:
            services = list(SERVICES)
            rng.shuffle(services)
            return [SERVICE_TEMPLATE.format(service=x) for x in services[: max(1, min(s.pages, len(services)))]]
        if s.text is TextMode.PRODUCT_CARDS:
            products = list(PRODUCTS)
            rng.shuffle(products)
            return [PRODUCT_PREFIX + p for p in products[: max(1, min(s.pages, len(products)))]]
        return [None]

    def code(self) -> str:
        """A code as tracking.codes.new_code makes them, but from the seeded generator (reproducible runs)."""
        while True:
            payload = "".join(self.rng.choice(ALPHABET) for _ in range(PAYLOAD_LENGTH))
            digits = sum(c.isdigit() for c in payload)
            if 2 <= digits <= PAYLOAD_LENGTH - 2:
                return payload + check_character(payload)

    def person(self) -> _Person:
        rng, self.serial = self.rng, self.serial + 1
        if rng.random() < self.s.foreign_share:
            prefix, digits, zone, region = rng.choice(FOREIGN)
            phone = prefix.replace(" ", "") + "".join(rng.choice("0123456789") for _ in range(digits))
        else:
            zone, region = rng.choices([z[:2] for z in RUSSIAN_ZONES], [z[2] for z in RUSSIAN_ZONES])[0]
            phone = "+79" + "".join(rng.choice("0123456789") for _ in range(9))
        if rng.random() < self.s.zone_mismatch_share:
            zone, region = rng.choice([e for e in ELSEWHERE if e[0] != zone])
        return _Person(phone=phone, timezone=zone, region=region)

    def click(self, at: datetime, person: _Person) -> _Click:
        index = self.rng.choices(range(len(self.link_texts)), self.popularity)[0]
        prefill = self.site_phrase if self.s.text is TextMode.SITE_WIDE else self.link_texts[index]
        page = f"{SITE}/page-{index + 1}" if self.s.text is not TextMode.PRODUCT_CARDS else f"{SITE}/p/{index + 1}"
        visitor = f"visitor-{self.serial:07d}"
        return _Click(at=at, code=self.code(), visitor=visitor, page=page, prefill=prefill, person=person)

    def sent_text(self, click: _Click) -> tuple[str, str | None]:
        """What the clicker sends, and how it came about (for the breakdown); None: it still carries the code."""
        rng, s = self.rng, self.s
        prefill = click.prefill or ""
        if rng.random() >= s.deleted_share:
            return format_prefill(prefill, click.code, RUSSIAN_MARKER), None
        if not prefill:  # a link with only the code: with it gone, they write their own message
            return rng.choice(self.corpus.codeless), "own text (the link had none)"
        text, how = prefill, "link's text as it was"
        if rng.random() < s.edited_share:
            text, how = self.edited(text)
        if rng.random() < s.remnant_share:
            tag = f"({RUSSIAN_MARKER} {click.code})"
            kept = rng.randint(1, len(RUSSIAN_MARKER) + 1 + 5)  # backspaced from the end; ≤ 5 code symbols
            text = f"{text} {tag[:kept]}".strip()
            how = "part of the code left" if kept > len(RUSSIAN_MARKER) + 2 else "«(код» left"
        return text, how

    def edited(self, text: str) -> tuple[str, str]:
        rng = self.rng
        kinds, weights = zip(*self.s.edits, strict=True)
        chosen = set(rng.choices(kinds, weights, k=1 if rng.random() < 0.7 else 2))
        if Edit.REWRITE in chosen:
            return rng.choice(self.corpus.codeless), f"edited: {Edit.REWRITE.value}"
        done = [kind for kind in EDITORS if kind in chosen]
        for kind in done:
            text = EDITORS[kind](text, rng) or text
        return text, "edited: " + (done[0].value if len(done) == 1 else "two ways")

    def on_topic(self) -> str:
        """A never-clicker's question about one of the site's pages, in their own words: a few of its words."""
        rng = self.rng
        texts = [t for t in self.link_texts if t] or [self.site_phrase]
        words = drop_greeting(rng.choice(texts), rng).split()
        span = min(len(words), rng.randint(2, 4))
        start = rng.randint(0, len(words) - span)
        topic = " ".join(words[start : start + span]).strip(" ,.!?:")
        return rng.choice(ON_TOPIC).format(topic=topic.lower())


GREETING = re.compile(
    r"^\s*(здравствуйте|добрый (день|вечер)|доброе утро|привет|приветствую|hello|hi)\b[\s!,.)]*", re.IGNORECASE
)
FILLERS = ("пожалуйста", "ещё", "вообще", "тоже", "срочно", "вот", "у вас")
ADDITIONS = (
    "Есть на завтра?", "Можно в субботу?", "Сколько стоит?", "Какая цена?", "Есть доставка?", "Я из Химок.",
    "Актуально?", "Подскажите по срокам.", "Можно подробнее?", "Когда можно подъехать?", "Есть скидки?",
)  # fmt: skip
ON_TOPIC = (
    "Здравствуйте, {topic} — сколько стоит?", "Подскажите, {topic} есть?", "{topic}", "Добрый день! {topic}?",
    "Интересует {topic}", "Сколько по времени {topic}?", "Привет, а {topic} у вас можно?",
)  # fmt: skip
KEYBOARD_ROWS = ("йцукенгшщзхъ", "фывапролджэ", "ячсмитьбю", "qwertyuiop", "asdfghjkl", "zxcvbnm")


def drop_greeting(text: str, rng: random.Random) -> str:
    dropped = GREETING.sub("", text, count=1)
    if dropped != text:
        return dropped[:1].upper() + dropped[1:]
    words = text.split()
    return " ".join(words[1:]) if len(words) > 1 else text


def change_words(text: str, rng: random.Random) -> str:
    words = text.split()
    for _ in range(rng.randint(1, 2)):
        long = [i for i, w in enumerate(words) if len(w) >= 4]
        if not long or len(words) < 3:
            break
        i = rng.choice(long)
        if rng.random() < 0.5:
            del words[i]
        else:
            words[i] = rng.choice(FILLERS)
    return " ".join(words)


def add_words(text: str, rng: random.Random) -> str:
    return f"{text.rstrip()} {rng.choice(ADDITIONS)}"


def _typo(word: str, rng: random.Random) -> str:
    i = rng.randrange(1, len(word) - 1)
    kind = rng.randrange(4)
    if kind == 0:
        return word[:i] + word[i + 1] + word[i] + word[i + 2 :]  # swapped
    if kind == 1:
        return word[:i] + word[i + 1 :]  # dropped
    if kind == 2:
        return word[:i] + word[i] + word[i:]  # doubled
    for row in KEYBOARD_ROWS:  # a neighbouring key
        at = row.find(word[i].lower())
        if at >= 0:
            return word[:i] + row[at + 1 if at + 1 < len(row) else at - 1] + word[i + 1 :]
    return word


def typos(text: str, rng: random.Random) -> str:
    words = text.split(" ")
    long = [i for i, w in enumerate(words) if len(w) >= 4 and w.isalpha()]
    for i in rng.sample(long, min(len(long), rng.randint(1, 3))):
        words[i] = _typo(words[i], rng)
    return " ".join(words)


def casual(text: str, rng: random.Random) -> str:
    return re.sub(r"\s+", " ", re.sub(r"[^\w\s]", " ", text.lower())).strip()


EDITORS = {
    Edit.DROP_GREETING: drop_greeting,
    Edit.CHANGE_WORDS: change_words,
    Edit.ADD_WORDS: add_words,
    Edit.TYPOS: typos,
    Edit.CASUAL: casual,
}


def _poisson_times(rng: random.Random, per_hour: float, hours: float, day: float) -> list[datetime]:
    """Arrivals over `hours` of open hours: each day's first `day` hours from 09:00 Moscow, nights quiet."""
    times: list[datetime] = []
    at = 0.0
    while per_hour > 0:
        at += rng.expovariate(per_hour)
        if at >= hours:
            return times
        days, within = divmod(at, day)
        times.append(START + timedelta(days=days, hours=within))
    return times


def traffic(
    scenario: Scenario, hours: float, rng: random.Random, corpus: Corpus, site: random.Random
) -> tuple[list[_Click], list[_Message]]:
    """Every click (a second click of the same visit included) and every first message, each in time order."""
    world = _World(scenario, corpus, rng, site)
    clicks: list[_Click] = []
    messages: list[_Message] = []
    for at in _poisson_times(rng, scenario.clicks_per_hour, hours, scenario.day_hours):
        click = world.click(at, world.person())
        clicks.append(click)
        if rng.random() < scenario.double_click_share:
            click = replace(click, at=at + timedelta(seconds=rng.uniform(5, 60)))
            clicks.append(click)
        if rng.random() < scenario.abandoned_share:
            continue
        text, how = world.sent_text(click)
        sent = click.at + timedelta(seconds=scenario.delay.sample(rng))
        messages.append(_Message(at=sent, text=text, phone=click.person.phone, own=click, how=how))
    # never-clickers write at a rate that makes them `never_clicked_share` of all first messages
    writers = scenario.clicks_per_hour * (1 - scenario.abandoned_share)
    share = scenario.never_clicked_share
    for at in _poisson_times(rng, writers * share / (1 - share), hours, scenario.day_hours):
        if rng.random() < scenario.on_topic_share:
            text, how = world.on_topic(), "never clicked, on topic"
        else:
            text, how = rng.choice(corpus.codeless), "never clicked"
        messages.append(_Message(at=at, text=text, phone=world.person().phone, own=None, how=how))
    clicks.sort(key=lambda c: c.at)
    messages.sort(key=lambda m: m.at)
    return clicks, messages


async def run(
    scenario: Scenario,
    *,
    seed: int = 1,
    hours: float = 10.0,
    min_clicks: int = 0,
    sites: int = 5,
    confidence: float | None = None,
    corpus: Corpus | None = None,
) -> Result:
    """Simulate the scenario on `sites` sites (each its own texts, number and SQLite file), each for `hours`
    of open hours or longer, until the sites together had `min_clicks` clicks (a quiet site needs more hours
    for a sample), and add their results up: how telling a site's texts are weighs more than most fields."""
    hours = max(hours, min_clicks / sites / scenario.clicks_per_hour)
    result = Result(scenario=scenario, hours=hours, sites=sites)
    for site in range(sites):
        site_rng = random.Random(f"{seed}:site {site}")
        rng = random.Random(f"{seed}:site {site}:{scenario.name}")
        clicks, messages = traffic(scenario, hours, rng, corpus or Corpus.load(), site_rng)
        await _one_site(result, clicks, messages, confidence)
    return result


async def _one_site(result: Result, clicks: list[_Click], messages: list[_Message], confidence: float | None) -> None:
    scenario = result.scenario
    result.clicks += len(clicks)
    overrides: dict[str, object] = {"new_visits_per_minute": 10**7}
    if confidence is not None:
        overrides["fallback_confidence"] = confidence
    old = OldMatcher()
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "sim.db"
        store = SQLiteStore(db)
        await store.open()
        tracker = Tracker(store, load_settings(database_url=f"sqlite:///{db}", **overrides))
        prefills = {c.code: c.prefill for c in clicks}
        click_times: dict[str, datetime] = {}
        pending = iter(clicks)
        upcoming = next(pending, None)
        codeless: list[tuple[str, bool, _Message]] = []
        for serial, message in enumerate(messages):
            while upcoming is not None and upcoming.at <= message.at:
                await _record(tracker, upcoming, scenario.regions, first=upcoming.code not in click_times)
                click_times[upcoming.code] = upcoming.at
                old.click(upcoming.at, upcoming.code)
                upcoming = next(pending, None)
            found = await tracker.ingest(
                InboundMessage(
                    provider="sim",
                    message_id=f"m{serial}",
                    business_number=NUMBER,
                    contact_id=message.phone,
                    contact_phone=message.phone,
                    text=message.text,
                    received_at=message.at,
                )
            )
            dialog = found.dialog
            if message.how is None:
                assert message.own is not None
                result.exact += 1
                result.lost_exact += dialog.status is not AttributionStatus.EXACT
                old.exact(message.own.code)
                continue
            result.old.judge(message.own.code if message.own else None, old.match(message.at), message.how)
            codeless.append((dialog.id, dialog.status is AttributionStatus.PROBABLE, message))
        # Judged as the dialogs stand at the end: a second look (Tracker.second_look) may attribute one later.
        for dialog_id, at_once, message in codeless:
            stored = await store.get_dialog(dialog_id)
            assert stored is not None and message.how is not None
            own = message.own.code if message.own else None
            matched = stored.code if stored.status is AttributionStatus.PROBABLE else None
            result.new.judge(own, matched, message.how)
            result.later += matched is not None and not at_once
            if matched is not None and matched != own:
                result.wrong_examples.append(
                    WrongMatch(
                        text=message.text,
                        own_prefill=message.own.prefill if message.own else None,
                        matched_prefill=prefills.get(matched),
                        seconds_after_matched_click=(message.at - click_times[matched]).total_seconds(),
                    )
                )
        await store.close()


async def _record(tracker: Tracker, click: _Click, regions: bool, *, first: bool) -> None:
    """A visit's page view (its first one opens it) and its click, as the collector records them."""
    person = click.person
    if first:
        view = PageView(
            code=click.code,
            visitor_id=click.visitor,
            url=click.page,
            timezone=person.timezone,
            region=person.region if regions else None,
            language="ru-RU",
            at=click.at - timedelta(seconds=90),
        )
        await tracker.record_view(view)
    link = Click(code=click.code, page=click.page, target=NUMBER, at=click.at, prefill=click.prefill)
    await tracker.record_click(link, click.visitor)


# --- the grid ---------------------------------------------------------------------------------------------


def grid() -> list[Scenario]:
    """A base scenario, one-axis variations of it, and a few hard combinations."""
    base = Scenario(name="base")
    heavy_tail = Delay(tail_share=0.2)

    def vary(name: str, **changes: object) -> Scenario:
        return replace(base, name=name, **changes)  # type: ignore[arg-type]

    return [
        base,
        vary("2 clicks/h", clicks_per_hour=2),
        vary("6 clicks/h", clicks_per_hour=6),
        vary("60 clicks/h", clicks_per_hour=60),
        vary("120 clicks/h", clicks_per_hour=120),
        vary("no night", day_hours=24),
        vary("30% abandon", abandoned_share=0.3),
        vary("60% abandon", abandoned_share=0.6),
        vary("10% delete", deleted_share=0.1),
        vary("40% delete", deleted_share=0.4),
        vary("no edits", edited_share=0.0, remnant_share=0.0),
        vary("60% edit", edited_share=0.6),
        vary("5% never clicked", never_clicked_share=0.05),
        vary("30% never clicked", never_clicked_share=0.3),
        vary("30% on topic", on_topic_share=0.3),
        vary("fast writers", delay=Delay(median=15)),
        vary("slow writers", delay=Delay(median=120, sigma=1.3)),
        vary("uniform 5–300 s", delay=Delay(uniform=(5, 300))),
        vary("heavy tail", delay=heavy_tail),
        vary("advised phrases", advised=True),
        vary("advised, 6 clicks/h", advised=True, clicks_per_hour=6),
        vary("advised, 60 clicks/h", advised=True, clicks_per_hour=60),
        vary("3 pages", pages=3),
        vary("20 pages", pages=20),
        vary("one template", text=TextMode.PAGE_TEMPLATE),
        vary("site-wide", text=TextMode.SITE_WIDE),
        vary("code only", text=TextMode.CODE_ONLY),
        vary("product cards", text=TextMode.PRODUCT_CARDS, pages=40),
        vary("30% foreign", foreign_share=0.3, zone_mismatch_share=0.15),
        vary("regions known", regions=True),
        vary("hard: 120/h site-wide", clicks_per_hour=120, text=TextMode.SITE_WIDE, never_clicked_share=0.3),
        vary(
            "hard: 60/h tail, edits",
            clicks_per_hour=60,
            delay=heavy_tail,
            deleted_share=0.4,
            edited_share=0.6,
        ),
        vary(
            "hard: 120/h cards",
            clicks_per_hour=120,
            text=TextMode.PRODUCT_CARDS,
            pages=40,
            never_clicked_share=0.3,
            on_topic_share=0.3,
        ),
        vary("hard: 6/h code only", clicks_per_hour=6, text=TextMode.CODE_ONLY, never_clicked_share=0.3),
    ]


def by_name(names: Sequence[str]) -> list[Scenario]:
    scenarios = {s.name: s for s in grid()}
    return [scenarios[n] for n in names]
