"""The on-device bundle: its format, written and read here only. No TensorFlow here.

A bundle is a folder with ``model.tflite``, ``tokenizer.model`` (sentencepiece),
``manifest.json`` and a few more files. The manifest (:class:`Manifest`) records what an app
needs to run the model and what was measured; it lists every file with its size, sha256, its
role and whether it **ships** to a phone (``shipped``: the model, the tokenizer, an n-gram) or
stays on the developer's side (test-only: op lists, the resolver source, the configs, test
vectors). Sizes and budgets count shipped files only. Which files exist, their names, roles
and flags are one table, :data:`FILES`; other decoders find a file by its role in the
manifest's ``files`` (the browser's ``lexicon`` is whatever name that role has).

The manifest's ``decoding`` (:class:`~kbd_lm.inference.decoding.DecodingSpec`) holds the
search's constants, the beam width and the model's fixed batch sizes: every decoder (the
Python predictor, the server, the bench, the browser) reads them from the bundle
(docs/decoding.md, section 0).

Format versions: :data:`FORMAT_VERSION` is written; every version from
:data:`MIN_FORMAT_VERSION` up is read and upgraded on the way in (version 1, the first
release: no per-file flag but a ``shipped_files`` list, and the n-gram's ``lstm_weight``;
version 2: no file roles and no ``decoding``, which read as the values of then; version 3:
no ``typing.json``, whose values were then built into the Python predictor: such a bundle
corrects with :class:`~kbd_lm.typing.spec.TypingSpec`'s defaults, see :meth:`Bundle.typing`).
Anything older or newer is refused with a message naming the version.

>>> import tempfile; folder = Path(tempfile.mkdtemp())
>>> _ = (folder / "model.tflite").write_bytes(b"tflite")
>>> _ = (folder / "tokenizer.model").write_bytes(b"sp")
>>> _ = (folder / "ops.txt").write_text("ADD 1")
>>> m = Manifest(name="kbd-lm-gru780-v8000", created="2026-01-01T00:00:00+00:00",
...              quantization="dynamic",
...              model=ModelSpec("gru", 780, 96, 8000, 1_170_000, 1_000_000),
...              tokenizer=TokenizerSpec("sentencepiece-unigram", 8000, {"pad": 0, "unk": 1}),
...              ops=(OpEntry("ADD", 1),), min_runtime_version="2.3.0")
>>> m = m.with_file(folder, "model.tflite", shipped=True)
>>> m = m.with_file(folder, "tokenizer.model", shipped=True)
>>> m = m.with_file(folder, "ops.txt", shipped=False)
>>> write(folder, m)
>>> back = Bundle.load(folder).manifest
>>> back == m, back.model_name, back.shipped_files, back.shipped_bytes, back.test_only_bytes
(True, 'GRU 780', ('model.tflite', 'tokenizer.model'), 8, 5)
"""

from __future__ import annotations

import copy
import dataclasses
import hashlib
import json
import logging
import os
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

from kbd_lm.common.config import ConfigError, from_dict
from kbd_lm.common.fsutil import atomic_write_text

# The bundle's file table (names, roles, flags), re-exported here: B.MODEL_FILE, B.FILES, ...
from kbd_lm.inference.bundle_files import (  # noqa: F401
    BLOCKLIST_FILE,
    CONFORMANCE_FILE,
    EXPORT_CONFIG_FILE,
    FILE_TABLE,
    FILES,
    LEXICON_FILE,
    MANIFEST_FILE,
    MODEL_FILE,
    NGRAM_FILE,
    OP_RESOLVER_FILE,
    OPS_FILE,
    TOKENIZER_FILE,
    TOKENIZER_JSON_FILE,
    TRAIN_CONFIG_FILE,
    TYPING_FILE,
    BundleFile,
)

# The manifest's decoding section; decoding_for (what export writes) is re-exported here.
from kbd_lm.inference.decoding import DecodingSpec, decoding_for  # noqa: F401
from kbd_lm.typing.spec import TypingError, TypingSpec

