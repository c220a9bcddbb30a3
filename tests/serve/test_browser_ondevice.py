"""The demo page's "on this device" switch: suggestions from LiteRT.js, no server request,
with a personal history of the messages sent in the page.

Runs the tiny (dynamic-range quantized) bundle in headless Chromium through the real app.
"""

from __future__ import annotations

import pytest

from kbd_lm.export.browser import CHROMIUM, CHROMIUM_ARGS
from kbd_lm.predict import Predictor

pytestmark = pytest.mark.browser


def test_on_device_suggestions_make_no_server_request(browser_ready, server_url, tiny_bundle):
    from playwright.sync_api import expect, sync_playwright

    python = Predictor.load(tiny_bundle)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page()
            errors = []
            page.on("pageerror", lambda err: errors.append(str(err)))
            page.goto(server_url + "/")
            buttons = page.locator("#suggestions button")
            expect(page.locator("#status")).to_contain_text("kbd-lm", timeout=10_000)

            predict_calls = []
            page.on(
                "request",
                lambda r: predict_calls.append(r.url) if "/v1/predict-next" in r.url else None,
            )
            page.locator("#ondevice").check()
            expect(page.locator("#status")).to_contain_text("on this device ·", timeout=60_000)

            box = page.locator("#text")
            box.press_sequentially("see you ", delay=20)
            want = {s.word for s in python.suggest("see you ", k=3)}
            expect(buttons).to_have_count(3)
            page.wait_for_function(
                "(want) => [...document.querySelectorAll('#suggestions button')]"
                ".every((b) => want.includes(b.textContent))",
                arg=sorted(want),
                timeout=20_000,
            )
            box.fill("")
            box.press_sequentially("thank you so mu", delay=20)
            expect(buttons.first).to_have_text("much", timeout=20_000)
            buttons.first.click()
            expect(box).to_have_value("thank you so much ")
            expect(page.locator("#status")).to_contain_text("on this device ·")

            # Enter sends the message: the page's own history learns it, then suggests it;
            # "clear history" forgets it.
            box.fill("")
            box.press_sequentially("lunch at Quattro?", delay=10)
            box.press("Enter")
            expect(box).to_have_value("")
            box.press_sequentially("see you at Qu", delay=20)
            expect(buttons.first).to_have_text("Quattro", timeout=20_000)
            assert page.evaluate("() => window.kbdOnDevice.historySize") > 0
            page.locator("#clear-history").click()
            expect(buttons.first).not_to_have_text("Quattro", timeout=20_000)
            assert page.evaluate("() => window.kbdOnDevice.historySize") == 0
            assert predict_calls == [], predict_calls
            assert not errors, errors

            # Back to the server: requests again.
            page.locator("#ondevice").uncheck()
            box.press_sequentially("x", delay=20)
            expect(page.locator("#status")).to_contain_text("kbd-lm", timeout=10_000)
            assert predict_calls
        finally:
            browser.close()
