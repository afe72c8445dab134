"""Exam rules: assessments and components, attendance eligibility, the gradebook (recording
marks with their history), publication and resits.

Sources of the rules: BRIEF.md §3 "Assessment" and issue 4. Scores are ``Decimal`` end to end
(arithmetic in ``academy.exams.scoring``). Results are hidden from learners until published:
what learners and certificates read comes from ``academy.exams.outcomes`` (``learner_outcome``
and ``cohort_outcomes`` are re-exported here, the names other modules use), which reads PUBLISHED
assessments only. Every change of a mark is an append-only ``ExamScoreChange`` row; once results
have ever been published a reason is required. Import is in ``importer``, statistics and the
export rows in ``stats``.

Functions add and flush, never commit. The acting user is keyword-only; ``now`` is a keyword
for anything time-dependent (attendance eligibility, publication, history).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import bindparam, func, insert, select, update
from sqlalchemy.orm import selectinload
from sqlalchemy.orm.attributes import set_committed_value

from academy.accounts.models import User
from academy.accounts.permissions import can_manage_cohort
from academy.audit.models import AuditEvent
from academy.audit.services import record
from academy.catalogue.models import Cohort
from academy.common.text import clean
from academy.common.timeutil import format_local, now_utc
from academy.database import lock_row
from academy.enrolment.models import Enrolment, EnrolmentStatus
from academy.enrolment.services import enrolled_learner_ids
from academy.errors import Conflict, DomainError, PermissionDenied, ValidationFailed
from academy.exams import scoring
from academy.exams.models import (
    Assessment,
    AssessmentComponent,
    Attempt,
    EligibilityOverride,
    ExamScore,
    ExamScoreChange,
)
from academy.exams.outcomes import (  # noqa: F401 - the interface other modules import from here
    LearnerCohortResults,
    LearnerResult,
    Outcome,
    cohort_outcomes,
    evaluate_attempt,
    learner_outcome,
    learner_results,
)
from academy.exams.scoring import AttemptPolicy, Mark, MarkError, PassRule, Result, format_score
from academy.extensions import db

DEFAULT_TITLE = "结业考核"
RESIT_TITLE = "补考"
MAX_COMPONENTS = 6


class ExamError(DomainError):
    """An exam rule refused the operation."""


class ReasonRequired(ExamError):
    """Results have been published: a change of a mark needs a reason."""


class SheetInvalid(ValidationFailed):
    """Some cells of a gradebook sheet are wrong; ``cells`` maps (learner id, component id) → reason.

    Nothing was saved.
    """

    def __init__(self, cells: dict[tuple[int, int], str], conflicts: frozenset[tuple[int, int]] = frozenset()):
        super().__init__(f"有 {len(cells)} 个成绩需要修改，整张成绩单都没有保存")
        self.cells = cells
        self.conflicts = conflicts  # cells someone else changed meanwhile


# --- assessments ------------------------------------------------------------------------------

@dataclass(frozen=True)
class ComponentSpec:
    """A component as entered on the settings form: name, maximum and pass mark in points, weight."""

    name: str
    max_points: Decimal = Decimal("100")
    pass_mark: Decimal = Decimal("60")
    weight: Decimal = Decimal("50")


DEFAULT_COMPONENTS = (ComponentSpec("理论知识"), ComponentSpec("操作技能"))


@dataclass(frozen=True)
class AssessmentSettings:
    """What an assessment's settings form holds (see ``Assessment`` for the meaning)."""

    title: str = DEFAULT_TITLE
    held_on: date | None = None
    pass_rule: str = PassRule.ALL_COMPONENTS
    pass_mark: Decimal = Decimal("60")
    attempt_policy: str = AttemptPolicy.BEST
    components: tuple[ComponentSpec, ...] = DEFAULT_COMPONENTS


def _require_staff(actor: User | None, cohort: Cohort) -> None:
    """``actor`` None is the command line (a person at the server); otherwise admin or the cohort's instructor."""
    if actor is not None and not can_manage_cohort(actor, cohort):
        raise PermissionDenied("只有本班教师和管理员可以管理考核成绩")


