"""Enrolment rules: seats, waitlist, approvals, withdrawals.

Concurrency: every change that allocates or frees a seat first calls ``lock_row`` on the
cohort (an UPDATE of its ``lock_version``). That takes the row lock on PostgreSQL and the
database write lock on SQLite, so the seat count read afterwards is current and capacity is
never exceeded, whatever the number of simultaneous requests (tests/enrolment/test_concurrency.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Protocol

from sqlalchemy import ARRAY, ColumnElement, any_, func, insert, literal, select
from sqlalchemy.orm import lazyload

from academy.accounts.models import Role, User
from academy.audit.services import record, record_many
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


INACTIVE_ACCOUNT = "账号已停用"
SEAT_IN_COURSE = "已在本课程的另一个班级中"


def ineligibility_reason(learner: User, cohort: Cohort) -> str | None:
    """Return why ``learner`` cannot take a seat in ``cohort`` now, or None if they can.

    Reasons: the account is deactivated, or the learner already holds a seat in another
    cohort of the same course.
    """
    if not learner.is_active_account:
        return INACTIVE_ACCOUNT
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
        return SEAT_IN_COURSE
    return None


def _seats_taken(cohort_id: int) -> int:
    return db.session.scalar(
        select(func.count()).select_from(Enrolment).where(
            Enrolment.cohort_id == cohort_id, Enrolment.status.in_(SEAT_HOLDING)
        )
    )


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
    application. Audited as ``enrolment.applied``. (``enrol_many`` with one application.)
    """
    result = enrol_many([(learner, cohort)], now=now, actor=actor, source=source, check_window=check_window)[0]
    if isinstance(result, DomainError):
        raise result
    return get_enrolment(learner.id, cohort.id)


class Applicant(Protocol):
    """What the enrolment rules read of an applicant: a ``User``, or a stand-in for accounts an
    import has just inserted in bulk (id, active account, roles)."""

    id: int
    is_active_account: bool

    def has_role(self, *roles: Role | str) -> bool: ...


IN_CHUNK = 500  # values per ``IN (…)`` list


def _chunks(ids: list[int]) -> list[list[int]]:
    return [ids[i:i + IN_CHUNK] for i in range(0, len(ids), IN_CHUNK)]


def in_list(column, values: Sequence) -> ColumnElement[bool]:
    """``column IN (values)``; on PostgreSQL ``column = ANY(:array)``, a single parameter.

    psycopg re-parses every statement longer than 4 KB on each execution (it caches only short
    ones), so hundreds of placeholders cost more than the query itself (bulk imports).
    """
    if db.session.get_bind().dialect.name == "postgresql":
        return column == any_(literal(list(values), ARRAY(column.type)))
    return column.in_(values)


