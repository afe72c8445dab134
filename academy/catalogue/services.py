"""Catalogue rules: weekly schedules, search, course and cohort upkeep."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal

from flask import has_app_context
from sqlalchemy import and_, case, event, exists, func, or_, select
from sqlalchemy.orm import Session

from academy.accounts.models import DISTRICTS, Role, User
from academy.audit.services import record
from academy.catalogue.models import Cohort, CohortMeeting, CohortStatus, Course, DeliveryMode, ExcusedPolicy
from academy.common.text import to_halfwidth
from academy.errors import DomainError, PermissionDenied
from academy.extensions import cache, db


class CatalogueError(DomainError):
    """A course or cohort rule was broken."""


# --- weekly schedules ------------------------------------------------------------------

_DAY_CHARS = {"一": 0, "二": 1, "三": 2, "四": 3, "五": 4, "六": 5, "日": 6, "天": 6, "七": 6}
# A time range (19:30-21:30) or a single start time (答疑 周日 10:00).
_TIME_RANGE = re.compile(r"(\d{1,2})[:：](\d{2})(?:\s*[-–—~～至到]+\s*(\d{1,2})[:：](\d{2}))?")
SINGLE_TIME_DURATION = timedelta(hours=1)  # a meeting given only by its start (周日 10:00)
SELF_PACED_WORDS = ("随到随学", "线上自学", "自主学习", "不限时间")


@dataclass(frozen=True)
class Slot:
    """One weekly meeting: weekday 0 = Monday … 6 = Sunday, local wall-clock times."""

    weekday: int
    start: time
    end: time


def parse_weekly_schedule(text: str) -> list[Slot]:
    """Parse a schedule as academies write it into weekly slots (local wall-clock times).

    Understands ``周一至周五 19:30-21:30``, ``周六、周日 09:00-17:00``, ``周一、三、五 15:00-17:30``,
    ``每周二 14:30-16:30（错峰）`` (notes in brackets are ignored), ``工作日``/``周末``/``每天``,
    ``星期``/``礼拜`` for ``周``, full-width digits and colons, several parts separated by ``;``
    or a new line, and several day groups in one part (``周一至周五 19:30-21:30，周六 09:00-12:00``;
    a time range with no days before it reuses the previous days). An end time earlier than the
    start means the session runs past midnight (``22:30-00:30``); ``24:00`` is midnight. A
    single start time (``每周一次线下答疑 周日 10:00``) is a meeting of ``SINGLE_TIME_DURATION``.
    A part without any time that says the course is self-paced (``随到随学``) has no weekly
    meeting. Returns the slots sorted by weekday and start, without duplicates (possibly empty
    for a self-paced course).

    Raises ``CatalogueError`` with a Chinese message saying what to write when the text is
    empty, has no time, has a time without any weekday, or has an impossible time.
    """
    text = to_halfwidth(text or "").replace("星期", "周").replace("礼拜", "周")
    parts = [p.strip() for p in re.split(r"[;\n]", text) if p.strip()]
    if not parts:
        raise CatalogueError("请填写上课时间，如“周一至周五 19:30-21:30”")
    slots: set[Slot] = set()
    for part in parts:
        matches = list(_TIME_RANGE.finditer(part))
        if not matches and any(word in part for word in SELF_PACED_WORDS):
            continue
        if not matches:
            raise CatalogueError(f"看不懂上课时间“{part}”，请写成如“周一至周五 19:30-21:30”")
        if len(matches) == 1:  # the days may stand before or after the one time range
            segments = [part[: matches[0].start()] + " " + part[matches[0].end():]]
        else:
            bounds = [0] + [m.end() for m in matches[:-1]]
            segments = [part[b: m.start()] for b, m in zip(bounds, matches, strict=True)]
        days: list[int] = []
        for segment, match in zip(segments, matches, strict=True):
            days = _parse_days(segment) or days
            if not days:
                raise CatalogueError(f"上课时间“{part}”中没有写星期几，请写成如“周一至周五 19:30-21:30”")
            start, end = _parse_time_range(match)
            slots.update(Slot(d, start, end) for d in days)
    return sorted(slots, key=lambda s: (s.weekday, s.start))


def _parse_time_range(match: re.Match) -> tuple[time, time]:
    h1, m1 = int(match.group(1)), int(match.group(2))
    if match.group(3) is None:  # a single start time
        if h1 > 23 or m1 > 59:
            raise CatalogueError(f"上课时间“{match.group(0)}”不是有效的时间")
        start = time(h1, m1)
        return start, (datetime.combine(date(2000, 1, 1), start) + SINGLE_TIME_DURATION).time()
    h2, m2 = int(match.group(3)), int(match.group(4))
    if h1 > 23 or m1 > 59 or m2 > 59 or h2 > 24 or (h2 == 24 and m2 > 0):
        raise CatalogueError(f"上课时间“{match.group(0)}”不是有效的时间")
    start, end = time(h1, m1), time(h2 % 24, m2)
    if start == end:
        raise CatalogueError(f"上课时间“{match.group(0)}”的开始和结束相同")
    return start, end


def _parse_days(text: str) -> list[int]:
    """Weekdays (0 = Monday) named in ``text``: ranges, lists, 工作日, 周末, 每天.

    Frequencies such as 每周一次 / 每周两次 ("once/twice a week") are not weekdays.
    """
    text = re.sub(r"周[一二两三四五六七]次", "", text)
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
    """Replace the cohort's weekly meeting pattern with ``slots`` (flushes the removal first,
    so re-adding a slot with the same weekday and start does not hit the unique constraint)."""
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
    left out unless a keyword is given. The keyword matches course title, occupation and code,
    cohort name, code and place. The district filter matches the cohort's district or its
    place. Time of day is decided by the start of a weekly meeting slot in local time
    (morning < 12:00 ≤ afternoon < 18:00 ≤ evening); ``weekend`` means a Saturday or Sunday
    slot. ``open_only`` compares the enrolment window (UTC instants) with ``now`` (an aware
    datetime, any zone). Ordered by open-for-enrolment first, then start date. The count and
    page are two queries whatever the data size.
    """
    stmt = select(Cohort).join(Course, Cohort.course_id == Course.id).where(
        Course.is_published.is_(True), Cohort.status != CohortStatus.CANCELLED
    )
    keyword = query.keyword.strip()
    if keyword:
        like = f"%{_escape_like(keyword)}%"
        stmt = stmt.where(or_(*(column.ilike(like, escape="\\") for column in (
            Course.title, Course.occupation, Cohort.name, Cohort.place, Course.code, Cohort.code))))
    else:
        stmt = stmt.where(Cohort.status != CohortStatus.FINISHED)
    if query.occupation:
        stmt = stmt.where(Course.occupation == query.occupation)
    if query.delivery_mode:
        stmt = stmt.where(Course.delivery_mode == query.delivery_mode)
    if query.district:
        stmt = stmt.where(or_(Cohort.district == query.district,
                              Cohort.place.ilike(f"%{_escape_like(query.district)}%", escape="\\")))
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


