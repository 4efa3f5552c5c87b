"""How much of a link's prefilled text a code-less first message keeps.

A customer who deletes the code usually keeps the rest of the text the link put into their messenger
(«Здравствуйте! Сколько стоит детская фотосессия?»); someone who never clicked rarely writes it. Words
are compared as stems (snowballstemmer), after folding case, «ё», punctuation, emoji and look-alike
letters; greetings, politeness and common question words tell nothing apart and are left out.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class TextMatch:
    """What a message keeps of one prefilled text."""

    kept: float  # share of the prefilled text's telling words the message has (0 when it has none)
    telling_kept: int  # how many of them
    telling_total: int  # telling words in the prefilled text
    message_telling: int  # telling words in the message

    @property
    def evidence(self) -> bool:
        """Whether the message keeps enough of the text to point to the click (a greeting never does)."""
        return self.telling_kept >= 2 and self.kept >= 0.6


def telling_words(text: str) -> list[str]:
    """The normalised stems of the words that tell a text apart, in order, each once."""
    raise NotImplementedError


def compare(message: str, prefill: str | None) -> TextMatch:
    """How much of `prefill` (a click's text, without its code) `message` keeps."""
    raise NotImplementedError
