"""Every error answer of the server: its JSON body, its OpenAPI description, its handlers.

The body is ``{"error": code, "message": text}`` (plus ``details`` for a 422): a stable code
for programs, a sentence for people. :func:`error_response` builds it for the middleware
(:mod:`kbd_lm.serve.middleware`, :mod:`kbd_lm.serve.auth`, :mod:`kbd_lm.serve.users`) and for
the exception handlers that :func:`add_error_handlers` installs on the app. A handler counts
each error by its code in the app's metrics (``app.state.metrics``); none echoes what the
client sent. :data:`ERRORS` names every code with its status and when it comes;
:func:`error_responses` turns a route's codes into its OpenAPI ``responses``
(:mod:`kbd_lm.serve.openapi` adds those of validation and of the layers before the routes).

>>> error_response(413, "body_too_large", "request body is 20000 bytes").body
b'{"error":"body_too_large","message":"request body is 20000 bytes"}'
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
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


@dataclass(frozen=True)
class ErrorCode:
    """One error answer: its status, when the server gives it (a clause for the OpenAPI
    documentation of the routes that can answer it) and the headers it carries."""

    status: int
    when: str
    headers: tuple[str, ...] = ()


# Every error code a client can get, by the layer or route that answers it. Routes list theirs
# with error_responses(); kbd_lm.serve.openapi adds those of validation and of the ASGI layers.
ERRORS = {
    # Validation of a request (on_validation_error, on_http_error).
    "invalid_json": ErrorCode(400, "the body is not valid JSON"),
    "missing_body": ErrorCode(400, "there is no body"),
    "invalid_request": ErrorCode(
        422, "wrong field types or values, e.g. `k` outside 1-10 (`details` says which)"
    ),
    # BodyGuard (kbd_lm.serve.middleware), for POST, PUT and PATCH.
    "invalid_content_length": ErrorCode(400, "`Content-Length` is not a number"),
    "invalid_utf8": ErrorCode(400, "the body is not valid UTF-8"),
    "body_too_large": ErrorCode(413, "the body is over `max_body_bytes` (16 KiB by default)"),
    "unsupported_media_type": ErrorCode(415, "a body not sent as `Content-Type: application/json`"),
    # ApiKeyGuard (kbd_lm.serve.auth), on /v1 routes.
    "unauthorized": ErrorCode(
        401,
        "when API keys are set: no valid `Authorization: Bearer <key>` header",
        ("WWW-Authenticate",),
    ),
    # UserRoutesGuard (kbd_lm.serve.users), on /v1/users routes.
    "forbidden_host": ErrorCode(403, "without API keys: the `Host` header is not a loopback name"),
    "method_not_allowed": ErrorCode(
        405, "`OPTIONS` (a CORS preflight): user routes never answer other origins", ("Allow",)
    ),
    # Admission (kbd_lm.serve.admission) and the predictor pool (on_busy).
    "busy": ErrorCode(
        503,
        "every predictor is busy for longer than the queue wait: retry after `Retry-After` seconds",
        ("Retry-After",),
    ),
    # Routes and their dependencies (kbd_lm.serve.deps), through on_http_error.
    "unavailable": ErrorCode(503, "the model is not loaded (during start-up or shutdown)"),
    "not_found": ErrorCode(404, "not a file of the bundle's manifest"),  # /v1/bundle/{name}
    "http_403": ErrorCode(
        403,
        "`user` is given but user histories are off on this server, or (without API keys) "
        "the `Host` header is not a loopback name",
    ),
    "http_507": ErrorCode(507, "the history store is at its limit of users or of bytes"),
}

# The headers of ERRORS as OpenAPI describes them (RFC 9110 names).
ERROR_HEADERS = {
    "Retry-After": {
        "description": "Seconds to wait before sending the request again.",
        "schema": {"type": "integer", "examples": [1]},
    },
    "WWW-Authenticate": {
        "description": "How to authenticate: `Bearer`.",
        "schema": {"type": "string", "examples": ["Bearer"]},
    },
    "Allow": {
        "description": "The methods the path answers.",
        "schema": {"type": "string", "examples": ["POST"]},
    },
}
ERROR_SCHEMA_REF = "#/components/schemas/ErrorResponse"


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


def error_responses(*codes: str) -> dict:
    """The OpenAPI ``responses`` of a route that can answer these error codes (:data:`ERRORS`):
    one entry per status, saying when each of its codes comes, with the headers they carry
    (required when every code of the status carries it) and ``x-error-codes``, the codes.

    >>> r = error_responses("busy", "unavailable", "not_found")
    >>> sorted(r), r[503]["x-error-codes"], r[503]["headers"]["Retry-After"]["required"]
    ([404, 503], ['busy', 'unavailable'], False)
    >>> r[404]["description"]
    "`not_found`: not a file of the bundle's manifest."
    """
    by_status: dict[int, list[str]] = {}
    for code in dict.fromkeys(codes):  # each once, in the order given
        by_status.setdefault(ERRORS[code].status, []).append(code)
    responses = {}
    for status, group in sorted(by_status.items()):
        clauses = "; ".join(f"`{c}`: {ERRORS[c].when}" for c in group)
        headers = {}
        for name in dict.fromkeys(h for c in group for h in ERRORS[c].headers):
            always = all(name in ERRORS[c].headers for c in group)
            headers[name] = {**ERROR_HEADERS[name], "required": always}
        response = {
            "description": clauses + ".",
            "content": {"application/json": {"schema": {"$ref": ERROR_SCHEMA_REF}}},
            "x-error-codes": group,
        }
        if headers:
            response["headers"] = headers
        responses[status] = response
    return responses


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
