"""A compact word list shipped in the bundle: the completions the beam search cannot reach.

The model predicts pieces, so a long, rare word (*microprocessor*, *predetermined*) is only
suggested when the beam happens to spell out all of its pieces, which it rarely does before
the user has typed most of it; a word n-gram completes such words from its word list after a
few letters (docs/experiments.md, "Completions and the word list"). The lexicon gives the
predictor that word list: the most frequent words of the training text with their counts, in
display casing.

File format (``lexicon.txt.gz`` in the bundle, gzip of UTF-8 text, one word per line, most
frequent first)::

    kbd-lm-lexicon 1
    the<TAB>412345
    I<TAB>398211
    ...

>>> lex = Lexicon({"the": 50, "there": 20, "Thursday": 4, "cat": 9})
>>> lex.completions("th", 2)
[('the', 50), ('there', 20)]
>>> lex.completions("thu", 5)
[('Thursday', 4)]
>>> lex.completions("x", 3)
[]
"""

from __future__ import annotations

import bisect
import gzip
import heapq
import logging
from collections import Counter
from collections.abc import Iterable, Mapping
from pathlib import Path

from kbd_lm.common.fsutil import atomic_write_bytes
from kbd_lm.inference.bundle import LEXICON_FILE
from kbd_lm.text.normalization import WORD_RE, completes

log = logging.getLogger(__name__)

MAGIC = "kbd-lm-lexicon 1"
FILE = LEXICON_FILE  # (the bundle's file table names it)
# Prefixes this short match thousands of words: their best completions are precomputed.
INDEXED_PREFIX = 2
INDEXED_TOP = 16


# The lexicon's share of a completion's probability and the words it proposes per call.
# Chosen by KSR on the validation splits (kbd_lm.evaluation.lexicon_tune; 500 words per source
# of the default mixture, default bundle): 0.0 -> 0.4933, 0.1 -> 0.4980, 0.2 -> 0.4958,
# 0.4 -> 0.4901.
DEFAULT_WEIGHT = 0.1
CANDIDATES = 8
# What a completion the model spelled but the list does not hold keeps of its probability,
# when the list has completions of the typed letters: such spellings are mostly made-up words
# ("microph" for "microp"). Chosen by KSR on the validation splits of the eight kinds of
# text (1,500 words each, 0.5.0): 1 -> 0.4858, 0.1 -> 0.4885, 0.01 -> 0.4897,
# 0.001 -> 0.4900, 0 -> 0.4900 (docs/experiments.md).
UNLISTED = 0.001


def mix_lexicon(
    words: list[tuple[str, float]],
    lexicon: Lexicon,
    partial: str,
    weight: float = DEFAULT_WEIGHT,
    candidates: int = CANDIDATES,
) -> list[tuple[str, float]]:
    """Completions of ``partial`` from the model (``words``, best first) and the lexicon.

    ``P(w) = (1 - weight) g(w) P_model(w) + weight * S * P_lex(w | partial)``, where
    ``P_lex`` is the word's share of the counts of the lexicon's ``candidates`` most frequent
    words that start with the typed letters, ``S`` the probability the model gives to the
    *listed* words it found (its estimate of how likely a known word starting with them is;
    1e-6 if it found none, and then the lexicon ranks), and ``g(w)`` is 1 for a listed word
    (or one of decimal digits only, which the list leaves out) and :data:`UNLISTED` for a spelling
    the list does not hold. A word the model did not find counts 0 under the model. When no
    listed word starts with the typed letters, the model's words stay as they are; nothing
    changes for a next word (``partial`` empty): the lexicon knows no context.

    The typed word itself is no completion (:func:`kbd_lm.text.normalization.completes`),
    even if listed.

    >>> lex = Lexicon({"micro": 50, "microprocessor": 30, "microscope": 10, "microwave": 5})
    >>> mixed = mix_lexicon([("microwave", 0.02), ("microph", 0.01)], lex, "micro", weight=0.5)
    >>> [(w, round(p, 6)) for w, p in mixed]  # doctest: +NORMALIZE_WHITESPACE
    [('microwave', 0.011111), ('microprocessor', 0.006667), ('microscope', 0.002222),
     ('microph', 5e-06)]
    """
    if not partial or weight <= 0:
        return words
    # One more than needed: the typed word itself, if listed, is no completion.
    found = lexicon.completions(partial, candidates + 1)
    found = [(w, n) for w, n in found if completes(w, partial)][:candidates]
    total = sum(n for _, n in found)
    if not total:
        return words
    share = [1.0 if lexicon.count(w) or w.isdecimal() else UNLISTED for w, _ in words]
    # The model's estimate of a listed word here; none found: the lexicon alone ranks.
    mass = sum(p for (_, p), g in zip(words, share, strict=True) if g == 1.0) or 1e-6
    mixed = {w.lower(): [w, (1 - weight) * g * p] for (w, p), g in zip(words, share, strict=True)}
    for w, n in found:
        entry = mixed.setdefault(w.lower(), [w, 0.0])
        entry[1] += weight * mass * n / total
    return sorted(((w, p) for w, p in mixed.values()), key=lambda e: -e[1])


def _rank(entry: tuple[str, int]) -> tuple[int, str]:
    return -entry[1], entry[0].lower()


def _is_ranked(entries: list[tuple[str, int]]) -> bool:
    """True if ``entries`` are in :func:`_rank` order (checked pairwise, cheaply)."""
    for (w1, n1), (w2, n2) in zip(entries, entries[1:], strict=False):
        if n1 < n2 or (n1 == n2 and w1.lower() > w2.lower()):
            return False
    return True


class LexiconError(ValueError):
    """A lexicon file that is not in the format above."""


