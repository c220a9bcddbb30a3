"""The autocorrect threshold swept on the validation splits: ``kbd-lm eval --typing --tune``.

Space commits a correction when the best whole word beats the typed letters by
``autocorrect_margin`` nats (:mod:`kbd_lm.inference.correction`; a bundle's value is in its
``typing.json``, :mod:`kbd_lm.typing.spec`). This types each kind's sample of the
``valid`` split (as ``kbd-lm eval --typing`` does the test split: the same sampling and
simulator) at each of ``config.tune_spreads`` and scores the bundle's correction with each
of ``config.margins`` in its place: per margin and spread, macro word accuracy and macro
false corrections with 95% bootstrap intervals over units, and the largest false-correction
rate of any kind. It names the smallest margin whose false corrections are at most
:data:`~kbd_lm.evaluation.typing.MAX_FALSE_CORRECTION` (1%) on every kind at every spread
swept (the candidate default); export writes the default of
:data:`kbd_lm.typing.spec.AUTOCORRECT_MARGIN` into every bundle's ``typing.json``.

>>> config = TypingEvalConfig(split="valid", max_words=300)           # doctest: +SKIP
>>> report = run_margin_sweep(config, "dist/bundle", Path("out"))     # doctest: +SKIP
>>> [(r["margin"], r["spread"]) for r in report["rows"]][:2]          # doctest: +SKIP
[(0.0, 0.25), (1.0, 0.25)]
"""

from __future__ import annotations

import dataclasses
import json
import logging
import time
from pathlib import Path

import numpy as np

from kbd_lm.common.fsutil import atomic_write_text
from kbd_lm.evaluation.correctors import PredictorCorrector
from kbd_lm.evaluation.kinds import paired_interval
from kbd_lm.evaluation.typing import (
    MAX_FALSE_CORRECTION,
    TypingEvalConfig,
    percent_ci,
    ratio,
    sample_kinds,
    type_kind,
    unit_groups,
    unit_sums,
)

log = logging.getLogger(__name__)


def run_margin_sweep(config: TypingEvalConfig, bundle: str | Path, out_dir: Path) -> dict:
    """Sweep ``config.margins`` at ``config.tune_spreads`` on ``config.split`` (see the module
    docstring); write ``eval-typing-tune.json`` and ``.md`` into ``out_dir``; return the report.
    """
    from kbd_lm.inference.predictor import Predictor

    t0 = time.monotonic()
    predictor = Predictor.load(bundle)
    base = predictor.typing
    if base is None:
        raise ValueError(f"{bundle}: the bundle has no typing.json: nothing to tune")
    fix = PredictorCorrector(predictor, config.layout)
    samples = sample_kinds(config)
    rows = []
    for spread in config.tune_spreads:
        # per margin, per kind: the unit sums of accuracy and false corrections
        sums: dict[float, dict[str, dict]] = {m: {} for m in config.margins}
        for kind, units in samples.items():
            words = type_kind(config, spread, kind, units)
            scored: dict[float, list[dict]] = {m: [] for m in config.margins}
            t = time.monotonic()
            for w in words:  # every margin on one word in turn: the model's work is cached
                for margin in config.margins:
                    predictor.typing = dataclasses.replace(base, autocorrect_margin=margin)
                    committed = fix.correct(w["context"], w["typed"], w["taps"]).lower()
                    scored[margin].append(
                        {
                            "ok": committed == w["word"].lower(),
                            "changed": committed != w["typed"].lower(),
                        }
                    )
            predictor.typing = base
            log.info("spread %g, %s: %.1f s", spread, kind, time.monotonic() - t)
            for margin in config.margins:
                sums[margin][kind] = unit_sums(words, scored[margin], len(units))
        rows += [_sweep_row(config, margin, spread, sums[margin]) for margin in config.margins]
    ok = [
        m
        for m in config.margins
        if all(
            r["worst_false_correction"] <= MAX_FALSE_CORRECTION for r in rows if r["margin"] == m
        )
    ]
    report = {
        "config": dataclasses.asdict(config),
        "bundle": str(bundle),
        "default_margin": base.autocorrect_margin,
        "rows": rows,
        "candidate": min(ok) if ok else None,
        "seconds": time.monotonic() - t0,
    }
    out_dir = Path(out_dir)
    atomic_write_text(out_dir / "eval-typing-tune.json", json.dumps(report, indent=2) + "\n")
    atomic_write_text(out_dir / "eval-typing-tune.md", format_sweep(report))
    return report


def _sweep_row(config: TypingEvalConfig, margin: float, spread: float, sums: dict) -> dict:
    """One margin at one spread: macro accuracy and false corrections (value, low, high),
    and each kind's false-correction rate."""
    kinds = list(sums)
    groups, zero = unit_groups([len(sums[k]["accuracy"]) for k in kinds])

    def macro(metric: str) -> tuple[float, float, float]:
        a = np.concatenate([sums[k][metric] for k in kinds])
        return paired_interval(a, zero, groups, config.bootstrap, config.seed)

    false = {k: ratio(s["false_correction"]) for k, s in sums.items()}
    return {
        "margin": margin,
        "spread": spread,
        "accuracy": macro("accuracy"),
        "false_correction": macro("false_correction"),
        "false_correction_per_kind": false,
        "worst_false_correction": max(false.values()),
    }


def format_sweep(report: dict) -> str:
    """Markdown: per margin and spread, macro accuracy and false corrections (95%), and the
    largest false-correction rate of any kind; then the candidate margin."""
    split = report["config"]["split"]
    out = [
        f"autocorrect_margin swept on the {split} split (bundle default "
        f"{report['default_margin']:g} nats): macro word accuracy after space and macro false "
        "corrections in % (95% bootstrap intervals over units); worst kind: the largest "
        "false-correction rate of any kind.",
        "",
        "| margin (nats) | spread | accuracy | false corrections | worst kind |",
        "|---|---|---|---|---|",
    ]
    for r in report["rows"]:
        out.append(
            f"| {r['margin']:g} | {r['spread']:g} | {percent_ci(r['accuracy'])} "
            f"| {percent_ci(r['false_correction'])} | {100 * r['worst_false_correction']:.1f} |"
        )
    limit = f"{100 * MAX_FALSE_CORRECTION:g}%"
    if report["candidate"] is None:
        out += ["", f"No margin swept keeps false corrections at most {limit} on every kind."]
    else:
        out += [
            "",
            f"Smallest margin with false corrections at most {limit} on every kind at every "
            f"spread swept: {report['candidate']:g} nats.",
        ]
    return "\n".join(out) + "\n"
