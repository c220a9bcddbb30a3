"""A user's own words: ``UserHistory``, counts of words and short word sequences.

The history learns text the user committed (a sent message) and is mixed with the model's
suggestions by :meth:`kbd_lm.inference.predictor.Predictor.suggest` (``history=``). It keeps,
with recency decay, how often each word followed each context of up to ``max_order - 1``
words: unigrams (context ``()``), bigrams and trigrams. ``""`` stands for the start of a
message or sentence (where a sentence ends: :mod:`kbd_lm.text.sentences`). What may be learned
at all is decided by :mod:`kbd_lm.history.privacy` (fields, secret-looking tokens).

Counts decay by half every ``half_life`` learned messages, so old habits fade. The history is
bounded: past ``max_entries`` entries or ``max_bytes`` bytes (its file size), the entries with
the smallest counts are dropped (down to 90 % of the bounds).

File format (``save`` / ``load``; UTF-8 text, ``\\n`` line ends, one JSON value a line)::

    {"format": "kbd-lm-history", "version": 1, "order": 3, "half_life": 2000, "entries": 2}
    [3.5, "Paris"]
    [1.0, "", "see"]
    {"sha256": "<hex digest of every byte above this line>"}

- line 1, the header: ``format`` and ``version`` (a reader refuses a version it does not know),
  ``order`` (longest sequence), ``half_life`` (messages), ``entries`` (number of entry lines);
- one line per entry: ``[count, word_1, ..., word_n]``, 1 <= n <= order; ``count`` is the decayed
  count when the file was written (a positive number, at most 2^53); one-word entries keep the
  user's casing ("Paris", "iPhone"), longer ones are lowercase; ``""`` (start of a sentence)
  may only come first;
- last line: the SHA-256 of the bytes before it, so that a truncated or altered file is detected.

A damaged file gives a clear error and an empty history, never a crash:

>>> h = UserHistory()
>>> h.learn("See you at Anneliese's place"), h.learn("see you soon")
(5, 3)
>>> [w for w, _ in h.words(2)]
['see', 'you']
>>> UserHistory.from_bytes(h.to_bytes()).words() == h.words()
True
"""

from __future__ import annotations

import bisect
import contextlib
import hashlib
import heapq
import json
import logging
import math
import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType

from kbd_lm.common.fsutil import atomic_write_bytes
from kbd_lm.history.privacy import learnable_segments
from kbd_lm.text.normalization import WORD_RE
from kbd_lm.text.sentences import last_sentence

log = logging.getLogger(__name__)

FORMAT_NAME = "kbd-lm-history"
FORMAT_VERSION = 1
START = ""  # the start of a message or sentence, as a context word
_RESCALE_AT = 2.0**20  # stored counts are rescaled before they grow past this factor
_MAX_COUNT = 2.0**53  # far above any count learning makes; keeps every sum finite
_TOP_UNIGRAMS = 16  # most frequent words kept ready as next-word candidates


class HistoryFileError(ValueError):
    """A history file that cannot be read; the message names the file and the problem."""


@dataclass(frozen=True)
class HistoryConfig:
    """Bounds and decay of a history (the server takes them from its settings).

    >>> HistoryConfig().max_entries
    20000
    """

    max_order: int = 3
    max_entries: int = 20_000
    max_bytes: int = 1_000_000
    half_life: float = 2000.0  # learned messages until a count has halved
    max_word_chars: int = 40  # longer "words" are not learned (pasted junk, not typing)

    def __post_init__(self) -> None:
        if not 1 <= self.max_order <= 4:
            raise ValueError(f"max_order must be 1..4, got {self.max_order}")
        if self.max_entries < 1 or self.max_bytes < 256 or self.half_life <= 0:
            raise ValueError("max_entries >= 1, max_bytes >= 256 and half_life > 0 are needed")


@dataclass(frozen=True)
class HistoryEntry:
    """One kept sequence (``("see", "you")``; ``""`` = sentence start) and its count."""

    words: tuple[str, ...]
    count: float


def context_key(text: str, order: int = 3) -> tuple[str, ...]:
    """The last ``order - 1`` lowercase words of the sentence ``text`` ends in, with
    :data:`START` before the first word of a sentence.

    >>> context_key("Hi. See you"), context_key(""), context_key("ok. ")
    (('see', 'you'), ('',), ('',))
    """
    if order <= 1:
        return ()
    found = [m.group(0).lower() for m in WORD_RE.finditer(last_sentence(text))]
    if len(found) < order - 1:
        found.insert(0, START)
    return tuple(found[-(order - 1) :])