def _check_settings(settings: AssessmentSettings) -> None:
    if not clean(settings.title):
        raise ExamError("请填写考核名称")
    specs = settings.components
    if not specs:
        raise ExamError("至少需要一个科目")
    if len(specs) > MAX_COMPONENTS:
        raise ExamError(f"科目最多 {MAX_COMPONENTS} 个")
    names = [clean(s.name) for s in specs]
    if len(set(names)) != len(names):
        raise ExamError("科目名称不能重复")
    for spec in specs:
        if spec.max_points <= 0:
            raise ExamError(f"{spec.name}：满分必须大于0")
        if not Decimal(0) <= spec.pass_mark <= spec.max_points:
            raise ExamError(f"{spec.name}：及格分应在0到满分之间")
        if spec.weight < 0:
            raise ExamError(f"{spec.name}：权重不能为负")
    if sum((s.weight for s in specs), Decimal(0)) <= 0:
        raise ExamError("各科权重之和必须大于0")
    if not Decimal(0) <= settings.pass_mark <= Decimal(100):
        raise ExamError("总分及格线应在0到100之间")
    PassRule(settings.pass_rule)
    AttemptPolicy(settings.attempt_policy)


def _apply_components(assessment: Assessment, specs: Sequence[ComponentSpec]) -> None:
    existing = {c.name: c for c in assessment.components}
    used = _components_with_marks(assessment)
    wanted = [clean(s.name) for s in specs]
    for name, component in existing.items():
        if name not in wanted:
            if component.id in used:
                raise ExamError(f"科目“{name}”已有成绩，不能删除")
            assessment.components.remove(component)
    highest = _highest_marks(assessment)
    for position, spec in enumerate(specs):
        name = clean(spec.name)
        component = existing.get(name)
        if component is None:
            component = AssessmentComponent(name=name)
            assessment.components.append(component)
        elif spec.max_points < highest.get(component.id, Decimal(0)):
            raise ExamError(f"科目“{name}”已有 {format_score(highest[component.id])} 分的成绩，满分不能低于它")
        component.position = position
        component.max_points = spec.max_points
        component.pass_mark = spec.pass_mark
        component.weight = spec.weight


def _components_with_marks(assessment: Assessment) -> set[int]:
    if assessment.id is None:
        return set()
    return set(db.session.scalars(
        select(ExamScore.component_id).join(Attempt, ExamScore.attempt_id == Attempt.id)
        .where(Attempt.assessment_id == assessment.id).distinct()))


def _highest_marks(assessment: Assessment) -> dict[int, Decimal]:
    if assessment.id is None:
        return {}
    rows = db.session.execute(
        select(ExamScore.component_id, func.max(ExamScore.points)).join(Attempt, ExamScore.attempt_id == Attempt.id)
        .where(Attempt.assessment_id == assessment.id).group_by(ExamScore.component_id))
    return {cid: points for cid, points in rows if points is not None}


def create_assessment(cohort: Cohort, settings: AssessmentSettings = AssessmentSettings(), *,
                      actor: User | None) -> Assessment:
    """Create the cohort's original assessment (default 结业考核 with 理论知识 and 操作技能, 100/60 each).

    A cohort has one original assessment; resits are arranged from it (``arrange_resit``).
    Raises ``Conflict`` if the cohort already has one, ``ExamError`` for invalid settings and
    ``PermissionDenied`` for someone who does not manage the cohort.
    """
    _require_staff(actor, cohort)
    _check_settings(settings)
    exists = db.session.scalar(select(Assessment.id).where(Assessment.cohort_id == cohort.id,
                                                           Assessment.resit_of_id.is_(None)))
    if exists:
        raise Conflict("本班已有结业考核；需要补考请在原考核页面“安排补考”")
    assessment = Assessment(cohort=cohort, created_by_id=getattr(actor, "id", None))
    _set_fields(assessment, settings)
    _apply_components(assessment, settings.components)
    db.session.add(assessment)
    db.session.flush()
    record("exams.assessment_created", actor=actor, obj=assessment, cohort=cohort.code, title=assessment.title)
    return assessment


def _set_fields(assessment: Assessment, settings: AssessmentSettings) -> None:
    assessment.title = clean(settings.title)
    assessment.held_on = settings.held_on
    assessment.pass_rule = PassRule(settings.pass_rule)
    assessment.pass_mark = settings.pass_mark
    assessment.attempt_policy = AttemptPolicy(settings.attempt_policy)


