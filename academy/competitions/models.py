"""Qianneng Cup (虔能杯) models: editions, events, components, award rules, marking schemes,
entries (registrations with drawn numbers), judges, recusals, score sheets and published results.

Every score is ``Numeric``/``Decimal``; every time is UTC (``UTCDateTime``). Judges reach
contestants only through ``Entry.code``, an opaque random token, and see only ``Entry.number``
(the drawn number) until the results are published.
"""

from __future__ import annotations

import enum
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import (
    JSON,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Numeric,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy import event as sa_event
from sqlalchemy.orm import Mapped, mapped_column, relationship

from academy.accounts.models import User
from academy.database import LockableMixin, TimestampMixin, UTCDateTime, utcnow
from academy.extensions import db


class EventStatus(enum.StrEnum):
    """Phase of an event. Lock and publication are recorded by ``locked_at``/``published_at``."""

    SETUP = "setup"  # 筹备中: not visible to learners
    REGISTRATION = "registration"  # 报名中 (within the registration window)
    CONTEST = "contest"  # 比赛中: registration closed; draw, check-in, judging


EVENT_STATUS_LABELS = {
    EventStatus.SETUP: "筹备中",
    EventStatus.REGISTRATION: "报名中",
    EventStatus.CONTEST: "比赛中",
}


class AwardMode(enum.StrEnum):
    """How the number of awards per tier is set."""

    COUNTS = "counts"  # fixed numbers: 1 / 2 / 3 (+ 优胜奖 N)
    SHARES = "shares"  # percentages of the ranked contestants: 10 % / 20 % / 30 %


class ComponentSource(enum.StrEnum):
    """Where a component's score comes from."""

    ENTERED = "entered"  # typed or imported per contestant (理论知识 from the exam system)
    SCHEME = "scheme"  # the sum of the marking scheme's aspect marks (操作技能)


class AspectKind(enum.StrEnum):
    """WorldSkills aspect types."""

    MEASUREMENT = "M"  # 测量: the judge enters the mark (or picks one of the partial marks)
    JUDGEMENT = "J"  # 评价: each judge scores 0–3; mark = max × mean(score) / 3


class Aggregation(enum.StrEnum):
    """How the judges' values of one aspect are combined."""

    MEAN = "mean"  # 平均
    TRIMMED = "trimmed"  # 去掉一个最高分和一个最低分后平均 (only with ≥ 5 judges; else the mean)


class EntryStatus(enum.StrEnum):
    """Where a registration stands. PENDING and APPROVED hold a place."""

    PENDING = "pending"  # 待审核
    APPROVED = "approved"  # 已通过
    REJECTED = "rejected"  # 未通过
    WITHDRAWN = "withdrawn"  # 已退赛


ENTRY_STATUS_LABELS = {
    EntryStatus.PENDING: "待审核",
    EntryStatus.APPROVED: "已通过",
    EntryStatus.REJECTED: "未通过",
    EntryStatus.WITHDRAWN: "已退赛",
}
PLACE_HOLDING = (EntryStatus.PENDING, EntryStatus.APPROVED)


class SheetStatus(enum.StrEnum):
    """A judge's score sheet for one contestant."""

    DRAFT = "draft"  # 草稿
    SUBMITTED = "submitted"  # 已提交


RECUSAL_RELATIONS = ("同单位", "亲属", "师徒", "其他")


def plain_decimal(value: Decimal | None) -> str:
    """A decimal without trailing zeros or exponent: 30.00 → "30", 12.50 → "12.5"; None → ""."""
    if value is None:
        return ""
    text = format(Decimal(value), "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


class Edition(TimestampMixin, db.Model):
    """One edition (届) of the contest, e.g. 2026年"虔能杯"网约配送员职业技能竞赛.

    ``precision`` is the number of decimal places totals are published with (default 2);
    rounding is half-up and happens once, at the end (see ``scoring.round_score``).
    """

    __tablename__ = "competition_editions"
    __table_args__ = (CheckConstraint("precision BETWEEN 0 AND 4", name="precision_range"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120), unique=True)
    year: Mapped[int]
    organisers: Mapped[str | None] = mapped_column(Text)  # 主办/承办单位, one per line
    starts_on: Mapped[date | None] = mapped_column(Date)
    ends_on: Mapped[date | None] = mapped_column(Date)
    place: Mapped[str | None] = mapped_column(String(120))
    rules: Mapped[str | None] = mapped_column(Text)  # 竞赛规程 summary
    precision: Mapped[int] = mapped_column(default=2)

    events: Mapped[list[Event]] = relationship(back_populates="edition", order_by="Event.id",
                                               cascade="all, delete-orphan")


class Event(LockableMixin, TimestampMixin, db.Model):
    """One event (赛项) of an edition, usually one per occupation.

    ``eligible_groups`` lists occupation groups (accounts.models.OCCUPATION_GROUPS) allowed to
    register (empty: any); ``min_age``/``max_age`` apply to the age on ``contest_date`` computed
    from the ID number's birth date. ``tie_breaks`` is an ordered list of ``"<key>:<asc|desc>"``
    where key is a component code or ``time`` (time used). ``public_code`` names the public
    results board; ``draw_seed`` reproduces the drawn numbers.
    """

    __tablename__ = "competition_events"
    __table_args__ = (
        CheckConstraint("capacity >= 0", name="capacity_positive"),
        CheckConstraint("award_mode IN ('counts', 'shares')", name="award_mode_known"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    edition_id: Mapped[int] = mapped_column(ForeignKey("competition_editions.id", ondelete="CASCADE"),
                                            index=True)
    public_code: Mapped[str] = mapped_column(String(16), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    occupation: Mapped[str] = mapped_column(String(60))
    occupation_code: Mapped[str | None] = mapped_column(String(20))
    level: Mapped[str | None] = mapped_column(String(30))
    contest_date: Mapped[date | None] = mapped_column(Date)
    place: Mapped[str | None] = mapped_column(String(120))
    registration_opens_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    registration_closes_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    capacity: Mapped[int] = mapped_column(default=100)
    eligible_groups: Mapped[list] = mapped_column(JSON, default=list)
    min_age: Mapped[int | None]
    max_age: Mapped[int | None]
    approval_required: Mapped[bool] = mapped_column(default=True)
    tie_breaks: Mapped[list] = mapped_column(JSON, default=list)
    shared_ranks: Mapped[bool] = mapped_column(default=True)
    award_mode: Mapped[str] = mapped_column(String(10), default=AwardMode.COUNTS)
    status: Mapped[str] = mapped_column(String(20), default=EventStatus.SETUP, index=True)
    draw_seed: Mapped[str | None] = mapped_column(String(64))
    drawn_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    drawn_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    locked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    locked_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    published_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    edition: Mapped[Edition] = relationship(back_populates="events", lazy="joined")
    components: Mapped[list[Component]] = relationship(
        back_populates="event", order_by="Component.position", cascade="all, delete-orphan", lazy="selectin")
    award_rules: Mapped[list[AwardRule]] = relationship(
        back_populates="event", order_by="AwardRule.position", cascade="all, delete-orphan", lazy="selectin")
    sub_criteria: Mapped[list[SubCriterion]] = relationship(
        back_populates="event", order_by="SubCriterion.position", cascade="all, delete-orphan")
    judges: Mapped[list[EventJudge]] = relationship(back_populates="event", cascade="all, delete-orphan",
                                                    lazy="selectin")

    @property
    def status_label(self) -> str:
        if self.published_at:
            return "成绩已公布"
        if self.locked_at:
            return "成绩已锁定"
        if self.status == EventStatus.CONTEST and self.drawn_at:
            return "比赛中（已抽签）"
        return EVENT_STATUS_LABELS[EventStatus(self.status)]

    @property
    def scheme_component(self) -> Component | None:
        return next((c for c in self.components if c.source == ComponentSource.SCHEME), None)

    def component(self, code: str) -> Component | None:
        return next((c for c in self.components if c.code == code), None)


class Component(db.Model):
    """A weighted part of the score (科目): 理论知识 30 %, 操作技能 70 %, each out of ``max_score``.

    ``weight`` is a percentage; the weights of an event add up to 100. ``code`` is a short key
    (theory, practical, …) used by tie-breaks and imports.
    """

    __tablename__ = "competition_components"
    __table_args__ = (
        UniqueConstraint("event_id", "code"),
        CheckConstraint("weight > 0 AND weight <= 100", name="weight_range"),
        CheckConstraint("max_score > 0", name="max_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("competition_events.id", ondelete="CASCADE"), index=True)
    code: Mapped[str] = mapped_column(String(20))
    name: Mapped[str] = mapped_column(String(40))
    weight: Mapped[Decimal] = mapped_column(Numeric(5, 2))
    max_score: Mapped[Decimal] = mapped_column(Numeric(6, 2), default=Decimal("100"))
    source: Mapped[str] = mapped_column(String(10), default=ComponentSource.ENTERED)
    position: Mapped[int] = mapped_column(default=0)

    event: Mapped[Event] = relationship(back_populates="components")

    @property
    def weight_text(self) -> str:
        """The weight without trailing zeros: ``"30"``, ``"12.5"``."""
        return plain_decimal(self.weight)

    @property
    def max_text(self) -> str:
        return plain_decimal(self.max_score)


class AwardRule(db.Model):
    """One award tier of an event, best first (``position`` 1 = 一等奖).

    Exactly one of ``count`` (fixed number, mode counts) or ``share`` (percent of the ranked
    contestants, mode shares) is used, depending on ``Event.award_mode``. ``title`` is an honour
    title that comes with the award (技术能手); ``level_note`` states a skill-level upgrade.
    """

    __tablename__ = "competition_award_rules"
    __table_args__ = (UniqueConstraint("event_id", "position"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("competition_events.id", ondelete="CASCADE"), index=True)
    position: Mapped[int]
    name: Mapped[str] = mapped_column(String(20))
    count: Mapped[int | None]
    share: Mapped[Decimal | None] = mapped_column(Numeric(5, 2))
    title: Mapped[str | None] = mapped_column(String(40))
    level_note: Mapped[str | None] = mapped_column(String(120))

    event: Mapped[Event] = relationship(back_populates="award_rules")

    @property
    def share_text(self) -> str:
        return plain_decimal(self.share)


class SubCriterion(db.Model):
    """A group of aspects in the marking scheme (子模块), e.g. "A 出车前准备"."""

    __tablename__ = "competition_sub_criteria"
    __table_args__ = (UniqueConstraint("event_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("competition_events.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(80))
    position: Mapped[int] = mapped_column(default=0)

    event: Mapped[Event] = relationship(back_populates="sub_criteria")
    aspects: Mapped[list[Aspect]] = relationship(back_populates="sub_criterion", order_by="Aspect.position",
                                                 cascade="all, delete-orphan", lazy="selectin")


class Aspect(db.Model):
    """One marked aspect (评分项) with its maximum mark, type (M/J) and aggregation.

    ``partial_marks`` (measurement only) is an optional list of allowed marks as strings
    (``["0", "1.5", "3"]``); without it a judge types any mark from 0 to ``max_mark`` in steps
    of 0.5. Judgement judges score 0, 1, 2 or 3.
    """

    __tablename__ = "competition_aspects"
    __table_args__ = (
        CheckConstraint("max_mark > 0", name="max_positive"),
        CheckConstraint("kind IN ('M', 'J')", name="kind_known"),
        CheckConstraint("aggregation IN ('mean', 'trimmed')", name="aggregation_known"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("competition_events.id", ondelete="CASCADE"), index=True)
    sub_criterion_id: Mapped[int] = mapped_column(ForeignKey("competition_sub_criteria.id", ondelete="CASCADE"),
                                                  index=True)
    name: Mapped[str] = mapped_column(String(120))
    kind: Mapped[str] = mapped_column(String(1))
    max_mark: Mapped[Decimal] = mapped_column(Numeric(6, 2))
    aggregation: Mapped[str] = mapped_column(String(10), default=Aggregation.MEAN)
    partial_marks: Mapped[list | None] = mapped_column(JSON)
    notes: Mapped[str | None] = mapped_column(Text)
    position: Mapped[int] = mapped_column(default=0)

    sub_criterion: Mapped[SubCriterion] = relationship(back_populates="aspects")

    @property
    def kind_label(self) -> str:
        return "测量" if self.kind == AspectKind.MEASUREMENT else "评价"

    @property
    def max_text(self) -> str:
        return plain_decimal(self.max_mark)


class Entry(TimestampMixin, db.Model):
    """One learner's registration (报名) for one event, and later their drawn number.

    ``code`` is an opaque random token used in every URL a judge sees; ``number`` is the
    drawn contestant number (抽签号), unique within the event. ``platform``/``district`` are
    copied at registration for the results board. ``time_used_seconds`` (用时) feeds the
    ``time`` tie-break.
    """

    __tablename__ = "competition_entries"
    __table_args__ = (
        UniqueConstraint("event_id", "learner_id"),
        UniqueConstraint("event_id", "number"),
        Index("ix_competition_entries_event_status", "event_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("competition_events.id", ondelete="CASCADE"), index=True)
    learner_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    code: Mapped[str] = mapped_column(String(24), unique=True)
    status: Mapped[str] = mapped_column(String(20), default=EntryStatus.PENDING)
    source: Mapped[str] = mapped_column(String(10), default="self")  # self | import | admin
    platform: Mapped[str | None] = mapped_column(String(60))
    district: Mapped[str | None] = mapped_column(String(20))
    applied_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    decision_reason: Mapped[str | None] = mapped_column(Text)
    number: Mapped[int | None]
    checked_in_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    checked_in_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    time_used_seconds: Mapped[int | None]

    event: Mapped[Event] = relationship()
    learner: Mapped[User] = relationship(foreign_keys=[learner_id])

    @property
    def status_label(self) -> str:
        return ENTRY_STATUS_LABELS[EntryStatus(self.status)]

    @property
    def number_label(self) -> str:
        """The drawn number as shown on the bib: two digits (07), three beyond 99."""
        return "" if self.number is None else f"{self.number:02d}"


class EventJudge(db.Model):
    """A judge assigned to an event; ``is_chief`` marks the chief judge (裁判长).

    ``marks`` is False for a chief judge who supervises without scoring.
    """

    __tablename__ = "competition_event_judges"
    __table_args__ = (UniqueConstraint("event_id", "judge_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("competition_events.id", ondelete="CASCADE"), index=True)
    judge_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    is_chief: Mapped[bool] = mapped_column(default=False)
    marks: Mapped[bool] = mapped_column(default=True)

    event: Mapped[Event] = relationship(back_populates="judges")
    judge: Mapped[User] = relationship(lazy="joined")


class Recusal(db.Model):
    """A judge stands aside for one contestant (执裁回避): the pair is kept apart from then on."""

    __tablename__ = "competition_recusals"
    __table_args__ = (UniqueConstraint("judge_id", "entry_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("competition_events.id", ondelete="CASCADE"), index=True)
    judge_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    entry_id: Mapped[int] = mapped_column(ForeignKey("competition_entries.id", ondelete="CASCADE"), index=True)
    relation: Mapped[str] = mapped_column(String(20))
    reason: Mapped[str] = mapped_column(Text)
    declared_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    declared_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    entry: Mapped[Entry] = relationship()
    judge: Mapped[User] = relationship(foreign_keys=[judge_id])


class ScoreSheet(db.Model):
    """One judge's marks for one contestant: a draft until submitted."""

    __tablename__ = "competition_score_sheets"
    __table_args__ = (UniqueConstraint("entry_id", "judge_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("competition_events.id", ondelete="CASCADE"), index=True)
    entry_id: Mapped[int] = mapped_column(ForeignKey("competition_entries.id", ondelete="CASCADE"), index=True)
    judge_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    status: Mapped[str] = mapped_column(String(10), default=SheetStatus.DRAFT)
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    scores: Mapped[list[Score]] = relationship(back_populates="sheet", cascade="all, delete-orphan",
                                               lazy="selectin")


class Score(db.Model):
    """One judge's value for one aspect: a mark (M) or a 0–3 score (J)."""

    __tablename__ = "competition_scores"
    __table_args__ = (UniqueConstraint("sheet_id", "aspect_id"),
                      CheckConstraint("value >= 0", name="value_positive"))

    id: Mapped[int] = mapped_column(primary_key=True)
    sheet_id: Mapped[int] = mapped_column(ForeignKey("competition_score_sheets.id", ondelete="CASCADE"),
                                          index=True)
    aspect_id: Mapped[int] = mapped_column(ForeignKey("competition_aspects.id", ondelete="CASCADE"), index=True)
    value: Mapped[Decimal] = mapped_column(Numeric(6, 2))

    sheet: Mapped[ScoreSheet] = relationship(back_populates="scores")


class ComponentScore(db.Model):
    """A contestant's score in an entered component (理论知识), or ``absent`` (缺考)."""

    __tablename__ = "competition_component_scores"
    __table_args__ = (UniqueConstraint("entry_id", "component_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    entry_id: Mapped[int] = mapped_column(ForeignKey("competition_entries.id", ondelete="CASCADE"), index=True)
    component_id: Mapped[int] = mapped_column(ForeignKey("competition_components.id", ondelete="CASCADE"),
                                              index=True)
    value: Mapped[Decimal | None] = mapped_column(Numeric(6, 2))
    absent: Mapped[bool] = mapped_column(default=False)

    @property
    def text(self) -> str:
        """As typed back into a form: "84.5", "缺考" or ""."""
        return "缺考" if self.absent else plain_decimal(self.value)


class ScoreChange(db.Model):
    """Append-only history of every score change (judges' values and entered components).

    ``old_value``/``new_value`` are None for "no value"; ``note`` says what happened
    (draft, submit, import, entry, absent, recusal).
    """

    __tablename__ = "competition_score_changes"
    __table_args__ = (Index("ix_competition_score_changes_entry", "entry_id", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("competition_events.id", ondelete="CASCADE"), index=True)
    entry_id: Mapped[int] = mapped_column(ForeignKey("competition_entries.id", ondelete="CASCADE"))
    judge_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    aspect_id: Mapped[int | None] = mapped_column(ForeignKey("competition_aspects.id", ondelete="SET NULL"))
    component_id: Mapped[int | None] = mapped_column(ForeignKey("competition_components.id", ondelete="SET NULL"))
    old_value: Mapped[Decimal | None] = mapped_column(Numeric(6, 2))
    new_value: Mapped[Decimal | None] = mapped_column(Numeric(6, 2))
    note: Mapped[str] = mapped_column(String(20))
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


@sa_event.listens_for(ScoreChange, "before_update")
@sa_event.listens_for(ScoreChange, "before_delete")
def _score_history_is_append_only(mapper, connection, target) -> None:
    """The score history is never rewritten: the application may only add rows."""
    raise RuntimeError("competition score history is append-only")


class Result(db.Model):
    """The published result of one contestant (a snapshot taken at publication).

    ``rank`` is None for contestants who were not ranked (缺赛/缺考); ``components`` maps a
    component code to its score as published (string decimals); ``total_text`` is the total as
    published (with the edition's number of decimal places).
    """

    __tablename__ = "competition_results"
    __table_args__ = (UniqueConstraint("entry_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("competition_events.id", ondelete="CASCADE"), index=True)
    entry_id: Mapped[int] = mapped_column(ForeignKey("competition_entries.id", ondelete="CASCADE"))
    rank: Mapped[int | None]
    total: Mapped[Decimal | None] = mapped_column(Numeric(7, 4))
    total_text: Mapped[str | None] = mapped_column(String(12))  # as published, e.g. "92.50"
    components: Mapped[dict] = mapped_column(JSON, default=dict)
    award: Mapped[str | None] = mapped_column(String(20))
    award_position: Mapped[int | None]
    title: Mapped[str | None] = mapped_column(String(40))
    level_note: Mapped[str | None] = mapped_column(String(120))
    note: Mapped[str | None] = mapped_column(String(40))  # 缺赛 / 缺考

    entry: Mapped[Entry] = relationship(lazy="joined")
