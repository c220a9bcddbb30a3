"""Corpus recipes: where text comes from and how it is split.

A recipe is one small function that yields :class:`RawUnit` items: the text of one unit
(an utterance, a line) and the key that decides its split. Adding a source means adding one
function and one line in :data:`RECIPES`.

The split rule is the same for every source (documented in the README):
``int(sha1(key).hexdigest(), 16) % 10`` is 0 for test, 1 for validation, else train.

>>> split_of("a07edb12-6b91-4138-b11e-02421888d699")
'test'
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

SPLITS = ("train", "valid", "test")


@dataclass(frozen=True)
class RawUnit:
    """One unit of text before normalisation.

    ``text`` is bytes when the source could not be decoded as UTF-8: the preparation step
    counts and skips it instead of crashing.
    """

    key: str
    text: str | bytes


@dataclass(frozen=True)
class Source:
    """A corpus source: its units, a fingerprint that changes when the data changes, a name."""

    name: str
    fingerprint: str
    units: Callable[[], Iterator[RawUnit]]


def split_of(key: str) -> str:
    """The split a unit belongs to, from its key (conversation id, or the line itself)."""
    bucket = int(hashlib.sha1(key.encode("utf-8", "surrogateescape")).hexdigest(), 16) % 10
    return "test" if bucket == 0 else "valid" if bucket == 1 else "train"


def chitchat(_: str | None = None) -> Source:
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

    def units() -> Iterator[RawUnit]:
        data = json.loads(path.read_text(encoding="utf-8"))
        for conversation_id, conversation in data.items():
            for message in conversation["messages"]:
                for utterance in message:
                    yield RawUnit(conversation_id, utterance.get("text") or "")

    return Source("chitchat-dataset", fingerprint, units)


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

    def units() -> Iterator[RawUnit]:
        for file in files:
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


# Named recipes. Anything else given as CORPUS= is read as a path for ``plaintext``.
RECIPES: dict[str, Callable[[str | None], Source]] = {
    "chitchat": chitchat,
    "chitchat-dataset": chitchat,
}


def resolve(spec: str) -> Source:
    """Turn a ``CORPUS=`` value into a :class:`Source`: a recipe name or a path."""
    if spec in RECIPES:
        return RECIPES[spec](None)
    return plaintext(spec)
