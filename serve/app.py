"""The FastAPI app: ``create_app(bundle_path, settings)``.

Routes (one router per concern, :mod:`kbd_lm.serve.routes`):

- ``POST /v1/predict-next``: ``{"text": "see you ", "k": 3}`` -> suggestions, bundle id, time;
- ``GET /healthz``: the process is alive; ``GET /readyz``: a suggestion went through the pool;
- ``GET /v1/model``: the public part of the bundle manifest;
- ``GET /metrics``: Prometheus text format; ``GET /``: the demo page;
- ``GET /static/...``, ``/v1/bundle/{file}``: suggestions computed in the browser;
- ``/v1/users/{user}/...``: personal histories (loopback or API keys only);
- ``GET /docs``, ``/redoc``, ``/openapi.json``: the API documentation.

The :func:`lifespan` loads and verifies the bundle once and builds a :class:`PredictorPool`
of ``settings.predictors`` predictors; routes get the pool, the bundle, the settings, the
metrics and the history store through the dependencies of :mod:`kbd_lm.serve.deps` (tests
override them, e.g. ``app.dependency_overrides[get_pool]``). Errors are JSON bodies
(:mod:`kbd_lm.serve.errors`). A missing or corrupt bundle makes start-up fail with the
:class:`~kbd_lm.inference.bundle.BundleError` message.

Run it with ``kbd-lm serve --bundle dist/bundle``, or with uvicorn's factory mode:
``KBD_LM_BUNDLE=dist/bundle uvicorn --factory kbd_lm.serve.app:create_app``.
"""

from __future__ import annotations

import logging
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import APIRouter, FastAPI
from fastapi.middleware.cors import CORSMiddleware
from starlette.routing import BaseRoute

from kbd_lm.inference.bundle import Bundle, BundleError
from kbd_lm.inference.native_engine import NativeLibraryError
from kbd_lm.serve import openapi, users
from kbd_lm.serve.access_log import AccessLog
from kbd_lm.serve.admission import Admission
from kbd_lm.serve.auth import ApiKeyGuard, parse_keys
from kbd_lm.serve.deps import (
    get_bundle,
    get_metrics,
    get_pool,
    get_settings,
    get_store,
    get_typing,
)
from kbd_lm.serve.errors import add_error_handlers
from kbd_lm.serve.metrics import Metrics
from kbd_lm.serve.middleware import BodyGuard, RequestMetrics, StartupErrorMessage
from kbd_lm.serve.pool import PredictorPool
from kbd_lm.serve.routes import ops, predict, web
from kbd_lm.serve.routes import users as user_routes
from kbd_lm.serve.settings import ServeSettings

# The dependencies, importable from here too: the keys of app.dependency_overrides.
__all__ = [
    "create_app",
    "get_bundle",
    "get_metrics",
    "get_pool",
    "get_settings",
    "get_store",
    "get_typing",
]

log = logging.getLogger(__name__)


@asynccontextmanager
async def lifespan(app: FastAPI):
    """Load the bundle and its predictor pool once, before the first request; at shutdown
    drop the pool and close the history store and the metrics."""
    settings: ServeSettings = app.state.settings
    metrics: Metrics = app.state.metrics
    app.state.startup_error = None
    try:
        bundle = Bundle.load(settings.bundle)
        pool = PredictorPool.load(
            bundle,
            size=settings.predictors,
            executor=settings.runs_on,
            runtime=settings.runtime,
            beam_width=settings.beam_width,
            num_threads=settings.num_threads,
            queue_wait=settings.queue_wait_ms / 1000,
            engine=settings.engine,
        )
    except BundleError as err:
        # The server logs this line instead of a traceback (see StartupErrorMessage).
        app.state.startup_error = f"cannot serve the bundle: {err}"
        raise
    except NativeLibraryError as err:  # engine "native" without libkbd_lm.so: no fallback
        app.state.startup_error = f"cannot start the native engine: {err}"
        raise
    # The layouts that requests may name (read once; the predictors read the same file).
    app.state.typing = bundle.typing()
    app.state.bundle, app.state.pool = bundle, pool
    metrics.watch_pool(pool)
    log.info("serving %s from %s with %d predictor(s)", pool.model_id, bundle.path, pool.size)
    try:
        yield
    finally:
        app.state.pool = None
        if app.state.history_store is not None:
            app.state.history_store.close()
        metrics.close()