class Lexicon:
    """Words with counts, searchable by a typed prefix (case-insensitive).

    ``words`` maps each word, in its most common casing, to its count in the training text.
    """

    def __init__(self, words: Mapping[str, int]) -> None:
        self._build(sorted(((w, int(n)) for w, n in words.items()), key=_rank))

    def _build(self, ranked: list[tuple[str, int]]) -> None:
        """Index ``(word, count)`` pairs ranked most frequent first, ties alphabetical (the
        order of the file and of every answer); the pairs are shared by both indexes."""
        self.total = sum(n for _, n in ranked)
        self._top: dict[str, list[tuple[str, int]]] = {}
        keys = []
        for entry in ranked:  # one pass: a prefix's first entries are its best
            key = entry[0].lower()
            keys.append(entry[0] if key == entry[0] else key)  # (one string when lowercase)
            for j in range(1, min(INDEXED_PREFIX, len(key)) + 1):
                found = self._top.setdefault(key[:j], [])
                if len(found) < INDEXED_TOP:
                    found.append(entry)
        by_key = sorted(range(len(ranked)), key=keys.__getitem__)
        self._keys = [keys[i] for i in by_key]
        self._entries = [ranked[i] for i in by_key]

    def __len__(self) -> int:
        return len(self._keys)

    def completions(self, prefix: str, n: int) -> list[tuple[str, int]]:
        """The ``n`` most frequent words starting with ``prefix`` (any case), most frequent first.

        Words equal to the prefix count too: "the" completes "the".
        """
        key = prefix.lower()
        if not key:
            return []
        if len(key) <= INDEXED_PREFIX and n <= INDEXED_TOP:
            return self._top.get(key, [])[:n]
        lo = bisect.bisect_left(self._keys, key)
        hi = bisect.bisect_left(self._keys, key + "\U0010ffff")
        return heapq.nlargest(n, self._entries[lo:hi], key=lambda e: e[1])

    def items(self) -> list[tuple[str, int]]:
        """Every ``(word, count)``, most frequent first (ties alphabetical, as in the file).

        >>> Lexicon({"cat": 9, "the": 50}).items()
        [('the', 50), ('cat', 9)]
        """
        return sorted(self._entries, key=_rank)

    def count(self, word: str) -> int:
        """The count of ``word`` (any case), 0 if it is not listed."""
        key = word.lower()
        i = bisect.bisect_left(self._keys, key)
        return self._entries[i][1] if i < len(self._keys) and self._keys[i] == key else 0

    # ------------------------------------------------------------------ file

    def to_bytes(self) -> bytes:
        ranked = self.items()
        text = "\n".join([MAGIC, *(f"{w}\t{n}" for w, n in ranked)]) + "\n"
        return gzip.compress(text.encode("utf-8"), compresslevel=9, mtime=0)

    def save(self, path: Path) -> Path:
        atomic_write_bytes(path, self.to_bytes())
        return path

    @classmethod
    def load(cls, path: Path) -> Lexicon:
        """Read a lexicon file; a damaged one raises :class:`LexiconError` naming the file."""
        try:
            lines = gzip.decompress(Path(path).read_bytes()).decode("utf-8").splitlines()
        except (OSError, EOFError, UnicodeDecodeError) as err:
            raise LexiconError(f"{path}: not a gzip UTF-8 lexicon ({err})") from err
        if not lines or lines[0] != MAGIC:
            raise LexiconError(f"{path}: first line is not {MAGIC!r}")
        ranked = []
        for n, line in enumerate(lines[1:], start=2):
            word, _, count = line.partition("\t")
            if not word or not count.isdigit():
                raise LexiconError(f"{path}:{n}: expected 'word<TAB>count'")
            ranked.append((word, int(count)))
        del lines
        lex = cls.__new__(cls)
        # Files are written ranked (to_bytes); one that is not (older bundles order equal
        # counts differently) is ranked here.
        lex._build(ranked if _is_ranked(ranked) else sorted(ranked, key=_rank))
        return lex


def build(units: Iterable[str], max_bytes: int, min_count: int = 3) -> Lexicon:
    """The most frequent words of ``units`` whose file fits in ``max_bytes``.

    A word is :data:`kbd_lm.text.normalization.WORD_RE` (letters, digits, inner apostrophes),
    at least two characters and not only digits; its display form is its most frequent casing.
    Words seen fewer than ``min_count`` times are left out (typos, names of one conversation).

    >>> lex = build(["The cat saw the other cat", "the end"], max_bytes=1000, min_count=2)
    >>> lex.completions("t", 3)
    [('the', 3)]
    """
    forms: Counter[str] = Counter()
    for unit in units:
        forms.update(m.group(0) for m in WORD_RE.finditer(unit))
    counts: Counter[str] = Counter()
    display: dict[str, tuple[int, str]] = {}
    for form, n in forms.items():
        key = form.lower()
        counts[key] += n
        if n > display.get(key, (0, ""))[0]:
            display[key] = (n, form)
    ranked = [
        (display[key][1], n)
        for key, n in counts.most_common()
        if n >= min_count and len(key) >= 2 and not key.isdigit()
    ]
    # The file is compressed: find the longest prefix of the ranking that fits, by bisection.
    lo, hi = 0, len(ranked)
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if len(Lexicon(dict(ranked[:mid])).to_bytes()) <= max_bytes:
            lo = mid
        else:
            hi = mid - 1
    lex = Lexicon(dict(ranked[:lo]))
    log.info(
        "lexicon: %d words (of %d seen %d+ times) in %d bytes",
        lo,
        len(ranked),
        min_count,
        len(lex.to_bytes()),
    )
    return lex
