"""An instructor keys in a sheet of 30 learners with the keyboard, publishes it, and a learner reads
their result on a phone (390×844).

The instructor works on a laptop-sized window: the cursor starts in the first theory cell, each
value is typed and Enter (the small gradebook.js enhancement) moves down the theory column into
the practical column, where Tab (the column-wise tabindex, no script needed) moves down. One cell
is wrong on purpose (105 > 100): the sheet comes back with the error beside that cell, nothing
saved and every typed value kept; the instructor fixes it and saves again.

Screenshots: test-artifacts/exams-gradebook-error.png, exams-gradebook.png, exams-my-results.png.
"""

from __future__ import annotations

from decimal import Decimal

from playwright.sync_api import expect

from academy.exams import services
from tests.e2e.conftest import ARTIFACTS, assert_fits_phone
from tests.exams.builders import make_assessment, make_class
from tests.factories import PASSWORD

N = 30


def _login(page, live_server, mobile: str) -> None:
    page.goto(f"{live_server}/account/login")
    page.fill("#mobile", mobile)
    page.fill("#password", PASSWORD)
    page.get_by_role("button", name="登录").click()
    page.wait_for_url(lambda url: "/account/login" not in url)


def _marks() -> list[tuple[str, str]]:
    theory = [f"{60 + i}" if i % 2 else f"{60 + i}.5" for i in range(N)]
    practical = [f"{99 - i}" for i in range(N)]
    theory[3] = "８８．５"  # full-width digits, as a Chinese input method types them
    practical[7] = "缺考"
    practical[11] = "105"  # out of range on purpose
    return list(zip(theory, practical, strict=True))


def shot_page(page, name: str) -> None:
    """Screenshot of the instructor's window (the ``shot`` fixture is bound to the phone page)."""
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def test_instructor_keys_in_a_sheet_publishes_and_the_learner_reads_it_on_a_phone(db, live_server, browser, page,
                                                                                    shot):
    cls = make_class(N)
    assessment = make_assessment(cls)
    db.session.commit()
    marks = _marks()

    laptop = browser.new_context(viewport={"width": 1280, "height": 800}, locale="zh-CN")
    desk = laptop.new_page()
    _login(desk, live_server, cls.instructor.mobile)
    desk.goto(f"{live_server}/exams/{assessment.id}/gradebook")
    theory_id, practical_id = (c.id for c in assessment.components)
    desk.locator(f"#m-{cls.learners[0].id}-{theory_id}").focus()
    for theory, _ in marks:  # down the theory column with Enter …
        desk.keyboard.type(theory)
        desk.keyboard.press("Enter")
    expect(desk.locator(f"#m-{cls.learners[0].id}-{practical_id}")).to_be_focused()
    for _, practical in marks:  # … and down the practical column with Tab
        desk.keyboard.type(practical)
        desk.keyboard.press("Tab")
    expect(desk.locator("#reason")).to_be_focused()
    desk.keyboard.press("Tab")
    desk.keyboard.press("Enter")  # the save button

    wrong = desk.locator(f"#m-{cls.learners[11].id}-{practical_id}")
    expect(desk.locator(f"#m-{cls.learners[11].id}-{practical_id}-err")).to_have_text("超过满分100")
    expect(wrong).to_have_value("105")
    expect(wrong).to_be_focused()
    expect(desk.locator(f"#m-{cls.learners[3].id}-{theory_id}")).to_have_value("８８．５")
    shot_page(desk, "exams-gradebook-error")
    assert services.mark_counts([assessment]) == {}

    desk.keyboard.type("95")  # the wrong cell has the focus and its text selected
    desk.get_by_role("button", name="保存整张成绩单").click()
    expect(desk.locator(".flash-success")).to_contain_text(f"{2 * N} 个成绩有变动")
    expect(desk.locator(f"#m-{cls.learners[3].id}-{theory_id}")).to_have_value("88.5")
    expect(desk.locator(f"#m-{cls.learners[7].id}-{practical_id}")).to_have_value("缺考")
    shot_page(desk, "exams-gradebook")

    desk.goto(f"{live_server}/exams/{assessment.id}")
    desk.get_by_role("button", name="发布成绩").click()
    expect(desk.locator(".flash-success")).to_contain_text("成绩已发布")
    laptop.close()

    phone = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    phone_sheet = phone.new_page()  # the same sheet on a phone: it scrolls inside its table, not the page
    _login(phone_sheet, live_server, cls.instructor.mobile)
    phone_sheet.goto(f"{live_server}/exams/{assessment.id}/gradebook")
    expect(phone_sheet.locator(f"#m-{cls.learners[0].id}-{practical_id}")).to_be_visible()
    assert_fits_phone(phone_sheet)
    phone.close()

    db.session.expire_all()
    rows = {r.learner.id: r for r in services.gradebook(assessment)}
    assert rows[cls.learners[3].id].marks[theory_id].points == Decimal("88.5")
    assert rows[cls.learners[11].id].marks[practical_id].points == Decimal("95")
    assert rows[cls.learners[7].id].result.passed is False

    learner = cls.learners[1]  # theory 61, practical 98 → 79.5, passed
    _login(page, live_server, learner.mobile)
    page.goto(f"{live_server}/enrolment/my")
    page.get_by_role("link", name="我的成绩").click()
    expect(page.get_by_role("heading", name="我的成绩")).to_be_visible()
    card = page.locator(".result-card")
    expect(card).to_contain_text("61")
    expect(card).to_contain_text("98")
    expect(card).to_contain_text("79.5")
    expect(card.locator(".outcome .tag-ok")).to_have_text("合格")
    expect(card).to_contain_text("第1次考试")
    assert_fits_phone(page)
    shot("exams-my-results")
