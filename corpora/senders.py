"""Who typed what, when: corpus messages with a sender and a time, for adaptive evaluation.

A sender recipe yields :class:`SentMessage` items (one unit of text each, not normalised), with
the same split key as the corpus recipe of the same name, so that a message lands in the same
split here as in training: chitchat's ``sender`` and ``timestamp``, the e-mail corpus's
``From:`` address and ``Date:``. Another corpus with senders is one function and one line in
:data:`SENDER_RECIPES`.

>>> m = next(chitchat_messages())                        # doctest: +SKIP
>>> (m.split_key == m.conversation, len(m.sender) > 0)   # doctest: +SKIP
(True, True)
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class SentMessage:
    """One unit of text, its sender, when it was sent (ISO 8601) and its split key."""

    sender: str
    time: str
    conversation: str
    split_key: str
    text: str


def chitchat_messages() -> Iterator[SentMessage]:
    """chitchat-dataset's utterances with their ``sender`` and ``timestamp``.

    The split key is the conversation id, as in :func:`kbd_lm.corpora.chitchat`.
    """
    import chitchat_dataset

    path = Path(chitchat_dataset.__file__).parent / "dataset.json"
    data = json.loads(path.read_text(encoding="utf-8"))
    for conversation_id, conversation in data.items():
        for message in conversation["messages"]:
            for utterance in message:
                yield SentMessage(
                    sender=str(utterance.get("sender") or ""),
                    time=str(utterance.get("timestamp") or ""),
                    conversation=conversation_id,
                    split_key=conversation_id,
                    text=utterance.get("text") or "",
                )


def email_messages(package: Path | None = None) -> Iterator[SentMessage]:
    """The ``email`` corpus's mails (:mod:`kbd_lm.corpora.mail`) by sender: the ``From:``
    address (lowercased), the ``Date:`` (UTC), one message per paragraph of the mail's own text,
    cleaned as the corpus cleans it, with the corpus's split key (the thread).

    ``package``: the package file or a folder laid out like it (default: fetched, pinned).
    """
    import datetime as dt
    import email
    from collections import Counter
    from email import policy
    from email.utils import parseaddr, parsedate_to_datetime

    from .archive import open_archive
    from .mail import EMAIL, HAM, body_paragraphs, plain_text, thread_of
    from .registry import DEFAULT_DOWNLOADS, fetch

    archive = open_archive(package or fetch(EMAIL.package, DEFAULT_DOWNLOADS))
    tally: Counter = Counter()
    for folder in HAM:
        for name in archive.names(f"package/data/{folder}/*.txt"):
            msg = email.message_from_bytes(archive.read(name), policy=policy.default)
            body = plain_text(msg, tally)
            if body is None:
                continue
            sender = parseaddr(str(msg.get("from") or ""))[1].lower()
            try:
                sent = parsedate_to_datetime(str(msg.get("date") or ""))
                when = sent.astimezone(dt.UTC).isoformat() if sent.tzinfo else sent.isoformat()
            except (TypeError, ValueError):
                when = ""
            key = "mail:" + thread_of(msg, fallback=name)
            for paragraph in body_paragraphs(body, tally):
                yield SentMessage(sender, when, key, key, paragraph)


SENDER_RECIPES: dict[str, Callable[[], Iterator[SentMessage]]] = {
    "chitchat": chitchat_messages,
    "chitchat-dataset": chitchat_messages,
    "email": email_messages,
}


def sent_messages(corpus: str) -> Iterator[SentMessage]:
    """The messages of a corpus that records senders; ValueError naming those that do."""
    recipe = SENDER_RECIPES.get(corpus)
    if recipe is None:
        raise ValueError(
            f"corpus {corpus!r} has no sender information; known: {sorted(SENDER_RECIPES)}"
        )
    return recipe()
