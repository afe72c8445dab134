"""Enrolment rules: seats, approval, the FIFO waitlist and its automatic promotion, withdrawal,
removal, capacity changes, re-application, and the seat counter."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from academy.accounts.models import Role
from academy.audit.models import AuditEvent
from academy.catalogue.models import Cohort, CohortStatus
from academy.enrolment import services
from academy.enrolment.models import SEAT_HOLDING, Enrolment, EnrolmentStatus
from academy.enrolment.services import EnrolmentError
from academy.errors import Conflict, PermissionDenied
from academy.extensions import db
from tests.factories import (
    enrol,
    make_admin,
    make_cohort,
    make_course,
    make_instructor,
    make_learner,
    make_user,
)

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
ENROLLED, PENDING, WAITLISTED = EnrolmentStatus.ENROLLED, EnrolmentStatus.PENDING, EnrolmentStatus.WAITLISTED


def _seat_count(cohort: Cohort) -> int:
    return db.session.scalar(select(func.count()).select_from(Enrolment).where(
        Enrolment.cohort_id == cohort.id, Enrolment.status.in_(SEAT_HOLDING)))


def _assert_counter(cohort: Cohort) -> None:
    """The denormalised counter always equals the number of seat-holding enrolments."""
    assert cohort.seats_taken == _seat_count(cohort)
    assert cohort.seats_taken <= cohort.capacity


def _statuses(enrolments) -> list[str]:
    return [e.status for e in enrolments]


def _actions(action: str) -> list[AuditEvent]:
    return list(db.session.scalars(select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)))


# --- enrol ----------------------------------------------------------------------------------

def test_a_learner_enrols_in_an_open_cohort_and_takes_a_seat():
    cohort, learner = make_cohort(capacity=2), make_learner()
    enrolment = services.enrol(learner, cohort, now=NOW)
    assert enrolment.status == ENROLLED
    assert enrolment.applied_at == enrolment.enrolled_at == NOW
    assert enrolment.source == "self"
    assert cohort.seats_taken == 1 and cohort.seats_left == 1
    assert _actions("enrolment.applied")[0].details["status"] == "enrolled"
    _assert_counter(cohort)


def test_a_second_application_to_the_same_cohort_is_a_conflict():
    cohort, learner = make_cohort(), make_learner()
    services.enrol(learner, cohort, now=NOW)
    with pytest.raises(Conflict, match="已报名"):
        services.enrol(learner, cohort, now=NOW)
    _assert_counter(cohort)


def test_a_waitlisted_learner_cannot_apply_twice_either():
    cohort = make_cohort(capacity=1)
    services.enrol(make_learner(), cohort, now=NOW)
    waiting = make_learner()
    services.enrol(waiting, cohort, now=NOW)
    with pytest.raises(Conflict, match="候补中"):
        services.enrol(waiting, cohort, now=NOW)


def test_applications_outside_the_window_are_refused():
    cohort = make_cohort(enrolment_opens_at=NOW + timedelta(days=1), enrolment_closes_at=NOW + timedelta(days=5))
    with pytest.raises(EnrolmentError, match="不接受报名"):
        services.enrol(make_learner(), cohort, now=NOW)
    with pytest.raises(EnrolmentError, match="不接受报名"):
        services.enrol(make_learner(), cohort, now=NOW + timedelta(days=5))
    assert services.enrol(make_learner(), cohort, now=NOW + timedelta(days=2)).status == ENROLLED


def test_an_admin_enrolment_may_bypass_the_window_but_not_a_finished_or_cancelled_cohort():
    closed = make_cohort(enrolment_closes_at=NOW - timedelta(days=1), status=CohortStatus.RUNNING)
    admin = make_admin()
    enrolment = services.enrol(make_learner(), closed, now=NOW, actor=admin, source="admin", check_window=False)
    assert enrolment.status == ENROLLED and enrolment.source == "admin"
    for status in (CohortStatus.FINISHED, CohortStatus.CANCELLED):
        cohort = make_cohort(status=status)
        with pytest.raises(EnrolmentError, match="已结束或已取消"):
            services.enrol(make_learner(), cohort, now=NOW, actor=admin, source="admin", check_window=False)


def test_only_learner_accounts_enrol():
    with pytest.raises(EnrolmentError, match="只有学员"):
        services.enrol(make_instructor(), make_cohort(), now=NOW)
    both = make_user(Role.INSTRUCTOR, Role.LEARNER)
    assert services.enrol(both, make_cohort(), now=NOW).status == ENROLLED


def test_a_learner_holds_one_seat_per_course_at_a_time():
    course = make_course()
    first, second = make_cohort(course), make_cohort(course)
    learner = make_learner()
    services.enrol(learner, first, now=NOW)
    with pytest.raises(EnrolmentError, match="另一个班级"):
        services.enrol(learner, second, now=NOW)
    first.status = CohortStatus.FINISHED  # a finished run does not block the next one
    assert services.enrol(learner, second, now=NOW).status == ENROLLED


def test_a_deactivated_learner_cannot_enrol():
    with pytest.raises(EnrolmentError, match="账号已停用"):
        services.enrol(make_learner(is_active_account=False), make_cohort(), now=NOW)


# --- approval -------------------------------------------------------------------------------

def test_with_approval_a_pending_application_holds_a_seat():
    cohort = make_cohort(capacity=1, approval_required=True)
    pending = services.enrol(make_learner(), cohort, now=NOW)
    assert pending.status == PENDING and pending.enrolled_at is None
    assert cohort.seats_left == 0
    assert services.enrol(make_learner(), cohort, now=NOW).status == WAITLISTED
    _assert_counter(cohort)


def test_an_import_into_an_approval_cohort_is_enrolled_directly():
    cohort = make_cohort(approval_required=True)
    assert enrol(make_learner(), cohort, source="import").status == ENROLLED


def test_approval_records_who_when_and_why():
    admin = make_admin()
    cohort = make_cohort(approval_required=True)
    enrolment = services.enrol(make_learner(), cohort, now=NOW)
    decided_at = NOW + timedelta(hours=3)
    assert services.decide(enrolment, True, " 材料齐全 ", actor=admin, now=decided_at) == []
    assert enrolment.status == ENROLLED
    assert (enrolment.decided_by_id, enrolment.decided_at, enrolment.decision_reason) == (admin.id, decided_at,
                                                                                         "材料齐全")
    assert enrolment.enrolled_at == decided_at
    assert _actions("enrolment.approved")[0].actor_id == admin.id
    _assert_counter(cohort)


def test_a_rejection_needs_a_reason_frees_the_seat_and_promotes_the_head_of_the_waitlist():
    admin = make_admin()
    cohort = make_cohort(capacity=1, approval_required=True)
    first = services.enrol(make_learner(), cohort, now=NOW)
    second = services.enrol(make_learner(), cohort, now=NOW)
    with pytest.raises(EnrolmentError, match="原因"):
        services.decide(first, False, "  ", actor=admin, now=NOW)
    promoted = services.decide(first, False, "不在本市工作", actor=admin, now=NOW)
    assert first.status == EnrolmentStatus.REJECTED
    assert (first.decided_by_id, first.decision_reason) == (admin.id, "不在本市工作")
    assert promoted == [second]
    assert second.status == PENDING  # the promoted application still needs approval
    assert _actions("enrolment.rejected")[0].details["reason"] == "不在本市工作"
    _assert_counter(cohort)


def test_only_pending_applications_are_decided_and_only_by_admins():
    cohort = make_cohort(approval_required=True)
    enrolment = services.enrol(make_learner(), cohort, now=NOW)
    with pytest.raises(PermissionDenied):
        services.decide(enrolment, True, "", actor=make_instructor(), now=NOW)
    services.decide(enrolment, True, "", actor=make_admin(), now=NOW)
    with pytest.raises(EnrolmentError, match="不在待审核状态"):
        services.decide(enrolment, False, "改主意", actor=make_admin(), now=NOW)


# --- waitlist -------------------------------------------------------------------------------

def test_a_full_cohort_puts_applicants_on_a_fifo_waitlist():
    cohort = make_cohort(capacity=2)
    enrolments = [services.enrol(make_learner(), cohort, now=NOW + timedelta(minutes=i)) for i in range(5)]
    assert _statuses(enrolments) == [ENROLLED, ENROLLED, WAITLISTED, WAITLISTED, WAITLISTED]
    assert [e.waitlist_seq for e in enrolments[2:]] == [1, 2, 3]
    assert [services.waitlist_position(e) for e in enrolments] == [None, None, 1, 2, 3]
    _assert_counter(cohort)


def test_a_withdrawal_promotes_the_head_of_the_waitlist():
    cohort = make_cohort(capacity=2)
    a, b, c, d = (services.enrol(make_learner(), cohort, now=NOW) for _ in range(4))
    promoted = services.withdraw(a, actor=a.learner, now=NOW + timedelta(days=1))
    assert promoted == [c]
    assert c.status == ENROLLED and c.waitlist_seq is None and c.enrolled_at == NOW + timedelta(days=1)
    assert a.status == EnrolmentStatus.WITHDRAWN
    assert services.waitlist_position(d) == 1
    assert _actions("enrolment.promoted")[0].object_id == c.id
    _assert_counter(cohort)


def test_withdrawing_from_the_waitlist_promotes_nobody_and_moves_the_queue_up():
    cohort = make_cohort(capacity=1)
    services.enrol(make_learner(), cohort, now=NOW)
    first, second = (services.enrol(make_learner(), cohort, now=NOW) for _ in range(2))
    assert services.withdraw(first, actor=first.learner, now=NOW) == []
    assert services.waitlist_position(second) == 1
    _assert_counter(cohort)


def test_an_admin_removal_needs_a_reason_and_promotes_from_the_waitlist():
    admin = make_admin()
    cohort = make_cohort(capacity=1)
    seated = services.enrol(make_learner(), cohort, now=NOW)
    waiting = services.enrol(make_learner(), cohort, now=NOW)
    with pytest.raises(EnrolmentError, match="移出原因"):
        services.remove(seated, " ", actor=admin, now=NOW)
    with pytest.raises(PermissionDenied):
        services.remove(seated, "连续缺勤", actor=make_instructor(), now=NOW)
    assert services.remove(seated, "连续缺勤三次", actor=admin, now=NOW) == [waiting]
    assert seated.status == EnrolmentStatus.REMOVED
    assert (seated.decided_by_id, seated.decided_at, seated.decision_reason) == (admin.id, NOW, "连续缺勤三次")
    assert waiting.status == ENROLLED
    assert _actions("enrolment.removed")[0].details["reason"] == "连续缺勤三次"
    _assert_counter(cohort)


def test_more_seats_promote_from_the_waitlist_in_order():
    admin = make_admin()
    cohort = make_cohort(capacity=1)
    services.enrol(make_learner(), cohort, now=NOW)
    queue = [services.enrol(make_learner(), cohort, now=NOW) for _ in range(3)]
    assert services.change_capacity(cohort, 3, actor=admin, now=NOW) == queue[:2]
    assert _statuses(queue) == [ENROLLED, ENROLLED, WAITLISTED]
    assert services.waitlist_position(queue[2]) == 1
    assert _actions("cohort.capacity_changed")[0].details == {"old": 1, "new": 3}
    _assert_counter(cohort)


def test_capacity_cannot_drop_below_the_seats_taken():
    admin = make_admin()
    cohort = make_cohort(capacity=3, approval_required=True)
    services.enrol(make_learner(), cohort, now=NOW)  # pending holds a seat too
    enrol(make_learner(), cohort)
    with pytest.raises(EnrolmentError, match="不能少于已报名人数（2人）"):
        services.change_capacity(cohort, 1, actor=admin, now=NOW)
    with pytest.raises(EnrolmentError, match="至少为1"):
        services.change_capacity(cohort, 0, actor=admin, now=NOW)
    with pytest.raises(PermissionDenied):
        services.change_capacity(cohort, 5, actor=make_instructor(), now=NOW)
    assert services.change_capacity(cohort, 2, actor=admin, now=NOW) == []
    assert cohort.capacity == 2
    _assert_counter(cohort)


def test_an_ineligible_head_of_the_queue_is_skipped_and_stays_waitlisted():
    course = make_course()
    cohort, other = make_cohort(course, capacity=1), make_cohort(course)
    seated = services.enrol(make_learner(), cohort, now=NOW)
    head = services.enrol(make_learner(), cohort, now=NOW)
    behind = services.enrol(make_learner(), cohort, now=NOW)
    services.enrol(head.learner, other, now=NOW)  # the head took a seat in another run of the course
    assert services.withdraw(seated, actor=seated.learner, now=NOW) == [behind]
    assert head.status == WAITLISTED and services.waitlist_position(head) == 1
    skipped = _actions("enrolment.waitlist_skipped")
    assert [(e.object_id, e.details["reason"]) for e in skipped] == [(head.id, "已在本课程的另一个班级中")]
    _assert_counter(cohort)


def test_a_deactivated_head_of_the_queue_does_not_block_the_others():
    admin = make_admin()
    cohort = make_cohort(capacity=1)
    services.enrol(make_learner(), cohort, now=NOW)
    head = services.enrol(make_learner(), cohort, now=NOW)
    behind = services.enrol(make_learner(), cohort, now=NOW)
    head.learner.is_active_account = False
    assert services.change_capacity(cohort, 2, actor=admin, now=NOW) == [behind]
    assert head.status == WAITLISTED


# --- withdrawal and re-application ----------------------------------------------------------

def test_learners_withdraw_only_their_own_applications_admins_any():
    cohort = make_cohort()
    mine, theirs = services.enrol(make_learner(), cohort, now=NOW), services.enrol(make_learner(), cohort, now=NOW)
    with pytest.raises(PermissionDenied):
        services.withdraw(theirs, actor=mine.learner, now=NOW)
    services.withdraw(theirs, actor=make_admin(), now=NOW)
    assert theirs.status == EnrolmentStatus.WITHDRAWN
    with pytest.raises(EnrolmentError, match="不在有效状态"):
        services.withdraw(theirs, actor=theirs.learner, now=NOW)


def test_nobody_withdraws_from_a_finished_cohort():
    cohort = make_cohort()
    enrolment = services.enrol(make_learner(), cohort, now=NOW)
    cohort.status = CohortStatus.FINISHED
    with pytest.raises(EnrolmentError, match="已结业"):
        services.withdraw(enrolment, actor=enrolment.learner, now=NOW)


def test_a_learner_may_apply_again_after_withdrawing_and_joins_the_end_of_the_queue():
    cohort = make_cohort(capacity=1)
    services.enrol(make_learner(), cohort, now=NOW)
    leaver = services.enrol(make_learner(), cohort, now=NOW)
    stayer = services.enrol(make_learner(), cohort, now=NOW)
    services.withdraw(leaver, actor=leaver.learner, now=NOW)
    again = services.enrol(leaver.learner, cohort, now=NOW + timedelta(hours=1))
    assert again.id == leaver.id  # one row per learner and cohort
    assert again.status == WAITLISTED and again.applied_at == NOW + timedelta(hours=1)
    assert [services.waitlist_position(stayer), services.waitlist_position(again)] == [1, 2]
    _assert_counter(cohort)


def test_a_rejected_learner_may_apply_again_and_the_old_decision_is_cleared():
    admin = make_admin()
    cohort = make_cohort(approval_required=True)
    enrolment = services.enrol(make_learner(), cohort, now=NOW)
    services.decide(enrolment, False, "资料不全", actor=admin, now=NOW)
    again = services.enrol(enrolment.learner, cohort, now=NOW)
    assert again.status == PENDING
    assert again.decided_by_id is None and again.decision_reason is None
    _assert_counter(cohort)


def test_the_seat_counter_matches_the_enrolments_through_a_long_story():
    admin = make_admin()
    cohort = make_cohort(capacity=2, approval_required=True)
    people = [make_learner() for _ in range(6)]
    rows = [services.enrol(p, cohort, now=NOW) for p in people]
    _assert_counter(cohort)
    services.decide(rows[0], True, "", actor=admin, now=NOW)
    services.decide(rows[1], False, "名额留给本地学员", actor=admin, now=NOW)
    _assert_counter(cohort)
    services.withdraw(rows[0], actor=people[0], now=NOW)
    _assert_counter(cohort)
    services.change_capacity(cohort, 4, actor=admin, now=NOW)
    _assert_counter(cohort)
    services.remove(rows[3], "重复报名", actor=admin, now=NOW)
    _assert_counter(cohort)
    services.enrol(people[0], cohort, now=NOW)
    _assert_counter(cohort)
    db.session.commit()
    db.session.expire_all()
    stored = db.session.get(Cohort, cohort.id)
    assert stored.seats_taken == _seat_count(stored) == 4


# --- reading --------------------------------------------------------------------------------

def test_the_class_list_shows_seats_by_name_then_the_waitlist_in_order():
    cohort = make_cohort(capacity=2)
    services.enrol(make_learner(name="王五"), cohort, now=NOW)
    services.enrol(make_learner(name="李四"), cohort, now=NOW)
    services.enrol(make_learner(name="张三"), cohort, now=NOW)
    services.enrol(make_learner(name="赵六"), cohort, now=NOW)
    withdrawn = services.enrol(make_learner(name="钱七"), cohort, now=NOW)
    services.withdraw(withdrawn, actor=withdrawn.learner, now=NOW)
    names = [e.learner.name for e in services.class_list(cohort)]
    seated = sorted(["王五", "李四"])
    assert names == [*seated, "张三", "赵六"]
    assert [e.learner.name for e in services.class_list(cohort, include_waitlist=False)] == seated
    assert len(services.enrolled_learner_ids(cohort.id)) == 2


def test_my_courses_lists_the_learners_applications_newest_cohort_first():
    learner = make_learner()
    old = make_cohort(start_date=NOW.date() - timedelta(days=90), end_date=NOW.date() - timedelta(days=30))
    new = make_cohort(start_date=NOW.date() + timedelta(days=30))
    enrol(learner, old)
    enrol(learner, new)
    enrol(make_learner(), new)
    assert [e.cohort_id for e in services.list_for_learner(learner)] == [new.id, old.id]
    assert services.get_enrolment(learner.id, new.id).cohort_id == new.id
    assert services.get_enrolment(learner.id, make_cohort().id) is None
