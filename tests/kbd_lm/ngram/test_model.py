"""The Kneser-Ney trigram baseline: probabilities, suggestions, pruning, file format."""

from __future__ import annotations

import math
import time
from collections import Counter

import pytest

from kbd_lm.ngram.model import KneserNeyTrigram
from kbd_lm.text.normalization import words

UNITS = [
    "how are you",
    "how are you doing?",
    "How are you today",
    "how are they",
    "how is it going",
    "see you soon",
    "see you later",
    "see you later!",
    "see you tomorrow",
    "I'm doing good, thanks!",
    "I'm doing fine",
    "I'm in Paris",
    "I don't know",
    "I don't think so",
    "I don't care",
    "I do",
    "good morning",
    "good morning to you",
    "good night",
    "Good luck",
    "thank you so much",
    "thank you",
    "thanks a lot",
    "what are you up to?",
    "what are you doing",
    "what is that",
    "the cat sat on the mat",
    "the cat is here",
    "the dog is there",
    "hello there",
    "hello hello",
    "help me",
    "ok",
    "ok see you",
    "let me know",
    "let me think",
    "...",  # no words: skipped
]
CONTEXTS = ["", "how are ", "I ", "I don't ", "see you ", "Unknownword ", "the cat ", "ok. "]
BAD_INPUTS = [
    "",
    " ",
    "\t\n  ",
    "x" * 100_000,
    "how are " * 20_000,
    "😀",
    "how are 😀 ",
    "\x00\x07\x1b[31m",
    "\ud800",
    "don''",
    "'",
    "_",
    "a_",
    "İs",
    "é" * 500,
    "?!.",
    "\u200d",
]


@pytest.fixture(scope="module")
def lm32() -> KneserNeyTrigram:
    """Exact (float32) probabilities, for checks against the formulas."""
    return KneserNeyTrigram.train(UNITS, bits=32)


@pytest.fixture(scope="module")
def lm8() -> KneserNeyTrigram:
    """The shipped storage: 8-bit codebooks."""
    return KneserNeyTrigram.train(UNITS)


def all_words(lm: KneserNeyTrigram) -> list[str]:
    """Everything the model can predict: the vocabulary, end of unit, and one unknown word."""
    return [*lm.vocab, "</s>", "qqqunknownqqq"]


def before_partial(text: str) -> str:
    """The context of a completion: the text up to the word being typed."""
    return text if not text or text.endswith(" ") else text[: text.rfind(" ") + 1]


def reference_kn(units: list[str]):
    """A straightforward dict implementation of interpolated modified Kneser-Ney."""
    seqs = [["<s>", "<s>", *w, "</s>"] for w in (words(u) for u in units) if w]
    c3 = Counter((s[i - 2], s[i - 1], s[i]) for s in seqs for i in range(2, len(s)))
    c2 = Counter((s[i - 1], s[i]) for s in seqs for i in range(2, len(s)))
    a2 = {
        (v, w): c2[v, w] if v == "<s>" else len({x for (x, y, z) in c3 if (y, z) == (v, w)})
        for (v, w) in c2
    }
    a1 = Counter(w for (_, w) in a2)
    predictable = {w for s in seqs for w in s} - {"<s>"} | {"<unk>"}

    def discounts(counts):
        n = [sum(1 for c in counts if c == i) for i in range(1, 5)]
        if min(n) < 2:
            return [0.0, 0.75, 0.75, 0.75]
        y = n[0] / (n[0] + 2 * n[1])
        d = [1 - 2 * y * n[1] / n[0], 2 - 3 * y * n[2] / n[1], 3 - 4 * y * n[3] / n[2]]
        return [0.0, *d] if all(0 < x < j for j, x in enumerate(d, 1)) else [0.0, 0.75, 0.75, 0.75]

    d1, d2, d3 = discounts(a1.values()), discounts(a2.values()), discounts(c3.values())

    def disc(table, c):
        return table[min(c, 3)]

    total1 = sum(a1.values())
    gamma1 = sum(disc(d1, c) for c in a1.values()) / total1

    def p1(w):
        return (a1[w] - disc(d1, a1[w])) / total1 + gamma1 / len(predictable)

    def p2(w, v):
        row = {z: c for (y, z), c in a2.items() if y == v}
        if not row:
            return p1(w)
        s = sum(row.values())
        gamma = sum(disc(d2, c) for c in row.values()) / s
        c = row.get(w, 0)
        return (c - disc(d2, c)) / s + gamma * p1(w)

    def p3(w, u, v):
        row = {z: c for (x, y, z), c in c3.items() if (x, y) == (u, v)}
        if not row:
            return p2(w, v)
        s = sum(row.values())
        gamma = sum(disc(d3, c) for c in row.values()) / s
        c = row.get(w, 0)
        return (c - disc(d3, c)) / s + gamma * p2(w, v)

    def logprob(context: str, word: str) -> float:
        ctx = ["<s>", "<s>", *[w if w in predictable else "<unk>" for w in words(context)]]
        w = word.lower() if word.lower() in predictable else "<unk>"
        return math.log(p3(w, ctx[-2], ctx[-1]))

    return logprob


