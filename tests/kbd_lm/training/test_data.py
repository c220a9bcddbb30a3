"""Training data of a mixture: per-source encoding, weighted epochs, per-source validation."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest

from kbd_lm.common.config import load_config
from kbd_lm.corpora.mixtures import MIXTURES, Mixture
from kbd_lm.text.tokenizer import BOS_ID
from kbd_lm.training.data import encode_corpus, parse_weights
from kbd_lm.training.loop import TrainConfig, train
from tests.conftest import make_lines


@pytest.fixture
def two_source_mixture(monkeypatch, tmp_path):
    """A mixture of two plain-text sources, 80/20, registered as ``twomix``."""
    paths = []
    for name, seed in (("chat", 1), ("books", 2)):
        folder = tmp_path / name
        folder.mkdir()
        lines = make_lines(1200, seed)
        if name == "books":  # a different kind of text: longer units
            lines = [f"{a} and then {b}" for a, b in zip(lines[::2], lines[1::2], strict=False)]
        (folder / f"{name}.txt").write_text("\n".join(lines) + "\n")
        paths.append(str(folder))
    mix = Mixture("twomix", {paths[0]: 0.8, paths[1]: 0.2})
    monkeypatch.setitem(MIXTURES, "twomix", mix)
    cfg = load_config(TrainConfig, "train", "tiny")
    return dataclasses.replace(
        cfg,
        corpus="twomix",
        mixture_weights=(),
        cache_dir=str(tmp_path / "data"),
        out_dir=str(tmp_path / "run"),
    ), paths


def test_a_mixture_is_encoded_per_source_and_drawn_by_weight(two_source_mixture):
    cfg, (chat, books) = two_source_mixture
    data = encode_corpus(cfg)
    assert set(data.sources) == set(data.valid) == {chat, books}
    for name, ids in data.sources.items():
        starts = data.offsets[name][:-1]
        assert (ids[starts] == BOS_ID).all() and data.offsets[name][-1] == len(ids)
        assert data.valid[name].words > 0

    e0, e0_again, e1 = data.epoch_ids(0), data.epoch_ids(0), data.epoch_ids(1)
    assert np.array_equal(e0, e0_again)  # a resumed run sees the same epoch
    assert not np.array_equal(e0, e1)  # a new draw every epoch
    # Shares of the epoch's units: 80/20 by words, so chat units dominate.
    units = {
        name: set(map(bytes, np.split(ids, data.offsets[name][1:-1])))
        for name, ids in data.sources.items()
    }
    drawn = [bytes(u) for u in np.split(e0, np.flatnonzero(e0 == BOS_ID)[1:])]
    chat_share = sum(u in units[chat] for u in drawn) / len(drawn)
    assert 0.7 < chat_share < 0.95

    heavy_books = dataclasses.replace(cfg, mixture_weights=(f"{chat}=0.1", f"{books}=0.9"))
    drawn = encode_corpus(heavy_books).epoch_ids(0)
    drawn = [bytes(u) for u in np.split(drawn, np.flatnonzero(drawn == BOS_ID)[1:])]
    assert sum(u in units[chat] for u in drawn) / len(drawn) < 0.3


def test_mixture_weights_must_name_sources():
    assert parse_weights(("a=0.5",), ["a", "b"]) == {"a": 0.5}
    with pytest.raises(ValueError, match="unknown source"):
        parse_weights(("c=1",), ["a", "b"])
    with pytest.raises(ValueError, match="source=weight"):
        parse_weights(("a:1",), ["a"])


def test_training_on_a_mixture_reports_every_source(two_source_mixture):
    cfg, (chat, books) = two_source_mixture
    cfg = dataclasses.replace(cfg, epochs=1, steps_per_epoch=20)
    out = train(cfg)
    summary = json.loads((out / "summary.json").read_text())
    by_source = summary["valid_ppl_word_by_source"]
    assert set(by_source) == {chat, books}
    assert all(np.isfinite(v) and v > 1 for v in by_source.values())
    # The macro figure is the geometric mean of the sources' perplexities.
    assert summary["valid_ppl_word_macro"] == pytest.approx(
        float(np.exp(np.mean(np.log(list(by_source.values()))))), rel=1e-9
    )
    sources = summary["corpus"]["sources"]
    assert sources[chat]["weight"] == 0.8 and sources[books]["weight"] == 0.2
    assert sources[chat]["words"]["train"] > 0


def test_hinted_sources_carry_their_hint_after_bos_in_a_share_of_units(
    two_source_mixture, monkeypatch
):
    cfg, (chat, books) = two_source_mixture
    from kbd_lm.corpora import mixtures

    monkeypatch.setitem(mixtures.SOURCE_HINTS, chat, "message")  # books: no hint
    data = encode_corpus(dataclasses.replace(cfg, hint_share=0.5))
    assert data.tokenizer.hint_ids == {"message": 4}  # only the hints some source trains
    assert data.source_hints == {chat: 4}
    e0 = data.epoch_ids(0)
    after_bos = e0[np.flatnonzero(e0 == BOS_ID) + 1]
    hinted = after_bos == 4
    assert np.count_nonzero(e0 == 4) == np.count_nonzero(hinted)  # only ever after BOS
    chat_units = 0.8 * len(after_bos)  # about: 80% of the words, similar unit lengths
    assert 0.3 < hinted.sum() / chat_units < 0.7
    assert np.array_equal(e0, data.epoch_ids(0))  # the same draw on resume
    # Every validation unit of the hinted source reads BOS <hint>; the other none.
    for name, want in ((chat, True), (books, False)):
        ids = data.valid[name].ids
        assert bool((ids[np.flatnonzero(ids == BOS_ID) + 1] == 4).all()) == want
    with pytest.raises(ValueError, match="hint_share"):
        encode_corpus(dataclasses.replace(cfg, hint_share=1.5))
    monkeypatch.delitem(mixtures.SOURCE_HINTS, chat)  # no source with a hint: no hints
    plain = encode_corpus(dataclasses.replace(cfg, hint_share=0.5))
    assert plain.tokenizer.hint_ids == {} and plain.hint_share == 0.0
