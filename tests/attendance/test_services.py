"""Attendance rules: sessions, check-in boundaries, roll call, leave and rates (controlled clock)."""

from __future__ import annotations

import os
import time as time_module
from datetime import date, time, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import event, func, select

from academy.attendance import services
from academy.attendance.models import (
    AttendanceChange,
    AttendanceRecord,
    AttendanceStatus,
    ClassSession,
    LeaveRequest,
    LeaveStatus,
    RecordSource,
    SessionStatus,
)
from academy.attendance.services import AttendanceError, CheckInRefused, Refusal, ScanPass
from academy.catalogue.models import ExcusedPolicy
from academy.common.timeutil import to_local
from academy.enrolment import services as enrolment_services
from academy.errors import Conflict, PermissionDenied
from academy.extensions import db
from tests.attendance.builders import (
    DAY,
    code_at,
    local,
    make_class,
    make_session,
    token_at,
    weekly_sessions,
)
from tests.factories import enrol, make_admin, make_cohort, make_instructor, make_learner


def _records(session_id: int | None = None) -> list[AttendanceRecord]:
    stmt = select(AttendanceRecord)
    if session_id is not None:
        stmt = stmt.where(AttendanceRecord.session_id == session_id)
    return list(db.session.scalars(stmt))


def _count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def _check_in_at(session, learner, at):
    return services.record_check_in(session, learner, token_at(session, at), now=at)


# --- sessions ----------------------------------------------------------------------------------

def test_session_times_are_entered_in_shanghai_and_stored_in_utc():
    starts_at, ends_at = services.session_times(DAY, time(19, 30), time(21, 30))
    assert (starts_at.hour, starts_at.minute, starts_at.utcoffset()) == (11, 30, timedelta(0))
    assert ends_at - starts_at == timedelta(hours=2)


def test_a_session_ending_before_it_starts_is_refused_and_nothing_is_written():
    cohort, instructor, _ = make_class(0)
    with pytest.raises(AttendanceError, match="下课时间必须晚于上课时间"):
        services.session_times(DAY, time(21, 30), time(19, 30))
    with pytest.raises(AttendanceError, match="下课时间必须晚于上课时间"):
        services.create_session(cohort, starts_at=local("2026-03-02 21:30"), ends_at=local("2026-03-02 19:30"),
                                actor=instructor)
    with pytest.raises(AttendanceError, match="下课时间必须晚于上课时间"):
        services.create_session(cohort, starts_at=local("2026-03-02 19:30"), ends_at=local("2026-03-02 19:30"),
                                actor=instructor)
    assert _count(ClassSession) == 0


def test_the_database_refuses_a_session_ending_before_it_starts():
    cohort, _, _ = make_class(0)
    from sqlalchemy.exc import IntegrityError

    with pytest.raises(IntegrityError):
        make_session(cohort, "2026-03-02 21:30", "2026-03-02 19:30")
    db.session.rollback()


def test_a_session_across_midnight_ends_the_next_day_and_belongs_to_the_day_it_started():
    cohort, instructor, _ = make_class(0)
    starts_at, ends_at = services.session_times(DAY, time(22, 30), time(0, 30), ends_next_day=True)
    session = services.create_session(cohort, starts_at=starts_at, ends_at=ends_at, actor=instructor)
    assert ends_at - starts_at == timedelta(hours=2)
    assert session.local_day == DAY
    assert session.ends_next_day
    assert session.time_text == "22:30–次日00:30"
    assert session.day_text == "2026-03-02 周一"


def test_a_session_longer_than_a_day_is_refused():
    cohort, instructor, _ = make_class(0)
    with pytest.raises(AttendanceError, match="24 小时"):
        services.create_session(cohort, starts_at=local("2026-03-02 19:30"), ends_at=local("2026-03-03 20:30"),
                                actor=instructor)


def test_two_sessions_of_a_cohort_cannot_start_at_the_same_moment():
    cohort, instructor, _ = make_class(0)
    services.create_session(cohort, starts_at=local("2026-03-02 19:30"), ends_at=local("2026-03-02 21:30"),
                            actor=instructor)
    with pytest.raises(AttendanceError, match="已经有一次课"):
        services.create_session(cohort, starts_at=local("2026-03-02 19:30"), ends_at=local("2026-03-02 20:30"),
                                actor=instructor)


def test_a_new_session_gets_the_cohorts_place_and_check_in_rules():
    cohort, instructor, _ = make_class(0)
    services.save_cohort_rules(cohort, services.CheckInRules(20, 10, 5, 45), actor=instructor,
                               now=local("2026-03-01 12:00"))
    session = services.create_session(cohort, starts_at=local("2026-03-02 19:30"),
                                      ends_at=local("2026-03-02 21:30"), actor=instructor)
    assert session.place == cohort.place
    assert services.session_rules(session) == services.CheckInRules(20, 10, 5, 45)
    assert session.opens_at == local("2026-03-02 19:10")
    assert session.late_at == local("2026-03-02 19:40")
    assert session.closes_at == local("2026-03-02 21:35")


