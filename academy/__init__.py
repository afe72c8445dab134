"""academy: the learning-management system of a gig-worker skills academy.

``create_app`` reads as the table of contents of the application.
"""

from __future__ import annotations

import importlib

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


def register_extensions(app: Flask) -> None:
    """Bind db, migrations, login, CSRF and Babel."""
    from academy.extensions import babel, csrf, db, login_manager, migrate
    from academy.i18n import select_locale, select_timezone

    db.init_app(app)
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
    """Compress text responses of 1 KB or more (HTML, CSS, JS, JSON, SVG) with Brotli or gzip,
    as the client accepts (flask-compress; static files too, with their ETag kept per encoding).

    BREACH needs a secret and attacker-chosen text in one compressed response fetched many times
    with the victim's cookies; the session cookie is SameSite=Lax and pages cannot be framed, so
    such cross-site requests carry no session and no secret.
    """
    from flask_compress import Compress

    app.config.setdefault("COMPRESS_MIN_SIZE", 1024)
    app.config.setdefault("COMPRESS_ALGORITHM", ["br", "gzip"])
    app.config.setdefault("COMPRESS_ALGORITHM_STREAMING", ["br", "gzip"])
    Compress(app)


def register_template_helpers(app: Flask) -> None:
    """Jinja filters (masking, local time, money) and globals (enums, navigation)."""
    from academy.templating import init_templating

    init_templating(app)


def register_commands(app: Flask) -> None:
    """``flask --app academy …`` commands: demo, import, and each module's own."""
    from academy.cli import init_cli

    init_cli(app)
