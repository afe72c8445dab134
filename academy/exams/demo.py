"""Demo step of the exams module: published 结业考核 results for the finished cohorts (most pass,
a few fail, one 缺考, one resit that passes, one correction with a reason) and an unpublished sheet,
half filled in, for the first running cohort.

Everything goes through ``academy.exams.services`` (the same validation, history and audit as
the product). Marks are drawn from ``ctx.rng`` as whole half-points, so they are exact Decimals.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta
from decimal import Decimal

from academy.catalogue.models import Cohort
from academy.common.timeutil import local_datetime
from academy.demo.loader import DemoContext
from academy.exams import services
from academy.exams.models import Assessment

CORRECTION_REASON = "理论试卷复核，第18题漏计2分"
RESIT_REASON = "补考"


def load(ctx: DemoContext) -> None:
    """Create the demo assessments (see the module docstring)."""
    for index, cohort in enumerate(ctx.cohorts_in("finished")):
        _finished_cohort(ctx, cohort, showcase=index == 0)
    running = ctx.cohorts_in("running")
    if running:
        _running_cohort(ctx, running[0])


def _actor(ctx: DemoContext, cohort: Cohort):
    return cohort.instructors[0] if cohort.instructors else ctx.admin


def _half_points(ctx: DemoContext, low: int, high: int, mode: int) -> str:
    """A mark between ``low`` and ``high`` in steps of 0.5, most often near ``mode`` (as text).

    Integer arithmetic on half-points only: the sum of two uniform draws peaks at ``mode``."""
    halves = mode * 2 + ctx.rng.randint(-40, 40) + ctx.rng.randint(-20, 20)
    return format(Decimal(max(low * 2, min(halves, high * 2))) / 2, "f")


def _at(ctx: DemoContext, cohort: Cohort, days_after_end: int, hour: int) -> datetime:
    """A moment after the cohort's last day (Asia/Shanghai wall clock), never after ``ctx.now``."""
    return min(local_datetime(cohort.end_date + timedelta(days=days_after_end), time(hour, 0)), ctx.now)


def _finished_cohort(ctx: DemoContext, cohort: Cohort, *, showcase: bool) -> Assessment:
    actor = _actor(ctx, cohort)
    assessment = services.create_assessment(
        cohort, services.AssessmentSettings(held_on=cohort.end_date), actor=actor)
    entered_at = _at(ctx, cohort, 1, 21)
    rows = services.gradebook(assessment, now=entered_at)
    eligible = [r for r in rows if r.eligibility.eligible]
    theory, practical = (c.id for c in assessment.components)
    entries: dict[tuple[int, int], str] = {}
    for row in eligible:
        good = row.learner.id == getattr(ctx.demo_learner, "id", None)
        entries[(row.learner.id, theory)] = "86.5" if good else _half_points(ctx, 35, 100, 77)
        entries[(row.learner.id, practical)] = "91" if good else _half_points(ctx, 40, 100, 80)
    if showcase and len(eligible) > 3:
        entries[(eligible[-1].learner.id, practical)] = "缺考"  # the one absence
        entries[(eligible[-2].learner.id, theory)] = "55.5"  # sure to fail: the one who resits
    services.record_scores(assessment, entries, actor=actor, now=entered_at)
    services.publish(assessment, actor=actor, now=_at(ctx, cohort, 3, 10), allow_incomplete=True)
    if showcase:
        _correction_and_resit(ctx, cohort, assessment, actor)
    return assessment


def _correction_and_resit(ctx: DemoContext, cohort: Cohort, assessment: Assessment, actor) -> None:
    """A correction with a reason after publication, and a resit for one failed learner that passes."""
    theory, practical = (c.id for c in assessment.components)
    rows = services.gradebook(assessment, now=ctx.now)
    corrected = next((r for r in rows if r.result.passed and theory in r.marks
                      and r.marks[theory].points <= Decimal("96")), None)
    if corrected is not None:
        services.record_scores(assessment, {(corrected.learner.id, theory): str(corrected.marks[theory].points + 2)},
                               actor=actor, reason=CORRECTION_REASON, now=_at(ctx, cohort, 5, 9))
    failed = next((r for r in rows if r.result.passed is False and not r.result.absent), None)
    if failed is None:
        return
    resit = services.arrange_resit(assessment, [failed.learner.id], actor=actor,
                                   held_on=min(cohort.end_date + timedelta(days=14), ctx.today))
    resit_theory, resit_practical = (c.id for c in resit.components)
    services.record_scores(resit, {(failed.learner.id, resit_theory): "72.5", (failed.learner.id, resit_practical): "78"},
                           actor=actor, now=_at(ctx, cohort, 15, 20))
    services.publish(resit, actor=actor, now=_at(ctx, cohort, 16, 10))


def _running_cohort(ctx: DemoContext, cohort: Cohort) -> Assessment:
    """An unpublished assessment: theory entered for most learners, practical not yet."""
    actor = _actor(ctx, cohort)
    assessment = services.create_assessment(
        cohort, services.AssessmentSettings(held_on=cohort.end_date), actor=actor)
    rows = [r for r in services.gradebook(assessment, now=ctx.now) if r.eligibility.eligible]
    theory = assessment.components[0].id
    entries = {(r.learner.id, theory): _half_points(ctx, 40, 100, 78) for r in rows[: max(len(rows) * 2 // 3, 1)]}
    if entries:
        services.record_scores(assessment, entries, actor=actor, now=ctx.now)
    return assessment