# --- the catalogue listing cache -------------------------------------------------------------
#
# The catalogue is the page every visitor opens (and WeChat shares bring in bursts); rendering its
# twenty cards cost more than the rest of the page. The rendered listing (cards, count and pager)
# is kept in the app cache for LISTING_CACHE_SECONDS per set of filters and language, under a
# version that changes whenever a course, cohort or weekly meeting is saved — seats included,
# since enrolment keeps ``Cohort.seats_taken`` — so edits show at once; the time limit only
# bounds how late an enrolment window seen as opening or closing may be.

LISTING_CACHE_SECONDS = 60
LISTING_VERSION_KEY = "catalogue:listing-version"
_CATALOGUE_MODELS = (Course, Cohort, CohortMeeting)


def listing_cache_key(args: dict[str, str], locale: str) -> str:
    """The cache key of one rendered listing: version, language and the query arguments."""
    version = cache.get(LISTING_VERSION_KEY) or "0"
    flat = "&".join(f"{k}={v}" for k, v in sorted(args.items()))
    return f"catalogue:listing:{version}:{locale}:{flat}"


def bump_listing_version() -> None:
    """Make every cached listing stale (called after a commit that changed the catalogue)."""
    cache.set(LISTING_VERSION_KEY, uuid.uuid4().hex[:12], timeout=0)


