"""Training: ``train(config) -> Path`` turns a corpus into a checkpoint folder.

Steps: prepare the corpus (:mod:`kbd_lm.corpus`), train the sentencepiece tokenizer on the
train split, encode the splits to token ids (cached), then train the language model of
:mod:`kbd_lm.model` on 32-token windows packed across units, each starting from a zero state.

Speed is what limits quality on two CPU cores, so the training step is one ``tf.function``
graph: a ``tf.scan`` loop over the window, the gradients and the optimizer update. XLA
compilation of that graph is a switch (``jit``), off by default: on this CPU it ran at 17k
tokens/s against 47k for TensorFlow's own (oneDNN) kernels. The loss is a sampled softmax
(``sampled`` unique candidates drawn from the unigram distribution, accidental hits
removed). Validation uses the full softmax.

The checkpoint folder (``out_dir``) is written through :mod:`kbd_lm.checkpoint`, which owns
its format: the resolved config, the tokenizer, the best epoch's weights, the history, a
summary once finished, and ``state/`` (model + optimizer + position, rewritten after every
epoch and every ``checkpoint_minutes``) from which ``resume = true`` continues a killed run.

>>> cfg = load_config(TrainConfig, "train", "tiny")  # doctest: +SKIP
>>> train(cfg)                                        # doctest: +SKIP
PosixPath('runs/tiny')
"""

from __future__ import annotations

import dataclasses
import io
import logging
import math
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np

from kbd_lm import checkpoint as C
from kbd_lm import cluster
from kbd_lm.config import to_toml
from kbd_lm.corpus import PreparedCorpus, prepare
from kbd_lm.fsutil import Progress, atomic_write_bytes, atomic_write_text
from kbd_lm.text import words
from kbd_lm.tokenizer import EOS_ID, Tokenizer, encode_file, train_tokenizer

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TrainConfig:
    """Everything that decides a training run. Presets live in ``kbd_lm/configs/train/``."""

    # The defaults are the default preset (kbd_lm/configs/train/default.toml): a GRU 780.
    corpus: str = "chitchat"
    out_dir: str = "runs/default"
    cache_dir: str = "data"
    # tokenizer
    vocab_size: int = 8000
    # model (see kbd_lm.model.ModelConfig)
    embed_dim: int = 96
    units: int = 780
    cell: Literal["cifg", "lstm", "gru"] = "gru"
    # optimisation
    batch_size: int = 128
    seq_len: int = 32
    epochs: int = 20
    learning_rate: float = 3e-3
    min_learning_rate: float = 1e-4
    warmup_steps: int = 100
    clipnorm: float = 1.0
    dropout: float = 0.1
    sampled: int = 1024  # sampled-softmax candidates; 0 = full softmax
    early_stopping_patience: int = 2
    # limits
    max_minutes: float = 30.0  # stop (and finish cleanly) after this much training; 0 = none
    steps_per_epoch: int = 0  # 0 = a full pass over the train split
    max_train_units: int = 0  # 0 = all; for tests
    valid_max_tokens: int = 150_000  # validate on the first whole units up to this; 0 = all
    checkpoint_minutes: float = 5.0
    # machinery
    jit: bool = False  # XLA-compile the steps; measured on this CPU: 17k tok/s, without 47k
    strategy: Literal["one_device", "mirrored", "multi_worker"] = "one_device"
    seed: int = 0
    resume: bool = False

    def model_config(self, vocab_size: int | None = None):
        from kbd_lm.model import ModelConfig

        return ModelConfig(vocab_size or self.vocab_size, self.embed_dim, self.units, self.cell)


class TrainError(RuntimeError):
    """A training run that cannot start as asked (e.g. it would overwrite an unfinished run)."""


# ----------------------------------------------------------------------------- data


@dataclass
class EncodedSplits:
    tokenizer: Tokenizer
    train: np.ndarray  # 1-D token ids, units packed: BOS pieces EOS BOS ...
    valid: np.ndarray
    valid_words: int  # words + end-of-unit marks in the valid split (for per-word perplexity)


