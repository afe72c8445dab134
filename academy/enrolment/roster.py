"""Import of a learner roster (花名册) from a spreadsheet (.xlsx or .csv), with enrolment.

Columns, as in ``shared/data/roster.xlsx`` (a title row above the header is fine; only 姓名,
身份证号 and 手机号 are required)::

    序号 姓名 性别 身份证号 手机号 所在县（市、区） 从业类型 所属平台/企业 政治面貌 文化程度 报名课程 备注

Rules:

* Every row is checked before anything is written, and every problem is reported as row +
  column + reason. With any problem nothing is written, unless ``skip_invalid`` asks to
  import the valid rows only. A dry run goes through the writes inside a savepoint and rolls
  them back, so its report is exactly what the import would do.
* Learners are matched by ID number (GB 11643-1999) and updated — never duplicated. A
  self-registered account without an ID number is the same person when both mobile number
  and name match. A mobile number that belongs to another person (in the database or on an
  earlier row) is an error naming that person or row; so is an ID number on file under a
  different name (usually a mistyped ID). An account that has been activated keeps its
  login mobile number (a different number in the file is a warning). Blank optional cells
  leave the stored value unchanged.
* New learners get the learner role and no password (``password_hash`` None): they set one
  through the "first sign-in" activation page with their mobile number and ID tail.
* 性别 must agree with the ID number; the birth date comes from the ID. Values of
  所在县/从业类型/政治面貌/文化程度 must be one of the lists in ``accounts.models``, with the
  small alias tables below for common variants (大学专科 → 大专).
* Enrolment: with ``cohort_code`` every valid row is enrolled there. Otherwise 报名课程 (a
  course title; a course or cohort code also works) picks the course's cohort that is open
  for enrolment now, else its next planned/open one by start date (``choose_cohort``). An
  unknown course is an error; a known course with no cohort to join is a warning. Enrolment
  goes through ``enrolment.services.enrol_many(..., source="import", check_window=False)`` —
  the rules of ``enrol`` applied in file order — so capacity and the FIFO waitlist hold;
  people already in the cohort are left as they are (a note).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import BinaryIO

from sqlalchemy import insert, or_, select, update
from sqlalchemy.orm import selectinload
from sqlalchemy.orm.attributes import set_committed_value

from academy.accounts.models import (
    DISTRICTS,
    EDUCATION_LEVELS,
    OCCUPATION_GROUPS,
    POLITICAL_STATUSES,
    Role,
    User,
    UserRole,
)
from academy.accounts.services import AccountError, validate_name
from academy.audit.services import record
from academy.catalogue.models import Cohort, CohortStatus, Course
from academy.catalogue.services import is_open_for_enrolment
from academy.common.ids import IdNumber, InvalidIdNumber, InvalidMobile, normalise_mobile, parse_id_number
from academy.common.masking import mask_name, mask_phone
from academy.common.spreadsheets import ImportReport, Table, read_table, row_problem
from academy.common.text import clean, to_halfwidth
from academy.common.timeutil import local_today, now_utc
from academy.enrolment.models import EnrolmentStatus
from academy.enrolment.services import Applicant, EnrolmentError, enrol_many, in_list
from academy.errors import Conflict, PermissionDenied, RowError, ValidationFailed
from academy.extensions import db
from academy.i18n import N_

COLUMNS: dict[str, tuple[str, ...]] = {
    "seq": ("序号",),
    "name": ("姓名", "学员姓名"),
    "gender": ("性别",),
    "id_number": ("身份证号", "身份证号码", "公民身份号码", "身份证"),
    "mobile": ("手机号", "手机号码", "手机", "联系电话", "联系方式"),
    "district": ("所在县（市、区）", "县（市、区）", "所在县区", "县区", "所在地区"),
    "occupation_group": ("从业类型", "从业群体", "职业类型", "就业形态"),
    "platform": ("所属平台/企业", "所属平台", "平台/企业", "平台", "所属企业", "工作单位"),
    "political_status": ("政治面貌",),
    "education": ("文化程度", "学历"),
    "course": ("报名课程", "课程名称", "报名项目"),
    "note": ("备注",),
}
REQUIRED = ("name", "id_number", "mobile")

COUNT_LABELS = {
    "created": N_("新建学员"),
    "updated": N_("更新学员"),
    "enrolled": N_("报名成功"),
    "waitlisted": N_("进入候补"),
    "already": N_("已在班级"),
    "not_enrolled": N_("未能报名"),
    "skipped": N_("跳过的行"),
}

GENDERS = {"男": "男", "女": "女", "男性": "男", "女性": "女"}
# Common variants seen in rosters → the stored value. Small and explicit on purpose.
DISTRICT_ALIASES = {d[:-1]: d for d in DISTRICTS} | {"赣县": "赣县区", "南康市": "南康区", "龙南县": "龙南市"}
OCCUPATION_ALIASES = {
    "外卖骑手": "外卖员", "骑手": "外卖员", "送餐员": "外卖员", "网约配送员": "外卖员",
    "快递小哥": "快递员", "快递": "快递员",
    "网约车": "网约车司机", "网约车驾驶员": "网约车司机",
    "货车": "货车司机", "货车驾驶员": "货车司机", "卡车司机": "货车司机",
    "主播": "网络主播", "家政": "网约家政", "家政服务员": "网约家政", "作家": "网络作家",
}
POLITICAL_ALIASES = {
    "党员": "中共党员", "中国共产党党员": "中共党员", "预备党员": "中共预备党员",
    "团员": "共青团员", "共青团": "共青团员", "普通群众": "群众",
}
EDUCATION_ALIASES = {
    "大学专科": "大专", "专科": "大专", "高职": "大专", "大学本科": "本科",
    "研究生": "硕士及以上", "硕士": "硕士及以上", "硕士研究生": "硕士及以上", "博士": "硕士及以上",
    "中等专业学校": "中专", "职业高中": "职高", "技工学校": "技校", "小学及以下": "小学", "初中及以下": "初中",
}
CHOICES = {
    "district": (DISTRICTS, DISTRICT_ALIASES),
    "occupation_group": (OCCUPATION_GROUPS, OCCUPATION_ALIASES),
    "political_status": (POLITICAL_STATUSES, POLITICAL_ALIASES),
    "education": (EDUCATION_LEVELS, EDUCATION_ALIASES),
}
PLATFORM_MAX = 60
JOINABLE = (CohortStatus.OPEN, CohortStatus.PLANNED)


@dataclass
class PlannedLearner:
    """One checked row, ready to write."""

    row: int
    name: str
    id_number: IdNumber
    mobile: str
    profile: dict[str, str | None]  # district, occupation_group, political_status, education, platform
    user: User | None  # the existing account, when the person is already known
    keep_mobile: bool = False  # an activated account keeps its login
    cohort: Cohort | None = None


def normalise_choice(value: object, allowed: tuple[str, ...], aliases: dict[str, str]) -> str | None:
    """The stored spelling of a profile choice, or None for an empty cell.

    Full-width characters and spaces are ignored; the 赣州市/江西省 prefix of a county is
    dropped. Raises ``ValueError`` naming the value and the allowed values.
    """
    text = to_halfwidth(clean(value)).replace(" ", "")
    if not text:
        return None
    for prefix in ("江西省", "赣州市"):
        if text.startswith(prefix) and len(text) > len(prefix):
            text = text[len(prefix):]
    if text in allowed:
        return text
    if text in aliases:
        return aliases[text]
    raise ValueError(f"“{clean(value)}”不是可选的值，可选：{'、'.join(allowed)}")


def choose_cohort(cohorts: list[Cohort], *, now: datetime) -> Cohort | None:
    """The cohort of a course that a roster line joins: the one open for enrolment at ``now``
    (earliest start first), else the next planned or open one by start date; None if none."""
    candidates = sorted((c for c in cohorts if c.status in JOINABLE), key=lambda c: (c.start_date, c.id))
    open_now = [c for c in candidates if is_open_for_enrolment(c, now=now)]
    if open_now:
        return open_now[0]
    today = local_today(now)
    upcoming = [c for c in candidates if c.start_date >= today]
    return upcoming[0] if upcoming else None


def title_key(text: object) -> str:
    """A course title for matching: half-width, no spaces (``电工（五级）`` = ``电工(五级)``)."""
    return to_halfwidth(clean(text)).replace(" ", "").upper()


def import_roster(source: str | Path | BinaryIO | bytes, *, filename: str, actor: User | None,
                  cohort_code: str | None = None, dry_run: bool = False, skip_invalid: bool = False,
                  now: datetime | None = None) -> ImportReport:
    """Check every row of a roster file, then upsert the learners and enrol them.

    ``source`` is a path, bytes or a binary file; ``filename`` decides the format (.xlsx or
    .csv). ``actor`` is the administrator (None on the command line). ``cohort_code`` sends
    every valid row to that cohort instead of the 报名课程 column. ``now`` (aware, UTC) decides
    which cohort is open for enrolment and stamps the enrolments. The caller commits when
    ``report.written``. Audited as ``roster.imported``.

    Raises ``PermissionDenied`` when ``actor`` is not an admin and ``ValidationFailed`` when the
    file cannot be read (type, encoding, no header with 姓名/身份证号/手机号, no data rows), when
    the cohort code is unknown, finished or cancelled, or when rows name courses but the
    catalogue is empty (import the catalogue first).
    """
    if actor is not None and not actor.is_admin:
        raise PermissionDenied("只有管理员可以导入花名册")
    now = now or now_utc()
    target = _target_cohort(cohort_code)
    table = read_table(source, filename=filename, columns=COLUMNS, required=REQUIRED)
    if not table.rows:
        raise ValidationFailed("文件里没有学员：表头下面是空的")
    report = ImportReport(filename=filename, labels=COUNT_LABELS, rows=len(table.rows), dry_run=dry_run,
                          skip_invalid=skip_invalid)
    planned = _check(table, report, target=target, now=now)
    if report.blocked:
        return report
    if skip_invalid:
        report.add("skipped", len(report.invalid_rows))
    savepoint = db.session.begin_nested() if dry_run else None
    try:
        _write(planned, report, table=table, actor=actor, now=now)
    finally:
        if savepoint is not None:
            savepoint.rollback()
            db.session.expire_all()  # accounts read or bulk-updated inside the savepoint are stale now
    if not dry_run:
        report.written = True
        record("roster.imported", actor=actor, filename=filename, rows=report.rows,
               cohort=target.code if target else None,
               **{key: report.counts.get(key, 0) for key in COUNT_LABELS})
    return report


def _target_cohort(cohort_code: str | None) -> Cohort | None:
    code = to_halfwidth(clean(cohort_code)).replace(" ", "").upper()
    if not code:
        return None
    cohort = db.session.scalar(select(Cohort).where(Cohort.code == code))
    if cohort is None:
        raise ValidationFailed(f"没有编号为 {code} 的班级，请核对班级编号")
    if cohort.status in (CohortStatus.FINISHED, CohortStatus.CANCELLED):
        raise ValidationFailed(f"班级 {code} 已结业或已取消，不能再导入报名")
    return cohort


# --- checking -------------------------------------------------------------------------------

def _label(table: Table, key: str) -> str:
    return table.labels.get(key) or COLUMNS[key][0]


def _check(table: Table, report: ImportReport, *, target: Cohort | None, now: datetime) -> list[PlannedLearner]:
    """Validate every row, collecting every problem; return the valid rows as plans.

    First the cells of each row, then duplicates inside the file, then what depends on the
    database (accounts by ID number and mobile, courses by title), loaded in a few queries.
    """
    today = local_today(now)
    parsed: list[tuple[int, dict, list[RowError]]] = []
    for row in table.rows:
        errors: list[RowError] = []

        def problem(key: str, message: str, _row=row, _errors=errors) -> None:
            _errors.append(row_problem(_row.number, _label(table, key), message))

        parsed.append((row.number, _row_values(row, problem, today=today), errors))

    first_id: dict[str, int] = {}
    first_mobile: dict[str, tuple[int, str | None]] = {}
    for number, values, errors in parsed:
        id_number, mobile = values.get("id_number"), values.get("mobile")
        if id_number:
            if id_number in first_id:
                errors.append(RowError(number, _label(table, "id_number"),
                                       f"与第{first_id[id_number]}行是同一个身份证号，同一个人只能出现一次"))
            else:
                first_id[id_number] = number
        if mobile:
            earlier = first_mobile.get(mobile)
            if earlier is not None and earlier[1] != id_number:
                errors.append(RowError(number, _label(table, "mobile"),
                                       f"与第{earlier[0]}行的手机号相同，但不是同一个人"))
            elif earlier is None:
                first_mobile[mobile] = (number, id_number)

    candidates = [(n, v) for n, v, e in parsed if not e]
    by_id, by_mobile = _known_accounts([v["id_number"] for _, v in candidates], [v["mobile"] for _, v in candidates])
    courses = None if target is not None else _courses_by_key()
    if courses == {} and any(values.get("course") for _, values, _ in parsed):
        raise ValidationFailed("系统里还没有课程，无法按“报名课程”报名：请先导入课程目录，或填写要报名的班级编号")
    planned: list[PlannedLearner] = []
    chosen: dict[str, Cohort | None] = {}
    for number, values, errors in parsed:
        warnings: list[RowError] = []  # reported only for rows that import
        plan = _match_account(number, values, by_id, by_mobile, table, errors, warnings) if not errors else None
        cohort = target if target is not None else _cohort_for(number, values.get("course"), courses, table, errors,
                                                                warnings, now=now, chosen=chosen)
        if plan is not None and not errors:
            plan.cohort = cohort
            planned.append(plan)
            report.warnings.extend(warnings)
        report.errors.extend(errors)
    return planned


def _row_values(row, problem, *, today) -> dict:
    """Parse and check the cells of one row; report each problem through ``problem(key, message)``."""
    values: dict = {}
    try:
        values["name"] = validate_name(clean(row.get("name")))
    except AccountError as exc:
        problem("name", "请填写姓名" if not clean(row.get("name")) else exc.message)
    parsed_id = None
    if not clean(row.get("id_number")):
        problem("id_number", "请填写身份证号")
    else:
        try:
            parsed_id = parse_id_number(row.get("id_number"), today=today)
        except InvalidIdNumber as exc:
            problem("id_number", str(exc))
        else:
            values["id_number"] = parsed_id.value
            values["parsed_id"] = parsed_id
    raw_gender = to_halfwidth(clean(row.get("gender"))).replace(" ", "")
    if raw_gender:
        gender = GENDERS.get(raw_gender)
        if gender is None:
            problem("gender", f"“{raw_gender}”应为“男”或“女”")
        elif parsed_id is not None and gender != parsed_id.gender:
            problem("gender", f"与身份证号不符（身份证号显示为{parsed_id.gender}）")
    if not clean(row.get("mobile")):
        problem("mobile", "请填写手机号（学员用它登录）")
    else:
        try:
            values["mobile"] = normalise_mobile(row.get("mobile"))
        except InvalidMobile as exc:
            problem("mobile", f"“{clean(row.get('mobile'))}”不对：{exc}")
    for key, (allowed, aliases) in CHOICES.items():
        try:
            values[key] = normalise_choice(row.get(key), allowed, aliases)
        except ValueError as exc:
            problem(key, str(exc))
    platform = clean(row.get("platform"))
    if len(platform) > PLATFORM_MAX:
        problem("platform", f"最多{PLATFORM_MAX}个字")
    values["platform"] = platform or None
    values["course"] = clean(row.get("course"))
    return values


def _chunks(items: list[str], size: int = 500):
    for start in range(0, len(items), size):
        yield items[start:start + size]


def _known_accounts(id_numbers: list[str], mobiles: list[str]) -> tuple[dict[str, User], dict[str, User]]:
    """Accounts holding any of the ID numbers or mobile numbers, with their roles (two queries per
    500 rows)."""
    by_id: dict[str, User] = {}
    by_mobile: dict[str, User] = {}
    for ids, phones in zip(_chunks(id_numbers), _chunks(mobiles), strict=True):
        stmt = (select(User).where(or_(in_list(User.id_number, ids), in_list(User.mobile, phones)))
                .options(selectinload(User.roles)))  # _update_known and enrol_many read them
        for user in db.session.scalars(stmt):
            if user.id_number:
                by_id[user.id_number] = user
            by_mobile[user.mobile] = user
    return by_id, by_mobile


def _match_account(number: int, values: dict, by_id: dict[str, User], by_mobile: dict[str, User],
                   table: Table, errors: list[RowError], warnings: list[RowError]) -> PlannedLearner | None:
    """Find the row's person among the accounts; errors for a clash, warnings for a kept login."""
    user = by_id.get(values["id_number"])
    owner = by_mobile.get(values["mobile"])
    mobile_column = _label(table, "mobile")
    if user is not None and user.name != values["name"]:
        errors.append(RowError(number, _label(table, "id_number"),
                               f"这个身份证号在系统中属于“{mask_name(user.name)}”，与姓名不符，请核对身份证号"))
        return None
    if user is None and owner is not None and owner.id_number is None and owner.name == values["name"]:
        user = owner  # registered with this mobile number and name, without an ID number
    if owner is not None and owner is not user:
        errors.append(RowError(number, mobile_column,
                               f"这个手机号已是系统中另一个人（{mask_name(owner.name)}）的账号，请核对"))
        return None
    plan = PlannedLearner(row=number, name=values["name"], id_number=values["parsed_id"], mobile=values["mobile"],
                          profile={key: values[key] for key in (*CHOICES, "platform")}, user=user)
    if user is not None and user.mobile != values["mobile"] and user.password_hash is not None:
        plan.keep_mobile = True
        warnings.append(RowError(number, mobile_column,
                                 f"此人已激活账号，登录手机号保持为 {mask_phone(user.mobile)}，没有改成表中的号码"))
    return plan


