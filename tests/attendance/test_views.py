"""Attendance pages over HTTP: permissions, the check-in journey, roll call, leave, exports."""

from __future__ import annotations

import io
from datetime import timedelta
from urllib.parse import urlsplit

import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select

from academy.attendance import services
from academy.attendance.models import (
    AttendanceChange,
    AttendanceRecord,
    ClassSession,
    LeaveRequest,
    LeaveStatus,
    SessionStatus,
)
from academy.audit.models import AuditEvent
from academy.common.masking import mask_name
from academy.extensions import db
from tests.attendance.builders import (
    code_at,
    local,
    make_class,
    make_session,
    token_at,
    weekly_sessions,
)
from tests.conftest import login, post
from tests.factories import make_admin, make_instructor, make_learner


@pytest.fixture
def clock(monkeypatch):
    """Set the time the attendance pages see: ``clock.set(aware_datetime)``."""

    class Clock:
        now = local("2026-03-02 19:20:00")

        def set(self, value):
            self.now = value

    c = Clock()
    monkeypatch.setattr("academy.attendance.views.now_utc", lambda: c.now)
    return c


@pytest.fixture
def course_class():
    """A cohort with an instructor, three learners and a Monday 19:30–21:30 session (committed)."""
    cohort, instructor, learners = make_class(3)
    session = make_session(cohort, "2026-03-02 19:30", "2026-03-02 21:30")
    db.session.commit()
    return cohort, instructor, learners, session


def _text(response) -> str:
    return response.get_data(as_text=True)


def _records() -> list[AttendanceRecord]:
    return list(db.session.scalars(select(AttendanceRecord)))


# --- permissions ---------------------------------------------------------------------------

STAFF_GETS = ("/attendance/cohorts/{c}/sessions", "/attendance/cohorts/{c}/sessions/new",
              "/attendance/cohorts/{c}/sessions/generate", "/attendance/cohorts/{c}/settings",
              "/attendance/cohorts/{c}/rates", "/attendance/cohorts/{c}/leave", "/attendance/cohorts/{c}/register.xlsx",
              "/attendance/sessions/{s}/projector", "/attendance/sessions/{s}/projector.json",
              "/attendance/sessions/{s}/register", "/attendance/sessions/{s}/edit", "/attendance/sessions/{s}/list.xlsx")


def test_the_cohorts_instructor_and_an_admin_open_every_staff_page(client, course_class, clock):
    cohort, instructor, _, session = course_class
    admin = make_admin()
    db.session.commit()
    for user in (instructor, admin):
        c = client.application.test_client()
        login(c, user)
        for url in STAFF_GETS:
            response = c.get(url.format(c=cohort.id, s=session.id))
            assert response.status_code == 200, (user.name, url, response.status_code)


def test_another_cohorts_instructor_gets_403_everywhere(client, course_class, clock):
    cohort, _, learners, session = course_class
    stranger = make_instructor()
    db.session.commit()
    login(client, stranger)
    for url in STAFF_GETS:
        assert client.get(url.format(c=cohort.id, s=session.id)).status_code == 403, url
    posts = [f"/attendance/sessions/{session.id}/register/{learners[0].id}",
             f"/attendance/sessions/{session.id}/register/absent", f"/attendance/sessions/{session.id}/cancel",
             f"/attendance/sessions/{session.id}/restore", f"/attendance/cohorts/{cohort.id}/sessions/new",
             f"/attendance/cohorts/{cohort.id}/sessions/generate"]
    for url in posts:
        assert post(client, url, {"status": "present", "reason": "x"}).status_code == 403, url
    assert _records() == []


def test_learners_cannot_open_staff_pages(client, course_class):
    cohort, _, learners, session = course_class
    login(client, learners[0])
    assert client.get(f"/attendance/cohorts/{cohort.id}/sessions").status_code == 403
    assert client.get(f"/attendance/sessions/{session.id}/projector.json").status_code == 403


