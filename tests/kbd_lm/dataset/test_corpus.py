import dataclasses
from pathlib import Path

import pytest

from kbd_lm.corpora import PACKAGE_RECIPES, split_of
from kbd_lm.corpora.mixtures import MIXTURES, Mixture
from kbd_lm.dataset.corpus import (
    CorpusCheckError,
    PreparedCorpus,
    epoch_units,
    ngram_hashes,
    ngram_overlap,
    prepare,
    prepare_mixture,
    prepare_source,
    sample_epoch,
)


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


# ----------------------------------------------------------------------------- mixtures

FIXTURES = Path(__file__).parents[2] / "corpora" / "fixtures"


def _all_units(pc):
    return [u for split in ("train", "valid", "test") for u in pc.units(split)]


def test_mixture_drops_repeats_of_earlier_sources_and_reports(fixture_mixture, own_lines, tmp_path):
    prepared = prepare_mixture("fixmix", tmp_path)
    sms, sentences, own = prepared.sources.values()
    assert own_lines[0] in _all_units(sms) and own_lines[0] not in _all_units(own)
    assert sorted(_all_units(own)) == sorted(own_lines[1:])  # short units are never de-duplicated

    def dropped(pc):
        return sum(pc.stats[f"duplicates_removed_{s}"] for s in ("train", "valid", "test"))

    assert (dropped(sms), dropped(sentences), dropped(own)) == (0, 0, 1)
    assert len(_all_units(sentences)) == 15
    # The concatenation is what prepare("fixmix") and every CORPUS= consumer sees.
    combined = prepare("fixmix", tmp_path)
    assert combined == prepared.combined and combined.name == "mixture:fixmix"
    assert prepare("mixture:fixmix", tmp_path).root == combined.root
    parts = (sms, sentences, own)
    assert sorted(_all_units(combined)) == sorted(u for pc in parts for u in _all_units(pc))
    for s in ("train", "valid", "test"):
        assert combined.stats[f"units_{s}"] == sum(pc.stats[f"units_{s}"] for pc in parts)
    report = prepared.report
    assert report["caveat"] == "research only" and report["weights"] == fixture_mixture.weights
    assert set(report["sources"]["sms"]["test_ngram_overlap"]) == {
        "test_ngrams",
        "shared_with_train",
        "shared_fraction",
    }
    assert prepared.licences()["sentences"]["research_only"] is True
    assert prepared.licences()["sms"]["research_only"] is False
    assert combined.stats["licences"] == prepared.licences()
    again = prepare_mixture("fixmix", tmp_path)  # cached
    assert again.root == prepared.root and again.report == report


def test_ngram_overlap_counts_test_ngrams_seen_in_any_train_split(tmp_path):
    def corpus(name, train, test):
        root = tmp_path / name
        root.mkdir()
        (root / "train.txt").write_text("".join(f"{u}\n" for u in train))
        (root / "test.txt").write_text("".join(f"{u}\n" for u in test))
        return PreparedCorpus(root, name, {})

    a = corpus("a", ["a b c d e f g h i j"], ["A b c d e f g h x y", "short one"])
    b = corpus("b", ["p q r s t u v w"], ["a b c d e f g h", "w x y z a b c d"])
    report = ngram_overlap({"a": a, "b": b})
    assert report["a"] == {"test_ngrams": 3, "shared_with_train": 1, "shared_fraction": 0.3333}
    assert report["b"] == {"test_ngrams": 2, "shared_with_train": 1, "shared_fraction": 0.5}
    vocab = {}
    assert len(ngram_hashes(["a b c d e f g", "h i j"], vocab)) == 0  # none across units


@pytest.fixture
def two_sources(tmp_path, monkeypatch):
    """Two plain-text sources (long and short lines) in a mixture named ``twoplain``."""
    folders = []
    for name, length in (("long", 12), ("short", 3)):
        folder = tmp_path / name
        folder.mkdir()
        lines = [" ".join(f"{name}{i}w{j}" for j in range(length)) for i in range(300)]
        (folder / "t.txt").write_text("\n".join(lines) + "\n")
        folders.append(str(folder))
    mix = Mixture("twoplain", {folders[0]: 0.5, folders[1]: 0.5})
    monkeypatch.setitem(MIXTURES, "twoplain", mix)
    return prepare_mixture("twoplain", tmp_path / "cache"), folders