def enrol_many(applications: Sequence[tuple[Applicant, Cohort]], *, now: datetime | None = None,
               actor: User | None = None, source: str = "self",
               check_window: bool = True) -> list[EnrolmentStatus | DomainError]:
    """Apply each ``(learner, cohort)`` in order, exactly as ``enrol`` called once per pair would.

    Same rules, same order: seats first come first served, then the FIFO waitlist; an active
    application is a ``Conflict``; an ineligible learner (deactivated, or holding a seat in
    another cohort of the course — including one given earlier in this same call) an
    ``EnrolmentError``. Returns, per pair, the status of the application (ENROLLED, PENDING or
    WAITLISTED) or the error ``enrol`` would have raised (never raises those). Each cohort is
    locked once (in id order) before its seats are counted. Learners must have ids (flushed).
    Audited as ``enrolment.applied`` per application, the actor being ``actor`` or else the
    learner. ``now`` (aware) stamps the applications (default: the current time).

    Queries: per cohort, a lock and a reload; per 500 learners, their applications, their seats
    in the same courses and the ids of the new rows; then seat counts, waitlist ends, one
    executemany INSERT of the new rows, a recount and one of the audit events — however many
    applications there are (a re-application reuses its row: one UPDATE each).
    """
    now = now or now_utc()
    results: list[EnrolmentStatus | DomainError | None] = [None] * len(applications)
    todo: list[int] = []
    for i, (learner, cohort) in enumerate(applications):
        results[i] = _refusal(learner, cohort, now=now, check_window=check_window)
        if results[i] is None:
            todo.append(i)
    if not todo:
        return results  # type: ignore[return-value]
    db.session.flush()
    cohorts = {applications[i][1].id: applications[i][1] for i in todo}
    for cohort_id in sorted(cohorts):
        _lock(cohorts[cohort_id])
    learner_ids = sorted({applications[i][0].id for i in todo})
    existing = _applications(learner_ids, list(cohorts))
    held = _seats_held(learner_ids, {c.course_id for c in cohorts.values()})
    taken = _seats_taken_in(list(cohorts))
    next_seq = _next_waitlist_seqs(list(cohorts))
    active: dict[tuple[int, int], str] = {key: e.status for key, e in existing.items() if e.status in ACTIVE}
    new_rows: dict[tuple[int, int], dict] = {}  # first applications, inserted in bulk below
    for i in todo:
        learner, cohort = applications[i]
        key = (learner.id, cohort.id)
        if cohort.status in (CohortStatus.FINISHED, CohortStatus.CANCELLED):  # as reloaded under the lock
            results[i] = EnrolmentError("该班级已结束或已取消")
            continue
        if key in active:
            results[i] = Conflict(f"您已在该班级（{ACTIVE_LABELS[active[key]]}）")
            continue
        if not learner.is_active_account:
            results[i] = EnrolmentError(f"不能报名：{INACTIVE_ACCOUNT}")
            continue
        if held.get((learner.id, cohort.course_id), set()) - {cohort.id}:
            results[i] = EnrolmentError(f"不能报名：{SEAT_IN_COURSE}")
            continue
        values = {"applied_at": now, "source": source, "decided_by_id": None, "decided_at": None,
                  "decision_reason": None, "enrolled_at": None, "waitlist_seq": None}
        if taken[cohort.id] < cohort.capacity:
            values["status"] = _seat_status(cohort, source)
            if values["status"] == EnrolmentStatus.ENROLLED:
                values["enrolled_at"] = now
            taken[cohort.id] += 1
            held.setdefault((learner.id, cohort.course_id), set()).add(cohort.id)
        else:
            values["status"] = EnrolmentStatus.WAITLISTED
            values["waitlist_seq"] = next_seq[cohort.id]
            next_seq[cohort.id] += 1
        active[key] = results[i] = values["status"]
        reused = existing.get(key)
        if reused is not None:  # withdrew, was rejected or removed before: the same row joins again
            for name, value in values.items():
                setattr(reused, name, value)
        else:
            new_rows[key] = {"learner_id": learner.id, "cohort_id": cohort.id, **values}
    db.session.flush()
    ids = {key: e.id for key, e in existing.items()}
    if new_rows:
        db.session.execute(insert(Enrolment.__table__), list(new_rows.values()))  # one executemany
        ids |= _application_ids(sorted({lid for lid, _ in new_rows}), sorted({cid for _, cid in new_rows}))
    for cohort_id, count in _seats_taken_in(list(cohorts)).items():
        cohorts[cohort_id].seats_taken = count
    applied = [i for i in todo if isinstance(results[i], EnrolmentStatus)]
    record_many("enrolment.applied", [
        (actor or applications[i][0], "Enrolment", ids[(applications[i][0].id, applications[i][1].id)],
         {"status": results[i], "cohort": applications[i][1].code}) for i in applied])
    return results  # type: ignore[return-value]


def _refusal(learner: Applicant, cohort: Cohort, *, now: datetime, check_window: bool) -> EnrolmentError | None:
    """What ``enrol`` refuses before taking the cohort lock (not a learner, window, cohort closed)."""
    if not learner.has_role(Role.LEARNER):
        return EnrolmentError("只有学员账号可以报名")
    if check_window and not is_open_for_enrolment(cohort, now=now):
        return EnrolmentError("该班级当前不接受报名")
    if cohort.status in (CohortStatus.FINISHED, CohortStatus.CANCELLED):
        return EnrolmentError("该班级已结束或已取消")
    return None


