"""``kbd-lm train --workers 2 --preset tiny``: a training cluster on one machine.

Starts ``--workers`` processes of ``kbd-lm train <options> strategy="multi_worker"``, each with
a ``TF_CONFIG`` naming every worker on a free loopback port and its own index
(:mod:`kbd_lm.training.cluster`), prefixes their output with ``[w<i>]``, and waits for all of them.
If one fails, the others are stopped (a worker that lost a peer cannot go on), and the
launcher exits with the failed worker's code; ``resume=true`` then continues the run.

Each worker gets ``cores / workers`` compute threads (``TF_NUM_INTRAOP_THREADS``), unless
set already: two workers with every core each would fight over them.

For a real cluster, start ``kbd-lm train ... strategy="multi_worker"`` on every machine with
its own ``TF_CONFIG`` instead (docs/training.md).

>>> json.loads(tf_config([2222, 2223], 1))["task"]
{'type': 'worker', 'index': 1}
"""

from __future__ import annotations

import json
import logging
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Sequence

log = logging.getLogger(__name__)

STOP_GRACE_S = 5.0  # seconds between SIGTERM and SIGKILL when stopping the other workers


def free_ports(n: int, host: str = "127.0.0.1") -> list[int]:
    """``n`` ports nobody listens on right now (the OS picks them; all held until chosen)."""
    sockets = []
    try:
        for _ in range(n):
            s = socket.socket()
            s.bind((host, 0))
            sockets.append(s)
        return [s.getsockname()[1] for s in sockets]
    finally:
        for s in sockets:
            s.close()


def tf_config(ports: Sequence[int], index: int, host: str = "127.0.0.1") -> str:
    """The ``TF_CONFIG`` of worker ``index`` in a cluster of workers on ``host:ports``."""
    cluster = {"worker": [f"{host}:{p}" for p in ports]}
    return json.dumps({"cluster": cluster, "task": {"type": "worker", "index": index}})


def worker_command(train_args: Sequence[str]) -> list[str]:
    """The command every worker runs: ``kbd-lm train`` with the multi-worker strategy."""
    return [sys.executable, "-m", "kbd_lm", "train", *train_args, 'strategy="multi_worker"']


def _relay(proc: subprocess.Popen, prefix: str) -> None:
    for line in proc.stdout:
        sys.stdout.write(f"{prefix} {line}")
        sys.stdout.flush()


def _stop(procs: Sequence[subprocess.Popen]) -> None:
    for p in procs:
        if p.poll() is None:
            p.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + STOP_GRACE_S
    for p in procs:
        try:
            p.wait(max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()


def launch(workers: int, train_args: Sequence[str], threads: int | None = None) -> int:
    """Run ``workers`` local training workers to the end; 0 if all finished, else a failed
    worker's exit code (the others are stopped as soon as one fails)."""
    if workers < 1:
        raise ValueError(f"--workers must be at least 1, got {workers}")
    threads = threads or max(1, (os.cpu_count() or 1) // workers)
    ports = free_ports(workers)
    procs, relays = [], []
    started = time.monotonic()
    for i in range(workers):
        env = dict(os.environ, TF_CONFIG=tf_config(ports, i), PYTHONUNBUFFERED="1")
        env.setdefault("TF_NUM_INTRAOP_THREADS", str(threads))
        env.setdefault("OMP_NUM_THREADS", env["TF_NUM_INTRAOP_THREADS"])
        proc = subprocess.Popen(
            worker_command(train_args),
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            errors="replace",
        )
        log.info("worker %d: pid %d, port %d", i, proc.pid, ports[i])
        procs.append(proc)
        relays.append(threading.Thread(target=_relay, args=(proc, f"[w{i}]"), daemon=True))
        relays[-1].start()
    try:
        while True:
            codes = [p.poll() for p in procs]
            failed = [(i, c) for i, c in enumerate(codes) if c not in (None, 0)]
            if failed:
                i, code = failed[0]
                log.error(
                    "worker %d exited with code %d: stopping the others; continue the run "
                    "with resume=true (make train RESUME=1)",
                    i,
                    code,
                )
                _stop(procs)
                return code if code > 0 else 128 - code  # killed by signal N: 128 + N
            if all(c == 0 for c in codes):
                break
            time.sleep(0.2)
    except KeyboardInterrupt:
        _stop(procs)
        return 130
    finally:
        for t in relays:
            t.join(timeout=2.0)
    log.info("%d workers finished in %.1f s", workers, time.monotonic() - started)
    return 0
