"""Degree-upgrade rules: programmes, key dates, cases and their stages, milestones, reminders, figures.

Every function takes the acting user keyword-only where someone acts, takes ``now`` (aware
UTC) where time matters (``today`` is its date in Asia/Shanghai), adds and flushes but never
commits, and raises ``DomainError`` subclasses with Chinese messages. The state machine, the
date arithmetic and the milestone planner are pure functions in ``academy.degrees.stages``.

Interfaces other modules use:

* ``count_upgrading(*, district=None, occupation_group=None, platform=None) -> int`` — the number
  of distinct learners with a case at registered, exam_taken, admitted, enrolled, studying or
  graduation_applied (``stages.UPGRADING_STAGES``). Interest-only, deferred (on hold), dropped,
  expired and graduated cases do not count. Filters match ``User.district``,
  ``User.occupation_group`` and ``User.platform`` exactly.
* ``pipeline_counts() -> dict[tuple[str, str], int]`` — (stage, route) → number of cases, every
  stage including closed ones; a case with no route yet (interest only) counts under the route
  ``UNDECIDED`` ("undecided"). Only non-zero pairs are present.
"""

from __future__ import annotations

import math
import re
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from sqlalchemy import distinct, func, or_, select
from sqlalchemy.orm import joinedload, selectinload

from academy.accounts.models import UPPER_SECONDARY_OR_ABOVE, Role, User, UserRole
from academy.audit.services import record
from academy.common.ids import InvalidIdNumber, parse_id_number
from academy.common.masking import mask_id_number, mask_name, mask_phone
from academy.common.spreadsheets import build_xlsx
from academy.common.text import digits_text
from academy.common.timeutil import local_today, now_utc
from academy.database import lock_row
from academy.degrees.models import (
    COURSE_PASSING_RESULTS,
    COURSE_RESULT_LABELS,
    CaseEvent,
    CourseResult,
    DegreeCase,
    KeyDate,
    Notice,
    Programme,
)
from academy.degrees.stages import (
    LEVEL_LABELS,
    OPEN_STAGES,
    ROUTE_LABELS,
    STAGE_LABELS,
    UPGRADING_STAGES,
    CaseFacts,
    KeyDateKind,
    Level,
    Milestone,
    Route,
    Stage,
    Window,
    allowed_targets,
    default_min_study_months,
    default_record_valid_months,
    earliest_graduation,
    plan_milestone,
    record_expiry,
    stage_path,
    with_estimates,
)
from academy.errors import Conflict, DomainError, PermissionDenied
from academy.extensions import db

UNDECIDED = "undecided"
# Education levels that show a 专科 (大专) diploma or higher (entry rule for 专升本).
DIPLOMA_OR_ABOVE = ("大专", "本科", "硕士及以上")
CENT = Decimal("0.01")
TENTH = Decimal("0.1")


class DegreeError(DomainError):
    """A degree-upgrade rule refused the operation."""


class EntryRuleError(DegreeError):
    """The learner does not meet the programme's entry rule and no override reason was given."""


class TransitionError(DegreeError):
    """The stage change is not allowed from the case's current stage."""


def require_admin(actor: User) -> None:
    """Raise ``PermissionDenied`` unless ``actor`` is an administrator (admins manage every case)."""
    if actor is None or not actor.is_admin:
        raise PermissionDenied("只有管理员可以管理学历提升个案")


def _money(value: object, label: str) -> Decimal:
    """Yuan as a Decimal with 2 places (half-up); raises ``DegreeError`` if negative or not a number."""
    try:
        amount = Decimal(str(value if value not in (None, "") else 0)).quantize(CENT, ROUND_HALF_UP)
    except (InvalidOperation, ValueError):
        raise DegreeError(f"{label}应为金额（元）") from None
    if amount < 0:
        raise DegreeError(f"{label}不能为负数")
    return amount


def _decimal(value: object, label: str, *, places: Decimal = TENTH, maximum: int = 100000) -> Decimal | None:
    if value in (None, ""):
        return None
    try:
        number = Decimal(str(value)).quantize(places, ROUND_HALF_UP)
    except (InvalidOperation, ValueError):
        raise DegreeError(f"{label}应为数字") from None
    if number < 0 or number > maximum:
        raise DegreeError(f"{label}应在 0 到 {maximum} 之间")
    return number


def _text(value: object, limit: int) -> str | None:
    text = " ".join(str(value or "").split())
    return text[:limit] or None


# --- programmes -----------------------------------------------------------------------------

@dataclass
class ProgrammeValues:
    """Fields of a programme. ``min_study_months``/``record_valid_months`` None take the default
    for the route and level (``stages.default_min_study_months`` / ``default_record_valid_months``);
    money in yuan."""

    route: str
    level: str
    institution: str
    major: str
    min_study_months: int | None = None
    record_valid_months: int | None = None
    credits_required: int | None = None
    courses_required: int | None = None
    intake_seasons: str | None = None
    tuition: Decimal | int | str = 0
    subsidy: Decimal | int | str = 0
    subsidy_source: str | None = None
    is_active: bool = True
    note: str | None = None


