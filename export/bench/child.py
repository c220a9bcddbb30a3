"""The measuring child processes: ``python -m kbd_lm.export.bench.child measure|cold SPEC``.

Each measurement runs in a fresh process pinned to one CPU core, with one interpreter thread
and XNNPACK (the runtime's default delegate, as on Android). A child imports only the runtime,
numpy, sentencepiece and kbd_lm's bundle/predict modules, never TensorFlow (the n-gram
baseline, :mod:`kbd_lm.ngram.model`, is loaded last, after the memory readings).

- ``measure SPEC OUT``: warm-up, then the replayed keystrokes (suggest latency by kind), the
  new-field drafts, memory readings, the model step alone (batch 1 and the beam batch) and,
  when the spec names one, the n-gram baseline on the same keystrokes, and last, when the spec
  has messages for it, suggest and learn with a full personal history
  (:func:`kbd_lm.export.bench.history.measure_history`). Writes a JSON result.
- ``cold SPEC``: one cold start (imports, bundle load, predictor init, first suggestion);
  prints one JSON line of monotonic timestamps.

``SPEC`` is a JSON file written by the parent (:func:`run_measure_child`,
:func:`run_cold_starts`, the parent side at the end of this module).

    python -m kbd_lm.export.bench.child cold /tmp/kbd-bench-x/cold-0.json
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from kbd_lm.common.logs import setup_logging
from kbd_lm.export.bench.machine import cpu_ticks, steal_share
from kbd_lm.export.bench.replay import by_kind
from kbd_lm.export.bench.summary import MB

log = logging.getLogger(__name__)

CHILD_MODULE = "kbd_lm.export.bench.child"

# ------------------------------------------------------------------------------ child side


def _status_kb() -> dict[str, int]:
    """VmRSS, VmHWM, RssAnon, RssFile of this process in kB (getrusage if /proc is missing)."""
    out: dict[str, int] = {}
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                key, _, rest = line.partition(":")
                if key in ("VmRSS", "VmHWM", "RssAnon", "RssFile"):
                    out[key] = int(rest.split()[0])
    except OSError:
        import resource

        out["VmHWM"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return out


def _pin(cpu: int) -> int:
    """Pin this process to ``cpu`` (-1: the last allowed core); return the core."""
    if not hasattr(os, "sched_setaffinity"):
        return -1
    allowed = sorted(os.sched_getaffinity(0))
    core = allowed[-1] if cpu < 0 else cpu
    if core not in allowed:
        raise ValueError(f"cpu={cpu}: not one of this process's allowed cores {allowed}")
    os.sched_setaffinity(0, {core})
    return core


def _import_runtime(runtime: str) -> None:
    import importlib

    importlib.import_module(
        "ai_edge_litert.interpreter" if runtime == "litert" else "tflite_runtime.interpreter"
    )


def _no_tensorflow() -> None:
    if "tensorflow" in sys.modules:
        raise RuntimeError("tensorflow was imported in the bench child: figures would be wrong")


def _imported() -> dict:
    """Third-party top-level packages and kbd_lm modules this process imported."""
    stdlib = set(sys.stdlib_module_names)
    tops = {m.split(".")[0] for m in sys.modules}
    third = sorted(t for t in tops if t not in stdlib and not t.startswith("_") and t != "kbd_lm")
    return {
        "third_party": third,
        "kbd_lm": sorted(m for m in sys.modules if m.startswith("kbd_lm.")),
    }


def _import_measured(runtime: str) -> float:
    """Import what the measurements use (numpy, the runtime, the predictor, the step model,
    the progress log); returns the seconds it took. Here, so that their cost counts as
    imports and the memory reading after imports holds them."""
    t0 = time.perf_counter()
    import numpy  # noqa: F401

    _import_runtime(runtime)
    import kbd_lm.common.fsutil  # noqa: F401
    import kbd_lm.inference.predictor  # noqa: F401
    import kbd_lm.inference.runtime  # noqa: F401

    return time.perf_counter() - t0


def _timed(suggest, texts: list[str], k: int, label: str, clear=None) -> list[float]:
    """Microseconds of each ``suggest(text, k)``; ``clear()`` runs before each call (a new
    text field: nothing cached), outside the timing."""
    from kbd_lm.common.fsutil import Progress

    progress = Progress(label, total=len(texts), every=5.0, logger=log)
    clock = time.perf_counter_ns
    out = []
    for text in texts:
        if clear is not None:
            clear()
        start = clock()
        suggest(text, k)
        out.append((clock() - start) / 1000.0)
        progress.update()
    return out


def _time_corrections(predictor, spec: dict) -> dict[str, list[float]]:
    """Microseconds of ``suggest(text, k, correct=True)`` on the noisy keystrokes and on the
    exact ones (:mod:`kbd_lm.export.bench.typos`), in typing order from cleared caches, after
    the warm-up keystrokes with correction (the word list's trie is built then); none when
    the spec has no noisy keystrokes or the bundle no word list (nothing is corrected)."""
    if not spec.get("noisy") or predictor.lexicon is None:
        return {}
    k = spec["k"]

    def corrected(text: str, k: int):
        return predictor.suggest(text, k, correct=True)

    for text in spec["warm"]:
        corrected(text, k)
    out = {}
    for key in ("noisy", "exact"):
        predictor.clear_cache()
        out[f"correct_{key}"] = _timed(corrected, spec[key], k, f"{key} keystrokes, correction")
    predictor.clear_cache()
    return out


def _time_steps(predictor, spec: dict) -> dict[str, list[float]]:
    """Microseconds of the model step alone, in interpreters of its own (batch 1 and the
    beam batch), built like the predictor's: :class:`kbd_lm.inference.runtime.StepModel`,
    one thread, XNNPACK; random piece ids, ``spec["warmup"]`` calls left out."""
    import numpy as np

    from kbd_lm.inference.runtime import StepModel

    rng = np.random.default_rng(spec["seed"])
    vocab = predictor.tok.vocab_size
    clock = time.perf_counter_ns
    steps = {}
    for key, batch in (("step_batch1", 1), ("step_beam", spec["beam_width"])):
        model = StepModel(predictor.bundle.model_path, batch, spec["runtime"], 1)
        n = spec["warmup"] + spec["calls"]
        ids = [
            np.ascontiguousarray(row)
            for row in rng.integers(4, vocab, size=(n, batch), dtype=np.int32)
        ]  # n rows of [batch] int32
        h, c = model.zero_state()
        out = []
        for i, row in enumerate(ids):
            start = clock()
            _, h, c = model.step(row, h, c)
            if i >= spec["warmup"]:
                out.append((clock() - start) / 1000.0)
        steps[key] = out
    return steps


def _time_ngram(spec: dict, result: dict) -> None:
    """The n-gram baseline on the same keystrokes, same core, after every model figure and
    memory reading: its samples (``ngram_*``) and the RSS it added go into ``result``."""
    k = spec["k"]
    before = _status_kb()
    from kbd_lm.ngram.model import KneserNeyTrigram

    lm = KneserNeyTrigram.load(Path(spec["ngram"]))
    result["ngram_rss_mb"] = (_status_kb()["VmRSS"] - before["VmRSS"]) * 1024 / MB
    for text in spec["warm"]:
        lm.suggest(text, k)
    replay = _timed(lm.suggest, spec["texts"], k, "n-gram keystrokes")
    result["samples_us"].update(by_kind(replay, spec["kinds"], "ngram"))


def _measure_child(spec: dict) -> dict:
    """Everything measured in one pinned process (see the module docstring); returns samples."""
    core = _pin(spec["cpu"])
    _no_tensorflow()
    import_seconds = _import_measured(spec["runtime"])
    from kbd_lm.inference.predictor import Predictor

    mem: dict[str, Any] = {"after_imports": _status_kb()}
    t = time.perf_counter()
    predictor = Predictor.load(
        spec["bundle"], runtime=spec["runtime"], beam_width=spec["beam_width"], num_threads=1
    )
    load_seconds = time.perf_counter() - t
    mem["after_load"] = _status_kb()
    k, suggest = spec["k"], predictor.suggest
    log.info(
        "pinned to core %d; %d warm-up keystrokes, then %d replayed keystrokes",
        core,
        len(spec["warm"]),
        len(spec["texts"]),
    )
    for text in spec["warm"]:
        suggest(text, k)
    mem["after_warmup"] = _status_kb()
    cpu0, wall0, ticks0 = time.process_time(), time.perf_counter(), cpu_ticks(core)
    replay = _timed(suggest, spec["texts"], k, "model keystrokes")
    for text in spec["warm_drafts"]:
        predictor.clear_cache()
        suggest(text, k)
    new_field = _timed(suggest, spec["drafts"], k, "model new fields", predictor.clear_cache)
    mem["end"] = _status_kb()  # the serving process's figures, before the step interpreters
    corrected = _time_corrections(predictor, spec)
    steps = _time_steps(predictor, spec)
    cpu_share = (time.process_time() - cpu0) / max(time.perf_counter() - wall0, 1e-9)
    steal = steal_share(ticks0, cpu_ticks(core))
    _no_tensorflow()

    samples = {**by_kind(replay, spec["kinds"], "suggest"), "suggest_new_field": new_field}
    samples.update(corrected)
    result: dict[str, Any] = {
        "core": core,
        "samples_us": {**samples, **steps},
        "memory_kb": mem,
        "cpu_share": cpu_share,
        "steal_share": steal,
        "import_seconds": import_seconds,
        "load_seconds": load_seconds,
        "imports": _imported(),
        "tensorflow_imported": False,
    }
    if spec.get("ngram"):
        _time_ngram(spec, result)
        _no_tensorflow()
    if spec.get("history"):
        # Last: a full personal history (kbd_lm.export.bench.history), same predictor, same core.
        from kbd_lm.export.bench.history import measure_history

        own, typed = spec["history"]["own"], spec["history"]["typed"]
        result["history"] = measure_history(predictor, own, typed, warmup=spec["warmup"])
        _no_tensorflow()
    return result


def _cold_child(spec: dict, t_entry: float) -> dict:
    """One cold start: imports, bundle load, predictor init, first suggestion (monotonic times)."""
    core = _pin(spec["cpu"])
    t_imports = time.monotonic()
    import numpy  # noqa: F401  (timed: part of the Python harness)

    _import_runtime(spec["runtime"])
    from kbd_lm.inference.bundle import Bundle
    from kbd_lm.inference.predictor import Predictor

    t_bundle = time.monotonic()
    bundle = Bundle.load(spec["bundle"])
    t_init = time.monotonic()
    predictor = Predictor(
        bundle, runtime=spec["runtime"], beam_width=spec["beam_width"], num_threads=1
    )
    t_suggest = time.monotonic()
    predictor.suggest(spec["text"], spec["k"])
    t_done = time.monotonic()
    _no_tensorflow()
    return {
        "core": core,
        "t_entry": t_entry,
        "t_imports": t_imports,
        "t_bundle": t_bundle,
        "t_init": t_init,
        "t_suggest": t_suggest,
        "t_done": t_done,
        "vmhwm_kb": _status_kb().get("VmHWM"),
    }


def main(argv: list[str] | None = None) -> int:
    """``measure SPEC OUT`` (writes the result to OUT) or ``cold SPEC`` (prints one JSON line)."""
    t_entry = time.monotonic()  # a cold start's interpreter start-up ends here
    parser = argparse.ArgumentParser(
        prog=f"python -m {CHILD_MODULE}",
        description="One measuring process of the bench (started by python -m "
        "kbd_lm.export.bench, which writes SPEC).",
    )
    sub = parser.add_subparsers(dest="kind", required=True)
    measure = sub.add_parser("measure", help="latency and memory; writes the result to OUT")
    measure.add_argument("spec", type=Path)
    measure.add_argument("out", type=Path)
    cold = sub.add_parser("cold", help="one cold start; prints one JSON line")
    cold.add_argument("spec", type=Path)
    args = parser.parse_args(argv)
    setup_logging(child=True)
    spec = json.loads(args.spec.read_text(encoding="utf-8"))
    if args.kind == "measure":
        args.out.write_text(json.dumps(_measure_child(spec)), encoding="utf-8")
    else:
        print(json.dumps(_cold_child(spec, t_entry)), flush=True)
    return 0


# ------------------------------------------------------------------------------ parent side


def child_env() -> dict:
    """The children's environment: this one with BLAS/OpenMP pools held to one thread."""
    env = dict(os.environ)
    # One core, one thread: no BLAS or OpenMP thread pools competing with the interpreter.
    env.update(
        OPENBLAS_NUM_THREADS="1",
        OMP_NUM_THREADS="1",
        MKL_NUM_THREADS="1",
        TF_CPP_MIN_LOG_LEVEL=env.get("TF_CPP_MIN_LOG_LEVEL", "2"),
    )
    return env


def _child_cmd(*args: str) -> list[str]:
    return [sys.executable, "-m", CHILD_MODULE, *args]


def run_measure_child(spec: dict, workdir: Path) -> dict:
    """Run :func:`_measure_child` in a fresh process; returns its result dict."""
    spec_path, out_path = workdir / "spec.json", workdir / "result.json"
    spec_path.write_text(json.dumps(spec), encoding="utf-8")
    proc = subprocess.run(
        _child_cmd("measure", str(spec_path), str(out_path)),
        env=child_env(),
        stdin=subprocess.DEVNULL,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"bench child failed with exit code {proc.returncode} (log above)")
    return json.loads(out_path.read_text(encoding="utf-8"))


def run_cold_starts(spec: dict, texts: list[str], runs: int, workdir: Path) -> list[dict]:
    """``runs`` fresh processes, each loading the bundle and suggesting once; times in ms.

    Process start is taken just before the child is spawned (``time.monotonic``, the same
    clock in every process on Linux), so ``total_ms`` includes interpreter start-up.
    """
    out = []
    for i in range(runs):
        spec_path = workdir / f"cold-{i}.json"
        spec_path.write_text(
            json.dumps({**spec, "text": texts[i % len(texts)] if texts else ""}), encoding="utf-8"
        )
        t0 = time.monotonic()
        proc = subprocess.run(
            _child_cmd("cold", str(spec_path)),
            env=child_env(),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            text=True,
        )
        if proc.returncode != 0:
            raise RuntimeError(f"cold-start child failed with exit code {proc.returncode}")
        r = json.loads(proc.stdout.strip().splitlines()[-1])

        def ms(start: float, end: str, r: dict = r) -> float:
            return (r[end] - start) * 1000.0

        out.append(
            {
                "total_ms": ms(t0, "t_done"),
                "interpreter_start_ms": ms(t0, "t_entry"),
                "imports_ms": ms(r["t_imports"], "t_bundle"),
                "bundle_load_ms": ms(r["t_bundle"], "t_init"),
                "predictor_init_ms": ms(r["t_init"], "t_suggest"),
                "first_suggest_ms": ms(r["t_suggest"], "t_done"),
                "bundle_cold_start_ms": ms(r["t_bundle"], "t_done"),
                "peak_rss_mb": r["vmhwm_kb"] * 1024 / MB if r.get("vmhwm_kb") else None,
            }
        )
        log.info(
            "cold start %d/%d: %.0f ms to the first suggestion (bundle load + init + "
            "suggest %.0f ms)",
            i + 1,
            runs,
            out[-1]["total_ms"],
            out[-1]["bundle_cold_start_ms"],
        )
    return out


if __name__ == "__main__":
    sys.exit(main())