def _applications(learner_ids: list[int], cohort_ids: list[int]) -> dict[tuple[int, int], Enrolment]:
    """Every enrolment row (any status) of the learners in the cohorts, by (learner id, cohort id).

    The learner and cohort are not joined: callers hold them, so they come from the session.
    """
    out: dict[tuple[int, int], Enrolment] = {}
    for chunk in _chunks(learner_ids):
        stmt = (select(Enrolment).where(in_list(Enrolment.learner_id, chunk), Enrolment.cohort_id.in_(cohort_ids))
                .options(lazyload(Enrolment.learner), lazyload(Enrolment.cohort)))
        for e in db.session.scalars(stmt):
            out[(e.learner_id, e.cohort_id)] = e
    return out


def _application_ids(learner_ids: list[int], cohort_ids: list[int]) -> dict[tuple[int, int], int]:
    """Enrolment ids by (learner id, cohort id), as plain rows (no objects to build)."""
    out: dict[tuple[int, int], int] = {}
    for chunk in _chunks(learner_ids):
        rows = db.session.execute(select(Enrolment.learner_id, Enrolment.cohort_id, Enrolment.id).where(
            in_list(Enrolment.learner_id, chunk), Enrolment.cohort_id.in_(cohort_ids)))
        out |= {(learner_id, cohort_id): ident for learner_id, cohort_id, ident in rows}
    return out


def _seats_held(learner_ids: list[int], course_ids: set[int]) -> dict[tuple[int, int], set[int]]:
    """Cohorts (open, running or planned) of the courses where each learner holds a seat,
    by (learner id, course id) — what ``ineligibility_reason`` looks for."""
    out: dict[tuple[int, int], set[int]] = {}
    for chunk in _chunks(learner_ids):
        rows = db.session.execute(
            select(Enrolment.learner_id, Cohort.course_id, Cohort.id)
            .join(Cohort, Enrolment.cohort_id == Cohort.id)
            .where(in_list(Enrolment.learner_id, chunk), Enrolment.status.in_(SEAT_HOLDING),
                   Cohort.course_id.in_(course_ids),
                   Cohort.status.in_((CohortStatus.OPEN, CohortStatus.RUNNING, CohortStatus.PLANNED))))
        for learner_id, course_id, cohort_id in rows:
            out.setdefault((learner_id, course_id), set()).add(cohort_id)
    return out


def _seats_taken_in(cohort_ids: list[int]) -> dict[int, int]:
    """Seat-holding enrolments per cohort (0 for none)."""
    rows = db.session.execute(
        select(Enrolment.cohort_id, func.count()).where(Enrolment.cohort_id.in_(cohort_ids),
                                                        Enrolment.status.in_(SEAT_HOLDING))
        .group_by(Enrolment.cohort_id))
    return {cohort_id: 0 for cohort_id in cohort_ids} | dict(rows.all())


def _next_waitlist_seqs(cohort_ids: list[int]) -> dict[int, int]:
    """The waitlist number the next waitlisted application of each cohort gets."""
    rows = db.session.execute(
        select(Enrolment.cohort_id, func.max(Enrolment.waitlist_seq)).where(Enrolment.cohort_id.in_(cohort_ids))
        .group_by(Enrolment.cohort_id))
    current = dict(rows.all())
    return {cohort_id: (current.get(cohort_id) or 0) + 1 for cohort_id in cohort_ids}


def _seat_status(cohort: Cohort, source: str) -> EnrolmentStatus:
    """A seat given to a learner's own application waits for approval in an approval cohort."""
    if cohort.approval_required and source == "self":
        return EnrolmentStatus.PENDING
    return EnrolmentStatus.ENROLLED


def _give_seat(enrolment: Enrolment, cohort: Cohort, *, now: datetime) -> None:
    enrolment.waitlist_seq = None
    enrolment.status = _seat_status(cohort, enrolment.source)
    if enrolment.status == EnrolmentStatus.ENROLLED:
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
