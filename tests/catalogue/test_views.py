"""The public catalogue and cohort page, and the administrators' course and cohort pages, over HTTP."""

from __future__ import annotations

from contextlib import contextmanager
from datetime import UTC, date, datetime, time, timedelta

import pytest
from sqlalchemy import event, select

from academy.catalogue.models import Cohort, CohortStatus, Course
from academy.common.timeutil import now_utc
from academy.enrolment import services as enrolment_services
from academy.extensions import db
from tests.conftest import login, post
from tests.factories import enrol, make_admin, make_cohort, make_course, make_instructor, make_learner


def _page(client, url: str) -> str:
    response = client.get(url)
    assert response.status_code == 200, response.status_code
    return response.get_data(as_text=True)


@contextmanager
def _count_queries():
    statements: list[str] = []

    def count(conn, cursor, statement, *args):
        statements.append(statement)

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        event.remove(db.engine, "before_cursor_execute", count)


# --- public catalogue -----------------------------------------------------------------------

def test_the_catalogue_lists_cohorts_with_seats_left(client):
    roomy = make_cohort(make_course(title="电工（五级/初级工）技能培训"), capacity=40)
    full = make_cohort(make_course(title="育婴员（初级）"), capacity=1)
    enrol(make_learner(), full)
    enrol(make_learner(), roomy)
    db.session.commit()
    page = _page(client, "/courses/")
    assert "找一门适合你时间的课" in page
    assert "电工（五级/初级工）技能培训" in page and "育婴员（初级）" in page
    assert "余 39 个名额" in page
    assert "已满，可候补" in page
    assert "共 2 个班级" in page


def test_the_catalogue_filters_by_the_query_string(client):
    evening = make_cohort(make_course(title="电工夜班", occupation="电工", delivery_mode="线下"), district="瑞金市",
                          meetings=((0, time(19, 30), time(21, 30)),))
    weekend = make_cohort(make_course(title="育婴员周末班", occupation="育婴员", delivery_mode="线上线下结合"),
                          district="章贡区", meetings=((5, time(9, 0), time(16, 0)),))
    closed = make_cohort(make_course(title="快递员下午班", occupation="快递员"), district="于都县",
                         meetings=((2, time(15, 0), time(17, 0)),),
                         enrolment_closes_at=now_utc() - timedelta(days=1))
    db.session.commit()
    titles = {evening: "电工夜班", weekend: "育婴员周末班", closed: "快递员下午班"}

    def shown(query: str) -> set:
        page = _page(client, "/courses/?" + query)
        return {c for c, title in titles.items() if title in page}

    assert shown("q=育婴") == {weekend}
    assert shown("occupation=电工") == {evening}
    assert shown("mode=线上线下结合") == {weekend}
    assert shown("district=于都县") == {closed}
    assert shown("time=evening") == {evening}
    assert shown("time=weekend") == {weekend}
    assert shown("time=afternoon") == {closed}
    assert shown("time=morning") == {weekend}
    assert shown("open=y") == {evening, weekend}
    assert shown("") == {evening, weekend, closed}
    assert "报名已截止" in _page(client, "/courses/?q=快递员")


def test_the_filter_lists_offer_the_occupations_and_districts_in_use(client):
    make_cohort(make_course(occupation="中式烹调师"), district="会昌县")
    db.session.commit()
    page = _page(client, "/courses/")
    assert '<option value="中式烹调师">中式烹调师</option>' in page
    assert '<option value="会昌县">会昌县</option>' in page


def test_the_catalogue_is_paginated_and_keeps_the_filters(client):
    course = make_course(title="电工分页测试")
    for i in range(23):
        make_cohort(course, name=f"第{i + 1:02d}期")
    db.session.commit()
    first = _page(client, "/courses/?q=电工")
    assert "共 23 个班级" in first
    assert first.count('class="card-link"') == 20
    assert "1 / 2" in first
    assert "page=2" in first and "q=%E7%94%B5%E5%B7%A5" in first
    second = _page(client, "/courses/?q=电工&page=2")
    assert second.count('class="card-link"') == 3
    assert _page(client, "/courses/?page=99").count('class="card-link"') == 0
    assert client.get("/courses/?page=abc").status_code == 200


def test_the_catalogue_page_does_not_query_per_cohort(client):
    for _ in range(3):
        make_cohort(instructors=[make_instructor()])
    db.session.commit()
    with _count_queries() as few:
        _page(client, "/courses/")
    for _ in range(15):
        make_cohort(instructors=[make_instructor()])
    db.session.commit()
    with _count_queries() as many:
        _page(client, "/courses/")
    assert len(many) == len(few)


# --- cohort page ----------------------------------------------------------------------------

