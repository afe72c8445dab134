"""Competition rules: access helpers, editions and events (components, tie-breaks, awards),
phases, judges and recusal.

The other rule modules: ``registration.py`` (eligibility, registration, approval, withdrawal,
the draw, check-in), ``marking.py`` (the marking scheme), ``judging.py`` (score sheets, entered
scores, time used, completeness, lock and unlock), ``results.py`` (totals, ranks, awards,
publication, export, certificates) and ``imports.py`` (spreadsheets); the arithmetic is in
``scoring.py``. Every function takes the acting user keyword-only, ``now`` where time matters,
adds and flushes but never commits, and audits its change in the same transaction.

Concurrency: changes that depend on the event's state first call ``lock_event`` (the event's
row lock, ``database.lock_row``) and read the state afresh.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation

from sqlalchemy import func, select
from sqlalchemy.orm import joinedload, selectinload

from academy.accounts.models import OCCUPATION_GROUPS, Role, User, UserRole
from academy.audit.services import record
from academy.common.text import clean, to_halfwidth
from academy.common.timeutil import now_utc
from academy.competitions.models import (
    PLACE_HOLDING,
    RECUSAL_RELATIONS,
    AwardMode,
    AwardRule,
    Component,
    ComponentScore,
    ComponentSource,
    Edition,
    Entry,
    EntryStatus,
    Event,
    EventJudge,
    EventStatus,
    Recusal,
    Score,
    ScoreChange,
    ScoreSheet,
)
from academy.competitions.scoring import DEFAULT_TIE_BREAKS, TIME_KEY, TieBreak
from academy.database import lock_row
from academy.errors import Conflict, DomainError, NotFound, PermissionDenied
from academy.extensions import db

CODE_RE = re.compile(r"^[a-z][a-z0-9_]{0,19}$")


class CompetitionError(DomainError):
    """A competition rule refused the operation."""


# --- access ---------------------------------------------------------------------------------

def require_admin(actor: User) -> None:
    """Raise ``PermissionDenied`` unless ``actor`` is an administrator."""
    if not actor.is_admin:
        raise PermissionDenied("只有管理员可以进行这项操作")


def lock_event(event: Event) -> None:
    """Serialise writers on ``event`` (``database.lock_row``) and reload its phase fields.

    Score saves, the lock and unlock, recusals and publication all take this lock first, so a
    judge's save cannot slip in between the chief judge's completeness check and the lock.
    """
    lock_row(db.session, Event, event.id)
    db.session.refresh(event, attribute_names=["status", "drawn_at", "locked_at", "published_at", "capacity"])


def assignment_of(event: Event, user: User) -> EventJudge | None:
    """The user's judge assignment on ``event``, or None."""
    if not user.is_authenticated:
        return None
    return next((j for j in event.judges if j.judge_id == user.id), None)


def is_chief(event: Event, user: User) -> bool:
    """True when ``user`` is the event's chief judge (裁判长)."""
    assignment = assignment_of(event, user)
    return bool(assignment and assignment.is_chief)


def events_for_judge(judge: User) -> list[Event]:
    """Events ``judge`` is assigned to, newest edition first."""
    return list(db.session.scalars(
        select(Event).join(EventJudge, EventJudge.event_id == Event.id)
        .where(EventJudge.judge_id == judge.id).order_by(Event.edition_id.desc(), Event.id)
    ))


def list_editions() -> list[Edition]:
    """Every edition, newest first, with its events loaded."""
    return list(db.session.scalars(
        select(Edition).options(selectinload(Edition.events)).order_by(Edition.year.desc(), Edition.id.desc())
    ))


def get_event_by_public_code(code: str) -> Event | None:
    """The event whose public code is ``code`` (or whose id it is, for digits), or None."""
    event = db.session.scalar(select(Event).where(Event.public_code == code))
    if event is None and code.isdigit() and len(code) < 10:
        event = db.session.get(Event, int(code))
    return event


# --- editions and events --------------------------------------------------------------------

@dataclass
class EditionValues:
    """An edition's fields as entered: ``precision`` is the number of decimal places (0–4)."""

    name: str
    year: int
    organisers: str | None = None
    starts_on: date | None = None
    ends_on: date | None = None
    place: str | None = None
    rules: str | None = None
    precision: int = 2


