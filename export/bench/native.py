"""``make bench PROFILE=native``: the native decoder beside the Python predictor, one run.

The same keystrokes (the bench's replay of the bundle corpus's test split, :mod:`.replay`)
are timed twice on the same pinned core, one process after the other: the Python predictor
in the bench's measuring child (:mod:`.child`) and ``libkbd_lm.so`` in
``native/build/kbd_lm_replay_bench`` (``native/tools/replay_bench.cc``, built by ``make
native``). Per engine: next-word and completion p50/p99, completion with typo correction on
noisy and on exact keystrokes (:mod:`.typos`' plan, the same for both engines), cold start
(bundle load to first suggestion, fresh processes, median), resident memory; for the native
one also the model's
own step time (its floor) and LiteRT's share of each suggestion, and the stripped library's
size. The profile's ``native_*`` limits gate the native figures; the Python ones are shown.

Writes ``bench-native.json`` (with the samples) and ``bench-native.md``.

>>> native_checks({"native": {"latency_ms": {"completion": {"p99": 0.4}},
...     "cold_start_ms": 31.0}}, BudgetConfig(native_completion_p99_ms=0.5,
...     native_cold_start_ms=30.0))  # doctest: +NORMALIZE_WHITESPACE
[Check(key='native_completion_p99', figure='native completion p99', value=0.4, limit=0.5,
       unit='ms'),
 Check(key='native_cold_start', figure='native cold start', value=31.0, limit=30.0, unit='ms')]
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import shutil
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

from kbd_lm.export.bench.checks import Check
from kbd_lm.export.bench.profile import BudgetConfig
from kbd_lm.export.bench.replay import by_kind
from kbd_lm.export.bench.summary import MB, SERIES, latency_summary

log = logging.getLogger(__name__)

SCHEMA = "kbd-lm-bench-native/1"
TOOL = "kbd_lm_replay_bench"  # beside libkbd_lm.so in native/build (native/CMakeLists.txt)
TOOL_TIMEOUT = 1800  # seconds; a replay of 2,000 keystrokes takes a few on an x86-64 core
KINDS = ("next_word", "completion")
# the correction series: keystrokes timed with correct=True (.typos' correction_plan), by the
# name the bench's child gives them
CORRECTED = ("correct_noisy", "correct_exact")


def native_paths() -> tuple[Path, Path]:
    """(``libkbd_lm.so``, the replay tool beside it); FileNotFoundError naming what to build."""
    from kbd_lm.inference.native_engine import library_path

    lib = library_path()
    tool = lib.parent / TOOL
    for path in (lib, tool):
        if not path.is_file():
            raise FileNotFoundError(f"{path} not found: build it with make native")
    return lib, tool


def _pinned(core: int):
    """A ``preexec_fn`` pinning the child process to ``core``."""
    return lambda: os.sched_setaffinity(0, {core})


def _run_tool(args: list, core: int) -> str:
    """Run the replay tool's command line ``args`` (paths allowed) pinned to ``core``; its
    standard output. RuntimeError with the tool's standard error when it fails."""
    r = subprocess.run(
        [str(a) for a in args],
        capture_output=True,
        text=True,
        timeout=TOOL_TIMEOUT,
        preexec_fn=_pinned(core),
    )
    if r.returncode != 0:
        raise RuntimeError(f"{' '.join(map(str, args[:2]))} failed: {r.stderr.strip()}")
    return r.stdout


def measure_native(tool: Path, bundle_dir: Path, plan: dict, profile: BudgetConfig, core: int):
    """The native replay and cold starts on ``core``: (result of the replay, cold-start
    results). The replay times every keystroke of ``plan["texts"]`` after the warm-up ones
    (``plan["warm"]``), then the model's steps alone; each cold start is a fresh process."""
    with tempfile.TemporaryDirectory(prefix="kbd-bench-native-") as tmp:
        spec, out = Path(tmp) / "spec.json", Path(tmp) / "out.json"
        spec.write_text(
            json.dumps(
                {
                    "k": profile.k,
                    "warm": plan["warm"],
                    "texts": plan["texts"],
                    "step_calls": profile.calls,
                    "step_warmup": profile.warmup,
                    "seed": profile.seed,
                    "noisy": plan["noisy"],
                    "exact": plan["exact"],
                }
            ),
            encoding="utf-8",
        )
        log.info("native: %d keystrokes on core %d (%s)", len(plan["texts"]), core, tool.name)
        _run_tool([tool, "replay", bundle_dir, spec, out], core)
        replay = json.loads(out.read_text(encoding="utf-8"))
    drafts = plan["drafts"] or [""]
    cold = [
        json.loads(_run_tool([tool, "cold", bundle_dir, drafts[i % len(drafts)]], core))
        for i in range(profile.cold_starts)
    ]
    return replay, cold


