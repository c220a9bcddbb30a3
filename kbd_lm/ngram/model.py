"""Interpolated Kneser-Ney trigram word model: the n-gram baseline keyboards ship today.

Trained on normalised units (one utterance = one unit; the context never crosses a unit).
Each unit is padded ``<s> <s> w1 ... wn </s>``; words are
:func:`kbd_lm.text.normalization.words` tokens (lowercased, punctuation dropped). The
estimate is modified Kneser-Ney (Chen & Goodman: three discounts per order from the
count-of-counts), interpolated: raw counts at the trigram level, continuation counts
(distinct left words) at the bigram and unigram levels, except for n-grams starting with
``<s>`` (nothing can precede it, so they keep raw counts, as KenLM does), and the unigram
level interpolated with the uniform distribution over the vocabulary plus ``</s>`` and
``<unk>``.

The model is stored in ARPA form (an interpolated probability per kept n-gram, a backoff
weight per context) in a compact binary file, see :mod:`kbd_lm.ngram.file`. A model in memory
is always exactly what its file holds (it is rebuilt from its own bytes), so ``size_bytes()``
is the file size and save/load round trips are exact.

>>> lm = KneserNeyTrigram.train(["see you soon", "see you later", "thank you"], bits=32)
>>> [s.word for s in lm.suggest("see ", k=1)]
['you']
>>> [s.word for s in lm.suggest("see you s", k=1)]
['soon']
"""

from __future__ import annotations

import bisect
import logging
import math
import time
from array import array
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from kbd_lm.common.fsutil import atomic_write_bytes
from kbd_lm.inference.suggestion import Suggestion
from kbd_lm.ngram.file import N_SPECIAL, Arrays, id_dtype, pack, parse
from kbd_lm.text.normalization import PARTIAL_WORD_RE, normalize, normalize_prefix, words

log = logging.getLogger(__name__)

BOS, EOS, UNK = "<s>", "</s>", "<unk>"
BOS_ID, EOS_ID, UNK_ID = 0, 1, 2
# Only the end of a long text matters for a trigram; normalising 100k characters per key
# press would not.
MAX_PREFIX_CHARS = 200
# Unigram candidates for prefix ranges up to this many words are ranked densely.
_DENSE_RANGE = 8192
_FALLBACK_DISCOUNTS = (0.75, 0.75, 0.75)


@dataclass
class _Counts:
    """Training counts: what re-estimation after pruning needs (not saved in the file).

    Bigram keys are ``v * V + w``, trigram keys ``(u * V + v) * V + w`` (int64, sorted). The
    bigram table also holds the context-only ``(<s>, <s>)`` with zero counts.
    """

    vocab: list[str]
    key2: np.ndarray
    a2: np.ndarray  # adjusted counts: distinct left words (raw counts after <s>)
    c2: np.ndarray  # raw counts
    key3: np.ndarray
    c3: np.ndarray
    a1: np.ndarray  # [V] distinct left words of each word
    discounts: tuple[tuple[float, float, float], ...]  # orders 1, 2, 3: D(1), D(2), D(3+)
    tokens: int

    @property
    def size(self) -> int:
        return len(self.vocab) + N_SPECIAL


def _discount_table(values: np.ndarray) -> tuple[float, float, float]:
    """Modified Kneser-Ney discounts D(1), D(2), D(3+) from the count-of-counts.

    Falls back to plain KN (0.75 for every count) when counts of 1..4 are too few for the
    estimate (tiny corpora) or it is out of range.

    >>> [round(d, 3) for d in _discount_table(np.repeat([1, 2, 3, 4], [50, 20, 10, 6]))]
    [0.556, 1.167, 1.667]
    """
    n = [int(np.count_nonzero(values == i)) for i in range(1, 5)]
    if min(n) < 2:
        return _FALLBACK_DISCOUNTS
    y = n[0] / (n[0] + 2 * n[1])
    raw = (1 - 2 * y * n[1] / n[0], 2 - 3 * y * n[2] / n[1], 3 - 4 * y * n[3] / n[2])
    if not all(0 < d < j for j, d in enumerate(raw, start=1)):
        return _FALLBACK_DISCOUNTS
    return raw


def _discount(table: tuple[float, float, float], counts: np.ndarray) -> np.ndarray:
    lookup = np.array((0.0, *table))
    return lookup[np.minimum(counts, 3)]