def encode_corpus(cfg: TrainConfig, corpus: PreparedCorpus) -> EncodedSplits:
    """Train (or reuse) the tokenizer and the encoded splits, cached beside the corpus."""
    cache = corpus.root / f"sp{cfg.vocab_size}-n{cfg.max_train_units}"
    sp_path = cache / "tokenizer.model"
    train_text = corpus.path("train")
    if cfg.max_train_units:
        train_text = cache / "train-subset.txt"
        if not train_text.exists():
            lines = corpus.path("train").read_text(encoding="utf-8").splitlines()
            atomic_write_text(train_text, "\n".join(lines[: cfg.max_train_units]) + "\n")
    tok = (
        Tokenizer.load(sp_path)
        if sp_path.exists()
        else train_tokenizer(train_text, sp_path, cfg.vocab_size)
    )
    arrays = {}
    for split, path in (("train", train_text), ("valid", corpus.path("valid"))):
        npy = cache / f"{split}.npy"
        if not npy.exists():
            buf = io.BytesIO()
            np.save(buf, encode_file(tok, path))
            atomic_write_bytes(npy, buf.getvalue())
        arrays[split] = np.load(npy)
    valid_units = list(corpus.units("valid"))
    if cfg.valid_max_tokens and len(arrays["valid"]) > cfg.valid_max_tokens:
        # Whole units only, so the per-word perplexity counts exactly the words scored.
        ends = np.flatnonzero(arrays["valid"][: cfg.valid_max_tokens] == EOS_ID)
        arrays["valid"] = arrays["valid"][: ends[-1] + 1]
        valid_units = valid_units[: len(ends)]
    valid_words = sum(len(words(u)) for u in valid_units) + len(valid_units)
    log.info(
        "tokens: train %s, valid %s (%.2f tokens per word)",
        f"{len(arrays['train']):,}",
        f"{len(arrays['valid']):,}",
        len(arrays["valid"]) / valid_words,
    )
    return EncodedSplits(tok, arrays["train"], arrays["valid"], valid_words)


def windows(ids: np.ndarray, seq_len: int, offset: int = 0) -> np.ndarray:
    """Overlapping windows [n, seq_len + 1] with stride seq_len: inputs [:-1], targets [1:].

    Every token after the first is a target exactly once.
    """
    ids = ids[offset:]
    n = (len(ids) - 1) // seq_len
    stride = ids.strides[0]
    view = np.lib.stride_tricks.as_strided(ids, (n, seq_len + 1), (seq_len * stride, stride))
    return view.astype(np.int32)


# ----------------------------------------------------------------------------- training


