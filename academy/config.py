"""Configuration classes.

Everything that differs between machines comes from the environment:

* ``DATABASE_URL`` – SQLAlchemy URL; defaults to SQLite at ``instance/academy.db``.
  ``postgres://`` and ``postgresql://`` URLs are mapped to the psycopg 3 driver.
* ``SECRET_KEY`` – if unset, a random key is generated once into ``instance/secret_key``.
* ``REDIS_URL`` – optional; enables the RQ job queue.
* ``ACADEMY_BASE_URL`` – the public https origin used in QR codes (e.g. ``https://xue.example.cn``).
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_INSTANCE = PROJECT_ROOT / "instance"


def normalise_database_url(url: str) -> str:
    """Return ``url`` with PostgreSQL URLs pointed at the psycopg 3 driver.

    ``postgres://…`` and ``postgresql://…`` become ``postgresql+psycopg://…``; other URLs
    are returned unchanged.
    """
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


def load_or_create_secret(instance_path: Path) -> str:
    """Return the secret key stored in ``instance_path/secret_key``, creating it on first use.

    The file is written with mode 0600 so that only the service account can read it.
    """
    instance_path.mkdir(parents=True, exist_ok=True)
    key_file = instance_path / "secret_key"
    if key_file.exists():
        return key_file.read_text().strip()
    key = secrets.token_hex(32)
    fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(key)
    return key


class Config:
    """Production-ready defaults; values are read when ``create_app`` runs."""

    TESTING = False
    INSTANCE_PATH = Path(os.environ.get("ACADEMY_INSTANCE_PATH", DEFAULT_INSTANCE))
    SQLALCHEMY_DATABASE_URI: str | None = None  # filled by init_config
    SQLALCHEMY_ENGINE_OPTIONS: dict = {"pool_pre_ping": True}
    SECRET_KEY: str | None = None
    TIMEZONE = "Asia/Shanghai"
    BABEL_DEFAULT_LOCALE = "zh_CN"
    BABEL_DEFAULT_TIMEZONE = "Asia/Shanghai"
    LANGUAGES = {"zh_CN": "中文", "en": "English"}
    WTF_CSRF_TIME_LIMIT = None  # the token lives as long as the session: riders keep pages open
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    REMEMBER_COOKIE_HTTPONLY = True
    REMEMBER_COOKIE_SAMESITE = "Lax"
    REMEMBER_COOKIE_DURATION = 60 * 60 * 24 * 30  # seconds: 30 days
    MAX_CONTENT_LENGTH = 10 * 1024 * 1024  # bytes: uploads (spreadsheets, seal images)
    ACADEMY_NAME = "金小哥学院"
    ACADEMY_BASE_URL = os.environ.get("ACADEMY_BASE_URL", "")
    REDIS_URL = os.environ.get("REDIS_URL", "")
    PAGE_SIZE = 20
    CACHE_TYPE: str | None = None  # filled by init_config: RedisCache with REDIS_URL, else SimpleCache
    CACHE_DEFAULT_TIMEOUT = 300  # seconds
    CACHE_KEY_PREFIX = "academy:"
    # Where the app keeps files it makes or receives (certificate PDFs, seal images, photos).
    STORAGE_PATH = os.environ.get("ACADEMY_STORAGE_PATH", "")  # default: <instance>/storage
    # Worker processes that render a big certificate batch (chunks in parallel); 1 = in-process.
    CERTIFICATE_RENDER_PROCESSES = int(os.environ.get("CERTIFICATE_RENDER_PROCESSES") or min(2, os.cpu_count() or 1))

    @classmethod
    def init_config(cls, app) -> None:
        """Fill the values that depend on the environment at start-up."""
        instance = Path(app.config.get("INSTANCE_PATH") or DEFAULT_INSTANCE)
        if not app.config.get("SQLALCHEMY_DATABASE_URI"):
            url = os.environ.get("DATABASE_URL") or f"sqlite:///{instance / 'academy.db'}"
            if url.startswith("sqlite:///"):
                instance.mkdir(parents=True, exist_ok=True)
            app.config["SQLALCHEMY_DATABASE_URI"] = normalise_database_url(url)
        if not app.config.get("CACHE_TYPE"):
            redis_url = app.config.get("REDIS_URL")
            app.config["CACHE_TYPE"] = "RedisCache" if redis_url else "SimpleCache"
            app.config.setdefault("CACHE_REDIS_URL", redis_url)
        if not app.config.get("STORAGE_PATH"):
            app.config["STORAGE_PATH"] = str(instance / "storage")
        if not app.config.get("SECRET_KEY"):
            app.config["SECRET_KEY"] = os.environ.get("SECRET_KEY") or load_or_create_secret(instance)


class TestConfig(Config):
    """Configuration for the test-suite: CSRF stays on, as in production.

    Tests fetch the token from the rendered form (see ``tests/conftest.py``).
    """

    TESTING = True
    SECRET_KEY = "test-secret-key-not-for-production"  # noqa: S105 - tests only
    SERVER_NAME = None
    CACHE_TYPE = "NullCache"  # every test sees the database as it is; tests/catalogue checks caching
    PASSWORD_HASH_METHOD = "pbkdf2:sha256:1000"  # noqa: S105 - fast hashing in tests only
    CERTIFICATE_RENDER_PROCESSES = 1  # batches render in-process; tests that want workers set it