def _count(units: Iterable[str], min_count: int) -> _Counts:
    """Count unigrams (adjusted), bigrams and trigrams of the padded units."""
    ids: dict[str, int] = {}
    flat = array("q")
    for unit in units:
        toks = words(unit)
        if not toks:
            continue  # nothing a keyboard would have predicted
        row = [BOS_ID, BOS_ID]
        for tok in toks:
            i = ids.get(tok)
            if i is None:
                i = ids[tok] = len(ids) + N_SPECIAL
            row.append(i)
        row.append(EOS_ID)
        flat.extend(row)
    temp = np.frombuffer(flat, dtype=np.int64) if len(flat) else np.zeros(0, np.int64)
    raw_counts = np.bincount(temp, minlength=len(ids) + N_SPECIAL)
    by_temp = list(ids)
    vocab = sorted(w for w in by_temp if raw_counts[ids[w]] >= min_count)
    final = {w: i + N_SPECIAL for i, w in enumerate(vocab)}
    mapping = np.arange(len(ids) + N_SPECIAL, dtype=np.int64)
    mapping[N_SPECIAL:] = [final.get(w, UNK_ID) for w in by_temp]
    size = len(vocab) + N_SPECIAL
    toks = mapping[temp]

    pos = np.flatnonzero(toks != BOS_ID)  # every predicted token; two <s> precede each unit
    u, v, w = toks[pos - 2], toks[pos - 1], toks[pos]
    key3, c3 = np.unique((u * size + v) * size + w, return_counts=True)
    key2, c2 = np.unique(v * size + w, return_counts=True)
    suffix, a2 = np.unique(key3 % (size * size), return_counts=True)
    assert np.array_equal(suffix, key2)  # every bigram type ends some trigram type
    after_bos = key2 // size == BOS_ID
    a2[after_bos] = c2[after_bos]
    a1 = np.bincount(key2 % size, minlength=size)
    discounts = (_discount_table(a1), _discount_table(a2), _discount_table(c3))
    # The context (<s>, <s>) of every first word: a bigram table row with no counts.
    if len(key2) == 0 or key2[0] != 0:
        key2, a2, c2 = (np.concatenate([[0], x]) for x in (key2, a2, c2))
    return _Counts(vocab, key2, a2, c2, key3, c3, a1, discounts, int(len(pos)))


def _estimate(c: _Counts, keep2: np.ndarray | None = None, keep3: np.ndarray | None = None):
    """Interpolated modified-KN probabilities, keeping only ``keep2``/``keep3`` n-grams.

    Pruned n-grams give all their probability mass to their context's backoff weight, so every
    conditional distribution still sums to one. Returns ``(arrays, full)`` where ``full`` holds
    the float64 probabilities of every n-gram (used to score n-grams for pruning).
    """
    size = c.size
    n2 = len(c.key2)
    keep2 = np.ones(n2, bool) if keep2 is None else keep2
    keep3 = np.ones(len(c.key3), bool) if keep3 is None else keep3

    a1 = c.a1.astype(np.float64)
    d1 = _discount(c.discounts[0], c.a1)
    total1 = a1.sum()
    if total1 > 0:
        p1 = (a1 - d1) / total1 + (d1.sum() / total1) / (size - 1)
    else:
        p1 = np.full(size, 1.0 / (size - 1))
    p1[BOS_ID] = 0.0

    v2, w2 = c.key2 // size, c.key2 % size
    a2 = c.a2.astype(np.float64)
    d2 = _discount(c.discounts[1], c.a2)
    s2 = np.bincount(v2, weights=a2, minlength=size)
    back2 = np.bincount(v2, weights=np.where(keep2, d2, a2), minlength=size)
    with np.errstate(divide="ignore", invalid="ignore"):
        gamma2 = np.where(s2 > 0, back2 / s2, 1.0)
        p2 = np.where(s2[v2] > 0, (a2 - d2) / s2[v2], 0.0) + gamma2[v2] * p1[w2]

    ctx = c.key3 // size
    w3, v3 = c.key3 % size, ctx % size
    b3 = np.searchsorted(c.key2, ctx)
    c3 = c.c3.astype(np.float64)
    d3 = _discount(c.discounts[2], c.c3)
    s3 = np.bincount(b3, weights=c3, minlength=n2)
    back3 = np.bincount(b3, weights=np.where(keep3, d3, c3), minlength=n2)
    gamma3 = np.where(s3 > 0, back3 / np.maximum(s3, 1e-300), 1.0)
    j = np.searchsorted(c.key2, v3 * size + w3)
    lower = np.where(keep2[j], p2[j], gamma2[v3] * p1[w3])
    p3 = (c3 - d3) / s3[b3] + gamma3[b3] * lower

    has2 = np.bincount(v2[keep2], minlength=size) > 0
    has2[BOS_ID] = True  # the (<s>, <s>) row is always there
    has3 = np.bincount(b3[keep3], minlength=n2) > 0
    new_index = np.cumsum(keep2) - 1
    lp1 = np.log(np.where(p1 > 0, p1, 1.0))
    lp1[BOS_ID] = lp1[BOS_ID + 1 :].min()  # never predicted: keep it inside the codebook range
    with np.errstate(divide="ignore"):
        lp2 = np.log(p2[keep2])
        if np.isneginf(lp2).any():  # the context-only (<s>, <s>) entry: never predicted
            finite = lp2[np.isfinite(lp2)]
            lp2[np.isneginf(lp2)] = finite.min() if len(finite) else -50.0
        arrays = Arrays(
            vocab=c.vocab,
            lp1=lp1,
            lbo1=np.where(has2 & (s2 > 0), np.log(gamma2), 0.0),
            key2=c.key2[keep2],
            lp2=lp2,
            lbo2=np.where(has3 & (s3 > 0), np.log(gamma3), 0.0)[keep2],
            w3=w3[keep3],
            ctx3=new_index[b3[keep3]],
            lp3=np.log(p3[keep3]),
            discounts=c.discounts,
        )
    full = {"p1": p1, "p2": p2, "gamma2": gamma2, "p3": p3, "gamma3": gamma3, "b3": b3, "j": j}
    return arrays, full


