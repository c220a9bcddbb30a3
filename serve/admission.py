"""Admission: the layer that decides for every prediction request whether it can be answered in
time, before routing, body parsing, validation and the access log spend anything on it.

Why: a refusal that goes through the whole stack costs about as much CPU as an answer, so a
crowd of clients that resend at once (and ignore ``Retry-After``) makes a server spend its
CPU refusing, and the few requests it admits starve (congestive collapse: 0.8 served 8 answers
a second at 512 connections, where it served 1,000 at 8). Two rules keep an overloaded server
serving at capacity:

1. **A queue bounded by measured throughput.** At most ``size + throughput * queue_wait / 2``
   prediction requests are inside the app at once (and never fewer than ``2 * size``, so a
   predictor never waits for the next request to be parsed), ``throughput`` being the answers
   per second the server completes when its predictors are all busy (:class:`Throughput`;
   no limit before that is measured, the pool's own queue wait bounding the first requests):
   the queue that drains within half the queue wait (Little's law; the other half is slack for
   parsing and a busy event loop). This is the queue-with-deadline of
   HAProxy's ``maxconn`` and ``timeout queue``, with the length set from measurement as
   Netflix's concurrency-limits and Envoy's adaptive concurrency set theirs; measured
   completions rather than the time a predictor is held, because predictors in threads share
   one interpreter lock with the event loop. A request over the limit is refused with 503
   ``busy`` and ``Retry-After``, from bytes prepared once.
2. **Refusals are paced.** While refusals stay under ``REFUSAL_RATE`` per second they are
   answered at once; past it, each one is held about ``REFUSAL_HOLD_S`` seconds before its 503
   (an asyncio timer: no CPU while held), so clients that resend at once can make at most about
   ``connections / REFUSAL_HOLD_S`` refusals per second (a refusal costs about 45 us of a core
   at the connection, 75 us here: 0.9.0, 2-core AMD EPYC), and the CPU stays with admitted
   work. Every answer still comes within a second.

3. **A retry that waited ``Retry-After`` goes first.** The last ``RETRY_SHARE`` of the queue
   is kept for requests on connections that were refused at least ``Retry-After`` seconds
   before, so that clients that honour ``Retry-After`` see their retries answered while a crowd
   that resends at once keeps the rest of the queue full; a connection is known by its address
   and port (the last ``REMEMBERED`` refused ones).

The same decision is made earlier, at the connection, for a plain prediction request
(:mod:`kbd_lm.serve.protocol`): most refusals never reach this layer.

>>> Admission.limit_for(size=2, queue_wait=0.1, throughput=400.0)
22
>>> Admission.limit_for(size=2, queue_wait=0.1, throughput=None)  # not measured yet
inf
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
import random
import time
from collections import OrderedDict

from starlette.types import ASGIApp, Receive, Scope, Send

from kbd_lm.serve.auth import authorized

log = logging.getLogger(__name__)

RETRY_AFTER_S = 1  # what a refused client is told to wait (whole seconds, RFC 9110)
# Refusals answered at once, per second: polite clients and light overload get a quick 503
# (50 a second cost under 0.5% of a core).
REFUSAL_RATE = 50.0
# How long a refusal past that rate waits for its answer: long enough that 1,024 connections
# that resend at once make about 1,400 refusals a second (a few percent of a core when they
# are refused at the connection, kbd_lm.serve.protocol), short enough that with the jitter
# (+-5%), a busy event loop and a burst of new connections every answer comes within a second.
REFUSAL_HOLD_S = 0.7
# The share of the queue wait the admitted queue may fill: the rest is slack for what also
# delays a request before it reaches a predictor (parsing, validation, a busy event loop), so
# that admitted requests seldom time out in the pool (a timeout there costs the whole parse).
QUEUE_SHARE = 0.5
THROUGHPUT_WINDOW_S = 0.25  # completions are counted over windows this long
# Of the queue, kept for retries that waited Retry-After: with 0.3, 40-47% of polite retries
# were answered in tests/serve/test_goodput.py, with 0.5 over half (0.9.0, 2-core AMD EPYC).
RETRY_SHARE = 0.5
REMEMBERED = 16_384  # refused connections remembered for rule 3 (the oldest are forgotten)
# The scope key the connection-level check sets on a request it passed on (counted in
# ``Admission.passed`` until the request reaches the layer).
PASSED = "kbd_lm.admission.passed"
SUMMARY_EVERY_S = 10.0  # one log line with the refusals of that long, not one per request

REFUSAL_BODY = json.dumps(
    {"error": "busy", "message": "server busy: every predictor has a full queue; retry shortly"}
).encode()
_HEADERS = [
    (b"content-type", b"application/json"),
    (b"content-length", str(len(REFUSAL_BODY)).encode()),
    (b"retry-after", str(RETRY_AFTER_S).encode()),
]
_START = {"type": "http.response.start", "status": 503, "headers": _HEADERS}
_START_CLOSE = {**_START, "headers": [*_HEADERS, (b"connection", b"close")]}
_END = {"type": "http.response.body", "body": REFUSAL_BODY, "more_body": False}
_HEAD = b"".join(b"%s: %s\r\n" % pair for pair in _HEADERS)


def refusal_head(scope: Scope, origins: list[str]) -> bytes:
    """The header lines of a refusal, as bytes (for a refusal written at the connection).

    >>> refusal_head({"headers": []}, []).splitlines()[-1]
    b'retry-after: 1'
    """
    cors = cors_headers(scope, origins)
    return _HEAD + b"".join(b"%s: %s\r\n" % pair for pair in cors) if cors else _HEAD


def cors_headers(scope: Scope, origins: list[str]) -> list[tuple[bytes, bytes]]:
    """The headers Starlette's CORSMiddleware (``allow_credentials`` off) adds to the answer
    of a simple request from ``Origin`` when it is allowed: the same on a refusal.

    >>> cors_headers({"headers": [(b"origin", b"https://a.example")]}, ["https://a.example"])
    [(b'access-control-allow-origin', b'https://a.example'), (b'vary', b'Origin')]
    >>> cors_headers({"headers": [(b"origin", b"https://b.example")]}, ["*"])
    [(b'access-control-allow-origin', b'*')]
    """
    if not origins:
        return []
    origin = next((v for k, v in scope.get("headers") or [] if k == b"origin"), None)
    if origin is None:
        return []
    if "*" in origins:
        return [(b"access-control-allow-origin", b"*")]
    if origin.decode("latin-1") in origins:
        return [(b"access-control-allow-origin", origin), (b"vary", b"Origin")]
    return []


class RefusalPacer:
    """A token bucket of immediate refusals: ``rate`` per second, bursts of ``rate / 10``.

    :meth:`delay` says how long the next refusal waits: 0 while the bucket has a token,
    else ``hold`` (with +-5% jitter, so held clients do not come back in step).

    >>> pacer = RefusalPacer(rate=20.0, hold=0.5)
    >>> pacer.delay(now=0.0), pacer.delay(now=0.0)
    (0.0, 0.0)
    >>> 0.475 <= pacer.delay(now=0.0) <= 0.525
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
        return self.hold * random.uniform(0.95, 1.05)