def update_assessment(assessment: Assessment, settings: AssessmentSettings, *, actor: User | None) -> Assessment:
    """Change an unpublished assessment's settings and components (resits keep the original's
    attempt policy). Components that have marks cannot be removed nor get a maximum below a mark.
    Raises ``ExamError`` when published (unpublish first: results would change under learners' eyes).
    """
    _require_staff(actor, assessment.cohort)
    if assessment.is_published:
        raise ExamError("成绩已发布，不能修改考核设置；如需修改请先撤回发布")
    _check_settings(settings)
    if assessment.is_resit:
        settings = AssessmentSettings(settings.title, settings.held_on, settings.pass_rule, settings.pass_mark,
                                      assessment.resit_of.attempt_policy, settings.components)
    before = _describe(assessment)
    _set_fields(assessment, settings)
    _apply_components(assessment, settings.components)
    db.session.flush()
    if not assessment.is_resit:
        for resit in db.session.scalars(select(Assessment).where(Assessment.resit_of_id == assessment.id)):
            resit.attempt_policy = assessment.attempt_policy
    record("exams.assessment_updated", actor=actor, obj=assessment, before=before, after=_describe(assessment))
    return assessment


def _describe(assessment: Assessment) -> dict:
    return {"title": assessment.title, "pass_rule": assessment.pass_rule,
            "pass_mark": format_score(assessment.pass_mark), "attempt_policy": assessment.attempt_policy,
            "components": [[c.name, format_score(c.max_points), format_score(c.pass_mark), str(c.weight)]
                           for c in assessment.components]}


def cohort_assessments(cohort: Cohort) -> list[Assessment]:
    """The cohort's assessments: the original first, then its resits in order."""
    return list(db.session.scalars(
        select(Assessment).where(Assessment.cohort_id == cohort.id)
        .order_by(Assessment.resit_of_id.is_not(None), Assessment.id)))


def mark_counts(assessments: Sequence[Assessment]) -> dict[int, int]:
    """Number of recorded marks per assessment id (one query)."""
    if not assessments:
        return {}
    rows = db.session.execute(
        select(Attempt.assessment_id, func.count(ExamScore.id)).join(ExamScore, ExamScore.attempt_id == Attempt.id)
        .where(Attempt.assessment_id.in_([a.id for a in assessments])).group_by(Attempt.assessment_id))
    return dict(rows.all())


# --- eligibility (attendance) -----------------------------------------------------------------

@dataclass(frozen=True)
class Eligibility:
    """May the learner sit the cohort's assessments? ``rate`` is the attendance rate (fraction)."""

    eligible: bool
    meets_threshold: bool
    rate: Decimal | None
    override: EligibilityOverride | None = None


def eligibility(cohort: Cohort, learner_ids: Iterable[int], *, now: datetime | None = None) -> dict[int, Eligibility]:
    """Attendance eligibility per learner: the attendance threshold of the cohort (from
    ``academy.attendance.services``), unless an administrator recorded an override."""
    from academy.attendance.services import cohort_attendance_rates, meets_attendance_threshold

    learner_ids = list(learner_ids)
    rates = cohort_attendance_rates(cohort, now=now)
    overrides = {o.learner_id: o for o in db.session.scalars(
        select(EligibilityOverride).where(EligibilityOverride.cohort_id == cohort.id))}
    out = {}
    for lid in learner_ids:
        rate = rates.get(lid)
        meets = rate.meets_threshold if rate is not None else meets_attendance_threshold(lid, cohort, now=now)
        override = overrides.get(lid)
        out[lid] = Eligibility(meets or override is not None, meets, getattr(rate, "rate", None), override)
    return out


def override_eligibility(cohort: Cohort, learner: User, reason: str, *, actor: User,
                         now: datetime | None = None) -> EligibilityOverride:
    """An administrator lets ``learner`` sit ``cohort``'s assessments despite low attendance.

    Raises ``PermissionDenied`` for non-admins, ``ExamError`` without a reason or for someone not
    in the cohort, and ``Conflict`` when an override exists already.
    """
    if not actor.is_admin:
        raise PermissionDenied("只有管理员可以特批考试资格")
    reason = clean(reason)
    if not reason:
        raise ExamError("请填写特批原因")
    if learner.id not in set(enrolled_learner_ids(cohort.id)):
        raise ExamError("该学员不在本班")
    existing = db.session.scalar(select(EligibilityOverride).where(
        EligibilityOverride.cohort_id == cohort.id, EligibilityOverride.learner_id == learner.id))
    if existing is not None:
        raise Conflict("该学员已有特批记录")
    override = EligibilityOverride(cohort_id=cohort.id, learner_id=learner.id, reason=reason,
                                   granted_by_id=actor.id, granted_at=now or now_utc())
    db.session.add(override)
    db.session.flush()
    record("exams.eligibility_overridden", actor=actor, obj=override, cohort=cohort.code, learner_id=learner.id,
           reason=reason)
    return override