def test_a_learner_sees_only_their_own_cohorts_and_leave(client, course_class, clock):
    cohort, instructor, (mine, other, _), session = course_class
    outsider = make_learner()
    clock.set(local("2026-03-01 10:00"))
    leave = services.request_leave(session, other, "有事", now=clock.now)
    db.session.commit()
    login(client, mine)
    assert post(client, f"/attendance/leave/{leave.id}/withdraw").status_code == 404
    assert db.session.get(LeaveRequest, leave.id).status == LeaveStatus.PENDING
    c = client.application.test_client()
    login(c, outsider)
    assert c.get(f"/attendance/my/cohorts/{cohort.id}").status_code == 404
    assert c.get(f"/attendance/sessions/{session.id}/leave").status_code == 404


def test_another_cohorts_instructor_cannot_decide_leave(client, course_class, clock):
    _, _, (learner, _, _), session = course_class
    leave = services.request_leave(session, learner, "有事", now=local("2026-03-01 10:00"))
    stranger = make_instructor()
    db.session.commit()
    login(client, stranger)
    assert post(client, f"/attendance/leave/{leave.id}/decide", {"approve": "1"}).status_code == 403


# --- sessions --------------------------------------------------------------------------------

def test_the_instructor_adds_a_session_in_shanghai_time(client, course_class):
    cohort, instructor, _, _ = course_class
    login(client, instructor)
    response = post(client, f"/attendance/cohorts/{cohort.id}/sessions/new", {
        "day": "2026-03-04", "start": "19:30", "end": "21:30", "place": "实训室 3", "topic": "照明电路",
        "opens_before_minutes": 15, "late_after_minutes": 15, "closes_after_minutes": 0, "rotation_seconds": 30})
    assert response.status_code == 302
    session = db.session.scalar(select(ClassSession).where(ClassSession.topic == "照明电路"))
    assert session.starts_at == local("2026-03-04 19:30") and session.place == "实训室 3"


def test_an_end_before_the_start_is_shown_as_an_error_and_nothing_is_saved(client, course_class):
    cohort, instructor, _, _ = course_class
    login(client, instructor)
    data = {"day": "2026-03-04", "start": "22:30", "end": "00:30", "opens_before_minutes": 15,
            "late_after_minutes": 15, "closes_after_minutes": 0, "rotation_seconds": 30}
    response = post(client, f"/attendance/cohorts/{cohort.id}/sessions/new", data)
    assert response.status_code == 200
    assert "下课时间必须晚于上课时间" in _text(response)
    assert db.session.scalar(select(func.count()).select_from(ClassSession)) == 1
    response = post(client, f"/attendance/cohorts/{cohort.id}/sessions/new", {**data, "ends_next_day": "y"})
    assert response.status_code == 302
    late = db.session.scalar(select(ClassSession).where(ClassSession.starts_at == local("2026-03-04 22:30")))
    assert late.ends_at == local("2026-03-05 00:30")


def test_generating_sessions_through_the_form_skips_the_listed_days(client, course_class):
    cohort, instructor, _, _ = course_class
    login(client, instructor)
    response = post(client, f"/attendance/cohorts/{cohort.id}/sessions/generate", {
        "first_day": "2026-03-02", "last_day": "2026-03-30", "skip": "2026-03-16，2026/3/23"})
    assert response.status_code == 302
    days = [s.local_day.isoformat() for s in services.list_sessions(cohort.id)]
    assert days == ["2026-03-02", "2026-03-09", "2026-03-30"]
    response = post(client, f"/attendance/cohorts/{cohort.id}/sessions/generate", {
        "first_day": "2026-03-02", "last_day": "2026-03-30", "skip": "3月16日"})
    assert "看不懂日期" in _text(response)


