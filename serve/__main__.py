"""``kbd-lm serve --bundle dist/bundle --host 127.0.0.1 --port 8000``: run the server.

``python -m kbd_lm.serve`` is the same command.

Options override the ``KBD_LM_*`` environment settings (see :mod:`kbd_lm.serve.settings`).
Exit status: 0 after a clean shutdown, 2 for bad options or settings (argparse's usage
error), 3 when start-up failed (e.g. a missing or corrupt bundle: its message is logged in
one line).
"""

from __future__ import annotations

import argparse
import sys

from pydantic import ValidationError

from kbd_lm.common.logs import setup_logging


def make_parser() -> argparse.ArgumentParser:
    """The command-line options; anything left out comes from the environment or defaults."""
    p = argparse.ArgumentParser(
        prog="kbd-lm serve",
        description="Run the kbd-lm HTTP server (uvicorn) on a bundle.",
    )
    p.add_argument("--bundle", help="bundle folder (default: $KBD_LM_BUNDLE)")
    p.add_argument("--host", help="address to listen on (default 127.0.0.1)")
    p.add_argument("--port", type=int, help="TCP port (default 8000)")
    p.add_argument("--workers", type=int, help="server processes (default 1)")
    p.add_argument(
        "--executor",
        choices=["loop", "threads"],
        help="where suggestions run: on the event loop (default) or in worker threads",
    )
    p.add_argument("--pool-size", type=int, help="predictors in threads (default 2)")
    p.add_argument("--num-threads", type=int, help="threads per interpreter (default 1)")
    p.add_argument("--runtime", choices=["litert", "tflite-runtime"], help="TFLite runtime")
    p.add_argument(
        "--engine",
        choices=["python", "native"],
        help="the decoder: python (default) or native (libkbd_lm.so, make native)",
    )
    p.add_argument("--max-body-bytes", type=int, help="largest request body (default 16384)")
    p.add_argument("--max-text-chars", type=int, help="characters of text used (default 1000)")
    p.add_argument(
        "--queue-wait-ms",
        type=float,
        help="longest wait for a free predictor before 503 with Retry-After (default 100)",
    )
    p.add_argument(
        "--cors-origins",
        help="web page origins allowed to call the API, comma-separated (default: none)",
    )
    p.add_argument("--log-level", choices=["critical", "error", "warning", "info", "debug"])
    p.add_argument(
        "--no-access-log",
        dest="access_log",
        action="store_const",
        const=False,
        help="no log line per request",
    )
    return p


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Parsed options (None for each one not given)."""
    return make_parser().parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Parse options, build the app and run uvicorn until interrupted; returns the exit code."""
    parser = make_parser()
    args = parser.parse_args(argv)
    from kbd_lm.serve.settings import load_settings

    try:
        settings = load_settings(**vars(args))
    except ValidationError as err:
        parser.error(f"invalid settings (options or KBD_LM_* variables):\n{err}")
    if settings.bundle is None:
        parser.error("no bundle: pass --bundle DIR or set KBD_LM_BUNDLE")
    setup_logging(settings.log_level)
    if settings.workers > 1:
        from kbd_lm.serve.workers import run_workers

        return run_workers(settings)

    import uvicorn

    from kbd_lm.serve.app import create_app
    from kbd_lm.serve.protocol import EVENT_LOOP, AdmissionProtocol

    app = create_app(settings=settings)
    config = uvicorn.Config(
        app,
        http=AdmissionProtocol,  # refusals at the connection (kbd_lm.serve.protocol)
        loop=EVENT_LOOP,
        host=settings.host,
        port=settings.port,
        log_level=settings.log_level,
        access_log=False,  # the app logs what it admits (kbd_lm.serve.access_log)
        lifespan="on",
        timeout_graceful_shutdown=5,
    )
    server = uvicorn.Server(config)
    server.run()
    if not server.started:
        return 3
    return 0


if __name__ == "__main__":
    sys.exit(main())
