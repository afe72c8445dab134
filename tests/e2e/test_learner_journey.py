"""A learner on a phone (390×844): from the catalogue to “我的课程”, and onto a waitlist.

Runs against a live server sharing the test database; data is committed before the browser
looks at it. Screenshots go to test-artifacts/learner-*.png.
"""

from __future__ import annotations

import re
from datetime import time

from playwright.sync_api import expect

from tests.e2e.conftest import assert_fits_phone
from tests.factories import enrol, make_cohort, make_course, make_instructor, make_learner

EVENING = ((0, time(19, 30), time(21, 30)), (2, time(19, 30), time(21, 30)), (4, time(19, 30), time(21, 30)))


def _catalogue(db):
    """Cohorts a rider would choose between; the electrician evening class has 3 of 12 seats taken."""
    teacher = make_instructor(name="刘建华")
    electrician = make_course(title="电工（四级/中级工）技能培训", occupation="电工", subsidy=1500)
    evening = make_cohort(electrician, code="DG2601", name="2026年第1期电工班（晚班）", capacity=12,
                          schedule_text="周一、三、五 19:30-21:30", meetings=EVENING, instructors=[teacher],
                          place="金小哥学院瑞金校区 实训楼201", district="瑞金市")
    for _ in range(3):
        enrol(make_learner(), evening)
    make_cohort(make_course(title="中式烹调师（四级/中级工）培训", occupation="中式烹调师"), code="PR2601",
                name="2026年第1期中式烹调师班（周末班）", schedule_text="周六、周日 09:00-12:00",
                meetings=((5, time(9), time(12)), (6, time(9), time(12))), place="南康区职业技能实训基地",
                district="南康区")
    make_cohort(make_course(title="互联网营销师（直播销售员）培训", occupation="互联网营销师"), code="ZB2601",
                name="2026年第1期直播销售员班（晚班）", schedule_text="周一、周三 20:00-22:00",
                meetings=((0, time(20), time(22)), (2, time(20), time(22))), district="章贡区")
    make_cohort(make_course(title="网约配送员（五级/初级工）培训", occupation="网约配送员"), code="PS2601",
                name="2026年第1期网约配送员班（错峰班）", schedule_text="周二、周四 14:30-16:30",
                meetings=((1, time(14, 30), time(16, 30)), (3, time(14, 30), time(16, 30))), district="章贡区")
    db.session.commit()


def _register(page, mobile: str, name: str, password: str = "Qishou2026") -> None:
    page.fill("#mobile", mobile)
    page.fill("#name", name)
    page.fill("#password", password)
    page.fill("#password2", password)
    page.get_by_role("button", name="注册", exact=True).click()


def _background(locator) -> str:
    return locator.evaluate("e => getComputedStyle(e).backgroundColor")


def _assert_secondary(button, primary) -> None:
    """Withdrawing is a secondary action: it must not look like the primary (red) button."""
    expect(button).to_be_visible()
    assert _background(button) != _background(primary)


def test_new_learner_registers_finds_an_evening_class_enrols_and_sees_it_in_my_courses(
        db, live_server, page, shot):
    _catalogue(db)
    page.goto(f"{live_server}/courses/")
    expect(page.get_by_role("heading", level=1)).to_have_text("找一门适合你时间的课")
    page.select_option("#time", "evening")
    page.select_option("#occupation", "电工")
    page.get_by_role("button", name="查找").click()
    cards = page.locator("ul.cards > li.card")
    expect(cards).to_have_count(1)
    expect(cards.first).to_contain_text("2026年第1期电工班（晚班）")
    expect(cards.first).to_contain_text("余 9 个名额")
    expect(page.locator("main")).not_to_contain_text("直播销售员班")  # evening, but another occupation
    assert_fits_phone(page)
    shot("learner-1-catalogue-evening-electrician")

    cards.first.get_by_role("link").first.click()
    expect(page).to_have_url(re.compile(r"/courses/cohorts/DG2601$"))
    expect(page.locator(".seats")).to_have_text("剩余名额：9 / 12")
    assert_fits_phone(page)
    shot("learner-2-cohort-visitor")

    register = page.get_by_role("link", name="用手机号注册")
    assert register.bounding_box()["height"] >= 44, "registering is the visitor's main way in: a real button"
    register.click()
    _register(page, "15070001234", "钟堃")
    expect(page).to_have_url(re.compile(r"/courses/cohorts/DG2601$"))  # back where the learner was
    expect(page.locator(".flashes")).to_contain_text("注册成功")
    page.get_by_role("button", name="我要报名").click()
    expect(page.locator(".flashes")).to_contain_text("报名成功")
    expect(page.locator(".seats")).to_have_text("剩余名额：8 / 12")
    expect(page.locator("main")).to_contain_text("已报名")
    _assert_secondary(page.get_by_role("button", name="退出报名"), page.get_by_role("link", name="我的课程").last)
    assert_fits_phone(page)
    shot("learner-3-cohort-enrolled")

    page.get_by_role("navigation", name="主菜单").get_by_role("link", name="我的").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("我的课程")
    mine = page.locator("ul.cards > li.card")
    expect(mine).to_have_count(1)
    expect(mine.first).to_contain_text("2026年第1期电工班（晚班）")
    expect(mine.first).to_contain_text("已报名")
    expect(mine.first).to_contain_text("周一、三、五 19:30-21:30")
    assert_fits_phone(page)
    shot("learner-4-my-courses")


def test_learner_joins_the_waitlist_of_a_full_weekend_class_and_sees_their_place(db, live_server, page, shot):
    course = make_course(title="中式烹调师（四级/中级工）培训", occupation="中式烹调师")
    full = make_cohort(course, code="PR2602", name="2026年第2期中式烹调师班（周末班）", capacity=2,
                       schedule_text="周六、周日 09:00-12:00", meetings=((5, time(9), time(12)), (6, time(9), time(12))),
                       place="南康区职业技能实训基地 烹饪实训室", district="南康区")
    for _ in range(3):  # two seats taken, one already waiting
        enrol(make_learner(), full)
    db.session.commit()

    page.goto(f"{live_server}/account/register")
    _register(page, "18870005678", "买买提·艾力")
    page.goto(f"{live_server}/courses/?time=weekend")
    card = page.locator("ul.cards > li.card", has_text="2026年第2期中式烹调师班（周末班）")
    expect(card).to_contain_text("已满，可候补")
    assert_fits_phone(page)
    shot("learner-5-catalogue-weekend-full")

    card.get_by_role("link").first.click()
    expect(page.locator(".seats")).to_have_text("名额已满（2 人），可以排队候补")
    page.get_by_role("button", name="加入候补").click()
    expect(page.locator(".flashes")).to_contain_text("您已进入候补")
    expect(page.locator("main")).to_contain_text("候补第 2 位")
    _assert_secondary(page.get_by_role("button", name="退出候补"), page.get_by_role("link", name="我的课程").last)
    assert_fits_phone(page)
    shot("learner-6-cohort-waitlisted")

    page.get_by_role("navigation", name="主菜单").get_by_role("link", name="我的").click()
    mine = page.locator("ul.cards > li.card", has_text="2026年第2期中式烹调师班（周末班）")
    expect(mine).to_contain_text("候补中")
    expect(mine).to_contain_text("候补第 2 位")
    assert_fits_phone(page)
    shot("learner-7-my-courses-waitlisted")
