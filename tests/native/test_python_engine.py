"""The Python engine on the native decoder (kbd_lm.inference.native_engine): every conformance
vector of the tiny bundles through ``libkbd_lm.so`` (ids exact, probabilities within the
bundle's LiteRT tolerance), typo cases included (kinds and autocorrection exact), the same
answers as the Python predictor in one process, with and without typo correction, with an
n-gram mixed in, the native history, the errors, the CLI."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from kbd_lm.history.user_history import UserHistory
from kbd_lm.inference.bundle import CONFORMANCE_FILE, NGRAM_FILE, BundleError
from kbd_lm.inference.conformance import read_vectors
from kbd_lm.inference.native_engine import (
    LIB_ENV,
    NativeHistory,
    NativeLibraryError,
    NativePredictor,
    check_native,
)
from kbd_lm.inference.predictor import Predictor
from kbd_lm.inference.suggestion import Suggestion
from kbd_lm.inference.tolerance import compare, tolerance_for

KBD_LM = Path(sys.executable).with_name("kbd-lm")
TEXTS = ["", "see you ", "see yo", "I don't ", "hello th", "ok. ", "Прив", "what are you up "]


@pytest.fixture(scope="module")
def native(native_library, tiny_bundle) -> NativePredictor:
    return NativePredictor.load(tiny_bundle, native_library)


@pytest.mark.parametrize("bundle", ["tiny_bundle", "hinted_bundle", "ngram_bundle"])
def test_every_conformance_vector_through_the_python_engine(request, native_library, bundle):
    folder = request.getfixturevalue(bundle)
    _, cases = read_vectors(folder / CONFORMANCE_FILE)
    report, library = check_native(folder, native_library)
    assert library == native_library
    # the typo cases (conformance version 5) run too, with correction
    typos = [c for c in cases if c.get("correct")]
    assert typos and all(c["kind"].startswith("typo_") for c in typos)
    assert any(c.get("taps") for c in typos)
    assert report.skipped == 0
    assert report.cases == len(cases) > 100
    kinds = {c["kind"] for c in cases}  # the vectors hold every sort of case
    assert {"history_units", "blocklist_word", "completion_3"} <= kinds
    assert any(c.get("hint") for c in cases)
    assert report.ids_ok == report.cases, report.failures
    assert report.suggestions_ok == report.cases, report.failures
    assert report.passed


def test_suggestions_equal_the_python_predictors_in_one_process(native, tiny_bundle):
    header, _ = read_vectors(tiny_bundle / CONFORMANCE_FILE)
    tol = tolerance_for(header, "litert")
    python = Predictor.load(tiny_bundle)
    for text in TEXTS:
        for k in (1, 3, 5):
            got = native.suggest(text, k=k)
            assert all(isinstance(s, Suggestion) for s in got)
            want = python.suggest(text, k=k)
            assert [s.word for s in got] == [s.word for s in want], text
            assert [s.kind for s in got] == [s.kind for s in want], text
            as_dicts = [
                [{"word": s.word, "probability": s.probability} for s in x] for x in (want, got)
            ]
            assert compare(*as_dicts, tol) is None, text
        assert native.decode_input(text) == python.decode_input(text)
    assert native.suggest("see you ", k=0) == python.suggest("see you ", k=0) == []


def test_predictor_load_with_engine_native(native_library, tiny_bundle, monkeypatch):
    monkeypatch.setenv(LIB_ENV, str(native_library))
    p = Predictor.load(tiny_bundle, engine="native")
    assert isinstance(p, NativePredictor) and p.library == native_library
    assert [s.word for s in p.suggest("see yo")] == [
        s.word for s in Predictor.load(tiny_bundle).suggest("see yo")
    ]
    with pytest.raises(ValueError, match="unknown engine 'rust'"):
        Predictor.load(tiny_bundle, engine="rust")
    with pytest.raises(ValueError, match="tflite-runtime"):
        Predictor.load(tiny_bundle, engine="native", runtime="tflite-runtime")


def test_a_missing_library_is_an_error_naming_the_file(tiny_bundle, tmp_path, monkeypatch):
    missing = tmp_path / "lib" / "libkbd_lm.so"
    monkeypatch.setenv(LIB_ENV, str(missing))
    with pytest.raises(NativeLibraryError, match=f"{missing} not found.*make native"):
        Predictor.load(tiny_bundle, engine="native")
    broken = tmp_path / "libkbd_lm.so"
    broken.write_bytes(b"not an ELF file")
    with pytest.raises(NativeLibraryError, match=f"{broken} cannot be loaded"):
        NativePredictor.load(tiny_bundle, broken)


def test_the_native_history_learns_and_saves_as_the_python_one(native, tiny_bundle):
    messages = [("see you at the Krusty Krab", "text"), ("my pin is 4821", "password")]
    messages += [("Quattro at noon? Quattro is good", "text"), ("mail bob@example.com", "text")]
    mine, theirs = native.new_history(), UserHistory()
    for text, field in messages:
        assert mine.learn(text, field) == theirs.learn(text, field)
    assert mine.to_bytes() == theirs.to_bytes()
    assert mine.forget("krusty") == theirs.forget("krusty") is True
    assert mine.forget("zzyzx") is False
    assert mine.to_bytes() == theirs.to_bytes()
    python = Predictor.load(tiny_bundle)
    read = native.history_from_bytes(theirs.to_bytes())
    for text in ("Quat", "see you at ", ""):
        want = [s.word for s in python.suggest(text, history=theirs)]
        assert [s.word for s in native.suggest(text, history=mine)] == want
        assert [s.word for s in native.suggest(text, history=read)] == want
    assert "Quattro" in [s.word for s in native.suggest("Qu", history=mine)]
    with pytest.raises(ValueError, match="history load: .*not a readable kbd-lm-history file"):
        native.history_from_bytes(b"\xff not a history\n")
    with pytest.raises(ValueError, match="field"):
        mine.learn("hello", "diary")


def test_a_python_history_is_refused_by_the_native_engine(native):
    with pytest.raises(TypeError, match="NativeHistory.*not a UserHistory"):
        native.suggest("see you ", history=UserHistory())
    assert isinstance(native.new_history(), NativeHistory)


def test_errors_keep_the_python_predictors_types(native, tmp_path, native_library):
    with pytest.raises(ValueError, match="unknown hint 'diary'"):
        native.suggest("see you ", hint="diary")
    with pytest.raises(BundleError, match="manifest.json"):
        NativePredictor.load(tmp_path, native_library)


def test_the_blocklist(native):
    top = native.suggest("see you ")[0].word
    native.block(top)
    try:
        assert top not in [s.word for s in native.suggest("see you ", k=5)]
    finally:
        native.unblock(top)
    assert native.suggest("see you ")[0].word == top


def test_one_predictor_shared_by_threads(native):
    alone = {text: native.suggest(text) for text in TEXTS}
    got, errors = [], []

    def work(order):
        try:
            for _ in range(5):
                got.extend((t, native.suggest(t)) for t in order)
        except Exception as err:  # noqa: BLE001 (reported by the assertion below)
            errors.append(err)

    threads = [threading.Thread(target=work, args=(TEXTS[i:] + TEXTS[:i],)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert len(got) == 4 * 5 * len(TEXTS)
    assert all(answer == alone[text] for text, answer in got)


def run_cli(*args: str, lib: Path | str) -> subprocess.CompletedProcess:
    env = {**os.environ, LIB_ENV: str(lib)}
    return subprocess.run(
        [str(KBD_LM), *args], capture_output=True, text=True, env=env, timeout=300
    )


def test_cli_conformance_and_suggest_with_the_native_engine(native_library, tiny_bundle):
    r = run_cli(
        "conformance", "--bundle", str(tiny_bundle), "--engine", "native", lib=native_library
    )
    assert r.returncode == 0, r.stdout + r.stderr
    _, cases = read_vectors(tiny_bundle / CONFORMANCE_FILE)
    assert any(c.get("correct") for c in cases)  # typo cases among them, run
    n = len(cases)
    last = r.stdout.strip().splitlines()[-1]
    assert last == (
        f"{n} cases: context ids {n} match, 0 differ; suggestions {n} match, 0 differ "
        f"[native {native_library}]"
    )
    r = run_cli(
        "suggest", "--bundle", str(tiny_bundle), "--engine", "native", "see yo", lib=native_library
    )
    assert r.returncode == 0, r.stderr
    want = Predictor.load(tiny_bundle).suggest("see yo")
    assert r.stdout.startswith(f"'see yo' -> {want[0].word} (")


# (text, layout, taps): typo correction's sorts of case, as the conformance typo kinds
TYPO_TEXTS = [
    ("see you tomorow", "qwerty", None),
    ("how are yuo", "qwerty", None),
    ("rhe", "qwerty", None),
    ("See you Tomorow", "azerty", None),
    ("I dont", "qwertz", None),
    ("at 5pm", "qwerty", None),
    ("see you to", "dvorak", None),
    ("what is your drry", "qwertz", [(2.77, 1.47), (3.57, 0.15), None, (0.99, 2.3)]),
]


def test_typo_correction_as_the_python_predictor(native, native_library, tiny_bundle):
    python = Predictor.load(tiny_bundle)
    header, _ = read_vectors(tiny_bundle / CONFORMANCE_FILE)
    tol = tolerance_for(header, "litert")
    for text, layout, taps in TYPO_TEXTS:
        want = python.suggest(text, 3, correct=True, layout=layout, taps=taps)
        got = native.suggest(text, 3, correct=True, layout=layout, taps=taps)
        assert [(s.word, s.kind, s.autocorrect) for s in got] == [
            (s.word, s.kind, s.autocorrect) for s in want
        ], text
        as_dicts = [
            [{"word": s.word, "probability": s.probability} for s in x] for x in (want, got)
        ]
        assert compare(*as_dicts, tol) is None, text
    # what the keyboard gets wrong is refused as the Python predictor refuses it
    with pytest.raises(ValueError, match="colemak"):
        native.suggest("see yo", correct=True, layout="colemak")
    with pytest.raises(ValueError, match="3 taps for 2 typed letters"):
        native.suggest("see yo", correct=True, taps=[(0.5, 0.5)] * 3)
    args = ["suggest", "--bundle", str(tiny_bundle), "--correct", "see you tomorow"]
    r = run_cli(*args, "--engine", "native", lib=native_library)
    r_python = run_cli(*args, lib=native_library)
    assert r.returncode == 0 and r_python.returncode == 0, r.stderr + r_python.stderr

    # "'see you tomorow' -> *tomorrow (0.999)  tomorrow's (0.001)  ...   [35.08 ms]"
    def words(out: str) -> list[str]:
        strip = out.split(" -> ")[1].split("   [")[0]
        return [w.split(" (")[0] for w in strip.split("  ")]

    assert words(r.stdout) == words(r_python.stdout)
    assert words(r.stdout)[0].startswith("*") == want_auto(python, "see you tomorow")


def want_auto(python: Predictor, text: str) -> bool:
    """Whether the Python predictor autocorrects ``text`` (qwerty, no taps)."""
    got = python.suggest(text, 3, correct=True)
    return bool(got) and got[0].autocorrect


def test_cli_without_the_library_exits_2_naming_it(tiny_bundle, tmp_path):
    missing = tmp_path / "libkbd_lm.so"
    for command in ("conformance", "suggest"):
        args = [command, "--bundle", str(tiny_bundle), "--engine", "native"]
        r = run_cli(*args, *(["see you "] if command == "suggest" else []), lib=missing)
        assert r.returncode == 2
        assert f"{missing} not found" in r.stderr
        assert r.stdout == ""


def test_lone_surrogates_read_as_the_python_predictor_reads_them(native, tiny_bundle):
    # No UTF-8 for them: the engine passes U+FFFF, which normalisation drops as it drops them.
    python = Predictor.load(tiny_bundle)
    long = "see you tomorrow and how are you doing today " * 9  # past max_context_chars
    for text in (
        "see \ud800yo",
        "\udfff",
        "I like pizza\udc80 ",
        long[:290] + "\ud800" * 20 + "se",
    ):
        assert native.decode_input(text) == python.decode_input(text), text
        assert [s.word for s in native.suggest(text)] == [s.word for s in python.suggest(text)]
    assert native.suggest(None) == native.suggest("")


def test_history_files_saved_and_loaded_as_the_python_history_does(native, tmp_path):
    path = tmp_path / "user" / "history.bin"
    assert native.load_history(path).to_bytes() == UserHistory().to_bytes()  # missing: empty
    mine = native.new_history()
    mine.learn("lunch at Quattro? Quattro is good")
    mine.save(path)
    assert UserHistory.load(path, strict=True).to_bytes() == path.read_bytes()
    assert native.load_history(path, strict=True).to_bytes() == path.read_bytes()
    path.write_bytes(path.read_bytes()[:-9])  # cut: its checksum line no longer reads
    with pytest.raises(ValueError, match=str(path)):
        native.load_history(path, strict=True)
    damaged = native.load_history(path)
    assert damaged.load_error and str(path) in damaged.load_error
    assert damaged.to_bytes() == UserHistory().to_bytes()
    damaged.learn("see you soon")
    damaged.save(path)  # the damaged file is kept aside
    assert path.with_name("history.bin.damaged").is_file()
    assert UserHistory.load(path, strict=True).to_bytes() == damaged.to_bytes()


def _dicts(suggestions: list[Suggestion]) -> list[dict]:
    return [{"word": s.word, "probability": s.probability} for s in suggestions]


def test_the_ngram_mix_as_the_python_predictor(native_library, ngram_bundle):
    """A bundle with an n-gram (docs/decoding.md section 8): the native engine mixes it in as
    the Python predictor does, with and without typo correction. Words whose probabilities tie
    (n-gram words of one 8-bit code) may come in another order: the Python predictor's order
    of them depends on its string hashes."""
    python = Predictor.load(ngram_bundle)
    assert python.ngram is not None and python.neural_weight == 0.6
    native = NativePredictor.load(ngram_bundle, native_library)
    header, _ = read_vectors(ngram_bundle / CONFORMANCE_FILE)
    tol = tolerance_for(header, "litert")
    texts = TEXTS + ["i", "I'", "thank you so ", "x" * 300 + " see y"]
    for text in texts + [t for t, _, _ in TYPO_TEXTS]:
        for k, correct in ((1, False), (3, False), (8, False), (3, True)):
            want = python.suggest(text, k=k, correct=correct)
            got = native.suggest(text, k=k, correct=correct)
            assert compare(_dicts(want), _dicts(got), tol) is None, (text, k, correct)
            marks = {s.word: (s.kind, s.autocorrect) for s in want}
            assert all(
                marks.get(s.word, (s.kind, s.autocorrect)) == (s.kind, s.autocorrect) for s in got
            ), (text, k, correct)
    # a next word: the same words in the same order (no two of them tie)
    assert [s.word for s in native.suggest("see you ", k=3)] == [
        s.word for s in python.suggest("see you ", k=3)
    ]
    # without the mix the Python predictor answers otherwise: the checks above can fail
    python.ngram = None
    apart = [
        t for t in texts if compare(_dicts(python.suggest(t, 3)), _dicts(native.suggest(t, 3)), tol)
    ]
    assert len(apart) >= len(texts) // 2, apart


def test_a_damaged_ngram_is_refused_as_the_python_predictor_refuses_it(
    native_library, ngram_bundle, tmp_path
):
    """Another file version, its checksum rewritten: a BundleError naming the file in both
    engines, and the header's field natively."""
    bundle = tmp_path / "bundle"
    shutil.copytree(ngram_bundle, bundle)
    blob = (bundle / NGRAM_FILE).read_bytes()
    assert b'"version":1,' in blob
    blob = blob.replace(b'"version":1,', b'"version":2,', 1)
    (bundle / NGRAM_FILE).write_bytes(blob)
    manifest = json.loads((bundle / "manifest.json").read_text())
    manifest["files"][NGRAM_FILE]["sha256"] = hashlib.sha256(blob).hexdigest()
    (bundle / "manifest.json").write_text(json.dumps(manifest, indent=2))
    with pytest.raises(BundleError, match="ngram.kn3: not a readable .* version 2"):
        Predictor.load(bundle)
    field = "ngram.kn3: not a readable Kneser-Ney model file: header.version: .* version 2"
    with pytest.raises(BundleError, match=field):
        NativePredictor.load(bundle, native_library)