def _note_catalogue_changes(session, flush_context) -> None:
    """SQLAlchemy ``after_flush``: remember in the session that catalogue rows changed."""
    if any(isinstance(obj, _CATALOGUE_MODELS) for obj in (*session.new, *session.dirty, *session.deleted)):
        session.info["catalogue_changed"] = True


def _after_commit(session) -> None:
    """SQLAlchemy ``after_commit``: drop cached listings when the commit changed the catalogue."""
    if session.info.pop("catalogue_changed", False) and has_app_context():
        bump_listing_version()


def _after_rollback(session) -> None:
    session.info.pop("catalogue_changed", None)


event.listen(Session, "after_flush", _note_catalogue_changes)
event.listen(Session, "after_commit", _after_commit)
event.listen(Session, "after_soft_rollback", lambda session, previous: _after_rollback(session))


def _escape_like(text: str) -> str:
    """Escape LIKE wildcards so that a typed ``%`` or ``_`` matches itself (escape character ``\\``)."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


FILTER_CHOICES_KEY = "catalogue:filter-choices"


def filter_choices() -> tuple[list[str], list[str]]:
    """(occupations, districts) offered by the catalogue's filters, cached for five minutes.

    Every catalogue visit needs them and they change only when courses or cohorts are saved
    (``save_course``/``save_cohort`` drop the cached copy), so they are kept in the app cache —
    Redis when ``REDIS_URL`` is set, shared by every worker.
    """
    cached = cache.get(FILTER_CHOICES_KEY)
    if cached is None:
        cached = (list_occupations(), list_districts())
        cache.set(FILTER_CHOICES_KEY, cached)
    return cached[0], cached[1]


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

    ``fee`` and ``subsidy`` are yuan (``Decimal``), ``hours`` class hours. Raises
    ``PermissionDenied`` unless ``actor`` is an admin, and ``CatalogueError`` for a missing code,
    title or occupation, a duplicate code, an unknown delivery mode, negative hours, fee or
    subsidy, or a subsidy above the fee when the fee is not zero (a free course may still carry
    a subsidy that the academy claims). Audited as ``course.created``/``course.updated``.
    """
    if not actor.is_admin:
        raise PermissionDenied("只有管理员可以编辑课程")
    code = (values.get("code") or (course.code if course else "")).strip().upper()
    if not code:
        raise CatalogueError("请填写课程编号")
    with db.session.no_autoflush:
        other = db.session.scalar(select(Course).where(Course.code == code))
    if other is not None and other is not course:
        raise CatalogueError(f"课程编号 {code} 已存在")
    for key, label in (("title", "课程名称"), ("occupation", "职业（工种）")):
        current = values.get(key, getattr(course, key) if course else None)
        if not (current or "").strip():
            raise CatalogueError(f"请填写{label}")
    mode = values.get("delivery_mode", course.delivery_mode if course else DeliveryMode.OFFLINE)
    if mode not in {m.value for m in DeliveryMode}:
        raise CatalogueError(f"培训方式“{mode}”应为 线下 / 线上 / 线上线下结合")
    hours = values.get("hours", course.hours if course else 0)
    if hours is None or hours < 0:
        raise CatalogueError("课时不能为负数")
    fee = values.get("fee", course.fee if course else Decimal("0"))
    subsidy = values.get("subsidy", course.subsidy if course else Decimal("0"))
    fee = Decimal(0) if fee is None else Decimal(fee)
    subsidy = Decimal(0) if subsidy is None else Decimal(subsidy)
    if fee < 0 or subsidy < 0:
        raise CatalogueError("费用和补贴不能为负数")
    if fee > 0 and subsidy > fee:
        raise CatalogueError("补贴不能高于费用")
    is_new = course is None
    course = course or Course(code=code)
    course.code = code
    for key in COURSE_FIELDS:
        if key in values:
            setattr(course, key, values[key])
    course.fee, course.subsidy = fee, subsidy
    db.session.add(course)
    db.session.flush()
    record("course.created" if is_new else "course.updated", actor=actor, obj=course)
    cache.delete(FILTER_CHOICES_KEY)
    return course


