"""The server's engine setting (``KBD_LM_ENGINE``, ``kbd-lm serve --engine``): the real app
under uvicorn with the native engine answers ``/v1/predict-next`` as the Python engine's
server does, with and without a user's history; a missing library stops start-up naming the
file (never a fallback); settings the native engine cannot honour are refused."""

from __future__ import annotations

import httpx
import pytest
from fastapi.testclient import TestClient
from pydantic import ValidationError

from kbd_lm.inference.bundle import CONFORMANCE_FILE
from kbd_lm.inference.conformance import read_vectors
from kbd_lm.inference.native_engine import LIB_ENV, NativeLibraryError
from kbd_lm.inference.tolerance import compare, tolerance_for
from kbd_lm.serve.app import create_app
from kbd_lm.serve.settings import ServeSettings
from tests.serve.conftest import _no_server_env, run_server  # noqa: F401 (autouse fixture)

TEXTS = ["see you ", "see yo", "I don't ", "hello th", "ok. ", "Прив", "", "dinner at Zorb"]
USER = "u-native-1"


def _answers(settings: ServeSettings) -> list[dict]:
    with run_server(settings) as url, httpx.Client(base_url=url) as http:
        r = http.post(f"/v1/users/{USER}/learn", json={"text": "dinner at Zorblaxia tonight"})
        assert r.status_code == 200 and r.json()["learned_words"] == 4
        out = []
        for text in TEXTS:
            for user in (None, USER):
                body = {"text": text, "k": 3} | ({"user": user} if user else {})
                r = http.post("/v1/predict-next", json=body)
                assert r.status_code == 200, r.text
                out.append(r.json())
        assert http.get("/readyz").status_code == 200
        return out


def test_the_native_engine_serves_the_python_engines_answers(
    native_library, tiny_bundle, tmp_path, monkeypatch
):
    common = {"bundle": tiny_bundle, "pool_size": 2, "access_log": False}
    python = ServeSettings(**common, history_db=tmp_path / "python.sqlite3")
    want = _answers(python)
    monkeypatch.setenv(LIB_ENV, str(native_library))
    monkeypatch.setenv("KBD_LM_ENGINE", "native")  # the setting from the environment
    native = ServeSettings(**common, history_db=tmp_path / "native.sqlite3")
    assert native.engine == "native" and python.engine == "python"
    got = _answers(native)
    header, _ = read_vectors(tiny_bundle / CONFORMANCE_FILE)
    tol = tolerance_for(header, "litert")
    for w, g in zip(want, got, strict=True):
        assert [s["word"] for s in g["suggestions"]] == [s["word"] for s in w["suggestions"]]
        assert compare(w["suggestions"], g["suggestions"], tol) is None
        assert g["model"] == w["model"]
    with_history = [s["word"] for s in got[-1]["suggestions"]]  # "dinner at Zorb", the user
    assert "Zorblaxia" in with_history
    assert "Zorblaxia" not in [s["word"] for s in got[-2]["suggestions"]]


def test_the_native_engine_corrects_as_the_python_engine(native_library, tiny_bundle, monkeypatch):
    monkeypatch.setenv(LIB_ENV, str(native_library))
    bodies = [
        {"text": "see yuo", "correct": True},
        {"text": "see you tomorow", "correct": True, "layout": "azerty"},
        {"text": "how are yoi", "correct": True, "taps": [[5.6, 0.5], [8.4, 0.6], [7.5, 0.4]]},
    ]
    answers = {}
    for engine in ("python", "native"):
        settings = ServeSettings(bundle=tiny_bundle, engine=engine, pool_size=1)
        with TestClient(create_app(settings=settings)) as http:
            answers[engine] = [http.post("/v1/predict-next", json=b).json() for b in bodies]
            # the route's checks hold for both engines
            r = http.post(
                "/v1/predict-next", json={"text": "see yuo", "correct": True, "layout": "colemak"}
            )
            assert r.status_code == 422 and r.json()["details"][0]["type"] == "unknown_layout"
    header, _ = read_vectors(tiny_bundle / CONFORMANCE_FILE)
    tol = tolerance_for(header, "litert")
    for want, got in zip(answers["python"], answers["native"], strict=True):
        shape = [(s["word"], s["kind"], s["autocorrect"]) for s in want["suggestions"]]
        assert [(s["word"], s["kind"], s["autocorrect"]) for s in got["suggestions"]] == shape
        assert any(kind == "correction" for _, kind, _ in shape)
        assert compare(want["suggestions"], got["suggestions"], tol) is None


def test_a_missing_library_stops_start_up_naming_the_file(tiny_bundle, tmp_path, monkeypatch):
    missing = tmp_path / "nowhere" / "libkbd_lm.so"
    monkeypatch.setenv(LIB_ENV, str(missing))
    app = create_app(settings=ServeSettings(bundle=tiny_bundle, engine="native"))
    with pytest.raises(NativeLibraryError, match=str(missing)), TestClient(app):
        pass
    assert str(missing) in app.state.startup_error
    assert app.state.startup_error.startswith("cannot start the native engine")


def test_settings_the_native_engine_cannot_honour_are_refused(tiny_bundle):
    with pytest.raises(ValidationError, match="runs on LiteRT"):
        ServeSettings(bundle=tiny_bundle, engine="native", runtime="tflite-runtime")
    with pytest.raises(ValidationError, match="leave beam_width"):
        ServeSettings(bundle=tiny_bundle, engine="native", beam_width=4)
    with pytest.raises(ValidationError):
        ServeSettings(bundle=tiny_bundle, engine="rust")
    assert ServeSettings(bundle=tiny_bundle).engine == "python"
