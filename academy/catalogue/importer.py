"""Import of the course catalogue from a spreadsheet (.xlsx or .csv).

Columns, as in ``shared/data/courses.xlsx`` (a title row above the header is fine; headers
may carry notes in brackets, e.g. 费用（元）)::

    课程编号 课程名称 职业（工种） 职业编码 培训等级 课时 培训方式 费用（元） 上课时间 上课地点
    招生名额 授课教师 开班日期 结业日期            (optional: 补贴（元） 课程介绍)

Each row upserts the course by its code and creates or updates the course's cohort that
starts on 开班日期: code ``<课程编号>-<YYYYMM>`` (``JXG-DG-01-202612``), name
``2026年12月 电工（五级/初级工）技能培训班``, weekly meetings parsed from 上课时间, status
open (an existing cohort keeps its status), district guessed from the place when it names a
county of Ganzhou. 授课教师 names are matched to instructor accounts; a name without a match
is a warning and the row still imports. A cohort whose start month changed gets a new code,
so it is created as a new cohort (the report says so).

Rules: every row is checked before anything is written and every problem is reported as
row + column + reason; with any problem nothing is written unless ``skip_invalid`` is set;
a dry run reports what would happen and writes nothing. Re-importing the same file updates
and never duplicates.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import BinaryIO

from sqlalchemy import select

from academy.accounts.models import DISTRICTS, Role, User, UserRole
from academy.audit.services import record
from academy.catalogue.models import Cohort, CohortStatus, Course, DeliveryMode
from academy.catalogue.services import CatalogueError, Slot, parse_weekly_schedule, set_meetings
from academy.common.spreadsheets import (
    ImportReport,
    Table,
    cell_date,
    cell_decimal,
    cell_int,
    read_table,
    row_problem,
)
from academy.common.text import clean, clean_name, to_halfwidth
from academy.errors import PermissionDenied, RowError, ValidationFailed
from academy.extensions import db
from academy.i18n import N_

COLUMNS: dict[str, tuple[str, ...]] = {
    "code": ("课程编号", "课程代码", "编号"),
    "title": ("课程名称", "课程"),
    "occupation": ("职业（工种）", "工种"),
    "occupation_code": ("职业编码", "职业代码", "工种编码"),
    "level": ("培训等级", "等级", "技能等级"),
    "hours": ("课时", "学时", "总课时"),
    "delivery_mode": ("培训方式", "授课方式", "教学方式"),
    "fee": ("费用（元）", "培训费", "收费"),
    "subsidy": ("补贴（元）", "补贴标准"),
    "schedule": ("上课时间", "培训时间"),
    "place": ("上课地点", "培训地点", "地点"),
    "capacity": ("招生名额", "名额", "招生人数"),
    "instructors": ("授课教师", "教师", "任课教师", "老师"),
    "start_date": ("开班日期", "开课日期", "开始日期"),
    "end_date": ("结业日期", "结课日期", "结束日期"),
    "description": ("课程介绍", "课程简介", "简介"),
}
REQUIRED = ("code", "title", "occupation", "hours", "delivery_mode", "schedule", "capacity", "start_date",
            "end_date")

COUNT_LABELS = {
    "created": N_("新建课程"),
    "updated": N_("更新课程"),
    "cohorts_created": N_("新建班级"),
    "cohorts_updated": N_("更新班级"),
    "skipped": N_("跳过的行"),
}

# Spellings of the delivery modes seen in real files → the stored value.
DELIVERY_MODE_ALIASES = {
    "线下": DeliveryMode.OFFLINE, "面授": DeliveryMode.OFFLINE, "线下面授": DeliveryMode.OFFLINE,
    "线上": DeliveryMode.ONLINE, "网络": DeliveryMode.ONLINE, "在线": DeliveryMode.ONLINE,
    "线上线下结合": DeliveryMode.BLENDED, "线上+线下": DeliveryMode.BLENDED, "线下+线上": DeliveryMode.BLENDED,
    "线上线下": DeliveryMode.BLENDED, "混合": DeliveryMode.BLENDED, "混合式": DeliveryMode.BLENDED,
}
CODE_RE = re.compile(r"^[A-Z0-9][A-Z0-9_-]{0,29}$")
OCCUPATION_CODE_RE = re.compile(r"^\d-\d{2}-\d{2}-\d{2}$")  # 国家职业分类大典: 6-31-01-03
MAX_HOURS = 2000
MAX_CAPACITY = 5000
_NAME_SPLIT = re.compile(r"[、,，/;；\s]+")


@dataclass
class PlannedCourse:
    """One checked row, ready to write: the course values and its cohort's values."""

    row: int
    code: str
    course: dict
    cohort_code: str
    cohort_name: str
    start_date: date
    end_date: date
    schedule_text: str
    slots: list[Slot]
    place: str | None
    district: str | None
    capacity: int
    instructors: list[User] = field(default_factory=list)


