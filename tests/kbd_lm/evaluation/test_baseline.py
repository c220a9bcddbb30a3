"""The one n-gram baseline builder: within the budget, cached by corpus and settings."""

from __future__ import annotations

import pytest

from kbd_lm.evaluation.baseline import ngram_baseline
from kbd_lm.ngram.model import KneserNeyTrigram

TRAIN = [f"see you {w} at {p}" for w in ("soon", "later", "tomorrow") for p in "abcdefgh"] * 3
TRAIN += [f"rare{i} word{i}" for i in range(40)]  # words seen once


class Corpus:
    name = "toy"
    fingerprint = "f00d"

    def __init__(self) -> None:
        self.reads = 0

    def units(self, split: str):
        self.reads += 1
        yield from {"train": TRAIN, "valid": ["see you soon"]}[split]


def test_built_once_then_cached(tmp_path):
    corpus = Corpus()
    full_size = KneserNeyTrigram.train(TRAIN).size_bytes()
    first = ngram_baseline(corpus, full_size - 100, tmp_path)
    assert not first.info["cached"] and corpus.reads == 1
    small, full = first.load(), first.load_full()
    assert small.size_bytes() <= full_size - 100 == first.info["budget_bytes"]
    assert full.size_bytes() == full_size == first.info["full_size_bytes"]
    assert first.info["pruning"]["max_bytes"] == full_size - 100
    assert first.info["min_count"] == 1 and first.info["vocab"] == small.counts()["vocab"]

    again = ngram_baseline(corpus, full_size - 100, tmp_path)
    assert again.info["cached"] and corpus.reads == 1  # not retrained
    assert again.path.read_bytes() == first.path.read_bytes()
    assert {**again.info, "cached": False} == first.info

    # A damaged cache is trained again, not an error.
    first.path.with_suffix(".json").write_text("{")  # the info file (cache_paths)
    rebuilt = ngram_baseline(corpus, full_size - 100, tmp_path)
    assert not rebuilt.info["cached"] and corpus.reads == 2
    assert rebuilt.path.read_bytes() == first.path.read_bytes()

    # Other settings are other models.
    assert ngram_baseline(corpus, full_size + 1000, tmp_path).info["pruning"] is None  # fits
    other = ngram_baseline(corpus, full_size - 100, tmp_path, splits=("train", "valid"))
    assert not other.info["cached"] and other.path != first.path
    assert ngram_baseline(corpus, full_size - 100, tmp_path, min_count=2).path != first.path


def test_a_small_budget_drops_rare_words(tmp_path):
    corpus = Corpus()
    # Just under the model of the words seen twice: no room for the 80 words seen once.
    budget = KneserNeyTrigram.train(TRAIN, min_count=2).size_bytes() - 1
    built = ngram_baseline(corpus, budget, tmp_path)
    assert built.info["min_count"] > 1 and built.load().size_bytes() <= budget
    with pytest.raises(ValueError, match="too small for any n-gram"):
        ngram_baseline(corpus, 100, tmp_path)
