"""API keys: every /v1 route needs one when configured; 401s reveal nothing about users."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from kbd_lm.serve import auth
from kbd_lm.serve.app import create_app
from kbd_lm.serve.settings import ServeSettings


@pytest.fixture
def client(tiny_bundle, tmp_path):
    # Keys make the user routes available on any address, without the Host check.
    settings = ServeSettings(
        bundle=tiny_bundle,
        pool_size=1,
        access_log=False,
        host="0.0.0.0",
        api_keys="k-one-3f9a, k-two-77c1",
        history_db=tmp_path / "h.sqlite3",
    )
    assert "k-one" not in repr(settings)  # keys never show in a settings dump
    with TestClient(create_app(settings=settings)) as c:
        yield c


GOOD = {"authorization": "Bearer k-two-77c1"}
BAD = [
    {},
    {"authorization": "Bearer k-two-77c"},
    {"authorization": "Bearer k-two-77c1x"},
    {"authorization": "Basic k-two-77c1"},
    {"authorization": "k-two-77c1"},
    {"authorization": "Bearer "},
]


@pytest.mark.parametrize("headers", BAD)
def test_every_v1_route_needs_a_key(client, headers):
    for method, path, body in [
        ("POST", "/v1/predict-next", {"text": "hi "}),
        ("GET", "/v1/model", None),
        ("POST", "/v1/users/u-known/learn", {"text": "hello"}),
        ("GET", "/v1/users/u-known/history", None),
        ("DELETE", "/v1/users/u-known", None),
        ("GET", "/v1/no-such-route", None),
    ]:
        r = client.request(method, path, json=body, headers=headers)
        assert r.status_code == 401, (method, path)
        assert r.json()["error"] == "unauthorized"
        assert r.headers["www-authenticate"] == "Bearer"


def test_a_401_says_nothing_about_users(client):
    assert client.post("/v1/users/u-known/learn", json={"text": "hi"}, headers=GOOD).is_success
    known = client.get("/v1/users/u-known/history")
    unknown = client.get("/v1/users/u-never-seen/history")
    assert (known.status_code, known.content) == (unknown.status_code, unknown.content)


def test_the_right_key_opens_everything(client):
    assert client.post("/v1/predict-next", json={"text": "hi "}, headers=GOOD).status_code == 200
    r = client.post("/v1/users/u-1/learn", json={"text": "hello Gwendolyn"}, headers=GOOD)
    assert r.json() == {"learned_words": 2}
    r = client.post("/v1/predict-next", json={"text": "hello G", "user": "u-1"}, headers=GOOD)
    assert r.json()["suggestions"][0]["word"] == "Gwendolyn"
    assert client.get("/healthz").status_code == 200  # outside /v1: open
    assert client.get("/metrics").status_code == 200


def test_keys_are_compared_in_constant_time(monkeypatch):
    calls = []
    real = auth.hmac.compare_digest

    def spy(a, b):
        calls.append((a, b))
        return real(a, b)

    monkeypatch.setattr(auth.hmac, "compare_digest", spy)
    assert auth.key_matches("first", ["first", "second", "third"])
    assert len(calls) == 3  # every key is compared, even after a match
    assert not auth.key_matches("fourth", ["first", "second"])
    assert auth.parse_keys(" a, ,b ") == ["a", "b"]
