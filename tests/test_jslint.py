"""Biome on the browser JS: the pinned binary, the repository's biome.json, and a check that
fails on a lint error or on unformatted code (``make test`` runs the same check)."""

from __future__ import annotations

import hashlib
import io
import os
import re
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

from kbd_lm.corpora.registry import Package
from kbd_lm.serve import jsdeps, jslint

ROOT = Path(__file__).resolve().parents[1]
CHECK = ["check", "--error-on-warnings"]  # what `make test` and `make lint` run


def run_biome(cwd: Path, *args: str) -> subprocess.CompletedProcess:
    """``python -m kbd_lm.serve.jslint ARGS`` in ``cwd``, as the Makefile runs it."""
    return subprocess.run(
        [sys.executable, "-m", "kbd_lm.serve.jslint", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.fixture
def js_copy(tmp_path) -> Path:
    """biome.json and the browser JS, copied: a tree to break."""
    shutil.copy2(ROOT / "biome.json", tmp_path / "biome.json")
    shutil.copytree(ROOT / "serve" / "static" / "kbd", tmp_path / "serve" / "static" / "kbd")
    return tmp_path


def test_the_repository_js_passes():
    r = run_biome(ROOT, *CHECK)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    # Every module of kbd/ and biome.json itself: the includes of biome.json reach them all.
    checked = re.search(r"Checked (\d+) files", r.stdout + r.stderr)
    modules = list((ROOT / "serve" / "static" / "kbd").glob("*.js"))
    assert checked and int(checked[1]) == len(modules) + 1


def test_a_lint_error_fails_the_check(js_copy):
    assert run_biome(js_copy, *CHECK).returncode == 0
    text = js_copy / "serve" / "static" / "kbd" / "text.js"
    text.write_text(text.read_text() + "\nexport function f(x) {\n  debugger;\n  return x;\n}\n")
    r = run_biome(js_copy, *CHECK)
    assert r.returncode == 1 and "lint/suspicious/noDebugger" in r.stdout + r.stderr


def test_unformatted_code_fails_the_check(js_copy):
    text = js_copy / "serve" / "static" / "kbd" / "text.js"
    text.write_text(text.read_text() + "\nexport const f = (x) => { return 'x' + x }\n")
    r = run_biome(js_copy, *CHECK)
    assert r.returncode == 1 and "Formatter would have printed" in r.stdout + r.stderr
    # `make format` writes the repository's style; the check then passes.
    assert run_biome(js_copy, "format", "--write").returncode == 0
    assert 'export const f = (x) => {\n  return "x" + x;\n};' in text.read_text()
    assert run_biome(js_copy, *CHECK).returncode == 0


def test_the_binary_is_unpacked_once_and_executable(tmp_path, monkeypatch):
    tarball = tmp_path / "cli-1.0.0.tgz"
    with tarfile.open(tarball, "w:gz") as tar:
        for name, data, mode in [
            ("package/biome", b"#!/bin/sh\necho biome 1.0.0\n", 0o755),
            ("package/README.md", b"not needed", 0o644),
        ]:
            info = tarfile.TarInfo(name)
            info.size, info.mode = len(data), mode
            tar.addfile(info, io.BytesIO(data))
    sha = hashlib.sha256(tarball.read_bytes()).hexdigest()
    fake = jsdeps.JsPackage(
        Package("npm", "@x/cli", "1.0.0", sha256=sha), "biome-1.0.0", ("biome",)
    )
    fetched = []
    monkeypatch.setattr(jslint, "BIOME", fake)
    monkeypatch.setattr(jsdeps, "fetch", lambda p, d: fetched.append(p) or tarball)
    monkeypatch.setattr(jslint.platform, "machine", lambda: "x86_64")
    monkeypatch.setattr(jslint.sys, "platform", "linux")

    binary = jslint.biome(tmp_path / "tools")
    assert binary == tmp_path / "tools" / "biome-1.0.0" / "biome" and os.access(binary, os.X_OK)
    assert subprocess.run([binary], capture_output=True, text=True).stdout == "biome 1.0.0\n"
    assert not (binary.parent / "README.md").exists()
    assert jslint.biome(tmp_path / "tools") == binary and len(fetched) == 1  # fetched once
    assert sorted(p.name for p in (tmp_path / "tools").iterdir()) == ["biome-1.0.0"]


def test_other_machines_are_told_what_to_install(monkeypatch, tmp_path):
    monkeypatch.setattr(jslint.platform, "machine", lambda: "arm64")
    with pytest.raises(jslint.ToolError, match="Linux x86-64 only.*@biomejs/biome 2.6.8"):
        jslint.biome(tmp_path)
    assert not list(tmp_path.iterdir())
