"""Where a sentence ends: one definition read by the predictor, the history and privacy."""

import pytest

from kbd_lm.history.privacy import learnable_segments
from kbd_lm.history.user_history import context_key
from kbd_lm.text.sentences import (
    SENTENCE_BREAK_RE,
    SENTENCE_CLOSERS,
    SENTENCE_END,
    at_sentence_start,
    last_sentence,
)


@pytest.mark.parametrize(
    "context, expected",
    [
        ("", True),
        ("ok.", True),
        ("Hi! ", True),
        ("really?", True),
        ('he said "hi."', True),
        ("(see p. 4.)", True),
        ("wait,", False),
        ("ok. see", False),
        ("3.5", False),
    ],
)
def test_the_next_word_is_capitalised_after_a_sentence_end(context, expected):
    assert at_sentence_start(context) is expected


def test_every_mark_and_closer_counts():
    for mark in SENTENCE_END:
        assert at_sentence_start(f"ok{mark}")
        for closer in SENTENCE_CLOSERS:
            assert at_sentence_start(f"ok{mark}{closer}  ")
    assert not at_sentence_start("ok,)")


def test_the_history_keys_on_the_last_sentence():
    assert last_sentence("Hi. See you") == " See you"
    assert last_sentence("Hi! ") == ""
    assert last_sentence("Hi. U.S") == "Hi. U.S"  # a mark inside a word ends nothing
    assert last_sentence("ok.)") == "ok.)"  # closers count for casing only
    assert context_key("Hi. See you") == ("see", "you")
    assert context_key("Hi. U.S") == ("u", "s")


def test_learned_text_splits_where_a_run_of_marks_meets_a_space():
    assert [m.end() for m in SENTENCE_BREAK_RE.finditer("Call me. Ok!! bye 3.5 x")] == [8, 13]
    segments = learnable_segments("Call me. Ok!! bye 3.5 x")
    assert [(s.words, s.sentence_start) for s in segments] == [
        (["Call", "me"], True),
        (["Ok"], True),
        (["bye", "3", "5", "x"], True),
    ]
