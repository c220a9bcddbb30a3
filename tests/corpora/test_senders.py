"""Senders and times of corpus messages, for the adaptive evaluation."""

from pathlib import Path

from kbd_lm.corpora import split_of
from kbd_lm.corpora.senders import chitchat_messages, email_messages

FIXTURES = Path(__file__).parent / "fixtures"


def test_email_messages_carry_the_from_address_and_date():
    messages = list(email_messages(FIXTURES / "datasets-spam-assassin-0.2.3"))
    assert messages and all("@" in m.sender and m.sender == m.sender.lower() for m in messages)
    assert all(m.time[:2] == "20" for m in messages)  # ISO dates from the Date: header
    assert all(m.split_key.startswith("mail:") and m.text for m in messages)


def test_chitchat_messages_split_as_the_corpus():
    first = next(chitchat_messages())
    assert first.sender and first.time.startswith("2018") and first.split_key == first.conversation
    assert split_of(first.split_key) in ("train", "valid", "test")
