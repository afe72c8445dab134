"""The SQL behind the report figures: one GROUP BY per figure over the whole period, so the
number of queries does not grow with the data (definitions: ``academy.reports.services``).

Each figure function adds its grouped counts to a ``Tally`` (per district, occupation group,
platform and course, and in total).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import TYPE_CHECKING

from sqlalchemy import and_, case, distinct, func, select
from sqlalchemy.orm import aliased, joinedload, lazyload

from academy.accounts.models import DISTRICTS, OCCUPATION_GROUPS, User
from academy.attendance.models import AttendanceRecord, AttendanceStatus, ClassSession, SessionStatus
from academy.catalogue.models import Cohort, CohortStatus, Course, ExcusedPolicy
from academy.certificates.models import (
    Certificate,
    CertificateKind,
    CertificateStatus,
    ExternalLevelCertificate,
)
from academy.common.timeutil import local_zone
from academy.competitions.models import Edition, Entry, EntryStatus, Event
from academy.degrees.models import DegreeCase
from academy.degrees.services import count_upgrading
from academy.degrees.stages import UPGRADING_STAGES
from academy.enrolment.models import Enrolment, EnrolmentStatus
from academy.exams import outcomes
from academy.exams.models import Assessment, Attempt, ExamScore
from academy.exams.scoring import Mark
from academy.extensions import db

if TYPE_CHECKING:
    from academy.reports.services import ReportFilter



def N_(text: str) -> str:  # noqa: N802 - the gettext_noop marker Babel extracts
    """Mark ``text`` for translation without translating it (templates translate it when shown)."""
    return text


MAX_MONTHS = 60
TRAINING_KINDS = (CertificateKind.COMPLETION, CertificateKind.SPECIAL, CertificateKind.LEVEL)
ATTENDED = (AttendanceStatus.PRESENT, AttendanceStatus.LATE)
# Breakdown dimensions, in display order: key → column header.
DIMENSIONS = {"district": N_("县（市、区）"), "occupation_group": N_("从业类型"), "platform": N_("平台/企业"),
              "course": N_("课程")}
LEARNER_DIMENSIONS = ("district", "occupation_group", "platform")


@dataclass(frozen=True)
class MonthPoint:
    """One month of the trends: ``month`` is "2026-03" (Asia/Shanghai)."""

    month: str
    enrolments: int = 0
    certificates: int = 0
    check_ins: int = 0


def course_labels(ids: Iterable[str]) -> dict[str, str]:
    """Course id (as a string) → "title（code）" for people (one query)."""
    wanted = [int(i) for i in ids if i]
    rows = db.session.execute(select(Course.id, Course.code, Course.title).where(Course.id.in_(wanted)))
    return {str(i): f"{title}（{code}）" for i, code, title in rows}


@dataclass(frozen=True)
class FilterChoices:
    """Values offered by the dashboard's filter form: courses (id, label), occupations, districts,
    occupation groups and platforms in use."""

    courses: list[tuple[int, str]]
    occupations: list[str]
    districts: tuple[str, ...]
    occupation_groups: tuple[str, ...]
    platforms: list[str]


def filter_choices() -> FilterChoices:
    """The filter form's options (three queries)."""
    courses = [(i, f"{title}（{code}）") for i, code, title in
               db.session.execute(select(Course.id, Course.code, Course.title).order_by(Course.code))]
    occupations = list(db.session.scalars(select(Course.occupation).distinct().order_by(Course.occupation)))
    platforms = list(db.session.scalars(select(User.platform).where(User.platform.is_not(None))
                                        .distinct().order_by(User.platform)))
    return FilterChoices(courses, occupations, DISTRICTS, OCCUPATION_GROUPS, platforms)


# --- SQL helpers -----------------------------------------------------------------------------

ATTRS = (User.district, User.occupation_group, User.platform)


