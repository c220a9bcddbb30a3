"""``kbd-lm eval --typing``: simulated touch typing per kind, correctors as columns."""

from __future__ import annotations

import dataclasses
import json
from collections import Counter

import numpy as np
import pytest

from kbd_lm.cli import main
from kbd_lm.corpora.mixtures import MIXTURES, Mixture
from kbd_lm.evaluation.correctors import (
    NGRAM,
    NONE,
    PREDICTOR,
    PREDICTOR_TAPS,
    SYMSPELL_BUNDLE,
    SYMSPELL_OWN,
    NoCorrection,
    SymSpellCorrector,
    default_correctors,
)
from kbd_lm.evaluation.typing import (
    TypingEvalConfig,
    format_typing,
    noisy_keys,
    run_typing_eval,
    score_corrector,
    type_words,
    unit_sums,
)
from kbd_lm.text.normalization import WORD_RE
from kbd_lm.typing.channel import ChannelParams
from kbd_lm.typing.layouts import LAYOUTS
from tests.conftest import make_lines


@pytest.fixture
def typing_mixture(monkeypatch, tmp_path):
    """Two plain-text kinds registered as the mixture ``typmix``; (config, their lines)."""
    sources = {"chat": make_lines(400, 21), "notes": make_lines(400, 22)}
    paths = []
    for name, lines in sources.items():
        folder = tmp_path / name
        folder.mkdir()
        (folder / f"{name}.txt").write_text("\n".join(lines) + "\n")
        paths.append(str(folder))
    monkeypatch.setitem(MIXTURES, "typmix", Mixture("typmix", dict.fromkeys(paths, 0.5)))
    config = TypingEvalConfig(
        mixture="typmix",
        max_words=150,
        bootstrap=50,
        spreads=(0.2, 0.35),
        cache_dir=str(tmp_path / "data"),
    )
    return config, [line for lines in sources.values() for line in lines]


def test_symspellpy_with_its_own_dictionary_fixes_common_typos():
    fix = SymSpellCorrector.own_dictionary()
    assert fix.correct("see you ", "tomorow", []) == "tomorrow"
    assert fix.correct("", "Tomorow", []) == "Tomorrow"  # the typed case is kept
    assert fix.correct("", "the", []) == "the"  # a word of the dictionary stays
    assert fix.correct("", "", []) == ""


def test_every_corrector_sees_the_same_typed_letters(typing_mixture, tmp_path):
    config, lines = typing_mixture
    vocabulary = Counter(m.group(0).lower() for line in lines for m in WORD_RE.finditer(line))
    correctors = {
        NONE: NoCorrection(),
        # the text's own words; the bundle's column here, against an as-typed "baseline"
        PREDICTOR: SymSpellCorrector(vocabulary.items()),
        SYMSPELL_BUNDLE: NoCorrection(),
    }
    report = run_typing_eval(config, correctors, tmp_path / "out")

    rows = report["rows"]
    assert [(r["spread"], r["kind"]) for r in rows] == [
        (s, k) for s in (0.2, 0.35) for k in ("chat", "notes", "macro")
    ]
    for row in rows:
        none = row["correctors"][NONE]
        assert none["gain"] == (0.0, 0.0, 0.0) and none["false_correction"] == (0.0, 0.0, 0.0)
        if row["kind"] != "macro":
            assert row["words"] >= 150 and 0 < row["typos"] < row["words"]
            assert none["accuracy"][0] == pytest.approx(1 - row["typos"] / row["words"])
    # More spread, more typos; a dictionary that holds every word fixes many of them.
    by = {(r["spread"], r["kind"]): r for r in rows}
    assert by[(0.35, "chat")]["typos"] > by[(0.2, "chat")]["typos"]
    gain, lo, hi = by[(0.35, "macro")]["correctors"][PREDICTOR]["gain"]
    assert lo > 0.05 and lo <= gain <= hi
    # against the best baseline (the letters as typed here): the same paired difference
    versus = by[(0.35, "macro")]["versus_best"]
    assert versus["difference"] == (gain, lo, hi) and versus["leads"]
    # what a 3-point lead needs: the baseline's accuracy (as typed here) + 3 points; symspellpy
    # ranks no hypotheses, so there is no ceiling
    as_typed = by[(0.35, "macro")]["correctors"][SYMSPELL_BUNDLE]["accuracy"][0]
    assert versus["needed"] == pytest.approx(as_typed + 0.03) and versus["ceiling"] is None
    assert by[(0.35, "chat")]["versus_best"]["best"] == SYMSPELL_BUNDLE
    # symspellpy's strip does not complete words: top-3 but no noisy KSR
    fig = by[(0.35, "chat")]["correctors"][PREDICTOR]
    assert fig["ksr"] is None and fig["top3"][0] >= fig["accuracy"][0]
    assert fig["ceiling"] is None
    text = (tmp_path / "out" / "eval-typing.md").read_text()
    assert text == format_typing(report) and "| 0.35 | macro |" in text
    assert "| 0.35 | macro | best per kind |" in text

    # One corrector and one spread fewer: the same typed letters, the same figures.
    fewer = dataclasses.replace(config, spreads=(0.35,))
    again = run_typing_eval(fewer, {NONE: NoCorrection()}, tmp_path / "again")
    for a, b in zip(report["rows"][3:], again["rows"], strict=True):
        assert a["typos"] == b["typos"] and a["correctors"][NONE] == b["correctors"][NONE]


