"""Results that count, read from PUBLISHED assessments only: the interface for certificates
(``learner_outcome``, ``cohort_outcomes``, re-exported by ``academy.exams.services``) and for the
learner's own "我的成绩" page (``learner_results``).

Nothing here reads an unpublished assessment, so nothing built on it can show a learner a
result before the instructor publishes it. Rule for resits (BRIEF.md §3): the original
assessment's ``attempt_policy`` says whether the best or the latest published attempt counts.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from academy.accounts.models import User
from academy.catalogue.models import Cohort
from academy.enrolment.models import Enrolment, EnrolmentStatus
from academy.enrolment.services import enrolled_learner_ids
from academy.exams import scoring
from academy.exams.models import Assessment, Attempt
from academy.exams.scoring import AttemptPolicy, Result
from academy.extensions import db


@dataclass(frozen=True)
class Outcome:
    """The result that counts for a learner in a cohort, from published assessments only.

    ``passed``: True/False, or None while pending (a component not entered). ``total``: the
    weighted total on a 100-point scale rounded half-up to 0.1 (None when pending or 缺考).
    ``components``: component name → points (None for 缺考 or not entered; ``absent`` names the
    缺考 ones). ``assessment_id``/``attempt_no``/``published_at`` identify the counting attempt
    (the best or the latest, as the original assessment says).
    """

    passed: bool | None
    total: Decimal | None
    components: dict[str, Decimal | None]
    assessment_id: int
    attempt_no: int
    published_at: datetime
    learner_id: int | None = None
    absent: frozenset[str] = frozenset()
    title: str = ""

    @property
    def status_label(self) -> str:
        return {True: "合格", False: "不合格", None: "待定"}[self.passed]


def learner_outcome(learner_id: int, cohort: Cohort) -> Outcome | None:
    """The counting result of one learner in ``cohort`` (see ``Outcome``); None when the cohort has
    no published assessment. A learner without marks gets a pending outcome. Four queries."""
    published = _published_chain(cohort.id)
    if not published:
        return None
    attempts = _attempts_of(published, learner_ids=[learner_id])
    return _outcome(learner_id, published, attempts.get(learner_id, {}))


def cohort_outcomes(cohort: Cohort) -> dict[int, Outcome]:
    """``learner_outcome`` for every learner of ``cohort`` (enrolled, or with an attempt), keyed by
    learner id, in a constant number of queries (certificate batches of 300). Empty dict when
    nothing is published."""
    published = _published_chain(cohort.id)
    if not published:
        return {}
    attempts = _attempts_of(published)
    learner_ids = set(enrolled_learner_ids(cohort.id)) | set(attempts)
    return {lid: _outcome(lid, published, attempts.get(lid, {})) for lid in sorted(learner_ids)}


def _published_chain(cohort_id: int) -> list[Assessment]:
    return list(db.session.scalars(
        select(Assessment).where(Assessment.cohort_id == cohort_id, Assessment.published_at.is_not(None))
        .order_by(Assessment.id)
    ))


def _attempts_of(assessments: Sequence[Assessment], *, learner_ids: Sequence[int] | None = None
                 ) -> dict[int, dict[int, Attempt]]:
    """learner id → assessment id → Attempt (with scores loaded)."""
    stmt = select(Attempt).where(Attempt.assessment_id.in_([a.id for a in assessments]))
    if learner_ids is not None:
        stmt = stmt.where(Attempt.learner_id.in_(learner_ids))
    out: dict[int, dict[int, Attempt]] = {}
    for attempt in db.session.scalars(stmt.options(selectinload(Attempt.scores))):
        out.setdefault(attempt.learner_id, {})[attempt.assessment_id] = attempt
    return out


def evaluate_attempt(assessment: Assessment, attempt: Attempt | None) -> Result:
    """The ``scoring.Result`` of one attempt (an attempt never started is pending)."""
    marks = attempt.marks() if attempt is not None else {}
    by_name = {c.name: marks.get(c.id) for c in assessment.components}
    return scoring.evaluate(assessment.rules(), by_name, pass_rule=assessment.pass_rule,
                            pass_mark=assessment.pass_mark)


def _pick(policy: str, results: list[tuple[Assessment, Attempt, Result]]):
    if AttemptPolicy(policy) is AttemptPolicy.LATEST:
        return max(results, key=lambda r: r[1].attempt_no)
    rank = {True: 2, None: 1, False: 0}
    return max(results, key=lambda r: (rank[r[2].passed], r[2].total if r[2].total is not None else Decimal(-1),
                                       r[1].attempt_no))


def _outcome(learner_id: int, published: list[Assessment], attempts: dict[int, Attempt]) -> Outcome:
    root = next((a for a in published if not a.is_resit), published[0])
    sat = [(a, attempts[a.id], evaluate_attempt(a, attempts[a.id])) for a in published if a.id in attempts]
    if not sat:
        return Outcome(None, None, {c.name: None for c in root.components}, root.id, 1, root.published_at,
                       learner_id, frozenset(), root.title)
    assessment, attempt, result = _pick(root.attempt_policy, sat)
    components = {name: (m.points if m is not None else None) for name, m in result.marks.items()}
    absent = frozenset(name for name, m in result.marks.items() if m is not None and m.absent)
    return Outcome(result.passed, result.total, components, assessment.id, attempt.attempt_no,
                   assessment.published_at, learner_id, absent, assessment.title)


# --- the learner's own view -------------------------------------------------------------------

@dataclass(frozen=True)
class LearnerResult:
    """One published attempt of the learner, for "我的成绩"."""

    assessment: Assessment
    attempt_no: int
    result: Result
    counts: bool  # this is the attempt that counts for the cohort


@dataclass(frozen=True)
class LearnerCohortResults:
    """The learner's published results in one cohort, newest attempt first, and the outcome."""

    cohort: Cohort
    outcome: Outcome
    results: list[LearnerResult]


def learner_results(learner: User) -> list[LearnerCohortResults]:
    """Every PUBLISHED result of ``learner``, grouped by cohort (newest cohort first).

    Only published assessments are read, so nothing unpublished can reach a learner's page.
    Cohorts where the learner is enrolled and a published assessment has no mark of theirs yet
    appear as pending. Constant number of queries.
    """
    enrolled = set(db.session.scalars(
        select(Enrolment.cohort_id).where(Enrolment.learner_id == learner.id,
                                          Enrolment.status == EnrolmentStatus.ENROLLED)))
    attempted = set(db.session.scalars(
        select(Assessment.cohort_id).join(Attempt, Attempt.assessment_id == Assessment.id)
        .where(Attempt.learner_id == learner.id)))
    cohort_ids = enrolled | attempted
    if not cohort_ids:
        return []
    published = list(db.session.scalars(
        select(Assessment).where(Assessment.cohort_id.in_(cohort_ids), Assessment.published_at.is_not(None))
        .order_by(Assessment.id)))
    if not published:
        return []
    attempts = _attempts_of(published, learner_ids=[learner.id]).get(learner.id, {})
    out = []
    for cohort_id in {a.cohort_id for a in published}:
        chain = [a for a in published if a.cohort_id == cohort_id]
        outcome = _outcome(learner.id, chain, attempts)
        results = [LearnerResult(a, attempts[a.id].attempt_no, evaluate_attempt(a, attempts[a.id]),
                                 a.id == outcome.assessment_id)
                   for a in chain if a.id in attempts]
        results.sort(key=lambda r: r.attempt_no, reverse=True)
        out.append(LearnerCohortResults(chain[0].cohort, outcome, results))
    out.sort(key=lambda r: r.cohort.start_date, reverse=True)
    return out
