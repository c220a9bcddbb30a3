"""What decides a training run: :class:`TrainConfig`, loaded from a preset in
``kbd_lm/configs/train/`` (``kbd_lm.common.config.load_config``) and written into the checkpoint.

>>> TrainConfig().cell, TrainConfig().units, TrainConfig().hint_share
('gru', 780, 0.5)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal


@dataclass(frozen=True)
class TrainConfig:
    """Everything that decides a training run. Presets live in ``kbd_lm/configs/train/``."""

    # The defaults are the default preset (kbd_lm/configs/train/default.toml): a GRU 780 on
    # the everyday-English mixture.
    corpus: str = "default"  # a recipe, a mixture ("default", "broad") or text file paths
    # A mixture's per-source share of each epoch's words, as "source=weight" strings;
    # empty = the mixture's own weights (kbd_lm/corpora/mixtures.py).
    mixture_weights: tuple[str, ...] = (
        "chitchat=0.35",
        "sms=0.10",
        "email=0.08",
        "gutenberg=0.20",
        "bigtxt=0.10",
        "sotu=0.17",
    )
    out_dir: str = "runs/default"
    cache_dir: str = "data"
    # tokenizer
    vocab_size: int = 8000
    # model (see kbd_lm.training.model.ModelConfig)
    embed_dim: int = 96
    units: int = 780
    cell: Literal["cifg", "lstm", "gru"] = "gru"
    # optimisation
    batch_size: int = 128
    seq_len: int = 32
    epochs: int = 12
    learning_rate: float = 3e-3
    min_learning_rate: float = 1e-4
    warmup_steps: int = 100
    clipnorm: float = 1.0
    dropout: float = 0.1
    sampled: int = 1024  # sampled-softmax candidates; 0 = full softmax
    # Field hints (mixtures only): the share of each hinted source's units that read
    # "BOS <hint>" (kbd_lm.training.data); 0 = a model without hints. A single corpus, or a mixture
    # whose sources have no hint, trains without them.
    hint_share: float = 0.5
    early_stopping_patience: int = 2
    # limits. A token budget makes a run repeatable: the same command gives the same model on
    # any machine with the same software (same seed, same data order, same tokens). A time
    # budget does not (a faster machine sees more tokens), so it is an opt-in cap only.
    max_tokens: int = 75_000_000  # stop after this many training tokens (all workers); 0 = none
    max_minutes: float = 0.0  # also stop after this much training; 0 = none
    steps_per_epoch: int = 0  # 0 = a full pass over the train split
    max_train_units: int = 0  # 0 = all; for tests
    valid_max_tokens: int = 150_000  # validate on the first whole units up to this; 0 = all
    checkpoint_minutes: float = 5.0
    # machinery
    jit: bool = False  # XLA-compile the steps; 2-core AMD EPYC, 0.1.0: 17k tok/s, without 47k
    strategy: Literal["one_device", "mirrored", "multi_worker"] = "one_device"
    seed: int = 0
    resume: bool = False

    def model_config(self, vocab_size: int | None = None):
        from kbd_lm.training.model import ModelConfig

        return ModelConfig(vocab_size or self.vocab_size, self.embed_dim, self.units, self.cell)


class TrainError(RuntimeError):
    """A training run that cannot start as asked (e.g. it would overwrite an unfinished run)."""