def test_the_cohort_page_shows_course_facts_and_seats_left(client):
    course = make_course(title="电工（四级/中级工）技能提升", occupation="电工", occupation_code="6-31-01-03",
                         hours=160, fee=1200, subsidy=800)
    cohort = make_cohort(course, capacity=5, schedule_text="周六、周日 09:00-17:00",
                         instructors=[make_instructor(name="钟建华")])
    for _ in range(3):
        enrol(make_learner(), cohort)
    db.session.commit()
    page = _page(client, f"/courses/cohorts/{cohort.code}")
    assert "剩余名额：2 / 5" in page
    assert "周六、周日 09:00-17:00" in page
    assert "6-31-01-03" in page and "160" in page
    assert "1,200 元" in page and "可申请补贴 800 元" in page
    assert "钟建华" in page
    assert "登录后报名" in page
    assert f"/account/login?next=/courses/cohorts/{cohort.code}" in page


def test_a_full_cohort_offers_the_waitlist_and_shows_the_learners_place(client):
    cohort = make_cohort(capacity=1)
    enrol(make_learner(), cohort)
    first, second = make_learner(), make_learner()
    enrol(first, cohort)
    enrol(second, cohort)
    visitor = make_learner()
    db.session.commit()
    login(client, visitor)
    page = _page(client, f"/courses/cohorts/{cohort.code}")
    assert "名额已满（1 人），可以排队候补" in page
    assert "加入候补" in page
    client2 = client.application.test_client()
    login(client2, second)
    page = _page(client2, f"/courses/cohorts/{cohort.code}")
    assert "候补中" in page and "候补第 2 位" in page
    assert "/withdraw" in page


def test_the_cohort_page_explains_a_window_that_is_not_open(client):
    later = make_cohort(enrolment_opens_at=datetime(2099, 1, 2, 1, 0, tzinfo=UTC))
    past = make_cohort(enrolment_closes_at=datetime(2020, 1, 1, tzinfo=UTC))
    finished = make_cohort(status=CohortStatus.FINISHED)
    db.session.commit()
    assert "报名将于 2099-01-02 09:00 开始" in _page(client, f"/courses/cohorts/{later.code}")
    assert "报名已截止" in _page(client, f"/courses/cohorts/{past.code}")
    page = _page(client, f"/courses/cohorts/{finished.code}")
    assert "已结业" in page and "我要报名" not in page


def test_unknown_cohorts_and_unpublished_courses_are_not_found_except_for_staff(client):
    hidden = make_cohort(make_course(is_published=False))
    admin = make_admin()
    db.session.commit()
    assert client.get("/courses/cohorts/NO-SUCH").status_code == 404
    assert client.get(f"/courses/cohorts/{hidden.code}").status_code == 404
    login(client, admin)
    assert client.get(f"/courses/cohorts/{hidden.code}").status_code == 200


def test_the_cohorts_instructor_sees_the_class_list_link(client):
    teacher, other = make_instructor(), make_instructor()
    cohort = make_cohort(instructors=[teacher])
    db.session.commit()
    login(client, teacher)
    assert f"/enrolment/cohorts/{cohort.id}/class-list" in _page(client, f"/courses/cohorts/{cohort.code}")
    other_client = client.application.test_client()
    login(other_client, other)
    assert "/class-list" not in _page(other_client, f"/courses/cohorts/{cohort.code}")


# --- administration -------------------------------------------------------------------------

def test_an_admin_creates_a_course_through_the_form(client):
    login(client, make_admin())
    db.session.commit()
    assert "新建课程" in _page(client, "/courses/manage/courses/new")
    response = post(client, "/courses/manage/courses/new", {
        "code": "jxg-ps-01", "title": "网约配送员职业技能培训", "occupation": "网约配送员",
        "occupation_code": "4-02-07-10", "level": "五级/初级工", "hours": "40", "delivery_mode": "线上线下结合",
        "fee": "0", "subsidy": "600", "is_published": "y"})
    assert response.status_code == 302
    course = db.session.scalar(select(Course).where(Course.code == "JXG-PS-01"))
    assert course.delivery_mode == "线上线下结合" and course.hours == 40
    assert "JXG-PS-01 网约配送员职业技能培训" in _page(client, "/courses/manage")


def test_course_form_errors_are_shown(client):
    login(client, make_admin())
    db.session.commit()
    page = post(client, "/courses/manage/courses/new", {
        "code": "X1", "title": "T", "occupation": "O", "hours": "40", "delivery_mode": "线下",
        "fee": "500", "subsidy": "800"}).get_data(as_text=True)
    assert "补贴不能高于费用" in page
    page = post(client, "/courses/manage/courses/new", {"code": "", "hours": "-3", "delivery_mode": "线下",
                                                        "fee": "0", "subsidy": "0"}).get_data(as_text=True)
    assert "请填写课程编号" in page and "课时应在0到2000之间" in page


