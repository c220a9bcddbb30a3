"""Who may reach users' histories, and keeping their ids out of the logs.

The routes themselves are :mod:`kbd_lm.serve.routes.users` (``/v1/users/{user}/...``);
``predict-next`` reads a history through :func:`history_for`.

Access (see :mod:`kbd_lm.serve.auth` for API keys): with keys configured every ``/v1`` route
needs one. Without keys the user routes exist only when the server listens on a loopback
address (:func:`enabled` is false otherwise: :func:`open_store` opens no store and the app
does not include them), and :class:`UserRoutesGuard` then refuses requests whose ``Host``
header is not a loopback name (DNS rebinding) and keeps CORS headers off ``/v1/users``
whatever CORS the app has.

Logs and metrics name these routes by their template (``/v1/users/{user}/learn``): the access
log filter :class:`RedactUserPaths` rewrites uvicorn's lines, and nothing else logs a path.

>>> enabled("127.0.0.1", []), enabled("0.0.0.0", []), enabled("0.0.0.0", ["k1"])
(True, False, True)
"""

from __future__ import annotations

import ipaddress
import itertools
import logging
import re

import anyio.to_thread
from fastapi import Request
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import BaseRoute
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from kbd_lm.history.user_history import HistoryConfig, UserHistory
from kbd_lm.serve.deps import store_or_403
from kbd_lm.serve.errors import error_response
from kbd_lm.serve.history_store import HistoryStore
from kbd_lm.serve.middleware import allowed_methods
from kbd_lm.serve.settings import ServeSettings

log = logging.getLogger(__name__)

USERS_PREFIX = "/v1/users"


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


def open_store(settings: ServeSettings, api_keys: list[str]) -> HistoryStore | None:
    """The users' history store if :func:`enabled` (no file opened yet); else None, logged."""
    if not enabled(settings.host, api_keys):
        log.warning(
            "user histories are off: listening on %s (not loopback) without KBD_LM_API_KEYS",
            settings.host,
        )
        return None
    config = HistoryConfig(
        max_entries=settings.history_max_entries, max_bytes=settings.history_max_bytes
    )
    return HistoryStore(
        settings.history_db,
        config,
        max_users=settings.history_max_users,
        max_db_bytes=settings.history_max_db_bytes,
    )


async def history_for(
    request: Request, user: str | None, store: HistoryStore | None
) -> UserHistory | None:
    """The history ``predict-next`` uses for ``user`` (None without a user); the same access
    rules as the user routes (403 when histories are off; Host check without API keys)."""
    if user is None:
        return None
    store = store_or_403(store)
    if request.app.state.user_host_check and not host_allowed(request.scope):
        raise StarletteHTTPException(403, "user histories answer only to a loopback Host")
    return await anyio.to_thread.run_sync(store.get, user)


class UserRoutesGuard:
    """Keeps ``/v1/users`` private: Host check without API keys, never any CORS headers.

    ``routes``: the app's route lists (:func:`kbd_lm.serve.app.route_lists`), for the
    ``Allow`` header of the 405 that answers ``OPTIONS``.
    """

    def __init__(
        self, app: ASGIApp, check_host: bool, routes: list[list[BaseRoute]] | None = None
    ) -> None:
        self.app, self.check_host, self.routes = app, check_host, routes or []

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if scope["type"] != "http" or not path.startswith(USERS_PREFIX):
            await self.app(scope, receive, send)
            return
        if scope.get("method") == "OPTIONS":  # no CORS preflight ever succeeds here
            allow = ", ".join(allowed_methods(itertools.chain.from_iterable(self.routes), scope))
            await error_response(
                405, "method_not_allowed", "no CORS on user routes", headers={"allow": allow}
            )(scope, receive, send)
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
    """Attach :class:`RedactUserPaths` to the access loggers (kbd-lm's and uvicorn's) and to
    uvicorn's error logger (once)."""
    for name in ("kbd_lm.serve.access", "uvicorn.access", "uvicorn.error"):
        logger = logging.getLogger(name)
        if not any(isinstance(f, RedactUserPaths) for f in logger.filters):
            logger.addFilter(RedactUserPaths())