def test_epoch_sampling_follows_the_weights_and_is_deterministic(two_sources):
    prepared, (long, short) = two_sources
    first = epoch_units(prepared, epoch=0, seed=7)
    assert first == epoch_units(prepared, epoch=0, seed=7)
    assert first != epoch_units(prepared, epoch=1, seed=7)
    total = sum(prepared.sources[s].words("train") for s in (long, short))

    def share(plan):
        words = {s: prepared.unit_words(s) for s in (long, short)}
        got = {s: sum(int(words[s][i]) for src, i in plan if src == s) for s in (long, short)}
        return got[long] / sum(got.values()), sum(got.values())

    frac, n = share(first)
    assert abs(frac - 0.5) < 0.02 and abs(n - total) <= 2 * 12
    # The short source has a quarter of the words: half of an epoch repeats it about twice.
    picks_short = [i for s, i in first if s == short]
    assert len(picks_short) > len(set(picks_short)) == len(prepared.unit_words(short))
    frac, _ = share(epoch_units(prepared, 0, 7, weights={long: 3, short: 1}))
    assert abs(frac - 0.75) < 0.02
    only_long = epoch_units(prepared, 0, 7, weights={long: 1, short: 0})
    assert {s for s, _ in only_long} == {long}
    # A source's draw does not depend on the other sources' weights.
    a = sorted(i for s, i in epoch_units(prepared, 0, 7, {long: 1, short: 1}) if s == long)
    other = epoch_units(prepared, 0, 7, {long: 1, short: 5}, total_words=3 * total)
    assert a == sorted(i for s, i in other if s == long)  # the same half of `total` words
    texts = sample_epoch(prepared, epoch=0, seed=7)
    train = {s: list(prepared.sources[s].units("train")) for s in (long, short)}
    assert texts == [train[s][i] for s, i in first]
    with pytest.raises(ValueError, match="bad weights"):
        epoch_units(prepared, 0, weights={"nope": 1.0})


def test_unexpected_counts_are_an_error(tmp_path):
    source = PACKAGE_RECIPES["sms"].source_from(
        FIXTURES / "nlp-corpus-3.3.0", expected={"messages": 47, "units": 47}
    )
    assert prepare_source(source, tmp_path).stats["recipe"]["messages"] == 47
    wrong = dataclasses.replace(source, expected={"messages": 55_835})
    with pytest.raises(CorpusCheckError, match="messages: expected 55,835, got 47"):
        prepare_source(wrong, tmp_path)  # checked on the cached copy too


def test_a_cache_of_the_first_version_is_prepared_again(tmp_path):
    import json

    corpus = tmp_path / "src"
    corpus.mkdir()
    (corpus / "a.txt").write_text("one line\nanother line\n")
    first = prepare(str(corpus), tmp_path / "cache")
    stats_path = first.root / "stats.json"
    old = {k: v for k, v in json.loads(stats_path.read_text()).items() if k != "recipe"}
    stats_path.write_text(json.dumps(old))  # what 0.1.0 wrote: no recipe counts
    again = prepare(str(corpus), tmp_path / "cache")
    assert again.root == first.root and "recipe" in again.stats


def test_a_damaged_cache_is_prepared_again(tmp_path, fixture_mixture):
    corpus = tmp_path / "src"
    corpus.mkdir()
    (corpus / "a.txt").write_text("one line\nanother line\n")
    first = prepare(str(corpus), tmp_path / "cache")
    (first.root / "stats.json").write_text('{"units_tr')  # cut short
    again = prepare(str(corpus), tmp_path / "cache")

    def counts(stats):  # the stats but the time preparing took, which varies with load
        return {k: v for k, v in stats.items() if k != "seconds"}

    assert again.root == first.root and counts(again.stats) == counts(first.stats)

    mixture = prepare_mixture("fixmix", tmp_path / "cache")
    (mixture.root / "report.json").write_text("[]")  # not a report
    assert prepare_mixture("fixmix", tmp_path / "cache").report == mixture.report