def test_changing_cohort_rules_updates_upcoming_sessions_only():
    cohort, instructor, _ = make_class(0)
    past = make_session(cohort, "2026-03-02 19:30")
    upcoming = make_session(cohort, "2026-03-09 19:30")
    changed = services.save_cohort_rules(cohort, services.CheckInRules(30, 5, 0, 20), actor=instructor,
                                         now=local("2026-03-05 12:00"))
    db.session.refresh(past)
    db.session.refresh(upcoming)
    assert changed == 1
    assert (past.opens_before_minutes, past.rotation_seconds) == (15, 30)
    assert (upcoming.opens_before_minutes, upcoming.late_after_minutes, upcoming.rotation_seconds) == (30, 5, 20)


@pytest.mark.parametrize("rules", [(-1, 15, 0, 30), (15, 241, 0, 30), (15, 15, 0, 5), (15, 15, 0, 301)])
def test_check_in_rules_out_of_range_are_refused(rules):
    cohort, instructor, _ = make_class(0)
    with pytest.raises(AttendanceError):
        services.save_cohort_rules(cohort, services.CheckInRules(*rules), actor=instructor)


def test_another_cohorts_instructor_cannot_plan_sessions():
    cohort, _, _ = make_class(0)
    stranger = make_instructor()
    with pytest.raises(PermissionDenied):
        services.create_session(cohort, starts_at=local("2026-03-02 19:30"), ends_at=local("2026-03-02 21:30"),
                                actor=stranger)
    with pytest.raises(PermissionDenied):
        services.generate_sessions(cohort, DAY, DAY + timedelta(days=30), actor=stranger)


def test_an_admin_may_plan_sessions_of_any_cohort():
    cohort, _, _ = make_class(0)
    session = services.create_session(cohort, starts_at=local("2026-03-02 19:30"),
                                      ends_at=local("2026-03-02 21:30"), actor=make_admin())
    assert session.id


def test_generating_from_the_weekly_pattern_skips_chosen_days_and_never_duplicates():
    cohort, instructor, _ = make_class(0, meetings=((0, time(19, 30), time(21, 30)), (2, time(19, 30), time(21, 30))))
    result = services.generate_sessions(cohort, date(2026, 3, 2), date(2026, 3, 15), actor=instructor,
                                        skip=[date(2026, 3, 4)], topic="电工基础")
    days = [s.local_day for s in result.created]
    assert days == [date(2026, 3, 2), date(2026, 3, 9), date(2026, 3, 11)]
    assert result.skipped == [date(2026, 3, 4)]
    assert all(to_local(s.starts_at).time() == time(19, 30) for s in result.created)
    assert all(s.topic == "电工基础" and s.place == cohort.place for s in result.created)
    again = services.generate_sessions(cohort, date(2026, 3, 2), date(2026, 3, 15), actor=instructor)
    assert [s.local_day for s in again.created] == [date(2026, 3, 4)]
    assert again.existing == [date(2026, 3, 2), date(2026, 3, 9), date(2026, 3, 11)]
    assert _count(ClassSession) == 4


def test_generating_a_pattern_across_midnight_gives_sessions_ending_the_next_day():
    cohort, instructor, _ = make_class(0, meetings=((4, time(22, 30), time(0, 30)),))
    result = services.generate_sessions(cohort, date(2026, 3, 2), date(2026, 3, 8), actor=instructor)
    (session,) = result.created
    assert session.local_day == date(2026, 3, 6)  # Friday
    assert session.starts_at == local("2026-03-06 22:30")
    assert session.ends_at == local("2026-03-07 00:30")


def test_generating_with_reversed_dates_or_without_a_weekly_pattern_is_refused():
    cohort, instructor, _ = make_class(0)
    with pytest.raises(AttendanceError, match="结束日期不能早于开始日期"):
        services.generate_sessions(cohort, date(2026, 3, 9), date(2026, 3, 2), actor=instructor)
    bare = make_cohort(instructors=[instructor], meetings=())
    with pytest.raises(AttendanceError, match="每周上课时间"):
        services.generate_sessions(bare, date(2026, 3, 2), date(2026, 3, 9), actor=instructor)
    assert _count(ClassSession) == 0


