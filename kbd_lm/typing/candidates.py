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
(['tomato', 'tomorrow'], -0.34, -inf)
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import numpy as np

from kbd_lm.typing.channel import TypedLetters

MAX_DROP = 12.0  # nats: a word whose typing is e^12 times less likely than as typed is none
# Columns computed per call, at most: bounds the cost of the typed words near thousands of
# prefixes (a garbled word of ten letters reaches about 8,000 in the default bundle's list;
# a column costs about 1.5 us in next_many, AMD EPYC 2 vCPU).
MAX_NODES = 10000
COMPLETIONS = 4  # the most frequent words below a node, kept per node for completions


@dataclass
class Found:
    """A word the walk found: its display form, count and two log-likelihoods."""

    word: str
    count: int
    whole: float
    prefix: float


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

    def walk(
        self,
        typed: TypedLetters,
        k: int | None = None,
        skip: Callable[[str], bool] | None = None,
        completions: bool = True,
        max_drop: float = MAX_DROP,
        max_nodes: int = MAX_NODES,
        own: float | None = None,
    ) -> dict[str, Found]:
        """The words within ``max_drop`` nats of the typed letters' own likelihood, by their
        lowercase form (see the module docstring); ``skip(word)`` true leaves a word out.
        ``completions=False`` does not read below the node the typed letters spell (the
        caller skips the words that start with them).

        The trie is read a depth at a time, every child of the frontier in one
        :meth:`~kbd_lm.typing.channel.TypedLetters.next_many`. A child is read only if the
        words below it can still score ``log count + prefix`` above the ``k``-th best word
        found so far: its most frequent word's log count plus the most its parent's column
        can still give (the best cell of each row plus the typed letters' headroom after
        it, plus log(max_edits + 1) for the sum of the last row; or the prefix likelihood
        already reached, if more). So with ``k`` the ``k`` best by ``log count + prefix``
        are exact (without, every node in reach is read). At most ``max_nodes`` columns are
        computed: past that, a depth keeps the children with the best bounds.
        ``own``: the typed letters' whole likelihood under themselves, if the caller has it
        (``typed.likelihoods(typed.t)[0]``, the floor's start).
        The likelihoods leave out the alignments that fell below the floor on the way
        (:meth:`~kbd_lm.typing.channel.TypedLetters.next`), each under ``e^-max_drop`` times
        the typed letters' own likelihood: in probability they fall short of
        :func:`~kbd_lm.typing.channel.log_likelihood` by a few such amounts at most."""
        if own is None:
            own, _ = typed.likelihoods(typed.t)
        floor = own - max_drop
        # without completions, the node spelt by the typed letters: its words all start so
        typed_node = self.node(typed.t) if not completions else None
        typed_node = -1 if typed_node is None else typed_node
        found: dict[str, Found] = {}
        best = _Best(k)
        skipped: dict[int, bool] = {}
        gain = typed.headroom
        spread = math.log(typed.max_edits + 1)  # whole() sums max_edits + 1 cells
        start = typed.first()
        # the frontier, one trie depth: its nodes, their columns and their parents', and
        # the best prefix likelihood down to each
        nodes, cols, befores = np.zeros(1, dtype=np.intp), start[None], None
        prefixes = np.array([typed.whole(start)])
        read = 0
        while len(nodes) and read < max_nodes:
            # the words below a child score at most its best count (log_top) plus the most
            # its parent's column can still give; children that cannot beat the k-th best
            # word found are not read
            future = (cols.max(axis=2) + gain).max(axis=1) + spread
            future = np.maximum(prefixes, future)  # [F]
            first, counts = self.first_child[nodes], self.n_children[nodes]
            parent = np.repeat(np.arange(len(nodes)), counts)
            kids = self.kids[
                np.repeat(first - np.cumsum(counts) + counts, counts) + np.arange(counts.sum())
            ]
            bound = self.log_top[kids] + future[parent]
            chosen = np.flatnonzero((bound >= best.threshold) & (kids != typed_node))
            if len(chosen) > max_nodes - read:  # the budget: the best bounds first
                order = np.argsort(-bound[chosen], kind="stable")
                chosen = np.sort(chosen[order[: max_nodes - read]])
            kids, parent = kids[chosen], parent[chosen]
            if not len(kids):
                break
            read += len(kids)
            chars = self.chars[kids]
            prev = self.chars[nodes[parent]] if befores is not None else None
            before = befores[parent] if befores is not None else None
            new = typed.next_many(before, cols[parent], prev, chars, floor)
            wholes = np.logaddexp.reduce(new[:, -1, :], axis=1)  # [C]
            reach = np.maximum(prefixes[parent], wholes)
            notes = (found, best, skipped, skip)
            self._note_depth(notes, kids, wholes, reach, floor, every_top=k is None)
            # typed letters left to read: the child is in the next frontier
            alive = np.flatnonzero((new[:, :-1, :] > -math.inf).any(axis=(1, 2)))
            nodes, befores, cols = kids[alive], cols[parent[alive]], new[alive]
            prefixes = reach[alive]
        return found

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
