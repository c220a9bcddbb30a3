"""Conformance vectors: written at export by the Python predictor, checked by the CLI."""

import json
import math
import shutil
import subprocess
import sys
from unittest.mock import ANY

import pytest

from kbd_lm.inference import conformance as C
from kbd_lm.inference import tolerance as T
from kbd_lm.inference.bundle import Bundle, write


def sugg(*pairs):
    return [{"word": w, "probability": p} for w, p in pairs]


@pytest.mark.parametrize(
    ("given", "ok"),
    [
        (sugg(("a", 0.50), ("b", 0.30), ("c", 0.10)), True),
        (sugg(("a", 0.51), ("b", 0.30), ("c", 0.10)), True),  # within 6%
        (sugg(("a", 0.60), ("b", 0.30), ("c", 0.10)), False),  # 20% off
        (sugg(("a", 0.50), ("c", 0.30), ("b", 0.10)), False),  # a real swap
        (sugg(("a", 0.50), ("b", 0.30), ("d", 0.10)), True),  # a tie at the cut-off
        (sugg(("a", 0.50), ("b", 0.30), ("d", 0.05)), False),
        (sugg(("a", 0.50), ("b", 0.30)), False),  # a word missing
        (sugg(("A", 0.50), ("b", 0.30), ("c", 0.10)), False),  # casing counts
    ],
)
def test_compare_lets_only_near_ties_change_places(given, ok):
    expected = sugg(("a", 0.50), ("b", 0.30), ("c", 0.10))
    assert (C.compare(expected, given) is None) == ok
    tie = sugg(("x", 0.200), ("y", 0.199))
    assert C.compare(tie, list(reversed(tie))) is None


def test_two_words_change_places_only_when_they_are_a_near_tie():
    """Each word's probability within 6% of its counterpart, yet a and b are 9% apart: their
    order is the answer. The same swap between two words 2% apart is a near-tie."""
    expected = sugg(("a", 0.500), ("b", 0.455), ("c", 0.010))
    swapped = sugg(("b", 0.482), ("a", 0.478), ("c", 0.010))
    assert C.compare(expected, swapped) == (
        "a (0.500000) and b (0.455000) change places, not a near-tie"
    )
    assert C.compare(expected, swapped, {"rel": 0.1, "abs": 1e-5}) is None
    near = sugg(("a", 0.500), ("b", 0.490), ("c", 0.010))
    assert C.compare(near, sugg(("b", 0.495), ("a", 0.493), ("c", 0.010))) is None


def test_measured_differences_give_a_runtime_its_tolerance_up_to_the_cap():
    """A runtime 7% off needs rel 0.07: its tolerance is 1.25 times that, and the floor's 6%
    would have failed it. Beyond 15% (or with other words) the tolerance cannot be given."""
    cases = [
        {"id": 0, "kind": "next_word", "suggestions": sugg(("a", 0.50), ("b", 0.30))},
        {"id": 1, "kind": "next_word", "suggestions": sugg(("c", 0.20))},
    ]
    results = [
        {"id": 0, "suggestions": sugg(("a", 0.465), ("b", 0.30))},
        {"id": 1, "suggestions": sugg(("c", 0.20))},
    ]
    measured, worst = C.measure(cases, results)
    assert measured == pytest.approx(0.035 / 0.5 - 1e-5 / 0.5) and worst["id"] == 0
    tol = T.runtime_tolerance(measured)
    assert tol == {"rel": 0.088, "abs": 1e-5, "measured": round(measured, 6)}
    assert C.compare(cases[0]["suggestions"], results[0]["suggestions"]) is not None
    assert C.compare(cases[0]["suggestions"], results[0]["suggestions"], tol) is None
    assert T.runtime_tolerance(0.0)["rel"] == T.TOLERANCE["rel"]  # the floor
    assert T.runtime_tolerance(0.14)["rel"] == T.MAX_REL  # capped
    with pytest.raises(T.ToleranceError, match="16.0%, over the cap of 15%"):
        T.runtime_tolerance(0.16)
    assert C.measure(cases, [results[0], {"id": 1, "suggestions": []}])[0] == float("inf")
    with pytest.raises(T.ToleranceError, match="different numbers of words"):
        T.runtime_tolerance(float("inf"))


