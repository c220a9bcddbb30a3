"""What a personal history may learn from committed text: fields, secrets, word runs.

Nothing is learned from a field marked ``password``, ``email``, ``url``, ``number`` or
``incognito``; ordinary fields are ``text`` (the default). Inside ordinary text, spans that look
like secrets or identifiers are cut out before any word is taken, and no word sequence is
learned across the cut:

- runs of five or more digits, also when spaces, dashes, dots, slashes or brackets separate
  them (card, phone and account numbers: ``4111 1111 1111 1111``, ``+44 (0)20 7946-0958``);
- email addresses and URLs (with a scheme, ``www.``, or a bare domain such as ``example.com``);
- mixed letter-and-digit tokens of eight or more characters with two or more digits
  (passwords, codes and ids: ``hunter2024``, ``a8f3k2l9x0``).

Words are :data:`kbd_lm.text.normalization.WORD_RE` matches of
:func:`kbd_lm.text.normalization.normalize`-d text;
sentences end as :data:`kbd_lm.text.sentences.SENTENCE_BREAK_RE` says (``.``, ``!`` or ``?``
before whitespace or the end).

>>> [(s.words, s.sentence_start) for s in learnable_segments("Call 555 123 4567. Ok bye")]
[(['Call'], True), (['Ok', 'bye'], False)]
>>> learnable_segments("my pin", field="password")
[]
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from kbd_lm.text.normalization import WORD_RE, normalize
from kbd_lm.text.sentences import SENTENCE_BREAK_RE

SENSITIVE_FIELDS = frozenset({"password", "email", "url", "number", "incognito"})
LEARNED_FIELDS = frozenset({"text"})
FIELDS = SENSITIVE_FIELDS | LEARNED_FIELDS

_TLDS = "com|org|net|edu|gov|mil|int|io|co|uk|us|ca|au|de|fr|es|it|nl|eu|in|me|ly|app|dev|info|biz"
_SECRET_RE = re.compile(
    "|".join(
        [
            r"\d(?:[\s\-./()]*\d){4,}",  # five or more digits, separators allowed
            r"[\w.+\-]+@[\w\-]+(?:\.[\w\-]+)+",  # email address
            r"(?i:(?:[a-z][a-z0-9+.\-]*://|www\.)\S+)",  # URL with a scheme or www.
            rf"(?i:\b[\w\-]+(?:\.[\w\-]+)*\.(?:{_TLDS})\b(?:/\S*)?)",  # bare domain
            r"\b(?=(?:[^\W\d_]*\d){2})(?=\w*[^\W\d_])\w{8,}\b",  # letters+digits id
        ]
    )
)


@dataclass(frozen=True)
class Segment:
    """Words typed in a row (as typed, casing kept) with nothing cut out between them.

    ``sentence_start``: the first word starts a message or a sentence (so it may be learned
    after the start marker); False after a cut-out secret, where the context is unknown.
    """

    words: list[str]
    sentence_start: bool


def check_field(field: str) -> bool:
    """True if text from ``field`` may be learned; ValueError for an unknown field name.

    >>> check_field("text"), check_field("password")
    (True, False)
    """
    if field not in FIELDS:
        raise ValueError(f"unknown field {field!r}; expected one of {sorted(FIELDS)}")
    return field in LEARNED_FIELDS


def looks_secret(token: str) -> bool:
    """True if ``token`` contains something that must never be learned.

    >>> looks_secret("12345"), looks_secret("a@b.co"), looks_secret("Paris")
    (True, True, False)
    """
    return _SECRET_RE.search(token) is not None


def learnable_segments(text: str, field: str = "text") -> list[Segment]:
    """The runs of words of ``text`` a history may learn (empty for sensitive fields)."""
    if not check_field(field):
        return []
    text = normalize(text)
    segments: list[Segment] = []
    # Pieces between secrets; each piece is then split into sentences.
    for piece_start, piece_end, after_secret in _pieces(text):
        sentence_start = not after_secret
        pos = piece_start
        for end in [m.end() for m in SENTENCE_BREAK_RE.finditer(text, piece_start, piece_end)] + [
            piece_end
        ]:
            found = [m.group(0) for m in WORD_RE.finditer(text, pos, end)]
            if found:
                segments.append(Segment(found, sentence_start))
            sentence_start, pos = True, end
    return segments


def _pieces(text: str) -> list[tuple[int, int, bool]]:
    """(start, end, follows_a_secret) of the parts of ``text`` between secret spans.

    A secret span grows to the whole whitespace-separated token(s) it touches, so that no
    part of ``abc12345xyz`` is learned.
    """
    out, pos, after = [], 0, False
    for m in _SECRET_RE.finditer(text):
        start = max(text.rfind(" ", 0, m.start()) + 1, pos)
        end = text.find(" ", m.end())
        end = len(text) if end < 0 else end
        if start > pos or not out:
            out.append((pos, start, after))
        pos, after = max(pos, end), True
    out.append((pos, len(text), after))
    return out
