"""Contract tests of the export on a tiny trained model: real conversions, real interpreters."""

import json
import shutil
import subprocess
import sys

import numpy as np
import pytest

from kbd_lm.export import ops as O
from kbd_lm.export.convert import heldout_windows, keras_logprobs
from kbd_lm.inference.bundle import Bundle, BundleError
from kbd_lm.inference.runtime import StepModel
from kbd_lm.training import checkpoint as C
from kbd_lm.training.model import param_count


@pytest.fixture(scope="module")
def manifest(tiny_bundle):
    return json.loads((tiny_bundle / "manifest.json").read_text())


def test_every_preset_agrees_with_keras(manifest):
    presets = manifest["presets"]
    assert set(presets) == {"float32", "float16", "dynamic", "int8"}
    assert presets["float32"]["top1"] == 1.0 and presets["float32"]["max_logprob_error"] < 1e-3
    assert presets["float16"]["top1"] >= 0.95 and presets["float16"]["top3"] >= 0.95
    assert presets["dynamic"]["top1"] >= 0.9 and presets["dynamic"]["top3"] >= 0.9
    assert presets["int8"]["top3"] >= 0.6


def test_shipped_model_matches_keras_in_litert(tiny_bundle, tiny_checkpoint):
    ckpt = C.read(tiny_checkpoint)
    cfg, weights, tok = ckpt.config, ckpt.weights, ckpt.tokenizer
    from kbd_lm.dataset.corpus import prepare

    units = list(prepare(cfg.corpus, cfg.cache_dir).units("valid"))
    windows = heldout_windows(tok, units, 32, 12, seed=5)
    reference = keras_logprobs(cfg, weights, windows)
    got = StepModel(tiny_bundle / "model.tflite", batch=len(windows)).run_windows(windows)
    assert got.shape == reference.shape
    top3_ref = np.argsort(-reference, 1)[:, :3]
    top3_got = np.argsort(-got, 1)[:, :3]
    assert np.mean(top3_ref[:, 0] == top3_got[:, 0]) >= 0.9
    assert np.max(np.abs(np.exp(got).sum(1) - 1)) < 1e-3  # log-probs: a distribution


def test_bundle_size_per_preset_and_tied_weights_stored_once(manifest, tiny_checkpoint):
    ckpt = C.read(tiny_checkpoint)
    cfg, weights = ckpt.config, ckpt.weights
    params = param_count(cfg.model_config(weights["embedding"].shape[0]))
    emb = weights["embedding"].size
    sizes = {k: v["bytes"] for k, v in manifest["presets"].items()}
    # flatbuffer structure, metadata, and about 3 kB per fixed-batch signature (subgraph)
    overhead = 12_000 + 3_000 * 5
    # float32: 4 bytes a parameter; a second copy of the tied embedding would add 4 * emb.
    assert sizes["float32"] < 4 * params + overhead
    assert sizes["float32"] < 4 * (params + emb)
    assert sizes["float16"] < 2 * params + overhead + 4 * 2_000  # float32 biases stay
    assert sizes["dynamic"] < sizes["float16"] < sizes["float32"]
    assert sizes["dynamic"] < 1 * params + 4 * (params - emb) * 0.2 + overhead


def test_the_bundle_holds_exactly_its_manifests_files(tiny_bundle, tmp_path):
    from kbd_lm.common.config import load_config
    from kbd_lm.export.convert import ExportConfig, check_folder

    names = {p.name for p in tiny_bundle.iterdir()}
    assert names == {"manifest.json", *Bundle.load(tiny_bundle).manifest.files}
    bundle = tmp_path / "bundle"
    shutil.copytree(tiny_bundle, bundle)
    (bundle / "eval-kinds.md").write_text("| kind |")  # a report written inside
    cfg = load_config(ExportConfig, "export", "default")
    with pytest.raises(ValueError, match="files the manifest does not list: eval-kinds.md"):
        check_folder(bundle, Bundle.load(bundle).manifest, cfg)


def test_ops_are_builtins_on_the_allowlist(manifest, tiny_bundle):
    names = {o["name"] for o in manifest["ops"]}
    assert names <= O.ALLOWED_OPS
    assert {"FULLY_CONNECTED", "GATHER", "LOG_SOFTMAX"} <= names
    listed = (tiny_bundle / "ops.txt").read_text().split()
    assert set(listed[::2]) == names
    cc = (tiny_bundle / "op_resolver.cc").read_text()
    assert all(f"BuiltinOperator_{n}" in cc for n in names)
    assert manifest["min_runtime_version"]


