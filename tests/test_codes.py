"""Tracking codes: the check character, generation, and finding a code in what customers send."""

from __future__ import annotations

import string
from collections.abc import Callable

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tracking.codes import (
    ALPHABET,
    DEFAULT_MARKERS,
    Extraction,
    check_character,
    extract_code,
    format_prefill,
    is_valid_code,
    new_code,
    normalise_code,
)

CODE = "7K3M9QE"  # payload 7K3M9Q, check E
OTHER = "F2763B1"
MISTYPED = "7K3M9QZ"  # CODE with a wrong check character

# Latin letters as a Russian keyboard layout types them: Cyrillic look-alikes.
CYRILLIC_LOOK_ALIKES = str.maketrans("ABCEHKMOPTXY", "АВСЕНКМОРТХУ")


def cyrillic(code: str) -> str:
    return code.translate(CYRILLIC_LOOK_ALIKES)


# --- the check character ---------------------------------------------------------------------------


def test_check_character_follows_the_wikipedia_example() -> None:
    # Wikipedia's "Luhn mod N algorithm": alphabet "abcdef", input "abcdef" -> check "e".
    assert check_character("abcdef", alphabet="abcdef") == "e"


@pytest.mark.parametrize(
    ("payload", "check"),
    [
        ("000000", "0"),
        ("000001", "Y"),  # 2*1 = 2; (32 - 2) % 32 = 30 -> Y
        ("ZZZZZZ", "6"),  # 3*(62//32 + 62%32) + 3*31 = 186; 32 - 186 % 32 = 6
        ("123456", "Z"),
        ("ABCDEF", "E"),
        ("7K3M9Q", "E"),
        ("F2763B", "1"),
        ("AB0CD1", "S"),
        ("Q1W2E3", "K"),
    ],
)
def test_check_character_vectors_shared_with_the_snippet(payload: str, check: str) -> None:
    assert check_character(payload) == check


@pytest.mark.parametrize("code", [CODE, OTHER, "AB0CD1S", "Q1W2E3K", "00ZZ99" + check_character("00ZZ99")])
def test_every_single_character_substitution_is_rejected(code: str) -> None:
    assert is_valid_code(code)
    for position in range(len(code)):
        for symbol in ALPHABET:
            if symbol == code[position]:
                continue
            changed = code[:position] + symbol + code[position + 1 :]
            assert not is_valid_code(changed), changed
            # The check itself catches it, not only the digit/letter rule.
            assert check_character(changed[:6]) != changed[6], changed


# --- validity and generation ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("candidate", "valid"),
    [
        (CODE, True),
        (OTHER, True),
        (MISTYPED, False),
        (CODE.lower(), False),  # canonical form only; normalise_code is the lenient door
        (CODE[:6], False),
        (CODE + "0", False),
        ("", False),
        ("123456Z", False),  # passes the check but has no letters: an order number
        ("ABCDEFE", False),  # passes the check but has no digits: a word
        ("ABCDE1A", False),  # only one digit in the payload
        ("X0X0X09", True),
        ("7K3M9QU", False),  # U is not a symbol
    ],
)
def test_is_valid_code(candidate: str, valid: bool) -> None:
    assert is_valid_code(candidate) is valid


def test_new_codes_are_valid_mixed_and_use_the_whole_alphabet() -> None:
    codes = [new_code() for _ in range(3000)]
    assert all(is_valid_code(code) for code in codes)
    for code in codes:
        payload = code[:6]
        assert sum(c.isdigit() for c in payload) >= 2
        assert sum(c.isalpha() for c in payload) >= 2
    assert set("".join(code[:6] for code in codes)) == set(ALPHABET)
    assert len(set(codes)) > 2990  # 32**6 payloads: repeats are rare


@pytest.mark.parametrize(
    ("written", "code"),
    [
        (CODE, CODE),
        (CODE.lower(), CODE),
        (f"  {CODE}\n", CODE),
        (cyrillic(CODE), CODE),
        (cyrillic(CODE).lower(), CODE),
        ("ABOCDIS", "AB0CD1S"),  # Crockford: O -> 0, I -> 1
        ("abocdls", "AB0CD1S"),  # and L -> 1, any case
        ("ＡＢ０ＣＤ１Ｓ", "AB0CD1S"),  # full-width forms
        (MISTYPED, None),
        ("7K3M9Q", None),
        ("ref 7K3M9QE", None),
        ("", None),
    ],
)
def test_normalise_code(written: str, code: str | None) -> None:
    assert normalise_code(written) == code


