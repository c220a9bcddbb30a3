"""A pool of predictors so that concurrent requests run in parallel without sharing one.

A :class:`~kbd_lm.predict.Predictor` owns TFLite interpreters (and a state cache) that are not
thread-safe, so each request borrows a whole predictor: it waits in the event loop for a free
one (bounded by a timeout), runs ``suggest`` in a worker thread, and gives it back when the
thread is done, even if the request was cancelled meanwhile.

>>> pool = PredictorPool.load(Bundle.load("dist/bundle"), size=2)   # doctest: +SKIP
>>> await pool.suggest("see you ", k=3)                              # doctest: +SKIP
[Suggestion(word='tomorrow', probability=0.21), ...]
"""

from __future__ import annotations

import logging
import time
from collections import deque
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager

import anyio
import anyio.to_thread

from kbd_lm.bundle import Bundle
from kbd_lm.suggestion import Suggester, Suggestion

log = logging.getLogger(__name__)


class PoolBusyError(Exception):
    """No predictor became free within the pool's acquire timeout."""


class PredictorPool:
    """``size`` suggesters used one request at a time each.

    ``suggesters``: objects with ``suggest(text, k) -> list[Suggestion]`` (normally
    :class:`~kbd_lm.predict.Predictor` instances of one bundle); ``model_id``: the id that
    responses report; ``acquire_timeout``: seconds to wait for a free suggester before
    :class:`PoolBusyError`.
    """

    def __init__(
        self, suggesters: Sequence[Suggester], model_id: str, acquire_timeout: float = 2.0
    ) -> None:
        if not suggesters:
            raise ValueError("a pool needs at least one suggester")
        self.model_id = model_id
        self.size = len(suggesters)
        self.acquire_timeout = acquire_timeout
        self._free: deque[Suggester] = deque(suggesters)
        self._slots = anyio.Semaphore(len(suggesters))

    @classmethod
    def load(
        cls,
        bundle: Bundle,
        size: int = 2,
        runtime: str = "litert",
        beam_width: int = 8,
        num_threads: int = 1,
        acquire_timeout: float = 2.0,
    ) -> PredictorPool:
        """``size`` predictors over one verified bundle (one interpreter set each).

        Raises :class:`~kbd_lm.bundle.BundleError` if the runtime is too old for the bundle.
        """
        from kbd_lm.predict import Predictor

        started = time.perf_counter()
        predictors = [
            Predictor(bundle, runtime=runtime, beam_width=beam_width, num_threads=num_threads)
            for _ in range(size)
        ]
        log.info(
            "loaded %d predictor(s) for %s in %.0f ms",
            size,
            bundle.bundle_id,
            (time.perf_counter() - started) * 1000,
        )
        return cls(predictors, bundle.bundle_id, acquire_timeout)

    @property
    def available(self) -> int:
        """How many suggesters are free right now."""
        return len(self._free)

    @asynccontextmanager
    async def borrow(self) -> AsyncIterator[Suggester]:
        """Hold one free suggester for the ``async with`` block (for work outside ``suggest``).

        Raises :class:`PoolBusyError` when none is free within ``acquire_timeout`` seconds.
        """
        try:
            with anyio.fail_after(self.acquire_timeout):
                await self._slots.acquire()
        except TimeoutError:
            raise PoolBusyError(
                f"all {self.size} predictors stayed busy for {self.acquire_timeout:g} s"
            ) from None
        suggester = self._free.popleft()
        try:
            yield suggester
        finally:
            self._free.append(suggester)
            self._slots.release()

    async def suggest(self, text: str, k: int = 3, history=None) -> list[Suggestion]:
        """Borrow a free suggester, run ``suggest(text, k)`` in a worker thread, return it.

        ``history``: a user's history, passed on as ``suggest(text, k, history)`` if given.
        Raises :class:`PoolBusyError` when none is free within ``acquire_timeout`` seconds.
        """
        args = (text, k) if history is None else (text, k, history)
        async with self.borrow() as suggester:
            # Not abandoned on cancel: the suggester only goes back once its thread is done.
            return await anyio.to_thread.run_sync(suggester.suggest, *args)