def save_edition(edition: Edition | None, values: EditionValues, *, actor: User) -> Edition:
    """Create (``edition`` None) or update an edition. Raises ``CompetitionError`` for a missing
    name, a duplicate name, reversed dates or a precision outside 0–4."""
    require_admin(actor)
    name = clean(values.name)
    if not name:
        raise CompetitionError("请填写届次名称")
    if values.starts_on and values.ends_on and values.ends_on < values.starts_on:
        raise CompetitionError("结束日期不能早于开始日期")
    if not 0 <= values.precision <= 4:
        raise CompetitionError("成绩保留小数位数应为 0 到 4")
    other = db.session.scalar(select(Edition).where(Edition.name == name))
    if other is not None and other is not edition:
        raise Conflict("已有同名的届次")
    if edition is None:
        edition = Edition(name=name, year=values.year)
        db.session.add(edition)
    elif values.precision != edition.precision and any(e.published_at for e in edition.events):
        raise CompetitionError("已有赛项公布成绩，不能再修改保留小数位数")
    edition.name = name
    edition.year = values.year
    edition.organisers = (values.organisers or "").strip() or None
    edition.starts_on, edition.ends_on = values.starts_on, values.ends_on
    edition.place = clean(values.place) or None
    edition.rules = (values.rules or "").strip() or None
    edition.precision = values.precision
    db.session.flush()
    record("competition.edition_saved", actor=actor, obj=edition, name=name)
    return edition


@dataclass
class ComponentSpec:
    """One component row: ``weight`` in percent, ``max_score`` in points, ``source`` entered|scheme."""

    code: str
    name: str
    weight: Decimal
    max_score: Decimal = Decimal(100)
    source: str = ComponentSource.ENTERED


@dataclass
class AwardSpec:
    """One award tier row, best first: ``count`` (mode counts) or ``share`` in percent (mode shares)."""

    name: str
    count: int | None = None
    share: Decimal | None = None
    title: str | None = None
    level_note: str | None = None


@dataclass
class EventValues:
    """An event's settings as entered (times are aware datetimes; ages in whole years)."""

    name: str
    occupation: str
    occupation_code: str | None = None
    level: str | None = None
    contest_date: date | None = None
    place: str | None = None
    registration_opens_at: datetime | None = None
    registration_closes_at: datetime | None = None
    capacity: int = 100
    eligible_groups: tuple[str, ...] = ()
    min_age: int | None = None
    max_age: int | None = None
    approval_required: bool = True
    shared_ranks: bool = True
    tie_breaks: tuple[str, ...] = DEFAULT_TIE_BREAKS
    award_mode: str = AwardMode.COUNTS


DEFAULT_COMPONENTS = (
    ComponentSpec("theory", "理论知识", Decimal(30)),
    ComponentSpec("practical", "操作技能", Decimal(70), source=ComponentSource.SCHEME),
)
DEFAULT_AWARDS = (AwardSpec("一等奖", 1), AwardSpec("二等奖", 2), AwardSpec("三等奖", 3))


def _check_components(components: list[ComponentSpec]) -> None:
    if not components:
        raise CompetitionError("至少需要一个计分科目")
    codes, names = set(), set()
    for c in components:
        if not CODE_RE.match(c.code or ""):
            raise CompetitionError(f"科目代码“{c.code}”应为小写字母开头的英文字母、数字或下划线")
        if c.code == TIME_KEY:
            raise CompetitionError("科目代码不能用 time（它表示用时）")
        if c.code in codes or c.name in names:
            raise CompetitionError(f"科目“{c.name}”重复")
        codes.add(c.code)
        names.add(c.name)
        if c.weight is None or c.weight <= 0 or c.weight > 100:
            raise CompetitionError(f"科目“{c.name}”的权重应大于 0 且不超过 100")
        if c.source not in (ComponentSource.ENTERED, ComponentSource.SCHEME):
            raise CompetitionError(f"科目“{c.name}”的计分方式无效")
        if c.max_score is None or c.max_score <= 0:
            raise CompetitionError(f"科目“{c.name}”的满分应大于 0")
    total = sum((c.weight for c in components), Decimal(0))
    if total != 100:
        raise CompetitionError(f"各科目权重之和应为 100%，现在是 {total.normalize():f}%")
    if sum(1 for c in components if c.source == ComponentSource.SCHEME) > 1:
        raise CompetitionError("只能有一个科目按评分标准计分")


