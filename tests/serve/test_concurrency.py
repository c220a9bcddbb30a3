"""Concurrent requests share a pool of 2 predictors and get the same answers as one by one."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import anyio
import pytest

from kbd_lm.evaluation.keystrokes import keystrokes
from kbd_lm.inference.predictor import Predictor
from kbd_lm.serve.pool import PoolBusyError, PredictorPool
from kbd_lm.serve.settings import ServeSettings

SENTENCES = ["see you tomorrow", "how are you doing today?", "I love music"]
TEXTS = [key.text for sentence in SENTENCES for key in keystrokes(sentence)][:50]


@pytest.fixture
def settings(tiny_bundle) -> ServeSettings:
    """Requests queue for a predictor as long as they must: this is about answers, not about
    shedding overload (tests/serve/test_overload.py)."""
    return ServeSettings(bundle=tiny_bundle, pool_size=2, access_log=False, queue_wait_ms=30_000)


def _ask(client, text: str) -> list[tuple[str, float]]:
    r = client.post("/v1/predict-next", json={"text": text, "k": 3})
    assert r.status_code == 200, r.text
    return [(s["word"], s["probability"]) for s in r.json()["suggestions"]]


def test_concurrent_answers_equal_sequential_ones(client):
    """50 requests from 16 threads at once, then the same texts one by one: same answers."""
    assert len(TEXTS) == 50
    start = threading.Barrier(16)

    def ask(text):
        if threading.current_thread().name not in seen:
            seen.add(threading.current_thread().name)
            start.wait(timeout=10)  # all threads start together
        return _ask(client, text)

    seen: set[str] = set()
    with ThreadPoolExecutor(16) as ex:
        concurrent = list(ex.map(ask, TEXTS))
    sequential = [_ask(client, t) for t in reversed(TEXTS)][::-1]  # other cache order
    for text, got, want in zip(TEXTS, concurrent, sequential, strict=True):
        assert [w for w, _ in got] == [w for w, _ in want], text
        assert [p for _, p in got] == pytest.approx([p for _, p in want], rel=1e-5), text
    assert client.app.state.pool.available == 2  # every predictor went back


def test_pool_runs_two_requests_in_parallel(tiny_bundle):
    """With 2 predictors, two borrowers hold one each at the same time; a third waits."""
    pool = PredictorPool([Predictor.load(tiny_bundle) for _ in range(2)], "m", queue_wait=0.05)

    async def main():
        async with pool.borrow() as a, pool.borrow() as b:
            assert a is not b
            assert pool.available == 0
            with pytest.raises(PoolBusyError, match="all 2 predictors stayed busy"):
                await pool.suggest("hi ")
        assert pool.available == 2
        pool.queue_wait = 30  # now let requests queue for a free predictor
        async with anyio.create_task_group() as tg:
            for text in TEXTS[:10]:
                tg.start_soon(pool.suggest, text)
        assert pool.available == 2

    anyio.run(main)


def test_a_pool_needs_a_predictor():
    with pytest.raises(ValueError, match="at least one"):
        PredictorPool([], "m")


def test_the_loop_executor_answers_like_the_predictor(tiny_bundle):
    """Executor "loop": concurrent requests queue for the one predictor run on the event loop
    and get what the predictor gives them one by one."""
    predictor = Predictor.load(tiny_bundle)
    want = {t: [s.word for s in predictor.suggest(t, 3)] for t in TEXTS[:20]}
    pool = PredictorPool([predictor], "m", queue_wait=30, executor="loop")
    got = {}

    async def ask(text):
        got[text] = [s.word for s in await pool.suggest(text, 3)]

    async def main():
        async with anyio.create_task_group() as tg:
            for text in TEXTS[:20]:
                tg.start_soon(ask, text)

    anyio.run(main)
    assert got == want
    assert pool.waiting == 0


def test_the_loop_executor_sheds_what_waits_past_the_queue_wait(tiny_bundle):
    """A slow suggester on the loop (20 ms a call) and 20 requests at once with a 50 ms queue
    wait: the first few are answered, the rest get PoolBusyError, none waits for ever."""

    class Slow:
        def suggest(self, text, k=3, **_):
            time.sleep(0.02)  # blocks the loop, as a suggestion on it does
            return []

    pool = PredictorPool([Slow()], "m", queue_wait=0.05, executor="loop")
    outcomes = []

    async def ask():
        try:
            await pool.suggest("hi ")
            outcomes.append("answered")
        except PoolBusyError:
            outcomes.append("busy")

    async def main():
        async with anyio.create_task_group() as tg:
            for _ in range(20):
                tg.start_soon(ask)

    started = time.monotonic()
    anyio.run(main)
    assert len(outcomes) == 20
    assert 1 <= outcomes.count("answered") <= 6 and "busy" in outcomes, outcomes
    assert time.monotonic() - started < 1.0


def test_the_loop_executor_runs_one_predictor():
    with pytest.raises(ValueError, match="executor 'loop' runs one"):
        PredictorPool([object(), object()], "m", executor="loop")
    with pytest.raises(ValueError, match="use one of"):
        PredictorPool([object()], "m", executor="process")
