"""``make bench``: does a bundle fit a phone? Latency, cold start, memory and size vs a budget.

:func:`run_bench` measures a bundle under a budget profile (:mod:`.profile`) and returns the
report; :func:`main` is the command line. The measurements run in fresh pinned child
processes (:mod:`.child`); the keystrokes replayed are :mod:`.replay`'s; the report is
summarised (:mod:`.summary`), gated (:mod:`.checks`) and written as ``bench.json``,
``bench.md`` (:mod:`.report`) and ``bench.png`` (:mod:`.plot`).

CLI: ``python -m kbd_lm.export.bench --bundle DIR [--profile NAME|FILE.toml] [--out DIR]
[--corpus SPEC] [--cache-dir data] [--no-baseline] [key=value ...]``; the ``key=value``
overrides are profile fields, e.g. ``calls=2000 host_score=1700``. Exit code 0 when every
limit holds, 1 when one is exceeded, 2 when the bench cannot run (a usage, profile or bundle
error, or a crash).

>>> main(["--bundle", "dist/bundle", "--profile", "phone-a76"])   # doctest: +SKIP
0
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import math
import os
import time
from pathlib import Path
from typing import Any

from kbd_lm.common.logs import setup_logging
from kbd_lm.common.stats import PERCENTILE_METHOD
from kbd_lm.evaluation.keystrokes import KINDS
from kbd_lm.export.bench.checks import checks
from kbd_lm.export.bench.machine import machine_info
from kbd_lm.export.bench.profile import BudgetConfig, load_profile, profile_names
from kbd_lm.export.bench.replay import FALLBACK_CORPUS, corpus_spec, replay_plan
from kbd_lm.export.bench.report import format_report, steal_text
from kbd_lm.export.bench.summary import (
    SERIES,
    cold_start_summary,
    latency_summary,
    memory_summary,
    presets,
    sizes,
)

log = logging.getLogger(__name__)

SCHEMA = "kbd-lm-bench/1"
MIN_CALLS = 1000  # fewer timed calls than this: percentiles are marked as indicative only
# More steal than this while timing (the hypervisor's share of the measuring core) marks the
# run as contended: on this project's cloud VM it is about 0.1% idle, and p99 moves with it.
STEAL_LIMIT = 0.02
EXIT_PASS, EXIT_LIMIT, EXIT_ERROR = 0, 1, 2


def run_bench(
    bundle_dir: Path,
    profile: BudgetConfig,
    corpus: str | None = None,
    cache_dir: Path = Path("data"),
) -> tuple[dict, dict]:
    """Measure ``bundle_dir`` under ``profile``; return (report, raw samples in microseconds).

    The report is what ``bench.json`` holds, without the samples. In order: the keystrokes to
    replay (:func:`_replay_plan`), the n-gram baseline (:func:`_baseline`), the pinned
    children (:func:`_measure`), the browser, then the summaries, notes and checks. ``notes``
    collects what a reader of the report should know, in that order.
    """
    from kbd_lm.inference.bundle import Bundle

    started = time.time()
    bundle = Bundle.load(bundle_dir)
    machine = machine_info()
    notes: list[str] = []
    prepared = _prepare_corpus(bundle.manifest, corpus, Path(cache_dir), notes)
    plan = _replay_plan(prepared, profile, notes)
    baseline, ngram_path = _baseline(bundle, prepared, profile, Path(cache_dir), notes)
    history = _history_inputs(profile.history_units, notes)
    child, cold_runs = _measure(bundle, profile, plan, ngram_path, history)
    browser = _browser_latency(bundle.path, plan, notes)
    machine["pinned_core"] = child["core"]
    machine["pinned_core_mhz"] = machine_info(child["core"])["cpu_mhz"]
    machine["loadavg_end"] = [round(x, 2) for x in os.getloadavg()]

    latency = _latency(child["samples_us"], plan, profile)
    if baseline is not None and "error" not in baseline:
        baseline["rss_mb"] = child.get("ngram_rss_mb")
        baseline["model_over_ngram"] = _model_over_ngram(latency, bundle, baseline)
    contended = _conditions(profile, machine, child, notes)
    report: dict[str, Any] = {
        "schema": SCHEMA,
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z", time.localtime(started)),
        "seconds": None,
        "bundle": {
            "path": str(bundle.path),
            "id": bundle.bundle_id,
            "quantization": bundle.manifest.quantization,
            "name": bundle.manifest.name,
        },
        "profile": {**dataclasses.asdict(profile), "slowdown": profile.slowdown},
        "machine": machine,
        "setup": _setup(child, prepared, plan, profile, contended),
        "latency_ms": latency,
        "phone_latency_ms": _phone_latency(latency, profile.slowdown),
        "browser_latency_ms": browser,
        "history": child.get("history"),
        "cold_start_ms": cold_start_summary(cold_runs, profile.count_python_overhead),
        "memory_mb": memory_summary(child["memory_kb"], profile.count_python_overhead),
        "sizes": sizes(bundle),
        "presets": presets(bundle.manifest, latency.get("step_batch1", {})),
        "baseline": baseline,
        "notes": notes,
    }
    results = checks(report, profile)
    report["checks"] = [{**dataclasses.asdict(c), "passed": c.passed} for c in results]
    report["passed"] = all(c.passed for c in results)
    report["seconds"] = round(time.time() - started, 1)
    return report, child["samples_us"]


def _prepare_corpus(manifest, corpus: str | None, cache_dir: Path, notes: list[str]):
    """The prepared corpus to replay: ``corpus``, else the bundle's training corpus, else
    (that one not available, with a note) :data:`FALLBACK_CORPUS`."""
    from kbd_lm.dataset.corpus import prepare

    spec_corpus = corpus_spec(manifest, corpus)
    try:
        return prepare(spec_corpus, cache_dir)
    except FileNotFoundError as err:
        if corpus:
            raise
        log.warning(
            "corpus %r from the manifest is not available (%s); replaying %s instead",
            spec_corpus,
            err,
            FALLBACK_CORPUS,
        )
        notes.append(
            f"The bundle's corpus {spec_corpus!r} was not available: replayed "
            f"{FALLBACK_CORPUS} instead."
        )
        return prepare(FALLBACK_CORPUS, cache_dir)


def _keystroke_counts(plan: dict) -> dict[str, int]:
    """Replayed keystrokes of each kind: ``{"next_word": n, "completion": m}``."""
    return {kind: plan["kinds"].count(kind) for kind in KINDS}


def _replay_plan(prepared, profile: BudgetConfig, notes: list[str]) -> dict:
    """The keystrokes typed from the test split (:func:`replay_plan`); a note when the split
    has too few units for ``profile.calls``."""
    units = list(prepared.units("test"))
    plan = replay_plan(units, profile.calls, profile.warmup, profile.seed)
    # (imported here: `python -m kbd_lm.export.bench.typos` imports this package first)
    from kbd_lm.export.bench.typos import correction_plan

    plan["noisy"], plan["exact"] = correction_plan(units, profile.calls, profile.seed)
    counts = _keystroke_counts(plan)
    log.info(
        "replay: %d test units of %s typed character by character: %d next-word and %d "
        "completion keystrokes (seed %d), after %d warm-up keystrokes",
        plan["units"],
        prepared.name,
        counts["next_word"],
        counts["completion"],
        profile.seed,
        len(plan["warm"]),
    )
    if plan["exhausted"]:
        notes.append(
            f"The test split has too few units for {profile.calls} calls of each kind: "
            f"replayed all {plan['units']} of them."
        )
    return plan


def _baseline(
    bundle, prepared, profile: BudgetConfig, cache_dir: Path, notes: list[str]
) -> tuple[dict[str, Any] | None, Path | None]:
    """The n-gram baseline's info and file, pruned to ``profile.baseline_bytes`` (default: the
    bundle's shipped size); (None, None) when the profile has none. It informs and never
    decides the verdict: a failure is an ``error`` entry and a note."""
    from kbd_lm.evaluation.baseline import ngram_baseline

    if not profile.baseline:
        return None, None
    budget = profile.baseline_bytes or sizes(bundle)["shipped_bytes"]
    try:
        built = ngram_baseline(prepared, budget, cache_dir)
    except Exception as err:
        log.error("n-gram baseline failed: %s", err)
        notes.append(f"The n-gram baseline could not be built ({err}); no ratios reported.")
        return {"error": f"{type(err).__name__}: {err}"}, None
    return dict(built.info), built.path


def _measure(
    bundle, profile: BudgetConfig, plan: dict, ngram_path: Path | None, history: dict | None
) -> tuple[dict, list[dict]]:
    """Run the measuring child and the cold starts (fresh pinned processes, :mod:`.child`);
    return the child's result and the cold-start runs."""
    import tempfile

    # Not at the top: `python -m kbd_lm.export.bench.child` imports this package first, and
    # the child module must not be imported before it runs as __main__.
    from kbd_lm.export.bench.child import run_cold_starts, run_measure_child

    beam_width = profile.beam_width_for(bundle.manifest.decoding)  # the bundle's unless narrower
    spec = {
        "bundle": str(bundle.path),
        "runtime": profile.runtime,
        "beam_width": beam_width,
        "k": profile.k,
        "cpu": profile.cpu,
        "seed": profile.seed,
        "calls": profile.calls,
        "warmup": profile.warmup,
        "warm": plan["warm"],
        "texts": plan["texts"],
        "kinds": plan["kinds"],
        "drafts": plan["drafts"],
        "warm_drafts": plan["warm_drafts"],
        "noisy": plan["noisy"],
        "exact": plan["exact"],
        "ngram": str(ngram_path) if ngram_path else None,
        "history": history,
    }
    with tempfile.TemporaryDirectory(prefix="kbd-bench-") as tmp:
        log.info(
            "measuring in a fresh pinned process (%s, 1 thread, XNNPACK, beam %d)",
            profile.runtime,
            beam_width,
        )
        child = run_measure_child(spec, Path(tmp))
        log.info("cold start: %d fresh processes", profile.cold_starts)
        cold_runs = run_cold_starts(
            {k: spec[k] for k in ("bundle", "runtime", "beam_width", "k", "cpu")},
            plan["drafts"],
            profile.cold_starts,
            Path(tmp),
        )
    return child, cold_runs


