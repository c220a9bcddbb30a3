"""Open-loop load test of the HTTP server over loopback, at increasing request rates.

    python -m kbd_lm.export.bench.loadtest --bundle dist/bundle --duration 60 --rates 50,100,200,400

Starts the server in a subprocess (``python -m kbd_lm.serve`` on 127.0.0.1, a free port, real
HTTP; ``--workers`` processes), waits for ``/readyz``, warms it up, then for each rate sends
``POST /v1/predict-next`` from ``--clients`` client processes (:mod:`.loadgen`; one client
process saturates before a two-process server does): requests are scheduled at the target
rate whatever the answers do (open loop), and each latency runs from the request's scheduled
time, so a server or client falling behind shows up as latency rather than as a lower rate. A stage
is bounded in time (``--duration`` plus the request timeout) and count (``--max-requests``);
once a stage shows the server saturated (median over the target, >5% errors, or <80% of the
rate answered), higher rates are skipped.

Texts are keystrokes (:func:`kbd_lm.evaluation.keystrokes.keystrokes`): built-in sentences typed one
character at a time, replayed in order, as a keyboard would ask at every key press.

Reports, per rate: requests scheduled, answered OK, errors (by kind: HTTP status, timeout,
or not sent in time by a saturated client), achieved throughput (OK answers per second),
p50/p99/max latency (percentiles: :func:`kbd_lm.common.stats.percentiles`, linear interpolation, as
in every kbd-lm report), the server's own median time, the clients' p99 sending lag (a large
lag means the clients, not the server, were the limit), the slowest answer of any status from
its send (a 503 of an overloaded server comes within its queue wait), and whether the rate
was sustained (no error, p99 under ``--p99-ms``, at least 95% of the target throughput); then the
highest rate sustained. Writes ``loadtest.md`` and ``loadtest.json`` next to the bundle folder (in
its parent folder), or at ``--out PATH`` (``PATH.md`` and ``PATH.json``).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import random
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import httpx

from kbd_lm.common.fsutil import atomic_write_text
from kbd_lm.common.logs import setup_logging
from kbd_lm.common.stats import PERCENTILE_METHOD, percentiles
from kbd_lm.evaluation.keystrokes import keystrokes
from kbd_lm.export.bench.loadgen import LoadGenerator

log = logging.getLogger(__name__)

HOST = "127.0.0.1"
SENTENCES = [
    "see you tomorrow at the station",
    "how are you doing today?",
    "I'll be there in ten minutes, wait for me",
    "thank you so much for the help yesterday",
    "are you coming to the party tonight?",
    "let me know when you get home",
    "can we talk later about the plan for the weekend",
    "I don't know what to say, that sounds great",
    "good morning! did you sleep well?",
    "my mom wants to watch a movie with us",
]
SUSTAINED_FRACTION = 0.95  # of the target rate, as OK answers per second
# Higher rates are skipped after a stage whose median latency is over the p99 target, whose
# error rate is over 5% or that answered under 80% of its target rate: the server is
# saturated, not just hit by a few slow outliers (a busy machine makes some of those).
STOP_ERROR_RATE = 0.05
STOP_THROUGHPUT_FRACTION = 0.8
WRK_BODIES_SEED = 0  # the order of the wrk request bodies (write_wrk_bodies)


@dataclass
class StageResult:
    """One target rate: counts, achieved throughput and latencies (ms)."""

    target_rps: float
    duration_s: float
    requests: int = 0  # scheduled; each one is either answered OK or counted as an error
    ok: int = 0
    errors: int = 0
    error_kinds: dict[str, int] = field(default_factory=dict)
    send_rps: float = 0.0  # requests actually sent per second
    achieved_rps: float = 0.0  # OK answers per second over the stage
    p50_ms: float | None = None
    p90_ms: float | None = None
    p99_ms: float | None = None
    max_ms: float | None = None
    server_p50_ms: float | None = None  # the server's elapsed_ms (its own time)
    client_lag_p99_ms: float | None = None  # how late the clients sent (they are loaded too)
    max_answer_ms: float | None = None  # longest from a send to its answer, 200 or not
    clients: int = 1  # client processes that sent
    sustained: bool = False

    def judge(self, p99_limit_ms: float) -> None:
        """Set ``sustained``: no error, p99 under the limit, near the target throughput."""
        self.sustained = (
            self.requests > 0
            and self.errors == 0
            and self.p99_ms is not None
            and self.p99_ms < p99_limit_ms
            and self.achieved_rps >= SUSTAINED_FRACTION * self.target_rps
        )

    def overloaded(self, p99_limit_ms: float) -> bool:
        """Saturated: higher rates would only be worse (see ``STOP_*``)."""
        if self.requests == 0 or self.errors / self.requests > STOP_ERROR_RATE:
            return True
        if self.achieved_rps < STOP_THROUGHPUT_FRACTION * self.target_rps:
            return True
        return self.p50_ms is None or self.p50_ms > p99_limit_ms


def run_stage(
    gen: LoadGenerator,
    url: str,
    rate: float,
    duration: float,
    texts: list[str],
    offset: int = 0,
    k: int = 3,
    timeout: float = 2.0,
    max_requests: int = 100_000,
) -> StageResult:
    """Send ``rate`` requests per second for ``duration`` seconds (open loop) and measure.

    ``gen``'s client processes send (:mod:`.loadgen`); ``texts`` are replayed in order from
    ``offset``. A request not answered within ``timeout`` seconds of its scheduled time is an
    error, so a stage lasts at most ``duration + timeout`` seconds. Returns the stage's
    counts and latencies.
    """
    n = max(1, min(int(rate * duration), max_requests))
    samples = gen.stage(url, rate, n, texts, offset, k, timeout)
    ok = [s for s in samples if s.status == 200]
    latencies = [s.latency_ms for s in ok]
    errors = Counter(
        f"http {s.status}" if isinstance(s.status, int) else s.status
        for s in samples
        if s.status != 200
    )
    result = StageResult(
        rate,
        duration,
        requests=n,
        ok=len(ok),
        errors=sum(errors.values()),
        error_kinds=dict(errors),
        clients=gen.clients,
    )
    lags = [s.lag_ms for s in samples]
    result.send_rps = n / max(max(s.sent_s for s in samples), 1 / rate)
    wall_s = max((s.done_s for s in samples if s.done_s is not None), default=0.0)
    result.achieved_rps = len(ok) / max(wall_s, duration)
    p = percentiles(latencies, (50, 90, 99))
    result.p50_ms, result.p90_ms, result.p99_ms = p["p50"], p["p90"], p["p99"]
    result.max_ms = max(latencies) if latencies else None
    answers = [s.answer_ms for s in samples if s.answer_ms is not None]
    result.max_answer_ms = max(answers) if answers else None
    result.server_p50_ms = percentiles([s.server_ms for s in ok], (50,))["p50"]
    result.client_lag_p99_ms = percentiles(lags, (99,))["p99"]
    return result


def free_port() -> int:
    """A TCP port free on the loopback interface right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


