"""Predictor.suggest with a user's history and the blocklist, on the real tiny bundle."""

import pytest

from kbd_lm.history.user_history import UserHistory
from kbd_lm.inference.predictor import Predictor
from kbd_lm.text.normalization import WORD_RE


@pytest.fixture(scope="module")
def predictor(tiny_bundle):
    return Predictor.load(tiny_bundle)


def words_of(suggestions):
    return [s.word for s in suggestions]


def test_a_word_typed_once_is_suggested_from_then_on(predictor):
    name = "Zorblax"
    assert len(predictor.tok.encode(name)) >= 3  # the model would have to spell many pieces
    for partial in ["z", "zo", "Zorb", "zorbla"]:
        assert name not in words_of(predictor.suggest(f"I met {partial}"))
    history = UserHistory()
    history.learn(f"I met {name} yesterday")
    for partial in ["Z", "zo", "Zorb", "zorbla"]:
        got = words_of(predictor.suggest(f"see you {partial}", history=history))
        assert got[0].lower() == name.lower(), (partial, got)
        assert got[0].startswith(partial)  # what the user typed is kept
    assert name in words_of(predictor.suggest("I met ", k=10, history=history))  # next word
    # Typed in full, it is no completion of itself: the keyboard shows the letters already.
    whole = words_of(predictor.suggest(f"see you {name}", k=10, history=history))
    assert name.lower() not in [w.lower() for w in whole]


def test_repeated_phrases_win_the_next_word(predictor):
    plain = words_of(predictor.suggest("see you "))
    history = UserHistory()
    for _ in range(50):  # the tuned weights trust a context after tens of uses
        history.learn("see you in Gdansk")
    got = words_of(predictor.suggest("see you ", history=history))
    assert got[0] == "in" and "in" not in plain[:1]
    assert words_of(predictor.suggest("see you in ", history=history))[0] == "Gdansk"


def test_no_history_and_empty_history_change_nothing(predictor):
    for text in ["see you ", "I like p", "", "thank you so "]:
        plain = predictor.suggest(text)
        assert predictor.suggest(text, history=None) == plain
        assert predictor.suggest(text, history=UserHistory()) == plain


def test_one_predictor_many_users(predictor):
    anna, ben = UserHistory(), UserHistory()
    for _ in range(50):
        anna.learn("lunch at Quattro")
        ben.learn("lunch at Kebabistan")
    assert words_of(predictor.suggest("lunch at ", k=1, history=anna)) == ["Quattro"]
    assert words_of(predictor.suggest("lunch at ", k=1, history=ben)) == ["Kebabistan"]


@pytest.mark.parametrize("text", ["", "see you ", "I like p", "x" * 5000, "😀 ", "don'"])
def test_mixed_suggestions_are_distinct_whole_words(predictor, text):
    history = UserHistory()
    history.learn("I like pineapple pizza and you")
    history.learn("see you at the pier with pizza")
    got = predictor.suggest(text, k=5, history=history)
    words = words_of(got)
    assert all(WORD_RE.fullmatch(w) for w in words)
    assert got or text.startswith("xxx")  # nothing fits 300 typed x's
    assert len({w.lower() for w in words}) == len(words)
    probs = [s.probability for s in got]
    assert probs == sorted(probs, reverse=True) and all(0 < p <= 1 for p in probs)


def test_blocklist_next_word_completion_and_history(tiny_bundle):
    predictor = Predictor.load(tiny_bundle)
    assert "tomorrow" in words_of(predictor.suggest("see you ", k=3))
    assert "tomorrow" in words_of(predictor.suggest("see you tom", k=3))
    predictor.blocklist.add("Tomorrow")
    assert "tomorrow" not in words_of(predictor.suggest("see you ", k=10))
    assert "tomorrow" not in [w.lower() for w in words_of(predictor.suggest("see you tom"))]
    assert len(predictor.suggest("see you ", k=3)) == 3  # the next best words fill in

    history = UserHistory()
    history.learn("you Zorblax")
    assert "Zorblax" in words_of(predictor.suggest("see you Zor", history=history))
    predictor.blocklist.add("zorblax")
    assert "Zorblax" not in words_of(predictor.suggest("see you Zor", history=history))
    assert "Zorblax" not in words_of(predictor.suggest("you ", k=10, history=history))
    predictor.blocklist.remove("zorblax")
    assert "Zorblax" in words_of(predictor.suggest("see you Zor", history=history))
    predictor.blocklist.enabled = False
    assert "tomorrow" in words_of(predictor.suggest("see you tom", k=3))


def test_blocked_phrase_only_after_its_words(tiny_bundle):
    predictor = Predictor.load(tiny_bundle)
    predictor.blocklist.add("see you soon")
    assert "soon" not in words_of(predictor.suggest("see you ", k=10))
    assert "soon" in words_of(predictor.suggest("I'll be there ", k=10))
