"""The bundle's pieces as the word search reads them: which start a word, which continue one,
which end one, and indexes of their text for the letters a user has typed.

>>> ix = PrefixIndex(["th", "the", "a", "than"], [3, 4, 5, 6])
>>> ix.starting_with("th").tolist()
[3, 6, 4]
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass

import numpy as np

from kbd_lm.text.tokenizer import EOS_ID, WORD_START, Tokenizer


class PrefixIndex:
    """Piece ids by their lowercase text, sorted, for prefix and exact look-ups by bisection.

    >>> ix = PrefixIndex(["th", "the", "a", "than"], [3, 4, 5, 6])
    >>> ix.starting_with("th").tolist(), ix.exactly("th").tolist()
    ([3, 6, 4], [3])
    """

    def __init__(self, keys: list[str], ids: list[int]) -> None:
        order = sorted(range(len(keys)), key=lambda j: (keys[j], ids[j]))
        self.keys = [keys[j] for j in order]
        self.ids = np.array([ids[j] for j in order], np.int64)
        self._covering: dict[str, np.ndarray] = {}

    def starting_with(self, prefix: str) -> np.ndarray:
        lo = bisect.bisect_left(self.keys, prefix)
        return self.ids[lo : bisect.bisect_left(self.keys, prefix + "\U0010ffff", lo)]

    def exactly(self, key: str) -> np.ndarray:
        lo = bisect.bisect_left(self.keys, key)
        return self.ids[lo : bisect.bisect_right(self.keys, key, lo)]

    def covering(self, rest: str) -> np.ndarray:
        """Pieces that spell all of ``rest`` (and maybe more), then those that spell a first
        part of it ("" = the bare "▁"); remembered, as every keystroke asks again.

        >>> PrefixIndex(["", "th", "the", "t"], [1, 2, 3, 4]).covering("the").tolist()
        [3, 1, 4, 2]
        """
        found = self._covering.get(rest)
        if found is None:
            parts = [self.starting_with(rest), *(self.exactly(rest[:j]) for j in range(len(rest)))]
            found = np.concatenate(parts)
            if len(self._covering) >= 4096:  # bounded: typed words are few, but not all alike
                self._covering.clear()
            self._covering[rest] = found
        return found


@dataclass
class Pieces:
    """Per-piece tables over the vocabulary, built once from the tokenizer."""

    text: list[str]  # surface text without the leading "▁"
    lower: list[str]
    starts_word: np.ndarray  # bool [V]: a word-start piece whose text is a word (or empty "▁")
    continues: np.ndarray  # bool [V]: may continue a word (letters, digits, apostrophes)
    boundary: np.ndarray  # bool [V]: ends the word before it
    start: PrefixIndex  # word-start pieces by their text ("" = the bare "▁")
    cont: PrefixIndex  # word-continuing pieces by their text


def piece_tables(tok: Tokenizer) -> Pieces:
    n = tok.vocab_size
    text, lower = [], []
    starts = np.zeros(n, bool)
    cont = np.zeros(n, bool)
    boundary = np.zeros(n, bool)
    for i, piece in enumerate(tok.pieces()):
        special = tok.is_control_or_unknown(i) or tok.is_byte(i)
        word_start = piece.startswith(WORD_START)
        body = piece[1:] if word_start else piece
        text.append("" if special else body)
        lower.append("" if special else body.lower())
        if special:
            boundary[i] = i == EOS_ID or tok.is_byte(i)
            continue
        wordish = bool(body) and all(ch.isalnum() or ch == "'" for ch in body)
        if word_start:
            boundary[i] = True
            if body == "" or (wordish and body[0].isalnum()):
                starts[i] = True
        elif wordish:
            cont[i] = True
        else:
            boundary[i] = True  # punctuation and symbols end a word
    start_ids, cont_ids = np.flatnonzero(starts).tolist(), np.flatnonzero(cont).tolist()
    return Pieces(
        text,
        lower,
        starts,
        cont,
        boundary,
        PrefixIndex([lower[i] for i in start_ids], start_ids),
        PrefixIndex([lower[i] for i in cont_ids], cont_ids),
    )
