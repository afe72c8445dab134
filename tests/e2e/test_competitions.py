"""虔能杯 on a phone (390×844): a judge scores three contestants by drawn number, the chief judge
locks, an administrator publishes, and the public board shows the results.

Runs against a live server sharing the test database; data is committed before the browser
looks at it. Screenshots go to test-artifacts/competition-*.png and results-board.png.
"""

from __future__ import annotations

import re
from decimal import Decimal

from playwright.sync_api import expect

from academy.competitions import judging, marking, registration, services
from tests.competitions.builders import NOW, add_scheme, make_edition, make_event, make_judge, make_rider
from tests.e2e.conftest import assert_fits_phone
from tests.factories import PASSWORD, make_admin

RIDERS = (("陈志强", "美团"), ("黄丽萍", "饿了么"), ("欧阳建国", "顺丰同城"))


def _contest(db):
    """A drawn, checked-in event: a marking judge, a chief judge who does not mark, theory entered."""
    admin = make_admin(name="王管理")
    edition = make_edition(actor=admin, name="2026年“虔能杯”网约配送员职业技能竞赛")
    event = make_event(edition, admin=admin, name="网约配送员（高级工）")
    add_scheme(event, admin=admin)
    judge, chief = make_judge(name="李评委"), make_judge(name="赵裁判长")
    services.assign_judge(event, chief, is_chief=True, marks=False, actor=admin)
    services.assign_judge(event, judge, actor=admin)
    riders = [make_rider(name=name, platform=platform) for name, platform in RIDERS]
    for rider in riders:
        registration.add_entry(rider, event, actor=admin, now=NOW)
    services.set_status(event, "contest", actor=admin)
    registration.draw(event, actor=admin, seed="2026-05-14 公开抽签", now=NOW)
    entries = []
    for rider, theory in zip(riders, ("86", "91.5", "78"), strict=True):
        entry = registration.check_in(event, rider.id_number[-6:], actor=admin, now=NOW)
        judging.set_component_score(entry, event.component("theory"), Decimal(theory), actor=admin, now=NOW)
        entries.append(entry)
    db.session.commit()
    return event, admin, judge, chief, sorted(entries, key=lambda e: e.number)


def _login(page, live_server, user) -> None:
    page.context.clear_cookies()
    page.goto(f"{live_server}/account/login")
    page.fill("#mobile", user.mobile)
    page.fill("#password", PASSWORD)
    page.get_by_role("button", name="登录", exact=True).click()
    expect(page).not_to_have_url(re.compile(r"/account/login"))


def _pick(page, aspect_id: int, value: str) -> None:
    page.locator(f'label:has(input[name="a-{aspect_id}"][value="{value}"])').click()


def test_judge_scores_three_contestants_chief_locks_and_results_publish_to_the_public_board(
        db, live_server, page, shot):
    event, admin, judge, chief, entries = _contest(db)
    aspects = marking.scheme_aspects(event)
    m, j, partial, j_trimmed = aspects
    # per contestant: (M mark, J score, partial mark, J score) → practical 88, 100, 55.5
    marks = {"陈志强": ("18", "2", "20", "3"), "黄丽萍": ("20", "3", "20", "3"), "欧阳建国": ("15.5", "1", "10", "2")}

    _login(page, live_server, judge)
    page.goto(f"{live_server}/competitions/")
    page.get_by_role("link", name="进入评分").click()
    tiles = page.locator("ul.tiles a.tile")
    expect(tiles).to_have_count(3)
    for entry in entries:
        expect(page.locator("main")).not_to_contain_text(entry.learner.name)
    assert_fits_phone(page)
    shot("competition-1-judge-numbers")

    for entry in entries:
        m_value, j_value, partial_value, j2_value = marks[entry.learner.name]
        page.locator("ul.tiles a.tile", has_text=entry.number_label).click()
        expect(page.locator("h1")).to_contain_text(entry.number_label)
        page.fill(f"#a-{m.id}", m_value)
        _pick(page, j.id, j_value)
        _pick(page, partial.id, partial_value)
        if entry is entries[0]:
            page.get_by_role("button", name="保存草稿").click()
            expect(page.locator(".flash-success")).to_have_text("草稿已保存")
            assert_fits_phone(page)
            shot("competition-2-score-sheet-draft")
        _pick(page, j_trimmed.id, j2_value)
        page.get_by_role("button", name="提交评分").click()
        expect(page.locator(".flash-success")).to_contain_text(f"{entry.number_label}号评分已提交")
    expect(page.locator("ul.tiles a.tile-done")).to_have_count(3)

    _login(page, live_server, chief)
    page.goto(f"{live_server}/competitions/judge/events/{event.id}/progress")
    expect(page.locator("table.matrix tbody tr")).to_have_count(3)
    expect(page.locator("td.cell-submitted")).to_have_count(3)
    assert_fits_phone(page)
    page.get_by_role("button", name="锁定成绩").click()
    expect(page.locator(".flash-success")).to_have_text("成绩已锁定")
    shot("competition-3-chief-locked")

    _login(page, live_server, admin)
    page.goto(f"{live_server}/competitions/manage/events/{event.id}/results")
    page.get_by_role("button", name="公布成绩").click()
    expect(page.locator(".flash-success")).to_have_text("成绩已公布")

    page.context.clear_cookies()
    page.goto(f"{live_server}/competitions/events/{event.public_code}/results")
    rows = page.locator("ol.board > li")
    expect(rows).to_have_count(3)
    # 黄丽萍: practical 100, theory 91.5 → 70 + 27.45 = 97.45
    expect(rows.nth(0)).to_contain_text("黄*萍")
    expect(rows.nth(0)).to_contain_text("97.45")
    expect(rows.nth(0)).to_contain_text("一等奖")
    expect(rows.nth(0)).to_contain_text("饿了么")
    expect(rows.nth(1)).to_contain_text("陈*强")  # 61.6 + 25.8 = 87.40
    expect(rows.nth(1)).to_contain_text("87.40")
    expect(rows.nth(2)).to_contain_text("欧**国")  # 38.85 + 23.4 = 62.25
    expect(rows.nth(2)).to_contain_text("62.25")
    expect(page.locator("main")).not_to_contain_text("陈志强")
    assert_fits_phone(page)
    shot("results-board")
