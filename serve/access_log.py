"""The access log: one line per request, in uvicorn's format, on the ``kbd_lm.serve.access``
logger (which :class:`~kbd_lm.serve.users.RedactUserPaths` redacts like uvicorn's).

The server turns uvicorn's own access log off and logs here instead, inside the admission layer
(:mod:`kbd_lm.serve.admission`), so that a refused request is not logged one by one: a crowd of
refusals would cost a log line each; the admission layer logs their count every few seconds.

    127.0.0.1:53412 - "POST /v1/predict-next HTTP/1.1" 200
"""

from __future__ import annotations

import logging

from starlette.types import ASGIApp, Message, Receive, Scope, Send

LOGGER = "kbd_lm.serve.access"
FORMAT = '%s - "%s %s HTTP/%s" %d'  # uvicorn's: client, method, path?query, version, status


class AccessLog:
    """Logs each HTTP request's client, method, path, version and status once it answered.

    The text of requests (bodies) is never logged; paths under ``/v1/users/`` are redacted by
    the logger's filter.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.log = logging.getLogger(LOGGER)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not self.log.isEnabledFor(logging.INFO):
            await self.app(scope, receive, send)
            return
        status = 500

        async def send_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_status)
        finally:
            self.log.info(FORMAT, *_request_line(scope), status)


def _request_line(scope: Scope) -> tuple[str, str, str, str]:
    """(client, method, path with its query, HTTP version) as uvicorn logs them."""
    client = scope.get("client")
    where = f"{client[0]}:{client[1]}" if client else "-"
    path = scope.get("root_path", "") + scope["path"]
    if scope.get("query_string"):
        path += "?" + scope["query_string"].decode("latin-1")
    return where, scope["method"], path, scope.get("http_version", "1.1")
