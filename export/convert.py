"""Export: ``export(checkpoint, config) -> Path`` writes the on-device bundle, in steps:

1. :func:`load_checkpoint`: read the checkpoint, check its weights against its config.
2. :func:`convert_presets`: rebuild the trained cell as a ``tf.Module`` holding the weights
   (:func:`step_module`: ``step`` and ``advance`` signatures with explicit state, ids [B]
   int32, h [B, P], c [B, N] -> logprobs [B, V], h_out, c_out; the app owns the state, so one
   model serves many text fields and all beams of a search), convert it with TFLite builtins
   only once per quantization preset, check the ops against :mod:`kbd_lm.export.ops`, and
   measure each preset against the Keras model (:mod:`kbd_lm.export.measure`).
3. Into a temporary folder: :func:`write_model_files` (model, tokenizer, ops, configs, the
   typing channel's ``typing.json``), the blocklist, the word list and
   :func:`write_ngram_within_budget`.
4. :func:`verify_runtimes`: the model in LiteRT and tflite-runtime 2.14.
5. :func:`build_manifest` and :func:`list_files`: ``manifest.json``.
6. :func:`write_conformance`: the test vectors, with each runtime's measured tolerance.
7. :func:`check_folder`: the bundle verifies, holds exactly its manifest's files and fits
   ``max_model_bytes``; then the folder is renamed into place.

>>> cfg = load_config(ExportConfig, "export", "default")   # doctest: +SKIP
>>> export(Path("runs/default"), cfg)                      # doctest: +SKIP
PosixPath('dist/bundle')
"""

from __future__ import annotations

import datetime as dt
import logging
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar, Literal

import numpy as np

import kbd_lm
from kbd_lm.common.config import to_toml
from kbd_lm.common.fsutil import atomic_dir
from kbd_lm.export import ops as O
from kbd_lm.export import portable
from kbd_lm.export import signatures as S
from kbd_lm.export.blocklist import BLOCKLIST_FILE, write_blocklist
from kbd_lm.export.measure import (
    agreement,
    heldout_windows,
    keras_logprobs,
    measure_preset,
    tflite_runtime_logprobs,
)
from kbd_lm.inference import bundle as B
from kbd_lm.inference import conformance, lexicon
from kbd_lm.inference.runtime import runtime_version
from kbd_lm.inference.tolerance import ToleranceError
from kbd_lm.text.tokenizer import BOS_ID, EOS_ID, PAD_ID, UNK_ID
from kbd_lm.training import checkpoint as C
from kbd_lm.typing.spec import TypingSpec

log = logging.getLogger(__name__)

Quantization = Literal["float32", "float16", "dynamic", "int8"]
PRESETS: tuple[str, ...] = ("float32", "float16", "dynamic", "int8")
# int8 calibration reads windows of this many tokens from the start of validation units (zero
# state, then the states of a short message's first words): calibration_samples windows of 8
# eager TensorFlow steps take seconds. A choice, not a measurement.
CALIBRATION_TOKENS = 8
# ... and keeps every third state of a window, and the last: consecutive states are much alike,
# and the converter calibrates on every sample it gets (4 a window: about 1,000 in all).
CALIBRATION_STRIDE = 3


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
    # Also run the model in tflite-runtime 2.14: its agreement with Keras (manifest:
    # runtimes_verified) and its answers to the conformance cases (their tolerance for it).
    verify_tflite_runtime: bool = True
    seed: int = 0
    # Optional word n-gram (Kneser-Ney trigram on the train split) shipped in the bundle and
    # interpolated with the neural model by the predictor: its size in bytes, 0 = none,
    # -1 = whatever max_model_bytes leaves after the other shipped files.
    ngram_bytes: int = 0
    # With an n-gram: the neural model's share of the interpolated probability (manifest:
    # ngram.neural_weight); the n-gram gets 1 - neural_weight. Called ngram_weight before 0.9.0.
    neural_weight: float = 0.5
    # A word list for completions (kbd_lm.inference.lexicon): the most frequent words of the
    # train split that fit in this many bytes (gzip); 0 = none.
    lexicon_bytes: int = 128_000
    # Fixed-batch copies of the signatures (step1, advance1, step2, ...) for LiteRT.js, which
    # cannot resize; () = none. See kbd_lm.export.signatures.
    fixed_batches: tuple[int, ...] = S.DEFAULT_FIXED_BATCHES
    conformance_vectors: bool = True  # write conformance.jsonl (a test file, not shipped to phones)
    # Offensive words never suggested (kbd_lm.export.blocklist): a pinned package, a local
    # file, or "" for none; packages are fetched once into blocklist_cache.
    blocklist: str = "npm:naughty-words@1.2.0"
    blocklist_cache: str = "data/downloads"

    # Keys of earlier versions: refused with a message naming the new key (kbd_lm.common.config).
    RENAMED: ClassVar[dict[str, str]] = {"ngram_weight": "neural_weight"}


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


