"""Typo-tolerant suggestions: the word list's candidates, the channel, the model's prior."""

from __future__ import annotations

import math

import pytest

from kbd_lm.history.user_history import UserHistory
from kbd_lm.inference.correction import Corrections, correctable, typed_case
from kbd_lm.inference.lexicon import Lexicon
from kbd_lm.inference.predictor import Predictor
from kbd_lm.typing.layouts import LAYOUTS
from kbd_lm.typing.spec import TypingSpec

Q = LAYOUTS["qwerty"]
WORDS = Lexicon({"the": 900, "then": 80, "they": 120, "tomorrow": 50, "tonight": 30, "hello": 20})


def unigram(word: str) -> float:
    """A context-free prior: the word list's share, the unlisted far below."""
    count = WORDS.count(word)
    return math.log(count / WORDS.total) if count else math.log(1e-7)


def test_a_mistyped_word_is_corrected_and_autocorrected():
    fix = Corrections(WORDS)
    out = fix.suggest("tomorow", exact=[], prior=unigram, k=3, layout=Q)
    assert out[0].word == "tomorrow" and out[0].kind == "correction" and out[0].autocorrect
    assert sum(s.autocorrect for s in out) == 1
    # a slip in the first letter ("r" is next to "t") and a swap
    assert fix.suggest("rhe", exact=[], prior=unigram, k=3, layout=Q)[0].word == "the"
    assert fix.suggest("teh", exact=[], prior=unigram, k=3, layout=Q)[0].word == "the"


def test_a_correct_word_keeps_its_letters_and_completions():
    fix = Corrections(WORDS)
    exact = [("then", 0.3), ("they", 0.2)]  # the model's completions of "the"
    out = fix.suggest("the", exact=exact, prior=unigram, k=3, layout=Q)
    assert [s.word for s in out[:2]] == ["then", "they"]
    assert all(s.kind == "completion" and not s.autocorrect for s in out[:2])
    assert "the" not in [s.word for s in out]  # the typed letters are no suggestion


def test_an_unknown_word_the_model_likes_is_not_corrected_away():
    fix = Corrections(WORDS)

    def likes_hellp(word):  # a name, say, that the word list lacks
        return math.log(0.2) if word.lower() == "hellp" else unigram(word)

    out = fix.suggest("hellp", exact=[], prior=likes_hellp, k=3, layout=Q)
    assert not any(s.autocorrect for s in out)
    # the same letters, under a prior that has never seen them: "o" is next to "p"
    fixed = fix.suggest("hellp", exact=[], prior=unigram, k=3, layout=Q)[0]
    assert fixed.word == "hello" and fixed.autocorrect


def test_made_up_completions_give_way_and_blocked_words_never_come():
    fix = Corrections(WORDS)
    exact = [("tomw", 1e-6), ("tomorrow", 0.5)]
    out = fix.suggest("tom", exact=exact, prior=unigram, k=3, layout=Q)
    assert "tomw" not in [s.word for s in out] and out[0].word == "tomorrow"
    blocked = fix.suggest(
        "tomorow", exact=[], prior=unigram, k=3, layout=Q, blocked=lambda w: w == "tomorrow"
    )
    assert "tomorrow" not in [s.word for s in blocked]


def test_taps_decide_between_two_neighbours():
    fix = Corrections(Lexicon({"cat": 100, "car": 100}))
    flat = dict(exact=[], prior=lambda w: math.log(0.1), k=2, layout=Q)
    # "t" typed, the finger on the border of "t" and "r": either word; just right of "r"'s
    # centre: "car" is likelier than "cat"
    rx, ry = Q.centre("r")
    near_r = [Q.centre("c"), Q.centre("a"), (rx + 0.45, ry)]
    with_taps = fix.suggest("cat", taps=near_r, **flat)
    assert "car" in [s.word for s in with_taps]
    probs = {
        s.word: s.probability
        for s in fix.suggest("cax", taps=[*near_r[:2], (rx + 0.2, ry)], **flat)
    }
    assert probs["car"] > probs["cat"]


def test_manners():
    assert correctable("see you tomorow", "tomorow")
    assert not correctable("at 5pm", "pm") and not correctable("x", "")
    assert not correctable("call @joh", "joh") and not correctable("www.goo", "goo")
    assert not correctable("me@exampl", "exampl") and correctable("(helo", "helo")
    assert typed_case("tomorrow", "Tomorow") == "Tomorrow"
    assert typed_case("tomorrow", "TOMOROW") == "TOMORROW"
    assert typed_case("Paris", "parus") == "Paris"


