"""The bundle format: Manifest round trip, version-1 manifests, refused versions, file flags."""

import dataclasses
import json
import shutil
from pathlib import Path

import pytest

from kbd_lm.inference import bundle as B

V1_MANIFEST = Path(__file__).parent / "data" / "manifest_v1.json"  # written by 0.1.0
# The same manifest as format 2 writes it (kbd-lm 0.8): no file roles, no decoding section.
V2_MANIFEST = Path(__file__).parent / "data" / "manifest_v2.json"


def small_manifest(folder: Path) -> B.Manifest:
    """A manifest over three real files: two shipped (8 bytes), one test-only (5 bytes)."""
    (folder / B.MODEL_FILE).write_bytes(b"tflite")
    (folder / B.TOKENIZER_FILE).write_bytes(b"sp")
    (folder / "ops.txt").write_text("ADD 1")
    m = B.Manifest(
        name="kbd-lm-gru780-v8000",
        created="2026-01-01T00:00:00+00:00",
        quantization="dynamic",
        model=B.ModelSpec("gru", 780, 96, 8000, 1_170_000, 1_000_000),
        tokenizer=B.TokenizerSpec("sentencepiece-unigram", 8000, {"pad": 0, "unk": 1}),
        ops=(B.OpEntry("ADD", 1), B.OpEntry("FULLY_CONNECTED", 9)),
        min_runtime_version="2.3.0",
        signatures={"step": {"inputs": {}, "outputs": {}}},
        presets={"dynamic": {"bytes": 6}},
    )
    m = m.with_file(folder, B.MODEL_FILE, shipped=True)
    m = m.with_file(folder, B.TOKENIZER_FILE, shipped=True)
    return m.with_file(folder, "ops.txt", shipped=False)


def test_round_trip(tmp_path):
    m = small_manifest(tmp_path)
    B.write(tmp_path, m)
    back = B.read(tmp_path)
    assert back == m
    assert B.Bundle.load(tmp_path).manifest == m
    doc = json.loads((tmp_path / B.MANIFEST_FILE).read_text())
    assert doc["format"] == B.FORMAT_NAME and doc["format_version"] == B.FORMAT_VERSION == 4
    assert doc["files"]["ops.txt"] == {"bytes": 5, "sha256": back.files["ops.txt"].sha256,
                                       "shipped": False, "role": "ops"}  # fmt: skip
    assert doc["decoding"]["beam_width"] == 8 and doc["decoding"]["batch_sizes"] == [1, 2, 4, 8]
    assert back.model_name == "GRU 780"
    assert back["model"]["cell"] == "gru"  # the read-only JSON view
    assert back.ops[1] == B.OpEntry("FULLY_CONNECTED", 9)


def test_shipped_and_test_only_bytes(tmp_path):
    m = small_manifest(tmp_path)
    assert m.shipped_files == (B.MODEL_FILE, B.TOKENIZER_FILE)
    assert (m.shipped_bytes, m.test_only_bytes) == (8, 5)
    doc = m.to_json()
    assert doc["total_bytes"] == 8 and doc["shipped_files"] == [B.MODEL_FILE, B.TOKENIZER_FILE]
    # A later issue's files: one call each, the flag decides what the budget counts.
    (tmp_path / "blocklist.txt").write_text("darn\n")
    (tmp_path / "conformance.jsonl").write_text('{"text": "hi"}\n' * 100)
    m = m.with_file(tmp_path, "blocklist.txt", shipped=True)
    m = m.with_file(tmp_path, "conformance.jsonl", shipped=False)
    assert (m.shipped_bytes, m.test_only_bytes) == (8 + 5, 5 + 1500)
    B.write(tmp_path, m)
    assert B.Bundle.load(tmp_path).manifest.shipped_files[-1] == "blocklist.txt"
    with pytest.raises(ValueError, match="does not list itself"):
        m.with_file(tmp_path, B.MANIFEST_FILE, shipped=False)


