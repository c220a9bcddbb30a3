"""What operators and monitors read: liveness, readiness, the bundle's manifest, metrics.

- ``GET /healthz``: the process is alive; ``GET /readyz``: a suggestion went through the pool;
- ``GET /v1/model``: the public part of the bundle manifest;
- ``GET /metrics``: Prometheus text format (:mod:`kbd_lm.serve.metrics`).
"""

from __future__ import annotations

import time

from fastapi import APIRouter
from fastapi.responses import PlainTextResponse, Response

from kbd_lm.serve.deps import AppMetrics, LoadedBundle, Pool
from kbd_lm.serve.errors import error_responses
from kbd_lm.serve.metrics import CONTENT_TYPE
from kbd_lm.serve.schemas import HealthResponse, ModelInfo, ReadyResponse

READY_TEXT = "hello "  # what /readyz asks the pool

router = APIRouter()


@router.get("/healthz", response_model=HealthResponse, tags=["ops"], summary="The process is alive")
async def healthz() -> HealthResponse:
    """Always ``{"status": "ok"}`` while the process answers."""
    return HealthResponse(status="ok")


@router.get(
    "/readyz",
    response_model=ReadyResponse,
    responses=error_responses("unavailable", "busy"),
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


@router.get(
    "/v1/model",
    response_model=ModelInfo,
    responses=error_responses("unavailable"),
    tags=["model"],
    summary="The loaded bundle's manifest (public part)",
)
async def model_info(bundle: LoadedBundle) -> ModelInfo:
    """Format version, architecture and sizes, quantization, files and their checksums,
    and the evaluation metrics recorded in ``manifest.json``."""
    return ModelInfo(id=bundle.bundle_id, **bundle.public_manifest())


@router.get(
    "/metrics",
    response_class=PlainTextResponse,
    tags=["ops"],
    summary="Prometheus metrics",
    responses={200: {"content": {CONTENT_TYPE: {}}}},
)
async def prometheus_metrics(metrics: AppMetrics) -> Response:
    """Request counts by route template and status, a latency histogram, error counts,
    pool gauges, the process's CPU and memory, in the Prometheus text format 0.0.4."""
    return Response(metrics.render(), media_type=CONTENT_TYPE)
