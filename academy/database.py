"""Declarative base, naming convention, column types and mixins shared by every model.

This module must not import ``academy.extensions`` (which imports it).
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import DateTime, MetaData, event, func, update
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    """Declarative base with a constraint naming convention (for Alembic batch mode)."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)

    def __repr__(self) -> str:
        ident = getattr(self, "id", None)
        label = next((getattr(self, a) for a in ("code", "name", "title") if hasattr(self, a)), "")
        return f"<{type(self).__name__} {ident} {label}>".rstrip()


class UTCDateTime(TypeDecorator):
    """A timezone-aware datetime stored in UTC.

    Accepts aware datetimes only (naive ones raise ``ValueError``) and always returns
    aware datetimes in UTC, on SQLite (which has no time zones) as on PostgreSQL.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column; attach a time zone first")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def utcnow() -> datetime:
    """Return the current time as an aware UTC datetime."""
    return datetime.now(UTC)


class TimestampMixin:
    """``created_at`` / ``updated_at`` columns (UTC) filled automatically."""

    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(
        UTCDateTime, default=utcnow, onupdate=utcnow, server_default=func.now()
    )


class LockableMixin:
    """A ``lock_version`` counter used to serialise writers on one row.

    ``lock_row`` bumps it with an UPDATE as the first write of a transaction, which takes the
    row lock on PostgreSQL and the database write lock on SQLite (where ``SELECT … FOR UPDATE``
    does nothing). Code that must not race (seat allocation, idempotent issuing) calls it
    before reading the state it decides on.
    """

    lock_version: Mapped[int] = mapped_column(default=0, server_default="0")


def lock_row(session, model, ident: int) -> None:
    """Serialise concurrent writers on ``model`` row ``ident`` for the current transaction.

    Raises nothing itself; the caller's later reads in the same transaction see every
    change committed by writers that held the lock before it.
    """
    session.execute(
        update(model)
        .where(model.id == ident)
        .values(lock_version=model.lock_version + 1)
        .execution_options(synchronize_session=False)
    )


@event.listens_for(Engine, "connect")
def _sqlite_pragmas(dbapi_connection, connection_record):  # pragma: no cover - trivial
    """Turn on foreign keys, WAL and a busy timeout for every SQLite connection."""
    module = type(dbapi_connection).__module__
    if "sqlite" not in module:
        return
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()
