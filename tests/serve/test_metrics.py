"""``GET /metrics``: real counts, latencies and process figures after real requests."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time

from fastapi.testclient import TestClient

from kbd_lm.serve.app import create_app
from kbd_lm.serve.metrics import MULTIPROC_ENV, Metrics

from .conftest import Scrape

PREDICT = {"route": "/v1/predict-next", "method": "POST"}


def test_requests_latency_errors_and_pool_after_real_requests(client, scrape):
    assert client.post("/v1/predict-next", json={"text": "see you "}).status_code == 200
    assert client.post("/v1/predict-next", json={"text": "see you ", "k": 99}).status_code == 422
    assert client.get("/no-such-page").status_code == 404
    m = scrape(client)
    assert m.value("kbd_lm_http_requests_total", **PREDICT, status="200") == 1
    assert m.value("kbd_lm_http_requests_total", **PREDICT, status="422") == 1
    assert m.value("kbd_lm_http_requests_total", route="other", method="GET", status="404") == 1
    route = {"route": "/v1/predict-next"}
    assert m.value("kbd_lm_http_request_duration_seconds_count", **route) == 2
    assert m.value("kbd_lm_http_request_duration_seconds_bucket", **route, le="+Inf") == 2
    assert 0 < m.value("kbd_lm_http_request_duration_seconds_sum", **route) < 10
    assert m.value("kbd_lm_errors_total", code="invalid_request") == 1
    assert m.value("kbd_lm_errors_total", code="not_found") == 1
    assert m.value("kbd_lm_requests_in_flight") == 1  # the scrape itself
    assert m.value("kbd_lm_pool_size") == 2 and m.value("kbd_lm_pool_available") == 2
    model = client.get("/readyz").json()["model"]
    assert m.value("kbd_lm_model_info", model=model) == 1
    # The scrape is counted too, once it has been answered.
    again = scrape(client)
    assert again.value("kbd_lm_http_requests_total", route="/metrics", method="GET", status="200")
    # Every sample line is "name{labels} value" or "name value".
    for line in m.text.splitlines():
        if not line.startswith("#"):
            assert re.fullmatch(r"[a-z_]+(\{[^}]*\})? ([0-9.e+-]+|\+Inf)", line), line


def test_process_cpu_and_memory(client, scrape):
    m = scrape(client)
    assert m.value("process_cpu_seconds_total") > 0
    assert m.value("process_resident_memory_bytes") > 20e6  # Python, numpy and a runtime
    assert m.value("process_virtual_memory_bytes") >= m.value("process_resident_memory_bytes")
    assert 0 < time.time() - m.value("process_start_time_seconds") < 24 * 3600
    assert m.value("process_open_fds") > 0


def test_routes_are_labelled_by_template_never_by_what_was_sent(settings, scrape):
    """A path parameter (a user id, a word) never becomes a label value."""
    app = create_app(settings=settings)

    @app.get("/v1/things/{name}")
    async def thing(name: str) -> dict:
        return {"length": len(name)}

    with TestClient(app) as client:
        assert client.get("/v1/things/secret-word").status_code == 200
        assert client.post("/v1/things/other-secret").status_code == 405
        m = scrape(client)
    assert (
        m.value("kbd_lm_http_requests_total", route="/v1/things/{name}", method="GET", status="200")
        == 1
    )
    assert (
        m.value(
            "kbd_lm_http_requests_total", route="/v1/things/{name}", method="POST", status="405"
        )
        == 1
    )
    assert "secret" not in m.text


def test_each_app_counts_in_its_own_registry(settings, scrape):
    with TestClient(create_app(settings=settings)) as first:
        for _ in range(3):
            first.get("/healthz")
        with TestClient(create_app(settings=settings)) as second:
            second.get("/healthz")
            assert (
                scrape(second).value(
                    "kbd_lm_http_requests_total", route="/healthz", method="GET", status="200"
                )
                == 1
            )
        assert (
            scrape(first).value(
                "kbd_lm_http_requests_total", route="/healthz", method="GET", status="200"
            )
            == 3
        )


# A server process of multiprocess mode that sets its pool gauge and dies without closing.
_KILLED_WORKER = """
import os
from kbd_lm.serve.metrics import Metrics
m = Metrics(process=False)
m.pool_size.set(2)
m.errors.labels(code="busy").inc()
os._exit(0)
"""


def test_a_dead_process_no_longer_counts_in_the_gauges(tmp_path, monkeypatch):
    folder = tmp_path / "metrics"
    folder.mkdir()
    env = {**os.environ, MULTIPROC_ENV: str(folder)}
    subprocess.run([sys.executable, "-c", _KILLED_WORKER], env=env, check=True)
    assert [p.name.split("_")[1] for p in folder.glob("gauge_*")] == ["livesum"]
    monkeypatch.setenv(MULTIPROC_ENV, str(folder))
    m = Scrape(Metrics(process=False).render().decode())  # a live process's scrape
    assert m.value("kbd_lm_pool_size") in (None, 0.0)  # not the dead process's 2
    assert m.value("kbd_lm_errors_total", code="busy") == 1  # what it answered still counts
    assert not list(folder.glob("gauge_*"))
