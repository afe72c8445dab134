"""Competition rules: setup, registration, draw, check-in, marking scheme, judging, results."""

from __future__ import annotations

import hashlib
import io
from datetime import timedelta
from decimal import Decimal

import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select

from academy.audit.models import AuditEvent
from academy.common.spreadsheets import build_xlsx
from academy.competitions import draw as drawing
from academy.competitions import imports, judging, marking, registration, results, services
from academy.competitions.models import (
    ComponentScore,
    ComponentSource,
    Entry,
    EntryStatus,
    EventStatus,
    Result,
    ScoreChange,
    ScoreSheet,
)
from academy.errors import Conflict, PermissionDenied, ValidationFailed
from academy.extensions import db
from tests.competitions.builders import (
    CONTEST_DAY,
    NOW,
    SMALL_SCHEME,
    add_scheme,
    full_marks,
    make_event,
    make_judge,
    make_rider,
    ready_event,
    score_everything,
)
from tests.conftest import shared_file
from tests.factories import make_admin, make_learner, valid_id_number

D = Decimal


def audit_actions(action: str) -> list[AuditEvent]:
    return list(db.session.scalars(select(AuditEvent).where(AuditEvent.action == action)))


# --- setup ----------------------------------------------------------------------------------

def _values(**kw):
    return services.EventValues(name="网约配送员", occupation="网约配送员", **kw)


def test_component_weights_must_add_up_to_exactly_one_hundred():
    admin = make_admin()
    event = make_event(admin=admin)
    components = [services.ComponentSpec("theory", "理论知识", D("30.5")),
                  services.ComponentSpec("practical", "操作技能", D(70), source=ComponentSource.SCHEME)]
    with pytest.raises(services.CompetitionError, match="权重之和应为 100%，现在是 100.5%"):
        services.save_event(event, _values(), components, [], actor=admin)


def test_any_number_of_weighted_components_is_allowed():
    admin = make_admin()
    event = make_event(admin=admin, components=[
        services.ComponentSpec("theory", "理论知识", D(25)),
        services.ComponentSpec("practical", "操作技能", D(55), source=ComponentSource.SCHEME),
        services.ComponentSpec("defence", "技术答辩", D(20), max_score=D(50)),
    ], tie_breaks=("practical:desc", "defence:desc"))
    assert [c.code for c in event.components] == ["theory", "practical", "defence"]
    assert event.tie_breaks == ["practical:desc", "defence:desc"]


def test_only_one_component_can_follow_the_marking_scheme():
    admin = make_admin()
    event = make_event(admin=admin)
    components = [services.ComponentSpec("a", "甲", D(50), source=ComponentSource.SCHEME),
                  services.ComponentSpec("b", "乙", D(50), source=ComponentSource.SCHEME)]
    with pytest.raises(services.CompetitionError, match="只能有一个科目按评分标准计分"):
        services.save_event(event, _values(tie_breaks=()), components, [], actor=admin)


def test_tie_breaks_must_name_a_component_or_time():
    admin = make_admin()
    event = make_event(admin=admin)
    with pytest.raises(services.CompetitionError, match="不存在的科目“speed”"):
        services.save_event(event, _values(tie_breaks=("speed:desc",)), list(services.DEFAULT_COMPONENTS), [],
                            actor=admin)


def test_award_rules_are_counts_or_shares_with_titles():
    admin = make_admin()
    event = make_event(admin=admin, award_mode="shares", awards=[
        services.AwardSpec("一等奖", share=D(10), title="赣州市技术能手", level_note="可晋升二级/技师"),
        services.AwardSpec("二等奖", share=D(20)), services.AwardSpec("三等奖", share=D(30))])
    assert [(r.name, r.share, r.count) for r in event.award_rules] == [
        ("一等奖", D(10), None), ("二等奖", D(20), None), ("三等奖", D(30), None)]
    assert event.award_rules[0].title == "赣州市技术能手"
    with pytest.raises(services.CompetitionError, match="比例之和不能超过 100%"):
        services.save_event(event, _values(award_mode="shares"), list(services.DEFAULT_COMPONENTS),
                            [services.AwardSpec("一等奖", share=D(60)), services.AwardSpec("二等奖", share=D(50))],
                            actor=admin)


def test_event_settings_cannot_change_once_scores_are_locked():
    event, admin, team, entries = ready_event()
    score_everything(event, team, entries, admin)
    judging.lock_scores(event, actor=team[0], now=NOW)
    with pytest.raises(services.CompetitionError, match="成绩已锁定"):
        services.save_event(event, _values(), list(services.DEFAULT_COMPONENTS), [], actor=admin)


def test_only_administrators_set_up_events():
    with pytest.raises(PermissionDenied):
        services.save_edition(None, services.EditionValues(name="x", year=2026), actor=make_learner())


# --- registration ---------------------------------------------------------------------------

def test_learner_registers_from_the_phone_and_waits_for_approval():
    event = make_event()
    rider = make_rider()
    entry = registration.register(rider, event, now=NOW)
    assert entry.status == EntryStatus.PENDING
    assert entry.platform == "美团" and len(entry.code) >= 12
    admin = make_admin()
    registration.decide_entry(entry, True, actor=admin, now=NOW)
    assert entry.status == EntryStatus.APPROVED and entry.decided_by_id == admin.id