def _latency(samples: dict, plan: dict, profile: BudgetConfig) -> dict[str, dict]:
    """Percentiles in ms of each series measured, with the warm-up calls it excluded."""
    warmups = {
        "suggest_new_field": len(plan["warm_drafts"]),
        "step_batch1": profile.warmup,
        "step_beam": profile.warmup,
    }
    latency = {key: latency_summary(samples[key]) for key in SERIES if key in samples}
    for key, row in latency.items():
        row["warmup"] = warmups.get(key, len(plan["warm"]))
    return latency


def _phone_latency(latency: dict, slowdown: float) -> dict[str, dict]:
    """The percentiles scaled to the profile's phone (``slowdown`` times the host's)."""
    return {
        key: {
            p: v[p] * slowdown if v[p] is not None else None for p in ("p50", "p90", "p99", "max")
        }
        for key, v in latency.items()
    }


def _model_over_ngram(latency: dict, bundle, baseline: dict) -> dict[str, float | None]:
    """Model / n-gram ratios of suggest latency (p50, p99 by kind) and of size; None where a
    figure is missing: ``{"next_word_p50": 2.1, ..., "size": 0.9}``."""
    ratios: dict[str, float | None] = {}
    for kind in ("next_word", "completion"):
        model, ng = latency[f"suggest_{kind}"], latency.get(f"ngram_{kind}", {})
        for p in ("p50", "p99"):
            ratios[f"{kind}_{p}"] = model[p] / ng[p] if ng.get(p) and model.get(p) else None
    ratios["size"] = (
        sizes(bundle)["shipped_bytes"] / baseline["size_bytes"]
        if baseline.get("size_bytes")
        else None
    )
    return ratios


