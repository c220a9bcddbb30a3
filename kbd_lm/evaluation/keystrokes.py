"""Keystroke replay: the texts a keyboard asks suggestions for while a unit is typed.

A keyboard asks after every key press, with everything before the cursor. Typing ``unit``
one character at a time gives the texts ``unit[:i]`` for i = 0..len(unit). A text that ends
inside a word (:data:`kbd_lm.text.normalization.PARTIAL_WORD_RE`) asks for **completions** of that
word; any other text (empty, after a space or punctuation) asks for the **next word**.

Evaluation (top-k, KSR, completion@j: :func:`typed_words`) and the benchmark (latency per
kind: :func:`keystrokes`) replay these same texts.

>>> [k.text for k in keystrokes("Hi yo")]
['', 'H', 'Hi', 'Hi ', 'Hi y', 'Hi yo']
>>> [(w.word, [k.text for k in w.keys]) for w in typed_words("Hi, yo")]
[('Hi', ['', 'H']), ('yo', ['Hi, ', 'Hi, y'])]
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import NamedTuple

from kbd_lm.text.normalization import PARTIAL_WORD_RE, WORD_RE

NEXT_WORD = "next_word"
COMPLETION = "completion"
KINDS = (NEXT_WORD, COMPLETION)


class Keystroke(NamedTuple):
    """The text before the cursor after one key press, and what it asks for (a kind)."""

    text: str
    kind: str


def keystrokes(unit: str) -> list[Keystroke]:
    """Every text a keyboard asks suggestions for while ``unit`` is typed, with its kind.

    >>> keystrokes("Hi yo")  # doctest: +NORMALIZE_WHITESPACE
    [Keystroke(text='', kind='next_word'), Keystroke(text='H', kind='completion'),
     Keystroke(text='Hi', kind='completion'), Keystroke(text='Hi ', kind='next_word'),
     Keystroke(text='Hi y', kind='completion'), Keystroke(text='Hi yo', kind='completion')]
    >>> [k.kind for k in keystrokes("I don'")][-1]
    'completion'
    """
    return [
        Keystroke(unit[:i], COMPLETION if PARTIAL_WORD_RE.search(unit[:i]) else NEXT_WORD)
        for i in range(len(unit) + 1)
    ]


@dataclass(frozen=True)
class TypedWord:
    """One word of a unit and the keystrokes while it is typed.

    ``keys[j]`` is the text once ``j`` letters of the word are typed, for j = 0..len(word)-1:
    ``keys[0]`` is the word's context (a next-word keystroke), the rest are completions.
    """

    word: str
    keys: list[Keystroke]

    @property
    def context(self) -> str:
        """The unit's text up to the start of the word, exactly as typed."""
        return self.keys[0].text


def typed_words(unit: str) -> Iterator[TypedWord]:
    """The words of ``unit`` (:data:`kbd_lm.text.normalization.WORD_RE` matches), each with its
    keystrokes.

    The keystrokes are those of :func:`keystrokes` from the word's start up to its last
    letter (the word typed in full is not asked for).

    >>> w = list(typed_words("I don't"))[1]
    >>> w.word, w.context, [k.text for k in w.keys][-2:]
    ("don't", 'I ', ['I don', "I don'"])
    """
    keys = keystrokes(unit)
    for match in WORD_RE.finditer(unit):
        yield TypedWord(match.group(0), keys[match.start() : match.end()])