NULLABLE_COHORT_FIELDS = ("schedule_text", "place", "district", "enrolment_opens_at", "enrolment_closes_at")


def save_cohort(cohort: Cohort | None, values: dict, *, actor: User, course: Course | None = None,
                instructors: list[User] | None = None, schedule: str | None = None) -> Cohort:
    """Create (``cohort`` None, ``course`` required) or update a cohort.

    ``values`` uses the keys of COHORT_FIELDS plus ``code``; a key left out keeps the stored
    value, and ``None`` clears the optional fields (NULLABLE_COHORT_FIELDS). Dates are local
    ``date``s; ``enrolment_opens_at``/``enrolment_closes_at`` are aware datetimes (stored UTC);
    ``attendance_threshold`` is a ``Decimal`` fraction (0.8 = 80 %). ``schedule`` (text such as
    周一至周五 19:30-21:30, see ``parse_weekly_schedule``) replaces the weekly pattern;
    ``instructors`` replaces the teachers (each must hold the instructor role). Capacity changes
    on an existing cohort go through ``enrolment.services.change_capacity`` (which promotes
    from the waitlist), not here.

    Everything is validated before anything changes. Raises ``PermissionDenied`` unless
    ``actor`` is an admin and ``CatalogueError`` for a missing code, name, course or dates, a
    duplicate code, end before start, a closing time not after the opening, a threshold outside
    0–1, a capacity below 1 or changed here, an unknown status, excused-leave policy or
    district, a teacher without the instructor role, or an unreadable schedule. Audited as
    ``cohort.created``/``cohort.updated``.
    """
    if not actor.is_admin:
        raise PermissionDenied("只有管理员可以编辑班级")
    is_new = cohort is None
    code = (values.get("code") or (cohort.code if cohort else "")).strip().upper()
    if not code:
        raise CatalogueError("请填写班级编号")
    with db.session.no_autoflush:
        other = db.session.scalar(select(Cohort).where(Cohort.code == code))
    if other is not None and other is not cohort:
        raise CatalogueError(f"班级编号 {code} 已存在")
    if is_new and course is None:
        raise CatalogueError("请选择课程")

    def current(key):
        return values.get(key, getattr(cohort, key) if cohort else None)

    if not (current("name") or "").strip():
        raise CatalogueError("请填写班级名称")
    start, end = current("start_date"), current("end_date")
    if start is None or end is None:
        raise CatalogueError("请填写开班日期和结业日期")
    if end < start:
        raise CatalogueError("结业日期不能早于开班日期")
    opens, closes = current("enrolment_opens_at"), current("enrolment_closes_at")
    if opens and closes and closes <= opens:
        raise CatalogueError("报名截止时间必须晚于开始时间")
    threshold = values.get("attendance_threshold")
    if threshold is not None and not (0 <= threshold <= 1):
        raise CatalogueError("出勤率要求应在 0% 到 100% 之间")
    if cohort is not None and values.get("capacity") is not None and values["capacity"] != cohort.capacity:
        raise CatalogueError("修改名额请使用“调整名额”")
    if values.get("capacity") is not None and values["capacity"] < 1:
        raise CatalogueError("名额至少为1")
    for key, allowed, label in (("status", CohortStatus, "班级状态"), ("excused_policy", ExcusedPolicy, "请假计算方式")):
        if values.get(key) is not None and values[key] not in {m.value for m in allowed}:
            raise CatalogueError(f"{label}“{values[key]}”不是可选的值")
    if values.get("district") and values["district"] not in DISTRICTS:
        raise CatalogueError(f"所在县（市、区）“{values['district']}”不是赣州市的县（市、区）")
    for person in instructors or ():
        if not person.has_role(Role.INSTRUCTOR):
            raise CatalogueError(f"{person.name} 不是教师，请先在账号管理中授予教师角色")
    slots = None
    if schedule is not None and schedule.strip():
        slots = parse_weekly_schedule(schedule)

    if is_new:
        cohort = Cohort(code=code, course=course)
    cohort.code = code
    for key in COHORT_FIELDS:
        if key in values and (values[key] is not None or key in NULLABLE_COHORT_FIELDS):
            setattr(cohort, key, values[key])
    if instructors is not None:
        cohort.instructors = list(instructors)
    db.session.add(cohort)
    if schedule is not None:
        cohort.schedule_text = schedule.strip() or None
        set_meetings(cohort, slots or [])
    db.session.flush()
    record("cohort.created" if is_new else "cohort.updated", actor=actor, obj=cohort)
    cache.delete(FILTER_CHOICES_KEY)
    return cohort


