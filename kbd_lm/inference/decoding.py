"""The manifest's ``decoding`` section: how every decoder searches a bundle's model.

The beam width, the fixed batch sizes the model was exported with, how much context is read
and the search's other constants (docs/decoding.md, section 0) are written into the bundle by
export and read from it by the Python predictor, the server, the bench and the browser, so
that no decoder keeps a copy. :mod:`kbd_lm.inference.bundle` reads and writes the section;
this module says what it holds. No TensorFlow here.

>>> spec = decoding_for((1, 2, 4, 8))
>>> spec.beam_width, spec.search_batches(3), spec.max_context_chars
(8, (1, 2, 3), 300)
"""

from __future__ import annotations

from dataclasses import dataclass

from kbd_lm.common.config import ConfigError
from kbd_lm.text.hints import HINTS


@dataclass(frozen=True)
class DecodingSpec:
    """How a decoder searches the model: the manifest's ``decoding`` (docs/decoding.md).

    Export writes it (:func:`decoding_for` the model's fixed batch sizes); the Python
    predictor, the server, the bench and the browser read it, so no decoder keeps a copy. A
    manifest of format 2 or older, which did not record it, reads as these defaults: the
    values every decoder used then.

    >>> DecodingSpec().beam_width, decoding_for((1, 2, 4, 8, 16)).beam_width
    (8, 16)
    """

    # W: beams a search step runs at most (all of them in one batch of the model).
    beam_width: int = 8
    # The fixed batch sizes the model was exported with (signatures step1, step2, ...:
    # LiteRT.js cannot resize inputs); a step runs the smallest that holds its rows, and a
    # step costs about linearly in B. 1 runs the context.
    batch_sizes: tuple[int, ...] = (1, 2, 4, 8)
    # Only the end of a long text matters (and keeps every call bounded): characters read.
    max_context_chars: int = 300
    # Where a long text's reading starts moves in steps of this many characters, not at every
    # word: between two moves the context only grows at its end, so a new word runs only its
    # own pieces (docs/decoding.md, section 2).
    context_stride: int = 128
    # 300 characters of English are about 70 pieces. A context of more pieces than this
    # (digits, scripts of many pieces per character) is read as its last short_context_tokens
    # pieces only, which bounds every call's work.
    max_context_tokens: int = 160
    short_context_tokens: int = 48
    max_word_pieces: int = 8  # search steps: the pieces a suggested word may have
    min_ratio: float = 1e-4  # words this much less likely than the best one are not worth a beam
    covering_width: int = 4  # beams kept while pieces are still spelling out the typed letters
    # P(word ends here) is at least this before its log: float32 sums of tiny probabilities
    # can round to 0, and a word scored -inf would still count as found.
    min_boundary_prob: float = 1e-30
    # Context states a decoder keeps between calls (least recently used go first): answers do
    # not depend on it. 128, not 256: 4.5 MB less after the bench's keystrokes, same speed.
    context_cache: int = 128
    # Search rows (logp [V], h [P], c [N]) the Python predictor keeps between keystrokes, about
    # 32 KB each with 8,000 pieces; a decoder without a row cache ignores it.
    row_cache: int = 64
    # The field hints an app may name (kbd_lm.text.hints); a name outside them is an error,
    # one the bundle was not trained with (tokenizer.hints) reads as no hint.
    field_hints: tuple[str, ...] = HINTS

    def __post_init__(self) -> None:
        sizes = self.batch_sizes
        if list(sizes) != sorted(set(sizes)) or not sizes or sizes[0] != 1:
            raise ConfigError(
                f"batch_sizes must be ascending, distinct, positive and include 1, got "
                f"{list(sizes)}"
            )
        if not 1 <= self.beam_width <= sizes[-1]:
            raise ConfigError(
                f"beam_width {self.beam_width} must be between 1 and the largest batch size "
                f"{sizes[-1]}"
            )
        counts = ("max_context_chars", "context_stride", "short_context_tokens", "max_word_pieces")
        for name in (*counts, "covering_width", "context_cache", "row_cache"):
            if getattr(self, name) < 1:
                raise ConfigError(f"{name} must be at least 1, got {getattr(self, name)}")
        if self.max_context_tokens < self.short_context_tokens:
            raise ConfigError("max_context_tokens must be at least short_context_tokens")
        if not 0.0 < self.min_ratio < 1.0 or not 0.0 < self.min_boundary_prob < 1.0:
            raise ConfigError("min_ratio and min_boundary_prob must be between 0 and 1")

    def search_batches(self, beam_width: int) -> tuple[int, ...]:
        """The batch sizes a search of ``beam_width`` beams runs: the fixed ones below it,
        then ``beam_width`` itself (at most the bundle's, see :meth:`check_beam_width`).

        >>> DecodingSpec().search_batches(8), DecodingSpec().search_batches(3)
        ((1, 2, 4, 8), (1, 2, 3))
        """
        return (*(b for b in self.batch_sizes if b < beam_width), beam_width)

    def check_beam_width(self, beam_width: int | None) -> int:
        """``beam_width``, or the bundle's when None; a wider beam than the bundle's is a
        ValueError naming both (the model was exported for that many rows).

        >>> DecodingSpec().check_beam_width(None), DecodingSpec().check_beam_width(4)
        (8, 4)
        """
        if beam_width is None:
            return self.beam_width
        if not 1 <= beam_width <= self.beam_width:
            raise ValueError(
                f"a beam width of {beam_width} is not possible with this bundle, whose beam "
                f"width is {self.beam_width} (decoding.beam_width: the model was exported for "
                f"at most {self.beam_width} rows); use 1 to {self.beam_width}"
            )
        return beam_width


def decoding_for(batch_sizes: tuple[int, ...]) -> DecodingSpec:
    """The ``decoding`` export writes for a model with these fixed batch sizes: the beam
    width is the largest, since a search step runs all its beams in one batch. Without fixed
    batches (a model for resizing runtimes only), the defaults."""
    if not batch_sizes:
        return DecodingSpec()
    sizes = tuple(sorted(set(batch_sizes)))
    return DecodingSpec(beam_width=sizes[-1], batch_sizes=sizes)
