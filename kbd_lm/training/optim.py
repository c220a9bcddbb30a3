"""Optimisation pieces of training: the distribution strategy, the learning-rate schedule
and the Adam variant for gradients the train step has already all-reduced.

>>> float(WarmupCosine(1e-2, 1e-4, 10, 1000)(0))  # doctest: +SKIP
0.001

Nothing here imports TensorFlow at import time.
"""

from __future__ import annotations

import math


def strategy_for(name: str):
    import tensorflow as tf

    if name == "one_device":
        return tf.distribute.OneDeviceStrategy("/cpu:0")
    if name == "mirrored":
        return tf.distribute.MirroredStrategy()
    return tf.distribute.MultiWorkerMirroredStrategy()  # reads TF_CONFIG


def reduced_adam_class():
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
        """Linear warm-up to ``peak`` then cosine decay to ``floor`` at ``total`` steps.

        With a time budget the decay also follows the clock: ``time_frac`` (elapsed / budget,
        set by the training loop) moves it on when steps come slower than planned, so the
        rate reaches ``floor`` when the budget runs out whatever the machine's speed.
        """

        def __init__(self, peak, floor, warmup, total):
            import tensorflow as tf

            self.peak, self.floor, self.warmup, self.total = peak, floor, warmup, total
            self.time_frac = tf.Variable(0.0, trainable=False, dtype="float32")

        def __call__(self, step):
            step = keras.ops.cast(step, "float32")
            warm = self.peak * (step + 1.0) / max(1, self.warmup)
            frac = keras.ops.clip((step - self.warmup) / max(1, self.total - self.warmup), 0.0, 1.0)
            frac = keras.ops.maximum(frac, keras.ops.clip(self.time_frac, 0.0, 1.0))
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
