"""Judging rules: judges' score sheets, entered component scores (theory), time used,
completeness, and the chief judge's lock and unlock. The marking scheme is in ``marking.py``.

Anonymity: everything a judge is given identifies a contestant by ``Entry.number`` and the
opaque ``Entry.code`` only (``ContestantRow``, ``SheetView``, ``Progress``); views for judges
must not pass an ``Entry`` or a ``User`` of a contestant to a template.

Every change of a score writes a ``ScoreChange`` row (append-only history: who, when, old,
new) in the same transaction; lock and unlock are written to the audit log.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import joinedload

from academy.accounts.models import User
from academy.audit.services import record
from academy.common.masking import mask_name
from academy.common.text import clean
from academy.common.timeutil import now_utc
from academy.competitions.marking import load_scheme, scheme_aspects, scheme_problems
from academy.competitions.models import (
    Aspect,
    AspectKind,
    Component,
    ComponentScore,
    ComponentSource,
    Entry,
    EntryStatus,
    Event,
    EventJudge,
    EventStatus,
    Recusal,
    Score,
    ScoreChange,
    ScoreSheet,
    SheetStatus,
    SubCriterion,
    plain_decimal,
)
from academy.competitions.scoring import judgement_spread_too_wide, validate_judge_value
from academy.competitions.services import (
    CompetitionError,
    assignment_of,
    is_chief,
    lock_event,
    parse_decimal,
    require_admin,
)
from academy.errors import DomainError, NotFound, PermissionDenied
from academy.extensions import db

ABSENT_WORDS = ("缺考", "缺赛", "缺席")


class InvalidScores(DomainError):
    """Some values were refused; ``errors`` maps a field key (aspect id, entry id…) to the reason.

    Nothing was saved.
    """

    def __init__(self, message: str, errors: dict):
        super().__init__(message)
        self.errors = errors


# --- judges' view of the contestants --------------------------------------------------------

@dataclass(frozen=True)
class ContestantRow:
    """A contestant as a judge sees them: drawn number, opaque code, own sheet state."""

    code: str
    number: str
    sheet_status: str | None  # None (not started), draft, submitted
    filled: int
    recused: bool
    name: str = ""  # the masked name, only once the results are published


def present_entries(event: Event, *, with_learners: bool = False) -> list[Entry]:
    """Approved, numbered and checked-in contestants by drawn number (who is marked); their
    accounts are loaded only when asked (after publication)."""
    stmt = select(Entry).where(Entry.event_id == event.id, Entry.status == EntryStatus.APPROVED,
                               Entry.number.is_not(None), Entry.checked_in_at.is_not(None))
    if with_learners:
        stmt = stmt.options(joinedload(Entry.learner))
    return list(db.session.scalars(stmt.order_by(Entry.number)))


def judge_board(event: Event, judge: User) -> list[ContestantRow]:
    """What a judge's list shows: every checked-in contestant by number with the judge's own
    sheet state and recusals. Raises ``PermissionDenied`` for a judge not on the event."""
    if assignment_of(event, judge) is None:
        raise PermissionDenied("您未被指派到本赛项")
    sheets = {s.entry_id: s for s in db.session.scalars(
        select(ScoreSheet).where(ScoreSheet.event_id == event.id, ScoreSheet.judge_id == judge.id))}
    recused = set(db.session.scalars(select(Recusal.entry_id).where(Recusal.event_id == event.id,
                                                                     Recusal.judge_id == judge.id)))
    rows = []
    for entry in present_entries(event, with_learners=bool(event.published_at)):
        sheet = sheets.get(entry.id)
        rows.append(ContestantRow(code=entry.code, number=entry.number_label,
                                  sheet_status=sheet.status if sheet else None,
                                  filled=len(sheet.scores) if sheet else 0, recused=entry.id in recused,
                                  name=mask_name(entry.learner.name) if event.published_at else ""))
    return rows


def entry_by_code(event: Event, code: str) -> Entry:
    """The event's entry with the opaque ``code``; raises ``NotFound``."""
    entry = db.session.scalar(select(Entry).where(Entry.event_id == event.id, Entry.code == code))
    if entry is None:
        raise NotFound("找不到这名选手")
    return entry


def _check_judging_open(event: Event, aspects: list[Aspect]) -> None:
    if event.locked_at:
        raise CompetitionError("成绩已锁定，不能再修改")
    if event.status != EventStatus.CONTEST or not event.drawn_at:
        raise CompetitionError("比赛尚未开始评分（需截止报名并抽签）")
    problems = scheme_problems(event, aspects)
    if problems:
        raise CompetitionError(problems[0] + "，请联系管理员")


