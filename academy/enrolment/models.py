"""Enrolments of learners in cohorts."""

from __future__ import annotations

import enum
from datetime import datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from academy.accounts.models import User
from academy.catalogue.models import Cohort
from academy.database import TimestampMixin, UTCDateTime
from academy.extensions import db


class EnrolmentStatus(enum.StrEnum):
    """Where an application stands. PENDING and ENROLLED hold a seat."""

    PENDING = "pending"  # 待审核: holds a seat until an admin decides
    ENROLLED = "enrolled"  # 已报名
    WAITLISTED = "waitlisted"  # 候补中
    WITHDRAWN = "withdrawn"  # 已退出
    REJECTED = "rejected"  # 未通过
    REMOVED = "removed"  # 已移出 (by an admin)


SEAT_HOLDING = (EnrolmentStatus.PENDING, EnrolmentStatus.ENROLLED)
ACTIVE = (EnrolmentStatus.PENDING, EnrolmentStatus.ENROLLED, EnrolmentStatus.WAITLISTED)

# Display labels (lazy: shown in the visitor's language; ``status_label`` gives a plain str).
ENROLMENT_STATUS_LABELS = {
    EnrolmentStatus.PENDING: _l("待审核"),
    EnrolmentStatus.ENROLLED: _l("已报名"),
    EnrolmentStatus.WAITLISTED: _l("候补中"),
    EnrolmentStatus.WITHDRAWN: _l("已退出"),
    EnrolmentStatus.REJECTED: _l("未通过"),
    EnrolmentStatus.REMOVED: _l("已移出"),
}


class Enrolment(TimestampMixin, db.Model):
    """One learner's application to one cohort (one row per pair, reused on re-application).

    ``waitlist_seq`` orders the waitlist (FIFO); it is assigned under the cohort lock.
    ``decided_by_id``/``decided_at``/``decision_reason`` record the approval decision.
    """

    __tablename__ = "enrolments"
    __table_args__ = (
        UniqueConstraint("learner_id", "cohort_id"),
        Index("ix_enrolments_cohort_status", "cohort_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    learner_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    cohort_id: Mapped[int] = mapped_column(ForeignKey("cohorts.id"), index=True)
    status: Mapped[str] = mapped_column(String(20), index=True)
    applied_at: Mapped[datetime] = mapped_column(UTCDateTime)
    enrolled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    waitlist_seq: Mapped[int | None]
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    decision_reason: Mapped[str | None] = mapped_column(Text)
    source: Mapped[str] = mapped_column(String(20), default="self")  # self | import | admin

    learner: Mapped[User] = relationship(foreign_keys=[learner_id], lazy="joined")
    cohort: Mapped[Cohort] = relationship(lazy="joined")
    decided_by: Mapped[User | None] = relationship(foreign_keys=[decided_by_id])

    @property
    def holds_seat(self) -> bool:
        return self.status in SEAT_HOLDING

    @property
    def status_label(self) -> str:
        """The status in the current language (待审核, 已报名, 候补中, …), as a plain string."""
        return str(ENROLMENT_STATUS_LABELS[EnrolmentStatus(self.status)])
