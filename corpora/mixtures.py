"""Named mixtures of corpus sources, with the share of each in an epoch of training.

A weight is the share of an epoch's training *words* drawn from a source (the preparation
normalises them to sum to 1): a small source with a large weight is seen several times per
epoch, a large one with a small weight only in part. The order of the sources is also the
order of de-duplication: a unit that repeats one of an earlier source is dropped.

The weights below are starting values that lean toward messages and e-mail (SMS and e-mail
are upsampled about twice over their share of the words); they are to be chosen on the
validation splits by training with a few settings and comparing per-source validation
perplexity.

>>> MIXTURES["default"].sources
('chitchat', 'sms', 'email', 'gutenberg', 'bigtxt', 'sotu')
>>> round(sum(MIXTURES["broad"].weights.values()), 6)
1.0
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class Mixture:
    """A named list of sources (recipe names) with per-source weights and a licence caveat."""

    name: str
    weights: Mapping[str, float]
    description: str = ""
    caveat: str = ""

    def __post_init__(self) -> None:
        bad = {k: v for k, v in self.weights.items() if not (isinstance(v, int | float) and v >= 0)}
        if bad or not self.weights or sum(self.weights.values()) <= 0:
            raise ValueError(f"mixture {self.name!r}: weights must be >= 0 and not all 0: {bad}")

    @property
    def sources(self) -> tuple[str, ...]:
        return tuple(self.weights)


BROAD_CAVEAT = (
    "LICENCE CAVEAT: the 'broad' mixture adds text for research use only: nlp-corpus@4.4.0 "
    "sentences (Reddit-style posts, reviews, lyrics: their authors' writing), the Brown corpus "
    "(distributed for non-commercial use) and VADER's tweets and review/news snippets. Do not "
    "ship a model trained on it; its manifest lists every source with its licence."
)

# The field hint each source trains: the kind of text field an app says the user is typing in
# (kbd_lm.text.hints.HINTS). A source without one (mixed writing) never carries a hint.
SOURCE_HINTS: dict[str, str] = {
    "chitchat": "message",
    "sms": "message",
    "email": "email",
    "gutenberg": "prose",
    "bigtxt": "prose",
    "sotu": "prose",
    "brown": "prose",
}

MIXTURES: dict[str, Mixture] = {
    "default": Mixture(
        "default",
        {
            "chitchat": 0.30,
            "sms": 0.15,
            "email": 0.15,
            "gutenberg": 0.15,
            "bigtxt": 0.10,
            "sotu": 0.15,
        },
        description="everyday English: chat, SMS, e-mail, public-domain books and speeches",
    ),
    "broad": Mixture(
        "broad",
        {
            "chitchat": 0.27,
            "sms": 0.13,
            "email": 0.13,
            "gutenberg": 0.12,
            "bigtxt": 0.08,
            "sotu": 0.12,
            "sentences": 0.07,
            "brown": 0.05,
            "vader": 0.03,
        },
        description="the default mixture plus three research-use sources",
        caveat=BROAD_CAVEAT,
    ),
}