def _check_tie_breaks(tie_breaks: tuple[str, ...], codes: set[str]) -> list[str]:
    result: list[str] = []
    seen: set[str] = set()
    for text in tie_breaks:
        if not text:
            continue
        tb = TieBreak.parse(text)
        if tb.key != TIME_KEY and tb.key not in codes:
            raise CompetitionError(f"排名规则引用了不存在的科目“{tb.key}”")
        if tb.key in seen:
            raise CompetitionError("排名规则中同一项不能出现两次")
        seen.add(tb.key)
        result.append(str(tb))
    return result


def _check_awards(mode: str, awards: list[AwardSpec]) -> None:
    if mode not in (AwardMode.COUNTS, AwardMode.SHARES):
        raise CompetitionError("请选择设奖方式")
    names = set()
    total_share = Decimal(0)
    for a in awards:
        if not a.name:
            raise CompetitionError("请填写奖项名称")
        if a.name in names:
            raise CompetitionError(f"奖项“{a.name}”重复")
        names.add(a.name)
        if mode == AwardMode.COUNTS:
            if a.count is None or a.count < 1:
                raise CompetitionError(f"“{a.name}”的获奖人数应至少为 1")
        else:
            if a.share is None or a.share <= 0:
                raise CompetitionError(f"“{a.name}”的获奖比例应大于 0%")
            total_share += a.share
    if total_share > 100:
        raise CompetitionError("各奖项比例之和不能超过 100%")


def _new_public_code() -> str:
    while True:
        code = secrets.token_hex(4)
        if db.session.scalar(select(Event.id).where(Event.public_code == code)) is None:
            return code


def save_event(event: Event | None, values: EventValues, components: list[ComponentSpec],
               awards: list[AwardSpec], *, edition: Edition | None = None, actor: User) -> Event:
    """Create (``event`` None, ``edition`` given) or update an event with its components,
    tie-breaks and award tiers.

    Rules: a name and an occupation; capacity ≥ 1; ages and registration window in order;
    occupation groups from the list; components with unique codes, weights adding up to exactly
    100 % and at most one scored by the marking scheme; tie-breaks naming components or time;
    award counts ≥ 1 or shares adding up to ≤ 100 %. Nothing may change once the scores are
    locked, and a component that already has scores cannot be removed. Raises
    ``CompetitionError`` naming the problem.
    """
    require_admin(actor)
    if event is not None and event.locked_at:
        raise CompetitionError("成绩已锁定，不能修改赛项设置")
    if not clean(values.name) or not clean(values.occupation):
        raise CompetitionError("请填写赛项名称和职业（工种）")
    if values.capacity < 1:
        raise CompetitionError("名额至少为 1")
    if values.min_age is not None and values.max_age is not None and values.min_age > values.max_age:
        raise CompetitionError("最小年龄不能大于最大年龄")
    if (values.registration_opens_at and values.registration_closes_at
            and values.registration_closes_at <= values.registration_opens_at):
        raise CompetitionError("报名截止时间应晚于开始时间")
    unknown = [g for g in values.eligible_groups if g not in OCCUPATION_GROUPS]
    if unknown:
        raise CompetitionError(f"“{unknown[0]}”不是可选的从业类型")
    _check_components(components)
    tie_breaks = _check_tie_breaks(values.tie_breaks, {c.code for c in components})
    _check_awards(values.award_mode, awards)
    if event is None:
        if edition is None:
            raise NotFound("找不到届次")
        event = Event(edition=edition, public_code=_new_public_code(), status=EventStatus.SETUP)
        db.session.add(event)
    else:
        lock_row(db.session, Event, event.id)
        seats = places_taken(event.id)
        if values.capacity < seats:
            raise CompetitionError(f"名额不能少于已报名人数（{seats}人）")
    for name in ("occupation_code", "level", "place"):
        setattr(event, name, clean(getattr(values, name)) or None)
    event.name, event.occupation = clean(values.name), clean(values.occupation)
    event.contest_date = values.contest_date
    event.registration_opens_at = values.registration_opens_at
    event.registration_closes_at = values.registration_closes_at
    event.capacity = values.capacity
    event.eligible_groups = list(values.eligible_groups)
    event.min_age, event.max_age = values.min_age, values.max_age
    event.approval_required = values.approval_required
    event.shared_ranks = values.shared_ranks
    event.tie_breaks = tie_breaks
    event.award_mode = values.award_mode
    db.session.flush()
    _sync_components(event, components)
    _sync_awards(event, awards)
    db.session.flush()
    record("competition.event_saved", actor=actor, obj=event, name=event.name,
           weights={c.code: str(c.weight) for c in components}, tie_breaks=tie_breaks,
           award_mode=str(values.award_mode), awards=[a.name for a in awards])
    return event


