"""Catalogue rules: weekly schedules, search, course and cohort upkeep."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, time

from sqlalchemy import and_, case, exists, func, or_, select

from academy.accounts.models import User
from academy.audit.services import record
from academy.catalogue.models import Cohort, CohortMeeting, CohortStatus, Course, DeliveryMode
from academy.common.text import to_halfwidth
from academy.errors import DomainError, PermissionDenied
from academy.extensions import db


class CatalogueError(DomainError):
    """A course or cohort rule was broken."""


# --- weekly schedules ------------------------------------------------------------------

_DAY_CHARS = {"一": 0, "二": 1, "三": 2, "四": 3, "五": 4, "六": 5, "日": 6, "天": 6, "七": 6}
_TIME_RANGE = re.compile(r"(\d{1,2})[:：](\d{2})\s*[-–—~～至到]\s*(\d{1,2})[:：](\d{2})")


@dataclass(frozen=True)
class Slot:
    """One weekly meeting: weekday 0 = Monday … 6 = Sunday, local wall-clock times."""

    weekday: int
    start: time
    end: time


def parse_weekly_schedule(text: str) -> list[Slot]:
    """Parse a schedule as academies write it into weekly slots.

    Understands ``周一至周五 19:30-21:30``, ``周六、周日 09:00-17:00``, ``周一、三、五 15:00-17:30``,
    ``每周二 14:30-16:30（错峰）``, ``工作日``/``周末`` and several ``;``-separated parts.
    An end time earlier than the start means the session runs past midnight.
    Raises ``CatalogueError`` when no weekday or time range can be read.
    """
    text = to_halfwidth(text or "").replace("星期", "周").replace("礼拜", "周")
    parts = [p for p in re.split(r"[;；\n]", text) if p.strip()]
    slots: list[Slot] = []
    for part in parts:
        match = _TIME_RANGE.search(part)
        if not match:
            raise CatalogueError(f"看不懂上课时间“{part.strip()}”，请写成如“周一至周五 19:30-21:30”")
        h1, m1, h2, m2 = (int(g) for g in match.groups())
        if h1 > 23 or h2 > 24 or m1 > 59 or m2 > 59:
            raise CatalogueError(f"上课时间“{match.group(0)}”不是有效的时间")
        start, end = time(h1, m1), time(h2 % 24, m2)
        days = _parse_days(part[: match.start()])
        if not days:
            raise CatalogueError(f"上课时间“{part.strip()}”中没有写星期几")
        slots.extend(Slot(d, start, end) for d in days)
    if not slots:
        raise CatalogueError("请填写上课时间")
    return sorted(set(slots), key=lambda s: (s.weekday, s.start))


def _parse_days(text: str) -> list[int]:
    days: set[int] = set()
    if "工作日" in text:
        days.update(range(5))
    if "周末" in text:
        days.update((5, 6))
    if "每天" in text or "每日" in text:
        days.update(range(7))
    for a, b in re.findall(r"周([一二三四五六日天])\s*[至到\-–~～]\s*周?([一二三四五六日天])", text):
        lo, hi = _DAY_CHARS[a], _DAY_CHARS[b]
        days.update(range(lo, hi + 1) if lo <= hi else [*range(lo, 7), *range(0, hi + 1)])
    # lists such as 周一、三、五 or 周二、周四
    for group in re.findall(r"周([一二三四五六日天](?:\s*[、,，和及]\s*周?[一二三四五六日天])*)", text):
        days.update(_DAY_CHARS[c] for c in group if c in _DAY_CHARS)
    return sorted(days)


def set_meetings(cohort: Cohort, slots: list[Slot]) -> None:
    """Replace the cohort's weekly meeting pattern with ``slots``."""
    cohort.meetings.clear()
    db.session.flush()
    for slot in slots:
        cohort.meetings.append(CohortMeeting(weekday=slot.weekday, start_time=slot.start, end_time=slot.end))


def is_open_for_enrolment(cohort: Cohort, *, now: datetime) -> bool:
    """True when the cohort takes applications at ``now`` (UTC): status OPEN and within the window."""
    if cohort.status != CohortStatus.OPEN:
        return False
    if cohort.enrolment_opens_at and now < cohort.enrolment_opens_at:
        return False
    return not (cohort.enrolment_closes_at and now >= cohort.enrolment_closes_at)


