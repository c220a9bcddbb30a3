"""The native decoder's library for the tests here, built first (incremental CMake build of
``native/build``, the folder ``make native`` writes): ``native_library`` is its path;
``jni_library`` the JNI glue's (``libkbd_lm_jni.so``, always built in ``native/build``) with
the JDK it was compiled against.

``KBD_LM_NATIVE_LIB`` set: that library is used as it is, and must exist. A missing compiler,
CMake, Debian package or JDK skips these tests, naming what to install; with ``CI=true`` it
fails them. A build that fails always fails them.
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


def _need(why: str) -> None:
    """Skip, or with ``CI=true`` fail: something the native tests need is missing."""
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        pytest.fail(f"CI needs the native tests: {why}")
    pytest.skip(why)


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
    _configure()
    _run(["cmake", "--build", str(ROOT / BUILT_LIB.parent), "--target", "kbd_lm", "-j2"])
    return ROOT / BUILT_LIB


def _configure() -> None:
    missing = _missing_debs()
    if missing:
        _need(f"the native build needs: sudo apt-get install {' '.join(missing)}")
    venv = Path(sys.prefix)  # the virtualenv whose ai-edge-litert wheel holds libLiteRt.so
    jdk = [f"-DKBD_LM_JDK={_jdk()}"] if _jdk() else []
    _run(
        ["cmake", "-S", "native", "-B", str(ROOT / BUILT_LIB.parent), f"-DKBD_LM_VENV={venv}"] + jdk
    )


def _jdk() -> Path | None:
    """The JDK whose ``javac`` is on PATH (Debian's: /usr/lib/jvm/java-17-openjdk-amd64)."""
    javac = shutil.which("javac")
    if javac is None:
        return None
    home = Path(javac).resolve().parents[1]
    return (
        home
        if (home / "include" / "jni.h").is_file() and (home / "bin" / "java").is_file()
        else None
    )


@pytest.fixture(scope="session")
def jni_library() -> tuple[Path, Path]:
    """(``native/build/libkbd_lm_jni.so``, the JDK's home), built against that JDK."""
    jdk = _jdk()
    if jdk is None:
        _need("the JNI test needs a JDK: sudo apt-get install openjdk-17-jdk-headless")
    _configure()
    build = ROOT / BUILT_LIB.parent
    _run(["cmake", "--build", str(build), "--target", "kbd_lm_jni", "-j2"])
    return build / "libkbd_lm_jni.so", jdk
