"""``make bench``: does a bundle fit a phone? Latency, cold start, memory and size vs a budget.

A budget profile (``export/budgets/<name>.toml``, loaded into :class:`BudgetConfig`) sets the
limits and how much to measure. The measurements run in fresh child processes
(``python -m kbd_lm.export.bench --_child ...``) pinned to one CPU core, with one interpreter
thread and XNNPACK (the runtime's default delegate, as on Android); the children import only
the runtime, numpy, sentencepiece and kbd_lm's bundle/predict modules, never TensorFlow (the
n-gram baseline, :mod:`kbd_lm.ngram`, is loaded last, after the memory readings).

CLI: ``python -m kbd_lm.export.bench --bundle DIR [--profile NAME|FILE.toml] [--out DIR]
[--corpus SPEC] [--cache-dir data] [--no-baseline] [key=value ...]``; the ``key=value``
overrides are profile fields, e.g. ``calls=2000 host_score=1700``.

What is measured, all with the same seeded inputs:

- latency percentiles (p50, p90, p99, max) of one model step (batch 1 and the beam batch), of
  ``suggest`` while test-split text is replayed as typed, one character at a time (next word
  after a space, punctuation or at the start of a message; completion inside a word), and of
  the first suggestion in a new text field (empty state cache, a draft as the context);
- cold start: fresh processes that load the bundle and suggest once (median, and each run);
- memory: peak RSS of the process that serves suggestions, and its growth after warm-up;
- sizes: each bundle file, the total an app downloads, parameters, bytes per parameter;
- the quantization presets export measured (from the manifest) and, on the very same
  keystrokes in the same pinned process, the pruned Kneser-Ney trigram baseline.

Outputs ``bench.json``, ``bench.md`` and ``bench.png`` (latency distributions) in ``--out``
(default: the folder that holds the bundle folder, so nothing is added to what ships). Exit
code 0 when every limit holds, 1 when one is exceeded, 2 on a usage or bundle error.

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
import platform
import random
import re
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

log = logging.getLogger("kbd_lm.export.bench")

BUDGET_DIR = Path(__file__).parent / "budgets"
SCHEMA = "kbd-lm-bench/1"
MIN_CALLS = 1000  # fewer timed calls than this: percentiles are marked as indicative only
FALLBACK_CORPUS = "chitchat"
SHIPPED_FILES = ("model.tflite", "tokenizer.model")
MB = 1e6  # sizes and memory are in MB = 10^6 bytes
VERSIONED_PACKAGES = ("ai-edge-litert", "tflite-runtime", "numpy", "sentencepiece")
# The word being typed at the end of the text, as the predictor and the n-gram see it.
_IN_WORD_RE = re.compile(r"[^\W_]+(?:'[^\W_]*)*$")

# Latency series: key -> label. Keys are also the names in bench.json.
SERIES = {
    "suggest_next_word": "suggest, next word",
    "suggest_completion": "suggest, completion",
    "suggest_new_field": "first suggestion, new text field",
    "step_batch1": "model step, batch 1",
    "step_beam": "model step, beam batch",
    "ngram_next_word": "n-gram suggest, next word",
    "ngram_completion": "n-gram suggest, completion",
}


@dataclass(frozen=True)
class BudgetConfig:
    """A budget profile: limits (0 = reported, not gated) and how much to measure.

    Latency limits are on this machine's core; ``phone_suggest_p99_ms`` applies to the latency
    projected to the phone core (measured x ``slowdown``). See ``export/budgets/default.toml``
    for what each field means.

    >>> BudgetConfig(phone_score=500.0, host_score=1000.0).slowdown
    2.0
    """

    name: str = "default"
    description: str = ""
    phone: str = "mid-range Cortex-A76-class core"
    phone_score: float = 575.0  # Geekbench 5 single-core of the phone core (approximate)
    host_score: float = 1100.0  # Geekbench 5 single-core assumed for this machine's core
    score_source: str = ""
    suggest_p99_ms: float = 2.0
    phone_suggest_p99_ms: float = 0.0
    new_field_p99_ms: float = 0.0
    cold_start_ms: float = 150.0
    peak_rss_mb: float = 40.0
    rss_growth_mb: float = 0.0
    bundle_bytes: int = 1_500_000
    count_python_overhead: bool = False
    calls: int = 1000
    warmup: int = 200
    cold_starts: int = 5
    seed: int = 0
    runtime: Literal["litert", "tflite-runtime"] = "litert"
    beam_width: int = 8
    k: int = 3
    cpu: int = -1
    baseline: bool = True
    baseline_bytes: int = 1_500_000

    @property
    def slowdown(self) -> float:
        """How many times slower the phone core is than this machine's (host / phone score)."""
        return self.host_score / self.phone_score

    def check(self) -> BudgetConfig:
        """Refuse values that cannot be measured; returns self."""
        from kbd_lm.config import ConfigError

        if self.phone_score <= 0 or self.host_score <= 0:
            raise ConfigError(f"profile {self.name}: phone_score and host_score must be > 0")
        for key in ("calls", "beam_width", "k", "cold_starts"):
            if getattr(self, key) < 1:
                raise ConfigError(f"profile {self.name}: {key} must be >= 1")
        if self.warmup < 0:
            raise ConfigError(f"profile {self.name}: warmup must be >= 0")
        return self


# ------------------------------------------------------------------------------ profiles


def profile_names() -> list[str]:
    """Names of the profiles shipped in ``export/budgets/`` (e.g. ``['default', ...]``)."""
    return sorted(p.stem for p in BUDGET_DIR.glob("*.toml"))


def load_profile(profile: str = "default", overrides: list[str] | tuple[str, ...] = ()):
    """A :class:`BudgetConfig` from a profile name or a TOML path, plus ``key=value`` overrides.

    Unknown keys and wrong types are errors (:class:`kbd_lm.config.ConfigError`).

    >>> load_profile("default", ["calls=50"]).calls
    50
    """
    from kbd_lm.config import ConfigError, load_config

    path = Path(profile)
    if path.suffix != ".toml":
        path = BUDGET_DIR / f"{profile}.toml"
        if not path.is_file():
            raise ConfigError(
                f"unknown budget profile {profile!r}; known profiles: "
                f"{', '.join(profile_names())} (or a path to a .toml file)"
            )
    elif not path.is_file():
        raise ConfigError(f"budget profile not found: {path}")
    return load_config(BudgetConfig, preset=str(path), overrides=list(overrides)).check()


# ------------------------------------------------------------------------------ inputs


