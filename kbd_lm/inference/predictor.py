"""Word suggestions from a bundle: ``Predictor.load(bundle_dir).suggest(text, k=3)``.

``text`` is everything before the cursor. Text that ends in a space or punctuation asks for
the next word; text that ends inside a word asks for completions of that partial word.

The model predicts sentencepiece pieces, so words are assembled by a beam search: a word
starts with a "▁" piece, may continue with word pieces, and ends where the model predicts a
boundary (a new "▁" piece, punctuation or the end of the message). A word's probability is
the product of its pieces' probabilities and of the boundary after it. All beams of one
search go through the model in one call (the bundle's batch dimension).

Completion is constrained by the typed characters, not by how the partial word happens to be
tokenized: the model runs on the context before the partial word, and only pieces consistent
with the typed letters are allowed.

The recurrent state after a context is cached, so typing one more letter of the same word does
not run the context again, and a new word only runs the pieces that were added. The search's
model rows are cached too, per context and piece path: the next letter of the same word
mostly revisits the beams of the last one, and only new paths go through the model. (A row's
output does not depend on the other rows of its batch, nor on the batch size: the cache
changes no result, only the time.)

A field hint says what kind of text field the user types in (``hint="message"``, ``"email"``,
``"prose"``; :data:`kbd_lm.text.hints.HINTS`). A bundle trained with hints reads it right after
BOS (docs/decoding.md, section 3); without one, or with a bundle trained without hints, the
model predicts for text of any kind.

>>> p = Predictor.load("dist/bundle")                     # doctest: +SKIP
>>> [s.word for s in p.suggest("see you ")]               # doctest: +SKIP
['tomorrow', 'later', 'soon']
>>> p.hints, [s.word for s in p.suggest("Can you send me the ", hint="email")]  # doctest: +SKIP
(('message', 'email', 'prose'), ['message', 'email', 'mail'])
"""

from __future__ import annotations

import logging
import math
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from kbd_lm.history.mix import DEFAULT_WEIGHTS, mix_history
from kbd_lm.history.user_history import UserHistory
from kbd_lm.inference import lexicon as L
from kbd_lm.inference.blocklist import BLOCKLIST_FILE, Blocklist
from kbd_lm.inference.bundle import Bundle, BundleError
from kbd_lm.inference.pieces import PrefixIndex, piece_tables
from kbd_lm.inference.runtime import Runtime, StepModel, open_step_models, runtime_version
from kbd_lm.inference.suggestion import Suggestion
from kbd_lm.text.hints import HINTS
from kbd_lm.text.normalization import PARTIAL_WORD_RE, WORD_RE, normalize_prefix
from kbd_lm.text.sentences import at_sentence_start
from kbd_lm.text.tokenizer import BOS_ID, Tokenizer

log = logging.getLogger(__name__)

MAX_CONTEXT_CHARS = 300  # only the end of a long text matters (and keeps every call bounded)
# Where a long text's context starts moves in steps of this many characters, not at every word:
# between two moves the context only grows at its end, so a new word runs only its own pieces.
CONTEXT_STRIDE = 128
# 300 characters of English are about 70 pieces. A context of more pieces than this (digits,
# scripts of many pieces per character) is read as its last SHORT_CONTEXT_TOKENS pieces only,
# which bounds every call's work.
MAX_CONTEXT_TOKENS = 160
SHORT_CONTEXT_TOKENS = 48
PREPARE_PIECES = 8  # pieces of the next start's context run per call, at most
MAX_WORD_PIECES = 8
MIN_RATIO = 1e-4  # words this much less likely than the best one are not worth a beam
COVERING_WIDTH = 4  # beams kept while pieces are still spelling out the typed letters
ROW_CACHE_SIZE = 64  # search rows kept between keystrokes (32 KB each with 8k pieces)
MIX_CANDIDATES = 8  # with an n-gram in the bundle: candidates taken from each model