def test_sessions_are_the_same_whatever_the_servers_own_time_zone():
    """A server whose clock runs in UTC (or anywhere else) plans and checks in identically."""
    original = os.environ.get("TZ")
    results = []
    try:
        for zone in ("UTC", "America/Los_Angeles", "Asia/Shanghai"):
            os.environ["TZ"] = zone
            time_module.tzset()
            starts_at, ends_at = services.session_times(DAY, time(19, 30), time(21, 30))
            probe = ClassSession(starts_at=starts_at, ends_at=ends_at, opens_before_minutes=15,
                                 late_after_minutes=15, closes_after_minutes=0)
            results.append((starts_at, ends_at, services.window_status(probe, local("2026-03-02 19:45")),
                            probe.local_day, token_at(ClassSession(id=7, rotation_seconds=30), starts_at)))
    finally:
        if original is None:
            os.environ.pop("TZ", None)
        else:
            os.environ["TZ"] = original
        time_module.tzset()
    assert results[0] == results[1] == results[2]
    assert results[0][0] == local("2026-03-02 19:30")
    assert results[0][2] == AttendanceStatus.LATE and results[0][3] == DAY


def test_cancelling_needs_a_reason_and_can_be_undone():
    cohort, instructor, _ = make_class(0)
    session = make_session(cohort)
    with pytest.raises(AttendanceError, match="取消原因"):
        services.cancel_session(session, "  ", actor=instructor)
    services.cancel_session(session, "教室停电", actor=instructor)
    assert session.status == SessionStatus.CANCELLED
    with pytest.raises(AttendanceError):
        services.cancel_session(session, "again", actor=instructor)
    services.restore_session(session, actor=instructor)
    assert session.status == SessionStatus.SCHEDULED and session.cancel_reason is None


def test_session_numbers_skip_cancelled_sessions():
    cohort, _, _ = make_class(0)
    a, b, c = weekly_sessions(cohort, 3)
    b.status = SessionStatus.CANCELLED
    assert services.session_numbers([c, b, a]) == {a.id: 1, c.id: 2}


# --- check-in boundaries -----------------------------------------------------------------------

@pytest.fixture
def lesson():
    """A Monday 19:30–21:30 session with one enrolled learner (default rules 15 / 15 / 0 / 30 s)."""
    cohort, instructor, (learner,) = make_class(1)
    session = make_session(cohort, "2026-03-02 19:30", "2026-03-02 21:30")
    return session, learner, instructor


def test_check_in_is_refused_one_second_before_opening_with_the_opening_time(lesson):
    session, learner, _ = lesson
    with pytest.raises(CheckInRefused, match="19:15 开放签到") as err:
        _check_in_at(session, learner, local("2026-03-02 19:14:59"))
    assert err.value.reason == Refusal.NOT_OPEN
    assert _records() == []


def test_check_in_opens_exactly_fifteen_minutes_before_the_start(lesson):
    session, learner, _ = lesson
    result = _check_in_at(session, learner, local("2026-03-02 19:15:00"))
    assert result.created and result.status == AttendanceStatus.PRESENT


def test_one_second_before_the_late_boundary_is_present(lesson):
    session, learner, _ = lesson
    assert _check_in_at(session, learner, local("2026-03-02 19:44:59")).status == AttendanceStatus.PRESENT


def test_the_late_boundary_itself_is_late(lesson):
    session, learner, _ = lesson
    result = _check_in_at(session, learner, local("2026-03-02 19:45:00"))
    assert result.status == AttendanceStatus.LATE
    (record,) = _records()
    assert record.status == AttendanceStatus.LATE and record.checked_in_at == local("2026-03-02 19:45:00")
    assert record.source == RecordSource.QR


def test_check_in_one_second_before_the_end_is_late_and_at_the_end_is_closed(lesson):
    session, learner, _ = lesson
    other = make_learner()
    enrol(other, session.cohort)
    assert _check_in_at(session, learner, local("2026-03-02 21:29:59")).status == AttendanceStatus.LATE
    with pytest.raises(CheckInRefused, match="签到已结束（21:30 截止）") as err:
        _check_in_at(session, other, local("2026-03-02 21:30:00"))
    assert err.value.reason == Refusal.CLOSED
    assert len(_records()) == 1


def test_the_previous_intervals_token_is_accepted(lesson):
    session, learner, _ = lesson
    shown = local("2026-03-02 19:20:00")
    now = shown + timedelta(seconds=session.rotation_seconds)
    result = services.record_check_in(session, learner, token_at(session, shown), now=now)
    assert result.created


def test_a_token_two_intervals_old_is_expired_and_nothing_is_written(lesson):
    session, learner, _ = lesson
    shown = local("2026-03-02 19:20:00")
    with pytest.raises(CheckInRefused, match="^二维码已过期，请重新扫描投影上的二维码$") as err:
        services.record_check_in(session, learner, token_at(session, shown),
                                 now=shown + timedelta(seconds=2 * session.rotation_seconds))
    assert err.value.reason == Refusal.EXPIRED
    assert _records() == [] and _count(AttendanceChange) == 0


def test_a_token_of_the_next_interval_is_refused(lesson):
    session, learner, _ = lesson
    now = local("2026-03-02 19:20:00")
    with pytest.raises(CheckInRefused) as err:
        services.record_check_in(session, learner, token_at(session, now + timedelta(seconds=30)), now=now)
    assert err.value.reason == Refusal.INVALID


