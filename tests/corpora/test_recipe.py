"""A recipe end to end: its pinned package from a local registry, checksum, units."""

import dataclasses
import hashlib
import io
import tarfile
from collections import Counter
from pathlib import Path

import pytest

from kbd_lm.corpora import PACKAGE_RECIPES, RECIPES, resolve
from kbd_lm.corpora.registry import ChecksumError, npm_tarball_url
from kbd_lm.corpora.sms import SMS

FIXTURES = Path(__file__).parent / "fixtures"


def _pack(folder: Path) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                tar.add(path, arcname=path.relative_to(folder).as_posix())
    return buf.getvalue()


def test_recipe_fetches_its_pinned_package_and_reads_it(tmp_path, monkeypatch, fixture_source):
    registry = tmp_path / "registry"
    tgz = registry / npm_tarball_url("nlp-corpus", "3.3.0", "")[1:]
    tgz.parent.mkdir(parents=True)
    tgz.write_bytes(_pack(FIXTURES / "nlp-corpus-3.3.0"))
    monkeypatch.setenv("KBD_LM_NPM_REGISTRY", registry.as_uri())

    # The real pin does not match the fixture tarball: refused, nothing kept.
    with pytest.raises(ChecksumError, match="nlp-corpus@3.3.0"):
        SMS.source(tmp_path / "dl")
    assert not list((tmp_path / "dl" / "npm").glob("*.tgz"))

    pin = dataclasses.replace(SMS.package, sha256=hashlib.sha256(tgz.read_bytes()).hexdigest())
    recipe = dataclasses.replace(SMS, package=pin, expected={"messages": 47})
    source = recipe.source(tmp_path / "dl")
    tally = Counter()
    units = list(source.iter_units(tally))
    assert units == list(fixture_source("sms").iter_units())
    assert source.expected == {"messages": 47} and tally["messages"] == 47
    assert source.licence.name.startswith("NUS SMS Corpus")


def test_every_recipe_is_pinned_licensed_and_named():
    assert set(PACKAGE_RECIPES) == {
        "sms",
        "email",
        "gutenberg",
        "bigtxt",
        "sotu",
        "sentences",
        "brown",
        "vader",
    }
    for name, recipe in PACKAGE_RECIPES.items():
        assert RECIPES[name] == recipe.source
        assert len(recipe.package.sha256) == 64 and recipe.expected
        research = name in ("sentences", "brown", "vader")
        assert recipe.licence.research_only is research and recipe.licence.statement


def test_fingerprint_changes_with_the_fixture_content(tmp_path, fixture_source):
    first = fixture_source("sotu").fingerprint
    assert first == fixture_source("sotu").fingerprint
    copy = tmp_path / "sotu"
    for path in (FIXTURES / "datasets-sotu-0.2.3").rglob("*"):
        if path.is_file():
            target = copy / path.relative_to(FIXTURES / "datasets-sotu-0.2.3")
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(path.read_bytes())
    (copy / "package/data/1790_george_washington_n.txt").write_text("changed\n")
    assert PACKAGE_RECIPES["sotu"].source_from(copy).fingerprint != first


def test_a_path_that_is_not_a_recipe_is_plain_text(tmp_path):
    (tmp_path / "a.txt").write_text("one\n")
    assert resolve(str(tmp_path)).name == f"plaintext:{tmp_path}"
    assert resolve(f"plaintext:{tmp_path}").name == f"plaintext:{tmp_path}"