# --- search ---------------------------------------------------------------------------

TIME_OF_DAY = {
    "morning": ("上午", time(0, 0), time(12, 0)),
    "afternoon": ("下午", time(12, 0), time(18, 0)),
    "evening": ("晚上", time(18, 0), time(23, 59, 59)),
}


@dataclass
class CatalogueQuery:
    """Filters of the public catalogue (all optional).

    ``time_of_day`` is one of ``morning``/``afternoon``/``evening``/``weekend``; ``open_only``
    keeps cohorts that take applications now.
    """

    keyword: str = ""
    occupation: str = ""
    delivery_mode: str = ""
    district: str = ""
    time_of_day: str = ""
    open_only: bool = False
    page: int = 1
    per_page: int = 20
    extra: dict = field(default_factory=dict)


def search_cohorts(query: CatalogueQuery, *, now: datetime):
    """Return a Flask-SQLAlchemy pagination of visible cohorts matching ``query``.

    Visible: the course is published and the cohort is not cancelled; finished cohorts are
    left out unless a keyword is given. Ordered by open-for-enrolment first, then start date.
    The count and page are two queries whatever the data size.
    """
    stmt = select(Cohort).join(Course, Cohort.course_id == Course.id).where(
        Course.is_published.is_(True), Cohort.status != CohortStatus.CANCELLED
    )
    if query.keyword:
        like = f"%{query.keyword.strip()}%"
        stmt = stmt.where(or_(Course.title.ilike(like), Course.occupation.ilike(like), Cohort.name.ilike(like),
                              Cohort.place.ilike(like), Course.code.ilike(like)))
    else:
        stmt = stmt.where(Cohort.status != CohortStatus.FINISHED)
    if query.occupation:
        stmt = stmt.where(Course.occupation == query.occupation)
    if query.delivery_mode:
        stmt = stmt.where(Course.delivery_mode == query.delivery_mode)
    if query.district:
        stmt = stmt.where(or_(Cohort.district == query.district, Cohort.place.ilike(f"%{query.district}%")))
    if query.time_of_day == "weekend":
        stmt = stmt.where(exists().where(CohortMeeting.cohort_id == Cohort.id, CohortMeeting.weekday >= 5))
    elif query.time_of_day in TIME_OF_DAY:
        _, lo, hi = TIME_OF_DAY[query.time_of_day]
        stmt = stmt.where(exists().where(CohortMeeting.cohort_id == Cohort.id, CohortMeeting.start_time >= lo,
                                         CohortMeeting.start_time < hi))
    open_now = and_(
        Cohort.status == CohortStatus.OPEN,
        or_(Cohort.enrolment_opens_at.is_(None), Cohort.enrolment_opens_at <= now),
        or_(Cohort.enrolment_closes_at.is_(None), Cohort.enrolment_closes_at > now),
    )
    if query.open_only:
        stmt = stmt.where(open_now)
    stmt = stmt.order_by(case((open_now, 0), else_=1), Cohort.start_date, Cohort.id)
    return db.paginate(stmt, page=max(query.page, 1), per_page=query.per_page, error_out=False)


def list_occupations() -> list[str]:
    """Distinct occupations of published courses (for the filter)."""
    return list(db.session.scalars(
        select(Course.occupation).where(Course.is_published.is_(True)).distinct().order_by(Course.occupation)
    ))


def list_districts() -> list[str]:
    """Distinct districts where cohorts meet (for the filter)."""
    return list(db.session.scalars(
        select(Cohort.district).where(Cohort.district.is_not(None)).distinct().order_by(Cohort.district)
    ))


# --- upkeep ---------------------------------------------------------------------------

COURSE_FIELDS = ("title", "occupation", "occupation_code", "level", "hours", "delivery_mode", "fee", "subsidy",
                 "description", "is_published")
COHORT_FIELDS = ("name", "start_date", "end_date", "schedule_text", "place", "district", "capacity",
                 "enrolment_opens_at", "enrolment_closes_at", "approval_required", "status",
                 "attendance_threshold", "excused_policy")


