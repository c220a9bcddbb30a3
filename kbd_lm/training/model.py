"""The language model: embedding -> one recurrent cell with a projection -> tied output.

The reference design is Gboard's next-word model: a CIFG LSTM (coupled input and forget
gates) whose cell output is projected to the embedding size and fed back as the recurrent
state, a 96-d embedding tied to the output layer (stored once), plus an output bias. Three
cells share that frame: ``gru`` (the default preset's, 780 cells), ``cifg`` and ``lstm``.

Shapes, for batch B, embedding/projection size P (= ``embed_dim``), cells N (``units``),
vocabulary V:

- embedding ``E``: [V, P]; output logits = h @ E^T + out_bias, so E is stored once.
- state: ``h`` [B, P] (projected output, also the recurrent input) and ``c`` [B, N].
- ``kernel``: [P + P, G * N] acting on concat(x, h); G = 3 (CIFG), 4 (LSTM).
- ``projection``: [N, P].

The GRU variant keeps the same (h, c) interface: c [B, N] is the GRU state, h its projection.

Everything here is written against raw tensors (``cell_step``), so that training (its own
``tf.scan`` loop), the Keras model and the export's TFLite step function share one cell.

>>> cfg = ModelConfig(vocab_size=100, embed_dim=8, units=16, cell="gru")
>>> model = build_model(cfg)
>>> model(tf.zeros([2, 5], tf.int32)).shape
TensorShape([2, 5, 100])
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import keras
import numpy as np
import tensorflow as tf

Cell = Literal["cifg", "lstm", "gru"]


@dataclass(frozen=True)
class ModelConfig:
    """Sizes of the model, from a :class:`~kbd_lm.training.config.TrainConfig`; ``vocab_size``
    comes from the tokenizer. No defaults: the presets in ``kbd_lm/configs/train/`` hold them."""

    vocab_size: int
    embed_dim: int  # P
    units: int  # N
    cell: Cell


def weight_shapes(cfg: ModelConfig) -> dict[str, tuple[int, ...]]:
    """Name -> shape of every weight; the single source for building and checking weights."""
    v, p, n = cfg.vocab_size, cfg.embed_dim, cfg.units
    shapes: dict[str, tuple[int, ...]] = {"embedding": (v, p), "out_bias": (v,)}
    if cfg.cell == "cifg":
        shapes |= {"kernel": (2 * p, 3 * n), "bias": (3 * n,)}
    elif cfg.cell == "lstm":
        shapes |= {"kernel": (2 * p, 4 * n), "bias": (4 * n,)}
    elif cfg.cell == "gru":
        # update gate z [N] and reset gate r [P] from concat(x, h); candidate from concat(x, r*h)
        shapes |= {
            "kernel": (2 * p, n + p),
            "bias": (n + p,),
            "cand_kernel": (2 * p, n),
            "cand_bias": (n,),
        }
    else:
        raise ValueError(f"unknown cell {cfg.cell!r}; expected cifg, lstm or gru")
    shapes["projection"] = (n, p)
    return shapes


def check_weights(cfg: ModelConfig, weights: dict[str, np.ndarray]) -> None:
    """ValueError unless ``weights`` has exactly the names and shapes of :func:`weight_shapes`."""
    expected = weight_shapes(cfg)
    given = {name: tuple(w.shape) for name, w in weights.items()}
    if given != expected:
        wrong = sorted(n for n in set(given) | set(expected) if given.get(n) != expected.get(n))
        raise ValueError(
            f"weights {wrong} do not fit the model (expected shapes "
            f"{ {n: expected.get(n) for n in wrong} }, found { {n: given.get(n) for n in wrong} })"
        )


def param_count(cfg: ModelConfig) -> int:
    return int(sum(np.prod(s) for s in weight_shapes(cfg).values()))


def mult_adds_per_token(cfg: ModelConfig) -> int:
    """Multiply-adds of one step with the full output layer (most of them are the output)."""
    shapes = weight_shapes(cfg)
    return int(
        sum(np.prod(s) for k, s in shapes.items() if k not in ("embedding",) and len(s) == 2)
        + np.prod(shapes["embedding"])
    )


def cell_step(cell: str, w: dict, x: tf.Tensor, h: tf.Tensor, c: tf.Tensor):
    """One recurrent step. x [B, P] embedded input, h [B, P], c [B, N] -> (h', c').

    ``w`` maps weight names (see :func:`weight_shapes`) to tensors or variables.
    """
    xh = tf.concat([x, h], axis=1)  # [B, 2P]
    if cell == "gru":
        n = w["cand_bias"].shape[0]
        zr = tf.matmul(xh, w["kernel"]) + w["bias"]  # [B, N + P]
        z = tf.sigmoid(zr[:, :n])
        r = tf.sigmoid(zr[:, n:])
        cand = tf.tanh(tf.matmul(tf.concat([x, r * h], 1), w["cand_kernel"]) + w["cand_bias"])
        c = z * c + (1.0 - z) * cand  # [B, N]
        return tf.matmul(c, w["projection"]), c
    gates = tf.matmul(xh, w["kernel"]) + w["bias"]  # [B, G*N]
    if cell == "cifg":
        f, g, o = tf.split(gates, 3, axis=1)
        f = tf.sigmoid(f)
        c = f * c + (1.0 - f) * tf.tanh(g)  # input gate = 1 - forget gate
    else:
        i, f, g, o = tf.split(gates, 4, axis=1)
        c = tf.sigmoid(f) * c + tf.sigmoid(i) * tf.tanh(g)
    h = tf.matmul(tf.sigmoid(o) * tf.tanh(c), w["projection"])  # [B, P]
    return h, c


def output_logits(w: dict, h: tf.Tensor) -> tf.Tensor:
    """Tied output layer: h [..., P] -> logits [..., V] = h @ E^T + out_bias."""
    return tf.matmul(h, w["embedding"], transpose_b=True) + w["out_bias"]


def initial_value(name: str, shape: tuple[int, ...], cfg: ModelConfig, rng: np.random.Generator):
    """Initial weights: scaled uniform matrices, zero biases, forget-gate bias +1."""
    if name.endswith("bias"):
        value = np.zeros(shape, np.float32)
        if name == "bias" and cfg.cell in ("cifg", "lstm"):
            n = cfg.units
            start = 0 if cfg.cell == "cifg" else n  # the forget gate's block
            value[start : start + n] = 1.0
        return value
    if name == "embedding":
        return rng.uniform(-0.05, 0.05, shape).astype(np.float32)
    limit = np.sqrt(6.0 / (shape[0] + shape[1]))
    return rng.uniform(-limit, limit, shape).astype(np.float32)


class LanguageModel(keras.Model):
    """Keras model holding the weights; ``call(ids [B, T]) -> logits [B, T, V]`` from zero state.

    Training uses ``self.w`` (name -> variable) in its own compiled loop; export reads the
    weights as numpy through :meth:`numpy_weights`.
    """

    def __init__(self, cfg: ModelConfig, seed: int = 0, **kwargs) -> None:
        super().__init__(**kwargs)
        self.cfg = cfg
        rng = np.random.default_rng(seed)
        self.w = {}
        for name, shape in weight_shapes(cfg).items():
            init = initial_value(name, shape, cfg, rng)
            self.w[name] = self.add_weight(
                name=name, shape=shape, initializer=keras.initializers.Constant(init)
            )
            self.w[name].assign(init)

    def zero_state(self, batch: int):
        return (tf.zeros([batch, self.cfg.embed_dim]), tf.zeros([batch, self.cfg.units]))

    def call(self, ids):
        w = {k: tf.convert_to_tensor(v) for k, v in self.w.items()}
        ids = tf.convert_to_tensor(ids, tf.int32)
        x = tf.gather(w["embedding"], ids)  # [B, T, P]
        h, c = self.zero_state(tf.shape(ids)[0])

        def body(state, x_t):
            return cell_step(self.cfg.cell, w, x_t, *state)

        hs, _ = tf.scan(body, tf.transpose(x, [1, 0, 2]), initializer=(h, c))  # [T, B, P]
        return output_logits(w, tf.transpose(hs, [1, 0, 2]))

    def numpy_weights(self) -> dict[str, np.ndarray]:
        return {k: np.asarray(keras.ops.convert_to_numpy(v)) for k, v in self.w.items()}

    def set_numpy_weights(self, weights: dict[str, np.ndarray]) -> None:
        check_weights(self.cfg, weights)
        for name, value in weights.items():
            self.w[name].assign(value)


def build_model(cfg: ModelConfig, seed: int = 0) -> LanguageModel:
    return LanguageModel(cfg, seed=seed)
