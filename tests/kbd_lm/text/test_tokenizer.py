import pytest

from kbd_lm.text.normalization import normalize
from kbd_lm.text.tokenizer import BOS_ID, EOS_ID, PAD_ID, UNK_ID, Tokenizer


@pytest.fixture(scope="module")
def tok(tiny_checkpoint):
    return Tokenizer.load(tiny_checkpoint / "tokenizer.model")


@pytest.mark.parametrize(
    "text",
    [
        "see you tomorrow",
        "Café crème brûlée",
        "emoji 😀👍🏽 and 👨‍👩‍👧",
        "Привет мир",
        "日本語のテキスト",
        "supercalifragilisticexpialidocious" * 3,
        "don't stop",
        "a",
        "!!!???",
        "tab\tand  spaces",
    ],
)
def test_round_trip_is_exact_and_never_unknown(tok, text):
    text = normalize(text)
    ids = tok.encode(text)
    assert UNK_ID not in ids  # byte fallback: nothing is unknown
    assert tok.decode(ids) == text


def test_units_are_bos_pieces_eos(tok):
    ids = tok.encode_unit("see you")
    assert ids[0] == BOS_ID and ids[-1] == EOS_ID and len(ids) > 2
    assert (PAD_ID, UNK_ID, BOS_ID, EOS_ID) == (0, 1, 2, 3)
