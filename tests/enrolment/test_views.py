"""Enrolment pages over HTTP: enrol, withdraw, my courses; class list and its .xlsx export;
approvals, removal and capacity for administrators."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from academy.audit.models import AuditEvent
from academy.catalogue.models import Cohort
from academy.common.timeutil import now_utc
from academy.enrolment import services
from academy.enrolment.models import Enrolment, EnrolmentStatus
from academy.extensions import db
from tests.conftest import login, post
from tests.factories import enrol, make_admin, make_cohort, make_course, make_instructor, make_learner


def _status(enrolment_id: int) -> str:
    db.session.expire_all()
    return db.session.get(Enrolment, enrolment_id).status


def _flashes(response) -> str:
    return response.get_data(as_text=True)


# --- learner --------------------------------------------------------------------------------

def test_a_learner_enrols_from_the_cohort_page(client):
    cohort, learner = make_cohort(capacity=2), make_learner()
    db.session.commit()
    login(client, learner)
    response = post(client, f"/enrolment/cohorts/{cohort.id}/enrol")
    assert response.status_code == 302
    assert response.headers["Location"] == f"/courses/cohorts/{cohort.code}"
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "报名成功" in page and "已报名" in page
    enrolment = services.get_enrolment(learner.id, cohort.id)
    assert enrolment.status == EnrolmentStatus.ENROLLED
    assert db.session.get(Cohort, cohort.id).seats_taken == 1


def test_a_full_cohort_puts_the_learner_on_the_waitlist(client):
    cohort = make_cohort(capacity=1)
    enrol(make_learner(), cohort)
    learner = make_learner()
    db.session.commit()
    login(client, learner)
    page = _flashes(post(client, f"/enrolment/cohorts/{cohort.id}/enrol", follow_redirects=True))
    assert "您已进入候补" in page and "候补第 1 位" in page


def test_an_approval_cohort_says_the_application_waits_for_review(client):
    cohort, learner = make_cohort(approval_required=True), make_learner()
    db.session.commit()
    login(client, learner)
    page = _flashes(post(client, f"/enrolment/cohorts/{cohort.id}/enrol", follow_redirects=True))
    assert "学院审核后会通知您" in page and "待审核" in page


def test_a_second_application_and_a_closed_window_are_explained(client):
    cohort = make_cohort()
    closed = make_cohort(enrolment_closes_at=now_utc() - timedelta(hours=1))
    learner = make_learner()
    enrol(learner, cohort)
    db.session.commit()
    login(client, learner)
    assert "您已在该班级（已报名）" in _flashes(post(client, f"/enrolment/cohorts/{cohort.id}/enrol",
                                                      follow_redirects=True))
    assert "该班级当前不接受报名" in _flashes(post(client, f"/enrolment/cohorts/{closed.id}/enrol",
                                                 follow_redirects=True))
    assert services.get_enrolment(learner.id, closed.id) is None


def test_visitors_must_log_in_to_enrol_and_unknown_cohorts_are_not_found(client):
    cohort, learner = make_cohort(), make_learner()
    db.session.commit()
    response = post(client, f"/enrolment/cohorts/{cohort.id}/enrol")
    assert response.status_code == 302 and "/account/login" in response.headers["Location"]
    login(client, learner)
    assert post(client, "/enrolment/cohorts/999999/enrol").status_code == 404


def test_a_learner_withdraws_and_the_head_of_the_waitlist_is_promoted(client):
    cohort = make_cohort(capacity=1)
    learner, waiting = make_learner(), make_learner()
    mine = enrol(learner, cohort)
    theirs = enrol(waiting, cohort)
    db.session.commit()
    login(client, learner)
    response = post(client, f"/enrolment/{mine.id}/withdraw")
    assert response.headers["Location"] == "/enrolment/my"
    assert _status(mine.id) == EnrolmentStatus.WITHDRAWN
    assert _status(theirs.id) == EnrolmentStatus.ENROLLED
    response = post(client, f"/enrolment/{mine.id}/withdraw", {"back": "cohort"})
    assert response.headers["Location"] == f"/courses/cohorts/{cohort.code}"


def test_another_learners_enrolment_is_not_found(client):
    cohort = make_cohort()
    learner, other = make_learner(), make_learner()
    theirs = enrol(other, cohort)
    db.session.commit()
    login(client, learner)
    assert post(client, f"/enrolment/{theirs.id}/withdraw").status_code == 404
    assert _status(theirs.id) == EnrolmentStatus.ENROLLED


def test_an_admin_may_withdraw_a_learner(client):
    cohort = make_cohort()
    enrolment = enrol(make_learner(), cohort)
    admin = make_admin()
    db.session.commit()
    login(client, admin)
    post(client, f"/enrolment/{enrolment.id}/withdraw")
    assert _status(enrolment.id) == EnrolmentStatus.WITHDRAWN


def test_my_courses_shows_status_waitlist_place_and_the_reason_of_a_rejection(client):
    learner, admin = make_learner(), make_admin()
    seated = make_cohort(make_course(title="电工夜班"))
    full = make_cohort(make_course(title="育婴员周末班"), capacity=1)
    reviewed = make_cohort(make_course(title="快递员下午班"), approval_required=True)
    enrol(learner, seated)
    enrol(make_learner(), full)
    enrol(make_learner(), full)
    enrol(learner, full)
    rejected = services.enrol(learner, reviewed)
    services.decide(rejected, False, "请先补充身份证号", actor=admin)
    db.session.commit()
    login(client, learner)
    page = client.get("/enrolment/my").get_data(as_text=True)
    assert "电工夜班" in page and "已报名" in page
    assert "育婴员周末班" in page and "候补第 2 位" in page
    assert "快递员下午班" in page and "未通过" in page and "请先补充身份证号" in page


def test_my_courses_is_empty_for_a_new_learner(client):
    login(client, make_learner())
    db.session.commit()
    assert "还没有报名课程" in client.get("/enrolment/my").get_data(as_text=True)


# --- class list -----------------------------------------------------------------------------

def _class_list_world():
    teacher, other_teacher, admin = make_instructor(), make_instructor(), make_admin()
    cohort = make_cohort(capacity=1, instructors=[teacher])
    make_cohort(instructors=[other_teacher])
    seated = make_learner(name="王小磊", mobile="13812341234", id_number="36072219780919711X", platform="美团")
    waiting = make_learner(name="刘芳", mobile="13912345678")
    enrol(seated, cohort)
    enrol(waiting, cohort)
    db.session.commit()
    return cohort, teacher, other_teacher, admin


def test_the_cohorts_instructor_and_admins_see_names_but_masked_phones_and_ids_on_the_class_list(client):
    """Staff call names aloud, so the working list shows them; phone and ID stay masked (PIPL)."""
    cohort, teacher, _, admin = _class_list_world()
    for person in (teacher, admin):
        browser = client.application.test_client()
        login(browser, person)
        page = browser.get(f"/enrolment/cohorts/{cohort.id}/class-list").get_data(as_text=True)
        assert "王小磊" in page and "138****1234" in page and "360722********711X" in page
        assert "13812341234" not in page and "36072219780919711X" not in page
        assert "候补中 #1" in page


def test_another_cohorts_instructor_and_learners_are_refused_the_class_list(client):
    cohort, _, other_teacher, _ = _class_list_world()
    for person in (other_teacher, make_learner()):
        db.session.commit()
        browser = client.application.test_client()
        login(browser, person)
        assert browser.get(f"/enrolment/cohorts/{cohort.id}/class-list").status_code == 403
        assert browser.get(f"/enrolment/cohorts/{cohort.id}/class-list.xlsx").status_code == 403


def _workbook(response):
    assert response.status_code == 200
    assert response.mimetype == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    sheet = load_workbook(io.BytesIO(response.data)).active
    rows = list(sheet.iter_rows())
    headers = [c.value for c in rows[0]]
    return headers, rows[1:]


def _column(headers, rows, name):
    return [r[headers.index(name)] for r in rows]


def test_the_class_list_export_is_masked_with_ids_and_phones_as_text(client):
    cohort, teacher, _, _ = _class_list_world()
    login(client, teacher)
    response = client.get(f"/enrolment/cohorts/{cohort.id}/class-list.xlsx?full=1")  # ignored for instructors
    assert f"class-list-{cohort.code}.xlsx" in response.headers["Content-Disposition"]
    headers, rows = _workbook(response)
    assert [c.value for c in _column(headers, rows, "姓名")] == ["王*磊", "刘*"]
    phones = _column(headers, rows, "手机号")
    ids = _column(headers, rows, "身份证号")
    assert [c.value for c in phones] == ["138****1234", "139****5678"]
    assert ids[0].value == "360722********711X"
    for cell in [*phones, ids[0]]:
        assert cell.data_type == "s" and cell.number_format == "@"
    assert [c.value for c in _column(headers, rows, "状态")] == ["已报名", "候补中"]
    assert db.session.scalars(select(AuditEvent).where(AuditEvent.action == "personal_data.unmasked")).all() == []


def test_only_admins_export_full_details_and_that_is_audited(client):
    cohort, _, _, admin = _class_list_world()
    login(client, admin)
    headers, rows = _workbook(client.get(f"/enrolment/cohorts/{cohort.id}/class-list.xlsx?full=1"))
    assert _column(headers, rows, "姓名")[0].value == "王小磊"
    phone = _column(headers, rows, "手机号")[0]
    number = _column(headers, rows, "身份证号")[0]
    assert (phone.value, phone.data_type) == ("13812341234", "s")
    assert (number.value, number.data_type) == ("36072219780919711X", "s")
    events = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "personal_data.unmasked")).all()
    assert [(e.actor_id, e.object_id) for e in events] == [(admin.id, cohort.id)]


def test_a_name_that_looks_like_a_formula_is_neutralised_in_the_export(client):
    admin = make_admin()
    cohort = make_cohort()
    enrol(make_learner(name='=HYPERLINK("http://evil.example","点我")'), cohort)
    db.session.commit()
    login(client, admin)
    for query in ("", "?full=1"):
        headers, rows = _workbook(client.get(f"/enrolment/cohorts/{cohort.id}/class-list.xlsx{query}"))
        cell = _column(headers, rows, "姓名")[0]
        assert cell.data_type == "s"
        assert cell.value.startswith("'=")


# --- administration -------------------------------------------------------------------------

def test_an_admin_approves_and_rejects_from_the_pending_page(client):
    admin = make_admin()
    cohort = make_cohort(capacity=1, approval_required=True)
    first = services.enrol(make_learner(name="王小磊"), cohort)
    second = services.enrol(make_learner(), cohort)
    db.session.commit()
    login(client, admin)
    page = client.get("/enrolment/pending").get_data(as_text=True)
    assert "王*磊" in page and "王小磊" not in page
    response = post(client, f"/enrolment/{first.id}/decide", {"approve": "0", "reason": ""}, follow_redirects=True)
    assert "不通过时请填写原因" in response.get_data(as_text=True)
    post(client, f"/enrolment/{first.id}/decide", {"approve": "0", "reason": "不在本市工作"})
    assert _status(first.id) == EnrolmentStatus.REJECTED
    assert _status(second.id) == EnrolmentStatus.PENDING  # promoted into the freed seat, still to approve
    post(client, f"/enrolment/{second.id}/decide", {"approve": "1"})
    assert _status(second.id) == EnrolmentStatus.ENROLLED
    decided = db.session.get(Enrolment, second.id)
    assert decided.decided_by_id == admin.id and decided.decided_at is not None


def test_an_admin_removes_a_learner_with_a_reason_and_the_waitlist_moves_up(client):
    admin = make_admin()
    cohort = make_cohort(capacity=1)
    seated, waiting = enrol(make_learner(), cohort), enrol(make_learner(), cohort)
    db.session.commit()
    login(client, admin)
    response = post(client, f"/enrolment/{seated.id}/remove", {"reason": ""}, follow_redirects=True)
    assert "请填写移出原因" in response.get_data(as_text=True)
    assert _status(seated.id) == EnrolmentStatus.ENROLLED
    response = post(client, f"/enrolment/{seated.id}/remove", {"reason": "连续缺勤三次"}, follow_redirects=True)
    assert "候补补上 1 人" in response.get_data(as_text=True)
    assert _status(seated.id) == EnrolmentStatus.REMOVED
    assert _status(waiting.id) == EnrolmentStatus.ENROLLED


def test_an_admin_changes_capacity_from_the_class_list(client):
    admin = make_admin()
    cohort = make_cohort(capacity=1)
    enrol(make_learner(), cohort)
    queue = [enrol(make_learner(), cohort) for _ in range(2)]
    db.session.commit()
    login(client, admin)
    page = post(client, f"/enrolment/cohorts/{cohort.id}/capacity", {"capacity": "0"},
                follow_redirects=True).get_data(as_text=True)
    assert "名额应在1到5000之间" in page
    page = post(client, f"/enrolment/cohorts/{cohort.id}/capacity", {"capacity": "3"},
                follow_redirects=True).get_data(as_text=True)
    assert "名额已改为 3；候补补上 2 人" in page
    assert [_status(e.id) for e in queue] == [EnrolmentStatus.ENROLLED] * 2
    page = post(client, f"/enrolment/cohorts/{cohort.id}/capacity", {"capacity": "2"},
                follow_redirects=True).get_data(as_text=True)
    assert "名额不能少于已报名人数（3人）" in page
    assert db.session.get(Cohort, cohort.id).capacity == 3


@pytest.mark.parametrize("maker", [make_learner, make_instructor])
def test_approvals_removals_and_capacity_are_for_admins_only(client, maker):
    cohort = make_cohort(instructors=[])
    enrolment = enrol(make_learner(), cohort)
    person = maker()
    if person.is_instructor:
        cohort.instructors.append(person)  # even the cohort's own instructor
    db.session.commit()
    login(client, person)
    assert client.get("/enrolment/pending").status_code == 403
    assert post(client, f"/enrolment/{enrolment.id}/decide", {"approve": "1"}).status_code == 403
    assert post(client, f"/enrolment/{enrolment.id}/remove", {"reason": "x"}).status_code == 403
    assert post(client, f"/enrolment/cohorts/{cohort.id}/capacity", {"capacity": "50"}).status_code == 403
    assert _status(enrolment.id) == EnrolmentStatus.ENROLLED
