"""The figures the academy reports upward, computed in SQL from the records (one function,
``build_report``, feeds the dashboard, every .xlsx export and ``flask --app academy report summary``).

Definitions (口径; also shown on the page and in the export's 汇总 sheet). The period is two
Asia/Shanghai calendar days, both included; "learner filters" are district (县（市、区）),
occupation group (从业类型) and platform (平台/企业) of the learner's *current* profile
(``User``); "course filters" are the course and the occupation (工种) of the course.

* **learners trained (培训人数)** — distinct learners holding an ENROLLED seat in a cohort that
  *starts* within the period and is not cancelled. Withdrawn, removed, rejected, waitlisted and
  pending applications do not count. Course and learner filters apply.
* **certificates issued (发放证书)** — training certificates the academy issued (培训合格证书,
  专项职业能力证书, 职业技能等级证书; competition award certificates are not training certificates
  and are left out) whose *original* issue date is within the period, counted once per chain
  "original → reissue → reissue …" when the chain's current certificate is valid. A reissue
  therefore never adds a second certificate, and a revoked certificate (or a chain that ends
  revoked) is not counted. Course and learner filters apply.
* **level certificates recorded (登记等级证书)** — ``ExternalLevelCertificate`` rows (level
  certificates learners obtained from an evaluation organisation elsewhere) whose date of issue is
  within the period. Learner filters apply; the occupation filter (or the selected course's
  occupation) matches the certificate's occupation.
* **learners upgrading their degree (学历提升在读)** — ``degrees.services.count_upgrading``:
  distinct learners with a case at registered … graduation applied *today* (a current count, so
  the period and the course filters do not apply). Learner filters apply.
* **attendance rate (出勤率)** — over the attendance records of scheduled (not cancelled) sessions
  that *start* within the period: (present + late) / held, where excused leave counts as each
  cohort's ``excused_policy`` says (left out of both sides by default, or as attended, or as
  held and missed). Simplification, on purpose: a learner without a record for a session (the
  instructor never closed the register: ``mark_unmarked_absent``) is not counted, so the figure is
  over *recorded* attendance. Course and learner filters apply.
* **pass rate (考核合格率)** — over cohorts that *end* within the period: learners with a published
  result that counts (``exams.outcomes``: best or latest attempt across resits, pending results
  left out) who passed / learners with such a result. Unpublished assessments never count. Course
  and learner filters apply.
* **competition entrants (竞赛参赛人次)** — APPROVED entries (one learner in one event) of events whose
  contest date (or, when it is not set, the edition's first day) is within the period. Learner
  filters apply; the occupation filter matches the event's occupation.

Trends by month (local months of the period, at most the last 60): ENROLLED enrolments
(cancelled cohorts left out) by the month they were confirmed (``enrolled_at``, else
``applied_at``); certificates as above by the month of the original issue; check-ins = present
+ late records by the month of the session.

Breakdowns group the same figures by district, occupation group and platform (learner profile;
"未填写" when empty) and by course (figures not tied to a course — level certificates, degree
upgrade, competition — are "—" there). Every figure is a GROUP BY over the whole period, so the
number of queries does not grow with the data; only the pass rate evaluates outcomes in Python
(with the exams module's own rule, on rows loaded in three queries).
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal

from academy.attendance.rates import percent
from academy.common.timeutil import local_today, local_zone
from academy.errors import DomainError
from academy.extensions import cache
from academy.reports import queries
from academy.reports.queries import DIMENSIONS, N_, MonthPoint

NOT_FILLED = N_("未填写")

RATE_PLACES = Decimal("0.0001")
# Headline figures: key → Chinese label (page, exports, CLI) and definition (口径).
FIGURES = {
    "learners_trained": (N_("培训人数"), N_("期内开班的班级中“已报名”的学员（按人去重）")),
    "certificates_issued": (N_("发放证书"), N_("期内首次发放、目前有效的培训类证书（补发不重复计，已作废不计，不含竞赛获奖证书）")),
    "level_certificates": (N_("登记等级证书"), N_("期内发证的、学员在外取得并在本院登记的职业技能等级证书")),
    "upgrading": (N_("学历提升在读"), N_("当前处于已报名至已申请毕业阶段的学员（按人去重；不受期间和课程筛选影响）")),
    "attendance_rate": (N_("出勤率"), N_("期内课次的已记录考勤：（出勤＋迟到）÷应出勤；请假按各班设置计")),
    "pass_rate": (N_("考核合格率"), N_("期内结业的班级中已公布成绩的学员：合格人数 ÷ 有结果人数（待定不计）")),
    "entrants": (N_("竞赛参赛人次"), N_("比赛日期在期内的赛项中审核通过的报名")),
}


class ReportError(DomainError):
    """The report's filters are not usable (e.g. the period ends before it starts)."""