log = logging.getLogger(__name__)

FORMAT_NAME = "kbd-lm-bundle"
FORMAT_VERSION = 4  # what write() produces
MIN_FORMAT_VERSION = 1  # the oldest version read() still upgrades
STEP_SIGNATURE = "step"
ADVANCE_SIGNATURE = "advance"


class BundleError(Exception):
    """A bundle that cannot be used; the message names the file and the problem."""


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with Path(path).open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def version_tuple(version: str) -> tuple[int, ...]:
    """'2.14.0' -> (2, 14, 0); non-numeric parts (rc, dev) are ignored.

    >>> version_tuple("2.14.0"), version_tuple("2.17.0rc1"), version_tuple("2.3.dev4")
    ((2, 14, 0), (2, 17, 0), (2, 3))
    """
    parts = []
    for part in version.split("."):
        digits = re.match(r"\d*", part).group(0)  # the leading digits: "0rc1" -> "0"
        if not digits:
            break
        parts.append(int(digits))
        if digits != part:
            break
    return tuple(parts)


# ----------------------------------------------------------------------------- the manifest


@dataclass(frozen=True)
class FileEntry:
    """One file of the bundle: size in bytes, sha256, whether an app ships it, its role."""

    bytes: int
    sha256: str
    shipped: bool  # True: goes on the phone; False: tests, builds and audits only
    role: str = ""  # its role in FILES ("" for a file outside the table)

    @classmethod
    def of(cls, path: Path, shipped: bool, role: str = "") -> FileEntry:
        """Measure ``path`` now."""
        return cls(Path(path).stat().st_size, sha256_file(path), shipped, role)


@dataclass(frozen=True)
class ModelSpec:
    """The network in ``model.tflite``: cell type and sizes (see :mod:`kbd_lm.training.model`)."""

    cell: str  # "gru", "cifg" or "lstm"
    units: int  # N: cells, the size of the state ``c``
    embed_dim: int  # P: embedding and projection size, the size of the state ``h``
    vocab_size: int  # V
    parameters: int
    mult_adds_per_token: int

    @property
    def display_name(self) -> str:
        """'GRU 780': what reports call the model."""
        return f"{self.cell.upper()} {self.units}"


@dataclass(frozen=True)
class TokenizerSpec:
    """``tokenizer.model``: a sentencepiece model and the conventions around it."""

    type: str  # "sentencepiece-unigram"
    vocab_size: int
    special_ids: dict  # {"pad": 0, "unk": 1, "bos": 2, "eos": 3}
    byte_fallback: bool = True
    unit: str = "BOS pieces EOS"
    # Field hints the model reads after BOS, name -> control id ({} = trained without them)
    hints: dict = field(default_factory=dict)
    normalization: str = (
        "kbd_lm.text.normalize (NFC, controls dropped, whitespace collapsed, case kept)"
    )


@dataclass(frozen=True)
class OpEntry:
    """A TFLite builtin operator and the version the model uses."""

    name: str
    version: int


@dataclass(frozen=True)
class NgramSpec:
    """An optional word n-gram interpolated with the neural model by the predictor."""

    file: str
    type: str  # "kneser-ney-trigram"
    neural_weight: float  # the neural model's share of P(word); the n-gram gets the rest
    bytes: int
    counts: dict  # {"vocab", "bigrams", "trigrams"}


@dataclass(frozen=True)
class BlocklistSpec:
    """An optional ``blocklist.txt``: words never suggested (:mod:`kbd_lm.inference.blocklist`).

    Optional in version 2: a bundle without it blocks nothing.
    """

    file: str
    source: str  # "npm:naughty-words@1.2.0" or a local file
    licence: str
    entries: int
    attribution: str = ""
    source_sha256: str = ""  # of the package the words came from