def _check_can_mark(event: Event, judge: User, entry: Entry) -> EventJudge:
    assignment = assignment_of(event, judge)
    if assignment is None:
        raise PermissionDenied("您未被指派到本赛项")
    if not assignment.marks:
        raise PermissionDenied("您在本赛项不参与评分")
    if entry.event_id != event.id or entry.status != EntryStatus.APPROVED or entry.number is None:
        raise NotFound("找不到这名选手")
    if not entry.checked_in_at:
        raise CompetitionError("这名选手还没有检录")
    if db.session.scalar(select(Recusal.id).where(Recusal.judge_id == judge.id, Recusal.entry_id == entry.id)):
        raise PermissionDenied("您已申请回避这名选手，不能评分")
    return assignment


@dataclass
class SheetView:
    """A judge's sheet for one contestant: number, code, status and the saved values by aspect id."""

    number: str
    code: str
    status: str | None
    values: dict[int, Decimal]
    aspects: list[Aspect]
    sub_criteria: list[SubCriterion]

    def text(self, aspect_id: int) -> str:
        """The saved value as typed ("8.5", "2"), or "" when empty."""
        return plain_decimal(self.values.get(aspect_id))

    @property
    def filled(self) -> int:
        return len(self.values)


def open_sheet(event: Event, judge: User, entry: Entry) -> SheetView:
    """The judge's sheet for ``entry`` (empty if not started).

    Raises ``PermissionDenied`` for a judge not marking the event or recused from the
    contestant, ``NotFound``/``CompetitionError`` when the contestant cannot be marked.
    """
    _check_can_mark(event, judge, entry)
    scheme = load_scheme(event)
    sheet = db.session.scalar(select(ScoreSheet).where(ScoreSheet.entry_id == entry.id,
                                                       ScoreSheet.judge_id == judge.id))
    values = {s.aspect_id: s.value for s in sheet.scores} if sheet else {}
    return SheetView(number=entry.number_label, code=entry.code, status=sheet.status if sheet else None,
                     values=values, aspects=[a for sub in scheme for a in sub.aspects], sub_criteria=scheme)


def save_sheet(event: Event, judge: User, entry: Entry, raw: dict[int, object], *, submit: bool,
               now: datetime | None = None) -> ScoreSheet:
    """Save a judge's values for one contestant, as a draft or submitted.

    ``raw`` maps aspect id → the typed value (blank allowed in a draft). Each value is checked
    (``scoring.validate_judge_value``: 0–3 for judgement; 0–max in 0.5 steps or one of the
    partial marks for measurement); submitting needs every aspect. Every changed value is
    written to the score history. Raises ``InvalidScores`` (nothing saved) with the reason per
    aspect, ``PermissionDenied`` for a judge recused or not marking, ``CompetitionError`` once
    locked.
    """
    now = now or now_utc()
    _check_can_mark(event, judge, entry)
    lock_event(event)
    aspects = scheme_aspects(event)
    _check_judging_open(event, aspects)
    parsed: dict[int, Decimal | None] = {}
    errors: dict[int, str] = {}
    for aspect in aspects:
        try:
            value = parse_decimal(raw.get(aspect.id))
        except CompetitionError as exc:
            errors[aspect.id] = exc.message
            continue
        if value is None:
            if submit:
                errors[aspect.id] = "提交前请填写"
            parsed[aspect.id] = None
            continue
        partial = [Decimal(p) for p in aspect.partial_marks] if aspect.partial_marks else None
        problem = validate_judge_value(aspect.kind, aspect.max_mark, value, partial)
        if problem:
            errors[aspect.id] = problem
        parsed[aspect.id] = value
    if errors:
        raise InvalidScores(f"有 {len(errors)} 项需要修改，评分没有保存", errors)
    sheet = db.session.scalar(select(ScoreSheet).where(ScoreSheet.entry_id == entry.id,
                                                       ScoreSheet.judge_id == judge.id))
    if sheet is None:
        sheet = ScoreSheet(event_id=event.id, entry_id=entry.id, judge_id=judge.id)
        db.session.add(sheet)
        db.session.flush()
    current = {s.aspect_id: s for s in sheet.scores}
    note = "submit" if submit else "draft"
    changes = 0
    for aspect in aspects:
        new = parsed.get(aspect.id)
        old_score = current.get(aspect.id)
        old = old_score.value if old_score else None
        if old == new:
            continue
        if new is None:
            sheet.scores.remove(old_score)
        elif old_score is None:
            sheet.scores.append(Score(aspect_id=aspect.id, value=new))
        else:
            old_score.value = new
        db.session.add(ScoreChange(event_id=event.id, entry_id=entry.id, judge_id=judge.id, aspect_id=aspect.id,
                                   old_value=old, new_value=new, note=note, actor_id=judge.id, at=now))
        changes += 1
    sheet.status = SheetStatus.SUBMITTED if submit else SheetStatus.DRAFT
    sheet.submitted_at = now if submit else None
    sheet.updated_at = now
    db.session.flush()
    record("competition.sheet_submitted" if submit else "competition.sheet_saved", actor=judge, obj=sheet,
           event=event.id, number=entry.number, changes=changes)
    return sheet