# --- the prefill ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "marker", "prefill"),
    [
        ("Hi! How much is a shoot?", "ref", f"Hi! How much is a shoot? (ref {CODE})"),
        ("Здравствуйте!", "код", f"Здравствуйте! (код {CODE})"),
        ("Здравствуйте!  ", "код", f"Здравствуйте! (код {CODE})"),
        ("", "ref", f"(ref {CODE})"),
        ("Заявка с сайта", "заявка", f"Заявка с сайта (заявка {CODE})"),
    ],
)
def test_format_prefill_round_trips(text: str, marker: str, prefill: str) -> None:
    assert format_prefill(text, CODE, marker) == prefill
    assert extract_code(prefill, markers=(marker,)) == Extraction(CODE, text.strip(), marked=True)


@pytest.mark.parametrize(("code", "marker"), [(MISTYPED, "ref"), (CODE.lower(), "ref"), (CODE, ""), (CODE, "(x")])
def test_format_prefill_refuses_bad_codes_and_markers(code: str, marker: str) -> None:
    with pytest.raises(ValueError):
        format_prefill("Hi", code, marker)


def test_default_markers() -> None:
    assert DEFAULT_MARKERS == ("код", "ref")


# --- extraction -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("message", "code", "text", "marked"),
    [
        # as the snippet wrote it
        (f"Hi! How much is a shoot? (ref {CODE})", CODE, "Hi! How much is a shoot?", True),
        (f"Здравствуйте! (код {CODE})", CODE, "Здравствуйте!", True),
        (f"(ref {CODE})", CODE, "", True),
        # the customer typed before, after, around it
        (f"Hi! (ref {CODE}) Do you work on Sundays?", CODE, "Hi! Do you work on Sundays?", True),
        (f"Здравствуйте! (код {CODE}) А в субботу можно?", CODE, "Здравствуйте! А в субботу можно?", True),
        (f"(код {CODE}) сколько стоит?", CODE, "сколько стоит?", True),
        (f"Hello\n(ref {CODE})\nI need a quote", CODE, "Hello\nI need a quote", True),
        # case changed
        (f"Hi (ref {CODE.lower()})", CODE, "Hi", True),
        (f"Hi (Ref {CODE.capitalize()})", CODE, "Hi", True),
        (f"Привет (КОД {CODE})", CODE, "Привет", True),
        # marker variants
        (f"Привет код: {CODE}", CODE, "Привет", True),
        (f"Привет Код {CODE}", CODE, "Привет", True),
        (f"Привет код:{CODE}", CODE, "Привет", True),
        (f"Привет код №{CODE}", CODE, "Привет", True),
        (f"Привет код - {CODE}", CODE, "Привет", True),
        (f"Hi ref: {CODE}", CODE, "Hi", True),
        (f"Hi ref #{CODE}", CODE, "Hi", True),
        (f"Hi [ref {CODE}]", CODE, "Hi", True),
        (f"Hi {{ref {CODE}}}", CODE, "Hi", True),
        (f"Hi (ref {CODE}", CODE, "Hi", True),  # a bracket deleted
        (f"Hi ref {CODE})", CODE, "Hi", True),
        # marker, brackets or both dropped
        (f"Hi ({CODE})", CODE, "Hi", False),
        (f"Hi ref {CODE}", CODE, "Hi", True),
        (f"Hi {CODE}", CODE, "Hi", False),
        (f"Hi #{CODE}", CODE, "Hi", False),
        (f"{CODE}", CODE, "", False),
        (f"{CODE}, how much?", CODE, "how much?", False),
        (f"Сколько стоит {CODE}?", CODE, "Сколько стоит?", False),
        (f"Сколько стоит {CODE}, а доставка?", CODE, "Сколько стоит, а доставка?", False),
        (f"Сколько стоит {CODE}.", CODE, "Сколько стоит.", False),
        (f"«{CODE}» это мой код", CODE, "это мой код", False),
        # the keyboard swapped Latin letters for Cyrillic look-alikes
        (f"Здравствуйте! (код {cyrillic(CODE)})", CODE, "Здравствуйте!", True),
        (f"Здравствуйте! (код {cyrillic(CODE).lower()})", CODE, "Здравствуйте!", True),
        (f"Здравствуйте {cyrillic(CODE)}", CODE, "Здравствуйте", False),
        (f"Здравствуйте (код {cyrillic('X0X0X09')})", "X0X0X09", "Здравствуйте", True),
        ("Здравствуйте (код 7КЗМ9QЕ)", CODE, "Здравствуйте", True),  # З (Ze) for 3
        # Crockford folding: O -> 0, I/L -> 1
        ("Hi (ref ABOCDIS)", "AB0CD1S", "Hi", True),
        ("Hi (ref abocdls)", "AB0CD1S", "Hi", True),
        # a site's own marker
        (f"Заявка (заявка {CODE})", CODE, "Заявка (заявка)", False),  # not told of it: found unmarked
    ],
)
def test_extract_code(message: str, code: str | None, text: str, marked: bool) -> None:
    assert extract_code(message) == Extraction(code, text, marked)