def keystrokes(unit: str) -> list[tuple[str, str]]:
    """Every text a keyboard asks suggestions for while ``unit`` is typed, with its kind.

    The kind is ``"completion"`` when the text ends inside a word, else ``"next_word"`` (after
    a space or punctuation, or the empty text at the start of a message).

    >>> keystrokes("Hi yo")  # doctest: +NORMALIZE_WHITESPACE
    [('', 'next_word'), ('H', 'completion'), ('Hi', 'completion'), ('Hi ', 'next_word'),
     ('Hi y', 'completion'), ('Hi yo', 'completion')]
    """
    return [
        (unit[:i], "completion" if _IN_WORD_RE.search(unit[:i]) else "next_word")
        for i in range(len(unit) + 1)
    ]


def replay_plan(units: list[str], calls: int, warmup: int, seed: int = 0) -> dict:
    """Seeded warm-up and measured keystrokes from whole units, and new-field drafts.

    Units are shuffled with ``seed``; the first ones give ``warmup`` warm-up keystrokes, the
    next ones are replayed whole until both kinds have at least ``calls`` keystrokes (or the
    units run out). Drafts (first suggestion in a new text field) are prefixes of the
    measured units cut after a space or at 0 (an empty field): ``calls`` measured and
    ``warmup`` warm-up ones, the latter from the warm-up units.

    Returns ``{"warm": [text], "texts": [text], "kinds": [kind], "units": n, "drafts":
    [text], "warm_drafts": [text], "exhausted": bool}``.

    >>> plan = replay_plan(["see you", "ok then", "hi"], calls=2, warmup=1)
    >>> plan["kinds"].count("next_word") >= 2, len(plan["drafts"])
    (True, 2)
    """
    order = list(range(len(units)))
    random.Random(seed).shuffle(order)
    rng = random.Random(seed + 1)
    pos = 0
    warm: list[str] = []
    warm_units: list[str] = []
    while len(warm) < warmup and pos < len(order):
        unit = units[order[pos]]
        pos += 1
        warm_units.append(unit)
        warm.extend(text for text, _ in keystrokes(unit))
    warm = warm[:warmup]
    texts: list[str] = []
    kinds: list[str] = []
    measured_units: list[str] = []
    count = {"next_word": 0, "completion": 0}
    while pos < len(order) and min(count.values()) < calls:
        unit = units[order[pos]]
        pos += 1
        measured_units.append(unit)
        for text, kind in keystrokes(unit):
            texts.append(text)
            kinds.append(kind)
            count[kind] += 1
    exhausted = min(count.values()) < calls

    def drafts(pool: list[str], n: int) -> list[str]:
        out = []
        for j in range(n if pool else 0):
            unit = pool[j % len(pool)]
            cuts = [0] + [i + 1 for i, ch in enumerate(unit) if ch == " "]
            out.append(unit[: rng.choice(cuts)])
        return out

    return {
        "warm": warm,
        "texts": texts,
        "kinds": kinds,
        "units": len(measured_units),
        "drafts": drafts(measured_units, calls),
        "warm_drafts": drafts(warm_units or measured_units, warmup),
        "exhausted": exhausted,
    }


def corpus_spec(manifest: dict, override: str | None = None) -> str:
    """The corpus to replay: ``override``, else the manifest's ``training.corpus``, else chitchat.

    A plain-text corpus is recorded in the manifest as ``plaintext:<paths>``; the paths are
    given back to :func:`kbd_lm.corpus.prepare`.

    >>> corpus_spec({"training": {"corpus": "plaintext:/data/chat"}})
    '/data/chat'
    >>> corpus_spec({}), corpus_spec({}, "my.txt")
    ('chitchat', 'my.txt')
    """
    if override:
        return override
    name = (manifest.get("training") or {}).get("corpus")
    if not name:
        return FALLBACK_CORPUS
    return name.removeprefix("plaintext:")


def ngram_baseline(prepared, max_bytes: int, cache_dir: Path) -> tuple[Path, dict]:
    """The Kneser-Ney trigram trained on ``prepared``'s train split, pruned to ``max_bytes``.

    Cached as ``<cache_dir>/ngram-<corpus fingerprint>-<max_bytes>-<code hash>.kn3`` (the hash
    of ``kbd_lm/ngram.py``, so a changed estimator retrains). Returns (model path, info).
    """
    import hashlib

    from kbd_lm import ngram

    code = hashlib.sha1(Path(ngram.__file__).read_bytes()).hexdigest()[:8]
    path = Path(cache_dir) / f"ngram-{prepared.fingerprint}-{max_bytes}-{code}.kn3"
    meta_path = path.with_suffix(".json")
    if path.is_file() and meta_path.is_file():
        log.info("n-gram baseline: cached at %s", path)
        return path, {**json.loads(meta_path.read_text()), "cached": True}
    log.info(
        "n-gram baseline: training on the train split of %s (cached afterwards)", prepared.name
    )
    t0 = time.perf_counter()
    full = ngram.KneserNeyTrigram.train(prepared.units("train"))
    small = full.pruned(max_bytes)
    small.save(path)
    info = {
        "path": str(path),
        "corpus": prepared.name,
        "fingerprint": prepared.fingerprint,
        "budget_bytes": max_bytes,
        "size_bytes": small.size_bytes(),
        **small.counts(),
        "full_size_bytes": full.size_bytes(),
        "train_seconds": round(time.perf_counter() - t0, 1),
    }
    from kbd_lm.fsutil import atomic_write_text

    atomic_write_text(meta_path, json.dumps(info, indent=2) + "\n")
    return path, {**info, "cached": False}


# ------------------------------------------------------------------------------ machine


