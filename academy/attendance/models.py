"""Class sessions (课次), attendance records, their change history, leave requests and the
per-cohort check-in defaults.

Times are aware UTC instants (``UTCDateTime``); people enter and read them in Asia/Shanghai
(``academy.common.timeutil``). A session that crosses midnight (22:30–00:30) belongs to the
local day on which it starts (``ClassSession.local_day``).
"""

from __future__ import annotations

import enum
import secrets
from datetime import date, datetime, timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from academy.accounts.models import User
from academy.catalogue.models import Cohort
from academy.common.timeutil import WEEKDAYS_ZH, format_local, to_local
from academy.database import TimestampMixin, UTCDateTime, utcnow
from academy.extensions import db

# Defaults of the check-in window and token rotation (minutes / seconds). A cohort may change
# them (``CheckInSettings``); every session copies its cohort's values when it is created and
# may then be changed on its own.
DEFAULT_OPENS_BEFORE_MINUTES = 15
DEFAULT_LATE_AFTER_MINUTES = 15
DEFAULT_CLOSES_AFTER_MINUTES = 0
DEFAULT_ROTATION_SECONDS = 30
# The range each of those may take.
MAX_WINDOW_MINUTES = 240
MIN_ROTATION_SECONDS, MAX_ROTATION_SECONDS = 10, 300


class SessionStatus(enum.StrEnum):
    """Whether a session takes place. A cancelled session never counts in a rate."""

    SCHEDULED = "scheduled"
    CANCELLED = "cancelled"


class AttendanceStatus(enum.StrEnum):
    """One learner's attendance at one session (出勤 / 迟到 / 请假 / 缺勤)."""

    PRESENT = "present"
    LATE = "late"
    EXCUSED = "excused"
    ABSENT = "absent"


# Chinese names, used in service messages and exports (the sign-in sheet is always Chinese) …
STATUS_ZH = {
    AttendanceStatus.PRESENT: "出勤",
    AttendanceStatus.LATE: "迟到",
    AttendanceStatus.EXCUSED: "请假",
    AttendanceStatus.ABSENT: "缺勤",
}
# … and display labels in the visitor's language (lazy; templates).
STATUS_LABELS = {
    AttendanceStatus.PRESENT: _l("出勤"),
    AttendanceStatus.LATE: _l("迟到"),
    AttendanceStatus.EXCUSED: _l("请假"),
    AttendanceStatus.ABSENT: _l("缺勤"),
}
# The codes of a paper sign-in sheet (签到表): √ present, 迟 late, 假 excused, × absent.
STATUS_CODES = {
    AttendanceStatus.PRESENT: "√",
    AttendanceStatus.LATE: "迟",
    AttendanceStatus.EXCUSED: "假",
    AttendanceStatus.ABSENT: "×",
}


class RecordSource(enum.StrEnum):
    """How a status was set."""

    QR = "qr"  # the learner scanned the projector's QR code
    CODE = "code"  # the learner typed the 6-digit code
    ROLL_CALL = "roll_call"  # the instructor's register (overrides self check-in)
    LEAVE = "leave"  # an approved leave request


SOURCE_ZH = {
    RecordSource.QR: "扫码签到",
    RecordSource.CODE: "签到码",
    RecordSource.ROLL_CALL: "老师点名",
    RecordSource.LEAVE: "请假批准",
}
SOURCE_LABELS = {
    RecordSource.QR: _l("扫码签到"),
    RecordSource.CODE: _l("签到码"),
    RecordSource.ROLL_CALL: _l("老师点名"),
    RecordSource.LEAVE: _l("请假批准"),
}


class LeaveStatus(enum.StrEnum):
    """Where a leave request (请假) stands."""

    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"
    WITHDRAWN = "withdrawn"


LEAVE_STATUS_ZH = {
    LeaveStatus.PENDING: "待审批",
    LeaveStatus.APPROVED: "已批准",
    LeaveStatus.REJECTED: "未批准",
    LeaveStatus.WITHDRAWN: "已撤回",
}
LEAVE_STATUS_LABELS = {
    LeaveStatus.PENDING: _l("待审批"),
    LeaveStatus.APPROVED: _l("已批准"),
    LeaveStatus.REJECTED: _l("未批准"),
    LeaveStatus.WITHDRAWN: _l("已撤回"),
}


