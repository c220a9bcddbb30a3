"""Training: ``train(config) -> Path`` turns a corpus into a checkpoint folder.

Steps: prepare the corpus (:mod:`kbd_lm.dataset.corpus`), train the sentencepiece tokenizer on the
train split, encode the splits to token ids (cached), then train the language model of
:mod:`kbd_lm.training.model` on 32-token windows packed across units, each starting from a zero
state.

Speed is what limits quality on two CPU cores, so the training step is one ``tf.function``
graph (:mod:`kbd_lm.training.steps`): a ``tf.scan`` loop over the window, the gradients and
the optimizer update. XLA compilation of that graph is a switch (``jit``), off by default: on
a 2-core AMD EPYC at 2.6 GHz (0.1.0) it ran at 17k tokens/s against 47k for TensorFlow's own
(oneDNN) kernels. The loss is a sampled softmax
(``sampled`` unique candidates drawn from the unigram distribution, accidental hits
removed). Validation uses the full softmax.

The checkpoint folder (``out_dir``) is written through :mod:`kbd_lm.training.checkpoint`, which owns
its format: the resolved config, the tokenizer, the best epoch's weights, the history, a
summary once finished, and ``state/`` (model + optimizer + position, rewritten after every
epoch and every ``checkpoint_minutes``) from which ``resume = true`` continues a killed run.

>>> cfg = load_config(TrainConfig, "train", "tiny")  # doctest: +SKIP
>>> train(cfg)                                        # doctest: +SKIP
PosixPath('runs/tiny')
"""

from __future__ import annotations

import dataclasses
import logging
import math
import time
from pathlib import Path

import numpy as np

from kbd_lm.common.config import to_toml
from kbd_lm.common.fsutil import Progress
from kbd_lm.training import checkpoint as C
from kbd_lm.training import cluster
from kbd_lm.training.config import TrainConfig, TrainError
from kbd_lm.training.data import EncodedSplits, encode_corpus, windows
from kbd_lm.training.optim import WarmupCosine, reduced_adam_class, strategy_for

