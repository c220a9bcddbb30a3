"""The request schema and the server agree; the documented examples are the default bundle's."""

from __future__ import annotations

import json
import re

import pytest
from jsonschema import Draft202012Validator

from kbd_lm.common.config import load_config
from kbd_lm.export.convert import ExportConfig
from kbd_lm.inference.bundle import (
    FILE_TABLE,
    FORMAT_VERSION,
    Manifest,
    ModelSpec,
    TokenizerSpec,
    decoding_for,
)
from kbd_lm.serve.schemas import (
    EXAMPLE_MODEL_ID,
    ModelInfo,
    PredictRequest,
    PredictResponse,
    ReadyResponse,
)
from kbd_lm.training.loop import TrainConfig

JSON = {"content-type": "application/json"}
# Raw bodies, so that 2.0 stays "2.0" on the wire.
BODIES = [
    b'{"text": "see you ", "k": 2}',
    b'{"text": "see you ", "k": 2.0}',
    b'{"text": "see you ", "k": 1e1}',
    b'{"text": "see you ", "k": 2.5}',
    b'{"text": "see you ", "k": 10.0000001}',
    b'{"text": "see you ", "k": "2"}',
    b'{"text": "see you ", "k": true}',
    b'{"text": "see you ", "k": 0.0}',
    b'{"text": "see you ", "k": 11.0}',
    b'{"text": "see you ", "k": null}',
    b'{"text": "see you "}',
    b'{"text": "see you ", "k": 2, "locale": "en-GB", "app": {"version": 7}}',
    b'{"text": 5}',
    b'{"k": 2}',
    # Typo correction: the schema decides these (the taps' count and right and bottom bounds
    # depend on the text and the layout: tests/serve/test_correction.py).
    b'{"text": "see you tom", "correct": true}',
    b'{"text": "see you tom", "correct": "true"}',
    b'{"text": "see you tom", "correct": true, "taps": [[4.5, 0.5], [8.5, 0.5], [8, 2.5]]}',
    b'{"text": "see you tom", "correct": true, "taps": [[4.5, 0.5], [8.5, 0.5], [8, -2.5]]}',
    b'{"text": "see you tom", "correct": true, "taps": [[4.5, 0.5], [8.5, 0.5], [8]]}',
    b'{"text": "see you tom", "correct": true, "taps": null}',
    b'{"text": "see you ", "correct": false, "layout": "qwerty"}',
]


@pytest.fixture(scope="module")
def request_schema() -> Draft202012Validator:
    # OpenAPI 3.1 schemas are JSON Schema 2020-12; this one holds no $ref.
    return Draft202012Validator(PredictRequest.model_json_schema())


@pytest.mark.parametrize("body", BODIES, ids=[b.decode() for b in BODIES])
def test_the_server_accepts_exactly_what_the_schema_allows(client, request_schema, body):
    valid = request_schema.is_valid(json.loads(body))
    r = client.post("/v1/predict-next", content=body, headers=JSON)
    assert r.status_code == (200 if valid else 422), r.text
    if valid:
        k = json.loads(body).get("k", 3)
        assert 1 <= len(r.json()["suggestions"]) <= k


def test_whole_number_k_gives_the_same_answer(client):
    as_int = client.post("/v1/predict-next", content=b'{"text": "see you ", "k": 2}', headers=JSON)
    as_float = client.post(
        "/v1/predict-next", content=b'{"text": "see you ", "k": 2.0}', headers=JSON
    )
    assert as_float.json()["suggestions"] == as_int.json()["suggestions"]
    assert len(as_int.json()["suggestions"]) == 2


def test_schema_says_integer_k_and_other_fields_ignored(client):
    schema = client.get("/openapi.json").json()["components"]["schemas"]["PredictRequest"]
    assert schema["properties"]["k"]["type"] == "integer"
    assert schema["additionalProperties"] is True
    assert "Other fields are ignored" in schema["description"]
    assert schema["required"] == ["text"]


def manifest_json_decoding(decoding) -> dict:
    """``decoding`` as manifest.json holds it (what GET /v1/model shows), through the writer."""
    manifest = Manifest(
        name="x",
        created="",
        quantization="dynamic",
        model=ModelSpec("gru", 1, 1, 1, 1, 1),
        tokenizer=TokenizerSpec("sentencepiece-unigram", 1, {}),
        ops=(),
        min_runtime_version="",
        decoding=decoding,
    )
    return json.loads(json.dumps(manifest.to_json()["decoding"]))


def test_examples_describe_the_default_bundle():
    """The id and architecture shown in the docs are those of the default training preset."""
    preset = load_config(TrainConfig, "train", "default")
    name = f"kbd-lm-{preset.cell}{preset.units}-v{preset.vocab_size}"
    assert re.fullmatch(rf"{name}-dynamic-[0-9a-f]{{12}}", EXAMPLE_MODEL_ID)
    (info,) = ModelInfo.model_config["json_schema_extra"]["examples"]
    assert info["name"] == name and info["id"] == EXAMPLE_MODEL_ID
    model = info["model"]
    assert (model["cell"], model["units"], model["vocab_size"], model["embed_dim"]) == (
        preset.cell,
        preset.units,
        preset.vocab_size,
        preset.embed_dim,
    )
    files = info["files"]
    assert info["total_bytes"] == sum(files[n]["bytes"] for n in info["shipped_files"])
    # The manifest as export writes it now: every file with the role and flag of the file
    # table, and the decoding section of the default export's fixed batches.
    assert info["format_version"] == FORMAT_VERSION
    for name, entry in files.items():
        assert (entry["role"], entry["shipped"]) == (
            FILE_TABLE[name].role,
            FILE_TABLE[name].shipped,
        )
    assert info["shipped_files"] == [n for n, e in files.items() if e["shipped"]]
    defaults = load_config(ExportConfig, "export", "default")
    assert info["decoding"] == manifest_json_decoding(decoding_for(defaults.fixed_batches))
    ModelInfo.model_validate(info)
    for example in PredictResponse.model_config["json_schema_extra"]["examples"]:
        PredictResponse.model_validate(example)
        assert example["model"] == EXAMPLE_MODEL_ID
    for cls in (PredictResponse, ReadyResponse):
        assert cls.model_json_schema()["properties"]["model"]["examples"] == [EXAMPLE_MODEL_ID]
