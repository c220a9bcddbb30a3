"""Correction of simulated touch typing, per kind of text: ``kbd-lm eval --typing``.

Each kind's test split (the units of :mod:`kbd_lm.evaluation.kinds`, sampled the same way) is
typed word by word by the touch-typing simulator (:mod:`kbd_lm.typing.simulate`: touches
drawn around the intended keys with a spread in key widths, plus omissions, insertions,
doubled letters, swaps and left-out apostrophes at the rates of
:class:`~kbd_lm.typing.channel.ChannelParams`), once per spread. Every corrector
(:mod:`kbd_lm.evaluation.correctors`) sees the same typed letters and taps, so the
differences are paired. A corrector gets the text before the word as the user meant it (a
keyboard sends the corrected text as context once a word is committed) and the word's typed
letters, and returns the word that space commits and the words of its strip.

Per kind, spread and corrector, each with a 95% bootstrap interval over units:

- **word accuracy**: the committed word equals the intended one (lowercased, as
  :mod:`kbd_lm.evaluation.metrics` compares words); with its paired difference (**gain**)
  from leaving the letters as typed;
- **false corrections**: of the words typed exactly right, the share the corrector changed;
  correct words that a word list lacks (names) count;
- **top-3**: after the whole word is typed, the intended word is one of the strip's
  :data:`~kbd_lm.evaluation.correctors.STRIP` words (correction on) or is the typed letters
  themselves (the keyboard shows them already: the strip never repeats them,
  docs/decoding.md section 6). symspellpy's strip is its 3 closest words; ``none`` has none;
- **noisy KSR** (keystroke savings with noisy typing), for correctors whose strip completes
  words: the word's typed letters are entered one at a time; when the intended word is in
  the strip after ``j`` of them (``j = 0``: the next-word strip), the user taps it and the
  word costs ``j + 1`` keys (the tap adds the space); a word not offered before its last
  typed letter costs ``len(word) + 1``, as if typed in full. KSR = 1 - keys / (sum over
  words of ``len(word) + 1``), as :mod:`kbd_lm.evaluation.metrics` counts it for exact typing.

- **ceiling**, for correctors that rank hypotheses (the n-gram's and the bundle's): the
  intended word is among their
  :data:`~kbd_lm.evaluation.correctors.REACH` best words for the whole typed word, or is
  typed exactly. No ranking of the same hypotheses commits the intended word more often:
  it bounds the accuracy that a better prior alone could reach.

Then, per spread and kind (and macro), the bundle's accuracy minus that of the best of the
baselines (:data:`~kbd_lm.evaluation.correctors.BASELINES` present: symspellpy with its own
dictionary, with the bundle's word list, the n-gram with the touch channel; the best on
that kind by accuracy), with its paired interval, and whether the bundle's false-correction
rate is at most :data:`MAX_FALSE_CORRECTION`; beside it, the accuracy that a lead of
:data:`MIN_LEAD` needs and the bundle's ceiling.

>>> config = TypingEvalConfig(max_words=300)                      # doctest: +SKIP
>>> correctors = default_correctors(config, "dist/bundle")      # doctest: +SKIP
>>> report = run_typing_eval(config, correctors, Path("out"))  # doctest: +SKIP
"""

from __future__ import annotations

import dataclasses
import json
import logging
import time
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from kbd_lm.common.fsutil import atomic_write_text
from kbd_lm.evaluation.correctors import BASELINES, PREDICTOR, REACH, Corrector
from kbd_lm.evaluation.keystrokes import typed_words
from kbd_lm.evaluation.kinds import KindsEvalConfig, kinds_of, paired_interval
from kbd_lm.evaluation.metrics import count_words, sample_words
from kbd_lm.typing.channel import ChannelParams
from kbd_lm.typing.layouts import get_layout
from kbd_lm.typing.simulate import simulate

log = logging.getLogger(__name__)

# The targets the report checks the bundle's correction against (docs/results.md, "Typo
# correction", reports both): a false-correction rate at or below 1% of correctly typed words,
# and an accuracy 3 points above the best baseline's.
MAX_FALSE_CORRECTION = 0.01
MIN_LEAD = 0.03


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
    ngram: bool = True  # the n-gram with the touch channel (correctors.NgramCorrector)
    # Without an n-gram in the bundle: the size-matched trigram of `kbd-lm eval --kinds`.
    ngram_mixture: str = KindsEvalConfig.ngram_mixture
    ngram_budget_bytes: int = KindsEvalConfig.ngram_budget_bytes
    keystrokes: bool = True  # top-3 and the noisy KSR (a strip per typed letter: the slow part)
    # `--tune` (kbd_lm.evaluation.typing_tune): autocorrect_margin values and spreads swept
    margins: tuple[float, ...] = (0.0, 1.0, 2.0, 3.0, 4.0, 6.0)
    tune_spreads: tuple[float, ...] = (0.25, 0.35)
    cache_dir: str = "data"