def test_a_version_1_manifest_still_loads():
    m = B.Manifest.from_json(json.loads(V1_MANIFEST.read_text()))
    assert m.ngram.neural_weight == 0.6  # was lstm_weight
    assert m.shipped_files == (B.MODEL_FILE, B.TOKENIZER_FILE, B.NGRAM_FILE)
    assert not m.files["train_config.toml"].shipped
    assert m.shipped_bytes == 57996 == json.loads(V1_MANIFEST.read_text())["total_bytes"]
    assert m.model_name == "CIFG 64" and m.quantization == "dynamic"
    assert m.tokenizer.special_ids == {"pad": 0, "unk": 1, "bos": 2, "eos": 3}
    # written back, it is a version-3 document that reads to the same manifest
    assert m["format_version"] == 4 and "lstm_weight" not in m["ngram"]
    assert B.Manifest.from_json(m.to_json()) == m


@pytest.mark.parametrize("version", [0, 5, 99, "1", None, True])
def test_unsupported_versions_are_refused_naming_the_version(tmp_path, version):
    doc = json.loads(V1_MANIFEST.read_text())
    doc["format_version"] = version
    (tmp_path / B.MANIFEST_FILE).write_text(json.dumps(doc))
    with pytest.raises(B.BundleError, match=f"format version {version!r} is not supported"):
        B.read(tmp_path)


@pytest.mark.parametrize(
    "edit",
    [
        lambda d: d.update(files=["model.tflite"]),
        lambda d: d["files"].update({"model.tflite": 5}),
        lambda d: d.update(shipped_files=7),
    ],
)
def test_a_malformed_version_1_manifest_is_a_bundle_error(tmp_path, edit):
    doc = json.loads(V1_MANIFEST.read_text())
    edit(doc)
    (tmp_path / B.MANIFEST_FILE).write_text(json.dumps(doc))
    with pytest.raises(B.BundleError, match=B.MANIFEST_FILE):
        B.read(tmp_path)


def test_older_and_newer_versions_say_what_to_do(tmp_path):
    doc = json.loads(V1_MANIFEST.read_text())
    for version, advice in ((0, "re-export it"), (5, "upgrade kbd-lm")):
        doc["format_version"] = version
        with pytest.raises(B.BundleError, match=f"reads versions 1 to 4; {advice}"):
            B.Manifest.from_json(doc)


@pytest.mark.parametrize(
    "edit, message",
    [
        (lambda d: d.update(format="other"), "not a kbd-lm-bundle manifest"),
        (lambda d: d.update(colour="red"), "unknown key"),
        (lambda d: d["model"].pop("cell"), "cell"),
        (lambda d: d["model"].update(units="780"), "units: expected int"),
        (lambda d: d["files"]["ops.txt"].update(shipped="no"), "expected true or false"),
        (lambda d: d.update(total_bytes=1), "total_bytes 1 != 8"),
        (lambda d: d.update(shipped_files=["ops.txt"]), "shipped_files disagrees"),
        (lambda d: d["ngram"].update(lstm_weight=0.5), "unknown key"),  # not in version 2
        (lambda d: d["files"]["ops.txt"].update(role="lexicon"), "role 'lexicon', expected 'ops'"),
        (lambda d: d.pop("decoding"), "no 'decoding' section"),
        (lambda d: d["decoding"].update(beam_width=16), "beam_width 16 must be between 1 and"),
        (lambda d: d["decoding"].update(batch_sizes=[2, 4]), "include 1"),
        (lambda d: d["decoding"].update(min_ratio="1e-4"), "min_ratio: expected float"),
        (lambda d: d["decoding"].update(colour=1), "unknown key"),
        (lambda d: d.update(read_version=3), "unknown key read_version"),
    ],
)
def test_a_wrong_manifest_is_refused_with_the_problem_named(tmp_path, edit, message):
    doc = small_manifest(tmp_path).to_json()
    doc["ngram"] = {"file": "n", "type": "t", "neural_weight": 0.5, "bytes": 1, "counts": {}}
    edit(doc)
    (tmp_path / B.MANIFEST_FILE).write_text(json.dumps(doc))
    with pytest.raises(B.BundleError, match=message):
        B.read(tmp_path)


