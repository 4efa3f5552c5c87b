"""How much of a link's prefilled text a code-less first message keeps.

A customer who deletes the code usually keeps the rest of the text the link put into their messenger
(«Здравствуйте! Сколько стоит детская фотосессия?»); someone who never clicked rarely writes it. Words
are compared as stems (snowballstemmer), after folding case, «ё», punctuation, emoji and look-alike
letters; greetings, politeness and common question words tell nothing apart and are left out.

Three measures come out of a comparison: how many of the text's *telling* words the message keeps (a
customer writing on the same subject in their own words shares one or two of them), how much of the *whole*
text, stop words included, it keeps (a customer who only deleted the code keeps nearly all of it, one writing
their own words rarely does), and whether it holds the text verbatim, punctuation and case as the link wrote
them (the usual case: the customer deleted the code and nothing else).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

import snowballstemmer

# Evidence: the message keeps at least this many of the text's telling words, this share of them and this
# share of all its words; or it holds the text verbatim (all but a greeting before its first telling clause will
# do) and the text has two telling words or more.
# Checked on tests/payloads/fallback (real sites' presets against realistic code-free first messages): two
# telling words in other punctuation («Здравствуйте, хочу записаться на пробное занятие») are what honest
# customers write themselves, so two are enough only verbatim.
MIN_TELLING_KEPT = 3
MIN_KEPT = 0.6
MIN_WORDS_KEPT = 0.75
MIN_TELLING_VERBATIM = 2

_RUSSIAN = snowballstemmer.stemmer("russian")
_ENGLISH = snowballstemmer.stemmer("english")

# Latin letters that look like Cyrillic ones, by case (folded before case folding: Latin "B" looks like
# «В», "b" does not). tracking/codes.py maps the other way, to code symbols (О -> 0), so it is not reused.
_LATIN_TO_CYRILLIC = {
    "A": "А", "B": "В", "C": "С", "E": "Е", "H": "Н", "K": "К", "M": "М", "O": "О", "P": "Р", "T": "Т",
    "X": "Х", "Y": "У", "a": "а", "c": "с", "e": "е", "k": "к", "o": "о", "p": "р", "x": "х", "y": "у",
}  # fmt: skip
_CYRILLIC_TO_LATIN = {cyrillic: latin for latin, cyrillic in _LATIN_TO_CYRILLIC.items()}
_TO_CYRILLIC = str.maketrans(_LATIN_TO_CYRILLIC)
_TO_LATIN = str.maketrans(_CYRILLIC_TO_LATIN)

_WORD = re.compile(r"[^\W_]+")
_IN_CLAUSE = "'’-"  # inside a clause (I'm, е-mail); other punctuation and emoji end one
# "3 500", "2 990 ₽": thousands written apart (space, no-break or thin space) are one number.
_THOUSANDS = re.compile(r"(?<=\d)[ \u00a0\u202f](?=\d{3}(?!\d))")


def _is_cyrillic(ch: str) -> bool:
    return "\u0400" <= ch <= "\u052f"


def _is_latin(ch: str) -> bool:
    return "a" <= ch <= "z" or "A" <= ch <= "Z" or "\u00c0" <= ch <= "\u024f"


def _fold_look_alikes(word: str) -> str:
    """A word typed in two alphabets («Здpaвcтвyйтe» with Latin p, a, c, y, e) written in the one most of it
    is in, when every letter of the other has a look-alike there."""
    cyrillic = sum(map(_is_cyrillic, word))
    latin = sum(map(_is_latin, word))
    if not cyrillic or not latin:
        return word
    to_cyrillic = all(ch in _LATIN_TO_CYRILLIC for ch in word if _is_latin(ch))
    to_latin = all(ch in _CYRILLIC_TO_LATIN for ch in word if _is_cyrillic(ch))
    if to_cyrillic and (cyrillic >= latin or not to_latin):
        return word.translate(_TO_CYRILLIC)
    if to_latin:
        return word.translate(_TO_LATIN)
    return word


@lru_cache(maxsize=65536)
def _word(word: str) -> tuple[str, str]:
    """One word as typed, folded (look-alikes, case, «ё») and stemmed. Cached: stemming costs ~25 µs and
    customers' words recur."""
    word = _fold_look_alikes(word).casefold().replace("ё", "е")
    if any(map(_is_cyrillic, word)):
        return word, str(_RUSSIAN.stemWord(word))
    if word.isascii() and word.isalpha():
        return word, str(_ENGLISH.stemWord(word))
    return word, word


def _words(text: str) -> list[tuple[str, str]]:
    """A text's words, folded and stemmed, in order (punctuation, emoji and symbols dropped)."""
    text = _THOUSANDS.sub("", unicodedata.normalize("NFKC", text))
    return [_word(word) for word in _WORD.findall(text)]


