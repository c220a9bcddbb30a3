"""Candidate words for typed letters: a word list's trie walked with the channel.

:class:`WordTrie` holds a word list (words with counts). :meth:`WordTrie.walk` runs the
channel's dynamic programme (:class:`~kbd_lm.typing.channel.TypedLetters`) down the trie,
one column per letter, so words sharing a prefix share its columns, a depth at a time. A
branch is left as soon as no word below it can come within ``max_drop`` nats of the typed
letters' likelihood as typed (a bound that only uses what the columns hold), or beyond the
edit budget, or (asked for the ``k`` best) when its words cannot beat the ``k``-th best
found. Each word found gets two likelihoods:

- ``whole``: log P(typed letters | the word), the whole word typed (what space commits);
- ``prefix``: log P(typed letters | the start of the word), the word going on (completion);
  words whose best prefix is reached come from the most frequent words below that node.

>>> from kbd_lm.typing.channel import ChannelParams, TypedLetters
>>> from kbd_lm.typing.layouts import LAYOUTS
>>> trie = WordTrie([("the", 900), ("then", 80), ("tomorrow", 50), ("tomato", 5)])
>>> typed = TypedLetters("tomo", layout=LAYOUTS["qwerty"], params=ChannelParams())
>>> found = trie.walk(typed)
>>> sorted(found), round(found["tomorrow"].prefix, 2), found["tomorrow"].whole
(['tomato', 'tomorrow'], -0.66, -inf)
"""

from __future__ import annotations

import heapq
import math
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import numpy as np

from kbd_lm.typing.channel import TypedLetters
from kbd_lm.typing.channel import wholes as channel_wholes

MAX_DROP = 12.0  # nats: a word whose typing is e^12 times less likely than as typed is none
# Columns computed per call, at most: bounds the cost of the typed words near thousands of
# prefixes (a garbled word of ten letters reaches about 8,000 in the default bundle's list;
# a column costs about 0.6 us in next_many, 0.14 us with its rows kept, AMD EPYC 2 vCPU).
MAX_NODES = 10000
COMPLETIONS = 4  # the most frequent words below a node, kept per node for completions
# Walks whose columns a ColumnMemo keeps: the word being typed and one more (one predictor
# serving two people typing at once). A walk of the default bundle's word list holds up to
# about 3.8 MB of columns (6,200 columns of 10 typed letters, float64), 2026-12-08.
COLUMN_WALKS = 2
# One depth of a walk: the nodes read, their columns [C, E + 1, n + 1], wholes [C] and the
# best whole down each one's path [C]
Depth = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]


@dataclass
class Found:
    """A word the walk found: its display form, count and two log-likelihoods."""

    word: str
    count: int
    whole: float
    prefix: float


@dataclass
class Walked:
    """The columns one walk computed: per depth, the nodes read, their columns, wholes and
    best wholes down their paths (:data:`Depth`), and per trie node its index in its
    depth's arrays (-1: not read)."""

    depths: list[Depth]
    slots: np.ndarray  # [trie nodes]

    @classmethod
    def of(cls, depths: list[Depth], nodes: int) -> Walked:
        """The record of a walk's ``depths`` over a trie of ``nodes`` nodes."""
        slots = np.full(nodes, -1, dtype=np.int32)
        for ids, *_ in depths:
            slots[ids] = np.arange(len(ids))
        return cls(depths, slots)

    def at(self, depth: int) -> tuple[np.ndarray, np.ndarray] | None:
        """(the columns of a depth, the node -> index map), None past the last depth."""
        return (self.depths[depth][1], self.slots) if depth < len(self.depths) else None