def test_update_metrics_keeps_everything_else(tmp_path):
    m = small_manifest(tmp_path)
    B.write(tmp_path, m)
    B.update_manifest_metrics(tmp_path, {"top3": 0.5})
    B.update_manifest_metrics(tmp_path, {"ksr": 0.3})
    assert B.read(tmp_path) == dataclasses.replace(m, metrics={"top3": 0.5, "ksr": 0.3})


def test_a_version_1_bundle_runs_with_its_ngram(tiny_bundle, tiny_corpus_dir, tmp_path):
    """A bundle exactly as 0.1.0 wrote it: ``lstm_weight``, no per-file flags."""
    from kbd_lm.inference.predictor import Predictor
    from kbd_lm.ngram.model import KneserNeyTrigram

    bundle = tmp_path / "bundle"
    shutil.copytree(tiny_bundle, bundle)
    lines = (tiny_corpus_dir / "chat.txt").read_text(errors="replace").splitlines()
    KneserNeyTrigram.train(lines[:500]).save(bundle / B.NGRAM_FILE)
    doc = B.read(bundle).with_file(bundle, B.NGRAM_FILE, shipped=True).to_json()
    doc["format_version"] = 1
    for entry in doc["files"].values():
        del entry["shipped"]
    doc["ngram"] = {
        "file": B.NGRAM_FILE,
        "type": "kneser-ney-trigram",
        "lstm_weight": 0.7,
        "bytes": (bundle / B.NGRAM_FILE).stat().st_size,
        "counts": {},
    }
    (bundle / B.MANIFEST_FILE).write_text(json.dumps(doc))

    predictor = Predictor.load(bundle)
    assert predictor.ngram is not None and predictor.neural_weight == 0.7
    assert predictor.bundle.manifest.shipped_bytes == doc["total_bytes"]
    assert len(predictor.suggest("see you ", k=3)) == 3


def test_a_bundle_whose_ngram_cannot_be_read_is_a_bundle_error(tiny_bundle, tmp_path):
    """Listed with a matching checksum, yet not a model file: the bundle is wrong."""
    from kbd_lm.inference.predictor import Predictor

    bundle = tmp_path / "bundle"
    shutil.copytree(tiny_bundle, bundle)
    (bundle / B.NGRAM_FILE).write_bytes(b"not a model")
    doc = B.read(bundle).with_file(bundle, B.NGRAM_FILE, shipped=True).to_json()
    doc["ngram"] = {
        "file": B.NGRAM_FILE,
        "type": "kneser-ney-trigram",
        "neural_weight": 0.7,
        "bytes": 11,
        "counts": {},
    }
    (bundle / B.MANIFEST_FILE).write_text(json.dumps(doc))
    with pytest.raises(B.BundleError, match=f"{B.NGRAM_FILE}: not a readable Kneser-Ney"):
        Predictor.load(bundle)


def test_stray_files_load_with_a_warning_naming_them(tmp_path, caplog):
    """A report left inside a bundle: the bundle still loads; the warning names the files."""
    B.write(tmp_path, small_manifest(tmp_path))
    assert B.stray_files(tmp_path, B.read(tmp_path)) == []
    with caplog.at_level("WARNING", logger="kbd_lm.inference.bundle"):
        B.Bundle.load(tmp_path)
    assert not caplog.records
    (tmp_path / "eval-kinds.md").write_text("| kind |")
    (tmp_path / "adaptive.json").write_text("{}")
    with caplog.at_level("WARNING", logger="kbd_lm.inference.bundle"):
        bundle = B.Bundle.load(tmp_path)
    assert bundle.manifest == B.read(tmp_path)
    assert [r.getMessage() for r in caplog.records] == [
        f"{tmp_path}: files the manifest does not list: adaptive.json, eval-kinds.md"
    ]