def _courses_by_key() -> dict[str, list[Course]]:
    """Every course under its title, code and cohort codes (for matching 报名课程), with cohorts."""
    courses = db.session.scalars(select(Course)).all()
    cohorts = db.session.scalars(select(Cohort).where(Cohort.status.in_(JOINABLE))).all()
    by_course: dict[int, list[Cohort]] = {}
    for cohort in cohorts:
        by_course.setdefault(cohort.course_id, []).append(cohort)
    keyed: dict[str, list] = {}
    for course in courses:
        course_cohorts = by_course.get(course.id, [])
        keyed.setdefault(title_key(course.title), []).append((course, course_cohorts))
        keyed.setdefault(title_key(course.code), []).append((course, course_cohorts))
        for cohort in course_cohorts:
            keyed.setdefault(title_key(cohort.code), []).append((course, [cohort]))
    return keyed


def _cohort_for(number: int, course_text: str, courses: dict, table: Table, errors: list[RowError],
                warnings: list[RowError], *, now: datetime, chosen: dict[str, Cohort | None]) -> Cohort | None:
    """The cohort that a row's 报名课程 points to; an error when unknown, a warning when closed.

    ``chosen`` keeps the choice per course key for the rows after (thousands name the same course).
    """
    if not course_text:
        return None
    column = _label(table, "course")
    key = title_key(course_text)
    matches = courses.get(key, [])
    distinct = {course.id for course, _ in matches}
    if not matches:
        errors.append(RowError(number, column, f"没有名为“{course_text}”的课程，请核对课程名称（或先导入课程目录）"))
        return None
    if len(distinct) > 1:
        errors.append(RowError(number, column, f"有{len(distinct)}门课程都叫“{course_text}”，请用班级编号导入"))
        return None
    course, cohorts = matches[0]
    if key not in chosen:
        chosen[key] = choose_cohort(cohorts, now=now)
    cohort = chosen[key]
    if cohort is None:
        warnings.append(RowError(number, column, f"课程“{course.title}”现在没有可报名的班级，只导入了学员信息，没有报名"))
    return cohort


