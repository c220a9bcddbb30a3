"""Every cell (gru, the default; cifg; lstm) builds, trains a few steps, exports and agrees
with Keras: the tiny preset with ``cell=`` overrides, a few seconds each."""

import numpy as np
import pytest

from kbd_lm.common.config import load_config
from kbd_lm.dataset.corpus import prepare
from kbd_lm.export.convert import ExportConfig, export, heldout_windows, keras_logprobs
from kbd_lm.inference.bundle import Bundle
from kbd_lm.inference.predictor import Predictor
from kbd_lm.inference.runtime import StepModel
from kbd_lm.training import checkpoint as C
from kbd_lm.training.loop import TrainConfig, train
from kbd_lm.training.model import weight_shapes

CELLS = ("gru", "cifg", "lstm")


@pytest.fixture(scope="module")
def cache_dir(tmp_path_factory):
    """One tokenizer and encoded corpus for all three cells."""
    return tmp_path_factory.mktemp("cells-cache")


@pytest.fixture(scope="module", params=CELLS)
def cell_bundle(request, tiny_corpus_dir, cache_dir, tmp_path_factory):
    """(cell, checkpoint, {quantization: bundle}) of a tiny model trained for 40 steps.

    float32 must agree with Keras to rounding; dynamic is what the default preset ships.
    """
    cell = request.param
    run = tmp_path_factory.mktemp(f"run-{cell}")
    cfg = load_config(
        TrainConfig,
        "train",
        "tiny",
        [
            f'corpus="{tiny_corpus_dir}"',
            f'out_dir="{run}"',
            f'cache_dir="{cache_dir}"',
            f'cell="{cell}"',
            "epochs=1",
            "steps_per_epoch=40",
        ],
    )
    checkpoint = train(cfg)
    bundles = {}
    for quantization in ("float32", "dynamic"):
        export_cfg = load_config(
            ExportConfig,
            "export",
            "default",
            [
                f'out_dir="{tmp_path_factory.mktemp(f"dist-{cell}") / quantization}"',
                f'quantization="{quantization}"',
                "compare_presets=false",
                "verify_tflite_runtime=false",
                "latency_calls=10",
                "agreement_contexts=32",
                "max_model_bytes=0",
                'blocklist=""',  # nothing fetched into the working folder
            ],
        )
        bundles[quantization] = export(checkpoint, export_cfg)
    return cell, checkpoint, bundles


def test_the_cell_trains(cell_bundle):
    cell, checkpoint, _ = cell_bundle
    ckpt = C.read(checkpoint)
    assert ckpt.config.cell == cell
    mcfg = ckpt.config.model_config(ckpt.tokenizer.vocab_size)
    assert {k: v.shape for k, v in ckpt.weights.items()} == weight_shapes(mcfg)
    # 40 steps take a uniform guess (perplexity = vocabulary size) far down
    assert ckpt.summary["valid_ppl_token"] < 0.25 * ckpt.tokenizer.vocab_size


def test_the_exported_cell_agrees_with_keras(cell_bundle):
    cell, checkpoint, bundles = cell_bundle
    bundle_dir = bundles["float32"]
    manifest = Bundle.load(bundle_dir).manifest
    assert manifest.model.cell == cell and manifest.model_name == f"{cell.upper()} 64"
    assert manifest.presets["float32"]["top1"] == 1.0
    # Independently of export's own figures: LiteRT against Keras on other held-out windows.
    ckpt = C.read(checkpoint)
    units = list(prepare(ckpt.config.corpus, ckpt.config.cache_dir).units("valid"))
    windows = heldout_windows(ckpt.tokenizer, units, 16, 10, seed=7)
    reference = keras_logprobs(ckpt.config, ckpt.weights, windows)
    model = StepModel(bundle_dir / "model.tflite", batch=len(windows))
    got = model.run_windows(windows)
    assert np.max(np.abs(got - reference)) < 1e-3
    # advance is step without the output layer: the same state
    ids = windows[:, 0]
    h, c = model.zero_state()
    _, h_step, c_step = model.step(ids, h, c)
    h_adv, c_adv = model.advance(ids, h, c)
    assert np.allclose(h_step, h_adv, atol=1e-6) and np.allclose(c_step, c_adv, atol=1e-6)
    # the quantized model ranks the next token as Keras does, within quantization error
    got = StepModel(bundles["dynamic"] / "model.tflite", batch=len(windows)).run_windows(windows)
    top3_ref, top3_got = np.argsort(-reference, 1)[:, :3], np.argsort(-got, 1)[:, :3]
    assert np.mean(top3_ref[:, 0] == top3_got[:, 0]) >= 0.8
    assert Bundle.load(bundles["dynamic"]).manifest.presets["dynamic"]["top3"] >= 0.8


def test_the_predictor_runs_the_cell(cell_bundle):
    _, _, bundles = cell_bundle
    predictor = Predictor.load(bundles["dynamic"], beam_width=4)
    words = [s.word for s in predictor.suggest("see you ", k=3)]
    assert len(words) == 3 and len(set(words)) == 3
    assert np.isfinite(predictor.next_word_logprob("see you ", words[0]))
