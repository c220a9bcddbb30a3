"""What routes get from the app (FastAPI dependencies), each overridable in tests.

``create_app`` puts the settings, the metrics and the history store on ``app.state``; the
lifespan adds the bundle and the predictor pool. Routes never read ``app.state`` themselves:
they declare what they need (``pool: Pool``) and a test swaps it for its own,

>>> app.dependency_overrides[get_pool] = lambda: my_pool  # doctest: +SKIP

which every route using that dependency then gets.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from starlette.exceptions import HTTPException as StarletteHTTPException

from kbd_lm.inference.bundle import Bundle
from kbd_lm.serve.history_store import HistoryStore
from kbd_lm.serve.metrics import Metrics
from kbd_lm.serve.pool import PredictorPool
from kbd_lm.serve.settings import ServeSettings
from kbd_lm.typing.spec import TypingSpec


async def get_settings(request: Request) -> ServeSettings:
    """The settings the app was created with."""
    return request.app.state.settings


async def get_metrics(request: Request) -> Metrics:
    """The app's Prometheus series."""
    return request.app.state.metrics


async def get_bundle(request: Request) -> Bundle:
    """The loaded bundle; 503 ``unavailable`` before start-up completes."""
    bundle = getattr(request.app.state, "bundle", None)
    if bundle is None:
        raise StarletteHTTPException(503, "the model is not loaded")
    return bundle


async def get_pool(request: Request) -> PredictorPool:
    """The app's predictor pool; 503 ``unavailable`` before start-up or after shutdown."""
    pool = getattr(request.app.state, "pool", None)
    if pool is None:
        raise StarletteHTTPException(503, "the model is not loaded")
    return pool


async def get_typing(request: Request) -> TypingSpec | None:
    """The loaded bundle's typing spec (layouts, channel: ``typing.json``); None for a bundle
    that does not correct. 503 ``unavailable`` before start-up completes."""
    if getattr(request.app.state, "bundle", None) is None:
        raise StarletteHTTPException(503, "the model is not loaded")
    return request.app.state.typing


async def get_store(request: Request) -> HistoryStore | None:
    """The users' history store, or None when user histories are off on this server."""
    return getattr(request.app.state, "history_store", None)


def store_or_403(store: HistoryStore | None) -> HistoryStore:
    """``store``; 403 when histories are off (None)."""
    if store is None:
        raise StarletteHTTPException(403, "user histories are off on this server")
    return store


async def require_store(store: Annotated[HistoryStore | None, Depends(get_store)]) -> HistoryStore:
    """The history store for the ``/v1/users`` routes; 403 when histories are off."""
    return store_or_403(store)


Settings = Annotated[ServeSettings, Depends(get_settings)]
AppMetrics = Annotated[Metrics, Depends(get_metrics)]
LoadedBundle = Annotated[Bundle, Depends(get_bundle)]
Pool = Annotated[PredictorPool, Depends(get_pool)]
Typing = Annotated[TypingSpec | None, Depends(get_typing)]
MaybeStore = Annotated[HistoryStore | None, Depends(get_store)]
Store = Annotated[HistoryStore, Depends(require_store)]
