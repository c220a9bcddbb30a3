"""The value every suggester returns (the predictor, the n-gram baseline, the server)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

# What a suggestion is: the next word, a completion of the typed letters, or a correction of
# them (a word the typed letters are likely a mistyping of: ``suggest(..., correct=True)``).
KINDS = ("next", "completion", "correction")


@dataclass(frozen=True)
class Suggestion:
    """One suggested word and its probability under the model that proposed it.

    ``kind``: one of :data:`KINDS`. ``autocorrect``: the word space commits in place of the
    typed letters; true on at most one suggestion, the first.

    >>> Suggestion("hello", 0.25)
    Suggestion(word='hello', probability=0.25, kind='next', autocorrect=False)
    """

    word: str
    probability: float
    kind: str = "next"
    autocorrect: bool = False


class Suggester(Protocol):
    """Anything that suggests words for the text before the cursor."""

    def suggest(self, text: str, k: int = 3) -> list[Suggestion]: ...

    def next_word_logprob(self, text: str, word: str) -> float: ...
