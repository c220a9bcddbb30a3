"""Where a sentence ends: the one definition the predictor, the history and privacy use.

A sentence ends at one of :data:`SENTENCE_END` (``.``, ``!``, ``?``). Three readers ask
three questions of it (docs/decoding.md, sections 7 and 9.2):

- :func:`at_sentence_start`: does the text before the cursor end a sentence (or is it
  empty)? Then the predictor capitalises the next word. Closing quotes and brackets
  (:data:`SENTENCE_CLOSERS`) may follow the mark: ``he said "hi." `` ends a sentence.
- :func:`last_sentence`: the sentence a context ends in, whose words key the personal
  history: what follows the last mark when that mark ends the text or is followed by
  whitespace; otherwise the whole text (``"U.S"`` is no sentence end).
- :data:`SENTENCE_BREAK_RE`: where committed text splits into sentences before a history
  learns it: a run of marks followed by whitespace or the end.

Other decoders read the same characters from ``tokenizer.json``'s text tables
(``sentence_end``, ``sentence_closers``; :func:`kbd_lm.export.portable.text_tables`).

>>> at_sentence_start("ok. "), at_sentence_start('he said "hi."'), at_sentence_start("ok")
(True, True, False)
>>> last_sentence("Hi. See you"), last_sentence("Hi. U.S")
(' See you', 'Hi. U.S')
>>> [m.end() for m in SENTENCE_BREAK_RE.finditer("Call me. Ok!! bye")]
[8, 13]
"""

from __future__ import annotations

import re

SENTENCE_END = ".!?"  # the marks that end a sentence
SENTENCE_CLOSERS = "'\")]"  # may follow a mark and still end the sentence, for capitalising

_MARK = f"[{re.escape(SENTENCE_END)}]"
# The context is empty, or its last mark (closers after it) is followed by whitespace only.
_AT_START_RE = re.compile(rf"(^|{_MARK}[{re.escape(SENTENCE_CLOSERS)}]*)\s*$")
SENTENCE_BREAK_RE = re.compile(rf"{_MARK}+(?=\s|$)")


def at_sentence_start(context: str) -> bool:
    """True when ``context`` is empty or ends a sentence: the next word is capitalised."""
    return _AT_START_RE.search(context) is not None


def last_sentence(text: str) -> str:
    """The part of ``text`` after its last sentence end, or all of it (see the module doc)."""
    body = text.rstrip()
    cut = max(body.rfind(mark) for mark in SENTENCE_END)
    if cut >= 0 and (cut == len(body) - 1 or body[cut + 1].isspace()):
        return body[cut + 1 :]
    return body
