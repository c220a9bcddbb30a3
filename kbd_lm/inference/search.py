"""The word search: whole words from the model's pieces (docs/decoding.md, sections 5 and 6).

The model predicts sentencepiece pieces, so words are assembled by a beam search: a word
starts with a "▁" piece, may continue with word pieces, and ends where the model predicts a
boundary (a new "▁" piece, punctuation or the end of the message). A word's probability is
the product of its pieces' probabilities and of the boundary after it. All beams of one step
go through the model in one call (the smallest of the bundle's batch sizes that holds them).

Completion is constrained by the typed characters, not by how the partial word happens to be
tokenized: the search starts from the context before the partial word, and only pieces
consistent with the typed letters are allowed.

The model's rows are cached per context and piece path: the next letter of the same word
mostly revisits the beams of the last one, and only new paths go through the model. (A row's
output does not depend on the other rows of its batch, nor on the batch size: the cache
changes no result, only the time.)

Every constant comes from the bundle (:class:`~kbd_lm.inference.decoding.DecodingSpec`). The
:class:`~kbd_lm.inference.predictor.Predictor` owns a search and gives it the context:

>>> search = WordSearch(pieces, models, bundle.manifest.decoding, beam_width=8)  # doctest: +SKIP
>>> search.words(context, "tom", k=2)                                           # doctest: +SKIP
[('tomorrow', 0.41), ('Tom', 0.05)]
"""

from __future__ import annotations

import math
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from kbd_lm.inference.bundle import DecodingSpec
from kbd_lm.inference.pieces import Pieces, PrefixIndex
from kbd_lm.inference.runtime import StepModel
from kbd_lm.text.normalization import WORD_RE


@dataclass
class Context:
    """The model's output after a context: where a search starts."""

    logp: np.ndarray  # [V] next-piece log-probs after the context
    h: np.ndarray  # [1, P] state after the context
    c: np.ndarray  # [1, N]
    serial: int = 0  # tells contexts apart in the row cache


@dataclass
class Beam:
    """A word being spelled: its pieces so far and the state to extend it from."""

    text: str  # the word so far, in the model's casing
    score: float  # log-probability of its pieces
    piece: int  # last piece id (the next model input)
    h: np.ndarray  # [P] state before ``piece`` is read
    c: np.ndarray  # [N]
    path: tuple[int, ...]  # the word's piece ids so far, ``piece`` last (the row cache's key)


class Row(NamedTuple):
    """The model's output after a beam's path (one row of a batch)."""

    logp: np.ndarray  # [V] next-piece log-probabilities
    h: np.ndarray  # [P] state after the path
    c: np.ndarray  # [N]


class Candidate(NamedTuple):
    """A beam extended by one piece. Compared as a tuple: score, then row, then piece."""

    score: float  # log-probability of the extended beam
    row: int  # index of the beam it extends
    piece: int  # the piece id added


@dataclass
class Final:
    """A whole word found, its casing variants merged (keyed by the lowercase word)."""

    display: str  # the likeliest casing so far
    logp: float  # that casing's log-probability
    prob: float  # total probability of every casing


def top_indices(x: np.ndarray, n: int) -> np.ndarray:
    """Indices of the ``n`` largest values of a 1-D array, largest first."""
    if len(x) > n:
        part = np.argpartition(-x, n)[:n]
        return part[np.argsort(-x[part])]
    return np.argsort(-x)