def stripped_bytes(lib: Path) -> int | None:
    """Bytes of ``lib`` after ``strip`` (binutils), None without ``strip``."""
    if shutil.which("strip") is None:
        return None
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / lib.name
        subprocess.run(["strip", "-o", str(out), str(lib)], check=True, timeout=60)
        return out.stat().st_size


def _ms(row: dict) -> dict:
    """The figures of a :func:`~kbd_lm.export.bench.summary.latency_summary` row the report
    keeps: n, p50, p90, p99, max and mean (ms)."""
    return {p: row[p] for p in ("n", "p50", "p90", "p99", "max", "mean")}


def native_figures(replay: dict, cold: list[dict], kinds: list[str], lib: Path) -> dict:
    """The native engine's figures from the tool's replay and cold starts (ms, MB, bytes)."""
    samples = by_kind(replay["samples_us"], kinds, "native")
    model = by_kind(replay["model_us"], kinds, "model")
    cpu = by_kind(replay["cpu_us"], kinds, "cpu")
    latency, outside, own = {}, {}, {}
    for kind in KINDS:
        total, ran = samples[f"native_{kind}"], model[f"model_{kind}"]
        latency[kind] = _ms(latency_summary(total))
        # the thread's CPU time: the call's own work, without waits for a shared core
        own[kind] = _ms(latency_summary(cpu[f"cpu_{kind}"]))
        # the decoder's own time: the suggestion less LiteRT's runs in it
        latency[f"{kind}_model"] = _ms(latency_summary(ran))
        outside[kind] = _ms(latency_summary([t - m for t, m in zip(total, ran, strict=True)]))
    for key in CORRECTED if replay.get("correct_us") else ():
        series = key.removeprefix("correct_")
        total, ran = replay["correct_us"][series], replay["correct_model_us"][series]
        latency[key] = _ms(latency_summary(total))
        latency[f"{key}_model"] = _ms(latency_summary(ran))
        outside[key] = _ms(latency_summary([t - m for t, m in zip(total, ran, strict=True)]))
        own[key] = _ms(latency_summary(replay["correct_cpu_us"][series]))
        samples[f"native_{key}"], model[f"model_{key}"] = total, ran
        cpu[f"cpu_{key}"] = replay["correct_cpu_us"][series]
    steps = {f"step_batch{b}": _ms(latency_summary(v)) for b, v in replay["steps_us"].items()}
    mem = replay["memory_kb"]
    return {
        "latency_ms": latency,
        "decoder_only_ms": outside,
        "cpu_ms": own,
        "model_steps_ms": steps,
        "cpu_share": replay["cpu_share"],
        "cold_start_ms": statistics.median(c["open_first_us"] for c in cold) / 1000,
        "cold_starts_ms": [round(c["open_first_us"] / 1000, 3) for c in cold],
        # the process's CPU time in it: the work, without waits for a shared core
        "cold_start_cpu_ms": statistics.median(c["open_first_cpu_us"] for c in cold) / 1000,
        "open_first_in_replay_ms": replay["open_first_us"] / 1000,
        "memory_mb": {
            "peak_rss": mem["end"]["VmHWM"] * 1024 / MB,
            "rss_before_open": mem["before_open"]["VmRSS"] * 1024 / MB,
            "bundle_rss": (mem["end"]["VmHWM"] - mem["before_open"]["VmRSS"]) * 1024 / MB,
            "cold_peak_rss": statistics.median(c["vmhwm_kb"] for c in cold) * 1024 / MB,
        },
        "library": {"path": str(lib), "bytes": lib.stat().st_size, "stripped_bytes": None},
        "_samples_us": {**samples, **model, **cpu},
    }


