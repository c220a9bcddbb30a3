"""Correction of simulated touch typing, per kind of text: ``kbd-lm eval --typing``.

Each kind's test split (the units of :mod:`kbd_lm.evaluation.kinds`, sampled the same way) is
typed word by word by the touch-typing simulator (:mod:`kbd_lm.typing.simulate`: touches
drawn around the intended keys with a spread in key widths, plus omissions, insertions,
doubled letters, swaps and left-out apostrophes at the rates of
:class:`~kbd_lm.typing.channel.ChannelParams`), once per spread. Every corrector sees the
same typed letters and taps, so the differences are paired. A corrector gets the text before
the word as the user meant it (a keyboard sends the corrected text as context once a word is
committed) and the word's typed letters, and returns the word that space commits.

Per kind, spread and corrector:

- **word accuracy**: the committed word equals the intended one (lowercased, as
  :mod:`kbd_lm.evaluation.metrics` compares words); with its difference from leaving the
  letters as typed, and a 95% paired-bootstrap interval over units;
- **false corrections**: of the words typed exactly right, the share the corrector changed
  (with its 95% bootstrap interval); correct words that a word list lacks (names) count.

The correctors: ``none`` (the letters as typed); ``symspellpy`` (edit distance
``max_edit``) with its own English dictionary (``frequency_dictionary_en_82_765.txt``, in the
symspellpy wheel); symspellpy over the bundle's word list and counts; the bundle's own
correction (:class:`PredictorCorrector`: the model's prior times the touch channel). Any
object with a ``correct(context, typed, taps) -> str`` method is one more column
(:class:`Corrector`).

>>> config = TypingEvalConfig(max_words=300)                      # doctest: +SKIP
>>> report = run_typing_eval(config, default_correctors(config, "dist/bundle"), Path("out"))
...                                                               # doctest: +SKIP
"""

from __future__ import annotations

import dataclasses
import json
import logging
import time
import zlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np

from kbd_lm.common.fsutil import atomic_write_text
from kbd_lm.evaluation.keystrokes import typed_words
from kbd_lm.evaluation.kinds import kinds_of, paired_interval
from kbd_lm.evaluation.metrics import count_words, sample_words
from kbd_lm.text.normalization import PARTIAL_WORD_RE
from kbd_lm.typing.channel import ChannelParams, Tap
from kbd_lm.typing.layouts import get_layout
from kbd_lm.typing.simulate import simulate

log = logging.getLogger(__name__)

NONE = "none (as typed)"
SYMSPELL_OWN = "symspellpy (own 82k dictionary)"
SYMSPELL_BUNDLE = "symspellpy (bundle word list)"
PREDICTOR = "bundle (model prior x touch channel)"
PREDICTOR_TAPS = "bundle (model prior x touch channel), with taps"
# The dictionary shipped inside the symspellpy wheel (82,765 English words with counts).
SYMSPELL_DICTIONARY = "frequency_dictionary_en_82_765.txt"


@dataclass(frozen=True)
class TypingEvalConfig:
    """What ``kbd-lm eval --typing`` types and scores."""

    mixture: str = "broad"  # the sources (their ``split``) the words come from
    split: str = "test"
    max_words: int = 300  # words per kind (whole units, seeded: metrics.sample_words)
    seed: int = 0
    bootstrap: int = 1000
    spreads: tuple[float, ...] = (0.2, 0.25, 0.35, 0.5)  # touch spreads, key widths
    layout: str = "qwerty"  # kbd_lm.typing.layouts.LAYOUTS
    max_edit: int = 2  # symspellpy's edit distance
    predictor: bool = True  # the bundle's own correction (Predictor.suggest(correct=True))
    taps: bool = False  # one more column: the bundle's correction given the touch points too
    cache_dir: str = "data"


class Corrector(Protocol):
    """What space commits for a typed word: ``correct(context, typed, taps) -> word``."""

    def correct(self, context: str, typed: str, taps: Sequence[Tap | None]) -> str: ...


class NoCorrection:
    """The letters as typed."""

    def correct(self, context: str, typed: str, taps: Sequence[Tap | None]) -> str:
        return typed


class SymSpellCorrector:
    """symspellpy's closest word (edit distance at most ``max_edit``, the most frequent among
    the closest), in the typed casing; the typed letters when no word is that close.

    >>> fix = SymSpellCorrector([("tomorrow", 50), ("the", 900)])
    >>> fix.correct("see you ", "Tomorow", []), fix.correct("", "xqzv", [])
    ('Tomorrow', 'xqzv')
    """

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