# ------------------------------------------------------------------------- entry point


def export(checkpoint: Path, config: ExportConfig) -> Path:
    """Convert the checkpoint into a verified bundle at ``config.out_dir``; return its path."""
    from kbd_lm.dataset.corpus import prepare

    t0 = time.monotonic()
    ckpt = load_checkpoint(checkpoint)
    train_cfg, tok = ckpt.config, ckpt.tokenizer
    corpus = prepare(train_cfg.corpus, Path(train_cfg.cache_dir))
    valid_units = list(corpus.units("valid"))
    windows = heldout_windows(
        tok, valid_units, config.agreement_contexts, config.context_tokens, config.seed
    )  # [n, context_tokens]
    reference = keras_logprobs(train_cfg, ckpt.weights, windows)  # [n, V]
    models, report = convert_presets(ckpt, config, valid_units, windows, reference)
    chosen = models[config.quantization]
    out_dir = Path(config.out_dir)
    with atomic_dir(out_dir) as tmp:
        write_model_files(tmp, chosen, ckpt, config)
        blocklist = write_blocklist(
            config.blocklist, tmp / BLOCKLIST_FILE, Path(config.blocklist_cache)
        )
        if config.lexicon_bytes:
            lexicon.build(corpus.units("train"), config.lexicon_bytes).save(tmp / lexicon.FILE)
        ngram = write_ngram_within_budget(tmp, corpus, config, Path(train_cfg.cache_dir))
        verified = verify_runtimes(tmp / B.MODEL_FILE, windows, reference, report, config)
        manifest = build_manifest(ckpt, corpus, config, chosen, verified, ngram, blocklist, report)
        manifest = list_files(tmp, manifest)
        if config.conformance_vectors:  # the Python predictor's answers, for other decoders
            manifest = write_conformance(tmp, valid_units, config)
        check_folder(tmp, manifest, config)
    log.info(
        "exported %s (%s %s, %s bytes shipped: %s) with %d ops in %.0f s",
        out_dir,
        manifest.model_name,
        config.quantization,
        f"{manifest.shipped_bytes:,}",
        " + ".join(f"{n} {manifest.files[n].bytes:,}" for n in manifest.shipped_files),
        len(manifest.ops),
        time.monotonic() - t0,
    )
    return out_dir


def load_checkpoint(checkpoint: Path) -> C.Checkpoint:
    """Read the checkpoint and check that its weights are the model its config and tokenizer
    describe (names and shapes); a :class:`~kbd_lm.training.checkpoint.CheckpointError` if not."""
    from kbd_lm.training.model import check_weights

    ckpt = C.read(checkpoint)
    try:
        check_weights(ckpt.config.model_config(ckpt.tokenizer.vocab_size), ckpt.weights)
    except ValueError as err:
        raise C.CheckpointError(
            f"{Path(checkpoint) / C.WEIGHTS_FILE}: {err}, "
            f"for a tokenizer of {ckpt.tokenizer.vocab_size} pieces"
        ) from err
    return ckpt