@dataclass(frozen=True)
class Manifest(Mapping):
    """What ``manifest.json`` says, typed. Build one, :func:`write` it, :func:`read` it back.

    Free-form parts (``signatures``, ``training``, ``presets``, ``metrics``,
    ``runtimes_verified``) are JSON objects. The manifest is also a read-only mapping over its
    JSON document (``manifest["files"]["model.tflite"]["bytes"]``) for reports that copy
    parts of it; the document is always in the current format version.
    """

    name: str  # "kbd-lm-gru780-v8000"
    created: str  # ISO 8601, UTC
    quantization: str  # "float32", "float16", "dynamic" or "int8"
    model: ModelSpec
    tokenizer: TokenizerSpec
    ops: tuple[OpEntry, ...]
    min_runtime_version: str  # the oldest TFLite runtime that runs model.tflite
    files: dict = field(default_factory=dict)  # name -> FileEntry, manifest.json excluded
    signatures: dict = field(default_factory=dict)  # name -> inputs, outputs, batch, use
    decoding: DecodingSpec = field(default_factory=DecodingSpec)
    runtimes_verified: dict = field(default_factory=dict)  # "runtime version" -> top-3 agreement
    ngram: NgramSpec | None = None
    blocklist: BlocklistSpec | None = None
    training: dict = field(default_factory=dict)  # corpus, split, perplexities, tokens, minutes
    presets: dict = field(default_factory=dict)  # quantization -> size, agreement, latency
    metrics: dict = field(default_factory=dict)  # keyboard metrics written by eval
    producer: dict = field(default_factory=dict)  # {"name": "kbd-lm", "version": "0.9.0"}
    # The format version the document was read in (before any upgrade); not written.
    read_version: int = field(default=FORMAT_VERSION, compare=False)

    # --------------------------------------------------------------- derived figures

    @property
    def model_name(self) -> str:
        """'GRU 780'."""
        return self.model.display_name

    @property
    def shipped_files(self) -> tuple[str, ...]:
        return tuple(name for name, entry in self.files.items() if entry.shipped)

    @property
    def shipped_bytes(self) -> int:
        """Bytes an app puts on the phone: what the size budget counts."""
        return sum(entry.bytes for entry in self.files.values() if entry.shipped)

    @property
    def test_only_bytes(self) -> int:
        return sum(entry.bytes for entry in self.files.values() if not entry.shipped)

    def with_file(
        self, folder: str | os.PathLike, name: str, *, shipped: bool | None = None
    ) -> Manifest:
        """This manifest listing one more file of ``folder``, measured now (size, sha256).

        A file of :data:`FILES` ships as the table says (``shipped``, if given, must agree);
        another file needs ``shipped``: True for what an app puts on the phone, False for
        test-only files.
        """
        if name == MANIFEST_FILE:
            raise ValueError(f"{MANIFEST_FILE} does not list itself")
        known = FILE_TABLE.get(name)
        if known is None and shipped is None:
            raise ValueError(f"{name} is not in the bundle's file table: pass shipped=")
        if known is not None and shipped not in (None, known.shipped):
            what = "shipped" if known.shipped else "test-only"
            raise ValueError(f"{name} is {what} in the bundle's file table")
        shipped = known.shipped if known is not None else shipped
        entry = FileEntry.of(Path(folder) / name, shipped, known.role if known else "")
        return dataclasses.replace(self, files={**self.files, name: entry})

    def with_files(self, folder: str | os.PathLike) -> Manifest:
        """This manifest listing every file of :data:`FILES` that ``folder`` holds, in the
        table's order, measured now and flagged as the table says."""
        manifest = self
        for f in FILES:
            if (Path(folder) / f.name).is_file():
                manifest = manifest.with_file(folder, f.name)
        return manifest

    # --------------------------------------------------------------- JSON

    def to_json(self) -> dict[str, Any]:
        """The JSON document of ``manifest.json``, in format version :data:`FORMAT_VERSION`."""
        doc: dict[str, Any] = {"format": FORMAT_NAME, "format_version": FORMAT_VERSION}
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if (f.name in ("ngram", "blocklist") and value is None) or f.name == "read_version":
                continue
            if f.name == "files":
                value = {name: dataclasses.asdict(entry) for name, entry in value.items()}
            elif dataclasses.is_dataclass(value):
                # A section's tuples (decoding.batch_sizes) are JSON lists, as read back.
                value = {
                    k: list(v) if isinstance(v, tuple) else v
                    for k, v in dataclasses.asdict(value).items()
                }
            elif f.name == "ops":
                value = [dataclasses.asdict(op) for op in value]
            doc[f.name] = value
            if f.name == "files":  # for apps and API clients that read the JSON only
                doc["shipped_files"] = list(self.shipped_files)
                doc["total_bytes"] = self.shipped_bytes
        return copy.deepcopy(doc)  # a change to the document never reaches this manifest

    @classmethod
    def from_json(cls, doc: Any, source: str = MANIFEST_FILE) -> Manifest:
        """Check and parse a manifest document of any supported version.

        Raises :class:`BundleError` naming ``source`` and the problem: not a manifest, an
        unsupported version, unknown or missing keys, wrong types.
        """
        if not isinstance(doc, dict) or doc.get("format") != FORMAT_NAME:
            raise BundleError(f"{source}: not a {FORMAT_NAME} manifest")
        version = doc.get("format_version")
        if not isinstance(version, int) or isinstance(version, bool):
            raise BundleError(f"{source}: format version {version!r} is not supported")
        if not MIN_FORMAT_VERSION <= version <= FORMAT_VERSION:
            fix = "re-export it" if version < MIN_FORMAT_VERSION else "upgrade kbd-lm"
            raise BundleError(
                f"{source}: format version {version} is not supported (this kbd-lm reads "
                f"versions {MIN_FORMAT_VERSION} to {FORMAT_VERSION}; {fix})"
            )
        if "read_version" in doc:  # a Manifest field, never a key of the document
            raise BundleError(f"{source}: unknown key read_version")
        doc, read_version = dict(doc), version
        try:
            # An old document is upgraded first; a malformed one fails here as in _parse.
            while version < FORMAT_VERSION:
                doc = _UPGRADES[version](doc)
                version += 1
                log.debug("%s: upgraded to format version %d", source, version)
            return dataclasses.replace(_parse(doc, source), read_version=read_version)
        except (ConfigError, TypeError, AttributeError) as err:
            raise BundleError(f"{source}: {err}") from err

    # --------------------------------------------------------------- read-only mapping

    @cached_property
    def _doc(self) -> dict[str, Any]:
        return self.to_json()

    def __getitem__(self, key: str) -> Any:
        return self._doc[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._doc)

    def __len__(self) -> int:
        return len(self._doc)


