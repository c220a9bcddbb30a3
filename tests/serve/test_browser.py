"""The demo page in headless Chromium (Debian's ``chromium``) driven by Playwright.

The real app runs under uvicorn on a free loopback port in a background thread. Set
``KBD_LM_DEMO_SCREENSHOT=path.png`` to also save the screenshot there (docs/demo.png).
"""

from __future__ import annotations

import os
import shutil
import threading
import time
from pathlib import Path

import httpx
import pytest

from kbd_lm.export.bench.loadtest import free_port
from kbd_lm.serve.app import create_app

CHROMIUM = "/usr/bin/chromium"
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

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not Path(CHROMIUM).exists(), reason=f"{CHROMIUM} not installed (apt-get install chromium)"
    ),
]


@pytest.fixture
def server_url(settings):
    """The real app under uvicorn on 127.0.0.1 in a thread; its base URL."""
    import uvicorn

    port = free_port()
    config = uvicorn.Config(
        create_app(settings=settings),
        host="127.0.0.1",
        port=port,
        log_level="warning",
        access_log=False,
        lifespan="on",
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="uvicorn", daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            pytest.fail("the server did not start")
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)


def _suggestions(url: str, text: str) -> list[str]:
    r = httpx.post(f"{url}/v1/predict-next", json={"text": text, "k": 3}, timeout=10)
    return [s["word"] for s in r.json()["suggestions"]]


def test_demo_page_suggests_and_inserts(server_url, tmp_path):
    sync_api = pytest.importorskip("playwright.sync_api", reason="Playwright for Python")
    expect = sync_api.expect
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 640, "height": 440})
            page.goto(server_url + "/")
            box = page.locator("#text")
            buttons = page.locator("#suggestions button")
            expect(buttons).to_have_count(3)

            # Next word: type a phrase ending in a space, wait for its suggestions.
            box.press_sequentially("I love ", delay=25)
            words = _suggestions(server_url, "I love ")
            assert len(words) == 3
            expect(buttons).to_have_text(words, timeout=10_000)
            expect(page.locator("#status")).to_contain_text("kbd-lm")
            page.screenshot(path=str(tmp_path / "demo.png"))
            if os.environ.get("KBD_LM_DEMO_SCREENSHOT"):
                shutil.copy(tmp_path / "demo.png", os.environ["KBD_LM_DEMO_SCREENSHOT"])
            buttons.nth(1).click()
            expect(box).to_have_value(f"I love {words[1]} ")
            expect(box).to_be_focused()

            # Inside a word: the suggestion replaces the partial word.
            box.fill("")
            box.press_sequentially("see yo", delay=25)
            words = _suggestions(server_url, "see yo")
            expect(buttons).to_have_text(words, timeout=10_000)
            buttons.first.click()
            expect(box).to_have_value(f"see {words[0]} ")
            # ... and the strip moves on to the next word after the inserted space.
            expect(buttons).to_have_text(
                _suggestions(server_url, f"see {words[0]} "), timeout=10_000
            )

            # Cursor in the middle of a word: the whole word is replaced, the text after kept.
            box.evaluate(
                "(el) => { el.value = 'see yoxx there'; el.setSelectionRange(6, 6);"
                " el.dispatchEvent(new Event('input')); }"
            )
            expect(buttons).to_have_text(words, timeout=10_000)  # for "see yo"
            buttons.nth(2).click()
            expect(box).to_have_value(f"see {words[2]} there")
            caret = box.evaluate("(el) => el.selectionStart")
            assert caret == len(f"see {words[2]} ")
        finally:
            browser.close()