def representative_dataset(module, mcfg, tok, valid_units, config: ExportConfig, signatures):
    """int8 calibration: a generator function of (signature, inputs) over realistic
    (ids, h, c) triples, the states reached while reading validation text."""
    import tensorflow as tf

    def representative():
        # Windows of other text than the agreement windows' (another seed).
        cal = heldout_windows(
            tok, valid_units, config.calibration_samples, CALIBRATION_TOKENS, config.seed + 1
        )
        h = np.zeros((1, mcfg.embed_dim), np.float32)  # [1, P]
        c = np.zeros((1, mcfg.units), np.float32)  # [1, N]
        for row in cal:
            h[:], c[:] = 0, 0
            for t, token in enumerate(row):
                ids = np.array([token], np.int32)
                if t == len(row) - 1 or t % CALIBRATION_STRIDE == 0:
                    sample = {"ids": ids, "h": h.copy(), "c": c.copy()}
                    # (signature, inputs): every signature of the model is calibrated
                    for name in signatures:
                        yield name, S.calibration(name, sample)
                out = module.step(tf.constant(ids), tf.constant(h), tf.constant(c))
                h, c = out["h_out"].numpy(), out["c_out"].numpy()

    return representative


def convert_presets(ckpt, config: ExportConfig, valid_units, windows, reference):
    """Convert the model with every preset to measure (``quantization`` alone unless
    ``compare_presets``), check each one's ops and measure it (:func:`measure_preset`).

    Returns (preset -> ``model.tflite`` bytes, preset -> the manifest's ``presets`` entry).
    """
    import tensorflow as tf

    mcfg = ckpt.config.model_config(ckpt.tokenizer.vocab_size)
    module = step_module(mcfg, ckpt.weights)
    fixed = S.signature_names(config.fixed_batches)
    names = (B.STEP_SIGNATURE, B.ADVANCE_SIGNATURE, *fixed)
    representative = representative_dataset(
        module, mcfg, ckpt.tokenizer, valid_units, config, names
    )
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
            O.check_ops(O.model_ops(model))
            path = Path(tmp) / f"{preset}.tflite"
            path.write_bytes(model)
            models[preset] = model
            report[preset] = measure_preset(path, windows, reference, config.latency_calls)
            report[preset]["convert_seconds"] = round(time.monotonic() - t, 1)
    return models, report


def write_model_files(tmp: Path, chosen: bytes, ckpt, config: ExportConfig) -> None:
    """The model, the tokenizer (and as data, for ports), the op list, the op resolver source,
    both configs and the typing channel (layouts, parameters, thresholds: kbd_lm.typing.spec),
    into the bundle folder ``tmp``."""
    ops = O.model_ops(chosen)
    (tmp / B.MODEL_FILE).write_bytes(chosen)
    (tmp / B.TOKENIZER_FILE).write_bytes(ckpt.tokenizer.proto)
    portable.write_tokenizer_json(ckpt.tokenizer, tmp / portable.TOKENIZER_JSON)  # the browser
    (tmp / B.OPS_FILE).write_text(O.op_list_txt(ops))
    (tmp / B.OP_RESOLVER_FILE).write_text(O.op_resolver_cc(ops))
    (tmp / B.EXPORT_CONFIG_FILE).write_text(to_toml(config))
    (tmp / B.TRAIN_CONFIG_FILE).write_text(to_toml(ckpt.config))
    TypingSpec().save(tmp / B.TYPING_FILE)  # shipped: 1,090 bytes (kbd_lm.typing.spec defaults)


