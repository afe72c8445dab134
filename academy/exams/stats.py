"""Statistics of an assessment's sheet (for staff) and the rows of its .xlsx export.

Decimal arithmetic throughout (``academy.exams.scoring``): means and medians in points and pass
rates in %, rounded half-up to 0.1; a 10-bin histogram per component and for the total, which
the page draws as inline SVG.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from academy.common.masking import mask_id_number, mask_name
from academy.exams import scoring
from academy.exams.models import Assessment
from academy.exams.scoring import ABSENT_TEXT, PassRule, format_score
from academy.exams.services import SheetRow


@dataclass(frozen=True)
class Distribution:
    """Mean, median (points, half-up to 0.1), pass rate (%, half-up to 0.1) and a 10-bin histogram."""

    name: str
    maximum: Decimal
    pass_mark: Decimal | None
    marked: int
    absent: int
    passed: int
    mean: Decimal | None
    median: Decimal | None
    pass_rate: Decimal | None
    bins: list[int]


@dataclass(frozen=True)
class AssessmentStats:
    """Statistics of a sheet: counts of results and one ``Distribution`` per component and for the total."""

    learners: int
    passed: int
    failed: int
    pending: int
    ineligible: int
    pass_rate: Decimal | None
    total: Distribution
    components: list[Distribution]


def statistics(assessment: Assessment, rows: Sequence[SheetRow]) -> AssessmentStats:
    """Statistics of ``rows`` (from ``gradebook``), Decimal arithmetic throughout.

    A component's pass rate counts 缺考 as not passed and ignores missing marks; the total's
    distribution uses complete results with a total; the overall pass rate is passed ÷ decided.
    """
    components = []
    for c in assessment.components:
        marks = [r.marks[c.id] for r in rows if c.id in r.marks]
        points = [m.points for m in marks if not m.absent]
        passed = sum(1 for p in points if p >= c.pass_mark)
        components.append(Distribution(c.name, c.max_points, c.pass_mark, len(marks), len(marks) - len(points),
                                       passed, scoring.mean(points), scoring.median(points),
                                       scoring.percent(passed, len(marks)),
                                       scoring.histogram(points, maximum=c.max_points)))
    totals = [r.result.total for r in rows if r.result.total is not None]
    passed = sum(1 for r in rows if r.result.passed is True)
    failed = sum(1 for r in rows if r.result.passed is False)
    weighted = PassRule(assessment.pass_rule) is PassRule.WEIGHTED_TOTAL
    total = Distribution("总分", scoring.HUNDRED, assessment.pass_mark if weighted else None, len(totals), 0,
                         sum(1 for t in totals if weighted and t >= assessment.pass_mark),
                         scoring.mean(totals), scoring.median(totals),
                         scoring.percent(passed, passed + failed), scoring.histogram(totals, maximum=scoring.HUNDRED))
    pending = sum(1 for r in rows if r.result.pending and r.eligibility.eligible)
    ineligible = sum(1 for r in rows if not r.eligibility.eligible)
    return AssessmentStats(len(rows), passed, failed, pending, ineligible, scoring.percent(passed, passed + failed),
                           total, components)


def result_label(row: SheetRow) -> str:
    """合格 / 不合格 / 缺考 / 待定 / 无考试资格 for a sheet row."""
    if row.result.passed is None:
        return "待定" if row.eligibility.eligible else "无考试资格"
    if row.result.passed:
        return "合格"
    return "不合格（缺考）" if row.result.absent else "不合格"


def results_table(assessment: Assessment, rows: Sequence[SheetRow], *, full: bool) -> tuple[list[str], list[list]]:
    """Headers and rows of the results export: names and ID numbers masked unless ``full``;
    points as Decimal numbers, 缺考 as text."""
    headers = ["序号", "姓名", "身份证号"] + [f"{c.name}（满分{format_score(c.max_points)}）"
                                        for c in assessment.components] + ["总分", "结果", "第几次考试", "备注"]
    data = []
    for i, row in enumerate(rows, start=1):
        p = row.learner
        cells: list[object] = [i, p.name if full else mask_name(p.name),
                               (p.id_number if full else mask_id_number(p.id_number)) or ""]
        for c in assessment.components:
            mark = row.marks.get(c.id)
            cells.append(None if mark is None else (ABSENT_TEXT if mark.absent else mark.points))
        note = "" if row.eligibility.meets_threshold else (
            "出勤未达标（已特批）" if row.eligibility.eligible else "出勤未达标")
        cells += [row.result.total, result_label(row), row.attempt_no, note]
        data.append(cells)
    return headers, data