def test_editing_and_cancelling_a_session(client, course_class, clock):
    cohort, instructor, _, session = course_class
    login(client, instructor)
    page = client.get(f"/attendance/sessions/{session.id}/edit")
    assert 'value="19:30"' in _text(page) and 'value="2026-03-02"' in _text(page)
    response = post(client, f"/attendance/sessions/{session.id}/edit", {
        "day": "2026-03-02", "start": "19:00", "end": "21:00", "place": "新教室", "topic": "复习",
        "opens_before_minutes": 10, "late_after_minutes": 5, "closes_after_minutes": 0, "rotation_seconds": 20})
    assert response.status_code == 302
    db.session.refresh(session)
    assert (session.starts_at, session.late_after_minutes, session.rotation_seconds) == (
        local("2026-03-02 19:00"), 5, 20)
    post(client, f"/attendance/sessions/{session.id}/cancel", {"reason": "台风停课"})
    db.session.refresh(session)
    assert session.status == SessionStatus.CANCELLED
    assert "台风停课" in _text(client.get(f"/attendance/cohorts/{cohort.id}/sessions"))


def test_the_cohort_settings_page_changes_upcoming_sessions(client, course_class, clock):
    cohort, instructor, _, session = course_class
    clock.set(local("2026-03-01 12:00"))
    login(client, instructor)
    response = post(client, f"/attendance/cohorts/{cohort.id}/settings", {
        "opens_before_minutes": 30, "late_after_minutes": 10, "closes_after_minutes": 5, "rotation_seconds": 60,
        "apply_to_upcoming": "y"})
    assert response.status_code == 302
    db.session.refresh(session)
    assert (session.opens_before_minutes, session.rotation_seconds) == (30, 60)


# --- check-in journey ------------------------------------------------------------------------

def test_a_logged_out_learner_scans_logs_in_and_confirms_with_one_tap(client, course_class, clock):
    _, _, (learner, _, _), session = course_class
    clock.set(local("2026-03-02 19:25:00"))
    response = client.get(f"/attendance/c/{session.public_code}?t={token_at(session, clock.now)}")
    assert response.status_code == 302
    assert urlsplit(response.headers["Location"]).path == f"/attendance/c/{session.public_code}"  # token dropped
    response = client.get(response.headers["Location"])
    assert response.status_code == 302 and "/account/login" in response.headers["Location"]
    assert f"next=/attendance/c/{session.public_code}" in response.headers["Location"].replace("%2F", "/")
    clock.set(local("2026-03-02 19:28:00"))  # typing the password takes a while; the token has rotated
    response = post(client, f"/account/login?next=/attendance/c/{session.public_code}",
                    {"mobile": learner.mobile, "password": "Passw0rd!"})
    assert response.headers["Location"] == f"/attendance/c/{session.public_code}"
    page = _text(client.get(response.headers["Location"]))
    assert "确认签到" in page and "将记为：出勤" in page
    response = post(client, f"/attendance/c/{session.public_code}")
    assert response.status_code == 302
    page = _text(client.get(response.headers["Location"]))
    assert "已签到" in page and "签到成功" in page
    (record,) = _records()
    assert record.learner_id == learner.id and record.status == "present"
    assert record.checked_in_at == local("2026-03-02 19:25:00")
    again = _text(client.get(client.get(f"/attendance/c/{session.public_code}").request.path))
    assert "已签到" in again and "确认签到" not in again


def test_confirming_twice_changes_nothing_and_says_so(client, course_class, clock):
    _, _, (learner, _, _), session = course_class
    login(client, learner)
    client.get(f"/attendance/c/{session.public_code}?t={token_at(session, clock.now)}")
    post(client, f"/attendance/c/{session.public_code}")
    client.get(f"/attendance/c/{session.public_code}?t={token_at(session, clock.now)}")
    response = post(client, f"/attendance/c/{session.public_code}", follow_redirects=True)
    assert "无需重复签到" in _text(response)
    assert len(_records()) == 1