class PredictorCorrector:
    """What space commits with the bundle's correction on: the first suggestion of
    ``Predictor.suggest(context + typed, correct=True)`` when it is marked ``autocorrect``,
    else the typed letters. With ``taps``, the touch points go along (without field hints).
    """

    def __init__(self, predictor, layout: str, taps: bool = False) -> None:
        self.predictor, self.layout, self.taps = predictor, layout, taps

    def correct(self, context: str, typed: str, taps: Sequence[Tap | None]) -> str:
        m = PARTIAL_WORD_RE.search(typed)
        if m is None:  # nothing the predictor reads as a word being typed
            return typed
        partial = m.group(0)
        suggestions = self.predictor.suggest(
            context + typed,
            k=3,
            correct=True,
            layout=self.layout,
            taps=taps[m.start() :] if self.taps else None,
        )
        if suggestions and suggestions[0].autocorrect:
            return typed[: len(typed) - len(partial)] + suggestions[0].word
        return typed


def default_correctors(config: TypingEvalConfig, bundle: str | Path | None) -> dict:
    """The correctors, name -> corrector: as typed, symspellpy with its own dictionary, and
    with a bundle that has a word list, symspellpy over the bundle's words and (with
    ``config.predictor``) the bundle's own correction, from the letters and (with
    ``config.taps``) from the letters and their touch points."""
    correctors: dict[str, Corrector] = {
        NONE: NoCorrection(),
        SYMSPELL_OWN: SymSpellCorrector.own_dictionary(config.max_edit),
    }
    if bundle is not None:
        from kbd_lm.inference.bundle import LEXICON_FILE, Bundle
        from kbd_lm.inference.lexicon import Lexicon

        loaded = Bundle.load(bundle)
        if LEXICON_FILE in loaded.manifest.files:
            lexicon = Lexicon.load(loaded.path / LEXICON_FILE)
            correctors[SYMSPELL_BUNDLE] = SymSpellCorrector(lexicon.items(), config.max_edit)
            if config.predictor:
                from kbd_lm.inference.predictor import Predictor

                predictor = Predictor(loaded)
                correctors[PREDICTOR] = PredictorCorrector(predictor, config.layout)
                if config.taps:
                    correctors[PREDICTOR_TAPS] = PredictorCorrector(predictor, config.layout, True)
    return correctors


def type_words(
    units: list[str], rng: np.random.Generator, *, layout, params: ChannelParams
) -> list[dict]:
    """Type every word of ``units`` once: per word its unit index, context (the unit up to
    the word, as meant), intended word, typed letters and taps."""
    out = []
    for u, unit in enumerate(units):
        for word in typed_words(unit):
            typed = simulate(word.word, rng, layout=layout, params=params)
            out.append(
                {
                    "unit": u,
                    "context": word.context,
                    "word": word.word,
                    "typed": typed.letters,
                    "taps": typed.taps,
                }
            )
    return out


def score_corrector(corrector: Corrector, words: list[dict]) -> list[tuple[bool, bool]]:
    """Per typed word (:func:`type_words`): (the committed word is the intended one, the
    committed word differs from the typed letters)."""
    out = []
    for w in words:
        committed = corrector.correct(w["context"], w["typed"], w["taps"]).lower()
        out.append((committed == w["word"].lower(), committed != w["typed"].lower()))
    return out


def _unit_sums(words: list[dict], scored, n_units: int) -> dict[str, np.ndarray]:
    """Per unit (numerator, denominator) of word accuracy and of false corrections."""
    acc, false = np.zeros((n_units, 2)), np.zeros((n_units, 2))
    for w, (ok, changed) in zip(words, scored, strict=True):
        acc[w["unit"]] += (ok, 1)
        if w["typed"].lower() == w["word"].lower():
            false[w["unit"]] += (changed, 1)
    return {"accuracy": acc, "false_correction": false}


