"""The FastAPI app: ``create_app(bundle_path, settings)``.

Routes:

- ``POST /v1/predict-next``: ``{"text": "see you ", "k": 3}`` -> suggestions, bundle id, time;
- ``GET /healthz``: the process is alive; ``GET /readyz``: a suggestion went through the pool;
- ``GET /v1/model``: the public part of the bundle manifest;
- ``GET /metrics``: Prometheus text format; ``GET /``: the demo page;
- ``GET /docs``, ``/redoc``, ``/openapi.json``: the API documentation.

The lifespan loads and verifies the bundle once and builds a :class:`PredictorPool` of
``settings.pool_size`` predictors; routes get the pool through the :func:`get_pool`
dependency (tests override it with ``app.dependency_overrides[get_pool]``). A missing or
corrupt bundle makes start-up fail with the :class:`~kbd_lm.inference.bundle.BundleError` message.

Run it with ``kbd-lm serve --bundle dist/bundle``, or with uvicorn's factory mode:
``KBD_LM_BUNDLE=dist/bundle uvicorn --factory kbd_lm.serve.app:create_app``.
"""

from __future__ import annotations

import logging
import time
from contextlib import asynccontextmanager
from importlib import resources
from pathlib import Path
from typing import Annotated

from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import HTMLResponse, PlainTextResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from kbd_lm.inference.bundle import Bundle, BundleError
from kbd_lm.inference.predictor import keep_end
from kbd_lm.serve import users
from kbd_lm.serve.auth import ApiKeyGuard, parse_keys
from kbd_lm.serve.metrics import CONTENT_TYPE, Metrics
from kbd_lm.serve.middleware import (
    BodyGuard,
    RequestMetrics,
    ShedLoad,
    StartupErrorMessage,
    error_response,
)
from kbd_lm.serve.pool import PoolBusyError, PredictorPool
from kbd_lm.serve.schemas import (
    PREDICT_EXAMPLES,
    ErrorResponse,
    HealthResponse,
    ModelInfo,
    PredictRequest,
    PredictResponse,
    ReadyResponse,
    SuggestionOut,
)
from kbd_lm.serve.settings import ServeSettings
from kbd_lm.serve.web import mount_web

log = logging.getLogger(__name__)

READY_TEXT = "hello "  # what /readyz asks the pool
PREDICT_PATH = "/v1/predict-next"
_HTTP_ERROR_CODES = {
    400: "bad_request",
    404: "not_found",
    405: "method_not_allowed",
    413: "body_too_large",
    415: "unsupported_media_type",
    503: "unavailable",
}


_FASTAPI_PARSE_ERROR = "There was an error parsing the body"


_ERROR_DESCRIPTIONS = {
    400: "Body not valid JSON (`invalid_json`), not UTF-8 (`invalid_utf8`) or empty "
    "(`missing_body`).",
    413: "Body over `max_body_bytes` (16 KiB by default): `body_too_large`.",
    415: "Body not sent as `Content-Type: application/json`: `unsupported_media_type`.",
    422: "Wrong field types or values, e.g. `k` outside 1-10: `invalid_request`, with `details`.",
    503: "Model not loaded (`unavailable`) or every predictor busy too long (`busy`).",
}


def _error_responses(*statuses: int) -> dict:
    return {s: {"model": ErrorResponse, "description": _ERROR_DESCRIPTIONS[s]} for s in statuses}


def get_pool(request: Request) -> PredictorPool:
    """The app's predictor pool (a dependency: override it in tests)."""
    pool = getattr(request.app.state, "pool", None)
    if pool is None:  # only before start-up completes or after shutdown
        raise StarletteHTTPException(503, "the model is not loaded")
    return pool


def get_settings(request: Request) -> ServeSettings:
    """The settings the app was created with."""
    return request.app.state.settings


def get_bundle(request: Request) -> Bundle:
    """The loaded bundle."""
    bundle = getattr(request.app.state, "bundle", None)
    if bundle is None:
        raise StarletteHTTPException(503, "the model is not loaded")
    return bundle


Pool = Annotated[PredictorPool, Depends(get_pool)]
Settings = Annotated[ServeSettings, Depends(get_settings)]


def _demo_page() -> str:
    return resources.files("kbd_lm.serve").joinpath("static/index.html").read_text("utf-8")


def _validation_message(errors: list[dict]) -> str:
    parts = []
    for e in errors:
        loc = [str(x) for x in e.get("loc", ()) if x != "body"]
        where = ".".join(loc) or "body"
        parts.append(f"{where}: {e.get('msg', 'invalid')}")
    return "; ".join(parts)


