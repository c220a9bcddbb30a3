"""CORS: off by default; ``KBD_LM_CORS_ORIGINS`` lets pages on the listed origins call the API."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from pydantic import ValidationError

from kbd_lm.serve.__main__ import parse_args
from kbd_lm.serve.app import create_app
from kbd_lm.serve.settings import ServeSettings, load_settings

PAGE = "https://keyboard.example.com"
PREFLIGHT = {
    "origin": PAGE,
    "access-control-request-method": "POST",
    "access-control-request-headers": "content-type",
}


def test_off_by_default(client):
    r = client.post("/v1/predict-next", json={"text": "see you "}, headers={"origin": PAGE})
    assert r.status_code == 200  # a server-to-server call with an Origin still works
    assert "access-control-allow-origin" not in r.headers
    r = client.options("/v1/predict-next", headers=PREFLIGHT)
    assert r.status_code == 405 and "access-control-allow-origin" not in r.headers


def test_listed_origins_from_the_environment(monkeypatch, settings, scrape):
    monkeypatch.setenv("KBD_LM_CORS_ORIGINS", f"{PAGE}, http://localhost:3000")
    origins = ServeSettings().cors_origins
    assert origins == [PAGE, "http://localhost:3000"]
    app = create_app(settings=settings.model_copy(update={"cors_origins": origins}))
    with TestClient(app) as client:
        r = client.options("/v1/predict-next", headers=PREFLIGHT)
        assert r.status_code == 200
        assert r.headers["access-control-allow-origin"] == PAGE
        assert "POST" in r.headers["access-control-allow-methods"]
        assert "content-type" in r.headers["access-control-allow-headers"].lower()

        r = client.post("/v1/predict-next", json={"text": "see you "}, headers={"origin": PAGE})
        assert r.status_code == 200 and r.headers["access-control-allow-origin"] == PAGE
        assert r.json()["suggestions"]
        # Refusals carry the header too, so that the page can read the error message.
        r = client.post("/v1/predict-next", content=b"{", headers={"origin": PAGE})
        assert r.status_code == 415 and r.headers["access-control-allow-origin"] == PAGE

        other = {**PREFLIGHT, "origin": "https://elsewhere.example"}
        r = client.options("/v1/predict-next", headers=other)
        assert r.status_code == 400 and "access-control-allow-origin" not in r.headers
        r = client.get("/healthz", headers={"origin": "https://elsewhere.example"})
        assert "access-control-allow-origin" not in r.headers
        preflights = scrape(client).value(
            "kbd_lm_http_requests_total", route="/v1/predict-next", method="OPTIONS", status="200"
        )
    assert preflights == 1


def test_any_origin(settings):
    app = create_app(settings=settings.model_copy(update={"cors_origins": ["*"]}))
    with TestClient(app) as client:
        r = client.get("/healthz", headers={"origin": "https://anyone.example"})
    assert r.headers["access-control-allow-origin"] == "*"


@pytest.mark.parametrize("bad", ["https://app.example.com/", "app.example.com", "https://a.b/x"])
def test_an_origin_with_a_path_or_no_scheme_is_refused(bad):
    with pytest.raises(ValidationError, match="is not an origin"):
        ServeSettings(cors_origins=bad)


def test_command_line_option():
    args = parse_args(["--bundle", "b", "--cors-origins", f"{PAGE},http://localhost:3000"])
    assert load_settings(**vars(args)).cors_origins == [PAGE, "http://localhost:3000"]
    assert load_settings(**vars(parse_args(["--bundle", "b"]))).cors_origins == []
