"""The noisy channel of touch typing: how likely the typed letters are under an intended word.

``log_likelihood(typed, intended, prefix=..., layout=..., params=...)`` is
``log P(typed letters | intended word)`` (or, with ``prefix=True``, given that the intended word
goes on after the letters typed so far). A keyboard's corrector multiplies it with the
language model's ``P(word | context)`` (the prior) to rank candidate words.

**The typing model.** Each intended letter ``w``, left to right, is

- *omitted* with probability ``omission`` (``missing_apostrophe`` for an apostrophe: it is
  on another layer of most phone keyboards, so people leave it out: "dont");
- *swapped* with the next letter with probability ``transposition`` (both are then typed,
  in the other order, each with the touch noise below);
- otherwise *typed*: the touch lands at a point drawn from a 2-D Gaussian around ``w``'s
  key centre, with standard deviation ``touch_spread`` (key widths) on both axes, and types
  the key whose region holds it. Each key's region is its rectangle, stretched to infinity
  at the keyboard's edges (:func:`key_regions`: a touch off the keys counts for the nearest
  one), so the regions tile the plane and ``touch(t | w)``, the Gaussian's mass over ``t``'s
  region, sums to 1 over the layout's keys: a neighbour is a likely slip, a far key is not.
  With a tap ``p`` (x, y in key units) for the typed letter the channel reads where the
  finger landed: ``touch`` is then the Gaussian's density at ``p`` (per square key unit).
  A character the layout lacks (a digit, an accented letter) is typed exactly: likelihood 1
  for itself, 0 for anything else.

An *inserted* letter (one typed with no intended letter) has likelihood
``insertion / K`` (``K`` keys on the layout: any key), plus ``doubled`` when it repeats the
letter typed just before it ("helllo"); with a tap, divided by the key's area (a density, as
``touch`` is then). The probability is the sum over the ways
(alignments) of typing, as a Damerau-Levenshtein-style dynamic programme over (typed letters
read, intended letters read, edits made): an omission (not of an apostrophe), an insertion
and a transposition are one **edit** each; a slip to another key is no edit (the touch
likelihood prices it). Alignments with more than ``max_edits`` edits count 0: that bounds
the work (a band around the diagonal) and says that such a word is not a candidate.

With ``prefix=True`` the intended word may go on after what is typed: the result is the best
over ``j`` of the likelihood that the typed letters are the typing of the word's first ``j``
letters. Case never matters.

>>> from kbd_lm.typing.layouts import LAYOUTS
>>> q, p = LAYOUTS["qwerty"], ChannelParams()
>>> def ll(t, w, prefix=False):
...     return round(log_likelihood(t, w, prefix=prefix, layout=q, params=p), 2)
>>> ll("the", "the"), ll("thw", "the"), ll("thp", "the"), ll("dont", "don't")
(-0.55, -3.49, -12.89, -1.91)
>>> ll("tomo", "tomorrow", prefix=True), ll("tomo", "tomorrow")
(-0.66, -inf)
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from kbd_lm.typing.layouts import Layout

Tap = tuple[float, float]
MAX_EDITS = 2  # omissions, insertions and transpositions per word, at most
_NEG = -math.inf


@dataclass(frozen=True)
class ChannelParams:
    """The typing model's parameters: a touch spread and error rates as probabilities.

    The defaults are starting points from published studies of touch typing on phones,
    to be tuned on the validation splits (``kbd-lm eval --typing``).

    >>> ChannelParams(omission=1.5)
    Traceback (most recent call last):
    ...
    ValueError: channel: omission must be a probability in [0, 1), not 1.5
    """

    # Standard deviation of a touch around its key's centre, in key widths (both axes).
    # Azenkot & Zhai 2012 ("Touch behavior with different postures on soft smartphone
    # keyboards", MobileHCI '12; 32 people, three postures) found touch precision on a
    # phone QWERTY relatively high for its key sizes, with pronounced, consistent offsets
    # per key (not modelled here); the touches are modelled as a 2-D Gaussian. 0.9.0 started
    # at 0.25 (8.9% of touches outside a square key); 0.3 (18.2% outside: 1 - erf(0.5 / (0.3
    # sqrt 2))^2) was chosen on the validation splits with the default bundle of 0.10.0.dev0
    # (docs/results.md, "The channel's spread"): of 0.2, 0.25, 0.3 and 0.35, each with the
    # smallest autocorrect_margin that keeps false corrections at most 1% on every kind, it
    # corrects best at both simulated spreads (0.25 and 0.35).
    touch_spread: float = 0.3
    # Per intended letter. Palin et al. 2019 ("How do people type on mobile devices?
    # Observations from a study with 37,000 volunteers", MobileHCI '19) give 2.3% of
    # characters still wrong after the typists' own corrections (36.2 words per minute):
    # the rates below share about that between omissions, insertions, doubled letters and
    # swaps, the error types that Shi et al. 2025 ("Simulating errors in touchscreen typing",
    # CHI '25) model besides slips to other keys; the split between them is ours.
    omission: float = 0.01
    insertion: float = 0.005
    doubled: float = 0.005
    transposition: float = 0.005
    # An apostrophe needs a layer switch on most phone keyboards, and people skip it
    # ("dont", "im"); at 0.3, "dont" -> "don't" costs less than a slip to a neighbouring
    # key. Not from a study: a starting point for tuning.
    missing_apostrophe: float = 0.3

    def __post_init__(self) -> None:
        if not (math.isfinite(self.touch_spread) and self.touch_spread > 0):
            raise ValueError(f"channel: touch_spread must be positive, not {self.touch_spread}")
        for field in dataclasses.fields(self)[1:]:
            value = getattr(self, field.name)
            if not (isinstance(value, int | float) and 0 <= value < 1):
                raise ValueError(
                    f"channel: {field.name} must be a probability in [0, 1), not {value}"
                )
        if (
            self.omission + self.transposition >= 1
            or self.missing_apostrophe + self.transposition >= 1
        ):
            raise ValueError(
                "channel: omission (or missing_apostrophe) + transposition must be < 1"
            )

    def to_dict(self) -> dict[str, float]:
        """The JSON-able form a bundle carries (field -> value)."""
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, doc: dict) -> ChannelParams:
        """Read :meth:`to_dict`'s form; unknown fields are an error (a misspelt rate must not
        pass silently), missing ones take their defaults.

        >>> ChannelParams.from_dict({"touch_spred": 0.3})
        Traceback (most recent call last):
        ...
        ValueError: channel: unknown fields touch_spred
        """
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(doc) - names)
        if unknown:
            raise ValueError(f"channel: unknown fields {', '.join(unknown)}")
        return cls(**{k: float(v) for k, v in doc.items()})


def _normal_mass(lo: float, hi: float, mean: float, spread: float) -> float:
    """P(lo <= X < hi) for X ~ Normal(mean, spread^2); ``lo``/``hi`` may be infinite. Taken
    from the nearer tail, so that far keys keep their (tiny) probability instead of 0."""
    a, b = (lo - mean) / spread, (hi - mean) / spread
    if a > 0:  # both in the upper tail: Q(a) - Q(b), Q the upper tail
        return 0.5 * (math.erfc(a / math.sqrt(2)) - math.erfc(b / math.sqrt(2)))
    return 0.5 * (math.erfc(-b / math.sqrt(2)) - math.erfc(-a / math.sqrt(2)))


@lru_cache(maxsize=32)
def touch_table(layout: Layout, spread: float) -> tuple[dict[str, int], np.ndarray]:
    """(key -> index, log P(typed key | intended key) [K typed, K intended]) of ``layout`` at
    ``spread``: the Gaussian's mass over each key's region (:func:`key_regions`)."""
    index = {key: i for i, key in enumerate(layout.centres)}
    regions = key_regions(layout)
    table = np.empty((len(index), len(index)))
    for w, (cx, cy) in enumerate(layout.centres.values()):
        for t, (x0, x1, y0, y1) in enumerate(regions):
            mass = _normal_mass(x0, x1, cx, spread) * _normal_mass(y0, y1, cy, spread)
            table[t, w] = math.log(mass) if mass > 0 else _NEG
    return index, table


def key_regions(layout: Layout) -> list[tuple[float, float, float, float]]:
    """(x0, x1, y0, y1) of every key, in reading order: its rectangle, stretched to infinity
    at the keyboard's edges (the first and last row, each row's first and last key), so that
    every point of the plane is some key's (:meth:`~kbd_lm.typing.layouts.Layout.nearest_key`).

    >>> from kbd_lm.typing.layouts import LAYOUTS
    >>> key_regions(LAYOUTS["qwerty"])[10]  # "a": the second row's first key
    (-inf, 1.5, 1.0, 2.0)
    """
    out = []
    last_row = len(layout.rows) - 1
    for r, row in enumerate(layout.rows):
        y0 = -math.inf if r == 0 else r * layout.key_height
        y1 = math.inf if r == last_row else (r + 1) * layout.key_height
        for i in range(len(row.keys)):
            x0 = -math.inf if i == 0 else row.offset + i * layout.key_width
            x1 = math.inf if i == len(row.keys) - 1 else row.offset + (i + 1) * layout.key_width
            out.append((x0, x1, y0, y1))
    return out


def log_touch(
    typed: str, intended: str, *, layout: Layout, spread: float, tap: Tap | None = None
) -> float:
    """log touch(typed | intended) for lowercase characters (the module docstring): the
    probability that a touch around ``intended``'s key lands on ``typed``'s key, or with a
    ``tap``, the Gaussian's density at the tap (per square key unit).

    >>> from kbd_lm.typing.layouts import LAYOUTS
    >>> q = LAYOUTS["qwerty"]
    >>> [round(math.exp(log_touch(t, "g", layout=q, spread=0.25)), 4) for t in "gfhtp"]
    [0.9111, 0.0217, 0.0217, 0.0114, 0.0]
    >>> round(math.exp(log_touch("g", "g", layout=q, spread=0.25, tap=(5.0, 1.5))), 3)
    2.546
    """
    index, table = touch_table(layout, spread)
    w = index.get(intended)
    if w is None:  # not on this layout: typed exactly or not at all
        return 0.0 if typed == intended else _NEG
    if tap is not None:
        cx, cy = layout.centres[intended]
        d2 = (tap[0] - cx) ** 2 + (tap[1] - cy) ** 2
        return -d2 / (2 * spread * spread) - math.log(2 * math.pi * spread * spread)
    t = index.get(typed)
    return _NEG if t is None else float(table[t, w])


def _log(p: float) -> float:
    return math.log(p) if p > 0 else _NEG


# [max_edits + 1, n + 1]: by edits, then typed letters read (the spec's C[a][e] is col[e][a]:
# the longer axis last, where numpy's loops run fastest); probabilities, not their logs (a sum
# is then an addition, not a log-sum-exp: numpy's log-sum-exp costs about 70 ns a cell, an
# addition 2, AMD EPYC 2 vCPU). A cell under about e^-745 underflows to 0, below any floor.
Column = np.ndarray
# Where earlier columns leave off along a word: (letters read b, the column after b - 1 of
# them, the one after b, its whole, the best whole of the columns 0..b)
Start = tuple[int, Column, Column, float, float]


class TypedLetters:
    """The typed letters of one word, ready for the dynamic programme over intended letters.

    The programme runs one **column** per intended letter read: ``column[e][a]`` is the
    probability (not its log: :data:`Column`) of having typed the first ``a`` typed letters
    for the intended letters read so far, with ``e`` edits. :meth:`first` is the column
    before any intended letter; :meth:`next` reads one more. :meth:`whole` of a word's column
    is its (log) likelihood; the best :meth:`whole` over the columns of its prefixes is the
    prefix likelihood.
    :func:`log_likelihood` runs the columns over one word, a word list's trie
    (:mod:`kbd_lm.typing.candidates`) over many words that share their prefixes' columns.

    >>> from kbd_lm.typing.layouts import LAYOUTS
    >>> typed = TypedLetters("teh", layout=LAYOUTS["qwerty"], params=ChannelParams())
    >>> c0 = typed.first(); c1 = typed.next(None, c0, None, "t"); c2 = typed.next(c0, c1, "t", "h")
    >>> round(typed.whole(typed.next(c1, c2, "h", "e")), 2)
    -5.81
    """

    def __init__(
        self,
        typed: str,
        *,
        layout: Layout,
        params: ChannelParams,
        taps: Sequence[Tap | None] | None = None,
        max_edits: int = MAX_EDITS,
    ) -> None:
        self.t = typed.lower()
        n = self.n = len(self.t)
        if taps is not None and len(taps) != n:
            raise ValueError(f"{len(taps)} taps for {n} typed letters")
        self.taps = list(taps) if taps is not None else [None] * n
        self.layout, self.params, self.max_edits = layout, params, max_edits
        area = layout.key_width * layout.key_height
        n_keys = len(layout.centres)
        t = self.t
        # ins[a]: log-likelihood of typed letter a as an inserted (or doubled) one   [n]
        self.ins = [
            _log(params.insertion / n_keys + (params.doubled if a and t[a] == t[a - 1] else 0.0))
            - (math.log(area) if self.taps[a] is not None else 0.0)
            for a in range(n)
        ]
        self._ins = np.exp(self.ins)  # [n]: as probabilities, as the columns hold them
        self.headroom = self._headroom()  # [n + 1]
        self._letters = np.array([], dtype="<U1")  # the rows of the tables of _rows
        self._codes = self._letters.view(np.uint32)
        self._table = np.zeros((0, 3 + n))

    def _headroom(self) -> np.ndarray:
        """headroom[a]: the most that typed letters a.. can still add to a log-probability,
        whatever the intended letters (at most 0 without taps): each is typed (``keep`` times
        a touch), half of a swap (``transposition`` shared by two touches) or inserted, and a
        touch is at most the best key's (with a tap, the Gaussian's peak 1 / (2 pi s^2))
        [n + 1].

        >>> from kbd_lm.typing.layouts import LAYOUTS
        >>> typed = TypedLetters("th", layout=LAYOUTS["qwerty"], params=ChannelParams())
        >>> [round(g, 2) for g in typed.headroom]
        [-0.38, -0.22, 0.0]
        """
        p = self.params
        index, table = touch_table(self.layout, p.touch_spread)
        peak = -math.log(2 * math.pi * p.touch_spread**2)
        keep = math.log(1 - min(p.omission, p.missing_apostrophe) - p.transposition)
        half_swap = 0.5 * _log(p.transposition)
        room = np.zeros(self.n + 1)
        for a in range(self.n - 1, -1, -1):
            # a character off the layout is typed as itself only: touch 1
            best_key = float(table[index[self.t[a]]].max()) if self.t[a] in index else 0.0
            touch = max(peak, best_key) if self.taps[a] is not None else best_key
            room[a] = room[a + 1] + max(keep + touch, half_swap + touch, self.ins[a])
        return room

    def touch(self, char: str) -> np.ndarray:
        """log touch(typed letter a | intended ``char``) for every a   [n]."""
        return self._touch_rows([char])[0]

    def _touch_rows(self, chars: Sequence[str]) -> np.ndarray:
        """log touch(typed letter a | intended char) of each of ``chars`` (lowercase) for
        every a, as :func:`log_touch` gives it, without a Python call per cell
        [len(chars), n]."""
        p, layout = self.params, self.layout
        index, table = touch_table(layout, p.touch_spread)
        chars = list(chars)
        out = np.full((len(chars), self.n), _NEG)
        on = [i for i, c in enumerate(chars) if c in index]  # chars on the layout
        off = [(i, c) for i, c in enumerate(chars) if c not in index]  # (a few, if any)
        w = np.array([index[chars[i]] for i in on], dtype=np.intp)
        centres = np.array([layout.centres[chars[i]] for i in on]).reshape(-1, 2)  # [W, 2]
        for a, (t, tap) in enumerate(zip(self.t, self.taps, strict=True)):
            for i, c in off:
                if c == t:  # off the layout: typed as itself only
                    out[i, a] = 0.0
            if tap is not None and len(on):  # the Gaussian's density at the tap
                spread = p.touch_spread
                d2 = (tap[0] - centres[:, 0]) ** 2 + (tap[1] - centres[:, 1]) ** 2
                out[on, a] = -d2 / (2 * spread * spread) - math.log(2 * math.pi * spread * spread)
            elif t in index and len(on):
                out[on, a] = table[index[t], w]
        return out

    def first(self) -> Column:
        """The column before any intended letter: only insertions   [max_edits + 1, n + 1]."""
        col = np.zeros((self.max_edits + 1, self.n + 1))
        col[0, 0] = 1.0
        for a in range(1, self.n + 1):
            for e in range(1, self.max_edits + 1):
                col[e, a] = col[e - 1, a - 1] * self._ins[a - 1]
        return col

    def next(
        self,
        before: Column | None,
        last: Column,
        prev: str | None,
        char: str,
        floor: float = _NEG,
    ) -> Column:
        """The column after reading intended ``char`` (lowercase), from ``last`` (the column
        before it) and ``before`` (the one before that; None at the first letter), ``prev``
        being the intended letter between them (for a swap): :meth:`next_many` of one."""
        return self.next_many(before, last, prev, [char], floor)[0]

    def next_many(
        self,
        before: np.ndarray | None,
        last: np.ndarray,
        prev: str | Sequence[str] | None,
        chars: Sequence[str],
        floor: float = _NEG,
        known: np.ndarray | None = None,
        *,
        at: np.ndarray | None = None,
        before_at: np.ndarray | None = None,
        known_at: np.ndarray | None = None,
    ) -> np.ndarray:
        """The columns after reading each intended letter of ``chars``, as :meth:`next`
        describes, for many columns at once (a trie's nodes: their children)
        [len(chars), max_edits + 1, n + 1].

        ``last`` and ``before`` are one column for all (``[max_edits + 1, n + 1]``) or one per
        char (``[len(chars), max_edits + 1, n + 1]``; with ``at`` / ``before_at``, the
        columns of any number of nodes and, per char, the index of its own); ``prev`` one
        letter or one per char. ``chars`` and ``prev`` may be given as their rows of the
        tables (an integer array, :meth:`letter_rows`).

        ``known``: the first ``r`` rows of the columns, computed before (``[len(chars),
        max_edits + 1, r]``, or any number and ``known_at`` each char's): row ``a`` reads typed
        letters ``0..a-1`` only, so it holds for more typed letters; rows ``r..n`` are read.

        A cell that cannot reach ``floor`` (a log, plus :attr:`headroom`) is set to 0. The
        sums are in the order of docs/decoding.md 11.2 (typed, left out, inserted, swapped),
        as probabilities (:data:`Column`)."""
        n, e_max, size = self.n, self.max_edits, len(chars)
        r = 0 if known is None else known.shape[2]  # rows known: computed from row r on
        out = np.zeros((size, e_max + 1, n + 1))
        if r:
            out[:, :, :r] = known if known_at is None else np.take(known, known_at, axis=0)
        if r > n:
            return out
        # (np.take: numpy's fancy indexing is about 5 times slower at gathering these)
        ci = chars if _are_rows(chars) else self._rows(chars)
        # each char's row of the tables: keep, skip_same, skip_edit, touch   [C, 3 + n]
        table = np.take(self._table, ci, axis=0)
        lo = max(r, 1)  # the first row with a typed letter to read
        last = _own(last, at, lo - 1, n + 1)  # [C or 1, E + 1, n + 2 - lo]: rows lo - 1..n
        kept = table[:, :1] * table[:, 3 + lo - 1 :]  # keep * touch   [C, n + 1 - lo]
        # typed, from row a - 1 (every e at once, as the terms below: fewer numpy calls)
        np.multiply(last[:, :, :-1], kept[:, None], out=out[:, :, lo:])
        # left out, from row a: an apostrophe with no edit (skip_same), else one (skip_edit)
        stay = last[:, :, r - lo + 1 :]  # [C or 1, E + 1, n + 1 - r]
        if table[:, 1].any():  # (adding 0 changes nothing: only an apostrophe's is not 0)
            out[:, :, r:] += stay * table[:, 1, None, None]
        out[:, 1:, r:] += stay[:, :-1] * table[:, 2, None, None]
        swap = before is not None and prev is not None and n >= 2 and n >= max(r, 2)
        if swap:  # typed letters a-2, a-1 are char, prev: with e - 1 edits before, e >= 1
            lo2 = max(r, 2)  # the first row a swap reaches
            at_prev = (
                prev if _are_rows(prev) else self._rows([prev] if isinstance(prev, str) else prev)
            )
            pair = (
                self.params.transposition
                * table[:, 3 + lo2 - 2 : 3 + n - 1]
                * np.take(self._table, at_prev, axis=0)[..., 3 + lo2 - 1 :]
            )  # [C, n + 1 - lo2]
            swapped = _own(before, before_at, lo2 - 2, n - 1)  # [C or 1, E + 1, n + 1 - lo2]
        ins = self._ins[lo - 1 :]
        for e in range(e_max + 1):  # (edits e - 1 are final when edits e read them)
            if e:  # inserted, from this column's row a-1; swapped
                out[:, e, lo:] += out[:, e - 1, lo - 1 : n] * ins
                if swap:
                    out[:, e, lo2:] += swapped[:, e - 1] * pair
            if floor > _NEG:
                v = out[:, e, r:]  # a view   [C, n + 1 - r]
                with np.errstate(divide="ignore"):
                    v[np.log(v) + self.headroom[r:] < floor] = 0.0
        return out

    def letter_rows(self, chars: Sequence[str] | np.ndarray) -> np.ndarray:
        """The rows of ``chars`` in the per-letter tables, for :meth:`next_many`; they stay
        true until a letter not met before is read (a trie walk asks for its whole
        alphabet first)   [C]."""
        return self._rows(chars)

    def _rows(self, chars: Sequence[str] | np.ndarray) -> np.ndarray:
        """Rows of the per-letter table ``_table`` [letters, 3 + n], as probabilities: keep,
        skip_same and skip_edit (skip when leaving the letter out costs no edit, an
        apostrophe, or one; else 0) and :meth:`touch`, for ``chars`` (single characters; a
        numpy array of them is read without a Python loop)   [C].
        The tables' rows are the letters met so far, sorted (``_letters``), found by their
        code points (``_codes``: numbers compare faster than strings)."""
        chars = np.ascontiguousarray(chars, dtype="<U1")
        codes = chars.view(np.uint32)  # a "<U1" is one UCS-4 code point
        at = np.searchsorted(self._codes, codes)
        if len(self._codes) and (self._codes[np.minimum(at, len(self._codes) - 1)] == codes).all():
            return at
        if len(chars):  # letters not met yet: the tables again, with them
            p = self.params
            # every key of the layout at once: a walk meets most of them, one table each
            keys = set(self.layout.centres)
            letters = sorted(set(self._letters.tolist()) | set(chars.tolist()) | keys)
            self._letters = np.array(letters, dtype="<U1")
            self._codes = self._letters.view(np.uint32)
            skips = [p.missing_apostrophe if c == "'" else p.omission for c in letters]
            keep = np.array([1 - s - p.transposition for s in skips])
            apostrophe = np.array([c == "'" for c in letters])
            self._table = np.column_stack(
                [
                    keep,
                    np.where(apostrophe, skips, 0.0),  # skip_same
                    np.where(apostrophe, 0.0, skips),  # skip_edit
                    np.exp(self._touch_rows(letters)),
                ]
            )
        return np.searchsorted(self._codes, codes)

    def likelihoods(self, intended: str) -> tuple[float, float]:
        """(whole, prefix): log P(the typed letters | ``intended`` as a whole word, and | the
        start of it), from the columns over its letters (:func:`log_likelihood`)."""
        return self.likelihoods_many([intended])[0]

    def likelihoods_many(
        self, words: Sequence[str], starts: Sequence[Start | None] | None = None
    ) -> list[tuple[float, float]]:
        """:meth:`likelihoods` of each of ``words``, their columns computed together.

        ``starts``: per word, None or where earlier columns leave off along it (a trie walk's,
        :meth:`kbd_lm.typing.candidates.WordTrie.starts`): (``b`` letters read, the column
        after ``b - 1`` of them, the one after ``b``, its whole, the best whole so far); the
        word is read on from there, with the same values as from its first letter.

        >>> from kbd_lm.typing.layouts import LAYOUTS
        >>> typed = TypedLetters("teh", layout=LAYOUTS["qwerty"], params=ChannelParams())
        >>> [(round(w, 2), round(p, 2)) for w, p in typed.likelihoods_many(["the", "t"])]
        [(-5.81, -5.81), (-17.35, -17.35)]
        """
        _, _, whole, best = self._read_many(words, starts)
        return [(float(w), float(p)) for w, p in zip(whole, best, strict=True)]

    def read(self, word: str) -> Start:
        """Where the columns leave off after every letter of ``word``: (its length, the
        column before the last, the last, its whole, the best whole), a start for
        :meth:`likelihoods_many` of the words that begin with it (any case).

        >>> from kbd_lm.typing.layouts import LAYOUTS
        >>> typed = TypedLetters("tom", layout=LAYOUTS["qwerty"], params=ChannelParams())
        >>> typed.read("tom")[3] == typed.likelihoods("tom")[0]
        True
        """
        befores, cols, whole, best = self._read_many([word])
        return (len(word), befores[0], cols[0], float(whole[0]), float(best[0]))

    def _read_many(
        self, words: Sequence[str], starts: Sequence[Start | None] | None = None
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """:meth:`likelihoods_many`'s columns: per word, the last two columns read (0 once a
        word's columns are all 0) [W, E + 1, n + 1] each, its whole and best whole [W]."""
        lower = [w.lower() for w in words]
        start = self.first()
        cols = np.broadcast_to(start, (len(lower), *start.shape)).copy()  # [W, E + 1, n + 1]
        befores = cols.copy()
        whole = np.full(len(lower), self.whole(start))
        best = whole.copy()
        read = np.zeros(len(lower), dtype=np.intp)  # letters read before the loop
        nonzero = np.ones(len(lower), dtype=bool)  # the word's column has a cell above 0
        for i, at in enumerate(starts or ()):
            if at is not None:
                read[i], befores[i], cols[i], whole[i], best[i] = at
                nonzero[i] = cols[i].any()
        lengths = np.array([len(w) for w in lower], dtype=np.intp)
        # every word's letters as table rows, one after another: word i's letter b is at
        # offset[i] + b (one lookup for all, not two per letter read)
        letters = self._rows(list("".join(lower)))
        offset = np.cumsum(lengths) - lengths
        live = np.ones(len(lower), dtype=bool)  # a column with a cell above 0
        for b in range(min(read, default=0), max(lengths, default=0)):
            on = np.flatnonzero((lengths > b) & live & (read <= b))
            if not len(on):
                continue
            prev = letters[offset[on] + b - 1] if b else None
            chars = letters[offset[on] + b]
            new = self.next_many(befores, cols, prev, chars, at=on, before_at=on)
            # every cell of this column and the one before 0: so are the word's later
            # columns (each reads the two before it), and its whole word
            has = new.any(axis=(1, 2))
            dead = on[~has & ~nonzero[on]]
            nonzero[on] = has
            befores[on], cols[on] = cols[on], new
            whole[on] = got = wholes(new)
            best[on] = np.maximum(best[on], got)
            live[dead] = False
            whole[dead] = _NEG
        return befores, cols, whole, best

    @staticmethod
    def whole(col: Column) -> float:
        """log P(every typed letter | the intended letters read): the last row's sum."""
        return float(wholes(col[None])[0])


def wholes(cols: np.ndarray) -> np.ndarray:
    """:meth:`TypedLetters.whole` of each of ``cols`` [C, E + 1, n + 1]   [C]."""
    with np.errstate(divide="ignore"):  # log 0 = -inf: no alignment within the edits
        return np.log(cols[:, :, -1].sum(axis=1))


def _own(cols: np.ndarray, at: np.ndarray | None, lo: int, hi: int) -> np.ndarray:
    """Rows ``lo..hi-1`` of each char's column of :meth:`TypedLetters.next_many`'s ``last``
    or ``before``: one column for all, one per char, or (``at``) gathered
    [C or 1, E + 1, hi - lo]."""
    if cols.ndim == 2:
        return cols[None, :, lo:hi]
    if at is None:
        return cols[:, :, lo:hi]
    if 2 * (hi - lo) > cols.shape[2]:  # most rows: numpy gathers whole columns faster
        return np.take(cols, at, axis=0)[:, :, lo:hi]
    return np.take(cols[:, :, lo:hi], at, axis=0)


def _are_rows(chars) -> bool:
    """True for table rows (an integer array) in place of letters."""
    return isinstance(chars, np.ndarray) and chars.dtype.kind in "iu"


def log_likelihood(
    typed: str,
    intended: str,
    *,
    prefix: bool,
    layout: Layout,
    params: ChannelParams,
    taps: Sequence[Tap | None] | None = None,
    max_edits: int = MAX_EDITS,
) -> float:
    """log P(typed letters | intended word, or the start of it with ``prefix=True``): the
    module docstring's model. ``taps``: one (x, y) in key units, or None, per typed letter.

    Returns ``-inf`` when no alignment within ``max_edits`` edits exists.

    >>> from kbd_lm.typing.layouts import LAYOUTS
    >>> p, q = ChannelParams(), LAYOUTS["qwerty"]
    >>> round(log_likelihood("Teh", "the", prefix=False, layout=q, params=p), 2)
    -5.81
    """
    letters = TypedLetters(typed, layout=layout, params=params, taps=taps, max_edits=max_edits)
    whole, best = letters.likelihoods(intended)
    return best if prefix else whole
