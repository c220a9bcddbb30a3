"""UserHistory: learning, forgetting, bounds, decay, the file format and damaged files."""

import json
import os

import pytest

from kbd_lm.history.user_history import (
    FORMAT_VERSION,
    HistoryConfig,
    HistoryFileError,
    UserHistory,
    context_key,
)


def kept_words(history):
    return {w.lower() for w, _ in history.words()}


def test_learn_counts_words_and_sequences():
    h = UserHistory()
    assert h.learn("See you at Anneliese's place") == 5
    assert h.learn("see you soon") == 3
    assert kept_words(h) == {"see", "you", "at", "anneliese's", "place", "soon"}
    entries = {e.words: e.count for e in h.entries()}
    assert entries[("", "see")] == pytest.approx(2, rel=1e-3)  # both messages start with it
    assert entries[("", "see", "you")] == pytest.approx(2, rel=1e-3)
    assert ("see", "you", "soon") in entries and ("you", "at", "anneliese's") in entries
    counts, total = h.following(("see", "you"))
    assert {w: c / total for w, c in counts.items()} == pytest.approx(
        {"at": 0.5, "soon": 0.5}, rel=1e-3
    )
    assert h.following(("never", "seen")) == ({}, 0.0)
    assert h.probability(("",), "see") == pytest.approx(1.0)
    assert h.evidence(("see",)) == pytest.approx(2, rel=1e-3)
    assert h.starting_with("s", 5) == ["see", "soon"]  # most frequent first


def test_casing_is_the_users():
    h = UserHistory()
    h.learn("so I met Anneliese in Paris with my iPhone")
    h.learn("Hello there")  # a capital only because the sentence starts: not kept
    display = dict(h.words())
    assert {"Anneliese", "Paris", "iPhone", "I", "hello"} <= set(display)


def test_sentences_and_context_key():
    h = UserHistory()
    h.learn("ok. thanks a lot! bye")
    entries = {e.words for e in h.entries()}
    assert ("", "thanks") in entries and ("", "bye") in entries
    assert ("ok", "thanks") not in entries  # no sequence across a sentence end
    assert context_key("Hi. See you") == ("see", "you")
    assert context_key("great! ") == ("",)
    assert context_key("well") == ("", "well")
    assert context_key("a b c", order=2) == ("c",)


def test_forget_and_clear():
    h = UserHistory()
    h.learn("see you at the zoo")
    h.learn("the zoo is fun")
    assert h.forget("ZOO")
    assert "zoo" not in kept_words(h)
    assert not any("zoo" in e.words for e in h.entries())
    assert h.starting_with("z", 5) == []
    assert not h.forget("zoo")
    n = len(h)
    assert not h.forget("") and not h.forget("  ") and len(h) == n  # "" is the sentence start
    h.clear()
    assert len(h) == 0 and h.entries() == [] and h.words() == []


def test_recency_decay():
    h = UserHistory(HistoryConfig(half_life=10))
    h.learn("old")
    for _ in range(10):
        h.learn("new")
    counts = dict(h.words())
    assert counts["old"] == pytest.approx(0.5, rel=1e-3)  # ten messages: half
    assert counts["new"] > 5


def test_bounded_in_entries_and_bytes(tmp_path):
    cfg = HistoryConfig(max_entries=300, max_bytes=6000)
    h = UserHistory(cfg)
    for i in range(200):
        h.learn(f"word{chr(97 + i % 26)}x{chr(97 + i // 26)} common words here")
    assert len(h) <= 300
    h.save(tmp_path / "h.txt")
    assert (tmp_path / "h.txt").stat().st_size <= 6000
    assert "common" in kept_words(h)  # frequent words survive, rare ones go first


