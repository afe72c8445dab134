"""Enrolment rules: seats, waitlist, approvals, withdrawals.

Concurrency: every change that allocates or frees a seat first calls ``lock_row`` on the
cohort (an UPDATE of its ``lock_version``). That takes the row lock on PostgreSQL and the
database write lock on SQLite, so the seat count read afterwards is current and capacity is
never exceeded, whatever the number of simultaneous requests (tests/enrolment/test_concurrency.py).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select

from academy.accounts.models import Role, User
from academy.audit.services import record
from academy.catalogue.models import Cohort, CohortStatus
from academy.catalogue.services import is_open_for_enrolment
from academy.common.timeutil import now_utc
from academy.database import lock_row
from academy.enrolment.models import ACTIVE, SEAT_HOLDING, Enrolment, EnrolmentStatus
from academy.errors import Conflict, DomainError, PermissionDenied
from academy.extensions import db


class EnrolmentError(DomainError):
    """An enrolment rule refused the operation."""


# Service messages stay Chinese whatever the visitor's language (see docs/architecture.md).
ACTIVE_LABELS = {EnrolmentStatus.PENDING: "待审核", EnrolmentStatus.ENROLLED: "已报名",
                 EnrolmentStatus.WAITLISTED: "候补中"}


def ineligibility_reason(learner: User, cohort: Cohort) -> str | None:
    """Return why ``learner`` cannot take a seat in ``cohort`` now, or None if they can.

    Reasons: the account is deactivated, or the learner already holds a seat in another
    cohort of the same course.
    """
    if not learner.is_active_account:
        return "账号已停用"
    clash = db.session.scalar(
        select(Cohort.code)
        .join(Enrolment, Enrolment.cohort_id == Cohort.id)
        .where(
            Enrolment.learner_id == learner.id,
            Enrolment.status.in_(SEAT_HOLDING),
            Cohort.course_id == cohort.course_id,
            Cohort.id != cohort.id,
            Cohort.status.in_((CohortStatus.OPEN, CohortStatus.RUNNING, CohortStatus.PLANNED)),
        )
    )
    if clash:
        return "已在本课程的另一个班级中"
    return None


def _seats_taken(cohort_id: int) -> int:
    return db.session.scalar(
        select(func.count()).select_from(Enrolment).where(
            Enrolment.cohort_id == cohort_id, Enrolment.status.in_(SEAT_HOLDING)
        )
    )


def _next_waitlist_seq(cohort_id: int) -> int:
    current = db.session.scalar(select(func.max(Enrolment.waitlist_seq)).where(Enrolment.cohort_id == cohort_id))
    return (current or 0) + 1


def _sync_seats(cohort: Cohort) -> None:
    cohort.seats_taken = _seats_taken(cohort.id)


def _lock(cohort: Cohort) -> None:
    """Take the cohort lock and reload its state (capacity, seats) from the database."""
    lock_row(db.session, Cohort, cohort.id)
    db.session.refresh(cohort, attribute_names=["capacity", "status", "seats_taken", "approval_required"])


def enrol(learner: User, cohort: Cohort, *, now: datetime | None = None, actor: User | None = None,
          source: str = "self", check_window: bool = True) -> Enrolment:
    """Apply ``learner`` to ``cohort``: a seat if one is free, else the FIFO waitlist.

    With ``approval_required`` the seat is held as PENDING until an admin decides. An admin
    import or enrolment (``source`` "import"/"admin") may bypass the enrolment window
    (``check_window=False``); ``now`` is an aware datetime (default: the current time). A
    learner who withdrew, was rejected or removed may apply again: the same row is reused and
    joins the end of the queue. Raises ``EnrolmentError`` when the person is not a learner, the
    cohort is not open, finished or cancelled, or the learner is ineligible
    (``ineligibility_reason``), and ``Conflict`` when the learner already has an active
    application. Audited as ``enrolment.applied``.
    """
    now = now or now_utc()
    actor = actor or learner
    if not learner.has_role(Role.LEARNER):
        raise EnrolmentError("只有学员账号可以报名")
    if check_window and not is_open_for_enrolment(cohort, now=now):
        raise EnrolmentError("该班级当前不接受报名")
    if cohort.status in (CohortStatus.FINISHED, CohortStatus.CANCELLED):
        raise EnrolmentError("该班级已结束或已取消")
    _lock(cohort)
    existing = db.session.scalar(
        select(Enrolment).where(Enrolment.learner_id == learner.id, Enrolment.cohort_id == cohort.id)
    )
    if existing is not None and existing.status in ACTIVE:
        raise Conflict(f"您已在该班级（{ACTIVE_LABELS[existing.status]}）")
    reason = ineligibility_reason(learner, cohort)
    if reason:
        raise EnrolmentError(f"不能报名：{reason}")
    enrolment = existing or Enrolment(learner_id=learner.id, cohort_id=cohort.id)
    enrolment.applied_at = now
    enrolment.source = source
    enrolment.decided_by_id = enrolment.decided_at = enrolment.decision_reason = None
    enrolment.enrolled_at = None
    if _seats_taken(cohort.id) < cohort.capacity:
        _give_seat(enrolment, cohort, now=now)
    else:
        enrolment.status = EnrolmentStatus.WAITLISTED
        enrolment.waitlist_seq = _next_waitlist_seq(cohort.id)
    db.session.add(enrolment)
    db.session.flush()
    _sync_seats(cohort)
    record("enrolment.applied", actor=actor, obj=enrolment, status=enrolment.status, cohort=cohort.code)
    return enrolment


def _give_seat(enrolment: Enrolment, cohort: Cohort, *, now: datetime) -> None:
    enrolment.waitlist_seq = None
    if cohort.approval_required and enrolment.source == "self":
        enrolment.status = EnrolmentStatus.PENDING
    else:
        enrolment.status = EnrolmentStatus.ENROLLED
        enrolment.enrolled_at = now


def promote_waitlist(cohort: Cohort, *, now: datetime | None = None, actor: User | None = None) -> list[Enrolment]:
    """Fill free seats from the head of the waitlist, in FIFO order (caller holds the lock).

    An ineligible head is skipped (left waitlisted, audited) and does not block those behind.
    Returns the promoted enrolments.
    """
    now = now or now_utc()
    free = cohort.capacity - _seats_taken(cohort.id)
    promoted: list[Enrolment] = []
    if free <= 0:
        return promoted
    queue = db.session.scalars(
        select(Enrolment)
        .where(Enrolment.cohort_id == cohort.id, Enrolment.status == EnrolmentStatus.WAITLISTED)
        .order_by(Enrolment.waitlist_seq, Enrolment.id)
    ).all()
    for entry in queue:
        if len(promoted) >= free:
            break
        reason = ineligibility_reason(entry.learner, cohort)
        if reason:
            record("enrolment.waitlist_skipped", actor=actor, obj=entry, reason=reason)
            continue
        _give_seat(entry, cohort, now=now)
        promoted.append(entry)
        record("enrolment.promoted", actor=actor, obj=entry, status=entry.status)
    db.session.flush()
    _sync_seats(cohort)
    return promoted


def withdraw(enrolment: Enrolment, *, actor: User, now: datetime | None = None) -> list[Enrolment]:
    """The learner (or an admin for them) withdraws; a freed seat goes to the waitlist.

    Withdrawing a waitlisted application frees no seat, so nobody is promoted. Returns the
    enrolments promoted as a result. Raises ``PermissionDenied`` if ``actor`` is neither the
    learner nor an admin, and ``EnrolmentError`` if the application is no longer active or the
    cohort has finished. Audited as ``enrolment.withdrawn``.
    """
    if actor.id != enrolment.learner_id and not actor.is_admin:
        raise PermissionDenied("只能退出自己的报名")
    cohort = enrolment.cohort
    _lock(cohort)
    db.session.refresh(enrolment, attribute_names=["status"])
    if enrolment.status not in ACTIVE:
        raise EnrolmentError("这条报名已经不在有效状态")
    if cohort.status == CohortStatus.FINISHED:
        raise EnrolmentError("班级已结业，不能退出")
    held = enrolment.holds_seat
    enrolment.status = EnrolmentStatus.WITHDRAWN
    enrolment.waitlist_seq = None
    db.session.flush()
    record("enrolment.withdrawn", actor=actor, obj=enrolment)
    promoted = promote_waitlist(cohort, now=now, actor=actor) if held else []
    _sync_seats(cohort)
    return promoted


def remove(enrolment: Enrolment, reason: str, *, actor: User, now: datetime | None = None) -> list[Enrolment]:
    """An admin removes a learner (seated or waitlisted) from a cohort with a reason.

    Records who, when (``now``, default the current time) and why on the enrolment; a freed
    seat goes to the waitlist. Returns the enrolments promoted. Raises ``PermissionDenied``
    unless ``actor`` is an admin and ``EnrolmentError`` for an empty reason or an application
    that is no longer active. Audited as ``enrolment.removed``.
    """
    if not actor.is_admin:
        raise PermissionDenied("只有管理员可以移出学员")
    if not reason.strip():
        raise EnrolmentError("请填写移出原因")
    cohort = enrolment.cohort
    _lock(cohort)
    db.session.refresh(enrolment, attribute_names=["status"])
    if enrolment.status not in ACTIVE:
        raise EnrolmentError("这条报名已经不在有效状态")
    held = enrolment.holds_seat
    enrolment.status = EnrolmentStatus.REMOVED
    enrolment.waitlist_seq = None
    enrolment.decided_by_id = actor.id
    enrolment.decided_at = now or now_utc()
    enrolment.decision_reason = reason.strip()
    db.session.flush()
    record("enrolment.removed", actor=actor, obj=enrolment, reason=reason.strip())
    promoted = promote_waitlist(cohort, now=now, actor=actor) if held else []
    _sync_seats(cohort)
    return promoted


def decide(enrolment: Enrolment, approve: bool, reason: str, *, actor: User,
           now: datetime | None = None) -> list[Enrolment]:
    """An admin approves or rejects a PENDING application, recording who, when and why.

    ``reason`` is optional for an approval and required for a rejection. A rejection frees the
    seat for the waitlist (a promoted application in such a cohort is PENDING again); returns
    the enrolments promoted. Raises ``PermissionDenied`` unless ``actor`` is an admin and
    ``EnrolmentError`` when the application is not pending or a rejection has no reason.
    Audited as ``enrolment.approved``/``enrolment.rejected``.
    """
    if not actor.is_admin:
        raise PermissionDenied("只有管理员可以审核报名")
    now = now or now_utc()
    cohort = enrolment.cohort
    _lock(cohort)
    db.session.refresh(enrolment, attribute_names=["status"])
    if enrolment.status != EnrolmentStatus.PENDING:
        raise EnrolmentError("这条报名不在待审核状态")
    if not approve and not reason.strip():
        raise EnrolmentError("不通过时请填写原因")
    enrolment.status = EnrolmentStatus.ENROLLED if approve else EnrolmentStatus.REJECTED
    enrolment.enrolled_at = now if approve else None
    enrolment.decided_by_id = actor.id
    enrolment.decided_at = now
    enrolment.decision_reason = reason.strip() or None
    db.session.flush()
    record("enrolment.approved" if approve else "enrolment.rejected", actor=actor, obj=enrolment,
           reason=reason.strip() or None)
    promoted = [] if approve else promote_waitlist(cohort, now=now, actor=actor)
    _sync_seats(cohort)
    return promoted


def change_capacity(cohort: Cohort, capacity: int, *, actor: User, now: datetime | None = None) -> list[Enrolment]:
    """Set the number of seats; more seats promote from the waitlist at once.

    Returns the enrolments promoted. Raises ``PermissionDenied`` unless ``actor`` is an admin,
    and ``EnrolmentError`` when the new capacity is below 1 or below the seats already taken
    (pending and enrolled). Audited as ``cohort.capacity_changed``.
    """
    if not actor.is_admin:
        raise PermissionDenied("只有管理员可以修改名额")
    if capacity < 1:
        raise EnrolmentError("名额至少为1")
    _lock(cohort)
    taken = _seats_taken(cohort.id)
    if capacity < taken:
        raise EnrolmentError(f"名额不能少于已报名人数（{taken}人）")
    old = cohort.capacity
    cohort.capacity = capacity
    db.session.flush()
    record("cohort.capacity_changed", actor=actor, obj=cohort, old=old, new=capacity)
    return promote_waitlist(cohort, now=now, actor=actor)


def waitlist_position(enrolment: Enrolment) -> int | None:
    """1-based place in the waitlist, or None when not waitlisted."""
    if enrolment.status != EnrolmentStatus.WAITLISTED or enrolment.waitlist_seq is None:
        return None
    ahead = db.session.scalar(
        select(func.count()).select_from(Enrolment).where(
            Enrolment.cohort_id == enrolment.cohort_id,
            Enrolment.status == EnrolmentStatus.WAITLISTED,
            Enrolment.waitlist_seq < enrolment.waitlist_seq,
        )
    )
    return ahead + 1


def list_for_learner(learner: User) -> list[Enrolment]:
    """The learner's applications, newest cohort first (for "my courses")."""
    return list(
        db.session.scalars(
            select(Enrolment)
            .join(Cohort, Enrolment.cohort_id == Cohort.id)
            .where(Enrolment.learner_id == learner.id)
            .order_by(Cohort.start_date.desc())
        )
    )


