"""Keystroke replay: the texts eval and bench ask suggestions for, and their kinds."""

from __future__ import annotations

from kbd_lm.evaluation.keystrokes import COMPLETION, NEXT_WORD, keystrokes, typed_words
from kbd_lm.text.normalization import WORD_RE

UNITS = [
    "Hi, how are you?",
    "I don't know... rock'n'roll!",
    "wasn''t it 5 o'clock",
    "'tis snake_case :) ok",
    "",
]


def test_every_prefix_once_in_order():
    for unit in UNITS:
        keys = keystrokes(unit)
        assert [k.text for k in keys] == [unit[:i] for i in range(len(unit) + 1)]
    assert [k.kind for k in keystrokes("ok. Hi")] == [
        NEXT_WORD,  # ""
        COMPLETION,  # "o"
        COMPLETION,  # "ok"
        NEXT_WORD,  # "ok."
        NEXT_WORD,  # "ok. "
        COMPLETION,  # "ok. H"
        COMPLETION,  # "ok. Hi"
    ]


def test_typed_words_are_the_evaluated_keystrokes():
    """For every word: its context is a next-word keystroke, each later one a completion.

    This is what makes eval's next-word / completion split and bench's the same thing.
    """
    for unit in UNITS:
        words = list(typed_words(unit))
        assert [w.word for w in words] == WORD_RE.findall(unit)
        for w, match in zip(words, WORD_RE.finditer(unit), strict=True):
            assert w.context == unit[: match.start()]
            assert [k.text for k in w.keys] == [w.context + w.word[:j] for j in range(len(w.word))]
            assert [k.kind for k in w.keys] == [NEXT_WORD] + [COMPLETION] * (len(w.word) - 1)