def test_eligibility_gives_every_reason_in_plain_words():
    event = make_event(eligible_groups=("外卖员", "快递员"), min_age=18, max_age=55)
    nobody = make_learner(occupation_group="网约车司机")
    problems = registration.eligibility_problems(nobody, event, now=NOW)
    assert "参赛需要实名：请先在“我的资料”中填写身份证号" in problems
    assert any(p.startswith("本赛项只接受外卖员、快递员报名（您的从业类型：网约车司机") for p in problems)
    closed = registration.eligibility_problems(make_rider(), event, now=NOW + timedelta(days=5))
    assert any(p.startswith("报名已于") for p in closed)


def test_age_is_counted_on_the_contest_day_from_the_id_birth_date():
    event = make_event(min_age=18)
    born = CONTEST_DAY.replace(year=CONTEST_DAY.year - 18) + timedelta(days=1)  # turns 18 the day after
    young = make_rider(id_number=valid_id_number(9001, born=born.strftime("%Y%m%d")), birth_date=born)
    assert registration.eligibility_problems(young, event, now=NOW) == ["比赛当天须年满 18 周岁（您届时 17 周岁）"]
    with pytest.raises(services.CompetitionError, match="不能报名：比赛当天须年满 18 周岁"):
        registration.register(young, event, now=NOW)
    adult_born = born - timedelta(days=1)
    adult = make_rider(id_number=valid_id_number(9002, born=adult_born.strftime("%Y%m%d")), birth_date=adult_born)
    assert registration.eligibility_problems(adult, event, now=NOW) == []


def test_capacity_is_never_exceeded():
    event = make_event(capacity=2)
    registration.register(make_rider(), event, now=NOW)
    registration.register(make_rider(), event, now=NOW)
    with pytest.raises(services.CompetitionError, match="名额已满"):
        registration.register(make_rider(), event, now=NOW)


def test_a_rejection_needs_a_reason_which_the_learner_sees():
    event = make_event()
    rider = make_rider()
    entry = registration.register(rider, event, now=NOW)
    with pytest.raises(services.CompetitionError, match="请填写原因"):
        registration.decide_entry(entry, False, "", actor=make_admin())
    registration.decide_entry(entry, False, "非本市从业人员", actor=make_admin())
    assert "您的报名未通过审核：非本市从业人员" in registration.eligibility_problems(rider, event, now=NOW)


def test_withdrawal_frees_the_place_and_is_refused_after_check_in():
    event = make_event(capacity=1, approval_required=False)
    rider = make_rider()
    entry = registration.register(rider, event, now=NOW)
    registration.withdraw_entry(entry, actor=rider, now=NOW)
    assert entry.status == EntryStatus.WITHDRAWN
    entry = registration.register(rider, event, now=NOW)  # may register again; the place was free
    assert entry.status == EntryStatus.APPROVED
    with pytest.raises(PermissionDenied):
        registration.withdraw_entry(entry, actor=make_rider())
    event2, admin, team, entries = ready_event(contestants=1)
    with pytest.raises(services.CompetitionError, match="已检录"):
        registration.withdraw_entry(entries[0], actor=entries[0].learner)


# --- the draw and check-in ------------------------------------------------------------------

def test_draw_numbers_follow_the_sha256_order_of_the_seed():
    keys = [5, 9, 12, 40]
    numbers = drawing.draw_numbers("abc", keys)
    by_digest = sorted(keys, key=lambda k: hashlib.sha256(f"abc:{k}".encode()).hexdigest())
    assert [numbers[k] for k in by_digest] == [1, 2, 3, 4]
    assert drawing.draw_numbers("abc", reversed(keys)) == numbers
    assert len(drawing.new_seed()) == 16 and drawing.new_seed() != drawing.new_seed()


def test_the_draw_is_reproducible_from_the_recorded_seed_and_logged():
    admin = make_admin()
    event = make_event(admin=admin)
    entries = [registration.add_entry(make_rider(), event, actor=admin, now=NOW)[0] for _ in range(12)]
    services.set_status(event, EventStatus.CONTEST, actor=admin)
    seed = registration.draw(event, actor=admin, now=NOW)
    first = {e.id: e.number for e in entries}
    assert sorted(first.values()) == list(range(1, 13)) and event.draw_seed == seed
    registration.draw(event, actor=admin, seed="another seed", now=NOW)
    assert {e.id: e.number for e in entries} != first
    registration.draw(event, actor=admin, seed=seed, now=NOW)
    assert {e.id: e.number for e in entries} == first
    logged = audit_actions("competition.drawn")
    assert [a.details["seed"] for a in logged] == [seed, "another seed", seed]


def test_the_draw_needs_registration_closed_and_every_registration_decided():
    admin = make_admin()
    event = make_event(admin=admin)
    registration.register(make_rider(), event, now=NOW)
    with pytest.raises(services.CompetitionError, match="请先截止报名再抽签"):
        registration.draw(event, actor=admin)
    with pytest.raises(services.CompetitionError, match="1 条报名待审核"):
        services.set_status(event, EventStatus.CONTEST, actor=admin)


