"""The demo page in headless Chromium (Debian's ``chromium``) driven by Playwright.

The real app runs under uvicorn on a free loopback port in a background thread. Set
``KBD_LM_DEMO_SCREENSHOT=path.png`` to also save the screenshot there (docs/demo.png).
"""

from __future__ import annotations

import os
import shutil

import httpx
import pytest

from kbd_lm.export.browser import CHROMIUM, CHROMIUM_ARGS

# browser_ready skips without Chromium and Playwright, and fails instead under CI=true.
pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("browser_ready")]


def _suggestions(url: str, text: str) -> list[str]:
    r = httpx.post(f"{url}/v1/predict-next", json={"text": text, "k": 3}, timeout=10)
    return [s["word"] for s in r.json()["suggestions"]]


def test_demo_page_suggests_and_inserts(server_url, tmp_path):
    from playwright import sync_api

    expect = sync_api.expect
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 640, "height": 440})
            bodies = []  # what the page posts to /v1/predict-next
            page.on(
                "request",
                lambda r: bodies.append(r.post_data_json) if "predict-next" in r.url else None,
            )
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

            # The field hint goes with every request: "message" first, then as chosen.
            assert bodies and all(b["hint"] == "message" for b in bodies)
            for choice, want in (("email", "email"), ("", None)):
                seen = len(bodies)
                page.select_option("#hint", choice)
                for _ in range(100):  # a new field asks again (within 5 s)
                    if len(bodies) > seen:
                        break
                    page.wait_for_timeout(50)
                assert len(bodies) > seen and bodies[-1].get("hint") == want
        finally:
            browser.close()
