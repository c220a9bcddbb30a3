"""Fixtures for the server tests: settings for the tiny bundle and a client with the lifespan.

``tiny_bundle`` (a real bundle, built once per session) comes from ``tests/conftest.py``.
"""

from __future__ import annotations

import os

import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

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