# --- entered components and time used ------------------------------------------------------

def set_component_score(entry: Entry, component: Component, value: Decimal | None, *, absent: bool = False,
                        actor: User, now: datetime, note: str = "entry") -> bool:
    """Set one contestant's score in an entered component (or mark them absent, 缺考).

    Returns True when something changed (and was written to the history). Raises
    ``CompetitionError`` for a value outside 0–max or with more than two decimals.
    """
    if component.source != ComponentSource.ENTERED:
        raise CompetitionError(f"{component.name}按评分标准计分，不能直接录入")
    if not absent:
        if value is None:
            raise CompetitionError("请填写成绩")
        if value < 0 or value > component.max_score:
            raise CompetitionError(f"应在 0 到 {component.max_score.normalize():f} 分之间")
        if value != value.quantize(Decimal("0.01")):
            raise CompetitionError("最多两位小数")
    row = db.session.scalar(select(ComponentScore).where(ComponentScore.entry_id == entry.id,
                                                         ComponentScore.component_id == component.id))
    old = None if row is None else row.value
    old_absent = bool(row and row.absent)
    new = None if absent else value
    if row is not None and old_absent == absent and old == new:
        return False
    if row is None:
        row = ComponentScore(entry_id=entry.id, component_id=component.id)
        db.session.add(row)
    row.value, row.absent = new, absent
    db.session.add(ScoreChange(event_id=entry.event_id, entry_id=entry.id, component_id=component.id,
                               old_value=old, new_value=new, note="absent" if absent else note,
                               actor_id=actor.id, at=now))
    return True


def entered_scores(component: Component) -> dict[int, ComponentScore]:
    """The stored scores of an entered component by entry id."""
    return {c.entry_id: c for c in db.session.scalars(
        select(ComponentScore).where(ComponentScore.component_id == component.id))}


def parse_component_value(raw: object) -> tuple[Decimal | None, bool]:
    """A typed or imported component score: ``(value, absent)``; 缺考 → ``(None, True)``."""
    if isinstance(raw, str) and clean(raw) in ABSENT_WORDS:
        return None, True
    return parse_decimal(raw), False


def record_component_scores(event: Event, component: Component, raw: dict[int, object], *, actor: User,
                            now: datetime | None = None) -> int:
    """An administrator types component scores (理论知识) for many contestants at once.

    ``raw`` maps entry id → typed value (blank: unchanged; 缺考: absent). Returns the number of
    changes. Raises ``InvalidScores`` by entry id (nothing saved) and ``CompetitionError`` once
    locked.
    """
    require_admin(actor)
    now = now or now_utc()
    lock_event(event)
    if event.locked_at:
        raise CompetitionError("成绩已锁定，不能修改")
    entries = {e.id: e for e in db.session.scalars(select(Entry).where(Entry.event_id == event.id))}
    planned: list[tuple[Entry, Decimal | None, bool]] = []
    errors: dict[int, str] = {}
    for entry_id, text in raw.items():
        entry = entries.get(entry_id)
        if entry is None or entry.status != EntryStatus.APPROVED:
            continue
        try:
            value, absent = parse_component_value(text)
            if value is None and not absent:
                continue
            if not absent and (value < 0 or value > component.max_score):
                raise CompetitionError(f"应在 0 到 {component.max_score.normalize():f} 分之间")
            planned.append((entry, value, absent))
        except CompetitionError as exc:
            errors[entry_id] = exc.message
    if errors:
        raise InvalidScores(f"有 {len(errors)} 个成绩需要修改，没有保存", errors)
    changed = 0
    for entry, value, absent in planned:
        try:
            changed += set_component_score(entry, component, value, absent=absent, actor=actor, now=now)
        except CompetitionError as exc:
            raise InvalidScores("成绩需要修改，没有保存", {entry.id: exc.message}) from None
    db.session.flush()
    record("competition.component_scores_entered", actor=actor, obj=event, component=component.code,
           changes=changed)
    return changed


