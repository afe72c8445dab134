"""Attendance rules: sessions (课次), check-in settings, roll call and leave — and, re-exported
from their own files, self check-in (``checkin.py``) and rates (``rates.py``), so that other
modules import everything from here.

Every function takes the acting person keyword-only (``actor``) where someone acts, takes
``now`` (aware UTC) for anything that depends on the time, raises ``AttendanceError`` /
``CheckInRefused`` / ``PermissionDenied`` (``DomainError``) with a Chinese message a rider or an
instructor can act on, adds and flushes, and never commits.

Exam and certificate eligibility read ``meets_attendance_threshold`` (and gradebooks
``cohort_attendance_rates``) from this module. How concurrent writes of one status are made
safe is explained in ``records.py``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from sqlalchemy import select, update

from academy.accounts.models import User
from academy.accounts.permissions import can_manage_cohort
from academy.attendance.checkin import (  # re-exported: self check-in is part of this interface
    CheckInPreview,
    CheckInRefused,
    CheckInResult,
    Preview,
    Refusal,
    ScanPass,
    check_in,
    check_in_with_code,
    checked_in_count,
    open_sessions_for,
    preview_check_in,
    record_check_in,
    scan_grace_seconds,
    verify_token,
    window_status,
)
from academy.attendance.models import (
    DEFAULT_CLOSES_AFTER_MINUTES,
    DEFAULT_LATE_AFTER_MINUTES,
    DEFAULT_OPENS_BEFORE_MINUTES,
    DEFAULT_ROTATION_SECONDS,
    LEAVE_STATUS_ZH,
    MAX_ROTATION_SECONDS,
    MAX_WINDOW_MINUTES,
    MIN_ROTATION_SECONDS,
    AttendanceRecord,
    AttendanceStatus,
    CheckInSettings,
    ClassSession,
    LeaveRequest,
    LeaveStatus,
    RecordSource,
    SessionStatus,
)
from academy.attendance.rates import (  # re-exported: the rates are part of this interface
    AttendanceRate,
    attendance_rate,
    cohort_attendance_rates,
    enrolled_ids,
    learner_attendance_rates,
    meets_attendance_threshold,
    percent,
)
from academy.attendance.records import (
    add_history,
    enrolled_learners,
    insert_if_absent,
    is_enrolled,
    load_record,
    write_status,
)
from academy.audit.services import record
from academy.catalogue.models import Cohort
from academy.common.timeutil import format_local, local_datetime, now_utc
from academy.errors import Conflict, DomainError, PermissionDenied
from academy.extensions import db

MAX_SESSION_HOURS = 24
MAX_GENERATE_DAYS = 400


class AttendanceError(DomainError):
    """An attendance rule refused the operation (sessions, roll call, leave)."""


# --- check-in settings ------------------------------------------------------------------------

@dataclass(frozen=True)
class CheckInRules:
    """Check-in window and rotation: minutes before start / after start / after end; seconds."""

    opens_before_minutes: int
    late_after_minutes: int
    closes_after_minutes: int
    rotation_seconds: int

    def validate(self) -> None:
        """Raise ``AttendanceError`` when a value is out of range (0–240 min; 10–300 s)."""
        for value in (self.opens_before_minutes, self.late_after_minutes, self.closes_after_minutes):
            if value is None or not 0 <= value <= MAX_WINDOW_MINUTES:
                raise AttendanceError(f"签到时间设置应在 0 到 {MAX_WINDOW_MINUTES} 分钟之间")
        if self.rotation_seconds is None or not MIN_ROTATION_SECONDS <= self.rotation_seconds <= MAX_ROTATION_SECONDS:
            raise AttendanceError(f"二维码更新间隔应在 {MIN_ROTATION_SECONDS} 到 {MAX_ROTATION_SECONDS} 秒之间")


RULE_FIELDS = ("opens_before_minutes", "late_after_minutes", "closes_after_minutes", "rotation_seconds")


def cohort_rules(cohort: Cohort) -> CheckInRules:
    """The cohort's check-in defaults: its ``CheckInSettings`` row, else 15 / 15 / 0 min and 30 s."""
    row = db.session.get(CheckInSettings, cohort.id)
    if row is None:
        return CheckInRules(DEFAULT_OPENS_BEFORE_MINUTES, DEFAULT_LATE_AFTER_MINUTES, DEFAULT_CLOSES_AFTER_MINUTES,
                            DEFAULT_ROTATION_SECONDS)
    return CheckInRules(**{f: getattr(row, f) for f in RULE_FIELDS})


