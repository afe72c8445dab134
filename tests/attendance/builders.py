"""Builders for attendance tests: local times, sessions, a class with learners, tokens."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

from academy.attendance import tokens
from academy.attendance.models import ClassSession, SessionStatus
from academy.catalogue.models import CohortStatus
from academy.common.timeutil import local_datetime
from academy.extensions import db
from tests.factories import enrol, make_cohort, make_instructor, make_learner

DAY = date(2026, 3, 2)  # a Monday


def local(text: str) -> datetime:
    """``local("2026-03-02 19:30[:15]")`` → the aware UTC instant of that Asia/Shanghai wall time."""
    day_text, clock = text.split(" ")
    parts = [int(p) for p in clock.split(":")]
    return local_datetime(date.fromisoformat(day_text), time(*parts))


def make_session(cohort, starts: str | datetime = "2026-03-02 19:30", ends: str | datetime | None = None,
                 **overrides) -> ClassSession:
    """A scheduled session of ``cohort`` (default Monday 2 March 2026, 19:30–21:30 Shanghai time)."""
    starts_at = local(starts) if isinstance(starts, str) else starts
    ends_at = (local(ends) if isinstance(ends, str) else ends) if ends else starts_at + timedelta(hours=2)
    values = {"cohort_id": cohort.id, "starts_at": starts_at, "ends_at": ends_at, "place": "实训室 201",
              "topic": "安全用电", "status": SessionStatus.SCHEDULED}
    values.update(overrides)
    session = ClassSession(**values)
    db.session.add(session)
    db.session.flush()
    return session


def make_class(n_learners: int = 3, **cohort_overrides):
    """A running cohort with its instructor and ``n_learners`` enrolled learners.

    Returns ``(cohort, instructor, learners)``.
    """
    instructor = make_instructor()
    cohort_overrides.setdefault("status", CohortStatus.RUNNING)
    cohort_overrides.setdefault("start_date", DAY)
    cohort = make_cohort(instructors=[instructor], capacity=max(n_learners, 1) + 5, **cohort_overrides)
    learners = [make_learner() for _ in range(n_learners)]
    for learner in learners:
        enrol(learner, cohort)
    db.session.flush()
    return cohort, instructor, learners


def weekly_sessions(cohort, count: int, first: str = "2026-03-02 19:30", hours: int = 2) -> list[ClassSession]:
    """``count`` sessions one week apart from ``first``."""
    start = local(first)
    return [make_session(cohort, start + timedelta(weeks=i), start + timedelta(weeks=i, hours=hours))
            for i in range(count)]


def token_at(session: ClassSession, at: datetime) -> str:
    """The QR token the projector shows at ``at``."""
    return tokens.current_token(session.id, session.rotation_seconds, now=at)


def code_at(session: ClassSession, at: datetime) -> str:
    """The 6-digit code the projector shows at ``at``."""
    return tokens.current_code(session.id, session.rotation_seconds, now=at)


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


def bulk_class(n_learners: int, **cohort_overrides):
    """Like ``make_class`` but fast for hundreds of learners: users and ENROLLED enrolments are
    inserted directly (the enrolment rules are not under test here)."""
    from werkzeug.security import generate_password_hash

    from academy.accounts.models import Role, User, UserRole
    from academy.common.timeutil import now_utc
    from academy.enrolment.models import Enrolment, EnrolmentStatus
    from tests.factories import PASSWORD

    instructor = make_instructor()
    cohort_overrides.setdefault("status", CohortStatus.RUNNING)
    cohort = make_cohort(instructors=[instructor], capacity=n_learners + 5, **cohort_overrides)
    password_hash = generate_password_hash(PASSWORD, method="pbkdf2:sha256:1000")
    base = 15_000_000_000 + cohort.id * 10_000
    learners = []
    for i in range(n_learners):
        user = User(mobile=str(base + i), name=f"骑手{cohort.id}-{i:03d}", password_hash=password_hash)
        user.roles.append(UserRole(role=Role.LEARNER))
        learners.append(user)
    db.session.add_all(learners)
    db.session.flush()
    now = now_utc()
    db.session.add_all(Enrolment(learner_id=u.id, cohort_id=cohort.id, status=EnrolmentStatus.ENROLLED,
                                 applied_at=now, enrolled_at=now, source="admin") for u in learners)
    cohort.seats_taken = n_learners
    db.session.flush()
    return cohort, instructor, learners
