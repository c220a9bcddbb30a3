"""``/v1/users/{user}/...``: learn, show and delete a user's history over HTTP.

- ``POST /v1/users/{user}/learn`` ``{"text": "...", "field": "text"}``: learn a sent message;
- ``GET /v1/users/{user}/history``: what is kept (words and sequences with their counts);
- ``DELETE /v1/users/{user}/words/{word}``: forget one word;
- ``DELETE /v1/users/{user}``: forget everything (the next request sees an empty history).

Who may call them, and how their paths stay out of logs: :mod:`kbd_lm.serve.users`.
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Path, Response
from pydantic import BaseModel, ConfigDict, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from kbd_lm.history.privacy import FIELDS
from kbd_lm.serve.deps import Store
from kbd_lm.serve.errors import error_responses
from kbd_lm.serve.history_store import StoreFullError
from kbd_lm.serve.schemas import USER_PATTERN
from kbd_lm.serve.users import USERS_PREFIX

UserId = Annotated[
    str,
    Path(
        pattern=USER_PATTERN,
        description="An opaque id the client chose: make it unguessable (e.g. a random UUID).",
    ),
]


# The field names as a type, so that a wrong one is a 422 from validation, which never echoes
# the request (kbd_lm.serve.errors), rather than an error message quoting it.
FieldName = Literal[tuple(sorted(FIELDS))]


class LearnRequest(BaseModel):
    """Text the user committed (a sent message) and the kind of field it was typed in."""

    model_config = ConfigDict(strict=True, extra="forbid")
    text: str = Field(max_length=20_000, examples=["see you at Quattro tonight"])
    field: FieldName = Field(
        "text",
        description=f"One of {sorted(FIELDS)}; nothing is learned except for `text`.",
        examples=["text"],
    )


class LearnResponse(BaseModel):
    learned_words: int = Field(description="Words learned (0 for sensitive fields or secrets).")


class KeptWord(BaseModel):
    word: str
    count: float


class KeptSequence(BaseModel):
    words: list[str] = Field(description='Word sequence; "" stands for a sentence start.')
    count: float


class HistoryResponse(BaseModel):
    """What the server keeps for one user (an unknown user has an empty history)."""

    words: list[KeptWord]
    sequences: list[KeptSequence]
    entries: int
    bytes: int


class ForgetResponse(BaseModel):
    forgotten: bool


router = APIRouter(prefix=USERS_PREFIX, tags=["users"])


@router.post(
    "/{user}/learn",
    response_model=LearnResponse,
    responses=error_responses("http_507"),
    summary="Learn a message the user sent",
)
def learn(user: UserId, body: LearnRequest, store: Store) -> LearnResponse:
    """Learns words and short sequences; fields other than `text` and secret-looking tokens
    (5+ digits, emails, URLs, codes) are never learned."""
    try:  # (an unknown field never gets here: FieldName refuses it, without echoing it)
        n = store.learn(user, body.text, body.field)
    except StoreFullError as err:
        raise StarletteHTTPException(507, str(err)) from None
    return LearnResponse(learned_words=n)


@router.get("/{user}/history", response_model=HistoryResponse, summary="What is kept")
def show(user: UserId, store: Store, limit: int = 1000) -> HistoryResponse:
    """The kept words and sequences, most frequent first (up to `limit` of each)."""
    history = store.get(user)
    entries = history.entries()
    return HistoryResponse(
        words=[KeptWord(word=w, count=c) for w, c in history.words(limit)],
        sequences=[
            KeptSequence(words=list(e.words), count=round(e.count, 4))
            for e in entries
            if len(e.words) > 1
        ][:limit],
        entries=len(entries),
        bytes=history.size_bytes,
    )


@router.delete("/{user}/words/{word}", response_model=ForgetResponse, summary="Forget a word")
def forget(user: UserId, word: str, store: Store) -> ForgetResponse:
    """Removes the word and every sequence holding it."""
    return ForgetResponse(forgotten=store.forget(user, word))


@router.delete("/{user}", status_code=204, summary="Forget everything about a user")
def delete(user: UserId, store: Store) -> Response:
    """Deletes the history; its bytes are overwritten in the database files."""
    store.delete(user)
    return Response(status_code=204)
