"""Export: ``export(checkpoint, config) -> Path`` writes the on-device bundle.

1. Rebuild the trained cell as a ``tf.Module`` holding the weights, with one ``step``
   signature and explicit state: ids [B] int32, h [B, P], c [B, N] -> logprobs [B, V],
   h_out, c_out. No TF variables survive conversion and no stateful layers exist: the app
   owns the state, so one model serves many text fields and all beams of a search (B rows).
2. Convert it with TFLite builtins only, once per quantization preset; check the op list
   against the allowlist of :mod:`kbd_lm.export.ops`.
3. Measure each preset: size, agreement with the Keras model on held-out contexts, step latency.
4. Write ``model.tflite`` (the chosen preset), ``tokenizer.model``, ``manifest.json``
   (a :class:`kbd_lm.inference.bundle.Manifest`), ``ops.txt`` and ``op_resolver.cc`` into a
   temporary
   folder, verify it in both runtimes, and rename it into place.

>>> cfg = load_config(ExportConfig, "export", "default")   # doctest: +SKIP
>>> export(Path("runs/default"), cfg)                      # doctest: +SKIP
PosixPath('dist/bundle')
"""

from __future__ import annotations

import datetime as dt
import logging
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np

from kbd_lm.common.config import to_toml
from kbd_lm.common.fsutil import atomic_dir
from kbd_lm.common.stats import percentiles
from kbd_lm.export import ops as O
from kbd_lm.export import portable
from kbd_lm.export import signatures as S
from kbd_lm.export.blocklist import BLOCKLIST_FILE, write_blocklist
from kbd_lm.inference import bundle as B
from kbd_lm.inference import conformance, lexicon
from kbd_lm.inference.runtime import StepModel, runtime_version
from kbd_lm.text.tokenizer import BOS_ID, EOS_ID, PAD_ID, UNK_ID, Tokenizer
from kbd_lm.training import checkpoint as C

log = logging.getLogger(__name__)

Quantization = Literal["float32", "float16", "dynamic", "int8"]
PRESETS: tuple[str, ...] = ("float32", "float16", "dynamic", "int8")


@dataclass(frozen=True)
class ExportConfig:
    """How to export. Presets live in ``kbd_lm/configs/export/``; the defaults are ``default``."""

    checkpoint: str = "runs/default"
    out_dir: str = "dist/bundle"
    quantization: Quantization = "dynamic"
    # Also convert and measure every other preset, for the report (the bundle holds one).
    compare_presets: bool = True
    agreement_contexts: int = 256  # held-out windows from the validation split
    context_tokens: int = 16
    calibration_samples: int = 256  # int8: representative states from the validation split
    latency_calls: int = 2000
    # Fail if the shipped files (manifest: shipped_bytes) exceed this many bytes; 0 = no limit.
    max_model_bytes: int = 1_500_000
    verify_tflite_runtime: bool = True
    seed: int = 0
    # Optional word n-gram (Kneser-Ney trigram on the train split) shipped in the bundle and
    # interpolated with the neural model by the predictor: its size in bytes, 0 = none,
    # -1 = whatever is left of max_model_bytes after the model and the tokenizer.
    ngram_bytes: int = 0
    # The NEURAL model's share of the interpolated probability (manifest: ngram.neural_weight);
    # the n-gram gets 1 - ngram_weight.
    ngram_weight: float = 0.5
    # A word list for completions (kbd_lm.inference.lexicon): the most frequent words of the train
    # split
    # that fit in this many bytes (gzip); 0 = none.
    lexicon_bytes: int = 128_000
    # Fixed-batch copies of the signatures (step1, advance1, step2, ...) for LiteRT.js, which
    # cannot resize; () = none. See kbd_lm.export.signatures.
    fixed_batches: tuple[int, ...] = S.DEFAULT_FIXED_BATCHES
    conformance_vectors: bool = True  # write conformance.jsonl (a test file, not shipped)
    # Offensive words never suggested (kbd_lm.export.blocklist): a pinned package, a local
    # file, or "" for none; packages are fetched once into blocklist_cache.
    blocklist: str = "npm:naughty-words@1.2.0"
    blocklist_cache: str = "data/downloads"


# ------------------------------------------------------------------------- the step graph


