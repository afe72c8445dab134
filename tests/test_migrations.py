"""Migrations: an empty database upgrades to head with no pending autogenerate changes."""

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import upgrade
from sqlalchemy import create_engine, inspect

from academy import create_app
from academy.config import TestConfig
from academy.extensions import db


def test_upgrade_empty_database_to_head_leaves_no_pending_changes(database_url, tmp_path):
    """Runs on a separate database: a SQLite file, or a new schema-less PostgreSQL database."""
    if database_url.startswith("sqlite"):
        url = f"sqlite:///{tmp_path / 'migrate.db'}"
    else:
        from tests.conftest import _postgres_database

        url, drop = _postgres_database(database_url.rsplit("/", 1)[0] + "/postgres")

    class C(TestConfig):
        SQLALCHEMY_DATABASE_URI = url
        INSTANCE_PATH = tmp_path

    app = create_app(C)
    try:
        with app.app_context():
            upgrade()
            engine = create_engine(url)
            with engine.connect() as conn:
                ctx = MigrationContext.configure(conn, opts={"compare_type": True})
                diff = compare_metadata(ctx, db.metadata)
                assert diff == [], f"models and migrations differ: {diff}"
                tables = set(inspect(conn).get_table_names())
            engine.dispose()
            assert {"users", "courses", "cohorts", "enrolments"} <= tables
            db.session.remove()
            db.engine.dispose()
    finally:
        if not database_url.startswith("sqlite"):
            drop()
