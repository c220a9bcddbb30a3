"""Pure ASGI middleware: request metrics, request-body limits, clean start-up errors.

Each one wraps an ASGI app; :func:`kbd_lm.serve.app.stack_middleware` stacks them, with the
access log (:mod:`kbd_lm.serve.access_log`), the API key guard (:mod:`kbd_lm.serve.auth`),
CORS, admission (:mod:`kbd_lm.serve.admission`) and the user-route guard
(:mod:`kbd_lm.serve.users`), as (outermost first)
``Admission(UserRoutesGuard(StartupErrorMessage([AccessLog](RequestMetrics([CORSMiddleware](
ApiKeyGuard(BodyGuard(app))))))))``, CORS only when origins are set, the access log only when on.
Their refusals are JSON error bodies (:func:`kbd_lm.serve.errors.error_response`).
"""

from __future__ import annotations

import itertools
import logging
import time
from collections.abc import Iterable

from starlette.routing import BaseRoute, Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from kbd_lm.serve.errors import error_response
from kbd_lm.serve.metrics import Metrics

log = logging.getLogger(__name__)

BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})


def route_template(routes: Iterable[BaseRoute], scope: Scope) -> str:
    """The template of the route that serves ``scope`` (``/users/{user_id}``), else ``other``.

    A route whose path matches but not its method (a 405) still names its template; an
    entry without a template of its own (an included router) is skipped.
    """
    for route in routes:
        template = getattr(route, "path", None)
        if template is None:
            continue
        match, _ = route.matches(scope)
        if match is not Match.NONE:
            return template
    return "other"


def allowed_methods(routes: Iterable[BaseRoute], scope: Scope) -> list[str]:
    """The methods of the routes that serve ``scope``'s path, sorted: the ``Allow`` header of
    a 405 (RFC 9110). Empty (allowed by RFC 9110) for a path that no route serves."""
    methods: set[str] = set()
    for route in routes:
        if getattr(route, "path", None) is None or not getattr(route, "methods", None):
            continue
        match, _ = route.matches(scope)
        if match is not Match.NONE:
            methods |= route.methods
    return sorted(methods)


class RequestMetrics:
    """Counts each HTTP request by route template, method and status and times it.

    ``routes``: lists of the app's routes (:func:`kbd_lm.serve.app.route_lists`), read at each
    request, so routes added later count too; paths that none of them serves are counted as
    ``other``. A request whose app raised is counted as status 500.
    """

    def __init__(self, app: ASGIApp, metrics: Metrics, routes: list[list[BaseRoute]]) -> None:
        self.app, self.metrics, self.routes = app, metrics, routes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def send_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        # When the request reached the app (request.state.arrived): its queue wait starts here.
        state = scope.setdefault("state", {})
        state["arrived"] = started
        self.metrics.in_flight.inc()
        try:
            await self.app(scope, receive, send_status)
        except Exception:
            status = 500
            self.metrics.error("internal")
            raise
        finally:
            self.metrics.in_flight.dec()
            route = route_template(itertools.chain.from_iterable(self.routes), scope)
            elapsed = time.perf_counter() - started
            self.metrics.observe(route, scope.get("method", ""), status, elapsed)


class _Refused(Exception):
    """A request body :class:`BodyGuard` answers itself: status, error code, message."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def _headers(scope: Scope) -> dict[str, str]:
    """The request's headers, names lowercased (the last of a repeated one wins)."""
    return {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}


def _check_length(length: str | None, limit: int) -> None:
    """Refuse a ``Content-Length`` that is not a number (400) or is over ``limit`` (413)."""
    if length is None:
        return
    if not length.strip().isdigit():
        raise _Refused(
            400,
            "invalid_content_length",
            f"Content-Length {length!r} is not a number of bytes",
        )
    if int(length) > limit:
        raise _Refused(
            413, "body_too_large", f"request body is {int(length)} bytes; the limit is {limit}"
        )


async def _read_body(receive: Receive, limit: int) -> bytes | None:
    """The whole body, refused (413) as soon as it grows past ``limit`` (e.g. when chunked);
    None when the client left before sending it all."""
    chunks, size = [], 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return None
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise _Refused(
                413, "body_too_large", f"request body is over the limit of {limit} bytes"
            )
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


def _check_json_utf8(body: bytes, content_type: str) -> None:
    """Refuse a body not declared JSON (415) or not valid UTF-8 (400)."""
    media_type = content_type.split(";")[0].strip().lower()
    if media_type != "application/json" and not media_type.endswith("+json"):
        raise _Refused(
            415,
            "unsupported_media_type",
            f"send the body as JSON with 'Content-Type: application/json' "
            f"(got {media_type or 'no Content-Type'})",
        )
    try:
        body.decode("utf-8")
    except UnicodeDecodeError as err:
        raise _Refused(
            400,
            "invalid_utf8",
            f"request body is not valid UTF-8 (byte {err.start}: {err.reason})",
        ) from None


def _replay(body: bytes, receive: Receive) -> Receive:
    """A ``receive`` that hands the app the body read already, then passes on to ``receive``
    (which then only has a disconnect to tell)."""
    replayed = False

    async def replay() -> Message:
        nonlocal replayed
        if not replayed:
            replayed = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay


class BodyGuard:
    """Checks request bodies before the app sees them; answers 4xx JSON errors itself.

    For POST/PUT/PATCH: a ``Content-Length`` over ``max_bytes`` is refused (413) without
    reading; otherwise the body is read (refused with 413 as soon as it grows past
    ``max_bytes``, e.g. when chunked), must be declared JSON (415), must be valid UTF-8 (400),
    and is then replayed to the app. ``on_error(code)`` is called for each refusal.
    """

    def __init__(self, app: ASGIApp, max_bytes: int, on_error=None) -> None:
        self.app, self.max_bytes, self.on_error = app, max_bytes, on_error

    async def _refuse(self, scope: Scope, receive: Receive, send: Send, refused: _Refused) -> None:
        if self.on_error is not None:
            self.on_error(refused.code)
        # Connection: close, since a refused body may still be on its way.
        headers = {"connection": "close"} if refused.status == 413 else None
        response = error_response(refused.status, refused.code, refused.message, headers=headers)
        await response(scope, receive, send)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("method") not in BODY_METHODS:
            await self.app(scope, receive, send)
            return
        headers = _headers(scope)
        try:
            _check_length(headers.get("content-length"), self.max_bytes)
            body = await _read_body(receive, self.max_bytes)
            if body is None:
                return  # the client left: nothing to answer
            if body:
                _check_json_utf8(body, headers.get("content-type", ""))
        except _Refused as refused:
            await self._refuse(scope, receive, send, refused)
            return
        await self.app(scope, _replay(body, receive), send)


class StartupErrorMessage:
    """Replaces the traceback of a failed start-up with one line, for the server log.

    Starlette reports a lifespan failure to the server as its full traceback; when the app's
    lifespan stored a message in ``app.state.startup_error`` (a missing or corrupt bundle),
    the server logs that message instead.
    """

    def __init__(self, app: ASGIApp, state) -> None:
        self.app, self.state = app, state

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "lifespan":
            await self.app(scope, receive, send)
            return

        async def send_clean(message: Message) -> None:
            error = getattr(self.state, "startup_error", None)
            if message["type"] == "lifespan.startup.failed" and error:
                message = {**message, "message": error}
            await send(message)

        await self.app(scope, receive, send_clean)