# --- writing --------------------------------------------------------------------------------

def _write(planned: list[PlannedLearner], report: ImportReport, *, table: Table, actor: User | None,
           now: datetime) -> None:
    """Upsert every learner in bulk, then enrol them in file order with ``enrol_many`` (the rules
    of ``enrol``); a constant number of queries per cohort and per 500 rows. The caller commits."""
    users = _save_learners(planned)
    for plan in planned:
        report.add("updated" if plan.user is not None else "created")
    joining = [(plan, user) for plan, user in zip(planned, users, strict=True) if plan.cohort is not None]
    results = enrol_many([(user, plan.cohort) for plan, user in joining], now=now, actor=actor, source="import",
                         check_window=False)
    column = _label(table, "course")
    for (plan, _user), result in zip(joining, results, strict=True):
        if isinstance(result, Conflict):
            report.add("already")
            report.notes.append(RowError(plan.row, column, f"已在班级 {plan.cohort.code} 中，保持不变"))
        elif isinstance(result, EnrolmentError):
            report.add("not_enrolled")
            report.warnings.append(RowError(plan.row, column, f"没有报名 {plan.cohort.code}：{result.message}"))
        else:
            report.add("waitlisted" if result == EnrolmentStatus.WAITLISTED else "enrolled")
    db.session.flush()