def test_other_words_in_the_tail_fit_an_absolute_tolerance_and_the_head_keeps_its_rel():
    """After "EXCEPT ", the default model (0.9.0) is lost: its suggestions are near 0.2%, and
    tflite-runtime 2.14's search finds "is" where LiteRT's finds "I". No ``rel`` under the cap
    covers that; an ``abs`` under MAX_ABS does, while a confident word still needs ``rel``."""
    cases = [
        {"id": 0, "kind": "next_word", "suggestions": sugg(("the", 0.08), ("for", 0.05))},
        {"id": 1, "kind": "next_word", "suggestions": sugg(("TO", 0.00375), ("A", 0.00183))},
    ]
    results = [
        {"id": 0, "suggestions": sugg(("the", 0.077), ("for", 0.05))},
        {"id": 1, "suggestions": sugg(("is", 0.00389), ("TO", 0.00381))},
    ]
    assert C.measure(cases, results)[0] > T.MAX_REL
    tol, worst = C.fit_tolerance(cases, results)
    assert worst["id"] == 1 and tol["measured"] == 0.0  # the head agrees within abs alone
    assert tol["abs"] == pytest.approx(math.ceil(tol["measured_abs"] * T.MARGIN * 1e5) / 1e5)
    assert tol["abs"] <= T.MAX_ABS
    for case, result in zip(cases, results, strict=True):
        assert C.compare(case["suggestions"], result["suggestions"], tol) is None
    # A confident word that differs is still a difference.
    results[0] = {"id": 0, "suggestions": sugg(("for", 0.05), ("then", 0.04))}
    with pytest.raises(T.ToleranceError):
        C.fit_tolerance(cases, results)


def test_each_runtime_reads_its_tolerance_and_old_files_the_single_one(tmp_path):
    """Version 4 headers have a tolerance per runtime; a runtime they do not list, and every
    file of version 1 to 3, gets the header's single tolerance."""
    old = {"format": C.FORMAT, "version": 3, "tolerance": {"rel": 0.06, "abs": 1e-5}}
    new = {**old, "version": 4, "tolerances": {"tflite-runtime": {"rel": 0.094, "abs": 1e-5}}}
    for header in (old, new):
        (tmp_path / C.FILE).write_text(json.dumps(header) + "\n")
        read, cases = C.read_vectors(tmp_path / C.FILE)
        assert read == header and cases == []
    assert T.tolerance_for(old, "tflite-runtime") == {"rel": 0.06, "abs": 1e-5}
    assert T.tolerance_for(new, "tflite-runtime") == {"rel": 0.094, "abs": 1e-5}
    assert T.tolerance_for(new, "litert") == {"rel": 0.06, "abs": 1e-5}
    assert T.tolerance_for({"format": C.FORMAT, "version": 1}, "litert") == T.TOLERANCE


def test_cases_cover_every_kind_deterministically():
    units = ["see you later tomorrow", "thank you so much for that", "I don't know what to say"]
    cases = C.build_cases(units, seed=3, per_kind=4)
    assert cases == C.build_cases(units, seed=3, per_kind=4)
    kinds = {kind for kind, _, _ in cases}
    assert {f"completion_{n}" for n in range(1, 6)} <= kinds
    assert {"empty", "next_word", "sentence_start", "long_chars", "long_tokens"} <= kinds
    assert {len(t) for kind, t, _ in cases if kind == "long_stride"} == {
        300 + 128 * n + d for n in (1, 2, 3) for d in (-1, 0, 1)
    }
    assert {"apostrophe", "digits", "non_latin", "emoji"} <= kinds
    assert any(C.NEWER_THAN_PINNED in text for _, text, _ in cases)
    assert all(len(t) > 300 for kind, t, _ in cases if kind == "long_chars")


def test_bundle_ships_vectors_as_a_test_file(tiny_bundle):
    manifest = Bundle.load(tiny_bundle).manifest
    assert C.FILE in manifest.files and C.FILE not in manifest.shipped_files
    assert manifest.files[C.FILE].shipped is False
    header, cases = C.read_vectors(tiny_bundle / C.FILE)
    assert header["cases"] == len(cases) >= 200
    assert header["tolerance"] == T.TOLERANCE
    # Verified in LiteRT only (conftest.py): the vectors are LiteRT's answers, its tolerance
    # the floor.
    assert header["tolerances"] == {"litert": {**T.runtime_tolerance(0.0), "version": ANY}}
    for case in cases:
        assert case["context_ids"][0] == 2 or len(case["context_ids"]) == 48  # BOS or short
        if case["kind"] == "empty":
            assert case["context_ids"] == [2] and case["partial"] == ""
    newer = [c for c in cases if C.NEWER_THAN_PINNED in c["text"]]
    assert newer and all(C.NEWER_THAN_PINNED not in c["context"] for c in newer)


def test_blocklist_cases_change_the_answer_where_they_should(tiny_bundle):
    """Blocking the best word: gone, the next words move up, still k of them; blocked as a
    phrase only after its context."""
    _, cases = C.read_vectors(tiny_bundle / C.FILE)
    plain = {(c["text"], c["k"]): c for c in cases if not c["kind"].startswith(("block", "hist"))}
    added = [c for c in cases if c["kind"].startswith("blocklist_")]
    assert {"blocklist_word", "blocklist_phrase", "blocklist_other"} <= {c["kind"] for c in added}
    assert {c["text"] for c in added} == set(C.BLOCKED_TOP)
    for case in added:
        before = [s["word"] for s in plain[case["text"], case["k"]]["suggestions"]]
        after = [s["word"] for s in case["suggestions"]]
        if case["kind"] == "blocklist_other":
            assert after == before, case
        else:
            assert before[0] not in after and after[: len(before) - 1] == before[1:], case
            assert len(after) == len(before), case


