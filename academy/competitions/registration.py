"""Registration rules: eligibility, registering from the phone, approval, withdrawal; the draw
of contestant numbers (抽签) and check-in (检录) on the day.

Concurrency: registration and the draw take the event's row lock (``database.lock_row``) before
counting places or numbering, so the capacity is never exceeded under simultaneous requests
(tests/competitions/test_concurrency.py).
"""

from __future__ import annotations

import secrets
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import joinedload

from academy.accounts.models import User
from academy.audit.services import record
from academy.common.ids import age_on
from academy.common.text import clean, digits_text
from academy.common.timeutil import format_local, local_today, now_utc
from academy.competitions import draw as drawing
from academy.competitions.models import PLACE_HOLDING, Entry, EntryStatus, Event, EventStatus
from academy.competitions.services import (
    CompetitionError,
    count_entries,
    places_taken,
    require_admin,
)
from academy.database import lock_row
from academy.errors import Conflict, PermissionDenied
from academy.extensions import db

# --- registration ---------------------------------------------------------------------------

def places_left(event: Event) -> int:
    """Places not yet held by a pending or approved registration."""
    return max(event.capacity - places_taken(event.id), 0)


def get_entry(event: Event, learner: User) -> Entry | None:
    """The learner's registration row for the event, whatever its status, or None."""
    return db.session.scalar(select(Entry).where(Entry.event_id == event.id, Entry.learner_id == learner.id))


def is_registration_open(event: Event, *, now: datetime) -> bool:
    """True when the event is in its registration phase and ``now`` is inside the window."""
    if event.status != EventStatus.REGISTRATION:
        return False
    if event.registration_opens_at and now < event.registration_opens_at:
        return False
    return not (event.registration_closes_at and now >= event.registration_closes_at)


def eligibility_problems(learner: User, event: Event, *, now: datetime, check_window: bool = True,
                         check_existing: bool = True) -> list[str]:
    """Every reason ``learner`` cannot register for ``event`` now (empty when they can).

    Checks the registration window, an active real-name account with an ID number, the event's
    occupation groups, the age range on the contest day (from the ID's birth date), an earlier
    registration and the places left. Messages are written for the learner.
    """
    problems: list[str] = []
    if check_window and not is_registration_open(event, now=now):
        if event.status == EventStatus.REGISTRATION and event.registration_opens_at \
                and now < event.registration_opens_at:
            problems.append(f"报名将于 {format_local(event.registration_opens_at)} 开始")
        elif event.status == EventStatus.REGISTRATION:
            problems.append(f"报名已于 {format_local(event.registration_closes_at)} 截止")
        else:
            problems.append("本赛项当前不接受报名")
    if not learner.is_active_account:
        problems.append("账号已停用")
    if not learner.id_number or not learner.birth_date:
        problems.append("参赛需要实名：请先在“我的资料”中填写身份证号")
    if event.eligible_groups and learner.occupation_group not in event.eligible_groups:
        problems.append("本赛项只接受" + "、".join(event.eligible_groups) + "报名（您的从业类型："
                        + (learner.occupation_group or "未填写") + "，可在“我的资料”中修改）")
    if learner.birth_date and (event.min_age is not None or event.max_age is not None):
        day = event.contest_date or local_today(now)
        age = age_on(learner.birth_date, day)
        if event.min_age is not None and age < event.min_age:
            problems.append(f"比赛当天须年满 {event.min_age} 周岁（您届时 {age} 周岁）")
        if event.max_age is not None and age > event.max_age:
            problems.append(f"比赛当天年龄不能超过 {event.max_age} 周岁（您届时 {age} 周岁）")
    if check_existing:
        mine = get_entry(event, learner)
        if mine is not None and mine.status in PLACE_HOLDING:
            problems.append(f"您已报名本赛项（{mine.status_label}）")
        elif mine is not None and mine.status == EntryStatus.REJECTED:
            problems.append("您的报名未通过审核" + (f"：{mine.decision_reason}" if mine.decision_reason else ""))
    if places_left(event) <= 0:
        problems.append("名额已满")
    return problems


def _new_entry_code() -> str:
    while True:
        code = secrets.token_urlsafe(9)
        if db.session.scalar(select(Entry.id).where(Entry.code == code)) is None:
            return code


