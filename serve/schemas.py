"""Request and response bodies of the HTTP API, with the examples shown in the OpenAPI docs.

The error body is :class:`kbd_lm.serve.errors.ErrorResponse`; the bodies of the user routes
are beside them in :mod:`kbd_lm.serve.routes.users`.

The examples are those of the default bundle (GRU 780, 8,000 pieces, ``dynamic``
quantization; docs/results.md); tests check them against the default training preset.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

from kbd_lm.inference.suggestion import KINDS
from kbd_lm.typing.layouts import DEFAULT_LAYOUT

MAX_K = 10
# A user id: an opaque, URL-safe string the client chose (RFC 3986 unreserved characters).
USER_PATTERN = r"^[A-Za-z0-9._~-]{1,128}$"
# The default bundle's id: its name, quantization and the start of its model's sha256.
EXAMPLE_MODEL_ID = "kbd-lm-gru780-v8000-dynamic-3f2a9c01b7de"


def _whole_number(value: Any) -> Any:
    """2.0 -> 2: a JSON number without a fractional part is a JSON Schema integer.

    Anything else is left for the strict ``int`` check (2.5, "3" and true are refused).

    >>> _whole_number(2.0), _whole_number(2.5), _whole_number("3")
    (2, 2.5, '3')
    """
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


PREDICT_EXAMPLES = {
    "next word": {
        "summary": "After a space: the next word",
        "value": {"text": "see you ", "k": 3},
    },
    "completion": {
        "summary": "Inside a word: completions of the partial word",
        "value": {"text": "see you tom", "k": 3},
    },
    "sentence start": {
        "summary": "Empty text: capitalised sentence starters",
        "value": {"text": "", "k": 5},
    },
    "correction": {
        "summary": "Typo correction of the partial word (off unless asked for)",
        "value": {"text": "see you tomorow", "k": 3, "correct": True},
    },
    "correction with taps": {
        "summary": "Typo correction with the touch points of the letters typed",
        "value": {
            "text": "see you tom",
            "k": 3,
            "correct": True,
            "layout": "qwerty",
            # near the centres of t (4.5, 0.5), o (8.5, 0.5) and m (8.0, 2.5) on QWERTY
            "taps": [[4.6, 0.4], [8.5, 0.6], [7.9, 2.5]],
        },
    },
}

# One coordinate of a touch point, in key units (kbd_lm.typing.layouts): finite, at least 0
# (the layout's left and top edges); the right and bottom edges are the layout's, checked by
# the route (kbd_lm.serve.routes.predict.check_correction).
Coordinate = Annotated[float, Field(ge=0, allow_inf_nan=False)]
# One touch point: [x, y].
Tap = Annotated[list[Coordinate], Field(min_length=2, max_length=2)]


class PredictRequest(BaseModel):
    """The text before the cursor and how many suggestions to return.

    Types follow JSON Schema: ``text`` must be a string and ``k`` an integer (``3`` or
    ``3.0``; not ``3.5``, ``"3"`` or ``true``). Other fields are ignored, so that a newer
    client can talk to an older server.
    """

    model_config = ConfigDict(
        strict=True,
        extra="ignore",
        # Say so in the schema (pydantic leaves additionalProperties out for "ignore").
        json_schema_extra={"additionalProperties": True},
    )

    text: str = Field(
        description=(
            "Everything before the cursor. Text ending in a space or punctuation asks for the "
            "next word; text ending inside a word asks for completions of that word (words "
            "longer than the letters typed: the typed word itself is never one). At most "
            "the last `max_text_chars` characters (1,000 by default) are used: a longer text "
            "is cut at its start, at a multiple of 128 characters, which does not change the "
            "suggestions (the model reads at most the last 300)."
        ),
        examples=["see you ", "see you tom"],
    )
    k: Annotated[int, BeforeValidator(_whole_number)] = Field(
        3, ge=1, le=MAX_K, description="How many suggestions (1 to 10).", examples=[3]
    )
    user: str | None = Field(
        None,
        pattern=USER_PATTERN,
        description="Optional user id: the suggestions use that user's history "
        "(see /v1/users). Make ids unguessable, e.g. random UUIDs.",
    )
    hint: Literal["message", "email", "prose"] | None = Field(
        None,
        description="Optional field hint: the kind of text field the user types in (a chat "
        "or SMS box, an e-mail, longer writing). A bundle trained with hints suggests for "
        "that kind of text (GET /v1/model: tokenizer.hints); other bundles ignore it.",
        examples=["message"],
    )
    correct: bool = Field(
        False,
        description="Typo correction: inside a word, also suggest the words the typed letters "
        "may be a mistyping of on the keyboard `layout` (the model's probability times a "
        "touch-typing channel, docs/decoding.md). Off by default: the answer is then exactly "
        "that of a request without these fields. A bundle without `typing.json` does not "
        "correct: `true` is a 422 there.",
    )
    layout: str = Field(
        DEFAULT_LAYOUT,
        max_length=64,
        description="The keyboard layout typed on: one of the bundle's layouts (its "
        "`typing.json`, GET /v1/bundle/typing.json; the default export has qwerty, azerty, "
        "qwertz and dvorak). Another name is a 422 that lists them.",
        examples=["qwerty"],
    )
    taps: list[Tap] | None = Field(
        None,
        description="Optional touch points, with `correct: true` only: one [x, y] per "
        "character of the partial word being typed (the characters after the last space or "
        "punctuation, as the predictor splits the text: none after a space), in key units of "
        "`layout` (a key is 1 x 1, x from the left edge, y from the top of the first letter "
        "row), finite and within the layout. The channel then uses them instead of the key "
        "centres. Never logged or stored.",
        examples=[[[4.6, 0.4], [8.5, 0.6], [7.9, 2.5]]],
    )


class SuggestionOut(BaseModel):
    """One suggested word and its probability under the model (best first in a list), what
    kind of suggestion it is and whether space commits it in place of the typed letters."""

    word: str = Field(examples=["later"])
    probability: float = Field(ge=0, le=1, examples=[0.127])
    kind: Literal[KINDS] = Field(  # "next", "completion", "correction" (Suggestion's kinds)
        description="`next`: the next word (after a space or punctuation); `completion`: a "
        "completion of the typed letters; `correction`: a word the typed letters are likely "
        "a mistyping of (only with `correct: true`).",
        examples=["next"],
    )
    autocorrect: bool = Field(
        description="True on at most one suggestion, the first, with `correct: true`: the "
        "word space commits in place of the typed letters. Always false without correction.",
        examples=[False],
    )


class PredictResponse(BaseModel):
    """Suggestions for one text, the bundle that made them and the server-side time."""

    suggestions: list[SuggestionOut]
    model: str = Field(
        description="Bundle id: name, quantization and model checksum prefix.",
        examples=[EXAMPLE_MODEL_ID],
    )
    elapsed_ms: float = Field(
        description="Time spent answering in the server (ms).", examples=[0.61]
    )

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "suggestions": [
                        {
                            "word": "later",
                            "probability": 0.127,
                            "kind": "next",
                            "autocorrect": False,
                        },
                        {
                            "word": "tomorrow",
                            "probability": 0.088,
                            "kind": "next",
                            "autocorrect": False,
                        },
                        {
                            "word": "soon",
                            "probability": 0.061,
                            "kind": "next",
                            "autocorrect": False,
                        },
                    ],
                    "model": EXAMPLE_MODEL_ID,
                    "elapsed_ms": 0.61,
                }
            ]
        }
    )


class HealthResponse(BaseModel):
    """The process is up."""

    status: str = Field(examples=["ok"])


class ReadyResponse(BaseModel):
    """The bundle is loaded and a suggestion went through the predictor pool."""

    status: str = Field(examples=["ready"])
    model: str = Field(examples=[EXAMPLE_MODEL_ID])
    pool_size: int = Field(examples=[2])
    elapsed_ms: float = Field(examples=[0.58])


class ModelInfo(BaseModel):
    """The public part of the bundle manifest, plus the bundle id.

    Keys come from ``manifest.json`` (bundle format 4, docs/bundle.md): ``name``,
    ``format_version``, ``created``, ``quantization``, ``model`` (architecture and sizes),
    ``tokenizer``, ``files`` (bytes, sha256, ``shipped`` and ``role`` per file),
    ``shipped_files``, ``total_bytes``, ``min_runtime_version``, ``decoding`` (the search's
    constants), ``metrics``, ``training`` and, when the bundle has them, ``ngram`` and
    ``blocklist``. The example shows a part of them.
    """

    model_config = ConfigDict(
        extra="allow",
        json_schema_extra={
            "examples": [
                {
                    "id": EXAMPLE_MODEL_ID,
                    "name": "kbd-lm-gru780-v8000",
                    "format_version": 4,
                    "quantization": "dynamic",
                    "model": {
                        "vocab_size": 8000,
                        "embed_dim": 96,
                        "units": 780,
                        "cell": "gru",
                        "parameters": 1170488,
                    },
                    "files": {
                        "model.tflite": {
                            "bytes": 1226240,
                            "sha256": "3f2a9c01b7de…",
                            "shipped": True,
                            "role": "model",
                        },
                        "tokenizer.model": {
                            "bytes": 137189,
                            "sha256": "9be04d51a7c2…",
                            "shipped": True,
                            "role": "tokenizer",
                        },
                        "lexicon.txt.gz": {
                            "bytes": 127998,
                            "sha256": "5d0e77a1c3b9…",
                            "shipped": True,
                            "role": "lexicon",
                        },
                        "blocklist.txt": {
                            "bytes": 3964,
                            "sha256": "a41c09e2f6d8…",
                            "shipped": True,
                            "role": "blocklist",
                        },
                        "typing.json": {
                            "bytes": 1090,
                            "sha256": "c2e81f07a9b4…",
                            "shipped": True,
                            "role": "typing",
                        },
                        "tokenizer.json": {
                            "bytes": 292512,
                            "sha256": "77b3e0c5d1a2…",
                            "shipped": False,
                            "role": "tokenizer_json",
                        },
                    },
                    "shipped_files": [
                        "model.tflite",
                        "tokenizer.model",
                        "lexicon.txt.gz",
                        "blocklist.txt",
                        "typing.json",
                    ],
                    "total_bytes": 1496481,
                    "decoding": {
                        "beam_width": 8,
                        "batch_sizes": [1, 2, 4, 8],
                        "max_context_chars": 300,
                        "context_stride": 128,
                        "max_context_tokens": 160,
                        "short_context_tokens": 48,
                        "max_word_pieces": 8,
                        "min_ratio": 0.0001,
                        "covering_width": 4,
                        "min_boundary_prob": 1e-30,
                        "context_cache": 128,
                        "row_cache": 64,
                        "field_hints": ["message", "email", "prose"],
                    },
                    "metrics": {"words": 5008, "top1": 0.216, "top3": 0.352, "ksr": 0.556},
                }
            ]
        },
    )

    id: str = Field(description="Bundle id, as in prediction responses.")