# Words that tell nothing apart: every customer of every business writes them. Kept small on purpose; each
# line is a kind. Stored as stems (stemmed below), so «записаться», «запишите» and «записи» are all covered.
_STOP_WORDS = """
    здравствуйте здраствуйте здрасте здрасти привет приветствую добрый доброе доброго добрий день дня
    утро вечер вечера суток времени алло вітаю привіт сәлеметсіз сәлем салем hello hi hey good morning afternoon
    evening dear
    пожалуйста спасибо извините please thanks thank sorry
    я мы вы меня мне вас вам ваш ваша ваше вашего вашей нас нам у мой моя это этот эта эти i me my we our
    you your it this that
    в во на с со о об по к до для из за от при и а но или ли не ни же бы то ещё уже вот так тоже
    in on at to for of from about with and or a an the is are am be do does can could
    сколько какой какая какие когда где как что чем есть можно подскажите скажите стоит стоимость цена
    цену цены how much what when where which price cost
    хочу хотел хотела хотели хотим хотелось интересует интересуют узнать уточнить нужен нужна нужно
    want would like interested know need
    записаться запись заказать заказ купить приобрести сделать получить пишу сайт вопрос поводу услуга товар
    наличие размер арт артикул book order buy have website site question
"""
_STOP_STEMS = frozenset(_word(word)[1] for word in _STOP_WORDS.split())


def _telling(stem: str) -> bool:
    """A stem that tells texts apart: not a stop word, two letters or more; a number of 3+ digits."""
    if stem.isdigit():
        return len(stem) >= 3
    return len(stem) >= 2 and stem not in _STOP_STEMS


def _tail(plain: str) -> str:
    """The text as written from the clause of its first telling word on: what is left when a customer drops
    the greeting («Здравствуйте! Сколько стоит детская фотосессия?» -> «Сколько стоит детская фотосессия?»).
    The whole clause, not just the telling words: «детская фотосессия?» alone is what customers who never
    clicked write in their own questions (tests/payloads/fallback)."""
    for found in _WORD.finditer(plain):
        if _telling(_word(found.group())[1]):
            start = found.start()
            break
    else:
        return plain
    while start and (plain[start - 1].isspace() or plain[start - 1] in _IN_CLAUSE or _WORD.match(plain, start - 1)):
        start -= 1
    return plain[start:].lstrip()


@dataclass(frozen=True, slots=True)
class _Text:
    telling: tuple[str, ...]  # in order, each once
    telling_set: frozenset[str]
    words: frozenset[str]  # every word's stem, stop words included
    forms: dict[str, str]  # each stem's word as written (folded), for typos that change the stem
    near_stems: dict[str, tuple[str, ...]]  # _typo_index of the stems
    near_telling: dict[str, tuple[str, ...]]  # of the telling ones
    near_folded: dict[str, tuple[str, ...]]  # of the words as written (folded)
    memo: dict[tuple[int, str, str], bool]  # _near answers against this text's groups: the same presets recur
    plain: str  # the text as written, NFKC, whitespace runs made one space
    tail: str  # of plain, from the clause of the first telling word on (see _tail)
    tail_capital: str  # the tail with its first letter capital (a customer who dropped «Здравствуйте, »)


@lru_cache(maxsize=4096)
def _analyse(text: str) -> _Text:
    """A text's stems, cached: the same preset recurs on every click of its page, and the same message
    is compared with every candidate click."""
    words = _words(text)
    forms = {stem: folded for folded, stem in reversed(words)}  # the first word of each stem
    telling = tuple(stem for stem in dict.fromkeys(stem for _, stem in words) if _telling(stem))
    plain = " ".join(unicodedata.normalize("NFKC", text).split())
    tail = _tail(plain)
    return _Text(
        telling=telling,
        telling_set=frozenset(telling),
        words=frozenset(forms),
        forms=forms,
        near_stems=_typo_index(frozenset(forms)),
        near_telling=_typo_index(frozenset(telling)),
        near_folded=_typo_index(frozenset(folded for folded, _ in words)),
        memo={},
        plain=plain,
        tail=tail,
        tail_capital=tail[:1].upper() + tail[1:],
    )