def session_rules(session: ClassSession) -> CheckInRules:
    """The check-in rules a session uses."""
    return CheckInRules(**{f: getattr(session, f) for f in RULE_FIELDS})


def save_cohort_rules(cohort: Cohort, rules: CheckInRules, *, actor: User, now: datetime | None = None,
                      apply_to_upcoming: bool = True) -> int:
    """Store the cohort's check-in defaults; with ``apply_to_upcoming`` also change every
    scheduled session that has not started yet. Returns the number of sessions changed.

    Raises ``AttendanceError`` for out-of-range values, ``PermissionDenied`` for someone who
    does not manage the cohort.
    """
    _require_staff(actor, cohort)
    rules.validate()
    now = now or now_utc()
    row = db.session.get(CheckInSettings, cohort.id) or CheckInSettings(cohort_id=cohort.id)
    for f in RULE_FIELDS:
        setattr(row, f, getattr(rules, f))
    row.updated_by_id = actor.id
    db.session.add(row)
    changed = 0
    if apply_to_upcoming:
        result = db.session.execute(
            update(ClassSession)
            .where(ClassSession.cohort_id == cohort.id, ClassSession.starts_at > now,
                   ClassSession.status == SessionStatus.SCHEDULED)
            .values({f: getattr(rules, f) for f in RULE_FIELDS})
            .execution_options(synchronize_session="fetch")
        )
        changed = result.rowcount or 0
    db.session.flush()
    record("attendance.rules_changed", actor=actor, obj=cohort, sessions=changed,
           **{f: getattr(rules, f) for f in RULE_FIELDS})
    return changed


# --- sessions -------------------------------------------------------------------------------

def _require_staff(actor: User, cohort: Cohort) -> None:
    if not can_manage_cohort(actor, cohort):
        raise PermissionDenied("只有本班教师和管理员可以操作")


def session_times(day: date, start: time, end: time, *, ends_next_day: bool = False) -> tuple[datetime, datetime]:
    """Turn a local day and wall-clock start/end (Asia/Shanghai) into aware UTC instants.

    ``ends_next_day`` puts the end on the following day (22:30–00:30). Raises
    ``AttendanceError`` when the end is not after the start.
    """
    starts_at = local_datetime(day, start)
    ends_at = local_datetime(day + timedelta(days=1) if ends_next_day else day, end)
    if ends_at <= starts_at:
        raise AttendanceError("下课时间必须晚于上课时间；如果课程跨过午夜，请勾选“次日结束”")
    return starts_at, ends_at


def _validate_times(starts_at: datetime, ends_at: datetime) -> None:
    if starts_at.tzinfo is None or ends_at.tzinfo is None:
        raise ValueError("session times must be aware datetimes")
    if ends_at <= starts_at:
        raise AttendanceError("下课时间必须晚于上课时间；如果课程跨过午夜，请勾选“次日结束”")
    if ends_at - starts_at > timedelta(hours=MAX_SESSION_HOURS):
        raise AttendanceError(f"一次课不能超过 {MAX_SESSION_HOURS} 小时，请检查日期和时间")


def _clean(text: str | None, limit: int) -> str | None:
    text = (text or "").strip()
    return text[:limit] or None