# --- the gradebook ----------------------------------------------------------------------------

@dataclass
class SheetRow:
    """One learner on a gradebook sheet: their attempt (None before any mark), marks by component
    id, the evaluated result, eligibility, and whether they still hold an enrolled seat."""

    learner: User
    attempt: Attempt | None
    attempt_no: int
    marks: dict[int, Mark]
    result: Result
    eligibility: Eligibility
    enrolled: bool = True


def gradebook(assessment: Assessment, *, order: str = "roster", now: datetime | None = None) -> list[SheetRow]:
    """The sheet of ``assessment``: for the original every ENROLLED learner (and anyone with an
    attempt), for a resit the learners given that attempt. ``order`` is "roster" (enrolment order)
    or "name". Constant number of queries."""
    attempts = {a.learner_id: a for a in db.session.scalars(
        select(Attempt).where(Attempt.assessment_id == assessment.id)
        .options(selectinload(Attempt.scores), selectinload(Attempt.learner)))}
    people: dict[int, tuple[User, bool, tuple]] = {}
    if not assessment.is_resit:
        enrolments = db.session.scalars(
            select(Enrolment).where(Enrolment.cohort_id == assessment.cohort_id,
                                    Enrolment.status == EnrolmentStatus.ENROLLED))
        for e in enrolments:
            people[e.learner_id] = (e.learner, True, (0, e.enrolled_at or e.applied_at, e.id))
    for lid, attempt in attempts.items():
        if lid not in people:
            enrolled = assessment.is_resit
            people[lid] = (attempt.learner, enrolled, (0 if enrolled else 1, attempt.created_at, attempt.id))
    if order == "name":
        ordered = sorted(people.values(), key=lambda p: (p[2][0], p[0].name, p[0].id))
    else:
        ordered = sorted(people.values(), key=lambda p: (p[2][0], p[2][1], p[2][2]))
    elig = eligibility(assessment.cohort, [p[0].id for p in ordered], now=now)
    rows = []
    for learner, enrolled, _ in ordered:
        attempt = attempts.get(learner.id)
        rows.append(SheetRow(learner, attempt, attempt.attempt_no if attempt else 1,
                             attempt.marks() if attempt else {}, evaluate_attempt(assessment, attempt),
                             elig[learner.id], enrolled))
    return rows


def record_scores(assessment: Assessment, entries: Mapping[tuple[int, int], object], *, actor: User | None,
                  reason: str | None = None, shown: Mapping[tuple[int, int], str] | None = None,
                  now: datetime | None = None, source: str = "gradebook") -> int:
    """Save a whole sheet of marks at once; all or nothing. Returns the number of marks changed.

    ``entries`` maps (learner id, component id) → what was typed (str, number, "缺考"; "" clears a
    mark). ``shown`` maps the same keys to the value the sheet showed when it was opened: a cell
    left as shown is not written (so two people saving at once do not undo each other), and a
    cell changed here that someone else changed meanwhile is refused as a conflict.
    Raises ``SheetInvalid`` (per cell: malformed, out of range, not a multiple of 0.5, learner not
    on the sheet or not eligible, conflict) and ``ReasonRequired`` when results have ever been
    published and no reason is given. Writes one ``ExamScoreChange`` per changed mark.
    """
    _require_staff(actor, assessment.cohort)
    now = now or now_utc()
    lock_row(db.session, Assessment, assessment.id)
    rows = {r.learner.id: r for r in gradebook(assessment, now=now)}
    components = {c.id: c for c in assessment.components}
    errors: dict[tuple[int, int], str] = {}
    conflicts: set[tuple[int, int]] = set()
    changes: list[tuple[SheetRow, int, Mark | None, Mark | None]] = []
    for key, raw in entries.items():
        learner_id, component_id = key
        row, component = rows.get(learner_id), components.get(component_id)
        if row is None or component is None:
            errors[key] = "该学员不在这张成绩单上"
            continue
        try:
            new = scoring.parse_mark(raw, maximum=component.max_points)
        except MarkError as exc:
            errors[key] = str(exc)
            continue
        old = row.marks.get(component_id)
        if shown is not None and key in shown:
            was = _lenient(shown[key])
            if new == was:
                continue
            if old != was and new != old:
                errors[key] = f"刚被他人改为“{old or '空'}”，请核对后再保存"
                conflicts.add(key)
                continue
        if new == old:
            continue
        if not row.eligibility.eligible:
            errors[key] = "出勤未达标，未获考试资格（可由管理员特批）"
            continue
        changes.append((row, component_id, old, new))
    if errors:
        raise SheetInvalid(errors, frozenset(conflicts))
    if changes and assessment.first_published_at is not None and not clean(reason):
        raise ReasonRequired("成绩发布过后，修改成绩必须填写原因")
    _apply(assessment, changes, actor=actor, reason=clean(reason) or None, now=now, source=source)
    return len(changes)