def test_the_one_tap_confirm_queries_nothing_after_its_commit(client, course_class, clock):
    """Once the check-in is committed, answering (Cache-Control included) needs no query: reading
    the expired user row again cost every tap a second transaction (benchmarks/checkin_burst.py)."""
    from sqlalchemy import event

    _, _, (learner, _, _), session = course_class
    login(client, learner)
    client.get(f"/attendance/c/{session.public_code}?t={token_at(session, clock.now)}")
    committed, after_commit = [], []

    def on_commit(_connection):
        committed.append(True)

    def on_execute(_connection, _cursor, statement, *_args):
        if committed:
            after_commit.append(statement)

    event.listen(db.engine, "commit", on_commit)
    event.listen(db.engine, "before_cursor_execute", on_execute)
    try:
        response = post(client, f"/attendance/c/{session.public_code}")
    finally:
        event.remove(db.engine, "commit", on_commit)
        event.remove(db.engine, "before_cursor_execute", on_execute)
    assert response.status_code == 302 and response.headers["Cache-Control"] == "no-store"  # still private
    assert committed and after_commit == []
    assert len(_records()) == 1


def test_an_expired_link_is_refused_with_a_clear_message_and_nothing_written(client, course_class, clock):
    _, _, (learner, _, _), session = course_class
    login(client, learner)
    old_token = token_at(session, clock.now - timedelta(minutes=2))
    response = client.get(f"/attendance/c/{session.public_code}?t={old_token}", follow_redirects=True)
    page = _text(response)
    assert "二维码已过期，请重新扫描投影上的二维码" in page and "确认签到" not in page
    response = post(client, f"/attendance/c/{session.public_code}", follow_redirects=True)
    assert "二维码已过期" in _text(response)
    assert _records() == []


def test_a_tampered_or_foreign_token_is_refused(client, course_class, clock):
    cohort, _, (learner, _, _), session = course_class
    other = make_session(cohort, "2026-03-02 19:31")
    db.session.commit()
    login(client, learner)
    for token in (token_at(other, clock.now), token_at(session, clock.now)[:-2] + "zz"):
        page = _text(client.get(f"/attendance/c/{session.public_code}?t={token}", follow_redirects=True))
        assert "二维码无效" in page
    assert post(client, f"/attendance/c/{session.public_code}").status_code == 302
    assert _records() == []


def test_the_check_in_page_explains_not_open_yet_and_not_enrolled(client, course_class, clock):
    _, _, (learner, _, _), session = course_class
    outsider = make_learner()
    db.session.commit()
    clock.set(local("2026-03-02 19:00:00"))
    login(client, learner)
    page = _text(client.get(f"/attendance/c/{session.public_code}?t={token_at(session, clock.now)}",
                            follow_redirects=True))
    assert "签到还没开始，19:15 开放签到" in page
    c = client.application.test_client()
    login(c, outsider)
    clock.set(local("2026-03-02 19:20:00"))
    page = _text(c.get(f"/attendance/c/{session.public_code}?t={token_at(session, clock.now)}",
                       follow_redirects=True))
    assert "您不在本班学员名单中" in page
    assert post(c, f"/attendance/c/{session.public_code}").status_code == 302
    assert _records() == []


def test_an_unknown_session_code_is_404(client):
    assert client.get("/attendance/c/not-a-session?t=1.abc").status_code == 404


def test_the_typed_code_checks_the_learner_in(client, course_class, clock):
    _, _, (learner, _, _), session = course_class
    login(client, learner)
    response = post(client, "/attendance/code", {"code": code_at(session, clock.now)})
    assert response.status_code == 302
    assert response.headers["Location"] == f"/attendance/c/{session.public_code}"
    assert _records()[0].source == "code"


def test_the_code_field_lets_a_rider_type_the_code_with_a_space(client, course_class, clock):
    """Phones group digits ("281 805"); the field must not cut the input at six characters."""
    _, _, (learner, _, _), session = course_class
    login(client, learner)
    page = _text(client.get("/attendance/code"))
    assert 'maxlength="6"' not in page
    code = code_at(session, clock.now)
    response = post(client, "/attendance/code", {"code": f"{code[:3]} {code[3:]}"})
    assert response.status_code == 302
    assert _records()[0].source == "code"


def test_a_wrong_typed_code_is_explained_and_counted(client, course_class, clock):
    _, _, (learner, _, _), session = course_class
    login(client, learner)
    good = code_at(session, clock.now)
    response = post(client, "/attendance/code", {"code": f"{(int(good) + 1) % 1_000_000:06d}"})
    assert response.status_code == 200 and "签到码不对" in _text(response)
    assert db.session.scalar(select(func.count()).select_from(AuditEvent).where(
        AuditEvent.action == "attendance.code_failed")) == 1


