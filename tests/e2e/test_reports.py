"""An administrator reads the dashboard on a phone (390×844) — figures, SVG charts, breakdowns, a
filter — and sees a learner's full mobile number once with the privacy button on the user page.

Screenshots: test-artifacts/reports-dashboard.png, privacy-unmasked.png.
"""

from __future__ import annotations

from playwright.sync_api import expect

from tests.e2e.conftest import assert_fits_phone
from tests.factories import PASSWORD, make_admin
from tests.reports.builders import city


def _login(page, live_server, mobile: str) -> None:
    page.goto(f"{live_server}/account/login")
    page.fill("#mobile", mobile)
    page.fill("#password", PASSWORD)
    page.get_by_role("button", name="登录").click()


def test_an_admin_reads_the_dashboard_on_a_phone(db, live_server, page, shot):
    town = city()
    admin = make_admin(mobile="13800000001")
    db.session.commit()
    _login(page, live_server, admin.mobile)
    page.goto(f"{live_server}/reports/?date_from=2026-01-01&date_to=2026-06-30")
    expect(page.get_by_role("heading", name="统计报表")).to_be_visible()
    expect(page.locator('[data-figure="learners_trained"]')).to_have_text("5")
    expect(page.locator('[data-figure="attendance_rate"]')).to_have_text("75%")
    expect(page.locator("svg.chart")).to_have_count(3)
    expect(page.get_by_role("img", name="每月出勤人次")).to_be_visible()
    expect(page.locator("#table-district tbody tr").first).to_contain_text("瑞金市")
    assert_fits_phone(page)
    shot("reports-dashboard")
    page.select_option("#district", "章贡区")
    page.get_by_role("button", name="统计").click()
    expect(page.locator('[data-figure="learners_trained"]')).to_have_text("1")

    learner = town.people["L1"]
    page.goto(f"{live_server}/account/users/{learner.id}")
    page.get_by_role("button", name="查看完整信息").click()
    expect(page.get_by_text(learner.mobile)).to_be_visible()
    assert_fits_phone(page)
    shot("privacy-unmasked")