class Throughput:
    """What the server answers per second when its predictors are all busy: the answers of
    each window of ``window`` seconds in which they were (:meth:`busy` was called), averaged
    over the recent ones; None until one such window has passed (the pool's own queue wait
    bounds the requests then).

    >>> t = Throughput(window=0.25)
    >>> for i in range(100):  # 200 answers a second for half a second, predictors busy
    ...     t.busy(now=i * 0.005)
    ...     t.done(now=i * 0.005)
    >>> t.per_second(now=0.5)
    200.0
    """

    def __init__(self, window: float = THROUGHPUT_WINDOW_S, weight: float = 0.3) -> None:
        self.window, self.weight = window, weight
        self.start, self.count, self.saturated = 0.0, 0, False
        self.rate: float | None = None

    def _roll(self, now: float) -> None:
        if now - self.start < self.window:
            return
        if self.saturated and now - self.start < 2 * self.window:  # a full, busy window
            rate = self.count / (now - self.start)
            self.rate = (
                rate if self.rate is None else rate * self.weight + self.rate * (1 - self.weight)
            )
        self.start, self.count, self.saturated = now, 0, False

    def busy(self, now: float | None = None) -> None:
        """Every predictor is busy now: this window measures the server's capacity."""
        self._roll(time.monotonic() if now is None else now)
        self.saturated = True

    def done(self, now: float | None = None) -> None:
        self._roll(time.monotonic() if now is None else now)
        self.count += 1

    def per_second(self, now: float | None = None) -> float | None:
        self._roll(time.monotonic() if now is None else now)
        return self.rate


