"""Typo-tolerant suggestions for a partial word: the model's prior times the touch channel.

``Predictor.suggest(text, correct=True)`` hands the partial word here. The hypotheses:

- the model's **completions** of the typed letters (``suggest``'s words without correction,
  the word list mixed in), prior = their probability;
- **corrections**: words of the bundle's word list that the typed letters could be a
  mistyping of (:meth:`~kbd_lm.typing.candidates.WordTrie.walk`, within the channel's edit
  budget), the :data:`CANDIDATES` best by the list's counts times the channel, each then
  scored by the model: prior = ``Predictor.next_word_logprob(context, word)``;
- the **typed letters as a whole word** (the model can score any string), which is never
  suggested but competes: a correctly typed word the list lacks (a name) keeps the letters.

Each suggestion's score is ``log prior + log P(typed letters | start of the word)`` (the
channel of :mod:`kbd_lm.typing.channel`, ``prefix=True``: the user may still be typing); the
suggestions are the ``k`` best, with probabilities normalised over all the hypotheses. A
completion the word list lacks needs ``unlisted_min`` of that probability.

**Autocorrect** (what space commits) is decided on whole words: the hypothesis with the best
``log prior + log P(typed letters | the whole word)`` is put first and marked
``autocorrect`` when it is not the typed letters and beats them by ``autocorrect_margin``.

Manners: a token with a digit, "@", "/", "." or ":" before the partial word (an address, a
time, a mention) is not corrected; corrections keep the typed case of the first letter (all
capitals when every typed letter is one); blocked words are never proposed.

>>> fix = Corrections(Lexicon({"tomorrow": 50, "the": 900}))                  # doctest: +SKIP
>>> fix.suggest("tomorow", exact=[], prior=lambda w: -3.0, k=3, layout=LAYOUTS["qwerty"])
...                                                                          # doctest: +SKIP
[Suggestion(word='tomorrow', probability=0.97, kind='correction', autocorrect=True)]
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from kbd_lm.inference.lexicon import Lexicon
from kbd_lm.inference.suggestion import Suggestion
from kbd_lm.typing.candidates import ColumnMemo, WordTrie
from kbd_lm.typing.channel import Start, Tap, TypedLetters
from kbd_lm.typing.layouts import Layout
from kbd_lm.typing.spec import TypingSpec

# Corrections from the word list scored by the model per call (each costs a few model steps).
CANDIDATES = 8
# What may stand before the partial word in its whitespace-separated token: opening quotes
# and brackets. Anything else there (a digit, "@", "/", ".", ":") is an address, a time,
# a mention...: not corrected.
OPENERS = "\"'([{"


def _logsumexp(scores: Sequence[float]) -> float:
    """log sum exp of ``scores`` (not empty), without overflow; -inf when every score is
    (as the browser's ``logSumExp``).

    >>> round(_logsumexp([0.0, 0.0]), 4), _logsumexp([-math.inf, -math.inf])
    (0.6931, -inf)
    """
    top = max(scores)
    if top == -math.inf:
        return top
    return top + math.log(sum(math.exp(s - top) for s in scores))


def correctable(text: str, partial: str) -> bool:
    """True if the partial word at the end of ``text`` may be corrected: letters only, and its
    token holds nothing but opening quotes or brackets before it.

    >>> correctable("see you tomorow", "tomorow"), correctable("at 5pm", "pm")
    (True, False)
    >>> correctable("mail me@exampl", "exampl"), correctable('he said "helo', "helo")
    (False, True)
    """
    if not partial or any(ch.isdigit() for ch in partial):
        return False
    token = text.rstrip().rsplit(maxsplit=1)[-1] if text.strip() else ""
    return token.endswith(partial) and all(ch in OPENERS for ch in token[: -len(partial)])


def typed_case(word: str, typed: str) -> str:
    """``word`` in the case of what was typed: all capitals when more than one letter was
    typed and all were capitals, else its first letter capitalised when the typed one was.

    >>> typed_case("tomorrow", "Tomorow"), typed_case("tomorrow", "TOMOROW")
    ('Tomorrow', 'TOMORROW')
    >>> typed_case("I'm", "im")
    "I'm"
    """
    if len(typed) > 1 and typed.isupper():
        return word.upper()
    if typed[:1].isupper():
        return word[:1].upper() + word[1:]
    return word


@dataclass
class _Hypothesis:
    word: str
    kind: str
    prior: float  # log P(word, then a boundary | context)
    prefix: float  # log P(typed letters | start of the word)
    whole: float  # log P(typed letters | the whole word)


class Corrections:
    """Corrections over one word list (the trie is built once) with the channel parameters
    and thresholds of ``spec`` (a bundle's ``typing.json``:
    :class:`~kbd_lm.typing.spec.TypingSpec`; the defaults without one). ``spec`` may be
    replaced between calls (a predictor whose app set other values); the trie stays."""

    def __init__(self, lexicon: Lexicon, spec: TypingSpec | None = None) -> None:
        self.lexicon = lexicon
        self.trie = WordTrie(lexicon.items())
        # the last walks' columns: the next letter of a word extends them (same answers)
        self.memo = ColumnMemo()
        self.spec = spec or TypingSpec()

    def _autocorrects(self, best: _Hypothesis, first: _Hypothesis, as_typed: float) -> bool:
        """Whether space commits ``best`` (the best by prior + whole likelihood): it beats the
        typed letters as a word by the margin, and the strip agrees enough, its score being
        at least ``autocorrect_strip_ratio`` times the strip's first (``first``, the best
        by prior + prefix likelihood). "see you tomo": *too* (an "m" inserted) beats the
        letters "tomo" as a word, but the strip holds it 1.2e-3 times as likely as
        *tomorrow*: the user is far more likely typing that, and space keeps the letters."""
        if best.prior + best.whole - as_typed <= self.spec.autocorrect_margin:
            return False
        ratio = (best.prior + best.prefix) - (first.prior + first.prefix)
        return ratio >= math.log(self.spec.autocorrect_strip_ratio)

    def _strip(self, h: _Hypothesis) -> float:
        """A hypothesis' score in the strip: log prior + log prefix likelihood, plus
        ``completion_bonus`` for a completion of the letters as typed."""
        return h.prior + h.prefix + (self.spec.completion_bonus if h.kind == "completion" else 0.0)

    def _likelihoods(self, typed: TypedLetters, hyps: list[_Hypothesis], own: Start) -> None:
        """Set the hypotheses' whole and prefix likelihoods in full, read on from the walk's
        columns along each word (the walk may stop before a word's own node) or, for a word
        that starts with the typed letters (a completion; the walk never reads their node),
        from their own columns (``own``: :meth:`TypedLetters.read` of them)."""
        words = [h.word for h in hyps]
        starts = self.trie.starts(typed, words, self.memo.get(typed)[0])
        starts = [
            own if w.lower().startswith(typed.t) else s for w, s in zip(words, starts, strict=True)
        ]
        for h, (whole, prefix) in zip(hyps, typed.likelihoods_many(words, starts), strict=True):
            h.whole, h.prefix = whole, prefix

    def suggest(
        self,
        partial: str,
        *,
        exact: list[tuple[str, float]],
        prior: Callable[[str], float],
        k: int,
        layout: Layout,
        taps: Sequence[Tap | None] | None = None,
        blocked: Callable[[str], bool] | None = None,
        prepare: Callable[[Sequence[str]], None] | None = None,
        learned: bool = False,
    ) -> list[Suggestion]:
        """The ``k`` best suggestions for the typed ``partial`` (see the module docstring).

        ``exact``: the completions without correction, (word, probability) best first;
        ``prior(word)``: log P(word, then a boundary | context); ``blocked(word)``: true for
        a word never to propose; ``prepare(words)``, if given, is told every word whose
        prior will be asked before the first is (a model scores them together); ``learned``:
        the user's history has the typed letters as a word, so space keeps them (no
        autocorrection; the suggestions are the same).
        """
        typed = TypedLetters(partial, layout=layout, params=self.spec.channel, taps=taps)
        typed.letter_rows(self.trie.alphabet)  # the tables for every letter at once, built once
        want = partial.lower()

        def skip(word: str) -> bool:  # the completions are the model's
            return word.lower().startswith(want) or bool(blocked and blocked(word))

        hyps: dict[str, _Hypothesis] = {}
        for word, p in exact:
            if p > 0 and word.lower() not in hyps:
                hyps[word.lower()] = _Hypothesis(word, "completion", math.log(p), 0.0, 0.0)
        # the typed letters read as intended: their likelihood as a word is the walk's floor,
        # and the completions (which start with them) read on from their columns
        own = typed.read(want)
        own_whole = own[3]
        found = self.trie.walk(
            typed, CANDIDATES, skip, completions=False, own=own_whole, memo=self.memo
        )
        found = sorted(found.values(), key=lambda f: -(math.log(f.count) + max(f.whole, f.prefix)))
        if prepare is not None:
            prepare([f.word for f in found[:CANDIDATES]] + [partial])
        fixes = [
            _Hypothesis(f.word, "correction", prior(f.word), 0.0, 0.0) for f in found[:CANDIDATES]
        ]
        self._likelihoods(typed, list(hyps.values()) + fixes, own)
        for h in fixes:
            hyps[h.word.lower()] = h
        as_typed = prior(partial) + own_whole
        raw_total = _logsumexp([h.prior + h.prefix for h in hyps.values()] or [0.0])
        ranked = sorted(hyps.values(), key=lambda h: -self._strip(h))
        total = _logsumexp([self._strip(h) for h in ranked] + [as_typed])
        best = max(ranked, key=lambda h: h.prior + h.whole, default=None)
        first = max(ranked, key=lambda h: h.prior + h.prefix, default=None)
        auto = not learned and best is not None and self._autocorrects(best, first, as_typed)
        if auto:
            ranked.remove(best)
            ranked.insert(0, best)
        out = []
        for h in ranked:
            prob = math.exp(self._strip(h) - total)
            if (
                h.kind == "completion"
                and math.exp(h.prior + h.prefix - raw_total) < self.spec.unlisted_min
                and not self.lexicon.count(h.word)
            ):
                continue  # a made-up spelling, most likely
            if h.kind == "completion":
                word = partial + h.word[len(partial) :]  # keep what the user typed
            else:
                word = typed_case(h.word, partial)
            out.append(Suggestion(word, prob, h.kind, auto and not out))
            if len(out) == k:
                break
        return out
