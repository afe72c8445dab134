"""Courses, cohorts and their weekly meeting pattern."""

from __future__ import annotations

import enum
from datetime import date, datetime, time
from decimal import Decimal

from flask_babel import lazy_gettext as _l
from sqlalchemy import Column, Date, ForeignKey, Numeric, String, Table, Text, Time, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from academy.accounts.models import User
from academy.database import LockableMixin, TimestampMixin, UTCDateTime
from academy.extensions import db


class DeliveryMode(enum.StrEnum):
    """How a course is taught (培训方式)."""

    OFFLINE = "线下"
    ONLINE = "线上"
    BLENDED = "线上线下结合"


class CohortStatus(enum.StrEnum):
    """Life cycle of a cohort."""

    PLANNED = "planned"  # 筹备中: visible, not yet open
    OPEN = "open"  # 招生中: enrolment possible within the window
    RUNNING = "running"  # 开课中
    FINISHED = "finished"  # 已结业
    CANCELLED = "cancelled"  # 已取消


# Display labels (lazy: shown in the visitor's language; ``str()`` them outside templates).
COHORT_STATUS_LABELS = {
    CohortStatus.PLANNED: _l("筹备中"),
    CohortStatus.OPEN: _l("招生中"),
    CohortStatus.RUNNING: _l("开课中"),
    CohortStatus.FINISHED: _l("已结业"),
    CohortStatus.CANCELLED: _l("已取消"),
}
DELIVERY_MODE_LABELS = {
    DeliveryMode.OFFLINE: _l("线下"),
    DeliveryMode.ONLINE: _l("线上"),
    DeliveryMode.BLENDED: _l("线上线下结合"),
}


class ExcusedPolicy(enum.StrEnum):
    """How excused sessions (请假) count in the attendance rate."""

    EXCLUDE = "exclude"  # left out of both sides (default)
    ABSENT = "absent"  # counted as held and not attended
    PRESENT = "present"  # counted as attended


class Course(TimestampMixin, db.Model):
    """A training programme (课程) for one occupation (职业/工种) at one target level.

    ``fee`` and ``subsidy`` are in yuan (``Decimal``); ``hours`` are class hours (课时).
    """

    __tablename__ = "courses"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(30), unique=True)
    title: Mapped[str] = mapped_column(String(120), index=True)
    occupation: Mapped[str] = mapped_column(String(60), index=True)
    occupation_code: Mapped[str | None] = mapped_column(String(20))
    level: Mapped[str | None] = mapped_column(String(30))
    hours: Mapped[int] = mapped_column(default=0)
    delivery_mode: Mapped[str] = mapped_column(String(20), default=DeliveryMode.OFFLINE)
    fee: Mapped[Decimal] = mapped_column(Numeric(10, 2), default=Decimal("0"))
    subsidy: Mapped[Decimal] = mapped_column(Numeric(10, 2), default=Decimal("0"))
    description: Mapped[str | None] = mapped_column(Text)
    is_published: Mapped[bool] = mapped_column(default=True)

    cohorts: Mapped[list[Cohort]] = relationship(back_populates="course", order_by="Cohort.start_date")


cohort_instructors = Table(
    "cohort_instructors",
    db.Model.metadata,
    Column("cohort_id", ForeignKey("cohorts.id", ondelete="CASCADE"), primary_key=True),
    Column("user_id", ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
)


class Cohort(LockableMixin, TimestampMixin, db.Model):
    """One run of a course (班级/期次), e.g. 2026年第3期电工班.

    ``capacity`` is the number of seats; ``enrolment_opens_at``/``enrolment_closes_at`` are
    UTC instants (entered in Asia/Shanghai). ``attendance_threshold`` is a fraction
    (``Decimal('0.80')`` = 80 %) used by the attendance and certificate rules.
    """

    __tablename__ = "cohorts"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    course_id: Mapped[int] = mapped_column(ForeignKey("courses.id"), index=True)
    name: Mapped[str] = mapped_column(String(120))
    start_date: Mapped[date] = mapped_column(Date, index=True)
    end_date: Mapped[date] = mapped_column(Date)
    schedule_text: Mapped[str | None] = mapped_column(String(120))
    place: Mapped[str | None] = mapped_column(String(120))
    district: Mapped[str | None] = mapped_column(String(20), index=True)
    capacity: Mapped[int] = mapped_column(default=30)
    enrolment_opens_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    enrolment_closes_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    approval_required: Mapped[bool] = mapped_column(default=False)
    status: Mapped[str] = mapped_column(String(20), default=CohortStatus.OPEN, index=True)
    attendance_threshold: Mapped[Decimal] = mapped_column(Numeric(4, 3), default=Decimal("0.800"))
    excused_policy: Mapped[str] = mapped_column(String(20), default=ExcusedPolicy.EXCLUDE)
    # Denormalised seat counter kept by enrolment.services under the cohort lock; lets the
    # catalogue show seats left without counting enrolments per card.
    seats_taken: Mapped[int] = mapped_column(default=0)

    course: Mapped[Course] = relationship(back_populates="cohorts", lazy="joined")
    # Both load on first use (one query each): eager loading fired two extra queries every
    # time any query returned a cohort, e.g. once per list of sessions or enrolments joined to it.
    instructors: Mapped[list[User]] = relationship(secondary=cohort_instructors)
    meetings: Mapped[list[CohortMeeting]] = relationship(
        back_populates="cohort",
        cascade="all, delete-orphan",
        order_by="(CohortMeeting.weekday, CohortMeeting.start_time)",
    )

    @property
    def seats_left(self) -> int:
        return max(self.capacity - self.seats_taken, 0)


class CohortMeeting(db.Model):
    """One weekly slot of a cohort: weekday (0 = Monday … 6 = Sunday), local start and end."""

    __tablename__ = "cohort_meetings"
    __table_args__ = (UniqueConstraint("cohort_id", "weekday", "start_time"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    cohort_id: Mapped[int] = mapped_column(ForeignKey("cohorts.id", ondelete="CASCADE"), index=True)
    weekday: Mapped[int]
    start_time: Mapped[time] = mapped_column(Time)
    end_time: Mapped[time] = mapped_column(Time)
    cohort: Mapped[Cohort] = relationship(back_populates="meetings")