# --- projector -----------------------------------------------------------------------------

def test_the_projector_shows_a_qr_code_of_the_check_in_url_and_the_code(app, client, course_class, clock):
    _, instructor, (learner, _, _), session = course_class
    services.record_check_in(session, learner, token_at(session, clock.now), now=clock.now)
    db.session.commit()
    login(client, instructor)
    page = _text(client.get(f"/attendance/sessions/{session.id}/projector"))
    assert '<svg viewBox="0 0' in page and 'class="qr"' in page
    assert code_at(session, clock.now) in page
    assert "已签到" in page and "<strong data-field=\"checked_in\">1</strong> / <span data-field=\"enrolled\">3</span>" in page
    assert '<noscript><meta http-equiv="refresh"' in page
    assert "js/checkin-projector.js" in page and "<script>" not in page
    frame = client.get(f"/attendance/sessions/{session.id}/projector.json").get_json()
    assert frame["state"] == "open" and frame["code"] == code_at(session, clock.now)
    assert frame["url"] == f"http://localhost/attendance/c/{session.public_code}?t={token_at(session, clock.now)}"
    assert (frame["checked_in"], frame["enrolled"]) == (1, 3)
    assert 1 <= frame["seconds_left"] <= 30


def test_the_qr_code_uses_the_public_base_url_when_configured(app, client, course_class, clock, monkeypatch):
    _, instructor, _, session = course_class
    monkeypatch.setitem(app.config, "ACADEMY_BASE_URL", "https://xue.example.cn/")
    login(client, instructor)
    frame = client.get(f"/attendance/sessions/{session.id}/projector.json").get_json()
    assert frame["url"].startswith(f"https://xue.example.cn/attendance/c/{session.public_code}?t=")


def test_the_projector_hides_the_code_before_check_in_opens(client, course_class, clock):
    _, instructor, _, session = course_class
    clock.set(local("2026-03-02 18:00"))
    login(client, instructor)
    frame = client.get(f"/attendance/sessions/{session.id}/projector.json").get_json()
    assert (frame["state"], frame["code"], frame["svg"]) == ("not_open", "", "")
    assert "19:15 开放" in frame["message"]


# --- roll call -----------------------------------------------------------------------------

def test_roll_call_taps_a_status_with_a_note_and_keeps_history(client, course_class, clock):
    _, instructor, (a, b, c), session = course_class
    clock.set(local("2026-03-02 19:50"))
    login(client, instructor)
    response = post(client, f"/attendance/sessions/{session.id}/register/{a.id}", {"status": "late", "note": "堵车"})
    assert response.status_code == 302 and response.headers["Location"].endswith(f"#l{a.id}")
    post(client, f"/attendance/sessions/{session.id}/register/absent")
    statuses = {r.learner_id: (r.status, r.note) for r in _records()}
    assert statuses == {a.id: ("late", "堵车"), b.id: ("absent", None), c.id: ("absent", None)}
    page = _text(client.get(f"/attendance/sessions/{session.id}/register"))
    assert "修改记录" in page and "堵车" in page and instructor.name in page
    assert db.session.scalar(select(func.count()).select_from(AttendanceChange)) == 3


def test_roll_call_shows_errors_instead_of_failing(client, course_class, clock):
    _, instructor, (a, _, _), session = course_class
    login(client, instructor)
    response = post(client, f"/attendance/sessions/{session.id}/register/{a.id}", {"status": "sleeping"},
                    follow_redirects=True)
    assert "未知的考勤状态" in _text(response)
    response = post(client, f"/attendance/sessions/{session.id}/register/{a.id}", {"status": ""},
                    follow_redirects=True)
    assert "请选择状态" in _text(response)


