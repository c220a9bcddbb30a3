"""Overload is shed quickly: past saturation, answers are 200 or 503 within the queue wait."""

from __future__ import annotations

import random
import statistics
import time
from collections import Counter

import pytest
from fastapi.testclient import TestClient

from kbd_lm.export.bench.loadgen import LoadGenerator
from kbd_lm.export.bench.loadtest import SENTENCES, ServerProcess
from kbd_lm.inference.predictor import Predictor
from kbd_lm.serve.admission import REFUSAL_HOLD_S, Admission
from kbd_lm.serve.app import create_app, get_pool
from kbd_lm.serve.pool import PredictorPool

QUEUE_WAIT_MS = 100
MAX_CLIENT_LAG_MS = 20  # past this the load generator itself was starved of CPU
WORDS = " ".join(SENTENCES).split()


def layer(app, cls):
    """The instance of the ASGI layer ``cls`` in ``app``'s built middleware stack."""
    node = app.middleware_stack
    while not isinstance(node, cls):
        node = node.app
    return node


def test_a_request_behind_a_full_queue_is_refused_at_once(tiny_bundle, scrape):
    # One predictor, a queue wait long enough that nothing times out here: only admission
    # refuses. With nothing measured yet, two requests per predictor may be inside.
    pool = PredictorPool([Predictor.load(tiny_bundle)], "m", queue_wait=5.0)
    app = create_app(tiny_bundle)
    app.dependency_overrides[get_pool] = lambda: pool
    with TestClient(app) as c:
        app.state.pool = pool  # what the admission layer reads

        async def wait_for_predictor():
            async with pool.borrow():
                pass

        held = pool.borrow()
        c.portal.call(held.__aenter__)  # the predictor is busy...
        waiting = c.portal.start_task_soon(wait_for_predictor)  # ...and one request waits
        deadline = time.monotonic() + 5
        while pool.waiting < 1 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert pool.waiting == 1
        # As if a busy window had measured a slow server (nothing measured: no limit).
        admission = layer(app, Admission)
        admission.throughput.rate = 0.1
        assert Admission.limit_for(pool.size, pool.queue_wait, admission.throughput.rate) == 2
        started = time.perf_counter()
        r = c.post("/v1/predict-next", json={"text": "see you "})
        assert time.perf_counter() - started < 0.05  # at once, not after a wait
        assert (r.status_code, r.json()["error"], r.headers["retry-after"]) == (503, "busy", "1")
        assert "full queue" in r.json()["message"]
        c.portal.call(held.__aexit__, None, None, None)
        waiting.result(timeout=5)
        assert c.post("/v1/predict-next", json={"text": "see you "}).status_code == 200
        m = scrape(c)
    # A refusal is counted by its code only: it never reached the layers that count per route.
    assert m.value("kbd_lm_errors_total", code="busy") == 1
    route = {"route": "/v1/predict-next", "method": "POST"}
    assert m.value("kbd_lm_http_requests_total", **route, status="200") == 1
    assert not m.value("kbd_lm_http_requests_total", **route, status="503")


@pytest.mark.slow
def test_past_saturation_every_answer_is_a_200_or_a_503_in_time(slow_bundle):
    rng = random.Random(0)  # new contexts: the predictor's state cache cannot help
    texts = [" ".join(rng.choice(WORDS) for _ in range(12)) + " " for _ in range(4000)]
    options = ["--pool-size", "1", "--queue-wait-ms", str(QUEUE_WAIT_MS)]
    with ServerProcess(slow_bundle, extra=options) as server, LoadGenerator(clients=2) as gen:
        # What one predictor answers per second, measured here (the machine may be busy).
        probe = gen.stage(server.url, rate=10, n=30, texts=texts)
        service_ms = statistics.median(s.server_ms for s in probe if s.status == 200)
        # Past saturation, open loop; not so far that the event loop, which shares the cores
        # with the busy predictor, saturates as well.
        rate = min(400.0, 1.3 * 1000 / service_ms)
        samples = gen.stage(server.url, rate, n=int(rate * 3), texts=texts, offset=30, timeout=5)
    # Whatever the load on the machine, every HTTP answer is a suggestion or a refusal (a
    # starved client may also have given up on some requests: a str status, judged below).
    statuses = Counter(s.status for s in samples)
    assert {code for code in statuses if isinstance(code, int)} <= {200, 503}, statuses
    lag_p99 = sorted(s.lag_ms for s in samples)[int(0.99 * len(samples))]
    if lag_p99 > MAX_CLIENT_LAG_MS:
        pytest.skip(
            f"the client processes sent late (p99 {lag_p99:.0f} ms): the machine is too busy "
            "for a latency bound to say anything about the server"
        )
    assert set(statuses) <= {200, 503}, statuses
    assert statuses[503] >= 0.1 * len(samples), statuses
    slowest = {
        code: max((s.answer_ms for s in samples if s.status == code), default=0.0)
        for code in (200, 503)
    }
    # The slack covers the suggestion in flight and scheduling on two cores that the load
    # generator shares: 50 ms was exceeded once in four clean runs (174 ms), 100 ms once in
    # five (303 ms, 2026-12-08, 2-core AMD EPYC); a request that waited for a predictor past
    # its queue wait would take seconds. A refusal past the
    # pacer's rate is held REFUSAL_HOLD_S (+5%) on purpose (kbd_lm.serve.admission), and its
    # time also holds the event loop's delays while it runs suggestions (a refusal took
    # 1,038 ms once on a 2-core AMD EPYC with the generator on the same cores).
    assert slowest[200] <= QUEUE_WAIT_MS + 400, (
        f"{rate:.0f} rps ({service_ms:.1f} ms a suggestion): {statuses}, slowest {slowest}"
    )
    assert slowest[503] <= REFUSAL_HOLD_S * 1.05 * 1000 + 400, (
        f"{rate:.0f} rps ({service_ms:.1f} ms a suggestion): {statuses}, slowest {slowest}"
    )