def _description(settings: ServeSettings) -> str:
    """The API's description in its OpenAPI document (names this server's text limit)."""
    return (
        "Suggestions from the same TFLite bundle that phones run. Send the text before the "
        "cursor; get whole words, best first. At most the last `max_text_chars` characters "
        f"of a text are used ({settings.max_text_chars:,} on this server). Errors are JSON "
        '`{"error": code, "message": text}` with a 4xx status for any bad input.'
    )


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
    api_keys = parse_keys(settings.api_keys)
    app = FastAPI(
        title="kbd-lm",
        version="1",
        summary="Next-word prediction for mobile keyboards.",
        description=_description(settings),
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.metrics = Metrics(process=True)  # one server process: its CPU and memory
    app.state.pool = None
    app.state.typing = None  # the bundle's typing spec, once the lifespan loaded it
    app.state.user_host_check = not api_keys
    # Before any route: a request for a user route that is off still gets an access log
    # line, and its path holds a user id (and, for a forgotten word, the word).
    users.install_log_filter()
    app.state.history_store = users.open_store(settings, api_keys)
    add_error_handlers(app)
    openapi.install(app, api_keys=bool(api_keys))  # every route's errors in its OpenAPI document

    routers = [predict.router, ops.router, web.router]
    if app.state.history_store is not None:
        routers.append(user_routes.router)
    for router in routers:
        app.include_router(router)
    web.mount_static(app)
    stack_middleware(app, settings, api_keys, route_lists(app, routers))
    return app


def route_lists(app: FastAPI, routers: list[APIRouter]) -> list[list[BaseRoute]]:
    """The lists that hold every route of ``app`` with its template, for metrics labels.

    ``app.router.routes`` (the docs, ``/static``, routes added to the app later) and the
    ``routes`` of each included router: since FastAPI 0.165 an included router is one entry of
    ``app.router.routes`` without a template. Live lists: routes added later count too.
    """
    return [app.router.routes, *(router.routes for router in routers)]


def stack_middleware(
    app: FastAPI, settings: ServeSettings, api_keys: list[str], routes: list[list[BaseRoute]]
) -> None:
    """Stack the plain ASGI middleware around the app's routes (``routes``: :func:`route_lists`).

    Innermost first: body checks; API keys (401); CORS headers (on every answer of a page's
    request); metrics per route and the access log; start-up messages; the user-route guard
    (Host check without keys, never CORS on /v1/users); outermost admission (a prediction the
    server cannot answer in time is refused before any of the others, the body's parsing,
    validation or routing spends anything on it: :mod:`kbd_lm.serve.admission`; it leaves a
    request without a valid key to the key check and gives its refusals their CORS headers).
    """
    metrics = app.state.metrics
    app.add_middleware(BodyGuard, max_bytes=settings.max_body_bytes, on_error=metrics.error)
    app.add_middleware(ApiKeyGuard, keys=api_keys, on_error=metrics.error)
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["GET", "POST"],
            allow_headers=["content-type"],
            max_age=600,
        )
    app.add_middleware(RequestMetrics, metrics=metrics, routes=routes)
    if settings.access_log:
        app.add_middleware(AccessLog)
    app.add_middleware(StartupErrorMessage, state=app.state)
    app.add_middleware(users.UserRoutesGuard, check_host=not api_keys, routes=routes)
    app.add_middleware(
        Admission,
        state=app.state,
        path=predict.PREDICT_PATH,
        on_refused=lambda: metrics.error("busy"),
        keys=api_keys,
        cors_origins=settings.cors_origins,
    )
