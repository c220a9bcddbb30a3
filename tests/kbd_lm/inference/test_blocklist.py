"""The blocklist on its own: words, phrases, file, switching off."""

import pytest

from kbd_lm.inference.blocklist import Blocklist


def test_words_are_blocked_whole_and_case_insensitive():
    b = Blocklist(["darn", "Heck"])
    assert b.blocks("DARN") and b.blocks("heck")
    assert not b.blocks("darned") and not b.blocks("check")
    assert b.filter([("Darn", 0.5), ("ok", 0.2)], "") == [("ok", 0.2)]


def test_phrases_block_their_last_word_after_the_rest():
    b = Blocklist(["two girls one cup"])
    assert b.blocks("cup", "lol two girls one ")
    assert not b.blocks("cup", "a ") and not b.blocks("two")


def test_add_remove_enable(tmp_path):
    path = tmp_path / "blocklist.txt"
    path.write_text("# source: test, licence: CC0\n\ndarn\nfoo bar\n", encoding="utf-8")
    b = Blocklist.load(path)
    assert b.entries() == ["darn", "foo bar"] and len(b) == 2
    b.add("gosh")
    b.remove("darn")
    assert b.blocks("gosh") and not b.blocks("darn")
    b.enabled = False
    assert not b.blocks("gosh")
    assert len(Blocklist.load(tmp_path / "missing.txt")) == 0  # an old bundle: nothing blocked


def test_a_file_that_is_not_utf8_is_an_error_naming_it(tmp_path):
    path = tmp_path / "blocklist.txt"
    path.write_bytes(b"darn\n\xff\xfe\n")
    with pytest.raises(ValueError, match="blocklist.txt: not UTF-8"):
        Blocklist.load(path)
