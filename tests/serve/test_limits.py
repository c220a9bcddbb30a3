"""Bad requests: each gives the right 4xx status and a JSON body with a clear message."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from kbd_lm.serve.app import create_app

JSON = {"content-type": "application/json"}

# (name, raw body, headers, status, error code, words the message must contain)
BAD_BODIES = [
    ("k zero", b'{"text": "hi ", "k": 0}', JSON, 422, "invalid_request", "k: Input should be"),
    ("k too big", b'{"text": "hi ", "k": 11}', JSON, 422, "invalid_request", "less than or equal"),
    ("k a string", b'{"text": "hi ", "k": "3"}', JSON, 422, "invalid_request", "valid integer"),
    ("k a float", b'{"text": "hi ", "k": 2.5}', JSON, 422, "invalid_request", "valid integer"),
    ("k a bool", b'{"text": "hi ", "k": true}', JSON, 422, "invalid_request", "valid integer"),
    ("k null", b'{"text": "hi ", "k": null}', JSON, 422, "invalid_request", "k:"),
    ("text a number", b'{"text": 5}', JSON, 422, "invalid_request", "text: Input should be"),
    ("text null", b'{"text": null}', JSON, 422, "invalid_request", "valid string"),
    ("text missing", b'{"k": 3}', JSON, 422, "invalid_request", "text: Field required"),
    ("a list", b'["hi"]', JSON, 422, "invalid_request", "valid dictionary"),
    ("a string", b'"hi"', JSON, 422, "invalid_request", "valid dictionary"),
    ("invalid JSON", b'{"text": "hi', JSON, 400, "invalid_json", "not valid JSON"),
    ("nested too deep", b"[" * 10_000, JSON, 400, "invalid_json", "parsed as JSON"),
    ("trailing comma", b'{"text": "hi",}', JSON, 400, "invalid_json", "not valid JSON"),
    ("invalid UTF-8", b'{"text": "caf\xe9 "}', JSON, 400, "invalid_utf8", "not valid UTF-8"),
    ("empty body", b"", JSON, 400, "missing_body", "JSON object"),
    ("no content type", b'{"text": "hi"}', {}, 415, "unsupported_media_type", "application/json"),
    (
        "form",
        b"text=hi",
        {"content-type": "application/x-www-form-urlencoded"},
        415,
        "unsupported_media_type",
        "Content-Type",
    ),
]


@pytest.mark.parametrize(
    ("body", "headers", "status", "code", "words"),
    [case[1:] for case in BAD_BODIES],
    ids=[c[0] for c in BAD_BODIES],
)
def test_bad_body(client, body, headers, status, code, words):
    r = client.post("/v1/predict-next", content=body, headers=headers)
    assert r.status_code == status, r.text
    assert r.headers["content-type"] == "application/json"
    err = r.json()
    assert err["error"] == code
    assert words in err["message"]


def test_body_over_the_limit_by_content_length(client):
    body = b'{"text": "' + b"a" * 20_000 + b'"}'
    r = client.post("/v1/predict-next", content=body, headers=JSON)
    assert r.status_code == 413
    assert r.json() == {
        "error": "body_too_large",
        "message": f"request body is {len(body)} bytes; the limit is 16384",
    }


def test_body_over_the_limit_without_content_length(client):
    """A chunked body has no Content-Length: the bytes actually received are counted."""

    def chunks():
        yield b'{"text": "'
        for _ in range(40):
            yield b"a" * 1000
        yield b'"}'

    r = client.post("/v1/predict-next", content=chunks(), headers=JSON)
    assert "content-length" not in r.request.headers
    assert r.status_code == 413
    assert r.json()["error"] == "body_too_large"


def test_limits_come_from_settings(settings):
    """max_body_bytes and max_text_chars are settings (KBD_LM_MAX_BODY_BYTES…)."""
    small = settings.model_copy(update={"max_body_bytes": 100, "max_text_chars": 5})
    with TestClient(create_app(settings=small)) as c:
        assert c.post("/v1/predict-next", json={"text": "x" * 200}).status_code == 413
        a = c.post("/v1/predict-next", json={"text": "hello there see you "}).json()
        b = c.post("/v1/predict-next", json={"text": "you "}).json()
        assert a["suggestions"] == b["suggestions"]  # only the last 5 characters count


@pytest.mark.parametrize(
    ("method", "path", "status", "code"),
    [
        ("GET", "/v1/predict-next", 405, "method_not_allowed"),
        ("POST", "/healthz", 405, "method_not_allowed"),
        ("GET", "/v2/predict", 404, "not_found"),
    ],
)
def test_wrong_route_or_method(client, method, path, status, code):
    r = client.request(method, path)
    assert r.status_code == status
    assert r.json()["error"] == code and r.json()["message"]


def test_errors_are_counted_by_code(client, scrape):
    client.post("/v1/predict-next", content=b"{", headers=JSON)
    client.post("/v1/predict-next", content=b'{"text": "\xff"}', headers=JSON)
    metrics = scrape(client)
    assert metrics.value("kbd_lm_errors_total", code="invalid_json") == 1
    assert metrics.value("kbd_lm_errors_total", code="invalid_utf8") == 1
