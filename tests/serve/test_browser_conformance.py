"""All conformance vectors of a tiny bundle, run by the JavaScript predictor in Chromium.

The real app serves the harness page, the vendored LiteRT.js and the bundle's files; the
browser computes piece ids and suggestions from the raw texts; Python compares them with
the vectors the Python predictor wrote at export. With ``CI=true`` a missing Chromium,
Playwright or LiteRT.js fails the test instead of skipping it.

The tiny model is exported in float32 here (``float32_bundle``, ``conftest.py``): with 64
cells, dynamic-range quantization turns the 1e-6 differences between two CPUs' kernels into
probability differences of up to 15% (a rounding flip of a quantized activation), which the
default-size model keeps under 3%. The demo-page test runs the dynamic tiny bundle in the
browser as well. The learn-then-suggest cases run too: the browser's ``UserHistory``
(``history.js``, ``privacy.js``) learns their messages and the predictor mixes it in (spec 9.2).
The typo cases (conformance version 5) run too: the browser predictor corrects typing
(``typing.js``, ``candidates.js``, ``correction.js``, ``wordprob.js``; spec 11), and its
channel's numbers (erfc, the touch tables, the likelihoods) are checked against Python's.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest

from kbd_lm.export.browser import open_harness
from kbd_lm.history.user_history import HistoryConfig, UserHistory
from kbd_lm.inference.blocklist import BLOCKLIST_FILE, Blocklist
from kbd_lm.inference.bundle import Bundle
from kbd_lm.inference.conformance import FILE, compare_results, read_vectors
from kbd_lm.inference.correction import CANDIDATES
from kbd_lm.inference.decoding import DecodingSpec
from kbd_lm.inference.tolerance import tolerance_for
from kbd_lm.serve.settings import ServeSettings
from kbd_lm.typing.candidates import WordTrie
from kbd_lm.typing.channel import TypedLetters, touch_table

pytestmark = pytest.mark.browser


# Messages whose learning the browser must do as Python does: secrets cut out, sentences,
# casing, apostrophes, a word too long to learn, scripts other than Latin.
MESSAGES = [
    ("my pin is 48213 and zorblax", "password"),
    ("Call 555 123 4567. Ok bye", "text"),
    ("mail bob@example.com or www.Zorb.io/x now! Really? yes", "text"),
    ("my code hunter2024 and a8f3k2l9x0 works; ids like ab12 stay", "text"),
    ("meet Bartholomew at the gate. iPhone and I'm here", "text"),
    ("I don\u2019t know, ok. NASA rocks!!! Paris is nice", "text"),
    ("Привет, как дела? Straße ΣΟΦΟΣ café " + "x" * 41 + " after", "text"),
    ("at 10:30 on 12/05/2024 +44 (0)20 7946-0958 ok", "text"),
    ("HTTP://X.Y and WWW.example.org or Visit.COM, ключ12абвгд my_var_2024x done.", "text"),
    ("meet Bartholomew at the gate", "text"),
]
BOUNDED = {"max_entries": 40}  # a history that must drop its smallest counts
# In the harness page: learn MESSAGES into a new history of the predictor; its entries,
# words, look-ups and what it suggests; the same in a bounded history; forget and clear.
LEARN_JS = """async ([b, w, messages, bounded]) => {
  const p = await window.kbdHarness.predictor(b, w);
  const h = p.newHistory();
  const learned = messages.map(([text, field]) => h.learn(text, field));
  const entries = h.entries();
  const words = h.words().map(([word]) => word);
  const lookups = [h.frequent(16), h.startingWith("m", 8), h.bestFollowing(["meet"], 8)];
  const suggested = (await p.suggest("meet B", 3, h)).map((s) => s.word);
  const plain = (await p.suggest("meet B", 3)).map((s) => s.word);
  const secret = p.newHistory();
  secret.learn(messages[0][0], messages[0][1]);
  const small = p.newHistory(bounded);
  messages.forEach(([text, field]) => small.learn(text, field));
  const forgot = [h.forget("Bartholomew"), h.forget("Bartholomew")];
  const afterForget = [h.entries(), h.frequent(16)];
  h.clear();
  return {learned, entries, words, lookups, suggested, plain, secretSize: secret.size,
          bounded: small.entries(), forgot, afterForget, cleared: h.size};
}"""


# erfc where JavaScript has none: both tails, the switch from series to continued fraction
# (1), and far keys' tiny masses (erfc(26) is 5.7e-296).
ERFC_AT = [-6.0, -1e-9, 0.0, 1e-9, 0.47693627620446987, 0.999999, 1.0, 1.000001, 26.0]
ERFC_AT += [round(x, 3) for x in np.linspace(-6, 26, 641)]
# (typed, intended, layout, taps): slips of every kind, a letter off the layout, taps
LIKELIHOODS = [
    ("teh", "the", "qwerty", None),
    ("tomo", "tomorrow", "qwerty", None),
    ("dont", "don't", "qwerty", None),
    ("thw", "the", "azerty", None),
    ("helllo", "hello", "qwertz", None),
    ("yuo", "you", "dvorak", None),
    ("x", "the", "qwerty", None),
    ("caf\u00e9", "cafe", "qwerty", None),
    ("tpmor", "tomorrow", "qwerty", [[4.4, 0.6], [9.1, 0.4], [7.7, 0.5], [8.6, 0.4], [3.3, 0.55]]),
    ("g", "g", "qwerty", [[5.0, 1.5]]),
]
# In the harness page: typing.js's erfc, touch tables and likelihoods; suggest's two ways of
# passing options, correction off, and an unknown layout.
CHANNEL_JS = """async ([b, w, xs, pairs]) => {
  const p = await window.kbdHarness.predictor(b, w);
  const T = await import("./typing.js");
  const spec = p.typing;
  const spread = spec.channel.touch_spread;
  const tables = spec.layouts.map((l) => [l.name, Array.from(l.touchTable(spread))]);
  const likelihoods = pairs.map(([typed, word, name, taps]) =>
    new T.TypedLetters(typed, spec.layout(name), spec.channel, taps).likelihoods(word));
  const text = "see you tomorow";
  const forms = [await p.suggest(text, 3, {correct: true}),
                 await p.suggest(text, 3, null, null, {correct: true}), await p.suggest(text, 3)];
  let refused = null;
  try { await p.suggest(text, 3, {correct: true, layout: "colemak"}); }
  catch (e) { refused = String(e.message); }
  return {erfc: xs.map((x) => T.erfc(x)), tables, likelihoods, forms, refused};
}"""


# A word list far larger than the tiny bundle's (73 words), whose walks read thousands of
# nodes and run into a node budget: words of 1-4 syllables, counts falling with the rank
# (equal counts among them, so that ties must rank alike), and typed letters garbled from them.
SYLLABLES = [
    "th",
    "e",
    "a",
    "in",
    "er",
    "an",
    "re",
    "on",
    "at",
    "en",
    "nd",
    "ti",
    "es",
    "or",
    "te",
    "of",
    "ed",
    "is",
    "it",
    "al",
    "ar",
    "st",
    "to",
    "nt",
    "ng",
    "se",
    "ha",
]
WALK_JS = """async ([b, w, items, walks]) => {
  const p = await window.kbdHarness.predictor(b, w);
  const {WordTrie} = await import("./candidates.js");
  const T = await import("./typing.js");
  const trie = new WordTrie(items);
  return walks.map(([typed, name, budget]) => {
    const letters = new T.TypedLetters(typed, p.typing.layout(name), p.typing.channel);
    const skip = (word) => word.toLowerCase().startsWith(typed);
    const found = trie.walk(letters, 8, skip, false, null, budget);
    return [...found.entries()].map(([key, f]) => [key, f.word, f.count, f.whole, f.prefix]);
  });
}"""


def _word_list(n: int = 6000, seed: int = 5) -> list[tuple[str, int]]:
    """(word, count) pairs, most frequent first as Lexicon.items() gives them."""
    rng = np.random.default_rng(seed)
    words: dict[str, None] = {}
    while len(words) < n:
        parts = rng.choice(SYLLABLES, size=rng.integers(1, 5))
        words["".join(parts)] = None
    counts = [max(3, int(200_000 / (rank + 1) ** 1.1)) for rank in range(n)]
    return sorted(zip(words, counts, strict=True), key=lambda item: (-item[1], item[0]))


def _walks(items: list[tuple[str, int]], seed: int = 6) -> list[list]:
    """[typed, layout, node budget]: garbled words of the list on each layout, the default
    budget and a small one (the budget's cut by bounds), and a long garbled word."""
    rng = np.random.default_rng(seed)
    out = []
    for i in range(12):
        letters = list(items[int(rng.integers(0, 600))][0])
        j = int(rng.integers(0, len(letters)))
        letters[j] = "qwertyuiopasdfghjklzxcvbnm"[int(rng.integers(0, 26))]  # a slip
        if len(letters) > 3 and i % 2:
            del letters[int(rng.integers(0, len(letters)))]  # an omission
        out.append(["".join(letters), ["qwerty", "azerty", "qwertz"][i % 3], 10_000])
    out += [[typed, "qwerty", 300] for typed, _, _ in out[:4]]
    out.append(["thenarestonatin", "qwerty", 10_000])
    return out


@pytest.fixture(scope="module")
def browser_run(browser_ready, app_server, float32_bundle):
    """(header, cases, the browser's output) for the vectors of the float32 tiny bundle,
    learn-then-suggest cases included; ``out["history"]``: :data:`LEARN_JS`'s answer."""
    bundle = float32_bundle
    header, cases = read_vectors(bundle / FILE)
    settings = ServeSettings(bundle=bundle, pool_size=1, access_log=False)
    with app_server(settings) as url, open_harness(url, "/v1/bundle/") as harness:
        out = harness.conformance()
        args = [harness.bundle_url, harness.wasm_dir]
        out["blocklist"] = harness.page.evaluate(
            "async ([b, w]) => (await window.kbdHarness.predictor(b, w)).blocklist.entries()",
            args,
        )
        out["history"] = harness.page.evaluate(LEARN_JS, [*args, MESSAGES, BOUNDED])
        out["channel"] = harness.page.evaluate(CHANNEL_JS, [*args, ERFC_AT, LIKELIHOODS])
        items = _word_list()
        out["walks"] = harness.page.evaluate(WALK_JS, [*args, items, _walks(items)])
    return header, cases, out


def test_vectors_cover_the_spec(browser_run):
    header, cases, _ = browser_run
    kinds = {c["kind"] for c in cases}
    assert len(cases) >= 200
    assert {"empty", "next_word", "sentence_start", "apostrophe", "digits", "non_latin"} <= kinds
    assert {f"completion_{n}" for n in range(1, 6)} | {"emoji", "long_chars"} <= kinds
    assert "long_stride" in kinds  # where the reading start moves (spec section 2)
    assert {"blocklist_word", "blocklist_phrase", "blocklist_other"} <= kinds
    assert header["unicode_version"]


def test_learn_then_suggest_cases_run_and_pass_in_the_browser(browser_run):
    """The browser learns each case's messages into a new history and mixes it in (spec
    9.2): every learn-then-suggest case is run, and matches Python within the tolerance."""
    header, cases, out = browser_run
    learned = [c for c in cases if c.get("learn")]
    kinds = {c["kind"] for c in learned}
    assert {"history_completion", "history_long_word", "history_field", "history_secret"} <= kinds
    assert {"history_casing", "history_sentence_start", "history_blocklist"} <= kinds
    assert {"history_repeat", "history_units"} <= kinds
    assert out["skipped"] == []
    by_id = {r["id"]: r for r in out["results"]}
    assert all(c["id"] in by_id for c in learned)
    report = compare_results(learned, out["results"], tolerance_for(header, "litert"))
    assert report.passed and report.cases == len(learned) >= 20, report.failures
    diffs = [
        abs(e["probability"] - g["probability"])
        for c in learned
        for e, g in zip(c["suggestions"], by_id[c["id"]]["suggestions"], strict=True)
        if e["word"] == g["word"]
    ]
    print(f"{len(learned)} learn cases passed; largest probability difference {max(diffs):.2e}")


def _entries(history) -> list:
    return [(list(e.words), e.count) for e in history.entries()]


def _approx(js_entries: list[dict]) -> list:
    return [(e["words"], pytest.approx(e["count"], rel=1e-12)) for e in js_entries]


def test_browser_history_learns_like_python(browser_run):
    """history.js learns what history.py learns: the same entries and counts (secrets,
    sensitive fields, sentences, casing, long words), look-ups, bounds, forget and clear."""
    got = browser_run[2]["history"]
    python = UserHistory()
    assert got["learned"] == [python.learn(text, field) for text, field in MESSAGES]
    assert got["learned"][0] == 0 and got["secretSize"] == 0  # a password field: nothing
    want = _entries(python)
    assert _approx(got["entries"]) == want
    assert got["words"] == [w for w, _ in python.words()]  # the user's casing: iPhone, NASA
    lookups = [python.frequent(16), python.starting_with("m", 8)]
    assert got["lookups"] == [*lookups, python.best_following(("meet",), 8)]
    learned_words = {w for words, _ in want for w in words}
    secrets = {"48213", "zorblax", "555", "4567", "bob", "zorb", "hunter2024", "a8f3k2l9x0"}
    assert not secrets & learned_words
    assert got["suggested"][0] == "Bartholomew" and "Bartholomew" not in got["plain"]

    small = UserHistory(HistoryConfig(**BOUNDED))
    for text, field in MESSAGES:
        small.learn(text, field)
    assert len(small) <= BOUNDED["max_entries"] and _approx(got["bounded"]) == _entries(small)

    assert got["forgot"] == [python.forget("Bartholomew"), python.forget("Bartholomew")]
    assert got["forgot"] == [True, False] and got["cleared"] == 0
    assert _approx(got["afterForget"][0]) == _entries(python)
    assert got["afterForget"][1] == python.frequent(16)  # rebuilt after a removal


def test_browser_tokenizes_raw_text_like_python(browser_run):
    _, cases, out = browser_run
    report = compare_results(cases, out["results"], skipped=out["skipped"])
    bad = [f for f in report.failures if "context ids" in f["reason"]]
    assert report.ids_ok == report.cases == len(cases) - len(out["skipped"]), bad


def test_browser_suggests_like_python_within_tolerance(browser_run):
    header, cases, out = browser_run
    results = out["results"]
    report = compare_results(cases, results, tolerance_for(header, "litert"), 20, out["skipped"])
    assert report.suggestions_ok == report.cases == len(results), report.failures
    by_id = {r["id"]: r for r in results}
    run = [c for c in cases if c["id"] in by_id]
    nonempty = [c for c in run if c["suggestions"]]
    assert len(nonempty) > len(run) * 0.8  # the comparison is not vacuous
    assert all(by_id[c["id"]]["partial"] == c["partial"] for c in run)


def test_the_browser_corrects_typing_like_python(browser_run):
    """Every typo case (conformance version 5) runs in the browser and passes: the same context
    ids, the same words within the tolerance, and every word's kind and the autocorrection
    exactly (spec 10): slips by hand, other layouts, and drawn words with and without taps."""
    header, cases, out = browser_run
    typos = [c for c in cases if c.get("correct")]
    assert header["version"] == 5 and len(typos) >= 20
    assert {c["layout"] for c in typos} == {"qwerty", "azerty", "qwertz", "dvorak"}
    assert {"typo_units", "typo_taps"} <= {c["kind"] for c in typos}
    by_id = {r["id"]: r for r in out["results"]}
    assert out["skipped"] == [] and all(c["id"] in by_id for c in typos)
    report = compare_results(typos, out["results"], tolerance_for(header, "litert"))
    assert report.passed and report.cases == len(typos), report.failures
    # not vacuous: corrections, autocorrections, cases never corrected, all marked as Python's
    got = [s for c in typos for s in by_id[c["id"]]["suggestions"]]
    assert sum(s["autocorrect"] for s in got) >= 10
    assert {s["kind"] for s in got} <= {"completion", "correction"}
    assert sum(s["kind"] == "correction" for s in got) >= 20
    marks = [(s["word"], s["kind"], s["autocorrect"]) for c in typos for s in c["suggestions"]]
    assert sorted(marks) == sorted((s["word"], s["kind"], s["autocorrect"]) for s in got)
    print(report.summary())


def test_the_browser_channel_computes_pythons_numbers(browser_run, float32_bundle):
    """typing.js's erfc (JavaScript has none) within 1e-14 of math.erfc, its touch tables and
    channel likelihoods (taps and letters off the layout included) within 1e-12 of Python's."""
    got = browser_run[2]["channel"]
    for x, value in zip(ERFC_AT, got["erfc"], strict=True):
        assert value == pytest.approx(math.erfc(x), rel=1e-14, abs=0), x
    spec = Bundle.load(float32_bundle).typing()
    assert [name for name, _ in got["tables"]] == [layout.name for layout in spec.layouts]
    for name, table in got["tables"]:
        _, want = touch_table(spec.layout(name), spec.channel.touch_spread)
        table = np.array(table).reshape(want.shape)
        assert np.array_equal(np.isfinite(table), np.isfinite(want))
        np.testing.assert_allclose(table, want, rtol=1e-12, atol=0)
    for (typed, word, name, taps), values in zip(LIKELIHOODS, got["likelihoods"], strict=True):
        letters = TypedLetters(typed, layout=spec.layout(name), params=spec.channel, taps=taps)
        assert values == pytest.approx(list(letters.likelihoods(word)), rel=1e-12, abs=1e-12)


def test_the_browser_walks_a_large_word_list_like_python(browser_run, float32_bundle):
    """candidates.js's walk of a 6,000-word list finds the words Python's does, with the same
    likelihoods and in the same order (ties noted alike), within the node budget and a small one."""
    spec = Bundle.load(float32_bundle).typing()
    items = _word_list()
    trie = WordTrie(items)
    walks = _walks(items)
    for (typed, name, budget), got in zip(walks, browser_run[2]["walks"], strict=True):
        letters = TypedLetters(typed, layout=spec.layout(name), params=spec.channel)
        want = trie.walk(
            letters,
            CANDIDATES,
            lambda word, typed=typed: word.lower().startswith(typed),
            completions=False,
            max_nodes=budget,
        )
        assert [row[0] for row in got] == list(want), typed
        for key, word, count, whole, prefix in got:
            f = want[key]
            assert (word, count) == (f.word, f.count)
            assert [whole, prefix] == pytest.approx([f.whole, f.prefix], rel=1e-12, abs=1e-12)
    assert sum(len(found) for found in browser_run[2]["walks"]) > 100  # not vacuous


def test_browser_suggest_takes_correction_options_either_way(browser_run):
    """suggest(text, k, {correct}) and suggest(text, k, null, null, {correct}) agree; off, the
    letters are completed as typed (kind "completion"); an unknown layout is refused."""
    options, positional, off = browser_run[2]["channel"]["forms"]
    assert options == positional
    assert options[0]["word"] == "tomorrow" and options[0]["autocorrect"] is True
    assert off and all(s["word"].startswith("tomorow") for s in off)
    assert all(s["kind"] == "completion" and s["autocorrect"] is False for s in off)
    assert browser_run[2]["channel"]["refused"] == (
        'unknown layout "colemak": use one of qwerty, azerty, qwertz, dvorak'
    )


def test_browser_reads_the_bundles_blocklist_like_python(browser_run, float32_bundle):
    """Every entry of the shipped blocklist.txt (naughty-words), parsed into the same words."""
    python = Blocklist.load(float32_bundle / BLOCKLIST_FILE).entries()
    assert len(python) > 300
    assert sorted(browser_run[2]["blocklist"]) == sorted(python)


def test_browser_reads_field_hints_like_python(browser_ready, app_server, hinted_bundle):
    """A bundle trained with field hints: the browser puts the hint after BOS (spec 2) and
    matches every vector, the hinted ones included; it lists the hints the bundle has and
    refuses a name that is no hint."""
    header, cases = read_vectors(hinted_bundle / FILE)
    hinted = [c for c in cases if c.get("hint")]
    assert header["hints"] == ["message", "email"]
    assert {c["hint"] for c in hinted} == {"message", "email", "prose"}
    assert any(c["context_ids"][:2] == [2, 5] for c in hinted)  # BOS <hint:email>
    settings = ServeSettings(bundle=hinted_bundle, pool_size=1, access_log=False)
    with app_server(settings) as url, open_harness(url, "/v1/bundle/") as harness:
        out = harness.conformance()
        args = [harness.bundle_url, harness.wasm_dir]
        hints, refused = harness.page.evaluate(
            """async ([b, w]) => {
              const p = await window.kbdHarness.predictor(b, w);
              try { await p.suggest("see you ", 3, null, "chat"); return [p.hints, null]; }
              catch (e) { return [p.hints, String(e.message)]; }
            }""",
            args,
        )
        # A bundle file without what the predictor reads: a clear error, not a TypeError.
        wrong = harness.page.evaluate(
            """async ([decoding]) => {
              const {Predictor} = await import("./predictor.js");
              const m = {format_version: 3, files: {}, decoding};
              const tries = [[{format_version: 2}, {}], [m, {}], [m, {text: {apostrophes: {}},
                normalizer: {}, pieces: [], special_ids: {bos: 1, eos: 2, unk: 0}}]];
              return tries.map(([m, t]) => {
                try { new Predictor(m, t, null, 4, 8); return null; }
                catch (e) { return String(e.message); }
              });
            }""",
            [dataclasses.asdict(DecodingSpec())],
        )
    tol = tolerance_for(header, "litert")
    report = compare_results(cases, out["results"], tol, 20, out["skipped"])
    assert report.passed and report.cases == len(cases) - len(out["skipped"]), report.failures
    assert hints == ["message", "email"]
    assert refused is not None and "unknown hint" in refused
    assert wrong == [
        "manifest.json has no 'decoding' (bundle format 2): not a bundle this predictor reads "
        "(re-export it)",
        "tokenizer.json has no 'text.apostrophes': not a bundle this predictor reads "
        "(re-export it)",
        "manifest.json has no 'signatures.step1.inputs.h.shape': not a bundle this predictor "
        "reads (re-export it)",
    ]
