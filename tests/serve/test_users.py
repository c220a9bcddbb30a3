"""/v1/users routes with a real SQLite file: learn, show, forget, delete, limits, access."""

from __future__ import annotations

import stat

import pytest
from fastapi.testclient import TestClient

from kbd_lm.serve.app import create_app
from kbd_lm.serve.settings import ServeSettings

LOCAL = "http://127.0.0.1:8000"
USER = "u-5b0c1f7e9a2d4c3b"


@pytest.fixture
def db(tmp_path):
    return tmp_path / "state" / "histories.sqlite3"


def make_client(tiny_bundle, db, base_url=LOCAL, **overrides):
    settings = ServeSettings(
        bundle=tiny_bundle, pool_size=1, access_log=False, history_db=db, **overrides
    )
    return TestClient(create_app(settings=settings), base_url=base_url)


@pytest.fixture
def client(tiny_bundle, db):
    with make_client(tiny_bundle, db) as c:
        yield c


def predict(client, text, user=None, **kw):
    body = {"text": text, "k": 3, **({"user": user} if user else {})}
    r = client.post("/v1/predict-next", json=body, **kw)
    assert r.status_code == 200, r.text
    return [s["word"] for s in r.json()["suggestions"]]


def learn(client, text, field="text", user=USER, **kw):
    return client.post(f"/v1/users/{user}/learn", json={"text": text, "field": field}, **kw)


def test_learn_predict_show_delete(client, db):
    assert "Quattro" not in predict(client, "lunch at Qu", USER)
    for _ in range(2):
        r = learn(client, "lunch at Quattro today")
        assert r.status_code == 200 and r.json() == {"learned_words": 4}
    assert predict(client, "lunch at Qu", USER)[0] == "Quattro"
    assert "Quattro" not in predict(client, "lunch at Qu")  # other users: no history
    assert "Quattro" not in predict(client, "lunch at Qu", "u-someone-else")
    shown = client.get(f"/v1/users/{USER}/history").json()
    assert {"word": "Quattro", "count": pytest.approx(2, rel=1e-2)} in shown["words"]
    assert ["lunch", "at", "quattro"] in [s["words"] for s in shown["sequences"]]
    assert shown["entries"] > 4 and 0 < shown["bytes"] < 1_000_000
    assert client.delete(f"/v1/users/{USER}").status_code == 204
    assert client.get(f"/v1/users/{USER}/history").json()["words"] == []
    assert "Quattro" not in predict(client, "lunch at Qu", USER)
    assert client.delete(f"/v1/users/{USER}").status_code == 204  # idempotent


def test_forget_one_word(client):
    learn(client, "dinner with Bartholomew tonight")
    r = client.delete(f"/v1/users/{USER}/words/bartholomew")
    assert r.status_code == 200 and r.json() == {"forgotten": True}
    words = [w["word"] for w in client.get(f"/v1/users/{USER}/history").json()["words"]]
    assert "Bartholomew" not in words and "dinner" in words
    assert client.delete(f"/v1/users/{USER}/words/bartholomew").json() == {"forgotten": False}


def test_file_is_owner_only_and_created_on_first_learn(client, db):
    assert learn(client, "my pin", field="password").json() == {"learned_words": 0}
    assert not db.exists()  # a sensitive field touches nothing, not even the file
    learn(client, "hello there")
    for path in (db, db.with_name(db.name + "-wal"), db.with_name(db.name + "-shm")):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
    assert stat.S_IMODE(db.parent.stat().st_mode) == 0o700


@pytest.mark.parametrize(
    "body, code",
    [
        ({"text": "hi", "field": "passwd"}, 422),
        ({"text": 5}, 422),
        ({"txt": "hi"}, 422),
    ],
)
def test_bad_learn_requests(client, body, code):
    r = client.post(f"/v1/users/{USER}/learn", json=body)
    assert r.status_code == code and r.json()["error"] == "invalid_request"


def test_a_wrong_field_lists_the_names_without_quoting_the_request(client):
    r = client.post(f"/v1/users/{USER}/learn", json={"text": "hi", "field": "Secret-Field-42"})
    assert r.status_code == 422 and "incognito" in r.json()["message"]
    assert "Secret-Field-42" not in r.text


def test_bad_user_ids(client):
    assert learn(client, "hi", user="a" * 129).status_code == 422
    assert learn(client, "hi", user="bad%20id").status_code == 422
    r = client.post("/v1/predict-next", json={"text": "hi ", "user": "bad id"})
    assert r.status_code == 422


def test_limits_on_users_and_history_bytes(tiny_bundle, db):
    with make_client(tiny_bundle, db, history_max_users=2, history_max_bytes=4096) as c:
        assert learn(c, "one", user="u1").status_code == 200
        assert learn(c, "two", user="u2").status_code == 200
        r = learn(c, "three", user="u3")
        assert r.status_code == 507 and "2 users" in r.json()["message"]
        assert learn(c, "more words", user="u1").status_code == 200  # known users go on
        for i in range(200):
            learn(c, f"word{i}a word{i}b word{i}c", user="u2")
        assert c.get("/v1/users/u2/history").json()["bytes"] <= 4096


def test_histories_off_when_public_without_keys(tiny_bundle, db, caplog):
    with make_client(tiny_bundle, db, host="0.0.0.0") as c:
        assert learn(c, "hello").status_code == 404
        r = c.post("/v1/predict-next", json={"text": "hi ", "user": USER})
        assert r.status_code == 403
        assert c.post("/v1/predict-next", json={"text": "hi "}).status_code == 200
    assert "user histories are off" in caplog.text
    assert not db.exists()


def test_host_header_is_checked_without_keys(tiny_bundle, db):
    with make_client(tiny_bundle, db) as c:
        for host in ["evil.example", "127.0.0.1.nip.io", "192.168.1.5:8000"]:
            r = learn(c, "hello", headers={"host": host})
            assert r.status_code == 403 and r.json()["error"] == "forbidden_host"
            r = c.post(
                "/v1/predict-next", json={"text": "hi ", "user": USER}, headers={"host": host}
            )
            assert r.status_code == 403
        for host in ["localhost:8000", "127.0.0.1", "[::1]:8000"]:
            assert learn(c, "hello", headers={"host": host}).status_code == 200


def test_cors_never_covers_user_routes(tiny_bundle, db):
    origin = {"origin": "https://site.example"}
    with make_client(tiny_bundle, db, cors_origins=["*"]) as c:
        r = c.post("/v1/predict-next", json={"text": "hi "}, headers=origin)
        assert r.headers.get("access-control-allow-origin") == "*"  # CORS works elsewhere
        r = learn(c, "hello", headers=origin)
        assert r.status_code == 200 and "access-control-allow-origin" not in r.headers
        r = c.get(f"/v1/users/{USER}/history", headers=origin)
        assert not any(h.startswith("access-control-") for h in r.headers)
        preflight = {**origin, "access-control-request-method": "POST"}
        r = c.options(f"/v1/users/{USER}/learn", headers=preflight)
        assert r.status_code == 405 and "access-control-allow-origin" not in r.headers
