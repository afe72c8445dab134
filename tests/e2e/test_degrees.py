"""A learner follows their degree-upgrade case on a phone (390×844): timeline, next step, notices.

Screenshots: test-artifacts/degree-timeline.png (a case in progress) and degree-interest.png.
"""

from __future__ import annotations

from datetime import timedelta

from playwright.sync_api import expect

from academy.common.timeutil import local_today
from academy.degrees.models import CaseEvent, Notice
from academy.degrees.stages import KeyDateKind, Level, Route, Stage
from tests.degrees.builders import add_key_date, make_case, make_programme
from tests.e2e.conftest import assert_fits_phone
from tests.factories import PASSWORD, make_learner


def _login(page, live_server, mobile: str) -> None:
    page.goto(f"{live_server}/account/login")
    page.fill("#mobile", mobile)
    page.fill("#password", PASSWORD)
    page.get_by_role("button", name="登录").click()


def test_learner_sees_where_they_stand_and_what_comes_next_on_a_phone(db, live_server, page, shot):
    today = local_today()
    exam = today + timedelta(days=9)
    add_key_date(Route.ADULT_EXAM, KeyDateKind.EXAM, exam, exam + timedelta(days=1), note="全国统一考试，两天")
    learner = make_learner(name="曾小燕", mobile="13800000005", education="高中")
    programme = make_programme(Route.ADULT_EXAM, Level.HIGH_TO_DIPLOMA, institution="江西理工大学", major="物流管理")
    case = make_case(Stage.INTERESTED, learner=learner, programme=programme, stage_since=today - timedelta(days=30),
                     exam_ticket_number="360712345678")
    case.stage, case.stage_since = Stage.REGISTERED, today - timedelta(days=12)
    db.session.add(CaseEvent(case=case, kind="transition", from_stage=Stage.INTERESTED, to_stage=Stage.REGISTERED,
                             on=today - timedelta(days=12)))
    db.session.add(Notice(user_id=learner.id, text=f"学历提升提醒：参加成人高考，{exam.month}月{exam.day}日。"
                                                   "要准备：打印准考证、身份证原件。"))
    db.session.commit()

    _login(page, live_server, learner.mobile)
    page.goto(f"{live_server}/degrees/my")
    expect(page.get_by_role("heading", name="我的学历提升")).to_be_visible()
    expect(page.locator(".dg-next-title")).to_have_text("参加成人高考")
    expect(page.locator(".dg-next-when")).to_contain_text(f"{exam.month}月{exam.day}日")
    expect(page.locator(".dg-checklist")).to_contain_text("打印准考证")
    expect(page.locator(".dg-step.dg-done")).to_have_count(1)
    expect(page.locator(".dg-step.dg-current .dg-label")).to_have_text("已报名")
    expect(page.locator(".dg-notice-list")).to_contain_text("学历提升提醒")
    assert_fits_phone(page)
    shot("degree-timeline")

    page.get_by_role("button", name="知道了").click()
    expect(page.locator(".dg-notice-list")).to_have_count(0)


def test_learner_without_a_case_reads_the_routes_and_says_they_are_interested(db, live_server, page, shot):
    learner = make_learner(name="邱志明", mobile="13800000003", education="高中")
    db.session.commit()
    _login(page, live_server, learner.mobile)
    page.goto(f"{live_server}/degrees/my")
    expect(page.get_by_text("想拿一个国家承认的学历？")).to_be_visible()
    page.select_option("#route", "open_university")
    assert_fits_phone(page)
    shot("degree-interest")
    page.get_by_role("button", name="我有兴趣").click()
    expect(page.locator(".flash-success")).to_contain_text("已登记")
    expect(page.locator(".dg-step.dg-current .dg-label")).to_have_text("有意向")
    expect(page.locator(".dg-next-title")).to_have_text("国家开放大学报名（免试入学）")
