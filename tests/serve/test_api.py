"""Every endpoint of the real app on the tiny bundle, through FastAPI's TestClient."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from kbd_lm.inference.bundle import Bundle
from kbd_lm.inference.predictor import Predictor
from kbd_lm.serve.app import create_app, get_pool
from kbd_lm.serve.pool import PoolBusyError, PredictorPool
from kbd_lm.serve.settings import ServeSettings


@pytest.fixture(scope="module")
def predictor(tiny_bundle) -> Predictor:
    """A predictor of its own, to compare the API's answers with."""
    return Predictor.load(tiny_bundle)


def _words(suggestions: list[dict]) -> list[str]:
    return [s["word"] for s in suggestions]


@pytest.mark.parametrize("text", ["see you ", "see yo", "", "I'm in Par", "hello there. "])
def test_predict_next_matches_the_predictor(client, predictor, text):
    """Same words and probabilities as Predictor.suggest, the bundle id, a server time."""
    r = client.post("/v1/predict-next", json={"text": text, "k": 3})
    assert r.status_code == 200, r.text
    body = r.json()
    assert set(body) == {"suggestions", "model", "elapsed_ms"}
    expected = predictor.suggest(text, k=3)
    assert _words(body["suggestions"]) == [s.word for s in expected]
    assert [s["probability"] for s in body["suggestions"]] == pytest.approx(
        [s.probability for s in expected], rel=1e-5
    )
    assert body["model"] == predictor.bundle.bundle_id
    assert body["elapsed_ms"] > 0  # a real model ran


def test_completion_keeps_what_was_typed(client):
    """Inside a word the suggestions complete it."""
    body = client.post("/v1/predict-next", json={"text": "see yo"}).json()
    assert body["suggestions"]
    assert all(w.startswith("yo") for w in _words(body["suggestions"]))


def test_k_defaults_to_3_and_bounds_the_count(client):
    assert len(client.post("/v1/predict-next", json={"text": "I "}).json()["suggestions"]) == 3
    for k in (1, 10):
        r = client.post("/v1/predict-next", json={"text": "I ", "k": k})
        assert r.status_code == 200
        assert 1 <= len(r.json()["suggestions"]) <= k


def test_long_text_uses_only_its_end(client, predictor):
    """A text over max_text_chars is accepted, cut where the predictor reads it the same way:
    the answer is the predictor's for the whole text, for every length around a cut."""
    for extra in range(0, 140, 7):
        text = "see you later, my friend! " * 40 + "blah " * extra + "see you "
        r = client.post("/v1/predict-next", json={"text": text})
        assert r.status_code == 200
        expected = predictor.suggest(text, k=3)
        assert _words(r.json()["suggestions"]) == [s.word for s in expected], extra


def test_unusual_text_is_answered(client):
    """Emoji, a lone surrogate escape, controls and RTL text: answers, never a 500."""
    for text in ["ok 😀 ", "a\u0000b\u0007 ", "שלום ", "  \t\n ", "x" * 1000]:
        r = client.post("/v1/predict-next", json={"text": text})
        assert r.status_code == 200, (text, r.text)
    raw = b'{"text": "broken \\ud83d "}'  # a lone surrogate, as a JSON escape
    r = client.post("/v1/predict-next", content=raw, headers={"content-type": "application/json"})
    assert r.status_code == 200, r.text


def test_healthz(client):
    assert client.get("/healthz").json() == {"status": "ok"}


def test_readyz_runs_through_the_pool(client, tiny_bundle):
    r = client.get("/readyz")
    assert r.status_code == 200
    body = r.json()
    assert body["status"] == "ready"
    assert body["pool_size"] == 2
    assert body["model"] == Bundle.load(tiny_bundle).bundle_id


def test_model_info_is_the_public_manifest(client, tiny_bundle):
    bundle = Bundle.load(tiny_bundle)
    body = client.get("/v1/model").json()
    assert body["id"] == bundle.bundle_id
    public = bundle.public_manifest()
    assert {k: body[k] for k in public} == public
    assert body["quantization"] == bundle.manifest["quantization"]
    assert body["files"]["model.tflite"]["bytes"] == bundle.model_path.stat().st_size
    assert "signatures" not in body  # only the public part