def test_counts_follow_the_padding(lm32):
    vocab = {w for u in UNITS for w in words(u)}
    assert lm32.vocab == sorted(vocab)
    assert lm32.counts()["vocab"] == len(vocab)
    n_tokens = sum(len(words(u)) + 1 for u in UNITS if words(u))
    assert lm32.counts()["trigrams"] <= n_tokens


@pytest.mark.parametrize("context", CONTEXTS)
def test_probabilities_sum_to_one(lm32, lm8, context):
    exact = sum(math.exp(lm32.next_word_logprob(context, w)) for w in all_words(lm32))
    assert exact == pytest.approx(1.0, abs=1e-5)
    quantized = sum(math.exp(lm8.next_word_logprob(context, w)) for w in all_words(lm8))
    assert quantized == pytest.approx(1.0, abs=0.03)


def test_matches_reference_formulas(lm32):
    reference = reference_kn(UNITS)
    for context in CONTEXTS:
        for word in all_words(lm32)[:-2] + ["qqqunknownqqq"]:
            if word == "</s>":
                continue
            want = reference(context, word)
            assert lm32.next_word_logprob(context, word) == pytest.approx(want, abs=1e-5), (
                context,
                word,
            )


def test_seen_context_ranks_its_follower_first(lm8):
    assert lm8.suggest("how are ")[0].word == "you"
    assert lm8.suggest("I don't ")[0].word in {"know", "think", "care"}
    assert lm8.suggest("good ")[0].word == "morning"
    assert lm8.suggest("the cat ")[0].word in {"sat", "is"}
    assert lm8.suggest("Let me ", k=2)[0].word in {"know", "think"}


def test_suggestions_are_distinct_words_best_first(lm8):
    for context in CONTEXTS + ["how are y", "I d", "se"]:
        for k in (1, 3, 10):
            got = lm8.suggest(context, k=k)
            assert len(got) <= k
            names = [s.word for s in got]
            assert len(set(names)) == len(names)
            assert not {"<s>", "</s>", "<unk>"} & set(names)
            probs = [s.probability for s in got]
            assert probs == sorted(probs, reverse=True)
            for s in got:
                want = math.exp(lm8.next_word_logprob(before_partial(context), s.word))
                assert s.probability == pytest.approx(want, rel=1e-5)
    assert [s.word for s in lm8.suggest("", k=0)] == []


def test_next_word_suggestions_are_the_top_k_of_the_distribution(lm32):
    for context in CONTEXTS:
        scores = {w: lm32.next_word_logprob(context, w) for w in lm32.vocab}
        best = sorted(scores, key=lambda w: (-scores[w], w))[:3]
        assert [s.word for s in lm32.suggest(context, k=3)] == best


def test_completion_respects_the_prefix_case_insensitively(lm8):
    lower = lm8.suggest("see you l")
    assert lower and all(s.word.startswith("l") for s in lower)
    assert lower[0].word == "later"
    assert lm8.suggest("see you L") == lower
    assert lm8.suggest("SEE YOU L") == lower
    hel = [s.word for s in lm8.suggest("Hel", k=5)]
    assert set(hel) == {"hello", "help"}
    assert all(s.word.startswith("th") for s in lm8.suggest("th", k=10))
    assert lm8.suggest("zzz") == []


def test_completion_never_suggests_the_typed_word_and_handles_apostrophes(lm8):
    assert lm8.knows("you") and "you" not in [s.word for s in lm8.suggest("see you", k=10)]
    assert "you" in [s.word for s in lm8.suggest("see yo", k=10)]
    assert [s.word for s in lm8.suggest("I don'")] == ["don't"]
    assert [s.word for s in lm8.suggest("I'")] == ["i'm"]


def test_completion_is_exact_over_the_prefix_range(lm32):
    for text, prefix, context in [("how are t", "t", "how are "), ("I d", "d", "I ")]:
        cands = [w for w in lm32.vocab if w.startswith(prefix) and w != prefix]
        scores = {w: lm32.next_word_logprob(context, w) for w in cands}
        best = sorted(cands, key=lambda w: (-scores[w], w))[:3]
        assert [s.word for s in lm32.suggest(text)] == best


def test_punctuation_asks_for_the_next_word(lm8):
    assert lm8.suggest("how are you?")[0].word == lm8.suggest("how are you ")[0].word
    assert lm8.suggest("see you,") == lm8.suggest("see you, ")