# --- filters ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class ReportFilter:
    """What a report covers. ``date_from``/``date_to`` are Asia/Shanghai calendar days, both
    included; the other fields narrow it (None = all). ``course_id`` is a ``Course`` id,
    ``occupation`` a course occupation (工种) such as 电工, the rest learner profile values.

    Raises ``ReportError`` when the period ends before it starts.
    """

    date_from: date
    date_to: date
    course_id: int | None = None
    occupation: str | None = None
    district: str | None = None
    occupation_group: str | None = None
    platform: str | None = None

    def __post_init__(self) -> None:
        if self.date_to < self.date_from:
            raise ReportError("结束日期不能早于开始日期")

    @property
    def start(self) -> datetime:
        """First instant of the period (local midnight of ``date_from``, as aware UTC)."""
        return datetime.combine(self.date_from, time(0), tzinfo=local_zone()).astimezone(UTC)

    @property
    def end(self) -> datetime:
        """First instant after the period (local midnight after ``date_to``, as aware UTC)."""
        return datetime.combine(self.date_to + timedelta(days=1), time(0), tzinfo=local_zone()).astimezone(UTC)

    def as_dict(self) -> dict[str, str]:
        """The filters as strings (dates ISO), leaving out the unset ones: URL arguments and JSON."""
        values = {"date_from": self.date_from.isoformat(), "date_to": self.date_to.isoformat(),
                  "course": str(self.course_id) if self.course_id else None, "occupation": self.occupation,
                  "district": self.district, "occupation_group": self.occupation_group, "platform": self.platform}
        return {k: v for k, v in values.items() if v}


def report_filter(*, date_from: date | None = None, date_to: date | None = None, now: datetime | None = None,
                  course_id: int | None = None, occupation: str | None = None, district: str | None = None,
                  occupation_group: str | None = None, platform: str | None = None) -> ReportFilter:
    """A ``ReportFilter`` with defaults: the period runs from 1 January of the current local year
    (at ``now``) to today; blank strings mean "all". Raises ``ReportError`` as ``ReportFilter``."""
    today = local_today(now)
    return ReportFilter(
        date_from=date_from or date(today.year, 1, 1), date_to=date_to or today, course_id=course_id or None,
        occupation=_blank(occupation), district=_blank(district), occupation_group=_blank(occupation_group),
        platform=_blank(platform))


def _blank(value: str | None) -> str | None:
    return (value or "").strip() or None


# --- results ---------------------------------------------------------------------------------


def _rate(numerator: int, denominator: int) -> Decimal | None:
    if not denominator:
        return None
    return (Decimal(numerator) / Decimal(denominator)).quantize(RATE_PLACES, ROUND_HALF_UP)


@dataclass(frozen=True)
class Figures:
    """The headline figures (see the module docstring for each definition).

    Counts are ints; ``attended``/``held`` and ``passed``/``with_result`` are the two sides of
    the attendance and pass rates. ``level_certificates``, ``upgrading`` and ``entrants`` are
    None where they do not apply (the by-course breakdown).
    """

    learners_trained: int = 0
    certificates_issued: int = 0
    level_certificates: int | None = 0
    upgrading: int | None = 0
    attended: int = 0
    held: int = 0
    passed: int = 0
    with_result: int = 0
    entrants: int | None = 0

    @property
    def attendance_rate(self) -> Decimal | None:
        """attended / held as a fraction with 4 places (None when nothing was held)."""
        return _rate(self.attended, self.held)

    @property
    def pass_rate(self) -> Decimal | None:
        """passed / with_result as a fraction with 4 places (None when no result counts)."""
        return _rate(self.passed, self.with_result)

    @property
    def attendance_text(self) -> str:
        return percent(self.attendance_rate)

    @property
    def pass_text(self) -> str:
        return percent(self.pass_rate)

    def as_dict(self) -> dict:
        """JSON-ready: counts as ints, rates as decimal strings ("0.8571") or None."""
        rate = self.attendance_rate
        passed = self.pass_rate
        return {
            "learners_trained": self.learners_trained, "certificates_issued": self.certificates_issued,
            "level_certificates": self.level_certificates, "upgrading": self.upgrading,
            "attendance_rate": str(rate) if rate is not None else None,
            "attendance": {"attended": self.attended, "held": self.held},
            "pass_rate": str(passed) if passed is not None else None,
            "results": {"passed": self.passed, "with_result": self.with_result},
            "entrants": self.entrants,
        }

    def display(self, key: str) -> str:
        """One figure for people: counts as digits, rates as '85.7%', '—' where it does not apply."""
        if key == "attendance_rate":
            return self.attendance_text
        if key == "pass_rate":
            return self.pass_text
        value = getattr(self, key)
        return "—" if value is None else str(value)


@dataclass(frozen=True)
class BreakdownRow:
    """One row of a breakdown: ``key`` is the dimension's value ("" when not filled in; the course
    id as a string for courses), ``label`` what people read."""

    key: str
    label: str
    figures: Figures


