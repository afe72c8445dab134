"""An administrator on a phone (390×844) imports the shared roster.csv and reads the report.

Runs against a live server sharing the test database; data is committed before the browser
looks at it. The screenshot goes to test-artifacts/roster-import.png.
"""

from __future__ import annotations

import re

from playwright.sync_api import expect
from sqlalchemy import func, select

from academy.accounts.models import User
from tests.conftest import shared_file
from tests.e2e.conftest import assert_fits_phone
from tests.factories import PASSWORD, make_admin


def test_admin_uploads_the_roster_csv_and_sees_the_report_with_its_counts(db, live_server, page, shot):
    admin = make_admin(name="管理员")
    db.session.commit()

    page.goto(f"{live_server}/account/login")
    page.fill("#mobile", admin.mobile)
    page.fill("#password", PASSWORD)
    page.get_by_role("button", name="登录", exact=True).click()
    page.get_by_role("navigation", name="主菜单").get_by_role("link", name="工作台").click()
    page.get_by_role("link", name="导入花名册").click()
    expect(page).to_have_url(re.compile(r"/enrolment/import$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("导入花名册")
    assert_fits_phone(page)

    page.set_input_files("#file", str(shared_file("roster.csv")))
    page.get_by_role("button", name="上传", exact=True).click()
    report = page.locator("#report")
    expect(report.get_by_role("heading", level=2)).to_have_text("导入完成")
    expect(report).to_contain_text("roster.csv")
    expect(report).to_contain_text("共 50 行")
    expect(report.locator("dt", has_text="新建学员").locator("+ dd")).to_have_text("50")
    expect(report.locator("dt", has_text="更新学员").locator("+ dd")).to_have_text("0")
    assert_fits_phone(page)
    shot("roster-import")
    db.session.expire_all()
    assert db.session.scalar(select(func.count()).select_from(User)) == 51