def test_a_foreign_op_is_refused(tmp_path):
    import tensorflow as tf

    class WithCumsum(tf.Module):
        @tf.function(input_signature=[tf.TensorSpec([4], tf.float32)])
        def f(self, x):
            return {"y": tf.math.cumsum(x)}

    module = WithCumsum()
    tf.saved_model.save(module, str(tmp_path), signatures={"f": module.f})
    conv = tf.lite.TFLiteConverter.from_saved_model(str(tmp_path), signature_keys=["f"])
    model_ops = O.model_ops(conv.convert())
    assert "CUMSUM" in {o.name for o in model_ops}
    with pytest.raises(O.ForeignOpError, match="CUMSUM"):
        O.check_ops(model_ops)


def test_the_manifest_names_its_producer(manifest, tiny_bundle):
    import kbd_lm

    assert manifest["producer"] == {"name": "kbd-lm", "version": kbd_lm.__version__}
    assert Bundle.load(tiny_bundle).manifest.producer["version"] == kbd_lm.__version__


def test_tflite_runtime_214_loads_the_default_preset(tiny_bundle):
    # In its own process: tflite-runtime must not share one with TensorFlow.
    code = (
        "import sys, numpy as np; from pathlib import Path;"
        "from kbd_lm.inference.runtime import StepModel;"
        "w = np.array([[2, 10, 11, 12], [2, 20, 21, 22]], np.int32);"
        "a = StepModel(Path(sys.argv[1]), 2, 'tflite-runtime').run_windows(w);"
        "b = StepModel(Path(sys.argv[1]), 2, 'litert').run_windows(w);"
        "assert 'tensorflow' not in sys.modules;"
        "ta, tb = np.argsort(-a, 1)[:, :3], np.argsort(-b, 1)[:, :3];"
        "print(np.mean([len(set(x) & set(y)) / 3 for x, y in zip(ta, tb)]))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code, str(tiny_bundle / "model.tflite")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    assert float(out.stdout.strip().splitlines()[-1]) >= 0.66  # same top-3, within quantization


@pytest.mark.parametrize("damage", ["flip", "truncate", "missing", "version", "manifest"])
def test_a_damaged_bundle_is_refused_with_a_clear_message(tiny_bundle, tmp_path, damage):
    bundle = tmp_path / "bundle"
    shutil.copytree(tiny_bundle, bundle)
    model = bundle / "model.tflite"
    if damage == "flip":
        data = bytearray(model.read_bytes())
        data[len(data) // 2] ^= 0xFF
        model.write_bytes(bytes(data))
        expected = "model.tflite: wrong checksum"
    elif damage == "truncate":
        model.write_bytes(model.read_bytes()[:100])
        expected = "model.tflite: size 100 bytes"
    elif damage == "missing":
        (bundle / "tokenizer.model").unlink()
        expected = "tokenizer.model: missing file"
    elif damage == "version":
        m = json.loads((bundle / "manifest.json").read_text())
        m["format_version"] = 99
        (bundle / "manifest.json").write_text(json.dumps(m))
        expected = "format version 99 is not supported"
    else:
        (bundle / "manifest.json").write_text("{not json")
        expected = "manifest.json: not valid JSON"
    with pytest.raises(BundleError, match=expected):
        Bundle.load(bundle)


def test_an_old_runtime_is_refused(tiny_bundle):
    bundle = Bundle.load(tiny_bundle)
    with pytest.raises(BundleError, match="needs TFLite runtime"):
        bundle.check_runtime("some-runtime", "1.0.0")
    bundle.check_runtime("tflite-runtime", "2.14.0")


def test_an_interrupted_export_leaves_the_old_bundle(
    tiny_checkpoint, tiny_bundle, tmp_path, monkeypatch
):
    from kbd_lm.common.config import load_config
    from kbd_lm.export import convert

    out = tmp_path / "bundle"
    shutil.copytree(tiny_bundle, out)
    before = (out / "manifest.json").read_bytes()
    # Left by an export killed earlier: nobody holds its lock, the next export removes it.
    (tmp_path / ".bundle.k1lled00.tmp").mkdir()
    (tmp_path / ".bundle.k1lled00.tmp" / "model.tflite").write_bytes(b"half")

    def broken(*args, **kwargs):
        raise KeyboardInterrupt  # as if killed while writing the bundle

    monkeypatch.setattr(convert.O, "op_resolver_cc", broken)
    cfg = load_config(
        convert.ExportConfig,
        "export",
        "default",
        [
            f'out_dir="{out}"',
            "compare_presets=false",
            "latency_calls=10",
            "verify_tflite_runtime=false",
            'blocklist=""',
        ],
    )
    with pytest.raises(KeyboardInterrupt):
        convert.export(tiny_checkpoint, cfg)
    assert (out / "manifest.json").read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["bundle"]  # no half-written folder left


def test_a_bundle_can_ship_an_interpolated_ngram(tiny_checkpoint, tmp_path):
    from kbd_lm.common.config import load_config
    from kbd_lm.export.convert import ExportConfig, export
    from kbd_lm.inference.predictor import Predictor
    from kbd_lm.text.normalization import WORD_RE

    cfg = load_config(
        ExportConfig,
        "export",
        "default",
        [
            f'out_dir="{tmp_path / "bundle"}"',
            "compare_presets=false",
            "latency_calls=10",
            "verify_tflite_runtime=false",
            'blocklist=""',
            "ngram_bytes=30000",
            "neural_weight=0.6",
            "max_model_bytes=0",
        ],
    )
    bundle = export(tiny_checkpoint, cfg)
    manifest = json.loads((bundle / "manifest.json").read_text())
    assert manifest["ngram"]["bytes"] <= 30_000 and manifest["ngram"]["neural_weight"] == 0.6
    assert manifest["files"]["ngram.kn3"]["shipped"]
    assert manifest["shipped_files"] == [
        "model.tflite",
        "tokenizer.model",
        "ngram.kn3",
        "lexicon.txt.gz",
        "typing.json",
    ]
    assert manifest["total_bytes"] == sum(
        manifest["files"][n]["bytes"] for n in manifest["shipped_files"]
    )
    predictor = Predictor.load(bundle)
    assert predictor.ngram is not None and predictor.neural_weight == 0.6
    words = [s.word for s in predictor.suggest("see you ", k=3)]
    assert len(words) == 3 and all(WORD_RE.fullmatch(w) for w in words)
    assert set(words) <= {"tomorrow", "later", "soon"}
    assert predictor.next_word_logprob("see you ", "later") > predictor.next_word_logprob(
        "see you ", "pizza"
    )
    (bundle / "ngram.kn3").write_bytes(b"junk")
    with pytest.raises(BundleError, match="ngram.kn3"):
        Bundle.load(bundle)


def test_advance_signature_gives_the_state_of_step(tiny_bundle, manifest):
    assert {"step", "advance"} <= set(manifest["signatures"])  # + the fixed-batch copies
    model = StepModel(tiny_bundle / "model.tflite", batch=2)
    assert model.has_advance
    ids = np.array([5, 9], np.int32)
    h, c = model.zero_state()
    _, h_step, c_step = model.step(ids, h, c)
    h_adv, c_adv = model.advance(ids, h, c)
    assert np.allclose(h_step, h_adv, atol=1e-6) and np.allclose(c_step, c_adv, atol=1e-6)


def test_the_dataclass_defaults_are_the_default_preset():
    from kbd_lm.common.config import load_config
    from kbd_lm.export.convert import ExportConfig

    assert ExportConfig() == load_config(ExportConfig, "export", "default")


def test_weights_that_do_not_fit_the_config_are_refused(tiny_checkpoint, tmp_path):
    import numpy as np

    from kbd_lm.common.config import load_config
    from kbd_lm.export import convert
    from kbd_lm.training import checkpoint as C

    ckpt = tmp_path / "ckpt"
    shutil.copytree(tiny_checkpoint, ckpt)
    with np.load(ckpt / C.WEIGHTS_FILE) as z:
        weights = {k: z[k] for k in z.files if k != "out_bias"}
    weights["projection"] = weights["projection"][:-1]
    np.savez(ckpt / C.WEIGHTS_FILE, **weights)
    cfg = load_config(
        convert.ExportConfig, "export", "default", [f'out_dir="{tmp_path / "b"}"', 'blocklist=""']
    )
    with pytest.raises(C.CheckpointError, match=r"weights \['out_bias', 'projection'\] do not"):
        convert.export(ckpt, cfg)
    assert not (tmp_path / "b").exists()


def test_the_vectors_carry_each_runtimes_tolerance_as_measured(hinted_bundle, tmp_path):
    """Export ran the conformance cases in tflite-runtime 2.14 too and wrote the tolerance
    its differences need; checked with it, that runtime passes (docs/decoding.md, 10)."""
    from kbd_lm.inference.conformance import FILE, measure, read_vectors
    from kbd_lm.inference.runtime import runtime_version
    from kbd_lm.inference.tolerance import runtime_tolerance

    manifest = json.loads((hinted_bundle / "manifest.json").read_text())
    assert any(k.startswith("tflite-runtime 2.14") for k in manifest["runtimes_verified"])
    header, cases = read_vectors(hinted_bundle / FILE)
    typos = [c for c in cases if c.get("correct")]  # conformance version 5: typo cases too
    assert header["version"] == 5 and len(typos) >= 20 and any(c.get("taps") for c in typos)
    tolerances = header["tolerances"]
    assert set(tolerances) == {"litert", "tflite-runtime"}
    assert tolerances["litert"] == {**runtime_tolerance(0.0), "version": runtime_version("litert")}
    assert tolerances["tflite-runtime"]["version"].startswith("2.14")
    # The same cases in tflite-runtime again (a process without TensorFlow), measured here.
    (tmp_path / "cases.json").write_text(json.dumps(cases))
    cmd = [sys.executable, "-m", "kbd_lm.inference.conformance", str(hinted_bundle)]
    cmd += ["tflite-runtime", str(tmp_path / "cases.json"), str(tmp_path / "out.json")]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr[-2000:]
    measured, _ = measure(cases, json.loads((tmp_path / "out.json").read_text()))
    assert tolerances["tflite-runtime"] == {
        **runtime_tolerance(measured),
        "version": runtime_version("tflite-runtime"),
    }
    cli = [sys.executable, "-m", "kbd_lm.cli", "conformance", "--bundle", str(hinted_bundle)]
    out = subprocess.run([*cli, "--runtime", "tflite-runtime"], capture_output=True, text=True)
    assert out.returncode == 0, out.stdout[-2000:] + out.stderr[-2000:]
    assert f"suggestions {len(cases)} match, 0 differ [tflite-runtime]" in out.stdout


def test_runtimes_that_disagree_beyond_the_cap_fail_the_export(tiny_checkpoint, tmp_path):
    """The tiny model in dynamic range: tflite-runtime 2.14 suggests other words than LiteRT
    (its 64 cells turn kernel differences into other roundings of quantized activations)."""
    from kbd_lm.common.config import load_config
    from kbd_lm.export.convert import ExportConfig, export
    from kbd_lm.inference.tolerance import ToleranceError

    overrides = [f'out_dir="{tmp_path / "bundle"}"', "compare_presets=false", "latency_calls=10"]
    overrides += ['blocklist=""', "max_model_bytes=0", "agreement_contexts=16"]
    cfg = load_config(ExportConfig, "export", "default", overrides)
    assert cfg.quantization == "dynamic" and cfg.verify_tflite_runtime
    with pytest.raises(ToleranceError, match=r"^tflite-runtime 2\.14.*decoding.md, 10\); case \d+"):
        export(tiny_checkpoint, cfg)
    assert list(tmp_path.iterdir()) == []  # no bundle, no temporary folder


def test_the_old_name_of_neural_weight_is_refused_naming_the_new_one():
    from kbd_lm.common.config import ConfigError, load_config
    from kbd_lm.export.convert import ExportConfig

    with pytest.raises(ConfigError, match="ngram_weight is now called neural_weight"):
        load_config(ExportConfig, "export", "default", ["ngram_weight=0.6"])


def test_an_ngram_of_what_the_budget_leaves_fits_it(
    tiny_checkpoint, tiny_bundle, registry_cache, tmp_path
):
    """ngram_bytes = -1: the n-gram gets what max_model_bytes leaves after every other
    shipped file (the model, the tokenizer, the word list and the blocklist)."""
    from kbd_lm.common.config import load_config
    from kbd_lm.export.convert import ExportConfig, export

    others = Bundle.load(tiny_bundle).manifest.shipped_bytes  # the same files, no n-gram
    limit = others + 8_000
    overrides = [f'out_dir="{tmp_path / "bundle"}"', "compare_presets=false", "latency_calls=10"]
    overrides += ["verify_tflite_runtime=false", "conformance_vectors=false", "ngram_bytes=-1"]
    overrides += [f"max_model_bytes={limit}", f'blocklist_cache="{registry_cache}"']
    bundle = export(tiny_checkpoint, load_config(ExportConfig, "export", "default", overrides))
    manifest = Bundle.load(bundle).manifest
    assert manifest.shipped_files == (
        "model.tflite",
        "tokenizer.model",
        "ngram.kn3",
        "lexicon.txt.gz",
        "blocklist.txt",
        "typing.json",
    )
    assert manifest.shipped_bytes - others == manifest.ngram.bytes <= 8_000
    assert manifest.ngram.bytes > 4_000  # pruned to the budget, not a token n-gram