def python_figures(child: dict, cold_runs: list[dict]) -> dict:
    """The Python predictor's figures from the bench's measuring child and cold starts."""
    s = child["samples_us"]
    mem = child["memory_kb"]
    peak = max(row.get("VmHWM", 0) for row in mem.values())
    return {
        "latency_ms": {
            **{kind: _ms(latency_summary(s[f"suggest_{kind}"])) for kind in KINDS},
            **{key: _ms(latency_summary(s[key])) for key in CORRECTED if key in s},
        },
        "model_steps_ms": {
            key: _ms(latency_summary(s[key])) for key in ("step_batch1", "step_beam")
        },
        "cold_start_ms": statistics.median(r["bundle_cold_start_ms"] for r in cold_runs),
        "memory_mb": {
            "peak_rss": peak * 1024 / MB,
            "rss_before_open": mem["after_imports"]["VmRSS"] * 1024 / MB,
            "bundle_rss": (peak - mem["after_imports"]["VmRSS"]) * 1024 / MB,
        },
    }


def native_checks(report: dict, profile: BudgetConfig) -> list[Check]:
    """The native limits of ``profile`` (those > 0) applied to ``report["native"]``."""
    native = report["native"]
    out = []
    if profile.native_completion_p99_ms > 0:
        value = native["latency_ms"]["completion"]["p99"]
        limit = profile.native_completion_p99_ms
        out.append(Check("native_completion_p99", "native completion p99", value, limit, "ms"))
    if profile.native_cold_start_ms > 0:
        value, limit = native["cold_start_ms"], profile.native_cold_start_ms
        out.append(Check("native_cold_start", "native cold start", value, limit, "ms"))
    return out


def run_native_bench(bundle, profile: BudgetConfig, plan: dict, notes: list[str]):
    """Measure both engines on ``plan``'s keystrokes; return (report, samples in us).

    ``bundle``: the loaded :class:`~kbd_lm.inference.bundle.Bundle`; ``notes``: the bench's
    notes so far (the corpus), extended here."""
    from kbd_lm.export.bench.child import run_cold_starts, run_measure_child
    from kbd_lm.export.bench.machine import machine_info

    started = time.time()
    lib, tool = native_paths()
    beam = profile.beam_width_for(bundle.manifest.decoding)
    if beam != bundle.manifest.decoding.beam_width:
        raise ValueError("the native engine runs the bundle's beam width: leave beam_width 0")
    spec = {
        "bundle": str(bundle.path),
        "runtime": profile.runtime,
        "beam_width": beam,
        "k": profile.k,
        "cpu": profile.cpu,
        "seed": profile.seed,
        "calls": profile.calls,
        "warmup": profile.warmup,
        **{key: plan[key] for key in ("warm", "texts", "kinds", "drafts", "warm_drafts")},
        "noisy": plan["noisy"],
        "exact": plan["exact"],
        "ngram": None,
        "history": None,
    }
    with tempfile.TemporaryDirectory(prefix="kbd-bench-") as tmp:
        log.info("python: the measuring child (%s, 1 thread, beam %d)", profile.runtime, beam)
        child = run_measure_child(spec, Path(tmp))
        core = child["core"]
        cold_keys = ("bundle", "runtime", "beam_width", "k", "cpu")
        cold_runs = run_cold_starts(
            {key: spec[key] for key in cold_keys}, plan["drafts"], profile.cold_starts, Path(tmp)
        )
    replay, cold = measure_native(tool, bundle.path, plan, profile, core)
    native = native_figures(replay, cold, plan["kinds"], lib)
    native["library"]["stripped_bytes"] = stripped_bytes(lib)
    samples = native.pop("_samples_us")
    child_s = child["samples_us"]
    samples.update({f"python_{kind}": child["samples_us"][f"suggest_{kind}"] for kind in KINDS})
    samples.update({f"python_{k}": child["samples_us"][k] for k in CORRECTED if k in child_s})
    machine = machine_info(core)
    machine["loadavg_end"] = [round(x, 2) for x in os.getloadavg()]
    report = {
        "schema": SCHEMA,
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z", time.localtime(started)),
        "bundle": {"path": str(bundle.path), "id": bundle.bundle_id},
        "profile": dataclasses.asdict(profile),
        "machine": machine,
        "pinned_core": core,
        "keystrokes": {
            **{kind: plan["kinds"].count(kind) for kind in KINDS},
            **{key: len(plan[key.removeprefix("correct_")]) for key in CORRECTED},
        },
        "warmup_keystrokes": len(plan["warm"]),
        "python_cpu_share": round(child["cpu_share"], 3),
        "python": python_figures(child, cold_runs),
        "native": native,
        "notes": notes + _notes(native, profile, child["cpu_share"]),
    }
    results = native_checks(report, profile)
    report["checks"] = [{**dataclasses.asdict(c), "passed": c.passed} for c in results]
    report["passed"] = all(c.passed for c in results)
    report["seconds"] = round(time.time() - started, 1)
    return report, samples


