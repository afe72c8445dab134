"""Degree upgrade (学历提升): programmes, yearly key dates, cases, their history, course results, notices.

Routes, levels and stages are StrEnums from ``academy.degrees.stages`` stored as strings.
Money is in yuan (``Numeric(10, 2)``), credits ``Numeric(6, 1)``, dates are calendar dates
in Asia/Shanghai (``Date``), moments are aware UTC (``UTCDateTime``).
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import (
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Numeric,
    String,
    Text,
    UniqueConstraint,
    event,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from academy.accounts.models import User
from academy.database import LockableMixin, TimestampMixin, UTCDateTime, utcnow
from academy.degrees.stages import (
    KEY_DATE_LABELS,
    LEVEL_LABELS,
    ROUTE_LABELS,
    STAGE_LABELS,
    TERMINAL_STAGES,
    KeyDateKind,
    Level,
    Route,
    Stage,
)
from academy.extensions import db


class Programme(TimestampMixin, db.Model):
    """An upgrade programme offered with a partner institution: route, level, institution, major.

    ``min_study_months`` (30 = 2.5 years, 60 = 5 years; None for 自学考试, which has no minimum)
    and ``record_valid_months`` (96 for 国家开放大学) drive a case's earliest graduation and
    record expiry. ``credits_required`` or ``courses_required`` (自学考试: e.g. 70 credits /
    13 courses) define completion. ``intake_seasons`` is free text ("春季、秋季"). Tuition and the
    subsidy available (e.g. a union grant) are in yuan.
    """

    __tablename__ = "degree_programmes"
    __table_args__ = (
        UniqueConstraint("route", "level", "institution", "major"),
        CheckConstraint("min_study_months IS NULL OR min_study_months > 0", name="min_study_positive"),
        CheckConstraint("tuition >= 0 AND subsidy >= 0", name="money_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    route: Mapped[str] = mapped_column(String(20), index=True)
    level: Mapped[str] = mapped_column(String(30))
    institution: Mapped[str] = mapped_column(String(80), index=True)
    major: Mapped[str] = mapped_column(String(80))
    min_study_months: Mapped[int | None]
    record_valid_months: Mapped[int | None]
    credits_required: Mapped[int | None]
    courses_required: Mapped[int | None]
    intake_seasons: Mapped[str | None] = mapped_column(String(60))
    tuition: Mapped[Decimal] = mapped_column(Numeric(10, 2), default=Decimal(0))
    subsidy: Mapped[Decimal] = mapped_column(Numeric(10, 2), default=Decimal(0))
    subsidy_source: Mapped[str | None] = mapped_column(String(60))
    is_active: Mapped[bool] = mapped_column(default=True)
    note: Mapped[str | None] = mapped_column(Text)

    @property
    def route_label(self) -> str:
        return str(ROUTE_LABELS[Route(self.route)])

    @property
    def level_label(self) -> str:
        return str(LEVEL_LABELS[Level(self.level)])

    @property
    def title(self) -> str:
        """"江西理工大学 · 物流管理（高起专，成人高考）"."""
        return f"{self.institution} · {self.major}（{self.level_label}，{self.route_label}）"


class KeyDate(db.Model):
    """A key date or window of a route in a year (招生年度): registration, exam, admission …

    ``ends_on`` is None for a single day. ``year`` labels the cycle the date belongs to; a
    成人高考 cycle's enrolment falls in March of the following calendar year.
    """

    __tablename__ = "degree_key_dates"
    __table_args__ = (
        UniqueConstraint("route", "year", "kind", "starts_on"),
        CheckConstraint("ends_on IS NULL OR ends_on >= starts_on", name="window_order"),
        Index("ix_degree_key_dates_route_starts", "route", "starts_on"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    route: Mapped[str] = mapped_column(String(20))
    year: Mapped[int]
    kind: Mapped[str] = mapped_column(String(30))
    starts_on: Mapped[date] = mapped_column(Date)
    ends_on: Mapped[date | None] = mapped_column(Date)
    note: Mapped[str | None] = mapped_column(String(200))

    @property
    def route_label(self) -> str:
        return str(ROUTE_LABELS[Route(self.route)])

    @property
    def kind_label(self) -> str:
        return str(KEY_DATE_LABELS[KeyDateKind(self.kind)])


class DegreeCase(TimestampMixin, LockableMixin, db.Model):
    """One learner's way to a degree through one programme, from interest to diploma.

    A case may start as interest only (``programme_id`` None, ``route``/``level`` the learner's
    wish or None). ``route`` and ``level`` are copied from the programme when one is chosen.
    ``stage_since`` is the date of the last stage change; ``resume_stage`` the stage a deferred
    case left. ``earliest_graduation_on`` and ``record_expires_on`` are derived from
    ``enrolled_on`` and the programme (services keep them in step). The entry-rule override
    keeps who allowed an ineligible learner and why. ``credits_earned`` is kept equal to the
    credits of passed courses for 自学考试 cases with course results.
    """

    __tablename__ = "degree_cases"
    __table_args__ = (
        Index("ix_degree_cases_stage_route", "stage", "route"),
        CheckConstraint("fees_paid >= 0 AND subsidy_granted >= 0 AND subsidy_paid >= 0", name="money_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    learner_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    programme_id: Mapped[int | None] = mapped_column(ForeignKey("degree_programmes.id"), index=True)
    route: Mapped[str | None] = mapped_column(String(20))
    level: Mapped[str | None] = mapped_column(String(30))
    stage: Mapped[str] = mapped_column(String(30), index=True)
    stage_since: Mapped[date] = mapped_column(Date)
    resume_stage: Mapped[str | None] = mapped_column(String(30))
    intake_year: Mapped[int | None]
    intake_season: Mapped[str | None] = mapped_column(String(10))
    advisor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    source: Mapped[str] = mapped_column(String(10), default="admin")  # self | admin | import
    entry_override_reason: Mapped[str | None] = mapped_column(Text)
    entry_override_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    student_number: Mapped[str | None] = mapped_column(String(40))
    exam_ticket_number: Mapped[str | None] = mapped_column(String(40))
    exam_score: Mapped[Decimal | None] = mapped_column(Numeric(6, 1))
    admitted_on: Mapped[date | None] = mapped_column(Date)
    enrolled_on: Mapped[date | None] = mapped_column(Date)
    earliest_graduation_on: Mapped[date | None] = mapped_column(Date)
    record_expires_on: Mapped[date | None] = mapped_column(Date)
    credits_earned: Mapped[Decimal] = mapped_column(Numeric(6, 1), default=Decimal(0))
    fees_paid: Mapped[Decimal] = mapped_column(Numeric(10, 2), default=Decimal(0))
    subsidy_granted: Mapped[Decimal] = mapped_column(Numeric(10, 2), default=Decimal(0))
    subsidy_paid: Mapped[Decimal] = mapped_column(Numeric(10, 2), default=Decimal(0))
    graduated_on: Mapped[date | None] = mapped_column(Date)
    diploma_number: Mapped[str | None] = mapped_column(String(40))
    note: Mapped[str | None] = mapped_column(Text)

    learner: Mapped[User] = relationship(foreign_keys=[learner_id])
    programme: Mapped[Programme | None] = relationship()
    advisor: Mapped[User | None] = relationship(foreign_keys=[advisor_id])
    entry_override_by: Mapped[User | None] = relationship(foreign_keys=[entry_override_by_id])
    events: Mapped[list[CaseEvent]] = relationship(
        back_populates="case", order_by="(CaseEvent.on, CaseEvent.id)", cascade="all", passive_deletes=True
    )
    course_results: Mapped[list[CourseResult]] = relationship(
        back_populates="case", order_by="(CourseResult.sitting, CourseResult.id)", cascade="all, delete-orphan"
    )

    @property
    def stage_label(self) -> str:
        return str(STAGE_LABELS[Stage(self.stage)])

    @property
    def route_label(self) -> str:
        return str(ROUTE_LABELS[Route(self.route)]) if self.route else "未定"

    @property
    def level_label(self) -> str:
        return str(LEVEL_LABELS[Level(self.level)]) if self.level else "未定"

    @property
    def is_open(self) -> bool:
        """Not graduated, dropped or expired."""
        return Stage(self.stage) not in TERMINAL_STAGES


class CaseEvent(db.Model):
    """One entry of a case's history (append-only: rows are never updated or deleted).

    ``kind`` "opened", "transition", "imported", "programme", "record" (field edits, listed in
    ``note``), "course" (a 自学考试 result). ``on`` is the day it happened (a transition may be
    recorded late), ``created_at`` when it was written.
    """

    __tablename__ = "degree_case_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("degree_cases.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(20))
    from_stage: Mapped[str | None] = mapped_column(String(30))
    to_stage: Mapped[str | None] = mapped_column(String(30))
    on: Mapped[date] = mapped_column(Date)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    note: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    case: Mapped[DegreeCase] = relationship(back_populates="events")
    actor: Mapped[User | None] = relationship()

    @property
    def to_label(self) -> str:
        return str(STAGE_LABELS[Stage(self.to_stage)]) if self.to_stage else ""

    @property
    def from_label(self) -> str:
        return str(STAGE_LABELS[Stage(self.from_stage)]) if self.from_stage else ""


@event.listens_for(CaseEvent, "before_update")
@event.listens_for(CaseEvent, "before_delete")
def _history_is_append_only(mapper, connection, target):
    """Refuse any ORM update or delete of a history entry."""
    raise ValueError("学历提升个案的历史记录只能追加，不能修改或删除")


class CourseResult(db.Model):
    """A 自学考试 course sat by the learner: code, name, credits, sitting ("2026年4月"), result."""

    __tablename__ = "degree_course_results"
    __table_args__ = (UniqueConstraint("case_id", "course_code", "sitting"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("degree_cases.id", ondelete="CASCADE"), index=True)
    course_code: Mapped[str] = mapped_column(String(20))
    course_name: Mapped[str] = mapped_column(String(80))
    credits: Mapped[Decimal] = mapped_column(Numeric(4, 1))
    sitting: Mapped[str] = mapped_column(String(20))
    result: Mapped[str] = mapped_column(String(10))  # passed | failed | absent | exempted
    score: Mapped[Decimal | None] = mapped_column(Numeric(5, 1))

    case: Mapped[DegreeCase] = relationship(back_populates="course_results")

    @property
    def result_label(self) -> str:
        return COURSE_RESULT_LABELS.get(self.result, self.result)


COURSE_RESULT_LABELS = {"passed": "合格", "failed": "不合格", "absent": "缺考", "exempted": "免考"}
COURSE_PASSING_RESULTS = ("passed", "exempted")


class Notice(db.Model):
    """An in-app notice for one person (text, optional link), shown until read.

    ``dedupe_key`` makes writers idempotent (e.g. ``degrees:<case>:<milestone>:<date>``): the
    same key is never stored twice. Other modules may write notices too.
    """

    __tablename__ = "notices"
    __table_args__ = (Index("ix_notices_user_unread", "user_id", "read_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    text: Mapped[str] = mapped_column(String(500))
    link: Mapped[str | None] = mapped_column(String(255))
    dedupe_key: Mapped[str | None] = mapped_column(String(120), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    user: Mapped[User] = relationship()
