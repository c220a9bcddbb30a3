"""Closed-loop load: ``connections`` keep-alive connections that each send the next request as
soon as the previous answer comes, whatever it was (as retry loops and clients that ignore
``Retry-After`` do). The offered load then grows with the server's own speed at refusing, so
this is the load that shows whether an overloaded server keeps serving (goodput) or spends
itself on refusals.

The generator is one process of its own (``spawn``), pinned to one core when ``cpu`` is given,
running a minimal HTTP/1.1 client on uvloop (asyncio protocols: no HTTP library on the hot
path), so that it sends several thousand requests per second from one core; its own CPU share
is measured and reported, so a report shows when the client, not the server, was the limit.

>>> result = run_closed_loop("http://127.0.0.1:8000", 64, 10.0, ["hi "])  # doctest: +SKIP
>>> result.ok_per_s, result.refused_per_s, result.ok_p99_ms                        # doctest: +SKIP
(1180.4, 2210.7, 121.3)
"""

from __future__ import annotations

import asyncio
import json
import multiprocessing
import os
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from queue import Empty
from urllib.parse import urlsplit

from kbd_lm.common.stats import percentiles

PATH = "/v1/predict-next"
CONNECT_TIMEOUT_S = 10.0
WATCHDOG_S = 0.05  # how often stalled requests are looked for


@dataclass(frozen=True)
class ClosedLoopResult:
    """What ``connections`` closed-loop clients saw in ``duration_s`` seconds (answers counted
    when they arrive inside the window; latencies from a request's send to its answer)."""

    connections: int
    duration_s: float
    ok: int  # 200s
    refused: int  # 503s
    other: dict[str, int]  # other statuses, "timeout" and "closed" (connection lost)
    offered_per_s: float  # requests sent per second
    ok_per_s: float  # goodput
    refused_per_s: float
    ok_p50_ms: float | None
    ok_p99_ms: float | None
    refused_p50_ms: float | None
    refused_p99_ms: float | None
    max_ms: float | None  # slowest answer of any status
    client_cpu_share: float  # the generator's CPU seconds per wall second (1.0 = one core)
    client_cpu: int | None  # the core it was pinned to
    retries: int = 0  # requests sent after waiting a 503's Retry-After (honour_retry_after)
    retries_ok: int = 0  # of which answered 200

    def as_dict(self) -> dict:
        return asdict(self)


