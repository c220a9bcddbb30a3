"""The in-browser predictor (``serve/static/kbd/``) in headless Chromium, driven by Playwright.

- :func:`browser_conformance`: the bundle's conformance vectors run by the JavaScript
  predictor on LiteRT.js; compared in Python (:func:`kbd_lm.inference.conformance.compare_results`,
  with LiteRT's tolerance).
- :func:`browser_latency`: per-keystroke ``suggest`` latency in the browser, for texts given
  by the caller (the bench's keystroke replay).

A small static server (standard library, loopback only) serves ``serve/static/`` and the
bundle's files with the cross-origin isolation headers, so that ``performance.now()`` has
microsecond resolution. Needs Debian's ``chromium`` (``/usr/bin/chromium``), Playwright for
Python and the vendored LiteRT.js (``make jsdeps``).

    python -m kbd_lm.export.browser --bundle dist/bundle --calls 1000

>>> with harness(Path("dist/bundle")) as h:                       # doctest: +SKIP
...     ms = h.latency(["see you ", "see you l"], warm=["hi "])
"""

from __future__ import annotations

import contextlib
import functools
import json
import logging
import threading
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from pathlib import Path

from kbd_lm.common.fsutil import atomic_write_text
from kbd_lm.inference.bundle import MANIFEST_FILE, Bundle

log = logging.getLogger(__name__)

CHROMIUM = "/usr/bin/chromium"
# As root Chromium needs --no-sandbox; the rest keeps it off the (closed) network.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
HARNESS = "/static/kbd/harness.html"
WASM_DIR = "/static/vendor/litertjs-core/wasm/"
TIMEOUT_MS = 600_000


class BrowserError(RuntimeError):
    """Chromium, Playwright or the vendored LiteRT.js is missing, or the page failed."""


def static_dir() -> Path:
    return Path(str(resources.files("kbd_lm.serve").joinpath("static")))


def check_ready() -> None:
    """Raise :class:`BrowserError` naming what is missing to run the in-browser predictor."""
    if not Path(CHROMIUM).exists():
        raise BrowserError(f"{CHROMIUM} not found (apt-get install chromium)")
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError as err:
        raise BrowserError(
            "Playwright for Python is not installed (pip install playwright)"
        ) from err
    core = static_dir() / "vendor" / "litertjs-core" / "dist" / "index.js"
    if not core.is_file():
        raise BrowserError(f"{core} not found: fetch LiteRT.js first (make jsdeps)")


class _Handler(SimpleHTTPRequestHandler):
    """``/static/...`` from serve/static, ``/bundle/<file>`` from the bundle's manifest."""

    def __init__(self, *args, bundle: Bundle, **kwargs):
        self.bundle = bundle
        super().__init__(*args, directory=str(static_dir()), **kwargs)

    def _resolve(self, path: str) -> str | None:
        path = path.split("?", 1)[0]
        if path.startswith("/bundle/"):
            name = path.removeprefix("/bundle/")
            if name == MANIFEST_FILE or name in self.bundle.manifest.files:
                return str(self.bundle.path / name)
            return None
        if path.startswith("/static/"):
            return super().translate_path(path.removeprefix("/static"))
        return None

    def translate_path(self, path: str) -> str:
        return self._resolve(path) or ""

    def send_head(self):
        if self._resolve(self.path) is None:
            self.send_error(404, "not a file of the harness or of the bundle")
            return None
        return super().send_head()

    def end_headers(self) -> None:
        # Cross-origin isolation: fine-grained timers (and SharedArrayBuffer).
        self.send_header("Cross-Origin-Opener-Policy", "same-origin")
        self.send_header("Cross-Origin-Embedder-Policy", "require-corp")
        self.send_header("Cache-Control", "no-store")
        super().end_headers()

    def log_message(self, format, *args) -> None:  # noqa: A002 (the base class's name)
        log.debug("static: " + format, *args)


_Handler.extensions_map = {
    **SimpleHTTPRequestHandler.extensions_map,
    ".js": "text/javascript",
    ".wasm": "application/wasm",
    ".jsonl": "application/x-ndjson",
}