def parse_duration(raw: object) -> int | None:
    """Time used as typed: ``"12:34"`` (minutes:seconds), ``"1:02:03"`` or seconds → seconds.

    Blank → None. Raises ``CompetitionError`` for anything else.
    """
    text = clean(raw).replace("：", ":")  # noqa: RUF001 - full-width colon typed on phones
    if not text:
        return None
    parts = text.split(":")
    if not all(p.isdigit() for p in parts) or len(parts) > 3:
        raise CompetitionError("用时请写成 分:秒，如 12:34")
    seconds = 0
    for p in parts:
        seconds = seconds * 60 + int(p)
    return seconds


def record_times(event: Event, raw: dict[str, object], *, actor: User, now: datetime | None = None) -> int:
    """The chief judge (or an administrator) records time used (用时) by contestant code.

    Returns the number of changes. Raises ``InvalidScores`` by code, ``PermissionDenied`` for
    others and ``CompetitionError`` once locked.
    """
    if not (actor.is_admin or is_chief(event, actor)):
        raise PermissionDenied("只有裁判长可以录入用时")
    lock_event(event)
    if event.locked_at:
        raise CompetitionError("成绩已锁定，不能修改")
    entries = {e.code: e for e in present_entries(event)}
    errors: dict[str, str] = {}
    parsed: dict[str, int | None] = {}
    for code, text in raw.items():
        if code not in entries:
            continue
        try:
            parsed[code] = parse_duration(text)
        except CompetitionError as exc:
            errors[code] = exc.message
    if errors:
        raise InvalidScores("用时格式有误，没有保存", errors)
    changed = 0
    for code, seconds in parsed.items():
        entry = entries[code]
        if entry.time_used_seconds != seconds:
            record("competition.time_recorded", actor=actor, obj=entry, number=entry.number,
                   old=entry.time_used_seconds, new=seconds)
            entry.time_used_seconds = seconds
            changed += 1
    db.session.flush()
    return changed


# --- completeness, lock, unlock -------------------------------------------------------------

@dataclass
class Cell:
    """One contestant × judge cell of the chief judge's table."""

    status: str  # none | draft | submitted | recused
    filled: int = 0
    missing: list[str] = field(default_factory=list)


@dataclass
class ProgressRow:
    """One contestant's completeness: cells by judge id, missing component scores, wide spreads."""

    number: str
    code: str
    cells: dict[int, Cell]
    components_missing: list[str]
    spreads: list[str]
    time_used: int | None

    @property
    def complete(self) -> bool:
        return (not self.components_missing
                and all(c.status in ("submitted", "recused") for c in self.cells.values())
                and any(c.status == "submitted" for c in self.cells.values()))


@dataclass
class Progress:
    """The chief judge's view: marking judges, one row per contestant, and what is missing."""

    judges: list[EventJudge]
    aspect_count: int
    rows: list[ProgressRow]
    missing: list[str]
    problems: list[str]

    @property
    def complete(self) -> bool:
        return not self.missing and not self.problems