def _starts_taken(cohort_id: int, starts_at: datetime, *, except_id: int | None = None) -> bool:
    stmt = select(ClassSession.id).where(ClassSession.cohort_id == cohort_id, ClassSession.starts_at == starts_at)
    if except_id is not None:
        stmt = stmt.where(ClassSession.id != except_id)
    return db.session.scalar(stmt.limit(1)) is not None


def create_session(cohort: Cohort, *, starts_at: datetime, ends_at: datetime, place: str | None = None,
                   topic: str | None = None, actor: User, rules: CheckInRules | None = None) -> ClassSession:
    """Add one session to ``cohort`` (start and end aware; place defaults to the cohort's).

    The check-in rules default to the cohort's (``cohort_rules``). Raises ``AttendanceError``
    when the end is not after the start, the session is longer than 24 h or another session of
    the cohort starts at the same moment; ``PermissionDenied`` for someone else's cohort.
    """
    _require_staff(actor, cohort)
    _validate_times(starts_at, ends_at)
    rules = rules or cohort_rules(cohort)
    rules.validate()
    if _starts_taken(cohort.id, starts_at):
        raise AttendanceError(f"{format_local(starts_at)} 已经有一次课了")
    session = ClassSession(cohort_id=cohort.id, starts_at=starts_at, ends_at=ends_at,
                           place=_clean(place, 120) or cohort.place, topic=_clean(topic, 200),
                           status=SessionStatus.SCHEDULED, **{f: getattr(rules, f) for f in RULE_FIELDS})
    db.session.add(session)
    db.session.flush()
    record("attendance.session_created", actor=actor, obj=session, cohort=cohort.code,
           starts_at=format_local(starts_at))
    return session


@dataclass(frozen=True)
class GenerationResult:
    """Sessions made from a weekly pattern, and the local days left out (skipped or existing)."""

    created: list[ClassSession]
    skipped: list[date]
    existing: list[date]


def generate_sessions(cohort: Cohort, first_day: date, last_day: date, *, actor: User,
                      skip: Iterable[date] = (), topic: str | None = None) -> GenerationResult:
    """Create a session for each weekly meeting of ``cohort`` (``Cohort.meetings``: weekday
    0 = Monday, local start/end; an end not after the start means the next day) on every local
    day from ``first_day`` to ``last_day`` inclusive, except the days in ``skip`` (holidays).

    Days that already have a session starting at that moment are left alone, so generating twice
    adds nothing. Raises ``AttendanceError`` when the range is reversed or longer than 400 days
    or the cohort has no weekly meetings.
    """
    _require_staff(actor, cohort)
    if last_day < first_day:
        raise AttendanceError("结束日期不能早于开始日期")
    if (last_day - first_day).days > MAX_GENERATE_DAYS:
        raise AttendanceError(f"一次最多生成 {MAX_GENERATE_DAYS} 天内的课次")
    if not cohort.meetings:
        raise AttendanceError("这个班级还没有设置每周上课时间，请先在班级信息里填写，或逐个添加课次")
    skip = set(skip)
    rules = cohort_rules(cohort)
    existing_starts = set(db.session.scalars(
        select(ClassSession.starts_at).where(ClassSession.cohort_id == cohort.id)
    ))
    created: list[ClassSession] = []
    skipped: list[date] = []
    existing: list[date] = []
    day = first_day
    while day <= last_day:
        for meeting in (m for m in cohort.meetings if m.weekday == day.weekday()):
            if day in skip:
                skipped.append(day)
                continue
            starts_at, ends_at = session_times(day, meeting.start_time, meeting.end_time,
                                               ends_next_day=meeting.end_time <= meeting.start_time)
            if starts_at in existing_starts:
                existing.append(day)
                continue
            session = ClassSession(cohort_id=cohort.id, starts_at=starts_at, ends_at=ends_at, place=cohort.place,
                                   topic=_clean(topic, 200), status=SessionStatus.SCHEDULED,
                                   **{f: getattr(rules, f) for f in RULE_FIELDS})
            db.session.add(session)
            created.append(session)
            existing_starts.add(starts_at)
        day += timedelta(days=1)
    db.session.flush()
    record("attendance.sessions_generated", actor=actor, obj=cohort, created=len(created),
           first_day=first_day.isoformat(), last_day=last_day.isoformat(),
           skipped=[d.isoformat() for d in sorted(set(skipped))])
    return GenerationResult(created=created, skipped=sorted(set(skipped)), existing=sorted(set(existing)))