def new_public_code() -> str:
    """A random, unguessable code naming a session in check-in links (72 bits, URL-safe)."""
    return secrets.token_urlsafe(9)


class CheckInSettings(db.Model):
    """A cohort's check-in defaults, copied into each session created afterwards.

    ``opens_before_minutes``: check-in opens this long before the start (default 15);
    ``late_after_minutes``: from this long after the start a check-in counts as late (15);
    ``closes_after_minutes``: check-in closes this long after the end (0 = at the end);
    ``rotation_seconds``: the QR code and the 6-digit code change this often (30).
    """

    __tablename__ = "check_in_settings"
    __table_args__ = (
        CheckConstraint("rotation_seconds >= 10", name="rotation_at_least_10s"),
        CheckConstraint("opens_before_minutes >= 0 AND late_after_minutes >= 0 AND closes_after_minutes >= 0",
                        name="minutes_not_negative"),
    )

    cohort_id: Mapped[int] = mapped_column(ForeignKey("cohorts.id", ondelete="CASCADE"), primary_key=True)
    opens_before_minutes: Mapped[int] = mapped_column(default=DEFAULT_OPENS_BEFORE_MINUTES)
    late_after_minutes: Mapped[int] = mapped_column(default=DEFAULT_LATE_AFTER_MINUTES)
    closes_after_minutes: Mapped[int] = mapped_column(default=DEFAULT_CLOSES_AFTER_MINUTES)
    rotation_seconds: Mapped[int] = mapped_column(default=DEFAULT_ROTATION_SECONDS)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class ClassSession(TimestampMixin, db.Model):
    """One class session (课次) of a cohort: when, where, what, and its check-in rules.

    ``public_code`` names the session in check-in links and QR codes instead of the numeric id,
    so links cannot be guessed from ids. ``starts_at`` < ``ends_at`` is enforced by the database
    too. The check-in rules are minutes/seconds as described on ``CheckInSettings``.
    """

    __tablename__ = "class_sessions"
    __table_args__ = (
        UniqueConstraint("cohort_id", "starts_at"),
        CheckConstraint("ends_at > starts_at", name="ends_after_start"),
        CheckConstraint("rotation_seconds >= 10", name="rotation_at_least_10s"),
        Index("ix_class_sessions_starts_at_ends_at", "starts_at", "ends_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    cohort_id: Mapped[int] = mapped_column(ForeignKey("cohorts.id", ondelete="CASCADE"), index=True)
    public_code: Mapped[str] = mapped_column(String(16), unique=True, default=new_public_code)
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime)
    place: Mapped[str | None] = mapped_column(String(120))
    topic: Mapped[str | None] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(20), default=SessionStatus.SCHEDULED, index=True)
    cancel_reason: Mapped[str | None] = mapped_column(String(200))
    opens_before_minutes: Mapped[int] = mapped_column(default=DEFAULT_OPENS_BEFORE_MINUTES)
    late_after_minutes: Mapped[int] = mapped_column(default=DEFAULT_LATE_AFTER_MINUTES)
    closes_after_minutes: Mapped[int] = mapped_column(default=DEFAULT_CLOSES_AFTER_MINUTES)
    rotation_seconds: Mapped[int] = mapped_column(default=DEFAULT_ROTATION_SECONDS)

    cohort: Mapped[Cohort] = relationship(lazy="joined")

    @property
    def is_cancelled(self) -> bool:
        """True when the session was cancelled (it then never counts)."""
        return self.status == SessionStatus.CANCELLED

    @property
    def local_day(self) -> date:
        """The Asia/Shanghai day the session belongs to: the day it starts (even past midnight)."""
        return to_local(self.starts_at).date()

    @property
    def ends_next_day(self) -> bool:
        """True when the session ends on a later local day than it starts (22:30–00:30)."""
        return to_local(self.ends_at).date() > self.local_day

    @property
    def day_text(self) -> str:
        """The local day for people: ``2026-03-02 周一``."""
        return f"{self.local_day:%Y-%m-%d} {WEEKDAYS_ZH[self.local_day.weekday()]}"

    @property
    def time_text(self) -> str:
        """Local start–end: ``19:30–21:30``, or ``22:30–次日00:30`` across midnight."""
        end = format_local(self.ends_at, "%H:%M")
        return f"{format_local(self.starts_at, '%H:%M')}–{'次日' if self.ends_next_day else ''}{end}"

    @property
    def opens_at(self) -> datetime:
        """First instant at which check-in is accepted."""
        return self.starts_at - timedelta(minutes=self.opens_before_minutes)

    @property
    def late_at(self) -> datetime:
        """First instant at which a check-in counts as late."""
        return self.starts_at + timedelta(minutes=self.late_after_minutes)

    @property
    def closes_at(self) -> datetime:
        """First instant at which check-in is refused."""
        return self.ends_at + timedelta(minutes=self.closes_after_minutes)


