"""The wheel as users install it: ``pip install kbd-lm`` without extras, in a fresh virtualenv.

Builds the wheel from a copy of the source tree (nothing is written into the checkout),
installs it into a new virtualenv without system site packages (pip fetches numpy,
sentencepiece and ai-edge-litert from the registries or its cache), and runs the installed
``kbd-lm`` there: TensorFlow is absent, ``suggest`` answers from a real bundle, and the stages
that need an extra say which one.
"""

from __future__ import annotations

import email
import re
import shutil
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
# Source folder -> the import package it installs as (pyproject.toml's package-dir).
SOURCES = {
    "kbd_lm": "kbd_lm",
    "export": "kbd_lm/export",
    "serve": "kbd_lm/serve",
    "corpora": "kbd_lm/corpora",
}
# Fetched, git-ignored folders that are not sources (LiteRT.js from `make jsdeps`).
FETCHED = ("vendor",)
BASE_REQUIREMENTS = {"numpy", "sentencepiece", "ai-edge-litert"}
EXTRAS = {"train", "serve", "bench", "tflite-runtime", "eval", "native", "dev"}

pytestmark = pytest.mark.slow


def _run(*args: str | Path, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(a) for a in args],
        capture_output=True,
        text=True,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
    )


def _source_files() -> set[str]:
    """Every file the wheel must hold, as its path inside the wheel."""
    wanted = set()
    for folder, package in SOURCES.items():
        for path in (ROOT / folder).rglob("*"):
            skip = {"__pycache__", *FETCHED} & set(path.parts)
            if path.is_file() and not skip and path.suffix != ".pyc":
                wanted.add(f"{package}/{path.relative_to(ROOT / folder).as_posix()}")
    return wanted


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    """The wheel built from a copy of the source tree (setuptools writes build/ beside it)."""
    tmp = tmp_path_factory.mktemp("wheel")
    src = tmp / "src"
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", *FETCHED)
    for folder in SOURCES:
        shutil.copytree(ROOT / folder, src / folder, ignore=ignore)
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        shutil.copy2(ROOT / name, src / name)
    r = _run(sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", tmp / "dist", src)
    assert r.returncode == 0, r.stderr[-3000:]
    assert "is absent from the `packages` configuration" not in r.stderr
    (built,) = (tmp / "dist").glob("kbd_lm-*.whl")
    return built


def test_wheel_holds_every_source_file_and_declares_the_extras(wheel):
    with zipfile.ZipFile(wheel) as zf:
        names = set(zf.namelist())
        (meta_name,) = [n for n in names if n.endswith(".dist-info/METADATA")]
        meta = email.message_from_bytes(zf.read(meta_name))
    missing = _source_files() - names
    assert not missing, f"not in the wheel (add to pyproject.toml's packages): {sorted(missing)}"
    requires = meta.get_all("Requires-Dist")
    base = {re.split(r"[<>=!~\[; ]", r)[0] for r in requires if "extra ==" not in r}
    assert base == BASE_REQUIREMENTS
    assert set(meta.get_all("Provides-Extra")) == EXTRAS
    version = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
    assert meta["Version"] == version
    assert meta["License-Expression"] == "MIT"
    assert any(n.endswith(".dist-info/licenses/LICENSE") for n in names)
    # Only the tflite-runtime extra caps Python and numpy (tflite-runtime 2.14's wheels).
    assert meta["Requires-Python"] == ">=3.11"
    capped = [r for r in requires if "<2" in r or "python_version" in r]
    assert capped and all('extra == "tflite-runtime"' in r for r in capped), capped


def test_bare_install_suggests_without_tensorflow(wheel, tiny_bundle, tmp_path):
    venv = tmp_path / "venv"
    # --without-pip: this process's pip installs into it (faster than bootstrapping one).
    r = _run(sys.executable, "-m", "venv", "--without-pip", venv)
    assert r.returncode == 0, r.stderr
    python, kbd_lm = venv / "bin" / "python", venv / "bin" / "kbd-lm"
    r = _run(sys.executable, "-m", "pip", "--python", python, "install", "-q", wheel)
    assert r.returncode == 0, r.stderr[-3000:]

    r = _run(python, "-c", "import sys; print(sys.prefix != sys.base_prefix, sys.path)")
    assert r.stdout.startswith("True") and str(ROOT) not in r.stdout  # isolated from us
    for module in ("tensorflow", "fastapi", "matplotlib", "tflite_runtime"):
        r = _run(python, "-c", f"import {module}")
        assert r.returncode == 1 and "ModuleNotFoundError" in r.stderr, module

    r = _run(kbd_lm, "suggest", "--bundle", tiny_bundle, "see you ", "thank you so ")
    assert r.returncode == 0, r.stderr[-3000:]
    first, second = r.stdout.strip().splitlines()
    assert first.startswith("'see you ' -> ")
    assert any(w in first for w in ("tomorrow", "later", "soon")) and "much" in second

    r = _run(python, "-m", "kbd_lm", "--version")
    assert r.returncode == 0 and re.fullmatch(r"kbd-lm \d+\.\d+\.\d+\S*", r.stdout.strip())
    for args, extra in [
        (["train"], "train"),
        (["export", "--help"], "train"),
        (["serve", "--bundle", tiny_bundle], "serve"),
        (["bench", "--bundle", tiny_bundle], "bench"),
        (["loadtest", "--help"], "bench"),
    ]:
        r = _run(kbd_lm, *args)
        assert r.returncode == 2, (args, r.stdout)
        assert f"needs the [{extra}] extra" in r.stderr and len(r.stderr.splitlines()) == 1
    r = _run(kbd_lm, "suggest", "--runtime", "tflite-runtime", "--bundle", tiny_bundle, "hi ")
    assert r.returncode == 2 and "needs the [tflite-runtime] extra" in r.stderr