@contextlib.contextmanager
def serve_files(bundle: Bundle) -> Iterator[str]:
    """A loopback HTTP server for the harness and ``bundle``; yields its base URL."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Handler, bundle=bundle))
    thread = threading.Thread(target=server.serve_forever, name="static", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


class Harness:
    """An open harness page; ``bundle_url`` and ``wasm_dir`` as the page sees them."""

    def __init__(self, page, bundle_url: str, wasm_dir: str) -> None:
        self.page, self.bundle_url, self.wasm_dir = page, bundle_url, wasm_dir

    def conformance(self) -> dict:
        """``{"header", "results": [{"id", "context", "partial", "ids", "suggestions"}],
        "skipped": [ids of cases not run: the typo cases], "skipReason", "ms"}``: the browser
        predictor does not correct typing; it runs every other case, learn-then-suggest
        cases included."""
        return self.page.evaluate(
            "([b, w]) => window.kbdHarness.conformance(b, w)", [self.bundle_url, self.wasm_dir]
        )

    def latency(self, texts: list[str], warm: list[str] = (), k: int = 3) -> list[float]:
        """Milliseconds of ``await predictor.suggest(text, k)`` for each text, after ``warm``."""
        return self.page.evaluate(
            "([b, w, t, warm, k]) => window.kbdHarness.latency(b, w, t, warm, k)",
            [self.bundle_url, self.wasm_dir, list(texts), list(warm), k],
        )


@contextlib.contextmanager
def open_harness(base_url: str, bundle_url: str, wasm_dir: str = WASM_DIR) -> Iterator[Harness]:
    """Headless Chromium on ``base_url + HARNESS``; yields a :class:`Harness`."""
    check_ready()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page()
            page.set_default_timeout(TIMEOUT_MS)
            errors: list[str] = []
            page.on("pageerror", lambda err: errors.append(str(err)))
            page.goto(base_url + HARNESS)
            page.wait_for_function("() => window.kbdHarness !== undefined")
            if errors:
                raise BrowserError(f"harness page failed: {errors[0]}")
            yield Harness(page, bundle_url, wasm_dir)
        finally:
            browser.close()


@contextlib.contextmanager
def harness(bundle_dir: Path) -> Iterator[Harness]:
    """The harness on a private static server for ``bundle_dir`` (verified first)."""
    bundle = Bundle.load(bundle_dir)
    with serve_files(bundle) as url, open_harness(url, "/bundle/") as h:
        yield h


def browser_conformance(bundle_dir: Path):
    """(report, browser milliseconds) of the bundle's vectors run in the browser."""
    from kbd_lm.inference.conformance import FILE, compare_results, read_vectors
    from kbd_lm.inference.tolerance import tolerance_for

    header, cases = read_vectors(Path(bundle_dir) / FILE)
    with harness(Path(bundle_dir)) as h:
        out = h.conformance()
    # LiteRT.js is checked with LiteRT's tolerance (docs/decoding.md, 10); the typo cases are
    # skipped (no correction in the browser), the report says so.
    tol = tolerance_for(header, "litert")
    report = compare_results(
        cases, out["results"], tol, skipped=out["skipped"], skip_reason=out["skipReason"]
    )
    return report, out["ms"]


def browser_latency(bundle_dir: Path, texts: list[str], warm: list[str] = ()) -> list[float]:
    """Per-keystroke latency (ms) of the in-browser predictor on ``texts``, after ``warm``."""
    with harness(Path(bundle_dir)) as h:
        return h.latency(texts, warm)


def main(argv: list[str] | None = None) -> int:
    """CLI: browser and Python per-keystroke latency on the bench's replay, and conformance."""
    import argparse
    import time

    from kbd_lm.common.logs import setup_logging

    parser = argparse.ArgumentParser(prog="python -m kbd_lm.export.browser", description=__doc__)
    parser.add_argument("--bundle", default="dist/bundle")
    parser.add_argument("--calls", type=int, default=1000, help="keystrokes of each kind")
    parser.add_argument("--warmup", type=int, default=200)
    parser.add_argument("--corpus", default=None, help="replayed corpus (default: the bundle's)")
    parser.add_argument("--out", default=None, help="write the figures as JSON here")
    args = parser.parse_args(argv)
    setup_logging()
    from kbd_lm.export.latency import compare_latency, format_table

    try:
        check_ready()
        started = time.monotonic()
        report = compare_latency(Path(args.bundle), args.calls, args.warmup, args.corpus)
        conf, ms = browser_conformance(Path(args.bundle))
    except (BrowserError, FileNotFoundError) as err:
        log.error("%s", err)
        return 2
    report["browser_conformance"] = {**conf.__dict__, "ms": ms}
    print(format_table(report))
    print(f"browser conformance: {conf.summary()} in {ms / 1000:.1f} s")
    print(f"done in {time.monotonic() - started:.0f} s")
    if args.out:
        atomic_write_text(Path(args.out), json.dumps(report, indent=2) + "\n")
    return 0 if conf.passed else 1


if __name__ == "__main__":
    raise SystemExit(main())
