"""The demo page's "on this device" switch: suggestions from LiteRT.js, no server request,
with a personal history of the messages sent in the page, kept in localStorage across reloads
until "clear history".

Runs the tiny (dynamic-range quantized) bundle in headless Chromium through the real app.
"""

from __future__ import annotations

import contextlib

import pytest

from kbd_lm.export.browser import CHROMIUM, CHROMIUM_ARGS
from kbd_lm.history.user_history import UserHistory
from kbd_lm.inference.predictor import Predictor

pytestmark = pytest.mark.browser

STORAGE_KEY = "kbd-lm.history"  # ondevice.js STORAGE_KEY
STORED_JS = f"() => localStorage.getItem('{STORAGE_KEY}')"


@contextlib.contextmanager
def demo_page(server_url: str):
    """Headless Chromium on the demo page at ``server_url``, loaded in server mode. Yields
    (page, errors, warnings): the page, and lists that collect from its first load on its
    uncaught errors and its console warnings (texts). The browser is closed after the block."""
    from playwright.sync_api import expect, sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page()
            errors, warnings = [], []
            page.on("pageerror", lambda err: errors.append(str(err)))
            page.on("console", lambda m: warnings.append(m.text) if m.type == "warning" else None)
            page.goto(server_url + "/")
            expect(page.locator("#status")).to_contain_text("kbd-lm", timeout=10_000)
            yield page, errors, warnings
        finally:
            browser.close()


def reload(page, calls: list | None = None):
    """Reload the page if ``calls`` is given (emptied once the page's first, server-mode,
    request is done), switch to "on this device"; the text box, ready."""
    from playwright.sync_api import expect

    if calls is not None:
        page.reload()
        expect(page.locator("#status")).to_contain_text("kbd-lm", timeout=10_000)
        calls.clear()
    page.locator("#ondevice").check()
    expect(page.locator("#status")).to_contain_text("on this device ·", timeout=60_000)
    return page.locator("#text")


def test_on_device_suggestions_make_no_server_request(browser_ready, server_url, tiny_bundle):
    from playwright.sync_api import expect

    python = Predictor.load(tiny_bundle)
    with demo_page(server_url) as (page, errors, warnings):
        buttons = page.locator("#suggestions button")

        predict_calls = []
        page.on(
            "request",
            lambda r: predict_calls.append(r.url) if "/v1/predict-next" in r.url else None,
        )
        sent = []  # requests that carry the history's words
        page.on(
            "request",
            lambda r: sent.append(r.url) if "Quattro" in (r.post_data or "") else None,
        )
        box = reload(page)
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

        # Enter sends the message: the page's own history learns it, then suggests it, and
        # keeps it in localStorage (history.py's file format) across a reload.
        box.fill("")
        box.press_sequentially("lunch at Quattro?", delay=10)
        box.press("Enter")
        expect(box).to_have_value("")
        box.press_sequentially("see you at Qu", delay=20)
        expect(buttons.first).to_have_text("Quattro", timeout=20_000)
        assert page.evaluate("() => window.kbdOnDevice.historySize") > 0
        stored = page.evaluate(STORED_JS)
        assert stored.startswith('{"format": "kbd-lm-history", "version": 1')
        assert UserHistory.from_bytes(stored.encode()).words()[-1][0] == "Quattro"

        box = reload(page, predict_calls)
        box.press_sequentially("see you at Qu", delay=20)
        expect(buttons.first).to_have_text("Quattro", timeout=20_000)

        # "clear history" forgets it, the stored copy too: gone after a reload.
        page.locator("#clear-history").click()
        expect(buttons.first).not_to_have_text("Quattro", timeout=20_000)
        assert page.evaluate("() => window.kbdOnDevice.historySize") == 0
        assert page.evaluate(STORED_JS) is None
        box = reload(page, predict_calls)
        box.press_sequentially("see you at Qu", delay=20)
        expect(buttons.first).not_to_have_text("", timeout=20_000)
        expect(buttons.first).not_to_have_text("Quattro", timeout=20_000)
        assert page.evaluate("() => window.kbdOnDevice.historySize") == 0

        # A damaged stored copy: a console warning, discarded, an empty history that learns.
        damaged = bytearray(stored.encode())
        damaged[damaged.index(b"Quattro")] ^= 0x01
        page.evaluate(
            "([key, text]) => localStorage.setItem(key, text)",
            [STORAGE_KEY, damaged.decode()],
        )
        box = reload(page, predict_calls)
        box.press_sequentially("see you at Qu", delay=20)
        expect(buttons.first).not_to_have_text("", timeout=20_000)
        assert page.evaluate("() => window.kbdOnDevice.historySize") == 0
        assert page.evaluate(STORED_JS) is None
        assert any("checksum does not match" in w for w in warnings), warnings
        box.fill("")
        box.press_sequentially("lunch at Quattro?", delay=10)
        box.press("Enter")
        page.wait_for_function(f"() => localStorage.getItem('{STORAGE_KEY}') !== null")
        assert predict_calls == [], predict_calls
        assert sent == [], sent  # nothing of the history goes to the server
        assert not errors, errors

        # Back to the server: requests again.
        page.locator("#ondevice").uncheck()
        box.press_sequentially("x", delay=20)
        expect(page.locator("#status")).to_contain_text("kbd-lm", timeout=10_000)
        assert predict_calls


