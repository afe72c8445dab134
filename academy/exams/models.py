"""Models of the exams module: assessments, components, attempts, scores and their history.

A cohort has at most one original assessment (usually 结业考核); each resit (补考) is another
assessment linked to it through ``resit_of_id`` and holding only the learners given a new
attempt. Attempts are numbered per learner across that chain (1 = the original sitting).
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
from academy.catalogue.models import Cohort
from academy.database import LockableMixin, TimestampMixin, UTCDateTime, utcnow
from academy.exams.scoring import ComponentRule, Mark, PassRule
from academy.extensions import db

POINTS = Numeric(5, 1)  # scores and pass marks: 0.0 … 9999.9, one decimal place
WEIGHT = Numeric(6, 2)  # relative weights: 50, 30.5, 0.25 …


class Assessment(LockableMixin, TimestampMixin, db.Model):
    """One assessment of a cohort (考核), e.g. 结业考核 or a 补考 of it.

    ``pass_rule`` is a ``PassRule`` value; ``pass_mark`` (points on the 100-point total scale)
    applies to the weighted-total rule. ``attempt_policy`` (``AttemptPolicy``) says whether the best
    or the latest attempt counts; resits copy it from their original. ``published_at`` /
    ``published_by_id`` are set while results are visible to learners; ``first_published_at``
    stays set once results have ever been published (from then on every change needs a reason).
    """

    __tablename__ = "assessments"
    __table_args__ = (
        CheckConstraint("pass_rule IN ('all_components', 'weighted_total')", name="pass_rule"),
        CheckConstraint("attempt_policy IN ('best', 'latest')", name="attempt_policy"),
        CheckConstraint("pass_mark >= 0", name="pass_mark_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    cohort_id: Mapped[int] = mapped_column(ForeignKey("cohorts.id"), index=True)
    title: Mapped[str] = mapped_column(String(60))
    held_on: Mapped[date | None] = mapped_column(Date)
    pass_rule: Mapped[str] = mapped_column(String(20), default=PassRule.ALL_COMPONENTS)
    pass_mark: Mapped[Decimal] = mapped_column(POINTS, default=Decimal("60"))
    attempt_policy: Mapped[str] = mapped_column(String(10), default="best")
    resit_of_id: Mapped[int | None] = mapped_column(ForeignKey("assessments.id"), index=True)
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    published_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    first_published_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    cohort: Mapped[Cohort] = relationship(lazy="joined")
    components: Mapped[list[AssessmentComponent]] = relationship(
        back_populates="assessment", cascade="all, delete-orphan", order_by="AssessmentComponent.position",
        lazy="selectin",
    )
    resit_of: Mapped[Assessment | None] = relationship(remote_side=[id], foreign_keys=[resit_of_id])
    published_by: Mapped[User | None] = relationship(foreign_keys=[published_by_id])

    @property
    def is_published(self) -> bool:
        return self.published_at is not None

    @property
    def is_resit(self) -> bool:
        return self.resit_of_id is not None

    @property
    def root_id(self) -> int:
        """Id of the original assessment of the chain (itself for an original)."""
        return self.resit_of_id or self.id

    def rules(self) -> list[ComponentRule]:
        """The components as ``scoring.ComponentRule`` values, in display order."""
        return [c.rule() for c in self.components]


class AssessmentComponent(db.Model):
    """A component (科目) of an assessment: default 理论知识 and 操作技能, each out of 100, pass 60.

    ``max_points`` and ``pass_mark`` are points; ``weight`` is relative (weights 50/50 give the
    mean of the two percentages).
    """

    __tablename__ = "assessment_components"
    __table_args__ = (
        UniqueConstraint("assessment_id", "name"),
        CheckConstraint("max_points > 0", name="max_points_positive"),
        CheckConstraint("pass_mark >= 0 AND pass_mark <= max_points", name="pass_mark_range"),
        CheckConstraint("weight >= 0", name="weight_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    assessment_id: Mapped[int] = mapped_column(ForeignKey("assessments.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(default=0)
    name: Mapped[str] = mapped_column(String(30))
    max_points: Mapped[Decimal] = mapped_column(POINTS, default=Decimal("100"))
    pass_mark: Mapped[Decimal] = mapped_column(POINTS, default=Decimal("60"))
    weight: Mapped[Decimal] = mapped_column(WEIGHT, default=Decimal("50"))

    assessment: Mapped[Assessment] = relationship(back_populates="components")

    def rule(self) -> ComponentRule:
        return ComponentRule(self.name, self.max_points, self.pass_mark, self.weight)


class Attempt(TimestampMixin, db.Model):
    """One learner's sitting of one assessment; ``attempt_no`` counts sittings in the chain (1, 2 …)."""

    __tablename__ = "exam_attempts"
    __table_args__ = (
        UniqueConstraint("assessment_id", "learner_id"),
        CheckConstraint("attempt_no >= 1", name="attempt_no_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    assessment_id: Mapped[int] = mapped_column(ForeignKey("assessments.id", ondelete="CASCADE"), index=True)
    learner_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    attempt_no: Mapped[int] = mapped_column(default=1)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    assessment: Mapped[Assessment] = relationship()
    learner: Mapped[User] = relationship(foreign_keys=[learner_id])
    scores: Mapped[list[ExamScore]] = relationship(back_populates="attempt", cascade="all, delete-orphan",
                                               lazy="selectin")

    def marks(self) -> dict[int, Mark]:
        """Recorded marks by component id."""
        return {s.component_id: s.mark for s in self.scores}


class ExamScore(db.Model):
    """The current mark of one component in one attempt: points, or 缺考 (absent), never both.

    A missing row means "not entered yet" (the result stays pending). Every change is also
    written to ``ExamScoreChange``.
    """

    __tablename__ = "exam_scores"
    __table_args__ = (
        UniqueConstraint("attempt_id", "component_id"),
        CheckConstraint("(absent AND points IS NULL) OR (NOT absent AND points IS NOT NULL AND points >= 0)",
                        name="points_or_absent"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    attempt_id: Mapped[int] = mapped_column(ForeignKey("exam_attempts.id", ondelete="CASCADE"), index=True)
    component_id: Mapped[int] = mapped_column(ForeignKey("assessment_components.id"), index=True)
    points: Mapped[Decimal | None] = mapped_column(POINTS)
    absent: Mapped[bool] = mapped_column(default=False)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    attempt: Mapped[Attempt] = relationship(back_populates="scores")

    @property
    def mark(self) -> Mark:
        return Mark(absent=True) if self.absent else Mark(points=self.points)


class ExamScoreChange(db.Model):
    """Append-only history of marks: who changed which mark, when, from what to what, and why.

    ``old_*``/``new_*`` both empty means "not entered". ``source`` is gradebook, import or cli.
    Rows are never updated or deleted by the application (mapper events below refuse it).
    """

    __tablename__ = "exam_score_changes"
    __table_args__ = (Index("ix_exam_score_changes_attempt_component", "attempt_id", "component_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    attempt_id: Mapped[int] = mapped_column(ForeignKey("exam_attempts.id"), index=True)
    component_id: Mapped[int] = mapped_column(ForeignKey("assessment_components.id"))
    old_points: Mapped[Decimal | None] = mapped_column(POINTS)
    old_absent: Mapped[bool] = mapped_column(default=False)
    new_points: Mapped[Decimal | None] = mapped_column(POINTS)
    new_absent: Mapped[bool] = mapped_column(default=False)
    reason: Mapped[str | None] = mapped_column(Text)
    source: Mapped[str] = mapped_column(String(20), default="gradebook")
    changed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)

    attempt: Mapped[Attempt] = relationship()
    component: Mapped[AssessmentComponent] = relationship()
    changed_by: Mapped[User | None] = relationship(foreign_keys=[changed_by_id])

    @property
    def old_mark(self) -> Mark | None:
        return _mark(self.old_points, self.old_absent)

    @property
    def new_mark(self) -> Mark | None:
        return _mark(self.new_points, self.new_absent)


def _mark(points: Decimal | None, absent: bool) -> Mark | None:
    if absent:
        return Mark(absent=True)
    return None if points is None else Mark(points=points)


@event.listens_for(ExamScoreChange, "before_update")
@event.listens_for(ExamScoreChange, "before_delete")
def _history_is_append_only(mapper, connection, target):  # pragma: no cover - guard
    """Refuse any update or delete of a history row through the ORM."""
    raise RuntimeError("score history is append-only")


class EligibilityOverride(db.Model):
    """An administrator lets a learner below the attendance threshold sit the cohort's assessments.

    ``reason`` is required and kept with who granted it and when (also written to the audit log).
    """

    __tablename__ = "exam_eligibility_overrides"
    __table_args__ = (UniqueConstraint("cohort_id", "learner_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    cohort_id: Mapped[int] = mapped_column(ForeignKey("cohorts.id"), index=True)
    learner_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    reason: Mapped[str] = mapped_column(Text)
    granted_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    granted_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    granted_by: Mapped[User | None] = relationship(foreign_keys=[granted_by_id])
