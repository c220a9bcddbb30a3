"""What export measures of a converted model: agreement with the Keras model on held-out
text, step latency, and the same windows run in tflite-runtime 2.14.

>>> windows = heldout_windows(tok, valid_units, n=256, length=16, seed=0)  # doctest: +SKIP
>>> agreement(keras_logprobs(train_cfg, weights, windows), litert_logprobs)  # doctest: +SKIP
{'top1': 0.98, 'top3': 0.95, 'max_logprob_error': 0.4}
"""

from __future__ import annotations

import logging
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from kbd_lm.common.stats import percentiles
from kbd_lm.export import ops as O
from kbd_lm.inference.runtime import StepModel
from kbd_lm.text.tokenizer import Tokenizer

log = logging.getLogger(__name__)


def heldout_windows(tok: Tokenizer, valid_units: list[str], n: int, length: int, seed: int):
    """``n`` token windows [n, length] from the validation split, each starting at a unit."""
    rng = np.random.default_rng(seed)
    out = []
    for i in rng.permutation(len(valid_units)):
        ids = tok.encode_unit(valid_units[i])[:-1]  # context never includes the final EOS
        if len(ids) >= 2:
            ids = (ids * (length // len(ids) + 1))[:length] if len(ids) < length else ids[:length]
            out.append(ids)
        if len(out) == n:
            break
    return np.asarray(out, np.int32)


def keras_logprobs(train_cfg, weights, windows) -> np.ndarray:
    """Reference log-probs after the last token of each window, from the Keras model."""
    import tensorflow as tf

    from kbd_lm.training.model import build_model

    model = build_model(train_cfg.model_config(weights["embedding"].shape[0]))
    model.set_numpy_weights(weights)
    logits = model(tf.constant(windows))[:, -1]
    return tf.nn.log_softmax(logits).numpy()


def agreement(reference: np.ndarray, candidate: np.ndarray) -> dict:
    """Top-1 / top-3 agreement of next-token ranking and the log-prob error.

    top3 is the mean overlap of the two top-3 sets (1.0 = same three tokens); the log-prob
    error is the largest absolute difference over the reference's top-10 tokens.
    """
    ref_top = np.argsort(-reference, axis=1)[:, :10]
    cand_top = np.argsort(-candidate, axis=1)[:, :3]
    top1 = float(np.mean(ref_top[:, 0] == cand_top[:, 0]))
    overlap = [len(set(a[:3]) & set(b)) / 3 for a, b in zip(ref_top, cand_top, strict=True)]
    top3 = float(np.mean(overlap))
    rows = np.arange(len(reference))[:, None]
    err = float(np.max(np.abs(reference[rows, ref_top] - candidate[rows, ref_top])))
    return {"top1": top1, "top3": top3, "max_logprob_error": err}


def step_latency_us(model_path: Path, calls: int, batch: int = 1) -> dict:
    """p50/p99 of one ``step`` call in LiteRT, one thread, XNNPACK, after 100 warm-up calls."""
    step = StepModel(model_path, batch=batch, num_threads=1)
    ids = np.full([batch], 5, np.int32)
    h, c = step.zero_state()
    for _ in range(100):
        _, h, c = step.step(ids, h, c)
    times = np.empty(calls)
    for i in range(calls):
        t = time.perf_counter()
        _, h, c = step.step(ids, h, c)
        times[i] = time.perf_counter() - t
    return {name: value * 1e6 for name, value in percentiles(times).items()}


def tflite_runtime_logprobs(model_path: Path, windows: np.ndarray) -> np.ndarray:
    """Run the windows in tflite-runtime 2.14, in its own process (it cannot share one with TF)."""
    with tempfile.TemporaryDirectory() as tmp:
        w, out = Path(tmp) / "w.npy", Path(tmp) / "out.npy"
        np.save(w, windows)
        proc = subprocess.run(
            [
                sys.executable,
                "-m",
                "kbd_lm.inference.runtime",
                str(model_path),
                str(w),
                str(out),
                "tflite-runtime",
            ],
            capture_output=True,
            text=True,
            timeout=300,
        )
        if proc.returncode != 0:
            raise RuntimeError(f"tflite-runtime could not run {model_path}:\n{proc.stderr[-2000:]}")
        return np.load(out)


def measure_preset(path: Path, windows, reference, latency_calls: int) -> dict:
    """The manifest's ``presets`` entry of the model at ``path``: size, agreement with the
    Keras model's ``reference`` log-probs on ``windows``, step latency, minimum runtime."""
    model = path.read_bytes()
    agree = agreement(reference, StepModel(path, batch=len(windows)).run_windows(windows))
    latency = step_latency_us(path, latency_calls)
    entry = {
        "bytes": len(model),
        **agree,
        "step_us": latency,
        "min_runtime_version": O.min_runtime_version(model),
    }
    log.info(
        "%-8s %9s bytes  top-1 %.3f  top-3 %.3f  max |dlogp| %.3f  "
        "step p50 %.0f us p99 %.0f us  (runtime >= %s)",
        path.stem,
        f"{len(model):,}",
        agree["top1"],
        agree["top3"],
        agree["max_logprob_error"],
        latency["p50"],
        latency["p99"],
        entry["min_runtime_version"],
    )
    return entry