@pytest.mark.parametrize("mangle", [
    lambda t: t[:-1] + ("A" if t[-1] != "A" else "B"),  # one character of the MAC changed
    lambda t: str(int(t.split(".")[0]) - 1) + "." + t.split(".")[1],  # the interval changed
    lambda t: t.split(".")[1],  # no interval
    lambda t: "",
    lambda t: "x" * 70,
])
def test_tampered_tokens_are_refused_and_nothing_is_written(lesson, mangle):
    session, learner, _ = lesson
    now = local("2026-03-02 19:20:00")
    with pytest.raises(CheckInRefused, match="二维码无效") as err:
        services.record_check_in(session, learner, mangle(token_at(session, now)), now=now)
    assert err.value.reason == Refusal.INVALID
    assert _records() == []


def test_a_token_of_another_session_is_refused(lesson):
    session, learner, _ = lesson
    other = make_session(session.cohort, "2026-03-02 19:31")
    now = local("2026-03-02 19:20:00")
    with pytest.raises(CheckInRefused, match="二维码无效"):
        services.record_check_in(session, learner, token_at(other, now), now=now)
    with pytest.raises(CheckInRefused, match="二维码无效"):
        services.check_in(session, learner, ScanPass(other.id, now), now=now)
    assert _records() == []


def test_a_session_across_midnight_accepts_late_check_in_after_midnight_and_closes_at_its_end():
    cohort, _, (early, late, too_late) = make_class(3)
    session = make_session(cohort, "2026-03-02 22:30", "2026-03-03 00:30")
    assert _check_in_at(session, early, local("2026-03-02 22:15:00")).status == AttendanceStatus.PRESENT
    result = _check_in_at(session, late, local("2026-03-03 00:10:00"))
    assert result.status == AttendanceStatus.LATE
    with pytest.raises(CheckInRefused, match="00:30 截止"):
        _check_in_at(session, too_late, local("2026-03-03 00:30:00"))
    assert session.local_day == date(2026, 3, 2)


def test_a_second_check_in_changes_nothing_and_says_so(lesson):
    session, learner, _ = lesson
    first = _check_in_at(session, learner, local("2026-03-02 19:25:00"))
    second = _check_in_at(session, learner, local("2026-03-02 19:50:00"))
    assert first.created and not second.created
    assert second.status == AttendanceStatus.PRESENT
    assert second.checked_in_at == local("2026-03-02 19:25:00")
    assert "无需重复签到" in second.message and "19:25" in second.message
    assert len(_records()) == 1 and _count(AttendanceChange) == 1


def test_a_second_check_in_after_closing_still_says_already_checked_in(lesson):
    session, learner, _ = lesson
    _check_in_at(session, learner, local("2026-03-02 19:25:00"))
    scan = ScanPass(session.id, local("2026-03-02 21:40:00"))
    assert not services.check_in(session, learner, scan, now=local("2026-03-02 21:40:00")).created


def test_learners_not_enrolled_or_waitlisted_cannot_check_in(lesson):
    session, _, _ = lesson
    stranger = make_learner()
    now = local("2026-03-02 19:20")
    with pytest.raises(CheckInRefused, match="不在本班学员名单中") as err:
        services.record_check_in(session, stranger, token_at(session, now), now=now)
    assert err.value.reason == Refusal.NOT_ENROLLED
    cohort = session.cohort
    cohort.capacity = 1
    waiting = make_learner()
    assert enrol(waiting, cohort).status == "waitlisted"
    with pytest.raises(CheckInRefused, match="不在本班学员名单中"):
        services.record_check_in(session, waiting, token_at(session, now), now=now)
    assert _records() == []


def test_a_cancelled_session_refuses_check_in(lesson):
    session, learner, instructor = lesson
    services.cancel_session(session, "老师生病", actor=instructor)
    now = local("2026-03-02 19:20")
    with pytest.raises(CheckInRefused, match="本次课已取消") as err:
        services.record_check_in(session, learner, token_at(session, now), now=now)
    assert err.value.reason == Refusal.CANCELLED


def test_a_scan_kept_through_login_counts_from_the_moment_of_the_scan(lesson):
    session, learner, _ = lesson
    scan = services.verify_token(session, token_at(session, local("2026-03-02 19:44:50")),
                                 now=local("2026-03-02 19:44:50"))
    result = services.check_in(session, learner, scan, now=local("2026-03-02 19:47:00"))
    assert result.status == AttendanceStatus.PRESENT
    assert result.checked_in_at == local("2026-03-02 19:44:50")


def test_a_scan_older_than_the_grace_period_is_expired(lesson, app):
    session, learner, _ = lesson
    scan = ScanPass(session.id, local("2026-03-02 19:20:00"))
    grace = services.scan_grace_seconds()
    with pytest.raises(CheckInRefused, match="二维码已过期"):
        services.check_in(session, learner, scan, now=local("2026-03-02 19:20:00") + timedelta(seconds=grace + 1))
    with pytest.raises(CheckInRefused, match="二维码已过期"):
        services.check_in(session, learner, None, now=local("2026-03-02 19:20:00"))
    assert _records() == []