class WordTrie:
    """A trie over lowercase words: per node its children, the word ending there (display
    form and count), and the :data:`COMPLETIONS` most frequent words below it."""

    def __init__(self, items: Iterable[tuple[str, int]]) -> None:
        self.children: list[dict[str, int]] = [{}]
        self.word: list[int] = [-1]  # node -> word index ending there, or -1
        self.char: list[str] = [""]  # node -> the letter that leads to it
        self.words: list[tuple[str, int]] = []  # (display form, count)
        for display, count in items:
            key = display.lower()
            node = 0
            for char in key:
                nxt = self.children[node].get(char)
                if nxt is None:
                    nxt = self.children[node][char] = len(self.children)
                    self.children.append({})
                    self.word.append(-1)
                    self.char.append(char)
                node = nxt
            if self.word[node] < 0:  # the first (most frequent, in a ranked list) casing wins
                self.word[node] = len(self.words)
                self.words.append((display, int(count)))
        self.top = self._tops()
        # the children in one array, by parent: node's are kids[first_child[node]:][:n_children]
        self.n_children = np.array([len(c) for c in self.children], dtype=np.intp)
        self.first_child = np.cumsum(self.n_children) - self.n_children
        self.chars = np.array(self.char, dtype="<U1")  # node -> its letter
        # the letters of the list, and node -> its letter's index among them
        self.alphabet = np.unique(self.chars[1:])
        self.letter = np.searchsorted(self.alphabet, self.chars)
        self.kids = np.array([c for cs in self.children for c in cs.values()], dtype=np.intp)
        # node -> log count of the most frequent word below it: what a node's words can gain
        self.log_top = np.array(
            [math.log(self.words[t[0]][1]) if t else -math.inf for t in self.top]
        )

    def _tops(self) -> list[list[int]]:
        """Per node the word indices of its COMPLETIONS most frequent words (itself included),
        by count; children come after their parent, so one pass backwards fills them all."""
        top: list[list[int]] = [[] for _ in self.children]
        count = [n for _, n in self.words]
        for node in range(len(self.children) - 1, -1, -1):
            pool = [self.word[node]] if self.word[node] >= 0 else []
            for child in self.children[node].values():
                pool.extend(top[child])
            top[node] = heapq.nlargest(COMPLETIONS, pool, key=count.__getitem__)
        return top

    def node(self, prefix: str) -> int | None:
        """The node spelt by lowercase ``prefix``, None if no word starts so.

        >>> WordTrie([("the", 1)]).node("th"), WordTrie([("the", 1)]).node("x")
        (2, None)
        """
        node = 0
        for char in prefix:
            node = self.children[node].get(char)
            if node is None:
                return None
        return node

    def starts(self, typed: TypedLetters, words: list[str], walked: Walked | None) -> list:
        """Per word, where a walk's columns (``walked``, :meth:`ColumnMemo.get`'s for these
        typed letters) leave off along it: the deepest node of its path that the walk read,
        as :meth:`~kbd_lm.typing.channel.TypedLetters.likelihoods_many` takes it; None when
        the walk read none (or there is no walk). A walk reads a node's parent before it,
        so the path is read down to there."""
        out = []
        for word in words:
            node, at = 0, []  # the path's indices in its depths' arrays
            for char in word.lower()[: len(walked.depths) if walked else 0]:
                node = self.children[node].get(char)
                if node is None or walked.slots[node] < 0:
                    break
                at.append(int(walked.slots[node]))
            if not at:
                out.append(None)
                continue
            b, i = len(at), at[-1]
            _, cols, wholes, reach = walked.depths[b - 1]
            before = walked.depths[b - 2][1][at[-2]] if b > 1 else typed.first()
            out.append((b, before, cols[i], float(wholes[i]), float(reach[i])))
        return out

    def walk(
        self,
        typed: TypedLetters,
        k: int | None = None,
        skip: Callable[[str], bool] | None = None,
        completions: bool = True,
        max_drop: float = MAX_DROP,
        max_nodes: int = MAX_NODES,
        own: float | None = None,
        memo: ColumnMemo | None = None,
    ) -> dict[str, Found]:
        """The words within ``max_drop`` nats of the typed letters' own likelihood, by their
        lowercase form (see the module docstring); ``skip(word)`` true leaves a word out.
        ``completions=False`` does not read below the node the typed letters spell (the
        caller skips the words that start with them).

        The trie is read a depth at a time (:meth:`_children`: a child is read only if its
        words can still score ``log count + prefix`` above the ``k``-th best found, so with
        ``k`` the ``k`` best are exact; at most ``max_nodes`` columns). ``own``: the typed
        letters' whole likelihood under themselves, if the caller has it (the floor's
        start). The columns are the channel's own: a node is left, with all below it, when
        none of its cells with typed letters left can reach the floor. ``memo``: earlier
        walks' columns (:class:`ColumnMemo`), read on from the rows they hold; this walk's
        are put in it (the answer is the same with or without)."""
        if own is None:
            own, _ = typed.likelihoods(typed.t)
        floor = own - max_drop
        # without completions, the node spelt by the typed letters: its words all start so
        typed_node = (self.node(typed.t) if not completions else None) or -1
        found: dict[str, Found] = {}
        best = _Best(k)
        skipped: dict[int, bool] = {}
        lift = np.exp(typed.headroom)  # [n + 1]: the headroom as factors, as columns hold
        spread = math.log(typed.max_edits + 1)  # whole() sums max_edits + 1 cells
        start = typed.first()
        earlier, rows_known = memo.get(typed) if memo is not None else (None, 0)
        depths: list[Depth] = []  # what the memo gets
        # the frontier, one trie depth: its nodes, where their columns are in the last
        # depth's (last_cols; their parents' in before_cols at last_par), the best prefix
        # likelihood down to each and the most their columns can still give (log)
        nodes, front = np.zeros(1, dtype=np.intp), np.zeros(1, dtype=np.intp)
        letter_rows = typed.letter_rows(self.alphabet)  # every letter met at once
        last_rows = None  # the table rows of the last depth's letters
        last_cols, before_cols, last_par = start[None], None, None
        prefixes = np.array([typed.whole(start)])
        gives = _log(_can_give(start[None], lift).max(axis=1))  # [F]
        read = 0
        while len(nodes) and read < max_nodes:
            # the words below a child score at most its best count (log_top) plus the most
            # its parent's column can still give; children that cannot beat the k-th best
            # word found are not read
            future = np.maximum(prefixes, gives + spread)  # [F]
            kids, parent = self._children(
                nodes, future, best.threshold, typed_node, max_nodes - read
            )
            if not len(kids):
                break
            read += len(kids)
            at = front[parent]  # each child's parent's column in last_cols
            columns = (last_cols, at, before_cols, None if last_par is None else last_par[at])
            prev = last_rows[at] if last_rows is not None else None
            known = earlier.at(len(depths)) if earlier is not None else None
            chars = letter_rows[self.letter[kids]]
            new = self._columns(typed, kids, chars, prev, columns, known, rows_known)
            wholes = channel_wholes(new)  # [C]
            reach = np.maximum(prefixes[parent], wholes)
            depths.append((kids, new, wholes, reach))
            notes = (found, best, skipped, skip)
            self._note_depth(notes, kids, wholes, reach, floor, every_top=k is None)
            # typed letters left to read and a cell that can still reach the floor: the
            # child is in the next frontier
            can = _can_give(new, lift)  # [C, n + 1]
            alive = np.flatnonzero(_log(can[:, :-1].max(axis=1, initial=0.0)) >= floor)
            before_cols, last_cols, last_par, last_rows = last_cols, new, at, chars
            nodes, front, prefixes = kids[alive], alive, reach[alive]
            gives = _log(can[alive].max(axis=1, initial=0.0))
        if memo is not None:
            memo.put(typed, Walked.of(depths, len(self.children)))
        return found

    def _children(self, nodes, future, threshold, typed_node, budget):
        """(the children of ``nodes`` to read, the index of each one's parent in ``nodes``):
        those whose bound reaches ``threshold`` (the ``k``-th best word found), but
        ``typed_node``; at most ``budget``, the best bounds first (ties: in trie order).
        A child's bound is its most frequent word's log count plus its parent's ``future``:
        the most the parent's column can still give (the best cell of each row plus the
        typed letters' headroom after it, plus log(max_edits + 1) for the sum of the last
        row; or the prefix likelihood already reached, if more)."""
        first, counts = self.first_child[nodes], self.n_children[nodes]
        parent = np.repeat(np.arange(len(nodes)), counts)
        kids = self.kids[
            np.repeat(first - np.cumsum(counts) + counts, counts) + np.arange(counts.sum())
        ]
        bound = self.log_top[kids] + future[parent]
        chosen = np.flatnonzero((bound >= threshold) & (kids != typed_node))
        if len(chosen) > budget:  # the budget: the best bounds first
            order = np.argsort(-bound[chosen], kind="stable")
            chosen = np.sort(chosen[order[:budget]])
        return kids[chosen], parent[chosen]

    def _columns(self, typed, kids, chars, prev, columns, known, rows_known) -> np.ndarray:
        """The columns of ``kids`` [C, E + 1, n + 1], ``chars`` their letters and ``prev``
        their parents' (None at the first depth), as table rows; ``columns``: (the parents'
        depth's columns, each kid's parent's index in them, the depth before's columns, each
        kid's grandparent's index). Those in
        ``known`` (an earlier walk's columns at this depth, and its node -> index map) are
        read on from their first ``rows_known`` rows, the others computed whole."""
        last, at, before, before_at = columns
        if known is None or not rows_known:
            return typed.next_many(before, last, prev, chars, at=at, before_at=before_at)
        got, slots = known
        slot = slots[kids]
        hit = slot >= 0
        if hit.all():
            return typed.next_many(
                before, last, prev, chars, known=got, known_at=slot, at=at, before_at=before_at
            )
        new = np.empty((len(kids), typed.max_edits + 1, typed.n + 1))
        for part, rows in ((hit, got), (~hit, None)):
            if part.any():
                new[part] = typed.next_many(
                    before,
                    last,
                    prev[part] if prev is not None else None,
                    chars[part],
                    known=rows,
                    known_at=slot[part] if rows is not None else None,
                    at=at[part],
                    before_at=before_at[part] if before_at is not None else None,
                )
        return new

    def _note_depth(self, notes, kids, wholes, reach, floor: float, every_top: bool) -> None:
        """Note the words a depth of the walk found: each child whose ``whole`` (log P of
        the typed letters, the child's letters read) reaches ``floor`` gives its own word
        (with ``reach``, the best ``whole`` down its path) and its most frequent words below
        (with its ``whole``). ``notes``: (found, best, skipped, skip) of :meth:`_add`. Unless
        ``every_top``, a child's top words that cannot rank among the k best are not noted
        (the k best are the same; found holds fewer others)."""
        found, best, skipped, skip = notes
        tops = (self.log_top[kids] + wholes >= best.threshold) | every_top
        at = np.flatnonzero(wholes >= floor)  # (Python numbers below: a loop reads them)
        for child, whole, got, top in zip(
            kids[at].tolist(),
            wholes[at].tolist(),
            reach[at].tolist(),
            tops[at].tolist(),
            strict=True,
        ):
            if self.word[child] >= 0:
                self._add(found, best, skipped, skip, self.word[child], whole, got)
            if top:  # every typed letter read: the words below complete it
                for w in self.top[child]:
                    self._add(found, best, skipped, skip, w, -math.inf, whole)

    def _add(self, found, best, skipped, skip, index: int, whole: float, prefix: float) -> None:
        """Note word ``index`` with these likelihoods (each kept at its best) unless
        ``skip`` leaves it out (asked once per word: ``skipped``, index -> bool)."""
        display, count = self.words[index]
        if skip is not None:
            if index not in skipped:
                skipped[index] = skip(display)
            if skipped[index]:
                return
        key = display.lower()
        entry = found.get(key)
        if entry is None:
            entry = found[key] = Found(display, count, whole, prefix)
        else:
            entry.whole, entry.prefix = max(entry.whole, whole), max(entry.prefix, prefix)
        best.note(key, math.log(count) + entry.prefix)


