"""The JNI binding (dev.kbdlm.KbdPredictor, native/jni/) as an app uses it: its Java sources
and the check beside this file (java/dev/kbdlm/test/JniCheck.java) compiled with the JDK's
``javac`` and run on its ``java`` with PATH holding only the JDK's bin and PYTHONPATH empty.
The check opens the bundle, suggests, learns a word and sees it suggested, saves and loads
the history, runs every conformance case of the bundle (ids exact, suggestions judged by
kbd_lm_compare with the header's LiteRT tolerance), the typo cases with correction (kinds and
autocorrection exact), and writes its answers for the texts below, which must be the Python
predictor's."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest

from kbd_lm.inference.bundle import CONFORMANCE_FILE
from kbd_lm.inference.conformance import read_vectors
from kbd_lm.inference.predictor import Predictor
from kbd_lm.inference.tolerance import compare, tolerance_for

ROOT = Path(__file__).resolve().parents[2]
SOURCES = [ROOT / "native" / "jni" / "java", Path(__file__).parent / "java"]
# Texts crossing JNI as UTF-16: an emoji (a surrogate pair), a lone surrogate (U+FFFF to the
# library, as from Python), Cyrillic, a NUL, the empty text
TEXTS = ["see you ", "see \U0001f600 yo", "bad \ud800 x", "Прив", "a\x00b ", "", "I don't "]
RUN_TIMEOUT = 600  # seconds; the check takes a few on 2 x86-64 cores


@pytest.fixture(scope="module")
def java_classes(jni_library, tmp_path_factory) -> Path:
    _, jdk = jni_library
    out = tmp_path_factory.mktemp("jni-classes")
    files = sorted(str(f) for folder in SOURCES for f in folder.rglob("*.java"))
    cmd = [str(jdk / "bin" / "javac"), "-Xlint:all", "-Werror", "-d", str(out), *files]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=RUN_TIMEOUT)
    assert r.returncode == 0, r.stdout + r.stderr
    return out


def test_the_jni_library_links_the_c_interface_only(jni_library):
    lib, _ = jni_library
    r = subprocess.run(["readelf", "-d", str(lib)], capture_output=True, text=True, check=True)
    needed = re.findall(r"\(NEEDED\)\s+Shared library: \[(.+?)\]", r.stdout)
    assert "libkbd_lm.so" in needed
    assert not [n for n in needed if "python" in n or "jvm" in n], needed


@pytest.mark.parametrize("bundle", ["tiny_bundle", "hinted_bundle", "ngram_bundle"])
def test_kbd_predictor_on_the_jvm(request, jni_library, java_classes, bundle, tmp_path):
    folder = request.getfixturevalue(bundle)
    lib, jdk = jni_library
    texts, answers = tmp_path / "texts.json", tmp_path / "answers.json"
    texts.write_text(json.dumps(TEXTS, ensure_ascii=True))  # (a lone surrogate as \\ud800)
    cmd = [
        str(jdk / "bin" / "java"),
        f"-Djava.library.path={lib.parent}",
        "-cp",
        str(java_classes),
        "dev.kbdlm.test.JniCheck",
        str(folder),
        str(texts),
        str(answers),
    ]
    env = {"PATH": str(jdk / "bin"), "PYTHONPATH": ""}
    r = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=RUN_TIMEOUT)
    assert r.returncode == 0, r.stdout + r.stderr[-3000:]
    assert "all checks passed" in r.stdout
    assert "ok   the learned word is suggested" in r.stdout
    header, cases = read_vectors(folder / CONFORMANCE_FILE)
    typos = sum(1 for c in cases if c.get("correct"))  # run with correction
    n = len(cases)
    assert n > 100 and any(c.get("hint") for c in cases) and any(c.get("learn") for c in cases)
    line = f"conformance through JNI: {n} cases, context ids {n}/{n}, suggestions {n}/{n}"
    assert f"ok   {line}" in r.stdout
    assert typos > 0 and f"     {typos} of them typo cases (correction on)\n" in r.stdout

    python = Predictor.load(folder)
    tol = tolerance_for(header, "litert")
    got = json.loads(answers.read_text())
    assert len(got) == len(TEXTS)
    for text, answer in zip(TEXTS, got, strict=True):
        _, partial, ids = python.decode_input(text)
        assert answer["ids"] == ids, repr(text)
        want = [{"word": s.word, "probability": s.probability} for s in python.suggest(text, k=3)]
        given = [{"word": w, "probability": p} for w, p, _ in answer["suggestions"]]
        assert _same_but_ties([g["word"] for g in given], want), repr(text)
        assert compare(want, given, tol) is None, repr(text)
        kind = "completion" if partial else "next"
        assert {k for _, _, k in answer["suggestions"]} <= {kind}, repr(text)


def _same_but_ties(given: list[str], want: list[dict]) -> bool:
    """``given`` holds the words of ``want`` in its order, except that words of equal
    probability in ``want`` may change places: the Python predictor orders n-gram words of one
    probability by its string hashes (docs/decoding.md section 8).

    >>> tie = [{"word": "a", "probability": 0.1}, {"word": "b", "probability": 0.1}]
    >>> _same_but_ties(["b", "a"], tie), _same_but_ties(["b"], tie)
    (True, False)
    """
    prob = {w["word"]: w["probability"] for w in want}
    ranks = [prob.get(w, -1.0) for w in given]
    return sorted(given) == sorted(prob) and ranks == sorted(ranks, reverse=True)
