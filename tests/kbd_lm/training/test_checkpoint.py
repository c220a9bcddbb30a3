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
    C.write_state(tmp_path, {"bias": np.zeros(2, np.float32)}, [], {"epoch": 1, "step": 5})
    (tmp_path / C.STATE_DIR / "position.json").write_text("{")
    with pytest.raises(C.CheckpointError, match="position.json: damaged"):
        C.read_state(tmp_path)
    C.write_state(tmp_path, {"bias": np.zeros(2, np.float32)}, [], {"epoch": 1, "step": 5})
    (tmp_path / C.STATE_DIR / "state.npz").write_bytes(b"truncated")
    with pytest.raises(C.CheckpointError, match="state.npz: damaged"):
        C.read_state(tmp_path)


def test_resume_state_round_trip(tmp_path):
    weights = {"embedding": np.ones((3, 2), np.float32), "bias": np.arange(4, dtype=np.float32)}
    optimizer = [np.array(7, np.int64), np.zeros((3, 2), np.float32)]
    assert C.read_state(tmp_path) is None and not C.has_state(tmp_path)
    C.write_state(tmp_path, weights, optimizer, {"epoch": 1, "step": 5})
    got_weights, got_optimizer, position = C.read_state(tmp_path)
    assert position == {"epoch": 1, "step": 5}
    assert got_weights.keys() == weights.keys()
    assert all(np.array_equal(got_weights[k], v) for k, v in weights.items())
    assert [a.tolist() for a in got_optimizer] == [a.tolist() for a in optimizer]
