"""Candidate words for typed letters: a word list's trie walked with the channel.

:class:`WordTrie` holds a word list (words with counts). :meth:`WordTrie.walk` runs the
channel's dynamic programme (:class:`~kbd_lm.typing.channel.TypedLetters`) down the trie,
one column per letter, so words sharing a prefix share its columns. A branch is left as soon
as no word below it can come within ``max_drop`` nats of the typed letters' likelihood as
typed (a bound that only uses what the columns hold), or beyond the edit budget. Each word
found gets two likelihoods:

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
from collections.abc import Iterable
from dataclasses import dataclass

from kbd_lm.typing.channel import TypedLetters

MAX_DROP = 12.0  # nats: a word whose typing is e^12 times less likely than as typed is none
# Trie nodes read per call, at most: bounds the cost of the short typed words (one or two
# letters are within two edits of thousands of prefixes), whose best candidates come first.
MAX_NODES = 3000
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
                node = nxt
            if self.word[node] < 0:  # the first (most frequent, in a ranked list) casing wins
                self.word[node] = len(self.words)
                self.words.append((display, int(count)))
        self.top = self._tops()

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

    def walk(
        self, typed: TypedLetters, max_drop: float = MAX_DROP, max_nodes: int = MAX_NODES
    ) -> dict[str, Found]:
        """The words within ``max_drop`` nats of the typed letters' own likelihood, by their
        lowercase form (see the module docstring). Nodes are read best first (by the best
        cell of their column), at most ``max_nodes`` of them: the cost of a call is bounded.
        The likelihoods leave out the alignments that fell below the floor on the way
        (:meth:`~kbd_lm.typing.channel.TypedLetters.next`), each under ``e^-max_drop`` times
        the typed letters' own likelihood: in probability they fall short of
        :func:`~kbd_lm.typing.channel.log_likelihood` by a few such amounts at most."""
        own, _ = typed.likelihoods(typed.t)
        floor = own - max_drop
        found: dict[str, Found] = {}
        start = typed.first()
        # heap of (-best cell, tie, node, column before the last, last column, last letter,
        # best prefix likelihood so far)
        heap = [(-0.0, 0, 0, None, start, None, typed.whole(start))]
        tie = read = 0
        while heap and read < max_nodes:
            _, _, node, before, col, last, best = heapq.heappop(heap)
            for char, child in self.children[node].items():
                read += 1
                nxt = typed.next(before, col, last, char, floor)
                whole = typed.whole(nxt)
                prefix = max(best, whole)
                if self.word[child] >= 0 and whole >= floor:
                    self._add(found, self.word[child], whole, prefix)
                if whole >= floor:  # every typed letter read: the words below complete it
                    for w in self.top[child]:
                        self._add(found, w, -math.inf, whole)
                top = max(max(row) for row in nxt[:-1]) if typed.n else -math.inf
                if top > -math.inf:  # typed letters left to read
                    tie += 1
                    heapq.heappush(heap, (-top, tie, child, col, nxt, char, prefix))
        return found

    def _add(self, found: dict[str, Found], index: int, whole: float, prefix: float) -> None:
        display, count = self.words[index]
        entry = found.get(display.lower())
        if entry is None:
            found[display.lower()] = Found(display, count, whole, prefix)
        else:
            entry.whole, entry.prefix = max(entry.whole, whole), max(entry.prefix, prefix)