@pytest.mark.parametrize("text", BAD_INPUTS)
def test_bad_inputs_never_raise(lm8, text):
    start = time.perf_counter()
    got = lm8.suggest(text)
    assert time.perf_counter() - start < 0.1
    assert isinstance(got, list) and len(got) <= 3
    assert all(isinstance(s.word, str) and 0 <= s.probability <= 1 for s in got)
    assert math.isfinite(lm8.next_word_logprob(text, "you"))
    assert math.isfinite(lm8.next_word_logprob(text, text))


def test_unknown_words_get_a_small_finite_probability(lm8):
    unknown = lm8.next_word_logprob("how are ", "Xylophones")
    assert math.isfinite(unknown)
    assert unknown < lm8.next_word_logprob("how are ", "they") < 0
    assert lm8.next_word_logprob("how are ", "YOU") == lm8.next_word_logprob("how are ", "you")


def test_min_count_maps_rare_words_to_unk():
    lm = KneserNeyTrigram.train(UNITS, min_count=2, bits=32)
    assert "paris" not in lm.vocab and "you" in lm.vocab
    assert all(s.word != "<unk>" for s in lm.suggest("I'm in ", k=20))
    total = sum(math.exp(lm.next_word_logprob("I'm in ", w)) for w in all_words(lm))
    assert total == pytest.approx(1.0, abs=1e-5)


def test_empty_training_data_gives_a_working_model():
    lm = KneserNeyTrigram.train([], bits=32)
    assert lm.suggest("hello ") == []
    assert lm.next_word_logprob("", "hello") == pytest.approx(math.log(1 / 2))


def test_pruning_fits_the_budget_and_still_suggests(lm32, lm8):
    for full in (lm32, lm8):
        budget = full.size_bytes() - 400
        small = full.pruned(budget)
        assert small.size_bytes() <= budget < full.size_bytes()
        assert small.vocab == full.vocab
        counts, full_counts = small.counts(), full.counts()
        assert (
            counts["trigrams"] + counts["bigrams"]
            < full_counts["trigrams"] + full_counts["bigrams"]
        )
        assert small.suggest("how are ")[0].word == "you"
        assert small.suggest("see you l")[0].word == "later"
    tiny = lm32.pruned(lm32.pruned(10**9).size_bytes() // 2)
    for context in CONTEXTS:
        total = sum(math.exp(tiny.next_word_logprob(context, w)) for w in all_words(tiny))
        assert total == pytest.approx(1.0, abs=1e-5)
    with pytest.raises(ValueError, match="does not fit"):
        lm8.pruned(100)


def test_pruning_with_a_large_budget_keeps_everything(lm8):
    same = lm8.pruned(10**9)
    assert same.counts() == lm8.counts()
    assert same.size_bytes() == lm8.size_bytes()


def test_save_load_round_trip(lm8, tmp_path):
    small = lm8.pruned(lm8.size_bytes() - 300)
    for model, name in ((lm8, "full.kn3"), (small, "small.kn3")):
        path = tmp_path / name
        model.save(path)
        assert path.stat().st_size == model.size_bytes()
        loaded = KneserNeyTrigram.load(path)
        assert loaded.size_bytes() == model.size_bytes()
        assert loaded.counts() == model.counts()
        for text in [*CONTEXTS, "how are y", "I d", "Hel", "x" * 1000]:
            assert loaded.suggest(text, k=5) == model.suggest(text, k=5)
            for word in ("you", "know", "qqq"):
                assert loaded.next_word_logprob(text, word) == model.next_word_logprob(text, word)
    with pytest.raises(ValueError, match="counts"):
        KneserNeyTrigram.load(tmp_path / "full.kn3").pruned(10_000)


def test_load_rejects_other_files(tmp_path, lm8):
    bad = tmp_path / "bad.kn3"
    bad.write_bytes(b"not a model at all")
    with pytest.raises(ValueError, match="magic"):
        KneserNeyTrigram.load(bad)
    lm8.save(bad)
    good = bad.read_bytes()
    bad.write_bytes(good[:-7])
    with pytest.raises(ValueError):
        KneserNeyTrigram.load(bad)
    header_end = good.index(b"}", 12) + 1
    for corrupt in (good[:10], good[:header_end] + b"\x00" * (len(good) - header_end)):
        bad.write_bytes(corrupt)
        with pytest.raises(ValueError):
            KneserNeyTrigram.load(bad)


def test_suggest_is_fast(lm8):
    texts = [*CONTEXTS, "how are y", "I d", "s", "th", "see you l"] * 50
    start = time.perf_counter()
    for text in texts:
        lm8.suggest(text)
    assert (time.perf_counter() - start) / len(texts) < 0.002


def test_large_prefix_ranges_walk_the_unigram_order(lm32, monkeypatch):
    want = {t: lm32.suggest(t, k=5) for t in ["how are t", "I d", "s", "Unknownword h", ""]}
    monkeypatch.setattr("kbd_lm.ngram.model._DENSE_RANGE", 1)
    assert {t: lm32.suggest(t, k=5) for t in want} == want
