"""Start-up: settings from the environment, clear failures for a missing or corrupt bundle,
no TensorFlow in a serving process, and the ``python -m kbd_lm.serve`` entry point."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap

import pytest
from fastapi.testclient import TestClient
from pydantic import ValidationError

from kbd_lm.inference.bundle import BundleError
from kbd_lm.serve.__main__ import parse_args
from kbd_lm.serve.app import create_app
from kbd_lm.serve.settings import ServeSettings, load_settings


@pytest.fixture
def corrupt_bundle(tiny_bundle, tmp_path):
    """A copy of the tiny bundle with one byte of model.tflite flipped."""
    bad = tmp_path / "bundle"
    shutil.copytree(tiny_bundle, bad)
    model = bad / "model.tflite"
    data = bytearray(model.read_bytes())
    data[len(data) // 2] ^= 0xFF
    model.write_bytes(bytes(data))
    return bad


def test_corrupt_bundle_stops_start_up(corrupt_bundle):
    app = create_app(corrupt_bundle)
    with pytest.raises(BundleError, match=r"model\.tflite: wrong checksum"), TestClient(app):
        pass
    assert "wrong checksum" in app.state.startup_error


def test_missing_bundle_stops_start_up(tmp_path):
    with (
        pytest.raises(BundleError, match="bundle folder not found"),
        TestClient(create_app(tmp_path / "nope")),
    ):
        pass


def test_no_bundle_at_all():
    with pytest.raises(ValueError, match="KBD_LM_BUNDLE"):
        create_app(settings=ServeSettings())


def test_settings_come_from_the_environment(monkeypatch, tiny_bundle):
    monkeypatch.setenv("KBD_LM_BUNDLE", str(tiny_bundle))
    monkeypatch.setenv("KBD_LM_POOL_SIZE", "3")
    monkeypatch.setenv("KBD_LM_MAX_TEXT_CHARS", "500")
    s = ServeSettings()
    assert (s.bundle, s.pool_size, s.max_text_chars, s.port) == (tiny_bundle, 3, 500, 8000)
    with TestClient(create_app()) as c:  # everything from the environment
        assert c.get("/readyz").json()["pool_size"] == 3


def test_the_executor_and_its_predictors(tiny_bundle):
    """The loop by default with one predictor; a pool size above 1 alone means threads (the
    settings of 0.8 keep their meaning); the loop with several predictors is an error."""
    s = ServeSettings(bundle=tiny_bundle)
    assert (s.runs_on, s.predictors) == ("loop", 1)
    s = ServeSettings(bundle=tiny_bundle, pool_size=3)
    assert (s.runs_on, s.predictors) == ("threads", 3)
    s = ServeSettings(bundle=tiny_bundle, executor="threads")
    assert (s.runs_on, s.predictors) == ("threads", 2)
    with pytest.raises(ValidationError, match="needs executor 'threads'"):
        ServeSettings(bundle=tiny_bundle, executor="loop", pool_size=2)
    with TestClient(create_app(settings=ServeSettings(bundle=tiny_bundle))) as c:
        assert c.get("/readyz").json()["pool_size"] == 1
        assert c.post("/v1/predict-next", json={"text": "see you "}).status_code == 200


def test_command_line_overrides_the_environment(monkeypatch):
    monkeypatch.setenv("KBD_LM_PORT", "9000")
    monkeypatch.setenv("KBD_LM_HOST", "0.0.0.0")
    args = parse_args(["--bundle", "b", "--port", "8123", "--no-access-log"])
    s = load_settings(**vars(args))
    assert (str(s.bundle), s.port, s.host, s.access_log) == ("b", 8123, "0.0.0.0", False)


def _run(*args: str, timeout: float = 60, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
        env=env,
    )


def test_the_beam_width_is_the_bundles_and_a_setting_only_lowers_it(monkeypatch, tiny_bundle):
    # The model was exported for beams of 8 rows (manifest decoding.beam_width). Since 0.9.0 a
    # setting may lower the beam width, never raise it (0.8 allowed up to 64).
    assert ServeSettings(bundle=tiny_bundle).beam_width is None  # None: the bundle's
    with pytest.raises(ValidationError, match="beam_width 16 .* bundle's beam width 8"):
        ServeSettings(bundle=tiny_bundle, beam_width=16)
    monkeypatch.setenv("KBD_LM_BEAM_WIDTH", "9")
    with pytest.raises(ValidationError, match=r"beam_width 9 \(KBD_LM_BEAM_WIDTH\)"):
        load_settings(bundle=tiny_bundle)
    monkeypatch.delenv("KBD_LM_BEAM_WIDTH")
    # Settings that skipped validation fail as the bundle loads, naming both values too.
    wide = ServeSettings(bundle=tiny_bundle).model_copy(update={"beam_width": 16})
    app = create_app(settings=wide)
    with (
        pytest.raises(BundleError, match="beam width of 16 .* whose beam width is 8"),
        TestClient(app),
    ):
        pass
    assert "beam width of 16" in app.state.startup_error
    with TestClient(create_app(settings=ServeSettings(bundle=tiny_bundle, beam_width=4))) as c:
        assert c.get("/readyz").status_code == 200
        assert all(p.beam_width == 4 for p in c.app.state.pool._free)


def test_server_refuses_a_wider_beam_than_the_bundles_without_a_traceback(tiny_bundle):
    env = {**os.environ, "KBD_LM_BEAM_WIDTH": "16"}
    r = _run("-m", "kbd_lm.serve", "--bundle", str(tiny_bundle), "--port", "0", env=env)
    assert r.returncode == 2
    assert "beam_width 16 (KBD_LM_BEAM_WIDTH) is more than the bundle's beam width 8" in r.stderr
    assert "Traceback" not in r.stderr + r.stdout


def test_server_exits_with_the_bundle_error_and_no_traceback(corrupt_bundle):
    r = _run("-m", "kbd_lm.serve", "--bundle", str(corrupt_bundle), "--port", "0")
    assert r.returncode == 3
    assert "wrong checksum (corrupted or replaced file)" in r.stderr
    assert "Traceback" not in r.stderr + r.stdout
    r = _run("-m", "kbd_lm.serve", "--port", "0")
    assert r.returncode == 2
    assert "no bundle" in r.stderr


def test_serving_never_imports_tensorflow(tiny_bundle):
    """Load the bundle, answer a request: TensorFlow stays out of the process."""
    code = textwrap.dedent(f"""
        import sys
        from fastapi.testclient import TestClient
        import kbd_lm.serve.__main__
        from kbd_lm.serve.app import create_app
        with TestClient(create_app({str(tiny_bundle)!r})) as c:
            assert c.post("/v1/predict-next", json={{"text": "hi "}}).status_code == 200
        print("tensorflow" in sys.modules)
    """)
    r = _run("-c", code)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "False"


def test_serving_never_imports_httpx(tiny_bundle):
    """httpx is the load test's client (kbd_lm.export.bench.loadtest), not the server's."""
    code = textwrap.dedent(f"""
        import pkgutil, sys
        import kbd_lm.serve, kbd_lm.serve.__main__
        from kbd_lm.serve.app import create_app
        for module in pkgutil.iter_modules(kbd_lm.serve.__path__):
            __import__("kbd_lm.serve." + module.name)
        create_app({str(tiny_bundle)!r})
        print("httpx" in sys.modules)
    """)
    r = _run("-c", code)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "False"