def run_typing_eval(
    config: TypingEvalConfig, correctors: Mapping[str, Corrector], out_dir: Path
) -> dict:
    """Type each kind's sample at each spread, score ``correctors`` (name -> corrector, the
    first is the reference of the differences, normally :class:`NoCorrection`), write
    ``eval-typing.json`` and ``eval-typing.md`` into ``out_dir`` and return the report."""
    from kbd_lm.dataset.corpus import prepare_mixture

    t0 = time.monotonic()
    layout = get_layout(config.layout)
    mixture = prepare_mixture(config.mixture, Path(config.cache_dir))
    samples = {}
    for kind, sources in kinds_of(mixture.sources).items():
        units = [u for s in sources for u in mixture.sources[s].units(config.split)]
        samples[kind] = sample_words(units, config.max_words, config.seed)
    rows = []
    for spread in config.spreads:
        params = ChannelParams(touch_spread=spread)
        sums: dict[str, dict[str, list[np.ndarray]]] = {name: {} for name in correctors}
        for kind, units in samples.items():
            # One stream per (seed, spread, kind), keyed by their values: another corrector,
            # kind or list of spreads changes no typed letter.
            key = [config.seed, round(spread * 1000), zlib.crc32(kind.encode())]
            rng = np.random.default_rng(key)
            words = type_words(units, rng, layout=layout, params=params)
            for name, corrector in correctors.items():
                t = time.monotonic()
                scored = score_corrector(corrector, words)
                sums[name][kind] = _unit_sums(words, scored, len(units))
                log.info("spread %g, %s, %s: %.1f s", spread, kind, name, time.monotonic() - t)
            typos = sum(w["typed"].lower() != w["word"].lower() for w in words)
            rows.append({"spread": spread, "kind": kind, "words": len(words), "typos": typos})
        _figures(config, rows[-len(samples) :], sums, list(correctors))
        rows.append({"spread": spread, "kind": "macro", "words": None, "typos": None})
        _figures(config, rows[-1:], sums, list(correctors), macro=True)
    report = {
        "config": dataclasses.asdict(config),
        "channel": ChannelParams().to_dict(),
        "correctors": list(correctors),
        "units": {kind: len(units) for kind, units in samples.items()},
        "words": {kind: sum(count_words(u) for u in units) for kind, units in samples.items()},
        "rows": rows,
        "seconds": time.monotonic() - t0,
    }
    out_dir = Path(out_dir)
    atomic_write_text(out_dir / "eval-typing.json", json.dumps(report, indent=2) + "\n")
    atomic_write_text(out_dir / "eval-typing.md", format_typing(report))
    return report


def _figures(config, rows: list[dict], sums, names: list[str], macro: bool = False) -> None:
    """Fill each row (one kind, or the macro average over the kinds of ``sums``) with every
    corrector's accuracy and false corrections, and the accuracy difference from the first
    corrector, each (value, low, high) at 95%."""
    first = names[0]
    for row in rows:
        kinds = list(sums[first]) if macro else [row["kind"]]
        offsets = np.cumsum([0] + [len(sums[first][k]["accuracy"]) for k in kinds])
        groups = [np.arange(offsets[i], offsets[i + 1]) for i in range(len(kinds))]

        def stacked(name: str, metric: str, kinds=kinds) -> np.ndarray:
            return np.concatenate([sums[name][k][metric] for k in kinds])

        zero = np.column_stack([np.zeros(offsets[-1]), np.ones(offsets[-1])])
        row["correctors"] = {}
        for name in names:
            acc, false = stacked(name, "accuracy"), stacked(name, "false_correction")
            row["correctors"][name] = {
                "accuracy": paired_interval(acc, zero, groups, config.bootstrap, config.seed),
                "gain": paired_interval(
                    acc, stacked(first, "accuracy"), groups, config.bootstrap, config.seed
                ),
                "false_correction": paired_interval(
                    false, zero, groups, config.bootstrap, config.seed
                ),
            }


def _ci(x: Sequence[float], scale: float = 100.0, sign: str = "") -> str:
    value, lo, hi = (v * scale for v in x)
    return f"{value:{sign}.1f} [{lo:{sign}.1f}, {hi:{sign}.1f}]"


def format_typing(report: dict) -> str:
    """Markdown: per spread, kind and corrector the word accuracy, its gain over the letters
    as typed and the false-correction rate, in percent with 95% intervals."""
    first = report["correctors"][0]
    out = [
        f"Simulated touch typing ({report['config']['layout']}), word accuracy after space, "
        f"in %; gain over {first!r}; false corrections: % of correctly typed words changed "
        "(95% bootstrap intervals over units).",
        "",
        "| spread | kind | words | typos % | corrector | accuracy | gain | false corrections |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for row in report["rows"]:
        words = "" if row["words"] is None else f"{row['words']:,}"
        typos = "" if row["typos"] is None else f"{100 * row['typos'] / max(row['words'], 1):.1f}"
        for name, fig in row["correctors"].items():
            out.append(
                f"| {row['spread']:g} | {row['kind']} | {words} | {typos} | {name} "
                f"| {_ci(fig['accuracy'])} | {_ci(fig['gain'], sign='+')} "
                f"| {_ci(fig['false_correction'])} |"
            )
    return "\n".join(out) + "\n"