def _notes(native: dict, profile: BudgetConfig, python_cpu_share: float) -> list[str]:
    """What the figures mean: how the engines ran, the model's floor under the completion
    limit, and a shared core (``python_cpu_share``: the Python child's CPU share)."""
    lat, steps = native["latency_ms"], native["model_steps_ms"]
    model = lat["completion_model"]
    notes = [
        "Each engine ran alone in a fresh process pinned to the same core, one after the "
        "other, on the same keystrokes (the Python predictor first).",
        f"Native completion p99 {lat['completion']['p99']:.3f} ms; LiteRT's runs in a "
        f"completion keystroke: p50 {model['p50']:.3f} ms, p99 {model['p99']:.3f} ms; the "
        f"decoder's own time: p50 {native['decoder_only_ms']['completion']['p50']:.3f} ms, "
        f"p99 {native['decoder_only_ms']['completion']['p99']:.3f} ms.",
    ]
    own = native["cpu_ms"]["completion"]
    notes.append(
        f"Native completion in the thread's CPU time (its own work, without waits for the "
        f"core): p50 {own['p50']:.3f} ms, p99 {own['p99']:.3f} ms; native cold start in the "
        f"process's CPU time: {native['cold_start_cpu_ms']:.1f} ms (median)."
    )
    limit = profile.native_completion_p99_ms
    beam = steps[max(steps, key=lambda k: int(k.removeprefix("step_batch")))]
    if 0 < limit < model["p99"]:
        notes.append(
            f"The model alone is above the {limit} ms completion limit at p99 (LiteRT's runs "
            f"p99 {model['p99']:.3f} ms; one step of the beam's batch p50 {beam['p50']:.3f} "
            "ms): that is this bundle's floor on this core, whatever the decoder does."
        )
    shares = {"Python": python_cpu_share, "native": native["cpu_share"]}
    shared = {name: share for name, share in shares.items() if share < 0.9}
    if shared:
        got = ", ".join(f"{name} {share:.0%}" for name, share in shared.items())
        notes.append(
            f"The pinned core was shared with other processes while timing (CPU share: {got}):"
            " p99 figures are pessimistic; re-run on an idle core before trusting them."
        )
    return notes


def _row(name: str, py: float | None, nat: float | None, unit: str, digits: int = 3) -> str:
    """One Markdown row: the figure ``name``, Python's and the native value ("-" for None),
    the unit and Python's value over the native one.

    >>> _row("cold start", 120.0, 30.0, "ms", 1)
    '| cold start | 120.0 | 30.0 | ms | 4.00x |'
    """

    def fmt(v):
        return "-" if v is None else f"{v:,.{digits}f}"

    ratio = f"{py / nat:.2f}x" if py and nat else "-"
    return f"| {name} | {fmt(py)} | {fmt(nat)} | {unit} | {ratio} |"