def save_programme(programme: Programme | None, values: ProgrammeValues, *, actor: User) -> Programme:
    """Create (``programme`` None) or update a programme.

    Raises ``DegreeError`` for an unknown route or level or a missing institution or major,
    ``Conflict`` when another programme has the same route, level, institution and major.
    Changing the study or record length recomputes the dates of the programme's open cases.
    """
    require_admin(actor)
    try:
        route, level = Route(values.route), Level(values.level)
    except ValueError:
        raise DegreeError("请选择途径和层次") from None
    institution, major = _text(values.institution, 80), _text(values.major, 80)
    if not institution or not major:
        raise DegreeError("请填写院校和专业")
    clash = db.session.scalar(select(Programme.id).where(
        Programme.route == route, Programme.level == level, Programme.institution == institution,
        Programme.major == major))
    if clash and (programme is None or clash != programme.id):
        raise Conflict("已经有同一途径、层次、院校和专业的项目")
    creating = programme is None
    programme = programme or Programme()
    programme.route, programme.level = route, level
    programme.institution, programme.major = institution, major
    programme.min_study_months = values.min_study_months or default_min_study_months(route, level)
    programme.record_valid_months = values.record_valid_months or default_record_valid_months(route)
    for name in ("credits_required", "courses_required"):
        number = getattr(values, name)
        if number is not None and number < 0:
            raise DegreeError("学分和课程数不能为负数")
        setattr(programme, name, number or None)
    programme.intake_seasons = _text(values.intake_seasons, 60)
    programme.tuition = _money(values.tuition, "学费")
    programme.subsidy = _money(values.subsidy, "补贴")
    programme.subsidy_source = _text(values.subsidy_source, 60)
    programme.is_active = bool(values.is_active)
    programme.note = (values.note or "").strip() or None
    db.session.add(programme)
    db.session.flush()
    if not creating:
        for case in db.session.scalars(select(DegreeCase).where(DegreeCase.programme_id == programme.id,
                                                                DegreeCase.stage.in_(OPEN_STAGES))):
            _derive_dates(case)
    record("degree.programme_saved", actor=actor, obj=programme, created=creating, title=programme.title)
    return programme


def list_programmes(*, active_only: bool = False) -> list[Programme]:
    """Programmes by route, level, institution and major."""
    stmt = select(Programme).order_by(Programme.route, Programme.level, Programme.institution, Programme.major)
    if active_only:
        stmt = stmt.where(Programme.is_active.is_(True))
    return list(db.session.scalars(stmt))


# --- key dates ------------------------------------------------------------------------------

def add_key_date(route: str, year: int, kind: str, starts_on: date, ends_on: date | None = None,
                 note: str | None = None, *, actor: User) -> KeyDate:
    """Add a key date (or window ``starts_on``…``ends_on``) of ``route`` for cycle ``year``.

    Raises ``DegreeError`` for an unknown route or kind, or a window ending before it starts,
    ``Conflict`` for the same route, year, kind and start day twice.
    """
    require_admin(actor)
    try:
        route, kind = Route(route), KeyDateKind(kind)
    except ValueError:
        raise DegreeError("请选择途径和日期类型") from None
    if ends_on is not None and ends_on < starts_on:
        raise DegreeError("结束日期不能早于开始日期")
    if not 2000 <= year <= 2100:
        raise DegreeError("年度不正确")
    if db.session.scalar(select(KeyDate.id).where(KeyDate.route == route, KeyDate.year == year,
                                                  KeyDate.kind == kind, KeyDate.starts_on == starts_on)):
        raise Conflict("这个日期已经登记过")
    key_date = KeyDate(route=route, year=year, kind=kind, starts_on=starts_on,
                       ends_on=ends_on if ends_on != starts_on else None, note=_text(note, 200))
    db.session.add(key_date)
    db.session.flush()
    record("degree.key_date_added", actor=actor, obj=key_date, route=str(route), kind=str(kind),
           starts_on=starts_on.isoformat())
    return key_date


def delete_key_date(key_date: KeyDate, *, actor: User) -> None:
    """Remove a key date entered by mistake (audited)."""
    require_admin(actor)
    record("degree.key_date_deleted", actor=actor, obj=key_date, route=key_date.route, kind=key_date.kind,
           starts_on=key_date.starts_on.isoformat())
    db.session.delete(key_date)
    db.session.flush()


def list_key_dates(*, year: int | None = None) -> list[KeyDate]:
    """Key dates by route then date (of one cycle ``year`` when given)."""
    stmt = select(KeyDate).order_by(KeyDate.route, KeyDate.starts_on, KeyDate.kind)
    if year is not None:
        stmt = stmt.where(KeyDate.year == year)
    return list(db.session.scalars(stmt))


def load_windows(*, today: date, since: date | None = None) -> dict[str, list[Window]]:
    """Every route's key dates as ``Window`` objects, with typical-calendar estimates filling the
    years from ``since`` (default: last year) to two years after ``today`` where none was entered."""
    first = min(since or today, today).year - 1
    years = range(first, today.year + 3)
    real: dict[str, list[Window]] = defaultdict(list)
    for kd in db.session.scalars(select(KeyDate).where(KeyDate.starts_on >= date(first, 1, 1))):
        real[kd.route].append(Window(route=kd.route, kind=kd.kind, starts_on=kd.starts_on, ends_on=kd.ends_on,
                                     note=kd.note or ""))
    return {route: with_estimates(route, real.get(route, []), years) for route in Route}


# --- entry rules and opening cases -------------------------------------------------------------

def entry_problem(learner: User, level: str) -> str | None:
    """Why ``learner`` does not meet the entry rule of ``level``, or None when they do.

    专升本 needs a 专科 diploma or higher (``User.education`` in 大专, 本科, 硕士及以上); 高起专 and
    高起本 need upper-secondary completion (``accounts.models.UPPER_SECONDARY_OR_ABOVE``).
    Source: 江西省成人高考招生简章 (research/domain-cn.md §C1). An unknown education is a problem.
    """
    level = Level(level)
    education = learner.education
    if level == Level.DIPLOMA_TO_BACHELOR:
        if not education:
            return "学员还没有登记学历，无法确认是否有专科（大专）毕业证书"
        if education not in DIPLOMA_OR_ABOVE:
            return f"专升本需要专科（大专）及以上毕业证书，学员登记的学历是“{education}”"
        return None
    if not education:
        return "学员还没有登记学历，无法确认是否高中（中专、技校、职高）毕业"
    if education not in UPPER_SECONDARY_OR_ABOVE:
        return f"{LEVEL_LABELS[level]}需要高中、中专、技校或职高毕业，学员登记的学历是“{education}”"
    return None


