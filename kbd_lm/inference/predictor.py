"""Word suggestions from a bundle: ``Predictor.load(bundle_dir).suggest(text, k=3)``.

``text`` is everything before the cursor. Text that ends in a space or punctuation asks for
the next word; text that ends inside a word asks for completions of that partial word.

The model predicts sentencepiece pieces, so words are assembled by a beam search over them
(:mod:`kbd_lm.inference.search`): the model runs on the context before the partial word, and
only pieces consistent with the typed letters are allowed. Every constant of the search (the
beam width, how much context is read, ...) is the bundle's: the manifest's ``decoding``
(:class:`~kbd_lm.inference.decoding.DecodingSpec`, docs/decoding.md).

The recurrent state after a context is cached, so typing one more letter of the same word does
not run the context again, and a new word only runs the pieces that were added. (The search
keeps its model rows too; no cache changes a result, only the time.)

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
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from kbd_lm.history.mix import DEFAULT_WEIGHTS, mix_history
from kbd_lm.history.user_history import UserHistory
from kbd_lm.inference import lexicon as L
from kbd_lm.inference.blocklist import Blocklist
from kbd_lm.inference.bundle import BLOCKLIST_FILE, LEXICON_FILE, MANIFEST_FILE, Bundle, BundleError
from kbd_lm.inference.correction import Corrections, correctable
from kbd_lm.inference.decoding import DecodingSpec
from kbd_lm.inference.pieces import piece_tables
from kbd_lm.inference.runtime import Runtime, open_step_models, runtime_version
from kbd_lm.inference.search import Context, Row, WordSearch
from kbd_lm.inference.suggestion import Suggestion
from kbd_lm.text.normalization import PARTIAL_WORD_RE, normalize_prefix
from kbd_lm.text.sentences import at_sentence_start
from kbd_lm.text.tokenizer import BOS_ID, Tokenizer
from kbd_lm.typing.layouts import DEFAULT_LAYOUT

log = logging.getLogger(__name__)

# The search's constants (beam width, context limits, ...) are the bundle's: DecodingSpec,
# the manifest's ``decoding``. These two only change how fast an answer comes, never what it is.
PREPARE_PIECES = 8  # pieces of the next start's context run per call, at most
# Model input ids kept for this many (hint, context) pairs: a keystroke asks for its context's
# and, in a text longer than context_stride, for the next start's too (_prepare_next_start);
# every letter of a word asks for the same ones, so four hold this word's and the last word's.
IDS_CACHE_SIZE = 4
# Who answers: this module ("python", the reference) or the native decoder (libkbd_lm.so,
# kbd_lm.inference.native_engine).
ENGINES = ("python", "native")
MIX_CANDIDATES = 8  # with an n-gram in the bundle: candidates taken from each model
# With correction on: the completions of the typed letters that corrections compete with.
CORRECTION_CANDIDATES = 8
# What context_start and keep_end assume without a bundle: the values of format-2 bundles,
# which export still writes (a Predictor passes its bundle's own).
_DEFAULT_DECODING = DecodingSpec()


def context_start(length: int, decoding: DecodingSpec = _DEFAULT_DECODING) -> int:
    """Where the predictor starts reading a text of ``length`` characters: 0 up to
    ``decoding.max_context_chars``, then the smallest multiple of ``decoding.context_stride``
    that leaves at most ``max_context_chars`` characters after it.

    >>> [context_start(n) for n in (0, 300, 301, 428, 429)]
    [0, 0, 128, 128, 256]
    """
    return _whole_strides(length - decoding.max_context_chars, decoding.context_stride)


def _whole_strides(n: int, stride: int) -> int:
    """The smallest multiple of ``stride`` that is at least ``n`` (0 for ``n <= 0``)."""
    return 0 if n <= 0 else -(-n // stride) * stride


def keep_end(text: str, max_chars: int, decoding: DecodingSpec = _DEFAULT_DECODING) -> str:
    """At most ``max_chars`` characters of the end of ``text``, cut where the predictor's
    reading start can be (a multiple of ``decoding.context_stride`` from the text's start),
    so that with ``max_chars >= max_context_chars + context_stride`` every answer stays that
    of the whole text; a limit under the stride cuts exactly. (A server bounds its requests
    with it.)

    >>> len(keep_end("x" * 1500, 1000)), len(keep_end("x" * 1500, 5))
    (988, 5)
    """
    cut = _whole_strides(len(text) - max_chars, decoding.context_stride)
    return text[cut:] if cut < len(text) else text[-max_chars:]


def split_text(
    text: str, decoding: DecodingSpec = _DEFAULT_DECODING, start: int | None = None
) -> tuple[str, str]:
    """(context before the word being typed, the partial word) of normalised text: what
    ``Predictor.suggest`` reads (``decoding``: the bundle's, as the predictor's).

    Only the text from :func:`context_start` on is read (from ``start`` if given), less
    its first, possibly cut, word (docs/decoding.md, section 2).

    >>> split_text("see you tom"), split_text("see you "), split_text("ok.")
    (('see you', 'tom'), ('see you', ''), ('ok.', ''))
    """
    text = text or ""
    start = context_start(len(text), decoding) if start is None else start
    text = normalize_prefix(text[start:])
    if start:
        text = text[text.find(" ") + 1 :]  # (all of it when there is no space)
    if not text or text[-1] == " ":
        return text.rstrip(), ""
    m = PARTIAL_WORD_RE.search(text)
    if m is None:  # ends in punctuation or a symbol: the next word comes after it
        return text, ""
    return text[: m.start()].rstrip(), m.group(0)


def _default_case(word: str) -> str:
    """Casing for a word only the (lowercase) n-gram proposed: "i" and "i'm" become "I"."""
    return "I" + word[1:] if word == "i" or word.startswith("i'") else word


def _logsumexp(x: np.ndarray, axis: int = -1) -> np.ndarray:
    m = np.max(x, axis=axis, keepdims=True)
    return (m + np.log(np.sum(np.exp(x - m), axis=axis, keepdims=True))).squeeze(axis)


def _boundary_logprob(logp: np.ndarray, boundary_ids: np.ndarray) -> np.float32:
    """log P(a boundary piece next) from a model row's log-probabilities [V]: the log-sum-exp
    of ``logp[boundary_ids]``, the same float32 operations as :func:`_logsumexp`'s, in one
    buffer (called for every word whose prior is asked: about 15 per keystroke)."""
    x = logp.take(boundary_ids)
    top = x.max()
    np.subtract(x, top, out=x)
    np.exp(x, out=x)
    return top + np.log(x.sum())


class Predictor:
    """Suggests whole words from a bundle, with the same ``.tflite`` file a phone runs."""

    def __init__(
        self,
        bundle: Bundle,
        runtime: Runtime = "litert",
        beam_width: int | None = None,
        num_threads: int = 1,
        cache_size: int | None = None,
    ) -> None:
        """``beam_width`` (default: the bundle's, never more) and ``cache_size`` (context
        states kept; default: the bundle's) come from the manifest's ``decoding``, as every
        other constant of the search (:class:`~kbd_lm.inference.decoding.DecodingSpec`)."""
        bundle.check_runtime(runtime, runtime_version(runtime))
        self.bundle = bundle
        self.decoding = bundle.manifest.decoding
        try:
            self.beam_width = self.decoding.check_beam_width(beam_width)
        except ValueError as err:
            raise BundleError(f"{bundle.path / MANIFEST_FILE}: {err}") from err
        self.tok = Tokenizer.load(bundle.tokenizer_path)
        self._hint_ids = self.tok.hint_ids  # the field hints the model was trained with
        # A model per batch size (one interpreter, the bundle's batch sizes): a step costs
        # about linearly in B, so each search step uses the smallest batch that fits.
        sizes = self.decoding.search_batches(self.beam_width)
        models = open_step_models(bundle.model_path, sizes, runtime, num_threads)
        self.ctx_model = models[1]
        self.pieces = piece_tables(self.tok)
        self._boundary_ids = np.flatnonzero(self.pieces.boundary)  # (np.take reads them faster)
        # The beam search over the model's pieces; it keeps the model rows of recent searches.
        self._words = WordSearch(self.pieces, models, self.decoding, self.beam_width)
        self._cache: OrderedDict[tuple[int, ...], Context] = OrderedDict()
        self._serial = 0
        # (hint id, context) -> model input ids, for the last few contexts
        self._ids_cache: OrderedDict[tuple[int | None, str], tuple[int, ...]] = OrderedDict()
        # Optional word n-gram shipped in the bundle, interpolated with the neural model;
        # neural_weight: the neural model's share (version-1 manifests: ``lstm_weight``).
        self.ngram, self.neural_weight = None, 1.0
        spec = bundle.manifest.ngram
        self._cache_size = self.decoding.context_cache if cache_size is None else cache_size
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
            # (kbd_lm.inference.lexicon); a bundle without one (lexicon_bytes = 0, or written by
            # 0.1.0) completes without.
            if LEXICON_FILE in bundle.manifest.files:
                self.lexicon = L.Lexicon.load(bundle.path / LEXICON_FILE)
            # Offensive words never suggested (a bundle without the file blocks nothing); an
            # app changes it with predictor.blocklist.add(word) / .remove(word) / .enabled.
            if BLOCKLIST_FILE in bundle.manifest.files:
                self.blocklist = Blocklist.load(bundle.path / BLOCKLIST_FILE)
            # The layouts, channel and thresholds of correction (kbd_lm.typing.spec); None:
            # a bundle of format 4 without typing.json, which does not correct. An app may
            # replace it (dataclasses.replace) to try other values; the next call uses them.
            self.typing = bundle.typing()
        except (ValueError, OSError) as err:
            raise BundleError(f"{bundle.path}: {err}") from err
        self.history_weights = DEFAULT_WEIGHTS  # see kbd_lm.history.mix
        self._corrections: Corrections | None = None  # suggest(correct=True)
        # suggest(correct=True): (context, hint) last asked and its words' priors; the next
        # keystroke of the word asks for many of them again
        self._priors: tuple[tuple, dict[str, float]] = ((), {})

    @classmethod
    def load(
        cls, bundle_dir: str | Path, runtime: Runtime = "litert", engine: str = "python", **kwargs
    ):
        """Load and verify a bundle folder (see :class:`kbd_lm.inference.bundle.Bundle`).

        ``engine="native"`` answers from the native decoder instead (``libkbd_lm.so``, on
        LiteRT): a :class:`~kbd_lm.inference.native_engine.NativePredictor`, whose ``suggest``
        returns the same suggestions; it never falls back to Python (a missing library is a
        :class:`~kbd_lm.inference.native_engine.NativeLibraryError` naming the file).

        >>> Predictor.load("dist/bundle", engine="native").suggest("see you ")  # doctest: +SKIP
        [Suggestion(word='tomorrow', probability=0.21), ...]
        """
        if engine not in ENGINES:
            raise ValueError(f"unknown engine {engine!r}: use one of {', '.join(ENGINES)}")
        if engine == "native":
            from kbd_lm.inference.native_engine import NativePredictor

            if runtime != "litert" or kwargs:  # (beam_width, num_threads, ...: the bundle's)
                raise ValueError(
                    f"the native engine runs LiteRT with the bundle's settings: runtime="
                    f"{runtime!r} and {sorted(kwargs)} are for the Python engine"
                )
            return NativePredictor.load(bundle_dir)
        return cls(Bundle.load(bundle_dir), runtime=runtime, **kwargs)

    # ------------------------------------------------------------------ public API

    @property
    def hints(self) -> tuple[str, ...]:
        """The field hints this bundle reads (empty for a bundle trained without them)."""
        return tuple(self._hint_ids)

    def _hint_id(self, hint: str | None) -> int | None:
        """The control id of ``hint``; None for no hint or a hint this bundle lacks.

        A name outside the bundle's ``decoding.field_hints`` (:data:`kbd_lm.text.hints.HINTS`)
        is an error (a typo must not pass silently); a known name that the bundle was not
        trained with is read as no hint, so that an app can send hints to any bundle.
        """
        if hint is None:
            return None
        names = self.decoding.field_hints
        if hint not in names:
            raise ValueError(f"unknown hint {hint!r}: use one of {', '.join(names)} or none")
        return self._hint_ids.get(hint)

    def clear_cache(self) -> None:
        """Forget every cached context state: the next call starts as in a new text field.

        >>> p = Predictor.load("dist/bundle")   # doctest: +SKIP
        >>> p.clear_cache()                     # doctest: +SKIP
        """
        self._cache.clear()
        self._words.rows.clear()
        self._ids_cache.clear()
        self._priors = ((), {})
        if self._corrections is not None:
            self._corrections.memo.walks.clear()

    def cache_state(self) -> tuple:
        """What the caches hold now, for :meth:`restore_cache`: a benchmark times two calls
        from the same state (the second call would otherwise find the first one's work)."""
        priors = (self._priors[0], self._priors[1].copy())
        walks = self._corrections.memo.walks.copy() if self._corrections is not None else None
        return (
            self._cache.copy(),
            self._words.rows.copy(),
            self._ids_cache.copy(),
            self._serial,
            priors,
            walks,
        )

    def restore_cache(self, state: tuple) -> None:
        """Put back the caches :meth:`cache_state` returned."""
        cache, rows, ids, self._serial, (key, priors), walks = state
        self._cache, self._words.rows, self._ids_cache = cache.copy(), rows.copy(), ids.copy()
        self._priors = (key, priors.copy())
        if self._corrections is not None:  # (None: taken before the first correction)
            self._corrections.memo.walks = OrderedDict(walks or ())

    def suggest(
        self,
        text: str,
        k: int = 3,
        history: UserHistory | None = None,
        hint: str | None = None,
        correct: bool = False,
        layout: str = DEFAULT_LAYOUT,
        taps: Sequence[tuple[float, float] | None] | None = None,
    ) -> list[Suggestion]:
        """Up to ``k`` distinct whole words, best first, for the text before the cursor.

        ``history``: the user's :class:`~kbd_lm.history.user_history.UserHistory`, mixed in at
        word level (one predictor serves many users). ``hint``: the kind of text field, one of
        the bundle's ``decoding.field_hints`` (:data:`~kbd_lm.text.hints.HINTS`) or None.
        Blocked words are never returned.

        ``correct``: inside a word, also propose the words the typed letters may be a
        mistyping of on the keyboard ``layout`` (one of the bundle's layouts,
        :meth:`Bundle.typing`), with the touch points ``taps`` (x, y in key units, one per
        letter of the partial word) when given (:mod:`kbd_lm.inference.correction`). Off (the
        default): the words are exactly those of the bundle's decoding spec. A bundle of
        format 4 without ``typing.json`` does not correct.
        """
        hint_id = self._hint_id(hint)  # (checked even for k = 0)
        if k <= 0:
            return []
        n = max(k, CORRECTION_CANDIDATES) if correct and self.typing is not None else k
        context, partial, words = self._model_words(text, n, hint_id)
        if history is not None:
            words = mix_history(words, history, context, partial, self.history_weights)
        words = self.blocklist.filter(words, context)
        if (
            correct
            and self.lexicon is not None
            and self.typing is not None
            and correctable(text, partial)
        ):
            learned = history is not None and history.knows(partial)
            return self._corrected(context, partial, words, k, hint, layout, taps, learned)
        at_start = at_sentence_start(context)
        out = []
        for word, prob in words[:k]:
            if partial:
                word = partial + word[len(partial) :]  # keep what the user typed
            elif at_start:
                word = word[:1].upper() + word[1:]
            out.append(Suggestion(word, prob, "completion" if partial else "next"))
        return out

    def _corrected(
        self, context, partial, words, k, hint, layout, taps, learned
    ) -> list[Suggestion]:
        """``suggest`` with corrections of the partial word (kbd_lm.inference.correction);
        ``learned``: the history has the partial word as a word (never autocorrected)."""
        if self._corrections is None:  # the word list's trie, built on first use
            self._corrections = Corrections(self.lexicon)
        fix = self._corrections
        fix.spec = self.typing  # the bundle's values (or an app's)
        if self._priors[0] != (context, hint):
            self._priors = ((context, hint), {})
        priors = self._priors[1]

        def prepare(words: Sequence[str]) -> None:  # the model runs on them together
            missing = list(dict.fromkeys(w for w in words if w not in priors))
            if missing:
                values = self.next_word_logprobs(context, missing, hint)
                priors.update(zip(missing, values, strict=True))

        def prior(word: str) -> float:
            if word not in priors:
                prepare([word])
            return priors[word]

        return self._corrections.suggest(
            partial,
            exact=words,
            prior=prior,
            prepare=prepare,
            k=k,
            layout=self.typing.layout(layout),
            taps=taps,
            blocked=self.blocklist.enabled and (lambda w: self.blocklist.blocks(w, context)),
            learned=learned,
        )

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
        n = max(k, MIX_CANDIDATES) if self.ngram else k
        words = self._words.words(ctx, partial, n, blocked)
        if self.lexicon is not None:  # completions the search could not spell out in time
            words = L.mix_lexicon(words, self.lexicon, partial, self.lexicon_weight)
        if self.ngram is not None:
            words = self._mix(text, words, k)
        return context, partial, words

    def _mix(self, text: str, words: list[tuple[str, float]], k: int) -> list[tuple[str, float]]:
        """Interpolate with the bundle's n-gram: P = w P_neural + (1 - w) P_ngram, best first.

        Candidates are the neural model's and the n-gram's top words; a word missing from its
        list counts as 0 there (the beam search found nothing likelier than its last word).
        Exact ties keep the candidates' order: the model's words, then the n-gram's only.
        """
        weight = self.neural_weight
        neural = {w.lower(): (w, p) for w, p in words}
        grams = {s.word: s.probability for s in self.ngram.suggest(text, k=MIX_CANDIDATES)}
        mixed = []
        for key in list(neural) + [g for g in grams if g not in neural]:
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
        return self.next_word_logprobs(text, [word], hint)[0]

    def next_word_logprobs(
        self, text: str, words: Sequence[str], hint: str | None = None
    ) -> list[float]:
        """:meth:`next_word_logprob` of each of ``words``, the model run on them together."""
        neural = self._neural_logprobs(text, words, self._hint_id(hint))
        if self.ngram is None:
            return neural
        w = self.neural_weight
        return [
            float(
                np.logaddexp(
                    math.log(w) + n, math.log1p(-w) + self.ngram.next_word_logprob(text, word)
                )
            )
            for word, n in zip(words, neural, strict=True)
        ]

    def _neural_logprobs(self, text: str, words: Sequence[str], hint_id: int | None) -> list:
        """The model's log P(word | text) of each of ``words`` (their casing variants summed),
        every variant's pieces run together (:meth:`_run_pieces`).

        >>> p = Predictor.load("dist/bundle")                       # doctest: +SKIP
        >>> p._neural_logprobs("see you ", ["soon", "later"], None)  # doctest: +SKIP
        [-3.1, -2.7]
        """
        context, _ = self._split(text if not text or text[-1].isspace() else text + " ")
        ctx = self._context(context, hint_id)
        seqs, owner = [], []  # every word's variants' pieces, and whose they are
        for i, word in enumerate(words):
            variants = dict.fromkeys([word, word.lower(), word[:1].upper() + word[1:].lower()])
            pieces = [self.tok.encode(v)[: self.decoding.max_word_pieces] for v in variants]
            for s in [s for s in pieces if s][: self.beam_width]:
                seqs.append(s)
                owner.append(i)
        done = self._run_pieces(ctx, seqs)  # log P(variant, then a boundary)
        rows_of: list[list[int]] = [[] for _ in words]  # each word's variants' rows
        for r, i in enumerate(owner):
            rows_of[i].append(r)
        return [float(_logsumexp(done[rows])) if rows else -math.inf for rows in rows_of]

    def _run_pieces(self, ctx: Context, seqs: list[list[int]]) -> np.ndarray:
        """log P(pieces, then a boundary | ctx) of each of ``seqs``   [len(seqs)].

        The model's row after each start of a sequence (its first ``j`` pieces) is run once
        for all the sequences that share it, or taken from the word search's row cache (the
        search of the same keystroke read many of them: a row does not depend on its batch);
        the rows of one length go through the model together, at most a beam's at a time."""
        serial, cached = ctx.serial, self._words.rows
        rows: dict[tuple[int, ...], Row] = {}
        for j in range(1, max((len(s) for s in seqs), default=0) + 1):
            missing = []
            for path in dict.fromkeys(tuple(s[:j]) for s in seqs if len(s) >= j):
                row = cached.get((serial, path))
                if row is None:
                    missing.append(path)
                else:
                    rows[path] = row
            for at in range(0, len(missing), self.beam_width):
                batch = missing[at : at + self.beam_width]
                model = self._words.model_for(len(batch))
                ids = np.zeros(model.batch, np.int32)
                h, c = model.zero_state()
                for r, path in enumerate(batch):
                    ids[r] = path[-1]
                    start = rows[path[:-1]] if len(path) > 1 else None
                    h[r] = start.h if start is not None else ctx.h[0]
                    c[r] = start.c if start is not None else ctx.c[0]
                logp, h2, c2 = model.step(ids, h, c)
                for r, path in enumerate(batch):
                    rows[path] = Row(logp[r], h2[r], c2[r])
        scores = np.array([ctx.logp[s[0]] for s in seqs])  # (the model's float32)
        done = np.full(len(seqs), -np.inf)
        for r, s in enumerate(seqs):
            for t in range(1, len(s)):
                scores[r] += rows[tuple(s[:t])].logp[s[t]]
            done[r] = scores[r] + _boundary_logprob(rows[tuple(s)].logp, self._boundary_ids)
        return done

    # ------------------------------------------------------------------ context

    def _split(self, text: str, start: int | None = None) -> tuple[str, str]:
        """:func:`split_text` with this bundle's decoding spec."""
        return split_text(text, self.decoding, start)

    def _prepare_next_start(self, text: str, hint_id: int | None) -> None:
        """Run the context the text will have once its start moves on (``context_stride``
        characters later), PREPARE_PIECES pieces per call at most, so that the call which
        moves the start finds it cached: a few pieces at every call instead of a whole context
        at once (the move is at least 25 words away, the preparation far fewer calls). Answers
        do not change."""
        start = context_start(len(text), self.decoding) + self.decoding.context_stride
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
        """BOS (+ the hint) + the context's pieces, or only the last ``short_context_tokens``
        of them when they are more than ``max_context_tokens``."""
        key = self._ids_cache.get((hint_id, context))
        if key is None:  # (the letters of one word share their context)
            start = [BOS_ID] if hint_id is None else [BOS_ID, hint_id]
            ids = [*start, *self.tok.encode(context)] if context else start
            if len(ids) > self.decoding.max_context_tokens:
                ids = ids[-self.decoding.short_context_tokens :]
            key = self._ids_cache[(hint_id, context)] = tuple(ids)
            if len(self._ids_cache) > IDS_CACHE_SIZE:
                self._ids_cache.popitem(last=False)
        return key

    def _context(self, context: str, hint_id: int | None = None, limit: int | None = None):
        """Model output after ``context`` (BOS, the hint, its pieces; a
        :class:`~kbd_lm.inference.search.Context`), reusing the longest cached prefix.

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
        result = Context(logp[0], h, c, self._serial)
        self._cache[key] = result
        if len(self._cache) > self._cache_size:
            self._cache.popitem(last=False)
        return result