def _lenient(text: str) -> Mark | None:
    try:
        return scoring.parse_mark(text, maximum=Decimal("9999.9"))
    except MarkError:
        return None


def _apply(assessment: Assessment, changes, *, actor: User | None, reason: str | None, now: datetime,
           source: str) -> None:
    """Write the changed marks and their history in bulk: new attempts in one INSERT, new marks in
    one, changed marks in one UPDATE, cleared marks in one DELETE (the flush), history rows in one
    INSERT — a constant number of queries for a sheet of 60 or 300 learners. (Core executemany:
    the ORM sends one INSERT per row on SQLite, which cannot batch INSERT … RETURNING in order.)"""
    if not changes:
        return
    actor_id = getattr(actor, "id", None)
    new_attempts = list(dict.fromkeys(row.learner.id for row, *_ in changes if row.attempt is None))
    attempt_ids = {row.learner.id: row.attempt.id for row, *_ in changes if row.attempt is not None}
    if new_attempts:
        chain_max = _attempt_numbers(assessment, new_attempts)
        table = Attempt.__table__  # RETURNING: one multi-row INSERT that also gives the new ids
        attempt_ids |= dict(db.session.execute(insert(table).returning(table.c.learner_id, table.c.id), [
            {"assessment_id": assessment.id, "learner_id": lid, "attempt_no": chain_max.get(lid, 0) + 1,
             "created_by_id": actor_id} for lid in new_attempts]).all())
    new_scores, updated, touched, history = [], [], set(), []
    for row, component_id, old, new in changes:
        attempt_id = attempt_ids[row.learner.id]
        score = (next((s for s in row.attempt.scores if s.component_id == component_id), None)
                 if row.attempt is not None else None)
        if new is None:
            if score is not None:
                row.attempt.scores.remove(score)
        elif score is not None:
            values = {"points": new.points, "absent": new.absent, "updated_at": now, "updated_by_id": actor_id}
            updated.append({"score_id": score.id, **values})
            for name, value in values.items():  # the session's copy matches the row written below
                set_committed_value(score, name, value)
        else:
            new_scores.append({"attempt_id": attempt_id, "component_id": component_id, "points": new.points,
                               "absent": new.absent, "updated_at": now, "updated_by_id": actor_id})
            if row.attempt is not None:
                touched.add(row.attempt)
        if new is None:
            row.marks.pop(component_id, None)
        else:
            row.marks[component_id] = new
        history.append({"attempt_id": attempt_id, "component_id": component_id,
                        "old_points": old.points if old else None, "old_absent": bool(old and old.absent),
                        "new_points": new.points if new else None, "new_absent": bool(new and new.absent),
                        "reason": reason, "source": source, "changed_by_id": actor_id, "changed_at": now})
    db.session.flush()
    if updated:  # one executemany whichever cells changed (the ORM would group rows by changed columns)
        table = ExamScore.__table__
        db.session.execute(update(table).where(table.c.id == bindparam("score_id")).values(
            {name: bindparam(name) for name in ("points", "absent", "updated_at", "updated_by_id")}), updated)
    if new_scores:
        db.session.execute(insert(ExamScore.__table__), new_scores)  # one executemany
        for attempt in touched:  # their loaded ``scores`` lack the new rows: read again on next use
            db.session.expire(attempt, ["scores"])
    db.session.execute(insert(ExamScoreChange.__table__), history)  # append-only history, one executemany
    record("exams.scores_recorded", actor=actor, obj=assessment, changed=len(changes), source=source,
           reason=reason)