def guess_district(place: str | None) -> str | None:
    """The county of Ganzhou (``accounts.models.DISTRICTS``) that ``place`` names, or None.

    ``瑞金市职业技能实训基地`` → 瑞金市. A short form without 县/市/区 counts only at the start
    of the place (``于都罗坳镇文化站`` → 于都县), so that ``振兴国际大厦`` is not 兴国县. A place
    naming no county (``象湖镇党群服务中心``) gives None.
    """
    text = to_halfwidth(clean(place)).replace(" ", "")
    for prefix in ("江西省", "赣州市"):
        text = text.removeprefix(prefix)
    if not text:
        return None
    for district in DISTRICTS:
        if district in text:
            return district
    for district in DISTRICTS:
        if text.startswith(district[:-1]):
            return district
    return None


def cohort_code_for(course_code: str, start: date) -> str:
    """The code of a course's cohort starting on ``start``: ``JXG-DG-01`` + 2026-12-07 → ``JXG-DG-01-202612``."""
    return f"{course_code}-{start:%Y%m}"


def cohort_name_for(title: str, start: date) -> str:
    """``2026年12月 电工（五级/初级工）技能培训班`` for a course title and a start date."""
    return f"{start.year}年{start.month}月 {title}" + ("" if title.endswith("班") else "班")


def import_courses(source: str | Path | BinaryIO | bytes, *, filename: str, actor: User | None,
                   dry_run: bool = False, skip_invalid: bool = False) -> ImportReport:
    """Check every row of a catalogue file, then upsert the courses and their cohorts.

    ``source`` is a path, bytes or a binary file; ``filename`` decides the format (.xlsx or
    .csv). ``actor`` is the administrator (None on the command line). With problems in any
    row nothing is written unless ``skip_invalid`` (then only the valid rows are); a
    ``dry_run`` goes through the writes inside a savepoint and rolls them back, so its report
    is exactly what a real import would do. The caller commits when ``report.written``.
    Audited as ``courses.imported``.

    Raises ``PermissionDenied`` when ``actor`` is not an admin and ``ValidationFailed`` when the
    file cannot be read (type, encoding, no header with the required columns, no data rows).
    """
    if actor is not None and not actor.is_admin:
        raise PermissionDenied("只有管理员可以导入课程目录")
    table = read_table(source, filename=filename, columns=COLUMNS, required=REQUIRED)
    if not table.rows:
        raise ValidationFailed("文件里没有课程：表头下面是空的")
    report = ImportReport(filename=filename, labels=COUNT_LABELS, rows=len(table.rows), dry_run=dry_run,
                          skip_invalid=skip_invalid)
    planned = _check(table, report)
    if report.blocked:
        return report
    if skip_invalid:
        report.add("skipped", len(report.invalid_rows))
    savepoint = db.session.begin_nested() if dry_run else None
    try:
        _write(planned, report, capacity_column=_label(table, "capacity"))
    finally:
        if savepoint is not None:
            savepoint.rollback()
    if not dry_run:
        report.written = True
        record("courses.imported", actor=actor, filename=filename, rows=report.rows,
               **{key: report.counts.get(key, 0) for key in COUNT_LABELS})
    return report


# --- checking -------------------------------------------------------------------------------

def _label(table: Table, key: str) -> str:
    return table.labels.get(key) or COLUMNS[key][0]


def _check(table: Table, report: ImportReport) -> list[PlannedCourse]:
    """Validate every row (collecting every problem); return the valid rows as plans.

    Two passes: the cells of every row first, then what depends on the stored courses and
    cohorts (loaded in two queries, whatever the number of rows).
    """
    first_row_of: dict[str, int] = {}
    checked: list[tuple[int, dict, list[RowError]]] = []
    for row in table.rows:
        errors: list[RowError] = []

        def problem(key: str, message: str, _row=row, _errors=errors) -> None:
            _errors.append(row_problem(_row.number, _label(table, key), message))

        values = _row_values(row, problem)
        code = values.get("code")
        if code:
            if code in first_row_of:
                problem("code", f"与第{first_row_of[code]}行的课程编号重复")
            else:
                first_row_of[code] = row.number
        checked.append((row.number, values, errors))
    # rows whose code, start date and capacity could be read are checked against the database too
    ready = [(number, values) for number, values, _ in checked
             if values.get("code") and values.get("start_date") and values.get("capacity")]
    courses = {c.code: c for c in db.session.scalars(
        select(Course).where(Course.code.in_([v["code"] for _, v in ready])))}
    cohorts = {c.code: c for c in db.session.scalars(
        select(Cohort).where(Cohort.code.in_([cohort_code_for(v["code"], v["start_date"]) for _, v in ready])))}
    instructors = _instructors_by_name()
    errors_of = {number: errors for number, _, errors in checked}
    planned: list[PlannedCourse] = []
    for number, values in ready:
        errors = errors_of[number]

        def problem(key: str, message: str, _row=number, _errors=errors) -> None:
            _errors.append(row_problem(_row, _label(table, key), message))

        plan = _plan(number, values, courses.get(values["code"]), cohorts, problem)
        if plan is not None and not errors:
            plan.instructors = _match_instructors(values["instructor_names"], instructors, number, table, report)
            planned.append(plan)
    for _, _, errors in checked:
        report.errors.extend(errors)
    return planned


