"""The one text normalisation shared by corpus preparation, the tokenizer and serving.

Never preprocess text anywhere else: training and prediction must see the same strings.

>>> normalize("  Hi\\tthere\\u0007  you ")
'Hi there you'
>>> words("Don't stop, it's 5 o'clock!")
["don't", 'stop', "it's", '5', "o'clock"]

The two word patterns, :data:`WORD_RE` (a whole word) and :data:`PARTIAL_WORD_RE` (the word
being typed at the end of the text, if the text ends inside one):

>>> WORD_RE.findall("I'm in Paris_now, rock'n'roll!")
["I'm", 'in', 'Paris', 'now', "rock'n'roll"]
>>> typed = ["see yo", "I don'", "hi ", "ok.", "a''"]
>>> [m.group(0) if m else None for m in map(PARTIAL_WORD_RE.search, typed)]
['yo', "don'", None, None, None]
"""

from __future__ import annotations

import re
import unicodedata

# Unicode categories we drop: control (Cc), format (Cf, except the joiners that build emoji
# sequences), unassigned (Cn), private use (Co) and surrogates (Cs).
_DROP_CATEGORIES = {"Cc", "Cf", "Cn", "Co", "Cs"}
_KEEP_FORMAT = {"\u200d", "\u200c", "\ufe0f", "\ufe0e"}  # ZWJ, ZWNJ, variation selectors
_WS = re.compile(r"\s+")
# The ASCII characters normalize drops (control characters but tab, newline and return):
# ASCII text needs no per-character look-up (nor NFC, nor apostrophe folding).
_ASCII_DROPPED = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
# Typographic apostrophes are folded to ASCII so that "don’t" and "don't" are one word.
_APOSTROPHES = str.maketrans({"\u2019": "'", "\u2018": "'", "\u02bc": "'"})

# A word, for evaluation, the predictor and the n-gram: a run of letters/digits with internal
# apostrophes. Punctuation is neither predicted nor counted.
WORD_RE = re.compile(r"[^\W_]+(?:'[^\W_]+)*")
# The word being typed at the end of a text: a prefix of a WORD_RE word, so it may end in an
# apostrophe ("don'" is a partial "don't", not the word "don" and punctuation).
PARTIAL_WORD_RE = re.compile(WORD_RE.pattern + r"'?\Z")


def completes(word: str, partial: str) -> bool:
    """True if ``word`` is a completion of the typed ``partial``: it starts with it (any case)
    and is longer. The typed letters themselves are never suggested: the keyboard shows
    them already, and a suggestion equal to them saves no keystroke (the predictor, the word
    list, the history and the n-gram all follow this rule; docs/decoding.md, section 6).

    >>> completes("Microwave", "microw"), completes("microw", "microw"), completes("the", "")
    (True, False, True)
    """
    return len(word) > len(partial) and word[: len(partial)].lower() == partial.lower()


def _keep(ch: str) -> bool:
    if ch in _KEEP_FORMAT or ch in " \t\n\r":
        return True
    return unicodedata.category(ch) not in _DROP_CATEGORIES


def normalize(text: str) -> str:
    """Normalise one unit of text (an utterance or a line).

    NFC composition, control/format characters dropped, typographic apostrophes folded,
    whitespace runs collapsed to one space and stripped at both ends. Case and punctuation
    are kept: a keyboard suggests "I'm" and "Paris".

    >>> normalize("Cafe\\u0301  au   lait")
    'Café au lait'
    """
    if text.isascii():  # the common case, at every keystroke: same result, faster
        text = _ASCII_DROPPED.sub("", text)
    else:
        text = unicodedata.normalize("NFC", text)
        text = "".join(ch for ch in text if _keep(ch)).translate(_APOSTROPHES)
    return _WS.sub(" ", text).strip()


def normalize_prefix(text: str) -> str:
    """Normalise text before the cursor, keeping whether it ends in whitespace.

    The trailing space matters for a keyboard: "see you " asks for the next word,
    "see yo" asks for completions of "yo".

    >>> normalize_prefix("see  you ")
    'see you '
    """
    body = normalize(text)
    if body and text and text[-1].isspace():
        return body + " "
    return body


def words(text: str) -> list[str]:
    """Lowercased words of a text, as evaluation counts them.

    >>> words("I'm in PARIS!")
    ["i'm", 'in', 'paris']
    """
    return [m.group(0).lower() for m in WORD_RE.finditer(text)]


# The same rules as data, for ports outside Python (kbd_lm.export.portable writes them as tables).
APOSTROPHES = "".join(sorted(chr(cp) for cp in _APOSTROPHES))  # folded to "'"


def is_dropped(ch: str) -> bool:
    """True for characters :func:`normalize` removes (controls, format, unassigned, ...)."""
    return not _keep(ch)