def sample_kinds(config: TypingEvalConfig) -> dict[str, list[str]]:
    """Each kind's sampled units of ``config.split`` (:func:`metrics.sample_words`)."""
    from kbd_lm.dataset.corpus import prepare_mixture

    mixture = prepare_mixture(config.mixture, Path(config.cache_dir))
    samples = {}
    for kind, sources in kinds_of(mixture.sources).items():
        units = [u for s in sources for u in mixture.sources[s].units(config.split)]
        samples[kind] = sample_words(units, config.max_words, config.seed)
    return samples


def type_kind(config: TypingEvalConfig, spread: float, kind: str, units: list[str]) -> list:
    """:func:`type_words` of one kind at one spread, from one random stream per (seed,
    spread, kind), keyed by their values: another corrector, kind or list of spreads changes
    no typed letter."""
    key = [config.seed, round(spread * 1000), zlib.crc32(kind.encode())]
    params = ChannelParams(touch_spread=spread)
    layout = get_layout(config.layout)
    return type_words(units, np.random.default_rng(key), layout=layout, params=params)


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


def score_corrector(corrector: Corrector, words: list[dict], strip: bool = True) -> list[dict]:
    """Per typed word (:func:`type_words`): ``ok`` (the committed word is the intended one),
    ``changed`` (it differs from the typed letters) and, with ``strip``, ``found`` (top-3,
    module docstring), ``reach`` (the ceiling, for a corrector with ``reach``) and ``keys``
    (noisy KSR; None for a corrector that does not complete)."""
    out = []
    for w in words:
        context, typed, taps = w["context"], w["typed"], w["taps"]
        target = w["word"].lower()
        committed = corrector.correct(context, typed, taps).lower()
        scored = {"ok": committed == target, "changed": committed != typed.lower()}
        if strip:
            offered = [s.lower() for s in corrector.strip(context, typed, taps)]
            scored["found"] = target in offered or typed.lower() == target
            if hasattr(corrector, "reach"):
                reach = [s.lower() for s in corrector.reach(context, typed, taps)]
                scored["reach"] = target in reach or typed.lower() == target
            scored["keys"] = noisy_keys(corrector, w) if corrector.completes else None
        out.append(scored)
    return out


def noisy_keys(corrector: Corrector, w: dict) -> int:
    """Keys the typed word ``w`` costs with ``corrector``'s strip (noisy KSR, module
    docstring): ``j + 1`` when the intended word is offered after ``j`` typed letters."""
    target = w["word"].lower()
    for j in range(len(w["typed"])):
        offered = corrector.strip(w["context"], w["typed"][:j], w["taps"][:j])
        if target in (s.lower() for s in offered):
            return j + 1
    return len(w["word"]) + 1


def unit_sums(words: list[dict], scored: list[dict], n_units: int) -> dict[str, np.ndarray]:
    """Per unit (numerator, denominator) of every metric :func:`score_corrector` scored."""
    metrics = ("accuracy", "false_correction", "top3", "reach", "ksr")
    sums = {m: np.zeros((n_units, 2)) for m in metrics}
    for w, s in zip(words, scored, strict=True):
        u = w["unit"]
        sums["accuracy"][u] += (s["ok"], 1)
        if w["typed"].lower() == w["word"].lower():
            sums["false_correction"][u] += (s["changed"], 1)
        if "found" in s:
            sums["top3"][u] += (s["found"], 1)
        if "reach" in s:
            sums["reach"][u] += (s["reach"], 1)
        if s.get("keys") is not None:
            full = len(w["word"]) + 1
            sums["ksr"][u] += (full - s["keys"], full)
    return sums


