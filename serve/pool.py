"""A pool of predictors so that concurrent requests run in parallel without sharing one.

A :class:`~kbd_lm.inference.predictor.Predictor` owns TFLite interpreters (and a state cache)
that are not thread-safe, so each request borrows a whole predictor: it waits in the event
loop for a free one, runs ``suggest`` in a worker thread, and gives it back when the thread is
done, even if the request was cancelled meanwhile.

Where ``suggest`` runs (``executor``): ``"threads"`` runs it in a worker thread on a borrowed
predictor, as described above; ``"loop"`` (the default) queues it for the event loop itself,
which runs the queue one suggestion after another for up to ``LOOP_SLICE_S`` and then gives a
turn to its reads, writes, refusals and new connections. The loop is the faster of the two in
one process: a suggestion is mostly Python (the beam search) between short interpreter calls
that release the interpreter lock, so worker threads spend much of their time handing the lock
back and forth with the event loop, the more so the more connections it serves (figures in
``docs/results.md``, section *Overload*). More cores are used by more server processes
(``--workers``).

Overload is shed, not queued: a request that gets no predictor within ``queue_wait`` seconds
(``KBD_LM_QUEUE_WAIT_MS``, 100 ms by default) fails with :class:`PoolBusyError` (the app
answers 503 with ``Retry-After``) instead of waiting for seconds behind a growing queue: a
suggestion that comes late is of no use to someone typing, and an overloaded server stays
responsive. Waiters are served first come, first served.

>>> pool = PredictorPool.load(Bundle.load("dist/bundle"), size=2)   # doctest: +SKIP
>>> await pool.suggest("see you ", k=3)                              # doctest: +SKIP
[Suggestion(word='tomorrow', probability=0.21), ...]
"""

from __future__ import annotations

import asyncio
import logging
import time
import weakref
from collections import deque
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager

import anyio
import anyio.to_thread

from kbd_lm.inference.bundle import Bundle
from kbd_lm.inference.suggestion import Suggester, Suggestion
from kbd_lm.typing.layouts import DEFAULT_LAYOUT

log = logging.getLogger(__name__)

QUEUE_WAIT_S = 0.1  # the default longest wait for a free predictor
EXECUTORS = ("loop", "threads")  # where suggest runs (see the module docstring)
# How long the loop runs queued suggestions before it serves its connections again: a few
# suggestions (about 1.5 ms each for the default model on a 2.6 GHz AMD EPYC), so that the
# loop's turn is paid per few answers, not per answer, and no read waits longer than this.
LOOP_SLICE_S = 0.005


class NativeSuggester:
    """A :class:`~kbd_lm.inference.native_engine.NativePredictor` as the server's suggester:
    the history store's :class:`~kbd_lm.history.user_history.UserHistory` is read into the
    library's history (its file's bytes) once and kept while the store keeps that object (the
    store hands out a new object for every version and never changes one it handed out).

    >>> NativeSuggester(NativePredictor.load("dist/bundle")).suggest("see yo", 3)  # doctest: +SKIP
    [Suggestion(word='you', probability=0.81), ...]
    """

    def __init__(self, predictor) -> None:
        self.predictor = predictor
        # UserHistory -> NativeHistory; an entry goes when the store drops its history
        self._histories: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()

    def suggest(self, text: str, k: int = 3, history=None, hint: str | None = None, **correction):
        # ``correction``: correct, layout, taps as Predictor.suggest takes them (the route
        # checked them against the bundle's typing.json)
        native = None
        if history is not None:
            native = self._histories.get(history)
            if native is None:
                native = self.predictor.history_from_bytes(history.to_bytes())
                self._histories[history] = native
        return self.predictor.suggest(text, k, history=native, hint=hint, **correction)


class PoolBusyError(Exception):
    """No predictor became free within the pool's queue wait."""