def update_session(session: ClassSession, *, starts_at: datetime, ends_at: datetime, place: str | None,
                   topic: str | None, rules: CheckInRules, actor: User) -> ClassSession:
    """Change a session's times, place, topic and check-in rules.

    Raises ``AttendanceError`` for an end not after the start, a clash with another session of
    the cohort, or out-of-range rules.
    """
    _require_staff(actor, session.cohort)
    _validate_times(starts_at, ends_at)
    rules.validate()
    if _starts_taken(session.cohort_id, starts_at, except_id=session.id):
        raise AttendanceError(f"{format_local(starts_at)} 已经有一次课了")
    old = {"starts_at": format_local(session.starts_at), "ends_at": format_local(session.ends_at)}
    session.starts_at, session.ends_at = starts_at, ends_at
    session.place, session.topic = _clean(place, 120), _clean(topic, 200)
    for f in RULE_FIELDS:
        setattr(session, f, getattr(rules, f))
    db.session.flush()
    record("attendance.session_updated", actor=actor, obj=session, old=old,
           starts_at=format_local(starts_at), ends_at=format_local(ends_at))
    return session


def cancel_session(session: ClassSession, reason: str, *, actor: User) -> None:
    """Cancel a session (it no longer counts in any rate); its records are kept.

    Raises ``AttendanceError`` when it is already cancelled or no reason is given.
    """
    _require_staff(actor, session.cohort)
    if session.is_cancelled:
        raise AttendanceError("这次课已经取消了")
    reason = (reason or "").strip()
    if not reason:
        raise AttendanceError("请填写取消原因，学员会看到")
    session.status = SessionStatus.CANCELLED
    session.cancel_reason = reason[:200]
    db.session.flush()
    record("attendance.session_cancelled", actor=actor, obj=session, reason=session.cancel_reason)


def restore_session(session: ClassSession, *, actor: User) -> None:
    """Undo a cancellation. Raises ``AttendanceError`` if the session is not cancelled."""
    _require_staff(actor, session.cohort)
    if not session.is_cancelled:
        raise AttendanceError("这次课没有被取消")
    session.status = SessionStatus.SCHEDULED
    session.cancel_reason = None
    db.session.flush()
    record("attendance.session_restored", actor=actor, obj=session)


def list_sessions(cohort_id: int, *, include_cancelled: bool = True) -> list[ClassSession]:
    """The cohort's sessions in time order."""
    stmt = select(ClassSession).where(ClassSession.cohort_id == cohort_id)
    if not include_cancelled:
        stmt = stmt.where(ClassSession.status == SessionStatus.SCHEDULED)
    return list(db.session.scalars(stmt.order_by(ClassSession.starts_at, ClassSession.id)))


def session_numbers(sessions: Sequence[ClassSession]) -> dict[int, int]:
    """第 N 次课: the 1-based number of each scheduled session in time order (cancelled: none)."""
    ordered = sorted((s for s in sessions if not s.is_cancelled), key=lambda s: (s.starts_at, s.id))
    return {s.id: n for n, s in enumerate(ordered, start=1)}


def get_session_by_code(public_code: str) -> ClassSession | None:
    """The session named by a check-in link's public code, or None."""
    return db.session.scalar(select(ClassSession).where(ClassSession.public_code == public_code))


# --- roll call ----------------------------------------------------------------------------