def test_check_in_by_the_last_six_characters_of_the_id_number():
    event, admin, team, entries = ready_event(contestants=2)
    entry = entries[0]
    entry.checked_in_at = None
    db.session.flush()
    with pytest.raises(services.CompetitionError, match="没有找到这名选手"):
        registration.check_in(event, "000000", actor=admin)
    checked = registration.check_in(event, entry.learner.id_number[-6:].lower(), actor=admin, now=NOW)
    assert checked is entry and entry.checked_in_at == NOW
    with pytest.raises(Conflict, match="已于"):
        registration.check_in(event, entry.learner.id_number, actor=admin)


def _twin_ids() -> tuple[str, str]:
    """Two valid ID numbers from different regions that share their last 6 characters."""
    from academy.common.ids import check_character

    by_check: dict[str, str] = {}
    for region in range(360702, 360800):
        first17 = f"{region}19900101123"
        number = first17 + check_character(first17)
        if number[-1] in by_check:
            return by_check[number[-1]], number
        by_check[number[-1]] = number
    raise AssertionError("no twins")


def test_check_in_asks_for_the_full_id_when_two_share_the_last_six():
    admin = make_admin()
    event = make_event(admin=admin)
    first, second = _twin_ids()
    a, b = make_rider(id_number=first), make_rider(id_number=second)
    for rider in (a, b):
        registration.add_entry(rider, event, actor=admin, now=NOW)
    services.set_status(event, EventStatus.CONTEST, actor=admin)
    registration.draw(event, actor=admin, now=NOW)
    with pytest.raises(services.CompetitionError, match="请输入完整的 18 位身份证号"):
        registration.check_in(event, a.id_number[-6:], actor=admin)
    assert registration.check_in(event, b.id_number, actor=admin).learner_id == b.id


# --- marking scheme -------------------------------------------------------------------------

def test_the_scheme_marks_must_add_up_to_the_practical_maximum():
    admin = make_admin()
    event = make_event(admin=admin)
    assert marking.scheme_problems(event) == ["还没有操作技能的评分标准"]
    add_scheme(event, SMALL_SCHEME[:3], admin=admin)
    assert marking.scheme_problems(event) == ["评分标准各项分值合计 70 分，应等于操作技能满分 100 分"]
    add_scheme(event, SMALL_SCHEME, admin=admin)
    assert marking.scheme_problems(event) == []


def test_marking_scheme_import_reads_the_rider_contest_file():
    admin = make_admin()
    event = make_event(admin=admin)
    path = shared_file("contest-rider-marking-scheme.xlsx")
    aspects = imports.import_scheme(event, path, path.name, actor=admin)
    assert len(aspects) == 19
    assert marking.scheme_total(aspects) == D(100)
    scheme = marking.load_scheme(event)
    assert [s.name for s in scheme] == ["A 出车前准备", "B 取餐与核单", "C 骑行技能", "D 送达与服务", "E 应急处置"]
    assert [(a.name, a.kind, a.max_mark) for a in scheme[0].aspects][:2] == [
        ("A1 检查车辆刹车、灯光、轮胎", "M", D(3)), ("A2 规范佩戴安全头盔、穿着工装", "M", D(2))]
    assert sum(1 for a in aspects if a.kind == "J") == 6
    assert scheme[2].aspects[0].notes == "每碰一桩扣2分，脚着地扣2分"
    assert marking.scheme_problems(event) == []


def test_scheme_import_reports_every_bad_row_and_writes_nothing():
    admin = make_admin()
    event = make_event(admin=admin)
    data = build_xlsx([("评分标准", ["子模块", "评分项", "类型（M测量/J评价）", "分值", "评分说明"], [
        ["A", "A1", "M", 60, ""], ["A", "A2", "X", 30, ""], ["B", "B1", "J", "十", ""]])])
    with pytest.raises(ValidationFailed) as caught:
        imports.import_scheme(event, data, "scheme.xlsx", actor=admin)
    messages = [str(e) for e in caught.value.errors]
    assert "第 3 行，类型（M测量/J评价）：应为 M（测量）或 J（评价）" in messages
    assert "第 4 行，分值：“十”不是数字" in messages
    assert marking.scheme_aspects(event) == []
    data = build_xlsx([("评分标准", ["子模块", "评分项", "类型", "分值"], [["A", "A1", "M", 60], ["A", "A2", "J", 30]])])
    with pytest.raises(ValidationFailed) as caught:
        imports.import_scheme(event, data, "scheme.xlsx", actor=admin)
    assert str(caught.value.errors[0]) == "第 1 行，分值：各项分值合计 90 分，应等于操作技能满分 100 分"


def test_the_scheme_cannot_change_once_judging_has_started():
    event, admin, team, entries = ready_event()
    judging.save_sheet(event, team[0], entries[0], {marking.scheme_aspects(event)[0].id: "10"}, submit=False)
    with pytest.raises(services.CompetitionError, match="裁判已开始评分"):
        add_scheme(event, admin=admin)


