"""How much of a link's prefilled text a code-less first message keeps (tracking/prefill.py)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tracking.prefill import TextMatch, compare, telling_words

CORPUS = Path(__file__).parent / "payloads" / "fallback"


def corpus(name: str) -> list[str]:
    """One text a line; '#' lines are comments, `<empty>` is a message with no text, `\\n` a line break."""
    lines = (CORPUS / name).read_text(encoding="utf-8").splitlines()
    return ["" if line == "<empty>" else line.replace("\\n", "\n") for line in lines if not line.startswith("#")]


MESSAGES = corpus("codeless_messages.txt")
PRESETS = corpus("presets.txt")

WEDDING = "Здравствуйте! Интересует свадебная фотосъёмка, есть ли свободные даты?"
TRIAL = "Здравствуйте! Хочу записаться на пробное занятие :)"  # two telling words: пробное, занятие
KIDS = "Здравствуйте! Сколько стоит детская фотосессия?"  # two: детская, фотосессия


# --- normalisation ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("written", "plain"),
    [
        ("ФОТОСЕССИЯ", "фотосессия"),  # case
        ("фотосъёмка", "фотосъемка"),  # ё
        ("«фотосессия»!!! 📸🔥", "фотосессия"),  # punctuation, emoji
        ("фoтocессия", "фотосессия"),  # Latin o, c inside a Cyrillic word
        ("Здpaвcтвyйтe, peмoнт", "ремонт"),  # a whole message typed with look-alikes
        ("Sаree", "saree"),  # a Cyrillic а inside a Latin word
        ("фотосессию", "фотосессия"),  # word forms share a stem
        ("фотосессии", "фотосессия"),
        ("ｐｙｔｈｏｎ", "python"),  # NFKC: full-width letters
        ("Weddings", "wedding"),
    ],
)
def test_spellings_of_a_word_normalise_to_one_stem(written: str, plain: str) -> None:
    assert telling_words(written) == telling_words(plain) != []


def test_greetings_politeness_and_question_words_tell_nothing() -> None:
    assert telling_words("Здравствуйте! Подскажите, пожалуйста, сколько стоит? Можно записаться?") == []
    assert telling_words("Добрый вечер, у меня вопрос") == []
    assert telling_words("Hello, I want to know the price please") == []


def test_telling_words_are_in_order_each_once() -> None:
    assert telling_words("Кольцо «Луна», кольцо луна, серебро") == ["кольц", "лун", "серебр"]


def test_only_numbers_of_three_digits_or_more_tell() -> None:
    assert telling_words("арт. 1043, размер 44, 2 шт") == ["1043", "шт"]
    assert telling_words("Цена 3 500 ₽?") == ["3500"]  # thousands written apart are one number


# --- what a message keeps of a text ----------------------------------------------------------------


@pytest.mark.parametrize(
    "message",
    [
        WEDDING,  # the code deleted, nothing else
        WEDDING + " ",
        "Интересует свадебная фотосъёмка, есть ли свободные даты?",  # the greeting removed
        "Добрый день! Интересует свадебная фотосъёмка, есть ли свободные даты?",  # the greeting changed
        "Здравствуйте! Интересует свадебная фотосессия, есть ли свободные даты?",  # a word changed
        "Здравствуйте! Интересует свадебная фотосьемка, есть ли свободные даты?",  # a typo (ь for ъ)
        "Здравствуйте! Интересует свадбеная фотосъёмка, есть ли свободные даты?",  # letters swapped
        "Здравствуйте! Интересует свадебная фотосъёмкаа, есть ли свобдные даты?",  # a letter doubled, one dropped
        WEDDING + " На 12 июля, в Алматы. Сколько стоит 6 часов?",  # words added
        "интересует свадебная фотосъемка есть ли свободные даты",  # case and punctuation lost
        "ЗДРАВСТВУЙТЕ! ИНТЕРЕСУЕТ СВАДЕБНАЯ ФОТОСЪЁМКА, ЕСТЬ ЛИ СВОБОДНЫЕ ДАТЫ",
    ],
)
def test_a_message_that_keeps_the_text_is_evidence(message: str) -> None:
    match = compare(message, WEDDING)
    assert match.evidence, match
    assert match.telling_total == 4


def test_a_typo_is_one_edit_of_a_long_word_only() -> None:
    # «замены» typed «заемны» stems differently («зам», «заемн»): the written words are one swap apart.
    repair = "Здравствуйте! Хочу узнать стоимость замены экрана iPhone 12"
    assert compare("Здравствуйте! Хочу узнать стоимость заемны экрана iPhnoe 12", repair).telling_kept == 3
    # Two edits, or one in a short word, are other words.
    assert compare("Здравствуйте! Хочу узнать стоимость зэмэны экрана iPhone 12", repair).telling_kept == 2
    assert compare("Кольцо «Лупа»", "Кольцо «Луна»").telling_kept == 1


def test_the_figures_of_a_kept_text() -> None:
    assert compare(WEDDING, WEDDING) == TextMatch(1.0, 4, 4, 4, words_kept=1.0, verbatim=True)
    changed = compare("Здравствуйте! Интересует свадебная фотосессия, на июль есть ли даты?", WEDDING)
    assert (changed.telling_kept, changed.telling_total, changed.message_telling) == (2, 4, 4)
    assert changed.kept == 0.5 and not changed.evidence


def test_two_telling_words_are_evidence_only_verbatim() -> None:
    # Honest customers write «хочу записаться на пробное занятие» themselves; the link's own punctuation
    # and smile are what tells the kept text apart.
    assert compare(TRIAL, TRIAL).evidence
    assert compare(TRIAL + " В субботу можно?", TRIAL).evidence
    retyped = compare("Здравствуйте, хочу записаться на пробное занятие", TRIAL)
    assert (retyped.telling_kept, retyped.kept, retyped.verbatim) == (2, 1.0, False)
    assert not retyped.evidence


@pytest.mark.parametrize(
    ("message", "prefill"),
    [
        ("Сколько стоит детская фотосессия?", KIDS),  # the greeting dropped
        ("Добрый вечер! Сколько стоит детская фотосессия?", KIDS),  # the greeting changed
        ("Добрый вечер!!! 👋 Сколько стоит детская фотосессия? На субботу", KIDS),  # and words added
        ("Хочу записаться на пробное занятие :)", TRIAL),
        # «Здравствуйте, » deleted and the first letter made a capital
        ("Интересует детская фотосессия", "Здравствуйте, интересует детская фотосессия"),
        ("I'm interested in placing a bulk order", "Hello, I'm interested in placing a bulk order"),  # ' in a clause
    ],
)
def test_two_telling_words_kept_as_written_without_the_greeting_are_evidence(message: str, prefill: str) -> None:
    match = compare(message, prefill)
    assert match.verbatim and match.evidence, match


@pytest.mark.parametrize(
    ("message", "prefill"),
    [
        # the telling words without the rest of their clause: what customers write in their own questions
        ("Здравствуйте, нужна детская фотосессия?", KIDS),
        ("пробное занятие :)", TRIAL),
        # case and punctuation lost: the simulation's on-topic never-clickers write so, and the corpus has
        # «Здравствуйте, хочу записаться на пробное занятие»
        ("добрый вечер! сколько стоит детская фотосессия?", KIDS),
        ("сколько стоит детская фотосессия", KIDS),
        ("Сколько стоит детская фотосессия", KIDS),
        ("Добрый вечер, сколько стоит детская фотосессия?", KIDS),  # the greeting in the same clause now
        ("Здравствуйте, хочу записаться на пробное занятие :)", TRIAL),
        # a text without a greeting is kept whole: «курс Python» is in honest questions
        ("записаться на курс Python", "Хочу записаться на курс Python"),
        ("Хочу на курс Python", "Хочу записаться на курс Python"),
    ],
)
def test_two_telling_words_are_no_evidence_in_other_case_punctuation_or_clause(message: str, prefill: str) -> None:
    match = compare(message, prefill)
    assert not match.verbatim and not match.evidence, match


def test_a_one_word_text_is_never_evidence() -> None:
    text = "Здравствуйте! Хочу записаться на маникюр"
    assert compare(text, text).telling_total == 1
    assert not compare(text, text).evidence


@pytest.mark.parametrize(
    "message", ["Здравствуйте", "Добрый день!", "?", "+", "", "👋", "Здравствуйте, сколько стоит?"]
)
def test_greetings_and_empty_texts_are_no_evidence(message: str) -> None:
    match = compare(message, WEDDING)
    assert not match.evidence
    assert match.telling_kept == 0


@pytest.mark.parametrize("prefill", [None, "", "Здравствуйте! Пишу с сайта", "Hello, I have a question"])
def test_a_text_without_telling_words_compares_to_nothing(prefill: str | None) -> None:
    assert compare("Здравствуйте! Сколько стоит детская фотосессия?", prefill) == TextMatch(0, 0, 0, 2)


# --- the corpus: what customers write without a code never matches a real site's text --------------


def test_the_corpus_is_large_enough() -> None:
    assert len(MESSAGES) >= 200
    assert len(PRESETS) >= 40
    assert "" in MESSAGES  # voice notes and photos


@pytest.mark.parametrize("preset", PRESETS)
def test_no_codeless_message_is_evidence_for_a_preset(preset: str) -> None:
    matched = [(message, compare(message, preset)) for message in MESSAGES if compare(message, preset).evidence]
    assert matched == []


@pytest.mark.parametrize("preset", PRESETS)
def test_every_preset_kept_verbatim_is_evidence_when_it_has_two_telling_words(preset: str) -> None:
    match = compare(preset, preset)
    assert match.verbatim or match.telling_total == 0  # a text without telling words compares to nothing
    assert match.evidence == (match.telling_total >= 2)


GREETING = re.compile(r"^(Здравствуйте|Добрый день|Привет|Hello|Hi)[!,.]\s*")


@pytest.mark.parametrize("preset", [preset for preset in PRESETS if GREETING.match(preset)])
def test_every_preset_without_its_greeting_is_evidence_when_it_has_two_telling_words(preset: str) -> None:
    rest = GREETING.sub("", preset)
    for message in (rest, rest[:1].upper() + rest[1:], "Добрый вечер! " + rest[:1].upper() + rest[1:]):
        match = compare(message, preset)
        assert match.verbatim or match.telling_total == 0, message
        assert match.evidence == (match.telling_total >= 2), message


# --- properties --------------------------------------------------------------------------------------


@given(st.text(), st.one_of(st.none(), st.text()))
def test_compare_never_raises_and_shares_stay_in_range(message: str, prefill: str | None) -> None:
    match = compare(message, prefill)
    assert 0.0 <= match.kept <= 1.0
    assert 0.0 <= match.words_kept <= 1.0
    assert 0 <= match.telling_kept <= match.telling_total
    assert match.message_telling == len(telling_words(message))


@given(st.text())
def test_a_text_kept_whole_is_verbatim(text: str) -> None:
    match = compare(text, text)
    assert match.kept == (1.0 if match.telling_total else 0.0)
    assert match.evidence == (match.telling_total >= 2)