def _learner_conditions(f: ReportFilter) -> list:
    conds = []
    if f.district:
        conds.append(User.district == f.district)
    if f.occupation_group:
        conds.append(User.occupation_group == f.occupation_group)
    if f.platform:
        conds.append(User.platform == f.platform)
    return conds


def _course_conditions(f: ReportFilter, course=Course) -> list:
    conds = []
    if f.course_id:
        conds.append(course.id == f.course_id)
    if f.occupation:
        conds.append(course.occupation == f.occupation)
    return conds


def occupation_of(f: ReportFilter) -> str | None:
    """The occupation that figures not tied to a course are filtered by (explicit, or the course's)."""
    if f.occupation or not f.course_id:
        return f.occupation
    return db.session.scalar(select(Course.occupation).where(Course.id == f.course_id))


def _dialect() -> str:
    return db.session.get_bind().dialect.name


def _month_of_instant(column):
    """SQL: the local month ("2026-03") of a UTC timestamp column. On SQLite the zone's current
    offset is added (exact for zones without daylight saving, such as Asia/Shanghai)."""
    zone = local_zone()
    if _dialect() == "postgresql":
        return func.to_char(func.timezone(zone.key, column), "YYYY-MM")
    offset = zone.utcoffset(datetime.now(UTC).replace(tzinfo=None))
    minutes = int(offset.total_seconds() // 60) if offset else 0
    return func.strftime("%Y-%m", column, f"{minutes:+d} minutes")


def _month_of_date(column):
    """SQL: the month ("2026-03") of a DATE column."""
    if _dialect() == "postgresql":
        return func.to_char(column, "YYYY-MM")
    return func.strftime("%Y-%m", column)


def _certificate_chains(f: ReportFilter):
    """Recursive CTE (root_id, member_id): every certificate with the original it descends from
    through ``replaces_id`` (an original is its own root), for the originals of training kinds
    issued within ``f``'s period only — the filters on the root are applied in the anchor so that
    the recursion walks those chains alone (with ``ix_certificates_replaces_id``), not all 50,000."""
    chains = (select(Certificate.id.label("root_id"), Certificate.id.label("member_id"))
              .where(Certificate.replaces_id.is_(None), Certificate.kind.in_(TRAINING_KINDS),
                     Certificate.issued_on >= f.date_from, Certificate.issued_on <= f.date_to)
              .cte("certificate_chains", recursive=True))
    earlier = chains.alias("earlier")
    step = aliased(Certificate)
    return chains.union_all(select(earlier.c.root_id, step.id).where(step.replaces_id == earlier.c.member_id))


def _valid_chain_statement(f: ReportFilter, columns):
    """SELECT ``columns(root)`` and a count, grouped by those columns, over the certificate chains
    counted as issued (see the definitions in ``reports.services``)."""
    chains = _certificate_chains(f)
    root, member = aliased(Certificate), aliased(Certificate)
    keys = columns(root)
    return (select(*keys, func.count()).select_from(chains)
            .join(root, root.id == chains.c.root_id).join(member, member.id == chains.c.member_id)
            .join(User, root.learner_id == User.id).outerjoin(Course, root.course_id == Course.id)
            .where(member.status == CertificateStatus.VALID, root.kind.in_(TRAINING_KINDS),
                   root.issued_on >= f.date_from, root.issued_on <= f.date_to,
                   *_learner_conditions(f), *_course_conditions(f))
            .group_by(*keys))


# --- tallies ---------------------------------------------------------------------------------


class Tally:
    """Counters per dimension value and in total, filled from grouped query rows."""

    def __init__(self) -> None:
        self.total: Counter[str] = Counter()
        self.rows: dict[str, defaultdict[str, Counter[str]]] = {d: defaultdict(Counter) for d in DIMENSIONS}

    def add(self, name: str, n: int, attrs: tuple | None = None, course_id: int | None = None, *,
            total: bool = True) -> None:
        n = int(n or 0)
        if attrs is not None:
            for dim, value in zip(LEARNER_DIMENSIONS, attrs, strict=True):
                self.rows[dim][value or ""][name] += n
        if course_id is not None:
            self.rows["course"][str(course_id)][name] += n
        if total:
            self.total[name] += n


def trained(f: ReportFilter, tally: Tally) -> None:
    base = (select().select_from(Enrolment).join(Cohort, Enrolment.cohort_id == Cohort.id)
            .join(Course, Cohort.course_id == Course.id).join(User, Enrolment.learner_id == User.id)
            .where(Enrolment.status == EnrolmentStatus.ENROLLED, Cohort.status != CohortStatus.CANCELLED,
                   Cohort.start_date >= f.date_from, Cohort.start_date <= f.date_to,
                   *_learner_conditions(f), *_course_conditions(f)))
    learners = func.count(distinct(Enrolment.learner_id))
    # a learner has one district / group / platform, so these groups add up to the distinct total
    for *attrs, n in db.session.execute(base.add_columns(*ATTRS, learners).group_by(*ATTRS)):
        tally.add("learners_trained", n, tuple(attrs))
    for course_id, n in db.session.execute(base.add_columns(Cohort.course_id, learners).group_by(Cohort.course_id)):
        tally.add("learners_trained", n, course_id=course_id, total=False)


def certificates(f: ReportFilter, tally: Tally) -> None:
    stmt = _valid_chain_statement(f, lambda root: (*ATTRS, root.course_id))
    for district, group, platform, course_id, n in db.session.execute(stmt):
        tally.add("certificates_issued", n, (district, group, platform), course_id)


def level_certificates(f: ReportFilter, tally: Tally, occupation: str | None) -> None:
    stmt = (select(*ATTRS, func.count()).select_from(ExternalLevelCertificate)
            .join(User, ExternalLevelCertificate.learner_id == User.id)
            .where(ExternalLevelCertificate.issued_on >= f.date_from, ExternalLevelCertificate.issued_on <= f.date_to,
                   *_learner_conditions(f)))
    if occupation:
        stmt = stmt.where(ExternalLevelCertificate.occupation == occupation)
    for *attrs, n in db.session.execute(stmt.group_by(*ATTRS)):
        tally.add("level_certificates", n, tuple(attrs))


def upgrading(f: ReportFilter, tally: Tally) -> None:
    stmt = (select(*ATTRS, func.count(distinct(DegreeCase.learner_id))).select_from(DegreeCase)
            .join(User, DegreeCase.learner_id == User.id)
            .where(DegreeCase.stage.in_(UPGRADING_STAGES), *_learner_conditions(f)).group_by(*ATTRS))
    for *attrs, n in db.session.execute(stmt):
        tally.add("upgrading", n, tuple(attrs), total=False)
    tally.total["upgrading"] = count_upgrading(district=f.district, occupation_group=f.occupation_group,
                                               platform=f.platform)


def attendance(f: ReportFilter, tally: Tally) -> None:
    status, policy = AttendanceRecord.status, Cohort.excused_policy
    excused = status == AttendanceStatus.EXCUSED
    attended = func.sum(case((status.in_(ATTENDED), 1), (and_(excused, policy == ExcusedPolicy.PRESENT), 1), else_=0))
    held = func.sum(case((status.in_((*ATTENDED, AttendanceStatus.ABSENT)), 1),
                         (and_(excused, policy.in_((ExcusedPolicy.PRESENT, ExcusedPolicy.ABSENT))), 1), else_=0))
    stmt = (select(*ATTRS, Cohort.course_id, attended, held).select_from(AttendanceRecord)
            .join(ClassSession, AttendanceRecord.session_id == ClassSession.id)
            .join(Cohort, ClassSession.cohort_id == Cohort.id).join(Course, Cohort.course_id == Course.id)
            .join(User, AttendanceRecord.learner_id == User.id)
            .where(ClassSession.status == SessionStatus.SCHEDULED, ClassSession.starts_at >= f.start,
                   ClassSession.starts_at < f.end, *_learner_conditions(f), *_course_conditions(f))
            .group_by(*ATTRS, Cohort.course_id))
    for district, group, platform, course_id, n_attended, n_held in db.session.execute(stmt):
        tally.add("attended", n_attended, (district, group, platform), course_id)
        tally.add("held", n_held, (district, group, platform), course_id)


@dataclass
class _Marks:
    """The parts of an ``exams.models.Attempt`` that ``exams.outcomes`` reads, loaded in bulk."""

    attempt_no: int
    by_component: dict[int, Mark] = field(default_factory=dict)

    def marks(self) -> dict[int, Mark]:
        return self.by_component


@dataclass(frozen=True)
class _Published:
    """The parts of a published ``exams.models.Assessment`` that ``exams.outcomes`` reads, with its
    component rules built once: building them per attempt was half of the dashboard's time at city
    scale (40,000 outcomes)."""

    id: int
    cohort_id: int
    is_resit: bool
    components: tuple
    attempt_policy: str
    published_at: datetime | None
    title: str
    pass_rule: str
    pass_mark: Decimal
    component_rules: tuple

    @classmethod
    def of(cls, a) -> _Published:
        return cls(a.id, a.cohort_id, a.is_resit, tuple(a.components), a.attempt_policy, a.published_at, a.title,
                   a.pass_rule, a.pass_mark, tuple(a.rules()))

    def rules(self) -> tuple:
        return self.component_rules


def pass_rate(f: ReportFilter, tally: Tally) -> None:
    """Outcomes of cohorts ending in the period, with the exams module's own rule (three queries)."""
    cohorts = (select(Cohort.id).join(Course, Cohort.course_id == Course.id)
               .where(Cohort.status != CohortStatus.CANCELLED, Cohort.end_date >= f.date_from,
                      Cohort.end_date <= f.date_to, *_course_conditions(f)))
    published_ids = select(Assessment.id).where(Assessment.cohort_id.in_(cohorts), Assessment.published_at.is_not(None))
    assessments = db.session.execute(
        select(Assessment, Cohort.course_id).join(Cohort, Assessment.cohort_id == Cohort.id)
        .where(Assessment.id.in_(published_ids))
        .options(joinedload(Assessment.components), lazyload(Assessment.cohort)).order_by(Assessment.id)
    ).unique().all()
    chains: dict[int, list[Assessment]] = defaultdict(list)
    course_of: dict[int, int] = {}
    for assessment, course_id in assessments:
        chains[assessment.cohort_id].append(_Published.of(assessment))
        course_of[assessment.cohort_id] = course_id
    people: dict[int, set[int]] = defaultdict(set)  # cohort id → learner ids
    attrs: dict[int, tuple] = {}
    enrolled = (select(Enrolment.cohort_id, Enrolment.learner_id, *ATTRS).join(User, Enrolment.learner_id == User.id)
                .where(Enrolment.cohort_id.in_(select(Assessment.cohort_id).where(Assessment.id.in_(published_ids))),
                       Enrolment.status == EnrolmentStatus.ENROLLED, *_learner_conditions(f)))
    for cohort_id, learner_id, *values in db.session.execute(enrolled):
        people[cohort_id].add(learner_id)
        attrs[learner_id] = tuple(values)
    marks: dict[int, dict[int, _Marks]] = defaultdict(dict)  # learner id → assessment id → marks
    cohort_of = {a.id: a.cohort_id for a, _ in assessments}
    rows = (select(Attempt.learner_id, Attempt.assessment_id, Attempt.attempt_no, *ATTRS, ExamScore.component_id,
                   ExamScore.points, ExamScore.absent)
            .select_from(Attempt).join(User, Attempt.learner_id == User.id)
            .outerjoin(ExamScore, ExamScore.attempt_id == Attempt.id)
            .where(Attempt.assessment_id.in_(published_ids), *_learner_conditions(f)))
    for learner_id, assessment_id, attempt_no, district, group, platform, component_id, points, absent in \
            db.session.execute(rows):
        entry = marks[learner_id].setdefault(assessment_id, _Marks(attempt_no))
        if component_id is not None:
            entry.by_component[component_id] = Mark(absent=True) if absent else Mark(points=points)
        people[cohort_of[assessment_id]].add(learner_id)
        attrs[learner_id] = (district, group, platform)
    for cohort_id, learner_ids in people.items():
        for learner_id in learner_ids:
            outcome = outcomes._outcome(learner_id, chains[cohort_id], marks.get(learner_id, {}))  # noqa: SLF001
            if outcome.passed is None:
                continue
            tally.add("with_result", 1, attrs[learner_id], course_of[cohort_id])
            tally.add("passed", 1 if outcome.passed else 0, attrs[learner_id], course_of[cohort_id])


def entrants(f: ReportFilter, tally: Tally, occupation: str | None) -> None:
    day = func.coalesce(Event.contest_date, Edition.starts_on)
    stmt = (select(*ATTRS, func.count()).select_from(Entry).join(Event, Entry.event_id == Event.id)
            .join(Edition, Event.edition_id == Edition.id).join(User, Entry.learner_id == User.id)
            .where(Entry.status == EntryStatus.APPROVED, day >= f.date_from, day <= f.date_to,
                   *_learner_conditions(f)))
    if occupation:
        stmt = stmt.where(Event.occupation == occupation)
    for *attrs, n in db.session.execute(stmt.group_by(*ATTRS)):
        tally.add("entrants", n, tuple(attrs))


# --- trends ----------------------------------------------------------------------------------


def months(f: ReportFilter) -> list[str]:
    """The local months of the period ("2026-01" …), at most the last ``MAX_MONTHS``."""
    out = []
    year, month = f.date_from.year, f.date_from.month
    while (year, month) <= (f.date_to.year, f.date_to.month):
        out.append(f"{year:04d}-{month:02d}")
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return out[-MAX_MONTHS:]


def trends(f: ReportFilter) -> list[MonthPoint]:
    when = func.coalesce(Enrolment.enrolled_at, Enrolment.applied_at)
    month = _month_of_instant(when).label("month")
    enrolments = dict(db.session.execute(
        select(month, func.count()).select_from(Enrolment).join(Cohort, Enrolment.cohort_id == Cohort.id)
        .join(Course, Cohort.course_id == Course.id).join(User, Enrolment.learner_id == User.id)
        .where(Enrolment.status == EnrolmentStatus.ENROLLED, Cohort.status != CohortStatus.CANCELLED,
               when >= f.start, when < f.end,
               *_learner_conditions(f), *_course_conditions(f)).group_by(month)).all())
    certificates = dict(db.session.execute(_valid_chain_statement(
        f, lambda root: (_month_of_date(root.issued_on).label("month"),))).all())
    month = _month_of_instant(ClassSession.starts_at).label("month")
    check_ins = dict(db.session.execute(
        select(month, func.count()).select_from(AttendanceRecord)
        .join(ClassSession, AttendanceRecord.session_id == ClassSession.id)
        .join(Cohort, ClassSession.cohort_id == Cohort.id).join(Course, Cohort.course_id == Course.id)
        .join(User, AttendanceRecord.learner_id == User.id)
        .where(AttendanceRecord.status.in_(ATTENDED), ClassSession.status == SessionStatus.SCHEDULED,
               ClassSession.starts_at >= f.start, ClassSession.starts_at < f.end,
               *_learner_conditions(f), *_course_conditions(f)).group_by(month)).all())
    return [MonthPoint(m, enrolments.get(m, 0), certificates.get(m, 0), check_ins.get(m, 0)) for m in months(f)]