@pytest.fixture(scope="module")
def predictor(tiny_bundle):
    return Predictor.load(tiny_bundle)


TEXTS = ["see you ", "see you tom", "how are yo", "I'm in Par", "", "thank you so muc", "I don'"]


@pytest.mark.parametrize("text", TEXTS)
def test_correction_off_answers_as_before(predictor, text):
    before = predictor.suggest(text, k=3)
    off = predictor.suggest(text, k=3, correct=False)
    assert off == before
    kind = "completion" if text and not text.endswith(" ") else "next"
    assert all(s.kind == kind and not s.autocorrect for s in off)


def test_the_predictor_corrects_a_slip_with_its_own_model(predictor):
    plain = [s.word for s in predictor.suggest("see you tomorow", k=3)]
    assert "tomorrow" not in plain
    fixed = predictor.suggest("see you tomorow", k=3, correct=True)
    assert fixed[0].word == "tomorrow" and fixed[0].kind == "correction" and fixed[0].autocorrect
    # the typed case is kept; a next word and a token with digits are left alone
    assert predictor.suggest("See you Tomorow", k=3, correct=True)[0].word == "Tomorrow"
    assert predictor.suggest("see you ", k=3, correct=True) == predictor.suggest("see you ", k=3)
    assert predictor.suggest("at 5pm", k=3, correct=True) == predictor.suggest("at 5pm", k=3)
    # a correctly typed beginning keeps its completions, in their order (the first place may
    # go to what space would commit: the tiny model has never seen "tom" as a word)
    plain = [s.word for s in predictor.suggest("see you to", k=5)]
    good = predictor.suggest("see you to", k=5, correct=True)
    rest = [s.word for s in good if s.kind == "completion" and not s.autocorrect]
    assert rest and rest == [w for w in plain if w in rest]
    assert "tomorrow" in rest


def test_a_word_the_history_learned_is_not_autocorrected(predictor):
    """The user undid "tomorow" -> "tomorrow" once and the history learned "tomorow": space
    keeps the letters from then on; the strip still offers the correction."""
    history = UserHistory()
    assert predictor.suggest("see you tomorow", k=3, correct=True, history=history)[0].autocorrect
    history.learn("Tomorow")
    out = predictor.suggest("see you tomorow", k=3, correct=True, history=history)
    assert not any(s.autocorrect for s in out)
    assert "tomorrow" in [s.word for s in out]


def test_a_blocked_word_is_never_a_correction(predictor):
    predictor.blocklist.add("tomorrow")
    try:
        words = [s.word.lower() for s in predictor.suggest("see you tomorow", k=5, correct=True)]
    finally:
        predictor.blocklist.remove("tomorrow")
    assert "tomorrow" not in words


def test_the_predictor_corrects_with_the_bundles_typing_file(predictor, tiny_bundle, tmp_path):
    """The layouts and thresholds are the bundle's typing.json (kbd_lm.typing.spec): a margin
    no correction beats turns autocorrect off; a bundle with Dvorak only knows no QWERTY; a
    bundle of format 4 without the file does not correct."""
    import dataclasses
    import shutil

    from kbd_lm.inference import bundle as B
    from kbd_lm.inference.bundle import BundleError
    from kbd_lm.typing.spec import TypingSpec

    text = "see you tomorow"
    assert predictor.suggest(text, k=3, correct=True)[0].autocorrect
    folder = tmp_path / "bundle"
    shutil.copytree(tiny_bundle, folder)
    TypingSpec(layouts=(LAYOUTS["dvorak"],), autocorrect_margin=1e9).save(folder / B.TYPING_FILE)
    B.write(folder, B.read(folder).with_file(folder, B.TYPING_FILE))
    strict = Predictor.load(folder)
    got = strict.suggest(text, k=3, correct=True, layout="dvorak")
    assert got and not any(s.autocorrect for s in got)
    with pytest.raises(ValueError, match="unknown layout 'qwerty': use one of dvorak"):
        strict.suggest(text, k=3, correct=True)
    manifest = B.read(folder)
    files = {n: e for n, e in manifest.files.items() if n != B.TYPING_FILE}
    (folder / B.TYPING_FILE).unlink()
    B.write(folder, dataclasses.replace(manifest, files=files))
    plain = Predictor.load(folder)
    assert plain.typing is None
    assert plain.suggest(text, k=3, correct=True) == plain.suggest(text, k=3)
    (folder / B.TYPING_FILE).write_text("{}")
    B.write(folder, B.read(folder).with_file(folder, B.TYPING_FILE))
    with pytest.raises(BundleError, match="typing.json: not a kbd-lm-typing file"):
        Predictor.load(folder)