def _check_entry(case: DegreeCase, learner: User, programme: Programme, override_reason: str | None,
                 actor: User) -> str | None:
    problem = entry_problem(learner, programme.level)
    reason = (override_reason or "").strip()
    if problem and not reason:
        raise EntryRuleError(f"{problem}。如确认可以报读，请填写“特殊情况说明”后再提交。")
    if problem:
        case.entry_override_reason = reason
        case.entry_override_by_id = actor.id
        return f"入学条件特批：{problem}；说明：{reason}"
    return None


def find_learner(text: str) -> User | None:
    """The person whose mobile number or ID number is ``text`` (spaces, full-width digits and a
    lower-case x tolerated), or None."""
    value = digits_text(text)
    try:
        value = parse_id_number(value).value
    except InvalidIdNumber:
        pass
    return db.session.scalar(select(User).where(or_(User.mobile == value, User.id_number == value)))


def open_case_of(learner: User) -> DegreeCase | None:
    """The learner's case that is not closed (graduated, dropped, expired), if any."""
    return db.session.scalar(select(DegreeCase).where(DegreeCase.learner_id == learner.id,
                                                      DegreeCase.stage.in_(OPEN_STAGES)).order_by(DegreeCase.id))


def _event(case: DegreeCase, kind: str, *, on: date, actor: User | None, note: str | None = None,
           from_stage: str | None = None, to_stage: str | None = None, now: datetime | None = None) -> CaseEvent:
    event = CaseEvent(case=case, kind=kind, from_stage=from_stage, to_stage=to_stage, on=on,
                      actor_id=getattr(actor, "id", None), note=note or None, created_at=now or now_utc())
    db.session.add(event)
    return event


def express_interest(learner: User, *, route: str | None = None, level: str | None = None, note: str = "",
                     now: datetime | None = None) -> DegreeCase:
    """The learner says from their phone that they want to upgrade their degree.

    Records an interest-only case (no programme yet; ``route``/``level`` the learner's wish or
    None) for an adviser to follow up. Raises ``Conflict`` when the learner already has an open
    case, ``DegreeError`` for an unknown route or level.
    """
    now = now or now_utc()
    try:
        route = Route(route) if route else None
        level = Level(level) if level else None
    except ValueError:
        raise DegreeError("请从列表中选择途径和层次") from None
    if open_case_of(learner):
        raise Conflict("您已经登记过学历提升，老师会和您联系；进度请看下面的时间线")
    today = local_today(now)
    case = DegreeCase(learner_id=learner.id, route=route, level=level, stage=Stage.INTERESTED,
                      stage_since=today, source="self", note=_text(note, 500))
    db.session.add(case)
    _event(case, "opened", on=today, actor=learner, to_stage=Stage.INTERESTED, note="学员在手机上登记了意向", now=now)
    db.session.flush()
    record("degree.interest", actor=learner, obj=case, route=route, level=level)
    return case


def open_case(learner: User, programme: Programme, *, actor: User, now: datetime | None = None,
              override_reason: str | None = None, note: str = "") -> DegreeCase:
    """An admin opens a case for ``learner`` on ``programme`` (stage: interested).

    If the learner already has an interest-only case, the programme is attached to it instead.
    Checks the entry rule (``entry_problem``): unmet without ``override_reason`` raises
    ``EntryRuleError``; with one, the reason and the admin are kept on the case and audited.
    Raises ``Conflict`` when the learner already has an open case with a programme, and
    ``DegreeError`` for an inactive programme.
    """
    require_admin(actor)
    now = now or now_utc()
    existing = open_case_of(learner)
    if existing is not None and existing.programme_id is None:
        return assign_programme(existing, programme, actor=actor, now=now, override_reason=override_reason)
    if existing is not None:
        raise Conflict(f"该学员已有进行中的学历提升个案（{existing.route_label}，{existing.stage_label}）")
    if not programme.is_active:
        raise DegreeError("这个项目已停止招生")
    today = local_today(now)
    case = DegreeCase(learner_id=learner.id, stage=Stage.INTERESTED, stage_since=today, source="admin",
                      note=_text(note, 500))
    _apply_programme(case, programme)
    override = _check_entry(case, learner, programme, override_reason, actor)
    db.session.add(case)
    _event(case, "opened", on=today, actor=actor, to_stage=Stage.INTERESTED,
           note="；".join(filter(None, [f"开立个案：{programme.title}", override])), now=now)
    db.session.flush()
    record("degree.case_opened", actor=actor, obj=case, programme=programme.id, learner=learner.id)
    if override:
        record("degree.entry_override", actor=actor, obj=case, note=override)
    return case


def _apply_programme(case: DegreeCase, programme: Programme) -> None:
    case.programme = programme
    case.programme_id = programme.id
    case.route, case.level = programme.route, programme.level
    _derive_dates(case)


