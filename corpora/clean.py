"""Cleaning shared by the recipes: privacy placeholders, hard-wrap joining, non-prose lines.

Every function counts what it changed into a ``Counter`` (the recipe's tally), so the
preparation can report it. Normalisation proper (Unicode, whitespace) is not done here but
by ``kbd_lm.text.normalization.normalize`` during preparation.

>>> from collections import Counter
>>> tally = Counter()
>>> scrub_private("call 6744 1233 or mail a.b@x.org, see www.x.org/a", tally)
'call <phone> or mail <email>, see <url>'
>>> dict(tally)
{'replaced_email': 1, 'replaced_url': 1, 'replaced_phone': 1}
>>> join_wrapped(["It was a dark", "and stormy night."], tally)
'It was a dark and stormy night.'
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Iterator

# What replaces private details. Lowercase words in angle brackets: a tokenizer keeps them
# as a few pieces, and the predictor can recognise and drop them (``PLACEHOLDERS``).
PLACEHOLDERS = {
    "url": "<url>",
    "email": "<email>",
    "phone": "<phone>",
    "number": "<number>",
    "user": "<user>",
}

# A URL ends before trailing punctuation: "see http://x.org/a, ok".
_URL_TAIL = r"(?:[^\s<>\"')\]]*[^\s<>\"')\].,;:!?])?"
_URL = re.compile(
    rf"<?(?:https?://|ftp://|www\.){_URL_TAIL}>?"
    r"|\b[\w-]+(?:\.[\w-]+)*\.(?:com|org|net|edu|gov|mil|info|biz|io|sg|uk|de|au|ca)\b"
    rf"(?:/{_URL_TAIL})?",
    re.IGNORECASE,
)
_EMAIL = re.compile(r"<?[\w.+-]+@[\w-]+(?:\.[\w-]+)+>?")
# Two or three groups of digits with a country or area code in front: 6744 1233, 67441233,
# +65 9123 4567, (555) 123-4567, 0166305681. Fewer than 7 digits is not a phone number.
_PHONE = re.compile(
    r"(?<![\w<])(?:\+\d{1,3}[\s.-]?)?(?:\(\d{1,4}\)[\s.-]?)?"
    r"\d{3,4}[\s.-]?\d{3,4}(?:[.-]?\d{1,4})?(?![\w>])"
)
_DIGITS = re.compile(r"\d{5,}")


def scrub_private(text: str, tally: Counter) -> str:
    """Replace URLs, e-mail addresses, phone numbers and runs of >= 5 digits by placeholders.

    Order matters: a URL or an address may contain digits. Counted as ``replaced_<kind>``.
    """
    for kind, pattern in (("email", _EMAIL), ("url", _URL)):
        text = _sub(pattern, kind, text, tally)
    text = _PHONE.sub(lambda m: _phone(m, tally), text)
    return _sub(_DIGITS, "number", text, tally)


_PLACEHOLDER = re.compile("|".join(re.escape(p) for p in PLACEHOLDERS.values()))


def has_words(text: str) -> bool:
    """True when a text has a letter outside the placeholders.

    >>> has_words("see <url>"), has_words("<url> <email>!")
    (True, False)
    """
    return any(c.isalpha() for c in _PLACEHOLDER.sub("", text))


def _sub(pattern: re.Pattern, kind: str, text: str, tally: Counter) -> str:
    text, n = pattern.subn(PLACEHOLDERS[kind], text)
    if n:
        tally[f"replaced_{kind}"] += n
    return text


def _phone(match: re.Match, tally: Counter) -> str:
    # Only a number with at least 7 digits is a phone number; "1 - 2 - 3" or a date is not.
    if sum(c.isdigit() for c in match.group(0)) < 7:
        return match.group(0)
    tally["replaced_phone"] += 1
    return PLACEHOLDERS["phone"]


def join_wrapped(lines: list[str], tally: Counter) -> str:
    """One paragraph from its hard-wrapped lines, counted as ``joined_line_breaks``."""
    parts = [line.strip() for line in lines if line.strip()]
    if len(parts) > 1:
        tally["joined_line_breaks"] += len(parts) - 1
    return " ".join(parts)


def paragraphs(lines: Iterable[str]) -> Iterator[list[str]]:
    """Group lines into paragraphs at blank lines (the lines keep their indentation)."""
    block: list[str] = []
    for line in lines:
        if line.strip():
            block.append(line.rstrip())
        elif block:
            yield block
            block = []
    if block:
        yield block


GROUP_CHARS = 600
# Longer paragraphs are cut into sentence groups (the preparation drops units over 2,000).
LONG_CHARS = 1500
# A sentence ends at . ! or ? (maybe followed by a quote) before a capital letter or a quote.
# Not after a title or an initial: "Mr. Speaker", "Gen. Grant", "John F. Kennedy".
_NOT_AFTER = "".join(
    rf"(?<!\b{a}\.)"
    for a in ("Mr", "Mrs", "Ms", "Dr", "St", "Gen", "Gov", "Sen", "Rep", "No", "Mt")
)
_SENTENCE_END = re.compile(
    rf"(?:(?<=[.!?])|(?<=[.!?][\"')\]])){_NOT_AFTER}(?<!\b[A-Z]\.)\s+(?=[\"'(\[]?[A-Z])"
)


def sentence_groups(text: str, tally: Counter, max_chars: int = GROUP_CHARS) -> Iterator[str]:
    """Consecutive sentences of ``text`` joined into groups of at most ``max_chars``.

    >>> list(sentence_groups("One. Two! Three? Four.", Counter(), max_chars=10))
    ['One. Two!', 'Three?', 'Four.']
    """
    group = ""
    for sentence in _SENTENCE_END.split(text):
        sentence = sentence.strip()
        if not sentence:
            continue
        if not is_prose(sentence):
            tally["non_prose_sentences"] += 1
            continue
        if group and len(group) + 1 + len(sentence) > max_chars:
            yield group
            group = ""
        group = f"{group} {sentence}" if group else sentence
    if group:
        yield group


def split_long(text: str, tally: Counter) -> Iterator[str]:
    """``text`` itself, or its sentence groups when longer than :data:`LONG_CHARS`."""
    if len(text) <= LONG_CHARS:
        yield text
        return
    tally["long_paragraphs_split"] += 1
    yield from sentence_groups(text, tally)


# Braces, shell prompts and assignments: code or a log, not prose.
_CODE = re.compile(r"[{}]|^\s*\S+[$#%] |\w=\S")


def is_prose(line: str, min_letters: float = 0.6) -> bool:
    """True when letters and spaces make most of a line: not code, a log, a table or a rule.

    >>> is_prose("It was a dark and stormy night."), is_prose("18:19:03 exec {4852-4852}")
    (True, False)
    """
    chars = [c for c in line if not c.isspace()]
    if not chars or _CODE.search(line):
        return False
    letters = sum(c.isalpha() or c in "'\",.?!;:-" for c in chars)
    return letters / len(chars) >= min_letters and any(c.isalpha() for c in chars)
