"""Tag words in a report's arguments, and the line a report shows about the tag filter it applied.

`/stats ноябрь спам` counts only spam, `/channels прошлый месяц продажа` only sales, `/stats неделя со
спамом` (or "with spam") counts spam too, `/stats без целевых` leaves qualified dialogs out as well as
spam. `split_tag_words` takes those words out and hands back the rest unchanged, for the period parser and
the drill-down words. Tags match by their names and their labels in both languages, in any case and any
Russian word form (продажа, продажи, с продажей...).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from reports.counts import SPAM, TagFilter, TagScope
from reports.i18n import LANGS, Lang, number, plural_form, tag_name, word

# The built-in tags' labels (the words of the buttons under a lead alert, and of the exports).
BUILT_IN = ("qualified", "sale", "spam")
TAG_LABELS: dict[Lang, dict[str, str]] = {lang: {tag: tag_name(lang, tag) for tag in BUILT_IN} for lang in LANGS}
# Other words owners use for them.
TAG_SYNONYMS: dict[str, tuple[str, ...]] = {
    "qualified": ("квалифицированный",),
    "sale": ("продано", "sold"),
}
# The notes' words are the catalogue's "tag_note_<key>" (reports/i18n.py).
NOTE_KEYS = ("only", "left_out_one", "left_out_many", "left_out_compare", "spam_included", "custom", "and")
NOTES: dict[Lang, dict[str, str]] = {lang: {key: word(lang, f"tag_note_{key}") for key in NOTE_KEYS} for lang in LANGS}
# "Без ...": a built-in tag as the note about what was left out says it ("без спама", "Spam left out").
LEFT_OUT_NAMES: dict[Lang, dict[str, str]] = {
    lang: {tag: word(lang, f"tag_{tag}_left_out") for tag in BUILT_IN} for lang in LANGS
}

# Words before a tag: "со спамом" counts spam too (a tag left out by default) or only sales ("с продажей");
# "без целевых" leaves a tag out; "только спам" (as "спам" alone) counts only it.
WITH = "with"
WITHOUT = "without"
ONLY = "only"
LEADS: dict[tuple[str, ...], str] = {
    ("с",): WITH,
    ("со",): WITH,
    ("вместе", "с"): WITH,
    ("вместе", "со"): WITH,
    ("включая",): WITH,
    ("с", "учетом"): WITH,
    ("учитывая",): WITH,
    ("with",): WITH,
    ("including",): WITH,
    ("incl",): WITH,
    ("incl.",): WITH,
    ("без",): WITHOUT,
    ("кроме",): WITHOUT,
    ("исключая",): WITHOUT,
    ("without",): WITHOUT,
    ("excluding",): WITHOUT,
    ("except",): WITHOUT,
    ("no",): WITHOUT,
    ("только",): ONLY,
    ("лишь",): ONLY,
    ("only",): ONLY,
}
LEAD_LENGTH = max(len(lead) for lead in LEADS)

# Russian inflections, longest first: a word less its ending (when at least three letters stay) is its stem.
ENDINGS = sorted(
    """а я о е и ы у ю ь ой ей ом ем ам ям ах ях ов ев ью ию ия ие ые ий ый ая яя ое ее ую юю ые ие ых их
    ым им ого его ому ему ыми ими ами ями ою ею""".split(),
    key=len,
    reverse=True,
)
_CYRILLIC = re.compile("[а-я]")
_PUNCTUATION = ",;.!?«»\"'“”()"


class TagWordsError(ValueError):
    """Two different tags asked for at once: a report counts one tag at a time."""

    def __init__(self, tags: Sequence[str]) -> None:
        super().__init__(f"one tag at a time: {', '.join(tags)}")
        self.tags = list(tags)


def normal(word: str) -> str:
    return word.strip(_PUNCTUATION).lower().replace("ё", "е")


def stem(word: str) -> str:
    """A Russian word less its ending ("продажей" → "продаж"); other words as they are, less a plural "s"."""
    if not _CYRILLIC.search(word):
        return word[:-1] if len(word) > 3 and word.endswith("s") and not word.endswith("ss") else word
    for ending in ENDINGS:
        if word.endswith(ending) and len(word) - len(ending) >= 3:
            return word[: -len(ending)]
    return word


def tag_forms(tags: Sequence[str]) -> list[tuple[tuple[str, ...], str]]:
    """(the stems of a name's words, the tag) for every name of every tag, longest names first."""
    forms: dict[tuple[str, ...], str] = {}
    for tag in tags:
        names = [tag, *(labels[tag] for labels in TAG_LABELS.values() if tag in labels), *TAG_SYNONYMS.get(tag, ())]
        for name in names:
            words = tuple(stem(normal(w)) for w in name.split())
            if words and all(words):
                forms.setdefault(words, tag)
    return sorted(forms.items(), key=lambda item: -len(item[0]))


@dataclass(frozen=True)
class _Match:
    start: int  # index of the first word (the lead word, when there is one)
    end: int  # index after the tag's last word
    kind: str
    tag: str


def _tag_at(stems: list[str], at: int, forms: list[tuple[tuple[str, ...], str]]) -> tuple[str, int] | None:
    for words, tag in forms:
        if tuple(stems[at : at + len(words)]) == words:
            return tag, at + len(words)
    return None


def _matches(words: list[str], forms: list[tuple[tuple[str, ...], str]]) -> list[_Match]:
    lowered = [normal(w) for w in words]
    stems = [stem(w) for w in lowered]
    found, i = [], 0
    while i < len(words):
        for size in range(LEAD_LENGTH, -1, -1):  # the longest lead first, then a tag on its own
            lead = tuple(lowered[i : i + size])
            if size and (len(lead) < size or lead not in LEADS):
                continue
            tagged = _tag_at(stems, i + size, forms)
            if tagged is not None:
                found.append(_Match(i, tagged[1], LEADS[lead] if size else ONLY, tagged[0]))
                i = tagged[1]
                break
        else:
            i += 1
    return found


def split_tag_words(
    args: str | None, tags: Sequence[str], default: TagFilter | None = None
) -> tuple[TagFilter | None, str]:
    """The tag filter the words ask for (None when they name no tag) and the other words, in their order."""
    default = default or TagFilter()
    words = (args or "").split()
    found = _matches(words, tag_forms(tags))
    if not found:
        return None, " ".join(words)
    only: list[str] = []
    without = list(default.without)
    for match in found:
        if match.kind == WITHOUT:
            without.append(match.tag)
        elif match.kind == WITH and match.tag in default.without:
            without = [tag for tag in without if tag != match.tag]
        else:
            only.append(match.tag)
    only = list(dict.fromkeys(only))
    if len(only) > 1:
        raise TagWordsError(only)
    used = {i for match in found for i in range(match.start, match.end)}
    rest = " ".join(word for i, word in enumerate(words) if i not in used)
    kept = only[0] if only else None
    return TagFilter(kept, tuple(tag for tag in dict.fromkeys(without) if tag != kept)), rest


# the note a report shows --------------------------------------------------------------------------


def _listed(lang: Lang, names: list[str]) -> str:
    if len(names) == 1:
        return names[0]
    return ", ".join(names[:-1]) + NOTES[lang]["and"] + names[-1]


def _left_out_tags(lang: Lang, tags: Sequence[str]) -> str:
    names = [LEFT_OUT_NAMES[lang].get(tag) or NOTES[lang]["custom"].format(tag=tag) for tag in tags]
    text = _listed(lang, names)
    return text if lang == "ru" else text[0].upper() + text[1:]


def dialogs_count(lang: Lang, count: int) -> str:
    """ "8 диалогов", "1 диалог", "2 dialogs" — a number with its noun in the right form."""
    return word(lang, f"dialogs_{plural_form(lang, count)}").format(count=number(lang, count))


def tag_note(lang: Lang, only: str | None, scope: TagScope, scope_b: TagScope | None = None) -> list[str]:
    """What the tag filter did, in the owner's words (plain text: the caller escapes). Nothing is said of
    tags left out when no dialog carried them; `scope_b` is the second period of a comparison."""
    notes = NOTES[lang]
    lines = []
    if only is not None:
        lines.append(notes["only"].format(tag=tag_name(lang, only)))
    if scope_b is not None and (scope.left_out or scope_b.left_out):
        tags = scope.without or scope_b.without
        lines.append(
            notes["left_out_compare"].format(
                tags=_left_out_tags(lang, tags), a=number(lang, scope.left_out), b=number(lang, scope_b.left_out)
            )
        )
    elif scope_b is None and scope.left_out:
        left_out = notes["left_out_one" if plural_form(lang, scope.left_out) == "one" else "left_out_many"]
        lines.append(
            left_out.format(tags=_left_out_tags(lang, scope.without), count=dialogs_count(lang, scope.left_out))
        )
    if SPAM not in scope.without and only != SPAM:
        lines.append(notes["spam_included"])
    return lines


__all__ = ["TAG_LABELS", "TagWordsError", "dialogs_count", "split_tag_words", "stem", "tag_note"]
