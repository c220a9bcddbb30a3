"""The shipped blocklist: pinned fetch, the file in the bundle, old bundles without one."""

import dataclasses
import json
import shutil

import pytest

from kbd_lm.corpora.registry import sha256_of
from kbd_lm.export.blocklist import DEFAULT_SOURCE, BlocklistSourceError, write_blocklist
from kbd_lm.inference import bundle as B
from kbd_lm.inference.predictor import Predictor


def test_bundle_ships_the_blocklist_with_its_licence(tiny_bundle):
    manifest = json.loads((tiny_bundle / "manifest.json").read_text())
    assert "blocklist.txt" in manifest["shipped_files"]
    assert manifest["files"]["blocklist.txt"]["bytes"] > 1000
    info = manifest["blocklist"]
    assert info["source"] == DEFAULT_SOURCE and info["licence"] == "CC-BY-4.0"
    assert info["entries"] > 300
    predictor = Predictor.load(tiny_bundle)
    assert predictor.blocklist.blocks("Fuck") and not predictor.blocklist.blocks("tomorrow")
    text = (tiny_bundle / "blocklist.txt").read_text("utf-8")
    assert text.startswith("# source: npm:naughty-words@1.2.0\n# licence: CC-BY-4.0")


def test_old_bundle_without_blocklist_still_loads(tiny_bundle, tmp_path):
    old = tmp_path / "old"
    shutil.copytree(tiny_bundle, old)
    (old / "blocklist.txt").unlink()
    manifest = B.read(old)
    files = {n: e for n, e in manifest.files.items() if n != "blocklist.txt"}
    B.write(old, dataclasses.replace(manifest, files=files, blocklist=None))
    assert "blocklist" not in json.loads((old / "manifest.json").read_text())
    # A blocklist.txt the manifest does not list (so no checksum vouches for it) is ignored.
    (old / "blocklist.txt").write_text("tomorrow\nlater\nsoon\n", encoding="utf-8")
    predictor = Predictor.load(old)
    assert len(predictor.blocklist) == 0 and predictor.suggest("see you ")


def test_pinned_fetch_checks_the_checksum(tmp_path):
    cache = tmp_path / "cache"
    info = write_blocklist(DEFAULT_SOURCE, tmp_path / "a" / "blocklist.txt", cache)
    assert info.entries > 300 and info.source_sha256
    (tarball,) = cache.glob("npm/*.tgz")
    tarball.write_bytes(tarball.read_bytes()[:-10] + b"0123456789")  # a tampered cache
    again = write_blocklist(DEFAULT_SOURCE, tmp_path / "b" / "blocklist.txt", cache)
    assert again == info  # refetched: the tampered file was not used
    assert sha256_of(tarball) == info.source_sha256
    with pytest.raises(BlocklistSourceError, match="not pinned"):
        write_blocklist("npm:bad-words@4.1.5", tmp_path / "c.txt", cache)


def test_local_file_and_none(tmp_path):
    src = tmp_path / "mine.txt"
    src.write_text("# my list\nDarn\nheck it\n\n", encoding="utf-8")
    info = write_blocklist(str(src), tmp_path / "out" / "blocklist.txt", tmp_path)
    assert info.entries == 2
    lines = (tmp_path / "out" / "blocklist.txt").read_text().splitlines()
    assert lines[-2:] == ["darn", "heck it"]
    assert write_blocklist("", tmp_path / "none.txt", tmp_path) is None
    with pytest.raises(BlocklistSourceError, match="not found"):
        write_blocklist(str(tmp_path / "missing.txt"), tmp_path / "x.txt", tmp_path)
