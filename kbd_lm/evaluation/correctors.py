"""The correctors of ``kbd-lm eval --typing`` (:mod:`kbd_lm.evaluation.typing`): for a word
typed with errors, what space commits and what the suggestion strip offers.

A corrector gets the text before the word as the user meant it and the word's typed letters
(and taps, x and y in key units per typed letter, or None), and answers

- ``correct(context, typed, taps) -> str``: the word space commits;
- ``strip(context, typed, taps) -> list[str]``: the (up to :data:`STRIP`) words the strip
  offers for ``context + typed``; with ``typed`` empty, the next words after ``context``.

``completes`` is true for a corrector whose strip offers words before they are typed in full
(the keystroke savings are measured for those only). A corrector that ranks hypotheses
(the n-gram's and the bundle's) also has ``reach(context, typed, taps) -> list[str]``: its
:data:`REACH` best words, the ones any ranking of its hypotheses could commit (the ceiling).

The correctors, as columns of the table:

- ``none``: the letters as typed, no strip;
- ``symspellpy`` (edit distance ``max_edit``) with its own English dictionary
  (``frequency_dictionary_en_82_765.txt``, in the symspellpy wheel), and over the bundle's
  word list and counts: its closest word is committed, its 3 closest are the strip;
- the bundle's n-gram with the touch channel (:class:`NgramCorrector`): the same
  :class:`~kbd_lm.inference.correction.Corrections` as the predictor (the bundle's word list,
  channel parameters and thresholds), with the n-gram as the prior;
- the bundle's own correction (:class:`PredictorCorrector`: the model's prior times the touch
  channel), from the letters and (optionally) their touch points.

>>> fix = SymSpellCorrector([("tomorrow", 50), ("the", 900)])
>>> fix.correct("see you ", "Tomorow", []), fix.strip("", "tomorow", [])
('Tomorrow', ['tomorrow'])
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Protocol

from kbd_lm.inference.suggestion import Suggestion
from kbd_lm.text.normalization import PARTIAL_WORD_RE
from kbd_lm.typing.channel import Tap

log = logging.getLogger(__name__)

NONE = "none (as typed)"
SYMSPELL_OWN = "symspellpy (own 82k dictionary)"
SYMSPELL_BUNDLE = "symspellpy (bundle word list)"
NGRAM = "n-gram prior x touch channel"
PREDICTOR = "bundle (model prior x touch channel)"
PREDICTOR_TAPS = "bundle (model prior x touch channel), with taps"
BASELINES = (SYMSPELL_OWN, SYMSPELL_BUNDLE, NGRAM)  # what the bundle must beat
# The dictionary shipped inside the symspellpy wheel (82,765 English words with counts).
SYMSPELL_DICTIONARY = "frequency_dictionary_en_82_765.txt"
STRIP = 3  # the suggestion strip's words (a phone keyboard shows three)
# How many suggestions the ceiling reads (``reach``): with correction on, the predictor
# weighs 8 completions (predictor.CORRECTION_CANDIDATES) and 8 corrections
# (correction.CANDIDATES); 16 asks for all of them (and a few more completions).
REACH = 16
# The n-gram's prior of a word it does not know: P(<unk> | context) times a spelling model
# in which each of 26 letters and the end of the word is equally likely (ln 1/27 per
# letter). Without it a misspelling, unknown to the n-gram, would get the whole <unk> mass
# and outweigh every correction.
UNKNOWN_LETTER_LOGPROB = -math.log(27)


class Corrector(Protocol):
    """What space commits for a typed word and what the strip offers (module docstring)."""

    completes: bool

    def correct(self, context: str, typed: str, taps: Sequence[Tap | None]) -> str: ...

    def strip(self, context: str, typed: str, taps: Sequence[Tap | None]) -> list[str]: ...


class NoCorrection:
    """The letters as typed; no strip."""

    completes = False

    def correct(self, context: str, typed: str, taps: Sequence[Tap | None]) -> str:
        return typed

    def strip(self, context: str, typed: str, taps: Sequence[Tap | None]) -> list[str]:
        return []


class SymSpellCorrector:
    """symspellpy's closest word (edit distance at most ``max_edit``, the most frequent among
    the closest), in the typed casing; the typed letters when no word is that close. Its
    strip: the :data:`STRIP` closest words (distance, then frequency).

    >>> fix = SymSpellCorrector([("tomorrow", 50), ("the", 900)])
    >>> fix.correct("see you ", "Tomorow", []), fix.correct("", "xqzv", [])
    ('Tomorrow', 'xqzv')
    """

    completes = False

    def __init__(self, counts: Iterable[tuple[str, int]], max_edit: int = 2) -> None:
        from symspellpy import SymSpell

        self.max_edit = max_edit
        self.sym = SymSpell(max_dictionary_edit_distance=max_edit)
        for word, count in counts:
            self.sym.create_dictionary_entry(word.lower(), int(count))

    @classmethod
    def own_dictionary(cls, max_edit: int = 2) -> SymSpellCorrector:
        """Over symspellpy's own English dictionary (in its wheel)."""
        import importlib.resources

        path = importlib.resources.files("symspellpy") / SYMSPELL_DICTIONARY
        counts = (line.split() for line in path.read_text(encoding="utf-8").splitlines())
        return cls(((w, int(n)) for w, n in counts), max_edit)

    def correct(self, context: str, typed: str, taps: Sequence[Tap | None]) -> str:
        from symspellpy import Verbosity

        if not typed:  # every letter left out: nothing to look up
            return typed
        found = self.sym.lookup(
            typed,
            Verbosity.TOP,
            max_edit_distance=self.max_edit,
            include_unknown=True,
            transfer_casing=True,
        )
        return found[0].term if found else typed

    def strip(self, context: str, typed: str, taps: Sequence[Tap | None]) -> list[str]:
        from symspellpy import Verbosity

        if not typed:
            return []
        found = self.sym.lookup(typed.lower(), Verbosity.ALL, max_edit_distance=self.max_edit)
        return [f.term for f in found[:STRIP]]  # (sorted by distance, then count)