def test_openapi_documents_the_api_with_examples(client):
    spec = client.get("/openapi.json").json()
    op = spec["paths"]["/v1/predict-next"]["post"]
    examples = op["requestBody"]["content"]["application/json"]["examples"]
    assert {"next word", "completion"} <= set(examples)
    assert {"200", "400", "413", "415", "422", "503"} <= set(op["responses"])
    schemas = spec["components"]["schemas"]
    assert schemas["PredictResponse"]["examples"]
    assert "1,000" in schemas["PredictRequest"]["properties"]["text"]["description"]
    assert {"/healthz", "/readyz", "/v1/model", "/metrics"} <= set(spec["paths"])
    assert "/" not in spec["paths"]
    assert client.get("/docs").status_code == 200
    assert client.get("/redoc").status_code == 200


def test_demo_page_is_self_contained(client):
    r = client.get("/")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/html")
    assert 'id="suggestions"' in r.text and "<textarea" in r.text
    assert "<script src" not in r.text and "<link" not in r.text  # no CDN, no external files


def test_dependency_override_replaces_the_pool(client, tiny_bundle):
    """Routes take the pool from get_pool; an override is used by predict and readyz."""
    pool = PredictorPool([Predictor.load(tiny_bundle)], model_id="override-pool")
    client.app.dependency_overrides[get_pool] = lambda: pool
    try:
        assert client.post("/v1/predict-next", json={"text": "hi "}).json()["model"] == (
            "override-pool"
        )
        assert client.get("/readyz").json()["pool_size"] == 1
    finally:
        client.app.dependency_overrides.clear()
    assert client.get("/readyz").json()["pool_size"] == 2


def test_not_ready_without_a_loaded_model(settings):
    """Without the lifespan (no bundle loaded), readyz and predict answer 503 in JSON."""
    c = TestClient(create_app(settings=settings))  # not entered: the lifespan does not run
    r = c.get("/readyz")
    assert r.status_code == 503
    assert r.json()["error"] == "unavailable"
    assert c.get("/healthz").status_code == 200
    assert c.post("/v1/predict-next", json={"text": "hi"}).status_code == 503


def test_busy_pool_answers_503(tiny_bundle):
    """A request that waits longer than queue_wait for a predictor gets 503 busy."""
    pool = PredictorPool([Predictor.load(tiny_bundle)], "busy", queue_wait=0.05)
    app = create_app(tiny_bundle)
    app.dependency_overrides[get_pool] = lambda: pool
    with TestClient(app) as c:

        async def hold_and_ask():
            async with pool.borrow():
                with pytest.raises(PoolBusyError):
                    await pool.suggest("hi ")

        c.portal.call(hold_and_ask)
        assert pool.available == 1  # given back
        held = pool.borrow()
        c.portal.call(held.__aenter__)  # keep the only predictor busy
        r = c.post("/v1/predict-next", json={"text": "hi "})
        assert r.status_code == 503
        assert r.json()["error"] == "busy"
        assert r.headers["retry-after"] == "1"
        c.portal.call(held.__aexit__, None, None, None)
        assert c.post("/v1/predict-next", json={"text": "hi "}).status_code == 200


def test_a_field_hint_reaches_the_predictor_and_a_bad_one_is_422(hinted_bundle):
    """``hint`` goes with the text to Predictor.suggest; the model info lists the bundle's
    hints; a name that is no hint is refused before any model work."""
    predictor = Predictor.load(hinted_bundle)
    settings = ServeSettings(bundle=hinted_bundle, pool_size=1, access_log=False)
    with TestClient(create_app(settings=settings)) as c:
        for hint in ("email", "message", None):
            r = c.post("/v1/predict-next", json={"text": "", "k": 3, "hint": hint})
            assert r.status_code == 200, r.text
            want = [s.word for s in predictor.suggest("", 3, hint=hint)]
            assert _words(r.json()["suggestions"]) == want
        email = c.post("/v1/predict-next", json={"text": "", "hint": "email"}).json()
        message = c.post("/v1/predict-next", json={"text": "", "hint": "message"}).json()
        assert _words(email["suggestions"]) != _words(message["suggestions"])
        assert c.get("/v1/model").json()["tokenizer"]["hints"] == {"message": 4, "email": 5}
        for bad in ("chat", 3, ""):
            r = c.post("/v1/predict-next", json={"text": "hi ", "hint": bad})
            assert r.status_code == 422, r.text
