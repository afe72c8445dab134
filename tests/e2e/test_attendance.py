"""Check-in in a real classroom, in a browser: the projector's QR code and a rider's phone.

Runs against a live server sharing the test database (data committed first), with Debian's
Chromium. The projector's QR code is decoded from a screenshot with ``zbarimg`` (zbar-tools),
so what is tested is what a phone camera would read. Screenshots: test-artifacts/attendance-*.png.
"""

from __future__ import annotations

import re
import subprocess
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

from playwright.sync_api import expect

from academy.attendance import tokens
from academy.attendance.models import AttendanceRecord
from academy.common.timeutil import now_utc
from tests.attendance.builders import make_session, token_at
from tests.e2e.conftest import ARTIFACTS, assert_fits_phone
from tests.factories import PASSWORD, enrol, make_cohort, make_instructor, make_learner


def _class_now(db, *, rotation_seconds: int = 30):
    """A running cohort with a session that started five minutes ago (check-in open, not late)."""
    teacher = make_instructor(name="刘建华")
    rider = make_learner(name="邱志明")
    cohort = make_cohort(name="2026年第1期电工班（晚班）", instructors=[teacher], place="瑞金校区 实训楼201")
    enrol(rider, cohort)
    for _ in range(2):
        enrol(make_learner(), cohort)
    now = now_utc()
    session = make_session(cohort, now - timedelta(minutes=5), now + timedelta(hours=2), topic="照明电路安装",
                           rotation_seconds=rotation_seconds)
    db.session.commit()
    return teacher, rider, session


def _log_in(page, user) -> None:
    page.fill("#mobile", user.mobile)
    page.fill("#password", PASSWORD)
    page.get_by_role("button", name="登录", exact=True).click()


def test_a_logged_out_rider_opens_the_link_logs_in_confirms_and_sees_checked_in(db, live_server, page, shot):
    _, rider, session = _class_now(db)
    link = f"{live_server}/attendance/c/{session.public_code}?t={token_at(session, now_utc())}"

    page.goto(link)
    expect(page).to_have_url(re.compile(r"/account/login\?next="))
    expect(page.locator(".flashes")).to_contain_text("登录后会回到这里完成签到")
    shot("attendance-1-login-from-qr")
    _log_in(page, rider)

    expect(page).to_have_url(f"{live_server}/attendance/c/{session.public_code}")  # the token left the URL
    expect(page.locator(".checkin")).to_contain_text("照明电路安装")
    confirm = page.get_by_role("button", name="确认签到")
    expect(confirm).to_be_visible()
    assert_fits_phone(page)
    shot("attendance-2-confirm")
    confirm.click()

    expect(page.locator(".checkin-done")).to_have_text("✓ 已签到")
    expect(page.locator(".flashes")).to_contain_text("签到成功")
    assert_fits_phone(page)
    shot("attendance-3-checked-in")
    db.session.expire_all()
    (record,) = db.session.query(AttendanceRecord).all()
    assert (record.learner_id, record.status, record.source) == (rider.id, "present", "qr")


