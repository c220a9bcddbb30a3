"""The training checkpoint folder: its format, written and read here only. No TensorFlow here.

Training (:mod:`kbd_lm.training.loop`) writes a checkpoint folder; export reads it. Layout, format
version 1:

- ``checkpoint.json``: ``{"format": "kbd-lm-checkpoint", "format_version": 1}``. Checkpoints
  written before versioning have none and are read as version 1 (same layout);
- ``config.toml``: the resolved :class:`~kbd_lm.training.config.TrainConfig`;
- ``tokenizer.model``: the sentencepiece model;
- ``weights.npz``: the best epoch's weights, name -> array
(:func:`kbd_lm.training.model.weight_shapes`);
- ``history.json``: one record per epoch; ``summary.json``: once training finished;
- ``state/``: ``state.npz`` (``w/<name>`` weights, ``opt/<i>`` optimizer variables) and
  ``position.json`` (a :class:`ResumeState`), rewritten as one folder, from which
  ``resume = true`` continues.

Every file is written atomically. A version older or newer than this code reads is refused
with a message naming the version.

>>> ckpt = read("runs/default")                       # doctest: +SKIP
>>> ckpt.config.cell, ckpt.format_version, sorted(ckpt.weights)[:2]   # doctest: +SKIP
('gru', 1, ['bias', 'cand_bias'])
"""

from __future__ import annotations

import io
import json
import os
import tomllib
import zipfile
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from kbd_lm.common.fsutil import atomic_dir, atomic_write_bytes, atomic_write_text
from kbd_lm.text.tokenizer import Tokenizer

if TYPE_CHECKING:
    from kbd_lm.training.config import TrainConfig

FORMAT_NAME = "kbd-lm-checkpoint"
FORMAT_VERSION = 1  # what this code writes
MIN_FORMAT_VERSION = 1  # the oldest version it reads
VERSION_FILE = "checkpoint.json"
CONFIG_FILE = "config.toml"
TOKENIZER_FILE = "tokenizer.model"
WEIGHTS_FILE = "weights.npz"
HISTORY_FILE = "history.json"
SUMMARY_FILE = "summary.json"
STATE_DIR = "state"
STATE_ARRAYS_FILE = "state.npz"  # in STATE_DIR
POSITION_FILE = "position.json"  # in STATE_DIR


class CheckpointError(ValueError):
    """A checkpoint folder that cannot be read; the message names the file and the problem."""


@dataclass(frozen=True)
class Checkpoint:
    """A checkpoint folder read back: what export needs."""

    path: Path
    format_version: int
    config: TrainConfig
    weights: dict[str, np.ndarray]  # name -> array, as kbd_lm.training.model.weight_shapes
    tokenizer: Tokenizer
    summary: dict[str, Any]  # summary.json; {} while training has not finished