def _conditions(profile: BudgetConfig, machine: dict, child: dict, notes: list[str]) -> bool:
    """Notes on how far the figures can be trusted (a short run, a busy machine, steal time,
    a shared core, the Python runtime); returns whether the measuring core was contended."""
    if profile.calls < MIN_CALLS:
        notes.append(
            f"Short run: {profile.calls} calls per series (< {MIN_CALLS:,}); the "
            "percentiles are indicative only."
        )
    cores = len(machine["allowed_cores"] or []) or machine["cpu_count"] or 1
    busy = max(machine["loadavg"][0], machine["loadavg_end"][0])
    if busy > cores - 0.5:
        notes.append(
            f"The machine was busy (load average {busy:.1f} on {cores} cores): other "
            "processes shared the cores, so latencies are likely pessimistic."
        )
    steal = child.get("steal_share")
    stolen = steal is not None and steal > STEAL_LIMIT
    if stolen:
        notes.append(
            f"The hypervisor took {steal:.1%} of the measuring core while timing (steal time, "
            "/proc/stat): a shared cloud host, so latencies are pessimistic."
        )
    if child["cpu_share"] < 0.9:
        notes.append(
            f"The measuring process got {child['cpu_share']:.0%} of its core while "
            "timing (another process ran on it): latencies are pessimistic."
        )
    if profile.runtime == "litert":
        notes.append(
            "A phone app runs the same .tflite file in LiteRT's C++/Java runtime; the "
            "Python predictor's own overhead (beam search in numpy) is included here."
        )
    return child["cpu_share"] < 0.9 or busy > cores - 0.5 or stolen