def assign_programme(case: DegreeCase, programme: Programme, *, actor: User, now: datetime | None = None,
                     override_reason: str | None = None) -> DegreeCase:
    """Attach or change the programme of a case that has not enrolled yet (entry rule checked).

    Raises ``DegreeError`` once the case is enrolled (its record is tied to the institution),
    for a closed case, or a route change that does not fit the stage (an exam stage needs
    成人高考); ``EntryRuleError`` as ``open_case``.
    """
    require_admin(actor)
    now = now or now_utc()
    stage = Stage(case.stage)
    if not case.is_open:
        raise DegreeError("个案已结束，不能更换项目")
    if case.enrolled_on or stage in (Stage.ENROLLED, Stage.STUDYING, Stage.GRADUATION_APPLIED):
        raise DegreeError("已注册学籍的个案不能更换院校和专业；请退出后重新开立个案")
    if stage in (Stage.EXAM_TAKEN, Stage.ADMITTED) and programme.route != Route.ADULT_EXAM:
        raise DegreeError("个案处于成人高考的考试/录取阶段，只能换成成人高考的项目")
    if not programme.is_active:
        raise DegreeError("这个项目已停止招生")
    old = case.programme.title if case.programme else "未定"
    override = _check_entry(case, case.learner, programme, override_reason, actor)
    _apply_programme(case, programme)
    _event(case, "programme", on=local_today(now), actor=actor, now=now,
           note="；".join(filter(None, [f"项目：{old} → {programme.title}", override])))
    db.session.flush()
    record("degree.programme_assigned", actor=actor, obj=case, programme=programme.id)
    if override:
        record("degree.entry_override", actor=actor, obj=case, note=override)
    return case


# --- stages --------------------------------------------------------------------------------

NOTE_REQUIRED = frozenset({Stage.DEFERRED, Stage.DROPPED, Stage.RECORD_EXPIRED})
BACKWARD = frozenset({(Stage.EXAM_TAKEN, Stage.REGISTERED), (Stage.GRADUATION_APPLIED, Stage.STUDYING)})


def targets_for(case: DegreeCase) -> tuple[Stage, ...]:
    """Stages the case may move to now (``stages.allowed_targets``; leaving interest needs a programme)."""
    targets = allowed_targets(case.stage, case.route, resume_to=case.resume_stage)
    if case.programme_id is None:
        targets = tuple(t for t in targets if t in (Stage.DEFERRED, Stage.DROPPED, Stage.INTERESTED))
    return targets


def move(case: DegreeCase, to_stage: str, *, actor: User, on: date | None = None, note: str = "",
         now: datetime | None = None) -> CaseEvent:
    """Move ``case`` to ``to_stage`` on day ``on`` (default today), appending to its history.

    Only transitions in ``stages.TRANSITIONS`` (as filtered by ``targets_for``) are allowed;
    others raise ``TransitionError``. ``on`` may not be in the future nor before the day the
    case reached its current stage. Deferring, dropping, expiry and going back need a note.
    Side effects: admitted/enrolled/graduated set ``admitted_on``/``enrolled_on``/``graduated_on``
    when empty (enrolment recomputes the earliest graduation and record expiry); deferring keeps
    the stage left in ``resume_stage`` and resuming clears it. Concurrent moves are serialised
    with ``lock_row`` on the case.
    """
    require_admin(actor)
    now = now or now_utc()
    today = local_today(now)
    lock_row(db.session, DegreeCase, case.id)
    db.session.refresh(case, attribute_names=["stage", "stage_since", "resume_stage"])
    try:
        target = Stage(to_stage)
    except ValueError:
        raise TransitionError("没有这个阶段") from None
    current = Stage(case.stage)
    if target not in targets_for(case):
        if case.programme_id is None and target == Stage.REGISTERED:
            raise TransitionError("请先为个案指定院校和专业")
        raise TransitionError(f"不能从“{STAGE_LABELS[current]}”直接改为“{STAGE_LABELS[target]}”")
    on = on or today
    if on > today:
        raise TransitionError("日期不能晚于今天")
    if on < case.stage_since:
        raise TransitionError(f"日期不能早于进入当前阶段的日期（{case.stage_since.isoformat()}）")
    note = (note or "").strip()
    if not note and (target in NOTE_REQUIRED or (current, target) in BACKWARD):
        raise TransitionError("请写明原因")
    if target == Stage.ADMITTED and case.admitted_on is None:
        case.admitted_on = on
    if target == Stage.ENROLLED and case.enrolled_on is None:
        case.enrolled_on = on
    if target == Stage.GRADUATED and case.graduated_on is None:
        case.graduated_on = on
    case.resume_stage = current if target == Stage.DEFERRED else None
    case.stage = target
    case.stage_since = on
    _derive_dates(case)
    event = _event(case, "transition", on=on, actor=actor, from_stage=current, to_stage=target, note=note, now=now)
    db.session.flush()
    record("degree.stage_changed", actor=actor, obj=case, old=str(current), new=str(target), on=on.isoformat())
    return event


def _derive_dates(case: DegreeCase) -> None:
    """Earliest graduation (enrolment + minimum study) and record expiry (国开: + 8 years)."""
    programme = case.programme
    if programme is None:
        case.earliest_graduation_on = case.record_expires_on = None
        return
    case.earliest_graduation_on = earliest_graduation(case.enrolled_on, programme.min_study_months)
    case.record_expires_on = record_expiry(case.enrolled_on, programme.record_valid_months)


# --- record fields -------------------------------------------------------------------------

@dataclass
class RecordValues:
    """The record fields an admin edits on the case page (money in yuan, credits as numbers)."""

    student_number: str | None = None
    exam_ticket_number: str | None = None
    exam_score: Decimal | str | None = None
    admitted_on: date | None = None
    enrolled_on: date | None = None
    credits_earned: Decimal | str | None = None
    fees_paid: Decimal | str | None = None
    subsidy_granted: Decimal | str | None = None
    subsidy_paid: Decimal | str | None = None
    diploma_number: str | None = None
    graduated_on: date | None = None
    intake_year: int | None = None
    intake_season: str | None = None
    advisor_id: int | None = None
    note: str | None = None


