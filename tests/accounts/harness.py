"""Test-harness helper: a fresh ``flask.g`` for every test-client request.

``tests/conftest.py`` runs each test inside an app context, and a test-client request reuses
that context, so ``g`` would live across requests (and clients) of one test. Flask-Login caches
the signed-in user in ``g._login_user`` and Flask-Babel the locale in ``g._flask_babel``, so a
second client would see the first client's user or language. In production every request has
its own app context; this fixture restores that. Use it with
``from tests.accounts.harness import fresh_g_per_request  # noqa: F401`` (it is autouse).
"""

from __future__ import annotations

import pytest
from flask import g, request_started


def _clear_g(sender, **extra) -> None:
    g.__dict__.clear()


@pytest.fixture(autouse=True)
def fresh_g_per_request(app):
    """Empty ``g`` at the start of every request made during the test."""
    request_started.connect(_clear_g, app)
    yield
    request_started.disconnect(_clear_g, app)
