"""Bulk import of existing degree-upgrade cases from the academy's ledger (.xlsx or .csv).

Columns (as in shared/data/degree-cases.xlsx; a title row above the header is fine):
序号 姓名 身份证号 途径 层次 院校 专业 入学年份 当前阶段 学号 已获学分 所需学分 补贴（元） 备注,
and optionally 手机号.

Rules:

* All or nothing: every row is checked first; any problem (row, column, reason) refuses the
  whole file and nothing is written. ``dry_run`` checks and reports without writing.
* Learners are matched by ID number (GB 11643-1999); the name must agree with the account.
  An unknown ID number creates a learner account (name, ID, gender and birth date from the ID,
  no password: they set one through account activation) only when the row has a valid 手机号,
  because the mobile number is the login and is required; without it the row is refused with
  "import the roster first". The ledger has no phone column, so its people must be in the
  roster first.
* Programmes are matched by (route, level, institution, major) and created when new, with the
  default study and record lengths and the row's 所需学分.
* Stages are read from the ledger's Chinese labels (``stages.STAGE_ALIASES``). 已参加考试 and
  已录取 on a route without an entrance exam (自考, 国开, 网络教育) are imported as 已报名 with a
  note. A deferred (暂缓) case resumes to 在读 when it has a student number, else to 已报名.
* A learner who already has an open case, or a case on the same programme, is a duplicate;
  so is the same ID number twice in the file.
* The entry rule is not re-checked for existing cases: when it is not met (or the education is
  unknown) the case keeps the override reason "批量导入的存量个案"; a known education that fails
  the rule is listed as a note.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation

from sqlalchemy import select

from academy.accounts.models import Role, User, UserRole
from academy.audit.services import record
from academy.common.ids import InvalidIdNumber, InvalidMobile, normalise_mobile, parse_id_number
from academy.common.masking import mask_name
from academy.common.spreadsheets import read_table
from academy.common.text import clean, clean_name
from academy.common.timeutil import local_today, now_utc
from academy.degrees.models import CaseEvent, DegreeCase, Programme
from academy.degrees.services import entry_problem, require_admin
from academy.degrees.stages import (
    EXAM_STAGES,
    LEVEL_ALIASES,
    ROUTE_ALIASES,
    ROUTE_LABELS,
    ROUTES_WITH_EXAM,
    STAGE_ALIASES,
    STAGE_LABELS,
    TERMINAL_STAGES,
    Stage,
    default_min_study_months,
    default_record_valid_months,
)
from academy.errors import RowError, ValidationFailed
from academy.extensions import db

COLUMNS = {
    "seq": ("序号",),
    "name": ("姓名",),
    "id_number": ("身份证号", "身份证号码", "公民身份号码"),
    "mobile": ("手机号", "手机号码", "手机", "联系电话"),
    "route": ("途径", "学历提升途径", "提升途径"),
    "level": ("层次", "学历层次", "报读层次"),
    "institution": ("院校", "学校", "报读院校", "主考院校"),
    "major": ("专业", "报读专业"),
    "intake_year": ("入学年份", "入学年度", "年级"),
    "stage": ("当前阶段", "阶段", "进度"),
    "student_number": ("学号",),
    "credits_earned": ("已获学分", "已修学分"),
    "credits_required": ("所需学分", "毕业学分", "总学分"),
    "subsidy": ("补贴（元）", "补贴", "补贴金额"),
    "note": ("备注",),
}
REQUIRED = ("name", "id_number", "route", "level", "institution", "major", "stage")
IMPORT_OVERRIDE = "批量导入的存量个案，未重新核对入学条件"


@dataclass
class PlannedCase:
    """One checked row, ready to write."""

    row: int
    name: str
    id_number: str
    learner: User | None
    mobile: str | None
    programme_key: tuple[str, str, str, str]
    stage: Stage
    resume_stage: Stage | None
    intake_year: int | None
    student_number: str | None
    credits_earned: Decimal
    credits_required: int | None
    subsidy: Decimal
    note: str | None
    label: str
    override: bool


@dataclass
class ImportReport:
    """The outcome: counts, the notes (non-blocking remarks per row) and cases per stage."""

    rows: int = 0
    cases_created: int = 0
    learners_matched: int = 0
    learners_created: int = 0
    programmes_created: int = 0
    dry_run: bool = False
    notes: list[RowError] = field(default_factory=list)
    by_stage: Counter = field(default_factory=Counter)


def _label(table, key: str) -> str:
    return table.labels.get(key) or COLUMNS[key][0]


def _int(value: object) -> int | None:
    text = clean(value)
    if not text:
        return None
    number = Decimal(text)
    if number != number.to_integral_value():
        raise ValueError
    return int(number)


def _number(value: object) -> Decimal:
    text = clean(value)
    return Decimal(text) if text else Decimal(0)


def import_cases(source, *, filename: str, actor: User, dry_run: bool = False,
                 now: datetime | None = None) -> ImportReport:
    """Check every row of the ledger, then (unless ``dry_run``) create the cases, all or nothing.

    ``source`` is a path, bytes or a binary file. Returns an ``ImportReport``; raises
    ``ValidationFailed`` with one ``RowError`` (row, column, reason) per problem and nothing
    written, or for an unreadable file or missing header. See the module docstring for rules.
    """
    require_admin(actor)
    now = now or now_utc()
    today = local_today(now)
    table = read_table(source, filename=filename, columns=COLUMNS, required=REQUIRED)
    errors: list[RowError] = []
    report = ImportReport(rows=len(table.rows), dry_run=dry_run)
    ids = {}
    for row in table.rows:
        try:
            ids[row.number] = parse_id_number(row.get("id_number"), today=today).value
        except InvalidIdNumber:
            pass
    known = {u.id_number: u for u in db.session.scalars(select(User).where(User.id_number.in_(set(ids.values()))))}
    programmes = {(p.route, p.level, p.institution, p.major): p for p in db.session.scalars(select(Programme))}
    existing = db.session.scalars(select(DegreeCase).where(
        DegreeCase.learner_id.in_([u.id for u in known.values()]))).all() if known else []
    seen: dict[str, int] = {}
    new_programmes: dict[tuple, int | None] = {}
    plans: list[PlannedCase] = []
    for row in table.rows:
        row_errors: list[RowError] = []

        def fail(key: str, message: str, row=row, row_errors=row_errors) -> None:
            row_errors.append(RowError(row.number, _label(table, key), message))

        name = clean_name(row.get("name"))
        if not name:
            fail("name", "姓名不能为空")
        id_number = ids.get(row.number)
        if id_number is None:
            try:
                parse_id_number(row.get("id_number"), today=today)
            except InvalidIdNumber as exc:
                fail("id_number", f"{clean(row.get('id_number')) or '空'}：{exc}")
        elif id_number in seen:
            fail("id_number", f"与第 {seen[id_number]} 行是同一个人，每人只能有一行")
        else:
            seen[id_number] = row.number
        route = ROUTE_ALIASES.get(clean(row.get("route")))
        if route is None:
            fail("route", f"不认识“{clean(row.get('route'))}”，应为 成人高考、高等教育自学考试、国家开放大学 或 网络教育")
        level = LEVEL_ALIASES.get(clean(row.get("level")))
        if level is None:
            fail("level", f"不认识“{clean(row.get('level'))}”，应为 高起专、高起本 或 专升本")
        institution, major = clean(row.get("institution"))[:80], clean(row.get("major"))[:80]
        if not institution:
            fail("institution", "院校不能为空")
        if not major:
            fail("major", "专业不能为空")
        stage_text = clean(row.get("stage"))
        stage = STAGE_ALIASES.get(stage_text)
        if stage is None:
            known_labels = "、".join(dict.fromkeys(str(v) for v in STAGE_LABELS.values()))
            fail("stage", f"不认识“{stage_text}”，可用的阶段：{known_labels}")
        intake_year = credits_required = None
        credits_earned = subsidy = Decimal(0)
        try:
            intake_year = _int(row.get("intake_year"))
            if intake_year is not None and not 1990 <= intake_year <= today.year + 1:
                raise ValueError
        except (ValueError, InvalidOperation):
            fail("intake_year", f"“{clean(row.get('intake_year'))}”不是合理的年份")
        try:
            credits_earned = _number(row.get("credits_earned"))
            if credits_earned < 0 or credits_earned > 1000:
                raise ValueError
        except (ValueError, InvalidOperation):
            fail("credits_earned", f"“{clean(row.get('credits_earned'))}”不是学分数")
        try:
            credits_required = _int(row.get("credits_required"))
            if credits_required is not None and not 0 < credits_required <= 1000:
                raise ValueError
        except (ValueError, InvalidOperation):
            fail("credits_required", f"“{clean(row.get('credits_required'))}”不是学分数")
        try:
            subsidy = _number(row.get("subsidy")).quantize(Decimal("0.01"))
            if subsidy < 0:
                raise ValueError
        except (ValueError, InvalidOperation):
            fail("subsidy", f"“{clean(row.get('subsidy'))}”不是金额（元）")
        learner = known.get(id_number) if id_number else None
        mobile = None
        if learner is not None and name and learner.name != name:
            fail("name", f"与系统中这个身份证号的学员（{mask_name(learner.name)}）不一致，请核对身份证号")
        if learner is None and id_number:
            raw_mobile = clean(row.get("mobile"))
            if not raw_mobile:
                fail("id_number", "系统里没有这个学员：请先导入学员花名册，或在表中加“手机号”列以便建立账号")
            else:
                try:
                    mobile = normalise_mobile(raw_mobile)
                except InvalidMobile as exc:
                    fail("mobile", str(exc))
                else:
                    if db.session.scalar(select(User.id).where(User.mobile == mobile)):
                        fail("mobile", "这个手机号已属于另一个账号")
        notes: list[str] = []
        if stage is not None and route is not None and stage in EXAM_STAGES and route not in ROUTES_WITH_EXAM:
            notes.append(f"{stage_text}：{ROUTE_LABELS[route]}没有入学考试，按“已报名”导入")
            stage = Stage.REGISTERED
        key = (str(route), str(level), institution, major) if route and level else None
        if learner is not None and key is not None:
            for case in existing:
                if case.learner_id != learner.id:
                    continue
                if case.programme and (case.programme.route, case.programme.level, case.programme.institution,
                                       case.programme.major) == key:
                    fail("id_number", f"这个学员在该项目已有个案（{case.stage_label}），不要重复导入")
                    break
                if Stage(case.stage) not in TERMINAL_STAGES:
                    fail("id_number", f"这个学员已有进行中的学历提升个案（{case.route_label}，{case.stage_label}）")
                    break
        override = False
        if learner is not None and level is not None and entry_problem(learner, level):
            override = True
            if learner.education:
                notes.append(entry_problem(learner, level))
        elif learner is None:
            override = True
        if key is not None and key not in programmes:
            if key in new_programmes and credits_required and new_programmes[key] not in (None, credits_required):
                notes.append(f"所需学分 {credits_required} 与同一项目前面的行（{new_programmes[key]}）不同，按前面的行建立项目")
            new_programmes.setdefault(key, credits_required)
        errors.extend(row_errors)
        report.notes.extend(RowError(row.number, _label(table, "stage"), n) for n in notes)
        if row_errors:
            continue
        student_number = clean(row.get("student_number"))[:40] or None
        resume = None
        if stage == Stage.DEFERRED:
            resume = Stage.STUDYING if student_number else Stage.REGISTERED
        plans.append(PlannedCase(
            row=row.number, name=name, id_number=id_number, learner=learner, mobile=mobile, programme_key=key,
            stage=stage, resume_stage=resume, intake_year=intake_year, student_number=student_number,
            credits_earned=credits_earned, credits_required=credits_required, subsidy=subsidy,
            note=clean(row.get("note"))[:500] or None, label=stage_text, override=override))
    if errors:
        raise ValidationFailed(f"发现 {len(errors)} 处问题，没有导入任何个案。请修改后重新上传。", errors)
    report.programmes_created = len(new_programmes)
    report.learners_created = sum(1 for p in plans if p.learner is None)
    report.learners_matched = len(plans) - report.learners_created
    report.by_stage = Counter(str(p.stage) for p in plans)
    report.cases_created = len(plans)
    if dry_run:
        return report
    for key, credits in new_programmes.items():
        route, level, institution, major = key
        programme = Programme(route=route, level=level, institution=institution, major=major,
                              min_study_months=default_min_study_months(route, level),
                              record_valid_months=default_record_valid_months(route), credits_required=credits,
                              tuition=Decimal(0), subsidy=Decimal(0), is_active=True)
        db.session.add(programme)
        programmes[key] = programme
    db.session.flush()
    for plan in plans:
        _write(plan, programmes[plan.programme_key], actor=actor, today=today, now=now)
    db.session.flush()
    record("degree.cases_imported", actor=actor, filename=filename, cases=report.cases_created,
           learners_created=report.learners_created, programmes_created=report.programmes_created)
    return report


def _write(plan: PlannedCase, programme: Programme, *, actor: User, today: date, now: datetime) -> DegreeCase:
    learner = plan.learner
    if learner is None:
        parsed = parse_id_number(plan.id_number, today=today)
        learner = User(mobile=plan.mobile, name=plan.name, id_number=parsed.value, gender=parsed.gender,
                       birth_date=parsed.birth_date, password_hash=None)
        learner.roles.append(UserRole(role=Role.LEARNER))
        db.session.add(learner)
        db.session.flush()
        record("account.imported", actor=actor, obj=learner, source="degree-cases")
    case = DegreeCase(
        learner_id=learner.id, programme=programme, route=programme.route, level=programme.level,
        stage=plan.stage, stage_since=today, resume_stage=plan.resume_stage, intake_year=plan.intake_year,
        source="import", student_number=plan.student_number, credits_earned=plan.credits_earned,
        subsidy_granted=plan.subsidy, note=plan.note,
        entry_override_reason=IMPORT_OVERRIDE if plan.override else None,
        entry_override_by_id=actor.id if plan.override else None,
    )
    db.session.add(case)
    db.session.add(CaseEvent(case=case, kind="imported", to_stage=plan.stage, on=today, actor_id=actor.id,
                             created_at=now, note=f"从台账导入（第 {plan.row} 行，当前阶段“{plan.label}”）"))
    return case

