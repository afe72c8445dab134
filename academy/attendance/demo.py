"""Demo step: class sessions and attendance for the running and finished demo cohorts.

Sessions come from each cohort's weekly pattern through ``services.generate_sessions`` (one
holiday skipped, one upcoming session of each running cohort cancelled). For every session
already over, each enrolled learner gets what a real class looks like: mostly present (scanned
the QR code, some typed the 6-digit code), some late, a few excused through an approved leave
request (``request_leave`` / ``decide_leave``) and a few absent (some marked by the instructor's
"mark all unmarked as absent", some simply never checked in). Two learners per cohort attend
poorly, so the instructor's rate list has learners at risk. In a running cohort the demo learner
(邱志明) has missed one session and asked for leave from the next one.

Self check-ins are written directly as the rows ``checkin.check_in`` would write (a record and
its first history row), in bulk, so the step stays fast; every rule-bearing change (leave,
roll call) goes through the services.
"""

from __future__ import annotations

from datetime import date, timedelta

from academy.attendance import services
from academy.attendance.models import (
    AttendanceChange,
    AttendanceRecord,
    ClassSession,
    RecordSource,
)
from academy.catalogue.models import Cohort
from academy.enrolment.services import enrolled_learner_ids
from academy.extensions import db

TOPICS = ("开班：安全教育与课程介绍", "理论讲解", "实操示范", "分组实操练习", "实操练习与点评", "复习与答疑")
LEAVE_REASONS = ("晚高峰订单多，需要跑单", "孩子生病，要去医院", "公司临时排班", "回老家办事", "车辆年检")
AT_RISK_PER_COHORT = 2


def load(ctx) -> None:
    """Add sessions and attendance to every finished and running demo cohort (``ctx.cohorts``)."""
    for cohort in ctx.cohorts_in("finished", "running"):
        if cohort.meetings:
            _cohort_attendance(ctx, cohort)


def _cohort_attendance(ctx, cohort: Cohort) -> None:
    staff = cohort.instructors[0] if cohort.instructors else ctx.admin
    holiday = _a_meeting_day(cohort, cohort.start_date + (cohort.end_date - cohort.start_date) / 2)
    result = services.generate_sessions(cohort, cohort.start_date, cohort.end_date, actor=staff,
                                        skip=[holiday] if holiday else [])
    sessions = sorted(result.created, key=lambda s: s.starts_at)
    for n, session in enumerate(sessions):
        session.topic = TOPICS[0] if n == 0 else ("结业考核准备" if n == len(sessions) - 1 else
                                                  TOPICS[1 + n % (len(TOPICS) - 1)])
    upcoming = [s for s in sessions if s.starts_at > ctx.now]
    if len(upcoming) > 2:
        services.cancel_session(upcoming[1], "实训室设备检修，本次课顺延", actor=staff)
    db.session.flush()
    learner_ids = enrolled_learner_ids(cohort.id)
    reliability = _reliability(ctx, learner_ids)
    demo_id = ctx.demo_learner.id if getattr(ctx, "demo_learner", None) else None
    held = [s for s in sessions if s.starts_at <= ctx.now and not s.is_cancelled]
    for index, session in enumerate(held):
        ongoing = session.ends_at > ctx.now
        absentees = []
        for learner_id in learner_ids:
            if demo_id == learner_id and index == len(held) - 2 and not ongoing:
                absentees.append(learner_id)  # the demo learner missed one session
                continue
            draw = ctx.rng.random()
            if ongoing and draw > 0.7:
                continue  # has not scanned yet
            if draw < reliability[learner_id] or ongoing:
                _self_check_in(ctx, session, learner_id)
            elif draw < reliability[learner_id] + 0.04:
                _approved_leave(ctx, session, learner_id, staff)
            else:
                absentees.append(learner_id)
        if not ongoing and absentees and ctx.rng.random() < 0.7:
            services.mark_unmarked_absent(session, actor=staff, now=session.ends_at)
    _pending_leave(ctx, sessions, learner_ids, demo_id)
    db.session.flush()


def _a_meeting_day(cohort: Cohort, around: date) -> date | None:
    """The first day on or after ``around`` that has a weekly meeting (to skip as a holiday)."""
    weekdays = {m.weekday for m in cohort.meetings}
    for offset in range(7):
        day = around + timedelta(days=offset)
        if day.weekday() in weekdays and day <= cohort.end_date:
            return day
    return None


def _reliability(ctx, learner_ids: list[int]) -> dict[int, float]:
    """Chance of coming to a session: most learners 85–99 %, two per cohort 45–65 %."""
    values = {i: ctx.rng.uniform(0.85, 0.99) for i in learner_ids}
    demo_id = ctx.demo_learner.id if getattr(ctx, "demo_learner", None) else None
    candidates = [i for i in learner_ids if i != demo_id]
    for learner_id in ctx.rng.sample(candidates, min(AT_RISK_PER_COHORT, len(candidates))):
        values[learner_id] = ctx.rng.uniform(0.45, 0.65)
    if demo_id in values:
        values[demo_id] = 0.99
    return values


def _self_check_in(ctx, session: ClassSession, learner_id: int) -> None:
    """The rows ``check_in`` writes for a scan: mostly before the late boundary, some after."""
    if ctx.rng.random() < 0.1:
        at = session.late_at + timedelta(seconds=ctx.rng.randint(0, 40 * 60))
    else:
        at = session.opens_at + timedelta(seconds=ctx.rng.randint(0, session.opens_before_minutes * 60
                                                                   + session.late_after_minutes * 60 - 1))
    at = min(at, ctx.now, session.closes_at - timedelta(seconds=1))
    status = services.window_status(session, at)
    source = RecordSource.CODE if ctx.rng.random() < 0.1 else RecordSource.QR
    db.session.add(AttendanceRecord(session_id=session.id, learner_id=learner_id, status=status, source=source,
                                    checked_in_at=at, marked_by_id=learner_id, marked_at=at))
    db.session.add(AttendanceChange(session_id=session.id, learner_id=learner_id, old_status=None,
                                    new_status=status, source=source, changed_by_id=learner_id, changed_at=at))


def _approved_leave(ctx, session: ClassSession, learner_id: int, staff) -> None:
    from academy.accounts.models import User

    learner = db.session.get(User, learner_id)
    asked = session.starts_at - timedelta(hours=ctx.rng.randint(3, 30))
    leave = services.request_leave(session, learner, ctx.rng.choice(LEAVE_REASONS), now=asked)
    services.decide_leave(leave, True, actor=staff, now=asked + timedelta(hours=1))


def _pending_leave(ctx, sessions: list[ClassSession], learner_ids: list[int], demo_id: int | None) -> None:
    """Two pending requests for the next session (one of them the demo learner's, if enrolled)."""
    from academy.accounts.models import User

    upcoming = [s for s in sessions if s.starts_at > ctx.now and not s.is_cancelled]
    if not upcoming or not learner_ids:
        return
    askers = [demo_id] if demo_id in learner_ids else []
    askers += ctx.rng.sample([i for i in learner_ids if i != demo_id], min(1, len(learner_ids) - len(askers)))
    for learner_id in askers:
        services.request_leave(upcoming[0], db.session.get(User, learner_id), ctx.rng.choice(LEAVE_REASONS),
                               now=ctx.now)

