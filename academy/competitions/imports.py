"""Spreadsheet imports of the competitions module (all-or-nothing, with a per-row report).

* Registrations (报名表): 序号 姓名 性别 身份证号 手机号 所属平台 所在县（市、区） [理论知识成绩] —
  learners are matched by ID number (or created), registered as approved, and the theory
  score may be imported at the same time.
* Component scores (the exam system's export): 身份证号 [姓名] 理论知识成绩.
* Marking scheme (评分标准): 子模块 评分项 类型（M测量/J评价） 分值 [评分说明] [计分方式] [可选分值].

Any problem in any row stops the whole import: ``ValidationFailed.errors`` lists every
problem as ``RowError`` ("第 17 行，身份证号：…") and nothing is written.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from sqlalchemy import select

from academy.accounts.models import DISTRICTS, OCCUPATION_GROUPS, Role, User, UserRole
from academy.accounts.services import AccountError, validate_name
from academy.audit.services import record
from academy.common.ids import InvalidIdNumber, InvalidMobile, age_on, normalise_mobile, parse_id_number
from academy.common.spreadsheets import read_table
from academy.common.text import clean, digits_text
from academy.common.timeutil import local_today, now_utc
from academy.competitions import judging, marking
from academy.competitions.models import (
    PLACE_HOLDING,
    Aggregation,
    AspectKind,
    Component,
    ComponentSource,
    Entry,
    EntryStatus,
    Event,
)
from academy.competitions.registration import add_entry, get_entry
from academy.competitions.services import CompetitionError, parse_decimal, require_admin
from academy.database import lock_row
from academy.errors import RowError, ValidationFailed
from academy.extensions import db

REGISTRATION_COLUMNS = {
    "name": ("姓名",),
    "gender": ("性别",),
    "id_number": ("身份证号", "身份证号码", "公民身份号码"),
    "mobile": ("手机号", "手机号码", "联系电话", "手机"),
    "platform": ("所属平台", "平台", "所属平台/企业", "工作单位", "所属企业"),
    "district": ("所在县（市、区）", "县（市、区）", "所在地区", "县市区"),
    "score": ("理论知识成绩", "理论成绩", "理论知识"),
}
SCORE_COLUMNS = {
    "id_number": ("身份证号", "身份证号码", "公民身份号码"),
    "name": ("姓名",),
    "score": ("理论知识成绩", "理论成绩", "理论知识", "成绩", "分数", "得分", "总分"),
}
SCHEME_COLUMNS = {
    "sub": ("子模块", "模块", "评分模块", "子项"),
    "aspect": ("评分项", "评分要点", "评分内容"),
    "kind": ("类型（M测量/J评价）", "类型", "评分类型"),
    "max": ("分值", "配分", "满分"),
    "notes": ("评分说明", "评分标准", "说明"),
    "aggregation": ("计分方式",),
    "partial": ("可选分值",),
}


@dataclass
class RegistrationReport:
    """What a registration import did (or would do, on a dry run)."""

    rows: int = 0
    created_learners: int = 0
    matched_learners: int = 0
    new_entries: int = 0
    existing_entries: int = 0
    scores_set: int = 0
    notes: list[str] = field(default_factory=list)


def _fail(errors: list[RowError], total_rows: int) -> None:
    if errors:
        rows = len({e.row for e in errors})
        raise ValidationFailed(f"{rows} 行有问题（共 {total_rows} 行），没有导入任何数据，请改正后重新上传",
                               errors=errors)


@dataclass
class _Planned:
    row: int
    name: str
    id_number: str
    birth_date: object
    gender: str
    mobile: str
    platform: str | None
    district: str | None
    score: Decimal | None = None
    absent: bool = False
    user: User | None = None


def import_registrations(event: Event, source, filename: str, *, actor: User, now: datetime | None = None,
                         score_component: Component | None = None,
                         occupation_group: str | None = None) -> RegistrationReport:
    """Register the contestants listed in an .xlsx/.csv file (the organisers' 报名表).

    Learners are matched by ID number; a new one is created (login by mobile number after
    activation) when neither the ID nor the mobile is known. ``occupation_group`` is given to new
    learners and to known ones without one. Entries are APPROVED (source ``import``); rows
    already registered are counted, not duplicated. With ``score_component`` the 理论知识成绩
    column is imported into it (缺考 allowed). Checks per row: name, ID (GB 11643), mobile,
    gender against the ID, district, the age range, the occupation groups; duplicates in the
    file; the event's capacity. Raises ``ValidationFailed`` with every problem (nothing
    written) and ``CompetitionError`` when registrations can no longer change (after the draw).
    """
    require_admin(actor)
    now = now or now_utc()
    if event.drawn_at or event.locked_at:
        raise CompetitionError("已经抽签，不能再导入报名")
    if occupation_group and occupation_group not in OCCUPATION_GROUPS:
        raise CompetitionError(f"“{occupation_group}”不是可选的从业类型")
    if score_component is not None and score_component.source != ComponentSource.ENTERED:
        raise CompetitionError(f"{score_component.name}按评分标准计分，不能导入")
    required = ("name", "id_number", "mobile") + (("score",) if score_component else ())
    table = read_table(source, filename=filename, columns=REGISTRATION_COLUMNS, required=required)
    labels = {k: table.labels.get(k, REGISTRATION_COLUMNS[k][0]) for k in REGISTRATION_COLUMNS}
    today = local_today(now)
    contest_day = event.contest_date or today
    errors: list[RowError] = []
    planned: list[_Planned] = []
    seen_ids: dict[str, int] = {}
    seen_mobiles: dict[str, int] = {}
    for row in table.rows:
        problems: list[RowError] = []

        def fail(key: str, message: str, row=row, problems=problems) -> None:
            problems.append(RowError(row.number, labels[key], message))

        try:
            name = validate_name(row.get("name") or "")
        except AccountError as exc:
            fail("name", str(exc))
            name = ""
        try:
            parsed = parse_id_number(row.get("id_number"), today=today)
        except InvalidIdNumber as exc:
            fail("id_number", str(exc))
            parsed = None
        try:
            mobile = normalise_mobile(row.get("mobile"))
        except InvalidMobile as exc:
            fail("mobile", str(exc))
            mobile = ""
        gender = clean(row.get("gender"))
        if parsed and gender and gender not in (parsed.gender, parsed.gender + "性"):
            fail("gender", f"与身份证号不符（身份证号为{parsed.gender}性）")
        district = clean(row.get("district")) or None
        if district and district not in DISTRICTS:
            fail("district", f"“{district}”不是赣州市的县（市、区）")
        if parsed:
            if parsed.value in seen_ids:
                fail("id_number", f"与第 {seen_ids[parsed.value]} 行重复")
            seen_ids.setdefault(parsed.value, row.number)
            age = age_on(parsed.birth_date, contest_day)
            if event.min_age is not None and age < event.min_age:
                fail("id_number", f"比赛当天 {age} 周岁，未满 {event.min_age} 周岁")
            if event.max_age is not None and age > event.max_age:
                fail("id_number", f"比赛当天 {age} 周岁，超过 {event.max_age} 周岁")
        if mobile:
            if mobile in seen_mobiles:
                fail("mobile", f"与第 {seen_mobiles[mobile]} 行重复")
            seen_mobiles.setdefault(mobile, row.number)
        item = _Planned(row.number, name, parsed.value if parsed else "", parsed.birth_date if parsed else None,
                        parsed.gender if parsed else "", mobile, clean(row.get("platform"))[:60] or None, district)
        if score_component is not None:
            try:
                item.score, item.absent = judging.parse_component_value(row.get("score"))
                if item.score is None and not item.absent:
                    fail("score", "成绩为空（缺考请写“缺考”）")
                elif item.score is not None and not (0 <= item.score <= score_component.max_score):
                    fail("score", f"应在 0 到 {score_component.max_score.normalize():f} 分之间")
            except CompetitionError as exc:
                fail("score", exc.message)
        if not problems and parsed and mobile:
            problems.extend(_match_learner(item, event, occupation_group, labels))
        errors.extend(problems)
        planned.append(item)
    _fail(errors, len(table.rows))
    lock_row(db.session, Event, event.id)
    report = RegistrationReport(rows=len(planned))
    holding = {e.learner_id for e in db.session.scalars(
        select(Entry).where(Entry.event_id == event.id, Entry.status.in_(PLACE_HOLDING)))}
    newcomers = sum(1 for p in planned if p.user is None or p.user.id not in holding)
    if len(holding) + newcomers > event.capacity:
        raise ValidationFailed(f"名额不足：本赛项名额 {event.capacity} 人，已报名 {len(holding)} 人，"
                               f"本次新增 {newcomers} 人", errors=[])
    for item in planned:
        if item.user is None:
            item.user = _create_learner(item, occupation_group)
            report.created_learners += 1
        else:
            report.matched_learners += 1
            if occupation_group and not item.user.occupation_group:
                item.user.occupation_group = occupation_group
        entry, created = add_entry(item.user, event, actor=actor, now=now, platform=item.platform,
                                   district=item.district, source="import")
        report.new_entries += created
        report.existing_entries += not created
        if score_component is not None:
            report.scores_set += judging.set_component_score(entry, score_component, item.score, absent=item.absent,
                                                             actor=actor, now=now, note="import")
    db.session.flush()
    record("competition.registrations_imported", actor=actor, obj=event, filename=filename, rows=report.rows,
           created=report.created_learners, entries=report.new_entries, scores=report.scores_set)
    return report


def _match_learner(item: _Planned, event: Event, occupation_group: str | None, labels: dict) -> list[RowError]:
    """Find the learner for a row (by ID, then by mobile); return problems."""
    problems: list[RowError] = []
    by_id = db.session.scalar(select(User).where(User.id_number == item.id_number))
    by_mobile = db.session.scalar(select(User).where(User.mobile == item.mobile))
    if by_id is not None:
        item.user = by_id
    elif by_mobile is not None:
        if by_mobile.id_number:
            problems.append(RowError(item.row, labels["mobile"], "这个手机号已属于另一个身份证号的账号"))
        elif by_mobile.name != item.name:
            problems.append(RowError(item.row, labels["mobile"], f"这个手机号已注册为“{by_mobile.name}”"))
        else:
            item.user = by_mobile
    user = item.user
    if user is not None:
        group = user.occupation_group or occupation_group
        if event.eligible_groups and group and group not in event.eligible_groups:
            problems.append(RowError(item.row, labels["name"],
                                     f"从业类型为{group}，本赛项只接受" + "、".join(event.eligible_groups)))
        entry = get_entry(event, user)
        if entry is not None and entry.status == EntryStatus.REJECTED:
            problems.append(RowError(item.row, labels["name"], "此前的报名未通过审核，请在报名列表中处理"))
    elif event.eligible_groups and occupation_group and occupation_group not in event.eligible_groups:
        problems.append(RowError(item.row, labels["name"],
                                 f"从业类型为{occupation_group}，本赛项只接受" + "、".join(event.eligible_groups)))
    return problems


def _create_learner(item: _Planned, occupation_group: str | None) -> User:
    user = User(mobile=item.mobile, name=item.name, id_number=item.id_number, birth_date=item.birth_date,
                gender=item.gender, district=item.district, platform=item.platform,
                occupation_group=occupation_group, password_hash=None)
    user.roles.append(UserRole(role=Role.LEARNER))
    db.session.add(user)
    db.session.flush()
    return user


def import_component_scores(event: Event, component: Component, source, filename: str, *, actor: User,
                            now: datetime | None = None) -> int:
    """Import one component's scores (理论知识, from the exam system's export) by ID number.

    Every row must name a contestant registered (approved) for the event; a 姓名 column, when
    present, must match. 缺考 marks the contestant absent. Returns the number of scores changed.
    Raises ``ValidationFailed`` with every row problem (nothing written) and ``CompetitionError``
    once the scores are locked.
    """
    require_admin(actor)
    now = now or now_utc()
    if event.locked_at:
        raise CompetitionError("成绩已锁定，不能导入")
    if component.source != ComponentSource.ENTERED:
        raise CompetitionError(f"{component.name}按评分标准计分，不能导入")
    table = read_table(source, filename=filename, columns=SCORE_COLUMNS, required=("id_number", "score"))
    labels = {k: table.labels.get(k, SCORE_COLUMNS[k][0]) for k in SCORE_COLUMNS}
    entries = {e.learner.id_number: e for e in db.session.scalars(
        select(Entry).join(User, Entry.learner_id == User.id)
        .where(Entry.event_id == event.id, Entry.status == EntryStatus.APPROVED)) if e.learner.id_number}
    errors: list[RowError] = []
    planned: list[tuple[Entry, Decimal | None, bool]] = []
    seen: dict[str, int] = {}
    for row in table.rows:
        id_number = digits_text(row.get("id_number"))
        entry = entries.get(id_number)
        if entry is None:
            errors.append(RowError(row.number, labels["id_number"], "没有以这个身份证号报名本赛项的选手"))
            continue
        if id_number in seen:
            errors.append(RowError(row.number, labels["id_number"], f"与第 {seen[id_number]} 行重复"))
            continue
        seen[id_number] = row.number
        name = clean(row.get("name"))
        if name and name.replace(" ", "") != entry.learner.name:
            errors.append(RowError(row.number, labels["name"], "姓名与报名信息不一致"))
        try:
            value, absent = judging.parse_component_value(row.get("score"))
        except CompetitionError as exc:
            errors.append(RowError(row.number, labels["score"], exc.message))
            continue
        if value is None and not absent:
            errors.append(RowError(row.number, labels["score"], "成绩为空（缺考请写“缺考”）"))
        elif value is not None and not (0 <= value <= component.max_score):
            errors.append(RowError(row.number, labels["score"],
                                   f"应在 0 到 {component.max_score.normalize():f} 分之间"))
        elif value is not None and value != value.quantize(Decimal("0.01")):
            errors.append(RowError(row.number, labels["score"], "最多两位小数"))
        else:
            planned.append((entry, value, absent))
    _fail(errors, len(table.rows))
    changed = 0
    for entry, value, absent in planned:
        changed += judging.set_component_score(entry, component, value, absent=absent, actor=actor, now=now,
                                               note="import")
    db.session.flush()
    record("competition.component_scores_imported", actor=actor, obj=event, component=component.code,
           filename=filename, rows=len(planned), changes=changed)
    return changed


def _kind(raw: object) -> str | None:
    text = clean(raw).upper()
    if text.startswith(("M", "测量", "O")):
        return AspectKind.MEASUREMENT
    if text.startswith(("J", "评价", "S")):
        return AspectKind.JUDGEMENT
    return None


def _aggregation(raw: object) -> str | None:
    text = clean(raw)
    if not text or text in ("平均", "平均分", "mean"):
        return Aggregation.MEAN
    if "去" in text or text == "trimmed":
        return Aggregation.TRIMMED
    return None


def import_scheme(event: Event, source, filename: str, *, actor: User) -> list:
    """Replace the event's marking scheme with the aspects of an .xlsx/.csv file.

    Columns: 子模块, 评分项, 类型 (M/测量 or J/评价), 分值; optional 评分说明, 计分方式 (平均 /
    去掉最高最低分), 可选分值 ("0,1,2,3"). The marks must add up to the scheme component's
    maximum (100). Raises ``ValidationFailed`` with every problem (nothing written) and
    ``CompetitionError`` once judging has started.
    """
    require_admin(actor)
    component = event.scheme_component
    if component is None:
        raise CompetitionError("本赛项没有按评分标准计分的科目，请先在赛项设置中指定")
    table = read_table(source, filename=filename, columns=SCHEME_COLUMNS,
                       required=("sub", "aspect", "kind", "max"))
    labels = {k: table.labels.get(k, SCHEME_COLUMNS[k][0]) for k in SCHEME_COLUMNS}
    errors: list[RowError] = []
    specs: list[marking.AspectSpec] = []
    for row in table.rows:
        kind = _kind(row.get("kind"))
        if kind is None:
            errors.append(RowError(row.number, labels["kind"], "应为 M（测量）或 J（评价）"))
        aggregation = _aggregation(row.get("aggregation"))
        if aggregation is None:
            errors.append(RowError(row.number, labels["aggregation"], "应为“平均”或“去掉最高最低分”"))
        try:
            max_mark = parse_decimal(row.get("max"))
            partial = marking.parse_partial_marks(row.get("partial"))
        except CompetitionError as exc:
            errors.append(RowError(row.number, labels["max"], exc.message))
            continue
        if max_mark is None:
            errors.append(RowError(row.number, labels["max"], "请填写分值"))
            continue
        spec = marking.AspectSpec(sub_criterion=clean(row.get("sub")), name=clean(row.get("aspect")),
                                  kind=kind or "", max_mark=max_mark, aggregation=aggregation or "",
                                  partial_marks=partial, notes=clean(row.get("notes")) or None)
        if kind and aggregation:
            problem = marking.check_aspect(spec)
            if problem:
                errors.append(RowError(row.number, labels["aspect"], problem))
        specs.append(spec)
    if not errors:
        total = sum((s.max_mark for s in specs), Decimal(0))
        if not specs:
            errors.append(RowError(table.header_row, labels["aspect"], "文件中没有评分项"))
        elif total != component.max_score:
            errors.append(RowError(table.header_row, labels["max"],
                                   f"各项分值合计 {total.normalize():f} 分，应等于{component.name}满分 "
                                   f"{component.max_score.normalize():f} 分"))
    _fail(errors, len(table.rows))
    return marking.replace_scheme(event, specs, actor=actor)
