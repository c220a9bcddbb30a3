"""The history file format in the browser: ``history.js`` reads what ``history.py`` writes and
writes what it reads, byte for byte, and refuses a damaged file as Python does (spec 9.2).

Python learns varied messages (casing, long names, apostrophes, other scripts, repetition,
enough of them at a short half-life and a small ``max_entries`` that counts decay, are
rescaled and trimmed) and writes the file; the harness page in headless Chromium loads it and
lists and suggests with it; the browser learns the same messages and writes its own file.
"""

from __future__ import annotations

import hashlib
import json

import pytest

from kbd_lm.export.browser import open_harness
from kbd_lm.history.user_history import HistoryConfig, HistoryFileError, UserHistory
from kbd_lm.inference.conformance import FILE, read_vectors
from kbd_lm.inference.predictor import Predictor
from kbd_lm.inference.tolerance import compare, tolerance_for
from kbd_lm.serve.settings import ServeSettings

pytestmark = pytest.mark.browser

# half_life 3: a count halves every 3 messages, the stored counts are rescaled past 2^20
# (after 60 messages); max_entries 100: the smallest counts are dropped again and again.
CONFIG = {"max_entries": 100, "half_life": 3.0}
BASE = [
    "meet Bartholomew at the gate",
    "See you at Anneliese's place. iPhone is charging",
    "I don\u2019t know, ok. NASA rocks!!! Paris is nice",
    "Привет, как дела? Straße ΣΟΦΟΣ café 東京 after İstanbul trip",  # İ: not learned
    "lunch at Quattro? Schwarzenegger and Ouagadougou tomorrow",
    "my pin is 48213 and that's it",
    "ok ok ok ok see you soon",
]
MESSAGES = [BASE[i % len(BASE)] if i % 3 else f"message {i} to Anneliese" for i in range(75)]
MESSAGES += BASE
TEXTS = ["meet B", "see you ", "", "Привет, ", "lunch at Q", "I don't ", "at Annel", "Ouag", "NA"]

# In the harness page: load Python's file; its listing, look-ups and suggestions; the bytes it
# writes again; the browser's own history of the same messages, its bytes and that file loaded.
LOAD_JS = """async ([b, w, bytes, config, messages, texts]) => {
  const p = await window.kbdHarness.predictor(b, w);
  const {UserHistory} = window.kbdHarness;
  const h = await UserHistory.fromBytes(p.rules, new Uint8Array(bytes), config);
  const suggest = async (hist) => {
    const out = [];
    for (const t of texts) out.push((await p.suggest(t, 3, hist)).map(({word, probability}) =>
      ({word, probability})));
    return out;
  };
  const own = p.newHistory(config);
  messages.forEach((m) => own.learn(m));
  const ownBytes = await own.toBytes();
  const reread = await UserHistory.fromBytes(p.rules, ownBytes, config);
  return {
    entries: h.entries(), words: h.words(), frequent: h.frequent(16),
    startingWith: h.startingWith("a", 8), suggestions: await suggest(h),
    rewritten: Array.from(await h.toBytes()),
    own: {bytes: Array.from(ownBytes), entries: reread.entries(), words: reread.words()},
  };
}"""

# Each damaged file: the error's name and message, and that the page still suggests.
DAMAGED_JS = """async ([b, w, files]) => {
  const p = await window.kbdHarness.predictor(b, w);
  const {UserHistory} = window.kbdHarness;
  const out = [];
  for (const bytes of files) {
    try {
      await UserHistory.fromBytes(p.rules, new Uint8Array(bytes));
      out.push(null);
    } catch (err) {
      out.push([err.name, err.message]);
    }
  }
  const empty = p.newHistory();
  const still = (await p.suggest("see you ", 3, empty)).map((s) => s.word);
  return {errors: out, still, emptySize: empty.size};
}"""

