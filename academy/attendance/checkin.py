"""Self check-in: the rotating QR token or typed code, the check-in window, the one-tap confirm.

The server decides everything from ``now`` and the moment the token was verified; the phone only
carries the token. A verified scan (``ScanPass``) may be kept by the browser for
``ATTENDANCE_SCAN_GRACE_SECONDS`` (600) so that a learner who has to log in first can still
confirm; a forwarded link whose token has expired is refused. Writes go through ``records``
(see there for how concurrent check-ins are handled).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from flask import current_app, has_app_context
from sqlalchemy import func, select

from academy.accounts.models import User
from academy.attendance import tokens
from academy.attendance.models import (
    MAX_WINDOW_MINUTES,
    STATUS_ZH,
    AttendanceRecord,
    AttendanceStatus,
    ClassSession,
    RecordSource,
    SessionStatus,
)
from academy.attendance.records import add_history, insert_if_absent, is_enrolled, load_record
from academy.audit.models import AuditEvent
from academy.audit.services import record
from academy.common.text import digits_text
from academy.common.timeutil import format_local, local_today, to_local
from academy.enrolment.models import Enrolment, EnrolmentStatus
from academy.errors import DomainError
from academy.extensions import db

# How long a verified scan stays usable in the browser that made it (login, then confirm).
DEFAULT_SCAN_GRACE_SECONDS = 600
# Typed-code attempts: at most this many wrong codes per learner within the window.
MAX_WRONG_CODES, WRONG_CODE_WINDOW = 5, timedelta(minutes=10)


class Refusal(StrEnum):
    """Why a check-in was refused; each has its own Chinese message."""

    CANCELLED = "cancelled"
    NOT_ENROLLED = "not_enrolled"
    INVALID = "invalid"
    EXPIRED = "expired"
    NOT_OPEN = "not_open"
    CLOSED = "closed"
    WRONG_CODE = "wrong_code"
    TOO_MANY = "too_many"
    NOTHING_OPEN = "nothing_open"
    RECORDED_BY_STAFF = "recorded_by_staff"


class CheckInRefused(DomainError):
    """A check-in was refused; ``reason`` is a ``Refusal``.

    ``keep_writes`` is True when the refusal itself was recorded (a wrong typed code, which
    counts towards the attempt limit) and the caller should commit rather than roll back.
    """

    def __init__(self, reason: Refusal, message: str, *, keep_writes: bool = False):
        super().__init__(message)
        self.reason = reason
        self.keep_writes = keep_writes


EXPIRED_MESSAGE = "二维码已过期，请重新扫描投影上的二维码"
INVALID_MESSAGE = "二维码无效，请重新扫描投影上的二维码"
NOT_ENROLLED_MESSAGE = "您不在本班学员名单中，不能签到。如已报名，请联系老师"


def _config(name: str, default: int) -> int:
    return int(current_app.config.get(name, default)) if has_app_context() else default


def scan_grace_seconds() -> int:
    """Seconds a verified scan stays valid in its browser (``ATTENDANCE_SCAN_GRACE_SECONDS``, 600)."""
    return _config("ATTENDANCE_SCAN_GRACE_SECONDS", DEFAULT_SCAN_GRACE_SECONDS)


@dataclass(frozen=True)
class ScanPass:
    """Proof that a browser held a valid token (or code) of ``session_id`` at ``scanned_at``.

    Made only after the HMAC check (``verify_token``, ``check_in_with_code``); views keep it in the
    signed session cookie so that a learner who must log in first can still confirm.
    """

    session_id: int
    scanned_at: datetime
    source: RecordSource = RecordSource.QR


@dataclass(frozen=True)
class CheckInResult:
    """Outcome of a check-in: the status, when, and whether this call wrote it."""

    status: AttendanceStatus
    checked_in_at: datetime | None
    created: bool

    @property
    def message(self) -> str:
        """What the learner reads: 签到成功 or 已签到, with the status and time (Asia/Shanghai)."""
        label = STATUS_ZH.get(self.status, "")
        at = format_local(self.checked_in_at, "%H:%M") if self.checked_in_at else ""
        if self.created:
            return f"签到成功：{at} {label}"
        return f"您已于 {at} 签到（{label}），无需重复签到"


def verify_token(session: ClassSession, token: str | None, *, now: datetime) -> ScanPass:
    """Check a QR token for ``session`` at ``now`` and return a ``ScanPass``.

    Raises ``CheckInRefused`` EXPIRED ("二维码已过期…") for a genuine token older than the previous
    interval, INVALID for a tampered, foreign or future token, CANCELLED for a cancelled session.
    """
    if session.is_cancelled:
        raise CheckInRefused(Refusal.CANCELLED, "本次课已取消，无需签到")
    verdict = tokens.check_token(session.id, token, session.rotation_seconds, now=now)
    if verdict.result == tokens.TokenCheck.EXPIRED:
        raise CheckInRefused(Refusal.EXPIRED, EXPIRED_MESSAGE)
    if not verdict.ok:
        raise CheckInRefused(Refusal.INVALID, INVALID_MESSAGE)
    return ScanPass(session_id=session.id, scanned_at=now, source=RecordSource.QR)


def window_status(session: ClassSession, at: datetime) -> AttendanceStatus:
    """PRESENT or LATE for a check-in at ``at``, or raise ``CheckInRefused`` NOT_OPEN / CLOSED.

    Open from ``starts_at − opens_before`` (inclusive); late from ``starts_at + late_after``
    (inclusive, to the second); closed from ``ends_at + closes_after`` (inclusive).
    """
    if at < session.opens_at:
        fmt = "%H:%M" if local_today(at) == to_local(session.opens_at).date() else "%m月%d日 %H:%M"
        raise CheckInRefused(Refusal.NOT_OPEN,
                             f"签到还没开始，{format_local(session.opens_at, fmt)} 开放签到，到时请重新扫码")
    if at >= session.closes_at:
        raise CheckInRefused(Refusal.CLOSED, f"本次课签到已结束（{format_local(session.closes_at, '%H:%M')} 截止）。"
                                             "如果您在上课，请找老师点名")
    return AttendanceStatus.LATE if at >= session.late_at else AttendanceStatus.PRESENT


def check_in(session: ClassSession, learner: User, scan: ScanPass | None, *, now: datetime) -> CheckInResult:
    """Record the learner's own check-in from a verified scan; the server decides the status.

    The check-in moment is ``scan.scanned_at`` (when the server verified the token or code),
    which must lie at most ``ATTENDANCE_SCAN_GRACE_SECONDS`` before ``now`` (the learner may have
    had to log in first). A second check-in changes nothing and returns ``created=False``. An
    excused status from approved leave becomes present/late (the learner came after all); a
    status set by the instructor is never changed by a scan.

    Raises ``CheckInRefused``: CANCELLED, INVALID (scan of another session), NOT_ENROLLED,
    EXPIRED (scan too old), NOT_OPEN, CLOSED, RECORDED_BY_STAFF.
    """
    if session.is_cancelled:
        raise CheckInRefused(Refusal.CANCELLED, "本次课已取消，无需签到")
    if scan is not None and scan.session_id != session.id:
        raise CheckInRefused(Refusal.INVALID, INVALID_MESSAGE)
    if not is_enrolled(learner.id, session.cohort_id):
        raise CheckInRefused(Refusal.NOT_ENROLLED, NOT_ENROLLED_MESSAGE)
    existing = load_record(session.id, learner.id)
    if existing is not None and not _excused_by_leave(existing):
        return _repeat_or_refuse(existing)
    if not _scan_fresh(scan, now):
        raise CheckInRefused(Refusal.EXPIRED, EXPIRED_MESSAGE)
    at = scan.scanned_at
    status = window_status(session, at)
    if existing is None:
        if insert_if_absent({"session_id": session.id, "learner_id": learner.id, "status": status,
                              "source": scan.source, "checked_in_at": at, "marked_by_id": learner.id,
                              "marked_at": now}):
            add_history(session.id, learner.id, None, status, scan.source, actor_id=learner.id, now=now)
            db.session.flush()
            return CheckInResult(status=status, checked_in_at=at, created=True)
        # Lost a race with another request of the same learner (or the instructor): read theirs.
    existing = load_record(session.id, learner.id, lock=True)
    if not _excused_by_leave(existing):
        return _repeat_or_refuse(existing)
    existing.status, existing.source, existing.checked_in_at = status, scan.source, at
    existing.marked_by_id, existing.marked_at = learner.id, now
    add_history(session.id, learner.id, AttendanceStatus.EXCUSED, status, scan.source, actor_id=learner.id, now=now)
    db.session.flush()
    return CheckInResult(status=status, checked_in_at=at, created=True)


def _scan_fresh(scan: ScanPass | None, now: datetime) -> bool:
    return scan is not None and scan.scanned_at <= now <= scan.scanned_at + timedelta(seconds=scan_grace_seconds())


class Preview(StrEnum):
    """What the check-in page shows before the learner taps (see ``preview_check_in``)."""

    DONE = "done"  # checked in already (present / late)
    RECORDED = "recorded"  # the instructor recorded another status
    READY = "ready"  # a fresh scan: one tap confirms
    NEED_SCAN = "need_scan"  # no usable scan in this browser
    REFUSED = "refused"  # cancelled, not enrolled, not open yet, closed


@dataclass(frozen=True)
class CheckInPreview:
    """The check-in page's state, its message, the learner's record and the status a tap would give."""

    state: Preview
    message: str
    record: AttendanceRecord | None = None
    status: AttendanceStatus | None = None


def preview_check_in(session: ClassSession, learner: User, scan: ScanPass | None, *,
                     now: datetime) -> CheckInPreview:
    """Say, without writing, what confirming a check-in would do (same rules as ``check_in``)."""
    if session.is_cancelled:
        return CheckInPreview(Preview.REFUSED, "本次课已取消，无需签到")
    if not is_enrolled(learner.id, session.cohort_id):
        return CheckInPreview(Preview.REFUSED, NOT_ENROLLED_MESSAGE)
    existing = load_record(session.id, learner.id)
    if existing is not None and not _excused_by_leave(existing):
        if existing.status in (AttendanceStatus.PRESENT, AttendanceStatus.LATE):
            return CheckInPreview(Preview.DONE, "已签到", existing, AttendanceStatus(existing.status))
        return CheckInPreview(Preview.RECORDED, f"老师已将您本次课记为“{STATUS_ZH[existing.status]}”", existing)
    if scan is None or scan.session_id != session.id or not _scan_fresh(scan, now):
        return CheckInPreview(Preview.NEED_SCAN, "请扫描投影上的二维码，或输入投影上的 6 位签到码", existing)
    try:
        status = window_status(session, scan.scanned_at)
    except CheckInRefused as exc:
        return CheckInPreview(Preview.REFUSED, exc.message, existing)
    return CheckInPreview(Preview.READY, "点下面的按钮确认签到", existing, status)


def _excused_by_leave(existing: AttendanceRecord) -> bool:
    return existing.status == AttendanceStatus.EXCUSED and existing.source == RecordSource.LEAVE


def _repeat_or_refuse(existing: AttendanceRecord) -> CheckInResult:
    """For an existing record: 'already checked in' for present/late, else refuse (the staff's word)."""
    if existing.status in (AttendanceStatus.PRESENT, AttendanceStatus.LATE):
        return CheckInResult(status=AttendanceStatus(existing.status),
                             checked_in_at=existing.checked_in_at or existing.marked_at, created=False)
    raise CheckInRefused(Refusal.RECORDED_BY_STAFF,
                         f"老师已将您本次课记为“{STATUS_ZH[existing.status]}”，如有疑问请当面找老师")


def record_check_in(session: ClassSession, learner: User, token: str | None, *, now: datetime) -> CheckInResult:
    """Verify a QR token and check the learner in, both at ``now`` (the one-step form).

    Raises ``CheckInRefused`` as ``verify_token`` and ``check_in`` do.
    """
    return check_in(session, learner, verify_token(session, token, now=now), now=now)


def open_sessions_for(learner: User, *, now: datetime) -> list[ClassSession]:
    """Scheduled sessions of the learner's ENROLLED cohorts whose check-in window contains ``now``."""
    near = timedelta(minutes=MAX_WINDOW_MINUTES)
    candidates = db.session.scalars(
        select(ClassSession)
        .join(Enrolment, Enrolment.cohort_id == ClassSession.cohort_id)
        .where(Enrolment.learner_id == learner.id, Enrolment.status == EnrolmentStatus.ENROLLED,
               ClassSession.status == SessionStatus.SCHEDULED,
               ClassSession.starts_at <= now + near, ClassSession.ends_at >= now - near)
        .order_by(ClassSession.starts_at)
    ).all()
    return [s for s in candidates if s.opens_at <= now < s.closes_at]


def check_in_with_code(learner: User, code: str, *, now: datetime) -> tuple[ClassSession, CheckInResult]:
    """Check in by the 6-digit code typed from the projector, for whichever of the learner's
    sessions is open now. Returns the session and the result.

    At most 5 wrong codes per learner in 10 minutes (each wrong code is written to the audit
    log, so the caller commits on ``keep_writes``). Raises ``CheckInRefused`` TOO_MANY,
    NOTHING_OPEN, WRONG_CODE, or as ``check_in``.
    """
    code = digits_text(code)
    failures = db.session.scalar(
        select(func.count()).select_from(AuditEvent).where(
            AuditEvent.actor_id == learner.id, AuditEvent.action == "attendance.code_failed",
            AuditEvent.at > now - WRONG_CODE_WINDOW, AuditEvent.at <= now)
    )
    if failures >= MAX_WRONG_CODES:
        raise CheckInRefused(Refusal.TOO_MANY, "签到码输错次数太多，请 10 分钟后再试，或请老师点名")
    sessions = open_sessions_for(learner, now=now)
    if not sessions:
        raise CheckInRefused(Refusal.NOTHING_OPEN, "现在没有正在签到的课。签到在上课前 15 分钟左右开放")
    for session in sessions:
        if tokens.check_code(session.id, code, session.rotation_seconds, now=now).ok:
            scan = ScanPass(session_id=session.id, scanned_at=now, source=RecordSource.CODE)
            return session, check_in(session, learner, scan, now=now)
    event = record("attendance.code_failed", actor=learner, obj=sessions[0])
    event.at = now
    db.session.flush()
    raise CheckInRefused(Refusal.WRONG_CODE, "签到码不对，请看投影上的 6 位数字重新输入（数字会定时更换，请输入投影上现在的数字）",
                         keep_writes=True)


def checked_in_count(session_id: int) -> int:
    """How many learners are present or late at the session (for "已签到 23 / 40")."""
    return db.session.scalar(
        select(func.count()).select_from(AttendanceRecord).where(
            AttendanceRecord.session_id == session_id,
            AttendanceRecord.status.in_((AttendanceStatus.PRESENT, AttendanceStatus.LATE)))
    )
