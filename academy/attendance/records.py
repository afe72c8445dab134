"""Reading and writing attendance records: the one place that inserts or changes a status.

Concurrency: a learner's status at a session is one row, protected by the unique constraint on
``(session_id, learner_id)``. The first write is an ``INSERT … ON CONFLICT DO NOTHING``
(SQLAlchemy's PostgreSQL / SQLite dialect inserts), so 300 learners checking in at once each
insert their own row without queueing on a shared lock, and the same learner twice at once (a
double tap, two tabs) inserts once: the second insert does nothing, the caller reads the first
one's row and answers "already checked in" — no IntegrityError, no 500, no duplicate history.
On PostgreSQL the second insert waits for the first transaction and then skips; on SQLite
writers are serialised by the database lock (busy timeout, WAL). A later change of an existing
row (roll call, leave, check-in after leave) first locks that row (``SELECT … FOR UPDATE``) and
then reads its old status for the history. Every change adds an ``AttendanceChange`` row.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from academy.accounts.models import User
from academy.attendance.models import (
    AttendanceChange,
    AttendanceRecord,
    AttendanceStatus,
    ClassSession,
    RecordSource,
)
from academy.enrolment.models import Enrolment, EnrolmentStatus
from academy.extensions import db


def is_enrolled(learner_id: int, cohort_id: int) -> bool:
    """True when the learner holds an ENROLLED seat in the cohort."""
    return db.session.scalar(
        select(Enrolment.id).where(Enrolment.learner_id == learner_id, Enrolment.cohort_id == cohort_id,
                                   Enrolment.status == EnrolmentStatus.ENROLLED).limit(1)
    ) is not None


def enrolled_learners(cohort_id: int) -> list[User]:
    """The cohort's ENROLLED learners, by name (one query)."""
    return list(db.session.scalars(
        select(User).join(Enrolment, Enrolment.learner_id == User.id)
        .where(Enrolment.cohort_id == cohort_id, Enrolment.status == EnrolmentStatus.ENROLLED)
        .order_by(User.name, User.id)
    ))


def insert_if_absent(values: dict) -> bool:
    """INSERT the record unless one exists for (session, learner); True when this call inserted.

    Uses the dialect's ``INSERT … ON CONFLICT DO NOTHING RETURNING id`` on PostgreSQL and SQLite
    (a row comes back only when this statement inserted); on another database
    it falls back to a savepoint that swallows the unique-constraint violation.
    """
    dialect = db.session.get_bind().dialect.name
    if dialect in ("postgresql", "sqlite"):
        if dialect == "postgresql":
            from sqlalchemy.dialects.postgresql import insert
        else:
            from sqlalchemy.dialects.sqlite import insert
        table = AttendanceRecord.__table__
        stmt = (insert(table).values(**values)
                .on_conflict_do_nothing(index_elements=["session_id", "learner_id"])
                .returning(table.c.id))
        return db.session.execute(stmt).first() is not None
    try:  # pragma: no cover - other databases
        with db.session.begin_nested():
            db.session.execute(AttendanceRecord.__table__.insert().values(**values))
    except IntegrityError:  # pragma: no cover
        return False
    return True  # pragma: no cover


def load_record(session_id: int, learner_id: int, *, lock: bool = False) -> AttendanceRecord | None:
    """The learner's record at the session, fresh from the database (``lock``: FOR UPDATE), or None."""
    stmt = select(AttendanceRecord).where(AttendanceRecord.session_id == session_id,
                                          AttendanceRecord.learner_id == learner_id)
    if lock:
        stmt = stmt.with_for_update()
    return db.session.scalars(stmt.execution_options(populate_existing=True)).first()


def add_history(session_id: int, learner_id: int, old: str | None, new: str, source: RecordSource, *,
                actor_id: int | None, now: datetime, note: str | None = None) -> None:
    """Append one row to the change history (``old`` None for the first status)."""
    db.session.add(AttendanceChange(session_id=session_id, learner_id=learner_id, old_status=old, new_status=new,
                                    note=note, source=source, changed_by_id=actor_id, changed_at=now))


def write_status(session: ClassSession, learner_id: int, status: AttendanceStatus, source: RecordSource, *,
                 actor_id: int | None, now: datetime, note: str | None) -> bool:
    """Set the learner's status and note at the session (insert, or change under the row lock),
    adding a history row when something changed. Returns True when something changed."""
    inserted = insert_if_absent({"session_id": session.id, "learner_id": learner_id, "status": status,
                                 "source": source, "note": note, "marked_by_id": actor_id, "marked_at": now})
    if inserted:
        add_history(session.id, learner_id, None, status, source, actor_id=actor_id, now=now, note=note)
        db.session.flush()
        return True
    existing = load_record(session.id, learner_id, lock=True)
    if existing.status == status and existing.note == note:
        return False
    old = existing.status
    existing.status, existing.source, existing.note = status, source, note
    existing.marked_by_id, existing.marked_at = actor_id, now
    add_history(session.id, learner_id, old, status, source, actor_id=actor_id, now=now, note=note)
    db.session.flush()
    return True
