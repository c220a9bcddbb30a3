"""Fixed-batch copies of the bundle's signatures, inside the one model file.

``step`` and ``advance`` have a dynamic batch dimension: LiteRT (Python, Android, iOS) resizes
the inputs before ``allocate_tensors``. LiteRT.js (the browser) cannot run a dynamic batch
dimension, so the model also carries ``step1``, ``step2``, ... (one per fixed batch size) and
``advance1``: the same graph with B fixed in every shape, converted together with the dynamic
ones so that the weights are stored once (a default-size GRU bundle grows by about 4.5 kB a
signature, 1.5% for ``step1/2/4/8`` + ``advance1``).

>>> signature_names((1, 8))
['step1', 'advance1', 'step8']
"""

from __future__ import annotations

import numpy as np

from kbd_lm.inference import bundle as B

# The bundle format's batch sizes (beam width 8): kbd_lm.inference.decoding.DecodingSpec.
DEFAULT_FIXED_BATCHES = B.DecodingSpec().batch_sizes


def check_batches(batches: tuple[int, ...]) -> tuple[int, ...]:
    """Sorted, distinct batch sizes; 1 must be among them (the context runs one row). The
    manifest's ``decoding`` records them, and the largest as the beam width
    (:func:`kbd_lm.inference.decoding.decoding_for`, which checks them).

    >>> check_batches((8, 1, 4))
    (1, 4, 8)
    """
    out = tuple(sorted(set(batches)))
    if out:
        try:
            B.decoding_for(out)
        except ValueError as err:
            raise ValueError(f"fixed_batches: {err}") from err
    return out


def signature_names(batches: tuple[int, ...]) -> list[str]:
    """``step{B}`` for every batch size and ``advance1`` (context tokens run one at a time)."""
    names = []
    for b in check_batches(batches):
        names.append(f"{B.STEP_SIGNATURE}{b}")
        if b == 1:
            names.append(f"{B.ADVANCE_SIGNATURE}1")
    return names


def split_name(name: str) -> tuple[str, int | None]:
    """``"step8"`` -> ``("step", 8)``; a dynamic signature has no batch: ``("step", None)``.

    >>> split_name("advance1"), split_name("step")
    (('advance', 1), ('step', None))
    """
    base = name.rstrip("0123456789")
    return base, int(name[len(base) :]) if len(base) < len(name) else None


def _specs(mcfg, batch: int | None):
    import tensorflow as tf

    return [
        tf.TensorSpec([batch], tf.int32, name="ids"),  # [B] token ids
        tf.TensorSpec([batch, mcfg.embed_dim], tf.float32, name="h"),  # [B, P]
        tf.TensorSpec([batch, mcfg.units], tf.float32, name="c"),  # [B, N]
    ]


def fixed_signatures(module, mcfg, batches: tuple[int, ...]) -> dict:
    """Name -> concrete function of ``module.step`` / ``module.advance`` at a fixed batch.

    ``module`` is :func:`kbd_lm.export.convert.step_module`'s; the functions close over its
    weights, so ``tf.saved_model.save(module, dir, signatures={...})`` stores them once.
    """
    import tensorflow as tf

    # Retrace the same Python bodies without the dynamic input signature.
    bodies = {
        B.STEP_SIGNATURE: tf.function(module.step.python_function),
        B.ADVANCE_SIGNATURE: tf.function(module.advance.python_function),
    }
    out = {}
    for name in signature_names(batches):
        kind, batch = split_name(name)
        out[name] = bodies[kind].get_concrete_function(*_specs(mcfg, batch))
    return out


def calibration(name: str, sample: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """A one-row calibration sample tiled to the batch size in a fixed signature's name."""
    batch = split_name(name)[1]
    return {k: np.repeat(v, batch, axis=0) for k, v in sample.items()} if batch else sample


def fixed_manifest(mcfg, batches: tuple[int, ...]) -> dict:
    """The manifest entries of the fixed-batch signatures (tensor names, shapes, dtypes)."""
    out = {}
    for name in signature_names(batches):
        base, b = split_name(name)
        state = {
            "ids": {"shape": [b], "dtype": "int32"},
            "h": {"shape": [b, mcfg.embed_dim], "dtype": "float32"},
            "c": {"shape": [b, mcfg.units], "dtype": "float32"},
        }
        outputs = {
            "h_out": {"shape": [b, mcfg.embed_dim], "dtype": "float32"},
            "c_out": {"shape": [b, mcfg.units], "dtype": "float32"},
        }
        if base == B.STEP_SIGNATURE:
            outputs = {"logprobs": {"shape": [b, mcfg.vocab_size], "dtype": "float32"}, **outputs}
        out[name] = {
            "inputs": state,
            "outputs": outputs,
            "batch": f"fixed at {b}: for runtimes that cannot resize inputs (LiteRT.js); "
            "pad unused rows with zeros (rows are independent)",
            "use": f"same as {base!r}, same weights",
        }
    return out
