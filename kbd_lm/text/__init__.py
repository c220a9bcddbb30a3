"""Text as every stage sees it: the one normalisation, the one tokenizer, the field hints.

>>> from kbd_lm.text import normalize
>>> normalize("  see   you ")
'see you'

:mod:`~kbd_lm.text.normalization` (normalisation and what a word is),
:mod:`~kbd_lm.text.sentences` (where a sentence ends), :mod:`~kbd_lm.text.tokenizer` (the
sentencepiece model shared by training and prediction), :mod:`~kbd_lm.text.hints`.
No TensorFlow here.
"""

from kbd_lm.text.normalization import (
    PARTIAL_WORD_RE,
    WORD_RE,
    completes,
    normalize,
    normalize_prefix,
    words,
)

__all__ = ["PARTIAL_WORD_RE", "WORD_RE", "completes", "normalize", "normalize_prefix", "words"]