class _StripCorrector:
    """A corrector that answers both questions from one list of suggestions per typed word
    (``suggestions(context, typed, taps, k)``, which the subclass defines): space commits the
    first when it is marked ``autocorrect``, the strip is their words and ``reach`` the
    words of a longer list (module docstring)."""

    completes = True

    def suggestions(self, context: str, typed: str, taps, k: int = STRIP) -> list[Suggestion]:
        raise NotImplementedError

    def correct(self, context: str, typed: str, taps: Sequence[Tap | None]) -> str:
        return _committed(typed, self.suggestions(context, typed, taps))

    def strip(self, context: str, typed: str, taps: Sequence[Tap | None]) -> list[str]:
        return [s.word for s in self.suggestions(context, typed, taps)]

    def reach(self, context: str, typed: str, taps: Sequence[Tap | None]) -> list[str]:
        return [s.word for s in self.suggestions(context, typed, taps, REACH)]


class PredictorCorrector(_StripCorrector):
    """What space commits with the bundle's correction on: the first suggestion of
    ``Predictor.suggest(context + typed, correct=True)`` when it is marked ``autocorrect``,
    else the typed letters; the strip is those suggestions. With ``taps``, the touch points
    go along (without field hints).
    """

    def __init__(self, predictor, layout: str, taps: bool = False) -> None:
        self.predictor, self.layout, self.taps = predictor, layout, taps
        self._last: tuple = (None, [])  # correct() and strip() of one word ask once

    def suggestions(self, context: str, typed: str, taps, k: int = STRIP) -> list[Suggestion]:
        """``Predictor.suggest(context + typed, k=k, correct=True)`` (the last one kept)."""
        key = (context, typed, tuple(taps) if self.taps else None, self.predictor.typing, k)
        if self._last[0] != key:
            m = PARTIAL_WORD_RE.search(typed)
            start = m.start() if m else len(typed)
            found = self.predictor.suggest(
                context + typed,
                k=k,
                correct=True,
                layout=self.layout,
                taps=list(taps[start:]) if self.taps and m else None,
            )
            self._last = (key, found)
        return self._last[1]


class NgramCorrector(_StripCorrector):
    """The predictor's correction with an n-gram as the prior: the same
    :class:`~kbd_lm.inference.correction.Corrections` over the bundle's word list, channel
    parameters and thresholds (``spec``, a :class:`~kbd_lm.typing.spec.TypingSpec`), given
    the n-gram's completions of the partial word and its ``next_word_logprob`` as the prior
    (words it does not know: :data:`UNKNOWN_LETTER_LOGPROB`). Blocked words (``blocklist``)
    are never proposed, as in the predictor; letters that are not correctable
    (:func:`~kbd_lm.inference.correction.correctable`) get the n-gram's plain suggestions.
    """

    def __init__(self, ngram, lexicon, spec, layout: str, blocklist=None) -> None:
        from kbd_lm.inference.correction import Corrections

        self.ngram, self.layout, self.blocklist = ngram, spec.layout(layout), blocklist
        self.fix = Corrections(lexicon, spec)
        self._last: tuple = (None, [])

    def prior(self, before: str, word: str) -> float:
        """ln P(word | the words of ``before``) under the n-gram, spelled out when unknown."""
        if self.ngram.knows(word):
            return self.ngram.next_word_logprob(before, word)
        unk = self.ngram.next_word_logprob(before, "<unk>")
        return unk + len(word) * UNKNOWN_LETTER_LOGPROB

    def suggestions(self, context: str, typed: str, taps, k: int = STRIP) -> list[Suggestion]:
        """The n-gram's ``k`` best suggestions with correction (the last ones kept)."""
        from kbd_lm.inference.correction import correctable
        from kbd_lm.inference.predictor import CORRECTION_CANDIDATES

        key = (context, typed, k)
        if self._last[0] == key:
            return self._last[1]
        text = context + typed
        m = PARTIAL_WORD_RE.search(typed)
        if m is None or not correctable(text, m.group(0)):
            found = self.ngram.suggest(text, k=k)
        else:
            partial = m.group(0)
            before = text[: len(text) - len(partial)]
            exact = self.ngram.suggest(text, k=max(k, CORRECTION_CANDIDATES))
            blocked = None
            if self.blocklist is not None and self.blocklist.enabled:
                exact = [s for s in exact if not self.blocklist.blocks(s.word, before)]

                def blocked(word: str) -> bool:
                    return self.blocklist.blocks(word, before)

            found = self.fix.suggest(
                partial,
                exact=[(s.word, s.probability) for s in exact],
                prior=lambda word: self.prior(before, word),
                k=k,
                layout=self.layout,
                blocked=blocked,
            )
        self._last = (key, found)
        return found


