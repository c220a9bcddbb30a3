"""The bundle's word list for completions: build within a byte budget, file round trip, errors,
the mix with the model's words."""

from __future__ import annotations

import gzip

import pytest

from kbd_lm.inference.lexicon import MAGIC, UNLISTED, Lexicon, LexiconError, build, mix_lexicon
from tests.conftest import make_lines


def test_build_keeps_the_most_frequent_words_within_the_byte_budget():
    lines = make_lines(3000, seed=3) + ["call me at 2024 x", "2024 2024 2024 x y z"] * 50
    big = build(lines, max_bytes=100_000, min_count=1)
    small = build(lines, max_bytes=400, min_count=1)
    assert 0 < len(small) < len(big)
    assert len(small.to_bytes()) <= 400
    # What the small list keeps is the top of the big one's ranking, in that order.
    assert _ranked(small) == _ranked(big)[: len(small)]
    # Digits-only and one-letter words are not completions worth a slot, however frequent.
    assert big.count("2024") == 0 and big.count("x") == 0 and big.count("i") == 0
    assert big.count("call") > 0


def _ranked(lex: Lexicon) -> list[tuple[str, int]]:
    """The lexicon's (word, count) pairs in file order: most frequent first."""
    lines = gzip.decompress(lex.to_bytes()).decode().splitlines()[1:]
    return [(w, int(n)) for w, n in (line.split("\t") for line in lines)]


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


def test_mix_demotes_spellings_the_list_does_not_hold():
    lex = Lexicon({"microphone": 40, "microscope": 10, "micro": 90})
    # The model spelled two made-up words and one listed word; "2020" is digits only.
    words = [("microph", 3e-9), ("microphs", 1e-9), ("microscope", 1e-10)]
    mixed = dict(mix_lexicon(words, lex, "micro"))
    assert list(mixed) == ["microscope", "microphone", "microph", "microphs"]
    mass = 1e-10  # the listed words the model found
    assert mixed["microphone"] == pytest.approx(0.1 * mass * 40 / 50)
    assert mixed["microscope"] == pytest.approx(0.9 * 1e-10 + 0.1 * mass * 10 / 50)
    assert mixed["microph"] == pytest.approx(0.9 * UNLISTED * 3e-9)
    assert "micro" not in mixed  # the typed word is no completion
    # No listed word found by the model: the list ranks on its own (S = 1e-6).
    alone = mix_lexicon([("microph", 3e-9)], lex, "micro")
    assert [w for w, _ in alone] == ["microphone", "microscope", "microph"]
    # Digits only are never demoted; nothing listed for the letters: the model's words stay.
    digits = mix_lexicon([("2020", 0.1)], Lexicon({"20th": 5}), "20")
    assert digits[0] == ("2020", pytest.approx(0.9 * 0.1))
    assert mix_lexicon(words, Lexicon({"cat": 3}), "micro") == words
    # A next word is the model's alone.
    assert mix_lexicon(words, lex, "") == words
