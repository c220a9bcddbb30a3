"""Keyboard layouts as data: where each key of a phone keyboard's letter rows is.

A layout is rows of equal keys. Coordinates are in **key units**: a key is ``key_width`` wide
and ``key_height`` high (1 x 1 by default), x grows to the right from the left edge of the
widest row, y grows downwards from the top of the first row. Row ``r`` starts ``offset`` key
widths from the left edge; its ``i``-th key's centre is at
``(offset + (i + 0.5) * key_width, (r + 0.5) * key_height)``.

The layout file format is one JSON-able dict, written and read here only
(:meth:`Layout.to_dict`, :meth:`Layout.from_dict`), so that a bundle can carry the layouts
its decoders use::

    {"format": "kbd-lm-layout", "version": 1, "name": "qwerty",
     "key_width": 1.0, "key_height": 1.0,
     "rows": [{"keys": "qwertyuiop", "offset": 0.0}, {"keys": "asdfghjkl", "offset": 0.5},
              {"keys": "zxcvbnm'", "offset": 1.5}]}

Keys are single characters, lowercase; the letters' uppercase forms are the same keys (shift).
Only the rows that type word characters are described: shift, backspace and the space bar
are not keys here. The apostrophe is a key of the bottom row of QWERTY, QWERTZ and AZERTY (as
on the French AZERTY of phone keyboards), and of the top row of Dvorak, its place there.

>>> q = LAYOUTS["qwerty"]
>>> q.centre("q"), q.centre("a"), q.centre("z")
((0.5, 0.5), (1.0, 1.5), (2.0, 2.5))
>>> q.key_at(4.6, 1.2), q.key_at(0.2, 1.5), q.nearest_key(0.2, 1.5)
('g', None, 'a')
>>> Layout.from_dict(q.to_dict()) == q
True
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cached_property

FORMAT = "kbd-lm-layout"
VERSION = 1


class LayoutError(ValueError):
    """A layout dict that is not in the format above."""


@dataclass(frozen=True)
class KeyRow:
    """One row of keys: its characters, left to right, and where it starts (key widths)."""

    keys: str
    offset: float = 0.0


@dataclass(frozen=True)
class Layout:
    """A keyboard's letter rows (see the module docstring for the coordinates)."""

    name: str
    rows: tuple[KeyRow, ...]
    key_width: float = 1.0
    key_height: float = 1.0

    def __post_init__(self) -> None:
        seen: set[str] = set()
        if not self.rows:
            raise LayoutError(f"layout {self.name!r}: no rows")
        if not (self.key_width > 0 and self.key_height > 0):
            raise LayoutError(f"layout {self.name!r}: key sizes must be positive")
        for r, row in enumerate(self.rows):
            if not row.keys or not math.isfinite(row.offset) or row.offset < 0:
                raise LayoutError(f"layout {self.name!r}: row {r} is empty or badly offset")
            for key in row.keys:
                if key in seen or key != key.lower() or key.isspace():
                    raise LayoutError(
                        f"layout {self.name!r}: key {key!r} repeated or not lowercase"
                    )
                seen.add(key)

    @cached_property
    def centres(self) -> dict[str, tuple[float, float]]:
        """Key -> its centre (x, y) in key units, in reading order."""
        out = {}
        for r, row in enumerate(self.rows):
            y = (r + 0.5) * self.key_height
            for i, key in enumerate(row.keys):
                out[key] = (row.offset + (i + 0.5) * self.key_width, y)
        return out

    @property
    def keys(self) -> str:
        """Every key, in reading order."""
        return "".join(self.centres)

    @property
    def width(self) -> float:
        """The keyboard's width: the right edge of its widest row."""
        return max(row.offset + len(row.keys) * self.key_width for row in self.rows)

    @property
    def height(self) -> float:
        return len(self.rows) * self.key_height

    def centre(self, key: str) -> tuple[float, float]:
        """The centre of ``key`` (any case); KeyError for a character the layout lacks."""
        return self.centres[key.lower()]

    def __contains__(self, char: str) -> bool:
        return char.lower() in self.centres

    def key_at(self, x: float, y: float) -> str | None:
        """The key whose rectangle holds the point (x, y), or None (off the letter keys)."""
        r = math.floor(y / self.key_height)
        if not 0 <= r < len(self.rows):
            return None
        row = self.rows[r]
        i = math.floor((x - row.offset) / self.key_width)
        return row.keys[i] if 0 <= i < len(row.keys) else None

    def nearest_key(self, x: float, y: float) -> str:
        """The key under (x, y), a point off the keys taken by the nearest key of the nearest
        row (what a touch on the keyboard's edge, or on shift or backspace, lands on here)."""
        r = min(max(math.floor(y / self.key_height), 0), len(self.rows) - 1)
        row = self.rows[r]
        i = min(max(math.floor((x - row.offset) / self.key_width), 0), len(row.keys) - 1)
        return row.keys[i]

    # ------------------------------------------------------------------ the format

    def to_dict(self) -> dict:
        """The JSON-able form (the module docstring's format)."""
        return {
            "format": FORMAT,
            "version": VERSION,
            "name": self.name,
            "key_width": self.key_width,
            "key_height": self.key_height,
            "rows": [{"keys": row.keys, "offset": row.offset} for row in self.rows],
        }

    @classmethod
    def from_dict(cls, doc: dict) -> Layout:
        """Read :meth:`to_dict`'s form; anything else raises :class:`LayoutError` saying what.

        >>> Layout.from_dict({"format": "kbd-lm-layout", "version": 2})
        Traceback (most recent call last):
        ...
        kbd_lm.typing.layouts.LayoutError: layout: format kbd-lm-layout version 2, expected 1
        """
        if not isinstance(doc, dict) or doc.get("format") != FORMAT:
            raise LayoutError(f"layout: not a {FORMAT} dict")
        if doc.get("version") != VERSION:
            raise LayoutError(f"layout: format {FORMAT} version {doc.get('version')}, expected 1")
        try:
            rows = tuple(KeyRow(str(r["keys"]), float(r.get("offset", 0.0))) for r in doc["rows"])
            return cls(
                str(doc["name"]),
                rows,
                float(doc.get("key_width", 1.0)),
                float(doc.get("key_height", 1.0)),
            )
        except (KeyError, TypeError, ValueError) as err:
            if isinstance(err, LayoutError):
                raise
            raise LayoutError(f"layout {doc.get('name')!r}: {err!r}") from err


