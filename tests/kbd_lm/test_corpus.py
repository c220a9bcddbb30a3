from kbd_lm.corpora import split_of
from kbd_lm.corpus import prepare


def test_prepare_skips_and_counts_bad_lines(tiny_corpus_dir, tmp_path):
    prepared = prepare(str(tiny_corpus_dir), tmp_path)
    stats = prepared.stats
    assert stats["skipped_undecodable"] == 1
    assert stats["skipped_empty"] == 2  # an empty line and a line of spaces
    total = stats["units_train"] + stats["units_valid"] + stats["units_test"]
    assert total == 3000 + 2  # the emoji line and the bell line survive, normalised
    train = list(prepared.units("train"))
    assert "bell" in train + list(prepared.units("valid")) + list(prepared.units("test"))
    for split in ("train", "valid", "test"):
        assert all(split_of(line) == split for line in prepared.units(split))  # key = the line


def test_prepare_uses_the_cache_and_rebuilds_on_change(tiny_corpus_dir, tmp_path):
    corpus = tmp_path / "src"
    corpus.mkdir()
    (corpus / "a.txt").write_text("one line\nanother line\n")
    first = prepare(str(corpus), tmp_path / "cache")
    mtime = first.path("train").stat().st_mtime_ns
    again = prepare(str(corpus), tmp_path / "cache")
    assert again.root == first.root and again.path("train").stat().st_mtime_ns == mtime
    (corpus / "a.txt").write_text("one line\nanother line\na third, longer line\n")
    changed = prepare(str(corpus), tmp_path / "cache")
    assert changed.root != first.root