def test_history_cases_learn_then_suggest(tiny_bundle):
    """The learned words come up; nothing from a password field or a secret; a learned word
    the app blocked never does; the header says which history and weights were used."""
    header, cases = C.read_vectors(tiny_bundle / C.FILE)
    assert header["history"]["max_entries"] == 20_000 and header["history_weights"]["beta"] > 0
    learned = {(c["kind"], c["text"]): c for c in cases if c.get("learn")}
    assert len(learned) >= len(C.HISTORY_FIXED)
    assert sum(c["kind"] == "history_units" for c in cases) == 10

    def top(kind, text):
        return [s["word"] for s in learned[kind, text]["suggestions"]]

    assert top("history_completion", "see you at Qu")[0] == "Quattro"
    assert top("history_long_word", "meet B")[0] == "Bartholomew"
    assert top("history_casing", "my new i")[0] == "iPhone"
    assert "Zorblax" in top("history_sentence_start", "ok. ")
    assert "zorblax" not in [w.lower() for w in top("history_field", "my pin is ")]
    assert not {"555", "123", "4567"} & set(top("history_secret", "call me at "))
    assert "zorblax" not in [w.lower() for w in top("history_blocklist", "you are a ")]
    assert "Krusty" in top("history_repeat", "see you at the ")


def run_cli(bundle, *extra):
    cmd = [sys.executable, "-m", "kbd_lm.cli", "conformance", "--bundle", str(bundle), *extra]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=300)


def test_cli_passes_on_the_bundle_and_fails_on_changed_vectors(tiny_bundle, tmp_path):
    out = run_cli(tiny_bundle)
    assert out.returncode == 0, out.stdout[-2000:] + out.stderr[-2000:]
    total = C.read_vectors(tiny_bundle / C.FILE)[0]["cases"]
    assert f"suggestions {total} match" in out.stdout and "0 differ [litert]" in out.stdout

    bundle = tmp_path / "bundle"
    shutil.copytree(tiny_bundle, bundle)
    header, cases = C.read_vectors(bundle / C.FILE)
    target = next(c for c in cases if c["suggestions"])
    target["suggestions"][0]["probability"] *= 1.5
    cases[0]["context_ids"] = [2, 99]
    lines = [json.dumps(header)] + [json.dumps(c, ensure_ascii=False) for c in cases]
    (bundle / C.FILE).write_text("\n".join(lines) + "\n")
    manifest = Bundle.load(bundle, verify=False).manifest
    write(bundle, manifest.with_file(bundle, C.FILE, shipped=False))
    out = run_cli(bundle)
    assert out.returncode == 1
    n = len(cases)
    assert f"context ids {n - 1} match, 1 differ" in out.stdout
    assert f"suggestions {n - 1} match, 1 differ" in out.stdout
    assert f"case {target['id']} " in out.stdout


@pytest.mark.parametrize(
    "text, message",
    [
        ("", "empty file"),
        ('{"format": "x"}\n', "not a kbd-lm"),
        ("[1]\n", ":1: expected a JSON object"),
        ('{"format": "kbd-lm-conformance", "version": 1}\n{"id": \n', ":2: not a JSON line"),
    ],
)
def test_a_wrong_vectors_file_is_an_error_naming_the_line(tmp_path, text, message):
    path = tmp_path / C.FILE
    path.write_text(text)
    with pytest.raises(ValueError, match=message):
        C.read_vectors(path)


