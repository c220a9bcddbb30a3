"""Request and response bodies of the HTTP API, with the examples shown in the OpenAPI docs."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

MAX_K = 10

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
}


class PredictRequest(BaseModel):
    """The text before the cursor and how many suggestions to return.

    Types are strict: ``text`` must be a JSON string and ``k`` a JSON integer.
    """

    model_config = ConfigDict(strict=True)

    text: str = Field(
        description=(
            "Everything before the cursor. Text ending in a space or punctuation asks for the "
            "next word; text ending inside a word asks for completions of that word. Only the "
            "last `max_text_chars` characters (1,000 by default) are used: a longer text is "
            "cut at its start, which never changes the suggestions of a keyboard model."
        ),
        examples=["see you ", "see you tom"],
    )
    k: int = Field(3, ge=1, le=MAX_K, description="How many suggestions (1 to 10).", examples=[3])
    user: str | None = Field(
        None,
        pattern=r"^[A-Za-z0-9._~-]{1,128}$",
        description="Optional user id: the suggestions use that user's history "
        "(see /v1/users). Make ids unguessable, e.g. random UUIDs.",
    )


class SuggestionOut(BaseModel):
    """One suggested word and its probability under the model (best first in a list)."""

    word: str = Field(examples=["tomorrow"])
    probability: float = Field(ge=0, le=1, examples=[0.214])


class PredictResponse(BaseModel):
    """Suggestions for one text, the bundle that made them and the server-side time."""

    suggestions: list[SuggestionOut]
    model: str = Field(
        description="Bundle id: name, quantization and model checksum prefix.",
        examples=["kbd-lm-cifg512-v16000-dynamic-3f2a9c01b7de"],
    )
    elapsed_ms: float = Field(
        description="Time spent answering in the server (ms).", examples=[1.84]
    )

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "suggestions": [
                        {"word": "tomorrow", "probability": 0.214},
                        {"word": "later", "probability": 0.153},
                        {"word": "soon", "probability": 0.097},
                    ],
                    "model": "kbd-lm-cifg512-v16000-dynamic-3f2a9c01b7de",
                    "elapsed_ms": 1.84,
                }
            ]
        }
    )


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


class HealthResponse(BaseModel):
    """The process is up."""

    status: str = Field(examples=["ok"])


class ReadyResponse(BaseModel):
    """The bundle is loaded and a suggestion went through the predictor pool."""

    status: str = Field(examples=["ready"])
    model: str = Field(examples=["kbd-lm-cifg512-v16000-dynamic-3f2a9c01b7de"])
    pool_size: int = Field(examples=[2])
    elapsed_ms: float = Field(examples=[0.9])


class ModelInfo(BaseModel):
    """The public part of the bundle manifest, plus the bundle id.

    Keys come from ``manifest.json``: ``name``, ``format_version``, ``created``,
    ``quantization``, ``model`` (architecture and sizes), ``tokenizer``, ``files`` (bytes and
    sha256 per file), ``min_runtime_version``, ``metrics``, ``training``, ``total_bytes``.
    """

    model_config = ConfigDict(
        extra="allow",
        json_schema_extra={
            "examples": [
                {
                    "id": "kbd-lm-cifg512-v16000-dynamic-3f2a9c01b7de",
                    "name": "kbd-lm-cifg512-v16000",
                    "format_version": 1,
                    "quantization": "dynamic",
                    "model": {"cell": "cifg", "units": 512, "embed_dim": 128, "vocab_size": 16000},
                    "files": {"model.tflite": {"bytes": 2870000, "sha256": "3f2a9c01b7de…"}},
                    "total_bytes": 3350000,
                    "metrics": {"top3_accuracy": 0.41},
                }
            ]
        },
    )

    id: str = Field(description="Bundle id, as in prediction responses.")
