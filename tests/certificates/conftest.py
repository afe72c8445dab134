"""Certificate test fixtures: no Redis from the environment and a fresh rate-limit window per test."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _isolated(app, monkeypatch):
    """Jobs run on the embedded worker (a test that wants RQ sets ``REDIS_URL`` itself) and the
    verification counters start empty (the in-process store lives on the app)."""
    monkeypatch.setitem(app.config, "REDIS_URL", "")
    app.extensions.pop("academy_ratelimit", None)
    yield
    app.extensions.pop("academy_ratelimit", None)
