"""Who typed what, when: corpus messages with a sender and a time, for adaptive evaluation.

A sender recipe yields :class:`SentMessage` items (one unit of text each, not normalised), with
the same split key as the corpus recipe of the same name, so that a message lands in the same
split here as in training. Adding a corpus with senders (an email corpus: the ``From:``
address) is one function and one line in :data:`SENDER_RECIPES`.

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


SENDER_RECIPES: dict[str, Callable[[], Iterator[SentMessage]]] = {
    "chitchat": chitchat_messages,
    "chitchat-dataset": chitchat_messages,
}


def sent_messages(corpus: str) -> Iterator[SentMessage]:
    """The messages of a corpus that records senders; ValueError naming those that do."""
    recipe = SENDER_RECIPES.get(corpus)
    if recipe is None:
        raise ValueError(
            f"corpus {corpus!r} has no sender information; known: {sorted(SENDER_RECIPES)}"
        )
    return recipe()
