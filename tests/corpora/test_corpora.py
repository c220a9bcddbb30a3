import hashlib

import pytest

from kbd_lm.corpora import RawUnit, plaintext, resolve, split_of


def reference_split(key: str) -> str:
    bucket = int(hashlib.sha1(key.encode()).hexdigest(), 16) % 10
    return {0: "test", 1: "valid"}.get(bucket, "train")


def test_split_rule_matches_the_documented_formula():
    keys = [f"conversation-{i}" for i in range(500)]
    assert [split_of(k) for k in keys] == [reference_split(k) for k in keys]
    counts = {s: sum(split_of(k) == s for k in keys) for s in ("train", "valid", "test")}
    assert 25 <= counts["test"] <= 75 and 25 <= counts["valid"] <= 75  # about 10% each


def test_plaintext_reads_lines_and_passes_undecodable_bytes(tmp_path):
    (tmp_path / "a.txt").write_bytes(b"hello\n\xff\xfe bad\nworld\r\n")
    units = list(plaintext(str(tmp_path)).iter_units())
    assert units[0] == RawUnit("hello", "hello")
    assert isinstance(units[1].text, bytes)
    assert units[2].text == "world"


def test_unknown_path_is_a_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="corpus path not found"):
        resolve(str(tmp_path / "missing"))


def test_chitchat_recipe_splits_by_conversation():
    """Every utterance of a conversation is a unit keyed by that conversation's id."""
    import json
    from itertools import islice
    from pathlib import Path

    import chitchat_dataset

    data = json.loads((Path(chitchat_dataset.__file__).parent / "dataset.json").read_text())
    conversations = list(islice(data.items(), 3))
    expected = [
        (cid, u.get("text") or "")
        for cid, conv in conversations
        for m in conv["messages"]
        for u in m
    ]
    units = list(islice(resolve("chitchat").iter_units(), len(expected)))
    assert [(u.key, u.text) for u in units] == expected
    assert len({u.key for u in units}) == 3  # three keys, one per conversation