@dataclass(frozen=True)
class TextMatch:
    """What a message keeps of one prefilled text."""

    kept: float  # share of the prefilled text's telling words the message has (0 when it has none)
    telling_kept: int  # how many of them
    telling_total: int  # telling words in the prefilled text
    message_telling: int  # telling words in the message
    words_kept: float = 0.0  # share of all the prefilled text's words (stop words too) the message has
    # the message holds the text as the link wrote it (case, punctuation): whole, or from the clause of its first
    # telling word on, the greeting before that dropped or changed (a capital first letter allowed)
    verbatim: bool = False

    @property
    def evidence(self) -> bool:
        """Whether the message keeps enough of the text to point to the click (a greeting never does)."""
        if self.verbatim and self.telling_total >= MIN_TELLING_VERBATIM:
            return True
        return self.telling_kept >= MIN_TELLING_KEPT and self.kept >= MIN_KEPT and self.words_kept >= MIN_WORDS_KEPT


def telling_words(text: str) -> list[str]:
    """The normalised stems of the words that tell a text apart, in order, each once."""
    return list(_analyse(text).telling)


def _one_edit(a: str, b: str) -> bool:
    """Whether two different strings are one substitution, insertion, deletion or swap of neighbours apart
    (the typos phones make: «квартиры» typed «кавртиры»)."""
    if len(a) > len(b):
        a, b = b, a
    if len(b) - len(a) > 1:
        return False
    i = 0
    while i < len(a) and a[i] == b[i]:
        i += 1
    if len(a) < len(b):
        return a[i:] == b[i + 1 :]
    if a[i + 1 :] == b[i + 1 :]:
        return True
    return i + 1 < len(a) and a[i] == b[i + 1] and a[i + 1] == b[i] and a[i + 2 :] == b[i + 2 :]


_FUZZY_MIN = 5  # words and stems this long may differ by one typo; shorter ones must be equal


@lru_cache(maxsize=65536)
def _variants(word: str) -> tuple[str, ...]:
    """A word and the word with each one letter deleted: two words one typo apart share one of these."""
    return (word, *(word[:i] + word[i + 1 :] for i in range(len(word))))


def _typo_index(words: frozenset[str]) -> dict[str, tuple[str, ...]]:
    """The words long enough to match with a typo, under each of their _variants (a symmetric-delete index:
    a lookup costs a few dictionary probes instead of comparing with every word)."""
    index: dict[str, list[str]] = {}
    for word in words:
        if len(word) >= _FUZZY_MIN:
            for variant in _variants(word):
                index.setdefault(variant, []).append(word)
    return {variant: tuple(found) for variant, found in index.items()}


def _near(word: str, index: dict[str, tuple[str, ...]]) -> bool:
    """Whether a word of `index` is one typo from `word` (the index also pairs words a moved letter apart:
    each candidate is checked)."""
    if len(word) < _FUZZY_MIN or not index:
        return False
    return any(_one_edit(word, other) for variant in _variants(word) for other in index.get(variant, ()))


def _kept(
    wanted: frozenset[str], text: _Text, stems: frozenset[str], near: dict[str, tuple[str, ...]], said: _Text
) -> int:
    """How many of `wanted` (stems of `text`) are among `stems` (of `said`, `near` the same by length): equal,
    or a typo apart as stems or as the words written («замены» and «заемны» stem differently)."""
    missing = wanted - stems
    kept = len(wanted) - len(missing)
    for stem in missing:
        key = (id(near), stem, text.forms[stem])
        found = said.memo.get(key)
        if found is None:
            found = said.memo[key] = _near(stem, near) or _near(text.forms[stem], said.near_folded)
        kept += found
    return kept


def compare(message: str, prefill: str | None) -> TextMatch:
    """How much of `prefill` (a click's text, without its code) `message` keeps."""
    said = _analyse(message)
    if prefill is None:
        return TextMatch(0, 0, 0, len(said.telling))
    text = _analyse(prefill)
    if not text.telling:
        return TextMatch(0, 0, 0, len(said.telling))
    telling_kept = _kept(text.telling_set, text, said.telling_set, said.near_telling, said)
    return TextMatch(
        kept=telling_kept / len(text.telling),
        telling_kept=telling_kept,
        telling_total=len(text.telling),
        message_telling=len(said.telling),
        words_kept=_kept(text.words, text, said.words, said.near_stems, said) / len(text.words),
        verbatim=_verbatim(text, said),
    )


def _verbatim(text: _Text, said: _Text) -> bool:
    """Whether the message holds the text as written, whole or without the greeting before its first telling
    clause; case and punctuation count (retyped in lower case without them, it is what honest customers write:
    the corpus test and the simulation's on-topic never-clickers match then)."""
    return text.tail in said.plain or text.tail_capital in said.plain


def recovers(phrase: str) -> bool:
    """Whether a preset phrase names enough to point to its page when a customer deletes the code: kept
    as written, it is evidence (a phrase of greetings and «хочу записаться» never is)."""
    return compare(phrase, phrase).evidence