def test_a_learner_with_approved_leave_who_comes_after_all_is_present(lesson):
    session, learner, instructor = lesson
    leave = services.request_leave(session, learner, "跑单", now=local("2026-03-01 10:00"))
    services.decide_leave(leave, True, actor=instructor, now=local("2026-03-01 12:00"))
    result = _check_in_at(session, learner, local("2026-03-02 19:30"))
    assert result.created and result.status == AttendanceStatus.PRESENT
    (record,) = _records()
    assert record.status == AttendanceStatus.PRESENT
    history = db.session.scalars(select(AttendanceChange).order_by(AttendanceChange.id)).all()
    assert [(h.old_status, h.new_status) for h in history] == [(None, "excused"), ("excused", "present")]


def test_a_status_set_by_the_instructor_is_not_changed_by_a_scan(lesson):
    session, learner, instructor = lesson
    services.set_status(session, learner.id, AttendanceStatus.ABSENT, actor=instructor, now=local("2026-03-02 19:50"))
    with pytest.raises(CheckInRefused, match="老师已将您本次课记为“缺勤”") as err:
        _check_in_at(session, learner, local("2026-03-02 19:55"))
    assert err.value.reason == Refusal.RECORDED_BY_STAFF
    assert _records()[0].status == AttendanceStatus.ABSENT


# --- typed code ----------------------------------------------------------------------------

def test_the_typed_code_checks_in_to_whichever_session_is_open(lesson):
    session, learner, _ = lesson
    now = local("2026-03-02 19:31:10")
    found, result = services.check_in_with_code(learner, code_at(session, now), now=now)
    assert found.id == session.id and result.created and result.status == AttendanceStatus.PRESENT
    assert _records()[0].source == RecordSource.CODE


def test_the_previous_code_is_accepted_and_full_width_digits_too(lesson):
    session, learner, _ = lesson
    shown = local("2026-03-02 19:31:10")
    code = code_at(session, shown).translate(str.maketrans("0123456789", "０１２３４５６７８９"))
    _, result = services.check_in_with_code(learner, code, now=shown + timedelta(seconds=30))
    assert result.created


def test_an_old_code_is_refused_and_counted(lesson):
    session, learner, _ = lesson
    later = local("2026-03-02 19:32:10")
    accepted = {code_at(session, later), code_at(session, later - timedelta(seconds=30))}
    old = next(c for c in (code_at(session, later - timedelta(seconds=30 * k)) for k in range(2, 20))
               if c not in accepted)
    with pytest.raises(CheckInRefused, match="签到码不对") as err:
        services.check_in_with_code(learner, old, now=later)
    assert err.value.keep_writes and err.value.reason == Refusal.WRONG_CODE
    assert _records() == []


def test_five_wrong_codes_lock_typing_for_ten_minutes(lesson):
    session, learner, _ = lesson
    now = local("2026-03-02 19:31:00")
    good = code_at(session, now)
    wrong = f"{(int(good) + 1) % 1_000_000:06d}"
    for i in range(5):
        with pytest.raises(CheckInRefused, match="签到码不对"):
            services.check_in_with_code(learner, wrong, now=now + timedelta(seconds=i))
    with pytest.raises(CheckInRefused, match="输错次数太多") as err:
        services.check_in_with_code(learner, good, now=now + timedelta(seconds=6))
    assert err.value.reason == Refusal.TOO_MANY
    later = now + timedelta(minutes=11)
    _, result = services.check_in_with_code(learner, code_at(session, later), now=later)
    assert result.created


def test_typing_a_code_when_no_session_is_open_says_so(lesson):
    _, learner, _ = lesson
    with pytest.raises(CheckInRefused, match="现在没有正在签到的课") as err:
        services.check_in_with_code(learner, "123456", now=local("2026-03-02 12:00"))
    assert err.value.reason == Refusal.NOTHING_OPEN


# --- roll call -----------------------------------------------------------------------------

def test_roll_call_overrides_self_check_in_and_keeps_who_changed_what(lesson):
    session, learner, instructor = lesson
    _check_in_at(session, learner, local("2026-03-02 19:20"))
    changed = services.set_status(session, learner.id, "late", "19:50 才进教室", actor=instructor,
                                  now=local("2026-03-02 20:00"))
    assert changed
    (record,) = _records()
    assert (record.status, record.source, record.note) == ("late", RecordSource.ROLL_CALL, "19:50 才进教室")
    assert record.marked_by_id == instructor.id
    history = db.session.scalars(select(AttendanceChange).order_by(AttendanceChange.id)).all()
    assert [(h.old_status, h.new_status, h.changed_by_id, h.source) for h in history] == [
        (None, "present", learner.id, "qr"), ("present", "late", instructor.id, "roll_call")]
    assert history[1].changed_at == local("2026-03-02 20:00") and history[1].note == "19:50 才进教室"


