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
The typo cases (conformance version 5) are skipped: the browser predictor does not correct
typing, and says so.
"""

from __future__ import annotations

import dataclasses

import pytest

from kbd_lm.export.browser import open_harness
from kbd_lm.history.user_history import HistoryConfig, UserHistory
from kbd_lm.inference.blocklist import BLOCKLIST_FILE, Blocklist
from kbd_lm.inference.conformance import FILE, compare_results, read_vectors
from kbd_lm.inference.decoding import DecodingSpec
from kbd_lm.inference.tolerance import tolerance_for
from kbd_lm.serve.settings import ServeSettings

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
    assert set(out["skipped"]) == {c["id"] for c in cases if c.get("correct")}
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


def test_the_browser_skips_the_typo_cases_and_says_so(browser_run):
    """The browser predictor does not correct typing (docs/decoding.md, 11): it runs no typo
    case (conformance version 5), lists them as skipped with the reason, and the report
    counts them apart from the cases it compares."""
    header, cases, out = browser_run
    typos = [c for c in cases if c.get("correct")]
    assert header["version"] == 5 and len(typos) >= 10
    assert sorted(out["skipped"]) == sorted(c["id"] for c in typos)
    assert not {r["id"] for r in out["results"]} & set(out["skipped"])
    report = compare_results(
        cases, out["results"], skipped=out["skipped"], skip_reason=out["skipReason"]
    )
    assert report.passed and report.skipped == len(typos)
    assert report.summary().endswith(
        f"; {len(typos)} skipped: typo cases (conformance version 5): this predictor does not "
        "correct typing"
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