# --- registration and score imports ---------------------------------------------------------

def test_registration_import_reads_the_rider_contest_file_with_theory_scores():
    admin = make_admin()
    event = make_event(admin=admin, eligible_groups=("外卖员",))
    path = shared_file("contest-rider-registrations.xlsx")
    report = imports.import_registrations(event, path, path.name, actor=admin, now=NOW,
                                          score_component=event.component("theory"), occupation_group="外卖员")
    assert (report.rows, report.created_learners, report.new_entries, report.scores_set) == (63, 63, 63, 63)
    entries = registration.event_entries(event)
    assert {e.status for e in entries} == {EntryStatus.APPROVED}
    assert {e.platform for e in entries} == {"饿了么", "美团外卖", "UU跑腿", "闪送"}
    first = next(e for e in entries if e.learner.name == "司马睿军")
    assert first.learner.id_number == "360781197508224719" and first.district == "瑞金市"
    assert first.learner.occupation_group == "外卖员" and first.learner.password_hash is None
    scores = judging.entered_scores(event.component("theory"))
    assert scores[first.id].value == D(84)
    assert next(s for e, s in ((e, scores[e.id]) for e in entries) if e.learner.name == "廖华伟").value == D("89.5")
    # importing the same file again adds nobody and changes nothing
    again = imports.import_registrations(event, path, path.name, actor=admin, now=NOW,
                                         score_component=event.component("theory"))
    assert (again.created_learners, again.new_entries, again.existing_entries, again.scores_set) == (0, 0, 63, 0)


def test_registration_import_matches_a_known_learner_by_id_number():
    admin = make_admin()
    event = make_event(admin=admin)
    known = make_rider(id_number="360781197508224719", mobile="13900000001")
    path = shared_file("contest-rider-registrations.xlsx")
    report = imports.import_registrations(event, path, path.name, actor=admin, now=NOW)
    assert (report.created_learners, report.matched_learners) == (62, 1)
    assert registration.get_entry(event, known).status == EntryStatus.APPROVED


def test_registration_import_is_all_or_nothing_with_a_report_per_row():
    admin = make_admin()
    event = make_event(admin=admin)
    good = valid_id_number(77)
    rows = [[1, "张三", "男", good, "13800000001", "美团", "章贡区", 80],
            [2, "李四", "男", "360702199001011234", "13800000002", "美团", "章贡区", 80],
            [3, "王五", "男", good, "1380000", "美团", "火星区", 120]]
    data = build_xlsx([("报名表", ["序号", "姓名", "性别", "身份证号", "手机号", "所属平台", "所在县（市、区）",
                                   "理论知识成绩"], rows)])
    with pytest.raises(ValidationFailed) as caught:
        imports.import_registrations(event, data, "list.xlsx", actor=admin, now=NOW,
                                     score_component=event.component("theory"))
    messages = [str(e) for e in caught.value.errors]
    assert "第 3 行，身份证号：身份证号校验位不正确，请核对是否输错" in messages
    assert "第 4 行，身份证号：与第 2 行重复" in messages
    assert "第 4 行，手机号：手机号应为1开头的11位数字" in messages
    assert "第 4 行，所在县（市、区）：“火星区”不是赣州市的县（市、区）" in messages
    assert "第 4 行，理论知识成绩：应在 0 到 100 分之间" in messages
    assert db.session.scalar(select(func.count()).select_from(Entry)) == 0


def test_registration_import_respects_the_capacity():
    admin = make_admin()
    event = make_event(admin=admin, capacity=10)
    path = shared_file("contest-rider-registrations.xlsx")
    with pytest.raises(ValidationFailed, match="名额不足：本赛项名额 10 人"):
        imports.import_registrations(event, path, path.name, actor=admin, now=NOW)


def test_theory_scores_import_separately_by_id_number():
    admin = make_admin()
    event = make_event(admin=admin)
    path = shared_file("contest-rider-registrations.xlsx")
    imports.import_registrations(event, path, path.name, actor=admin, now=NOW)
    data = build_xlsx([("理论成绩", ["身份证号", "姓名", "理论知识成绩"], [
        ["360781197508224719", "司马睿军", 91.5], ["36072319981021842x", "李秀玲", "缺考"]])])
    changed = imports.import_component_scores(event, event.component("theory"), data, "exam.xlsx", actor=admin)
    assert changed == 2
    stored = {e.learner.name: s for e, s in ((e, judging.entered_scores(event.component("theory")).get(e.id))
                                             for e in registration.event_entries(event)) if s}
    assert stored["司马睿军"].value == D("91.5") and stored["李秀玲"].absent
    bad = build_xlsx([("理论成绩", ["身份证号", "理论知识成绩"], [[valid_id_number(5), 80]])])
    with pytest.raises(ValidationFailed) as caught:
        imports.import_component_scores(event, event.component("theory"), bad, "exam.xlsx", actor=admin)
    assert str(caught.value.errors[0]) == "第 2 行，身份证号：没有以这个身份证号报名本赛项的选手"


# --- judging --------------------------------------------------------------------------------