def create_app(
    bundle_path: str | Path | None = None, settings: ServeSettings | None = None
) -> FastAPI:
    """Build the app. ``bundle_path`` wins over ``settings.bundle``.

    ``settings`` defaults to :class:`ServeSettings` read from ``KBD_LM_*`` variables now.
    Raises ValueError when neither gives a bundle; the bundle itself is loaded by the
    lifespan (``with TestClient(app)`` or server start-up).
    """
    settings = settings or ServeSettings()
    if bundle_path is not None:
        settings = settings.model_copy(update={"bundle": Path(bundle_path)})
    if settings.bundle is None:
        raise ValueError("no bundle: pass bundle_path, --bundle or set KBD_LM_BUNDLE")
    metrics = Metrics(process=True)  # one server process: its CPU and memory are the app's
    api_keys = parse_keys(settings.api_keys)

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        app.state.startup_error = None
        try:
            bundle = Bundle.load(settings.bundle)
            pool = PredictorPool.load(
                bundle,
                size=settings.pool_size,
                runtime=settings.runtime,
                beam_width=settings.beam_width,
                num_threads=settings.num_threads,
                queue_wait=settings.queue_wait_ms / 1000,
            )
        except BundleError as err:
            # The server logs this line instead of a traceback (see StartupErrorMessage).
            app.state.startup_error = f"cannot serve the bundle: {err}"
            raise
        app.state.bundle, app.state.pool = bundle, pool
        metrics.watch_pool(pool)
        log.info("serving %s from %s with %d predictor(s)", pool.model_id, bundle.path, pool.size)
        try:
            yield
        finally:
            app.state.pool = None
            users.close(app)
            metrics.close()

    app = FastAPI(
        title="kbd-lm",
        version="1",
        summary="Next-word prediction for mobile keyboards.",
        description=(
            "Suggestions from the same TFLite bundle that phones run. Send the text before the "
            "cursor; get whole words, best first. At most the last `max_text_chars` characters "
            f"of a text are used ({settings.max_text_chars:,} on this server). Errors are JSON "
            '`{"error": code, "message": text}` with a 4xx status for any bad input.'
        ),
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.metrics = metrics
    app.state.pool = None
    demo_page = _demo_page()

    # ------------------------------------------------------------------ errors

    @app.exception_handler(RequestValidationError)
    async def on_validation_error(request: Request, exc: RequestValidationError):
        errors = list(exc.errors())
        if any(e.get("type") == "json_invalid" for e in errors):
            e = next(e for e in errors if e.get("type") == "json_invalid")
            reason = (e.get("ctx") or {}).get("error", "JSON decode error")
            pos = e["loc"][-1] if len(e.get("loc", ())) > 1 else "?"
            metrics.error("invalid_json")
            return error_response(
                400, "invalid_json", f"request body is not valid JSON ({reason} at character {pos})"
            )
        if any(tuple(e.get("loc", ())) == ("body",) and e.get("type") == "missing" for e in errors):
            metrics.error("missing_body")
            return error_response(
                400, "missing_body", 'send a JSON object like {"text": "see you ", "k": 3}'
            )
        details = [
            {"loc": list(e.get("loc", ())), "msg": e.get("msg"), "type": e.get("type")}
            for e in errors
        ]
        metrics.error("invalid_request")
        return error_response(422, "invalid_request", _validation_message(errors), details)

    @app.exception_handler(StarletteHTTPException)
    async def on_http_error(request: Request, exc: StarletteHTTPException):
        code = _HTTP_ERROR_CODES.get(exc.status_code, f"http_{exc.status_code}")
        message = str(exc.detail)
        if exc.status_code == 400 and message == _FASTAPI_PARSE_ERROR:
            # JSON that json.loads gave up on without a syntax error (e.g. nested too deep).
            code, message = "invalid_json", "request body could not be parsed as JSON"
        metrics.error(code)
        return error_response(exc.status_code, code, message, headers=getattr(exc, "headers", None))

    @app.exception_handler(PoolBusyError)
    async def on_busy(request: Request, exc: PoolBusyError):
        metrics.error("busy")
        return error_response(
            503, "busy", f"server busy: {exc}; retry shortly", headers={"retry-after": "1"}
        )

    @app.exception_handler(Exception)
    async def on_internal_error(request: Request, exc: Exception):
        route = getattr(request.scope.get("route"), "path", "?")  # a template, never a user id
        log.exception("internal error on %s %s", request.method, route)
        return error_response(500, "internal", "internal server error (see the server log)")

    # ------------------------------------------------------------------ routes

    @app.post(
        PREDICT_PATH,
        response_model=PredictResponse,
        responses=_error_responses(400, 413, 415, 422, 503),
        summary="Suggest the next word or complete the current one",
        tags=["predict"],
        openapi_extra={
            "requestBody": {"content": {"application/json": {"examples": PREDICT_EXAMPLES}}}
        },
    )
    async def predict_next(
        request: Request, body: PredictRequest, pool: Pool, cfg: Settings
    ) -> PredictResponse:
        """Up to ``k`` whole words for the text before the cursor, best first.

        After a space or punctuation: the next word (capitalised at a sentence start).
        Inside a word: completions that keep what was typed. Only the end of a long text is
        used (at most ``max_text_chars`` characters, cut where the predictor reads from).
        """
        started = time.perf_counter()
        text = keep_end(body.text, cfg.max_text_chars)
        # Time spent in the server before this point (a busy event loop) counts as waiting.
        waited = started - getattr(request.state, "arrived", started)
        history = await users.history_for(request, body.user)
        suggestions = await pool.suggest(text, body.k, history, waited=waited, hint=body.hint)
        return PredictResponse(
            suggestions=[
                SuggestionOut(word=s.word, probability=s.probability) for s in suggestions
            ],
            model=pool.model_id,
            elapsed_ms=round((time.perf_counter() - started) * 1000, 3),
        )

    @app.get(
        "/healthz", response_model=HealthResponse, tags=["ops"], summary="The process is alive"
    )
    async def healthz() -> HealthResponse:
        """Always ``{"status": "ok"}`` while the process answers."""
        return HealthResponse(status="ok")

    @app.get(
        "/readyz",
        response_model=ReadyResponse,
        responses=_error_responses(503),
        tags=["ops"],
        summary="The model is loaded and answering",
    )
    async def readyz(pool: Pool) -> ReadyResponse:
        """Runs one suggestion through the predictor pool; 503 if it cannot."""
        started = time.perf_counter()
        await pool.suggest(READY_TEXT, 1)
        return ReadyResponse(
            status="ready",
            model=pool.model_id,
            pool_size=pool.size,
            elapsed_ms=round((time.perf_counter() - started) * 1000, 3),
        )

    @app.get(
        "/v1/model",
        response_model=ModelInfo,
        responses=_error_responses(503),
        tags=["model"],
        summary="The loaded bundle's manifest (public part)",
    )
    async def model_info(bundle: Annotated[Bundle, Depends(get_bundle)]) -> ModelInfo:
        """Format version, architecture and sizes, quantization, files and their checksums,
        and the evaluation metrics recorded in ``manifest.json``."""
        return ModelInfo(id=bundle.bundle_id, **bundle.public_manifest())

    @app.get(
        "/metrics",
        response_class=PlainTextResponse,
        tags=["ops"],
        summary="Prometheus metrics",
        responses={200: {"content": {CONTENT_TYPE: {}}}},
    )
    async def prometheus_metrics() -> Response:
        """Request counts by route template and status, a latency histogram, error counts,
        pool gauges, the process's CPU and memory, in the Prometheus text format 0.0.4."""
        return Response(metrics.render(), media_type=CONTENT_TYPE)

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    async def demo() -> HTMLResponse:
        return HTMLResponse(demo_page)

    mount_web(app, get_bundle)  # /static and /v1/bundle/{file}: suggestions in the browser
    users.mount(app, settings, api_keys)

    # Innermost first: body checks, load shedding (before the body is parsed), API keys (a
    # caller without a key gets 401, never 503), CORS headers (on refusals too, so that a page
    # on another origin can read them), metrics around them, then start-up messages; outermost
    # the user-route guard (Host check without keys, never CORS on /v1/users).
    app.add_middleware(BodyGuard, max_bytes=settings.max_body_bytes, on_error=metrics.error)
    app.add_middleware(ShedLoad, state=app.state, path=PREDICT_PATH, on_error=metrics.error)
    app.add_middleware(ApiKeyGuard, keys=api_keys, on_error=metrics.error)
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["GET", "POST"],
            allow_headers=["content-type"],
            max_age=600,
        )
    app.add_middleware(RequestMetrics, metrics=metrics, routes=app.router.routes)
    app.add_middleware(StartupErrorMessage, state=app.state)
    app.add_middleware(users.UserRoutesGuard, check_host=not api_keys)
    return app