def _save_learners(planned: list[PlannedLearner]) -> list[Applicant]:
    """Update the matched accounts and create the new learners; the accounts in ``planned`` order
    (new learners as ``NewLearner`` stand-ins: no need to load thousands of objects back).

    Every value was checked in ``_check`` (the same rules as ``accounts.services.apply_profile``:
    GB 11643 ID unique to this person, choices from ``accounts.models``), so it is copied here.
    """
    _update_known([plan for plan in planned if plan.user is not None])
    created = _create_new([plan for plan in planned if plan.user is None])
    return [plan.user if plan.user is not None else created[plan.mobile] for plan in planned]


@dataclass(frozen=True)
class NewLearner:
    """An account this import inserted: active, with the learner role only (an ``Applicant``)."""

    id: int
    is_active_account: bool = True

    def has_role(self, *roles: Role | str) -> bool:
        """True when ``roles`` include the learner role (the only one a new learner holds)."""
        return any(Role(r) == Role.LEARNER for r in roles)


def _identity(plan: PlannedLearner) -> dict[str, object]:
    return {"name": plan.name, "id_number": plan.id_number.value, "birth_date": plan.id_number.birth_date,
            "gender": plan.id_number.gender}


def _update_known(plans: list[PlannedLearner]) -> None:
    """Matched accounts take the file's name, ID facts, mobile (unless activated: ``keep_mobile``)
    and non-blank profile cells, in one bulk UPDATE of the rows that change; blank cells keep
    stored values. A matched account without the learner role gets it."""
    rows = []
    for plan in plans:
        user = plan.user
        values = _identity(plan) | {"mobile": user.mobile if plan.keep_mobile else plan.mobile}
        values |= {key: getattr(user, key) if value is None else value for key, value in plan.profile.items()}
        if not user.has_role(Role.LEARNER):
            user.roles.append(UserRole(role=Role.LEARNER))  # staff joining a course: rare, one INSERT each
        if any(getattr(user, key) != value for key, value in values.items()):
            rows.append({"id": user.id, **values})
            for key, value in values.items():  # the session's copy matches the row
                set_committed_value(user, key, value)
            db.session.expire(user, ["updated_at"])
    if rows:
        db.session.execute(update(User), rows)


def _create_new(plans: list[PlannedLearner]) -> dict[str, NewLearner]:
    """Insert the new learners (no password: they activate with mobile + ID tail) with the
    learner role, in bulk; return them by mobile number.

    Core INSERTs run as one executemany each (SQLite's executemany and psycopg's pipelined one
    beat multi-row VALUES here; the ORM's bulk insert would also split rows by blank cells).
    """
    if not plans:
        return {}
    db.session.execute(insert(User.__table__), [
        {"mobile": plan.mobile, "password_hash": None, **_identity(plan), **plan.profile} for plan in plans])
    created: dict[str, NewLearner] = {}
    for chunk in _chunks([plan.mobile for plan in plans]):
        rows = db.session.execute(select(User.mobile, User.id).where(in_list(User.mobile, chunk)))
        created |= {mobile: NewLearner(ident) for mobile, ident in rows}
    db.session.execute(insert(UserRole.__table__),
                       [{"user_id": learner.id, "role": Role.LEARNER.value} for learner in created.values()])
    return created
