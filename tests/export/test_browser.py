"""The in-browser predictor driven from Python: private static server, latency samples."""

import urllib.error
import urllib.request

import pytest

from kbd_lm.export import browser as BR
from kbd_lm.export.latency import _by_kind
from kbd_lm.inference.bundle import Bundle


def get(url):
    with urllib.request.urlopen(url, timeout=10) as r:
        return r.status, dict(r.headers), r.read()


def test_static_server_serves_the_harness_and_only_manifest_files(tiny_bundle):
    (tiny_bundle.parent / "private.txt").write_text("no")
    with BR.serve_files(Bundle.load(tiny_bundle)) as url:
        status, headers, body = get(url + BR.HARNESS)
        assert status == 200 and b"importmap" in body
        assert headers["Cross-Origin-Embedder-Policy"] == "require-corp"  # precise timers
        status, headers, body = get(url + "/bundle/model.tflite")
        assert body == (tiny_bundle / "model.tflite").read_bytes()
        for path in ("/bundle/../private.txt", "/bundle/weights.npz", "/etc/passwd", "/"):
            with pytest.raises(urllib.error.HTTPError) as err:
                get(url + path)
            assert err.value.code == 404, path


def test_browser_latency_gives_one_sample_per_keystroke(browser_ready, tiny_bundle):
    texts = ["", "s", "se", "see", "see ", "see y"]
    ms = BR.browser_latency(tiny_bundle, texts, warm=["hello ", "I lo"])
    assert len(ms) == len(texts) and all(0 < t < 5_000 for t in ms)
    kinds = ["next_word"] + ["completion"] * 3 + ["next_word", "completion"]
    table = _by_kind(ms, kinds)
    assert table["next_word"]["n"] == 2 and table["completion"]["n"] == 4
