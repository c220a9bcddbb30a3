"""The native decoder's ctest executables (native/CMakeLists.txt), run from pytest so that
``make test`` runs them on the tests' tiny bundle: every conformance vector through the C
interface (and those of the tests' bundle with an n-gram, ``conformance_ngram``), the history
files byte for byte, the n-gram reader against kbd_lm.ngram.model, one predictor shared by 4
threads, hostile input (2,000 random texts, damaged bundles, histories and n-gram files), the
unit tests and ``readelf -d``.

Twice: the release build ``native/build`` (``make native``'s), and ``native/build-sanitize``
(``make native-sanitize``'s) built with AddressSanitizer and UndefinedBehaviorSanitizer, where
any report aborts its executable, so fails the test. Each build is incremental: from nothing
the sanitized one takes about a minute on 2 x86-64 cores, up to date a second.
"""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest

from tests.native.conftest import (
    BUILD_TIMEOUT,
    ROOT,
    configure,
    missing_debs,
    need,
    run_checked,
)

# The tests native/CMakeLists.txt adds; the sanitized build leaves out needs_no_libpython
# (readelf of a library linked to the sanitizers' runtimes says nothing about the real one).
TESTS = {
    "conformance",
    "conformance_hints",
    "conformance_blocklist",
    "conformance_history",
    "conformance_typos",
    "conformance_ngram",
    "threads",
    "hostile",
    "history_golden",
    "history",
    "ngram_golden",
    "ngram",
    "unit",
    "needs_no_libpython",
}
CTEST_TIMEOUT = 1800  # seconds; the sanitized run takes about a minute on 2 x86-64 cores
SANITIZERS = {
    # leaks count as errors too; a report stops the executable with a non-zero status
    "ASAN_OPTIONS": "detect_leaks=1:abort_on_error=0:halt_on_error=1",
    "UBSAN_OPTIONS": "print_stacktrace=1:halt_on_error=1",
}


def _ctest(build: Path, env: dict[str, str] | None = None) -> set[str]:
    """Run every ctest test of ``build``; fail with ctest's output unless all pass; return the
    names of the tests that passed."""
    r = subprocess.run(
        ["ctest", "--test-dir", str(build), "--output-on-failure"],
        capture_output=True,
        text=True,
        timeout=CTEST_TIMEOUT,
        env={**os.environ, **(env or {})},
    )
    assert r.returncode == 0, f"ctest failed in {build}:\n{r.stdout[-20000:]}\n{r.stderr[-3000:]}"
    return set(re.findall(r"Test +#\d+: (\S+) \.+ +Passed", r.stdout))


@pytest.fixture(scope="module")
def test_packages() -> None:
    """The unit tests need GoogleTest and needs_no_libpython readelf: skip (CI: fail) without."""
    missing = missing_debs("build", "test")
    if missing:
        need(f"the native ctest needs: sudo apt-get install {' '.join(missing)}")


def test_ctest_of_the_release_build(native_library, tiny_bundle, ngram_bundle, test_packages):
    build = configure(
        None, f"-DKBD_LM_BUNDLE={tiny_bundle}", f"-DKBD_LM_NGRAM_BUNDLE={ngram_bundle}"
    )
    run_checked(["cmake", "--build", str(build), "-j2"])
    assert _ctest(build) == TESTS


def test_ctest_under_address_and_undefined_behaviour_sanitizers(
    native_library, tiny_bundle, ngram_bundle, test_packages
):
    build = configure(
        ROOT / "native" / "build-sanitize",
        "-DKBD_LM_SANITIZE=ON",
        f"-DKBD_LM_BUNDLE={tiny_bundle}",
        f"-DKBD_LM_NGRAM_BUNDLE={ngram_bundle}",
    )
    run_checked(["cmake", "--build", str(build), "-j2"])
    # the library really carries the sanitizers (a plain build would pass the same tests)
    r = subprocess.run(
        ["readelf", "-d", str(build / "libkbd_lm.so")],
        capture_output=True,
        text=True,
        timeout=BUILD_TIMEOUT,
        check=True,
    )
    assert "libasan.so" in r.stdout and "libubsan.so" in r.stdout, r.stdout
    assert _ctest(build, SANITIZERS) == TESTS - {"needs_no_libpython"}