def test_type_words_gives_each_word_its_context_and_taps():
    rng = np.random.default_rng(0)
    params = ChannelParams(touch_spread=0.01, omission=0, insertion=0, doubled=0, transposition=0)
    words = type_words(["Hi, you there", "ok"], rng, layout=LAYOUTS["qwerty"], params=params)
    assert [(w["unit"], w["context"], w["word"], w["typed"]) for w in words] == [
        (0, "", "Hi", "Hi"),
        (0, "Hi, ", "you", "you"),
        (0, "Hi, you ", "there", "there"),
        (1, "", "ok", "ok"),
    ]
    assert all(len(w["taps"]) == len(w["typed"]) for w in words)


def test_the_bundle_word_list_the_ngram_and_the_predictor_are_columns(
    tiny_bundle, tiny_corpus_dir, tmp_path
):
    # a bundle without an n-gram: the baseline trigram of ngram_mixture, trained and cached
    config = TypingEvalConfig(ngram_mixture=str(tiny_corpus_dir), cache_dir=str(tmp_path))
    correctors = default_correctors(config, tiny_bundle)
    assert list(correctors) == [NONE, SYMSPELL_OWN, SYMSPELL_BUNDLE, NGRAM, PREDICTOR]
    assert list(tmp_path.glob("ngram-*.kn3"))
    assert list(default_correctors(config, None)) == [NONE, SYMSPELL_OWN]
    no_model = default_correctors(dataclasses.replace(config, predictor=False), tiny_bundle)
    assert list(no_model) == [NONE, SYMSPELL_OWN, SYMSPELL_BUNDLE, NGRAM]
    with_taps = default_correctors(dataclasses.replace(config, taps=True, ngram=False), tiny_bundle)
    assert list(with_taps)[-3:] == [SYMSPELL_BUNDLE, PREDICTOR, PREDICTOR_TAPS]
    q = LAYOUTS["qwerty"]
    taps = [q.centre(c) for c in "tomorow"]
    assert with_taps[PREDICTOR_TAPS].correct("see you ", "tomorow", taps) == "tomorrow"
    # the predictor's and the n-gram's columns commit their autocorrection, else the letters
    for name in (PREDICTOR, NGRAM):
        fix = correctors[name]
        assert fix.completes
        assert fix.correct("see you ", "tomorow", [None] * 7) == "tomorrow", name
        assert fix.correct("see you ", "Tomorow", [None] * 7) == "Tomorrow", name
        assert fix.correct("see you ", "soon", [None] * 4) == "soon", name
        assert fix.correct("at ", "5pm", [None] * 3) == "5pm", name
        assert fix.correct("see you ", "", []) == "", name
        # the strip: next words after a space, completions and corrections inside a word
        assert "tomorrow" in fix.strip("see you ", "tomo", [None] * 4), name
        assert "tomorrow" in fix.strip("see you ", "tomorow", [None] * 7), name
        assert len(fix.strip("see you ", "", [])) == 3, name
        # the ceiling's words: every hypothesis, the strip's among them
        for typed in ("tomorow", "to"):
            reach = fix.reach("see you ", typed, [None] * len(typed))
            assert len(reach) <= 16 and "tomorrow" in reach, name
            assert set(fix.strip("see you ", typed, [None] * len(typed))) <= set(reach), name
        assert len(fix.reach("see you ", "to", [None] * 2)) > 3, name