class ServerProcess:
    """``python -m kbd_lm.serve`` in a subprocess on 127.0.0.1; a context manager.

    ``extra``: more command-line options for the server; ``cores``: the cores it may run on
    (None: any). Start-up output goes to a temporary log file, shown when the server fails to
    become ready.
    """

    def __init__(
        self,
        bundle: Path,
        port: int | None = None,
        extra: list[str] | None = None,
        ready_timeout: float = 60.0,
        cores: set[int] | None = None,
    ) -> None:
        self.bundle, self.port = bundle, port or free_port()
        self.cores = cores  # pin the server (and its worker processes) to these cores
        self.extra, self.ready_timeout = extra or [], ready_timeout
        self.url = f"http://{HOST}:{self.port}"
        self.proc: subprocess.Popen | None = None
        # Closed by __exit__: the server writes to it for as long as it runs.
        self._log = tempfile.TemporaryFile("w+", prefix="kbd-lm-serve-")  # noqa: SIM115

    def __enter__(self) -> ServerProcess:
        cmd = [
            sys.executable,
            "-m",
            "kbd_lm.serve",
            "--bundle",
            str(self.bundle),
            "--host",
            HOST,
            "--port",
            str(self.port),
            "--log-level",
            "warning",
            "--no-access-log",
            *self.extra,
        ]
        log.info("starting %s", " ".join(cmd))
        cores = self.cores
        self.proc = subprocess.Popen(
            cmd,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            preexec_fn=(lambda: os.sched_setaffinity(0, cores)) if cores else None,
        )
        deadline = time.monotonic() + self.ready_timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(
                    f"server exited with status {self.proc.returncode}:\n{self.output()}"
                )
            try:
                if httpx.get(f"{self.url}/readyz", timeout=2).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        output = self.output()
        self.__exit__(None, None, None)
        raise RuntimeError(f"server not ready after {self.ready_timeout:g} s:\n{output}")

    def output(self) -> str:
        """What the server printed so far."""
        self._log.flush()
        self._log.seek(0)
        return self._log.read()

    def __exit__(self, *exc) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._log.close()