def test_the_same_roll_call_twice_writes_no_new_history(lesson):
    session, learner, instructor = lesson
    now = local("2026-03-02 19:40")
    assert services.set_status(session, learner.id, "present", actor=instructor, now=now)
    assert not services.set_status(session, learner.id, "present", actor=instructor, now=now)
    assert _count(AttendanceChange) == 1


def test_roll_call_before_check_in_opens_allows_only_excused(lesson):
    session, learner, instructor = lesson
    early = local("2026-03-02 12:00")
    with pytest.raises(AttendanceError, match="后才能点名"):
        services.set_status(session, learner.id, "absent", actor=instructor, now=early)
    assert services.set_status(session, learner.id, "excused", "电话请假", actor=instructor, now=early)


def test_roll_call_refuses_unknown_statuses_strangers_and_other_cohorts(lesson):
    session, learner, instructor = lesson
    now = local("2026-03-02 19:40")
    with pytest.raises(AttendanceError, match="未知的考勤状态"):
        services.set_status(session, learner.id, "sleeping", actor=instructor, now=now)
    with pytest.raises(AttendanceError, match="不在本班名单中"):
        services.set_status(session, make_learner().id, "present", actor=instructor, now=now)
    with pytest.raises(PermissionDenied):
        services.set_status(session, learner.id, "present", actor=make_instructor(), now=now)


def test_mark_all_unmarked_as_absent_leaves_marked_learners_alone():
    cohort, instructor, (came, missing, excused) = make_class(3)
    session = make_session(cohort)
    _check_in_at(session, came, local("2026-03-02 19:25"))
    services.set_status(session, excused.id, "excused", actor=instructor, now=local("2026-03-02 12:00"))
    with pytest.raises(AttendanceError, match="课程开始后"):
        services.mark_unmarked_absent(session, actor=instructor, now=local("2026-03-02 19:29"))
    assert services.mark_unmarked_absent(session, actor=instructor, now=local("2026-03-02 21:00")) == 1
    statuses = {r.learner_id: r.status for r in _records()}
    assert statuses == {came.id: "present", missing.id: "absent", excused.id: "excused"}
    assert services.mark_unmarked_absent(session, actor=instructor, now=local("2026-03-02 21:01")) == 0


# --- leave ---------------------------------------------------------------------------------

def test_a_learner_requests_leave_for_a_future_session_and_approval_marks_it_excused(lesson):
    session, learner, instructor = lesson
    leave = services.request_leave(session, learner, "  晚高峰要跑单 ", now=local("2026-03-02 10:00"))
    assert (leave.status, leave.reason) == (LeaveStatus.PENDING, "晚高峰要跑单")
    services.decide_leave(leave, True, actor=instructor, now=local("2026-03-02 11:00"))
    assert leave.status == LeaveStatus.APPROVED and leave.decided_by_id == instructor.id
    (record,) = _records()
    assert (record.status, record.source) == ("excused", RecordSource.LEAVE)


def test_leave_for_a_session_that_has_started_or_ended_is_refused_and_nothing_is_written(lesson):
    session, learner, _ = lesson
    for now in (local("2026-03-02 19:30"), local("2026-03-03 09:00")):
        with pytest.raises(AttendanceError, match="已经开始或已结束，不能再请假"):
            services.request_leave(session, learner, "有事", now=now)
    assert _count(LeaveRequest) == 0


def test_leave_needs_a_reason_and_cannot_be_asked_twice(lesson):
    session, learner, _ = lesson
    now = local("2026-03-01 10:00")
    with pytest.raises(AttendanceError, match="请填写请假原因"):
        services.request_leave(session, learner, "   ", now=now)
    services.request_leave(session, learner, "有事", now=now)
    with pytest.raises(Conflict, match="已经请过假"):
        services.request_leave(session, learner, "还是有事", now=now)


def test_leave_is_refused_to_learners_outside_the_cohort_and_for_cancelled_sessions(lesson):
    session, learner, instructor = lesson
    now = local("2026-03-01 10:00")
    with pytest.raises(AttendanceError, match="不在本班学员名单中"):
        services.request_leave(session, make_learner(), "有事", now=now)
    services.cancel_session(session, "停课", actor=instructor)
    with pytest.raises(AttendanceError, match="已取消"):
        services.request_leave(session, learner, "有事", now=now)