def test_reports_go_beside_the_bundle():
    assert B.reports_dir("dist/bundle") == Path("dist/bundle.reports")
    assert B.reports_dir(Path("/x/dist/chitchat/")) == Path("/x/dist/chitchat.reports")
    assert B.reports_dir(".") == Path.cwd().with_name(Path.cwd().name + ".reports")


def test_a_version_2_manifest_loads_with_the_decoding_of_then():
    doc = json.loads(V2_MANIFEST.read_text())
    assert doc["format_version"] == 2 and "decoding" not in doc
    m = B.Manifest.from_json(doc)
    assert m == B.Manifest.from_json(json.loads(V1_MANIFEST.read_text()))
    # Every decoder used these with version 2: beam 8 over batches 1, 2, 4, 8, ...
    assert m.decoding == B.DecodingSpec()
    assert (m.decoding.beam_width, m.decoding.batch_sizes) == (8, (1, 2, 4, 8))
    d = m["decoding"]
    assert (d["max_context_chars"], d["context_stride"]) == (300, 128)
    assert (d["max_context_tokens"], d["short_context_tokens"], d["max_word_pieces"]) == (
        160,
        48,
        8,
    )
    assert (d["min_ratio"], d["covering_width"], d["context_cache"]) == (1e-4, 4, 128)
    assert d["field_hints"] == ["message", "email", "prose"]
    # ... and each file gets its role from the bundle's file table.
    assert {n: e.role for n, e in m.files.items()} == {
        "model.tflite": "model",
        "tokenizer.model": "tokenizer",
        "ops.txt": "ops",
        "op_resolver.cc": "op_resolver",
        "export_config.toml": "export_config",
        "train_config.toml": "train_config",
        "ngram.kn3": "ngram",
    }
    assert m["format_version"] == 4 and B.Manifest.from_json(m.to_json()) == m


def test_the_file_table_decides_roles_and_shipping(tmp_path):
    m = small_manifest(tmp_path)
    assert [B.FILE_TABLE[n].role for n in m.files] == ["model", "tokenizer", "ops"]
    (tmp_path / B.LEXICON_FILE).write_bytes(b"words")
    (tmp_path / "notes.txt").write_text("not a bundle file")
    listed = m.with_file(tmp_path, B.LEXICON_FILE)
    assert listed.files[B.LEXICON_FILE].shipped and listed.files[B.LEXICON_FILE].role == "lexicon"
    with pytest.raises(ValueError, match="ops.txt is test-only in the bundle's file table"):
        m.with_file(tmp_path, "ops.txt", shipped=True)
    with pytest.raises(ValueError, match="notes.txt is not in the bundle's file table"):
        m.with_file(tmp_path, "notes.txt")
    other = m.with_file(tmp_path, "notes.txt", shipped=False)
    assert other.files["notes.txt"].role == ""
    # with_files: every table file the folder holds, in the table's order.
    empty = dataclasses.replace(m, files={})
    assert list(empty.with_files(tmp_path).files) == [
        B.MODEL_FILE,
        B.TOKENIZER_FILE,
        B.LEXICON_FILE,
        "ops.txt",
    ]
    assert {f.name for f in B.FILES if f.required} == {B.MODEL_FILE, B.TOKENIZER_FILE}
    B.write(tmp_path, dataclasses.replace(m, files={B.MODEL_FILE: m.files[B.MODEL_FILE]}))
    with pytest.raises(B.BundleError, match=f"does not list {B.TOKENIZER_FILE}"):
        B.Bundle.load(tmp_path)