class PredictorPool:
    """``size`` suggesters used one request at a time each.

    ``suggesters``: objects with ``suggest(text, k) -> list[Suggestion]`` (normally
    :class:`~kbd_lm.inference.predictor.Predictor` instances of one bundle); ``model_id``: the
    id that responses report; ``queue_wait``: seconds to wait for a free suggester before
    :class:`PoolBusyError`.
    """

    def __init__(
        self,
        suggesters: Sequence[Suggester],
        model_id: str,
        queue_wait: float = QUEUE_WAIT_S,
        executor: str = "threads",
    ) -> None:
        if not suggesters:
            raise ValueError("a pool needs at least one suggester")
        if executor not in EXECUTORS:
            raise ValueError(f"executor {executor!r}: use one of {', '.join(EXECUTORS)}")
        if executor == "loop" and len(suggesters) != 1:
            raise ValueError("executor 'loop' runs one suggester: pool size 1, or 'threads'")
        self.executor = executor
        # The loop's queue: (call, future, deadline) of each request waiting to run.
        self._queue: deque[tuple[Callable, object, float]] = deque()
        self._draining = False
        self.model_id = model_id
        self.size = len(suggesters)
        self.queue_wait = queue_wait
        self._free: deque[Suggester] = deque(suggesters)
        self._slots = anyio.Semaphore(len(suggesters))
        # Called with the number of free suggesters whenever it changes (metrics).
        self.on_available: Callable[[int], None] | None = None
        self.waiting = 0  # requests waiting for a suggester now
        self.hold_s: float | None = None  # moving average of how long a request holds one

    @classmethod
    def load(
        cls,
        bundle: Bundle,
        size: int = 2,
        executor: str = "threads",
        runtime: str = "litert",
        beam_width: int | None = None,
        num_threads: int = 1,
        queue_wait: float = QUEUE_WAIT_S,
        engine: str = "python",
    ) -> PredictorPool:
        """``size`` predictors over one verified bundle (one interpreter set each), with the
        bundle's beam width or a narrower ``beam_width``. ``engine="native"``: predictors of
        the native library (:class:`NativeSuggester`; ``runtime``, ``beam_width`` and
        ``num_threads`` are the bundle's and LiteRT's).

        Raises :class:`~kbd_lm.inference.bundle.BundleError` if the runtime is too old for the
        bundle or ``beam_width`` is wider than the bundle's (the message names both), and
        :class:`~kbd_lm.inference.native_engine.NativeLibraryError` naming the library's file
        when the native engine has none.
        """
        from kbd_lm.inference.predictor import Predictor

        started = time.perf_counter()
        if engine == "native":
            from kbd_lm.inference.native_engine import NativePredictor

            predictors = [NativeSuggester(NativePredictor.load(bundle.path)) for _ in range(size)]
        else:
            predictors = [
                Predictor(bundle, runtime=runtime, beam_width=beam_width, num_threads=num_threads)
                for _ in range(size)
            ]
        log.info(
            "loaded %d %s predictor(s) for %s in %.0f ms",
            size,
            engine,
            bundle.bundle_id,
            (time.perf_counter() - started) * 1000,
        )
        return cls(predictors, bundle.bundle_id, queue_wait, executor)

    @property
    def available(self) -> int:
        """How many suggesters are free right now."""
        return len(self._free)

    @asynccontextmanager
    async def borrow(self, waited: float = 0.0) -> AsyncIterator[Suggester]:
        """Hold one free suggester for the ``async with`` block (for work outside ``suggest``).

        ``waited``: seconds the request already spent in the server before asking (they
        count against ``queue_wait``). A free suggester is always taken; otherwise raises
        :class:`PoolBusyError` when none frees up within the rest of ``queue_wait`` less the
        recent time a request holds one, so that the answer, too, comes within about
        ``queue_wait``.
        """
        try:
            self._slots.acquire_nowait()  # free now (no one waits then: first come first served)
        except anyio.WouldBlock:
            self.waiting += 1
            try:
                budget = self.queue_wait - waited - (self.hold_s or 0.0)
                with anyio.fail_after(max(0.0, budget)):
                    await self._slots.acquire()
            except TimeoutError:
                raise PoolBusyError(self._busy_message()) from None
            finally:
                self.waiting -= 1
        suggester = self._free.popleft()
        self._changed()
        taken = time.perf_counter()
        try:
            yield suggester
        finally:
            self._note_hold(time.perf_counter() - taken)
            self._free.append(suggester)
            self._changed()
            self._slots.release()

    def _changed(self) -> None:
        if self.on_available is not None:
            self.on_available(len(self._free))

    async def suggest(
        self,
        text: str,
        k: int = 3,
        history=None,
        waited: float = 0.0,
        hint: str | None = None,
        correct: bool = False,
        layout: str = DEFAULT_LAYOUT,
        taps: Sequence[tuple[float, float]] | None = None,
    ) -> list[Suggestion]:
        """Borrow a free suggester, run ``suggest(text, k)`` on the loop or in a worker thread
        (``executor``), return its suggestions.

        ``history``, ``hint``: a user's history and a field hint, passed on as
        ``suggest(text, k, history=..., hint=...)`` when given; ``correct``, ``layout`` and
        ``taps`` (typo correction) as ``suggest(..., correct=True, layout=..., taps=...)``
        when ``correct`` is true (without it, the call carries no correction argument at all,
        as a suggester that does not correct takes it).
        Raises :class:`PoolBusyError` when none is free within ``queue_wait`` seconds
        (less ``waited``, as :meth:`borrow`).
        """
        extra = {"history": history} if history is not None else {}
        if hint is not None:
            extra["hint"] = hint
        if correct:
            extra.update(correct=True, layout=layout, taps=taps)
        if self.executor == "loop":
            return await self._on_loop(lambda p: p.suggest(text, k, **extra), waited)
        async with self.borrow(waited) as suggester:
            # Not abandoned on cancel: the suggester goes back once its thread is done.
            return await anyio.to_thread.run_sync(lambda: suggester.suggest(text, k, **extra))

    async def _on_loop(self, call: Callable[[Suggester], list[Suggestion]], waited: float):
        """Queue ``call(suggester)`` for the loop (executor ``"loop"``) and wait for its result,
        or :class:`PoolBusyError` once it has waited the rest of ``queue_wait``."""
        loop = asyncio.get_running_loop()
        future = loop.create_future()
        budget = max(0.0, self.queue_wait - waited - (self.hold_s or 0.0))
        self._queue.append((call, future, time.perf_counter() + budget))
        self.waiting += 1
        if not self._draining:
            self._draining = True
            loop.call_soon(self._drain)
        try:
            with anyio.fail_after(budget + LOOP_SLICE_S):
                return await future
        except TimeoutError:
            raise PoolBusyError(self._busy_message()) from None

    def _drain(self) -> None:
        """Run queued calls for up to ``LOOP_SLICE_S``; the rest in the loop's next turn."""
        suggester, start = self._free[0], time.perf_counter()
        now = start
        while self._queue and now - start < LOOP_SLICE_S:
            call, future, deadline = self._queue.popleft()
            self.waiting -= 1
            if future.done():  # its request gave up (cancelled, timed out)
                continue
            if now > deadline:
                future.set_exception(PoolBusyError(self._busy_message()))
                continue
            try:
                future.set_result(call(suggester))
            except Exception as err:  # noqa: BLE001 - the request's own error, raised there
                future.set_exception(err)
            held, now = time.perf_counter() - now, time.perf_counter()
            self._note_hold(held)
        if self._queue:
            asyncio.get_running_loop().call_soon(self._drain)
        else:
            self._draining = False

    def _note_hold(self, held: float) -> None:
        """A request held a suggester ``held`` seconds: the moving average ``hold_s``."""
        self.hold_s = held if self.hold_s is None else 0.9 * self.hold_s + 0.1 * held

    def _busy_message(self) -> str:
        return f"all {self.size} predictors stayed busy for {self.queue_wait * 1000:g} ms"