def register(learner: User, event: Event, *, now: datetime | None = None) -> Entry:
    """The learner registers from their phone: PENDING (or APPROVED when no approval is needed).

    Takes the event lock, then checks ``eligibility_problems``; raises ``CompetitionError``
    listing every reason when the learner cannot register.
    """
    now = now or now_utc()
    lock_row(db.session, Event, event.id)
    problems = eligibility_problems(learner, event, now=now)
    if problems:
        raise CompetitionError("不能报名：" + "；".join(problems))
    entry = get_entry(event, learner) or Entry(event_id=event.id, learner_id=learner.id, code=_new_entry_code())
    entry.status = EntryStatus.PENDING if event.approval_required else EntryStatus.APPROVED
    entry.source = "self"
    entry.applied_at = now
    entry.platform, entry.district = learner.platform, learner.district
    entry.decided_by_id = entry.decided_at = entry.decision_reason = None
    db.session.add(entry)
    db.session.flush()
    record("competition.registered", actor=learner, obj=entry, event=event.id, status=entry.status)
    return entry


def add_entry(learner: User, event: Event, *, actor: User, now: datetime, platform: str | None = None,
              district: str | None = None, source: str = "import") -> tuple[Entry, bool]:
    """An administrator registers ``learner`` directly (import): APPROVED at once.

    Returns ``(entry, created)``; an existing place-holding entry is returned unchanged. The
    caller holds the event lock and has checked eligibility (imports check every row first).
    """
    entry = get_entry(event, learner)
    if entry is not None and entry.status in PLACE_HOLDING:
        return entry, False
    entry = entry or Entry(event_id=event.id, learner_id=learner.id, code=_new_entry_code())
    entry.status = EntryStatus.APPROVED
    entry.source = source
    entry.applied_at = entry.decided_at = now
    entry.decided_by_id = actor.id
    entry.decision_reason = None
    entry.platform = platform or learner.platform
    entry.district = district or learner.district
    db.session.add(entry)
    db.session.flush()
    record("competition.registered", actor=actor, obj=entry, event=event.id, status=entry.status, source=source)
    return entry, True


def decide_entry(entry: Entry, approve: bool, reason: str = "", *, actor: User, now: datetime | None = None) -> None:
    """An administrator approves or rejects a PENDING registration, recording who, when and why.

    A rejection needs a reason (the learner sees it). Raises ``CompetitionError``.
    """
    require_admin(actor)
    if entry.status != EntryStatus.PENDING:
        raise CompetitionError("这条报名不在待审核状态")
    reason = clean(reason)
    if not approve and not reason:
        raise CompetitionError("不通过时请填写原因")
    entry.status = EntryStatus.APPROVED if approve else EntryStatus.REJECTED
    entry.decided_by_id, entry.decided_at = actor.id, now or now_utc()
    entry.decision_reason = reason or None
    db.session.flush()
    record("competition.entry_approved" if approve else "competition.entry_rejected", actor=actor, obj=entry,
           reason=reason or None)


def withdraw_entry(entry: Entry, *, actor: User, reason: str = "", now: datetime | None = None) -> None:
    """The contestant (or an administrator for them) withdraws (退赛).

    Refused after check-in for the contestant (the chief judge handles a retirement on the day)
    and, for anyone, once the scores are locked. Raises ``PermissionDenied`` for someone else's
    registration and ``CompetitionError`` otherwise.
    """
    if actor.id != entry.learner_id and not actor.is_admin:
        raise PermissionDenied("只能退出自己的报名")
    if entry.status not in PLACE_HOLDING:
        raise CompetitionError("这条报名已经不在有效状态")
    if entry.event.locked_at:
        raise CompetitionError("成绩已锁定，不能退赛")
    if entry.checked_in_at and not actor.is_admin:
        raise CompetitionError("已检录，不能在手机上退赛，请联系现场裁判长")
    entry.status = EntryStatus.WITHDRAWN
    entry.decided_at = now or now_utc()
    if actor.id != entry.learner_id:
        entry.decided_by_id, entry.decision_reason = actor.id, clean(reason) or None
    db.session.flush()
    record("competition.withdrawn", actor=actor, obj=entry, reason=clean(reason) or None)


def entries_for_learner(learner: User) -> list[Entry]:
    """The learner's registrations, newest first, with their events."""
    return list(db.session.scalars(
        select(Entry).options(joinedload(Entry.event)).where(Entry.learner_id == learner.id)
        .order_by(Entry.applied_at.desc())
    ))