def machine_info(cpu: int | None = None) -> dict:
    """CPU model, frequency, cores, Python and runtime versions, load average.

    >>> info = machine_info()
    >>> sorted(info["versions"])
    ['ai-edge-litert', 'numpy', 'sentencepiece', 'tflite-runtime']
    """
    from importlib.metadata import PackageNotFoundError, version

    info: dict[str, Any] = {
        "cpu_model": platform.processor() or platform.machine(),
        "cpu_mhz": None,
        "cpu_max_mhz": None,
    }
    try:
        blocks = Path("/proc/cpuinfo").read_text().split("\n\n")
    except OSError:
        blocks = []
    for block in blocks:
        fields = dict(line.split(":", 1) for line in block.splitlines() if ":" in line)
        fields = {k.strip(): v.strip() for k, v in fields.items()}
        if not fields:
            continue
        if "model name" in fields:
            info["cpu_model"] = fields["model name"]
        if "cpu MHz" in fields and (cpu is None or fields.get("processor") == str(cpu)):
            info["cpu_mhz"] = round(float(fields["cpu MHz"]))
            if cpu is not None:
                break
    freq = Path(f"/sys/devices/system/cpu/cpu{cpu or 0}/cpufreq/cpuinfo_max_freq")
    if freq.is_file():
        info["cpu_max_mhz"] = round(int(freq.read_text()) / 1000)
    info["cpu_count"] = os.cpu_count()
    info["allowed_cores"] = (
        sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None
    )
    info["python"] = f"{platform.python_implementation()} {platform.python_version()}"
    info["platform"] = platform.platform()
    versions = {}
    for package in VERSIONED_PACKAGES:
        try:
            versions[package] = version(package)
        except PackageNotFoundError:
            versions[package] = None
    info["versions"] = versions
    info["loadavg"] = [round(x, 2) for x in os.getloadavg()]
    return info


# ------------------------------------------------------------------------------ statistics


def percentiles(samples_us: list[float]) -> dict[str, float | int | None]:
    """p50/p90/p99/max/mean in ms of latencies in microseconds (numpy linear interpolation).

    >>> percentiles([1000.0] * 99 + [5000.0])["max"], percentiles([])["p99"]
    (5.0, None)
    """
    import numpy as np

    if not samples_us:
        return {"n": 0, "p50": None, "p90": None, "p99": None, "max": None, "mean": None}
    x = np.asarray(samples_us, dtype=np.float64) / 1000.0
    p50, p90, p99 = np.percentile(x, [50, 90, 99])
    return {
        "n": len(x),
        "p50": float(p50),
        "p90": float(p90),
        "p99": float(p99),
        "max": float(x.max()),
        "mean": float(x.mean()),
    }


def _median(values: list[float]) -> float | None:
    import statistics

    return statistics.median(values) if values else None


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


def _child_logging() -> None:
    logging.basicConfig(
        level=logging.INFO,
        stream=sys.stderr,
        format="%(asctime)s bench[child %(process)d]: %(message)s",
    )


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


def _measure_child(spec: dict) -> dict:
    """Everything measured in one pinned process (see the module docstring); returns samples."""
    core = _pin(spec["cpu"])
    _no_tensorflow()
    t0 = time.perf_counter()
    import numpy as np

    _import_runtime(spec["runtime"])
    from kbd_lm.fsutil import Progress
    from kbd_lm.predict import Predictor
    from kbd_lm.runtime import StepModel

    import_seconds = time.perf_counter() - t0
    mem: dict[str, Any] = {"after_imports": _status_kb()}
    t = time.perf_counter()
    predictor = Predictor.load(
        spec["bundle"], runtime=spec["runtime"], beam_width=spec["beam_width"], num_threads=1
    )
    load_seconds = time.perf_counter() - t
    mem["after_load"] = _status_kb()
    k = spec["k"]
    suggest = predictor.suggest
    clock = time.perf_counter_ns

    def timed(suggest, texts: list[str], label: str, fresh: bool = False) -> list[float]:
        """Microseconds of each ``suggest(text, k)``; ``fresh`` empties the LSTM state cache."""
        progress = Progress(label, total=len(texts), every=5.0, logger=log)
        out = []
        for text in texts:
            if fresh:
                predictor._cache.clear()  # a new text field: nothing cached
            start = clock()
            suggest(text, k)
            out.append((clock() - start) / 1000.0)
            progress.update()
        return out

    log.info(
        "pinned to core %d; %d warm-up keystrokes, then %d replayed keystrokes",
        core,
        len(spec["warm"]),
        len(spec["texts"]),
    )
    for text in spec["warm"]:
        suggest(text, k)
    mem["after_warmup"] = _status_kb()
    cpu0, wall0 = time.process_time(), time.perf_counter()
    replay = timed(suggest, spec["texts"], "LSTM keystrokes")
    for text in spec["warm_drafts"]:
        predictor._cache.clear()
        suggest(text, k)
    new_field = timed(suggest, spec["drafts"], "LSTM new fields", fresh=True)

    mem["end"] = _status_kb()  # the serving process's figures, before the step interpreters

    # The model step alone, in interpreters of its own (batch 1 and the beam batch), built
    # like the predictor's: kbd_lm.runtime.StepModel, one thread, XNNPACK.
    rng = np.random.default_rng(spec["seed"])
    vocab = predictor.tok.vocab_size
    steps = {}
    for key, batch in (("step_batch1", 1), ("step_beam", spec["beam_width"])):
        model = StepModel(Path(spec["bundle"]) / "model.tflite", batch, spec["runtime"], 1)
        n = spec["warmup"] + spec["calls"]
        ids = [
            np.ascontiguousarray(row)
            for row in rng.integers(4, vocab, size=(n, batch), dtype=np.int32)
        ]
        h, c = model.zero_state()
        out = []
        for i, row in enumerate(ids):
            start = clock()
            _, h, c = model.step(row, h, c)
            if i >= spec["warmup"]:
                out.append((clock() - start) / 1000.0)
        steps[key] = out
    cpu_share = (time.process_time() - cpu0) / max(time.perf_counter() - wall0, 1e-9)
    _no_tensorflow()
    imports = _imported()

    kinds = spec["kinds"]
    samples = {**_by_kind(replay, kinds, "suggest"), "suggest_new_field": new_field, **steps}
    result: dict[str, Any] = {
        "core": core,
        "samples_us": samples,
        "memory_kb": mem,
        "cpu_share": cpu_share,
        "import_seconds": import_seconds,
        "load_seconds": load_seconds,
        "imports": imports,
        "tensorflow_imported": False,
    }

    if spec.get("ngram"):
        # After every LSTM figure (and the memory readings) is taken: same core, same inputs.
        before = _status_kb()
        from kbd_lm.ngram import KneserNeyTrigram

        lm = KneserNeyTrigram.load(Path(spec["ngram"]))
        result["ngram_rss_mb"] = (_status_kb()["VmRSS"] - before["VmRSS"]) * 1024 / MB
        for text in spec["warm"]:
            lm.suggest(text, k)
        replay = timed(lm.suggest, spec["texts"], "n-gram keystrokes")
        samples.update(_by_kind(replay, kinds, "ngram"))
        _no_tensorflow()
    return result


