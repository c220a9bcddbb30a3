"""Unpacking the pinned LiteRT.js tarballs: only the browser's folders, idempotent, atomic."""

import hashlib
import io
import tarfile

import pytest

from kbd_lm.corpora.registry import Package
from kbd_lm.serve import jsdeps


def make_tarball(path, files):
    with tarfile.open(path, "w:gz") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def fake_package(tmp_path, monkeypatch):
    tarball = tmp_path / "core-1.0.0.tgz"
    files = {
        "package/dist/index.js": b"export const x = 1;",
        "package/wasm/a.wasm": b"\0asm",
        "package/README.md": b"not needed",
        "package/dist/../../escape.js": b"never written",
    }
    sha = make_tarball(tarball, files)
    pkg = jsdeps.JsPackage(Package("npm", "@x/core", "1.0.0", sha256=sha), "x-core", ("dist/",))
    fetched = []
    monkeypatch.setattr(jsdeps, "PACKAGES", (pkg,))
    monkeypatch.setattr(jsdeps, "fetch", lambda p, d: fetched.append(p) or tarball)
    return fetched


def test_unpacks_only_the_kept_folders_and_then_stays_put(tmp_path, fake_package):
    vendor = tmp_path / "vendor"
    lines = jsdeps.install(vendor, tmp_path / "downloads")
    assert "1 files" in lines[0]
    assert (vendor / "x-core" / "dist" / "index.js").read_bytes() == b"export const x = 1;"
    assert not (vendor / "x-core" / "README.md").exists()
    assert not (tmp_path / "escape.js").exists() and not (vendor / "escape.js").exists()
    assert "up to date" in jsdeps.install(vendor, tmp_path / "downloads")[0]
    assert len(fake_package) == 1  # fetched once
    assert [p.name for p in vendor.iterdir()] == ["x-core"]  # no temporary folder left


def test_a_folder_from_another_version_is_replaced(tmp_path, fake_package):
    stale = tmp_path / "vendor" / "x-core"
    stale.mkdir(parents=True)
    (stale / ".sha256").write_text("0" * 64)
    (stale / "old.js").write_text("old")
    jsdeps.install(tmp_path / "vendor", tmp_path / "downloads")
    assert not (stale / "old.js").exists() and (stale / "dist" / "index.js").exists()