def _can_give(cols: np.ndarray, lift: np.ndarray) -> np.ndarray:
    """Per column and row a, the most it can still give: max_e C[a][e] times e^headroom[a]
    (``lift``), as a probability   [C, n + 1]."""
    out = cols[:, 0].copy()
    for e in range(1, cols.shape[1]):
        np.maximum(out, cols[:, e], out=out)
    out *= lift
    return out


def _log(x: np.ndarray) -> np.ndarray:
    """Elementwise log, 0 giving -inf."""
    with np.errstate(divide="ignore"):
        return np.log(x)


class ColumnMemo:
    """The columns of the last few walks, for the next keystroke of the same word: a walk
    over typed letters that start with an earlier walk's (same layout, channel and taps)
    takes that walk's columns' rows and computes only the rows of the letters added.
    At most ``size`` walks are kept, the least recently used dropped first; one holds a
    few thousand columns (the nodes one walk read).

    >>> from kbd_lm.typing.channel import ChannelParams, TypedLetters
    >>> from kbd_lm.typing.layouts import LAYOUTS
    >>> trie, memo = WordTrie([("tomorrow", 50), ("tonight", 5)]), ColumnMemo()
    >>> def typed(t): return TypedLetters(t, layout=LAYOUTS["qwerty"], params=ChannelParams())
    >>> first = trie.walk(typed("tom"), memo=memo)
    >>> trie.walk(typed("tomo"), memo=memo) == trie.walk(typed("tomo"))
    True
    """

    def __init__(self, size: int = COLUMN_WALKS) -> None:
        self.size = size
        # (layout, params, max_edits, taps, typed letters) -> the walk's columns
        self.walks: OrderedDict[tuple, Walked] = OrderedDict()

    @staticmethod
    def _key(typed: TypedLetters, n: int) -> tuple:
        taps = tuple(tuple(tap) if tap is not None else None for tap in typed.taps[:n])
        return (typed.layout, typed.params, typed.max_edits, taps, typed.t[:n])

    def get(self, typed: TypedLetters) -> tuple[Walked | None, int]:
        """(the walk over the longest start of the typed letters kept, the rows of its
        columns that hold for these letters); (None, 0) if none."""
        for n in range(typed.n, -1, -1):
            walked = self.walks.get(self._key(typed, n))
            if walked is not None:
                self.walks.move_to_end(self._key(typed, n))
                return walked, n + 1
        return None, 0

    def put(self, typed: TypedLetters, walked: Walked) -> None:
        """Keep a walk's columns."""
        self.walks[self._key(typed, typed.n)] = walked
        self.walks.move_to_end(self._key(typed, typed.n))
        while len(self.walks) > self.size:
            self.walks.popitem(last=False)


class _Best:
    """The ``k`` best scores noted, one per word (a word's score only grows); ``threshold``
    is the ``k``-th best, ``-inf`` until ``k`` words are noted (or without ``k``).

    >>> b = _Best(2); b.note("a", -1.0); b.note("b", -3.0); b.note("c", -2.0); b.threshold
    -2.0
    """

    def __init__(self, k: int | None) -> None:
        self.k, self.scores, self.threshold = k, {}, -math.inf

    def note(self, key: str, score: float) -> None:
        if self.k is None or (score <= self.threshold and key not in self.scores):
            return
        self.scores[key] = max(score, self.scores.get(key, -math.inf))
        if len(self.scores) > self.k:
            del self.scores[min(self.scores, key=self.scores.__getitem__)]
        if len(self.scores) == self.k:
            self.threshold = min(self.scores.values())
