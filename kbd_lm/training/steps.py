"""The compiled steps of training: the forward pass, the losses, the train and eval steps.

:class:`TrainSteps` builds them for one model, optimizer and strategy; the training loop
(:mod:`kbd_lm.training.loop`) calls them:

- ``train_step(ids, seed, vote) -> (loss, vote)``: one optimizer update on a batch;
- ``eval_step(ids) -> nll [B]``: the summed full-softmax negative log-likelihood per window.

Shapes, for batch B, window T (``seq_len``), embedding P, sampled candidates S: ``ids``
[B, T+1] (inputs ``ids[:, :-1]``, targets ``ids[:, 1:]``); ``hs`` [B*T, P]; ``y`` [B*T];
``cand`` [S]; ``log_q_true`` [B*T] and ``log_q_cand`` [S], the logs of the candidate sampler's
expected counts.

The loss is a sampled softmax: ``sampled`` unique candidates drawn from the unigram
distribution, the true word's and the candidates' logits corrected by their log expected
counts, accidental hits (a candidate equal to the target) removed. Field-hint targets leave
the loss and the perplexity: a hint is an input, never a prediction.

>>> steps = TrainSteps(cfg, mcfg, model, optimizer, strategy, unigrams, hint_ids)  # doctest: +SKIP
>>> loss, vote = steps.train_step(batch, seed, vote)  # doctest: +SKIP
"""

from __future__ import annotations

import tensorflow as tf

from kbd_lm.training import model as M

# The candidate sampler draws from the unigram counts raised to 0.75, as word2vec's negative
# sampling does (Mikolov et al. 2013, "Distributed Representations of Words and Phrases and
# their Compositionality"): frequent words are drawn less often than their share, rare ones
# more.
UNIGRAM_DISTORTION = 0.75
# The logit of an accidental hit: exp() of it is 0 in float32, so the hit leaves the softmax.
REMOVED_LOGIT = -1e9


def dropout(x, rate: float, seed):
    """Inverted dropout of ``x`` with a stateless mask (``seed`` [2] int32): the same seed
    drops the same units, so a resumed run repeats the masks."""
    keep = tf.random.stateless_uniform(tf.shape(x), seed=seed) >= rate
    return tf.where(keep, x / (1.0 - rate), 0.0)