def _entry_bytes(ctx: tuple[str, ...], word: str) -> int:
    """Bytes of the entry's line in the file, about (the count takes up to 8 characters)."""
    return 12 + 4 * (len(ctx) + 1) + len("".join((*ctx, word)).encode())


class UserHistory:
    """Decayed counts of one user's words and word sequences (not thread-safe).

    Nothing of the history leaves the object except through :meth:`save` / :meth:`to_bytes`
    and the listings (:meth:`words`, :meth:`entries`); its ``repr`` shows sizes only.
    """

    def __init__(self, config: HistoryConfig | None = None) -> None:
        self.config = config or HistoryConfig()
        self.load_error: str | None = None  # set by load() when the file was damaged
        self.clear()

    # ------------------------------------------------------------------ learning

    def clear(self) -> None:
        """Forget everything."""
        self._next: dict[tuple[str, ...], dict[str, float]] = {(): {}}  # ctx -> word -> count
        self._total: dict[tuple[str, ...], float] = {(): 0.0}  # ctx -> sum of its counts
        self._display: dict[str, str] = {}  # lowercase -> the user's casing, where it differs
        self._sorted: list[str] = []  # unigram keys, sorted, for prefix look-ups
        # Answers of best_following / starting_with until the next change: a message is
        # typed with many suggest calls between two learns.
        self._answers: dict[tuple, list[str]] = {}
        self._top: list[str] = []  # the most frequent words (a cache, rebuilt when None)
        self._entries = 0
        self._bytes = 0
        self._clock = 0  # messages learned since the stored counts were last rescaled

    def learn(self, text: str, field: str = "text") -> int:
        """Learn a committed text; returns how many words were learned (0 for sensitive
        fields). Raises ValueError for an unknown ``field`` (see :mod:`kbd_lm.history.privacy`)."""
        segments = learnable_segments(text, field)
        if not segments:
            return 0
        self._tick()
        self._answers = {}
        n = 0
        order = self.config.max_order
        for seg in segments:
            seq = [START] if seg.sentence_start else []
            for i, typed in enumerate(seg.words):
                key = typed.lower()
                # Too long, or no longer a word once lowercased ("İstanbul" -> "i̇stanbul", an
                # i and a combining dot, which the file format would refuse): not learned, and
                # a break: no sequence across an unlearned word.
                if len(typed) > self.config.max_word_chars or not WORD_RE.fullmatch(key):
                    seq = []
                    continue
                self._remember_case(key, typed, initial=seg.sentence_start and i == 0)
                seq.append(key)
                for size in range(1, min(order, len(seq)) + 1):
                    self._add(tuple(seq[len(seq) - size : -1]), key)
                n += 1
        self._enforce_bounds()
        return n

    def forget(self, word: str) -> bool:
        """Remove a word and every sequence that holds it; True if it was kept."""
        key = word.lower().strip()
        if not key:  # "" is the sentence start (START), never a kept word
            return False
        found = False
        for ctx in list(self._next):
            children = self._next[ctx]
            if key in ctx:
                for child in list(children):
                    self._remove(ctx, child)
                found = True
            elif key in children:
                self._remove(ctx, key)
                found = True
        self._display.pop(key, None)
        return found

    # ------------------------------------------------------------------ listing

    def __len__(self) -> int:
        """Number of entries (all orders)."""
        return self._entries

    def __repr__(self) -> str:
        return f"UserHistory(entries={self._entries}, bytes~{self._bytes})"

    @property
    def size_bytes(self) -> int:
        """The file size of this history, about (what ``max_bytes`` bounds)."""
        return self._bytes + 160

    def display(self, key: str) -> str:
        """The user's casing of a lowercase word."""
        return self._display.get(key, key)

    def words(self, limit: int | None = None) -> list[tuple[str, float]]:
        """Kept words in the user's casing with their decayed counts, most frequent first."""
        scale = self._scale()
        items = sorted(self._next[()].items(), key=lambda kv: (-kv[1], kv[0]))[:limit]
        return [(self.display(w), round(c / scale, 4)) for w, c in items]

    def entries(self) -> list[HistoryEntry]:
        """Every kept sequence and its decayed count, most frequent first."""
        scale = self._scale()
        out = [HistoryEntry((*ctx, w), c / scale) for ctx, w, c in self._iter()]
        out.sort(key=lambda e: (-e.count, e.words))
        return out

    # ------------------------------------------------------------------ queries (predictor)

    def evidence(self, ctx: tuple[str, ...]) -> float:
        """Decayed number of times the context ``ctx`` was followed by a learned word."""
        return self._total.get(ctx, 0.0) / self._scale()

    def knows(self, word: str) -> bool:
        """True if ``word`` (any case) was learned as a word: a unigram of the history.

        >>> h = UserHistory(); _ = h.learn("see you in Gdansk")
        >>> h.knows("gdansk"), h.knows("Gdan")
        (True, False)
        """
        return word.lower() in self._next.get((), {})

    def following(self, ctx: tuple[str, ...]) -> tuple[Mapping[str, float], float]:
        """(lowercase word -> count, total count) of the words seen after ``ctx``, in stored
        units (only ratios of the two mean anything); empty for an unseen context."""
        children = self._next.get(ctx)
        if not children:
            return {}, 0.0
        return MappingProxyType(children), self._total[ctx]

    def best_following(self, ctx: tuple[str, ...], n: int, prefix: str = "") -> list[str]:
        """Up to ``n`` words most often seen after ``ctx`` (starting with ``prefix``)."""
        key = ("next", ctx, n, prefix)
        found = self._answers.get(key)
        if found is None:
            children = self._next.get(ctx) or {}
            items = (w for w in children if w.startswith(prefix)) if prefix else children
            found = self._answers[key] = heapq.nlargest(n, items, key=children.__getitem__)
        return found

    def probability(self, ctx: tuple[str, ...], word: str) -> float:
        """P(word | ctx) by relative frequency (0 if never seen there)."""
        total = self._total.get(ctx, 0.0)
        count = self._next.get(ctx, {}).get(word, 0.0)
        return count / total if total > 0 else 0.0

    def frequent(self, n: int = _TOP_UNIGRAMS) -> list[str]:
        """The ``n`` most frequent lowercase words (at most 16), most frequent first."""
        if self._top is None:
            self._top = heapq.nlargest(_TOP_UNIGRAMS, self._next[()], key=self._next[()].get)
        return self._top[:n]

    def starting_with(self, prefix: str, n: int) -> list[str]:
        """Up to ``n`` most frequent lowercase words that start with ``prefix`` (lowercase)."""
        key = ("prefix", prefix, n)
        found = self._answers.get(key)
        if found is None:
            lo = bisect.bisect_left(self._sorted, prefix)
            hi = bisect.bisect_left(self._sorted, prefix + "\U0010ffff")
            unigrams = self._next[()]
            found = heapq.nlargest(n, self._sorted[lo:hi], key=unigrams.get)
            if len(self._answers) > 4096:
                self._answers = {}
            self._answers[key] = found
        return found

    # ------------------------------------------------------------------ file format

    def to_bytes(self) -> bytes:
        """The history in the file format of the module docstring."""
        scale = self._scale()
        lines = []
        # Words are WORD_RE matches (letters, digits, apostrophes), so they need no JSON
        # escaping: writing them directly is several times faster than json.dumps per line.
        for ctx, children in self._next.items():
            for w, c in children.items():
                count = round(c / scale, 4)
                if count > 0:
                    words = '", "'.join((*ctx, w) if ctx else (self.display(w),))
                    lines.append(f'[{count!r}, "{words}"]')
        header = {
            "format": FORMAT_NAME,
            "version": FORMAT_VERSION,
            "order": self.config.max_order,
            "half_life": self.config.half_life,
            "entries": len(lines),
        }
        body = "\n".join([json.dumps(header), *lines]).encode("utf-8") + b"\n"
        trailer = json.dumps({"sha256": hashlib.sha256(body).hexdigest()}).encode() + b"\n"
        return body + trailer

    @classmethod
    def from_bytes(
        cls, data: bytes, config: HistoryConfig | None = None, name: str = "history"
    ) -> UserHistory:
        """Read the file format; raises :class:`HistoryFileError` naming ``name`` and the line."""
        history = cls(config)
        history._load_entries(_parse(data, name, history.config.max_order))
        return history

    def save(self, path: str | os.PathLike) -> None:
        """Write the history to ``path`` atomically (a damaged file it replaces is kept aside
        as ``<name>.damaged``): :func:`save_history_file`."""
        save_history_file(self, path)

    @classmethod
    def load(
        cls, path: str | os.PathLike, config: HistoryConfig | None = None, strict: bool = False
    ) -> UserHistory:
        """Read a history file; a missing file is an empty history.

        A damaged file (truncated, altered, not this format, a newer version) raises
        :class:`HistoryFileError` if ``strict``; otherwise it is logged, and an empty history
        comes back with the message in ``load_error``.
        """
        path = Path(path)
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            return cls(config)
        except OSError as err:
            problem = HistoryFileError(f"{path}: cannot read ({err.strerror or err})")
        else:
            try:
                return cls.from_bytes(data, config, str(path))
            except HistoryFileError as err:
                problem = err
        if strict:
            raise problem
        log.warning("%s; starting with an empty history", problem)
        history = cls(config)
        history.load_error = str(problem)
        return history

    # ------------------------------------------------------------------ internals

    def _scale(self) -> float:
        """Stored counts are ``count * scale``: one addition of ``scale`` per occurrence."""
        return 2.0 ** (self._clock / self.config.half_life)

    def _tick(self) -> None:
        """One more message: every count decays (by growing what the next one adds)."""
        self._clock += 1
        scale = self._scale()
        if scale > _RESCALE_AT:
            for ctx, children in self._next.items():
                for w in children:
                    children[w] /= scale
                self._total[ctx] /= scale
            self._clock = 0

    def _add(self, ctx: tuple[str, ...], word: str, amount: float | None = None) -> None:
        amount = self._scale() if amount is None else amount
        children = self._next.get(ctx)
        if children is None:
            children = self._next[ctx] = {}
            self._total[ctx] = 0.0
        if word not in children:
            children[word] = 0.0
            self._entries += 1
            self._bytes += _entry_bytes(ctx, word)
            if not ctx:
                bisect.insort(self._sorted, word)
        children[word] += amount
        self._total[ctx] += amount
        if not ctx and self._top is not None:
            top = self._top
            if word in top or len(top) < _TOP_UNIGRAMS or children[word] > children[top[-1]]:
                if word not in top:
                    top.append(word)
                top.sort(key=lambda w: -children[w])
                del top[_TOP_UNIGRAMS:]

    def _remove(self, ctx: tuple[str, ...], word: str) -> None:
        self._answers = {}
        children = self._next[ctx]
        count = children.pop(word)
        self._entries -= 1
        self._bytes -= _entry_bytes(ctx, word)
        if ctx:
            self._total[ctx] -= count
            if not children:
                del self._next[ctx], self._total[ctx]
        else:
            self._total[ctx] = max(self._total[ctx] - count, 0.0)
            i = bisect.bisect_left(self._sorted, word)
            if i < len(self._sorted) and self._sorted[i] == word:
                del self._sorted[i]
            self._display.pop(word, None)
            self._top = None

    def _remember_case(self, key: str, typed: str, initial: bool) -> None:
        """Keep the latest casing typed inside a sentence; at a sentence start only a casing
        that is more than a capital first letter ("iPhone", "NASA")."""
        if initial and typed == key[:1].upper() + key[1:]:
            return
        if typed == key:
            self._display.pop(key, None)
        else:
            self._display[key] = typed

    def _iter(self) -> Iterator[tuple[tuple[str, ...], str, float]]:
        for ctx, children in self._next.items():
            for w, c in children.items():
                yield ctx, w, c

    def _enforce_bounds(self) -> None:
        cfg = self.config
        if self._entries <= cfg.max_entries and self.size_bytes <= cfg.max_bytes:
            return
        # Down to 90 % at once, so that the selection (milliseconds) runs rarely.
        keep_entries = int(cfg.max_entries * 0.9)
        keep_bytes = int(cfg.max_bytes * 0.9)
        excess = max(
            self._entries - keep_entries,
            math.ceil(self._entries * (1 - keep_bytes / max(self.size_bytes, 1))),
        )
        # Smallest counts go first; among equals, the longest sequences.
        ranked = heapq.nsmallest(
            excess + 16,
            ((c, -len(ctx), ctx, w) for ctx, kids in self._next.items() for w, c in kids.items()),
        )
        for _, _, ctx, w in ranked:
            if self._entries <= keep_entries and self.size_bytes <= keep_bytes:
                break
            if w in self._next.get(ctx, {}):
                self._remove(ctx, w)
        if self._entries > keep_entries or self.size_bytes > keep_bytes:
            self._enforce_bounds()  # long words made the byte estimate short: once more
        log.debug("history bounded to %d entries, about %d bytes", self._entries, self.size_bytes)

    def _load_entries(self, entries: list[tuple[float, list[str]]]) -> None:
        self._top = None
        self._answers = {}
        for count, words in entries:
            ctx, word = tuple(words[:-1]), words[-1]
            key = word.lower() if not ctx else word
            if not ctx and word != key:
                self._display[key] = word
            self._add(ctx, key, count)
        self._top = None
        self._enforce_bounds()


