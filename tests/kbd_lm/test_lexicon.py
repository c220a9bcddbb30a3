"""The bundle's word list for completions: build within a byte budget, file round trip, errors."""

from __future__ import annotations

import gzip

import pytest

from kbd_lm.lexicon import MAGIC, Lexicon, LexiconError, build
from tests.conftest import make_lines


def test_build_keeps_the_most_frequent_words_within_the_byte_budget():
    lines = make_lines(3000, seed=3)
    big = build(lines, max_bytes=100_000, min_count=1)
    small = build(lines, max_bytes=400, min_count=1)
    assert 0 < len(small) < len(big)
    assert len(small.to_bytes()) <= 400
    # What the small list keeps is the top of the big one's ranking.
    assert all(big.count(w) >= 1 for w, _ in small.completions("s", 50))
    # Digits-only and one-letter words are not completions worth a slot.
    assert big.count("5") == 0 and big.count("i") == 0


def test_display_casing_is_the_most_frequent_form():
    lex = build(["Paris is nice", "paris", "Paris again", "I'm in Paris"], 1000, min_count=2)
    assert lex.completions("pa", 3) == [("Paris", 4)]


def test_round_trip_and_prefix_search(tmp_path):
    lex = Lexicon({"tomorrow": 40, "tomato": 3, "Tom": 12, "microprocessor": 3})
    path = lex.save(tmp_path / "lexicon.txt.gz")
    back = Lexicon.load(path)
    assert back.completions("to", 3) == [("tomorrow", 40), ("Tom", 12), ("tomato", 3)]
    assert back.completions("microp", 1) == [("microprocessor", 3)]
    assert back.completions("TOM", 5) == back.completions("tom", 5)
    assert back.total == 58


@pytest.mark.parametrize(
    "content",
    [
        b"not gzip at all",
        gzip.compress(b"wrong header\nthe\t5\n"),
        gzip.compress(f"{MAGIC}\nthe five\n".encode()),
    ],
)
def test_a_damaged_lexicon_is_a_clear_error(tmp_path, content):
    path = tmp_path / "lexicon.txt.gz"
    path.write_bytes(content)
    with pytest.raises(LexiconError, match="lexicon.txt.gz"):
        Lexicon.load(path)