def test_on_device_space_autocorrects_and_backspace_undoes_and_teaches(
    browser_ready, server_url, tiny_bundle
):
    """On this device the strip marks corrections; space commits the autocorrection in place
    of the typed letters, backspace right after puts them back, and the history learns the
    word typed: typed again, it is no longer autocorrected (the Python predictor, asked with
    the same text, autocorrects it)."""
    import re

    from playwright.sync_api import expect

    python = Predictor.load(tiny_bundle)
    text = "see you tomorow"
    want = python.suggest(text, k=3, correct=True)
    assert want[0].word == "tomorrow" and want[0].autocorrect
    with demo_page(server_url) as (page, errors, _):
        box = reload(page)
        buttons = page.locator("#suggestions button")

        def typed(value: str) -> None:  # the strip shows the suggestions for value
            box.fill("")
            box.press_sequentially(value, delay=20)
            page.wait_for_function("(v) => shown.text === v", arg=value, timeout=20_000)

        # rhe: the autocorrection first (underlined), other corrections marked too
        typed("rhe")
        rhe = python.suggest("rhe", k=3, correct=True)
        expect(buttons).to_have_text([s.word for s in rhe])
        expect(buttons.first).to_have_class(re.compile(r"\bautocorrect\b"))
        for button, s in zip(buttons.all(), rhe, strict=True):
            marked = "correction" in (button.get_attribute("class") or "").split()
            assert marked == (s.kind == "correction")

        typed(text)
        expect(buttons.first).to_have_text("tomorrow")
        expect(buttons.first).to_have_class(re.compile(r"\bautocorrect\b"))
        box.press(" ")
        expect(box).to_have_value("see you tomorrow ")
        box.press("Backspace")  # right after: the letters as typed, the space kept
        expect(box).to_have_value("see you tomorow ")
        page.wait_for_function("() => window.kbdOnDevice.knows('tomorow')")
        stored = UserHistory.from_bytes(page.evaluate(STORED_JS).encode())
        assert "tomorow" in [w for w, _ in stored.words()]

        # learned: still offered in the strip, no longer committed by space
        typed(text)
        expect(buttons.first).not_to_have_class(re.compile(r"\bautocorrect\b"))
        box.press(" ")
        expect(box).to_have_value("see you tomorow ")
        # a backspace that does not follow an autocorrection deletes as always
        box.press("Backspace")
        expect(box).to_have_value("see you tomorow")
        assert not errors, errors