def save_history_file(history, path: str | os.PathLike) -> None:
    """Write ``history.to_bytes()`` to ``path`` atomically; ``history`` a :class:`UserHistory`
    or a :class:`~kbd_lm.inference.native_engine.NativeHistory` (the same file format).

    When the file at ``path`` could not be read as ``history`` was loaded (its ``load_error``
    is set), that file is first kept aside as ``<name>.damaged`` and ``load_error`` cleared.
    """
    path = Path(path)
    if history.load_error is not None and path.exists():
        with contextlib.suppress(OSError):
            os.replace(path, path.with_name(path.name + ".damaged"))
        history.load_error = None
    atomic_write_bytes(path, history.to_bytes())


def _parse(data: bytes, name: str, max_order: int) -> list[tuple[float, list[str]]]:
    """The entries of a history file (``[(count, words)]``), or HistoryFileError."""

    def fail(line: int | None, problem: str) -> HistoryFileError:
        where = f"{name}: line {line}" if line else name
        return HistoryFileError(f"{where}: {problem} (not a readable {FORMAT_NAME} file)")

    body, sep, trailer = data.rstrip(b"\n").rpartition(b"\n")
    if not sep:
        raise fail(None, "no header and entries")
    try:
        digest = json.loads(trailer)["sha256"]
    except (ValueError, KeyError, TypeError):
        raise fail(None, "last line is not the checksum line: truncated?") from None
    body += b"\n"
    if digest != hashlib.sha256(body).hexdigest():
        raise fail(None, "checksum does not match: the file was altered or damaged")
    try:
        lines = body.decode("utf-8").splitlines()
    except UnicodeDecodeError as err:
        raise fail(None, f"not UTF-8 (byte {err.start})") from None
    try:
        header = json.loads(lines[0])
    except ValueError:
        raise fail(1, "header is not JSON") from None
    if not isinstance(header, dict) or header.get("format") != FORMAT_NAME:
        raise fail(1, f"header does not say format {FORMAT_NAME!r}")
    version = header.get("version")
    if version != FORMAT_VERSION:
        raise fail(1, f"format version {version!r}; this reader knows {FORMAT_VERSION}")
    if header.get("entries") != len(lines) - 1:
        raise fail(1, f"header says {header.get('entries')!r} entries, found {len(lines) - 1}")
    try:  # one call for all entries; line by line only to name a bad line
        items = json.loads("[" + ",".join(lines[1:]) + "]")
    except ValueError:
        for n, line in enumerate(lines[1:], start=2):
            try:
                json.loads(line)
            except ValueError:
                raise fail(n, "entry is not JSON") from None
        raise fail(None, "entries are not JSON") from None
    out = []
    for n, item in enumerate(items, start=2):
        if not (isinstance(item, list) and 2 <= len(item) <= max_order + 1):
            raise fail(n, f"an entry is [count, word, ...] with 1 to {max_order} words")
        count, *words = item
        ok_count = isinstance(count, int | float) and not isinstance(count, bool)
        if not (ok_count and 0 < count <= _MAX_COUNT):
            raise fail(n, f"count {count!r} is not a positive number up to 2^53")
        if not all(isinstance(w, str) for w in words):
            raise fail(n, "words must be strings")
        if not WORD_RE.fullmatch(words[-1]) or any(
            w != START and not WORD_RE.fullmatch(w) for w in words[:-1]
        ):
            raise fail(n, "an entry holds something that is not a word")
        if START in words[1:]:
            raise fail(n, "the sentence start may only come first")
        out.append((float(count), words if len(words) == 1 else [w.lower() for w in words]))
    return out