def _by_kind(times: list[float], kinds: list[str], prefix: str) -> dict[str, list[float]]:
    """Split replay times by keystroke kind.

    >>> _by_kind([1.0, 2.0, 3.0], ["next_word", "completion", "next_word"], "x")
    {'x_next_word': [1.0, 3.0], 'x_completion': [2.0]}
    """
    pairs = list(zip(times, kinds, strict=True))
    return {
        f"{prefix}_{kind}": [t for t, k in pairs if k == kind]
        for kind in ("next_word", "completion")
    }


def _cold_child(spec: dict, t_entry: float) -> dict:
    """One cold start: imports, bundle load, predictor init, first suggestion (monotonic times)."""
    core = _pin(spec["cpu"])
    t_imports = time.monotonic()
    import numpy  # noqa: F401  (timed: part of the Python harness)

    _import_runtime(spec["runtime"])
    from kbd_lm.bundle import Bundle
    from kbd_lm.predict import Predictor

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


def _child_main(argv: list[str]) -> int:
    """``--_child measure SPEC OUT`` or ``--_child cold SPEC`` (prints one JSON line)."""
    t_entry = time.monotonic()
    _child_logging()
    kind, spec_path = argv[0], argv[1]
    spec = json.loads(Path(spec_path).read_text(encoding="utf-8"))
    if kind == "measure":
        result = _measure_child(spec)
        Path(argv[2]).write_text(json.dumps(result), encoding="utf-8")
    elif kind == "cold":
        print(json.dumps(_cold_child(spec, t_entry)), flush=True)
    else:
        raise SystemExit(f"unknown child kind {kind!r}")
    return 0


# ------------------------------------------------------------------------------ parent side


def _child_env() -> dict:
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
    return [sys.executable, "-m", "kbd_lm.export.bench", "--_child", *args]