class WordSearch:
    """Best whole words after a context, from one model's step interpreters.

    ``models``: batch size -> :class:`~kbd_lm.inference.runtime.StepModel`, ascending, the
    largest holding ``beam_width`` rows.
    """

    def __init__(
        self,
        pieces: Pieces,
        models: dict[int, StepModel],
        decoding: DecodingSpec,
        beam_width: int,
    ) -> None:
        self.pieces, self.models = pieces, models
        self.decoding, self.beam_width = decoding, beam_width
        self._cont_ids = np.flatnonzero(pieces.continues)
        self._start_ids = np.flatnonzero(pieces.starts_word)
        self._boundary_f32 = pieces.boundary.astype(np.float32)  # [V]
        # (context serial, piece path) -> the model's row after it, least recently used first
        self.rows: OrderedDict[tuple[int, tuple[int, ...]], Row] = OrderedDict()

    def words(
        self,
        ctx: Context,
        partial: str,
        k: int,
        blocked: Callable[[str], bool] | None = None,
    ) -> list[tuple[str, float]]:
        """Best words longer than ``partial`` that start with it (any case), as (display
        form, probability), best first, case variants merged.

        ``blocked(word)`` true: the word is not a result (nor counts towards the k best).
        """
        want = partial.lower()
        beams = self._first_beams(ctx, want)
        finals: dict[str, Final] = {}  # lowercase word -> the word found
        # log P(the typed letters are the whole word): no suggestion
        # (kbd_lm.text.normalization.completes), but a word far less likely than it is not
        # worth a beam either (see floor).
        typed = -math.inf
        for _ in range(self.decoding.max_word_pieces):
            if not beams:
                break
            rows = self._step_rows(ctx.serial, beams)
            typed = self._end_words(beams, rows, want, blocked, finals, typed)
            floor = self.floor(finals, k, typed, self.decoding.min_ratio)
            # Extensions only lose probability: a beam at or below the floor is done.
            live = [r for r, beam in enumerate(beams) if beam.score > floor]
            if not live:
                break
            beams = [
                Beam(
                    beams[cand.row].text + self.pieces.text[cand.piece],
                    cand.score,
                    cand.piece,
                    rows[cand.row].h,
                    rows[cand.row].c,
                    (*beams[cand.row].path, cand.piece),
                )
                for cand in self._candidates(beams, rows, live, want, floor)
            ]
        ranked = sorted(finals.values(), key=lambda f: -f.prob)
        return [(f.display, f.prob) for f in ranked]

    # ------------------------------------------------------------------ the steps

    def _first_beams(self, ctx: Context, want: str) -> list[Beam]:
        """The ``beam_width`` likeliest word-start pieces consistent with the typed letters."""
        first = self._matching(self.pieces.start, want, "") if want else self._start_ids
        if len(first) == 0:
            return []
        top = first[top_indices(ctx.logp[first], self.beam_width)]
        return [
            Beam(self.pieces.text[i], float(ctx.logp[i]), int(i), ctx.h[0], ctx.c[0], (int(i),))
            for i in top
        ]

    def _end_words(
        self,
        beams: list[Beam],
        rows: list[Row],
        want: str,
        blocked: Callable[[str], bool] | None,
        finals: dict[str, Final],
        typed: float,
    ) -> float:
        """Add to ``finals`` the beams that end here as a whole word longer than the typed
        letters; return ``typed`` raised by the typed letters themselves ending here (the
        letters themselves are no suggestion: kbd_lm.text.normalization.completes)."""
        can_end = [
            r
            for r, beam in enumerate(beams)
            if len(beam.text) >= max(len(want), 1)
            and WORD_RE.fullmatch(beam.text)
            and not (blocked and blocked(beam.text))
        ]
        if not can_end:
            return typed
        # P(word ends here) = sum of the boundary pieces' probabilities: [len(can_end)].
        # (einsum, not a BLAS matmul: a multi-threaded BLAS made it cost milliseconds.)
        ending = np.stack([rows[r].logp for r in can_end])  # [len(can_end), V]
        e = np.einsum("ij,j->i", np.exp(ending), self._boundary_f32)
        ends = np.log(np.maximum(e, self.decoding.min_boundary_prob))
        for r, end in zip(can_end, ends.tolist(), strict=True):
            if len(beams[r].text) > len(want):
                self.add_final(finals, beams[r].text, beams[r].score + end)
            else:
                typed = max(typed, beams[r].score + end)
        return typed

    def _candidates(
        self, beams: list[Beam], rows: list[Row], live: list[int], want: str, floor: float
    ) -> list[Candidate]:
        """The next beams: the best one-piece extensions of the live beams above ``floor``."""
        short = [len(beams[r].text) < len(want) for r in live]
        if any(short):
            cand = self._spelling_candidates(beams, rows, live, want, floor)
        else:
            cand = self._free_candidates(beams, rows, live, floor)
        if all(short):
            cand = cand[: self.decoding.covering_width]  # still spelling out the typed letters
        return cand

    def _spelling_candidates(
        self, beams: list[Beam], rows: list[Row], live: list[int], want: str, floor: float
    ) -> list[Candidate]:
        """Some beams are still inside the typed letters: per beam, its best pieces among
        those consistent with the letters (any continuation for the other beams)."""
        width = self.beam_width
        cand: list[Candidate] = []
        for r in live:
            nxt = self._cont_ids
            if len(beams[r].text) < len(want):
                nxt = self._matching(self.pieces.cont, want, beams[r].text.lower())
            if len(nxt):
                sc = beams[r].score + rows[r].logp[nxt]
                best = top_indices(sc, width)
                cand.extend(
                    Candidate(score, r, piece)
                    for score, piece in zip(sc[best].tolist(), nxt[best].tolist(), strict=True)
                )
        cand.sort(reverse=True)
        return [c for c in cand[:width] if c.score > floor]

    def _free_candidates(
        self, beams: list[Beam], rows: list[Row], live: list[int], floor: float
    ) -> list[Candidate]:
        """All beams are past the typed letters: one vectorised top-k over [live, continuation
        pieces]."""
        scores = np.array([beams[r].score for r in live])[:, None]
        cont = np.stack([rows[r].logp[self._cont_ids] for r in live])  # [live, C]
        sc = scores + cont
        flat = top_indices(sc.ravel(), self.beam_width)
        r_idx, p_idx = np.unravel_index(flat, sc.shape)
        return [
            Candidate(float(sc[a, b]), live[a], int(self._cont_ids[b]))
            for a, b in zip(r_idx, p_idx, strict=True)
            if sc[a, b] > floor
        ]

    # ------------------------------------------------------------------ the model's rows

    def _step_rows(self, serial: int, beams: list[Beam]) -> list[Row]:
        """The model's row after each beam's path.

        Rows already computed for this context (an earlier keystroke of the same word) come
        from the row cache; the others go through the model in one batch.
        """
        rows = self.rows
        found = [rows.get((serial, beam.path)) for beam in beams]
        missing = [r for r, row in enumerate(found) if row is None]
        for r, row in enumerate(found):
            if row is not None:
                rows.move_to_end((serial, beams[r].path))  # recently used: trimmed last
        if missing:
            model = self.model_for(len(missing))
            ids = np.zeros(model.batch, np.int32)
            h, c = model.zero_state()
            for j, r in enumerate(missing):
                ids[j], h[j], c[j] = beams[r].piece, beams[r].h, beams[r].c
            logp, h2, c2 = model.step(ids, h, c)  # [batch, V]
            # Cached rows are copies: a view would keep its whole batch array alive.
            for j, r in enumerate(missing):
                found[r] = rows[(serial, beams[r].path)] = Row(logp[j].copy(), h2[j], c2[j])
            while len(rows) > self.decoding.row_cache:
                rows.popitem(last=False)
        return found

    def model_for(self, rows: int) -> StepModel:
        """The smallest-batch interpreter with room for ``rows`` rows."""
        for b, model in self.models.items():
            if b >= rows:
                return model
        raise ValueError(f"{rows} rows exceed the beam width {self.beam_width}")

    # ------------------------------------------------------------------ bookkeeping

    @staticmethod
    def add_final(finals: dict[str, Final], text: str, logp: float) -> None:
        """Count ``text`` (log-probability ``logp``) towards its lowercase word."""
        entry = finals.get(text.lower())
        if entry is None:
            finals[text.lower()] = Final(text, logp, math.exp(logp))
            return
        if logp > entry.logp:
            entry.display, entry.logp = text, logp
        entry.prob += math.exp(logp)

    @staticmethod
    def floor(finals: dict[str, Final], k: int, typed: float, min_ratio: float) -> float:
        """Log-probability a beam must beat to still matter: the k-th best word so far, and
        never less than ``min_ratio`` times the best word or the typed letters as a whole word
        (``typed``, a log-probability), whichever is likelier. That bounds the search when fewer
        than k words fit what was typed: a long rare word typed in full, or a whole word whose
        only longer spellings are made up ("thinkings")."""
        probs = sorted((f.prob for f in finals.values()), reverse=True)
        best = max(probs[0] if probs else 0.0, math.exp(typed))
        if best <= 0.0:
            return -math.inf
        relative = math.log(best * min_ratio)
        return max(math.log(probs[k - 1]), relative) if len(probs) >= k else relative

    @staticmethod
    def _matching(index: PrefixIndex, want: str, have: str) -> np.ndarray:
        """Piece ids p with have+p consistent with the typed word ``want`` (lowercase)."""
        return index.covering(want[len(have) :])
