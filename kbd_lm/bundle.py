"""The on-device bundle: format, reader and verification. No TensorFlow here.

A bundle is a folder with ``model.tflite``, ``tokenizer.model`` (sentencepiece) and
``manifest.json``. The manifest records what an app needs to run the model and what was
measured; every file it lists has a size and a sha256 that :meth:`Bundle.load` checks.

>>> bundle = Bundle.load("dist/bundle")        # doctest: +SKIP
>>> bundle.manifest["quantization"]             # doctest: +SKIP
'dynamic'
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path

from kbd_lm.fsutil import atomic_write_text

FORMAT_NAME = "kbd-lm-bundle"
FORMAT_VERSION = 1
MODEL_FILE = "model.tflite"
TOKENIZER_FILE = "tokenizer.model"
MANIFEST_FILE = "manifest.json"
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


def file_entry(path: Path) -> dict:
    """The manifest entry of one file: its size in bytes and sha256."""
    return {"bytes": Path(path).stat().st_size, "sha256": sha256_file(path)}


def version_tuple(version: str) -> tuple[int, ...]:
    """'2.14.0' -> (2, 14, 0); non-numeric parts (rc, dev) are ignored."""
    parts = []
    for part in version.split("."):
        digits = "".join(ch for ch in part if ch.isdigit())
        if not digits:
            break
        parts.append(int(digits))
        if not part.isdigit():
            break
    return tuple(parts)


@dataclass(frozen=True)
class Bundle:
    """A verified bundle folder and its manifest."""

    path: Path
    manifest: dict

    @classmethod
    def load(cls, path: str | os.PathLike, verify: bool = True) -> Bundle:
        """Read ``manifest.json`` and check format version, files, sizes and checksums.

        Raises :class:`BundleError` naming the file and the problem.
        """
        path = Path(path)
        if not path.is_dir():
            raise BundleError(f"{path}: bundle folder not found")
        manifest_path = path / MANIFEST_FILE
        if not manifest_path.is_file():
            raise BundleError(f"{manifest_path}: missing manifest (is {path} a kbd-lm bundle?)")
        try:
            manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as err:
            raise BundleError(f"{manifest_path}: not valid JSON ({err})") from err
        if not isinstance(manifest, dict) or manifest.get("format") != FORMAT_NAME:
            raise BundleError(f"{manifest_path}: not a {FORMAT_NAME} manifest")
        version = manifest.get("format_version")
        if version != FORMAT_VERSION:
            raise BundleError(
                f"{manifest_path}: format version {version!r} is not supported "
                f"(this kbd-lm reads version {FORMAT_VERSION})"
            )
        files = manifest.get("files") or {}
        for required in (MODEL_FILE, TOKENIZER_FILE):
            if required not in files:
                raise BundleError(f"{manifest_path}: does not list {required}")
        if verify:
            for name, entry in files.items():
                file = path / name
                if not file.is_file():
                    raise BundleError(f"{file}: missing file listed in the manifest")
                size = file.stat().st_size
                if size != entry.get("bytes"):
                    raise BundleError(
                        f"{file}: size {size} bytes, manifest says {entry.get('bytes')} "
                        "(truncated or replaced file)"
                    )
                if sha256_file(file) != entry.get("sha256"):
                    raise BundleError(f"{file}: wrong checksum (corrupted or replaced file)")
        return cls(path, manifest)

    @property
    def model_path(self) -> Path:
        return self.path / MODEL_FILE

    @property
    def tokenizer_path(self) -> Path:
        return self.path / TOKENIZER_FILE

    @property
    def bundle_id(self) -> str:
        """A short id: the model's name and the first characters of its checksum."""
        sha = self.manifest["files"][MODEL_FILE]["sha256"][:12]
        return f"{self.manifest.get('name', 'kbd-lm')}-{self.manifest.get('quantization')}-{sha}"

    def check_runtime(self, runtime_name: str, runtime_version: str) -> None:
        """Refuse a runtime older than the model's minimum runtime version."""
        needed = self.manifest.get("min_runtime_version")
        if needed and version_tuple(runtime_version) < version_tuple(needed):
            raise BundleError(
                f"{self.model_path}: needs TFLite runtime >= {needed}, but {runtime_name} is "
                f"{runtime_version} (export with another quantization preset, or upgrade)"
            )

    def public_manifest(self) -> dict:
        """The part of the manifest worth showing to API clients."""
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
        )
        return {k: self.manifest[k] for k in keys if k in self.manifest}


def write_manifest(bundle_dir: Path, manifest: dict) -> None:
    atomic_write_text(
        Path(bundle_dir) / MANIFEST_FILE, json.dumps(manifest, indent=2, ensure_ascii=False) + "\n"
    )


def update_manifest_metrics(bundle_dir: str | os.PathLike, metrics: dict) -> None:
    """Merge evaluation figures into the manifest's ``metrics`` (written atomically)."""
    bundle = Bundle.load(bundle_dir, verify=False)
    manifest = dict(bundle.manifest)
    manifest["metrics"] = {**manifest.get("metrics", {}), **metrics}
    write_manifest(bundle.path, manifest)