def request_bytes(host: str, text: str, k: int) -> bytes:
    """One ``POST /v1/predict-next`` request, ready to write on a keep-alive connection.

    >>> request_bytes("h:1", "hi", 3).split(b"\\r\\n")[0]
    b'POST /v1/predict-next HTTP/1.1'
    """
    body = json.dumps({"text": text, "k": k}).encode()
    head = (
        f"POST {PATH} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    )
    return head.encode() + body


def parse_head(head: bytes) -> tuple[int, int, float | None]:
    """(status, content length, Retry-After seconds or None) of a response head.

    >>> parse_head(b"HTTP/1.1 503 Service Unavailable\\r\\ncontent-length: 12\\r\\nretry-after: 1")
    (503, 12, 1.0)
    """
    lines = head.split(b"\r\n")
    status = int(lines[0][9:12])
    length, retry = 0, None
    for line in lines[1:]:
        name, _, value = line.partition(b":")
        name = name.strip().lower()
        if name == b"content-length":
            length = int(value)
        elif name == b"retry-after":
            retry = float(value)
    return status, length, retry


class _Client(asyncio.Protocol):
    """One connection: send, wait for the whole answer, record it, send the next."""

    def __init__(self, run: _Run, index: int) -> None:
        self.run, self.next_text = run, index * 7919  # a prime stride: connections start apart
        self.transport = None
        self.buf = bytearray()
        self.sent_at: float | None = None
        self.retrying = False  # the request in flight follows a Retry-After wait

    def connection_made(self, transport) -> None:
        self.transport = transport
        self.run.connected += 1

    def send(self) -> None:
        run = self.run
        if run.stopping or self.transport is None or self.transport.is_closing():
            return
        self.transport.write(run.requests[self.next_text % len(run.requests)])
        self.next_text += 1
        self.sent_at = time.perf_counter()
        run.sent += 1

    def data_received(self, data: bytes) -> None:
        self.buf += data
        while True:
            end = self.buf.find(b"\r\n\r\n")
            if end < 0:
                return
            status, length, retry = parse_head(bytes(self.buf[:end]))
            if len(self.buf) < end + 4 + length:
                return
            del self.buf[: end + 4 + length]
            self._answered(status, retry)

    def _answered(self, status: int, retry: float | None) -> None:
        now = time.perf_counter()
        if self.sent_at is not None:
            self.run.record(str(status), (now - self.sent_at) * 1000.0)
            if self.retrying:
                self.run.record("retry", None)
                if status == 200:
                    self.run.record("retry_ok", None)
        self.sent_at = None
        self.retrying = self.run.honour_retry_after and status == 503 and bool(retry)
        if self.retrying:
            asyncio.get_running_loop().call_later(retry, self.send)
        else:
            self.send()

    def connection_lost(self, exc) -> None:
        if self.sent_at is not None and not self.run.stopping:
            self.run.record("closed", None)
        self.sent_at = None
        self.transport = None
        self.buf.clear()  # a cut answer's bytes are not the start of the next connection's
        if not self.run.stopping:
            self.run.reconnect(self)


class _Run:
    """The state of one closed-loop run inside the generator process."""

    def __init__(self, url, connections, texts, k, timeout, honour_retry_after) -> None:
        parts = urlsplit(url)
        self.host, self.port = parts.hostname, parts.port
        self.connections, self.timeout = connections, timeout
        self.honour_retry_after = honour_retry_after
        self.requests = [request_bytes(parts.netloc, t, k) for t in texts]
        self.clients: list[_Client] = []
        self.connected = self.sent = 0
        self.counting = self.stopping = False
        self.latencies: dict[str, list[float]] = {}
        self.counts: dict[str, int] = {}

    def record(self, kind: str, latency_ms: float | None) -> None:
        if not self.counting:
            return
        self.counts[kind] = self.counts.get(kind, 0) + 1
        if latency_ms is not None:
            self.latencies.setdefault(kind, []).append(latency_ms)

    def reconnect(self, client: _Client) -> None:
        async def again():
            await self._connect(client)
            client.send()

        asyncio.get_running_loop().create_task(again())

    async def _connect(self, client: _Client) -> None:
        loop = asyncio.get_running_loop()
        await loop.create_connection(lambda: client, self.host, self.port)

    async def watchdog(self) -> None:
        """Closes a connection whose request waits past ``timeout`` (it is then reopened)."""
        while not self.stopping:
            await asyncio.sleep(WATCHDOG_S)
            now = time.perf_counter()
            for client in self.clients:
                if client.sent_at is not None and now - client.sent_at > self.timeout:
                    client.sent_at = None
                    self.record("timeout", None)
                    if client.transport is not None:
                        client.transport.abort()

    async def main(self, duration: float) -> dict:
        self.clients = [_Client(self, i) for i in range(self.connections)]
        await asyncio.wait_for(
            asyncio.gather(*(self._connect(c) for c in self.clients)), CONNECT_TIMEOUT_S
        )
        dog = asyncio.get_running_loop().create_task(self.watchdog())
        cpu0, wall0 = time.process_time(), time.perf_counter()
        self.counting = True
        sent0 = self.sent
        for client in self.clients:
            client.send()
        await asyncio.sleep(duration)
        self.counting, self.stopping = False, True
        cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
        sent = self.sent - sent0
        dog.cancel()
        for client in self.clients:
            if client.transport is not None:
                client.transport.abort()
        return {
            "counts": self.counts,
            "latencies": self.latencies,
            "sent": sent,
            "wall": wall,
            "cpu": cpu,
        }


def _generate(url, connections, duration, texts, k, timeout, cpu, honour, queue) -> None:
    """The generator process: pin, run the loop, put the raw result on ``queue``."""
    if cpu is not None:
        os.sched_setaffinity(0, {cpu})
    try:
        import uvloop

        runner = uvloop.run
    except ImportError:  # uvicorn[standard] brings uvloop; plain asyncio is only slower
        runner = asyncio.run
    run = _Run(url, connections, texts, k, timeout, honour)
    try:
        queue.put(("ok", runner(run.main(duration))))
    except Exception as err:  # reported in the parent, which raises
        queue.put(("error", f"{type(err).__name__}: {err}"))


def run_closed_loop(
    url: str,
    connections: int,
    duration: float,
    texts: list[str],
    k: int = 3,
    timeout: float = 2.0,
    cpu: int | None = None,
    honour_retry_after: bool = False,
) -> ClosedLoopResult:
    """Run ``connections`` closed-loop clients against ``url`` for ``duration`` seconds.

    ``texts``: the request texts, each connection walking them from its own offset;
    ``timeout``: a request unanswered this long counts as ``timeout`` and its connection is
    reopened; ``cpu``: the core to pin the generator to (None: not pinned);
    ``honour_retry_after``: wait ``Retry-After`` seconds after a 503 before the next request
    (well-behaved clients) instead of resending at once.
    """
    if not texts:
        raise ValueError("closed-loop load needs at least one text")
    ctx = multiprocessing.get_context("spawn")
    queue = ctx.Queue()
    args = (url, connections, duration, texts, k, timeout, cpu, honour_retry_after, queue)
    proc = ctx.Process(target=_generate, args=args, daemon=True)
    proc.start()
    deadline = time.monotonic() + duration + CONNECT_TIMEOUT_S + 30
    try:
        while True:  # the result, or the generator's death (it then puts nothing)
            try:
                kind, raw = queue.get(timeout=0.5)
                break
            except Empty:
                if not proc.is_alive() or time.monotonic() > deadline:
                    raise RuntimeError(
                        f"the load generator gave no result (exit code {proc.exitcode})"
                    ) from None
    finally:
        proc.join(timeout=10)
        if proc.is_alive():
            proc.kill()
    if kind != "ok":
        raise RuntimeError(f"the load generator failed: {raw}")
    return summarize(raw, connections, cpu)


def summarize(raw: dict, connections: int, cpu: int | None) -> ClosedLoopResult:
    """The result of one run from the generator's raw counts and latencies."""
    counts, lat, wall = raw["counts"], raw["latencies"], raw["wall"]

    def pct(kind: str) -> tuple[float | None, float | None]:
        p = percentiles(lat.get(kind, []), (50, 99))
        return p["p50"], p["p99"]

    counts = dict(counts)
    retries, retries_ok = counts.pop("retry", 0), counts.pop("retry_ok", 0)
    ok_p50, ok_p99 = pct("200")
    refused_p50, refused_p99 = pct("503")
    every = [v for values in lat.values() for v in values]
    return ClosedLoopResult(
        connections=connections,
        duration_s=wall,
        ok=counts.get("200", 0),
        refused=counts.get("503", 0),
        other={k: v for k, v in sorted(counts.items()) if k not in ("200", "503")},
        offered_per_s=raw["sent"] / wall,
        ok_per_s=counts.get("200", 0) / wall,
        refused_per_s=counts.get("503", 0) / wall,
        ok_p50_ms=ok_p50,
        ok_p99_ms=ok_p99,
        refused_p50_ms=refused_p50,
        refused_p99_ms=refused_p99,
        max_ms=max(every) if every else None,
        client_cpu_share=raw["cpu"] / wall,
        client_cpu=cpu,
        retries=retries,
        retries_ok=retries_ok,
    )


# ----------------------------------------------------------------------------- load test mode


def test_split_prefixes(bundle_dir: Path, corpus: str | None, cache_dir: Path, n: int) -> list[str]:
    """``n`` or more keystroke prefixes typed from the test split of the bundle's training
    corpus (``corpus`` overrides it), in a seeded order: every request text differs."""
    from kbd_lm.dataset.corpus import prepare
    from kbd_lm.export.bench.replay import corpus_spec, replay_plan
    from kbd_lm.inference.bundle import Bundle

    manifest = Bundle.load(bundle_dir).manifest
    prepared = prepare(corpus_spec(manifest, corpus), cache_dir)
    return replay_plan(list(prepared.units("test")), calls=n, warmup=0, seed=0)["texts"]


def server_cores(workers: int, client_cpu: int | None) -> set[int] | None:
    """The cores a server of ``workers`` processes runs on: all but the generator's when that
    leaves one core per process, else None (not pinned: then they share, and the report's
    client CPU share says how much the generator took)."""
    cores = set(os.sched_getaffinity(0))
    if client_cpu is None or len(cores - {client_cpu}) < workers:
        return None
    return cores - {client_cpu}


def markdown(report: dict) -> str:
    """The closed-loop table: one row per number of connections."""
    lines = [
        f"# Closed-loop load: {report['server']['workers']} server process(es)",
        "",
        f"Model {report['model']}; {report['duration_s']:g} s per row; generator pinned to core "
        f"{report['client_cpu']}; server cores {report['server_cores'] or 'not pinned'}; "
        f"{report['environment']['cpu_model']}, {report['environment']['cpus']} cores; "
        f"{report['finished']}.",
        "",
        "| connections | offered /s | 200 /s | 503 /s | other | p50 / p99 of 200s (ms) "
        "| p50 / p99 of 503s (ms) | slowest (ms) | client CPU |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for r in report["rows"]:
        other = ", ".join(f"{k} {v}" for k, v in r["other"].items()) or "–"
        lines.append(
            f"| {r['connections']} | {r['offered_per_s']:,.0f} | {r['ok_per_s']:,.0f} "
            f"| {r['refused_per_s']:,.0f} | {other} | {_ms(r['ok_p50_ms'])} / "
            f"{_ms(r['ok_p99_ms'])} | {_ms(r['refused_p50_ms'])} / {_ms(r['refused_p99_ms'])} "
            f"| {_ms(r['max_ms'])} | {r['client_cpu_share']:.0%} |"
        )
    return "\n".join(lines) + "\n"


def _ms(x: float | None) -> str:
    return "–" if x is None else f"{x:.0f}" if x >= 10 else f"{x:.1f}"