def class_list(cohort: Cohort, *, include_waitlist: bool = True) -> list[Enrolment]:
    """Seat holders of ``cohort`` (by name), then the waitlist in queue order."""
    statuses = ACTIVE if include_waitlist else SEAT_HOLDING
    rows = db.session.scalars(
        select(Enrolment).where(Enrolment.cohort_id == cohort.id, Enrolment.status.in_(statuses))
    ).all()
    seated = sorted((e for e in rows if e.holds_seat), key=lambda e: (e.learner.name, e.id))
    waiting = sorted((e for e in rows if not e.holds_seat), key=lambda e: e.waitlist_seq or 0)
    return seated + waiting


def enrolled_learner_ids(cohort_id: int) -> list[int]:
    """Ids of learners holding an ENROLLED seat in the cohort (what registers and gradebooks list)."""
    return list(db.session.scalars(
        select(Enrolment.learner_id).where(Enrolment.cohort_id == cohort_id,
                                           Enrolment.status == EnrolmentStatus.ENROLLED)
    ))


def get_enrolment(learner_id: int, cohort_id: int) -> Enrolment | None:
    """The learner's enrolment row in the cohort, whatever its status, or None."""
    return db.session.scalar(
        select(Enrolment).where(Enrolment.learner_id == learner_id, Enrolment.cohort_id == cohort_id)
    )