def progress(event: Event) -> Progress:
    """Completeness per contestant × judge × aspect, with entered components and judgement
    spreads wider than one point (flagged for discussion, not blocking).

    A contestant is complete when every marking judge not recused has submitted a sheet with
    every aspect, and every entered component has a score (or 缺考). Only checked-in
    contestants are marked; the others are 缺赛.
    """
    aspects = scheme_aspects(event)
    problems = scheme_problems(event, aspects)
    judges = sorted((j for j in event.judges if j.marks), key=lambda j: (j.judge.name, j.id))
    entries = present_entries(event)
    entry_ids = [e.id for e in entries]
    sheets: dict[tuple[int, int], ScoreSheet] = {}
    if entry_ids:
        for sheet in db.session.scalars(select(ScoreSheet).where(ScoreSheet.event_id == event.id)):
            sheets[(sheet.entry_id, sheet.judge_id)] = sheet
    recused = {(r.entry_id, r.judge_id) for r in db.session.scalars(
        select(Recusal).where(Recusal.event_id == event.id))}
    entered = [c for c in event.components if c.source == ComponentSource.ENTERED]
    component_rows = {(c.entry_id, c.component_id) for c in db.session.scalars(
        select(ComponentScore).where(ComponentScore.entry_id.in_(entry_ids or [0])))}
    aspect_by_id = {a.id: a for a in aspects}
    rows: list[ProgressRow] = []
    missing: list[str] = []
    for entry in entries:
        cells: dict[int, Cell] = {}
        values_by_aspect: dict[int, list[Decimal]] = defaultdict(list)
        for j in judges:
            if (entry.id, j.judge_id) in recused:
                cells[j.judge_id] = Cell("recused")
                continue
            sheet = sheets.get((entry.id, j.judge_id))
            if sheet is None:
                cells[j.judge_id] = Cell("none", missing=[a.name for a in aspects])
                missing.append(f"{entry.number_label}号：裁判{j.judge.name}尚未评分")
                continue
            have = {s.aspect_id for s in sheet.scores}
            lacking = [a.name for a in aspects if a.id not in have]
            cells[j.judge_id] = Cell(sheet.status, filled=len(have), missing=lacking)
            if sheet.status != SheetStatus.SUBMITTED:
                missing.append(f"{entry.number_label}号：裁判{j.judge.name}的评分未提交"
                               + (f"（缺 {len(lacking)} 项：{_names(lacking)}）" if lacking else ""))
            elif lacking:
                missing.append(f"{entry.number_label}号：裁判{j.judge.name}缺 " + "、".join(lacking))
            else:
                for s in sheet.scores:
                    values_by_aspect[s.aspect_id].append(s.value)
        if judges and all(c.status == "recused" for c in cells.values()):
            missing.append(f"{entry.number_label}号：所有裁判都已回避，没有人能评分")
        if not judges and aspects:
            missing.append(f"{entry.number_label}号：本赛项还没有评分裁判")
        lacking_components = [c.name for c in entered if (entry.id, c.id) not in component_rows]
        for name in lacking_components:
            missing.append(f"{entry.number_label}号：{name}成绩未录入")
        spreads = [aspect_by_id[aid].name for aid, values in values_by_aspect.items()
                   if aid in aspect_by_id and aspect_by_id[aid].kind == AspectKind.JUDGEMENT
                   and judgement_spread_too_wide(values)]
        rows.append(ProgressRow(number=entry.number_label, code=entry.code, cells=cells,
                                components_missing=lacking_components, spreads=spreads,
                                time_used=entry.time_used_seconds))
    if not entries:
        problems = problems + ["还没有检录的选手"]
    return Progress(judges=judges, aspect_count=len(aspects), rows=rows, missing=missing, problems=problems)


def _names(names: list[str], limit: int = 4) -> str:
    return "、".join(names[:limit]) + ("等" if len(names) > limit else "")


def lock_scores(event: Event, *, actor: User, now: datetime | None = None) -> None:
    """The chief judge locks the event's scores after checking them: nothing can change after.

    Refused unless every contestant is complete (``progress``); raises ``CompetitionError``
    whose message lists what is missing, ``PermissionDenied`` for anyone but the chief judge.
    """
    if not is_chief(event, actor):
        raise PermissionDenied("只有本赛项的裁判长可以锁定成绩")
    lock_event(event)
    if event.locked_at:
        raise CompetitionError("成绩已经锁定")
    if not event.drawn_at:
        raise CompetitionError("还没有抽签")
    state = progress(event)
    if not state.complete:
        items = state.problems + state.missing
        raise CompetitionError(f"还有 {len(items)} 项未完成，不能锁定：" + "；".join(items[:20])
                               + ("……" if len(items) > 20 else ""))
    event.locked_at, event.locked_by_id = now or now_utc(), actor.id
    db.session.flush()
    record("competition.scores_locked", actor=actor, obj=event, contestants=len(state.rows))


def unlock_scores(event: Event, reason: str, *, actor: User, now: datetime | None = None) -> None:
    """The chief judge unlocks the scores with a written reason (logged with who and when).

    Refused after publication (withdraw the publication first). Raises ``PermissionDenied``
    for anyone but the chief judge and ``CompetitionError`` without a reason.
    """
    if not is_chief(event, actor):
        raise PermissionDenied("只有本赛项的裁判长可以解锁成绩")
    lock_event(event)
    if not event.locked_at:
        raise CompetitionError("成绩没有锁定")
    if event.published_at:
        raise CompetitionError("成绩已公布，请管理员先撤回公布再解锁")
    reason = clean(reason)
    if len(reason) < 2:
        raise CompetitionError("解锁需要写明原因")
    locked_at = event.locked_at
    event.locked_at = event.locked_by_id = None
    db.session.flush()
    record("competition.scores_unlocked", actor=actor, obj=event, reason=reason,
           locked_at=locked_at.isoformat(), at=(now or now_utc()).isoformat())


def score_history(event: Event) -> list[ScoreChange]:
    """The event's score history, oldest first (for the appeals export)."""
    return list(db.session.scalars(select(ScoreChange).where(ScoreChange.event_id == event.id)
                                   .order_by(ScoreChange.at, ScoreChange.id)))