def test_rejecting_leave_needs_a_reason_and_leaves_attendance_untouched(lesson):
    session, learner, instructor = lesson
    leave = services.request_leave(session, learner, "有事", now=local("2026-03-01 10:00"))
    with pytest.raises(AttendanceError, match="不批准时请填写原因"):
        services.decide_leave(leave, False, "", actor=instructor, now=local("2026-03-01 11:00"))
    services.decide_leave(leave, False, "本次是实操课，不能缺", actor=instructor, now=local("2026-03-01 11:00"))
    assert leave.status == LeaveStatus.REJECTED
    assert _records() == []
    with pytest.raises(AttendanceError, match="已经处理过了"):
        services.decide_leave(leave, True, actor=instructor, now=local("2026-03-01 12:00"))


def test_only_the_cohorts_staff_decide_leave_and_only_the_learner_withdraws_it(lesson):
    session, learner, _ = lesson
    leave = services.request_leave(session, learner, "有事", now=local("2026-03-01 10:00"))
    with pytest.raises(PermissionDenied):
        services.decide_leave(leave, True, actor=make_instructor(), now=local("2026-03-01 11:00"))
    with pytest.raises(PermissionDenied):
        services.withdraw_leave(leave, actor=make_learner(), now=local("2026-03-01 11:00"))
    services.withdraw_leave(leave, actor=learner, now=local("2026-03-01 11:00"))
    assert leave.status == LeaveStatus.WITHDRAWN
    with pytest.raises(AttendanceError, match="只能撤回待审批"):
        services.withdraw_leave(leave, actor=learner, now=local("2026-03-01 11:05"))


# --- rates ---------------------------------------------------------------------------------

def _mark(session, learner, status, instructor):
    services.set_status(session, learner.id, status, actor=instructor, now=session.ends_at)


def test_no_session_held_gives_no_rate_and_does_not_block_eligibility():
    cohort, _, (learner,) = make_class(1)
    weekly_sessions(cohort, 10)
    rate = services.attendance_rate(learner.id, cohort, now=local("2026-03-01 12:00"))
    assert (rate.held, rate.rate, rate.meets_threshold) == (0, None, True)
    assert rate.can_still_miss == 2 and rate.remaining == 10
    assert rate.threshold == Decimal("0.800")
    assert services.meets_attendance_threshold(learner.id, cohort, now=local("2026-03-01 12:00"))


def test_a_cohort_without_sessions_has_nothing_to_compute():
    cohort, _, (learner,) = make_class(1)
    rate = services.attendance_rate(learner.id, cohort, now=local("2026-03-01 12:00"))
    assert (rate.held, rate.rate, rate.can_still_miss, rate.meets_threshold) == (0, None, None, True)


def test_present_and_late_count_and_unmarked_past_sessions_are_absent():
    cohort, instructor, (learner,) = make_class(1)
    s = weekly_sessions(cohort, 10)
    _mark(s[0], learner, "present", instructor)
    _mark(s[1], learner, "late", instructor)
    _mark(s[2], learner, "absent", instructor)
    # s[3] has ended without any record: absent
    rate = services.attendance_rate(learner.id, cohort, now=s[3].ends_at)
    assert (rate.held, rate.present, rate.late, rate.absent, rate.excused) == (4, 1, 1, 2, 0)
    assert rate.rate == Decimal("0.5000") and not rate.meets_threshold
    assert rate.remaining == 6
    # final = (2 + 6 - m) / 10 >= 0.8  →  m <= 0
    assert rate.can_still_miss == 0 and rate.reachable and rate.at_risk
    assert rate.rate_text == "50%" and rate.threshold_text == "80%"


def test_a_session_still_running_counts_only_once_the_learner_has_a_status():
    cohort, _, (came, not_yet) = make_class(2)
    (session,) = weekly_sessions(cohort, 1)
    _check_in_at(session, came, local("2026-03-02 19:35"))
    during = local("2026-03-02 20:00")
    assert services.attendance_rate(came.id, cohort, now=during).held == 1
    assert services.attendance_rate(not_yet.id, cohort, now=during).held == 0
    assert services.attendance_rate(not_yet.id, cohort, now=session.ends_at).absent == 1


def test_cancelled_sessions_never_count():
    cohort, instructor, (learner,) = make_class(1)
    s = weekly_sessions(cohort, 3)
    _mark(s[0], learner, "present", instructor)
    services.cancel_session(s[1], "停电", actor=instructor)
    rate = services.attendance_rate(learner.id, cohort, now=s[2].ends_at + timedelta(days=1))
    assert (rate.held, rate.present, rate.absent) == (2, 1, 1)


@pytest.mark.parametrize(("policy", "held", "rate", "meets"), [
    (ExcusedPolicy.EXCLUDE, 4, Decimal("0.7500"), False),  # 3 / 4
    (ExcusedPolicy.ABSENT, 5, Decimal("0.6000"), False),  # 3 / 5
    (ExcusedPolicy.PRESENT, 5, Decimal("0.8000"), True),  # 4 / 5
])
def test_excused_sessions_count_as_the_cohorts_policy_says(policy, held, rate, meets):
    cohort, instructor, (learner,) = make_class(1, excused_policy=policy)
    s = weekly_sessions(cohort, 5)
    for session, status in zip(s, ["present", "present", "late", "excused", "absent"], strict=True):
        _mark(session, learner, status, instructor)
    result = services.attendance_rate(learner.id, cohort, now=s[-1].ends_at)
    assert (result.held, result.rate, result.meets_threshold) == (held, rate, meets)
    assert (result.present, result.late, result.excused, result.absent) == (2, 1, 1, 1)