def run_typing_eval(
    config: TypingEvalConfig, correctors: Mapping[str, Corrector], out_dir: Path
) -> dict:
    """Type each kind's sample at each spread, score ``correctors`` (name -> corrector, the
    first is the reference of the differences, normally ``none``), write ``eval-typing.json``
    and ``eval-typing.md`` into ``out_dir`` and return the report."""
    t0 = time.monotonic()
    samples = sample_kinds(config)
    rows, timing = [], {name: 0.0 for name in correctors}
    names = list(correctors)
    for spread in config.spreads:
        sums: dict[str, dict[str, dict]] = {name: {} for name in correctors}
        for kind, units in samples.items():
            words = type_kind(config, spread, kind, units)
            for name, corrector in correctors.items():
                t = time.monotonic()
                scored = score_corrector(corrector, words, config.keystrokes)
                sums[name][kind] = unit_sums(words, scored, len(units))
                timing[name] += time.monotonic() - t
                log.info("spread %g, %s, %s: %.1f s", spread, kind, name, time.monotonic() - t)
            typos = sum(w["typed"].lower() != w["word"].lower() for w in words)
            rows.append({"spread": spread, "kind": kind, "words": len(words), "typos": typos})
        rows.append({"spread": spread, "kind": "macro", "words": None, "typos": None})
        for row in rows[-len(samples) - 1 :]:
            kinds = list(samples) if row["kind"] == "macro" else [row["kind"]]
            _figures(config, row, sums, names, kinds, correctors)
    report = {
        "config": dataclasses.asdict(config),
        "channel": ChannelParams().to_dict(),
        "correctors": names,
        "units": {kind: len(units) for kind, units in samples.items()},
        "words": {kind: sum(count_words(u) for u in units) for kind, units in samples.items()},
        "rows": rows,
        "corrector_seconds": {name: round(s, 1) for name, s in timing.items()},
        "seconds": time.monotonic() - t0,
    }
    out_dir = Path(out_dir)
    atomic_write_text(out_dir / "eval-typing.json", json.dumps(report, indent=2) + "\n")
    atomic_write_text(out_dir / "eval-typing.md", format_typing(report))
    return report


def _figures(config, row: dict, sums, names: list[str], kinds: list[str], correctors) -> None:
    """Fill ``row`` (one kind, or the macro average over ``kinds``) with every corrector's
    figures, each (value, low, high) at 95%: accuracy, its gain over the first corrector,
    false corrections, top-3 and (for correctors that complete words) noisy KSR; and the
    bundle against the best baseline (``row["versus_best"]``)."""
    groups, zero = unit_groups([len(sums[names[0]][k]["accuracy"]) for k in kinds])

    def stacked(who: str | list[str], metric: str) -> np.ndarray:
        # who: a corrector, or one per kind (the best baseline differs per kind)
        who = [who] * len(kinds) if isinstance(who, str) else who
        return np.concatenate([sums[n][k][metric] for n, k in zip(who, kinds, strict=True)])

    def interval(a: np.ndarray, b: np.ndarray = zero) -> tuple[float, float, float]:
        return paired_interval(a, b, groups, config.bootstrap, config.seed)

    row["correctors"] = {}
    for name in names:
        fig = {
            "accuracy": interval(stacked(name, "accuracy")),
            "gain": interval(stacked(name, "accuracy"), stacked(names[0], "accuracy")),
            "false_correction": interval(stacked(name, "false_correction")),
        }
        if config.keystrokes:
            fig["top3"] = interval(stacked(name, "top3"))
            ranks = hasattr(correctors[name], "reach")
            fig["ceiling"] = interval(stacked(name, "reach")) if ranks else None
            completes = correctors[name].completes
            fig["ksr"] = interval(stacked(name, "ksr")) if completes else None
        row["correctors"][name] = fig
    baselines = [b for b in BASELINES if b in sums]
    if PREDICTOR not in sums or not baselines:
        return
    # the best baseline on each kind, by its accuracy there
    best = [max(baselines, key=lambda b, k=k: ratio(sums[b][k]["accuracy"])) for k in kinds]
    false = row["correctors"][PREDICTOR]["false_correction"]
    lead = interval(stacked(PREDICTOR, "accuracy"), stacked(best, "accuracy"))
    best_accuracy = [ratio(sums[b][k]["accuracy"]) for b, k in zip(best, kinds, strict=True)]
    row["versus_best"] = {
        "best": best[0] if len(kinds) == 1 else "best per kind",
        "difference": lead,
        "leads": lead[0] >= MIN_LEAD,
        "needed": float(np.mean(best_accuracy)) + MIN_LEAD,  # what a lead of MIN_LEAD needs
        "ceiling": row["correctors"][PREDICTOR].get("ceiling"),
        "false_correction": false,
        "false_ok": false[0] <= MAX_FALSE_CORRECTION,
    }