def test_a_judge_saves_a_draft_then_submits_every_aspect():
    event, admin, team, entries = ready_event()
    judge, entry = team[0], entries[0]
    aspects = marking.scheme_aspects(event)
    sheet = judging.save_sheet(event, judge, entry, {aspects[0].id: "18.5"}, submit=False, now=NOW)
    assert sheet.status == "draft" and len(sheet.scores) == 1
    with pytest.raises(judging.InvalidScores) as caught:
        judging.save_sheet(event, judge, entry, {aspects[0].id: "18.5"}, submit=True)
    assert caught.value.errors == {a.id: "提交前请填写" for a in aspects[1:]}
    sheet = judging.save_sheet(event, judge, entry, full_marks(event), submit=True, now=NOW)
    assert sheet.status == "submitted" and len(sheet.scores) == 4


def test_judge_values_are_checked_for_range_step_scale_and_partial_marks():
    event, admin, team, entries = ready_event()
    m, j, partial, _ = marking.scheme_aspects(event)
    with pytest.raises(judging.InvalidScores) as caught:
        judging.save_sheet(event, team[0], entries[0], {m.id: "9.3", j.id: "2.5", partial.id: "5"}, submit=False)
    assert caught.value.errors == {m.id: "分数以 0.5 分为单位", j.id: "评价分只能是 0、1、2、3",
                                   partial.id: "只能选 0、10、20 分"}
    with pytest.raises(judging.InvalidScores) as caught:
        judging.save_sheet(event, team[0], entries[0], {m.id: "21", j.id: "abc"}, submit=False)
    assert caught.value.errors == {m.id: "应在 0 到 20 分之间", j.id: "“abc”不是数字"}
    assert db.session.scalar(select(func.count()).select_from(ScoreSheet)) == 0


def test_every_score_change_is_kept_in_an_append_only_history():
    event, admin, team, entries = ready_event()
    aspect = marking.scheme_aspects(event)[0]
    judging.save_sheet(event, team[0], entries[0], {aspect.id: "10"}, submit=False, now=NOW)
    judging.save_sheet(event, team[0], entries[0], {aspect.id: "12.5"}, submit=False, now=NOW)
    judging.save_sheet(event, team[0], entries[0], {aspect.id: "12.5"}, submit=False, now=NOW)  # no change
    history = [(h.old_value, h.new_value, h.note, h.actor_id) for h in judging.score_history(event)]
    assert history == [(None, D(10), "draft", team[0].id), (D(10), D("12.5"), "draft", team[0].id)]
    judging.set_component_score(entries[0], event.component("theory"), D(80), actor=admin, now=NOW)
    judging.set_component_score(entries[0], event.component("theory"), None, absent=True, actor=admin, now=NOW)
    assert [(h.old_value, h.new_value, h.note) for h in judging.score_history(event)][2:] == [
        (None, D(80), "entry"), (D(80), None, "absent")]


def test_a_recused_judge_can_neither_open_nor_save_that_contestants_sheet():
    event, admin, team, entries = ready_event(judges=2)
    judge, entry = team[1], entries[0]
    judging.save_sheet(event, judge, entry, full_marks(event), submit=False, now=NOW)
    with pytest.raises(services.CompetitionError, match="请写明回避理由"):
        services.declare_recusal(event, judge, entry, "亲属", " ", actor=judge)
    services.declare_recusal(event, judge, entry, "亲属", "表兄弟", actor=judge, now=NOW)
    with pytest.raises(PermissionDenied, match="回避"):
        judging.open_sheet(event, judge, entry)
    with pytest.raises(PermissionDenied, match="回避"):
        judging.save_sheet(event, judge, entry, full_marks(event), submit=True)
    assert db.session.scalar(select(ScoreSheet).where(ScoreSheet.judge_id == judge.id)) is None
    assert {h.note for h in judging.score_history(event)} == {"draft", "recusal"}
    board = judging.judge_board(event, judge)
    assert [r.recused for r in board] == [True, False, False]
    with pytest.raises(Conflict):
        services.declare_recusal(event, judge, entry, "亲属", "表兄弟", actor=judge)
    with pytest.raises(PermissionDenied):
        services.declare_recusal(event, judge, entries[1], "亲属", "x", actor=team[0])
    assert audit_actions("competition.recused")[0].details["reason"] == "表兄弟"


def test_a_judge_not_assigned_to_the_event_cannot_score():
    event, admin, team, entries = ready_event()
    with pytest.raises(PermissionDenied):
        judging.save_sheet(event, make_judge(), entries[0], full_marks(event), submit=True)
    with pytest.raises(PermissionDenied):
        judging.judge_board(event, make_judge())


def test_completeness_names_each_missing_contestant_judge_and_component():
    event, admin, team, entries = ready_event(contestants=2, judges=2)
    judging.save_sheet(event, team[0], entries[0], full_marks(event), submit=True, now=NOW)
    judging.save_sheet(event, team[1], entries[0], {marking.scheme_aspects(event)[0].id: "10"}, submit=False)
    state = judging.progress(event)
    n1, n2 = entries[0].number_label, entries[1].number_label
    assert f"{n1}号：裁判{team[1].name}的评分未提交（缺 3 项：A2 仪容仪表、B1 蛇形绕桩、B2 骑行平稳性）" in state.missing
    assert f"{n2}号：裁判{team[0].name}尚未评分" in state.missing
    assert f"{n1}号：理论知识成绩未录入" in state.missing
    assert state.rows[0].cells[team[0].id].status == "submitted"
    assert state.rows[0].cells[team[1].id].filled == 1
    assert not state.complete