def run_measure_child(spec: dict, workdir: Path) -> dict:
    """Run :func:`_measure_child` in a fresh process; returns its result dict."""
    spec_path, out_path = workdir / "spec.json", workdir / "result.json"
    spec_path.write_text(json.dumps(spec), encoding="utf-8")
    proc = subprocess.run(
        _child_cmd("measure", str(spec_path), str(out_path)),
        env=_child_env(),
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
            env=_child_env(),
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


def _sizes(bundle) -> dict:
    files = {name: int(entry["bytes"]) for name, entry in bundle.manifest["files"].items()}
    manifest_bytes = (bundle.path / "manifest.json").stat().st_size
    shipped = bundle.manifest.get("total_bytes") or sum(files.get(n, 0) for n in SHIPPED_FILES)
    params = (bundle.manifest.get("model") or {}).get("parameters")
    model_bytes = files.get("model.tflite")
    return {
        "files": files,
        "manifest_json_bytes": manifest_bytes,
        "shipped_bytes": int(shipped),
        "shipped_files": list(SHIPPED_FILES),
        "all_files_bytes": sum(files.values()) + manifest_bytes,
        "parameters": params,
        "model_bytes_per_parameter": model_bytes / params if params and model_bytes else None,
    }


def _presets(manifest: dict, pinned: dict) -> list[dict]:
    shipped = manifest.get("quantization")
    rows = []
    for name, p in (manifest.get("presets") or {}).items():
        step = p.get("step_us") or {}
        row = {
            "preset": name,
            "shipped": name == shipped,
            "bytes": p.get("bytes"),
            "top1": p.get("top1"),
            "top3": p.get("top3"),
            "max_logprob_error": p.get("max_logprob_error"),
            "export_step_p50_us": step.get("p50"),
            "export_step_p99_us": step.get("p99"),
            "min_runtime_version": p.get("min_runtime_version"),
        }
        if name == shipped:
            row["pinned_step_p50_us"] = pinned["p50"] * 1000 if pinned.get("p50") else None
            row["pinned_step_p99_us"] = pinned["p99"] * 1000 if pinned.get("p99") else None
        rows.append(row)
    return rows


def cold_start_summary(runs: list[dict], count_python_overhead: bool) -> dict:
    """Medians (ms) of each cold-start phase over ``runs``, the runs, and the gated figure.

    The gated figure is process start to first suggestion with ``count_python_overhead``,
    else bundle load + predictor init + first suggestion (what the bundle itself costs).

    >>> run = {"total_ms": 200.0, "bundle_cold_start_ms": 20.0, "bundle_load_ms": 2.0,
    ...        "predictor_init_ms": 8.0}
    >>> s = cold_start_summary([run], False)
    >>> s["gated_median"], s["load_ms"]
    (20.0, 10.0)
    """
    keys = (
        "total_ms",
        "interpreter_start_ms",
        "imports_ms",
        "bundle_load_ms",
        "predictor_init_ms",
        "first_suggest_ms",
        "bundle_cold_start_ms",
    )
    out: dict[str, Any] = {k: _median([r[k] for r in runs if k in r]) for k in keys}
    out["load_ms"] = _median([r["bundle_load_ms"] + r["predictor_init_ms"] for r in runs])
    out["runs"] = runs
    if count_python_overhead:
        out["gated_label"] = "cold start, process start to first suggestion (median)"
        out["gated_median"] = out["total_ms"]
    else:
        out["gated_label"] = "cold start, bundle load + init + first suggestion (median)"
        out["gated_median"] = out["bundle_cold_start_ms"]
    return out


def memory_summary(kb: dict[str, dict[str, int]], count_python_overhead: bool) -> dict:
    """RSS figures in MB from the child's ``/proc/self/status`` readings (kB) at each phase.

    ``kb`` has readings ``after_imports``, ``after_load``, ``after_warmup`` and ``end``. Peak
    is VmHWM at the end; growth is end minus after warm-up. The gated figure is the whole
    peak with ``count_python_overhead``, else the peak minus RSS after the imports.

    >>> r = {"VmRSS": 50_000, "VmHWM": 50_000}
    >>> m = memory_summary({"after_imports": {"VmRSS": 40_000}, "after_load": r,
    ...                     "after_warmup": r, "end": r}, False)
    >>> round(m["gated_peak"], 2), m["growth"]
    (10.24, 0.0)
    """

    def mb(phase: str, key: str) -> float | None:
        value = kb.get(phase, {}).get(key)
        return value * 1024 / MB if value is not None else None

    out: dict[str, Any] = {
        "peak_rss": mb("end", "VmHWM"),
        "rss_after_imports": mb("after_imports", "VmRSS"),
        "rss_after_load": mb("after_load", "VmRSS"),
        "rss_after_warmup": mb("after_warmup", "VmRSS"),
        "rss_end": mb("end", "VmRSS"),
        "anon_end": mb("end", "RssAnon"),
        "file_end": mb("end", "RssFile"),
    }
    peak, base = out["peak_rss"], out["rss_after_imports"]
    out["peak_above_imports"] = peak - base if peak is not None and base is not None else None
    end, warm = out["rss_end"], out["rss_after_warmup"]
    out["growth"] = end - warm if end is not None and warm is not None else None
    if count_python_overhead:
        out["gated_label"], out["gated_peak"] = "peak RSS, whole process", peak
    else:
        out["gated_label"] = "peak RSS above the Python harness (after imports)"
        out["gated_peak"] = out["peak_above_imports"]
    return out


@dataclass(frozen=True)
class Check:
    """One gated figure: passes when ``value <= limit`` (a missing value fails)."""

    key: str
    figure: str
    value: float | None
    limit: float
    unit: str

    @property
    def passed(self) -> bool:
        return self.value is not None and self.value <= self.limit


def checks(report: dict, profile: BudgetConfig) -> list[Check]:
    """The limits of ``profile`` (those > 0) applied to a report's figures.

    >>> r = {"latency_ms": {"suggest_next_word": {"p99": 1.0}}, "sizes": {"shipped_bytes": 9}}
    >>> [(c.key, c.passed) for c in checks(r, BudgetConfig(bundle_bytes=10, cold_start_ms=0,
    ...      peak_rss_mb=0, suggest_p99_ms=0.5))]
    [('suggest_next_word_p99', False), ('suggest_completion_p99', False), ('bundle_bytes', True)]
    """
    lat = report.get("latency_ms", {})
    p99 = {key: (lat.get(key) or {}).get("p99") for key in SERIES}
    s = profile.slowdown
    out = []
    for key in ("suggest_next_word", "suggest_completion"):
        if profile.suggest_p99_ms > 0:
            out.append(
                Check(f"{key}_p99", f"{SERIES[key]} p99", p99[key], profile.suggest_p99_ms, "ms")
            )
    for key in ("suggest_next_word", "suggest_completion"):
        if profile.phone_suggest_p99_ms > 0:
            out.append(
                Check(
                    f"{key}_phone_p99",
                    f"{SERIES[key]} p99, phone est.",
                    p99[key] * s if p99[key] is not None else None,
                    profile.phone_suggest_p99_ms,
                    "ms",
                )
            )
    if profile.new_field_p99_ms > 0:
        out.append(
            Check(
                "suggest_new_field_p99",
                f"{SERIES['suggest_new_field']} p99",
                p99["suggest_new_field"],
                profile.new_field_p99_ms,
                "ms",
            )
        )
    cold = report.get("cold_start_ms", {})
    mem = report.get("memory_mb", {})
    if profile.cold_start_ms > 0:
        out.append(
            Check(
                "cold_start",
                cold.get("gated_label", "cold start"),
                cold.get("gated_median"),
                profile.cold_start_ms,
                "ms",
            )
        )
    if profile.peak_rss_mb > 0:
        out.append(
            Check(
                "peak_rss",
                mem.get("gated_label", "peak RSS"),
                mem.get("gated_peak"),
                profile.peak_rss_mb,
                "MB",
            )
        )
    if profile.rss_growth_mb > 0:
        out.append(
            Check(
                "rss_growth",
                "RSS growth after warm-up",
                mem.get("growth"),
                profile.rss_growth_mb,
                "MB",
            )
        )
    if profile.bundle_bytes > 0:
        out.append(
            Check(
                "bundle_bytes",
                "bundle size (model + tokenizer)",
                report.get("sizes", {}).get("shipped_bytes"),
                profile.bundle_bytes,
                "bytes",
            )
        )
    return out


def run_bench(
    bundle_dir: Path,
    profile: BudgetConfig,
    corpus: str | None = None,
    cache_dir: Path = Path("data"),
) -> tuple[dict, dict]:
    """Measure ``bundle_dir`` under ``profile``; return (report, raw samples in microseconds).

    The report is what ``bench.json`` holds, without the samples.
    """
    import tempfile

    from kbd_lm.bundle import Bundle
    from kbd_lm.corpus import prepare

    started = time.time()
    bundle = Bundle.load(bundle_dir)
    manifest = bundle.manifest
    machine = machine_info()
    notes: list[str] = []

    spec_corpus = corpus_spec(manifest, corpus)
    try:
        prepared = prepare(spec_corpus, Path(cache_dir))
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
        spec_corpus = FALLBACK_CORPUS
        prepared = prepare(spec_corpus, Path(cache_dir))
    units = list(prepared.units("test"))
    plan = replay_plan(units, profile.calls, profile.warmup, profile.seed)
    counts = {kind: plan["kinds"].count(kind) for kind in ("next_word", "completion")}
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

    baseline: dict[str, Any] | None = None
    ngram_path = None
    if profile.baseline:
        budget = profile.baseline_bytes or _sizes(bundle)["shipped_bytes"]
        try:
            ngram_path, baseline = ngram_baseline(prepared, budget, Path(cache_dir))
        except Exception as err:  # the baseline informs; it never decides the verdict
            log.error("n-gram baseline failed: %s", err)
            baseline = {"error": f"{type(err).__name__}: {err}"}
            notes.append(f"The n-gram baseline could not be built ({err}); no ratios reported.")

    spec = {
        "bundle": str(bundle.path),
        "runtime": profile.runtime,
        "beam_width": profile.beam_width,
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
        "ngram": str(ngram_path) if ngram_path else None,
    }
    with tempfile.TemporaryDirectory(prefix="kbd-bench-") as tmp:
        log.info(
            "measuring in a fresh pinned process (%s, 1 thread, XNNPACK, beam %d)",
            profile.runtime,
            profile.beam_width,
        )
        child = run_measure_child(spec, Path(tmp))
        log.info("cold start: %d fresh processes", profile.cold_starts)
        cold_runs = run_cold_starts(
            {k: spec[k] for k in ("bundle", "runtime", "beam_width", "k", "cpu")},
            plan["drafts"],
            profile.cold_starts,
            Path(tmp),
        )
    machine["pinned_core"] = child["core"]
    machine["pinned_core_mhz"] = machine_info(child["core"])["cpu_mhz"]
    machine["loadavg_end"] = [round(x, 2) for x in os.getloadavg()]

    samples = child["samples_us"]
    warmups = {
        "suggest_new_field": len(plan["warm_drafts"]),
        "step_batch1": profile.warmup,
        "step_beam": profile.warmup,
    }
    latency = {key: percentiles(samples[key]) for key in SERIES if key in samples}
    for key, row in latency.items():
        row["warmup"] = warmups.get(key, len(plan["warm"]))
    phone = {
        key: {
            p: v[p] * profile.slowdown if v[p] is not None else None
            for p in ("p50", "p90", "p99", "max")
        }
        for key, v in latency.items()
    }
    cold = cold_start_summary(cold_runs, profile.count_python_overhead)
    memory = memory_summary(child["memory_kb"], profile.count_python_overhead)

    if baseline is not None and "error" not in baseline:
        baseline["rss_mb"] = child.get("ngram_rss_mb")
        ratios = {}
        for kind in ("next_word", "completion"):
            lstm, ng = latency[f"suggest_{kind}"], latency.get(f"ngram_{kind}", {})
            for p in ("p50", "p99"):
                ratios[f"{kind}_{p}"] = lstm[p] / ng[p] if ng.get(p) and lstm.get(p) else None
        ratios["size"] = (
            _sizes(bundle)["shipped_bytes"] / baseline["size_bytes"]
            if baseline.get("size_bytes")
            else None
        )
        baseline["lstm_over_ngram"] = ratios

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
    contended = child["cpu_share"] < 0.9 or busy > cores - 0.5
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

    report: dict[str, Any] = {
        "schema": SCHEMA,
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z", time.localtime(started)),
        "seconds": None,
        "bundle": {
            "path": str(bundle.path),
            "id": bundle.bundle_id,
            "quantization": manifest.get("quantization"),
            "name": manifest.get("name"),
        },
        "profile": {**dataclasses.asdict(profile), "slowdown": profile.slowdown},
        "machine": machine,
        "setup": {
            "child": "fresh process: python -m kbd_lm.export.bench --_child",
            "pinned_core": child["core"],
            "interpreter_threads": 1,
            "delegate": "XNNPACK (runtime default)",
            "env": {k: v for k, v in _child_env().items() if k.endswith("_NUM_THREADS")},
            "imports": child["imports"],
            "tensorflow_imported": child["tensorflow_imported"],
            "cpu_share_while_timing": round(child["cpu_share"], 3),
            "contended": contended,
            "corpus": prepared.name,
            "corpus_fingerprint": prepared.fingerprint,
            "split": "test",
            "seed": profile.seed,
            "replay_units": plan["units"],
            "keystrokes": counts,
            "warmup_keystrokes": len(plan["warm"]),
            "new_field_drafts": len(plan["drafts"]),
            "new_field_mean_chars": (
                sum(map(len, plan["drafts"])) / len(plan["drafts"]) if plan["drafts"] else None
            ),
            "percentiles": "numpy.percentile, linear interpolation; warm-up calls excluded",
            "warm_load_seconds": round(child["load_seconds"], 4),
        },
        "latency_ms": latency,
        "phone_latency_ms": phone,
        "cold_start_ms": cold,
        "memory_mb": memory,
        "sizes": _sizes(bundle),
        "presets": _presets(manifest, latency.get("step_batch1", {})),
        "baseline": baseline,
        "notes": notes,
    }
    results = checks(report, profile)
    report["checks"] = [{**dataclasses.asdict(c), "passed": c.passed} for c in results]
    report["passed"] = all(c.passed for c in results)
    report["seconds"] = round(time.time() - started, 1)
    return report, samples


# ------------------------------------------------------------------------------ report


def _ms(v: float | None) -> str:
    if v is None:
        return "-"
    return f"{v:.3f}" if v < 1 else f"{v:.2f}" if v < 100 else f"{v:.0f}"


def _num(v: float | None, unit: str) -> str:
    if v is None:
        return "-"
    if unit == "bytes":
        return f"{v:,.0f} B"
    if unit == "ms":
        return f"{_ms(v)} ms"
    return f"{v:.1f} {unit}"


def format_report(report: dict) -> str:
    """The Markdown report (``bench.md``, also printed by ``main``)."""
    prof, mach, lat = report["profile"], report["machine"], report["latency_ms"]
    s = prof["slowdown"]
    cks = {c["key"]: c for c in report["checks"]}
    verdict = "PASS" if report["passed"] else "FAIL"
    failed = [c for c in report["checks"] if not c["passed"]]
    v = mach["versions"]
    mhz = f"{mach.get('pinned_core_mhz') or mach['cpu_mhz'] or '?'} MHz"
    if mach.get("cpu_max_mhz"):
        mhz += f" (max {mach['cpu_max_mhz']} MHz)"
    lines = [
        f"# Bench: {report['bundle']['id']}: {verdict}",
        "",
        f"Profile **{prof['name']}** ({prof['description']}). Phone estimate: {prof['phone']}, "
        f"x{s:.1f} slower than this machine ({prof['host_score']:g} / {prof['phone_score']:g}, "
        f"{prof['score_source'] or 'Geekbench 5 single-core, approximate'}).",
        "",
        f"Machine: {mach['cpu_model']}, {mhz}, {mach['cpu_count']} cores, measured pinned to "
        f"core {mach.get('pinned_core')}; "
        f"{mach['python']}; ai-edge-litert {v.get('ai-edge-litert')}, tflite-runtime "
        f"{v.get('tflite-runtime')}, numpy {v.get('numpy')}, sentencepiece "
        f"{v.get('sentencepiece')}; runtime used: {prof['runtime']}, 1 thread, XNNPACK; "
        f"load average {mach['loadavg'][0]} -> {mach.get('loadavg_end', ['?'])[0]}.",
        "",
        "| Figure | Measured | Phone est. | Limit | Result |",
        "|---|---|---|---|---|",
    ]

    def row(figure: str, value: str, phone: str, keys: tuple[str, ...]) -> None:
        gated = [cks[k] for k in keys if k in cks]
        limit = (
            "; ".join(
                f"{'phone ' if k.endswith('phone_p99') else ''}<= {_num(c['limit'], c['unit'])}"
                for k, c in ((k, cks[k]) for k in keys if k in cks)
            )
            or "-"
        )
        result = ("PASS" if all(c["passed"] for c in gated) else "**FAIL**") if gated else ""
        lines.append(f"| {figure} | {value} | {phone} | {limit} | {result} |")

    for key in (
        "suggest_next_word",
        "suggest_completion",
        "suggest_new_field",
        "step_batch1",
        "step_beam",
    ):
        p99 = (lat.get(key) or {}).get("p99")
        row(
            f"{SERIES[key]}, p99",
            _num(p99, "ms"),
            _num(p99 * s if p99 else None, "ms"),
            (f"{key}_p99", f"{key}_phone_p99"),
        )
    cold, mem, sizes = report["cold_start_ms"], report["memory_mb"], report["sizes"]
    row(
        "cold start: bundle load + init + first suggestion, median",
        _num(cold["bundle_cold_start_ms"], "ms"),
        "",
        ("cold_start",) if not prof["count_python_overhead"] else (),
    )
    row(
        "cold start: process start to first suggestion, median",
        _num(cold["total_ms"], "ms"),
        "",
        ("cold_start",) if prof["count_python_overhead"] else (),
    )
    row("bundle load (read + verify) + predictor init, median", _num(cold["load_ms"], "ms"), "", ())
    row(
        "peak RSS above the Python harness (after imports)",
        _num(mem["peak_above_imports"], "MB"),
        "",
        ("peak_rss",) if not prof["count_python_overhead"] else (),
    )
    row(
        "peak RSS, whole process (VmHWM)",
        _num(mem["peak_rss"], "MB"),
        "",
        ("peak_rss",) if prof["count_python_overhead"] else (),
    )
    row(
        "RSS growth, end of run minus after warm-up", _num(mem["growth"], "MB"), "", ("rss_growth",)
    )
    row(
        "bundle size (shipped files: " + " + ".join(SHIPPED_FILES) + ", n-gram if any)",
        _num(sizes["shipped_bytes"], "bytes"),
        "",
        ("bundle_bytes",),
    )
    params = sizes.get("parameters")
    bpp = sizes.get("model_bytes_per_parameter")
    row(
        "parameters; model bytes per parameter",
        f"{params:,}; {bpp:.2f}" if params and bpp else "-",
        "",
        (),
    )

    lines += [
        "",
        "## Latency (ms)",
        "",
        f"Warm-up calls are excluded; phone columns are x{s:.1f}.",
        "",
        "| Series | Calls | Warm-up | p50 | p90 | p99 | max | Phone p50 | Phone p99 |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for key, label in SERIES.items():
        if key not in lat:
            continue
        r, ph = lat[key], report["phone_latency_ms"][key]
        lines.append(
            f"| {label} | {r['n']:,} | {r['warmup']:,} | {_ms(r['p50'])} | "
            f"{_ms(r['p90'])} | {_ms(r['p99'])} | {_ms(r['max'])} | {_ms(ph['p50'])} | "
            f"{_ms(ph['p99'])} |"
        )
    setup = report["setup"]
    lines += [
        "",
        f"Keystrokes: {setup['replay_units']:,} test units of {setup['corpus']} typed "
        f"character by character (seed {setup['seed']}): "
        f"{setup['keystrokes']['next_word']:,} next-word and "
        f"{setup['keystrokes']['completion']:,} completion calls. New text field: "
        f"{setup['new_field_drafts']:,} drafts (mean {setup['new_field_mean_chars'] or 0:.0f}"
        " characters) with an empty state cache.",
    ]

    lines += [
        "",
        f"## Cold start (ms, median of {len(cold['runs'])} fresh processes)",
        "",
        "| Interpreter start | Imports | Bundle load | Predictor init | First suggestion "
        "| Total | Each run (total) |",
        "|---|---|---|---|---|---|---|",
        f"| {_ms(cold['interpreter_start_ms'])} | {_ms(cold['imports_ms'])} | "
        f"{_ms(cold['bundle_load_ms'])} | {_ms(cold['predictor_init_ms'])} | "
        f"{_ms(cold['first_suggest_ms'])} | {_ms(cold['total_ms'])} | "
        f"{', '.join(_ms(r['total_ms']) for r in cold['runs'])} |",
    ]

    lines += [
        "",
        "## Memory (MB)",
        "",
        "RSS of the process serving suggestions (/proc/self/status), read before the "
        "step-only interpreters are created.",
        "",
        "| After imports | After bundle load | After warm-up | End | Peak (VmHWM) | "
        "Anonymous at end | File-backed at end |",
        "|---|---|---|---|---|---|---|",
        "| "
        + " | ".join(
            f"{mem[k]:.1f}" if mem[k] is not None else "-"
            for k in (
                "rss_after_imports",
                "rss_after_load",
                "rss_after_warmup",
                "rss_end",
                "peak_rss",
                "anon_end",
                "file_end",
            )
        )
        + " |",
    ]

    lines += ["", "## Files", "", "| File | Bytes | Ships |", "|---|---|---|"]
    for name, size in sizes["files"].items():
        lines.append(f"| {name} | {size:,} | {'yes' if name in sizes['shipped_files'] else ''} |")
    lines.append(f"| manifest.json | {sizes['manifest_json_bytes']:,} | |")
    lines.append(f"| **total shipped** | **{sizes['shipped_bytes']:,}** | |")

    if report["presets"]:
        lines += [
            "",
            "## Quantization presets",
            "",
            "Measured by export (step: batch 1, unpinned, at export time); the shipped "
            "preset is also re-timed here, pinned.",
            "",
            "| Preset | Bytes | Top-1 | Top-3 | Max abs dlogp | Step p50 / p99 us (export) "
            "| Step p50 / p99 us (pinned, this run) | Runtime >= |",
            "|---|---|---|---|---|---|---|---|",
        ]
        for p in report["presets"]:
            pinned = (
                f"{p['pinned_step_p50_us']:.0f} / {p['pinned_step_p99_us']:.0f}"
                if p.get("pinned_step_p50_us")
                else ""
            )
            name = f"**{p['preset']}** (shipped)" if p["shipped"] else p["preset"]
            lines.append(
                f"| {name} | {p['bytes']:,} | {p['top1']:.3f} | {p['top3']:.3f} | "
                f"{p['max_logprob_error']:.3f} | {p['export_step_p50_us']:.0f} / "
                f"{p['export_step_p99_us']:.0f} | {pinned} | {p['min_runtime_version']} |"
            )

    base = report.get("baseline")
    if base and "error" not in base:
        r = base["lstm_over_ngram"]
        f = lambda x: f"{x:.2g}x" if x is not None else "-"  # noqa: E731
        lines += [
            "",
            "## N-gram baseline (same keystrokes, same pinned process)",
            "",
            f"Kneser-Ney trigram trained on the train split of {base['corpus']}, pruned to "
            f"{base['budget_bytes']:,} bytes: {base['size_bytes']:,} bytes, "
            f"{base['vocab']:,} words, {base['bigrams']:,} bigrams, {base['trigrams']:,} "
            f"trigrams ({'cached' if base.get('cached') else 'trained this run'}); "
            f"RSS +{base.get('rss_mb') or 0:.1f} MB once loaded.",
            "",
            "| LSTM / n-gram | p50 | p99 |",
            "|---|---|---|",
            f"| next word | {f(r['next_word_p50'])} | {f(r['next_word_p99'])} |",
            f"| completion | {f(r['completion_p50'])} | {f(r['completion_p99'])} |",
            f"| size | {f(r['size'])} | |",
        ]
    elif base:
        lines += ["", f"N-gram baseline: not available ({base['error']})."]

    if report["notes"]:
        lines += ["", "## Notes", ""] + [f"- {n}" for n in report["notes"]]
    lines += [
        "",
        f"Verdict: **{verdict}**"
        + (
            ": "
            + "; ".join(
                f"{c['figure']} {_num(c['value'], c['unit'])} > {_num(c['limit'], c['unit'])}"
                for c in failed
            )
            if failed
            else f" ({len(report['checks'])} limits)"
        ),
    ]
    return "\n".join(lines) + "\n"


def plot_latency(report: dict, samples: dict, path: Path) -> None:
    """Draw latency histograms and tail curves (log x) into a PNG at ``path`` (Agg backend)."""
    import io

    import numpy as np
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    from kbd_lm.fsutil import atomic_write_bytes

    styles = {
        "suggest_next_word": ("tab:blue", "-"),
        "suggest_completion": ("tab:orange", "-"),
        "suggest_new_field": ("tab:purple", "-"),
        "ngram_next_word": ("tab:blue", ":"),
        "ngram_completion": ("tab:orange", ":"),
        "step_batch1": ("tab:gray", "--"),
        "step_beam": ("black", "--"),
    }
    series = {k: np.asarray(v) / 1000.0 for k, v in samples.items() if len(v) and k in styles}
    prof = report["profile"]
    limit = prof["suggest_p99_ms"]
    fig = Figure(figsize=(15, 5.6), layout="constrained")
    FigureCanvasAgg(fig)
    ax1, ax2 = fig.subplots(1, 2)
    hist_keys = [
        k
        for k in ("suggest_next_word", "suggest_completion", "ngram_next_word", "ngram_completion")
        if k in series
    ]
    allv = np.concatenate([series[k] for k in hist_keys] or list(series.values()))
    lo, hi = max(allv.min(), 1e-4), allv.max()
    if limit > 0:
        hi = max(hi, limit * 1.2)
    bins = np.logspace(np.log10(lo * 0.9), np.log10(hi * 1.1), 70)
    for key in hist_keys:
        color, ls = styles[key]
        x = series[key]
        ax1.hist(
            x,
            bins=bins,
            weights=np.full(len(x), 1 / len(x)),
            histtype="step",
            color=color,
            linestyle=ls,
            linewidth=1.6,
            label=f"{SERIES[key]} (n={len(x):,})",
        )
    ax1.set_xscale("log")
    ax1.set_xlabel("latency per call (ms, log scale)")
    ax1.set_ylabel("fraction of calls")
    ax1.set_title("suggest latency per keystroke: LSTM (solid) vs n-gram (dotted)")
    for key, x in series.items():
        color, ls = styles[key]
        xs = np.sort(x)
        surv = 1.0 - np.arange(len(xs)) / len(xs)
        ax2.step(
            xs,
            surv,
            where="post",
            color=color,
            linestyle=ls,
            linewidth=1.5,
            label=f"{SERIES[key]}: p99 {_ms(np.percentile(x, 99))} ms",
        )
    ax2.set_xscale("log")
    ax2.set_yscale("log")
    ax2.set_xlabel("latency per call (ms, log scale)")
    ax2.set_ylabel("fraction of calls slower than x")
    ax2.set_title("tails: where each curve crosses 1% is its p99")
    ax2.axhline(0.01, color="gray", linewidth=0.8, linestyle="-.")
    for ax in (ax1, ax2):
        if limit > 0:
            ax.axvline(
                limit,
                color="red",
                linewidth=1.2,
                linestyle="--",
                label=f"limit p99 <= {limit:g} ms ({prof['name']})",
            )
        ax.grid(True, which="both", alpha=0.25)
    ax1.legend(fontsize=8, loc="upper right")
    ax2.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0)
    mach = report["machine"]
    fig.suptitle(
        f"{report['bundle']['id']}: {mach['cpu_model']}, pinned core "
        f"{mach.get('pinned_core')}, {prof['runtime']} 1 thread, XNNPACK; "
        f"{'PASS' if report['passed'] else 'FAIL'} ({prof['name']})",
        fontsize=11,
    )
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100)
    atomic_write_bytes(Path(path), buf.getvalue())


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
    from kbd_lm.fsutil import atomic_write_text

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
        "size. Exit code 0 = every limit holds, 1 = a limit is exceeded, 2 = error.",
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