def test_the_register_shows_names_for_the_roll_call_but_masks_phones(client, course_class, clock):
    _, instructor, (a, _, _), session = course_class
    login(client, instructor)
    page = _text(client.get(f"/attendance/sessions/{session.id}/register"))
    assert a.name in page
    assert a.mobile not in page and a.mobile[:3] + "****" + a.mobile[-4:] in page


# --- leave ---------------------------------------------------------------------------------

def test_the_leave_page_says_at_once_when_the_session_has_started(client, course_class, clock):
    """No form to fill in for nothing: a started session shows why leave is closed."""
    _, _, (learner, _, _), session = course_class
    clock.set(local("2026-03-02 19:45"))
    login(client, learner)
    page = _text(client.get(f"/attendance/sessions/{session.id}/leave"))
    assert "已经开始或已结束" in page and "提交请假" not in page


def test_a_learner_asks_for_leave_and_the_instructor_approves_it(client, course_class, clock):
    _, instructor, (learner, _, _), session = course_class
    clock.set(local("2026-03-01 09:00"))
    login(client, learner)
    assert "提交请假" in _text(client.get(f"/attendance/sessions/{session.id}/leave"))
    response = post(client, f"/attendance/sessions/{session.id}/leave", {"reason": "晚高峰要跑单"})
    assert response.status_code == 302
    leave = db.session.scalar(select(LeaveRequest))
    staff = client.application.test_client()
    login(staff, instructor)
    assert "晚高峰要跑单" in _text(staff.get(f"/attendance/cohorts/{session.cohort_id}/leave"))
    post(staff, f"/attendance/leave/{leave.id}/decide", {"approve": "1"})
    db.session.refresh(leave)
    assert leave.status == LeaveStatus.APPROVED
    assert _records()[0].status == "excused"
    assert "已批准" in _text(client.get(f"/attendance/my/cohorts/{session.cohort_id}"))


def test_leave_for_a_past_session_is_refused_with_a_message(client, course_class, clock):
    _, _, (learner, _, _), session = course_class
    clock.set(local("2026-03-03 09:00"))
    login(client, learner)
    response = post(client, f"/attendance/sessions/{session.id}/leave", {"reason": "补请假"})
    assert response.status_code == 200 and "不能再请假" in _text(response)
    assert db.session.scalar(select(func.count()).select_from(LeaveRequest)) == 0


def test_rejecting_leave_without_a_reason_is_refused(client, course_class, clock):
    _, instructor, (learner, _, _), session = course_class
    leave = services.request_leave(session, learner, "有事", now=local("2026-03-01 10:00"))
    db.session.commit()
    login(client, instructor)
    response = post(client, f"/attendance/leave/{leave.id}/decide", {"approve": "0"}, follow_redirects=True)
    assert "不批准时请填写原因" in _text(response)
    post(client, f"/attendance/leave/{leave.id}/decide", {"approve": "0", "note": "实操课不能缺"})
    db.session.refresh(leave)
    assert leave.status == LeaveStatus.REJECTED


def test_a_learner_withdraws_a_pending_request(client, course_class, clock):
    _, _, (learner, _, _), session = course_class
    leave = services.request_leave(session, learner, "有事", now=local("2026-03-01 10:00"))
    db.session.commit()
    login(client, learner)
    assert post(client, f"/attendance/leave/{leave.id}/withdraw").status_code == 302
    db.session.refresh(leave)
    assert leave.status == LeaveStatus.WITHDRAWN


# --- rates and warnings ----------------------------------------------------------------------

def _ten_weeks(instructor, learner, cohort, absences: int):
    sessions = weekly_sessions(cohort, 10, first="2026-03-09 19:30")
    for i in range(4):
        services.set_status(sessions[i], learner.id, "absent" if i < absences else "present", actor=instructor,
                            now=sessions[i].ends_at)
    db.session.commit()
    return sessions


