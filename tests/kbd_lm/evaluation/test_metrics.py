"""Keyboard metrics on a scripted suggester with hand-computed answers, sampling, reports."""

from __future__ import annotations

import json
import math

import pytest

from kbd_lm.common.config import load_config
from kbd_lm.evaluation.metrics import (
    EvalConfig,
    count_words,
    evaluate_system,
    format_table,
    run_eval,
    sample_words,
)
from kbd_lm.inference.suggestion import Suggestion
from kbd_lm.ngram.model import KneserNeyTrigram

# What the scripted keyboard suggests for each exact text before the cursor (else nothing).
SCRIPT = {
    "": ["hi", "ok", "yes"],
    "H": ["hi"],
    "Hi, ": ["what", "who", "how"],
    "Hi, h": ["hello"],
    "Hi, ho": ["how"],
    "Hi, how ": ["is", "was", "do"],
    "Hi, how a": ["and", "are"],
    "Hi, how are ": ["You", "your"],  # compared case-insensitively
    "Hi, how are y": ["you"],
    "Hi, how are yo": ["your", "yo"],
}
UNITS = ["Hi, how are you", "ok", "zzz"]
# Per word: (context, hit at j=0 first / in top 3, keys, completion hits at j=1, 2)
#   Hi   ""              first / yes   1 key of 3      j1 "H" yes
#   how  "Hi, "          no / yes      1 key of 4      j1 "Hi, h" no, j2 "Hi, ho" yes
#   are  "Hi, how "      no / no       2 keys of 4     j1 yes, j2 "Hi, how ar" no
#   you  "Hi, how are "  first / yes   1 key of 4      j1 yes, j2 "Hi, how are yo" no
#   ok   ""              no / yes      1 key of 3      j1 "o" no
#   zzz  ""              no / no       4 keys of 4     j1 no, j2 no
EXPECTED = {
    "words": 6,
    "top1": 2 / 6,
    "top3": 4 / 6,
    "ksr": 1 - 10 / 22,
    "completion_top3": {"1": 3 / 6, "2": 1 / 4, "3": None},
    "perplexity": math.exp((5 * 1.0 + 3.0) / 6),
}


