"""SMS messages: the NUS SMS corpus as shipped in npm ``nlp-corpus@3.3.0``.

Where: ``package/src/sms/smsCorpus.js``, one JavaScript array of string literals, one
message each (55,835). Singapore English: many "u", "lah", "haha".

Split key: the file has no sender or conversation ids, but neighbouring messages often come
from one contributor (the first ones plan a trip to Bugis), so a block of
:data:`BLOCK` consecutive messages is one key and stays in one split.

Privacy: phone numbers, e-mail addresses, URLs and runs of >= 5 digits are replaced by
placeholders (:func:`.clean.scrub_private`) and counted.

The same tarball ships Friends transcripts (``src/friends/``): TV dialogue, never read.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator

from .archive import Archive
from .base import Licence, RawUnit
from .clean import scrub_private
from .recipe import PackageRecipe
from .registry import Package

MEMBER = "package/src/sms/smsCorpus.js"
BLOCK = 25
# A JavaScript string literal, single or double quoted, with backslash escapes.
_LITERAL = re.compile(r"'((?:[^'\\]|\\.)*)'|\"((?:[^\"\\]|\\.)*)\"", re.DOTALL)
_ESCAPES = {"n": "\n", "r": "\r", "t": "\t", "b": "\b", "f": "\f", "v": "\v", "0": "\0"}
_ESCAPE = re.compile(r"\\(u\{[0-9a-fA-F]+\}|u[0-9a-fA-F]{4}|x[0-9a-fA-F]{2}|.)", re.DOTALL)


def js_strings(source: str) -> list[str]:
    """The string literals of a JavaScript array, unescaped.

    >>> js_strings("module.exports=[ 'I\\\\'ll call', \\"a \\\\\\"b\\\\\\"\\", 'x\\\\u0041' ]")
    ["I'll call", 'a "b"', 'xA']
    """
    body = source[source.index("[") + 1 : source.rindex("]")]
    found = _LITERAL.finditer(body)
    return [_unescape(m.group(1) if m.group(1) is not None else m.group(2)) for m in found]


def _unescape(text: str) -> str:
    def one(m: re.Match) -> str:
        esc = m.group(1)
        if esc.startswith("u{"):
            return chr(int(esc[2:-1], 16))
        if esc[0] in "ux" and len(esc) > 1:
            return chr(int(esc[1:], 16))
        return _ESCAPES.get(esc, esc)

    return _ESCAPE.sub(one, text)


def read_sms(package: Archive, tally: Counter) -> Iterator[RawUnit]:
    """One unit per message, privacy-scrubbed; key ``sms:<block of 25 messages>``."""
    messages = js_strings(package.read_text(MEMBER))
    for i, message in enumerate(messages):
        tally["messages"] += 1
        yield RawUnit(f"sms:{i // BLOCK}", scrub_private(message, tally))


NLP_CORPUS_3 = Package(
    "npm", "nlp-corpus", "3.3.0", "d616a6b57874f15e845945e31b4c918ead22a9f43a992ebfa3b6b2de38227d3a"
)

SMS = PackageRecipe(
    name="sms",
    package=NLP_CORPUS_3,
    read=read_sms,
    licence=Licence(
        "NUS SMS Corpus: released for public use",
        "NUS: 'These messages were collected from volunteers who were made aware that their "
        "contributions were going to be made publicly available.' The 2011 call for "
        "contributions: the corpus 'is free for all communities to use'. nlp-corpus README "
        "(MIT package): running the texts through a parser 'should be considered fair-use, "
        "but please don't commercially republish them'.",
        "comp.nus.edu.sg/~rpnlpir/smsCorpus (README); nlp-corpus@3.3.0 README.md",
    ),
    expected={"messages": 55_835, "units": 55_835},
)