RECORD_LABELS = {
    "student_number": "学号", "exam_ticket_number": "准考证号", "exam_score": "考试成绩",
    "admitted_on": "录取日期", "enrolled_on": "入学日期", "credits_earned": "已获学分", "fees_paid": "已缴学费",
    "subsidy_granted": "批准补贴", "subsidy_paid": "已发补贴", "diploma_number": "毕业证编号",
    "graduated_on": "毕业日期", "intake_year": "入学年份", "intake_season": "入学季", "advisor_id": "负责老师",
    "note": "备注",
}


def update_record(case: DegreeCase, values: RecordValues, *, actor: User, now: datetime | None = None) -> list[str]:
    """Set the record fields of ``case``; returns the labels of the fields that changed.

    Rules: amounts and credits are not negative; the subsidy paid does not exceed the subsidy
    granted; admission is not after enrolment; the intake year is between 2000 and 2100. The
    changes (old → new) go into the case history and the audit log in one entry. Dates derived
    from the enrolment date are recomputed. Raises ``DegreeError``.
    """
    require_admin(actor)
    now = now or now_utc()
    new = {
        "student_number": _text(values.student_number, 40),
        "exam_ticket_number": _text(values.exam_ticket_number, 40),
        "exam_score": _decimal(values.exam_score, "考试成绩", maximum=1000),
        "admitted_on": values.admitted_on, "enrolled_on": values.enrolled_on,
        "credits_earned": _decimal(values.credits_earned, "已获学分", maximum=1000) or Decimal("0.0"),
        "fees_paid": _money(values.fees_paid, "已缴学费"),
        "subsidy_granted": _money(values.subsidy_granted, "批准补贴"),
        "subsidy_paid": _money(values.subsidy_paid, "已发补贴"),
        "diploma_number": _text(values.diploma_number, 40), "graduated_on": values.graduated_on,
        "intake_year": values.intake_year, "intake_season": _text(values.intake_season, 10),
        "advisor_id": values.advisor_id or None, "note": (values.note or "").strip() or None,
    }
    if new["subsidy_paid"] > new["subsidy_granted"]:
        raise DegreeError("已发补贴不能超过批准的补贴")
    if new["admitted_on"] and new["enrolled_on"] and new["admitted_on"] > new["enrolled_on"]:
        raise DegreeError("录取日期不能晚于入学日期")
    if new["intake_year"] is not None and not 2000 <= new["intake_year"] <= 2100:
        raise DegreeError("入学年份不正确")
    if new["advisor_id"]:
        advisor = db.session.get(User, new["advisor_id"])
        if advisor is None or not advisor.is_staff:
            raise DegreeError("负责老师应是学院的教师或管理员")
    if case.route == Route.SELF_STUDY and case.course_results:
        new["credits_earned"] = case.credits_earned  # kept equal to the passed courses
    changes = []
    for name, value in new.items():
        old = getattr(case, name)
        if old != value:
            changes.append((name, old, value))
            setattr(case, name, value)
    if not changes:
        return []
    _derive_dates(case)
    text = "；".join(f"{RECORD_LABELS[n]}：{_show(o)} → {_show(v)}" for n, o, v in changes if n != "note")
    if any(n == "note" for n, _, _ in changes):
        text = "；".join(filter(None, [text, "备注已更新"]))
    _event(case, "record", on=local_today(now), actor=actor, note=text, now=now)
    db.session.flush()
    record("degree.record_updated", actor=actor, obj=case, fields=[n for n, _, _ in changes])
    return [RECORD_LABELS[n] for n, _, _ in changes]


def _show(value: object) -> str:
    if value is None or value == "":
        return "—"
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


SITTING_RE = re.compile(r"^\s*(\d{4})\s*[年./-]\s*(\d{1,2})\s*月?\s*$")


def normalise_sitting(raw: str) -> str:
    """"2026-04", "2026.4", "2026年4月" → "2026年4月"; raises ``DegreeError`` otherwise."""
    match = SITTING_RE.match(raw or "")
    if not match or not 1 <= int(match.group(2)) <= 12:
        raise DegreeError("考试时间请写成“2026年4月”")
    return f"{int(match.group(1))}年{int(match.group(2))}月"


@dataclass
class CourseValues:
    """A 自学考试 course result: code, name, credits, sitting ("2026年4月"), result, optional score."""

    course_code: str
    course_name: str
    credits: Decimal | str | int
    sitting: str
    result: str
    score: Decimal | str | None = None


def record_course_result(case: DegreeCase, values: CourseValues, *, actor: User,
                         now: datetime | None = None) -> CourseResult:
    """Record (or correct) a 自学考试 course result and recompute ``credits_earned``.

    The same course at the same sitting is updated, not duplicated. Credits earned = the
    credits of every distinct course passed or exempted. Raises ``DegreeError`` for a case on
    another route or bad values.
    """
    require_admin(actor)
    now = now or now_utc()
    if case.route != Route.SELF_STUDY:
        raise DegreeError("只有自学考试的个案按课程记录成绩")
    code, name = _text(values.course_code, 20), _text(values.course_name, 80)
    if not code or not name:
        raise DegreeError("请填写课程代码和课程名称")
    if values.result not in COURSE_RESULT_LABELS:
        raise DegreeError("请选择考试结果")
    credits = _decimal(values.credits, "学分", maximum=20)
    if credits is None:
        raise DegreeError("请填写学分")
    sitting = normalise_sitting(values.sitting)
    score = _decimal(values.score, "分数", maximum=100)
    result = next((r for r in case.course_results if r.course_code == code and r.sitting == sitting), None)
    if result is None:
        result = CourseResult(course_code=code, sitting=sitting)
        case.course_results.append(result)
    result.course_name, result.credits, result.result, result.score = name, credits, values.result, score
    _recount_credits(case)
    _event(case, "course", on=local_today(now), actor=actor, now=now,
           note=f"{sitting} {code} {name}：{COURSE_RESULT_LABELS[values.result]}"
                + (f"（{score}分）" if score is not None else ""))
    db.session.flush()
    record("degree.course_result", actor=actor, obj=case, course=code, sitting=sitting, result=values.result)
    return result


