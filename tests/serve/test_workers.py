"""``kbd-lm serve --workers N``: real worker processes, metrics added up across them."""

from __future__ import annotations

import os
import shutil
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from prometheus_client import CollectorRegistry
from prometheus_client.multiprocess import MultiProcessCollector

from kbd_lm.export.bench.loadtest import ServerProcess
from kbd_lm.serve.metrics import MULTIPROC_ENV
from kbd_lm.serve.settings import ServeSettings, settings_env
from kbd_lm.serve.workers import metrics_dir

from .conftest import Scrape

PREDICT = {"route": "/v1/predict-next", "method": "POST", "status": "200"}


def test_settings_reach_the_workers_through_the_environment(monkeypatch, tiny_bundle):
    given = ServeSettings(
        bundle=tiny_bundle, workers=3, pool_size=4, cors_origins=["https://a.example"]
    )
    for name, value in settings_env(given).items():
        monkeypatch.setenv(name, value)
    assert ServeSettings() == given


def test_each_start_gets_a_fresh_metrics_folder(monkeypatch, tmp_path):
    monkeypatch.delenv(MULTIPROC_ENV, raising=False)
    with metrics_dir() as folder:
        assert os.environ[MULTIPROC_ENV] == str(folder) and folder.is_dir()
        (folder / "counter_1.db").write_bytes(b"")
    assert not folder.exists() and MULTIPROC_ENV not in os.environ
    # A folder the operator chose is kept, but emptied of an earlier run's series.
    given = tmp_path / "metrics"
    given.mkdir()
    (given / "counter_7.db").write_bytes(b"old")
    (given / "notes.txt").write_text("not ours")
    monkeypatch.setenv(MULTIPROC_ENV, str(given))
    with metrics_dir() as folder:
        assert folder == given and sorted(p.name for p in given.iterdir()) == ["notes.txt"]
    assert given.is_dir()


def _predict(url: str, i: int) -> int:
    # A new connection each time, so that the kernel can hand it to either worker.
    r = httpx.post(f"{url}/v1/predict-next", json={"text": f"see you {i} "}, timeout=30)
    return r.status_code


@pytest.mark.slow
def test_two_workers_count_every_request_in_the_metrics(tiny_bundle, tmp_path, monkeypatch):
    folder = tmp_path / "metrics"
    folder.mkdir()
    (folder / "counter_1.db").write_bytes(b"a previous run's file: must be wiped")
    monkeypatch.setenv(MULTIPROC_ENV, str(folder))
    # 8 requests at a time for 4 predictors queue: a long queue wait keeps a busy machine's
    # slow answers 200s (shedding is test_overload's; this test counts requests).
    extra = ["--workers", "2", "--queue-wait-ms", "10000"]
    with ServerProcess(tiny_bundle, extra=extra) as server:
        deadline = time.monotonic() + 60
        while Scrape(httpx.get(f"{server.url}/metrics").text).value("kbd_lm_pool_size") != 4:
            assert time.monotonic() < deadline, "the two workers did not both start"
            time.sleep(0.2)
        sent = 0
        with ThreadPoolExecutor(8) as ex:
            # Until both workers have answered some (the kernel picks one per connection).
            while len(_answered(folder, tmp_path)) < 2 and sent < 400:
                statuses = list(ex.map(_predict, [server.url] * 40, range(sent, sent + 40)))
                assert statuses == [200] * 40
                sent += 40
        per_worker = _answered(folder, tmp_path)
        assert len(per_worker) == 2 and sum(per_worker.values()) == sent
        for _ in range(3):  # any worker may answer the scrape: each adds up both
            m = Scrape(httpx.get(f"{server.url}/metrics").text)
            assert m.value("kbd_lm_http_requests_total", **PREDICT) == sent
            count = m.value("kbd_lm_http_request_duration_seconds_count", route=PREDICT["route"])
            assert count == sent
            assert m.value("kbd_lm_pool_size") == 4  # 2 predictors in each of 2 workers
            assert not [s for s in m.samples if s.name.startswith("process_")]


def _answered(folder: Path, scratch: Path) -> dict[str, float]:
    """Predictions answered by each worker process that answered any: pid -> count."""
    counts = {}
    for db in folder.glob("counter_*.db"):  # one file per process
        alone = scratch / f"one-{db.stem}-{time.monotonic_ns()}"
        alone.mkdir()
        shutil.copy(db, alone)
        registry = CollectorRegistry()
        MultiProcessCollector(registry, str(alone))
        n = registry.get_sample_value("kbd_lm_http_requests_total", PREDICT)
        if n:
            counts[db.stem.rsplit("_", 1)[1]] = n
    return counts