def set_status(session: ClassSession, learner_id: int, status: AttendanceStatus | str, note: str | None = None, *,
               actor: User, now: datetime) -> bool:
    """The instructor sets a learner's status at a session (roll call), overriding self check-in.

    Every change is kept in ``AttendanceChange`` (who, when, old → new, note). Present, late and
    absent can be set from the opening of check-in; excused at any time. Returns True when
    something changed. Raises ``AttendanceError`` for a cancelled session, a learner not enrolled,
    an unknown status or a session not open yet; ``PermissionDenied`` for another cohort.
    """
    _require_staff(actor, session.cohort)
    try:
        status = AttendanceStatus(status)
    except ValueError:
        raise AttendanceError("未知的考勤状态") from None
    if session.is_cancelled:
        raise AttendanceError("这次课已取消，不能点名")
    if status != AttendanceStatus.EXCUSED and now < session.opens_at:
        raise AttendanceError(f"这次课还没开始，{format_local(session.opens_at, '%m月%d日 %H:%M')} 后才能点名"
                              "（提前请假可以记为“请假”）")
    if not is_enrolled(learner_id, session.cohort_id):
        raise AttendanceError("该学员不在本班名单中")
    return write_status(session, learner_id, status, RecordSource.ROLL_CALL, actor_id=actor.id, now=now,
                       note=_clean(note, 200))


def mark_unmarked_absent(session: ClassSession, *, actor: User, now: datetime) -> int:
    """Mark every enrolled learner without a status at this session as absent; returns how many.

    Allowed once the session has started. Raises ``AttendanceError`` otherwise or for a cancelled
    session.
    """
    _require_staff(actor, session.cohort)
    if session.is_cancelled:
        raise AttendanceError("这次课已取消，不能点名")
    if now < session.starts_at:
        raise AttendanceError("课程开始后才能把未签到的学员记为缺勤")
    marked = set(db.session.scalars(select(AttendanceRecord.learner_id)
                                    .where(AttendanceRecord.session_id == session.id)))
    count = 0
    for learner_id in (i for i in enrolled_ids(session.cohort_id) if i not in marked):
        if insert_if_absent({"session_id": session.id, "learner_id": learner_id,
                              "status": AttendanceStatus.ABSENT, "source": RecordSource.ROLL_CALL,
                              "marked_by_id": actor.id, "marked_at": now}):
            add_history(session.id, learner_id, None, AttendanceStatus.ABSENT, RecordSource.ROLL_CALL,
                     actor_id=actor.id, now=now)
            count += 1
    db.session.flush()
    record("attendance.unmarked_absent", actor=actor, obj=session, count=count)
    return count




# --- leave ----------------------------------------------------------------------------------

def leave_closed_reason(session: ClassSession, *, now: datetime) -> str | None:
    """Why no leave can be asked for ``session`` at ``now`` (cancelled, started or over), or None.

    The leave page shows this before the learner types a reason; ``request_leave`` enforces it.
    """
    if session.is_cancelled:
        return "这次课已取消，不需要请假"
    if now >= session.starts_at:
        return "这次课已经开始或已结束，不能再请假；如有特殊情况请联系老师"
    return None


def request_leave(session: ClassSession, learner: User, reason: str, *, now: datetime) -> LeaveRequest:
    """The learner asks for leave from a session that has not started yet, giving a reason.

    Raises ``AttendanceError`` for a past or started session, a cancelled one, a learner not
    enrolled, an empty or overlong reason, or a check-in already made; ``Conflict`` when a
    pending or approved request already exists.
    """
    closed = leave_closed_reason(session, now=now)
    if closed:
        raise AttendanceError(closed)
    if not is_enrolled(learner.id, session.cohort_id):
        raise AttendanceError("您不在本班学员名单中")
    reason = (reason or "").strip()
    if not reason:
        raise AttendanceError("请填写请假原因")
    if len(reason) > 500:
        raise AttendanceError("请假原因请写在 500 字以内")
    open_request = db.session.scalar(
        select(LeaveRequest).where(LeaveRequest.session_id == session.id, LeaveRequest.learner_id == learner.id,
                                   LeaveRequest.status.in_((LeaveStatus.PENDING, LeaveStatus.APPROVED)))
    )
    if open_request is not None:
        raise Conflict(f"这次课您已经请过假了（{LEAVE_STATUS_ZH[open_request.status]}）")
    existing = load_record(session.id, learner.id)
    if existing is not None and existing.status in (AttendanceStatus.PRESENT, AttendanceStatus.LATE):
        raise AttendanceError("您已签到，不能再请假")
    leave = LeaveRequest(session_id=session.id, learner_id=learner.id, reason=reason,
                         status=LeaveStatus.PENDING, requested_at=now)
    db.session.add(leave)
    db.session.flush()
    record("attendance.leave_requested", actor=learner, obj=leave, session=session.id)
    return leave