def test_my_attendance_shows_the_rate_and_how_many_more_sessions_may_be_missed(client, clock):
    cohort, instructor, (learner,) = make_class(1)
    sessions = _ten_weeks(instructor, learner, cohort, absences=1)
    clock.set(sessions[3].ends_at)
    login(client, learner)
    page = _text(client.get("/attendance/my"))
    assert "75%" in page and "还可以缺 1 次；再缺 2 次就低于 80%" in page
    assert "目前出勤率低于 80%" in page
    detail = _text(client.get(f"/attendance/my/cohorts/{cohort.id}"))
    assert "缺勤" in detail and "请假" in detail


def test_my_attendance_warns_when_not_one_more_session_may_be_missed(client, clock):
    cohort, instructor, (learner,) = make_class(1)
    sessions = _ten_weeks(instructor, learner, cohort, absences=2)
    clock.set(sessions[3].ends_at)
    login(client, learner)
    assert "不能再缺课了：再缺 1 次就低于 80%" in _text(client.get("/attendance/my"))


def test_the_rates_page_highlights_learners_at_risk(client, clock):
    cohort, instructor, (good, poor) = make_class(2)
    sessions = weekly_sessions(cohort, 5)
    for s in sessions:
        services.set_status(s, good.id, "present", actor=instructor, now=s.ends_at)
    services.set_status(sessions[0], poor.id, "present", actor=instructor, now=sessions[0].ends_at)
    db.session.commit()
    clock.set(sessions[-1].ends_at)
    login(client, instructor)
    page = _text(client.get(f"/attendance/cohorts/{cohort.id}/rates"))
    assert page.count('<tr class="risk">') == 1
    assert "低于要求" in page and "1 名学员有风险" in page


# --- exports -------------------------------------------------------------------------------

def _sheet(response, name):
    assert response.headers["Content-Type"].startswith("application/vnd.openxmlformats")
    wb = load_workbook(io.BytesIO(response.data))
    return [list(r) for r in wb[name].iter_rows(values_only=True)]


def test_the_cohort_register_export_is_the_sign_in_sheet_with_codes_totals_and_rates(client, clock):
    cohort, instructor, (a, b) = make_class(2)
    s = weekly_sessions(cohort, 4)
    for session, status in zip(s[:3], ["present", "late", "excused"], strict=True):
        services.set_status(session, a.id, status, actor=instructor, now=session.ends_at)
    services.set_status(s[0], b.id, "present", actor=instructor, now=s[0].ends_at)
    db.session.commit()
    clock.set(s[2].ends_at + timedelta(days=1))
    login(client, instructor)
    rows = _sheet(client.get(f"/attendance/cohorts/{cohort.id}/register.xlsx"), "签到表")
    header = rows[0]
    assert header[:4] == ["序号", "姓名", "手机号", "身份证号"]
    assert header[4:8] == ["第1次 03-02", "第2次 03-09", "第3次 03-16", "第4次 03-23"]
    assert header[8:] == ["出勤", "迟到", "请假", "缺勤", "应到课次", "出勤率", "是否达标"]
    by_phone = {r[2]: r for r in rows[1:-1]}
    row_a = by_phone[a.mobile[:3] + "****" + a.mobile[-4:]]
    assert row_a[1] == mask_name(a.name) != a.name
    assert row_a[4:8] == ["√", "迟", "假", None]
    assert row_a[8:] == [1, 1, 1, 0, 2, "100%", "达标"]
    row_b = by_phone[b.mobile[:3] + "****" + b.mobile[-4:]]
    assert row_b[4:8] == ["√", "×", "×", None]
    assert row_b[13:] == ["33.3%", "未达标"]
    assert rows[-1][1] == "实到人数" and rows[-1][4:8] == [2, 1, 0, 0]
    legend = _sheet(client.get(f"/attendance/cohorts/{cohort.id}/register.xlsx"), "说明")
    assert ["×", "缺勤（含未签到）"] in legend