class TrainSteps:
    """The train and eval steps of one model, as ``tf.function`` graphs.

    ``cfg`` the :class:`~kbd_lm.training.config.TrainConfig`, ``mcfg`` its
    :class:`~kbd_lm.training.model.ModelConfig`, ``model`` the
    :class:`~kbd_lm.training.model.LanguageModel` whose variables the optimizer updates,
    ``unigrams`` the candidate sampler's counts (one per vocabulary id), ``hint_ids`` the
    field-hint ids (none: an empty list).
    """

    def __init__(self, cfg, mcfg, model, optimizer, strategy, unigrams, hint_ids) -> None:
        self.cfg, self.mcfg, self.optimizer, self.strategy = cfg, mcfg, optimizer, strategy
        self.unigrams = unigrams
        self.names = list(model.w)
        self.variables = [model.w[n] for n in self.names]
        self.has_hints = bool(hint_ids)
        self.hint_ids = tf.constant(hint_ids or [-1], tf.int32)
        # On one device the optimizer update goes into the same function as the gradients
        # (faster); under a multi-replica strategy it stays outside, where gradients are
        # all-reduced.
        self.fused = cfg.strategy == "one_device"
        self.grad_step_c = tf.function(self.grad_step, jit_compile=cfg.jit)
        self.update_step_c = tf.function(self.update_step, jit_compile=cfg.jit)
        self.train_step = tf.function(self._train_step)
        self.eval_step = tf.function(self._eval_step, jit_compile=cfg.jit)

    # ------------------------------------------------------------------ forward and losses

    def weights(self) -> dict:
        """The variables as tensors, name -> tensor (what the tape watches)."""
        return dict(zip(self.names, [tf.convert_to_tensor(v) for v in self.variables], strict=True))

    def forward(self, w, ids, seed, training: bool):
        """(hs [B*T, P], y [B*T]): the cell's outputs over the window from a zero state, and
        the targets. Dropout (training only) on the embeddings and on the outputs."""
        cfg, mcfg = self.cfg, self.mcfg
        x = tf.gather(w["embedding"], ids[:, :-1])  # [B, T, P]
        if training and cfg.dropout > 0:
            x = dropout(x, cfg.dropout, seed)
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
            hs = dropout(hs, cfg.dropout, seed + 1)
        return hs, tf.reshape(ids[:, 1:], [-1])

    def target_mask(self, y):
        """1. for a target that counts, 0. for a field hint (an input only). [B*T]"""
        hint = tf.equal(y[:, None], self.hint_ids[None, :])  # [B*T, hints]
        return tf.cast(~tf.reduce_any(hint, 1), tf.float32)

    def mean_loss(self, per_target, y):
        """The mean of ``per_target`` [B*T] over the targets that count."""
        if not self.has_hints:
            return tf.reduce_mean(per_target)
        keep = self.target_mask(y)
        return tf.reduce_sum(per_target * keep) / tf.maximum(tf.reduce_sum(keep), 1.0)

    def sampled_loss(self, w, hs, y, cand, log_q_true, log_q_cand):
        """Sampled-softmax loss (a scalar) of the targets ``y`` against the candidates."""
        true_logit = (
            tf.reduce_sum(hs * tf.gather(w["embedding"], y), -1)
            + tf.gather(w["out_bias"], y)
            - log_q_true
        )  # [B*T]
        cand_logit = tf.matmul(hs, tf.gather(w["embedding"], cand), transpose_b=True) + (
            tf.gather(w["out_bias"], cand) - log_q_cand
        )  # [B*T, S]
        hit = tf.equal(y[:, None], cand[None, :])
        cand_logit = tf.where(hit, REMOVED_LOGIT, cand_logit)  # accidental hits removed
        logits = tf.concat([true_logit[:, None], cand_logit], 1)  # [B*T, 1 + S]
        return self.mean_loss(tf.reduce_logsumexp(logits, 1) - true_logit, y)

    def full_loss(self, w, hs, y):
        """Full-softmax loss (a scalar) of the targets ``y``."""
        logits = M.output_logits(w, hs)  # [B*T, V]
        per_target = tf.nn.sparse_softmax_cross_entropy_with_logits(labels=y, logits=logits)
        return self.mean_loss(per_target, y)

    def candidates(self, ids):
        """(cand [S] int32, log_q_true [B*T], log_q_cand [S]) for the batch's targets; with
        the full softmax (``sampled = 0``) placeholders the loss does not read."""
        cfg = self.cfg
        if not cfg.sampled:
            return tf.zeros([1], tf.int32), tf.zeros([1]), tf.zeros([1])
        y = tf.cast(tf.reshape(ids[:, 1:], [-1, 1]), tf.int64)  # [B*T, 1]
        cand, true_ec, cand_ec = tf.random.fixed_unigram_candidate_sampler(
            y,
            1,
            cfg.sampled,
            True,
            self.mcfg.vocab_size,
            distortion=UNIGRAM_DISTORTION,
            unigrams=self.unigrams,
            seed=cfg.seed,
        )
        return tf.cast(cand, tf.int32), tf.math.log(tf.reshape(true_ec, [-1])), tf.math.log(cand_ec)

    # ------------------------------------------------------------------ steps

    def grad_step(self, ids, cand, log_q_true, log_q_cand, seed):
        """(loss, gradients in ``self.names`` order) of one batch."""
        with tf.GradientTape() as tape:
            w = self.weights()
            tape.watch(list(w.values()))
            hs, y = self.forward(w, ids, seed, True)
            if self.cfg.sampled:
                loss = self.sampled_loss(w, hs, y, cand, log_q_true, log_q_cand)
            else:
                loss = self.full_loss(w, hs, y)
        grads = tape.gradient(loss, [w[n] for n in self.names])
        grads = [tf.convert_to_tensor(g) for g in grads]  # IndexedSlices -> dense
        return loss, grads

    def update_step(self, ids, cand, log_q_true, log_q_cand, seed):
        """:meth:`grad_step` and the optimizer update; the loss."""
        loss, grads = self.grad_step(ids, cand, log_q_true, log_q_cand, seed)
        self.optimizer.apply_gradients(zip(grads, self.variables, strict=False))
        return loss

    def replica_step(self, ids, cand, log_q_true, log_q_cand, seed, vote):
        """One replica's share of :meth:`_train_step`: (loss, vote summed over the workers)."""
        if self.fused:
            return self.update_step_c(ids, cand, log_q_true, log_q_cand, seed), vote
        # Each worker's gradients are those of its local mean loss; one all-reduce averages
        # them (with the losses, and sums the stop votes), so every worker applies the update
        # one worker would make on the global batch. Clipping comes after the all-reduce, on
        # the global gradients, as on one worker.
        loss, grads = self.grad_step_c(ids, cand, log_q_true, log_q_cand, seed)
        ctx = tf.distribute.get_replica_context()
        n = float(ctx.num_replicas_in_sync)
        *grads, loss, vote = ctx.all_reduce(
            # identity: on this replica's device, where the all-reduce wants it
            tf.distribute.ReduceOp.SUM,
            [g / n for g in grads] + [loss / n, tf.identity(vote)],
        )
        if self.cfg.clipnorm > 0:
            grads, _ = tf.clip_by_global_norm(grads, self.cfg.clipnorm)
        self.optimizer.apply_gradients(zip(grads, self.variables, strict=False))
        return loss, vote

    def _train_step(self, ids, seed, vote):
        """(loss, summed vote): ``vote`` [2] is this worker's
        :func:`~kbd_lm.training.loop.time_vote` (its vote to end the run, and its share of
        the mean elapsed fraction of the time budget)."""
        cand, log_q_true, log_q_cand = self.candidates(ids)
        out = self.strategy.run(self.replica_step, (ids, cand, log_q_true, log_q_cand, seed, vote))
        return [self.strategy.experimental_local_results(v)[0] for v in out]

    def _eval_step(self, ids):
        """Full-softmax negative log-likelihood summed per window, [B]; hint targets count 0."""
        w = self.weights()
        hs, y = self.forward(w, ids, tf.zeros([2], tf.int32), False)
        logits = M.output_logits(w, hs)  # [B*T, V]
        nll = tf.nn.sparse_softmax_cross_entropy_with_logits(labels=y, logits=logits)
        if self.has_hints:
            nll = nll * self.target_mask(y)
        return tf.reduce_sum(tf.reshape(nll, [tf.shape(ids)[0], -1]), 1)  # [B] per window