class Admission:
    """Pure ASGI layer in front of the prediction route (see the module docstring).

    ``state``: the app's state, whose ``pool`` (a :class:`~kbd_lm.serve.pool.PredictorPool`,
    set by the lifespan) gives the size and the queue wait; ``path``: the route it guards
    (other requests pass through untouched); ``on_refused``: called once per refusal (a
    metrics counter). It is the outermost of the server's own layers, so a refusal skips them
    all; so that it changes nothing else they do, a request without a valid key (``keys``) is
    left to the key check (401, never 503), and a refusal carries the CORS headers a page of
    one of ``cors_origins`` needs to read it.
    """

    def __init__(
        self,
        app: ASGIApp,
        state,
        path: str,
        pacer: RefusalPacer | None = None,
        on_refused=None,
        keys: list[str] | None = None,
        cors_origins: list[str] | None = None,
    ) -> None:
        self.app, self.state, self.path = app, state, path
        self.pacer = pacer or RefusalPacer()
        self.on_refused = on_refused
        self.keys, self.cors_origins = keys or [], cors_origins or []
        self.throughput = Throughput()
        state.admission = self  # for the connection-level check (kbd_lm.serve.protocol)
        self.inside = 0  # admitted prediction requests not yet answered
        # Requests the connection-level check passed on whose task has not reached this layer
        # yet: a burst of requests read at once counts before its tasks run.
        self.passed = 0
        # (address, port) of a refused connection -> when it was last refused
        self._refused_at: OrderedDict[tuple, float] = OrderedDict()
        self._refused_since, self._summary_at = 0, time.monotonic()

    @staticmethod
    def limit_for(size: int, queue_wait: float, throughput: float | None) -> float:
        """How many prediction requests may be inside at once: every predictor busy, plus the
        queue that drains within ``queue_wait`` at ``throughput`` answers a second; at least
        two per predictor; no limit before the throughput is measured."""
        if throughput is None:
            return math.inf
        return max(2 * size, size + math.floor(throughput * queue_wait * QUEUE_SHARE))

    def guards(self, scope: Scope) -> bool:
        """Whether this layer decides on the request: a prediction with a valid key (if keys
        are set), the predictors loaded."""
        return (
            scope["type"] == "http"
            and scope["path"] == self.path
            and getattr(self.state, "pool", None) is not None
            and authorized(scope, self.keys)
        )

    def should_refuse(self, scope: Scope) -> bool:
        """Whether a prediction request that arrives now is refused (rules 1 and 3); it changes
        nothing but the throughput's note that the predictors are busy, so the connection-level
        check (:mod:`kbd_lm.serve.protocol`) and this layer can both ask."""
        pool = self.state.pool
        # Inside: what this layer admitted, or what the pool holds (busy and waiting) if more.
        inside = max(self.inside, pool.size - pool.available + pool.waiting) + self.passed
        if inside >= pool.size:
            self.throughput.busy()
        limit = self.limit_for(pool.size, pool.queue_wait, self.throughput.per_second())
        if inside < limit * (1 - RETRY_SHARE):
            return False
        return inside >= limit or not self._waited(scope.get("client"))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope.pop(PASSED, False):
            self.passed -= 1
        if not self.guards(scope):
            await self.app(scope, receive, send)
            return
        if self.should_refuse(scope):
            await self._refuse(scope, receive, send)
            return
        self._refused_at.pop(scope.get("client"), None)  # its retry is this request
        self.inside += 1
        try:
            await self.app(scope, receive, send)
        finally:
            self.inside -= 1
            self.throughput.done()

    def _waited(self, client: tuple | None) -> bool:
        """Whether this connection was refused at least ``Retry-After`` ago."""
        when = self._refused_at.get(client)
        return when is not None and time.monotonic() - when >= RETRY_AFTER_S

    def note_refusal(self, client: tuple | None) -> float:
        """Count a refusal of ``client``'s request (metrics, the periodic log line, rule 3's
        memory); returns how long its answer waits (rule 2)."""
        if client is not None:
            self._refused_at[client] = time.monotonic()
            self._refused_at.move_to_end(client)
            if len(self._refused_at) > REMEMBERED:
                self._refused_at.popitem(last=False)
        if self.on_refused is not None:
            self.on_refused()
        self._count_refusal()
        return self.pacer.delay()

    async def _refuse(self, scope: Scope, receive: Receive, send: Send) -> None:
        delay = self.note_refusal(scope.get("client"))
        # A prediction's small body is here with its head: read it, so the connection can
        # carry the next request. A body still coming (chunked, large) is not read: the
        # answer closes the connection instead.
        message = await receive()
        if delay:
            await asyncio.sleep(delay)
        start = _START if not message.get("more_body") else _START_CLOSE
        cors = cors_headers(scope, self.cors_origins)
        await send({**start, "headers": [*start["headers"], *cors]} if cors else start)
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