def main(argv: list[str] | None = None) -> int:
    """Run the bench; print the report; return 0 (pass), 1 (limit exceeded) or 2 (error)."""
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv[:1] == ["--_child"]:
        return _child_main(argv[1:])
    args = _parser().parse_args(argv)
    if not logging.getLogger().handlers:
        logging.basicConfig(
            level=logging.INFO, stream=sys.stderr, format="%(asctime)s %(name)s: %(message)s"
        )
    from kbd_lm.bundle import BundleError
    from kbd_lm.config import ConfigError

    try:
        overrides = list(args.overrides) + (["baseline=false"] if args.no_baseline else [])
        profile = load_profile(args.profile, overrides)
        report, samples = run_bench(args.bundle, profile, args.corpus, args.cache_dir)
    except (ConfigError, BundleError, FileNotFoundError) as err:
        log.error("%s", err)
        return 2
    out_dir = args.out if args.out is not None else Path(args.bundle).resolve().parent
    paths = write_outputs(report, samples, out_dir)
    print(format_report(report), end="")
    failed = [c["figure"] for c in report["checks"] if not c["passed"]]
    if failed and report["setup"]["contended"]:
        log.warning(
            "the measuring core was shared with other processes (CPU share %.0f%%, load "
            "average %s): re-run on an idle machine before trusting a latency failure",
            100 * report["setup"]["cpu_share_while_timing"],
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
    return 0 if report["passed"] else 1


if __name__ == "__main__":
    sys.exit(main())
