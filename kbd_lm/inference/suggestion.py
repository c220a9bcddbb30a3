"""The value every suggester returns (the predictor, the n-gram baseline, the server)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class Suggestion:
    """One suggested word and its probability under the model that proposed it.

    >>> Suggestion("hello", 0.25)
    Suggestion(word='hello', probability=0.25)
    """

    word: str
    probability: float


class Suggester(Protocol):
    """Anything that suggests words for the text before the cursor."""

    def suggest(self, text: str, k: int = 3) -> list[Suggestion]: ...

    def next_word_logprob(self, text: str, word: str) -> float: ...
