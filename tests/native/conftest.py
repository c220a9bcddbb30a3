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
# The Debian packages of the native build and tests, each with what needs it (build, test,
# jni): the list the Makefile installs from.
PACKAGES = ROOT / "native" / "debian-packages.txt"
BUILD_TIMEOUT = 900  # seconds; a build from nothing takes about 25 s on 2 x86-64 cores


def debian_packages(*roles: str) -> list[str]:
    """The packages of ``native/debian-packages.txt`` needed for ``roles``, e.g.
    ``debian_packages("build")`` -> ``['cmake', 'g++', 'nlohmann-json3-dev', 'zlib1g-dev']``."""
    out = []
    for line in PACKAGES.read_text().splitlines():
        fields = line.split("#")[0].split()
        if fields and fields[1] in roles:
            out.append(fields[0])
    return out


def missing_debs(*roles: str) -> list[str]:
    """The packages for ``roles`` that dpkg does not have installed (``build`` if none given)."""
    roles = roles or ("build",)
    if shutil.which("dpkg-query") is None:  # not Debian: let CMake say what it lacks
        return [tool for tool in ("cmake", "g++") if shutil.which(tool) is None]
    missing = []
    for deb in debian_packages(*roles):
        r = subprocess.run(
            ["dpkg-query", "-W", "-f=${Status}", deb], capture_output=True, text=True
        )
        if "install ok installed" not in r.stdout:
            missing.append(deb)
    return missing


def need(why: str) -> None:
    """Skip, or with ``CI=true`` fail: something the native tests need is missing."""
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        pytest.fail(f"CI needs the native tests: {why}")
    pytest.skip(why)


def run_checked(cmd: list[str]) -> None:
    """Run ``cmd`` in the repository; fail the test with its output's end if it fails."""
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
    configure()
    run_checked(["cmake", "--build", str(ROOT / BUILT_LIB.parent), "--target", "kbd_lm", "-j2"])
    return ROOT / BUILT_LIB


def configure(build: Path | None = None, *options: str) -> Path:
    """Configure ``build`` (default ``native/build``) with this virtualenv's LiteRT, the JDK if
    there is one, and CMake ``options`` (``-DKBD_LM_BUNDLE=...``); return the folder."""
    missing = missing_debs("build")
    if missing:
        need(f"the native build needs: sudo apt-get install {' '.join(missing)}")
    build = build or ROOT / BUILT_LIB.parent
    venv = Path(sys.prefix)  # the virtualenv whose ai-edge-litert wheel holds libLiteRt.so
    jdk = [f"-DKBD_LM_JDK={_jdk()}"] if _jdk() else []
    run_checked(
        ["cmake", "-S", "native", "-B", str(build), f"-DKBD_LM_VENV={venv}", *jdk, *options]
    )
    return build


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
        need("the JNI test needs a JDK: sudo apt-get install openjdk-17-jdk-headless")
    configure()
    build = ROOT / BUILT_LIB.parent
    run_checked(["cmake", "--build", str(build), "--target", "kbd_lm_jni", "-j2"])
    return build / "libkbd_lm_jni.so", jdk
