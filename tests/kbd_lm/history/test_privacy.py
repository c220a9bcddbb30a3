"""Sensitive fields and secret-looking tokens are never learned."""

import pytest

from kbd_lm.history.privacy import SENSITIVE_FIELDS, learnable_segments, looks_secret
from kbd_lm.history.user_history import UserHistory


@pytest.mark.parametrize("field", sorted(SENSITIVE_FIELDS))
def test_sensitive_fields_learn_nothing(field):
    h = UserHistory()
    assert h.learn("correct horse battery staple", field=field) == 0
    assert len(h) == 0


def test_unknown_field_is_an_error():
    with pytest.raises(ValueError, match="unknown field 'passwd'"):
        UserHistory().learn("hello", field="passwd")


@pytest.mark.parametrize(
    "text, secret",
    [
        ("my number is 0123456789 ok", "0123456789"),
        ("card 4111 1111 1111 1111 thanks", "4111"),
        ("call +44 (0)20 7946-0958 now", "7946"),
        ("pin 12345", "12345"),
        ("write to jane.doe+tag@mail.example.org today", "jane"),
        ("see https://example.com/reset?token=abc now", "token"),
        ("go to www.example.net/page please", "example"),
        ("it is on example.io for now", "example"),
        ("password hunter2024 yes", "hunter2024"),
        ("code ab12cd34ef please", "ab12cd34ef"),
        ("id abc12345xyz done", "abc"),
    ],
)
def test_secret_looking_tokens_are_never_learned(text, secret):
    h = UserHistory()
    h.learn(text)
    kept = " ".join(" ".join(e.words) for e in h.entries()).lower()
    assert secret.lower() not in kept
    assert len(h) > 0  # the ordinary words around it are learned
    assert secret.lower() not in h.to_bytes().decode().lower()


def test_no_sequence_across_a_secret():
    h = UserHistory()
    h.learn("pay 12345678 tomorrow")
    entries = {e.words for e in h.entries()}
    assert ("pay", "tomorrow") not in entries and ("tomorrow",) in entries
    assert ("", "tomorrow") not in entries  # after a secret the context is unknown


def test_ordinary_numbers_and_words_are_learned():
    assert not looks_secret("2") and not looks_secret("1234") and not looks_secret("covid19")
    assert [s.words for s in learnable_segments("meet at 10 with 3 friends")] == [
        ["meet", "at", "10", "with", "3", "friends"]
    ]
