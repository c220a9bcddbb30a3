"""The load test's generator: client processes that send on one shared open-loop schedule.

One async httpx client in one process tops out near 800 requests/s (on two cores), below
what the server answers; so a stage's requests are dealt round-robin to ``clients``
processes (2 by default, a :class:`~concurrent.futures.ProcessPoolExecutor`), each sending its
share at the scheduled times of the common schedule (request ``i`` at ``start + i / rate``),
and their samples are merged. Works wherever Python does: no load generator to install.

Each request gives one :class:`Sample`: its status (``200``, ``503``…, or an error kind such
as ``timeout``), its latency from the scheduled time (open loop: a late server or client
shows), the time from its actual send to its answer, the server's own time and the client's
sending lag.

>>> with LoadGenerator(clients=2) as gen:                                   # doctest: +SKIP
...     samples = gen.stage("http://127.0.0.1:8000", rate=400, n=800, texts=["hi "])
"""

from __future__ import annotations

import asyncio
import multiprocessing
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass

import httpx

PATH = "/v1/predict-next"
START_DELAY_S = 1.0  # the client processes start their loops and connect meanwhile


@dataclass(frozen=True)
class Sample:
    """One request of a stage (None where no answer came)."""

    status: int | str  # HTTP status, or why there was none ("timeout", "not sent in time"…)
    sent_s: float  # when the client sent it (or gave up), in seconds from the stage's start
    lag_ms: float  # how late that was
    latency_ms: float | None = None  # from its scheduled time to its answer
    answer_ms: float | None = None  # from its send to its answer
    server_ms: float | None = None  # the server's elapsed_ms (200 only)
    done_s: float | None = None  # its answer, in seconds from the stage's start


def _ready(seconds: float) -> None:
    """A client process has started (its imports done)."""
    time.sleep(seconds)


def _share(url, rate, n, share, shares, start_wall, texts, offset, k, timeout) -> list[Sample]:
    """Run in a client process: send requests ``share, share + shares, …`` of ``n``."""
    try:
        import uvloop

        run = uvloop.run
    except ImportError:  # pragma: no cover - uvloop comes with uvicorn[standard]
        run = asyncio.run
    return run(_send(url, rate, n, share, shares, start_wall, texts, offset, k, timeout))


async def _send(url, rate, n, share, shares, start_wall, texts, offset, k, timeout):
    clock = time.perf_counter  # the event loop's clock can be millisecond-grained (uvloop)
    start = clock() + (start_wall - time.time())  # the schedule shared by every process
    samples: list[Sample] = []
    limits = httpx.Limits(max_connections=512, max_keepalive_connections=512)

    async def one(client: httpx.AsyncClient, i: int, scheduled: float) -> None:
        payload = {"text": texts[(offset + i) % len(texts)], "k": k}
        sent = clock()
        scheduled = min(scheduled, sent)  # a coarse loop clock can wake a task a little early
        lag = (sent - scheduled) * 1000
        if lag >= timeout * 1000:  # could not even be sent in time: the client is saturated
            samples.append(Sample("not sent in time", sent - start, lag))
            return
        try:
            # The whole request, counted from its scheduled time, must fit in ``timeout``.
            async with asyncio.timeout(timeout - lag / 1000):
                r = await client.post(PATH, json=payload)
        except (TimeoutError, httpx.TimeoutException):
            samples.append(Sample("timeout", sent - start, lag))
            return
        except (httpx.HTTPError, OSError) as err:
            samples.append(Sample(type(err).__name__, sent - start, lag))
            return
        done = clock()
        server = r.json()["elapsed_ms"] if r.status_code == 200 else None
        latency, answer = (done - scheduled) * 1000, (done - sent) * 1000
        samples.append(
            Sample(r.status_code, sent - start, lag, latency, answer, server, done - start)
        )

    async with httpx.AsyncClient(base_url=url, limits=limits) as client:
        tasks = []
        for i in range(share, n, shares):
            scheduled = start + i / rate
            delay = scheduled - clock()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(one(client, i, scheduled)))
        await asyncio.gather(*tasks)
    return samples


class LoadGenerator:
    """``clients`` client processes, kept for every stage of a load test; a context manager."""

    def __init__(self, clients: int = 2) -> None:
        if clients < 1:
            raise ValueError(f"clients must be at least 1, got {clients}")
        self.clients = clients
        self._pool: ProcessPoolExecutor | None = None

    def __enter__(self) -> LoadGenerator:
        # spawn: a clean interpreter per client, whatever threads this process runs
        ctx = multiprocessing.get_context("spawn")
        self._pool = ProcessPoolExecutor(self.clients, mp_context=ctx)
        # Start every client process now (each busy long enough that the next task needs
        # another), not at a stage's first requests, which would then be sent late.
        for f in [self._pool.submit(_ready, 0.2) for _ in range(self.clients)]:
            f.result()
        return self

    def __exit__(self, *exc) -> None:
        if self._pool is not None:
            self._pool.shutdown(cancel_futures=True)
            self._pool = None

    def stage(
        self,
        url: str,
        rate: float,
        n: int,
        texts: list[str],
        offset: int = 0,
        k: int = 3,
        timeout: float = 2.0,
    ) -> list[Sample]:
        """Send ``n`` requests at ``rate`` per second from all clients; every one's sample."""
        assert self._pool is not None, "use LoadGenerator as a context manager"
        start_wall = time.time() + START_DELAY_S
        futures = [
            self._pool.submit(
                _share, url, rate, n, j, self.clients, start_wall, texts, offset, k, timeout
            )
            for j in range(self.clients)
        ]
        return [s for f in futures for s in f.result()]