def save_course(course: Course | None, values: dict, *, actor: User) -> Course:
    """Create (``course`` None) or update a course from ``values`` (keys of COURSE_FIELDS and ``code``).

    Raises ``CatalogueError`` for a duplicate code, an unknown delivery mode, negative fee or
    subsidy, or a subsidy above the fee when the fee is not zero.
    """
    if not actor.is_admin:
        raise PermissionDenied("只有管理员可以编辑课程")
    code = (values.get("code") or (course.code if course else "")).strip().upper()
    if not code:
        raise CatalogueError("请填写课程编号")
    other = db.session.scalar(select(Course).where(Course.code == code))
    if other is not None and other is not course:
        raise CatalogueError(f"课程编号 {code} 已存在")
    mode = values.get("delivery_mode", course.delivery_mode if course else DeliveryMode.OFFLINE)
    if mode not in {m.value for m in DeliveryMode}:
        raise CatalogueError(f"培训方式“{mode}”应为 线下 / 线上 / 线上线下结合")
    for money in ("fee", "subsidy"):
        if money in values and values[money] is not None and values[money] < 0:
            raise CatalogueError("费用和补贴不能为负数")
    is_new = course is None
    course = course or Course(code=code)
    course.code = code
    for key in COURSE_FIELDS:
        if key in values:
            setattr(course, key, values[key])
    db.session.add(course)
    db.session.flush()
    record("course.created" if is_new else "course.updated", actor=actor, obj=course)
    return course


def save_cohort(cohort: Cohort | None, values: dict, *, actor: User, course: Course | None = None,
                instructors: list[User] | None = None, schedule: str | None = None) -> Cohort:
    """Create or update a cohort. ``values`` uses COHORT_FIELDS plus ``code``.

    ``schedule`` (text such as 周一至周五 19:30-21:30) replaces the weekly pattern. Capacity
    changes on an existing cohort go through ``enrolment.services.change_capacity`` (which
    promotes from the waitlist), not here. Raises ``CatalogueError`` for a duplicate code,
    end before start, a closing time before the opening, or a threshold outside 0–1.
    """
    if not actor.is_admin:
        raise PermissionDenied("只有管理员可以编辑班级")
    code = (values.get("code") or (cohort.code if cohort else "")).strip().upper()
    if not code:
        raise CatalogueError("请填写班级编号")
    other = db.session.scalar(select(Cohort).where(Cohort.code == code))
    if other is not None and other is not cohort:
        raise CatalogueError(f"班级编号 {code} 已存在")
    start = values.get("start_date", cohort.start_date if cohort else None)
    end = values.get("end_date", cohort.end_date if cohort else None)
    if start and end and end < start:
        raise CatalogueError("结业日期不能早于开班日期")
    opens = values.get("enrolment_opens_at", cohort.enrolment_opens_at if cohort else None)
    closes = values.get("enrolment_closes_at", cohort.enrolment_closes_at if cohort else None)
    if opens and closes and closes <= opens:
        raise CatalogueError("报名截止时间必须晚于开始时间")
    threshold = values.get("attendance_threshold")
    if threshold is not None and not (0 <= threshold <= 1):
        raise CatalogueError("出勤率要求应在 0% 到 100% 之间")
    if cohort is not None and "capacity" in values and values["capacity"] != cohort.capacity:
        raise CatalogueError("修改名额请使用“调整名额”")
    if values.get("capacity") is not None and values["capacity"] < 1:
        raise CatalogueError("名额至少为1")
    is_new = cohort is None
    if is_new:
        if course is None:
            raise CatalogueError("请选择课程")
        cohort = Cohort(code=code, course=course)
    cohort.code = code
    for key in COHORT_FIELDS:
        if key in values and values[key] is not None:
            setattr(cohort, key, values[key])
    if instructors is not None:
        cohort.instructors = list(instructors)
    db.session.add(cohort)
    if schedule is not None:
        cohort.schedule_text = schedule.strip() or None
        set_meetings(cohort, parse_weekly_schedule(schedule) if schedule.strip() else [])
    db.session.flush()
    record("cohort.created" if is_new else "cohort.updated", actor=actor, obj=cohort)
    return cohort


def count_cohorts_by_status() -> dict[str, int]:
    """Number of cohorts per status (for the staff home)."""
    return dict(db.session.execute(select(Cohort.status, func.count()).group_by(Cohort.status)).all())