def step_module(mcfg, weights: dict[str, np.ndarray]):
    """A ``tf.Module`` whose ``step`` function is the bundle's signature."""
    import tensorflow as tf

    from kbd_lm.training import model as M

    state_spec = [
        tf.TensorSpec([None], tf.int32, name="ids"),  # [B] token ids
        tf.TensorSpec([None, mcfg.embed_dim], tf.float32, name="h"),  # [B, P]
        tf.TensorSpec([None, mcfg.units], tf.float32, name="c"),  # [B, N]
    ]

    class Step(tf.Module):
        def __init__(self):
            super().__init__()
            # Variables, not Keras layers: converted to constants, each weight stored once.
            self.w = {k: tf.Variable(v, trainable=False, name=k) for k, v in weights.items()}

        @tf.function(input_signature=state_spec)
        def step(self, ids, h, c):
            x = tf.gather(self.w["embedding"], ids)  # [B, P]
            h2, c2 = M.cell_step(mcfg.cell, self.w, x, h, c)
            logprobs = tf.nn.log_softmax(M.output_logits(self.w, h2))  # [B, V]
            return {"logprobs": logprobs, "h_out": h2, "c_out": c2}

        @tf.function(input_signature=state_spec)
        def advance(self, ids, h, c):
            # The cell without the output layer (most of a step's cost): for context tokens
            # whose next-token distribution is not needed. Shares the weights with ``step``.
            x = tf.gather(self.w["embedding"], ids)
            h2, c2 = M.cell_step(mcfg.cell, self.w, x, h, c)
            return {"h_out": h2, "c_out": c2}

    return Step()


def convert(
    saved_model_dir: Path, quantization: str, representative=None, extra_signatures=()
) -> bytes:
    """Convert the saved signatures (``step``, ``advance`` + extra) with one quantization preset."""
    import tensorflow as tf

    conv = tf.lite.TFLiteConverter.from_saved_model(
        str(saved_model_dir),
        signature_keys=[B.STEP_SIGNATURE, B.ADVANCE_SIGNATURE, *extra_signatures],
    )
    conv.target_spec.supported_ops = O.converter_ops(quantization)
    if quantization != "float32":
        conv.optimizations = [tf.lite.Optimize.DEFAULT]
    if quantization == "float16":
        conv.target_spec.supported_types = [tf.float16]
    if quantization in ("dynamic", "int8"):
        # Per-tensor scales: per-channel kept two copies of the tied embedding and needs
        # FULLY_CONNECTED v12 (runtime >= 2.17), which tflite-runtime 2.14 cannot load.
        conv._experimental_disable_per_channel = True
    if quantization == "int8":
        if representative is None:
            raise ValueError("int8 needs a representative dataset")
        conv.representative_dataset = representative
    return conv.convert()


# ------------------------------------------------------------------------- measurements


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


# ------------------------------------------------------------------------- entry point