def write_ngram_within_budget(
    tmp: Path, corpus, config: ExportConfig, cache_dir: Path
) -> B.NgramSpec | None:
    """The n-gram of ``ngram_bytes`` bytes (None for 0); for -1, of what ``max_model_bytes``
    leaves after the shipped files already in ``tmp`` (model, tokenizer, lexicon, blocklist,
    typing channel)."""
    budget = config.ngram_bytes
    if not budget:
        return None
    if budget < 0:
        if not config.max_model_bytes:
            raise ValueError("ngram_bytes = -1 needs max_model_bytes")
        shipped = [f.name for f in B.FILES if f.shipped and (tmp / f.name).is_file()]
        budget = config.max_model_bytes - sum((tmp / n).stat().st_size for n in shipped)
    return write_ngram(corpus, tmp / B.NGRAM_FILE, budget, config.neural_weight, cache_dir)


def verify_runtimes(model_path: Path, windows, reference, report, config: ExportConfig) -> dict:
    """The manifest's ``runtimes_verified``: "runtime version" -> top-3 agreement with Keras
    of the model at ``model_path`` in LiteRT (measured with the preset) and tflite-runtime
    (run here, unless ``verify_tflite_runtime`` is off)."""
    verified = {f"ai-edge-litert {runtime_version('litert')}": report[config.quantization]["top3"]}
    if config.verify_tflite_runtime:
        agree_old = agreement(reference, tflite_runtime_logprobs(model_path, windows))
        verified[f"tflite-runtime {runtime_version('tflite-runtime')}"] = agree_old["top3"]
        log.info("tflite-runtime: top-1 %.3f top-3 %.3f", agree_old["top1"], agree_old["top3"])
    return verified


def build_manifest(
    ckpt, corpus, config: ExportConfig, chosen: bytes, verified, ngram, blocklist, report
) -> B.Manifest:
    """The manifest of the bundle, without its file list (:func:`list_files`)."""
    from kbd_lm.training.model import mult_adds_per_token, param_count

    tok, summary = ckpt.tokenizer, ckpt.summary
    mcfg = ckpt.config.model_config(tok.vocab_size)
    return B.Manifest(
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
        ops=tuple(B.OpEntry(o.name, o.version) for o in O.model_ops(chosen)),
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
        producer={"name": "kbd-lm", "version": kbd_lm.__version__},
    )


def list_files(tmp: Path, manifest: B.Manifest) -> B.Manifest:
    """List every file of the bundle's file table (:data:`kbd_lm.inference.bundle.FILES`)
    that ``tmp`` holds in the manifest, shipped or test-only as the table says; write it."""
    manifest = manifest.with_files(tmp)
    B.write(tmp, manifest)
    return manifest


def write_conformance(tmp: Path, valid_units: list[str], config: ExportConfig) -> B.Manifest:
    """The conformance vectors, with a tolerance for each runtime verified (measured)."""
    runtimes = ("tflite-runtime",) if config.verify_tflite_runtime else ()
    try:
        return conformance.write_into_bundle(tmp, valid_units, config.seed, runtimes)
    except ToleranceError as err:
        raise ToleranceError(
            f"{err}. Export another quantization (float32 runs alike in both runtimes), or "
            "leave tflite-runtime out (verify_tflite_runtime = false)"
        ) from None


def check_folder(tmp: Path, manifest: B.Manifest, config: ExportConfig) -> None:
    """The bundle in ``tmp`` loads and verifies, holds exactly the manifest's files, and its
    shipped files fit ``max_model_bytes``; a clear error if not."""
    B.Bundle.load(tmp)  # the bundle verifies before it is renamed into place
    stray = B.stray_files(tmp, manifest)
    if stray:
        raise ValueError(f"{tmp}: files the manifest does not list: {', '.join(stray)}")
    if config.max_model_bytes and manifest.shipped_bytes > config.max_model_bytes:
        raise ValueError(
            f"bundle is {manifest.shipped_bytes:,} bytes, over the limit of "
            f"{config.max_model_bytes:,} (max_model_bytes)"
        )


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
        raise ValueError(f"neural_weight must be between 0 and 1, got {neural_weight}")
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
