"""The demo step gives the running and finished demo cohorts realistic sessions and attendance."""

from __future__ import annotations

from collections import Counter

from sqlalchemy import select

from academy.attendance import services
from academy.attendance.models import AttendanceRecord, ClassSession, LeaveRequest, LeaveStatus, SessionStatus
from academy.demo.loader import load_demo
from academy.extensions import db


def test_the_demo_has_sessions_check_ins_leave_and_learners_at_risk():
    ctx = load_demo(steps=("academy.demo.base", "academy.attendance.demo"))
    running, finished = ctx.cohorts["running"], ctx.cohorts["finished"]
    assert running and finished
    for cohort in running + finished:
        sessions = services.list_sessions(cohort.id)
        assert sessions, cohort.name
        held = [s for s in sessions if s.ends_at <= ctx.now and s.status == SessionStatus.SCHEDULED]
        rates = services.cohort_attendance_rates(cohort, now=ctx.now)
        assert held and rates
        assert sum(1 for r in rates.values() if r.at_risk) >= 1, cohort.name
        assert sum(1 for r in rates.values() if r.meets_threshold) > len(rates) / 2, cohort.name
    statuses = Counter(db.session.scalars(select(AttendanceRecord.status)))
    assert statuses["present"] > 5 * statuses["late"] > 0  # mostly present, some late
    assert statuses["excused"] > 0 and statuses["absent"] > 0
    assert db.session.scalar(select(ClassSession.id).where(ClassSession.status == SessionStatus.CANCELLED))
    learner = ctx.demo_learner
    pending = db.session.scalars(select(LeaveRequest).where(LeaveRequest.learner_id == learner.id,
                                                            LeaveRequest.status == LeaveStatus.PENDING)).all()
    assert pending
    mine = services.attendance_rate(learner.id, running[0], now=ctx.now)
    assert mine.absent >= 1 and mine.can_still_miss is not None