def test_a_site_marker_is_used_when_given() -> None:
    message = f"Заявка (заявка {CODE})"
    assert extract_code(message, markers=("заявка",)) == Extraction(CODE, "Заявка", marked=True)


@pytest.mark.parametrize(
    "message",
    [
        f"Hi x{CODE}",
        f"Hi {CODE}x",
        f"Hi abc_{CODE}",
        f"Hi Я{CODE}",
        f"see https://example.com/{CODE}",
        f"see example.com/p?c={CODE}&x=1",
        f"mail {CODE}@mail.ru",
        f"mail me@{CODE}.ru",
        f"part SU-{CODE}",
        f"version 1.{CODE}",
    ],
)
def test_a_code_must_be_a_whole_word(message: str) -> None:
    assert extract_code(message) == Extraction(None, message, marked=False)


@pytest.mark.parametrize(
    "message",
    [
        f"Hi (ref {MISTYPED})",
        f"Hi (ref {CODE[:6]})",  # a character dropped
        f"Hi (ref {CODE}7)",  # a character added
        f"Привет (код {cyrillic(MISTYPED)})",
        f"Hi (ref {MISTYPED}) and my old one {OTHER}",  # the marked one is not replaced by a guess
    ]
    + [f"Hi (ref {CODE[:i]}{s}{CODE[i + 1 :]})" for i, s in enumerate("8A4N0R1")],
)
def test_a_marked_mistyped_code_is_not_guessed(message: str) -> None:
    assert extract_code(message) == Extraction(None, message, marked=True)


def test_an_unmarked_code_needs_two_digits_as_typed() -> None:
    # AB0CD1S has just two digits; typed with O and I it reads like a word: taken only with a marker.
    assert extract_code("Hi ABOCDIS").code is None
    assert extract_code("Hi ab0cd1s").code == "AB0CD1S"
    assert extract_code("Hi ref ABOCDIS").code == "AB0CD1S"


@pytest.mark.parametrize(
    ("message", "code", "text", "marked"),
    [
        (f"{OTHER} (ref {CODE})", CODE, OTHER, True),
        (f"{CODE} and {OTHER}", OTHER, CODE + " and", False),
        (f"(ref {OTHER}) (ref {CODE})", CODE, f"(ref {OTHER})", True),
        (f"(ref {CODE}) oh and {OTHER}", CODE, f"oh and {OTHER}", True),  # marked beats unmarked
        (f"(ref {OTHER}) (ref {MISTYPED})", OTHER, f"(ref {MISTYPED})", True),
    ],
)
def test_several_codes(message: str, code: str, text: str, marked: bool) -> None:
    assert extract_code(message) == Extraction(code, text, marked)


@pytest.mark.parametrize(
    "message",
    [
        "код домофона 1234",
        "какой код скидки?",
        "код 123456",
        "пришлите код из СМС 4815",
        "ref number please",
        "ref 12345678",
        "my ref is ABCDEFG",
    ],
)
def test_a_marker_word_in_plain_text_is_not_a_marker(message: str) -> None:
    assert extract_code(message) == Extraction(None, message, marked=False)


