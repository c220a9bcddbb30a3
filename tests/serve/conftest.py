"""Fixtures for the server tests: settings for the tiny bundle and a client with the lifespan.

``tiny_bundle`` (a real bundle, built once per session) comes from ``tests/conftest.py``.
"""

from __future__ import annotations

import contextlib
import os
import threading
import time

import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from kbd_lm.export.bench.loadtest import free_port
from kbd_lm.serve.app import create_app
from kbd_lm.serve.settings import ServeSettings


@pytest.fixture(autouse=True)
def _no_server_env(monkeypatch):
    """Tests see the defaults, whatever KBD_LM_* variables the developer's shell has."""
    fields = {f"KBD_LM_{name.upper()}" for name in ServeSettings.model_fields}
    for name in list(os.environ):
        if name.upper() in fields:
            monkeypatch.delenv(name)


@pytest.fixture
def settings(tiny_bundle) -> ServeSettings:
    """Default settings for the tiny bundle, with a pool of 2 predictors."""
    return ServeSettings(bundle=tiny_bundle, pool_size=2, access_log=False)


@pytest.fixture
def client(settings):
    """A TestClient of the real app; the lifespan (bundle loading) runs around the test."""
    with TestClient(create_app(settings=settings)) as c:
        yield c


class Scrape:
    """One ``GET /metrics`` answer, parsed by prometheus-client's own text parser."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.samples = [
            s for family in text_string_to_metric_families(text) for s in family.samples
        ]

    def value(self, name: str, **labels: str) -> float | None:
        """The sample ``name`` with exactly these labels, or None if there is none."""
        found = [s.value for s in self.samples if s.name == name and s.labels == labels]
        assert len(found) <= 1, (name, labels)
        return found[0] if found else None


@pytest.fixture
def scrape():
    """``scrape(client)``: the app's metrics now, as a :class:`Scrape`."""

    def read(client: TestClient) -> Scrape:
        r = client.get("/metrics")
        assert r.status_code == 200
        assert r.headers["content-type"] == "text/plain; version=0.0.4; charset=utf-8"
        return Scrape(r.text)

    return read


@contextlib.contextmanager
def run_server(settings, **uvicorn_options):
    """The real app under uvicorn on 127.0.0.1 in a thread; yields its base URL.
    ``uvicorn_options``: more of ``uvicorn.Config``'s (e.g. ``http=``, ``loop=``)."""
    import uvicorn

    port = free_port()
    config = uvicorn.Config(
        create_app(settings=settings),
        host="127.0.0.1",
        port=port,
        log_level="warning",
        access_log=False,
        lifespan="on",
        **uvicorn_options,
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="uvicorn", daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            pytest.fail("the server did not start")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@pytest.fixture
def server_url(settings):
    """The real app under uvicorn on 127.0.0.1 in a thread; its base URL."""
    with run_server(settings) as url:
        yield url


@pytest.fixture(scope="session")
def float32_bundle(tiny_checkpoint, tmp_path_factory, registry_cache):
    """The tiny model exported in float32 only, with its conformance vectors (the browser
    tests compare suggestions with it: see ``test_browser_conformance.py``)."""
    from kbd_lm.common.config import load_config
    from kbd_lm.export.convert import ExportConfig, export

    out = tmp_path_factory.mktemp("dist-f32") / "bundle"
    overrides = [f'out_dir="{out}"', 'quantization="float32"', "compare_presets=false"]
    overrides += ["max_model_bytes=0", "latency_calls=50", "agreement_contexts=16"]
    overrides += [f'blocklist_cache="{registry_cache}"']
    return export(tiny_checkpoint, load_config(ExportConfig, "export", "default", overrides))


@pytest.fixture(scope="session")
def app_server():
    """``with app_server(settings) as url``: the real app under uvicorn, for wider scopes."""
    return run_server


@pytest.fixture(scope="session")
def slow_bundle(tiny_corpus_dir, tmp_path_factory, registry_cache):
    """A much wider model than the tiny one (CIFG 2,048 cells; two training steps): about
    10 ms per suggestion, so that one predictor saturates long before the HTTP layer does."""
    from kbd_lm.common.config import load_config
    from kbd_lm.export.convert import ExportConfig, export
    from kbd_lm.training.loop import TrainConfig, train

    root = tmp_path_factory.mktemp("slow")
    overrides = [f'corpus="{tiny_corpus_dir}"', f'out_dir="{root / "run"}"']
    overrides += [f'cache_dir="{root / "cache"}"', "units=2048", "embed_dim=256"]
    run = train(
        load_config(TrainConfig, "train", "tiny", [*overrides, "epochs=1", "steps_per_epoch=2"])
    )
    cfg = load_config(
        ExportConfig,
        "export",
        "default",
        [f'out_dir="{root / "bundle"}"', "max_model_bytes=0", "compare_presets=false"]
        + ["latency_calls=20", "agreement_contexts=8", f'blocklist_cache="{registry_cache}"'],
    )
    return export(run, cfg)
