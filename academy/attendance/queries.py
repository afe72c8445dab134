"""Read models for attendance pages and exports: what each page needs, in a fixed number of
queries (no template ever queries; no N+1)."""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import joinedload

from academy.accounts.models import User
from academy.attendance import services
from academy.attendance.models import (
    AttendanceChange,
    AttendanceRecord,
    AttendanceStatus,
    ClassSession,
    LeaveRequest,
    LeaveStatus,
    SessionStatus,
)
from academy.catalogue.models import Cohort
from academy.enrolment.models import Enrolment, EnrolmentStatus
from academy.extensions import db


@dataclass
class SessionSummary:
    """One line of a cohort's session list: the session, its number and its counts by status."""

    session: ClassSession
    number: int | None
    counts: Counter = field(default_factory=Counter)

    @property
    def checked_in(self) -> int:
        """Present + late."""
        return self.counts[AttendanceStatus.PRESENT] + self.counts[AttendanceStatus.LATE]


def session_summaries(cohort_id: int) -> list[SessionSummary]:
    """Every session of the cohort in time order with status counts (two queries)."""
    sessions = services.list_sessions(cohort_id)
    numbers = services.session_numbers(sessions)
    counts: dict[int, Counter] = defaultdict(Counter)
    rows = db.session.execute(
        select(AttendanceRecord.session_id, AttendanceRecord.status, func.count())
        .join(ClassSession, AttendanceRecord.session_id == ClassSession.id)
        .where(ClassSession.cohort_id == cohort_id)
        .group_by(AttendanceRecord.session_id, AttendanceRecord.status)
    ).all()
    for session_id, status, n in rows:
        counts[session_id][status] = n
    return [SessionSummary(s, numbers.get(s.id), counts[s.id]) for s in sessions]


@dataclass
class RegisterRow:
    """One learner on a session's register, with their record (None when nothing recorded)."""

    learner: User
    record: AttendanceRecord | None
    pending_leave: LeaveRequest | None = None


@dataclass
class Register:
    """A session's register: rows by learner name, counts, unmarked count and the change history."""

    rows: list[RegisterRow]
    counts: Counter
    history: list[AttendanceChange]

    @property
    def unmarked(self) -> int:
        """Learners without any status yet."""
        return sum(1 for r in self.rows if r.record is None)


def session_register(session: ClassSession, *, history_limit: int = 100) -> Register:
    """The register of ``session`` (four queries whatever the class size)."""
    learners = services.enrolled_learners(session.cohort_id)
    records = {r.learner_id: r for r in db.session.scalars(
        select(AttendanceRecord).where(AttendanceRecord.session_id == session.id))}
    leaves = {lv.learner_id: lv for lv in db.session.scalars(
        select(LeaveRequest).where(LeaveRequest.session_id == session.id,
                                   LeaveRequest.status == LeaveStatus.PENDING))}
    history = list(db.session.scalars(
        select(AttendanceChange).options(joinedload(AttendanceChange.learner), joinedload(AttendanceChange.changed_by))
        .where(AttendanceChange.session_id == session.id)
        .order_by(AttendanceChange.changed_at.desc(), AttendanceChange.id.desc()).limit(history_limit)
    ))
    rows = [RegisterRow(u, records.get(u.id), leaves.get(u.id)) for u in learners]
    counts = Counter(r.record.status for r in rows if r.record is not None)
    return Register(rows=rows, counts=counts, history=history)


@dataclass
class Grid:
    """A cohort's register as a grid: scheduled sessions × enrolled learners, with rates."""

    cohort: Cohort
    sessions: list[ClassSession]
    learners: list[User]
    statuses: dict[tuple[int, int], str]  # (learner_id, session_id) → status
    rates: dict[int, services.AttendanceRate]
    now: datetime

    def cell(self, learner_id: int, session: ClassSession) -> str | None:
        """The learner's status at the session; an ended session without a status is absent;
        a session not ended yet without a status is None."""
        status = self.statuses.get((learner_id, session.id))
        if status is None and session.ends_at <= self.now:
            return AttendanceStatus.ABSENT
        return status