def test_typo_cases_are_suggested_with_correction_and_carry_kinds(tiny_bundle):
    """Conformance version 5: slips of each kind, letters only and with taps, on several
    layouts; their suggestions carry kind and autocorrect; they pass in LiteRT (the CLI test
    above runs every case; tests/export/test_convert.py runs them in tflite-runtime 2.14)."""
    header, cases = C.read_vectors(tiny_bundle / C.FILE)
    assert header["version"] == C.VERSION == 5
    typos = [c for c in cases if c.get("correct")]
    kinds = {c["kind"] for c in typos}
    assert {"typo_omission", "typo_correct", "typo_manners", "typo_units", "typo_taps"} <= kinds
    assert {c["layout"] for c in typos} >= {"qwerty", "azerty", "qwertz"}
    assert len(typos) >= 20 and all(c["kind"].startswith("typo_") for c in typos)
    for case in typos:
        assert all(
            {"word", "probability", "kind", "autocorrect"} == set(s) for s in case["suggestions"]
        )
        assert sum(s["autocorrect"] for s in case["suggestions"]) <= 1
        assert not any(s["autocorrect"] for s in case["suggestions"][1:])
        if case.get("taps"):
            assert len(case["taps"]) == len(case["partial"])
    by_text = {c["text"]: c for c in typos}
    if "see you tomorow" in by_text:  # not on a threshold for this model
        top = by_text["see you tomorow"]["suggestions"][0]
        assert top == {**top, "word": "tomorrow", "kind": "correction", "autocorrect": True}
    assert not any(s["kind"] == "correction" for s in by_text["at 5pm"]["suggestions"])
    assert any(s["kind"] == "correction" for c in typos for s in c["suggestions"])
    assert any(s["autocorrect"] for c in typos for s in c["suggestions"])
    # the plain cases carry no marks (versions 1 to 4 read the same)
    assert all(set(s) == {"word", "probability"} for c in cases if not c.get("correct")
               for s in c["suggestions"])  # fmt: skip


def test_marks_must_agree_and_skipped_cases_are_counted_apart():
    e = [
        {"word": "the", "probability": 0.6, "kind": "correction", "autocorrect": True},
        {"word": "then", "probability": 0.3, "kind": "completion", "autocorrect": False},
    ]
    assert T.compare(e, [dict(s) for s in e]) is None
    flipped = [{**e[0], "autocorrect": False}, e[1]]
    assert T.compare(e, flipped) == "autocorrect: the expected, none given"
    other = [e[0], {**e[1], "kind": "correction"}]
    assert T.compare(e, other) == "then: kind completion expected, correction given"
    cases = [{"id": 0, "kind": "typo_units", "context_ids": [2], "suggestions": e},
             {"id": 1, "kind": "next_word", "context_ids": [2], "suggestions": []}]  # fmt: skip
    report = C.compare_results(
        cases, [{"id": 1, "ids": [2], "suggestions": []}], skipped=[0], skip_reason="no typos"
    )
    assert report.passed and (report.cases, report.skipped) == (1, 1)
    assert report.summary().endswith("; 1 skipped: no typos")
    assert not C.compare_results(cases, [{"id": 1, "ids": [2], "suggestions": []}]).passed


def test_typo_cases_on_a_threshold_are_left_out():
    """A case whose autocorrect would flip with the margin moved half a nat is no vector."""
    from types import SimpleNamespace

    from kbd_lm.typing.spec import TypingSpec

    predictor = SimpleNamespace(typing=TypingSpec())
    gaps = {"far": 5.0, "near": 2.2}  # best whole word over the typed letters, in nats

    def run(p, cases):
        return [
            {"suggestions": [{"word": "w", "kind": "correction",
                              "autocorrect": gaps[c["text"]] > p.typing.autocorrect_margin}]}
            for c in cases
        ]  # fmt: skip

    cases = [{"text": "far"}, {"text": "near"}]
    assert C.stable_typo_cases(predictor, cases, run) == [{"text": "far"}]
    assert predictor.typing == TypingSpec()  # put back
    units = ["see you later tomorrow", "thank you so much for that"]
    made = C.typo_cases(units, TypingSpec(), seed=1, per_kind=4)
    assert made == C.typo_cases(units, TypingSpec(), seed=1, per_kind=4)  # seeded
    assert sum(c["kind"] == "typo_taps" for c in made) == 4
    assert all(c["correct"] and c["layout"] for c in made)


def test_generated_typo_cases_a_runtime_answers_beyond_the_caps_are_left_out():
    """A drawn typo case off by more than MAX_REL in a verified runtime is no vector; one
    within the caps is kept, and so is every hand-written case (then judged as any other)."""

    def answer(p: float) -> list[dict]:
        return [{"word": "the", "probability": p, "kind": "correction", "autocorrect": False}]

    cases = [
        {"id": 0, "kind": "typo_units", "suggestions": answer(0.30)},
        {"id": 1, "kind": "typo_taps", "suggestions": answer(0.30)},
        {"id": 2, "kind": "typo_omission", "suggestions": answer(0.30)},
        {"id": 3, "kind": "next_word", "suggestions": answer(0.30)},
    ]
    far = 0.30 * (1 + 2 * T.MAX_REL)
    given = {"tflite-runtime": [
        {"id": 0, "suggestions": answer(far)},
        {"id": 1, "suggestions": answer(0.30 * (1 + T.MAX_REL / 2))},
        {"id": 2, "suggestions": answer(far)},
        {"id": 3, "suggestions": answer(far)},
    ]}  # fmt: skip
    assert [c["id"] for c in C.agreed_cases(cases, given)] == [1, 2, 3]
    assert C.agreed_cases(cases, {}) == cases  # no runtime verified: nothing to disagree