def test_an_admin_creates_a_cohort_with_times_entered_in_beijing_time(client):
    course = make_course()
    teacher = make_instructor(name="钟建华")
    login(client, make_admin())
    db.session.commit()
    form = _page(client, f"/courses/manage/cohorts/new?course_id={course.id}")
    assert "钟建华" in form
    response = post(client, "/courses/manage/cohorts/new", {
        "course_id": str(course.id), "code": "dg-2026-03", "name": "2026年第3期电工班",
        "start_date": "2026-12-07", "end_date": "2027-03-01", "schedule": "周一至周五 19:30-21:30",
        "place": "瑞金市职业技能实训基地", "district": "瑞金市", "capacity": "40",
        "enrolment_opens_at": "2026-11-20T09:00", "enrolment_closes_at": "2026-12-05T18:00",
        "status": "open", "attendance_threshold": "80", "excused_policy": "exclude",
        "instructor_ids": [str(teacher.id)]})
    assert response.status_code == 302
    assert response.headers["Location"] == "/courses/cohorts/DG-2026-03"
    db.session.expire_all()
    cohort = db.session.scalar(select(Cohort).where(Cohort.code == "DG-2026-03"))
    assert cohort.enrolment_opens_at == datetime(2026, 11, 20, 1, 0, tzinfo=UTC)
    assert cohort.enrolment_closes_at == datetime(2026, 12, 5, 10, 0, tzinfo=UTC)
    assert len(cohort.meetings) == 5 and cohort.instructors[0].id == teacher.id
    assert str(cohort.attendance_threshold) in ("0.800", "0.8")
    edit = _page(client, f"/courses/manage/cohorts/{cohort.id}")
    assert 'value="2026-12-05T18:00"' in edit  # shown again in Beijing time
    assert 'value="周一至周五 19:30-21:30"' in edit


def test_a_cohort_with_an_unreadable_schedule_is_not_saved(client):
    course = make_course()
    login(client, make_admin())
    db.session.commit()
    page = post(client, "/courses/manage/cohorts/new", {
        "course_id": str(course.id), "code": "X9", "name": "某班", "start_date": "2026-12-07",
        "end_date": "2027-03-01", "schedule": "晚上有空就来", "capacity": "30", "status": "open",
        "attendance_threshold": "80", "excused_policy": "exclude"}).get_data(as_text=True)
    assert "看不懂上课时间" in page
    assert db.session.scalar(select(Cohort).where(Cohort.code == "X9")) is None


def test_editing_a_cohort_keeps_its_capacity_and_updates_the_rest(client):
    cohort = make_cohort(capacity=30, start_date=date(2026, 12, 7), end_date=date(2027, 3, 1))
    login(client, make_admin())
    db.session.commit()
    response = post(client, f"/courses/manage/cohorts/{cohort.id}", {
        "course_id": str(cohort.course_id), "code": cohort.code, "name": "改过的名字", "start_date": "2026-12-07",
        "end_date": "2027-03-01", "schedule": "周六 09:00-12:00", "capacity": "99", "status": "running",
        "attendance_threshold": "75", "excused_policy": "absent"})
    assert response.status_code == 302
    db.session.expire_all()
    stored = db.session.get(Cohort, cohort.id)
    assert (stored.name, stored.capacity, stored.status, stored.excused_policy) == ("改过的名字", 30, "running",
                                                                                   "absent")
    assert [(m.weekday, m.start_time) for m in stored.meetings] == [(5, time(9, 0))]


@pytest.mark.parametrize("maker", [make_learner, make_instructor])
def test_only_admins_manage_the_catalogue(client, maker):
    login(client, maker())
    db.session.commit()
    assert client.get("/courses/manage").status_code == 403
    assert post(client, "/courses/manage/courses/new", {"code": "X"}).status_code == 403


def test_the_manage_page_shows_status_labels_and_seats(client):
    cohort = make_cohort(capacity=3, status=CohortStatus.RUNNING)
    enrolment_services.enrol(make_learner(), cohort, check_window=False, source="admin")
    login(client, make_admin())
    db.session.commit()
    page = _page(client, "/courses/manage")
    assert "开课中" in page and "1/3" in page


def test_the_manage_page_lists_current_cohorts_and_only_the_latest_finished_ones(client):
    from datetime import date

    course = make_course(code="DG-01", title="电工技能培训")
    running = make_cohort(course, name="开课中的电工班", status=CohortStatus.RUNNING, start_date=date(2026, 3, 2))
    finished = [make_cohort(course, name=f"已结业电工班{i}", status=CohortStatus.FINISHED,
                            start_date=date(2025, 1 + i, 1)) for i in range(5)]
    login(client, make_admin())
    db.session.commit()
    page = _page(client, "/courses/manage")
    assert running.name in page
    # the three latest finished cohorts, not the two oldest
    assert [c.name in page for c in finished] == [False, False, True, True, True]
    assert f'href="/courses/manage?course={course.id}"' in page and "查看全部 6 个班级" in page
    whole = _page(client, f"/courses/manage?course={course.id}")
    assert all(c.name in whole for c in finished) and "查看全部" not in whole
    assert client.get("/courses/manage?course=999999").status_code == 404
