"""The bundle's ``blocklist.txt``: offensive words from a maintained, pinned word-list package.

Default source: the npm package ``naughty-words`` 1.2.0, the "List of Dirty, Naughty, Obscene,
and Otherwise Bad Words" (LDNOOBW) that Shutterstock compiled to filter its autocomplete,
licence CC-BY-4.0 (attribution: the file header and the manifest say where the words come
from). Its English list (``package/en.json``, 403 entries, 124 of them phrases) is used as is.
Other lists looked at: ``better-profanity`` (PyPI, MIT) blocks everyday words ("god", "kill",
"drunk", "gay"); ``cuss`` (npm, MIT) rates "stupid" surer than "shit".

The package is fetched at export time by :func:`kbd_lm.corpora.registry.fetch` into a cache
folder and refused unless its SHA-256 is the pinned one.
``blocklist = "path/to/words.txt"`` in the export config uses a local file instead (one entry
a line), ``blocklist = ""`` ships none.

>>> out, cache = Path("b/blocklist.txt"), Path("data/downloads")           # doctest: +SKIP
>>> info = write_blocklist("npm:naughty-words@1.2.0", out, cache)           # doctest: +SKIP
>>> info.entries, info.licence                                              # doctest: +SKIP
(402, 'CC-BY-4.0')
"""

from __future__ import annotations

import json
import logging
import tarfile
from pathlib import Path

from kbd_lm.common.fsutil import atomic_write_text
from kbd_lm.corpora.registry import FetchError, Package, fetch
from kbd_lm.inference.blocklist import BLOCKLIST_FILE  # noqa: F401  (re-exported for the exporter)
from kbd_lm.inference.bundle import BlocklistSpec
from kbd_lm.text.normalization import words

log = logging.getLogger(__name__)

DEFAULT_SOURCE = "npm:naughty-words@1.2.0"
PINNED = {
    DEFAULT_SOURCE: {
        "package": Package(
            "npm",
            "naughty-words",
            "1.2.0",
            sha256="c34b05e10a97ec7b9e0c3dd91d09888187c0f08d0812eaea79679795585b217e",
        ),
        "member": "package/en.json",
        "licence": "CC-BY-4.0",
        "attribution": "List of Dirty, Naughty, Obscene, and Otherwise Bad Words "
        "(LDNOOBW), Shutterstock, via the npm package naughty-words 1.2.0",
    },
}


class BlocklistSourceError(RuntimeError):
    """The word list could not be fetched, did not match its pin, or is not a word list."""


def _entries_from_package(source: str, cache_dir: Path) -> list[str]:
    pin = PINNED.get(source)
    if pin is None:
        raise BlocklistSourceError(f"{source}: not pinned; known sources: {sorted(PINNED)}")
    try:
        tarball = fetch(pin["package"], cache_dir)
    except FetchError as err:
        raise BlocklistSourceError(f"blocklist {source}: {err}") from err
    member = pin["member"]
    with tarfile.open(tarball, "r:gz") as tar:
        raw = tar.extractfile(member)
        if raw is None:
            raise BlocklistSourceError(f"{tarball}: no {member}")
        data = json.loads(raw.read().decode("utf-8"))
    if not isinstance(data, list) or not all(isinstance(w, str) for w in data):
        raise BlocklistSourceError(f"{tarball}:{member}: not a JSON list of strings")
    return data


def write_blocklist(source: str, path: Path, cache_dir: Path) -> BlocklistSpec | None:
    """Write ``blocklist.txt`` from ``source``; returns the manifest's ``blocklist`` entry.

    ``source``: a pinned ``npm:name@version``, a local text file, or "" for none (None back).
    """
    if not source:
        return None
    if source.startswith("npm:"):
        entries = _entries_from_package(source, Path(cache_dir))
        pin = PINNED[source]
        info = {"source": source, "licence": pin["licence"], "attribution": pin["attribution"]}
        info["source_sha256"] = pin["package"].sha256
    else:
        local = Path(source)
        if not local.is_file():
            raise BlocklistSourceError(f"blocklist file not found: {local}")
        lines = local.read_text(encoding="utf-8").splitlines()
        entries = [x for x in lines if x.strip() and not x.startswith("#")]
        info = {"source": str(local), "licence": "as the file's owner states"}
    cleaned = sorted({" ".join(words(e)) for e in entries} - {""})
    header = [f"# source: {info['source']}", f"# licence: {info['licence']}"]
    if "attribution" in info:
        header.append(f"# attribution: {info['attribution']}")
    atomic_write_text(path, "\n".join(header + cleaned) + "\n")
    log.info("blocklist: %d entries from %s (%s)", len(cleaned), info["source"], info["licence"])
    return BlocklistSpec(file=path.name, **info, entries=len(cleaned))