class AttendanceRecord(db.Model):
    """One learner's status at one session; at most one row per (session, learner).

    ``checked_in_at`` is the moment of a self check-in (None for roll call and leave);
    ``marked_by_id``/``marked_at`` the person and moment of the last change.
    """

    __tablename__ = "attendance_records"
    __table_args__ = (UniqueConstraint("session_id", "learner_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("class_sessions.id", ondelete="CASCADE"))
    learner_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    status: Mapped[str] = mapped_column(String(20))
    source: Mapped[str] = mapped_column(String(20))
    checked_in_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    note: Mapped[str | None] = mapped_column(String(200))
    marked_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    marked_at: Mapped[datetime] = mapped_column(UTCDateTime)

    session: Mapped[ClassSession] = relationship()
    learner: Mapped[User] = relationship(foreign_keys=[learner_id])

    @property
    def status_label(self) -> str:
        """出勤 / 迟到 / 请假 / 缺勤 in the visitor's language."""
        return str(STATUS_LABELS[AttendanceStatus(self.status)])

    @property
    def source_label(self) -> str:
        """How the status was set, in the visitor's language."""
        return str(SOURCE_LABELS[RecordSource(self.source)])


class AttendanceChange(db.Model):
    """Append-only history of attendance: who set which status (and note) for whom, when.

    One row per change, including the first status (``old_status`` None). Never updated or
    deleted by the application.
    """

    __tablename__ = "attendance_changes"
    __table_args__ = (Index("ix_attendance_changes_session_learner", "session_id", "learner_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("class_sessions.id", ondelete="CASCADE"))
    learner_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    old_status: Mapped[str | None] = mapped_column(String(20))
    new_status: Mapped[str] = mapped_column(String(20))
    note: Mapped[str | None] = mapped_column(String(200))
    source: Mapped[str] = mapped_column(String(20))
    changed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime)

    learner: Mapped[User] = relationship(foreign_keys=[learner_id])
    changed_by: Mapped[User | None] = relationship(foreign_keys=[changed_by_id])

    @property
    def old_label(self) -> str:
        """The status before the change (未记录 for the first one), in the visitor's language."""
        return str(STATUS_LABELS[AttendanceStatus(self.old_status)] if self.old_status else _l("未记录"))

    @property
    def new_label(self) -> str:
        """The status after the change, in the visitor's language."""
        return str(STATUS_LABELS[AttendanceStatus(self.new_status)])

    @property
    def source_label(self) -> str:
        """How the change was made, in the visitor's language."""
        return str(SOURCE_LABELS[RecordSource(self.source)])


class LeaveRequest(db.Model):
    """A learner's request for leave (请假) from one future session, and the decision on it."""

    __tablename__ = "leave_requests"
    __table_args__ = (Index("ix_leave_requests_session_learner", "session_id", "learner_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("class_sessions.id", ondelete="CASCADE"))
    learner_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    reason: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(20), default=LeaveStatus.PENDING, index=True)
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime)
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    decision_note: Mapped[str | None] = mapped_column(String(200))

    session: Mapped[ClassSession] = relationship()
    learner: Mapped[User] = relationship(foreign_keys=[learner_id])
    decided_by: Mapped[User | None] = relationship(foreign_keys=[decided_by_id])

    @property
    def status_label(self) -> str:
        """待审批 / 已批准 / 未批准 / 已撤回 in the visitor's language."""
        return str(LEAVE_STATUS_LABELS[LeaveStatus(self.status)])