def cohort_grid(cohort: Cohort, *, now: datetime) -> Grid:
    """Everything the cohort register export and the rates page need (five queries)."""
    sessions = services.list_sessions(cohort.id, include_cancelled=False)
    learners = services.enrolled_learners(cohort.id)
    statuses = {(lid, sid): st for lid, sid, st in db.session.execute(
        select(AttendanceRecord.learner_id, AttendanceRecord.session_id, AttendanceRecord.status)
        .join(ClassSession, AttendanceRecord.session_id == ClassSession.id)
        .where(ClassSession.cohort_id == cohort.id, ClassSession.status == SessionStatus.SCHEDULED))}
    rates = services.cohort_attendance_rates(cohort, now=now)
    return Grid(cohort=cohort, sessions=sessions, learners=learners, statuses=statuses, rates=rates, now=now)


def learner_cohorts(learner_id: int) -> list[Cohort]:
    """Cohorts where the learner holds an ENROLLED seat, latest first."""
    return list(db.session.scalars(
        select(Cohort).join(Enrolment, Enrolment.cohort_id == Cohort.id)
        .where(Enrolment.learner_id == learner_id, Enrolment.status == EnrolmentStatus.ENROLLED)
        .order_by(Cohort.start_date.desc())
    ).unique())


@dataclass
class MySession:
    """One session as a learner sees it: the session, its number, their record and leave requests."""

    session: ClassSession
    number: int | None
    record: AttendanceRecord | None
    leaves: list[LeaveRequest]

    @property
    def open_leave(self) -> LeaveRequest | None:
        """The pending or approved request for this session, if any."""
        return next((lv for lv in self.leaves if lv.status in (LeaveStatus.PENDING, LeaveStatus.APPROVED)), None)


def my_sessions(learner_id: int, cohort_id: int) -> list[MySession]:
    """The cohort's sessions with the learner's own records and leave requests (three queries)."""
    sessions = services.list_sessions(cohort_id)
    numbers = services.session_numbers(sessions)
    ids = [s.id for s in sessions]
    records = {r.session_id: r for r in db.session.scalars(
        select(AttendanceRecord).where(AttendanceRecord.learner_id == learner_id,
                                       AttendanceRecord.session_id.in_(ids)))} if ids else {}
    leaves: dict[int, list[LeaveRequest]] = defaultdict(list)
    if ids:
        for lv in db.session.scalars(
            select(LeaveRequest).where(LeaveRequest.learner_id == learner_id, LeaveRequest.session_id.in_(ids))
            .order_by(LeaveRequest.requested_at.desc())
        ):
            leaves[lv.session_id].append(lv)
    return [MySession(s, numbers.get(s.id), records.get(s.id), leaves[s.id]) for s in sessions]


def next_sessions(cohort_ids: list[int], *, now: datetime) -> dict[int, ClassSession]:
    """The next scheduled session (not ended) of each cohort, by cohort id (one query)."""
    if not cohort_ids:
        return {}
    out: dict[int, ClassSession] = {}
    for s in db.session.scalars(
        select(ClassSession).where(ClassSession.cohort_id.in_(cohort_ids), ClassSession.ends_at > now,
                                   ClassSession.status == SessionStatus.SCHEDULED)
        .order_by(ClassSession.starts_at)
    ):
        out.setdefault(s.cohort_id, s)
    return out


def recent_leave(cohort_id: int, *, limit: int = 30) -> list[LeaveRequest]:
    """The cohort's latest decided leave requests, newest first (one query)."""
    return list(db.session.scalars(
        select(LeaveRequest).options(joinedload(LeaveRequest.learner), joinedload(LeaveRequest.session))
        .join(ClassSession, LeaveRequest.session_id == ClassSession.id)
        .where(ClassSession.cohort_id == cohort_id, LeaveRequest.status != LeaveStatus.PENDING)
        .order_by(LeaveRequest.decided_at.desc()).limit(limit)
    ))


def pending_leave(cohort_id: int) -> list[LeaveRequest]:
    """The cohort's pending leave requests with learner and session loaded (one query)."""
    return list(db.session.scalars(
        select(LeaveRequest).options(joinedload(LeaveRequest.learner), joinedload(LeaveRequest.session))
        .join(ClassSession, LeaveRequest.session_id == ClassSession.id)
        .where(ClassSession.cohort_id == cohort_id, LeaveRequest.status == LeaveStatus.PENDING)
        .order_by(ClassSession.starts_at, LeaveRequest.requested_at)
    ))
