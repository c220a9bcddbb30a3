"""Fixtures for the server tests: settings for the tiny bundle and a client with the lifespan.

``tiny_bundle`` (a real bundle, built once per session) comes from ``tests/conftest.py``.
"""

from __future__ import annotations

import os

import pytest
from fastapi.testclient import TestClient

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
