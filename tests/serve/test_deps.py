"""What routes get comes from kbd_lm.serve.deps: one override reaches every route using it."""

from __future__ import annotations

from fastapi.testclient import TestClient

from kbd_lm.history.user_history import HistoryConfig
from kbd_lm.serve.app import create_app, get_store
from kbd_lm.serve.history_store import HistoryStore

LOCAL = "http://127.0.0.1:8000"  # user routes answer a loopback Host only (no API keys)
USER = "u-0d9e4c2b7a1f"


def _words(client: TestClient, text: str, user: str) -> list[str]:
    r = client.post("/v1/predict-next", json={"text": text, "k": 3, "user": user})
    assert r.status_code == 200, r.text
    return [s["word"] for s in r.json()["suggestions"]]


def test_an_overridden_history_store_serves_user_routes_and_predictions(settings, tmp_path):
    """The user routes learn into the override's store and predict-next reads it back; the
    app's own store is never opened."""
    own_db, other_db = tmp_path / "own.sqlite3", tmp_path / "other.sqlite3"
    store = HistoryStore(other_db, HistoryConfig())
    app = create_app(settings=settings.model_copy(update={"history_db": own_db}))
    app.dependency_overrides[get_store] = lambda: store
    try:
        with TestClient(app, base_url=LOCAL) as client:
            assert "Quattro" not in _words(client, "lunch at Qu", USER)
            for _ in range(2):
                r = client.post(f"/v1/users/{USER}/learn", json={"text": "lunch at Quattro today"})
                assert r.status_code == 200 and r.json() == {"learned_words": 4}
            assert _words(client, "lunch at Qu", USER)[0] == "Quattro"
        assert "Quattro" in [word for word, _ in store.get(USER).words(10)]
    finally:
        store.close()
    assert other_db.exists() and not own_db.exists()


def test_without_a_store_users_get_403_and_others_their_answer(settings, tmp_path):
    """A store dependency that gives None (histories off): 403 for the user routes and for a
    prediction that names a user; a prediction without one is answered."""
    app = create_app(settings=settings.model_copy(update={"history_db": tmp_path / "h.db"}))
    app.dependency_overrides[get_store] = lambda: None
    off = {"error": "http_403", "message": "user histories are off on this server"}
    with TestClient(app, base_url=LOCAL) as client:
        r = client.get(f"/v1/users/{USER}/history")
        assert (r.status_code, r.json()) == (403, off)
        r = client.post("/v1/predict-next", json={"text": "see you ", "user": USER})
        assert (r.status_code, r.json()) == (403, off)
        r = client.post("/v1/predict-next", json={"text": "see you "})
        assert r.status_code == 200 and r.json()["suggestions"]
    assert not (tmp_path / "h.db").exists()