def _recount_credits(case: DegreeCase) -> None:
    passed: dict[str, Decimal] = {}
    for r in case.course_results:
        if r.result in COURSE_PASSING_RESULTS:
            passed[r.course_code] = max(passed.get(r.course_code, Decimal(0)), Decimal(r.credits))
    case.credits_earned = sum(passed.values(), Decimal("0.0"))


def courses_passed(case: DegreeCase) -> int:
    """Distinct courses passed or exempted (自学考试)."""
    return len({r.course_code for r in case.course_results if r.result in COURSE_PASSING_RESULTS})


def credits_complete(case: DegreeCase) -> bool:
    """True when the programme's required credits (or courses) are all earned."""
    programme = case.programme
    if programme is None:
        return False
    if programme.credits_required and Decimal(case.credits_earned or 0) >= programme.credits_required:
        return True
    return bool(programme.courses_required and courses_passed(case) >= programme.courses_required)


# --- milestones and timeline ----------------------------------------------------------------

def case_facts(case: DegreeCase) -> CaseFacts:
    """What ``stages.plan_milestone`` needs from a case."""
    return CaseFacts(route=case.route, stage=case.stage, stage_since=case.stage_since, resume_to=case.resume_stage,
                     earliest_graduation_on=case.earliest_graduation_on, record_expires_on=case.record_expires_on,
                     credits_complete=credits_complete(case))


def next_milestone(case: DegreeCase, *, today: date,
                   windows: dict[str, list[Window]] | None = None) -> Milestone | None:
    """The case's next step with its date and checklist (``stages.plan_milestone``), or None if closed."""
    windows = windows if windows is not None else load_windows(today=today, since=case.stage_since)
    return plan_milestone(case_facts(case), windows.get(case.route, []) if case.route else [], today)


@dataclass(frozen=True)
class TimelineItem:
    """One stage on the learner's timeline: status "done", "current", "future" or "closed"."""

    stage: str
    label: str
    status: str
    on: date | None = None


def timeline(case: DegreeCase) -> list[TimelineItem]:
    """The learner's stages in order: done (with dates), current, then future; a deferred,
    dropped or expired case shows its path up to the stage it left, then that state."""
    path = stage_path(case.route)
    reached: dict[str, date] = {}
    for ev in case.events:
        if ev.to_stage:
            reached[ev.to_stage] = ev.on
    stage = Stage(case.stage)
    side = stage not in path
    position_stage = stage
    if side:
        left = case.resume_stage or next((ev.from_stage for ev in reversed(case.events)
                                          if ev.to_stage == stage and ev.from_stage), None)
        position_stage = Stage(left) if left in path else Stage.INTERESTED
    position = path.index(position_stage)
    items = []
    for i, s in enumerate(path):
        if i < position or (side and i == position):
            items.append(TimelineItem(s, str(STAGE_LABELS[s]), "done", reached.get(s)))
        elif i == position:
            items.append(TimelineItem(s, str(STAGE_LABELS[s]), "current", reached.get(s) or case.stage_since))
        elif not side or stage == Stage.DEFERRED:
            items.append(TimelineItem(s, str(STAGE_LABELS[s]), "future"))
        if side and i == position:
            items.append(TimelineItem(stage, str(STAGE_LABELS[stage]), "current" if stage == Stage.DEFERRED else "closed",
                                      case.stage_since))
    return items


def cases_of(learner: User) -> list[DegreeCase]:
    """The learner's cases, open ones first, newest first."""
    cases = db.session.scalars(select(DegreeCase).where(DegreeCase.learner_id == learner.id)
                               .options(joinedload(DegreeCase.programme), selectinload(DegreeCase.events),
                                        selectinload(DegreeCase.course_results))
                               .order_by(DegreeCase.id.desc())).unique().all()
    return sorted(cases, key=lambda c: not c.is_open)


def get_case(case_id: int) -> DegreeCase | None:
    """A case with its learner, programme, history (and actors) and course results loaded."""
    return db.session.scalar(
        select(DegreeCase).where(DegreeCase.id == case_id).options(
            joinedload(DegreeCase.learner), joinedload(DegreeCase.programme), joinedload(DegreeCase.advisor),
            joinedload(DegreeCase.entry_override_by),
            selectinload(DegreeCase.events).joinedload(CaseEvent.actor), selectinload(DegreeCase.course_results)))


# --- lists, board, figures -----------------------------------------------------------------

@dataclass
class CaseFilter:
    """Filters of the admin list; empty strings mean "any". ``overdue``: only cases whose next
    step is overdue; ``upcoming_days``: only cases with a step due within that many days."""

    stage: str = ""
    route: str = ""
    institution: str = ""
    district: str = ""
    overdue: bool = False
    upcoming_days: int | None = None
    page: int = 1
    per_page: int = 20


@dataclass(frozen=True)
class CaseRow:
    """A case with its next milestone (None when closed)."""

    case: DegreeCase
    milestone: Milestone | None


@dataclass
class Page:
    """A page of rows, with the attributes of Flask-SQLAlchemy's pagination used by ``pager``."""

    items: list
    page: int
    per_page: int
    total: int

    @property
    def pages(self) -> int:
        return max(1, math.ceil(self.total / self.per_page))

    @property
    def has_prev(self) -> bool:
        return self.page > 1

    @property
    def has_next(self) -> bool:
        return self.page < self.pages

    @property
    def prev_num(self) -> int:
        return self.page - 1

    @property
    def next_num(self) -> int:
        return self.page + 1