def _parse(doc: dict, source: str) -> Manifest:
    """A current-version document -> Manifest; derived keys must agree with the files."""
    doc = dict(doc)
    for key in ("format", "format_version"):
        doc.pop(key)
    shipped_files, total_bytes = doc.pop("shipped_files", None), doc.pop("total_bytes", None)
    files = doc.get("files")
    if not isinstance(files, dict):
        raise BundleError(f"{source}: 'files' must map file names to entries")
    doc["files"] = {n: from_dict(FileEntry, e, f"{source}: files.{n}") for n, e in files.items()}
    for name, entry in doc["files"].items():
        role = FILE_TABLE[name].role if name in FILE_TABLE else ""
        if entry.role != role:  # decoders find files by role: it must be the table's
            raise BundleError(f"{source}: files.{name}: role {entry.role!r}, expected {role!r}")
    if "decoding" not in doc:
        raise BundleError(f"{source}: no 'decoding' section")
    doc["decoding"] = from_dict(DecodingSpec, doc["decoding"] or {}, f"{source}: decoding")
    doc["model"] = from_dict(ModelSpec, doc.get("model") or {}, f"{source}: model")
    doc["tokenizer"] = from_dict(TokenizerSpec, doc.get("tokenizer") or {}, f"{source}: tokenizer")
    doc["ops"] = tuple(from_dict(OpEntry, op, f"{source}: ops") for op in doc.get("ops") or ())
    if doc.get("ngram") is not None:
        doc["ngram"] = from_dict(NgramSpec, doc["ngram"], f"{source}: ngram")
    if doc.get("blocklist") is not None:
        doc["blocklist"] = from_dict(BlocklistSpec, doc["blocklist"], f"{source}: blocklist")
    manifest = from_dict(Manifest, doc, source)
    if shipped_files is not None and list(shipped_files) != list(manifest.shipped_files):
        raise BundleError(f"{source}: shipped_files disagrees with the files' shipped flags")
    if total_bytes is not None and total_bytes != manifest.shipped_bytes:
        raise BundleError(
            f"{source}: total_bytes {total_bytes} != {manifest.shipped_bytes}, "
            "the shipped files' bytes"
        )
    return manifest