def count_cohorts_by_status() -> dict[str, int]:
    """Number of cohorts per status (for the staff home)."""
    return dict(db.session.execute(select(Cohort.status, func.count()).group_by(Cohort.status)).all())


# --- administration overview --------------------------------------------------------------------

MANAGE_RECENT_OTHERS = 3  # finished/cancelled cohorts shown per course on the overview


@dataclass(frozen=True)
class ManageOverview:
    """What the course-management page shows: ``courses`` by code; ``cohorts`` course id → the
    cohorts shown (newest start first); ``totals`` course id → all its cohorts."""

    courses: list[Course]
    cohorts: dict[int, list[Cohort]]
    totals: dict[int, int]


def manage_overview(*, course_id: int | None = None, recent: int = MANAGE_RECENT_OTHERS) -> ManageOverview:
    """Courses with their planned, open and running cohorts plus the ``recent`` latest finished or
    cancelled ones each — a city has thousands of finished cohorts, and listing them all made the
    page 570 KB. With ``course_id``: that course alone (empty if unknown) with every cohort.
    Three queries whatever the number of cohorts."""
    courses_stmt = select(Course).order_by(Course.code)
    cohorts_stmt = select(Cohort)
    if course_id is not None:
        courses_stmt = courses_stmt.where(Course.id == course_id)
        cohorts_stmt = cohorts_stmt.where(Cohort.course_id == course_id)
    else:
        current = (CohortStatus.PLANNED, CohortStatus.OPEN, CohortStatus.RUNNING)
        rank = (func.row_number().over(partition_by=Cohort.course_id,
                                       order_by=(Cohort.start_date.desc(), Cohort.id.desc()))
                .label("rank"))
        others = (select(Cohort.id, rank).where(Cohort.status.not_in(current)).subquery())
        cohorts_stmt = cohorts_stmt.where(or_(Cohort.status.in_(current), Cohort.id.in_(
            select(others.c.id).where(others.c.rank <= recent))))
    courses = list(db.session.scalars(courses_stmt))
    shown: dict[int, list[Cohort]] = {}
    for cohort in db.session.scalars(cohorts_stmt.order_by(Cohort.start_date.desc(), Cohort.id.desc())):
        shown.setdefault(cohort.course_id, []).append(cohort)
    totals_stmt = select(Cohort.course_id, func.count()).group_by(Cohort.course_id)
    if course_id is not None:
        totals_stmt = totals_stmt.where(Cohort.course_id == course_id)
    return ManageOverview(courses, shown, dict(db.session.execute(totals_stmt).all()))