def export(checkpoint: Path, config: ExportConfig) -> Path:
    """Convert the checkpoint into a verified bundle at ``config.out_dir``; return its path."""
    import tensorflow as tf

    from kbd_lm.dataset.corpus import prepare
    from kbd_lm.training.model import check_weights, mult_adds_per_token, param_count

    t0 = time.monotonic()
    ckpt = C.read(checkpoint)
    train_cfg, weights, tok = ckpt.config, ckpt.weights, ckpt.tokenizer
    mcfg = train_cfg.model_config(tok.vocab_size)
    # The weights must be the model its config and tokenizer describe (names and shapes).
    try:
        check_weights(mcfg, weights)
    except ValueError as err:
        raise C.CheckpointError(
            f"{Path(checkpoint) / C.WEIGHTS_FILE}: {err}, "
            f"for a tokenizer of {tok.vocab_size} pieces"
        ) from err
    corpus = prepare(train_cfg.corpus, Path(train_cfg.cache_dir))
    valid_units = list(corpus.units("valid"))
    windows = heldout_windows(
        tok, valid_units, config.agreement_contexts, config.context_tokens, config.seed
    )
    reference = keras_logprobs(train_cfg, weights, windows)
    module = step_module(mcfg, weights)
    fixed = S.signature_names(config.fixed_batches)

    def representative():
        # Realistic (ids, h, c) triples: states reached while reading validation text.
        cal = heldout_windows(tok, valid_units, config.calibration_samples, 8, config.seed + 1)
        h = np.zeros((1, mcfg.embed_dim), np.float32)
        c = np.zeros((1, mcfg.units), np.float32)
        for row in cal:
            h[:], c[:] = 0, 0
            for t, token in enumerate(row):
                ids = np.array([token], np.int32)
                if t == len(row) - 1 or t % 3 == 0:
                    sample = {"ids": ids, "h": h.copy(), "c": c.copy()}
                    # (signature, inputs): every signature of the model is calibrated
                    for name in (B.STEP_SIGNATURE, B.ADVANCE_SIGNATURE, *fixed):
                        yield name, S.calibration(name, sample)
                out = module.step(tf.constant(ids), tf.constant(h), tf.constant(c))
                h, c = out["h_out"].numpy(), out["c_out"].numpy()

    presets = PRESETS if config.compare_presets else (config.quantization,)
    report: dict[str, dict] = {}
    models: dict[str, bytes] = {}
    with tempfile.TemporaryDirectory() as tmp:
        saved = Path(tmp) / "saved_model"
        tf.saved_model.save(
            module,
            str(saved),
            signatures={
                B.STEP_SIGNATURE: module.step,
                B.ADVANCE_SIGNATURE: module.advance,
                **S.fixed_signatures(module, mcfg, config.fixed_batches),
            },
        )
        for preset in presets:
            t = time.monotonic()
            model = convert(saved, preset, representative if preset == "int8" else None, fixed)
            ops = O.model_ops(model)
            O.check_ops(ops)
            path = Path(tmp) / f"{preset}.tflite"
            path.write_bytes(model)
            step = StepModel(path, batch=len(windows))
            agree = agreement(reference, step.run_windows(windows))
            latency = step_latency_us(path, config.latency_calls)
            models[preset] = model
            report[preset] = {
                "bytes": len(model),
                **agree,
                "step_us": latency,
                "min_runtime_version": O.min_runtime_version(model),
                "convert_seconds": round(time.monotonic() - t, 1),
            }
            log.info(
                "%-8s %9s bytes  top-1 %.3f  top-3 %.3f  max |dlogp| %.3f  "
                "step p50 %.0f us p99 %.0f us  (runtime >= %s)",
                preset,
                f"{len(model):,}",
                agree["top1"],
                agree["top3"],
                agree["max_logprob_error"],
                latency["p50"],
                latency["p99"],
                report[preset]["min_runtime_version"],
            )

    chosen = models[config.quantization]
    ops = O.model_ops(chosen)
    out_dir = Path(config.out_dir)
    with atomic_dir(out_dir) as tmp:
        (tmp / B.MODEL_FILE).write_bytes(chosen)
        (tmp / B.TOKENIZER_FILE).write_bytes(tok.proto)
        portable.write_tokenizer_json(tok, tmp / portable.TOKENIZER_JSON)  # for ports (browser)
        (tmp / B.OPS_FILE).write_text(O.op_list_txt(ops))
        (tmp / B.OP_RESOLVER_FILE).write_text(O.op_resolver_cc(ops))
        (tmp / B.EXPORT_CONFIG_FILE).write_text(to_toml(config))
        (tmp / B.TRAIN_CONFIG_FILE).write_text(to_toml(train_cfg))
        ngram = None
        if config.ngram_bytes:
            budget = config.ngram_bytes
            if budget < 0:
                if not config.max_model_bytes:
                    raise ValueError("ngram_bytes = -1 needs max_model_bytes")
                budget = config.max_model_bytes - len(chosen) - len(tok.proto) - 1024
            ngram = write_ngram(
                corpus, tmp / B.NGRAM_FILE, budget, config.ngram_weight, Path(train_cfg.cache_dir)
            )
        if config.lexicon_bytes:
            lexicon.build(corpus.units("train"), config.lexicon_bytes).save(tmp / lexicon.FILE)
        blocklist = write_blocklist(
            config.blocklist, tmp / BLOCKLIST_FILE, Path(config.blocklist_cache)
        )
        verified = {
            f"ai-edge-litert {runtime_version('litert')}": report[config.quantization]["top3"]
        }
        if config.verify_tflite_runtime:
            agree_old = agreement(reference, tflite_runtime_logprobs(tmp / B.MODEL_FILE, windows))
            verified[f"tflite-runtime {runtime_version('tflite-runtime')}"] = agree_old["top3"]
            log.info("tflite-runtime: top-1 %.3f top-3 %.3f", agree_old["top1"], agree_old["top3"])
        summary = ckpt.summary
        manifest = B.Manifest(
            name=f"kbd-lm-{mcfg.cell}{mcfg.units}-v{mcfg.vocab_size}",
            created=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            quantization=config.quantization,
            model=B.ModelSpec(
                cell=mcfg.cell,
                units=mcfg.units,
                embed_dim=mcfg.embed_dim,
                vocab_size=mcfg.vocab_size,
                parameters=param_count(mcfg),
                mult_adds_per_token=mult_adds_per_token(mcfg),
            ),
            tokenizer=B.TokenizerSpec(
                type="sentencepiece-unigram",
                vocab_size=tok.vocab_size,
                special_ids={"pad": PAD_ID, "unk": UNK_ID, "bos": BOS_ID, "eos": EOS_ID},
                unit="BOS [hint] pieces EOS" if tok.hint_ids else "BOS pieces EOS",
                hints=tok.hint_ids,
            ),
            ops=tuple(B.OpEntry(o.name, o.version) for o in ops),
            min_runtime_version=O.min_runtime_version(chosen),
            signatures={
                **signature_manifest(mcfg),
                **S.fixed_manifest(mcfg, config.fixed_batches),
            },
            decoding=B.decoding_for(config.fixed_batches),  # beam width, batches, constants
            runtimes_verified=verified,
            ngram=ngram,
            blocklist=blocklist,
            training={
                "corpus": corpus.stats.get("name"),
                "split": corpus.stats.get("split_rule"),
                "valid_ppl_word": summary.get("valid_ppl_word"),
                "valid_ppl_token": summary.get("valid_ppl_token"),
                "tokens_seen": summary.get("tokens_seen"),
                "train_minutes": summary.get("train_minutes"),
                "valid_ppl_word_macro": summary.get("valid_ppl_word_macro"),
                # A mixture's sources, each with its weight and the licence of its text.
                "sources": (summary.get("corpus") or {}).get("sources") or {},
            },
            presets=report,
        )
        # Every file written, shipped or test-only as the bundle's file table says.
        manifest = manifest.with_files(tmp)
        B.write(tmp, manifest)
        if config.conformance_vectors:  # the Python predictor's answers, for other decoders
            manifest = conformance.write_into_bundle(tmp, valid_units, config.seed)
        B.Bundle.load(tmp)  # the bundle verifies before it is renamed into place
        if config.max_model_bytes and manifest.shipped_bytes > config.max_model_bytes:
            raise ValueError(
                f"bundle is {manifest.shipped_bytes:,} bytes, over the limit of "
                f"{config.max_model_bytes:,} (max_model_bytes)"
            )
    log.info(
        "exported %s (%s %s, %s bytes shipped: %s) with %d ops in %.0f s",
        out_dir,
        manifest.model_name,
        config.quantization,
        f"{manifest.shipped_bytes:,}",
        " + ".join(f"{n} {manifest.files[n].bytes:,}" for n in manifest.shipped_files),
        len(ops),
        time.monotonic() - t0,
    )
    return out_dir