def _attempt_numbers(assessment: Assessment, learner_ids: Sequence[int]) -> dict[int, int]:
    """Highest attempt number per learner in the assessment's chain (original and its resits)."""
    root_id = assessment.root_id
    chain = select(Assessment.id).where((Assessment.id == root_id) | (Assessment.resit_of_id == root_id))
    rows = db.session.execute(
        select(Attempt.learner_id, func.max(Attempt.attempt_no))
        .where(Attempt.assessment_id.in_(chain), Attempt.learner_id.in_(learner_ids))
        .group_by(Attempt.learner_id))
    return dict(rows.all())


def history(assessment: Assessment, *, learner_id: int | None = None) -> list[ExamScoreChange]:
    """Every change of a mark on ``assessment``, newest first (optionally for one learner)."""
    stmt = (select(ExamScoreChange).join(Attempt, ExamScoreChange.attempt_id == Attempt.id)
            .where(Attempt.assessment_id == assessment.id)
            .options(selectinload(ExamScoreChange.attempt).selectinload(Attempt.learner),
                     selectinload(ExamScoreChange.component), selectinload(ExamScoreChange.changed_by))
            .order_by(ExamScoreChange.changed_at.desc(), ExamScoreChange.id.desc()))
    if learner_id is not None:
        stmt = stmt.where(Attempt.learner_id == learner_id)
    return list(db.session.scalars(stmt))


def publication_log(assessment: Assessment) -> list[AuditEvent]:
    """Publication and withdrawal events of ``assessment`` from the audit log, newest first."""
    return list(db.session.scalars(
        select(AuditEvent).where(AuditEvent.object_type == "Assessment", AuditEvent.object_id == assessment.id,
                                 AuditEvent.action.in_(("exams.published", "exams.unpublished")))
        .order_by(AuditEvent.at.desc(), AuditEvent.id.desc())))


# --- publication ------------------------------------------------------------------------------

def pending_learners(assessment: Assessment, *, now: datetime | None = None) -> list[User]:
    """Eligible learners on the sheet whose result is still pending (a mark not entered)."""
    return [r.learner for r in gradebook(assessment, now=now) if r.result.pending and r.eligibility.eligible]


def publish(assessment: Assessment, *, actor: User | None, now: datetime | None = None,
            allow_incomplete: bool = False) -> Assessment:
    """Make the results visible to learners (manual publication, audited).

    Raises ``Conflict`` when already published and ``ExamError`` when an eligible learner's result
    is still pending, unless ``allow_incomplete`` (they will see "待定").
    """
    _require_staff(actor, assessment.cohort)
    now = now or now_utc()
    lock_row(db.session, Assessment, assessment.id)
    db.session.refresh(assessment, attribute_names=["published_at"])
    if assessment.is_published:
        raise Conflict("成绩已经发布")
    if assessment.is_resit and not assessment.resit_of.is_published:
        raise ExamError("请先发布原考核的成绩")
    missing = pending_learners(assessment, now=now)
    if missing and not allow_incomplete:
        names = "、".join(p.name for p in missing[:5]) + ("等" if len(missing) > 5 else "")
        raise ExamError(f"还有 {len(missing)} 名学员的成绩没有录完（{names}）；确认无误请勾选“仍然发布”")
    assessment.published_at = now
    assessment.published_by_id = getattr(actor, "id", None)
    assessment.first_published_at = assessment.first_published_at or now
    db.session.flush()
    record("exams.published", actor=actor, obj=assessment, cohort=assessment.cohort.code,
           pending=len(missing)).at = now
    return assessment


