"""The OpenAPI document lists, for every operation, every error the server can answer it with.

FastAPI documents what a route declares. Three sources of errors are added here, so that a new
route cannot leave them out:

- the route's own codes, which it declares with
  ``responses=error_responses("not_found", "unavailable")`` (:mod:`kbd_lm.serve.errors`);
- validation: a body that is not JSON, missing or of the wrong shape, a parameter of the wrong
  type or pattern (FastAPI's own 422, whose body is not ours, is replaced);
- the ASGI layers that answer before any route runs (:data:`LAYERS`, one row per layer of
  :func:`kbd_lm.serve.app.stack_middleware`).

Each error status of an operation says when each of its codes comes and lists them in
``x-error-codes``:

>>> op = {"requestBody": {"required": True}, "responses": {"200": {}}}
>>> document_operation("post", "/v1/users/{user}/learn", op)["responses"]["400"]["x-error-codes"]
['invalid_content_length', 'invalid_utf8', 'invalid_json', 'missing_body']
>>> sorted(op["responses"])
['200', '400', '401', '403', '405', '413', '415', '422']

:func:`install` makes ``app.openapi()`` (``GET /openapi.json``, ``/docs``) return that document.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

from fastapi import FastAPI

from kbd_lm.serve.auth import protects
from kbd_lm.serve.errors import ErrorResponse, error_responses
from kbd_lm.serve.middleware import BODY_METHODS
from kbd_lm.serve.routes.predict import PREDICT_PATH
from kbd_lm.serve.users import USERS_PREFIX


class Layer(NamedTuple):
    """An ASGI layer in front of the routes: which operations it can refuse, with which codes."""

    name: str  # its class name in the middleware stack
    applies: Callable[[str, str], bool]  # (method, path template) -> it may answer
    codes: tuple[str, ...]


def _never(method: str, path: str) -> bool:
    return False


# The layers of kbd_lm.serve.app.stack_middleware, outermost first, each with the error codes it
# answers requests with before they reach a route (tests/serve/test_openapi.py checks that
# this table names every layer of the stack).
LAYERS = [
    Layer("Admission", lambda method, path: path == PREDICT_PATH, ("busy",)),
    Layer(
        "UserRoutesGuard",
        lambda method, path: path.startswith(USERS_PREFIX),
        ("forbidden_host", "method_not_allowed"),
    ),
    Layer("StartupErrorMessage", _never, ()),  # rewrites a failed start-up's message only
    Layer("AccessLog", _never, ()),
    Layer("RequestMetrics", _never, ()),
    Layer("CORSMiddleware", _never, ()),  # answers CORS preflights: OPTIONS, no operation
    Layer("ApiKeyGuard", lambda method, path: protects(path), ("unauthorized",)),
    Layer(
        "BodyGuard",
        lambda method, path: method in BODY_METHODS,
        ("invalid_content_length", "invalid_utf8", "body_too_large", "unsupported_media_type"),
    ),
]

# The API keys of kbd_lm.serve.auth, as OpenAPI describes them (on a server that has keys).
SECURITY_SCHEME = "apiKey"
BEARER_KEY = {
    "type": "http",
    "scheme": "bearer",
    "description": "A key of the server's `KBD_LM_API_KEYS`: `Authorization: Bearer <key>`.",
}
# The status of FastAPI's own validation error response (its body is not the server's).
_FASTAPI_422 = "422"
# Keys of a parameter's schema that constrain nothing.
_DESCRIPTIVE = {"type", "title", "description", "examples", "default"}


def _can_fail(parameter: dict) -> bool:
    """Whether validation can refuse a parameter: a required query parameter can be missing;
    a path parameter that is any string cannot be wrong (``/v1/bundle/{name}``)."""
    schema = parameter.get("schema", {})
    any_string = schema.get("type") == "string" and not set(schema) - _DESCRIPTIVE
    missing = parameter.get("in") != "path" and parameter.get("required", False)
    return missing or not any_string


def validation_codes(operation: dict) -> list[str]:
    """The codes of FastAPI's validation for an operation (an OpenAPI operation object)."""
    codes = []
    body = operation.get("requestBody")
    if body is not None:
        codes += ["invalid_json", "missing_body"] if body.get("required") else ["invalid_json"]
    if body is not None or any(_can_fail(p) for p in operation.get("parameters", [])):
        codes.append("invalid_request")
    return codes


def document_operation(method: str, path: str, operation: dict) -> dict:
    """Replace the error responses of one operation with every one it can get (in place).

    ``operation``'s own error codes are the ``x-error-codes`` of its responses; FastAPI's
    default 422 (which has none) is dropped, since :mod:`kbd_lm.serve.errors` answers it.
    Raises ValueError for an error response declared otherwise than with error_responses().
    """
    responses = operation["responses"]
    errors = {s: r for s, r in responses.items() if s.isdigit() and int(s) >= 400}
    for status, response in errors.items():
        if "x-error-codes" not in response and status != _FASTAPI_422:
            raise ValueError(
                f"{method.upper()} {path} documents {status} without error codes: "
                "declare it with kbd_lm.serve.errors.error_responses()"
            )
    own = [code for r in errors.values() for code in r.get("x-error-codes", [])]
    layers = [c for layer in LAYERS if layer.applies(method.upper(), path) for c in layer.codes]
    codes = [*layers, *validation_codes(operation), *own]
    kept = {s: r for s, r in responses.items() if s not in errors}
    operation["responses"] = kept | {str(s): r for s, r in error_responses(*codes).items()}
    return operation


def document_errors(schema: dict, api_keys: bool = False) -> dict:
    """Every operation of an OpenAPI document with its errors (in place); the schema of their
    body (ErrorResponse) in the components, FastAPI's validation error models out.

    With ``api_keys`` (the server has keys), the operations that need one say so
    (``security``), so that clients and /docs send it.
    """
    components = schema.setdefault("components", {})
    if api_keys:
        components["securitySchemes"] = {SECURITY_SCHEME: BEARER_KEY}
    for path, operations in schema.get("paths", {}).items():
        for method, operation in operations.items():
            document_operation(method, path, operation)
            if api_keys and protects(path):
                operation["security"] = [{SECURITY_SCHEME: []}]
    models = components.setdefault("schemas", {})
    models.setdefault("ErrorResponse", ErrorResponse.model_json_schema())
    for name in ("HTTPValidationError", "ValidationError"):  # only FastAPI's 422 used them
        models.pop(name, None)
    return schema


def install(app: FastAPI, api_keys: bool = False) -> None:
    """Make ``app.openapi()`` return FastAPI's document with :func:`document_errors` applied
    (built once, at the first request for it, so routes added until then are in it)."""
    fastapi_openapi = app.openapi

    def openapi() -> dict:
        if app.openapi_schema is None:
            document_errors(fastapi_openapi(), api_keys)  # FastAPI keeps it in app.openapi_schema
        return app.openapi_schema

    app.openapi = openapi