def _sync_components(event: Event, specs: list[ComponentSpec]) -> None:
    existing = {c.code: c for c in event.components}
    wanted = {s.code for s in specs}
    for code, component in existing.items():
        if code not in wanted:
            used = db.session.scalar(select(func.count()).select_from(ComponentScore)
                                     .where(ComponentScore.component_id == component.id))
            if used:
                raise CompetitionError(f"科目“{component.name}”已有成绩，不能删除")
            event.components.remove(component)
    for position, spec in enumerate(specs, start=1):
        component = existing.get(spec.code)
        if component is None:
            component = Component(code=spec.code)
            event.components.append(component)
        component.name, component.weight, component.max_score = spec.name, spec.weight, spec.max_score
        component.source, component.position = spec.source, position


def _sync_awards(event: Event, specs: list[AwardSpec]) -> None:
    for rule in list(event.award_rules):
        event.award_rules.remove(rule)
    db.session.flush()
    for position, spec in enumerate(specs, start=1):
        event.award_rules.append(AwardRule(
            position=position, name=spec.name, count=spec.count if event.award_mode == AwardMode.COUNTS else None,
            share=spec.share if event.award_mode == AwardMode.SHARES else None,
            title=clean(spec.title) or None, level_note=clean(spec.level_note) or None))


def set_status(event: Event, status: str, *, actor: User) -> None:
    """Move an event between phases: 筹备中 → 报名中 → 比赛中 (and back while nothing depends on it).

    Closing registration needs every pending registration decided; going back from 比赛中
    is refused once numbers are drawn. Raises ``CompetitionError``.
    """
    require_admin(actor)
    status = EventStatus(status)
    if status == event.status:
        return
    if status == EventStatus.CONTEST:
        pending = count_entries(event.id, (EntryStatus.PENDING,))
        if pending:
            raise CompetitionError(f"还有 {pending} 条报名待审核，请先处理再截止报名")
    elif event.drawn_at:
        raise CompetitionError("已经抽签，不能再回到报名阶段")
    old = event.status
    event.status = status
    db.session.flush()
    record("competition.status_changed", actor=actor, obj=event, old=old, new=str(status))


def count_entries(event_id: int, statuses) -> int:
    """Number of the event's registrations in ``statuses``."""
    return db.session.scalar(select(func.count()).select_from(Entry)
                             .where(Entry.event_id == event_id, Entry.status.in_(statuses)))


def places_taken(event_id: int) -> int:
    """Places held by pending or approved registrations."""
    return count_entries(event_id, PLACE_HOLDING)


# --- judges and recusal ---------------------------------------------------------------------

def judge_candidates() -> list[User]:
    """Accounts holding the judge role, by name (for the assignment form)."""
    return list(db.session.scalars(select(User).join(UserRole).where(UserRole.role == Role.JUDGE)
                                   .order_by(User.name)))


def assign_judge(event: Event, judge: User, *, is_chief: bool = False, marks: bool = True,
                 actor: User) -> EventJudge:
    """Assign a judge to an event (or update the assignment); one chief judge per event.

    Making someone chief judge makes the previous chief an ordinary judge. Raises
    ``CompetitionError`` for an account without the judge role or after the lock.
    """
    require_admin(actor)
    if not judge.has_role(Role.JUDGE):
        raise CompetitionError(f"{judge.name}还没有裁判身份，请先在账号管理中授予")
    if event.locked_at:
        raise CompetitionError("成绩已锁定，不能调整裁判")
    assignment = assignment_of(event, judge)
    if assignment is None:
        assignment = EventJudge(judge_id=judge.id, judge=judge)
        event.judges.append(assignment)
    if is_chief:
        for other in event.judges:
            if other is not assignment and other.is_chief:
                other.is_chief = False
    assignment.is_chief, assignment.marks = is_chief, marks
    db.session.flush()
    record("competition.judge_assigned", actor=actor, obj=event, judge=judge.id, chief=is_chief, marks=marks)
    return assignment