class Scripted:
    """A suggester answering from SCRIPT; log P is -1 for every word but "zzz" (-3)."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, int]] = []
        self.logprob_calls: list[tuple[str, str]] = []

    def suggest(self, text: str, k: int = 3) -> list[Suggestion]:
        self.calls.append((text, k))
        return [Suggestion(w, 0.1) for w in SCRIPT.get(text, [])][:k]

    def next_word_logprob(self, text: str, word: str) -> float:
        self.logprob_calls.append((text, word))
        return -3.0 if word == "zzz" else -1.0


def test_metrics_match_hand_computed_values():
    system = Scripted()
    result = evaluate_system(system, UNITS, "scripted")
    for key, want in EXPECTED.items():
        if isinstance(want, float):
            assert result[key] == pytest.approx(want), key
        else:
            assert result[key] == want, key
    assert system.logprob_calls == [
        ("", "Hi"),
        ("Hi, ", "how"),
        ("Hi, how ", "are"),
        ("Hi, how are ", "you"),
        ("", "ok"),
        ("", "zzz"),
    ]
    assert {k for _, k in system.calls} == {3}
    # Completion calls stop once the word is found and completion@1..3 are measured.
    assert [t for t, _ in system.calls if t.startswith("Hi, how are")] == [
        "Hi, how are ",
        "Hi, how are y",
        "Hi, how are yo",
    ]
    lat = result["latency_ms"]
    assert lat["next_word"]["p50"] > 0 and lat["next_word"]["p99"] >= lat["next_word"]["p50"]
    assert lat["completion"]["p99"] >= lat["completion"]["p50"] > 0


class Always(Scripted):
    """Always suggests "wonderful"."""

    def suggest(self, text: str, k: int = 3) -> list[Suggestion]:
        self.calls.append((text, k))
        return [Suggestion("wonderful", 1.0)]


def test_long_words_stop_after_three_letters_once_found():
    system = Always()
    result = evaluate_system(system, ["wonderful"])
    assert result["ksr"] == pytest.approx(1 - 1 / 10)
    assert [t for t, _ in system.calls] == ["", "w", "wo", "won"]
    assert result["completion_top3"] == {"1": 1.0, "2": 1.0, "3": 1.0}


def test_no_words_gives_empty_metrics():
    result = evaluate_system(Scripted(), ["...", "😀"])
    assert result["words"] == 0 and result["top1"] is None and result["perplexity"] is None


def test_sampling_is_deterministic_and_takes_whole_units():
    units = [f"unit {i} " + "word " * (i % 7) for i in range(500)] + ["!!!"] * 20
    a = sample_words(units, max_words=300, seed=3)
    assert a == sample_words(units, max_words=300, seed=3)
    assert a != sample_words(units, max_words=300, seed=4)
    assert set(a) <= set(units) and "!!!" not in a
    assert a == sorted(a, key=units.index)  # corpus order
    total = sum(count_words(u) for u in a)
    assert 300 <= total < 300 + max(count_words(u) for u in units)
    assert sample_words(units, max_words=10**9, seed=0) == units[:500]
    assert sample_words([], 100, 0) == []


def test_format_table_has_one_row_per_system():
    row = {**evaluate_system(Scripted(), UNITS), "size_bytes": 1_500_000}
    table = format_table({"Scripted": row, "No size": {**row, "size_bytes": None}})
    lines = table.strip().splitlines()
    assert len(lines) == 4
    assert all(line.count("|") == 12 for line in lines)
    assert lines[2].startswith("| Scripted | 1.50 MB | 0.333 | 0.667 | 0.545 |")
    assert lines[3].startswith("| No size | - |")


def test_config_loads_with_overrides():
    config = load_config(
        EvalConfig,
        overrides=["max_words=100", 'split="valid"', 'ngram_train_splits=["train", "valid"]'],
    )
    assert config.max_words == 100 and config.split == "valid"
    assert config.ngram_train_splits == ("train", "valid")
    assert load_config(EvalConfig) == EvalConfig()


CORPUS = {
    "train": [
        "how are you",
        "how are you doing",
        "how are they",
        "see you later",
        "see you soon",
        "I don't know",
        "I don't think so",
        "good morning",
        "good night",
        "thank you so much",
    ]
    * 3,
    "valid": ["how are you"],
    "test": ["how are you", "see you later!", "good morning", "I don't know", "hmm..."],
}


class FakePrepared:
    name = "fake"
    fingerprint = "0000"

    def units(self, split: str):
        yield from CORPUS[split]


@pytest.fixture()
def fake_corpus(monkeypatch):
    monkeypatch.setattr("kbd_lm.dataset.corpus.prepare", lambda corpus, *args: FakePrepared())


def test_run_eval_without_bundle(fake_corpus, tmp_path):
    full_size = KneserNeyTrigram.train(CORPUS["train"]).size_bytes()
    config = EvalConfig(
        corpus="fake",
        max_words=100,
        ngram_budget_bytes=full_size - 50,
        cache_dir=str(tmp_path / "cache"),
    )
    report = run_eval(config, None, tmp_path)
    assert report["ngram"]["cached"] is False
    assert list((tmp_path / "cache").glob("ngram-0000-*.kn3"))
    again = run_eval(config, None, tmp_path)  # the n-grams come from the cache: same figures
    assert again["ngram"]["cached"] is True
    for name, result in again["systems"].items():
        for key in ("size_bytes", "top1", "top3", "ksr", "perplexity", "completion_top3"):
            assert result[key] == report["systems"][name][key], (name, key)
    systems = report["systems"]
    assert list(systems) == ["KN trigram (full)", f"KN trigram ({(full_size - 50) / 1e6:g} MB)"]
    full, small = systems.values()
    assert full["size_bytes"] == full_size
    assert small["size_bytes"] <= full_size - 50
    assert full["words"] == small["words"] == report["sample"]["words"] == 12
    assert full["top1"] > 0.5
    saved = json.loads((tmp_path / "eval.json").read_text())
    assert saved["systems"]["KN trigram (full)"]["top3"] == full["top3"]
    assert saved["config"]["ngram_train_splits"] == ["train"]
    md = (tmp_path / "eval.md").read_text()
    assert "| KN trigram (full) |" in md and "12 words" in md


def test_run_eval_with_a_real_bundle(tiny_bundle, tiny_corpus_dir, tmp_path):
    import shutil

    from kbd_lm.inference.bundle import Bundle

    bundle = tmp_path / "bundle"
    shutil.copytree(tiny_bundle, bundle)
    config = EvalConfig(
        corpus=str(tiny_corpus_dir),
        max_words=150,
        cache_dir=str(tmp_path / "cache"),
        ngram_budget_bytes=20_000,
    )
    report = run_eval(config, bundle, bundle)
    name = "CIFG 64 bundle"  # the tiny preset's model, named from its manifest
    assert Bundle.load(bundle).manifest.model_name == "CIFG 64"
    ours = report["systems"][name]
    trigram = report["systems"]["KN trigram (full)"]
    assert ours["words"] == trigram["words"] >= 150
    assert ours["top3"] > 0.3 and 0 < ours["ksr"] < 1  # the tiny model learned its corpus
    assert ours["latency_ms"]["next_word"]["p50"] > 0
    assert ours["size_bytes"] == Bundle.load(bundle).manifest.shipped_bytes
    manifest = Bundle.load(bundle).manifest  # metrics merged, checksums still valid
    assert manifest.metrics["top3"] == ours["top3"]
    assert manifest.metrics["eval"]["split"] == "test"
    assert f"| {name} |" in (bundle / "eval.md").read_text()