@dataclass
class _Beam:
    text: str  # the word so far, in the model's casing
    score: float  # log-probability of its pieces
    piece: int  # last piece id (the next model input)
    h: np.ndarray  # [P] state before ``piece`` is read
    c: np.ndarray  # [N]
    path: tuple[int, ...]  # the word's piece ids so far, ``piece`` last (the row cache's key)


@dataclass
class _Context:
    logp: np.ndarray  # [V] next-piece log-probs after the context
    h: np.ndarray  # [1, P] state after the context
    c: np.ndarray  # [1, N]
    serial: int = 0  # tells contexts apart in the row cache


def context_start(length: int) -> int:
    """Where the predictor starts reading a text of ``length`` characters: 0 up to
    MAX_CONTEXT_CHARS, then the smallest multiple of CONTEXT_STRIDE that leaves at most
    MAX_CONTEXT_CHARS characters after it.

    >>> [context_start(n) for n in (0, 300, 301, 428, 429)]
    [0, 0, 128, 128, 256]
    """
    return _whole_strides(length - MAX_CONTEXT_CHARS)


def _whole_strides(n: int) -> int:
    """The smallest multiple of CONTEXT_STRIDE that is at least ``n`` (0 for ``n <= 0``)."""
    return 0 if n <= 0 else -(-n // CONTEXT_STRIDE) * CONTEXT_STRIDE


def keep_end(text: str, max_chars: int) -> str:
    """At most ``max_chars`` characters of the end of ``text``, cut where the predictor's
    reading start can be (a multiple of CONTEXT_STRIDE from the text's start), so that with
    ``max_chars >= MAX_CONTEXT_CHARS + CONTEXT_STRIDE`` every answer stays that of the whole
    text; a limit under CONTEXT_STRIDE cuts exactly. (A server bounds its requests with it.)

    >>> len(keep_end("x" * 1500, 1000)), len(keep_end("x" * 1500, 5))
    (988, 5)
    """
    cut = _whole_strides(len(text) - max_chars)
    return text[cut:] if cut < len(text) else text[-max_chars:]


def _default_case(word: str) -> str:
    """Casing for a word only the (lowercase) n-gram proposed: "i" and "i'm" become "I"."""
    return "I" + word[1:] if word == "i" or word.startswith("i'") else word


def _top_indices(x: np.ndarray, n: int) -> np.ndarray:
    """Indices of the ``n`` largest values of a 1-D array, largest first."""
    if len(x) > n:
        part = np.argpartition(-x, n)[:n]
        return part[np.argsort(-x[part])]
    return np.argsort(-x)


def _logsumexp(x: np.ndarray, axis: int = -1) -> np.ndarray:
    m = np.max(x, axis=axis, keepdims=True)
    return (m + np.log(np.sum(np.exp(x - m), axis=axis, keepdims=True))).squeeze(axis)


class Predictor:
    """Suggests whole words from a bundle, with the same ``.tflite`` file a phone runs."""

    def __init__(
        self,
        bundle: Bundle,
        runtime: Runtime = "litert",
        beam_width: int = 8,
        num_threads: int = 1,
        cache_size: int = 128,
    ) -> None:
        bundle.check_runtime(runtime, runtime_version(runtime))
        self.bundle = bundle
        self.tok = Tokenizer.load(bundle.tokenizer_path)
        self._hint_ids = self.tok.hint_ids  # the field hints the model was trained with
        self.beam_width = beam_width
        # A model per batch size (one interpreter, the fixed-batch signatures): a step costs
        # about linearly in B, so each search step uses the smallest batch that fits.
        sizes = (1, *(b for b in (2, 4) if b < beam_width), beam_width)
        self._models = open_step_models(bundle.model_path, sizes, runtime, num_threads)
        self.ctx_model = self._models[1]
        self.pieces = piece_tables(self.tok)
        self._cont_ids = np.flatnonzero(self.pieces.continues)
        self._start_ids = np.flatnonzero(self.pieces.starts_word)
        self._boundary_f32 = self.pieces.boundary.astype(np.float32)  # [V]
        self._cache: OrderedDict[tuple[int, ...], _Context] = OrderedDict()
        self._serial = 0
        # (hint id, context) -> model input ids, for the last few contexts
        self._ids_cache: OrderedDict[tuple[int | None, str], tuple[int, ...]] = OrderedDict()
        # (context serial, piece path) -> the model's row after it: (logp [V], h [P], c [N])
        self._rows: OrderedDict[tuple[int, tuple[int, ...]], tuple] = OrderedDict()
        # Optional word n-gram shipped in the bundle, interpolated with the neural model;
        # neural_weight: the neural model's share (version-1 manifests: ``lstm_weight``).
        self.ngram, self.neural_weight = None, 1.0
        spec = bundle.manifest.ngram
        self._cache_size = cache_size
        self.lexicon = None
        self.lexicon_weight = L.DEFAULT_WEIGHT
        self.blocklist = Blocklist()
        # The extra files are read only when the manifest lists them (so their checksums were
        # checked); one that still cannot be read makes the bundle wrong, not the caller.
        try:
            if spec is not None:
                from kbd_lm.ngram.model import KneserNeyTrigram

                self.ngram = KneserNeyTrigram.load(bundle.path / spec.file)
                self.neural_weight = float(spec.neural_weight)
            # The bundle's word list completes words the beam search cannot spell out in time
            # (kbd_lm.inference.lexicon); a bundle without one (the first version's) completes
            # without.
            if L.FILE in bundle.manifest.files:
                self.lexicon = L.Lexicon.load(bundle.path / L.FILE)
            # Offensive words never suggested (a bundle without the file blocks nothing); an
            # app changes it with predictor.blocklist.add(word) / .remove(word) / .enabled.
            if BLOCKLIST_FILE in bundle.manifest.files:
                self.blocklist = Blocklist.load(bundle.path / BLOCKLIST_FILE)
        except (ValueError, OSError) as err:
            raise BundleError(f"{bundle.path}: {err}") from err
        self.history_weights = DEFAULT_WEIGHTS  # see kbd_lm.history.mix

    @classmethod
    def load(cls, bundle_dir: str | Path, runtime: Runtime = "litert", **kwargs) -> Predictor:
        """Load and verify a bundle folder (see :class:`kbd_lm.inference.bundle.Bundle`)."""
        return cls(Bundle.load(bundle_dir), runtime=runtime, **kwargs)

    # ------------------------------------------------------------------ public API

    @property
    def hints(self) -> tuple[str, ...]:
        """The field hints this bundle reads (empty for a bundle trained without them)."""
        return tuple(self._hint_ids)

    def _hint_id(self, hint: str | None) -> int | None:
        """The control id of ``hint``; None for no hint or a hint this bundle lacks.

        A name outside :data:`~kbd_lm.text.hints.HINTS` is an error (a typo must not pass
        silently); a known name that the bundle was not trained with is read as no hint, so
        that an app can send hints to any bundle.
        """
        if hint is None:
            return None
        if hint not in HINTS:
            raise ValueError(f"unknown hint {hint!r}: use one of {', '.join(HINTS)} or none")
        return self._hint_ids.get(hint)

    def clear_cache(self) -> None:
        """Forget every cached context state: the next call starts as in a new text field.

        >>> p = Predictor.load("dist/bundle")   # doctest: +SKIP
        >>> p.clear_cache()                     # doctest: +SKIP
        """
        self._cache.clear()
        self._rows.clear()
        self._ids_cache.clear()

    def cache_state(self) -> tuple:
        """What the caches hold now, for :meth:`restore_cache`: a benchmark times two calls
        from the same state (the second call would otherwise find the first one's work)."""
        return (self._cache.copy(), self._rows.copy(), self._ids_cache.copy(), self._serial)

    def restore_cache(self, state: tuple) -> None:
        """Put back the caches :meth:`cache_state` returned."""
        cache, rows, ids, self._serial = state
        self._cache, self._rows, self._ids_cache = cache.copy(), rows.copy(), ids.copy()

    def suggest(
        self,
        text: str,
        k: int = 3,
        history: UserHistory | None = None,
        hint: str | None = None,
    ) -> list[Suggestion]:
        """Up to ``k`` distinct whole words, best first, for the text before the cursor.

        ``history``: the user's :class:`~kbd_lm.history.user_history.UserHistory`, mixed in at word
        level
        (one predictor serves many users). ``hint``: the kind of text field, one of
        :data:`~kbd_lm.text.hints.HINTS` or None. Blocked words are never returned.
        """
        hint_id = self._hint_id(hint)  # (checked even for k = 0)
        if k <= 0:
            return []
        context, partial, words = self._model_words(text, k, hint_id)
        if history is not None:
            words = mix_history(words, history, context, partial, self.history_weights)
        words = self.blocklist.filter(words, context)
        at_start = at_sentence_start(context)
        out = []
        for word, prob in words[:k]:
            if partial:
                word = partial + word[len(partial) :]  # keep what the user typed
            elif at_start:
                word = word[:1].upper() + word[1:]
            out.append(Suggestion(word, prob))
        return out

    def model_words(
        self, text: str, k: int = 3, hint: str | None = None
    ) -> tuple[str, str, list[tuple[str, float]]]:
        """What ``suggest`` mixes a history into: (context, partial word, the bundle's words
        as (word, probability) best first, blocked words left out of the search)."""
        return self._model_words(text, k, self._hint_id(hint))

    def _model_words(self, text: str, k: int, hint_id: int | None):
        context, partial = self._split(text)
        ctx = self._context(context, hint_id)
        self._prepare_next_start(text or "", hint_id)
        blocked = self.blocklist.enabled and (lambda w: self.blocklist.blocks(w, context))
        words = self._search(ctx, partial, max(k, MIX_CANDIDATES) if self.ngram else k, blocked)
        if self.lexicon is not None:  # completions the search could not spell out in time
            words = L.mix_lexicon(words, self.lexicon, partial, self.lexicon_weight)
        if self.ngram is not None:
            words = self._mix(text, words, k)
        return context, partial, words

    def _mix(self, text: str, words: list[tuple[str, float]], k: int) -> list[tuple[str, float]]:
        """Interpolate with the bundle's n-gram: P = w P_neural + (1 - w) P_ngram, best first.

        Candidates are the neural model's and the n-gram's top words; a word missing from its
        list counts as 0 there (the beam search found nothing likelier than its last word).
        """
        weight = self.neural_weight
        neural = {w.lower(): (w, p) for w, p in words}
        grams = {s.word: s.probability for s in self.ngram.suggest(text, k=MIX_CANDIDATES)}
        mixed = []
        for key in neural.keys() | grams.keys():
            display, p_neural = neural.get(key, (_default_case(key), 0.0))
            p_gram = grams.get(key)
            if p_gram is None:  # words outside the n-gram's vocabulary get nothing from it
                known = self.ngram.knows(key)  # (its <unk> mass belongs to all such words)
                p_gram = math.exp(self.ngram.next_word_logprob(text, key)) if known else 0.0
            mixed.append((display, weight * p_neural + (1 - weight) * p_gram))
        mixed.sort(key=lambda item: -item[1])
        return mixed

    def next_word_logprob(self, text: str, word: str, hint: str | None = None) -> float:
        """log P(word | text), case-insensitive: the casing variants' probabilities are summed.

        The word's pieces are its tokenization as a new word; the boundary after it counts.
        With an n-gram in the bundle, the two models' probabilities are interpolated.
        """
        neural = self._neural_logprob(text, word, self._hint_id(hint))
        if self.ngram is None:
            return neural
        gram = self.ngram.next_word_logprob(text, word)
        w = self.neural_weight
        return float(np.logaddexp(math.log(w) + neural, math.log1p(-w) + gram))

    def _neural_logprob(self, text: str, word: str, hint_id: int | None) -> float:
        context, _ = self._split(text if not text or text[-1].isspace() else text + " ")
        ctx = self._context(context, hint_id)
        variants = list(dict.fromkeys([word, word.lower(), word[:1].upper() + word[1:].lower()]))
        seqs = [self.tok.encode(v)[:MAX_WORD_PIECES] for v in variants]
        seqs = [s for s in seqs if s][: self.beam_width]
        if not seqs:
            return -math.inf
        model = self._model_for(len(seqs))
        b = model.batch
        scores = np.array([ctx.logp[s[0]] for s in seqs])
        h = np.repeat(ctx.h, b, 0)
        c = np.repeat(ctx.c, b, 0)
        done = np.full(len(seqs), -np.inf)
        for t in range(max(len(s) for s in seqs)):
            ids = np.zeros(b, np.int32)
            for r, s in enumerate(seqs):
                ids[r] = s[min(t, len(s) - 1)]
            logp, h2, c2 = model.step(ids, h, c)
            for r, s in enumerate(seqs):
                if t < len(s):
                    if t + 1 < len(s):
                        scores[r] += logp[r, s[t + 1]]
                    else:
                        done[r] = scores[r] + _logsumexp(logp[r, self.pieces.boundary])
            h, c = h2, c2
        return float(_logsumexp(done))

    # ------------------------------------------------------------------ context

    def _split(self, text: str, start: int | None = None) -> tuple[str, str]:
        """(context before the word being typed, the partial word) of normalised text.

        Only the text from :func:`context_start` on is read (from ``start`` if given), less
        its first, possibly cut, word (docs/decoding.md, section 2).
        """
        text = text or ""
        start = context_start(len(text)) if start is None else start
        text = normalize_prefix(text[start:])
        if start:
            text = text[text.find(" ") + 1 :]  # (all of it when there is no space)
        if not text or text[-1] == " ":
            return text.rstrip(), ""
        m = PARTIAL_WORD_RE.search(text)
        if m is None:  # ends in punctuation or a symbol: the next word comes after it
            return text, ""
        return text[: m.start()].rstrip(), m.group(0)

    def _prepare_next_start(self, text: str, hint_id: int | None) -> None:
        """Run the context the text will have once its start moves on (CONTEXT_STRIDE
        characters later), PREPARE_PIECES pieces per call at most, so that the call which
        moves the start finds it cached: a few pieces at every call instead of a whole context
        at once (the move is at least 25 words away, the preparation far fewer calls). Answers
        do not change."""
        start = context_start(len(text)) + CONTEXT_STRIDE
        if start >= len(text):
            return
        context, _ = self._split(text, start)
        if context:
            self._context(context, hint_id, limit=PREPARE_PIECES)

    def decode_input(self, text: str, hint: str | None = None) -> tuple[str, str, list[int]]:
        """(context, partial word, model input ids) of the text before the cursor: what
        ``suggest`` reads (docs/decoding.md); ports check theirs against it."""
        context, partial = self._split(text)
        return context, partial, list(self._ids(context, self._hint_id(hint)))

    def _ids(self, context: str, hint_id: int | None = None) -> tuple[int, ...]:
        """BOS (+ the hint) + the context's pieces, or only the last SHORT_CONTEXT_TOKENS of
        them when they are more than MAX_CONTEXT_TOKENS."""
        key = self._ids_cache.get((hint_id, context))
        if key is None:  # (the letters of one word share their context)
            start = [BOS_ID] if hint_id is None else [BOS_ID, hint_id]
            ids = [*start, *self.tok.encode(context)] if context else start
            if len(ids) > MAX_CONTEXT_TOKENS:
                ids = ids[-SHORT_CONTEXT_TOKENS:]
            key = self._ids_cache[(hint_id, context)] = tuple(ids)
            if len(self._ids_cache) > 4:
                self._ids_cache.popitem(last=False)
        return key

    def _context(self, context: str, hint_id: int | None = None, limit: int | None = None):
        """Model output after ``context`` (BOS, the hint, its pieces; a :class:`_Context`),
        reusing the longest cached prefix.

        With ``limit``: run at most that many pieces past the cached prefix (the output is
        then that of a prefix of the context, cached for the next call to resume from).
        """
        key = self._ids(context, hint_id)
        start, state = 0, None
        for n in range(len(key), 0, -1):
            state = self._cache.get(key[:n])
            if state is not None:
                start = n
                self._cache.move_to_end(key[:n])
                break
        if start == len(key):
            return state
        if limit is not None:
            key = key[: start + limit]
        h, c = (state.h, state.c) if state else self.ctx_model.zero_state()
        *middle, last = key[start:]
        for token in middle:  # only the last token's distribution is needed
            h, c = self.ctx_model.advance(np.array([token], np.int32), h, c)
        logp, h, c = self.ctx_model.step(np.array([last], np.int32), h, c)
        self._serial += 1
        result = _Context(logp[0], h, c, self._serial)
        self._cache[key] = result
        if len(self._cache) > self._cache_size:
            self._cache.popitem(last=False)
        return result

    # ------------------------------------------------------------------ beam search

    def _search(self, ctx: _Context, partial: str, k: int, blocked=None) -> list[tuple[str, float]]:
        """Best words (case variants merged), as (display form, probability), best first.

        ``blocked(word)`` true: the word is not a result (nor counts towards the k best)."""
        pieces, width = self.pieces, self.beam_width
        want = partial.lower()
        # First pieces: "▁..." pieces consistent with what was typed.
        first = self._matching(pieces.start, want, "") if want else self._start_ids
        if len(first) == 0:
            return []
        top = first[_top_indices(ctx.logp[first], width)]
        beams = [
            _Beam(pieces.text[i], float(ctx.logp[i]), int(i), ctx.h[0], ctx.c[0], (int(i),))
            for i in top
        ]
        finals: dict[str, list] = {}  # lowercase word -> [best display, best logp, total prob]
        # log P(the typed letters are the whole word): no suggestion
        # (kbd_lm.text.normalization.completes),
        # but a word far less likely than it is not worth a beam either (see _floor).
        typed = -math.inf
        for _ in range(MAX_WORD_PIECES):
            if not beams:
                break
            n = len(beams)
            rows = self._step_rows(ctx.serial, beams)  # per beam: (logp [V], h [P], c [N])
            # Beams that spell a whole word longer than the typed letters may end here (the
            # letters themselves are no suggestion: kbd_lm.text.normalization.completes).
            can_end = [
                r
                for r, beam in enumerate(beams)
                if len(beam.text) >= max(len(want), 1)
                and WORD_RE.fullmatch(beam.text)
                and not (blocked and blocked(beam.text))
            ]
            if can_end:
                # P(word ends here) = sum of the boundary pieces' probabilities: [len(can_end)].
                # (einsum, not a BLAS matmul: a multi-threaded BLAS made it cost milliseconds.)
                ending = np.stack([rows[r][0] for r in can_end])  # [len(can_end), V]
                e = np.einsum("ij,j->i", np.exp(ending), self._boundary_f32)
                ends = np.log(np.maximum(e, 1e-30))
                for r, end in zip(can_end, ends.tolist(), strict=True):
                    if len(beams[r].text) > len(want):
                        self._add_final(finals, beams[r].text, beams[r].score + end)
                    else:
                        typed = max(typed, beams[r].score + end)
            floor = self._floor(finals, k, typed)
            # Extensions only lose probability: a beam at or below the k-th final is done.
            live = [r for r in range(n) if beams[r].score > floor]
            if not live:
                break
            if any(len(beams[r].text) < len(want) for r in live):
                cand = []  # still inside the typed letters: per-beam constrained pieces
                for r in live:
                    nxt = self._cont_ids
                    if len(beams[r].text) < len(want):
                        nxt = self._matching(pieces.cont, want, beams[r].text.lower())
                    if len(nxt):
                        sc = beams[r].score + rows[r][0][nxt]
                        best = _top_indices(sc, width)
                        cand.extend(
                            zip(sc[best].tolist(), [r] * len(best), nxt[best].tolist(), strict=True)
                        )
                cand.sort(reverse=True)
                cand = [x for x in cand[:width] if x[0] > floor]
            else:  # all beams free: one vectorised top-k over [live, continuation pieces]
                scores = np.array([beams[r].score for r in live])[:, None]
                cont = np.stack([rows[r][0][self._cont_ids] for r in live])  # [live, C]
                sc = scores + cont
                flat = _top_indices(sc.ravel(), width)
                r_idx, p_idx = np.unravel_index(flat, sc.shape)
                cand = [
                    (float(sc[a, b]), live[a], int(self._cont_ids[b]))
                    for a, b in zip(r_idx, p_idx, strict=True)
                    if sc[a, b] > floor
                ]
            if all(len(beams[r].text) < len(want) for r in live):
                cand = cand[:COVERING_WIDTH]  # still spelling out the typed letters
            beams = [
                _Beam(
                    beams[r].text + pieces.text[i],
                    sc_,
                    i,
                    rows[r][1],
                    rows[r][2],
                    (*beams[r].path, i),
                )
                for sc_, r, i in cand
            ]
        ranked = sorted(finals.values(), key=lambda f: -f[2])
        return [(display, prob) for display, _, prob in ranked]

    def _step_rows(self, serial: int, beams: list[_Beam]) -> list[tuple]:
        """The model's row after each beam's path: [(logp [V], h [P], c [N])] per beam.

        Rows already computed for this context (an earlier keystroke of the same word) come
        from the row cache; the others go through the model in one batch.
        """
        rows = self._rows
        found = [rows.get((serial, beam.path)) for beam in beams]
        missing = [r for r, row in enumerate(found) if row is None]
        for r, row in enumerate(found):
            if row is not None:
                rows.move_to_end((serial, beams[r].path))  # recently used: trimmed last
        if missing:
            model = self._model_for(len(missing))
            ids = np.zeros(model.batch, np.int32)
            h, c = model.zero_state()
            for j, r in enumerate(missing):
                ids[j], h[j], c[j] = beams[r].piece, beams[r].h, beams[r].c
            logp, h2, c2 = model.step(ids, h, c)  # [batch, V]
            # Cached rows are copies: a view would keep its whole batch array alive.
            for j, r in enumerate(missing):
                found[r] = rows[(serial, beams[r].path)] = (logp[j].copy(), h2[j], c2[j])
            self._trim_rows()
        return found

    def _trim_rows(self) -> None:
        while len(self._rows) > ROW_CACHE_SIZE:
            self._rows.popitem(last=False)

    def _model_for(self, rows: int) -> StepModel:
        """The smallest-batch interpreter with room for ``rows`` rows."""
        for b, model in self._models.items():
            if b >= rows:
                return model
        raise ValueError(f"{rows} rows exceed the beam width {self.beam_width}")

    @staticmethod
    def _add_final(finals: dict, text: str, logp: float) -> None:
        key = text.lower()
        entry = finals.get(key)
        if entry is None:
            finals[key] = [text, logp, math.exp(logp)]
        else:
            if logp > entry[1]:
                entry[0], entry[1] = text, logp
            entry[2] += math.exp(logp)

    @staticmethod
    def _floor(finals: dict, k: int, typed: float = -math.inf) -> float:
        """Log-probability a beam must beat to still matter: the k-th best word so far, and
        never less than ``MIN_RATIO`` times the best word or the typed letters as a whole word
        (``typed``, a log-probability), whichever is likelier. That bounds the search when fewer
        than k words fit what was typed: a long rare word typed in full, or a whole word whose
        only longer spellings are made up ("thinkings")."""
        probs = sorted((f[2] for f in finals.values()), reverse=True)
        best = max(probs[0] if probs else 0.0, math.exp(typed))
        if best <= 0.0:
            return -math.inf
        relative = math.log(best * MIN_RATIO)
        return max(math.log(probs[k - 1]), relative) if len(probs) >= k else relative

    @staticmethod
    def _matching(index: PrefixIndex, want: str, have: str) -> np.ndarray:
        """Piece ids p with have+p consistent with the typed word ``want`` (lowercase)."""
        return index.covering(want[len(have) :])