def open_events(*, now: datetime) -> list[Event]:
    """Events whose registration is open now, soonest contest first."""
    events = db.session.scalars(select(Event).where(Event.status == EventStatus.REGISTRATION)
                                .order_by(Event.contest_date, Event.id)).all()
    return [e for e in events if is_registration_open(e, now=now)]


def event_entries(event: Event, statuses=None) -> list[Entry]:
    """The event's registrations (optionally only ``statuses``) by number, then registration time,
    with the learners loaded (for administrators' lists)."""
    stmt = select(Entry).options(joinedload(Entry.learner)).where(Entry.event_id == event.id)
    if statuses:
        stmt = stmt.where(Entry.status.in_(statuses))
    rows = db.session.scalars(stmt).unique().all()
    return sorted(rows, key=lambda e: (e.number is None, e.number or 0, e.applied_at, e.id))


# --- the draw and check-in ------------------------------------------------------------------

def draw(event: Event, *, actor: User, seed: str | None = None, now: datetime | None = None) -> str:
    """Draw the contestant numbers (抽签) of the approved registrations; returns the seed.

    The seed (given, or fresh from ``draw.new_seed``) is stored on the event and in the audit
    log; ``draw.draw_numbers`` maps entry ids to numbers, so the same seed and registrations
    give the same numbers. A redraw is allowed until the first check-in. Raises
    ``CompetitionError`` before registration is closed, with pending registrations, after
    check-in has begun, or with nobody to draw.
    """
    require_admin(actor)
    if event.status != EventStatus.CONTEST:
        raise CompetitionError("请先截止报名再抽签")
    lock_row(db.session, Event, event.id)
    if count_entries(event.id, (EntryStatus.PENDING,)):
        raise CompetitionError("还有报名待审核，请先处理再抽签")
    if db.session.scalar(select(func.count()).select_from(Entry)
                         .where(Entry.event_id == event.id, Entry.checked_in_at.is_not(None))):
        raise CompetitionError("检录已经开始，不能重新抽签")
    seed = clean(seed) or drawing.new_seed()
    if len(seed) > 64:
        raise CompetitionError("随机种子最长 64 个字符")
    entries = db.session.scalars(select(Entry).where(Entry.event_id == event.id)).all()
    approved = [e for e in entries if e.status == EntryStatus.APPROVED]
    if not approved:
        raise CompetitionError("没有已通过审核的选手，无法抽签")
    for entry in entries:
        entry.number = None
    db.session.flush()
    numbers = drawing.draw_numbers(seed, [e.id for e in approved])
    for entry in approved:
        entry.number = numbers[entry.id]
    event.draw_seed, event.drawn_at, event.drawn_by_id = seed, now or now_utc(), actor.id
    db.session.flush()
    record("competition.drawn", actor=actor, obj=event, seed=seed, contestants=len(approved))
    return seed


def check_in(event: Event, typed: str, *, actor: User, now: datetime | None = None) -> Entry:
    """Check a contestant in (检录) by the last 6 characters or the whole ID number.

    Returns the entry (the page shows the name and drawn number to hand out). Raises
    ``CompetitionError`` before the draw, after the lock, when nothing or several contestants
    match the last 6 characters, or when the contestant is already checked in.
    """
    require_admin(actor)
    if not event.drawn_at:
        raise CompetitionError("请先抽签再检录")
    if event.locked_at:
        raise CompetitionError("成绩已锁定，检录已结束")
    text = digits_text(typed)
    if len(text) not in (6, 18):
        raise CompetitionError("请输入身份证号后 6 位或完整的 18 位身份证号")
    stmt = (select(Entry).join(User, Entry.learner_id == User.id)
            .where(Entry.event_id == event.id, Entry.status == EntryStatus.APPROVED))
    stmt = stmt.where(User.id_number == text) if len(text) == 18 else stmt.where(User.id_number.like(f"%{text}"))
    matches = db.session.scalars(stmt).all()
    if not matches:
        raise CompetitionError("没有找到这名选手：请核对身份证号，或确认其报名已通过审核")
    if len(matches) > 1:
        raise CompetitionError("有多名选手身份证号后 6 位相同，请输入完整的 18 位身份证号")
    entry = matches[0]
    if entry.checked_in_at:
        raise Conflict(f"{entry.number_label}号选手已于 {format_local(entry.checked_in_at, '%H:%M')} 检录")
    entry.checked_in_at, entry.checked_in_by_id = now or now_utc(), actor.id
    db.session.flush()
    record("competition.checked_in", actor=actor, obj=entry, number=entry.number)
    return entry