def remove_judge(assignment: EventJudge, *, actor: User) -> None:
    """Take a judge off an event; refused once they have score sheets there."""
    require_admin(actor)
    event = assignment.event
    sheets = db.session.scalar(select(func.count()).select_from(ScoreSheet).where(
        ScoreSheet.event_id == event.id, ScoreSheet.judge_id == assignment.judge_id))
    if sheets:
        raise CompetitionError("该裁判已有评分记录，不能移除")
    event.judges.remove(assignment)
    db.session.flush()
    record("competition.judge_removed", actor=actor, obj=event, judge=assignment.judge_id)


def declare_recusal(event: Event, judge: User, entry: Entry, relation: str, reason: str, *, actor: User,
                    now: datetime | None = None) -> Recusal:
    """Record that ``judge`` stands aside for ``entry`` (同单位, 亲属, 师徒, 其他) with a reason.

    Declared by the judge (by the number they see) or by an administrator for them. From then
    on the judge cannot open or save that contestant's sheet; a sheet already started is
    removed (its values stay in the score history). Raises ``PermissionDenied`` for anyone
    else, ``CompetitionError`` for a missing reason or after the lock, ``Conflict`` if declared.
    """
    if actor.id != judge.id and not actor.is_admin:
        raise PermissionDenied("只能为自己申请回避")
    if assignment_of(event, judge) is None:
        raise PermissionDenied("该裁判未被指派到本赛项")
    if entry.event_id != event.id:
        raise NotFound("找不到这名选手")
    lock_event(event)
    if event.locked_at:
        raise CompetitionError("成绩已锁定，不能再登记回避")
    if relation not in RECUSAL_RELATIONS:
        raise CompetitionError("请选择回避原因类别")
    reason = clean(reason)
    if not reason:
        raise CompetitionError("请写明回避理由")
    if db.session.scalar(select(Recusal.id).where(Recusal.judge_id == judge.id, Recusal.entry_id == entry.id)):
        raise Conflict("已经登记过回避")
    now = now or now_utc()
    recusal = Recusal(event_id=event.id, judge_id=judge.id, entry_id=entry.id, relation=relation, reason=reason,
                      declared_by_id=actor.id, declared_at=now)
    db.session.add(recusal)
    sheet = db.session.scalar(select(ScoreSheet).where(ScoreSheet.entry_id == entry.id,
                                                       ScoreSheet.judge_id == judge.id))
    if sheet is not None:
        for score in sheet.scores:
            db.session.add(ScoreChange(event_id=event.id, entry_id=entry.id, judge_id=judge.id,
                                       aspect_id=score.aspect_id, old_value=score.value, new_value=None,
                                       note="recusal", actor_id=actor.id, at=now))
        db.session.delete(sheet)
    db.session.flush()
    record("competition.recused", actor=actor, obj=recusal, judge=judge.id, number=entry.number,
           relation=relation, reason=reason)
    return recusal


def recused_entry_ids(event: Event, judge: User) -> set[int]:
    """Ids of the entries ``judge`` has recused themselves from in ``event``."""
    return set(db.session.scalars(select(Recusal.entry_id).where(Recusal.event_id == event.id,
                                                                  Recusal.judge_id == judge.id)))


def recusals(event: Event) -> list[Recusal]:
    """Every recusal of the event with its judge and contestant loaded (for administrators)."""
    return list(db.session.scalars(
        select(Recusal).options(joinedload(Recusal.judge), joinedload(Recusal.entry).joinedload(Entry.learner))
        .where(Recusal.event_id == event.id).order_by(Recusal.id)))


def has_scores(event: Event) -> bool:
    """True when any judge has saved a value for the event."""
    return bool(db.session.scalar(
        select(func.count()).select_from(Score).join(ScoreSheet).where(ScoreSheet.event_id == event.id)))


def parse_decimal(raw: object) -> Decimal | None:
    """A score typed by a person or read from Excel as ``Decimal`` (None when blank).

    Accepts full-width digits and Excel numbers; raises ``CompetitionError`` for anything else.
    """
    if raw is None:
        return None
    if isinstance(raw, Decimal):
        return raw
    if isinstance(raw, int):
        return Decimal(raw)
    if isinstance(raw, float):
        return Decimal(repr(raw))
    text = to_halfwidth(clean(raw)).replace(" ", "")
    if not text:
        return None
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise CompetitionError(f"“{clean(raw)}”不是数字") from None
    if not value.is_finite():
        raise CompetitionError(f"“{clean(raw)}”不是数字")
    return value