def format_native_report(report: dict) -> str:
    """``bench-native.md``: the two engines side by side, the model's floor, the checks."""
    py, nat = report["python"], report["native"]
    lines = [
        f"# Native beside Python: {report['bundle']['path']} ({report['bundle']['id']})",
        "",
        f"Pinned to core {report['pinned_core']} ({report['machine'].get('cpu_model', '?')}); "
        f"keystrokes: {report['keystrokes']['next_word']} next-word, "
        f"{report['keystrokes']['completion']} completion, after "
        f"{report['warmup_keystrokes']} warm-up; k = {report['profile']['k']}; CPU share "
        f"while timing: Python {report['python_cpu_share']:.0%}, native "
        f"{nat['cpu_share']:.0%}; load average {report['machine']['loadavg_end'][0]}.",
        "",
        "| figure | python | native | unit | python / native |",
        "| --- | ---: | ---: | --- | ---: |",
    ]
    for kind in KINDS + CORRECTED:
        if kind not in nat["latency_ms"] or kind not in py["latency_ms"]:
            continue  # (no correction: a bundle without a word list or typing.json)
        for p in ("p50", "p99"):
            lines.append(
                _row(
                    f"{SERIES.get(kind, kind)} {p}",
                    py["latency_ms"][kind][p],
                    nat["latency_ms"][kind][p],
                    "ms",
                )
            )
    lines += [
        _row(
            "cold start (bundle load to first suggestion), median",
            py["cold_start_ms"],
            nat["cold_start_ms"],
            "ms",
            1,
        ),
        _row(
            "peak resident memory",
            py["memory_mb"]["peak_rss"],
            nat["memory_mb"]["peak_rss"],
            "MB",
            1,
        ),
        _row(
            "resident memory added by the bundle",
            py["memory_mb"]["bundle_rss"],
            nat["memory_mb"]["bundle_rss"],
            "MB",
            1,
        ),
        _row(
            "model step, batch 1, p50",
            py["model_steps_ms"]["step_batch1"]["p50"],
            nat["model_steps_ms"]["step_batch1"]["p50"],
            "ms",
        ),
    ]
    lines += _native_breakdown(nat)
    lines += ["", "Checks:", ""]
    for c in report["checks"]:
        verdict = "pass" if c["passed"] else "FAIL"
        lines.append(
            f"- {c['figure']}: {c['value']:.3f} {c['unit']} (limit {c['limit']}) {verdict}"
        )
    lines += ["", *[f"- {n}" for n in report["notes"]], ""]
    return "\n".join(lines)


def _native_breakdown(nat: dict) -> list[str]:
    """``bench-native.md``'s lines on the library and where the native time goes."""
    lib = nat["library"]
    stripped = lib["stripped_bytes"]  # None: no strip (binutils) to measure it with
    stripped = "not measured" if stripped is None else f"{stripped:,} bytes"
    lines = [
        "",
        f"Library: {lib['path']}, {lib['bytes']:,} bytes, stripped {stripped}.",
        "",
        "Native, where the time goes (ms):",
        "",
        "| series | p50 | p99 |",
        "| --- | ---: | ---: |",
    ]
    for kind in (k for k in KINDS + CORRECTED if k in nat["latency_ms"]):
        for label, row in (
            (f"{SERIES.get(kind, kind)}: suggestion", nat["latency_ms"][kind]),
            (f"{SERIES.get(kind, kind)}: LiteRT's runs in it", nat["latency_ms"][f"{kind}_model"]),
            (f"{SERIES.get(kind, kind)}: the decoder alone", nat["decoder_only_ms"][kind]),
            (f"{SERIES.get(kind, kind)}: CPU time of the suggestion", nat["cpu_ms"][kind]),
        ):
            lines.append(f"| {label} | {row['p50']:.3f} | {row['p99']:.3f} |")
    for key, row in nat["model_steps_ms"].items():
        lines.append(f"| model {key} alone | {row['p50']:.3f} | {row['p99']:.3f} |")
    return lines


def write_native_outputs(report: dict, samples: dict, out_dir: Path) -> list[Path]:
    """Write ``bench-native.json`` (report + samples, us) and ``bench-native.md``."""
    from kbd_lm.common.fsutil import atomic_write_text

    out_dir.mkdir(parents=True, exist_ok=True)
    paths = [out_dir / "bench-native.json", out_dir / "bench-native.md"]
    raw = {k: [round(x, 1) for x in v] for k, v in samples.items()}
    atomic_write_text(paths[0], json.dumps({**report, "samples_us": raw}, indent=1) + "\n")
    atomic_write_text(paths[1], format_native_report(report))
    return paths