def test_only_the_chief_judge_locks_and_only_when_everything_is_in():
    event, admin, team, entries = ready_event(contestants=2, judges=2)
    with pytest.raises(services.CompetitionError, match="不能锁定"):
        judging.lock_scores(event, actor=team[0])
    score_everything(event, team, entries, admin)
    with pytest.raises(PermissionDenied):
        judging.lock_scores(event, actor=team[1])
    with pytest.raises(PermissionDenied):
        judging.lock_scores(event, actor=admin)
    judging.lock_scores(event, actor=team[0], now=NOW)
    assert event.locked_at == NOW
    with pytest.raises(services.CompetitionError, match="成绩已锁定"):
        judging.save_sheet(event, team[1], entries[0], full_marks(event, j=1), submit=True)
    with pytest.raises(services.CompetitionError, match="成绩已锁定"):
        judging.record_component_scores(event, event.component("theory"), {entries[0].id: "90"}, actor=admin)


def test_unlocking_needs_the_chief_judge_and_a_reason_and_is_logged():
    event, admin, team, entries = ready_event(judges=2)
    score_everything(event, team, entries, admin)
    judging.lock_scores(event, actor=team[0], now=NOW)
    with pytest.raises(PermissionDenied):
        judging.unlock_scores(event, "复核", actor=team[1])
    with pytest.raises(services.CompetitionError, match="原因"):
        judging.unlock_scores(event, " ", actor=team[0])
    judging.unlock_scores(event, "3号选手申诉，复核C1", actor=team[0], now=NOW)
    assert event.locked_at is None
    locked, unlocked = audit_actions("competition.scores_locked"), audit_actions("competition.scores_unlocked")
    assert locked[0].actor_id == team[0].id
    assert unlocked[0].actor_id == team[0].id and unlocked[0].details["reason"] == "3号选手申诉，复核C1"
    # after a correction the sheet history shows who changed what
    judging.save_sheet(event, team[1], entries[0], full_marks(event, j=2), submit=True, now=NOW)
    judging.lock_scores(event, actor=team[0], now=NOW)
    assert len(audit_actions("competition.scores_locked")) == 2


# --- results --------------------------------------------------------------------------------

def test_results_rank_by_weighted_total_and_award_by_fixed_counts():
    event, admin, team, entries = ready_event(contestants=4, judges=1, awards=[
        services.AwardSpec("一等奖", 1, title="技术能手"), services.AwardSpec("二等奖", 1)])
    a, b, c, d = entries
    values = {a.id: full_marks(event, j=3), b.id: full_marks(event, j=2), c.id: full_marks(event, j=1),
              d.id: full_marks(event, j=0)}
    score_everything(event, team, entries, admin, values=values, theory={a.id: D(60), b.id: D(100)})
    computed = results.compute_results(event)
    rows = {r.entry.id: r for r in computed.rows}
    # a: practical 100 (0.7 × 100 = 70) + theory 60 × 0.3 = 18 → 88.00
    assert rows[a.id].components["practical"] == D(100) and rows[a.id].total == D("88.00")
    # b: J 2/3 of 60 = 40 + 40 → practical 80 → 56 + 30 = 86.00
    assert rows[b.id].total == D("86.00")
    assert [r.entry.id for r in computed.rows] == [a.id, b.id, c.id, d.id]
    assert [r.rank for r in computed.rows] == [1, 2, 3, 4]
    assert [r.award.name if r.award else None for r in computed.rows] == ["一等奖", "二等奖", None, None]
    assert computed.blockers == []


def test_five_judges_with_trimmed_mean_on_a_judgement_aspect():
    event, admin, team, entries = ready_event(contestants=1, judges=5)
    entry = entries[0]
    trimmed = next(a for a in marking.scheme_aspects(event) if a.aggregation == "trimmed")
    plain_j = next(a for a in marking.scheme_aspects(event) if a.kind == "J" and a.aggregation == "mean")
    for judge, score in zip(team, ["3", "3", "2", "1", "0"], strict=True):
        values = full_marks(event)
        values[trimmed.id] = score
        values[plain_j.id] = score
        judging.save_sheet(event, judge, entry, values, submit=True, now=NOW)
    judging.set_component_score(entry, event.component("theory"), D(90), actor=admin, now=NOW)
    computed = results.compute_results(event)
    marks = computed.aspect_marks
    assert marks[(entry.id, trimmed.id)] == D(30) * D(2) / D(3)  # mean of 3, 2, 1 → 20
    assert marks[(entry.id, plain_j.id)] == D(30) * D("1.8") / D(3)  # mean of all five → 18
    assert computed.rows[0].components["practical"] == D(20 + 18 + 20 + 20)