FLOATS_JS = """async (xs) => {
  const {pyFloatRepr, pyRound} = await import(new URL("history.js", location.href));
  return xs.map((x) => [pyFloatRepr(x), pyFloatRepr(pyRound(x, 4))]);
}"""

SHA_JS = """async (files) => {
  const {sha256Hex, sha256HexPure} = await import(new URL("sha256.js", location.href));
  const out = [];
  for (const f of files) {
    const bytes = new Uint8Array(f);
    out.push([await sha256Hex(bytes), sha256HexPure(bytes)]);
  }
  return out;
}"""


def _python_history() -> UserHistory:
    history = UserHistory(HistoryConfig(**CONFIG))
    for message in MESSAGES:
        history.learn(message)
    return history


def _entries(history: UserHistory) -> list:
    return [[list(e.words), e.count] for e in history.entries()]


def _js_entries(entries: list[dict]) -> list:
    return [[e["words"], e["count"]] for e in entries]


def _with_checksum(body: bytes) -> bytes:
    return body + json.dumps({"sha256": hashlib.sha256(body).hexdigest()}).encode() + b"\n"


@pytest.fixture(scope="module")
def harness(browser_ready, app_server, float32_bundle):
    settings = ServeSettings(bundle=float32_bundle, pool_size=1, access_log=False)
    with app_server(settings) as url, open_harness(url, "/v1/bundle/") as h:
        yield h


@pytest.fixture(scope="module")
def python_file() -> bytes:
    return _python_history().to_bytes()


@pytest.fixture(scope="module")
def loaded(harness, python_file):
    args = [harness.bundle_url, harness.wasm_dir, list(python_file), CONFIG, MESSAGES, TEXTS]
    return harness.page.evaluate(LOAD_JS, args)


def test_the_python_history_decays_rescales_and_trims():
    """The messages do what the file tests need: decay, a rescale, bounds, many scripts."""
    history = _python_history()
    assert history._clock < len(MESSAGES)  # rescaled
    assert len(history) <= CONFIG["max_entries"]
    words = {w for w, _ in history.words()}
    assert {"Anneliese's", "ΣΟΦΟΣ", "iPhone", "NASA", "don't", "東京", "Ouagadougou"} <= words
    assert len({e.count for e in history.entries()}) > 5


def test_browser_loads_a_python_file_like_python(loaded, python_file, float32_bundle):
    python = UserHistory.from_bytes(python_file, HistoryConfig(**CONFIG))
    assert _js_entries(loaded["entries"]) == _entries(python)
    assert [tuple(wc) for wc in loaded["words"]] == python.words()
    assert loaded["frequent"] == python.frequent(16)
    assert loaded["startingWith"] == python.starting_with("a", 8)
    # Written again, the loaded history is the same file, byte for byte.
    assert bytes(loaded["rewritten"]) == python_file == python.to_bytes()

    header, _ = read_vectors(float32_bundle / FILE)
    predictor = Predictor.load(float32_bundle)
    for text, got in zip(TEXTS, loaded["suggestions"], strict=True):
        want = [
            {"word": s.word, "probability": s.probability}
            for s in predictor.suggest(text, k=3, history=python)
        ]
        assert compare(want, got, tolerance_for(header, "litert")) is None, (text, want, got)
    mixed = [s["word"] for s in loaded["suggestions"][TEXTS.index("Ouag")]]
    assert "Ouagadougou" in mixed and "Ouagadougou" not in (
        s.word for s in predictor.suggest("Ouag", k=3)
    )


def test_python_loads_a_browser_file_like_the_browser(loaded, python_file):
    js_file = bytes(loaded["own"]["bytes"])
    python = UserHistory.from_bytes(js_file, HistoryConfig(**CONFIG))
    assert _entries(python) == _js_entries(loaded["own"]["entries"])
    assert python.words() == [tuple(wc) for wc in loaded["own"]["words"]]
    # The browser learned the same messages as Python: the same file, byte for byte.
    assert js_file == python_file


