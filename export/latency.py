"""Browser vs Python per-keystroke latency on the bench's keystroke replay.

The same texts (test-split units typed character by character, :func:`replay_plan`) go
through the in-browser predictor (LiteRT.js, WASM, headless Chromium) and through the Python
predictor (LiteRT, one thread) in this process; both after the same warm-up keystrokes.

>>> report = compare_latency(Path("dist/bundle"), calls=500, warmup=100)   # doctest: +SKIP
>>> print(format_table(report))                                            # doctest: +SKIP
"""

from __future__ import annotations

import logging
import time
from pathlib import Path

from kbd_lm.evaluation.keystrokes import KINDS
from kbd_lm.export.bench.replay import by_kind, corpus_spec, replay_plan
from kbd_lm.export.bench.summary import latency_summary
from kbd_lm.inference.bundle import Bundle

log = logging.getLogger(__name__)


def _by_kind(ms: list[float], kinds: list[str]) -> dict[str, dict]:
    """Latency summaries (ms) of per-keystroke milliseconds by kind, and of all of them."""
    us = [t * 1000 for t in ms]
    series = by_kind(us, kinds, "suggest")
    out = {kind: latency_summary(series[f"suggest_{kind}"]) for kind in KINDS}
    out["all"] = latency_summary(us)
    return out


def browser_by_kind(bundle_dir: Path, plan: dict) -> dict[str, dict]:
    """The bench's hook: percentiles by keystroke kind of the in-browser predictor on a
    :func:`replay_plan` (raises ``BrowserError`` when Chromium or LiteRT.js is missing)."""
    from kbd_lm.export.browser import browser_latency

    return _by_kind(browser_latency(bundle_dir, plan["texts"], plan["warm"]), plan["kinds"])


def python_latency(bundle_dir: Path, texts: list[str], warm: list[str]) -> list[float]:
    """Milliseconds of ``Predictor.suggest(text, 3)`` for each text, after ``warm``."""
    from kbd_lm.inference.predictor import Predictor

    predictor = Predictor.load(bundle_dir)
    for text in warm:
        predictor.suggest(text, 3)
    ms = []
    for text in texts:
        t = time.perf_counter()
        predictor.suggest(text, 3)
        ms.append((time.perf_counter() - t) * 1000)
    return ms


def compare_latency(
    bundle_dir: Path, calls: int, warmup: int, corpus: str | None = None, seed: int = 0
) -> dict:
    """Per-kind p50/p99 (ms) of both predictors on one keystroke replay; see the module doc."""
    from kbd_lm.dataset.corpus import prepare

    bundle = Bundle.load(bundle_dir)
    units = list(prepare(corpus_spec(bundle.manifest, corpus), Path("data")).units("test"))
    plan = replay_plan(units, calls, warmup, seed)
    log.info(
        "replay: %d keystrokes of %d units after %d warm-up",
        len(plan["texts"]),
        plan["units"],
        len(plan["warm"]),
    )
    browser = browser_by_kind(bundle.path, plan)
    python = python_latency(bundle.path, plan["texts"], plan["warm"])
    return {
        "bundle": str(bundle.path),
        "keystrokes": {k: plan["kinds"].count(k) for k in KINDS},
        "warmup": len(plan["warm"]),
        "browser": browser,
        "python": _by_kind(python, plan["kinds"]),
    }


def format_table(report: dict) -> str:
    """A markdown table: rows per keystroke kind, browser and Python p50 / p99 in ms."""
    lines = [
        "| keystrokes | n | browser p50 / p99 ms | Python p50 / p99 ms |",
        "| --- | --- | --- | --- |",
    ]
    for kind in ("next_word", "completion", "all"):
        b, p = report["browser"][kind], report["python"][kind]
        lines.append(
            f"| {kind.replace('_', ' ')} | {b['n']:,} | {b['p50']:.2f} / {b['p99']:.2f} | "
            f"{p['p50']:.2f} / {p['p99']:.2f} |"
        )
    return "\n".join(lines)