def test_a_word_whose_lowercase_is_no_word_is_not_learned_and_the_file_still_loads(tmp_path):
    h = UserHistory()
    assert h.learn("a trip to İstanbul in May") == 5  # "i̇stanbul": an i and a combining dot
    assert "İstanbul".lower() not in kept_words(h) and "in" in kept_words(h)
    sequences = [tuple(e.words) for e in h.entries()]
    assert ("a", "trip", "to") in sequences and ("to", "in") not in sequences  # a break
    h.save(tmp_path / "h.kbdh")
    assert kept_words(UserHistory.load(tmp_path / "h.kbdh")) == kept_words(h)


def test_save_load_round_trip(tmp_path):
    h = UserHistory()
    h.learn("Tschüss, bis morgen in Zürich!")
    h.learn("see you in Zürich")
    path = tmp_path / "sub" / "history.kbdh"
    h.save(path)
    back = UserHistory.load(path)
    assert back.load_error is None
    assert back.words() == h.words()
    assert [(e.words, round(e.count, 4)) for e in back.entries()] == [
        (e.words, round(e.count, 4)) for e in h.entries()
    ]
    header = json.loads(path.read_text("utf-8").splitlines()[0])
    assert header["format"] == "kbd-lm-history" and header["version"] == FORMAT_VERSION
    assert not list(path.parent.glob("*.tmp"))  # atomic: no temporary left behind
    assert UserHistory.load(tmp_path / "missing").entries() == []  # a new user


def _damage(data: bytes, how: str) -> bytes:
    lines = data.split(b"\n")
    if how == "truncated":
        return data[: len(data) // 2]
    if how == "flipped":
        i = data.index(b"see")
        return data[:i] + b"sea" + data[i + 3 :]
    if how == "garbage":
        return os.urandom(300)
    if how == "empty":
        return b""
    if how == "newer":
        header = json.loads(lines[0])
        header["version"] = FORMAT_VERSION + 1
        return json.dumps(header).encode() + b"\n" + b"\n".join(lines[1:])
    raise AssertionError(how)


@pytest.mark.parametrize("how", ["truncated", "flipped", "garbage", "empty", "newer"])
def test_damaged_file_gives_clear_error_and_empty_history(tmp_path, how, caplog):
    h = UserHistory()
    h.learn("see you tomorrow")
    path = tmp_path / "history.kbdh"
    path.write_bytes(_damage(h.to_bytes(), how))
    with pytest.raises(HistoryFileError, match=str(path)):
        UserHistory.load(path, strict=True)
    loaded = UserHistory.load(path)
    assert loaded.entries() == [] and loaded.load_error and str(path) in loaded.load_error
    assert "empty history" in caplog.text
    loaded.learn("fresh start")
    loaded.save(path)  # the damaged file is kept aside, not lost
    assert (tmp_path / "history.kbdh.damaged").is_file()
    assert kept_words(UserHistory.load(path, strict=True)) == {"fresh", "start"}


def test_checksummed_but_invalid_entries_are_refused():
    import hashlib

    def with_checksum(body: bytes) -> bytes:
        digest = hashlib.sha256(body).hexdigest()
        return body + json.dumps({"sha256": digest}).encode() + b"\n"

    header = {"format": "kbd-lm-history", "version": 1, "order": 3, "entries": 1}
    for entry, problem in [
        ([-1, "hi"], "positive"),
        ([1e300, "hi"], "up to 2\\^53"),  # sums of such counts would overflow
        ([1, "hi there"], "not a word"),
        ([1, "a", "", "b"], "sentence start"),
        ([1, "a", "b", "c", "d"], "1 to 3 words"),
        ({"x": 1}, "count, word"),
    ]:
        body = (json.dumps(header) + "\n" + json.dumps(entry) + "\n").encode()
        with pytest.raises(HistoryFileError, match=problem):
            UserHistory.from_bytes(with_checksum(body))


def test_repr_shows_no_words():
    h = UserHistory()
    h.learn("my secret crush is Bartholomew")
    assert "Bartholomew" not in repr(h) and "crush" not in repr(h)
