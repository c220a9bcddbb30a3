"""``POST /v1/predict-next``: ``{"text": "see you ", "k": 3}`` -> suggestions, bundle id, time.

With ``"correct": true`` the partial word is also corrected on the keyboard ``layout``, with
the touch points ``taps`` when given (:meth:`kbd_lm.inference.predictor.Predictor.suggest`);
:func:`check_correction` refuses what the predictor could not read with a 422.
"""

from __future__ import annotations

import time

from fastapi import APIRouter, Request
from fastapi.exceptions import RequestValidationError

from kbd_lm.inference.decoding import DecodingSpec
from kbd_lm.inference.predictor import keep_end, split_text
from kbd_lm.serve.deps import LoadedBundle, MaybeStore, Pool, Settings, Typing
from kbd_lm.serve.errors import error_responses
from kbd_lm.serve.schemas import PREDICT_EXAMPLES, PredictRequest, PredictResponse, SuggestionOut
from kbd_lm.serve.users import history_for
from kbd_lm.typing.spec import TypingSpec

PREDICT_PATH = "/v1/predict-next"

router = APIRouter()


def _invalid(field: str, kind: str, message: str, *where: int) -> RequestValidationError:
    """A 422 ``invalid_request`` for ``body.field`` (and its indices ``where``), in the same
    form as pydantic's (:func:`kbd_lm.serve.errors.on_validation_error`)."""
    return RequestValidationError([{"loc": ("body", field, *where), "msg": message, "type": kind}])


def check_correction(
    body: PredictRequest, text: str, decoding: DecodingSpec, typing: TypingSpec | None
) -> None:
    """Raise a 422 for correction fields the predictor cannot use; return None if they are fine.

    ``text``: the text the predictor gets (after ``keep_end``); ``decoding``: the bundle's
    (the predictor splits the partial word with it); ``typing``: the bundle's typing spec, or
    None for a bundle that does not correct. The messages never quote the text or the taps.

    >>> body = PredictRequest(text="see you tom", correct=True, taps=[[4.5, 0.5]])
    >>> try:
    ...     check_correction(body, body.text, DecodingSpec(), TypingSpec())
    ... except RequestValidationError as err:
    ...     print(err.errors()[0]["msg"])
    1 tap(s) for a partial word of 3 characters: send one per character typed after the last space or punctuation (none after one)
    """  # noqa: E501 - the message is one line
    if body.taps is not None and not body.correct:
        raise _invalid("taps", "taps_without_correct", 'taps are read only with "correct": true')
    if typing is None:
        if body.correct:
            raise _invalid(
                "correct",
                "no_typing",
                "this bundle has no typing.json, so it does not correct: send "
                '"correct": false or leave it out',
            )
        return  # the layout is not read
    names = [layout.name for layout in typing.layouts]
    if body.layout not in names:
        raise _invalid(
            "layout",
            "unknown_layout",
            f"not a layout of this bundle: use one of {', '.join(names)}",
        )
    if body.taps is None:
        return
    _, partial = split_text(text, decoding)
    if len(body.taps) != len(partial):
        raise _invalid(
            "taps",
            "taps_count",
            f"{len(body.taps)} tap(s) for a partial word of {len(partial)} characters: send one "
            "per character typed after the last space or punctuation (none after one)",
        )
    layout = typing.layout(body.layout)
    for i, (x, y) in enumerate(body.taps):  # (finite and at least 0: PredictRequest's Tap)
        if x > layout.width or y > layout.height:
            raise _invalid(
                "taps",
                "tap_outside_layout",
                f"tap {i} is outside the {layout.name} layout: x must be in 0..{layout.width:g} "
                f"and y in 0..{layout.height:g} (key units)",
                i,
            )


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
    request: Request,
    body: PredictRequest,
    pool: Pool,
    cfg: Settings,
    store: MaybeStore,
    bundle: LoadedBundle,
    typing: Typing,
) -> PredictResponse:
    """Up to ``k`` whole words for the text before the cursor, best first.

    After a space or punctuation: the next word (capitalised at a sentence start).
    Inside a word: completions that keep what was typed, and with ``correct`` the words the
    typed letters may be a mistyping of. Only the end of a long text is used (at most
    ``max_text_chars`` characters, cut where the predictor reads from).
    """
    started = time.perf_counter()
    text = keep_end(body.text, cfg.max_text_chars)
    check_correction(body, text, bundle.manifest.decoding, typing)
    # Time spent in the server before this point (a busy event loop) counts as waiting.
    waited = started - getattr(request.state, "arrived", started)
    history = await history_for(request, body.user, store)
    taps = None if body.taps is None else [(x, y) for x, y in body.taps]
    suggestions = await pool.suggest(
        text,
        body.k,
        history,
        waited=waited,
        hint=body.hint,
        correct=body.correct,
        layout=body.layout,
        taps=taps,
    )
    return PredictResponse(
        suggestions=[
            SuggestionOut(
                word=s.word, probability=s.probability, kind=s.kind, autocorrect=s.autocorrect
            )
            for s in suggestions
        ],
        model=pool.model_id,
        elapsed_ms=round((time.perf_counter() - started) * 1000, 3),
    )