# Messages customers send that carry no code: none may yield one.
ORDINARY_MESSAGES: list[str] = [
    "Здравствуйте! Сколько стоит доставка?",
    "Добрый день, цена 5000р актуальна?",
    "А за 12 500 ₽ отдадите?",
    "Цена 5000руб или 4500руб наличными?",
    "Мой заказ №123456, когда отправите?",
    "заказ 4815162342 не пришёл",
    "Номер заказа 1234567",
    "Заказ #1234567 оплачен",
    "Позвоните мне +7 (999) 123-45-67",
    "мой номер 89991234567",
    "Телефон: 8-999-123-45-67, Анна",
    "+79161234567 перезвоните пожалуйста",
    "WhatsApp +44 7911 123456",
    "Можно записаться на 12.03.2026?",
    "Встреча 2026-03-12 в 14:30",
    "Буду в 9:45, ок?",
    "Приеду завтра к 18:00",
    "Пишите на ivan.petrov1987@mail.ru",
    "my email is john.smith2024@gmail.com",
    "Вот ссылка https://example.com/catalog/item?id=AB12CD3",
    "Смотрел тут: https://www.avito.ru/moskva/telefony/iphone_15_pro_3456789012",
    "check https://youtu.be/dQw4w9WgXcQ",
    "Есть iPhone15 на 256?",
    "Есть ли RTX4090 в наличии?",
    "Нужна бумага A4, 5 пачек",
    "Samsung Galaxy S24 Ultra 512GB",
    "Xiaomi 14T Pro или Redmi Note 13?",
    "Модель KD55X85L подойдёт?",
    "Адрес: ул. Ленина 12к3, кв. 45",
    "Москва, пр-т Мира 101В стр. 2",
    "Индекс 123456, г. Казань",
    "Рейс SU1234 задерживается",
    "Flight BA2490 lands at 7pm",
    "Госномер А123ВС77",
    "машина а123вс777 серебристая",
    "Промокод SALE2026 работает?",
    "У меня промокод LETO25",
    "use code WELCOME10",
    "#распродажа #скидки",
    "#sale2026 #blackfriday",
    "Спасибо! 👍🔥",
    "😍😍😍",
    "ok",
    "Привет",
    "Hi, how much is a wedding shoot?",
    "Do you deliver to Manchester M14 5RT?",
    "My postcode is SW1A 1AA",
    "Размер 42, рост 176",
    "Нужно 3 шт. по 250 мл",
    "ИНН 7707083893, КПП 770701001",
    "Счёт 40702810900000012345",
    "Артикул 1234567-89",
    "Артикул WB 145678923",
    "Трек-номер RA123456789RU",
    "Серийный номер C02XL0GHJGH5",
    "Размер экрана 1920x1080",
    "Температура -5°C, приеду позже",
    "Скидка 10%? Тогда беру 2",
    "Сдача с 5000",
    "Приду в 10ч30",
    "Код домофона 45К1234",
    "Мой ник в телеграм @ivan_1987",
    "Карта 2202 2000 1234 5678",
    "Version 2.4.1 crashes on start",
    "IBAN GB33BUKB20201555555555",
    "Need 2x 12V batteries",
    "Wi-Fi пароль qwerty123",
    "ТЦ Европейский, 3 этаж, павильон Б12",
    "Перезвоните после 19:00 пожалуйста 🙏",
    "ЗДРАВСТВУЙТЕ!!! СРОЧНО НУЖНА КОНСУЛЬТАЦИЯ",
    "Хорошо, ОКОРОКА и КОРОТКО, ВЕСОМОЕ",
    "HOLIDAY PROMOTE DOLLARS",
    "",
    "   ",
]


def test_the_corpus_is_large_enough() -> None:
    assert len(ORDINARY_MESSAGES) >= 60


@pytest.mark.parametrize("message", ORDINARY_MESSAGES)
def test_ordinary_messages_carry_no_code(message: str) -> None:
    assert extract_code(message) == Extraction(None, message.strip(), marked=False)


# --- property: any code in any words is found and stripped ------------------------------------------

LETTERS = string.ascii_letters + "".join(map(chr, range(ord("А"), ord("я") + 1))) + "Ёё"

payloads = st.text(alphabet=ALPHABET, min_size=6, max_size=6)
codes = payloads.map(lambda payload: payload + check_character(payload)).filter(is_valid_code)
letter_words = st.tuples(
    st.text(alphabet=LETTERS, min_size=1, max_size=12), st.sampled_from(["", ",", ".", "!", "?"])
).map("".join)
words = st.one_of(
    letter_words.filter(lambda word: word.strip(",.!?").casefold() not in DEFAULT_MARKERS),
    st.integers(min_value=0, max_value=10**12).map(str),
    st.sampled_from(["👍", "🙏", "+7 (999) 123-45-67", "5000р", "№123456"]),
)
markers = st.sampled_from(DEFAULT_MARKERS).flatmap(lambda m: st.sampled_from([m, m.upper(), m.capitalize()]))
SHAPES = ["({m} {c})", "[{m} {c}]", "{m}: {c}", "{m} #{c}", "#{c}", "({c})", "{c}"]


@given(
    code=codes,
    before=st.lists(words, max_size=8),
    after=st.lists(words, max_size=8),
    marker=markers,
    shape=st.sampled_from(SHAPES),
    spelling=st.sampled_from([str, str.lower, cyrillic]),
)
def test_any_code_in_any_words_is_found_and_stripped(
    code: str,
    before: list[str],
    after: list[str],
    marker: str,
    shape: str,
    spelling: Callable[[str], str],
) -> None:
    tag = shape.format(m=marker, c=spelling(code))
    message = " ".join([*before, tag, *after])
    extraction = extract_code(message)
    assert extraction.code == code
    assert extraction.marked == ("{m}" in shape)
    assert extraction.text == " ".join([*before, *after])
