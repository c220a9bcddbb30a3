"""The load test's parts: verdicts, report, options, and one tiny open-loop stage over HTTP.

The load test itself (``python -m kbd_lm.export.bench.loadtest``) is not part of the suite.
"""

from __future__ import annotations

import argparse
import json

import httpx
import pytest

from kbd_lm.evaluation.keystrokes import keystrokes
from kbd_lm.export.bench.loadgen import LoadGenerator
from kbd_lm.export.bench.loadtest import (
    SENTENCES,
    ServerProcess,
    StageResult,
    best_sustained,
    markdown,
    out_paths,
    parse_rates,
    run_stage,
    write_wrk_bodies,
)

TEXTS = [key.text for sentence in SENTENCES for key in keystrokes(sentence)]


def test_sustained_needs_no_error_low_p99_and_the_rate():
    ok = StageResult(100, 10, requests=1000, ok=1000, achieved_rps=99.0, p99_ms=12.0)
    ok.judge(20)
    slow = StageResult(200, 10, requests=2000, ok=2000, achieved_rps=199.0, p99_ms=25.0)
    slow.judge(20)
    failing = StageResult(400, 10, requests=4000, ok=3990, errors=10, achieved_rps=399, p99_ms=5)
    failing.judge(20)
    behind = StageResult(800, 10, requests=8000, ok=8000, achieved_rps=500.0, p99_ms=5.0)
    behind.judge(20)
    assert [r.sustained for r in (ok, slow, failing, behind)] == [True, False, False, False]
    assert best_sustained([ok, slow, failing, behind]) == 100
    assert best_sustained([slow]) is None
    slow.p50_ms = 3.0
    assert slow.overloaded(20) is False  # a slow tail only
    assert StageResult(800, 10, requests=10, ok=10, achieved_rps=790, p50_ms=25.0).overloaded(20)
    assert StageResult(800, 10, requests=10, ok=10, achieved_rps=500, p50_ms=2.0).overloaded(20)
    failing.p50_ms = 2.0
    assert failing.overloaded(20) is False  # 0.25% errors


def test_options_and_output_paths(tmp_path):
    assert parse_rates("400,50, 100,50") == [50, 100, 400]
    with pytest.raises(Exception, match="positive"):
        parse_rates("0,10")
    bundle = tmp_path / "dist" / "bundle"
    assert out_paths(None, bundle) == (
        tmp_path / "dist" / "loadtest.md",
        tmp_path / "dist" / "loadtest.json",
    )
    assert out_paths(str(tmp_path / "r.json"), bundle) == (tmp_path / "r.md", tmp_path / "r.json")


def test_a_short_stage_against_the_real_server(tiny_bundle, tmp_path):
    """``python -m kbd_lm.serve`` in a subprocess; 1 s at 30 requests/s from 2 client
    processes; a report."""
    with ServerProcess(tiny_bundle) as server:
        assert httpx.get(f"{server.url}/healthz").json() == {"status": "ok"}

        with LoadGenerator(clients=2) as gen:
            result = run_stage(gen, server.url, 30, 1.0, TEXTS, timeout=10)
    assert server.proc.returncode is not None  # stopped
    assert (result.requests, result.ok, result.errors, result.clients) == (30, 30, 0, 2)
    assert 0 < result.max_answer_ms <= result.max_ms
    assert 0 < result.p50_ms <= result.p99_ms <= result.max_ms
    assert result.server_p50_ms is not None and result.achieved_rps > 20
    result.judge(1e9)  # no latency limit: 30 of 30 answered at about 30/s is sustained
    assert result.sustained and best_sustained([result]) == 30.0
    result.judge(1e-3)  # no server answers in a microsecond
    assert not result.sustained and best_sustained([result]) is None
    result.judge(1e9)
    report = {
        "model": "m",
        "finished": "now",
        "duration_s": 1.0,
        "p99_limit_ms": 20.0,
        "server": {"pool_size": 2, "num_threads": 1},
        "environment": {"cpus": 2, "load_average": [0.1, 0.1, 0.1]},
        "stages": [result.__dict__],
        "best_sustained_rps": best_sustained([result]),
    }
    md = markdown(report)
    assert "| 30 | 30 | 30 | 0 |" in md and "**30 requests/s**" in md
    assert "percentiles: linear interpolation" in md
    json.dumps(report)  # serialisable as written


def test_wrk_bodies_are_every_test_prefix_in_a_seeded_shuffled_order(tiny_bundle, tmp_path):
    from kbd_lm.export.bench.closedloop import test_split_prefixes

    typed = test_split_prefixes(tiny_bundle, None, tmp_path / "cache", 20_000)
    files = []
    for name in ("a.jsonl", "b.jsonl"):
        args = argparse.Namespace(
            bundle=tiny_bundle,
            corpus=None,
            cache_dir=tmp_path / "cache",
            wrk_bodies=tmp_path / name,
        )
        assert write_wrk_bodies(args) == 0
        files.append([json.loads(line) for line in args.wrk_bodies.read_text().splitlines()])
    assert files[0] == files[1]  # seeded
    texts = [body["text"] for body in files[0]]
    assert {body["k"] for body in files[0]} == {3}
    assert sorted(texts) == sorted(typed) and texts != typed  # the same prefixes, not in order