def _layout(name: str, *rows: tuple[str, float]) -> Layout:
    return Layout(name, tuple(KeyRow(keys, offset) for keys, offset in rows))


# The letter rows of common phone layouts (portrait, one key width per letter key). Row
# offsets: the second row of QWERTY and QWERTZ is indented half a key; the bottom row starts
# after a shift key of one and a half keys.
LAYOUTS: dict[str, Layout] = {
    "qwerty": _layout("qwerty", ("qwertyuiop", 0.0), ("asdfghjkl", 0.5), ("zxcvbnm'", 1.5)),
    "azerty": _layout("azerty", ("azertyuiop", 0.0), ("qsdfghjklm", 0.0), ("wxcvbn'", 1.5)),
    "qwertz": _layout("qwertz", ("qwertzuiop", 0.0), ("asdfghjkl", 0.5), ("yxcvbnm'", 1.5)),
    "dvorak": _layout("dvorak", ("',.pyfgcrl", 0.0), ("aoeuidhtns", 0.0), ("qjkxbmwvz", 0.5)),
}
DEFAULT_LAYOUT = "qwerty"


def get_layout(name: str) -> Layout:
    """The built-in layout ``name``; a ValueError lists the names for any other.

    >>> get_layout("dvorak").centre("a")
    (0.5, 1.5)
    """
    try:
        return LAYOUTS[name]
    except KeyError:
        raise ValueError(f"unknown layout {name!r}: use one of {', '.join(LAYOUTS)}") from None