log = logging.getLogger(__name__)


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

        from kbd_lm.training import model as M
        from kbd_lm.training.steps import TrainSteps

        # The candidate sampler is TensorFlow's only random op here (weights come from numpy,
        # dropout is stateless): with a global seed, a run from scratch draws the same
        # candidates every time, so the same command trains the same model.
        tf.random.set_seed(cfg.seed)
        self.tf, self.cfg, self.data, self.out_dir = tf, cfg, data, out_dir
        self.mcfg = cfg.model_config(data.tokenizer.vocab_size)
        self.strategy = strategy or strategy_for(cfg.strategy)
        self.worker = worker
        if cfg.strategy == "multi_worker" and self.strategy.num_replicas_in_sync != worker.count:
            raise TrainError(
                f"{self.strategy.num_replicas_in_sync} replicas for {worker.count} worker(s): "
                "kbd-lm trains with one device per worker"
            )
        self.steps_per_epoch = (
            cfg.steps_per_epoch or (data.tokens_per_epoch - 1) // cfg.seq_len // cfg.batch_size
        )
        self.total_steps = max(1, self.steps_per_epoch * cfg.epochs)
        if cfg.max_tokens:  # the learning rate reaches its floor when the budget runs out
            self.total_steps = min(self.total_steps, budget_steps(cfg))
        with self.strategy.scope():
            self.model = M.build_model(self.mcfg, seed=cfg.seed)
            self.schedule = schedule = WarmupCosine(
                cfg.learning_rate, cfg.min_learning_rate, cfg.warmup_steps, self.total_steps
            )
            if cfg.strategy == "one_device":
                self.optimizer = keras.optimizers.Adam(schedule, global_clipnorm=cfg.clipnorm)
            else:  # the train step all-reduces and clips the gradients itself
                self.optimizer = reduced_adam_class()(schedule, name="adam")
            self.optimizer.build(self.model.trainable_variables)
        counts = (
            np.bincount(data.epoch_ids(0), minlength=self.mcfg.vocab_size).astype(np.float64) + 1.0
        )
        self.unigrams = counts.tolist()
        # Hint ids are inputs, never targets: their positions leave the loss and perplexity.
        self.hint_ids = sorted(set(data.source_hints.values()))
        self._ids = None  # the train token ids as one tensor, made on first use
        steps = TrainSteps(
            cfg, self.mcfg, self.model, self.optimizer, self.strategy, self.unigrams, self.hint_ids
        )
        self.train_step, self.eval_step = steps.train_step, steps.eval_step

    def epoch_starts(self, epoch: int, n_tokens: int) -> np.ndarray:
        """Start positions of this epoch's windows, shuffled deterministically by (seed, epoch).

        ``n_tokens`` is the length of the epoch's stream. The offset into the stream changes
        every epoch, so window edges move.
        """
        rng = np.random.default_rng([self.cfg.seed, epoch])
        offset = int(rng.integers(self.cfg.seq_len))
        n = (n_tokens - offset - 1) // self.cfg.seq_len
        starts = offset + self.cfg.seq_len * rng.permutation(n)
        need = self.steps_per_epoch * self.cfg.batch_size
        return np.resize(starts, need) if need > len(starts) else starts[:need]

    def epoch_dataset(self, epoch: int, start_step: int = 0):
        """tf.data pipeline of one epoch: batches [B, T+1] of windows over the epoch's ids.

        ``start_step`` skips the batches a resumed run has already trained on. A single
        corpus keeps one stream for every epoch; a mixture draws a new one per epoch.
        """
        tf, cfg = self.tf, self.cfg
        if self._ids is None or (self._ids[0] != epoch and self.data.mixture is not None):
            stream = self.data.epoch_ids(epoch).astype(np.int32)
            self._ids = (epoch, tf.constant(stream))  # [N] the epoch's train tokens
        ids, span = self._ids[1], cfg.seq_len + 1
        starts = self.epoch_starts(epoch, int(ids.shape[0]))[start_step * cfg.batch_size :]
        n = self.worker.count
        if n > 1:
            starts = cluster.shard(starts, self.worker.index, n, cfg.batch_size)
            cluster.log_shard(self.worker, epoch, cfg.batch_size, len(starts), start_step)
        return (
            tf.data.Dataset.from_tensor_slices(starts)
            .map(lambda s: ids[s : s + span], num_parallel_calls=tf.data.AUTOTUNE)
            .batch(cfg.batch_size // n, drop_remainder=True)
            .prefetch(tf.data.AUTOTUNE)
        )

    def validate(self) -> tuple[float, float, dict[str, float]]:
        """Full-softmax validation on every source.

        Returns (perplexity per token, perplexity per word, per-word perplexity by source);
        the first two pool all sources' tokens.
        """
        total = tokens = 0.0
        by_source = {}
        for name, vs in self.data.valid.items():
            nll, n = self._nll(vs.ids)
            total, tokens = total + nll, tokens + n
            by_source[name] = math.exp(nll / vs.words)
        return math.exp(total / tokens), math.exp(total / self.data.valid_words), by_source

    def _nll(self, ids: np.ndarray) -> tuple[float, int]:
        """Summed negative log-likelihood of ``ids`` in windows, and the tokens scored.

        Several workers each score every ``count``-th window and add up their sums.
        """
        win = windows(ids, self.cfg.seq_len)
        tokens = len(win) * self.cfg.seq_len - int(np.isin(win[:, 1:], self.hint_ids).sum())
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
        return total, tokens

    # ------------------------------------------------------------------ checkpoint state

    def save_state(self, state: C.ResumeState) -> None:
        """Model, optimizer and position (see :func:`kbd_lm.training.checkpoint.write_state`)."""
        optimizer = [np.asarray(v.numpy()) for v in self.optimizer.variables]
        C.write_state(self.out_dir, self.model.numpy_weights(), optimizer, state)

    def load_state(self, from_dir: Path | None = None) -> C.ResumeState | None:
        """Restore what :meth:`save_state` wrote (to ``from_dir``, default ``out_dir``); the
        position, or None if nothing was saved."""
        from_dir = from_dir or self.out_dir
        saved = C.read_state(from_dir)
        if saved is None:
            return None
        weights, optimizer, state = saved
        self.model.set_numpy_weights(weights)
        if len(optimizer) != len(self.optimizer.variables):
            raise RuntimeError(
                f"{from_dir / C.STATE_DIR}: optimizer state does not match this config"
            )
        for var, value in zip(self.optimizer.variables, optimizer, strict=True):
            var.assign(value)
        return state


# ----------------------------------------------------------------------------- entry point


def budget_steps(cfg: TrainConfig) -> int:
    """Training steps in the token budget (every step trains ``batch_size * seq_len`` tokens
    over all workers).

    >>> budget_steps(TrainConfig(max_tokens=10_000, batch_size=10, seq_len=100))
    10
    """
    return max(1, math.ceil(cfg.max_tokens / (cfg.batch_size * cfg.seq_len)))


def train(cfg: TrainConfig) -> Path:
    """Train the tokenizer and the model described by ``cfg``; return the checkpoint folder.

    With ``cfg.resume`` it continues from ``<out_dir>/state`` (same epoch and step, same
    optimizer moments and schedule). A finished run in ``out_dir`` is replaced by a new one;
    an unfinished one is never overwritten silently.

    With ``strategy = "multi_worker"`` this is one worker of the cluster in ``TF_CONFIG``
    (:mod:`kbd_lm.training.cluster`): it trains on its shard; only the chief writes ``out_dir``, the
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
    strategy = strategy_for(cfg.strategy)
    with cluster.run_folder(worker, out_dir) as run_dir:
        _run(cfg, out_dir, run_dir, strategy, worker, state_exists, finished)
    return out_dir


def _run(cfg, out_dir, run_dir, strategy, worker, state_exists, finished) -> Path:
    """The run of :func:`train`: reads the saved state from ``out_dir``, writes ``run_dir``."""
    run_dir.mkdir(parents=True, exist_ok=True)
    C.write_config(run_dir, dataclasses.replace(cfg, resume=False))
    with cluster.chief_first(strategy, worker):  # the others then find the cached files
        data = encode_corpus(cfg)
    C.write_tokenizer(run_dir, data.tokenizer)
    trainer = Trainer(cfg, data, run_dir, strategy, worker)
    n_params = _log_model(trainer)

    state = C.ResumeState()
    if cfg.resume and state_exists and not finished:
        state = trainer.load_state(out_dir) or state
        log.info(
            "resumed from %s: epoch %d step %d", out_dir / C.STATE_DIR, state.epoch + 1, state.step
        )
    elif finished:
        C.mark_unfinished(run_dir)
    config_text = to_toml(dataclasses.replace(cfg, resume=False))
    cluster.check_start(strategy, worker, data, config_text, state)

    stop_reason = _train_epochs(trainer, state, run_dir)
    _finish(trainer, state, stop_reason, n_params, run_dir, out_dir)
    cluster.check_weights(strategy, worker, trainer.model.numpy_weights())
    return run_dir


def _log_model(trainer: Trainer) -> int:
    """Log the model's shape and size; return its parameter count."""
    from kbd_lm.training.model import param_count

    cfg, n_params = trainer.cfg, param_count(trainer.mcfg)
    log.info(
        "model: %s cell, %d units, embed %d, vocab %d: %s parameters; %d steps/epoch",
        cfg.cell,
        cfg.units,
        cfg.embed_dim,
        trainer.mcfg.vocab_size,
        f"{n_params:,}",
        trainer.steps_per_epoch,
    )
    return n_params


@dataclasses.dataclass
class _Clock:
    """The run's times, in ``time.monotonic()`` seconds."""

    start: float  # when training time was 0 (a resumed run's time set back by what it had)
    budget: float  # the time budget (max_minutes) in seconds; inf without one
    saved: float  # when the resume state was last written


# A progress line every 15 s of training: often enough to follow a run, 480 lines in a
# two-hour one.
PROGRESS_SECONDS = 15.0


def _train_epochs(trainer: Trainer, state: C.ResumeState, run_dir: Path) -> str:
    """Train epoch after epoch from ``state`` until a stop; return why it stopped."""
    cfg = trainer.cfg
    budget = cfg.max_minutes * 60 if cfg.max_minutes else float("inf")
    saved = time.monotonic()
    clock = _Clock(start=time.monotonic() - state.train_seconds, budget=budget, saved=saved)
    stop_reason = None
    while stop_reason is None and state.epoch < cfg.epochs:
        losses, ended = _train_epoch(trainer, state, clock)
        record = _validate_epoch(trainer, state, losses)
        _end_epoch(trainer, state, record, run_dir)
        clock.saved = time.monotonic()
        stop_reason = _stop_reason(cfg, state, ended)
    return stop_reason or "epochs done"


def _train_epoch(
    trainer: Trainer, state: C.ResumeState, clock: _Clock
) -> tuple[list[float], str | None]:
    """Train epoch ``state.epoch + 1`` from its step ``state.step``, saving the state every
    ``checkpoint_minutes``.

    Returns the steps' losses and what ended the epoch early: ``"time"`` (the time budget),
    ``"tokens"`` (the token budget), or None when it ran all its steps.
    """
    cfg, worker, epoch = trainer.cfg, trainer.worker, state.epoch
    tokens_per_step = cfg.batch_size * cfg.seq_len
    progress = Progress(  # counts what this process trains, so a resumed run's rate is true
        f"epoch {epoch + 1}/{cfg.epochs} tokens",
        total=(trainer.steps_per_epoch - state.step) * tokens_per_step,
        every=PROGRESS_SECONDS,
        unit=" tok/s",
        logger=log,
    )
    losses = []
    batches = trainer.epoch_dataset(epoch, state.step)
    for step, batch in enumerate(batches, start=state.step):
        seed = dropout_seed(cfg.seed, worker.index, epoch, step)
        vote = time_vote(time.monotonic() - clock.start, clock.budget, worker.count)
        loss, vote = trainer.train_step(batch, seed, vote)
        loss, (votes, time_frac) = float(loss), vote.numpy()
        if not math.isfinite(loss):
            raise FloatingPointError(f"training loss is {loss} at epoch {epoch + 1} step {step}")
        losses.append(loss)
        state.step = step + 1
        state.tokens += tokens_per_step
        progress.update(tokens_per_step, f"loss {np.mean(losses[-50:]):.3f}")
        now = time.monotonic()
        state.train_seconds = now - clock.start
        if cfg.max_minutes:
            trainer.schedule.time_frac.assign(time_frac)
        if votes > 0:
            return losses, "time"
        if cfg.max_tokens and state.tokens >= cfg.max_tokens:
            return losses, "tokens"
        if now - clock.saved > cfg.checkpoint_minutes * 60:
            trainer.save_state(state)
            clock.saved = now
    return losses, None


# The dropout seed of a step, a pair for tf.random.stateless_uniform:
# (seed + WORKER_SEED_STRIDE * worker, epoch * EPOCH_SEED_STRIDE + step). Both strides are
# primes, but what keeps the pairs apart is their size. No epoch has EPOCH_SEED_STRIDE steps
# (the first prime above 10**6), so (epoch, step) -> one number is one-to-one (and fits int32
# up to epoch 2146). Workers differ by multiples of WORKER_SEED_STRIDE (7919, the 1000th
# prime), so they never share masks, nor with another run's workers unless the two seeds differ
# by a multiple of 7919 (seeds are small numbers). Changing either stride changes every mask,
# hence every model trained with dropout.
WORKER_SEED_STRIDE = 7919
EPOCH_SEED_STRIDE = 1_000_003


def dropout_seed(seed: int, worker_index: int, epoch: int, step: int) -> np.ndarray:
    """The dropout seed [2] of one step: per step, and per worker (worker 0's are those of a
    run on one device).

    >>> dropout_seed(0, 1, 2, 3).tolist()
    [7919, 2000009]
    """
    return np.array(
        [seed + WORKER_SEED_STRIDE * worker_index, epoch * EPOCH_SEED_STRIDE + step], np.int32
    )


def time_vote(elapsed: float, budget: float, workers: int) -> np.ndarray:
    """This worker's input to the train step's all-reduce about time, [2] float32:
    (1. if the time budget is spent else 0., elapsed / budget / workers).

    Summed over the workers, the first is the number of votes to stop (all stop together, at
    the same step); the second is the mean elapsed fraction of the budget, the clock the
    learning-rate schedule follows: the same on every worker, where each one's own clock would
    make their updates differ. ``elapsed`` and ``budget`` in seconds; budget inf: no budget.

    >>> time_vote(30.0, 60.0, 2).tolist()
    [0.0, 0.25]
    """
    return np.array([elapsed > budget, elapsed / budget / workers], np.float32)


def _validate_epoch(trainer: Trainer, state: C.ResumeState, losses: list[float]) -> dict:
    """Validate the model after epoch ``state.epoch + 1``; its history record (logged).

    The record: epoch, steps, train_loss, valid_ppl_token, valid_ppl_word,
    valid_ppl_word_macro, valid_ppl_word_by_source, tokens_seen, tokens_per_second, minutes.
    """
    epoch = state.epoch
    ppl_tok, ppl_word, by_source = trainer.validate()
    # The figure that picks the best epoch: the geometric mean of the sources' per-word
    # perplexities, so a large source does not drown the others (one source: its own).
    macro = math.exp(np.mean([math.log(p) for p in by_source.values()]))
    record = {
        "epoch": epoch + 1,
        "steps": state.step,
        "train_loss": float(np.mean(losses)) if losses else None,
        "valid_ppl_token": ppl_tok,
        "valid_ppl_word": ppl_word,
        "valid_ppl_word_macro": macro,
        "valid_ppl_word_by_source": by_source,
        "tokens_seen": state.tokens,
        "tokens_per_second": state.tokens_per_second,
        "minutes": state.train_seconds / 60,
    }
    log.info(
        "epoch %d: valid perplexity %.2f per token, %.1f per word; %.0f tok/s; %.1f min",
        epoch + 1,
        ppl_tok,
        ppl_word,
        record["tokens_per_second"],
        record["minutes"],
    )
    if len(by_source) > 1:
        log.info(
            "epoch %d: per-word perplexity by source (macro %.1f): %s",
            epoch + 1,
            macro,
            ", ".join(f"{n} {p:.1f}" for n, p in by_source.items()),
        )
    return record


def _end_epoch(trainer: Trainer, state: C.ResumeState, record: dict, run_dir: Path) -> None:
    """Record the finished epoch: the history, the best weights if it improved on the best
    epoch (by ``valid_ppl_word_macro``), the resume state at the next epoch's start."""
    state.history.append(record)
    best = state.best
    # A best record written before the macro figure existed has only valid_ppl_word.
    best_macro = None if best is None else best.get("valid_ppl_word_macro", best["valid_ppl_word"])
    if best_macro is None or record["valid_ppl_word_macro"] < best_macro:
        state.best = record
        state.bad_epochs = 0
        C.write_weights(run_dir, trainer.model.numpy_weights())
    else:
        state.bad_epochs += 1
    state.epoch += 1
    state.step = 0
    trainer.save_state(state)
    C.write_history(run_dir, state.history)


def _stop_reason(cfg: TrainConfig, state: C.ResumeState, ended: str | None) -> str | None:
    """Why the run stops after this epoch, or None to go on (the epoch count is the loop's).

    ``ended``: what cut the epoch short (:func:`_train_epoch`).

    >>> _stop_reason(TrainConfig(max_tokens=2_000), C.ResumeState(), "tokens")
    'token budget of 2,000 reached'
    >>> _stop_reason(TrainConfig(), C.ResumeState(bad_epochs=1), None) is None
    True
    """
    if ended == "time":
        return f"time budget of {cfg.max_minutes} min reached"
    if ended == "tokens":
        return f"token budget of {cfg.max_tokens:,} reached"
    if state.bad_epochs >= cfg.early_stopping_patience:
        return f"early stopping: no improvement for {state.bad_epochs} epochs"
    return None


def _finish(
    trainer: Trainer,
    state: C.ResumeState,
    stop_reason: str,
    n_params: int,
    run_dir: Path,
    out_dir: Path,
) -> None:
    """Write the run's summary (the best epoch's figures) into ``run_dir`` and log it."""
    cfg, best = trainer.cfg, state.best
    summary = {
        "stop_reason": stop_reason,
        "parameters": n_params,
        "vocab_size": trainer.mcfg.vocab_size,
        "epochs_run": state.epoch,
        "tokens_seen": state.tokens,
        "train_minutes": state.train_seconds / 60,
        "tokens_per_second": state.tokens_per_second,
        "best_epoch": best["epoch"],
        "valid_ppl_token": best["valid_ppl_token"],
        "valid_ppl_word": best["valid_ppl_word"],
        "valid_ppl_word_macro": best.get("valid_ppl_word_macro"),
        "valid_ppl_word_by_source": best.get("valid_ppl_word_by_source"),
        "corpus": trainer.data.describe(cfg.corpus),
    }
    C.write_summary(run_dir, summary)
    log.info(
        "trained %s: %s parameters, %d epochs (%s), %.1f min, %.0f tokens/s; best epoch %d: "
        "valid perplexity %.2f per token, %.1f per word -> %s",
        cfg.cell,
        f"{n_params:,}",
        state.epoch,
        stop_reason,
        summary["train_minutes"],
        summary["tokens_per_second"],
        best["epoch"],
        best["valid_ppl_token"],
        best["valid_ppl_word"],
        out_dir,
    )
