"""Admission: the server's outermost layer, which decides for every prediction request whether
it can be answered in time, before routing, body parsing, validation, metrics per route and the
access log spend anything on it.

Why: a refusal that goes through the whole stack costs about as much CPU as an answer, so a
crowd of clients that resend at once (and ignore ``Retry-After``) makes a server spend its
CPU refusing, and the few requests it admits starve (congestive collapse: goodput falls to a
few percent of capacity). Two rules keep an overloaded server serving at capacity:

1. **A concurrency limit by measured service time.** At most
   ``pool.size * (1 + queue_wait / hold)`` prediction requests are inside the app at once,
   ``hold`` being the recent time a request holds a predictor (the pool measures it): the
   queue that can drain within ``queue_wait`` and no more (Little's law; the queue-with-deadline
   of HAProxy's ``maxconn`` + ``timeout queue``, with the length set from the measured service
   time, as Netflix's concurrency-limits and Envoy's adaptive concurrency set theirs). A request
   over the limit is refused with 503 ``busy`` and ``Retry-After``, from bytes prepared once.
2. **Refusals are paced.** While refusals stay under ``refusal_rate`` per second they are
   answered at once; past it, each one is held ``refusal_hold`` seconds before its 503 (an
   asyncio timer: no CPU while held), so clients that resend at once can make at most about
   ``connections / refusal_hold`` refusals per second, and the CPU stays with admitted work.
   Every answer still comes within ``refusal_hold`` plus the queue wait (well under a second).

Clients that honour ``Retry-After`` retry when the crowd has had a second to drain.

>>> limit = Admission.limit_for(size=2, queue_wait=0.1, hold=0.002)
>>> limit
102
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
import random
import time

from starlette.types import ASGIApp, Receive, Scope, Send

log = logging.getLogger(__name__)

RETRY_AFTER_S = 1  # what a refused client is told to wait (whole seconds, RFC 9110)
REFUSAL_RATE = 500.0  # refusals per second answered at once (about 2% of a core at ~40 us each)
REFUSAL_HOLD_S = 0.5  # how long a refusal past that rate waits for its answer
REFUSED = "admission_refused"  # set in scope["state"] on a request refused here
SUMMARY_EVERY_S = 10.0  # one log line with the refusals of that long, not one per request

_BODY = json.dumps(
    {"error": "busy", "message": "server busy: every predictor has a full queue; retry shortly"}
).encode()
_START = {
    "type": "http.response.start",
    "status": 503,
    "headers": [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(_BODY)).encode()),
        (b"retry-after", str(RETRY_AFTER_S).encode()),
    ],
}
_START_CLOSE = {**_START, "headers": [*_START["headers"], (b"connection", b"close")]}
_END = {"type": "http.response.body", "body": _BODY, "more_body": False}


class RefusalPacer:
    """A token bucket of immediate refusals: ``rate`` per second, bursts of ``rate / 10``.

    :meth:`delay` says how long the next refusal waits: 0 while the bucket has a token,
    else ``hold`` (with +-20% jitter, so held clients do not come back in step).

    >>> pacer = RefusalPacer(rate=20.0, hold=0.5)
    >>> pacer.delay(now=0.0), pacer.delay(now=0.0)
    (0.0, 0.0)
    >>> 0.4 <= pacer.delay(now=0.0) <= 0.6
    True
    """

    def __init__(self, rate: float = REFUSAL_RATE, hold: float = REFUSAL_HOLD_S) -> None:
        self.rate, self.hold = rate, hold
        self.capacity = max(1.0, rate / 10.0)
        self.tokens, self.updated = self.capacity, None

    def delay(self, now: float | None = None) -> float:
        now = time.monotonic() if now is None else now
        if self.updated is not None:
            self.tokens = min(self.capacity, self.tokens + (now - self.updated) * self.rate)
        self.updated = now
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return 0.0
        return self.hold * random.uniform(0.8, 1.2)


class Admission:
    """Pure ASGI layer in front of the app (see the module docstring).

    ``state``: the app's state, whose ``pool`` (a :class:`~kbd_lm.serve.pool.PredictorPool`,
    set by the lifespan) gives the size, queue wait and measured hold time; ``path``: the
    route it guards (other requests pass through untouched); ``on_refused``: called once per
    refusal (a metrics counter).
    """

    def __init__(
        self,
        app: ASGIApp,
        state,
        path: str,
        pacer: RefusalPacer | None = None,
        on_refused=None,
    ) -> None:
        self.app, self.state, self.path = app, state, path
        self.pacer = pacer or RefusalPacer()
        self.on_refused = on_refused
        self.inside = 0  # admitted prediction requests not yet answered
        self._refused_since, self._summary_at = 0, time.monotonic()

    @staticmethod
    def limit_for(size: int, queue_wait: float, hold: float | None) -> int:
        """How many prediction requests may be inside at once: every predictor busy, plus
        the queue that drains within ``queue_wait`` at ``hold`` seconds per request each."""
        if not hold or hold <= 0:
            return math.inf  # nothing measured yet: the pool's own wait bounds the first ones
        return size + math.floor(size * queue_wait / hold)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        pool = getattr(self.state, "pool", None)
        if scope["type"] != "http" or scope["path"] != self.path or pool is None:
            await self.app(scope, receive, send)
            return
        # Inside: what this layer admitted, or what the pool holds (busy and waiting) if more.
        inside = max(self.inside, pool.size - pool.available + pool.waiting)
        if inside < self.limit_for(pool.size, pool.queue_wait, pool.hold_s):
            self.inside += 1
            try:
                await self.app(scope, receive, send)
            finally:
                self.inside -= 1
            return
        await self._refuse(scope, receive, send)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send) -> None:
        scope.setdefault("state", {})[REFUSED] = True  # not for the access log (one line each)
        if self.on_refused is not None:
            self.on_refused()
        self._count_refusal()
        delay = self.pacer.delay()
        # A prediction's small body is here with its head: read it, so the connection can
        # carry the next request. A body still coming (chunked, large) is not read: the
        # answer closes the connection instead.
        message = await receive()
        if delay:
            await asyncio.sleep(delay)
        await send(_START if not message.get("more_body") else _START_CLOSE)
        await send(_END)

    def _count_refusal(self) -> None:
        self._refused_since += 1
        now = time.monotonic()
        if now - self._summary_at >= SUMMARY_EVERY_S:
            log.warning(
                "overloaded: refused %d prediction requests in the last %.0f s (503 busy)",
                self._refused_since,
                now - self._summary_at,
            )
            self._refused_since, self._summary_at = 0, now