def test_exactly_at_the_threshold_meets_it():
    cohort, instructor, (learner,) = make_class(1)
    s = weekly_sessions(cohort, 5)
    for session, status in zip(s, ["present"] * 4 + ["absent"], strict=True):
        _mark(session, learner, status, instructor)
    rate = services.attendance_rate(learner.id, cohort, now=s[-1].ends_at)
    assert rate.rate == Decimal("0.8000") and rate.meets_threshold


@pytest.mark.parametrize(("absences", "can_miss", "reachable"), [(0, 2, True), (1, 1, True), (2, 0, True),
                                                                  (3, 0, False)])
def test_how_many_more_sessions_a_learner_can_miss(absences, can_miss, reachable):
    """Ten sessions, 80 %: at most two absences in all."""
    cohort, instructor, (learner,) = make_class(1)
    s = weekly_sessions(cohort, 10)
    for i in range(4):
        _mark(s[i], learner, "absent" if i < absences else "present", instructor)
    rate = services.attendance_rate(learner.id, cohort, now=s[3].ends_at)
    assert (rate.can_still_miss, rate.reachable) == (can_miss, reachable)
    assert rate.misses_to_fall_below == (can_miss + 1 if reachable else None)
    assert rate.at_risk == (absences > 0)  # below 80 % now, or no miss left


def test_can_still_miss_uses_the_cohorts_threshold_and_future_approved_leave():
    cohort, instructor, (learner,) = make_class(1, attendance_threshold=Decimal("0.900"))
    s = weekly_sessions(cohort, 10)
    assert services.attendance_rate(learner.id, cohort, now=local("2026-03-01 12:00")).can_still_miss == 1
    leave = services.request_leave(s[5], learner, "体检", now=local("2026-03-01 12:00"))
    services.decide_leave(leave, True, actor=instructor, now=local("2026-03-01 13:00"))
    rate = services.attendance_rate(learner.id, cohort, now=local("2026-03-01 13:00"))
    # excused left out: 9 sessions count, 0.9 × 9 = 8.1 → must attend 9 of 9 → can miss 0
    assert (rate.can_still_miss, rate.remaining, rate.held) == (0, 10, 0)


def test_cohort_rates_match_single_rates_in_a_constant_number_of_queries():
    def rates_and_queries(n):
        cohort, instructor, learners = make_class(n)
        s = weekly_sessions(cohort, 4)
        for i, learner in enumerate(learners):
            _mark(s[0], learner, "present", instructor)
            _mark(s[1], learner, ["present", "late", "excused", "absent"][i % 4], instructor)
        statements = []

        def count(*args):
            statements.append(args[2])

        engine = db.engine
        event.listen(engine, "before_cursor_execute", count)
        try:
            rates = services.cohort_attendance_rates(cohort, now=s[2].ends_at)
        finally:
            event.remove(engine, "before_cursor_execute", count)
        for learner in learners:
            assert rates[learner.id] == services.attendance_rate(learner.id, cohort, now=s[2].ends_at)
        return rates, len(statements)

    few, few_queries = rates_and_queries(3)
    many, many_queries = rates_and_queries(30)
    assert len(few) == 3 and len(many) == 30
    assert few_queries == many_queries <= 3


def test_cohort_rates_list_only_enrolled_learners():
    cohort, instructor, (stays, leaves) = make_class(2)
    (session,) = weekly_sessions(cohort, 1)
    _mark(session, leaves, "present", instructor)
    enrolment_services.withdraw(enrolment_services.get_enrolment(leaves.id, cohort.id), actor=leaves)
    assert set(services.cohort_attendance_rates(cohort, now=session.ends_at)) == {stays.id}


def test_the_threshold_gate_reads_the_rate():
    cohort, instructor, (good, poor) = make_class(2)
    s = weekly_sessions(cohort, 5)
    for session in s:
        _mark(session, good, "present", instructor)
    _mark(s[0], poor, "present", instructor)
    later = s[-1].ends_at + timedelta(days=1)
    assert services.meets_attendance_threshold(good.id, cohort, now=later)
    assert not services.meets_attendance_threshold(poor.id, cohort, now=later)


def test_percent_is_written_for_people():
    assert services.percent(Decimal("0.8")) == "80%"
    assert services.percent(Decimal("0.8571")) == "85.7%"
    assert services.percent(Decimal("1.0000")) == "100%"
    assert services.percent(None) == "—"