def unit_groups(units: list[int]) -> tuple[list[np.ndarray], np.ndarray]:
    """(groups, zero) for :func:`~kbd_lm.evaluation.kinds.paired_interval` over kinds whose
    unit sums are stacked one after the other (``units``: each kind's number of units):
    kind ``i``'s rows, and an all-zero metric of as many rows (numerator 0, denominator 1).

    >>> groups, zero = unit_groups([2, 1])
    >>> [g.tolist() for g in groups], zero.shape
    ([[0, 1], [2]], (3, 2))
    """
    offsets = np.cumsum([0, *units])
    groups = [np.arange(offsets[i], offsets[i + 1]) for i in range(len(units))]
    return groups, np.column_stack([np.zeros(offsets[-1]), np.ones(offsets[-1])])


def ratio(sums: np.ndarray) -> float:
    """A metric's rate over units from its (numerator, denominator) rows (:func:`unit_sums`).

    >>> ratio(np.array([[1.0, 2.0], [0.0, 2.0]]))
    0.25
    """
    return float(sums[:, 0].sum() / max(sums[:, 1].sum(), 1))


def _needed(versus: dict) -> str:
    """ "needed / ceiling" in percent (the ceiling's point value; "-" when not measured).

    >>> _needed({"needed": 0.957, "ceiling": (0.95, 0.93, 0.97)})
    '95.7 / 95.0'
    """
    ceiling = versus.get("ceiling")
    return f"{100 * versus['needed']:.1f} / " + (
        "-" if ceiling is None else f"{100 * ceiling[0]:.1f}"
    )


def percent_ci(x: Sequence[float] | None, scale: float = 100.0, sign: str = "") -> str:
    """(value, low, high) as "value [low, high]" in percent; "-" for None.

    >>> percent_ci((0.5, 0.25, 0.75)), percent_ci((0.01, -0.02, 0.04), sign="+")
    ('50.0 [25.0, 75.0]', '+1.0 [-2.0, +4.0]')
    """
    if x is None:
        return "-"
    value, lo, hi = (v * scale for v in x)
    return f"{value:{sign}.1f} [{lo:{sign}.1f}, {hi:{sign}.1f}]"


def format_typing(report: dict) -> str:
    """Markdown: per spread, kind and corrector the word accuracy, its gain over the letters
    as typed, the false-correction rate, top-3 and noisy KSR, in percent with 95%
    intervals; then the bundle against the best baseline per spread and kind."""
    first = report["correctors"][0]
    out = [
        f"Simulated touch typing ({report['config']['layout']}), word accuracy after space, "
        f"in %; gain over {first!r}; false corrections: % of correctly typed words changed; "
        "top-3: the intended word in the strip after the whole word (or typed exactly); "
        f"ceiling: the intended word among the corrector's {REACH} best (or typed exactly); "
        "noisy KSR: keystroke savings (95% bootstrap intervals over units).",
        "",
        "| spread | kind | words | typos % | corrector | accuracy | gain | false corrections "
        "| top-3 | ceiling | noisy KSR |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for row in report["rows"]:
        words = "" if row["words"] is None else f"{row['words']:,}"
        typos = "" if row["typos"] is None else f"{100 * row['typos'] / max(row['words'], 1):.1f}"
        for name, fig in row["correctors"].items():
            out.append(
                f"| {row['spread']:g} | {row['kind']} | {words} | {typos} | {name} "
                f"| {percent_ci(fig['accuracy'])} | {percent_ci(fig['gain'], sign='+')} "
                f"| {percent_ci(fig['false_correction'])} | {percent_ci(fig.get('top3'))} "
                f"| {percent_ci(fig.get('ceiling'))} | {percent_ci(fig.get('ksr'))} |"
            )
    versus = [row for row in report["rows"] if "versus_best" in row]
    if versus:
        out += [
            "",
            f"{PREDICTOR} against the best baseline on each kind (by accuracy), in points "
            f"(paired, 95%); leads: by at least {100 * MIN_LEAD:g} points; false corrections "
            f"at most {100 * MAX_FALSE_CORRECTION:g}%; needed: the accuracy such a lead needs, "
            f"beside {PREDICTOR}'s ceiling.",
            "",
            "| spread | kind | best baseline | accuracy difference | leads "
            f"| needed / ceiling | false corrections | at most {100 * MAX_FALSE_CORRECTION:g}% |",
            "|---|---|---|---|---|---|---|---|",
        ]
        for row in versus:
            v = row["versus_best"]
            out.append(
                f"| {row['spread']:g} | {row['kind']} | {v['best']} "
                f"| {percent_ci(v['difference'], sign='+')} | {'yes' if v['leads'] else 'no'} "
                f"| {_needed(v)} "
                f"| {percent_ci(v['false_correction'])} | {'yes' if v['false_ok'] else 'no'} |"
            )
    return "\n".join(out) + "\n"