def _upgrade_v1(doc: dict) -> dict:
    """Version 1 (the first release) -> 2: per-file ``shipped`` flags; ``neural_weight``."""
    shipped = set(doc.get("shipped_files") or ())
    doc["files"] = {
        name: {**entry, "shipped": name in shipped}
        for name, entry in (doc.get("files") or {}).items()
    }
    if isinstance(doc.get("ngram"), dict):
        ngram = dict(doc["ngram"])
        if "lstm_weight" in ngram:
            ngram["neural_weight"] = ngram.pop("lstm_weight")
        doc["ngram"] = ngram
    doc["format_version"] = 2
    return doc


def _upgrade_v2(doc: dict) -> dict:
    """Version 2 -> 3: files get their role from :data:`FILES`; ``decoding`` is the values
    every decoder used with version 2 (:class:`DecodingSpec`'s defaults)."""
    doc["files"] = {
        name: {**entry, "role": FILE_TABLE[name].role if name in FILE_TABLE else ""}
        for name, entry in (doc.get("files") or {}).items()
    }
    doc["decoding"] = dataclasses.asdict(DecodingSpec())
    doc["format_version"] = 3
    return doc


def _upgrade_v3(doc: dict) -> dict:
    """Version 3 -> 4: nothing to change (``typing.json`` is new and optional); the bundle
    corrects with the values 0.9.0 had built in (:meth:`Bundle.typing`, ``read_version``)."""
    doc["format_version"] = 4
    return doc


# version -> the function that upgrades its document to the next version
_UPGRADES = {1: _upgrade_v1, 2: _upgrade_v2, 3: _upgrade_v3}


def read(bundle_dir: str | os.PathLike) -> Manifest:
    """Read and check ``<bundle_dir>/manifest.json`` (any supported version); no file checks."""
    path = Path(bundle_dir) / MANIFEST_FILE
    if not path.is_file():
        raise BundleError(f"{path}: missing manifest (is {path.parent} a kbd-lm bundle?)")
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise BundleError(f"{path}: not valid JSON ({err})") from err
    return Manifest.from_json(doc, str(path))


def write(bundle_dir: str | os.PathLike, manifest: Manifest) -> None:
    """Write ``<bundle_dir>/manifest.json`` atomically, in the current format version."""
    text = json.dumps(manifest.to_json(), indent=2, ensure_ascii=False) + "\n"
    atomic_write_text(Path(bundle_dir) / MANIFEST_FILE, text)


def verify_files(bundle_dir: str | os.PathLike, manifest: Manifest) -> None:
    """Check that every listed file exists with the listed size and checksum."""
    bundle_dir = Path(bundle_dir)
    for name, entry in manifest.files.items():
        file = bundle_dir / name
        if not file.is_file():
            raise BundleError(f"{file}: missing file listed in the manifest")
        size = file.stat().st_size
        if size != entry.bytes:
            raise BundleError(
                f"{file}: size {size} bytes, manifest says {entry.bytes} "
                "(truncated or replaced file)"
            )
        if sha256_file(file) != entry.sha256:
            raise BundleError(f"{file}: wrong checksum (corrupted or replaced file)")