def test_top3_and_noisy_keystrokes_follow_the_strip():
    class Strip:  # offers "tomorrow" once "t" is typed (or when a "to" was typed in full)
        completes = True

        def correct(self, context, typed, taps):
            return typed

        def strip(self, context, typed, taps):
            return ["Tomorrow", "the", "to"] if typed[:1] == "t" else ["a", "b", "c"]

        def reach(self, context, typed, taps):
            return self.strip(context, typed, taps) + ["xylo"]

    words = [
        {"unit": 0, "context": "", "word": "tomorrow", "typed": "tomorow", "taps": [None] * 7},
        {"unit": 0, "context": "", "word": "to", "typed": "to", "taps": [None] * 2},
        {"unit": 0, "context": "", "word": "xylo", "typed": "xylp", "taps": [None] * 4},
    ]
    scored = score_corrector(Strip(), words)
    assert [(s["ok"], s["found"], s["reach"], s["keys"]) for s in scored] == [
        (False, True, True, 2),  # offered after one letter: a letter and a tap
        (True, True, True, 2),
        (False, False, True, 5),  # never offered: the whole word and space; in the ceiling
    ]
    assert noisy_keys(Strip(), words[0]) == 2
    sums = unit_sums(words, scored, 1)
    assert sums["top3"].tolist() == [[2, 3]] and sums["ksr"].tolist() == [[7 + 1 + 0, 9 + 3 + 5]]
    assert sums["reach"].tolist() == [[3, 3]]
    assert score_corrector(NoCorrection(), words)[1] == {
        "ok": True,
        "changed": False,
        "found": True,  # typed exactly: the keyboard shows the letters
        "keys": None,  # no strip that completes words
    }


def test_the_command_prints_and_writes_the_table(typing_mixture, tmp_path, capsys):
    config, _ = typing_mixture
    out = tmp_path / "cli"
    argv = ["eval", "--typing", "--bundle", "", "--limit", "60", "--out", str(out)]
    argv += ["mixture=typmix", "bootstrap=20", "spreads=[0.25]", f"cache_dir={config.cache_dir}"]
    assert main(argv) == 0
    printed = capsys.readouterr().out
    assert "| 0.25 | chat |" in printed and SYMSPELL_OWN in printed
    assert (out / "eval-typing.json").is_file() and (out / "eval-typing.md").is_file()


def test_the_margin_sweep_runs_on_the_valid_split(typing_mixture, tiny_bundle, tmp_path, capsys):
    config, _ = typing_mixture
    out = tmp_path / "tune"
    argv = ["eval", "--typing", "--tune", "--bundle", str(tiny_bundle), "--limit", "60"]
    argv += ["--out", str(out), "mixture=typmix", "bootstrap=20", "margins=[0, 50]"]
    argv += ["tune_spreads=[0.35]", f"cache_dir={config.cache_dir}"]
    assert main(argv) == 0
    report = json.loads((out / "eval-typing-tune.json").read_text())
    assert report["config"]["split"] == "valid"
    assert [(r["margin"], r["spread"]) for r in report["rows"]] == [(0, 0.35), (50, 0.35)]
    eager, never = report["rows"]
    # 50 nats: space never replaces the letters; 0: it corrects, right or wrong
    assert never["false_correction"] == [0.0, 0.0, 0.0] and never["worst_false_correction"] == 0
    assert eager["accuracy"][0] > never["accuracy"][0]
    assert report["candidate"] in (0, 50)
    assert "| 50 | 0.35 |" in capsys.readouterr().out