def _committed(typed: str, suggestions: list[Suggestion]) -> str:
    """What space commits: the autocorrection in place of the partial word, else ``typed``."""
    m = PARTIAL_WORD_RE.search(typed)
    if m is None or not suggestions or not suggestions[0].autocorrect:
        return typed
    return typed[: m.start()] + suggestions[0].word


def bundle_ngram(config, loaded):
    """(n-gram, where it comes from) for the n-gram column: the bundle's own when it ships
    one, else :func:`kbd_lm.evaluation.baseline.ngram_baseline` of ``config.ngram_mixture``
    within ``config.ngram_budget_bytes`` (the size-matched trigram of ``kbd-lm eval --kinds``;
    trained once, then cached in ``config.cache_dir``)."""
    from kbd_lm.ngram.model import KneserNeyTrigram

    spec = loaded.manifest.ngram
    if spec is not None:
        return KneserNeyTrigram.load(loaded.path / spec.file), f"the bundle's {spec.file}"
    from kbd_lm.dataset.corpus import prepare
    from kbd_lm.evaluation.baseline import ngram_baseline

    cache = Path(config.cache_dir)
    built = ngram_baseline(prepare(config.ngram_mixture, cache), config.ngram_budget_bytes, cache)
    return built.load(), f"KN trigram ({config.ngram_mixture}, {built.path.name})"


def default_correctors(config, bundle: str | Path | None) -> dict:
    """The correctors, name -> corrector (``config`` a
    :class:`~kbd_lm.evaluation.typing.TypingEvalConfig`): as typed, symspellpy with its own
    dictionary, and with a bundle that has a word list, symspellpy over the bundle's words;
    with its ``typing.json`` too, the n-gram with the touch channel (``config.ngram``) and the
    bundle's own correction (``config.predictor``) from the letters and (``config.taps``)
    from the letters and their touch points."""
    correctors: dict[str, Corrector] = {
        NONE: NoCorrection(),
        SYMSPELL_OWN: SymSpellCorrector.own_dictionary(config.max_edit),
    }
    if bundle is None:
        return correctors
    from kbd_lm.inference.blocklist import Blocklist
    from kbd_lm.inference.bundle import BLOCKLIST_FILE, LEXICON_FILE, Bundle
    from kbd_lm.inference.lexicon import Lexicon

    loaded = Bundle.load(bundle)
    if LEXICON_FILE not in loaded.manifest.files:
        return correctors
    lexicon = Lexicon.load(loaded.path / LEXICON_FILE)
    correctors[SYMSPELL_BUNDLE] = SymSpellCorrector(lexicon.items(), config.max_edit)
    spec = loaded.typing()
    if spec is None:  # a bundle of format 4 without typing.json does not correct
        return correctors
    if config.ngram:
        ngram, source = bundle_ngram(config, loaded)
        log.info("n-gram column: %s", source)
        blocklist = None
        if BLOCKLIST_FILE in loaded.manifest.files:
            blocklist = Blocklist.load(loaded.path / BLOCKLIST_FILE)
        correctors[NGRAM] = NgramCorrector(ngram, lexicon, spec, config.layout, blocklist)
    if config.predictor:
        from kbd_lm.inference.predictor import Predictor

        predictor = Predictor(loaded)
        correctors[PREDICTOR] = PredictorCorrector(predictor, config.layout)
        if config.taps:
            correctors[PREDICTOR_TAPS] = PredictorCorrector(predictor, config.layout, True)
    return correctors