def test_only_admins_export_full_names_and_it_is_audited(client, course_class, clock):
    cohort, instructor, (a, _, _), _ = course_class
    admin = make_admin()
    db.session.commit()
    login(client, instructor)
    rows = _sheet(client.get(f"/attendance/cohorts/{cohort.id}/register.xlsx?full=1"), "签到表")
    assert a.mobile not in [r[2] for r in rows]
    c = client.application.test_client()
    login(c, admin)
    rows = _sheet(c.get(f"/attendance/cohorts/{cohort.id}/register.xlsx?full=1"), "签到表")
    assert a.mobile in [r[2] for r in rows] and a.name in [r[1] for r in rows]
    assert db.session.scalar(select(func.count()).select_from(AuditEvent).where(
        AuditEvent.action == "personal_data.unmasked")) == 1


def test_the_session_list_export_has_status_time_and_how_it_was_recorded(client, course_class, clock):
    _, instructor, (a, b, c), session = course_class
    services.record_check_in(session, a, token_at(session, clock.now), now=clock.now)
    services.set_status(session, b.id, "excused", "病假", actor=instructor, now=clock.now)
    db.session.commit()
    login(client, instructor)
    response = client.get(f"/attendance/sessions/{session.id}/list.xlsx")
    rows = _sheet(response, "第1次 03-02")
    assert rows[0] == ["序号", "姓名", "手机号", "身份证号", "状态", "签到时间", "记录方式", "备注"]
    by_status = {r[4]: r for r in rows[1:]}
    assert by_status["出勤"][5] == "2026-03-02 19:20:00" and by_status["出勤"][6] == "扫码签到"
    assert by_status["请假"][7] == "病假" and by_status["请假"][6] == "老师点名"
    assert not by_status["未记录"][5] and not by_status["未记录"][6]


# --- navigation and query counts ----------------------------------------------------------

def test_the_staff_home_and_my_courses_link_to_attendance(client, course_class):
    cohort, instructor, (learner, _, _), _ = course_class
    login(client, instructor)
    assert f"/attendance/cohorts/{cohort.id}/sessions" in _text(client.get("/staff"))
    other = client.application.test_client()
    login(other, learner)
    assert "/attendance/my" in _text(other.get("/enrolment/my"))


def _queries_for(client, url) -> int:
    from sqlalchemy import event

    statements = []

    def count(*args):
        statements.append(args[2])

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        assert client.get(url).status_code == 200
    finally:
        event.remove(db.engine, "before_cursor_execute", count)
    return len(statements)


@pytest.mark.parametrize("page", ["register", "rates", "sessions", "leave"])
def test_staff_pages_issue_the_same_number_of_queries_for_5_or_40_learners(client, clock, page):
    counts = []
    for n in (5, 40):
        cohort, instructor, learners = make_class(n)
        sessions = weekly_sessions(cohort, 3)
        for i, learner in enumerate(learners):
            services.set_status(sessions[0], learner.id, ["present", "late", "absent"][i % 3], "备注",
                                actor=instructor, now=sessions[0].ends_at)
            services.request_leave(sessions[2], learner, "有事", now=local("2026-03-01 10:00"))
        db.session.commit()
        clock.set(sessions[1].ends_at)
        c = client.application.test_client()
        login(c, instructor)
        url = {"register": f"/attendance/sessions/{sessions[0].id}/register",
               "rates": f"/attendance/cohorts/{cohort.id}/rates",
               "sessions": f"/attendance/cohorts/{cohort.id}/sessions",
               "leave": f"/attendance/cohorts/{cohort.id}/leave"}[page]
        counts.append(_queries_for(c, url))
    assert counts[0] == counts[1], counts


def test_the_pages_render_in_english_too(client, course_class, clock):
    cohort, instructor, (learner, _, _), session = course_class
    services.record_check_in(session, learner, token_at(session, clock.now), now=clock.now)
    db.session.commit()
    client.set_cookie("lang", "en")
    login(client, instructor)
    for url in STAFF_GETS:
        assert client.get(url.format(c=cohort.id, s=session.id)).status_code == 200, url
    rider = client.application.test_client()
    rider.set_cookie("lang", "en")
    login(rider, learner)
    for url in ("/attendance/my", f"/attendance/my/cohorts/{cohort.id}", "/attendance/code",
                f"/attendance/c/{session.public_code}"):
        assert rider.get(url).status_code == 200, url