def signature_manifest(mcfg) -> dict:
    """The manifest's description of the two signatures (tensor names, shapes, dtypes)."""
    state = {
        "ids": {"shape": [-1], "dtype": "int32"},
        "h": {"shape": [-1, mcfg.embed_dim], "dtype": "float32"},
        "c": {"shape": [-1, mcfg.units], "dtype": "float32"},
    }
    new_state = {
        "h_out": {"shape": [-1, mcfg.embed_dim], "dtype": "float32"},
        "c_out": {"shape": [-1, mcfg.units], "dtype": "float32"},
    }
    batch = (
        "dynamic: resize ids, h and c to the same B before allocate_tensors; the state "
        "starts at zeros and is passed back in by the caller"
    )
    return {
        B.STEP_SIGNATURE: {
            "inputs": state,
            "outputs": {
                "logprobs": {"shape": [-1, mcfg.vocab_size], "dtype": "float32"},
                **new_state,
            },
            "batch": batch,
            "use": "next-token log-probabilities and the new state",
        },
        B.ADVANCE_SIGNATURE: {
            "inputs": state,
            "outputs": new_state,
            "batch": batch,
            "use": "the new state only (no output layer): for context tokens, about 5x cheaper",
        },
    }


def write_ngram(
    corpus, path: Path, max_bytes: int, neural_weight: float, cache_dir: Path
) -> B.NgramSpec:
    """Save the Kneser-Ney trigram of the train split within ``max_bytes`` at ``path``.

    The model comes from :func:`kbd_lm.evaluation.baseline.ngram_baseline` (cached in
    ``cache_dir``).
    Returns the manifest's ``ngram`` entry: file, interpolation weight, size and counts.
    """
    from kbd_lm.evaluation.baseline import ngram_baseline

    if not 0.0 < neural_weight < 1.0:
        raise ValueError(f"ngram_weight must be between 0 and 1, got {neural_weight}")
    model = ngram_baseline(corpus, max_bytes, cache_dir).load()
    model.save(path)
    log.info(
        "n-gram: %s bytes %s, neural model's weight %.2f",
        f"{path.stat().st_size:,}",
        model.counts(),
        neural_weight,
    )
    return B.NgramSpec(
        file=path.name,
        type="kneser-ney-trigram",
        neural_weight=neural_weight,
        bytes=path.stat().st_size,
        counts=model.counts(),
    )