def _sort_key(row: CaseRow, today: date):
    m = row.milestone
    due = m.due_on(today) if m else None
    return (0 if m and m.overdue else 1, due or date.max, row.case.id)


def case_rows(filters: CaseFilter, *, today: date) -> list[CaseRow]:
    """Every case matching ``filters`` with its milestone, overdue first, then by next date.

    The stage, route, institution and district filters run in SQL; milestones are computed in
    Python from the key dates loaded once (two queries whatever the number of cases).
    """
    stmt = (select(DegreeCase).join(User, DegreeCase.learner_id == User.id)
            .outerjoin(Programme, DegreeCase.programme_id == Programme.id)
            .options(joinedload(DegreeCase.learner), joinedload(DegreeCase.programme),
                     selectinload(DegreeCase.course_results)))
    if filters.stage:
        stmt = stmt.where(DegreeCase.stage == filters.stage)
    if filters.route == UNDECIDED:
        stmt = stmt.where(DegreeCase.route.is_(None))
    elif filters.route:
        stmt = stmt.where(DegreeCase.route == filters.route)
    if filters.institution:
        stmt = stmt.where(Programme.institution == filters.institution)
    if filters.district:
        stmt = stmt.where(User.district == filters.district)
    if filters.overdue or filters.upcoming_days is not None:
        stmt = stmt.where(DegreeCase.stage.in_(OPEN_STAGES))
    cases = db.session.scalars(stmt).unique().all()
    since = min((c.stage_since for c in cases), default=today)
    windows = load_windows(today=today, since=since)
    rows = [CaseRow(c, next_milestone(c, today=today, windows=windows)) for c in cases]
    if filters.overdue:
        rows = [r for r in rows if r.milestone and r.milestone.overdue]
    if filters.upcoming_days is not None:
        rows = [r for r in rows if r.milestone and r.milestone.is_upcoming(today, filters.upcoming_days)]
    return sorted(rows, key=lambda r: _sort_key(r, today))


def list_cases(filters: CaseFilter, *, today: date) -> Page:
    """One page of ``case_rows``."""
    rows = case_rows(filters, today=today)
    page = max(1, filters.page)
    start = (page - 1) * filters.per_page
    return Page(rows[start:start + filters.per_page], page, filters.per_page, len(rows))


def upcoming(*, today: date, days: int = 14) -> list[CaseRow]:
    """Open cases whose next step falls within ``days`` days from ``today``, soonest first."""
    return case_rows(CaseFilter(upcoming_days=days), today=today)


def milestone_summary(*, today: date, days: int = 14) -> tuple[list[CaseRow], int]:
    """For the board: the open cases with a step due within ``days`` days (soonest first) and the
    number of cases whose next step is overdue, from one pass over the cases."""
    rows = case_rows(CaseFilter(), today=today)
    soon = [r for r in rows if r.milestone and r.milestone.is_upcoming(today, days)]
    return soon, sum(1 for r in rows if r.milestone and r.milestone.overdue)


def institutions() -> list[str]:
    """Institutions of the programmes (for the list filter)."""
    return list(db.session.scalars(select(Programme.institution).distinct().order_by(Programme.institution)))


def pipeline_counts() -> dict[tuple[str, str], int]:
    """(stage, route) → number of cases; route ``UNDECIDED`` for interest without a route.

    Every stage counts, closed ones included, so that the board adds up to all cases.
    """
    rows = db.session.execute(
        select(DegreeCase.stage, DegreeCase.route, func.count()).group_by(DegreeCase.stage, DegreeCase.route))
    return {(stage, route or UNDECIDED): n for stage, route, n in rows}


def count_upgrading(*, district: str | None = None, occupation_group: str | None = None,
                    platform: str | None = None) -> int:
    """Distinct learners with a case at registered … graduation_applied (``UPGRADING_STAGES``).

    Interest only, deferred (on hold), dropped, record expired and graduated do not count.
    ``district``, ``occupation_group`` and ``platform`` filter on the learner's profile.
    """
    stmt = (select(func.count(distinct(DegreeCase.learner_id))).join(User, DegreeCase.learner_id == User.id)
            .where(DegreeCase.stage.in_(UPGRADING_STAGES)))
    if district:
        stmt = stmt.where(User.district == district)
    if occupation_group:
        stmt = stmt.where(User.occupation_group == occupation_group)
    if platform:
        stmt = stmt.where(User.platform == platform)
    return db.session.scalar(stmt) or 0


def board_table(counts: dict[tuple[str, str], int]) -> tuple[list[str], list[tuple[str, list[int], int]], list[int]]:
    """Rows of the pipeline board: (route keys, [(stage, counts per route, row total)], column totals)."""
    routes = [str(r) for r in Route if any(k[1] == r for k in counts)] or [str(Route.ADULT_EXAM)]
    if any(k[1] == UNDECIDED for k in counts):
        routes.append(UNDECIDED)
    rows = []
    for stage in Stage:
        values = [counts.get((str(stage), r), 0) for r in routes]
        rows.append((str(stage), values, sum(values)))
    totals = [sum(counts.get((str(s), r), 0) for s in Stage) for r in routes]
    return routes, rows, totals


def route_label(route: str) -> str:
    """Chinese label of a route key, "未定" for ``UNDECIDED``."""
    return str(ROUTE_LABELS[Route(route)]) if route and route != UNDECIDED else "未定"


