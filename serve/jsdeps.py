"""``make jsdeps``: LiteRT.js for the in-browser predictor, pinned and checked by sha256.

No Node is needed: each npm tarball comes straight from the registry's tarball URL
(:func:`kbd_lm.corpora.registry.fetch`, cached under ``data/downloads/npm/``) and the files
the browser loads are unpacked into ``serve/static/vendor/<folder>/`` (git-ignored, served
by the app at ``/static/vendor/``). A folder already holding the pinned tarball's files is
left alone.

    python -m kbd_lm.serve.jsdeps            # or: make jsdeps

>>> [p.folder for p in PACKAGES]
['litertjs-core', 'litertjs-wasm-utils']
"""

from __future__ import annotations

import logging
import shutil
import sys
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path

from kbd_lm.common.logs import setup_logging
from kbd_lm.corpora.registry import DEFAULT_DOWNLOADS, FetchError, Package, fetch

log = logging.getLogger(__name__)

VENDOR = Path(__file__).parent / "static" / "vendor"
STAMP = ".sha256"  # in each folder: the sha256 of the tarball it was unpacked from


@dataclass(frozen=True)
class JsPackage:
    """A pinned npm package and which of its folders the browser needs."""

    package: Package
    folder: str  # under serve/static/vendor/
    keep: tuple[str, ...]  # path prefixes inside the tarball's package/ folder


PACKAGES = (
    # The runtime: dist/index.js (an ES module) and the WASM builds it picks from at load.
    JsPackage(
        Package(
            "npm",
            "@litertjs/core",
            "2.5.3",
            sha256="a97660833e9e7e1063c95e12016718881240b14f7438728a2f62785e912d30fd",
        ),
        "litertjs-core",
        ("dist/", "wasm/"),
    ),
    # Imported by the runtime by its bare name (mapped in the pages' import maps).
    JsPackage(
        Package(
            "npm",
            "@litertjs/wasm-utils",
            "2.5.3",
            sha256="ce2a1f8379c067be49e59752e5a7f40db6be09f6e497f0f11e59f17b515366a7",
        ),
        "litertjs-wasm-utils",
        ("dist/",),
    ),
)


def _unpack(tarball: Path, keep: tuple[str, ...], dest: Path) -> int:
    """Regular files under ``package/<keep>`` into ``dest``; returns their count.

    A file executable in the tarball (a tool's binary) stays executable.
    """
    count = 0
    with tarfile.open(tarball, "r:gz") as tar:
        for member in tar.getmembers():
            name = member.name.removeprefix("package/")
            parts = Path(name).parts
            if not member.isfile() or not name.startswith(keep) or ".." in parts:
                continue
            target = dest / name
            target.parent.mkdir(parents=True, exist_ok=True)
            with tar.extractfile(member) as src, target.open("wb") as out:
                shutil.copyfileobj(src, out)
            if member.mode & 0o111:
                target.chmod(0o755)
            count += 1
    return count


def install_package(js: JsPackage, folder: Path, downloads: Path = DEFAULT_DOWNLOADS) -> str:
    """Fetch ``js`` and unpack its kept files into ``folder``; one summary line.

    A folder already holding the pinned tarball's files (its ``.sha256`` stamp) is left alone.
    """
    stamp = folder / STAMP
    if stamp.is_file() and stamp.read_text().strip() == js.package.sha256:
        return f"{js.package.spec}: up to date in {folder}"
    tarball = fetch(js.package, downloads)
    # Unpack beside the target and swap it in: a killed run leaves the old folder or none.
    folder.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{folder.name}.", dir=folder.parent))
    try:
        count = _unpack(tarball, js.keep, tmp)
        (tmp / STAMP).write_text(js.package.sha256 + "\n")
        if folder.exists():
            shutil.rmtree(folder)
        tmp.rename(folder)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    size = sum(f.stat().st_size for f in folder.rglob("*") if f.is_file())
    return f"{js.package.spec}: {count} files, {size / 1e6:.1f} MB in {folder}"


def install(vendor: Path = VENDOR, downloads: Path = DEFAULT_DOWNLOADS) -> list[str]:
    """Fetch and unpack every package of :data:`PACKAGES`; one summary line each."""
    return [install_package(js, vendor / js.folder, downloads) for js in PACKAGES]


def main() -> int:
    setup_logging()
    try:
        lines = install()
    except FetchError as err:
        log.error("%s", err)
        return 2
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