def _drive(
    url: str,
    rates: list[float],
    duration: float,
    timeout: float,
    max_requests: int,
    p99_ms: float,
    warmup: int,
    clients: int,
) -> tuple[str, list[StageResult]]:
    texts = [key.text for sentence in SENTENCES for key in keystrokes(sentence)]
    results: list[StageResult] = []
    with httpx.Client(base_url=url) as client:
        model = client.get("/v1/model").json()["id"]
        for i in range(warmup):  # caches, connections, first-call costs
            client.post("/v1/predict-next", json={"text": texts[i % len(texts)], "k": 3})
    with LoadGenerator(clients) as gen:
        offset = 0
        for rate in rates:
            r = run_stage(
                gen, url, rate, duration, texts, offset, timeout=timeout, max_requests=max_requests
            )
            offset += r.requests
            r.judge(p99_ms)
            results.append(r)
            log.info(
                "%6g rps: %d requests, ok %d, errors %d, achieved %.1f rps, p50 %s ms, p99 %s ms",
                rate,
                r.requests,
                r.ok,
                r.errors,
                r.achieved_rps,
                _fmt(r.p50_ms),
                _fmt(r.p99_ms),
            )
            if r.overloaded(p99_ms) and rate != rates[-1]:
                log.info("overloaded at %g rps: higher rates skipped", rate)
                break
            time.sleep(1.0)  # let queues drain between stages
    return model, results


def _fmt(x: float | None, digits: int = 2) -> str:
    return "–" if x is None else f"{x:.{digits}f}"


def best_sustained(results: list[StageResult]) -> float | None:
    """The highest target rate that was sustained, or None."""
    rates = [r.target_rps for r in results if r.sustained]
    return max(rates) if rates else None


def markdown(report: dict) -> str:
    """The report as a Markdown section with one table row per rate."""
    env = report["environment"]
    lines = [
        f"# Load test: {report['model']}",
        "",
        f"{report['finished']}; {env['cpus']} CPUs, load average {env['load_average'][0]:.2f} "
        f"at start; server: {report['server'].get('workers', 1)} process(es), each with a pool "
        f"of {report['server']['pool_size']} predictor(s) "
        f"({report['server'].get('executor', 'threads')}), "
        f"{report['server']['num_threads']} thread(s) each; {report.get('clients', 1)} client "
        f"process(es); {report['duration_s']:g} s per "
        "rate; HTTP/1.1 keep-alive over loopback; open loop (latency from the scheduled "
        "send time); texts: keystroke prefixes; percentiles: " + PERCENTILE_METHOD + ".",
        "",
        "| target rps | requests | ok | errors | achieved rps | p50 ms | p99 ms | max ms "
        "| server p50 ms | client lag p99 ms | slowest answer ms | sustained |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|:---:|",
    ]
    for r in report["stages"]:
        kinds = ", ".join(f"{k}: {n}" for k, n in sorted(r["error_kinds"].items()))
        errors = f"{r['errors']} ({kinds})" if kinds else str(r["errors"])
        lines.append(
            f"| {r['target_rps']:g} | {r['requests']} | {r['ok']} | {errors} | "
            f"{r['achieved_rps']:.1f} | {_fmt(r['p50_ms'])} | {_fmt(r['p99_ms'])} | "
            f"{_fmt(r['max_ms'])} | {_fmt(r['server_p50_ms'])} | "
            f"{_fmt(r.get('client_lag_p99_ms'))} | {_fmt(r.get('max_answer_ms'))} | "
            f"{'yes' if r['sustained'] else 'no'} |"
        )
    best = report["best_sustained_rps"]
    lines += [
        "",
        f"Highest rate sustained with p99 under {report['p99_limit_ms']:g} ms: "
        + (f"**{best:g} requests/s**." if best else "**none of the rates tried**."),
    ]
    if env["load_average"][0] > 0.5 * env["cpus"]:
        lines += [
            "",
            f"Note: the machine was busy at start (load average "
            f"{env['load_average'][0]:.2f} on {env['cpus']} CPUs); re-run on an idle "
            "machine for figures to compare.",
        ]
    return "\n".join(lines) + "\n"


def out_paths(out: str | None, bundle: Path, stem: str = "loadtest") -> tuple[Path, Path]:
    """(Markdown, JSON) paths: ``--out`` without its suffix, or ``stem`` beside the bundle."""
    base = Path(out) if out else Path(bundle).resolve().parent / stem
    if base.suffix in (".md", ".json"):
        base = base.with_suffix("")
    return base.with_name(base.name + ".md"), base.with_name(base.name + ".json")


