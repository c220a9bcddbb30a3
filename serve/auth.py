"""API keys: with ``KBD_LM_API_KEYS`` set, every ``/v1`` route needs ``Authorization: Bearer``.

A key is a service credential: it opens every user's history. Keys are compared in constant
time (:func:`hmac.compare_digest`, against every configured key); a missing or wrong key gets
401 before any route runs, so the answer says nothing about whether a user exists.

>>> parse_keys(" k1, k2 ,")
['k1', 'k2']
"""

from __future__ import annotations

import hmac

from starlette.types import ASGIApp, Receive, Scope, Send

from kbd_lm.serve.errors import error_response

PROTECTED_PREFIX = "/v1"


def parse_keys(value: str) -> list[str]:
    """The keys of a comma-separated setting (blanks dropped)."""
    return [k.strip() for k in value.split(",") if k.strip()]


def protects(path: str) -> bool:
    """Whether a path needs a key when keys are set: ``/v1`` and everything under it.

    >>> protects("/v1/model"), protects("/v1"), protects("/v1x"), protects("/metrics")
    (True, True, False, False)
    """
    return path == PROTECTED_PREFIX or path.startswith(PROTECTED_PREFIX + "/")


def key_matches(given: str, keys: list[str]) -> bool:
    """True if ``given`` is one of ``keys``; the time does not depend on where they differ."""
    ok = False
    for key in keys:  # every key is compared, whichever matches
        ok |= hmac.compare_digest(given.encode(), key.encode())
    return ok


def authorized(scope: Scope, keys: list[str]) -> bool:
    """Whether a request may pass the key check: no keys set, a path that needs none, or a
    valid ``Authorization: Bearer <key>`` header."""
    if not keys or not protects(scope.get("path", "")):
        return True
    header = b""
    for name, value in scope.get("headers") or []:
        if name.lower() == b"authorization":
            header = value
    scheme, _, token = header.decode("latin-1").partition(" ")
    return scheme.lower() == "bearer" and key_matches(token.strip(), keys)


class ApiKeyGuard:
    """Answers 401 to ``/v1`` requests without a valid bearer key (when keys are set)."""

    def __init__(self, app: ASGIApp, keys: list[str], on_error=None) -> None:
        self.app, self.keys, self.on_error = app, keys, on_error

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or authorized(scope, self.keys):
            await self.app(scope, receive, send)
            return
        if self.on_error is not None:
            self.on_error("unauthorized")
        response = error_response(
            401,
            "unauthorized",
            "send a valid API key as 'Authorization: Bearer <key>'",
            headers={"www-authenticate": "Bearer"},
        )
        await response(scope, receive, send)
