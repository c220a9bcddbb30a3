"""``/v1/users/{user}/...``: learn, show and delete a user's history over HTTP.

- ``POST /v1/users/{user}/learn`` ``{"text": "...", "field": "text"}``: learn a sent message;
- ``GET /v1/users/{user}/history``: what is kept (words and sequences with their counts);
- ``DELETE /v1/users/{user}/words/{word}``: forget one word;
- ``DELETE /v1/users/{user}``: forget everything (the next request sees an empty history).

Access (see :mod:`kbd_lm.serve.auth` for API keys): with keys configured every ``/v1`` route
needs one. Without keys these routes exist only when the server listens on a loopback address
(:func:`enabled` is false otherwise and they are not mounted), and :class:`UserRoutesGuard`
then refuses requests whose ``Host`` header is not a loopback name (DNS rebinding) and keeps
CORS headers off ``/v1/users`` whatever CORS the app has.

Logs and metrics name these routes by their template (``/v1/users/{user}/learn``): the access
log filter :class:`RedactUserPaths` rewrites uvicorn's lines, and nothing else logs a path.
"""

from __future__ import annotations

import ipaddress
import logging
import re
from typing import Annotated, Literal

import anyio.to_thread
from fastapi import APIRouter, Depends, Path, Request, Response
from pydantic import BaseModel, ConfigDict, Field
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from kbd_lm.history.privacy import FIELDS
from kbd_lm.history.user_history import HistoryConfig, UserHistory
from kbd_lm.serve.history_store import HistoryStore, StoreFullError
from kbd_lm.serve.middleware import error_response

log = logging.getLogger(__name__)

USER_PATTERN = r"^[A-Za-z0-9._~-]{1,128}$"
USERS_PREFIX = "/v1/users"
UserId = Annotated[
    str,
    Path(
        pattern=USER_PATTERN,
        description="An opaque id the client chose: make it unguessable (e.g. a random UUID).",
    ),
]


# The field names as a type, so that a wrong one is a 422 from validation, which never echoes
# the request (kbd_lm.serve.middleware), rather than an error message quoting it.
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


def is_loopback(host: str | None) -> bool:
    """True for loopback addresses and ``localhost``."""
    if not host:
        return False
    host = host.strip("[]")
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def enabled(host: str, api_keys: list[str]) -> bool:
    """User routes are served with API keys, or without them on a loopback address only."""
    return bool(api_keys) or is_loopback(host)


def get_store(request: Request) -> HistoryStore:
    store = getattr(request.app.state, "history_store", None)
    if store is None:
        raise StarletteHTTPException(403, "user histories are off on this server")
    return store


Store = Annotated[HistoryStore, Depends(get_store)]
router = APIRouter(prefix=USERS_PREFIX, tags=["users"])


async def history_for(request: Request, user: str | None) -> UserHistory | None:
    """The history ``predict-next`` uses for ``user`` (None without a user); the same access
    rules as the user routes (Host check without API keys)."""
    if user is None:
        return None
    store = get_store(request)
    if request.app.state.user_host_check and not host_allowed(request.scope):
        raise StarletteHTTPException(403, "user histories answer only to a loopback Host")
    return await anyio.to_thread.run_sync(store.get, user)


def mount(app, settings, api_keys: list[str]) -> None:
    """Add the user routes and their store to ``app`` if :func:`enabled`; log why not."""
    app.state.history_store = None
    app.state.user_host_check = not api_keys
    # Before anything else: a request for a user route that is off still gets an access log
    # line, and its path holds a user id (and, for a forgotten word, the word).
    install_log_filter()
    if not enabled(settings.host, api_keys):
        log.warning(
            "user histories are off: listening on %s (not loopback) without KBD_LM_API_KEYS",
            settings.host,
        )
        return
    config = HistoryConfig(
        max_entries=settings.history_max_entries, max_bytes=settings.history_max_bytes
    )
    app.state.history_store = HistoryStore(
        settings.history_db,
        config,
        max_users=settings.history_max_users,
        max_db_bytes=settings.history_max_db_bytes,
    )
    # The routes themselves, not an included router: metrics label requests by the
    # templates in app.router.routes.
    app.router.routes.extend(router.routes)


def close(app) -> None:
    """Close the app's history store (at shutdown)."""
    store = getattr(app.state, "history_store", None)
    if store is not None:
        store.close()


def host_allowed(scope: Scope) -> bool:
    """The request's Host header and the listening address are both loopback."""
    headers = dict(scope.get("headers") or [])
    host = headers.get(b"host", b"").decode("latin-1")
    if host.startswith("["):  # "[::1]:8000"
        host = host[1:].split("]", 1)[0]
    elif host.count(":") == 1:  # "localhost:8000"
        host = host.split(":", 1)[0]
    server = (scope.get("server") or (None, 0))[0]
    return is_loopback(host) and (server is None or is_loopback(server))


@router.post("/{user}/learn", response_model=LearnResponse, summary="Learn a message the user sent")
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


class UserRoutesGuard:
    """Keeps ``/v1/users`` private: Host check without API keys, never any CORS headers."""

    def __init__(self, app: ASGIApp, check_host: bool) -> None:
        self.app, self.check_host = app, check_host

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if scope["type"] != "http" or not path.startswith(USERS_PREFIX):
            await self.app(scope, receive, send)
            return
        if scope.get("method") == "OPTIONS":  # no CORS preflight ever succeeds here
            await error_response(405, "method_not_allowed", "no CORS on user routes")(
                scope, receive, send
            )
            return
        if self.check_host and not host_allowed(scope):
            await error_response(
                403, "forbidden_host", "user routes answer only to a loopback Host"
            )(scope, receive, send)
            return

        async def send_without_cors(message: Message) -> None:
            if message["type"] == "http.response.start":
                message = {
                    **message,
                    "headers": [
                        (k, v)
                        for k, v in message.get("headers", [])
                        if not k.lower().startswith(b"access-control-")
                    ],
                }
            await send(message)

        await self.app(scope, receive, send_without_cors)


# Everything after /v1/users/ up to a query or a space: a path with more segments than a
# route (or a word holding an encoded "/") is redacted whole, never partly.
_USER_PATH_RE = re.compile(r"/v1/users/[^?\s]+")


class RedactUserPaths(logging.Filter):
    """Rewrites ``/v1/users/<id>/...`` to the route template in log records (access log)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple) and record.args:
            record.args = tuple(_redact(a) if isinstance(a, str) else a for a in record.args)
        if isinstance(record.msg, str):
            record.msg = _redact(record.msg)
        return True


def _redact(text: str) -> str:
    def template(m: re.Match) -> str:
        rest = m.group(0)[len(USERS_PREFIX) + 1 :].split("/")  # [user, ...]
        if len(rest) == 3 and rest[1] == "words":
            return "/v1/users/{user}/words/{word}"
        if len(rest) == 2 and rest[1] in ("learn", "history"):
            return "/v1/users/{user}/" + rest[1]
        return "/v1/users/{user}" if len(rest) == 1 else "/v1/users/{user}/..."

    return _USER_PATH_RE.sub(template, text)


def install_log_filter() -> None:
    """Attach :class:`RedactUserPaths` to uvicorn's access and error loggers (once)."""
    for name in ("uvicorn.access", "uvicorn.error"):
        logger = logging.getLogger(name)
        if not any(isinstance(f, RedactUserPaths) for f in logger.filters):
            logger.addFilter(RedactUserPaths())
