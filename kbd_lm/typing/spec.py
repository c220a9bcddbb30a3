"""The typing channel a bundle carries: ``typing.json``, written and read here only.

Every decoder that corrects typing reads the same layouts, channel parameters and
thresholds from the bundle (docs/decoding.md, section 11; docs/bundle.md), never copies of
its own. Export writes :meth:`TypingSpec.save` of the values below; the Python predictor
reads them with :meth:`kbd_lm.inference.bundle.Bundle.typing`. The file::

    {"format": "kbd-lm-typing", "version": 1,
     "layouts": [{"format": "kbd-lm-layout", "version": 1, "name": "qwerty",
                  "key_width": 1.0, "key_height": 1.0,
                  "rows": [{"keys": "qwertyuiop", "offset": 0.0}, ...]}, ...],
     "channel": {"touch_spread": 0.3, "omission": 0.01, "insertion": 0.005,
                 "doubled": 0.005, "transposition": 0.005, "missing_apostrophe": 0.3},
     "correction": {"autocorrect_margin": 2.5, "autocorrect_strip_ratio": 0.3,
                    "completion_bonus": 6.0, "unlisted_min": 0.05}}

``layouts``: each in the layout format of :mod:`kbd_lm.typing.layouts` (rows of keys and
their offsets, key sizes in key units: the key centres follow from them); ``channel``: every
field of :class:`~kbd_lm.typing.channel.ChannelParams`; ``correction``: the thresholds of
:mod:`kbd_lm.inference.correction`. Every field is required: a file that lacks one, or holds
one more, is refused with :class:`TypingError` naming the file and the field.

>>> import tempfile; path = Path(tempfile.mkdtemp()) / FILE
>>> TypingSpec().save(path)
>>> back = TypingSpec.load(path)
>>> back == TypingSpec(), back.layout("azerty").centre("a")
(True, (0.5, 0.5))
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
from dataclasses import dataclass, field
from pathlib import Path

from kbd_lm.common.fsutil import atomic_write_text
from kbd_lm.typing.channel import ChannelParams
from kbd_lm.typing.layouts import LAYOUTS, Layout, LayoutError

FILE = "typing.json"
FORMAT = "kbd-lm-typing"
VERSION = 1

# nats by which the best whole word must beat the typed letters (as a word) to be committed
# by space (e^2.5: 12 times likelier). The smallest of 2, 2.5, 3 and 4 that keeps false
# corrections at most 1% on every kind of the validation splits at both simulated spreads with
# the channel's touch_spread of 0.3 (docs/results.md, "The channel's spread"); 0.9.0 had 2.0
# with a spread of 0.25.
AUTOCORRECT_MARGIN = 2.5
# A completion the word list lacks (mostly a made-up spelling) is shown only with at least this
# share of the hypotheses' probability: 0.9.0's first value.
UNLISTED_MIN = 0.05
# The autocorrection's strip score over the strip's first, at least: below it the typed letters
# are more likely the start of another word than a mistyping of this one, and space keeps them
# ("see you tomo": *too* sits at 1.2e-3 of *tomorrow*). Chosen on the validation splits with
# the default bundle of 0.10.0.dev0 (docs/results.md, "The strip ratio and the completion
# bonus"): 0.3 keeps top-3 inside exactly typed words within 0.2 points of no correction, for
# 0.7 points of accuracy after space against 0.01.
AUTOCORRECT_STRIP_RATIO = 0.3
# nats added to the strip score of a completion of the letters as typed: a correctly typed word
# keeps its completions ahead of corrections that the prior alone would put first. Chosen with
# the ratio above: without it, top-3 inside exactly typed words fell 2.1 points below no
# correction; 10 nats was no better than 6.
COMPLETION_BONUS = 6.0


class TypingError(ValueError):
    """A ``typing.json`` that is not in the format above; the message names file and field."""


@dataclass(frozen=True)
class TypingSpec:
    """The layouts, the channel's parameters and the correction's thresholds of a bundle."""

    layouts: tuple[Layout, ...] = tuple(LAYOUTS.values())
    channel: ChannelParams = field(default_factory=ChannelParams)
    autocorrect_margin: float = AUTOCORRECT_MARGIN  # nats
    autocorrect_strip_ratio: float = AUTOCORRECT_STRIP_RATIO  # a ratio of probabilities
    completion_bonus: float = COMPLETION_BONUS  # nats
    unlisted_min: float = UNLISTED_MIN  # a probability

    def layout(self, name: str) -> Layout:
        """The layout ``name``; a ValueError lists the names for any other.

        >>> TypingSpec().layout("colemak")
        Traceback (most recent call last):
        ...
        ValueError: unknown layout 'colemak': use one of qwerty, azerty, qwertz, dvorak
        """
        for layout in self.layouts:
            if layout.name == name:
                return layout
        names = ", ".join(layout.name for layout in self.layouts)
        raise ValueError(f"unknown layout {name!r}: use one of {names}")

    # ------------------------------------------------------------------ the format

    def to_json(self) -> dict:
        """The JSON document of ``typing.json`` (the module docstring's format)."""
        return {
            "format": FORMAT,
            "version": VERSION,
            "layouts": [layout.to_dict() for layout in self.layouts],
            "channel": self.channel.to_dict(),
            "correction": {
                "autocorrect_margin": self.autocorrect_margin,
                "autocorrect_strip_ratio": self.autocorrect_strip_ratio,
                "completion_bonus": self.completion_bonus,
                "unlisted_min": self.unlisted_min,
            },
        }

    @classmethod
    def from_json(cls, doc: object, source: str = FILE) -> TypingSpec:
        """Check and parse :meth:`to_json`'s document; :class:`TypingError` names ``source``
        and the field otherwise.

        >>> doc = TypingSpec().to_json(); del doc["channel"]["omission"]
        >>> TypingSpec.from_json(doc)
        Traceback (most recent call last):
        ...
        kbd_lm.typing.spec.TypingError: typing.json: channel.omission: missing
        """
        if not isinstance(doc, dict) or doc.get("format") != FORMAT:
            raise TypingError(f"{source}: not a {FORMAT} file")
        if doc.get("version") != VERSION:
            raise TypingError(
                f"{source}: {FORMAT} version {doc.get('version')!r} is not supported "
                f"(this kbd-lm reads version {VERSION}; upgrade kbd-lm)"
            )
        _keys(doc, {"format", "version", "layouts", "channel", "correction"}, source, "")
        layouts = doc["layouts"]
        if not isinstance(layouts, list) or not layouts:
            raise TypingError(f"{source}: layouts: expected a non-empty list")
        parsed = []
        for i, layout in enumerate(layouts):
            try:
                parsed.append(Layout.from_dict(layout))
            except LayoutError as err:
                raise TypingError(f"{source}: layouts[{i}]: {err}") from None
        if len({layout.name for layout in parsed}) != len(parsed):
            raise TypingError(f"{source}: layouts: two layouts have the same name")
        channel = _numbers(doc["channel"], ChannelParams, source, "channel")
        try:
            params = ChannelParams(**channel)
        except ValueError as err:  # "channel: omission must be a probability ..."
            raise TypingError(f"{source}: {err}") from None
        correction = _numbers(doc["correction"], _Correction, source, "correction")
        if not 0 <= correction["unlisted_min"] < 1:
            raise TypingError(f"{source}: correction.unlisted_min: must be in [0, 1)")
        if not 0 < correction["autocorrect_strip_ratio"] <= 1:
            raise TypingError(f"{source}: correction.autocorrect_strip_ratio: must be in (0, 1]")
        return cls(tuple(parsed), params, **correction)

    def save(self, path: str | os.PathLike) -> None:
        """Write ``typing.json`` at ``path`` atomically (compact JSON: it ships to phones)."""
        text = json.dumps(self.to_json(), separators=(",", ":"), ensure_ascii=False)
        atomic_write_text(Path(path), text + "\n")

    @classmethod
    def load(cls, path: str | os.PathLike) -> TypingSpec:
        """Read a ``typing.json``; :class:`TypingError` (naming the path) if it is not one."""
        path = Path(path)
        try:
            doc = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise TypingError(f"{path}: missing file") from None
        except (UnicodeDecodeError, json.JSONDecodeError) as err:
            raise TypingError(f"{path}: not valid JSON ({err})") from None
        return cls.from_json(doc, str(path))


@dataclass(frozen=True)
class _Correction:
    """The ``correction`` section's fields (:class:`TypingSpec`'s thresholds)."""

    autocorrect_margin: float
    autocorrect_strip_ratio: float
    completion_bonus: float
    unlisted_min: float


def _keys(doc: object, names: set[str], source: str, where: str) -> None:
    """Every key of ``names`` in ``doc`` and no other, else a :class:`TypingError`."""
    if not isinstance(doc, dict):
        raise TypingError(f"{source}: {where}: expected an object")
    prefix = f"{where}." if where else ""
    missing, unknown = sorted(names - set(doc)), sorted(set(doc) - names)
    if missing:
        raise TypingError(f"{source}: {prefix}{missing[0]}: missing")
    if unknown:
        raise TypingError(f"{source}: {prefix}{unknown[0]}: unknown field")


def _numbers(doc: object, cls: type, source: str, where: str) -> dict[str, float]:
    """The section ``where`` of ``doc``: exactly ``cls``'s fields, each a finite number."""
    names = {f.name for f in dataclasses.fields(cls)}
    _keys(doc, names, source, where)
    out = {}
    for name in sorted(names):
        value = doc[name]
        if (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or not math.isfinite(value)
        ):
            raise TypingError(f"{source}: {where}.{name}: {value!r} is not a number")
        out[name] = float(value)
    return out