def parse_rates(text: str) -> list[float]:
    """'50,100,200' -> [50.0, 100.0, 200.0] (positive, sorted, duplicates removed)."""
    rates = sorted({float(x) for x in text.split(",") if x.strip()})
    if not rates or rates[0] <= 0:
        raise argparse.ArgumentTypeError("rates must be positive numbers, e.g. 50,100,200")
    return rates


def write_wrk_bodies(args) -> int:
    """``--wrk-bodies FILE``: the closed-loop texts as request bodies, one JSON object a line,
    in a seeded random order.

    Why shuffled: wrk's connections take the file's lines in turn, so in typing order a few
    connections would replay one typist, each keystroke finding its predecessor's context
    and search rows cached; past saturation most keystrokes are refused and the ones served
    lose that, so the served ones cost about a fifth more (0.9.0, 2-core AMD EPYC: 0.98 ms
    per suggestion at 8 connections, 1.17 ms at 1,024) and goodput under overload would be
    judged against a cache that no crowd of typists gives. Shuffled, every request is a
    keystroke of its own text at every load. (``kbd-lm loadtest --connections`` models
    typists instead: each connection types its own text.)
    """
    from kbd_lm.export.bench.closedloop import test_split_prefixes

    texts = test_split_prefixes(args.bundle, args.corpus, args.cache_dir, 20_000)
    random.Random(WRK_BODIES_SEED).shuffle(texts)
    lines = "".join(json.dumps({"text": t, "k": 3}) + "\n" for t in texts)
    atomic_write_text(args.wrk_bodies, lines)
    log.info("wrote %d request bodies to %s", len(texts), args.wrk_bodies)
    return 0


def server_options(args: argparse.Namespace) -> list[str]:
    """The ``kbd-lm serve`` options a load test passes on (the server's defaults otherwise)."""
    options = ["--workers", str(args.workers)]
    if args.executor is not None:
        options += ["--executor", args.executor]
    if args.pool_size is not None:
        options += ["--pool-size", str(args.pool_size)]
    return options


def server_report(args: argparse.Namespace) -> dict:
    """What the server runs with those options, as the server resolves them (its settings,
    ``KBD_LM_*`` variables included): processes, executor, predictors per process."""
    from kbd_lm.serve.settings import ServeSettings

    settings = ServeSettings(
        **{k: v for k, v in (("executor", args.executor), ("pool_size", args.pool_size)) if v}
    )
    return {
        "workers": args.workers,
        "executor": settings.runs_on,
        "pool_size": settings.predictors,
    }


def closed_main(args) -> int:
    """``--connections``: the closed-loop overload table (:mod:`.closedloop`)."""
    from kbd_lm.export.bench.closedloop import (
        markdown as closed_markdown,
    )
    from kbd_lm.export.bench.closedloop import (
        run_closed_loop,
        server_cores,
        test_split_prefixes,
    )
    from kbd_lm.export.bench.machine import machine_info

    texts = test_split_prefixes(args.bundle, args.corpus, args.cache_dir, 20_000)
    cores = server_cores(args.workers, args.client_cpu)
    extra = server_options(args)
    rows = []
    try:
        with ServerProcess(args.bundle, extra=extra, cores=cores) as server:
            model = httpx.get(f"{server.url}/v1/model").json()["id"]
            run_closed_loop(server.url, 4, 2.0, texts, cpu=args.client_cpu)  # warm-up
            for n in args.connections:
                r = run_closed_loop(
                    server.url, n, args.duration, texts, timeout=args.timeout, cpu=args.client_cpu
                )
                log.info(
                    "%5d connections: 200 %.0f/s, 503 %.0f/s, p99 of 200s %s ms, client CPU %.0f%%",
                    n,
                    r.ok_per_s,
                    r.refused_per_s,
                    _fmt(r.ok_p99_ms),
                    100 * r.client_cpu_share,
                )
                rows.append(r.as_dict())
                time.sleep(1.0)  # let the server drain between rows
    except RuntimeError as err:
        log.error("%s", err)
        return 1
    info = machine_info()
    report = {
        "model": model,
        "bundle": str(Path(args.bundle).resolve()),
        "finished": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "duration_s": args.duration,
        "server": server_report(args),
        "client_cpu": args.client_cpu,
        "server_cores": sorted(cores) if cores else None,
        "environment": {"cpus": os.cpu_count(), "cpu_model": info.get("cpu_model")},
        "rows": rows,
    }
    md_path, json_path = out_paths(args.out or None, args.bundle, stem="loadtest-closed")
    atomic_write_text(md_path, closed_markdown(report))
    atomic_write_text(json_path, json.dumps(report, indent=2) + "\n")
    log.info("wrote %s and %s", md_path, json_path)
    sys.stdout.write(closed_markdown(report))
    return 0