def _damaged(good: bytes) -> dict[str, bytes]:
    lines = good.split(b"\n")
    body = b"\n".join(lines[:-2]) + b"\n"
    i = body.index("ΣΟΦΟΣ".encode())
    changed = bytearray(good)
    changed[i + 1] ^= 0x01
    version = body.replace(b'"version": 1', b'"version": 2', 1)
    entry = lines[2].decode()
    return {
        "one byte changed": bytes(changed),
        "truncated": good[: len(good) // 2],
        "empty": b"",
        "unknown version": _with_checksum(version),
        "bad JSON": _with_checksum(body.replace(entry.encode(), entry[:-1].encode(), 1)),
        "bad count": _with_checksum(body.replace(entry.encode(), b'[-1, "ok"]', 1)),
        "huge count": _with_checksum(body.replace(entry.encode(), b'[1e300, "ok"]', 1)),
        "not a word": _with_checksum(body.replace(entry.encode(), b'[1.0, "a b"]', 1)),
        "start inside": _with_checksum(body.replace(entry.encode(), b'[1.0, "ok", ""]', 1)),
        "entries count": _with_checksum(body.replace(b'"entries": ', b'"entries": 1', 1)),
    }


def test_damaged_files_are_refused_in_the_browser_as_in_python(harness, python_file):
    damaged = _damaged(python_file)
    args = [harness.bundle_url, harness.wasm_dir, [list(b) for b in damaged.values()]]
    out = harness.page.evaluate(DAMAGED_JS, args)
    for (what, data), got in zip(damaged.items(), out["errors"], strict=True):
        with pytest.raises(HistoryFileError) as err:
            UserHistory.from_bytes(data)
        assert got == ["HistoryFileError", str(err.value)], what
    assert "checksum does not match" in out["errors"][0][1]
    assert "format version 2; this reader knows 1" in out["errors"][3][1]
    assert len(out["still"]) == 3 and out["emptySize"] == 0  # the page works, history empty


def test_plain_sha256_matches_web_crypto(harness, python_file):
    """The fallback for pages without Web Crypto (plain http) gives the same checksums."""
    files = [b"", b"abc", bytes(range(256)) * 3, python_file]
    got = harness.page.evaluate(SHA_JS, [list(f) for f in files])
    assert got == [[hashlib.sha256(f).hexdigest()] * 2 for f in files]


def test_counts_are_rounded_and_written_as_python_does(harness):
    """round(c, 4) ties to even on the exact value (0.03125 -> 0.0312, 0.09375 -> 0.0938)
    and repr(float) ("1.0", "1e-05", "1e+16"), for the values a file can hold and more."""
    xs = [k / 32 for k in range(1, 200)] + [2 ** (-k / 3) * 7 for k in range(120)]
    xs += [1e-5, 1.5e-5, 0.0001, 0.00015, 0.5, 2.5, 1e16, 1.2345e17, 123456.78905, 1 / 3]
    xs += [2000.0, 1e22, 5e-324, 0.1 + 0.2, 1e15 + 0.3]
    got = harness.page.evaluate(FLOATS_JS, xs)
    assert got == [[repr(x), repr(round(x, 4))] for x in xs]


def test_word_list_ties_keep_pythons_code_point_order(harness):
    """Equal counts rank in code-point order (Python's), not UTF-16's: U+FB00 (ﬀ) before
    U+1D400 (𝐀, a surrogate pair in JavaScript), although 0xFB00 > 0xD835."""
    from kbd_lm.inference.lexicon import Lexicon

    words = {"a\U0001d400": 5, "a\ufb00": 5, "ab": 5}
    got = harness.page.evaluate(
        """async (words) => {
          const {Lexicon} = await import("./lexicon.js");
          return new Lexicon(Object.entries(words)).completions("a", 3);
        }""",
        words,
    )
    assert [w for w, _ in got] == [w for w, _ in Lexicon(words).completions("a", 3)]
    assert [w for w, _ in got] == ["ab", "a\ufb00", "a\U0001d400"]