def test_a_recused_judge_is_left_out_of_that_contestants_marks():
    event, admin, team, entries = ready_event(contestants=1, judges=3)
    entry = entries[0]
    services.declare_recusal(event, team[2], entry, "同单位", "同一配送站", actor=admin)
    judging.save_sheet(event, team[0], entry, full_marks(event, j=3), submit=True)
    judging.save_sheet(event, team[1], entry, full_marks(event, j=1), submit=True)
    judging.set_component_score(entry, event.component("theory"), D(90), actor=admin, now=NOW)
    state = judging.progress(event)
    assert state.complete and state.rows[0].cells[team[2].id].status == "recused"
    # J aspects: mean of 3 and 1 = 2 → 2/3 of 30 = 20 each; M aspects full 20 + 20
    assert results.compute_results(event).rows[0].components["practical"] == D(80)


def test_incomplete_scores_block_publication_with_the_list_of_what_is_missing():
    event, admin, team, entries = ready_event(contestants=2, judges=1)
    judging.save_sheet(event, team[0], entries[0], full_marks(event), submit=True)
    with pytest.raises(ValidationFailed) as caught:
        results.publish(event, actor=admin)
    blockers = caught.value.errors
    assert blockers[0] == "裁判长还没有锁定成绩"
    assert f"{entries[1].number_label}号：裁判{team[0].name}尚未评分" in blockers
    assert f"{entries[0].number_label}号：理论知识成绩未录入" in blockers
    assert event.published_at is None
    assert db.session.scalar(select(func.count()).select_from(Result)) == 0


def test_publication_snapshots_results_and_reveals_masked_names_on_the_board():
    event, admin, team, entries = ready_event(contestants=3)
    score_everything(event, team, entries, admin, theory={entries[0].id: D(90), entries[1].id: D("90.5")})
    judging.lock_scores(event, actor=team[0], now=NOW)
    assert results.board_rows(event) == []
    results.publish(event, actor=admin, now=NOW)
    board = results.board_rows(event)
    assert [r["rank"] for r in board] == [1, 2, 3]
    assert board[0]["number"] == entries[1].number_label and board[0]["total"] == "97.15"
    assert board[0]["name"] != entries[1].learner.name and board[0]["name"][0] == entries[1].learner.name[0]
    assert board[0]["award"] == "一等奖" and board[0]["platform"] == "美团"
    with pytest.raises(services.CompetitionError, match="成绩已公布"):
        judging.unlock_scores(event, "复核", actor=team[0])
    with pytest.raises(services.CompetitionError, match="原因"):
        results.withdraw_publication(event, "", actor=admin)
    results.withdraw_publication(event, "申诉成立", actor=admin)
    assert results.board_rows(event) == [] and event.published_at is None
    judging.unlock_scores(event, "申诉成立，复核", actor=team[0])


def test_a_tie_on_every_rule_blocks_publication_when_shared_ranks_are_not_allowed():
    event, admin, team, entries = ready_event(contestants=2, shared_ranks=False, tie_breaks=("practical:desc",))
    score_everything(event, team, entries, admin)
    judging.lock_scores(event, actor=team[0], now=NOW)
    with pytest.raises(ValidationFailed) as caught:
        results.publish(event, actor=admin)
    numbers = "、".join(f"{e.number_label}号" for e in entries)
    assert caught.value.errors == [f"{numbers}总成绩和所有排名条件都相同，本赛项不允许并列名次：请在排名规则中增加条件（如用时），或允许并列"]


def test_time_used_breaks_a_tie_and_shared_ranks_otherwise():
    event, admin, team, entries = ready_event(contestants=3)
    score_everything(event, team, entries, admin)
    judging.record_times(event, {entries[2].code: "11:05", entries[0].code: "12:00"}, actor=team[0])
    computed = results.compute_results(event)
    # everyone has 100 practical and 80 theory; time decides; no time recorded sorts last
    assert [r.entry.id for r in computed.rows] == [entries[2].id, entries[0].id, entries[1].id]
    assert [r.rank for r in computed.rows] == [1, 2, 3]
    with pytest.raises(PermissionDenied):
        judging.record_times(event, {entries[0].code: "1:00"}, actor=make_judge())
    with pytest.raises(judging.InvalidScores):
        judging.record_times(event, {entries[0].code: "十分钟"}, actor=admin)


def test_absent_contestants_are_listed_but_not_ranked():
    event, admin, team, entries = ready_event(contestants=3)
    score_everything(event, team, entries, admin)
    judging.set_component_score(entries[1], event.component("theory"), None, absent=True, actor=admin, now=NOW)
    late = registration.add_entry(make_rider(), event, actor=admin, now=NOW)[0]  # approved, never drawn or checked in
    computed = results.compute_results(event)
    notes = {r.entry.id: (r.rank, r.note) for r in computed.rows}
    assert notes[entries[1].id] == (None, "缺考") and notes[late.id] == (None, "缺赛")
    assert sorted(r for r, _ in notes.values() if r) == [1, 1]


