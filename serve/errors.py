"""Every error answer of the server: its JSON body, its OpenAPI description, its handlers.

The body is ``{"error": code, "message": text}`` (plus ``details`` for a 422): a stable code
for programs, a sentence for people. :func:`error_response` builds it for the middleware
(:mod:`kbd_lm.serve.middleware`, :mod:`kbd_lm.serve.auth`, :mod:`kbd_lm.serve.users`) and for
the exception handlers that :func:`add_error_handlers` installs on the app. A handler counts
each error by its code in the app's metrics (``app.state.metrics``); none echoes what the
client sent.

>>> error_response(413, "body_too_large", "request body is 20000 bytes").body
b'{"error":"body_too_large","message":"request body is 20000 bytes"}'
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import JSONResponse

from kbd_lm.serve.pool import PoolBusyError

log = logging.getLogger(__name__)

# The error code of an HTTPException's status (raised by routes, dependencies and Starlette).
HTTP_ERROR_CODES = {
    400: "bad_request",
    404: "not_found",
    405: "method_not_allowed",
    413: "body_too_large",
    415: "unsupported_media_type",
    503: "unavailable",
}
# FastAPI's detail for a body that json.loads gave up on without a syntax error.
_FASTAPI_PARSE_ERROR = "There was an error parsing the body"

# What each error status means, as the OpenAPI documentation of a route lists it.
ERROR_DESCRIPTIONS = {
    400: "Body not valid JSON (`invalid_json`), not UTF-8 (`invalid_utf8`) or empty "
    "(`missing_body`).",
    413: "Body over `max_body_bytes` (16 KiB by default): `body_too_large`.",
    415: "Body not sent as `Content-Type: application/json`: `unsupported_media_type`.",
    422: "Wrong field types or values, e.g. `k` outside 1-10: `invalid_request`, with `details`.",
    503: "Model not loaded (`unavailable`) or every predictor busy too long (`busy`).",
}


class ErrorResponse(BaseModel):
    """Every error answer: a stable code, a sentence for people and optional details."""

    error: str = Field(description="Stable error code.", examples=["invalid_json"])
    message: str = Field(
        description="What was wrong and how to fix it.",
        examples=["request body is not valid JSON: Expecting value at line 1 column 10 (char 9)"],
    )
    details: list[dict[str, Any]] | None = Field(
        None, description="Per-field validation problems (422 only)."
    )


def error_response(
    status: int, code: str, message: str, details: list | None = None, headers: dict | None = None
) -> JSONResponse:
    """The JSON body of every error: ``{"error": code, "message": message[, "details"]}``."""
    body: dict = {"error": code, "message": message}
    if details is not None:
        body["details"] = details
    return JSONResponse(body, status_code=status, headers=headers)


def error_responses(*statuses: int) -> dict:
    """The ``responses`` argument of a route that can answer these error statuses.

    >>> sorted(error_responses(413, 503))
    [413, 503]
    """
    return {s: {"model": ErrorResponse, "description": ERROR_DESCRIPTIONS[s]} for s in statuses}


def _validation_message(errors: list[dict]) -> str:
    """One line for pydantic's errors: ``k: Input should be ...; user: ...``."""
    parts = []
    for e in errors:
        loc = [str(x) for x in e.get("loc", ()) if x != "body"]
        where = ".".join(loc) or "body"
        parts.append(f"{where}: {e.get('msg', 'invalid')}")
    return "; ".join(parts)


def _count(request: Request, code: str) -> None:
    request.app.state.metrics.error(code)


async def on_validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
    """400 for a body that is not JSON or is missing, else 422 with per-field details."""
    errors = list(exc.errors())
    if any(e.get("type") == "json_invalid" for e in errors):
        e = next(e for e in errors if e.get("type") == "json_invalid")
        reason = (e.get("ctx") or {}).get("error", "JSON decode error")
        pos = e["loc"][-1] if len(e.get("loc", ())) > 1 else "?"
        _count(request, "invalid_json")
        return error_response(
            400, "invalid_json", f"request body is not valid JSON ({reason} at character {pos})"
        )
    if any(tuple(e.get("loc", ())) == ("body",) and e.get("type") == "missing" for e in errors):
        _count(request, "missing_body")
        return error_response(
            400, "missing_body", 'send a JSON object like {"text": "see you ", "k": 3}'
        )
    details = [
        {"loc": list(e.get("loc", ())), "msg": e.get("msg"), "type": e.get("type")} for e in errors
    ]
    _count(request, "invalid_request")
    return error_response(422, "invalid_request", _validation_message(errors), details)


async def on_http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
    """An HTTPException (404, 405, 503 not loaded, 403...) with its code from the status."""
    code = HTTP_ERROR_CODES.get(exc.status_code, f"http_{exc.status_code}")
    message = str(exc.detail)
    if exc.status_code == 400 and message == _FASTAPI_PARSE_ERROR:
        # JSON that json.loads gave up on without a syntax error (e.g. nested too deep).
        code, message = "invalid_json", "request body could not be parsed as JSON"
    _count(request, code)
    return error_response(exc.status_code, code, message, headers=getattr(exc, "headers", None))


async def on_busy(request: Request, exc: PoolBusyError) -> JSONResponse:
    """503 ``busy`` with ``Retry-After`` when no predictor freed up within the queue wait."""
    _count(request, "busy")
    return error_response(
        503, "busy", f"server busy: {exc}; retry shortly", headers={"retry-after": "1"}
    )


async def on_internal_error(request: Request, exc: Exception) -> JSONResponse:
    """500 ``internal``; the traceback goes to the server log under the route's template."""
    route = getattr(request.scope.get("route"), "path", "?")  # a template, never a user id
    log.exception("internal error on %s %s", request.method, route)
    return error_response(500, "internal", "internal server error (see the server log)")


def add_error_handlers(app: FastAPI) -> None:
    """Answer every error of ``app`` with the JSON body above (``app.state.metrics`` set)."""
    app.add_exception_handler(RequestValidationError, on_validation_error)
    app.add_exception_handler(StarletteHTTPException, on_http_error)
    app.add_exception_handler(PoolBusyError, on_busy)
    app.add_exception_handler(Exception, on_internal_error)
