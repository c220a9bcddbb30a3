"""The server's Prometheus metrics (``prometheus-client``), one registry per app.

Series (``GET /metrics``, text format 0.0.4):

- ``kbd_lm_http_requests_total{route,method,status}``: counter of answered requests;
- ``kbd_lm_http_request_duration_seconds{route}``: histogram of the time to answer;
- ``kbd_lm_errors_total{code}``: counter of error answers by their ``error`` code;
- ``kbd_lm_requests_in_flight``, ``kbd_lm_pool_size``, ``kbd_lm_pool_available``: gauges;
- ``kbd_lm_model_info{model}``: 1 for the loaded bundle id;
- ``process_*`` (CPU seconds, resident and virtual memory, open files, start time) of the
  server process, where the platform has ``/proc``.

Labels never hold what users send: ``route`` is the route's template (``/v1/predict-next``,
``/users/{user_id}``), or ``other`` for any path the app does not serve, so that neither
user ids nor scanners can grow the number of series.

The registry belongs to one :class:`Metrics` (one per app, made by ``create_app``), so two
apps in one process, as in the tests, count separately. Process metrics describe the whole
process and hold while the server runs as a single process.

Several server processes (``kbd-lm serve --workers N``, :mod:`kbd_lm.serve.workers`) use
prometheus-client's multiprocess mode, switched on by ``PROMETHEUS_MULTIPROC_DIR``: every
process writes its series to files in that folder and whichever process answers
``/metrics`` adds them all up, so counters and histograms count every process's requests;
the gauges add up the live processes' values (``model_info`` is the largest). A process that
died without closing its metrics (a killed worker, which uvicorn replaces) leaves its gauges
behind; each scrape drops those (:func:`forget_dead_processes`), so that a replaced worker's
pool is not counted twice. That mode cannot collect ``process_*`` series, so a multi-process
server has none.

>>> m = Metrics(process=False)
>>> m.observe("/healthz", "GET", 200, 0.0004)
>>> m.request_count("/healthz", "GET", 200)
1.0
>>> print(m.render().decode().splitlines()[2])
kbd_lm_http_requests_total{method="GET",route="/healthz",status="200"} 1.0
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, ProcessCollector
from prometheus_client.exposition import generate_latest
from prometheus_client.multiprocess import MultiProcessCollector, mark_process_dead

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
NAMESPACE = "kbd_lm"
# Seconds; a keyboard needs answers well under a frame or two (16-33 ms).
BUCKETS = (0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)
MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"  # read by prometheus-client when it is imported


def multiprocess_dir() -> str | None:
    """The folder of prometheus-client's multiprocess mode, or None (one process)."""
    return os.environ.get(MULTIPROC_ENV) or None


def forget_dead_processes(folder: str) -> list[int]:
    """Drop the live gauges (``gauge_live*_<pid>.db``) of processes that no longer run; the
    pids dropped. A process that stops cleanly does this itself (:meth:`Metrics.close`); a
    killed one cannot. A pid counts as running while the system has a process by that number
    (a pid reused that soon keeps the gauges until it ends)."""
    pids = {int(p.stem.rsplit("_", 1)[1]) for p in Path(folder).glob("gauge_live*_*.db")}
    dead = sorted(pid for pid in pids if not _running(pid))
    for pid in dead:
        with contextlib.suppress(FileNotFoundError):  # another process's scrape was first
            mark_process_dead(pid, folder)
    return dead


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)  # signal 0: checks only that the process exists
    except ProcessLookupError:
        return False
    except PermissionError:  # it exists, under another user
        return True
    return True


class Metrics:
    """The series of one app in their own :class:`~prometheus_client.CollectorRegistry`.

    ``process``: also collect the process's CPU and memory (``process_*``), unless in
    multiprocess mode (``PROMETHEUS_MULTIPROC_DIR`` set), which cannot.
    """

    def __init__(self, process: bool = True) -> None:
        self.multiprocess = multiprocess_dir()
        self.registry = CollectorRegistry()
        series = {"namespace": NAMESPACE, "registry": self.registry}
        self.requests = Counter(
            "http_requests",
            "Requests answered, by route, method and status.",
            ["route", "method", "status"],
            **series,
        )
        self.latency = Histogram(
            "http_request_duration_seconds",
            "Time to answer a request, by route.",
            ["route"],
            buckets=BUCKETS,
            **series,
        )
        self.errors = Counter("errors", "Error answers, by error code.", ["code"], **series)
        # The labelled series already used, so that a request does not look them up again.
        self._series: dict[tuple, tuple] = {}
        self._errors: dict[str, Counter] = {}
        live_sum = {**series, "multiprocess_mode": "livesum"}  # over the live processes
        self.in_flight = Gauge("requests_in_flight", "Requests being answered now.", **live_sum)
        self.pool_size = Gauge("pool_size", "Predictors in the pool.", **live_sum)
        self.pool_available = Gauge("pool_available", "Predictors free now.", **live_sum)
        self.model_info = Gauge(
            "model_info",
            "The loaded bundle (value is always 1).",
            ["model"],
            **series,
            multiprocess_mode="livemax",
        )
        if process and not self.multiprocess:
            ProcessCollector(registry=self.registry)

    def _collected(self) -> CollectorRegistry:
        """The registry to read: this process's, or every process's in multiprocess mode."""
        if not self.multiprocess:
            return self.registry
        forget_dead_processes(self.multiprocess)
        registry = CollectorRegistry()
        MultiProcessCollector(registry, path=self.multiprocess)
        return registry

    def observe(self, route: str, method: str, status: int, seconds: float) -> None:
        """Count one answered request and its duration."""
        key = (route, method, status)
        series = self._series.get(key)
        if series is None:  # routes are templates and codes few: the dict stays small
            series = self._series[key] = (
                self.requests.labels(route=route, method=method, status=str(status)),
                self.latency.labels(route=route),
            )
        series[0].inc()
        series[1].observe(seconds)

    def error(self, code: str) -> None:
        """Count one error answer by its ``error`` code (``invalid_json``, ``busy``…)."""
        counter = self._errors.get(code)
        if counter is None:
            counter = self._errors[code] = self.errors.labels(code=code)
        counter.inc()

    def request_count(self, route: str, method: str, status: int) -> float:
        """How many requests were answered with this route, method and status."""
        labels = {"route": route, "method": method, "status": str(status)}
        value = self._collected().get_sample_value(f"{NAMESPACE}_http_requests_total", labels)
        return value or 0.0

    def watch_pool(self, pool) -> None:
        """Report ``pool``'s size and free predictors and its model id."""
        if not self.multiprocess:  # there, a new pool means a new process
            self.model_info.clear()
        self.model_info.labels(model=pool.model_id).set(1)
        if not self.multiprocess:  # read at each scrape
            self.pool_size.set_function(lambda: pool.size)
            self.pool_available.set_function(lambda: pool.available)
            return
        # Other processes read the files: written when the number changes.
        self.pool_size.set(pool.size)
        self.pool_available.set(pool.available)
        pool.on_available = self.pool_available.set

    def close(self) -> None:
        """The process stops serving: its live gauges no longer count (multiprocess mode)."""
        if self.multiprocess:
            mark_process_dead(os.getpid(), self.multiprocess)

    def render(self) -> bytes:
        """The exposition text (format 0.0.4): this process's series, or every process's."""
        return generate_latest(self._collected())