def test_the_appeals_export_lists_every_judges_value_per_aspect():
    event, admin, team, entries = ready_event(contestants=2, judges=2)
    score_everything(event, team, entries, admin)
    book = load_workbook(io.BytesIO(results.export_workbook(event)))
    assert book.sheetnames == ["成绩总表", "评分明细", "评分项得分", "修改记录"]
    detail = list(book["评分明细"].iter_rows(values_only=True))
    assert detail[0] == ("参赛号", "姓名", "子模块", "评分项", "类型", "分值", "裁判", "评分")
    assert len(detail) == 1 + 2 * 4 * 2  # contestants × aspects × judges
    summary = list(book["成绩总表"].iter_rows(values_only=True))
    assert summary[1][3].count("*") == 8  # ID numbers masked unless asked


def test_award_shares_on_the_stored_scores_give_tied_boundary_contestants_the_higher_award():
    event, admin, team, entries = ready_event(contestants=5, award_mode="shares", awards=[
        services.AwardSpec("一等奖", share=D(20)), services.AwardSpec("二等奖", share=D(20))])
    theory = {entries[0].id: D(100), entries[1].id: D(90), entries[2].id: D(90), entries[3].id: D(70),
              entries[4].id: D(60)}
    score_everything(event, team, entries, admin, theory=theory)
    computed = results.compute_results(event)
    awards = [(r.rank, r.award.name if r.award else None) for r in computed.rows]
    # 5 × 20 % = 1 一等奖; cumulative 40 % = 2 places: positions 2 and 3 tie at rank 2 → both 二等奖
    assert awards == [(1, "一等奖"), (2, "二等奖"), (2, "二等奖"), (4, None), (5, None)]


def test_component_scores_entered_in_bulk_are_checked_first():
    event, admin, team, entries = ready_event(contestants=2)
    component = event.component("theory")
    with pytest.raises(judging.InvalidScores) as caught:
        judging.record_component_scores(event, component, {entries[0].id: "101", entries[1].id: "80"}, actor=admin)
    assert caught.value.errors == {entries[0].id: "应在 0 到 100 分之间"}
    assert db.session.scalar(select(func.count()).select_from(ComponentScore)) == 0
    assert judging.record_component_scores(event, component, {entries[0].id: "缺考", entries[1].id: "８０.５"},
                                           actor=admin) == 2
    assert judging.entered_scores(component)[entries[1].id].value == D("80.5")


def test_score_history_rows_are_never_rewritten():
    event, admin, team, entries = ready_event()
    score_everything(event, team, entries, admin)
    count = db.session.scalar(select(func.count()).select_from(ScoreChange))
    judging.save_sheet(event, team[0], entries[0], full_marks(event, j=2), submit=True)
    assert db.session.scalar(select(func.count()).select_from(ScoreChange)) == count + 2  # two J aspects changed


def test_events_for_a_judge_are_only_their_own():
    event, admin, team, entries = ready_event()
    make_event(admin=admin)
    assert services.events_for_judge(team[0]) == [event]
    assert services.events_for_judge(make_judge()) == []


# --- award certificates ---------------------------------------------------------------------

def test_award_certificates_go_to_the_published_winners_once():
    event, admin, team, entries = ready_event(contestants=4, awards=[
        services.AwardSpec("一等奖", 1, title="技术能手", level_note="可晋升二级/技师"), services.AwardSpec("二等奖", 1)])
    score_everything(event, team, entries, admin, theory={entries[0].id: D(95), entries[1].id: D(90)})
    judging.lock_scores(event, actor=team[0], now=NOW)
    with pytest.raises(services.CompetitionError, match="成绩公布后"):
        results.issue_award_certificates(event, actor=admin)
    results.publish(event, actor=admin, now=NOW)
    first = results.issue_award_certificates(event, actor=admin, issued_on=CONTEST_DAY)
    assert [c.learner_id for c in first] == [entries[0].learner_id, entries[1].learner_id]
    details = first[0].details
    assert (details["award"], details["rank"], details["honour_title"], details["level_note"]) == (
        "一等奖", 1, "技术能手", "可晋升二级/技师")
    again = results.issue_award_certificates(event, actor=admin, issued_on=CONTEST_DAY)
    assert [c.id for c in again] == [c.id for c in first]


def test_the_score_history_cannot_be_edited_or_deleted_by_the_application():
    event, admin, team, entries = ready_event()
    judging.save_sheet(event, team[0], entries[0], {marking.scheme_aspects(event)[0].id: "10"}, submit=False)
    change = judging.score_history(event)[0]
    change.new_value = D(20)
    with pytest.raises(RuntimeError, match="append-only"):
        db.session.flush()
    db.session.rollback()


def test_a_save_after_the_lock_is_refused_even_from_a_stale_page():
    event, admin, team, entries = ready_event(judges=2)
    score_everything(event, team, entries, admin)
    judging.lock_scores(event, actor=team[0], now=NOW)
    from sqlalchemy.orm.attributes import set_committed_value

    set_committed_value(event, "locked_at", None)  # as a request loaded it just before the lock
    with pytest.raises(services.CompetitionError, match="成绩已锁定"):
        judging.save_sheet(event, team[1], entries[0], full_marks(event, j=1), submit=True)