class KneserNeyTrigram:
    """A trigram word model for keyboard suggestions (see the module docstring).

    Build it with :meth:`train` or :meth:`load`; shrink it with :meth:`pruned`.
    """

    def __init__(self, blob: bytes, counts: _Counts | None = None) -> None:
        """Rebuild a model from its file bytes (use :meth:`train` or :meth:`load`)."""
        header, text, sec = parse(blob)

        def deq(name: str) -> np.ndarray:
            book = sec.get(f"book_{name}")
            arr = sec[name]
            return (book[arr] if book is not None else arr).astype(np.float32)

        self.vocab: list[str] = text.split("\n") if text else []
        size = len(self.vocab) + N_SPECIAL
        if size != header["vocab_size"]:
            raise ValueError("model file vocabulary does not match its header")
        self.size = size
        self.bits = header["bits"]
        self.header = header
        self._index = {w: i + N_SPECIAL for i, w in enumerate(self.vocab)}
        lengths = {k: len(v) for k, v in sec.items() if not k.startswith("book_")}
        n1 = sec["n1"].astype(np.int64)
        n2 = sec["n2"].astype(np.int64)
        if (
            {lengths[k] for k in ("p1", "bo1", "n1")} != {size}
            or {lengths[k] for k in ("p2", "bo2", "n2")} != {lengths["w2"]}
            or lengths["p3"] != lengths["w3"]
            or n1.sum() != lengths["w2"]
            or n2.sum() != lengths["w3"]
        ):
            raise ValueError("model file tables do not match each other")
        self._has2 = n1 > 0
        self._has3 = n2 > 0
        self._lp1 = deq("p1")
        self._lbo1 = np.where(self._has2, deq("bo1"), 0.0).astype(np.float32)
        self._key2 = np.repeat(np.arange(size, dtype=np.int64), n1) * size + sec["w2"]
        self._lp2 = deq("p2")
        self._lbo2 = np.where(self._has3, deq("bo2"), 0.0).astype(np.float32)
        self._key3 = np.repeat(np.arange(len(n2), dtype=np.int64), n2) * size + sec["w3"]
        self._lp3 = deq("p3")
        too_big = any(len(sec[k]) and int(sec[k].max()) >= size for k in ("w2", "w3"))
        if too_big or np.any(np.diff(self._key2) <= 0) or np.any(np.diff(self._key3) <= 0):
            raise ValueError("model file n-gram tables are corrupt (word ids or order)")
        self._uni_order = N_SPECIAL + np.argsort(-self._lp1[N_SPECIAL:], kind="stable")
        self._blob = blob
        self._counts = counts
        self.pruning: dict | None = None  # how pruned() built this model, if it did

    # ----------------------------------------------------------------------------- building

    @classmethod
    def train(cls, units: Iterable[str], min_count: int = 1, bits: int = 8) -> KneserNeyTrigram:
        """Train on normalised units (one utterance each).

        Words seen fewer than ``min_count`` times become ``<unk>``. ``bits`` (8, 16 or 32) is
        the storage of each log-probability and backoff weight; 8 is what a phone would ship.

        >>> lm = KneserNeyTrigram.train(["hi there", "hi you"], bits=32)
        >>> lm.counts()
        {'vocab': 3, 'bigrams': 5, 'trigrams': 5}
        """
        t0 = time.perf_counter()
        counts = _count(units, min_count)
        arrays, _ = _estimate(counts)
        model = cls(pack(arrays, bits), counts)
        log.info(
            "KN trigram: %s tokens, %s in %.1fs, %s bytes",
            f"{counts.tokens:,}",
            model.counts(),
            time.perf_counter() - t0,
            f"{model.size_bytes():,}",
        )
        return model

    def pruned(self, max_bytes: int) -> KneserNeyTrigram:
        """A smaller model whose file fits ``max_bytes``, re-estimated on what is kept.

        Count cut-offs: bigrams seen fewer than ``t`` times are dropped, ``t`` being the
        smallest cut-off (1, 2, 3, ...) that leaves room in the budget for at least as many
        trigrams as bigrams; then trigrams are kept most frequent first (ties: the larger
        weighted difference ``count * ln(P(w|uv) / P_backoff(w|uv))`` first) as long as they
        fit, with the context bigram of each. The vocabulary is kept whole. On chitchat at
        1.5 MB this beat ranking everything by weighted difference (perplexity 132 vs 135 on
        valid), and the rule picked the best cut-off at 0.8, 1.5 and 3 MB.

        Re-estimation: discounts and continuation counts come from the full data; the
        discounted mass of every dropped n-gram goes to its context's backoff weight, so each
        distribution still sums to one. Needs the training counts: a model read with
        :meth:`load` cannot be pruned.
        """
        c = self._counts
        if c is None:
            raise ValueError("pruned() needs a trained model: counts are not saved in the file")
        t0 = time.perf_counter()
        _, full = _estimate(c)
        b3 = full["b3"]
        with np.errstate(divide="ignore", invalid="ignore"):
            backoff = full["gamma3"][b3] * full["p2"][full["j"]]
            weighted_difference = c.c3 * (np.log(full["p3"]) - np.log(backoff))
        order = np.lexsort((-weighted_difference, -c.c3))  # trigrams, best first
        ctx = b3[order]
        first = np.zeros(len(ctx), bool)
        first[np.unique(ctx, return_index=True)[1]] = True  # first trigram of its context

        # Bytes per entry, from the layout in kbd_lm.ngram.file.pack; the rest does not depend
        # on pruning.
        id_bytes = np.dtype(id_dtype(c.size)).itemsize
        prob_bytes = self.bits // 8
        per2, per3 = 2 * id_bytes + 2 * prob_bytes, id_bytes + prob_bytes
        fixed = len(self._blob) - per2 * len(self._key2) - per3 * len(self._key3)

        def plan(cutoff: int) -> tuple[np.ndarray, int, int]:
            """Bigrams kept by ``cutoff``, and how many trigrams (and bigrams) then fit."""
            keep2 = c.c2 >= cutoff
            keep2[c.key2 == 0] = True  # (<s>, <s>): the context of every first word
            extra = np.cumsum(first & ~keep2[ctx])  # context bigrams the trigrams add
            base = fixed + per2 * int(keep2.sum())
            sizes = base + per2 * extra + per3 * np.arange(1, len(ctx) + 1)
            n3 = int(np.searchsorted(sizes, max_bytes, side="right"))
            n2 = int(keep2.sum()) + (int(extra[n3 - 1]) if n3 else 0)
            return keep2, n3, n2 if base <= max_bytes else -1

        choice = None
        for cutoff in range(1, int(c.c2.max(initial=0)) + 2):
            keep2, n3, n2 = plan(cutoff)
            if n2 < 0:
                continue  # the bigrams alone do not fit
            choice = (cutoff, keep2, n3)
            if n3 >= n2:
                break
        if choice is None:
            raise ValueError(f"max_bytes={max_bytes:,}: even the unigram model does not fit")
        cutoff, keep2, n3 = choice
        model, n3 = self._fit(keep2, b3, order, n3, max_bytes, per3)
        model.pruning = {"max_bytes": max_bytes, "bigram_cutoff": cutoff, "trigrams_kept": n3}
        log.info(
            "KN trigram pruned to %s bytes (budget %s, bigram cut-off %d): %s in %.1fs",
            f"{model.size_bytes():,}",
            f"{max_bytes:,}",
            cutoff,
            model.counts(),
            time.perf_counter() - t0,
        )
        return model

    def _fit(
        self,
        keep2: np.ndarray,
        b3: np.ndarray,
        order: np.ndarray,
        n3: int,
        max_bytes: int,
        per3: int,
    ) -> tuple[KneserNeyTrigram, int]:
        """:meth:`pruned`'s last step: the model re-estimated on the bigrams ``keep2`` and the
        first ``n3`` trigrams of ``order`` with their context bigrams (``b3``: each trigram's
        context bigram), fewer trigrams while the file is over ``max_bytes`` (``per3`` bytes a
        trigram); returns it and the trigrams kept."""
        c = self._counts
        while True:
            keep3 = np.zeros(len(order), bool)
            keep3[order[:n3]] = True
            k2 = keep2.copy()
            k2[b3[keep3]] = True
            arrays, _ = _estimate(c, k2, keep3)
            model = KneserNeyTrigram(pack(arrays, self.bits), c)
            over = model.size_bytes() - max_bytes
            if over <= 0 or n3 == 0:
                break
            n3 = max(0, n3 - over // per3 - 16)  # the header estimate was a little off
        if model.size_bytes() > max_bytes:
            raise ValueError(f"max_bytes={max_bytes:,}: even the unigram model does not fit")
        return model, n3

    @classmethod
    def load(cls, path: Path) -> KneserNeyTrigram:
        """Read a model written by :meth:`save`; a damaged file is a ValueError naming it."""
        try:
            return cls(Path(path).read_bytes())
        except (ValueError, KeyError, TypeError, AttributeError, IndexError) as err:
            raise ValueError(f"{path}: not a readable Kneser-Ney model file ({err})") from err

    def save(self, path: Path) -> None:
        """Write the model file atomically; its size is :meth:`size_bytes`."""
        atomic_write_bytes(Path(path), self._blob)

    def size_bytes(self) -> int:
        """Size of the model file in bytes."""
        return len(self._blob)

    def counts(self) -> dict[str, int]:
        """Vocabulary words (without <s>, </s>, <unk>) and bigram/trigram types stored."""
        real2 = len(self._key2) - int(self._key2[0] == 0) if len(self._key2) else 0
        return {"vocab": len(self.vocab), "bigrams": real2, "trigrams": len(self._key3)}

    # ---------------------------------------------------------------------------- querying

    def _context(self, text: str) -> tuple[int, int, str | None]:
        """``(u, v, partial)``: the ids of the last two words and the word being typed."""
        if len(text) > MAX_PREFIX_CHARS:
            text = text[-MAX_PREFIX_CHARS:]
        prefix = normalize_prefix(text)
        partial = None
        if prefix and not prefix.endswith(" "):
            match = PARTIAL_WORD_RE.search(prefix)
            if match:
                partial = match.group(0)
                prefix = prefix[: match.start()]
        ctx = [self._index.get(w, UNK_ID) for w in words(prefix)[-2:]]
        ctx = [BOS_ID] * (2 - len(ctx)) + ctx
        return ctx[0], ctx[1], partial

    def _bigram_index(self, u: int, v: int) -> int:
        key = u * self.size + v
        i = int(np.searchsorted(self._key2, key))
        return i if i < len(self._key2) and self._key2[i] == key else -1

    def _scores(self, u: int, v: int, ws: np.ndarray) -> np.ndarray:
        """ln P(w | u v) for an array of word ids."""
        size = self.size
        scores = self._lp1[ws].astype(np.float64)
        if self._has2[v]:
            scores += self._lbo1[v]
            keys = v * size + ws
            pos = np.minimum(np.searchsorted(self._key2, keys), len(self._key2) - 1)
            found = self._key2[pos] == keys
            scores[found] = self._lp2[pos[found]]
        b = self._bigram_index(u, v)
        if b >= 0 and self._has3[b]:
            scores += self._lbo2[b]
            keys = b * size + ws
            pos = np.minimum(np.searchsorted(self._key3, keys), len(self._key3) - 1)
            found = self._key3[pos] == keys
            scores[found] = self._lp3[pos[found]]
        return scores

    def _top_unigrams(self, lo: int, hi: int, m: int) -> np.ndarray:
        if hi - lo <= _DENSE_RANGE:
            return lo + _top(self._lp1[lo:hi], m)
        found: list[np.ndarray] = []
        n = 0
        for start in range(0, len(self._uni_order), 4096):
            chunk = self._uni_order[start : start + 4096]
            chunk = chunk[(chunk >= lo) & (chunk < hi)]
            found.append(chunk[: m - n])
            n += len(found[-1])
            if n >= m:
                break
        return np.concatenate(found) if found else np.zeros(0, np.int64)

    def suggest(self, text: str, k: int = 3) -> list[Suggestion]:
        """The ``k`` most probable words for the text before the cursor, best first.

        After a space or punctuation (or on empty text): next words given the last two words.
        Inside a word: vocabulary words longer than the typed letters and starting with them
        (case-insensitive), given the words before it. Words are lowercase, as the model counts
        them.

        >>> lm = KneserNeyTrigram.train(["good morning", "good night", "good night"], bits=32)
        >>> [s.word for s in lm.suggest("Good ")]
        ['night', 'morning', 'good']
        >>> [s.word for s in lm.suggest("Good M")], [s.word for s in lm.suggest("Good night")]
        (['morning'], [])
        """
        if not isinstance(text, str) or k <= 0:
            return []
        u, v, partial = self._context(text)
        lo, hi = N_SPECIAL, self.size
        if partial is not None:
            low = partial.lower()
            lo = N_SPECIAL + bisect.bisect_left(self.vocab, low)
            hi = N_SPECIAL + bisect.bisect_left(self.vocab, low + "\U0010ffff", lo - N_SPECIAL)
            if lo < hi and self.vocab[lo - N_SPECIAL] == low:
                lo += 1  # the typed word is no completion (kbd_lm.text.normalization.completes)
        if lo >= hi:
            return []
        size = self.size
        # Each level's k best in [lo, hi) suffice: a word's score is that of the highest level
        # holding it, which is at least its (scaled) score at any lower level.
        cands = [self._top_unigrams(lo, hi, k)]
        if self._has2[v]:
            s, e = np.searchsorted(self._key2, [v * size + lo, v * size + hi])
            cands.append(self._key2[s + _top(self._lp2[s:e], k)] % size)
        b = self._bigram_index(u, v)
        if b >= 0 and self._has3[b]:
            s, e = np.searchsorted(self._key3, [b * size + lo, b * size + hi])
            cands.append(self._key3[s + _top(self._lp3[s:e], k)] % size)
        ws = np.unique(np.concatenate(cands))
        scores = self._scores(u, v, ws)
        best = np.lexsort((ws, -scores))[:k]
        kind = "next" if partial is None else "completion"
        return [
            Suggestion(self.vocab[int(ws[i]) - N_SPECIAL], math.exp(scores[i]), kind) for i in best
        ]

    def knows(self, word: str) -> bool:
        """True if ``word`` (any case) is in the vocabulary, i.e. not scored as ``<unk>``."""
        return word.lower() in self._index

    def next_word_logprob(self, text: str, word: str) -> float:
        """Natural log P(word | the last two words of text), case-insensitive.

        Unknown words score as ``<unk>`` (finite); ``"</s>"`` asks for the end of the unit.
        The text is taken as complete words (a trailing partial word is part of the context).

        >>> lm = KneserNeyTrigram.train(["see you soon"], bits=32)
        >>> lm.next_word_logprob("see ", "You") > lm.next_word_logprob("see ", "soon")
        True
        """
        if not isinstance(text, str):
            text = ""
        if len(text) > MAX_PREFIX_CHARS:
            text = text[-MAX_PREFIX_CHARS:]
        ctx = [self._index.get(w, UNK_ID) for w in words(normalize(text))[-2:]]
        u, v = ([BOS_ID] * (2 - len(ctx)) + ctx)[-2:]
        key = normalize(word).lower() if isinstance(word, str) else ""
        w = EOS_ID if key == EOS else self._index.get(key, UNK_ID)
        return float(self._scores(u, v, np.array([w], dtype=np.int64))[0])


def _top(values: np.ndarray, m: int) -> np.ndarray:
    """Indices of the ``m`` largest values, ties going to the lower index (in any order).

    >>> sorted(_top(np.array([0.1, 0.5, 0.5, 0.5, 0.9]), 3).tolist())
    [1, 2, 4]
    """
    if len(values) <= m:
        return np.arange(len(values))
    threshold = values[np.argpartition(-values, m - 1)[:m]].min()
    above = np.flatnonzero(values > threshold)
    ties = np.flatnonzero(values == threshold)[: m - len(above)]
    return np.concatenate([above, ties])
