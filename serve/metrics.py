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
process and hold while the server runs as a single process; a multi-worker server needs
prometheus-client's multiprocess mode instead.

>>> m = Metrics(process=False)
>>> m.observe("/healthz", "GET", 200, 0.0004)
>>> m.request_count("/healthz", "GET", 200)
1.0
>>> print(m.render().decode().splitlines()[2])
kbd_lm_http_requests_total{method="GET",route="/healthz",status="200"} 1.0
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, ProcessCollector
from prometheus_client.exposition import generate_latest

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
NAMESPACE = "kbd_lm"
# Seconds; a keyboard needs answers well under a frame or two (16-33 ms).
BUCKETS = (0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)


class Metrics:
    """The series of one app in their own :class:`~prometheus_client.CollectorRegistry`.

    ``process``: also collect the process's CPU and memory (``process_*``).
    """

    def __init__(self, process: bool = True) -> None:
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
        self.in_flight = Gauge("requests_in_flight", "Requests being answered now.", **series)
        self.pool_size = Gauge("pool_size", "Predictors in the pool.", **series)
        self.pool_available = Gauge("pool_available", "Predictors free now.", **series)
        self.model_info = Gauge(
            "model_info", "The loaded bundle (value is always 1).", ["model"], **series
        )
        if process:
            ProcessCollector(registry=self.registry)

    def observe(self, route: str, method: str, status: int, seconds: float) -> None:
        """Count one answered request and its duration."""
        self.requests.labels(route=route, method=method, status=str(status)).inc()
        self.latency.labels(route=route).observe(seconds)

    def error(self, code: str) -> None:
        """Count one error answer by its ``error`` code (``invalid_json``, ``busy``…)."""
        self.errors.labels(code=code).inc()

    def request_count(self, route: str, method: str, status: int) -> float:
        """How many requests were answered with this route, method and status."""
        labels = {"route": route, "method": method, "status": str(status)}
        value = self.registry.get_sample_value(f"{NAMESPACE}_http_requests_total", labels)
        return value or 0.0

    def watch_pool(self, pool) -> None:
        """Report ``pool``'s size and free predictors (read at each scrape) and its model id."""
        self.pool_size.set_function(lambda: pool.size)
        self.pool_available.set_function(lambda: pool.available)
        self.model_info.clear()
        self.model_info.labels(model=pool.model_id).set(1)

    def render(self) -> bytes:
        """The exposition text (format 0.0.4) of every series in the registry."""
        return generate_latest(self.registry)
