"""What every recipe yields and how a unit's split is chosen.

A recipe yields :class:`RawUnit` items (the text of one unit and the key that decides its
split) and counts what it removed, joined or replaced in a ``Counter`` (its *tally*).

The split rule is the same for every source (documented in docs/data.md):
``int(sha1(key).hexdigest(), 16) % 10`` is 0 for test, 1 for validation, else train.

>>> split_of("a07edb12-6b91-4138-b11e-02421888d699")
'test'
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field

SPLITS = ("train", "valid", "test")


@dataclass(frozen=True)
class RawUnit:
    """One unit of text before normalisation.

    ``text`` is bytes when the source could not be decoded as UTF-8: the preparation step
    counts and skips it instead of crashing.
    """

    key: str
    text: str | bytes


@dataclass(frozen=True)
class Licence:
    """The licence of a source's *text* (not only its package's label).

    ``statement`` quotes the upstream words; ``research_only`` marks text that is other
    people's writing without a licence to train a shipped model on (the ``broad`` sources).
    """

    name: str
    statement: str
    where: str
    research_only: bool = False

    def as_dict(self) -> dict:
        return {
            "licence": self.name,
            "statement": self.statement,
            "where": self.where,
            "research_only": self.research_only,
        }


@dataclass(frozen=True)
class Source:
    """A corpus source: its units, a fingerprint that changes when the data changes, a name.

    ``units(tally)`` yields the units and adds to ``tally`` what the recipe counted;
    ``expected`` are tally counts that must come out exactly (checked by the preparation).
    """

    name: str
    fingerprint: str
    units: Callable[[Counter], Iterator[RawUnit]]
    licence: Licence | None = None
    expected: Mapping[str, int] = field(default_factory=dict)

    def iter_units(self, tally: Counter | None = None) -> Iterator[RawUnit]:
        """The units, counting into ``tally`` (a throw-away counter if none is given)."""
        return self.units(Counter() if tally is None else tally)


def split_of(key: str) -> str:
    """The split a unit belongs to, from its key (conversation id, or the line itself)."""
    bucket = int(hashlib.sha1(key.encode("utf-8", "surrogateescape")).hexdigest(), 16) % 10
    return "test" if bucket == 0 else "valid" if bucket == 1 else "train"