def decide_leave(leave: LeaveRequest, approve: bool, note: str | None = None, *, actor: User,
                 now: datetime) -> LeaveRequest:
    """The instructor approves (the session becomes excused) or rejects (a reason is required).

    Raises ``AttendanceError`` when the request is no longer pending, a rejection has no reason,
    or the learner already checked in; ``PermissionDenied`` for another cohort's instructor.
    """
    session = leave.session
    _require_staff(actor, session.cohort)
    db.session.refresh(leave, attribute_names=["status"], with_for_update=True)
    if leave.status != LeaveStatus.PENDING:
        raise AttendanceError(f"这条请假已经处理过了（{LEAVE_STATUS_ZH[leave.status]}）")
    note = _clean(note, 200)
    if not approve and not note:
        raise AttendanceError("不批准时请填写原因，学员会看到")
    if approve:
        existing = load_record(session.id, leave.learner_id)
        if existing is not None and existing.status in (AttendanceStatus.PRESENT, AttendanceStatus.LATE):
            raise AttendanceError("该学员这次课已签到，不需要批准请假")
        write_status(session, leave.learner_id, AttendanceStatus.EXCUSED, RecordSource.LEAVE, actor_id=actor.id,
                    now=now, note=_clean(f"请假：{leave.reason}", 200))
    leave.status = LeaveStatus.APPROVED if approve else LeaveStatus.REJECTED
    leave.decided_by_id, leave.decided_at, leave.decision_note = actor.id, now, note
    db.session.flush()
    record("attendance.leave_approved" if approve else "attendance.leave_rejected", actor=actor, obj=leave,
           note=note)
    return leave


def withdraw_leave(leave: LeaveRequest, *, actor: User, now: datetime) -> None:
    """The learner withdraws a pending request. Raises ``AttendanceError`` if it is not pending,
    ``PermissionDenied`` if it is not theirs."""
    if actor.id != leave.learner_id:
        raise PermissionDenied("只能撤回自己的请假")
    if leave.status != LeaveStatus.PENDING:
        raise AttendanceError("只能撤回待审批的请假")
    leave.status = LeaveStatus.WITHDRAWN
    leave.decided_at = now
    db.session.flush()
    record("attendance.leave_withdrawn", actor=actor, obj=leave)


__all__ = [
    "AttendanceError", "AttendanceRate", "CheckInPreview", "CheckInRefused", "CheckInResult", "CheckInRules",
    "GenerationResult", "Preview", "Refusal", "ScanPass", "attendance_rate", "cancel_session", "check_in",
    "check_in_with_code", "checked_in_count", "cohort_attendance_rates", "cohort_rules", "create_session",
    "decide_leave", "enrolled_learners", "generate_sessions", "get_session_by_code", "is_enrolled",
    "learner_attendance_rates", "list_sessions", "mark_unmarked_absent", "meets_attendance_threshold",
    "open_sessions_for", "percent", "preview_check_in", "record_check_in", "request_leave", "restore_session",
    "save_cohort_rules", "scan_grace_seconds", "session_numbers", "session_rules", "session_times", "set_status",
    "update_session", "verify_token", "window_status", "withdraw_leave",
]