def test_decoding_follows_the_fixed_batches_and_bounds_the_beam():
    spec = B.decoding_for((8, 1, 2, 4, 16))
    assert (spec.beam_width, spec.batch_sizes) == (16, (1, 2, 4, 8, 16))
    assert B.decoding_for(()) == B.DecodingSpec()
    assert spec.search_batches(16) == (1, 2, 4, 8, 16)
    assert spec.search_batches(5) == (1, 2, 4, 5)
    assert spec.check_beam_width(None) == 16 and spec.check_beam_width(3) == 3
    for wrong in (17, 0):
        with pytest.raises(ValueError, match=f"beam width of {wrong} .* whose beam width is 16"):
            spec.check_beam_width(wrong)


def _copy(tiny_bundle, folder, *, version=B.FORMAT_VERSION, typing=None):
    """A copy of the tiny bundle of format ``version``, with ``typing`` (a document) as its
    typing.json, or none when ``typing`` is None."""
    shutil.copytree(tiny_bundle, folder)
    manifest = B.read(folder)
    files = {n: e for n, e in manifest.files.items() if n != B.TYPING_FILE}
    manifest = dataclasses.replace(manifest, files=files)
    (folder / B.TYPING_FILE).unlink()
    if typing is not None:
        (folder / B.TYPING_FILE).write_text(json.dumps(typing))
        manifest = manifest.with_file(folder, B.TYPING_FILE)
    doc = manifest.to_json()
    doc["format_version"] = version
    (folder / B.MANIFEST_FILE).write_text(json.dumps(doc))
    return folder


def test_export_ships_the_typing_file_and_the_bundle_reads_it(tiny_bundle):
    from kbd_lm.typing.spec import TypingSpec

    bundle = B.Bundle.load(tiny_bundle)
    entry = bundle.manifest.files[B.TYPING_FILE]
    assert (
        entry.shipped and entry.role == "typing" and B.TYPING_FILE in bundle.manifest.shipped_files
    )
    assert entry.bytes == (tiny_bundle / B.TYPING_FILE).stat().st_size == 1090
    assert bundle.typing() == TypingSpec()
    assert [layout.name for layout in bundle.typing().layouts] == [
        "qwerty",
        "azerty",
        "qwertz",
        "dvorak",
    ]


def test_an_older_format_bundle_loads_with_the_typing_defaults(tiny_bundle, tmp_path):
    """Format 3 (0.9.0) had no typing.json: the values then built in. Format 4 without the
    file: no typing channel (the predictor does not correct)."""
    from kbd_lm.typing.spec import TypingSpec

    old = B.Bundle.load(_copy(tiny_bundle, tmp_path / "v3", version=3))
    assert old.manifest.read_version == 3 and old.manifest["format_version"] == 4
    assert old.typing() == TypingSpec()
    assert B.read(tiny_bundle).read_version == 4
    assert B.Bundle.load(_copy(tiny_bundle, tmp_path / "v4")).typing() is None


def test_a_damaged_or_missing_typing_file_is_an_error_naming_file_and_field(tiny_bundle, tmp_path):
    from kbd_lm.typing.spec import TypingSpec

    doc = TypingSpec().to_json()
    del doc["channel"]["omission"]
    folder = _copy(tiny_bundle, tmp_path / "field", typing=doc)
    with pytest.raises(B.BundleError, match=r"typing.json: channel.omission: missing"):
        B.Bundle.load(folder).typing()
    (folder / B.TYPING_FILE).unlink()  # listed in the manifest, gone from the folder
    with pytest.raises(B.BundleError, match=r"typing.json: missing file listed in the manifest"):
        B.Bundle.load(folder)
    changed = _copy(tiny_bundle, tmp_path / "bytes", typing=TypingSpec().to_json())
    (changed / B.TYPING_FILE).write_text(json.dumps({**TypingSpec().to_json(), "version": 2}))
    with pytest.raises(B.BundleError, match=r"typing.json: (size|wrong checksum)"):
        B.Bundle.load(changed)
