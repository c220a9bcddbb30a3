"""Predictor._mix: the model's and an n-gram's words interpolated (docs/decoding.md section 8)."""

import pytest

from kbd_lm.inference.predictor import Predictor
from kbd_lm.inference.suggestion import Suggestion


class TiedNgram:
    """An n-gram whose three best words all have probability 0.2 and which knows no other."""

    def suggest(self, text, k):
        return [Suggestion(w, 0.2, "next") for w in ("zeta", "alpha", "mid")][:k]

    def knows(self, word):
        return word in ("zeta", "alpha", "mid")

    def next_word_logprob(self, text, word):
        raise AssertionError("every n-gram word is among its suggestions here")


@pytest.fixture(scope="module")
def predictor(tiny_bundle):
    return Predictor.load(tiny_bundle)


def test_exact_ties_keep_the_models_order_then_the_ngrams(predictor, monkeypatch):
    monkeypatch.setattr(predictor, "ngram", TiedNgram())
    monkeypatch.setattr(predictor, "neural_weight", 0.5)
    model = [("b", 0.2), ("a", 0.2), ("Mid", 0.1)]
    mixed = predictor._mix("see you ", model, k=5)
    # b and a: 0.5 * 0.2 each, as zeta and alpha; Mid: 0.5 * 0.1 + 0.5 * 0.2, first
    assert [w for w, _ in mixed] == ["Mid", "b", "a", "zeta", "alpha"]
    assert [p for _, p in mixed] == pytest.approx([0.15, 0.1, 0.1, 0.1, 0.1])
