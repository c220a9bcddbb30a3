"""``make bench`` runs on a real (tiny) bundle and gates on its profile.

These tests check that the benchmark works and that a violated limit fails the run; they never
check that this machine is fast enough (the passing run disables the latency, cold-start and
memory limits; the failing run uses impossible ones).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from kbd_lm.config import ConfigError
from kbd_lm.export import bench

# A few calls: enough to exercise every phase, small enough for a test.
QUICK = ["calls=40", "warmup=5", "cold_starts=1"]
CHILD_THIRD_PARTY = {"ai_edge_litert", "numpy", "sentencepiece", "cython_runtime"}


@pytest.fixture(scope="module")
def cache_dir(tmp_path_factory) -> Path:
    """Prepared corpus and n-gram cache shared by the runs below (never the repo's data/)."""
    return tmp_path_factory.mktemp("bench-cache")


def _run(bundle: Path, corpus: Path, cache: Path, out: Path, *extra: str) -> tuple[int, dict]:
    rc = bench.main(
        [
            "--bundle",
            str(bundle),
            "--out",
            str(out),
            "--corpus",
            str(corpus),
            "--cache-dir",
            str(cache),
            *extra,
        ]
    )
    report = json.loads((out / "bench.json").read_text()) if (out / "bench.json").exists() else {}
    return rc, report


def test_shipped_profiles_load():
    names = bench.profile_names()
    assert {"default", "phone-a76", "phone-a55"} <= set(names)
    profiles = {name: bench.load_profile(name) for name in names}
    for p in profiles.values():
        assert p.slowdown > 1 and p.score_source
        assert (p.suggest_p99_ms, p.cold_start_ms, p.peak_rss_mb, p.bundle_bytes) == (
            2.0,
            150.0,
            40.0,
            1_500_000,
        )
    assert profiles["phone-a55"].slowdown > profiles["phone-a76"].slowdown
    assert profiles["phone-a76"].phone_suggest_p99_ms > 0


def test_profile_rejects_unknown_keys_and_bad_types(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text('name = "bad"\nsuggest_p99_ms = 2.0\nsugest_p99_ms = 1.0\n')
    with pytest.raises(ConfigError, match="sugest_p99_ms"):
        bench.load_profile(str(bad))
    with pytest.raises(ConfigError, match="nope"):
        bench.load_profile("default", ["nope=1"])
    with pytest.raises(ConfigError, match="calls"):
        bench.load_profile("default", ['calls="many"'])
    with pytest.raises(ConfigError, match="known profiles"):
        bench.load_profile("no-such-phone")


def test_replay_plan_is_seeded_and_disjoint():
    units = [f"unit {i} says hello there" for i in range(50)]
    a = bench.replay_plan(units, calls=30, warmup=10, seed=3)
    assert a == bench.replay_plan(units, calls=30, warmup=10, seed=3)
    assert len(a["warm"]) == 10 and len(a["drafts"]) == 30 and len(a["warm_drafts"]) == 10
    assert a["kinds"].count("next_word") >= 30 and a["kinds"].count("completion") >= 30
    measured = {t for t in a["texts"] if t.endswith("there")}
    assert not measured & set(a["warm"])  # warm-up comes from other units
    assert all(d == "" or d.endswith(" ") for d in a["drafts"])
    assert bench.replay_plan(units, calls=10_000, warmup=0)["exhausted"]


def test_bench_runs_on_tiny_bundle(tiny_bundle, tiny_corpus_dir, cache_dir, tmp_path):
    cached = bool(list(cache_dir.glob("ngram-*.kn3")))
    # Latency, cold-start and memory limits off (0): this test is not about machine speed.
    rc, report = _run(
        tiny_bundle,
        tiny_corpus_dir,
        cache_dir,
        tmp_path,
        *QUICK,
        "suggest_p99_ms=0",
        "cold_start_ms=0",
        "peak_rss_mb=0",
    )
    assert rc == 0
    assert report["passed"] and [c["key"] for c in report["checks"]] == ["bundle_bytes"]
    for name in ("bench.json", "bench.md", "bench.png"):
        assert (tmp_path / name).stat().st_size > 0
    assert (tmp_path / "bench.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "Verdict: **PASS**" in (tmp_path / "bench.md").read_text()

    setup = report["setup"]
    assert setup["tensorflow_imported"] is False
    assert set(setup["imports"]["third_party"]) <= CHILD_THIRD_PARTY
    assert setup["interpreter_threads"] == 1 and setup["pinned_core"] >= 0
    assert isinstance(setup["contended"], bool)
    lat = report["latency_ms"]
    for key in (
        "suggest_next_word",
        "suggest_completion",
        "suggest_new_field",
        "step_batch1",
        "step_beam",
        "ngram_next_word",
        "ngram_completion",
    ):
        assert lat[key]["n"] >= 40 and 0 < lat[key]["p50"] <= lat[key]["p99"] <= lat[key]["max"]
    # Both systems timed on exactly the same keystrokes.
    assert lat["ngram_completion"]["n"] == lat["suggest_completion"]["n"]
    assert report["samples_us"]["suggest_next_word"]
    slowdown = report["profile"]["slowdown"]
    assert report["phone_latency_ms"]["suggest_completion"]["p99"] == pytest.approx(
        lat["suggest_completion"]["p99"] * slowdown, rel=1e-4
    )
    assert len(report["cold_start_ms"]["runs"]) == 1
    assert report["cold_start_ms"]["total_ms"] > report["cold_start_ms"]["bundle_cold_start_ms"]
    mem = report["memory_mb"]
    assert mem["peak_rss"] >= mem["rss_after_imports"] > 0
    sizes = report["sizes"]
    shipped = ("model.tflite", "tokenizer.model", "blocklist.txt")
    assert sizes["shipped_bytes"] == sum(sizes["files"][name] for name in shipped)
    assert any(p["shipped"] and p["pinned_step_p99_us"] for p in report["presets"])
    base = report["baseline"]
    assert base["size_bytes"] <= 1_500_000 and base["cached"] == cached
    assert base["lstm_over_ngram"]["completion_p99"] > 0
    assert list(cache_dir.glob("ngram-*.kn3"))


def test_budget_violation_exits_nonzero(tiny_bundle, tiny_corpus_dir, cache_dir, tmp_path):
    profile = tmp_path / "impossible.toml"
    profile.write_text(
        'name = "impossible"\nsuggest_p99_ms = 0.001\ncold_start_ms = 0.001\n'
        "peak_rss_mb = 0.001\nbundle_bytes = 1\n"
    )
    out = tmp_path / "out"
    cached = bool(list(cache_dir.glob("ngram-*.kn3")))
    rc, report = _run(
        tiny_bundle, tiny_corpus_dir, cache_dir, out, "--profile", str(profile), *QUICK
    )
    assert rc == 1
    assert not report["passed"]
    failed = {c["key"] for c in report["checks"] if not c["passed"]}
    assert {
        "suggest_next_word_p99",
        "suggest_completion_p99",
        "cold_start",
        "peak_rss",
        "bundle_bytes",
    } <= failed
    assert report["baseline"]["cached"] == cached  # a trained n-gram is reused, not retrained
    assert list(cache_dir.glob("ngram-*.kn3"))
    assert "Verdict: **FAIL**" in (out / "bench.md").read_text()


def test_usage_errors_exit_2(tmp_path):
    assert bench.main(["--bundle", str(tmp_path), "--profile", "no-such-phone"]) == 2
    assert bench.main(["--bundle", str(tmp_path / "missing"), "--no-baseline"]) == 2
