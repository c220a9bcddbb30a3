"""Summaries of what the children measured: latency, cold start, memory, sizes, presets.

Sizes and memory are in MB = 10^6 bytes; latencies in ms. Percentiles are
:func:`kbd_lm.common.stats.percentiles` (linear interpolation), as everywhere in kbd-lm.

>>> latency_summary([1000.0] * 99 + [5000.0])["max"], latency_summary([])["p99"]
(5.0, None)
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from kbd_lm.common.stats import median, percentiles
from kbd_lm.inference.bundle import MANIFEST_FILE, MODEL_FILE

MB = 1e6  # sizes and memory are in MB = 10^6 bytes

# Latency series: key -> label. Keys are also the names in bench.json.
SERIES = {
    "suggest_next_word": "suggest, next word",
    "suggest_completion": "suggest, completion",
    "suggest_new_field": "first suggestion, new text field",
    "correct_noisy": "suggest with correction, noisy completion",
    "correct_exact": "suggest with correction, exact completion",
    "step_batch1": "model step, batch 1",
    "step_beam": "model step, beam batch",
    "ngram_next_word": "n-gram suggest, next word",
    "ngram_completion": "n-gram suggest, completion",
}


def latency_summary(samples_us: list[float]) -> dict[str, float | int | None]:
    """n and p50/p90/p99/max/mean in ms of latencies in microseconds.

    >>> latency_summary([1000.0, 2000.0, 3000.0])
    {'n': 3, 'p50': 2.0, 'p90': 2.8, 'p99': 2.98, 'max': 3.0, 'mean': 2.0}
    """
    import numpy as np

    ms = np.asarray(samples_us, dtype=np.float64) / 1000.0
    return {
        "n": len(ms),
        **percentiles(ms, (50, 90, 99)),
        "max": float(ms.max()) if len(ms) else None,
        "mean": float(ms.mean()) if len(ms) else None,
    }


def sizes(bundle) -> dict:
    """Bytes of each bundle file and what ships, as the manifest states it.

    The shipped size is :attr:`kbd_lm.inference.bundle.Manifest.shipped_bytes` (the files flagged
    ``shipped``: model, tokenizer, the n-gram if any), as :mod:`kbd_lm.evaluation.metrics` counts
    it.
    """
    manifest = bundle.manifest
    files = {name: entry.bytes for name, entry in manifest.files.items()}
    manifest_bytes = (bundle.path / MANIFEST_FILE).stat().st_size
    params = manifest.model.parameters
    model_bytes = files.get(MODEL_FILE)
    return {
        "files": files,
        "manifest_json_bytes": manifest_bytes,
        "shipped_bytes": manifest.shipped_bytes,
        "shipped_files": list(manifest.shipped_files),
        "all_files_bytes": sum(files.values()) + manifest_bytes,
        "parameters": params,
        "model_bytes_per_parameter": model_bytes / params if params and model_bytes else None,
    }


def presets(manifest: Mapping, pinned: dict) -> list[dict]:
    """The quantization presets export measured, with the shipped one's pinned step times.

    ``pinned`` is the ``step_batch1`` latency summary of this run (ms).

    >>> m = {"quantization": "dynamic", "presets": {"dynamic": {"bytes": 9, "step_us": {}}}}
    >>> [(r["preset"], r["shipped"], r["pinned_step_p99_us"]) for r in presets(m, {"p99": 0.05})]
    [('dynamic', True, 50.0)]
    """
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
    out: dict[str, Any] = {k: median([r[k] for r in runs if k in r]) for k in keys}
    out["load_ms"] = median([r["bundle_load_ms"] + r["predictor_init_ms"] for r in runs])
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
