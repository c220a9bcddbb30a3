"""``POST /v1/predict-next``: ``{"text": "see you ", "k": 3}`` -> suggestions, bundle id, time."""

from __future__ import annotations

import time

from fastapi import APIRouter, Request

from kbd_lm.inference.predictor import keep_end
from kbd_lm.serve.deps import MaybeStore, Pool, Settings
from kbd_lm.serve.errors import error_responses
from kbd_lm.serve.schemas import PREDICT_EXAMPLES, PredictRequest, PredictResponse, SuggestionOut
from kbd_lm.serve.users import history_for

PREDICT_PATH = "/v1/predict-next"

router = APIRouter()


@router.post(
    PREDICT_PATH,
    response_model=PredictResponse,
    responses=error_responses("http_403", "busy", "unavailable"),
    summary="Suggest the next word or complete the current one",
    tags=["predict"],
    openapi_extra={
        "requestBody": {"content": {"application/json": {"examples": PREDICT_EXAMPLES}}}
    },
)
async def predict_next(
    request: Request, body: PredictRequest, pool: Pool, cfg: Settings, store: MaybeStore
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
    history = await history_for(request, body.user, store)
    suggestions = await pool.suggest(text, body.k, history, waited=waited, hint=body.hint)
    return PredictResponse(
        suggestions=[SuggestionOut(word=s.word, probability=s.probability) for s in suggestions],
        model=pool.model_id,
        elapsed_ms=round((time.perf_counter() - started) * 1000, 3),
    )