def make_parser() -> argparse.ArgumentParser:
    """The load test's options (open-loop rates, or closed-loop ``--connections``)."""
    p = argparse.ArgumentParser(
        prog="python -m kbd_lm.export.bench.loadtest",
        description="Open-loop HTTP load test of the server (loopback).",
    )
    p.add_argument("--bundle", required=True, type=Path, help="bundle folder to serve")
    p.add_argument("--duration", type=float, default=60.0, help="seconds per rate (default 60)")
    p.add_argument(
        "--rates",
        type=parse_rates,
        default=parse_rates("50,100,200,400,800"),
        help="requests per second, comma-separated (default 50,100,200,400,800)",
    )
    p.add_argument(
        "--out",
        help="output path without suffix (default: loadtest beside the "
        "bundle folder); writes .md and .json",
    )
    p.add_argument("--p99-ms", type=float, default=20.0, help="latency target (default 20 ms)")
    p.add_argument(
        "--timeout",
        type=float,
        default=2.0,
        help="seconds from a request's scheduled time to its answer (default 2)",
    )
    p.add_argument("--max-requests", type=int, default=100_000, help="per rate at most")
    p.add_argument("--warmup", type=int, default=200, help="sequential requests first")
    p.add_argument(
        "--executor",
        choices=["loop", "threads"],
        help="where the server runs suggestions (default: the server's, the loop)",
    )
    p.add_argument("--pool-size", type=int, help="server predictors (default: the server's)")
    p.add_argument("--num-threads", type=int, default=1, help="threads per interpreter")
    p.add_argument("--workers", type=int, default=1, help="server processes (default 1)")
    p.add_argument("--clients", type=int, default=2, help="client processes sending (default 2)")
    p.add_argument(
        "--connections",
        type=lambda t: [int(x) for x in t.split(",")],
        help="closed-loop overload mode: these numbers of connections that resend at once, "
        "comma-separated (e.g. 8,64,128,512,1024), instead of the open-loop --rates",
    )
    p.add_argument(
        "--client-cpu",
        type=int,
        default=max(os.sched_getaffinity(0)),
        help="closed-loop mode: the core the generator is pinned to (default: the last)",
    )
    p.add_argument(
        "--corpus",
        help="closed-loop texts: test split of this corpus (default: the bundle's training corpus)",
    )
    p.add_argument("--cache-dir", type=Path, default=Path("data"), help="prepared corpora")
    p.add_argument(
        "--wrk-bodies",
        type=Path,
        help="write the closed-loop request bodies (test-split prefixes, one JSON a line) for "
        "wrk and export/bench/wrk_closed.lua to this file, and exit",
    )
    return p


def main(argv: list[str] | None = None) -> int:
    args = make_parser().parse_args(argv)
    setup_logging()  # httpx's line per request stays off
    if args.wrk_bodies:
        return write_wrk_bodies(args)
    if args.connections:
        return closed_main(args)
    load_average = os.getloadavg()
    extra = server_options(args) + ["--num-threads", str(args.num_threads)]
    try:
        with ServerProcess(args.bundle, extra=extra) as server:
            model, results = _drive(
                server.url,
                args.rates,
                args.duration,
                args.timeout,
                args.max_requests,
                args.p99_ms,
                args.warmup,
                args.clients,
            )
    except RuntimeError as err:
        log.error("%s", err)
        return 1
    report = {
        "model": model,
        "bundle": str(Path(args.bundle).resolve()),
        "finished": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "duration_s": args.duration,
        "p99_limit_ms": args.p99_ms,
        "server": {
            **server_report(args),
            "num_threads": args.num_threads,
            "host": HOST,
        },
        "clients": args.clients,
        "environment": {
            "cpus": os.cpu_count(),
            "load_average": list(load_average),
            "python": platform.python_version(),
            "platform": platform.platform(),
        },
        "stages": [asdict(r) for r in results],
        "best_sustained_rps": best_sustained(results),
    }
    md_path, json_path = out_paths(args.out, args.bundle)
    atomic_write_text(md_path, markdown(report))
    atomic_write_text(json_path, json.dumps(report, indent=2) + "\n")
    log.info("wrote %s and %s", md_path, json_path)
    sys.stdout.write(markdown(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