def _code(value: object) -> str:
    return to_halfwidth(clean(value)).replace(" ", "").replace("—", "-").replace("–", "-").upper()


def _row_values(row, problem) -> dict:
    """Parse and check the cells of one row; report each problem through ``problem(key, message)``."""
    values: dict = {}
    code = _code(row.get("code"))
    if not code:
        problem("code", "请填写课程编号")
    elif not CODE_RE.match(code):
        problem("code", f"“{code}”不能做课程编号：只能用字母、数字和“-”，最多30个字符")
    else:
        values["code"] = code
    for key, label, limit in (("title", "课程名称", 120), ("occupation", "职业（工种）", 60)):
        text = clean(row.get(key))
        if not text:
            problem(key, f"请填写{label}")
        elif len(text) > limit:
            problem(key, f"最多{limit}个字")
        values[key] = text
    occupation_code = _code(row.get("occupation_code")) or None
    if occupation_code and not OCCUPATION_CODE_RE.match(occupation_code):
        problem("occupation_code", f"“{clean(row.get('occupation_code'))}”格式不对，应为“6-31-01-03”这样的格式")
    values["occupation_code"] = occupation_code
    values["level"] = clean(row.get("level"))[:30] or None
    values["description"] = clean(row.get("description")) or None
    values["hours"] = _whole(row.get("hours"), "hours", 1, MAX_HOURS, "课时", problem)
    values["capacity"] = _whole(row.get("capacity"), "capacity", 1, MAX_CAPACITY, "招生名额", problem)
    mode_text = to_halfwidth(clean(row.get("delivery_mode"))).replace(" ", "")
    values["delivery_mode"] = DELIVERY_MODE_ALIASES.get(mode_text)
    if not mode_text:
        problem("delivery_mode", "请填写培训方式：线下 / 线上 / 线上线下结合")
    elif values["delivery_mode"] is None:
        problem("delivery_mode", f"“{mode_text}”不是可选的培训方式，可选：线下、线上、线上线下结合")
    values["fee"] = _money(row.get("fee"), "fee", problem)
    values["subsidy"] = _money(row.get("subsidy"), "subsidy", problem)
    fee, subsidy = values["fee"], values["subsidy"]
    if fee is not None and subsidy is not None and fee > 0 and subsidy > fee:
        problem("subsidy", "补贴不能高于费用")
    values["schedule"] = clean(row.get("schedule"))
    values["slots"] = None
    if not values["schedule"]:
        problem("schedule", "请填写上课时间，如“周一至周五 19:30-21:30”")
    else:
        try:
            values["slots"] = parse_weekly_schedule(values["schedule"])
        except CatalogueError as exc:
            problem("schedule", exc.message)
    values["place"] = clean(row.get("place"))[:120] or None
    for key, label in (("start_date", "开班日期"), ("end_date", "结业日期")):
        try:
            values[key] = cell_date(row.get(key))
        except ValueError as exc:
            problem(key, str(exc))
            values[key] = None
        else:
            if values[key] is None:
                problem(key, f"请填写{label}")
    if values["start_date"] and values["end_date"] and values["end_date"] < values["start_date"]:
        problem("end_date", "结业日期不能早于开班日期")
    values["instructor_names"] = [n for n in (clean_name(p) for p in _NAME_SPLIT.split(clean(row.get("instructors"))))
                                  if n]
    return values


def _whole(value: object, key: str, low: int, high: int, label: str, problem) -> int | None:
    try:
        number = cell_int(value)
    except ValueError as exc:
        problem(key, str(exc))
        return None
    if number is None:
        problem(key, f"请填写{label}")
    elif not low <= number <= high:
        problem(key, f"{label}应在{low}到{high}之间，现在是{number}")
        return None
    return number


def _money(value: object, key: str, problem) -> Decimal | None:
    try:
        amount = cell_decimal(value)
    except ValueError as exc:
        problem(key, str(exc))
        return None
    if amount is None:
        return Decimal("0.00")
    if amount < 0:
        problem(key, "不能为负数")
        return None
    if amount != amount.quantize(Decimal("0.01")):
        problem(key, "金额最多两位小数（元、角、分）")
        return None
    return amount.quantize(Decimal("0.01"))