def test_the_projector_shows_a_qr_code_that_decodes_to_the_check_in_url_and_rotates(
        db, live_server, browser, page, shot):
    teacher, rider, session = _class_now(db, rotation_seconds=10)
    projector = browser.new_context(viewport={"width": 1280, "height": 800}, locale="zh-CN")
    screen = projector.new_page()
    screen.goto(f"{live_server}/account/login")
    _log_in(screen, teacher)
    screen.goto(f"{live_server}/attendance/sessions/{session.id}/projector")
    expect(screen.locator(".projector-count")).to_contain_text("已签到 0 / 3")
    code = screen.locator(".projector-code")
    expect(code).to_have_text(re.compile(r"^\d{6}$"))

    ARTIFACTS.mkdir(exist_ok=True)
    image = ARTIFACTS / "attendance-4-projector.png"
    screen.screenshot(path=str(image), full_page=True)
    decoded = subprocess.run(["zbarimg", "--quiet", "--raw", str(image)], capture_output=True, text=True,
                             timeout=30, check=True).stdout.strip()
    url = urlsplit(decoded)
    assert f"{url.scheme}://{url.netloc}" == live_server
    assert url.path == f"/attendance/c/{session.public_code}"
    token = parse_qs(url.query)["t"][0]
    assert tokens.check_token(session.id, token, session.rotation_seconds, now=now_utc()).ok

    # The rider scans it: the decoded URL, opened on the phone, leads to a one-tap check-in.
    page.goto(decoded)
    _log_in(page, rider)
    page.get_by_role("button", name="确认签到").click()
    expect(page.locator(".checkin-done")).to_have_text("✓ 已签到")
    shot("attendance-5-checked-in-from-projector")

    # The projector page fetches the next frame by itself (no reload): new code, live count.
    screen.evaluate("window.__stayed = true")
    first = code.inner_text()
    expect(code).not_to_have_text(first, timeout=15_000)
    expect(screen.locator(".projector-count")).to_contain_text("已签到 1 / 3", timeout=15_000)
    assert screen.evaluate("window.__stayed === true")
    projector.close()


def test_the_instructor_takes_the_roll_on_a_phone(db, live_server, page, shot):
    teacher, rider, session = _class_now(db)
    page.goto(f"{live_server}/account/login")
    _log_in(page, teacher)
    page.goto(f"{live_server}/attendance/sessions/{session.id}/register")
    row = page.locator(f"#l{rider.id}")
    row.locator("input[name=note]").fill("手机没电，到场")
    row.get_by_role("button", name="迟到").click()
    row = page.locator(f"#l{rider.id}")
    expect(row.locator(".tag").first).to_have_text("迟到")
    expect(row.get_by_role("button", name="迟到")).to_have_attribute("aria-pressed", "true")
    page.get_by_role("button", name=re.compile(r"把未签到的 2 人记为缺勤")).click()
    expect(page.locator(".flashes")).to_contain_text("已将 2 名未签到的学员记为缺勤")
    expect(page.locator("main")).to_contain_text("修改记录")
    assert_fits_phone(page)
    shot("attendance-6-roll-call-phone")


def test_a_rider_sees_the_rate_and_how_many_more_sessions_may_be_missed(db, live_server, page, shot):
    from academy.attendance import services

    teacher, rider, session = _class_now(db)
    earlier = [make_session(session.cohort, session.starts_at - timedelta(weeks=w),
                            session.ends_at - timedelta(weeks=w)) for w in (1, 2, 3)]
    later = [make_session(session.cohort, session.starts_at + timedelta(weeks=w),
                          session.ends_at + timedelta(weeks=w)) for w in range(1, 7)]
    for s, status in zip(earlier, ["present", "absent", "late"], strict=True):
        services.set_status(s, rider.id, status, actor=teacher, now=s.ends_at)
    db.session.commit()
    page.goto(f"{live_server}/account/login")
    _log_in(page, rider)
    page.goto(f"{live_server}/attendance/my")
    card = page.locator("ul.cards > li.card").first
    expect(card.locator(".rate-big")).to_have_text("66.7%")
    expect(card).to_contain_text("还可以缺 1 次；再缺 2 次就低于 80%")
    assert_fits_phone(page)
    shot("attendance-7-my-attendance")
    page.get_by_role("link", name="每次课的记录 / 请假").click()
    page.get_by_role("link", name="请假").first.click()
    page.fill("#reason", "晚高峰订单多，需要跑单")
    page.get_by_role("button", name="提交请假").click()
    expect(page.locator(".flashes")).to_contain_text("请假已提交")
    expect(page.locator("main")).to_contain_text("待审批")
    assert_fits_phone(page)
    shot("attendance-8-leave-requested")
    assert len(later) == 6