def _setup(child: dict, prepared, plan: dict, profile: BudgetConfig, contended: bool) -> dict:
    """How the figures were taken: the child process, the corpus and keystrokes replayed."""
    from kbd_lm.export.bench.child import child_env

    steal = child.get("steal_share")
    drafts = plan["drafts"]
    return {
        "child": "fresh process: python -m kbd_lm.export.bench.child",
        "pinned_core": child["core"],
        "interpreter_threads": 1,
        "delegate": "XNNPACK (runtime default)",
        "env": {k: v for k, v in child_env().items() if k.endswith("_NUM_THREADS")},
        "imports": child["imports"],
        "tensorflow_imported": child["tensorflow_imported"],
        "cpu_share_while_timing": round(child["cpu_share"], 3),
        "steal_while_timing": None if steal is None else round(steal, 4),
        "contended": contended,
        "corpus": prepared.name,
        "corpus_fingerprint": prepared.fingerprint,
        "split": "test",
        "seed": profile.seed,
        "replay_units": plan["units"],
        "keystrokes": _keystroke_counts(plan),
        "warmup_keystrokes": len(plan["warm"]),
        "new_field_drafts": len(drafts),
        "new_field_mean_chars": sum(map(len, drafts)) / len(drafts) if drafts else None,
        "percentiles": f"{PERCENTILE_METHOD}; warm-up calls excluded",
        "warm_load_seconds": round(child["load_seconds"], 4),
    }


def _history_inputs(units: int, notes: list[str]) -> dict | None:
    """What the child types with a full personal history (:mod:`kbd_lm.export.bench.history`): the
    busiest chitchat sender's training messages (to fill it) and ``units`` chitchat test
    messages; None (and a note) when ``units`` is 0 or chitchat is not installed.

    Informative only, like the browser figures: never a limit, never exit 2.
    """
    if units <= 0:
        return None
    from kbd_lm.export.bench.history import chitchat_inputs

    log.info("personal history: %d chitchat test messages, typed with a full history", units)
    try:
        own, typed = chitchat_inputs(units)
    except ImportError as err:  # chitchat-dataset comes with the [train] extra
        log.warning("personal history not measured: %s", err)
        notes.append(f"Personal history not measured: {err}.")
        return None
    return {"own": own, "typed": typed}


def _browser_latency(bundle_dir: Path, plan: dict, notes: list[str]) -> dict | None:
    """The in-browser predictor (LiteRT.js, headless Chromium) on the same replay, by kind.

    Informative only, like the n-gram baseline: None and a note when Chromium, Playwright or
    LiteRT.js (``make jsdeps``) is missing or the page fails; never a limit, never exit 2.
    """
    from kbd_lm.export.browser import BrowserError
    from kbd_lm.export.latency import browser_by_kind

    log.info("the same keystrokes in the browser (LiteRT.js, headless Chromium)")
    try:
        return browser_by_kind(bundle_dir, plan)
    except BrowserError as err:
        log.warning("browser latency not measured: %s", err)
        notes.append(f"Browser latency not measured: {err}.")
    except Exception as err:  # the page or Playwright failed: report it, keep the verdict
        log.error("browser latency failed: %s: %s", type(err).__name__, err)
        notes.append(f"Browser latency failed ({type(err).__name__}: {err}).")
    return None


def _json_safe(value: Any) -> Any:
    if isinstance(value, float):
        return round(value, 6) if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json_safe(v) for v in value]
    return value


def write_outputs(report: dict, samples: dict, out_dir: Path) -> list[Path]:
    """Write ``bench.json`` (report + raw samples), ``bench.md`` and ``bench.png``."""
    from kbd_lm.common.fsutil import atomic_write_text
    from kbd_lm.export.bench.plot import plot_latency

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = [out_dir / "bench.json", out_dir / "bench.md", out_dir / "bench.png"]
    raw = {k: [round(x, 1) for x in v] for k, v in samples.items()}
    atomic_write_text(
        paths[0], json.dumps(_json_safe({**report, "samples_us": raw}), indent=1) + "\n"
    )
    atomic_write_text(paths[1], format_report(report))
    plot_latency(report, samples, paths[2])
    return paths


