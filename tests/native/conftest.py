"""The native decoder's library for the tests here, built first (incremental CMake build of
``native/build``, the folder ``make native`` writes): ``native_library`` is its path.

``KBD_LM_NATIVE_LIB`` set: that library is used as it is, and must exist. A missing compiler,
CMake or Debian package skips these tests, naming what to install; with ``CI=true`` it fails
them. A build that fails always fails them.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from kbd_lm.inference.native_engine import BUILT_LIB, LIB_ENV

ROOT = Path(__file__).resolve().parents[2]
# The Debian packages the library's build needs (Makefile's NATIVE_DEBS, less the test-only
# libgtest-dev and binutils).
DEBS = ("cmake", "g++", "nlohmann-json3-dev", "zlib1g-dev")
BUILD_TIMEOUT = 900  # seconds; a build from nothing takes about 25 s on 2 x86-64 cores


def _missing_debs() -> list[str]:
    if shutil.which("dpkg-query") is None:  # not Debian: let CMake say what it lacks
        return [tool for tool in ("cmake", "g++") if shutil.which(tool) is None]
    missing = []
    for deb in DEBS:
        r = subprocess.run(
            ["dpkg-query", "-W", "-f=${Status}", deb], capture_output=True, text=True
        )
        if "install ok installed" not in r.stdout:
            missing.append(deb)
    return missing


def _run(cmd: list[str]) -> None:
    r = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=BUILD_TIMEOUT)
    if r.returncode != 0:
        pytest.fail(f"{' '.join(cmd)} failed:\n{r.stdout[-3000:]}\n{r.stderr[-3000:]}")


@pytest.fixture(scope="session")
def native_library() -> Path:
    """The path of ``libkbd_lm.so``, built if ``KBD_LM_NATIVE_LIB`` does not name one."""
    given = os.environ.get(LIB_ENV)
    if given:
        if not Path(given).is_file():
            pytest.fail(f"{LIB_ENV}={given}: no such file")
        return Path(given).resolve()
    missing = _missing_debs()
    if missing:
        why = f"the native build needs: sudo apt-get install {' '.join(missing)}"
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail(f"CI needs the native tests: {why}")
        pytest.skip(why)
    build = ROOT / BUILT_LIB.parent
    venv = Path(sys.prefix)  # the virtualenv whose ai-edge-litert wheel holds libLiteRt.so
    _run(["cmake", "-S", "native", "-B", str(build), f"-DKBD_LM_VENV={venv}"])
    _run(["cmake", "--build", str(build), "--target", "kbd_lm", "-j2"])
    return ROOT / BUILT_LIB