@dataclass(frozen=True)
class Report:
    """Everything the dashboard shows: headline ``figures``, monthly ``trends`` and ``breakdowns``
    (dimension key of ``DIMENSIONS`` → rows, largest first)."""

    filters: ReportFilter
    figures: Figures
    trends: list[MonthPoint]
    breakdowns: dict[str, list[BreakdownRow]]
    filter_labels: list[tuple[str, str]] = field(default_factory=list)

    def as_dict(self) -> dict:
        """JSON-ready summary: filters, figures and trends (what ``report summary --format json`` prints)."""
        return {"filters": self.filters.as_dict(), "figures": self.figures.as_dict(),
                "trends": [vars(p) for p in self.trends]}


def _figures(counts: Counter[str], *, by_course: bool = False) -> Figures:
    na = None if by_course else 0
    return Figures(
        learners_trained=counts["learners_trained"], certificates_issued=counts["certificates_issued"],
        level_certificates=na if by_course else counts["level_certificates"],
        upgrading=na if by_course else counts["upgrading"], attended=counts["attended"], held=counts["held"],
        passed=counts["passed"], with_result=counts["with_result"],
        entrants=na if by_course else counts["entrants"])


# --- the report ------------------------------------------------------------------------------


def _order(row: BreakdownRow) -> tuple:
    fig = row.figures
    return (-fig.learners_trained, -fig.certificates_issued, -(fig.held or 0), row.key == "", row.label)


def build_report(filters: ReportFilter) -> Report:
    """The report for ``filters``: headline figures, monthly trends and breakdowns.

    About twenty queries whatever the amount of data (each figure is one GROUP BY over the
    period; see the module docstring for the definitions). Read-only.
    """
    tally = queries.Tally()
    occupation = queries.occupation_of(filters)
    queries.trained(filters, tally)
    queries.certificates(filters, tally)
    queries.level_certificates(filters, tally, occupation)
    queries.upgrading(filters, tally)
    queries.attendance(filters, tally)
    queries.pass_rate(filters, tally)
    queries.entrants(filters, tally, occupation)
    labels = queries.course_labels(tally.rows["course"])
    breakdowns: dict[str, list[BreakdownRow]] = {}
    for dim in DIMENSIONS:
        by_course = dim == "course"
        rows = [BreakdownRow(key, labels.get(key, key) if by_course else (key or NOT_FILLED),
                             _figures(counts, by_course=by_course))
                for key, counts in tally.rows[dim].items()]
        breakdowns[dim] = sorted(rows, key=_order)
    return Report(filters, _figures(tally.total), queries.trends(filters), breakdowns, _describe(filters))


# The dashboard's figures are GROUP BYs over up to a million attendance records: computed once per
# set of filters and kept in the app cache (Redis in production, shared by every worker) for ten
# minutes; the page says when they were computed and offers 重新统计 (``fresh``).
REPORT_CACHE_SECONDS = 600
REPORT_CACHE_PREFIX = "reports:v1:"


def cached_report(filters: ReportFilter, *, now: datetime, fresh: bool = False) -> tuple[Report, datetime]:
    """``build_report(filters)`` through the app cache: (report, UTC instant it was computed).

    Reuses a copy computed less than ``REPORT_CACHE_SECONDS`` (600 s) ago for the same filters
    (the key is the filters' ``as_dict``, so a new day is a new key); ``fresh=True`` recomputes
    and replaces it. ``now`` is an aware UTC instant. Read-only on the database.
    """
    key = REPORT_CACHE_PREFIX + hashlib.sha256(
        json.dumps(filters.as_dict(), sort_keys=True).encode()).hexdigest()[:32]
    if not fresh:
        hit = cache.get(key)
        if hit is not None:
            return hit
    value = (build_report(filters), now)
    cache.set(key, value, timeout=REPORT_CACHE_SECONDS)
    return value


def filter_choices(*, fresh: bool = False) -> queries.FilterChoices:
    """Options of the dashboard's filter form: courses, occupations, districts, occupation groups
    and platforms in use (``queries.filter_choices``: three queries), cached like the report."""
    key = REPORT_CACHE_PREFIX + "filter-choices"
    hit = None if fresh else cache.get(key)
    if hit is None:
        hit = queries.filter_choices()
        cache.set(key, hit, timeout=REPORT_CACHE_SECONDS)
    return hit


FILTER_LABELS = {"course": "课程", "occupation": "工种", "district": "县（市、区）", "occupation_group": "从业类型",
                 "platform": "平台/企业"}


def _describe(f: ReportFilter) -> list[tuple[str, str]]:
    """The filters other than the period as (label, value) for people; the course by its title."""
    values = f.as_dict()
    if f.course_id:
        values["course"] = queries.course_labels([str(f.course_id)]).get(str(f.course_id), str(f.course_id))
    return [(label, values[key]) for key, label in FILTER_LABELS.items() if key in values]
