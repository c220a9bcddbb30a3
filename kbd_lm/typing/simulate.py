"""A seeded touch-typing simulator: what a person on a phone types for an intended word.

The model is the channel's (:mod:`kbd_lm.typing.channel`, whose :class:`ChannelParams` name
the rates and cite where their defaults come from), run forwards. For each intended
character, left to right:

- it is left out with probability ``omission`` (``missing_apostrophe`` for an apostrophe);
- else, with probability ``transposition`` (when a next character exists), it and the next
  one are typed in the other order;
- else it is typed: a touch is drawn from a 2-D Gaussian around its key's centre with
  standard deviation ``touch_spread`` key widths, and the key under the touch is typed (a
  touch off the keys counts for the nearest key,
  :meth:`~kbd_lm.typing.layouts.Layout.nearest_key`), in the intended character's case.
  A character the layout lacks (a digit, "é") is typed exactly, without a tap.

After each typed character, with probability ``doubled`` the same key is typed again, else
with probability ``insertion`` a key drawn uniformly from the layout is typed too; the tap
of such an extra touch is uniform over that key's rectangle (the channel's density for it).

>>> import numpy as np
>>> from kbd_lm.typing.layouts import LAYOUTS
>>> rng = np.random.default_rng(0)
>>> params = ChannelParams(touch_spread=0.35)
>>> [simulate(w, rng, layout=LAYOUTS["qwerty"], params=params).letters
...  for w in ("Tomorrow", "don't", "the", "keyboard")]
['Tommorrow', 'dpny', 'the', 'keynlarx']
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from kbd_lm.typing.channel import ChannelParams, Tap
from kbd_lm.typing.layouts import Layout


@dataclass(frozen=True)
class Typed:
    """What was typed for one word: the letters and, per letter, the touch point (key units),
    None for a character typed without a key of the layout."""

    letters: str
    taps: tuple[Tap | None, ...]


def _in_case(key: str, like: str) -> str:
    return key.upper() if like.isupper() else key


def simulate(
    word: str, rng: np.random.Generator, *, layout: Layout, params: ChannelParams
) -> Typed:
    """Type ``word`` once with the module docstring's errors, drawing from ``rng``.

    The same generator state gives the same result (seeded repeatability).
    """
    letters: list[str] = []
    taps: list[Tap | None] = []
    spread = params.touch_spread

    def touch(char: str) -> None:
        """Type ``char`` with a Gaussian touch around its key, then maybe an extra key."""
        if char.lower() not in layout:
            letters.append(char)
            taps.append(None)
            return
        cx, cy = layout.centre(char)
        x, y = cx + spread * rng.standard_normal(), cy + spread * rng.standard_normal()
        key = layout.nearest_key(x, y)
        letters.append(_in_case(key, char))
        taps.append((float(x), float(y)))
        extra = rng.random()
        if extra < params.doubled:
            extra_key = key
        elif extra < params.doubled + params.insertion:
            extra_key = layout.keys[rng.integers(len(layout.keys))]
        else:
            return
        ex, ey = layout.centre(extra_key)
        dx, dy = rng.random() - 0.5, rng.random() - 0.5  # uniform over the key's rectangle
        letters.append(_in_case(extra_key, char))
        taps.append((float(ex + dx * layout.key_width), float(ey + dy * layout.key_height)))

    i = 0
    while i < len(word):
        char = word[i]
        u = rng.random()
        skip = params.missing_apostrophe if char == "'" else params.omission
        if u < skip:
            i += 1
        elif u < skip + params.transposition and i + 1 < len(word):
            touch(word[i + 1])
            touch(char)
            i += 2
        else:
            touch(char)
            i += 1
    return Typed("".join(letters), tuple(taps))