def _plan(row_number: int, values: dict, course: Course | None, cohorts: dict[str, Cohort],
          problem) -> PlannedCourse | None:
    """Turn a row's checked values into a plan; check what depends on the stored cohort."""
    start = values["start_date"]
    cohort_code = cohort_code_for(values["code"], start)
    cohort = cohorts.get(cohort_code)
    if cohort is not None and (course is None or cohort.course_id != course.id):
        problem("start_date", f"班级编号 {cohort_code} 已被另一门课程使用")
        return None
    if cohort is not None and values["capacity"] < cohort.seats_taken:
        problem("capacity", f"招生名额不能少于已报名人数（{cohort.seats_taken}人）")
        return None
    return PlannedCourse(
        row=row_number, code=values["code"],
        course={key: values[key] for key in ("title", "occupation", "occupation_code", "level", "hours",
                                             "delivery_mode", "fee", "subsidy")}
        | ({"description": values["description"]} if values["description"] else {}),
        cohort_code=cohort_code, cohort_name=cohort_name_for(values["title"], start)[:120],
        start_date=start, end_date=values["end_date"], schedule_text=values["schedule"][:120],
        slots=values["slots"] or [], place=values["place"], district=guess_district(values["place"]),
        capacity=values["capacity"],
    )


def _instructors_by_name() -> dict[str, list[User]]:
    people = db.session.scalars(select(User).join(UserRole).where(UserRole.role == Role.INSTRUCTOR)).unique()
    by_name: dict[str, list[User]] = {}
    for person in people:
        by_name.setdefault(clean_name(person.name), []).append(person)
    return by_name


def _match_instructors(names: list[str], by_name: dict[str, list[User]], row: int, table: Table,
                       report: ImportReport) -> list[User]:
    """Instructor accounts for the names in 授课教师; unknown or ambiguous names become warnings."""
    found: list[User] = []
    column = _label(table, "instructors")
    for name in names:
        people = by_name.get(name, [])
        if len(people) == 1:
            found.append(people[0])
        elif not people:
            report.warnings.append(RowError(row, column, f"没有找到名为“{name}”的教师账号，课程照常导入；"
                                                         "请先建教师账号，再重新导入或在班级页指定教师"))
        else:
            report.warnings.append(RowError(row, column, f"有{len(people)}个教师账号都叫“{name}”，"
                                                         "没有自动指定，请在班级页选择"))
    return found


# --- writing --------------------------------------------------------------------------------

def _write(planned: list[PlannedCourse], report: ImportReport, *, capacity_column: str) -> None:
    """Upsert each planned course and its cohort (flushes; the caller commits)."""
    codes = [p.code for p in planned]
    courses = {c.code: c for c in db.session.scalars(select(Course).where(Course.code.in_(codes)))}
    cohorts = {c.code: c for c in db.session.scalars(
        select(Cohort).where(Cohort.code.in_([p.cohort_code for p in planned])))}
    for plan in planned:
        course = courses.get(plan.code)
        if course is None:
            course = courses[plan.code] = Course(code=plan.code, is_published=True)
            db.session.add(course)
            report.add("created")
        else:
            report.add("updated")
        for key, value in plan.course.items():
            setattr(course, key, value)
        cohort = cohorts.get(plan.cohort_code)
        if cohort is None:
            cohort = Cohort(code=plan.cohort_code, course=course, status=CohortStatus.OPEN, capacity=plan.capacity)
            db.session.add(cohort)
            report.add("cohorts_created")
        else:
            _update_capacity(cohort, plan, report, capacity_column)
            report.add("cohorts_updated")
        cohort.name = plan.cohort_name
        cohort.start_date, cohort.end_date = plan.start_date, plan.end_date
        cohort.place = plan.place
        cohort.district = plan.district or cohort.district
        cohort.schedule_text = plan.schedule_text
        if plan.instructors:
            cohort.instructors = list(plan.instructors)
        db.session.flush()
        set_meetings(cohort, plan.slots)
    db.session.flush()


def _update_capacity(cohort: Cohort, plan: PlannedCourse, report: ImportReport, column: str) -> None:
    """A new capacity applies at once unless the cohort is full: then a waitlist may be waiting
    for the new seats, and only ``enrolment.services.change_capacity`` promotes it in order."""
    if plan.capacity == cohort.capacity:
        return
    if plan.capacity > cohort.capacity and cohort.seats_taken >= cohort.capacity:
        report.warnings.append(RowError(
            plan.row, column,
            f"班级已满，名额仍为{cohort.capacity}：请到班级名单页“调整名额”改为{plan.capacity}，候补的人会按顺序补上"))
        return
    cohort.capacity = plan.capacity
