"""Request metrics and their Prometheus text exposition (format 0.0.4), without a dependency.

Series (all prefixed ``kbd_lm_``):

- ``http_requests_total{route,method,status}``: counter of answered requests;
- ``http_request_duration_seconds{route}``: histogram of the time to answer;
- ``errors_total{code}``: counter of error answers by their ``error`` code (4xx and 5xx);
- ``requests_in_flight``, ``pool_size``, ``pool_available``: gauges;
- ``model_info{model}``: 1 for the loaded bundle id.

Routes are the app's own paths; any other path is counted as ``other`` so that scanners
cannot grow the number of series.

>>> m = Metrics()
>>> m.observe("/healthz", "GET", 200, 0.0004)
>>> 'kbd_lm_http_requests_total{route="/healthz",method="GET",status="200"} 1' in m.render()
True
"""

from __future__ import annotations

import bisect
import threading
from collections import defaultdict
from collections.abc import Callable

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
# Seconds; a keyboard needs answers well under a frame or two (16-33 ms).
BUCKETS = (0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _labels(**labels: str) -> str:
    return ",".join(f'{k}="{_escape(str(v))}"' for k, v in labels.items())


def _number(x: float) -> str:
    if x == float("inf"):
        return "+Inf"
    return repr(float(x)) if not float(x).is_integer() else str(int(x))


class _Histogram:
    def __init__(self) -> None:
        self.counts = [0] * (len(BUCKETS) + 1)  # last: above every bucket
        self.total = 0.0
        self.n = 0

    def observe(self, seconds: float) -> None:
        self.counts[bisect.bisect_left(BUCKETS, seconds)] += 1
        self.total += seconds
        self.n += 1


class Metrics:
    """Thread-safe counters and histograms for one app; :meth:`render` exposes them.

    ``gauges``: name -> (help, callable returning the current value), read at render time.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._requests: dict[tuple[str, str, int], int] = defaultdict(int)
        self._latency: dict[str, _Histogram] = defaultdict(_Histogram)
        self._errors: dict[str, int] = defaultdict(int)
        self.in_flight = 0
        self.model_id: str | None = None
        self.gauges: dict[str, tuple[str, Callable[[], float]]] = {}

    def observe(self, route: str, method: str, status: int, seconds: float) -> None:
        """Count one answered request and its duration."""
        with self._lock:
            self._requests[(route, method, status)] += 1
            self._latency[route].observe(seconds)

    def error(self, code: str) -> None:
        """Count one error answer by its ``error`` code (``invalid_json``, ``busy``…)."""
        with self._lock:
            self._errors[code] += 1

    def request_count(self, route: str, method: str, status: int) -> int:
        """How many requests were answered with this route, method and status."""
        with self._lock:
            return self._requests.get((route, method, status), 0)

    def render(self) -> str:
        """The exposition text, one block per metric family, ending in a newline."""
        with self._lock:
            requests = sorted(self._requests.items())
            latency = {r: (list(h.counts), h.total, h.n) for r, h in sorted(self._latency.items())}
            errors = sorted(self._errors.items())
            in_flight = self.in_flight
        out = [
            "# HELP kbd_lm_http_requests_total Requests answered, by route, method and status.",
            "# TYPE kbd_lm_http_requests_total counter",
        ]
        for (route, method, status), n in requests:
            labels = _labels(route=route, method=method, status=str(status))
            out.append(f"kbd_lm_http_requests_total{{{labels}}} {n}")
        out += [
            "# HELP kbd_lm_http_request_duration_seconds Time to answer a request, by route.",
            "# TYPE kbd_lm_http_request_duration_seconds histogram",
        ]
        for route, (counts, total, n) in latency.items():
            cumulative = 0
            for le, count in zip((*BUCKETS, float("inf")), counts, strict=True):
                cumulative += count
                labels = _labels(route=route, le=_number(le))
                out.append(f"kbd_lm_http_request_duration_seconds_bucket{{{labels}}} {cumulative}")
            out.append(
                f"kbd_lm_http_request_duration_seconds_sum{{{_labels(route=route)}}} "
                f"{_number(total)}"
            )
            out.append(f"kbd_lm_http_request_duration_seconds_count{{{_labels(route=route)}}} {n}")
        out += [
            "# HELP kbd_lm_errors_total Error answers, by error code.",
            "# TYPE kbd_lm_errors_total counter",
        ]
        out += [f"kbd_lm_errors_total{{{_labels(code=code)}}} {n}" for code, n in errors]
        out += [
            "# HELP kbd_lm_requests_in_flight Requests being answered now.",
            "# TYPE kbd_lm_requests_in_flight gauge",
            f"kbd_lm_requests_in_flight {in_flight}",
        ]
        for name, (help_text, read) in sorted(self.gauges.items()):
            out += [
                f"# HELP kbd_lm_{name} {help_text}",
                f"# TYPE kbd_lm_{name} gauge",
                f"kbd_lm_{name} {_number(read())}",
            ]
        if self.model_id is not None:
            out += [
                "# HELP kbd_lm_model_info The loaded bundle (value is always 1).",
                "# TYPE kbd_lm_model_info gauge",
                f"kbd_lm_model_info{{{_labels(model=self.model_id)}}} 1",
            ]
        return "\n".join(out) + "\n"