def test_space_keeps_letters_that_are_far_more_likely_the_start_of_a_longer_word():
    """ "tomo" + space: "too" (an inserted "m") beats the letters as a word, but the strip
    holds "tomorrow" far likelier: no autocorrection (autocorrect_strip_ratio)."""
    words = Lexicon({"too": 900, "tomorrow": 50})

    def prior(word: str) -> float:
        return {"too": math.log(0.05), "tomorrow": math.log(0.05)}.get(word, math.log(1e-9))

    fix = Corrections(words, TypingSpec(completion_bonus=0.0))
    out = fix.suggest("tomo", exact=[("tomorrow", 0.05)], prior=prior, k=3, layout=Q)
    too = next(s for s in out if s.word == "too")
    assert out[0].word == "tomorrow" and too.probability < 0.01 * out[0].probability
    assert not any(s.autocorrect for s in out)
    # the same letters with "tomorrow" unlikely here: "too" is committed
    out = fix.suggest(
        "tomo", exact=[], prior=lambda w: prior(w) - 20 * (w == "tomorrow"), k=3, layout=Q
    )
    assert out[0].word == "too" and out[0].autocorrect


def test_completions_of_the_letters_as_typed_keep_their_place_before_corrections():
    """ "tom": "tonight" ("n" next to "m") is likelier than "tomorrow's" by the prior, but the
    letters were typed as they are: the completion bonus keeps the model's completions first."""
    words = Lexicon({"tomorrow": 50, "tomorrow's": 5, "tonight": 30})

    def prior(word: str) -> float:
        return {"tomorrow": -1.0, "tomorrow's": -6.0, "tonight": -2.0}.get(word, -20.0)

    exact = [("tomorrow", math.exp(-1.0)), ("tomorrow's", math.exp(-6.0))]
    plain = Corrections(words, TypingSpec(completion_bonus=0.0))
    got = [s.word for s in plain.suggest("tom", exact=exact, prior=prior, k=3, layout=Q)]
    assert got[:2] == ["tomorrow", "tonight"]
    kept = Corrections(words)  # the default bonus
    out = kept.suggest("tom", exact=exact, prior=prior, k=3, layout=Q)
    assert [s.word for s in out] == ["tomorrow", "tomorrow's", "tonight"]
    assert [s.kind for s in out] == ["completion", "completion", "correction"]
    assert math.isclose(sum(s.probability for s in out), 1.0, rel_tol=0.05)


def test_keystrokes_in_typing_order_answer_as_one_by_one(predictor):
    # the columns and model rows a keystroke leaves for the next one change no answer
    texts = [
        "see you t",
        "see you to",
        "see you tom",
        "see you tomo",
        "see you tomor",
        "see you tomoe",
        "see you tomoew",
        "I'm going ot",
        "I'm going ot th",
        "see you tomorow",
    ]
    in_order = [predictor.suggest(t, k=3, correct=True) for t in texts]
    alone = []
    for t in texts:
        predictor.clear_cache()
        alone.append(predictor.suggest(t, k=3, correct=True))
    assert in_order == alone
    assert len(predictor._corrections.memo.walks) <= 2  # bounded


def test_priors_together_are_each_words_own(predictor):
    # next_word_logprobs runs shared piece paths once and reads the search's rows: the same
    # values as one word at a time from cleared caches
    words = ["tomorrow", "Tomorrow", "tonight", "to", "tomorow", "later"]
    predictor.suggest("see you tom", k=3)  # the search leaves rows behind
    together = predictor.next_word_logprobs("see you ", words)
    alone = []
    for w in words:
        predictor.clear_cache()
        alone.append(predictor.next_word_logprob("see you ", w))
    assert together == alone
