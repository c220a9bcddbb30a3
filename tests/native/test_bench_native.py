"""``make bench PROFILE=native`` (kbd_lm.export.bench.native) on the tiny bundle: the native
decoder and the Python predictor timed on the same keystrokes, on the same core, the native
limits gating. Not a test of the machine's speed: one limit is impossible (so it must fail)
and the other generous (so it must pass)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from kbd_lm.export import bench
from kbd_lm.export.bench.native import TOOL
from kbd_lm.inference.native_engine import LIB_ENV
from tests.native.conftest import configure, run_checked

QUICK = ["calls=40", "warmup=5", "cold_starts=2"]


@pytest.fixture(scope="module")
def replay_tool(native_library) -> Path:
    """``native/build/kbd_lm_replay_bench`` beside the library, built."""
    build = configure()
    run_checked(["cmake", "--build", str(build), "--target", "kbd_lm_replay_bench", "-j2"])
    return native_library.parent / TOOL


def _bench(bundle: Path, corpus: Path, out: Path, *extra: str) -> int:
    return bench.main(
        ["--bundle", str(bundle), "--profile", "native", "--out", str(out), "--corpus"]
        + [str(corpus), "--cache-dir", str(out / "cache"), *QUICK, *extra]
    )


def test_both_engines_on_the_same_keystrokes_gated_by_the_native_limits(
    replay_tool, tiny_bundle, tiny_corpus_dir, tmp_path
):
    impossible, generous = "native_completion_p99_ms=0.000001", "native_cold_start_ms=100000"
    rc = _bench(tiny_bundle, tiny_corpus_dir, tmp_path, impossible, generous)
    assert rc == 1  # a limit exceeded
    report = json.loads((tmp_path / "bench-native.json").read_text())
    verdicts = {c["key"]: c["passed"] for c in report["checks"]}
    assert verdicts == {"native_completion_p99": False, "native_cold_start": True}
    assert report["passed"] is False

    counts, samples = report["keystrokes"], report["samples_us"]
    # next word, completion, and completion with correction on the noisy and exact keystrokes
    for kind in ("next_word", "completion", "correct_noisy", "correct_exact"):
        assert counts[kind] >= 40
        # the same keystrokes, one time each per engine
        assert len(samples[f"native_{kind}"]) == len(samples[f"python_{kind}"]) == counts[kind]
        for engine in ("python", "native"):
            row = report[engine]["latency_ms"][kind]
            assert row["n"] == counts[kind] and 0 < row["p50"] <= row["p99"]
        assert (
            0 < report["native"]["cpu_ms"][kind]["p50"] <= report["native"]["cpu_ms"][kind]["p99"]
        )
        # LiteRT's share of each suggestion is part of it
        assert all(
            0 <= m <= t
            for m, t in zip(samples[f"model_{kind}"], samples[f"native_{kind}"], strict=True)
        )
    native = report["native"]
    assert native["cold_start_ms"] > 0 and len(native["cold_starts_ms"]) == 2
    assert report["python"]["cold_start_ms"] > 0
    assert {"step_batch1", "step_batch8"} <= set(native["model_steps_ms"])
    assert 0 < native["memory_mb"]["bundle_rss"] < native["memory_mb"]["peak_rss"]
    assert 0 < native["library"]["stripped_bytes"] < native["library"]["bytes"]
    assert report["pinned_core"] >= 0

    md = (tmp_path / "bench-native.md").read_text()
    assert "| completion p99 |" in md and "the decoder alone" in md
    assert "| suggest with correction, noisy completion p99 |" in md
    assert "completion: CPU time of the suggestion" in md
    assert "native completion p99" in md and "FAIL" in md


def test_without_the_replay_tool_the_bench_cannot_run(
    tiny_bundle, tiny_corpus_dir, tmp_path, monkeypatch, caplog
):
    lib = tmp_path / "lib" / "libkbd_lm.so"
    lib.parent.mkdir()
    lib.write_bytes(b"")  # a library without the tool beside it
    monkeypatch.setenv(LIB_ENV, str(lib))
    assert _bench(tiny_bundle, tiny_corpus_dir, tmp_path) == 2
    assert f"{lib.parent / TOOL} not found: build it with make native" in caplog.text