def stray_files(bundle_dir: str | os.PathLike, manifest: Manifest) -> list[str]:
    """Names in ``bundle_dir`` that are neither ``manifest.json`` nor a file it lists, sorted.

    A bundle folder holds exactly its manifest's files: an app copies the whole folder.
    Reports go beside it (:func:`reports_dir`).
    """
    listed = {MANIFEST_FILE, *manifest.files}
    return sorted(p.name for p in Path(bundle_dir).iterdir() if p.name not in listed)


def reports_dir(bundle_dir: str | os.PathLike) -> Path:
    """Where reports about a bundle go: beside it, never inside (``stray_files``).

    >>> reports_dir("dist/bundle")
    PosixPath('dist/bundle.reports')
    """
    path = Path(bundle_dir)
    if path.name in ("", ".", ".."):
        path = path.resolve()
    return path.with_name(f"{path.name}.reports")


# ----------------------------------------------------------------------------- the folder


@dataclass(frozen=True)
class Bundle:
    """A verified bundle folder and its manifest."""

    path: Path
    manifest: Manifest

    @classmethod
    def load(cls, path: str | os.PathLike, verify: bool = True) -> Bundle:
        """Read ``manifest.json`` and check format version, files, sizes and checksums.

        Raises :class:`BundleError` naming the file and the problem. Files the manifest does
        not list (:func:`stray_files`) are logged as a warning, not refused.
        """
        path = Path(path)
        if not path.is_dir():
            raise BundleError(f"{path}: bundle folder not found")
        manifest = read(path)
        for required in (f.name for f in FILES if f.required):
            if required not in manifest.files:
                raise BundleError(f"{path / MANIFEST_FILE}: does not list {required}")
        if verify:
            verify_files(path, manifest)
        stray = stray_files(path, manifest)
        if stray:
            log.warning("%s: files the manifest does not list: %s", path, ", ".join(stray))
        return cls(path, manifest)

    @property
    def model_path(self) -> Path:
        return self.path / MODEL_FILE

    @property
    def tokenizer_path(self) -> Path:
        return self.path / TOKENIZER_FILE

    @property
    def bundle_id(self) -> str:
        """A short id: the model's name, quantization and the start of its checksum."""
        m = self.manifest
        return f"{m.name}-{m.quantization}-{m.files[MODEL_FILE].sha256[:12]}"

    def typing(self) -> TypingSpec | None:
        """The layouts, channel parameters and thresholds of typing correction: the bundle's
        ``typing.json``; for a bundle of format 3 or older (which had none), the values every
        decoder had built in then (:class:`TypingSpec`'s defaults); None for a bundle of format
        4 without it (it does not correct). Raises :class:`BundleError` naming the file and
        the field of a file that is not a ``typing.json``."""
        if TYPING_FILE in self.manifest.files:
            try:
                return TypingSpec.load(self.path / TYPING_FILE)
            except TypingError as err:
                raise BundleError(str(err)) from None
        return TypingSpec() if self.manifest.read_version < 4 else None

    def check_runtime(self, runtime_name: str, runtime_version: str) -> None:
        """Refuse a runtime older than the model's minimum runtime version."""
        needed = self.manifest.min_runtime_version
        if needed and version_tuple(runtime_version) < version_tuple(needed):
            raise BundleError(
                f"{self.model_path}: needs TFLite runtime >= {needed}, but {runtime_name} is "
                f"{runtime_version} (export with another quantization preset, or upgrade)"
            )

    def public_manifest(self) -> dict:
        """The part of the manifest worth showing to API clients (current format version)."""
        keys = (
            "name",
            "format_version",
            "created",
            "quantization",
            "model",
            "tokenizer",
            "files",
            "min_runtime_version",
            "metrics",
            "training",
            "total_bytes",
            "shipped_files",
            "ngram",
            "blocklist",
            "decoding",
        )
        return {k: self.manifest[k] for k in keys if k in self.manifest}


def update_manifest_metrics(bundle_dir: str | os.PathLike, metrics: dict) -> None:
    """Merge evaluation figures into the manifest's ``metrics`` (written atomically)."""
    manifest = read(bundle_dir)
    write(bundle_dir, dataclasses.replace(manifest, metrics={**manifest.metrics, **metrics}))
