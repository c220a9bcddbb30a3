"""Field hints end to end: trained on a tiny two-source mixture, read by the predictor.

The ``hinted_bundle`` fixture (tests/conftest.py) trains chat lines with the ``message``
hint and e-mail lines (which open with "Dear" or "Please") with ``email``.
"""

from __future__ import annotations

import numpy as np
import pytest

from kbd_lm.inference.predictor import Predictor
from kbd_lm.text.tokenizer import BOS_ID, Tokenizer


@pytest.fixture(scope="module")
def hinted(hinted_bundle) -> Predictor:
    return Predictor.load(hinted_bundle)


def _words(predictor, text, hint, k=3):
    return [s.word for s in predictor.suggest(text, k, hint=hint)]


def test_the_bundle_lists_only_the_hints_it_was_trained_with(hinted, hinted_bundle):
    assert hinted.hints == ("message", "email")  # no source of the mixture is prose
    manifest = hinted.bundle.manifest
    assert manifest.tokenizer.hints == {"message": 4, "email": 5}
    assert manifest.tokenizer.unit == "BOS [hint] pieces EOS"
    assert Tokenizer.load(hinted_bundle / "tokenizer.model").hint_ids == {"message": 4, "email": 5}


def test_an_email_hint_opens_with_what_emails_open_with(hinted):
    email = hinted.suggest("", 3, hint="email")
    assert {s.word for s in email[:2]} == {"Dear", "Please"}
    message = _words(hinted, "", "message")
    assert "Dear" not in message and "Please" not in message
    # Without a hint the model predicts for either kind: both kinds' openers are likely.
    plain = {s.word: s.probability for s in hinted.suggest("", 10)}
    assert plain.get("Dear", 0.0) < email[0].probability


def test_the_hint_is_read_after_bos_and_reaches_completions(hinted):
    _, _, ids = hinted.decode_input("see you ", hint="email")
    _, _, plain = hinted.decode_input("see you ")
    assert ids[:2] == [BOS_ID, 5] and ids[2:] == plain[1:]
    assert _words(hinted, "D", "email")[0] == "Dear"
    # Different hints never share a cached state: asking again gives the same answers.
    first = [_words(hinted, "", h) for h in (None, "message", "email")]
    assert first == [_words(hinted, "", h) for h in (None, "message", "email")]


def test_a_hint_the_bundle_lacks_is_no_hint_and_an_unknown_one_an_error(hinted, tiny_bundle):
    assert _words(hinted, "I like ", "prose") == _words(hinted, "I like ", None)
    old = Predictor.load(tiny_bundle)  # trained without hints
    assert old.hints == ()
    assert _words(old, "see you ", "email") == _words(old, "see you ", None)
    with pytest.raises(ValueError, match="unknown hint 'chat'"):
        hinted.suggest("see you ", 3, hint="chat")
    with pytest.raises(ValueError, match="unknown hint"):
        old.next_word_logprob("see you ", "later", hint="Email")


def test_next_word_logprob_follows_the_hint(hinted):
    email = hinted.next_word_logprob("", "Dear", hint="email")
    message = hinted.next_word_logprob("", "Dear", hint="message")
    assert email > message + 1.0 and np.isfinite(message)


def test_a_hint_is_never_predicted_it_is_only_read(hinted):
    # Half the training units read "BOS <hint>": had the hint been a target, the model would
    # give it about a quarter of the mass after BOS. It is left out of the loss.
    logp = hinted._context("").logp  # after BOS: [V] log-probabilities
    assert np.exp(logp[[4, 5]]).max() < 0.02
