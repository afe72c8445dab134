"""Shared fixtures.

* The suite runs on SQLite by default and on PostgreSQL when ``TEST_DATABASE_URL`` is set
  (a server URL; the suite creates and drops its own database on it).
* ``app`` is built once per session with the schema; every test runs inside an app context
  and the tables are emptied after it, so tests may commit (views do) and run threads.
* ``client`` is a test client; ``login(client, user)`` signs in through the real form;
  ``csrf(client)`` returns a valid CSRF token for a raw POST.
"""

from __future__ import annotations

import os
import re
import tempfile
import uuid
from pathlib import Path

import pytest
from flask import g, request_started
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from academy import create_app
from academy.config import TestConfig
from academy.extensions import db as _db

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
if not SHARED_DATA.exists():  # CI lays shared/ beside the clone
    SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


def _postgres_database(server_url: str):
    """Create a throw-away database on the server; return (url, drop callback)."""
    url = make_url(server_url).set(drivername="postgresql+psycopg")
    name = f"academy_test_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    admin = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))

    def drop():
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

    return url.set(database=name).render_as_string(hide_password=False), drop


@pytest.fixture(scope="session")
def database_url():
    """The URL of the test database (SQLite file, or a fresh PostgreSQL database)."""
    server = os.environ.get("TEST_DATABASE_URL")
    if server:
        url, drop = _postgres_database(server)
        yield url
        drop()
    else:
        with tempfile.TemporaryDirectory(prefix="academy-test-") as tmp:
            yield f"sqlite:///{tmp}/test.db"


@pytest.fixture(scope="session")
def instance_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("instance")


@pytest.fixture(scope="session")
def app(database_url, instance_dir):
    """The application with the schema created once for the session."""

    class Config(TestConfig):
        SQLALCHEMY_DATABASE_URI = database_url
        INSTANCE_PATH = instance_dir
        STORAGE_PATH = str(instance_dir / "storage")

    application = create_app(Config)
    with application.app_context():
        _db.create_all()
        from sqlalchemy import event

        event.listen(_db.engine, "before_cursor_execute", _note_insert)
    yield application
    with application.app_context():
        _db.session.remove()
        _db.engine.dispose()


_INSERT_INTO = re.compile(r'^\s*INSERT\s+(?:OR\s+\w+\s+)?INTO\s+"?(\w+)"?', re.IGNORECASE)
_written_tables: set[str] = set()


def _note_insert(conn, cursor, statement, parameters, context, executemany):
    match = _INSERT_INTO.match(statement)
    if match:
        _written_tables.add(match.group(1))


def _empty_written_tables() -> None:
    """DELETE from the tables the test inserted into, children first.

    Inserts are noted by an engine listener (threads and the live server included), so a test
    that touched five tables pays for five DELETEs, not eighty; ids are not reset, so tests
    never assume particular ids.
    """
    for table in reversed(_db.metadata.sorted_tables):
        if table.name in _written_tables:
            _db.session.execute(table.delete())
    _db.session.commit()
    _written_tables.clear()


def _clear_g(sender, **extra) -> None:
    g.__dict__.clear()


@pytest.fixture(autouse=True)
def db(app):
    """Each test runs in an app context; afterwards every table is emptied.

    Test-client requests reuse the test's app context, so ``g`` would carry Flask-Login's
    cached user and Flask-Babel's locale from one request (or client) to the next; ``g`` is
    emptied when each request starts, as a fresh app context would be in production.
    """
    app.extensions.pop("academy_ratelimit", None)  # fresh rate-limit counters per test
    with app.app_context():
        request_started.connect(_clear_g, app)
        try:
            yield _db
        finally:
            request_started.disconnect(_clear_g, app)
            _db.session.rollback()
            _empty_written_tables()
            _db.session.remove()


@pytest.fixture
def client(app):
    return app.test_client()


def csrf(client) -> str:
    """Return a CSRF token valid for ``client``'s session (as a rendered form would carry)."""
    from flask import current_app
    from itsdangerous import URLSafeTimedSerializer

    with client.session_transaction() as sess:
        raw = sess.get("csrf_token")
        if raw is None:
            raw = sess["csrf_token"] = uuid.uuid4().hex
    return URLSafeTimedSerializer(current_app.secret_key, salt="wtf-csrf-token").dumps(raw)


def post(client, url: str, data: dict | None = None, **kwargs):
    """POST with a valid CSRF token added to ``data``."""
    payload = dict(data or {})
    payload.setdefault("csrf_token", csrf(client))
    return client.post(url, data=payload, **kwargs)


def login(client, user, password: str = "Passw0rd!"):
    """Sign ``user`` in through the login form; asserts it worked."""
    response = post(client, "/account/login", {"mobile": user.mobile, "password": password})
    assert response.status_code == 302, response.get_data(as_text=True)[:500]
    return response


CSRF_INPUT = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"|name="csrf_token" value="([^"]+)"')


def shared_file(name: str) -> Path:
    """Path of a sample input file in ../shared/data; fails loudly if it is missing."""
    path = SHARED_DATA / name
    assert path.exists(), f"missing sample file {path}"
    return path