# ------------------------------------------------------------------------------ CLI


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m kbd_lm.export.bench",
        description="Measure a bundle against a phone budget: latency, cold start, memory, "
        "size. Exit code 0 = every limit holds, 1 = a limit is exceeded, 2 = the bench "
        "could not run (bad option, profile or bundle, or a crash).",
    )
    p.add_argument("--bundle", required=True, type=Path, help="bundle folder (dist/bundle)")
    p.add_argument(
        "--profile",
        default="default",
        help=f"budget profile: {', '.join(profile_names())} or a .toml path",
    )
    p.add_argument(
        "--out",
        type=Path,
        default=None,
        help="folder for bench.json/.md/.png (default: the bundle's parent folder)",
    )
    p.add_argument(
        "--corpus",
        default=None,
        help="corpus to replay (recipe or text path); default: the manifest's "
        "training corpus, else chitchat",
    )
    p.add_argument(
        "--cache-dir",
        type=Path,
        default=Path("data"),
        help="prepared corpora and the cached n-gram baseline (default: data)",
    )
    p.add_argument("--no-baseline", action="store_true", help="skip the n-gram baseline")
    p.add_argument(
        "overrides",
        nargs="*",
        metavar="KEY=VALUE",
        help="profile overrides, e.g. calls=2000 suggest_p99_ms=1.5",
    )
    return p


def _bench(args: argparse.Namespace) -> int:
    """Measure, write and print the report; 0 when every limit holds, else 1."""
    overrides = list(args.overrides) + (["baseline=false"] if args.no_baseline else [])
    profile = load_profile(args.profile, overrides)
    if profile.engine == "native":
        return _native(args, profile)
    report, samples = run_bench(args.bundle, profile, args.corpus, args.cache_dir)
    out_dir = args.out if args.out is not None else Path(args.bundle).resolve().parent
    paths = write_outputs(report, samples, out_dir)
    print(format_report(report), end="")
    failed = [c["figure"] for c in report["checks"] if not c["passed"]]
    if failed and report["setup"]["contended"]:
        log.warning(
            "the measuring core was shared with other processes (CPU share %.0f%%, steal %s, "
            "load average %s): re-run on an idle machine before trusting a latency failure",
            100 * report["setup"]["cpu_share_while_timing"],
            steal_text(report["setup"].get("steal_while_timing")),
            report["machine"]["loadavg_end"][0],
        )
    log.info(
        "bench %s in %.0f s (%s): wrote %s",
        "PASSED"
        if report["passed"]
        else f"FAILED ({len(failed)} of {len(report['checks'])} limits exceeded: "
        f"{', '.join(failed)})",
        report["seconds"],
        profile.name,
        ", ".join(str(p) for p in paths),
    )
    return EXIT_PASS if report["passed"] else EXIT_LIMIT


def _native(args: argparse.Namespace, profile: BudgetConfig) -> int:
    """The native profile (:mod:`.native`): both engines on the same keystrokes; 0 when the
    native limits hold, else 1."""
    from kbd_lm.export.bench.native import (
        format_native_report,
        run_native_bench,
        write_native_outputs,
    )
    from kbd_lm.inference.bundle import Bundle

    bundle = Bundle.load(args.bundle)
    notes: list[str] = []
    prepared = _prepare_corpus(bundle.manifest, args.corpus, Path(args.cache_dir), notes)
    plan = _replay_plan(prepared, profile, notes)
    report, samples = run_native_bench(bundle, profile, plan, notes)
    out_dir = args.out if args.out is not None else Path(args.bundle).resolve().parent
    paths = write_native_outputs(report, samples, Path(out_dir))
    print(format_native_report(report), end="")
    log.info(
        "bench %s in %.0f s: wrote %s",
        "PASSED" if report["passed"] else "FAILED",
        report["seconds"],
        ", ".join(str(p) for p in paths),
    )
    return EXIT_PASS if report["passed"] else EXIT_LIMIT


def main(argv: list[str] | None = None) -> int:
    """Run the bench and print the report; return the exit code.

    0: every limit holds; 1: a limit is exceeded (the report says which); 2: the bench could
    not run: a bad option, profile or bundle (one line naming the problem) or a crash (the
    traceback is logged). A crash never passes for a budget failure.
    """
    args = _parser().parse_args(argv)
    setup_logging()
    from kbd_lm.common.config import ConfigError
    from kbd_lm.inference.bundle import BundleError

    try:
        return _bench(args)
    except (ConfigError, BundleError, FileNotFoundError) as err:
        log.error("%s", err)
        return EXIT_ERROR
    except KeyboardInterrupt:
        log.error("interrupted")
        return 130
    except Exception:
        log.exception("the bench crashed, so there is no verdict (exit code %d)", EXIT_ERROR)
        return EXIT_ERROR