def unpublish(assessment: Assessment, reason: str, *, actor: User | None, now: datetime | None = None) -> Assessment:
    """Hide published results again, with a reason (audited). Later changes still need reasons.

    Raises ``ExamError`` without a reason, when not published, or when a published resit depends
    on this assessment.
    """
    _require_staff(actor, assessment.cohort)
    reason = clean(reason)
    if not reason:
        raise ExamError("请填写撤回原因")
    lock_row(db.session, Assessment, assessment.id)
    db.session.refresh(assessment, attribute_names=["published_at"])
    if not assessment.is_published:
        raise ExamError("成绩尚未发布")
    if not assessment.is_resit and db.session.scalar(
            select(Assessment.id).where(Assessment.resit_of_id == assessment.id,
                                        Assessment.published_at.is_not(None))):
        raise ExamError("补考成绩已发布，请先撤回补考成绩")
    published_at = assessment.published_at
    assessment.published_at = None
    assessment.published_by_id = None
    db.session.flush()
    record("exams.unpublished", actor=actor, obj=assessment, reason=reason,
           published_at=format_local(published_at)).at = now or now_utc()
    return assessment


# --- resits -----------------------------------------------------------------------------------

def resit_candidates(assessment: Assessment) -> list[tuple[User, Outcome]]:
    """Learners whose counting result in the chain of ``assessment`` is a fail (published results
    only) and who have no attempt in a resit that is still open; ordered by name."""
    root = assessment.resit_of if assessment.is_resit else assessment
    outcomes = cohort_outcomes(root.cohort)
    open_resits = [a.id for a in db.session.scalars(select(Assessment).where(
        Assessment.resit_of_id == root.id, Assessment.published_at.is_(None)))]
    waiting = set(db.session.scalars(select(Attempt.learner_id).where(Attempt.assessment_id.in_(open_resits)))) \
        if open_resits else set()
    failed = [lid for lid, o in outcomes.items() if o.passed is False and lid not in waiting]
    people = {u.id: u for u in db.session.scalars(select(User).where(User.id.in_(failed)))} if failed else {}
    return sorted(((people[lid], outcomes[lid]) for lid in failed), key=lambda p: (p[0].name, p[0].id))


def arrange_resit(assessment: Assessment, learner_ids: Sequence[int], *, actor: User | None,
                  held_on: date | None = None, title: str = RESIT_TITLE) -> Assessment:
    """Give the failed learners ``learner_ids`` a new attempt (补考).

    The attempts go into the chain's open (unpublished) resit if there is one, else into a new
    resit assessment linked to the original, with the same components, rule and attempt policy.
    Attempts are numbered per learner (the original sitting is 1). Raises ``ExamError`` when no
    learner is chosen or one of them has not failed (pending, passed, or already waiting).
    """
    root = assessment.resit_of if assessment.is_resit else assessment
    _require_staff(actor, root.cohort)
    if not root.is_published:
        raise ExamError("请先发布原考核的成绩，再安排补考")
    learner_ids = sorted(set(learner_ids))
    if not learner_ids:
        raise ExamError("请选择要补考的学员")
    candidates = {u.id for u, _ in resit_candidates(root)}
    wrong = [lid for lid in learner_ids if lid not in candidates]
    if wrong:
        names = "、".join(u.name for u in db.session.scalars(select(User).where(User.id.in_(wrong))))
        raise ExamError(f"只有成绩不合格的学员才能补考：{names}")
    lock_row(db.session, Assessment, root.id)
    resit = db.session.scalar(select(Assessment).where(Assessment.resit_of_id == root.id,
                                                       Assessment.published_at.is_(None)))
    if resit is None:
        resit = Assessment(cohort_id=root.cohort_id, title=clean(title) or RESIT_TITLE, held_on=held_on,
                           pass_rule=root.pass_rule, pass_mark=root.pass_mark, attempt_policy=root.attempt_policy,
                           resit_of_id=root.id, created_by_id=getattr(actor, "id", None))
        for c in root.components:
            resit.components.append(AssessmentComponent(name=c.name, position=c.position, max_points=c.max_points,
                                                        pass_mark=c.pass_mark, weight=c.weight))
        db.session.add(resit)
        db.session.flush()
        record("exams.resit_created", actor=actor, obj=resit, original_id=root.id)
    numbers = _attempt_numbers(root, learner_ids)
    for lid in learner_ids:
        db.session.add(Attempt(assessment_id=resit.id, learner_id=lid, attempt_no=numbers.get(lid, 1) + 1,
                               created_by_id=getattr(actor, "id", None)))
    db.session.flush()
    record("exams.resit_arranged", actor=actor, obj=resit, learner_ids=learner_ids)
    return resit