def format_version(path: str | os.PathLike) -> int:
    """The folder's format version (1 without ``checkpoint.json``); refuses unsupported ones."""
    marker = Path(path) / VERSION_FILE
    if not marker.is_file():
        return 1  # written before checkpoints were versioned: the version-1 layout
    try:
        doc = json.loads(marker.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise CheckpointError(f"{marker}: not valid JSON ({err})") from err
    if not isinstance(doc, dict) or doc.get("format") != FORMAT_NAME:
        raise CheckpointError(f"{marker}: not a {FORMAT_NAME} marker")
    version = doc.get("format_version")
    supported = isinstance(version, int) and not isinstance(version, bool)
    if not supported or not MIN_FORMAT_VERSION <= version <= FORMAT_VERSION:
        raise CheckpointError(
            f"{marker}: checkpoint format version {version!r} is not supported (this kbd-lm "
            f"reads versions {MIN_FORMAT_VERSION} to {FORMAT_VERSION})"
        )
    return version


def read(path: str | os.PathLike) -> Checkpoint:
    """Read a checkpoint folder: config, best weights, tokenizer, summary.

    Raises FileNotFoundError for a missing file, :class:`CheckpointError` for a wrong version
    or a damaged file, :class:`kbd_lm.common.config.ConfigError` for a config that does not match
    ``TrainConfig``.
    """
    from kbd_lm.common.config import from_dict
    from kbd_lm.training.config import TrainConfig

    path = Path(path)
    version = format_version(path)
    for name in (CONFIG_FILE, WEIGHTS_FILE, TOKENIZER_FILE):
        if not (path / name).is_file():
            raise FileNotFoundError(
                f"{path / name}: missing; train first (make train) or pass CKPT=<folder>"
            )
    with _reading(path / CONFIG_FILE), (path / CONFIG_FILE).open("rb") as fh:
        config = from_dict(TrainConfig, tomllib.load(fh), str(path / CONFIG_FILE))
    with _reading(path / WEIGHTS_FILE), np.load(path / WEIGHTS_FILE) as z:
        weights = {k: z[k] for k in z.files}
    summary_path = path / SUMMARY_FILE
    summary = {}
    if summary_path.is_file():
        with _reading(summary_path):
            summary = json.loads(summary_path.read_text())
    with _reading(path / TOKENIZER_FILE):
        tokenizer = Tokenizer.load(path / TOKENIZER_FILE)
    return Checkpoint(path, version, config, weights, tokenizer, summary)


@contextmanager
def _reading(file: Path):
    """Turn a damaged file's parse error into a :class:`CheckpointError` naming the file.

    A missing file stays FileNotFoundError, a config that does not fit stays ConfigError.
    """
    from kbd_lm.common.config import ConfigError

    try:
        yield
    except (FileNotFoundError, ConfigError, CheckpointError):
        raise
    except (ValueError, KeyError, EOFError, OSError, RuntimeError, zipfile.BadZipFile) as err:
        # tomllib, json and numpy raise ValueError subclasses; sentencepiece RuntimeError
        raise CheckpointError(f"{file}: damaged or not written by kbd-lm ({err})") from err


# ----------------------------------------------------------------------------- writing


def write_config(out_dir: Path, config: TrainConfig) -> None:
    """Start (or restart) a checkpoint: the version marker and the resolved config."""
    from kbd_lm.common.config import to_toml

    out_dir = Path(out_dir)
    marker = {"format": FORMAT_NAME, "format_version": FORMAT_VERSION}
    atomic_write_text(out_dir / VERSION_FILE, json.dumps(marker) + "\n")
    atomic_write_text(out_dir / CONFIG_FILE, to_toml(config))


def saved_config_text(out_dir: Path) -> str:
    """The config a run in ``out_dir`` was started with, as written (TOML)."""
    return (Path(out_dir) / CONFIG_FILE).read_text()


def write_tokenizer(out_dir: Path, tokenizer: Tokenizer) -> None:
    atomic_write_bytes(Path(out_dir) / TOKENIZER_FILE, tokenizer.proto)


def write_weights(out_dir: Path, weights: dict[str, np.ndarray]) -> None:
    """The best weights so far (name -> array)."""
    buf = io.BytesIO()
    np.savez(buf, **weights)
    atomic_write_bytes(Path(out_dir) / WEIGHTS_FILE, buf.getvalue())


def write_history(out_dir: Path, history: list[dict]) -> None:
    atomic_write_text(Path(out_dir) / HISTORY_FILE, json.dumps(history, indent=2))


def write_summary(out_dir: Path, summary: dict) -> None:
    atomic_write_text(Path(out_dir) / SUMMARY_FILE, json.dumps(summary, indent=2))


def is_finished(out_dir: Path) -> bool:
    return (Path(out_dir) / SUMMARY_FILE).exists()


def mark_unfinished(out_dir: Path) -> None:
    """A new run begins in ``out_dir``: the old summary no longer holds."""
    (Path(out_dir) / SUMMARY_FILE).unlink(missing_ok=True)


# ----------------------------------------------------------------------------- resume state


@dataclass
class ResumeState:
    """Where a run stands: what ``state/position.json`` holds beside the weights and the
    optimizer variables. The loop updates it every step and epoch.

    ``position.json`` is the JSON object of these fields, in this order, as training has
    always written it; a run saved by kbd-lm 0.8 resumes.

    >>> state = ResumeState(epoch=1, step=5, tokens=2560)
    >>> ResumeState.from_json(state.to_json()) == state
    True
    >>> list(json.loads(state.to_json()))[:3]
    ['epoch', 'step', 'best']
    """

    epoch: int = 0  # epochs finished; the one under way is epoch + 1 (counted from 1)
    step: int = 0  # steps of the epoch under way already trained
    best: dict | None = None  # the history record of the best epoch so far, None before one
    bad_epochs: int = 0  # epochs since the best one (early stopping counts them)
    history: list[dict] = field(default_factory=list)  # one record per finished epoch
    train_seconds: float = 0.0  # training time, summed over every resume of the run
    tokens: int = 0  # training tokens seen, over all workers

    @property
    def tokens_per_second(self) -> float:
        """Training speed over the run so far (1e-9 s: a run that has not timed a step yet
        reads as 0, not a division by zero)."""
        return self.tokens / max(self.train_seconds, 1e-9)

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2)

    @classmethod
    def from_json(cls, text: str) -> ResumeState:
        """Parse ``position.json``; ValueError if it is not a JSON object of exactly these
        fields."""
        doc = json.loads(text)
        names = [f.name for f in fields(cls)]
        if not isinstance(doc, dict) or set(doc) != set(names):
            got = sorted(doc) if isinstance(doc, dict) else type(doc).__name__
            raise ValueError(f"expected the fields {names}, got {got}")
        return cls(**doc)


def has_state(out_dir: Path) -> bool:
    return (Path(out_dir) / STATE_DIR / POSITION_FILE).exists()


def write_state(
    out_dir: Path, weights: dict[str, np.ndarray], optimizer: list[np.ndarray], state: ResumeState
) -> None:
    """Model, optimizer variables (in the optimizer's order) and position, as one folder."""
    arrays = {f"w/{n}": v for n, v in weights.items()}
    arrays |= {f"opt/{i}": v for i, v in enumerate(optimizer)}
    with atomic_dir(Path(out_dir) / STATE_DIR) as tmp:
        np.savez(tmp / STATE_ARRAYS_FILE, **arrays)
        (tmp / POSITION_FILE).write_text(state.to_json())


def read_state(
    out_dir: Path,
) -> tuple[dict[str, np.ndarray], list[np.ndarray], ResumeState] | None:
    """(weights, optimizer variables, position) saved by :func:`write_state`, or None."""
    if not has_state(out_dir):
        return None
    format_version(out_dir)
    state = Path(out_dir) / STATE_DIR
    with _reading(state / STATE_ARRAYS_FILE), np.load(state / STATE_ARRAYS_FILE) as z:
        weights = {k[2:]: z[k] for k in z.files if k.startswith("w/")}
        n_opt = sum(1 for k in z.files if k.startswith("opt/"))
        optimizer = [z[f"opt/{i}"] for i in range(n_opt)]  # KeyError: a gap in opt/<i>
    with _reading(state / POSITION_FILE):
        position = ResumeState.from_json((state / POSITION_FILE).read_text())
    return weights, optimizer, position
