"""The checkpoint format: what training writes, export reads; legacy folders; versions."""

import json
import shutil

import numpy as np
import pytest

from kbd_lm.training import checkpoint as C
from kbd_lm.training.model import weight_shapes


def test_training_writes_a_versioned_checkpoint_that_reads_back(tiny_checkpoint):
    marker = json.loads((tiny_checkpoint / C.VERSION_FILE).read_text())
    assert marker == {"format": C.FORMAT_NAME, "format_version": C.FORMAT_VERSION}
    ckpt = C.read(tiny_checkpoint)
    assert ckpt.format_version == 1
    assert (ckpt.config.cell, ckpt.config.units) == ("cifg", 64)  # the tiny preset
    shapes = weight_shapes(ckpt.config.model_config(ckpt.tokenizer.vocab_size))
    assert {k: v.shape for k, v in ckpt.weights.items()} == shapes
    assert ckpt.summary["best_epoch"] >= 1 and ckpt.summary["valid_ppl_token"] > 1


def test_a_checkpoint_without_a_version_reads_as_version_1(tiny_checkpoint, tmp_path):
    """Written before versioning (e.g. runs/chitchat): config, weights, tokenizer, no marker."""
    legacy = tmp_path / "legacy"
    legacy.mkdir()
    for name in (C.CONFIG_FILE, C.WEIGHTS_FILE, C.TOKENIZER_FILE, C.HISTORY_FILE):
        shutil.copy(tiny_checkpoint / name, legacy / name)
    ckpt = C.read(legacy)
    assert ckpt.format_version == 1 and ckpt.summary == {}  # an unfinished run
    reference = C.read(tiny_checkpoint)
    assert ckpt.config == reference.config
    assert all(np.array_equal(ckpt.weights[k], v) for k, v in reference.weights.items())


@pytest.mark.parametrize("version", [0, 2, 99, "1"])
def test_unsupported_versions_are_refused_naming_the_version(tiny_checkpoint, tmp_path, version):
    folder = tmp_path / "ckpt"
    shutil.copytree(tiny_checkpoint, folder)
    marker = {"format": C.FORMAT_NAME, "format_version": version}
    (folder / C.VERSION_FILE).write_text(json.dumps(marker))
    with pytest.raises(C.CheckpointError, match=f"format version {version!r} is not supported"):
        C.read(folder)


def test_a_missing_file_names_the_file(tiny_checkpoint, tmp_path):
    folder = tmp_path / "ckpt"
    shutil.copytree(tiny_checkpoint, folder)
    (folder / C.WEIGHTS_FILE).unlink()
    with pytest.raises(FileNotFoundError, match="weights.npz: missing; train first"):
        C.read(folder)


@pytest.mark.parametrize(
    "name, damage",
    [
        (C.CONFIG_FILE, b"cell = [unclosed"),
        (C.WEIGHTS_FILE, b"PK\x03\x04 not a zip"),
        (C.TOKENIZER_FILE, b"\x00garbage"),
        (C.SUMMARY_FILE, b"{not json"),
    ],
)
def test_a_damaged_file_is_a_checkpoint_error_naming_it(tiny_checkpoint, tmp_path, name, damage):
    folder = tmp_path / "ckpt"
    shutil.copytree(tiny_checkpoint, folder)
    (folder / name).write_bytes(damage)
    with pytest.raises(C.CheckpointError, match=f"{name}: damaged"):
        C.read(folder)


def test_damaged_resume_state_is_a_checkpoint_error(tmp_path):
    position = C.ResumeState(epoch=1, step=5)
    C.write_state(tmp_path, {"bias": np.zeros(2, np.float32)}, [], position)
    (tmp_path / C.STATE_DIR / "position.json").write_text("{")
    with pytest.raises(C.CheckpointError, match="position.json: damaged"):
        C.read_state(tmp_path)
    (tmp_path / C.STATE_DIR / "position.json").write_text('{"epoch": 1, "step": 5}')
    with pytest.raises(
        C.CheckpointError, match="position.json: damaged.*got \\['epoch', 'step'\\]"
    ):
        C.read_state(tmp_path)
    C.write_state(tmp_path, {"bias": np.zeros(2, np.float32)}, [], position)
    (tmp_path / C.STATE_DIR / "state.npz").write_bytes(b"truncated")
    with pytest.raises(C.CheckpointError, match="state.npz: damaged"):
        C.read_state(tmp_path)


def test_resume_state_round_trip(tmp_path):
    weights = {"embedding": np.ones((3, 2), np.float32), "bias": np.arange(4, dtype=np.float32)}
    optimizer = [np.array(7, np.int64), np.zeros((3, 2), np.float32)]
    assert C.read_state(tmp_path) is None and not C.has_state(tmp_path)
    saved = C.ResumeState(epoch=1, step=5, best=None, bad_epochs=1, train_seconds=2.5, tokens=640)
    C.write_state(tmp_path, weights, optimizer, saved)
    got_weights, got_optimizer, position = C.read_state(tmp_path)
    assert position == saved
    assert got_weights.keys() == weights.keys()
    assert all(np.array_equal(got_weights[k], v) for k, v in weights.items())
    assert [a.tolist() for a in got_optimizer] == [a.tolist() for a in optimizer]


# position.json as the training loop of kbd-lm 0.8 wrote it: json.dumps(position, indent=2) of
# a dict with these seven keys, here after two epochs and 5 steps into the third.
RECORD_1 = {
    "epoch": 1,
    "steps": 10,
    "train_loss": 5.1,
    "valid_ppl_token": 80.5,
    "valid_ppl_word": 120.25,
    "valid_ppl_word_macro": 120.25,
    "valid_ppl_word_by_source": {"plaintext:corpus": 120.25},
    "tokens_seen": 5120,
    "tokens_per_second": 2048.0,
    "minutes": 0.04,
}
RECORD_2 = RECORD_1 | {"epoch": 2, "valid_ppl_word": 130.0, "valid_ppl_word_macro": 130.0}
POSITION_0_8 = json.dumps(
    {
        "epoch": 2,
        "step": 5,
        "best": RECORD_1,
        "bad_epochs": 1,
        "history": [RECORD_1, RECORD_2],
        "train_seconds": 6.25,
        "tokens": 12800,
    },
    indent=2,
)


def test_a_resume_state_written_by_0_8_reads_back_and_is_written_the_same(tmp_path):
    old = tmp_path / "old"
    C.write_state(old, {"bias": np.zeros(2, np.float32)}, [], C.ResumeState())
    (old / C.STATE_DIR / "position.json").write_text(POSITION_0_8)
    _, _, position = C.read_state(old)
    assert (position.epoch, position.step, position.bad_epochs) == (2, 5, 1)
    assert position.best == RECORD_1 and position.history == [RECORD_1, RECORD_2]
    assert (position.train_seconds, position.tokens) == (6.25, 12800)
    assert position.tokens_per_second == 12800 / 6.25
    new = tmp_path / "new"
    C.write_state(new, {"bias": np.zeros(2, np.float32)}, [], position)
    assert (new / C.STATE_DIR / "position.json").read_text() == POSITION_0_8
