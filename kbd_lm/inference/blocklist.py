"""Words a keyboard never suggests: the bundle's ``blocklist.txt`` plus what an app changes.

A blocked word is never suggested, as a next word or as a completion, whether the model, the
bundle's n-gram or the user's history proposes it. Entries are compared lowercase, as whole
words (:data:`kbd_lm.text.normalization.WORD_RE`). An entry of several words blocks its last
word only after the others (``"two girls one cup"`` blocks "cup" after "two girls one").

``blocklist.txt``: UTF-8, one entry per line; empty lines and lines starting with ``#`` (the
source and licence note) are ignored. A bundle without the file blocks nothing.

>>> b = Blocklist(["darn", "two girls one cup"])
>>> b.blocks("Darn"), b.blocks("cup", "two girls one "), b.blocks("cup", "a ")
(True, True, False)
>>> b.remove("darn"); b.blocks("darn")
False
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

from kbd_lm.inference.bundle import BLOCKLIST_FILE  # noqa: F401  (the file table names it)
from kbd_lm.text.normalization import words


class Blocklist:
    """A set of blocked words and phrases; ``enabled = False`` turns the filter off."""

    def __init__(self, entries: Iterable[str] = (), enabled: bool = True) -> None:
        self.enabled = enabled
        self._words: set[str] = set()
        self._phrases: dict[str, set[tuple[str, ...]]] = {}  # last word -> words before it
        for entry in entries:
            self.add(entry)

    @classmethod
    def load(cls, path: str | os.PathLike) -> Blocklist:
        """Read a ``blocklist.txt``; a missing file gives an empty list (old bundles)."""
        path = Path(path)
        if not path.is_file():
            return cls()
        try:
            lines = path.read_text(encoding="utf-8").splitlines()
        except UnicodeDecodeError as err:
            raise ValueError(f"{path}: not UTF-8 text ({err})") from err
        return cls(line for line in lines if line.strip() and not line.startswith("#"))

    def __len__(self) -> int:
        return len(self._words) + sum(len(v) for v in self._phrases.values())

    def add(self, entry: str) -> None:
        """Block a word (or a phrase's last word after the rest of the phrase)."""
        found = words(entry)
        if len(found) == 1:
            self._words.add(found[0])
        elif found:
            self._phrases.setdefault(found[-1], set()).add(tuple(found[:-1]))

    def remove(self, entry: str) -> None:
        """Unblock a word or phrase (nothing happens if it was not blocked)."""
        found = words(entry)
        if len(found) == 1:
            self._words.discard(found[0])
        elif found:
            self._phrases.get(found[-1], set()).discard(tuple(found[:-1]))

    def entries(self) -> list[str]:
        """Every blocked word and phrase, sorted."""
        phrases = [" ".join((*before, last)) for last, v in self._phrases.items() for before in v]
        return sorted([*self._words, *phrases])

    def blocks(self, word: str, context: str = "") -> bool:
        """True if ``word`` must not be suggested after ``context`` (the text before it)."""
        if not self.enabled:
            return False
        key = word.lower()
        if key in self._words:
            return True
        befores = self._phrases.get(key)
        if not befores:
            return False
        tail = tuple(words(context[-200:]))
        return any(tail[len(tail) - len(b) :] == b for b in befores if len(b) <= len(tail))

    def filter(self, candidates: list[tuple[str, float]], context: str) -> list[tuple[str, float]]:
        """``candidates`` without the blocked words (order kept)."""
        if not self.enabled or not (self._words or self._phrases):  # (len() sums the phrases)
            return candidates
        return [c for c in candidates if not self.blocks(c[0], context)]
