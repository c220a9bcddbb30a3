"""``make bench`` runs on a real (tiny) bundle and gates on its profile.

These tests check that the benchmark works and that a violated limit fails the run; they never
check that the host is fast enough (the passing run disables the latency, cold-start and
memory limits; the failing run uses impossible ones).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from kbd_lm.export import bench

# A few calls: enough to exercise every phase, small enough for a test.
# The personal history (a 20k-entry fill from chitchat) is measured by the first test only.
QUICK = ["calls=40", "warmup=5", "cold_starts=1", "history_units=0"]
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


def test_bench_runs_on_tiny_bundle(tiny_bundle, tiny_corpus_dir, cache_dir, tmp_path):
    cached = bool(list(cache_dir.glob("ngram-*.kn3")))
    # Latency, cold-start and memory limits off (0): this test is not about machine speed.
    rc, report = _run(
        tiny_bundle,
        tiny_corpus_dir,
        cache_dir,
        tmp_path,
        *QUICK[:-1],
        "history_units=2",
        "suggest_p99_ms=0",
        "correct_p99_ms=0",
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
    # The hypervisor's share of the measuring core while timing, from /proc/stat (Linux).
    assert 0.0 <= setup["steal_while_timing"] <= 1.0
    assert "steal while timing" in (tmp_path / "bench.md").read_text()
    lat = report["latency_ms"]
    for key in (
        "suggest_next_word",
        "suggest_completion",
        "suggest_new_field",
        "correct_noisy",
        "correct_exact",
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
    manifest = json.loads((tiny_bundle / "manifest.json").read_text())
    assert sizes["shipped_bytes"] == manifest["total_bytes"]  # as the manifest counts it
    shipped = ["model.tflite", "tokenizer.model", "lexicon.txt.gz", "blocklist.txt"]
    shipped += ["typing.json"]
    assert sizes["shipped_files"] == manifest["shipped_files"] == shipped
    assert sizes["shipped_bytes"] == sum(sizes["files"][name] for name in shipped)
    assert setup["child"] == "fresh process: python -m kbd_lm.export.bench.child"
    assert any(p["shipped"] and p["pinned_step_p99_us"] for p in report["presets"])
    base = report["baseline"]
    assert base["size_bytes"] <= 1_500_000 and base["cached"] == cached
    assert base["model_over_ngram"]["completion_p99"] > 0
    assert list(cache_dir.glob("ngram-*.kn3"))
    _check_browser_latency(report, (tmp_path / "bench.md").read_text())
    _check_history(report, (tmp_path / "bench.md").read_text())


def _check_history(report: dict, markdown: str) -> None:
    """suggest with a full 20k-entry history beside the plain figure; learn; file size."""
    h = report["history"]
    assert h["history"]["max_entries"] == 20_000
    assert 0.9 * 20_000 <= h["history"]["entries"] <= 20_000
    assert h["history"]["file_bytes"] > 100_000
    assert 0 < h["learn_ms"]["full"]["p50"] <= h["learn_ms"]["full"]["p99"]
    for kind in ("next_word", "completion"):
        plain, full = h["suggest_ms"]["plain"][kind], h["suggest_ms"]["history"][kind]
        assert plain["n"] == full["n"] > 0 and 0 < full["p50"] <= full["p99"]
    assert "## Personal history" in markdown
    assert "with a full personal history" in markdown and "learn one message" in markdown


def _check_browser_latency(report: dict, markdown: str) -> None:
    """The in-browser predictor on the same keystrokes, or a note saying why not."""
    from kbd_lm.export.browser import BrowserError, check_ready

    try:
        check_ready()
    except BrowserError as err:
        assert report["browser_latency_ms"] is None
        assert any(str(err) in note for note in report["notes"])
        return
    browser, lat = report["browser_latency_ms"], report["latency_ms"]
    for kind in ("next_word", "completion"):
        assert browser[kind]["n"] == lat[f"suggest_{kind}"]["n"]
        assert 0 < browser[kind]["p50"] <= browser[kind]["p99"]
    assert "## In the browser" in markdown


def test_budget_violation_exits_nonzero(tiny_bundle, tiny_corpus_dir, cache_dir, tmp_path):
    profile = tmp_path / "impossible.toml"
    profile.write_text(
        'name = "impossible"\nsuggest_p99_ms = 0.001\ncorrect_p99_ms = 0.001\n'
        "cold_start_ms = 0.001\n"
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
        "correct_noisy_p99",
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
    with pytest.raises(SystemExit) as exc:  # argparse: a missing option
        bench.main(["--profile", "default"])
    assert exc.value.code == 2


def test_a_crash_exits_2_not_1(tiny_bundle, tiny_corpus_dir, cache_dir, tmp_path, caplog):
    """A measuring child that dies is a crash (2, no report), never a budget failure (1)."""
    out = tmp_path / "out"
    rc, report = _run(
        tiny_bundle, tiny_corpus_dir, cache_dir, out, "--no-baseline", *QUICK, "cpu=4096"
    )
    assert rc == 2 and report == {}
    assert "bench child failed" in caplog.text and "no verdict" in caplog.text


def test_the_child_is_an_explicit_entry_point(tmp_path):
    """``python -m kbd_lm.export.bench.child``: its own usage; the bench no longer has one."""
    import subprocess
    import sys

    r = subprocess.run(
        [sys.executable, "-m", "kbd_lm.export.bench.child", "--help"],
        capture_output=True,
        text=True,
    )
    assert r.returncode == 0 and "measure" in r.stdout and "cold" in r.stdout
    assert "Warning" not in r.stderr  # runpy: the package must not import the child first
    with pytest.raises(SystemExit):
        bench.main(["--_child", "cold", str(tmp_path / "spec.json")])
