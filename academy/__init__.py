"""academy: the learning-management system of a gig-worker skills academy.

``create_app`` reads as the table of contents of the application.
"""

from __future__ import annotations

import importlib
from pathlib import Path

from flask import Flask

from academy.config import PROJECT_ROOT, Config

# Feature blueprints, in the order of the domain flow. Each module exposes ``bp`` in views.py
# and, if it has commands, ``register_commands(cli_group)`` in cli.py.
BLUEPRINT_MODULES = (
    "academy.main.views",
    "academy.accounts.views",
    "academy.catalogue.views",
    "academy.enrolment.views",
    "academy.attendance.views",
    "academy.exams.views",
    "academy.certificates.views",
    "academy.degrees.views",
    "academy.competitions.views",
    "academy.audit.views",
    "academy.reports.views",
    "academy.privacy.views",
)
MODEL_MODULES = (
    "academy.audit.models",
    "academy.accounts.models",
    "academy.catalogue.models",
    "academy.enrolment.models",
    "academy.attendance.models",
    "academy.exams.models",
    "academy.certificates.models",
    "academy.degrees.models",
    "academy.competitions.models",
)


def create_app(config: type[Config] | dict | None = None) -> Flask:
    """Build the application from a config class (default ``Config``) or a mapping of overrides."""
    app = Flask(
        __name__,
        template_folder=str(PROJECT_ROOT / "templates"),
        static_folder=str(PROJECT_ROOT / "static"),
        instance_path=str(Config.INSTANCE_PATH),
        instance_relative_config=True,
    )
    configure(app, config)
    register_logging(app)
    register_extensions(app)
    register_models()
    register_blueprints(app)
    register_error_handlers(app)
    register_security(app)
    register_compression(app)
    register_template_helpers(app)
    register_commands(app)
    return app


def configure(app: Flask, config: type[Config] | dict | None) -> None:
    """Load ``Config`` then the given class or overrides, then fill environment-derived values."""
    app.config.from_object(Config)
    if isinstance(config, dict):
        app.config.update(config)
    elif config is not None:
        app.config.from_object(config)
    Config.init_config(app)


def register_logging(app: Flask) -> None:
    """JSON log lines in production (``ACADEMY_LOG_FORMAT=json``)."""
    from academy.logs import init_logging

    init_logging(app)


def register_extensions(app: Flask) -> None:
    """Bind db, migrations, login, CSRF and Babel."""
    from academy.extensions import babel, cache, csrf, db, login_manager, migrate
    from academy.i18n import select_locale, select_timezone

    db.init_app(app)
    cache.init_app(app)
    migrate.init_app(app, db, directory=str(PROJECT_ROOT / "migrations"), render_as_batch=True,
                     compare_type=True)
    csrf.init_app(app)
    babel.init_app(app, locale_selector=select_locale, timezone_selector=select_timezone,
                   default_translation_directories=str(PROJECT_ROOT / "academy" / "translations"))
    from academy.accounts.auth import init_login

    init_login(app, login_manager)


def register_models() -> None:
    """Import every model module so that metadata (and Alembic) sees all tables."""
    for name in MODEL_MODULES:
        importlib.import_module(name)


def register_blueprints(app: Flask) -> None:
    """Register every feature blueprint listed in ``BLUEPRINT_MODULES`` (its ``bp``, plus the
    unprefixed public ``verify_bp`` of a module that has one: ``/verify/<serial>``)."""
    for name in BLUEPRINT_MODULES:
        module = importlib.import_module(name)
        app.register_blueprint(module.bp)
        if hasattr(module, "verify_bp"):
            app.register_blueprint(module.verify_bp)


def register_error_handlers(app: Flask) -> None:
    """HTTP error pages."""
    from academy.errors import register_error_handlers as register

    register(app)


def register_security(app: Flask) -> None:
    """Security headers, proxy handling and secure cookies."""
    from academy.security import init_security

    init_security(app)


def register_compression(app: Flask) -> None:
    """Static files cached by browsers for a week, with the file's mtime in every static URL
    (``?v=…``) so that a deploy is seen at once; text responses of 1 KB or more (HTML, CSS, JS,
    JSON, SVG) compressed with Brotli or gzip as the client accepts (flask-compress; ETags are
    kept per encoding, so revalidation still answers 304).

    BREACH needs a secret and attacker-chosen text in one compressed response fetched many times
    with the victim's cookies; the session cookie is SameSite=Lax and pages cannot be framed, so
    such cross-site requests carry no session and no secret.
    """
    from flask_compress import Compress

    if app.config.get("SEND_FILE_MAX_AGE_DEFAULT") is None:  # Flask's default None means "no-cache"
        app.config["SEND_FILE_MAX_AGE_DEFAULT"] = 7 * 24 * 3600
    app.config.setdefault("COMPRESS_MIN_SIZE", 1024)
    app.config.setdefault("COMPRESS_ALGORITHM", ["br", "gzip"])
    app.config.setdefault("COMPRESS_ALGORITHM_STREAMING", ["br", "gzip"])
    Compress(app)
    versions: dict[str, int] = {}

    @app.url_defaults
    def static_version(endpoint: str, values: dict) -> None:
        filename = values.get("filename") if endpoint == "static" else None
        if filename and "v" not in values:
            if filename not in versions:
                path = Path(app.static_folder or "") / filename
                versions[filename] = int(path.stat().st_mtime) if path.is_file() else 0
            values["v"] = versions[filename]


def register_template_helpers(app: Flask) -> None:
    """Jinja filters (masking, local time, money) and globals (enums, navigation)."""
    from academy.templating import init_templating

    init_templating(app)


def register_commands(app: Flask) -> None:
    """``flask --app academy …`` commands: demo, import, and each module's own."""
    from academy.cli import init_cli

    init_cli(app)