class Trainer:
    """Builds the model, optimizer and compiled steps; runs epochs; writes checkpoints."""

    def __init__(
        self,
        cfg: TrainConfig,
        data: EncodedSplits,
        out_dir: Path,
        strategy=None,
        worker: cluster.Worker = cluster.SINGLE,
    ) -> None:
        import keras
        import tensorflow as tf

        from kbd_lm import model as M

        self.tf, self.cfg, self.data, self.out_dir = tf, cfg, data, out_dir
        self.mcfg = cfg.model_config(data.tokenizer.vocab_size)
        self.strategy = strategy or _strategy(cfg.strategy)
        self.worker = worker
        if cfg.strategy == "multi_worker" and self.strategy.num_replicas_in_sync != worker.count:
            raise TrainError(
                f"{self.strategy.num_replicas_in_sync} replicas for {worker.count} worker(s): "
                "kbd-lm trains with one device per worker"
            )
        self.steps_per_epoch = (
            cfg.steps_per_epoch or len(windows(data.train, cfg.seq_len)) // cfg.batch_size
        )
        self.total_steps = max(1, self.steps_per_epoch * cfg.epochs)
        with self.strategy.scope():
            self.model = M.build_model(self.mcfg, seed=cfg.seed)
            schedule = WarmupCosine(
                cfg.learning_rate, cfg.min_learning_rate, cfg.warmup_steps, self.total_steps
            )
            if cfg.strategy == "one_device":
                self.optimizer = keras.optimizers.Adam(schedule, global_clipnorm=cfg.clipnorm)
            else:  # the train step all-reduces and clips the gradients itself
                self.optimizer = _reduced_adam_class()(schedule, name="adam")
            self.optimizer.build(self.model.trainable_variables)
        counts = np.bincount(data.train, minlength=self.mcfg.vocab_size).astype(np.float64) + 1.0
        self.unigrams = counts.tolist()
        self.names = list(self.model.w)
        self._ids = None  # the train token ids as one tensor, made on first use
        self._build_steps(M)

    # The compiled pieces. Shapes: ids [B, T+1]; candidates [S]; log_q_* log expected counts.
    def _build_steps(self, M) -> None:
        tf, cfg, mcfg = self.tf, self.cfg, self.mcfg
        variables = [self.model.w[n] for n in self.names]

        def forward(w, ids, seed, training):
            x = tf.gather(w["embedding"], ids[:, :-1])  # [B, T, P]
            if training and cfg.dropout > 0:
                x = _dropout(tf, x, cfg.dropout, seed)
            b = tf.shape(ids)[0]
            h = tf.zeros([b, mcfg.embed_dim])
            c = tf.zeros([b, mcfg.units])
            # A while loop over time (tf.scan), in the same graph as the rest of the step.
            hs, _ = tf.scan(
                lambda st, x_t: M.cell_step(mcfg.cell, w, x_t, *st),
                tf.transpose(x, [1, 0, 2]),
                initializer=(h, c),
            )  # [T, B, P]
            hs = tf.reshape(tf.transpose(hs, [1, 0, 2]), [-1, mcfg.embed_dim])  # [B*T, P]
            if training and cfg.dropout > 0:
                hs = _dropout(tf, hs, cfg.dropout, seed + 1)
            return hs, tf.reshape(ids[:, 1:], [-1])

        def sampled_loss(w, hs, y, cand, log_q_true, log_q_cand):
            true_logit = (
                tf.reduce_sum(hs * tf.gather(w["embedding"], y), -1)
                + tf.gather(w["out_bias"], y)
                - log_q_true
            )  # [BT]
            cand_logit = tf.matmul(hs, tf.gather(w["embedding"], cand), transpose_b=True) + (
                tf.gather(w["out_bias"], cand) - log_q_cand
            )  # [BT, S]
            hit = tf.equal(y[:, None], cand[None, :])
            cand_logit = tf.where(hit, -1e9, cand_logit)  # accidental hits removed
            logits = tf.concat([true_logit[:, None], cand_logit], 1)
            return tf.reduce_mean(tf.reduce_logsumexp(logits, 1) - true_logit)

        def full_loss(w, hs, y):
            logits = M.output_logits(w, hs)
            return tf.reduce_mean(
                tf.nn.sparse_softmax_cross_entropy_with_logits(labels=y, logits=logits)
            )

        def grad_step(ids, cand, log_q_true, log_q_cand, seed):
            with tf.GradientTape() as tape:
                w = dict(zip(self.names, [tf.convert_to_tensor(v) for v in variables], strict=True))
                tape.watch(list(w.values()))
                hs, y = forward(w, ids, seed, True)
                if cfg.sampled:
                    loss = sampled_loss(w, hs, y, cand, log_q_true, log_q_cand)
                else:
                    loss = full_loss(w, hs, y)
            grads = tape.gradient(loss, [w[n] for n in self.names])
            grads = [tf.convert_to_tensor(g) for g in grads]  # IndexedSlices -> dense
            return loss, grads

        def update_step(ids, cand, lqt, lqc, seed):
            loss, grads = grad_step(ids, cand, lqt, lqc, seed)
            self.optimizer.apply_gradients(zip(grads, variables, strict=False))
            return loss

        # On one device the optimizer update goes into the same function as the gradients
        # (faster); under a multi-replica strategy it stays outside, where gradients are
        # all-reduced.
        fused = cfg.strategy == "one_device"
        grad_step_c = tf.function(grad_step, jit_compile=cfg.jit)
        update_step_c = tf.function(update_step, jit_compile=cfg.jit)

        @tf.function
        def train_step(ids, seed, stop):
            """(loss, stop votes): ``stop`` is this worker's vote (0. or 1.) to end the run."""
            y = tf.cast(tf.reshape(ids[:, 1:], [-1, 1]), tf.int64)
            if cfg.sampled:
                cand, true_ec, cand_ec = tf.random.fixed_unigram_candidate_sampler(
                    y,
                    1,
                    cfg.sampled,
                    True,
                    mcfg.vocab_size,
                    distortion=0.75,
                    unigrams=self.unigrams,
                )
                cand = tf.cast(cand, tf.int32)
                log_q_true = tf.math.log(tf.reshape(true_ec, [-1]))
                log_q_cand = tf.math.log(cand_ec)
            else:
                cand = tf.zeros([1], tf.int32)
                log_q_true = log_q_cand = tf.zeros([1])

            def replica(ids, cand, lqt, lqc, seed, stop):
                if fused:
                    return update_step_c(ids, cand, lqt, lqc, seed), stop
                # Each worker's gradients are those of its local mean loss; one all-reduce
                # averages them (with the losses, and sums the stop votes), so every worker
                # applies the update one worker would make on the global batch. Clipping
                # comes after the all-reduce, on the global gradients, as on one worker.
                loss, grads = grad_step_c(ids, cand, lqt, lqc, seed)
                ctx = tf.distribute.get_replica_context()
                n = float(ctx.num_replicas_in_sync)
                *grads, loss, stop = ctx.all_reduce(
                    # identity: on this replica's device, where the all-reduce wants it
                    tf.distribute.ReduceOp.SUM,
                    [g / n for g in grads] + [loss / n, tf.identity(stop)],
                )
                if cfg.clipnorm > 0:
                    grads, _ = tf.clip_by_global_norm(grads, cfg.clipnorm)
                self.optimizer.apply_gradients(zip(grads, variables, strict=False))
                return loss, stop

            out = self.strategy.run(replica, (ids, cand, log_q_true, log_q_cand, seed, stop))
            return [self.strategy.experimental_local_results(v)[0] for v in out]

        @tf.function(jit_compile=cfg.jit)
        def eval_step(ids):
            w = dict(zip(self.names, [tf.convert_to_tensor(v) for v in variables], strict=True))
            hs, y = forward(w, ids, tf.zeros([2], tf.int32), False)
            logits = M.output_logits(w, hs)
            nll = tf.nn.sparse_softmax_cross_entropy_with_logits(labels=y, logits=logits)
            return tf.reduce_sum(tf.reshape(nll, [tf.shape(ids)[0], -1]), 1)  # [B] per window

        self.train_step, self.eval_step = train_step, eval_step

    def epoch_starts(self, epoch: int) -> np.ndarray:
        """Start positions of this epoch's windows, shuffled deterministically by (seed, epoch).

        The offset into the token stream changes every epoch, so window edges move.
        """
        rng = np.random.default_rng([self.cfg.seed, epoch])
        offset = int(rng.integers(self.cfg.seq_len))
        n = (len(self.data.train) - offset - 1) // self.cfg.seq_len
        starts = offset + self.cfg.seq_len * rng.permutation(n)
        need = self.steps_per_epoch * self.cfg.batch_size
        return np.resize(starts, need) if need > len(starts) else starts[:need]

    def epoch_dataset(self, epoch: int, start_step: int = 0):
        """tf.data pipeline of one epoch: batches [B, T+1] of windows over the cached ids.

        ``start_step`` skips the batches a resumed run has already trained on.
        """
        tf, cfg = self.tf, self.cfg
        if self._ids is None:
            self._ids = tf.constant(self.data.train.astype(np.int32))  # [N] all train tokens
        ids, span = self._ids, cfg.seq_len + 1
        starts = self.epoch_starts(epoch)[start_step * cfg.batch_size :]
        n = self.worker.count
        if n > 1:
            starts = cluster.shard(starts, self.worker.index, n, cfg.batch_size)
            log.info(
                "epoch %d: %s reads shard %d: windows %d-%d of every global batch of %d "
                "(%s windows from step %d)",
                epoch + 1,
                self.worker,
                self.worker.index,
                self.worker.index * cfg.batch_size // n,
                (self.worker.index + 1) * cfg.batch_size // n - 1,
                cfg.batch_size,
                f"{len(starts):,}",
                start_step,
            )
        return (
            tf.data.Dataset.from_tensor_slices(starts)
            .map(lambda s: ids[s : s + span], num_parallel_calls=tf.data.AUTOTUNE)
            .batch(cfg.batch_size // n, drop_remainder=True)
            .prefetch(tf.data.AUTOTUNE)
        )

    def validate(self) -> tuple[float, float]:
        """Full-softmax validation: (perplexity per token, perplexity per word).

        Several workers each score every ``count``-th window and add up their sums.
        """
        win = windows(self.data.valid, self.cfg.seq_len)
        tokens = len(win) * self.cfg.seq_len
        win = win[self.worker.index :: self.worker.count]
        bs = 256  # one batch shape, so the step is traced once; the last one is zero-padded
        total = 0.0
        for i in range(0, len(win), bs):
            batch = win[i : i + bs]
            rows = len(batch)
            if rows < bs:
                batch = np.concatenate([batch, np.zeros((bs - rows, batch.shape[1]), np.int32)])
            total += float(np.sum(self.eval_step(batch).numpy()[:rows]))
        if self.worker.count > 1:
            total = float(np.sum(cluster.all_gather(self.strategy, [total])))
        return math.exp(total / tokens), math.exp(total / self.data.valid_words)

    # ------------------------------------------------------------------ checkpoint state

    def save_state(self, position: dict) -> None:
        """Model, optimizer and position (see :func:`kbd_lm.checkpoint.write_state`)."""
        optimizer = [np.asarray(v.numpy()) for v in self.optimizer.variables]
        C.write_state(self.out_dir, self.model.numpy_weights(), optimizer, position)

    def load_state(self, from_dir: Path | None = None) -> dict | None:
        """Restore what :meth:`save_state` wrote (to ``from_dir``, default ``out_dir``); the
        position, or None if nothing was saved."""
        from_dir = from_dir or self.out_dir
        saved = C.read_state(from_dir)
        if saved is None:
            return None
        weights, optimizer, position = saved
        self.model.set_numpy_weights(weights)
        if len(optimizer) != len(self.optimizer.variables):
            raise RuntimeError(
                f"{from_dir / C.STATE_DIR}: optimizer state does not match this config"
            )
        for var, value in zip(self.optimizer.variables, optimizer, strict=True):
            var.assign(value)
        return position


def _dropout(tf, x, rate: float, seed):
    keep = tf.random.stateless_uniform(tf.shape(x), seed=seed) >= rate
    return tf.where(keep, x / (1.0 - rate), 0.0)


def _strategy(name: str):
    import tensorflow as tf

    if name == "one_device":
        return tf.distribute.OneDeviceStrategy("/cpu:0")
    if name == "mirrored":
        return tf.distribute.MirroredStrategy()
    return tf.distribute.MultiWorkerMirroredStrategy()  # reads TF_CONFIG


def _reduced_adam_class():
    import keras

    class _ReducedAdam(keras.optimizers.Adam):
        """Adam for gradients the train step has already all-reduced across the workers.

        Keras' TensorFlow optimizer sums gradients over the replicas itself, after clipping
        them per replica; the step does both in the order one worker would (the two-worker
        test compares against a one-device run, so a change here cannot pass unnoticed).
        """

        def _all_reduce_sum_gradients(self, grads_and_vars):
            return grads_and_vars

    return _ReducedAdam


def _schedule_class():
    import keras

    @keras.saving.register_keras_serializable("kbd_lm")
    class _WarmupCosine(keras.optimizers.schedules.LearningRateSchedule):
        """Linear warm-up to ``peak`` then cosine decay to ``floor`` at ``total`` steps."""

        def __init__(self, peak, floor, warmup, total):
            self.peak, self.floor, self.warmup, self.total = peak, floor, warmup, total

        def __call__(self, step):
            step = keras.ops.cast(step, "float32")
            warm = self.peak * (step + 1.0) / max(1, self.warmup)
            frac = keras.ops.clip((step - self.warmup) / max(1, self.total - self.warmup), 0.0, 1.0)
            cos = self.floor + 0.5 * (self.peak - self.floor) * (
                1.0 + keras.ops.cos(math.pi * frac)
            )
            return keras.ops.where(step < self.warmup, warm, cos)

        def get_config(self):
            return {
                "peak": self.peak,
                "floor": self.floor,
                "warmup": self.warmup,
                "total": self.total,
            }

    return _WarmupCosine


def WarmupCosine(peak, floor, warmup, total):  # noqa: N802 - reads like a class at call sites
    return _schedule_class()(peak, floor, warmup, total)


# ----------------------------------------------------------------------------- entry point


def train(cfg: TrainConfig) -> Path:
    """Train the tokenizer and the model described by ``cfg``; return the checkpoint folder.

    With ``cfg.resume`` it continues from ``<out_dir>/state`` (same epoch and step, same
    optimizer moments and schedule). A finished run in ``out_dir`` is replaced by a new one;
    an unfinished one is never overwritten silently.

    With ``strategy = "multi_worker"`` this is one worker of the cluster in ``TF_CONFIG``
    (:mod:`kbd_lm.cluster`): it trains on its shard; only the chief writes ``out_dir``, the
    others a temporary folder they delete. Every worker reads ``out_dir`` to resume.
    """
    out_dir = Path(cfg.out_dir)
    worker = cluster.this_worker(cfg.strategy)
    if out_dir.is_dir():
        C.format_version(out_dir)  # refuses a folder written by an unsupported version
    state_exists = C.has_state(out_dir)
    finished = C.is_finished(out_dir)
    if state_exists and not finished and not cfg.resume:
        raise TrainError(
            f"{out_dir} holds an interrupted run: continue it with resume=true "
            "(make train RESUME=1) or delete the folder to start over"
        )
    if cfg.resume and not state_exists:
        log.warning("resume requested but %s has no saved state: starting from scratch", out_dir)
    if cfg.resume and state_exists:
        saved = C.saved_config_text(out_dir)
        if saved != to_toml(dataclasses.replace(cfg, resume=False)):
            log.warning("resuming with a config that differs from the saved one in %s", out_dir)
    # Every worker has read out_dir above; the strategy waits for all of them before the
    # chief writes there.
    strategy = _strategy(cfg.strategy)
    if worker.is_chief:
        return _run(cfg, out_dir, out_dir, strategy, worker, state_exists, finished)
    with tempfile.TemporaryDirectory(prefix=f"kbd-lm-worker{worker.index}-") as scratch:
        log.info("%s: not the chief, writes to %s (deleted at the end)", worker, scratch)
        _run(cfg, out_dir, Path(scratch), strategy, worker, state_exists, finished)
    return out_dir


def _run(cfg, out_dir, run_dir, strategy, worker, state_exists, finished) -> Path:
    """The run of :func:`train`: reads the saved state from ``out_dir``, writes ``run_dir``."""
    run_dir.mkdir(parents=True, exist_ok=True)
    C.write_config(run_dir, dataclasses.replace(cfg, resume=False))

    # The chief prepares the corpus and tokenizer first: on a shared cache_dir the others
    # then find them ready instead of building the same files at the same time.
    if not worker.is_chief:
        cluster.all_gather(strategy, [0])
    corpus = prepare(cfg.corpus, Path(cfg.cache_dir))
    data = encode_corpus(cfg, corpus)
    if worker.is_chief and worker.count > 1:
        cluster.all_gather(strategy, [0])
    C.write_tokenizer(run_dir, data.tokenizer)
    trainer = Trainer(cfg, data, run_dir, strategy, worker)
    from kbd_lm.model import param_count

    n_params = param_count(trainer.mcfg)
    log.info(
        "model: %s cell, %d units, embed %d, vocab %d: %s parameters; %d steps/epoch",
        cfg.cell,
        cfg.units,
        cfg.embed_dim,
        trainer.mcfg.vocab_size,
        f"{n_params:,}",
        trainer.steps_per_epoch,
    )

    position = {
        "epoch": 0,
        "step": 0,
        "best": None,
        "bad_epochs": 0,
        "history": [],
        "train_seconds": 0.0,
        "tokens": 0,
    }
    if cfg.resume and state_exists and not finished:
        position = trainer.load_state(out_dir) or position
        log.info(
            "resumed from %s: epoch %d step %d",
            out_dir / C.STATE_DIR,
            position["epoch"] + 1,
            position["step"],
        )
    elif finished:
        C.mark_unfinished(run_dir)
    cluster.check_agreement(
        strategy,
        worker,
        {
            "tokenizer hash": cluster.hash48(data.tokenizer.proto),
            "train tokens": len(data.train),
            "valid tokens": len(data.valid),
            "config hash": cluster.hash48(to_toml(dataclasses.replace(cfg, resume=False))),
            "epoch": position["epoch"],
            "step": position["step"],
        },
    )

    tokens_per_step = cfg.batch_size * cfg.seq_len
    budget = cfg.max_minutes * 60 if cfg.max_minutes else float("inf")
    last_ckpt = time.monotonic()
    stop_reason = "epochs done"
    t_start = time.monotonic() - position["train_seconds"]
    while position["epoch"] < cfg.epochs:
        epoch = position["epoch"]
        steps = trainer.steps_per_epoch
        progress = Progress(  # counts what this process trains, so a resumed run's rate is true
            f"epoch {epoch + 1}/{cfg.epochs} tokens",
            total=(steps - position["step"]) * tokens_per_step,
            every=15.0,
            unit=" tok/s",
            logger=log,
        )
        losses = []
        timed_out = False
        batches = trainer.epoch_dataset(epoch, position["step"])
        for step, batch in enumerate(batches, start=position["step"]):
            # Dropout masks: per step, and per worker (worker 0's are one device's).
            seed = np.array([cfg.seed + 7919 * worker.index, epoch * 1_000_003 + step], np.int32)
            # Every worker votes on the time budget with its step, so that all stop together.
            over = np.float32(time.monotonic() - t_start > budget)
            loss, votes = trainer.train_step(batch, seed, over)
            loss = float(loss)
            if not math.isfinite(loss):
                raise FloatingPointError(
                    f"training loss is {loss} at epoch {epoch + 1} step {step}"
                )
            losses.append(loss)
            position["step"] = step + 1
            position["tokens"] += tokens_per_step
            progress.update(tokens_per_step, f"loss {np.mean(losses[-50:]):.3f}")
            now = time.monotonic()
            position["train_seconds"] = now - t_start
            if float(votes) > 0:
                timed_out = True
                break
            if now - last_ckpt > cfg.checkpoint_minutes * 60:
                trainer.save_state(position)
                last_ckpt = now
        ppl_tok, ppl_word = trainer.validate()
        rate = position["tokens"] / max(position["train_seconds"], 1e-9)
        record = {
            "epoch": epoch + 1,
            "steps": position["step"],
            "train_loss": float(np.mean(losses)) if losses else None,
            "valid_ppl_token": ppl_tok,
            "valid_ppl_word": ppl_word,
            "tokens_seen": position["tokens"],
            "tokens_per_second": rate,
            "minutes": position["train_seconds"] / 60,
        }
        position["history"].append(record)
        log.info(
            "epoch %d: valid perplexity %.2f per token, %.1f per word; %.0f tok/s; %.1f min",
            epoch + 1,
            ppl_tok,
            ppl_word,
            rate,
            record["minutes"],
        )
        improved = position["best"] is None or ppl_word < position["best"]["valid_ppl_word"]
        if improved:
            position["best"] = record
            position["bad_epochs"] = 0
            C.write_weights(run_dir, trainer.model.numpy_weights())
        else:
            position["bad_epochs"] += 1
        position["epoch"] = epoch + 1
        position["step"] = 0
        trainer.save_state(position)
        last_ckpt = time.monotonic()
        C.write_history(run_dir, position["history"])
        if timed_out:
            stop_reason = f"time budget of {cfg.max_minutes} min reached"
            break
        if position["bad_epochs"] >= cfg.early_stopping_patience:
            stop_reason = f"early stopping: no improvement for {position['bad_epochs']} epochs"
            break

    best = position["best"]
    summary = {
        "stop_reason": stop_reason,
        "parameters": n_params,
        "vocab_size": trainer.mcfg.vocab_size,
        "epochs_run": position["epoch"],
        "tokens_seen": position["tokens"],
        "train_minutes": position["train_seconds"] / 60,
        "tokens_per_second": position["tokens"] / max(position["train_seconds"], 1e-9),
        "best_epoch": best["epoch"],
        "valid_ppl_token": best["valid_ppl_token"],
        "valid_ppl_word": best["valid_ppl_word"],
        "corpus": corpus.stats,
    }
    C.write_summary(run_dir, summary)
    log.info(
        "trained %s: %s parameters, %d epochs (%s), %.1f min, %.0f tokens/s; best epoch %d: "
        "valid perplexity %.2f per token, %.1f per word -> %s",
        cfg.cell,
        f"{n_params:,}",
        position["epoch"],
        stop_reason,
        summary["train_minutes"],
        summary["tokens_per_second"],
        best["epoch"],
        best["valid_ppl_token"],
        best["valid_ppl_word"],
        out_dir,
    )
    if worker.count > 1:
        # The all-reduced updates keep the workers' weights bitwise equal: checked, not assumed.
        weights = cluster.digest(trainer.model.numpy_weights())
        cluster.check_agreement(strategy, worker, {"weights hash": cluster.hash48(weights)})
        log.info("%s: final weights %s, the same on all %d workers", worker, weights, worker.count)
    return run_dir