EXPORT_HEADERS = ["序号", "姓名", "身份证号", "手机号", "所在县（市、区）", "途径", "层次", "院校", "专业", "入学年份",
                  "当前阶段", "阶段日期", "学号", "准考证号", "考试成绩", "录取日期", "入学日期", "最早毕业日期",
                  "学籍有效期至", "已获学分", "所需学分", "已缴学费（元）", "补贴（元）", "已发补贴（元）",
                  "毕业证编号", "下一步", "下一步日期", "是否逾期", "备注"]


def export_xlsx(rows: Iterable[CaseRow], *, today: date, full: bool = False) -> bytes:
    """The case list as .xlsx (names, IDs and phones masked unless ``full``; IDs and phones as text).

    The columns start with those of the import (序号 姓名 身份证号 … 补贴（元）) so that an
    unmasked export can be edited and read back.
    """
    data = []
    for i, row in enumerate(rows, start=1):
        c, m, p = row.case, row.milestone, row.case.learner
        programme = c.programme
        data.append([
            i, p.name if full else mask_name(p.name), (p.id_number if full else mask_id_number(p.id_number)) or "",
            p.mobile if full else mask_phone(p.mobile), p.district or "", c.route_label, c.level_label,
            programme.institution if programme else "", programme.major if programme else "", c.intake_year,
            c.stage_label, c.stage_since, c.student_number or "", c.exam_ticket_number or "", c.exam_score,
            c.admitted_on, c.enrolled_on, c.earliest_graduation_on, c.record_expires_on, c.credits_earned,
            programme.credits_required if programme else None, c.fees_paid, c.subsidy_granted, c.subsidy_paid,
            c.diploma_number or "", m.title if m else "", m.when_text(today) if m else "",
            "是" if m and m.overdue else "", c.note or "",
        ])
    return build_xlsx([("学历提升", EXPORT_HEADERS, data)], text_columns=("身份证号", "手机号", "学号", "准考证号",
                                                                         "毕业证编号"))


# --- notices and reminders ------------------------------------------------------------------

def unread_notices(user: User, *, limit: int = 20) -> list[Notice]:
    """The person's unread notices, newest first."""
    return list(db.session.scalars(select(Notice).where(Notice.user_id == user.id, Notice.read_at.is_(None))
                                   .order_by(Notice.created_at.desc(), Notice.id.desc()).limit(limit)))


def mark_notices_read(user: User, *, now: datetime | None = None) -> int:
    """Mark all of the person's unread notices read; returns how many."""
    now = now or now_utc()
    notices = db.session.scalars(select(Notice).where(Notice.user_id == user.id, Notice.read_at.is_(None))).all()
    for notice in notices:
        notice.read_at = now
    db.session.flush()
    return len(notices)


@dataclass
class ReminderReport:
    """What ``remind`` found and wrote: upcoming and overdue rows, notices created."""

    upcoming: list[CaseRow] = field(default_factory=list)
    overdue: list[CaseRow] = field(default_factory=list)
    notices_created: int = 0


def _admins() -> list[User]:
    return list(db.session.scalars(select(User).join(UserRole).where(UserRole.role == Role.ADMIN,
                                                                     User.is_active_account.is_(True))))


def remind(*, today: date, days: int = 14, now: datetime | None = None,
           learner_link: Callable[[DegreeCase], str] | None = None, staff_link: str | None = None) -> ReminderReport:
    """Find milestones due within ``days`` days and record in-app notices (idempotent).

    Each learner gets one notice per case, milestone and milestone date (key
    ``degrees:<case>:<milestone>:<date>``), so running the command twice a day — or every day of
    the 14 — does not repeat it; a window that opens gives a second notice for its closing day.
    Staff get one digest per person per day (``degrees:digest:<user>:<today>``) counting the
    upcoming and overdue steps of the cases they follow (the case's adviser, else every admin).
    """
    now = now or now_utc()
    rows = case_rows(CaseFilter(), today=today)
    report = ReminderReport(
        upcoming=[r for r in rows if r.milestone and r.milestone.is_upcoming(today, days)],
        overdue=[r for r in rows if r.milestone and r.milestone.overdue],
    )
    wanted: dict[str, Notice] = {}
    for row in report.upcoming:
        m = row.milestone
        key = f"degrees:{row.case.id}:{m.code}:{m.due_on(today).isoformat()}"
        prepare = "、".join(m.checklist[:3])
        text = f"学历提升提醒：{m.title}，{m.when_text(today)}。" + (f"要准备：{prepare}。" if prepare else "")
        wanted[key] = Notice(user_id=row.case.learner_id, text=text[:500], dedupe_key=key, created_at=now,
                             link=learner_link(row.case) if learner_link else None)
    admins = None
    per_staff: dict[int, list[int]] = defaultdict(lambda: [0, 0])
    for index, group in ((0, report.upcoming), (1, report.overdue)):
        for row in group:
            if row.case.advisor_id:
                per_staff[row.case.advisor_id][index] += 1
            else:
                admins = admins if admins is not None else _admins()
                for admin in admins:
                    per_staff[admin.id][index] += 1
    for user_id, (n_up, n_late) in per_staff.items():
        key = f"degrees:digest:{user_id}:{today.isoformat()}"
        text = f"学历提升：{n_up} 个个案在 {days} 天内有节点" + (f"，{n_late} 个已逾期" if n_late else "")
        wanted[key] = Notice(user_id=user_id, text=text, dedupe_key=key, created_at=now, link=staff_link)
    if wanted:
        existing = set(db.session.scalars(select(Notice.dedupe_key).where(Notice.dedupe_key.in_(list(wanted)))))
        for key, notice in wanted.items():
            if key not in existing:
                db.session.add(notice)
                report.notices_created += 1
        db.session.flush()
    return report


