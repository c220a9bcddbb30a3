"""``kbd-lm serve --workers N``: N server processes behind one port (uvicorn's supervisor).

The parent process checks the bundle, binds the port and starts N worker processes
(uvicorn ``workers``); each builds its own app and predictor pool with :func:`worker_app`
from the same ``KBD_LM_*`` settings, and the kernel hands every new connection to one of
them. A worker that dies, even killed with SIGKILL, is replaced by uvicorn's supervisor (it
looks every 0.5 s): only the requests in flight on that worker's connections are lost, the
other workers answer meanwhile and the new one serves within seconds (its pool loaded). One
process serves no more than its pool and its one event loop allow; N processes use N cores.

Metrics stay correct across the processes through prometheus-client's multiprocess mode
(:mod:`kbd_lm.serve.metrics`): a fresh ``PROMETHEUS_MULTIPROC_DIR`` for every start (a
temporary folder, deleted at shutdown; a folder given in the environment is emptied of its
old files instead, as prometheus-client asks), so that ``GET /metrics`` from any worker
counts the requests of all of them; a killed worker's gauges are dropped at the next scrape.

>>> sorted(settings_env(ServeSettings(bundle="dist/bundle")))[:2]  # what the workers read
['KBD_LM_ACCESS_LOG', 'KBD_LM_API_KEYS']
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

from kbd_lm.serve.metrics import MULTIPROC_ENV
from kbd_lm.serve.settings import ServeSettings, settings_env

log = logging.getLogger(__name__)

STARTUP_FAILED = 3  # exit status when the bundle cannot be served (as kbd-lm serve)


@contextlib.contextmanager
def metrics_dir() -> Iterator[Path]:
    """A clean multiprocess-metrics folder for one server start, exported to the workers."""
    given = os.environ.get(MULTIPROC_ENV)
    if given:
        folder = Path(given)
        folder.mkdir(parents=True, exist_ok=True)
        for old in folder.glob("*.db"):  # a previous run's series would be added in
            old.unlink()
        yield folder
        return
    folder = Path(tempfile.mkdtemp(prefix="kbd-lm-metrics-"))
    os.environ[MULTIPROC_ENV] = str(folder)
    try:
        yield folder
    finally:
        os.environ.pop(MULTIPROC_ENV, None)
        shutil.rmtree(folder, ignore_errors=True)


def worker_app():
    """The app of one worker process (uvicorn's factory): settings from ``KBD_LM_*``."""
    from kbd_lm.common.logs import setup_logging
    from kbd_lm.serve.app import create_app

    settings = ServeSettings()
    setup_logging(settings.log_level)
    return create_app(settings=settings)


def run_workers(settings: ServeSettings) -> int:
    """Serve with ``settings.workers`` processes until interrupted; the exit status."""
    import uvicorn
    from uvicorn.supervisors import Multiprocess

    from kbd_lm.inference.bundle import Bundle, BundleError
    from kbd_lm.serve.protocol import REUSE_PORT_EVENT_LOOP, AdmissionProtocol, reuse_port_socket

    try:
        Bundle.load(settings.bundle)  # here, once: a broken bundle stops before any worker
    except BundleError as err:
        log.error("cannot serve the bundle: %s", err)
        return STARTUP_FAILED
    os.environ.update(settings_env(settings))
    with metrics_dir() as folder:
        log.info(
            "%d workers on %s:%d, %d predictor(s) each; metrics of all of them in %s",
            settings.workers,
            settings.host,
            settings.port,
            settings.predictors,
            folder,
        )
        config = uvicorn.Config(
            "kbd_lm.serve.workers:worker_app",
            factory=True,
            http=AdmissionProtocol,  # refusals at the connection (kbd_lm.serve.protocol)
            loop=REUSE_PORT_EVENT_LOOP,  # a listening socket per process, the kernel spreads
            workers=settings.workers,
            host=settings.host,
            port=settings.port,
            log_level=settings.log_level,
            access_log=False,  # the app logs what it admits (kbd_lm.serve.access_log)
            timeout_graceful_shutdown=5,
        )
        # uvicorn.run's own multi-process start, but with the port bound SO_REUSEPORT.
        try:
            sock = reuse_port_socket(settings.host, settings.port, exclusive=True)
        except OSError as err:
            log.error("cannot listen on %s:%d: %s", settings.host, settings.port, err)
            return STARTUP_FAILED
        Multiprocess(config, sockets=[sock]).run()
    log.info("%d workers stopped", settings.workers)
    return 0
