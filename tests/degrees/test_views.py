"""Degree-upgrade pages over HTTP: the learner's timeline, permissions, the admin's board, lists,
case page, export, import, and the commands."""

from __future__ import annotations

import io
import re
from datetime import date, timedelta

import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select

from academy.audit.models import AuditEvent
from academy.common.timeutil import local_today
from academy.degrees.models import DegreeCase, KeyDate, Notice, Programme
from academy.degrees.stages import KeyDateKind, Level, Route, Stage
from academy.extensions import db
from tests.conftest import login, post, shared_file
from tests.degrees.builders import add_key_date, make_case, make_programme
from tests.factories import make_admin, make_learner


def _today() -> date:
    return local_today()


@pytest.fixture
def admin(client):
    user = make_admin(name="周晓梅")
    db.session.commit()
    login(client, user)
    return user


def _learner_client(app, **profile):
    learner = make_learner(**profile)
    db.session.commit()
    client = app.test_client()
    login(client, learner)
    return learner, client


# --- learner -------------------------------------------------------------------------------

def test_a_learner_without_a_case_sees_the_routes_and_can_say_they_are_interested(app):
    learner, client = _learner_client(app, education="高中")
    page = client.get("/degrees/my").get_data(as_text=True)
    assert "成人高考" in page and "自学考试" in page and "国家开放大学" in page
    assert "我有兴趣" in page
    response = post(client, "/degrees/my/interest", {"route": "adult_exam", "level": "high_to_diploma", "note": "想读物流"})
    assert response.status_code == 302
    case = db.session.scalar(select(DegreeCase).where(DegreeCase.learner_id == learner.id))
    assert (case.stage, case.route, case.level, case.note) == ("interested", "adult_exam", "high_to_diploma", "想读物流")
    page = client.get("/degrees/my").get_data(as_text=True)
    assert "我有兴趣" not in page and "有意向" in page
    post(client, "/degrees/my/interest", {})
    assert db.session.scalar(select(func.count()).select_from(DegreeCase)) == 1


def test_the_learner_sees_their_timeline_next_step_and_what_to_prepare(app):
    today = _today()
    add_key_date(Route.ADULT_EXAM, KeyDateKind.EXAM, today + timedelta(days=20), today + timedelta(days=21))
    learner, client = _learner_client(app, education="高中")
    make_case(Stage.REGISTERED, learner=learner, stage_since=today - timedelta(days=3),
              programme=make_programme(institution="江西理工大学", major="物流管理"))
    db.session.commit()
    page = client.get("/degrees/my").get_data(as_text=True)
    assert "江西理工大学 · 物流管理" in page
    assert "参加成人高考" in page and "打印准考证" in page
    when = today + timedelta(days=20)
    assert (f"{when.month}月{when.day}日开始" if when.year == today.year else f"{when.year}年") in page
    assert re.search(r'dg-step dg-done">\s*<span class="dg-dot"[^>]*></span>\s*<span class="dg-label">有意向', page)


def test_another_learners_case_is_not_found(app):
    other = make_case(Stage.STUDYING)
    db.session.commit()
    _, client = _learner_client(app)
    assert client.get(f"/degrees/my/{other.id}").status_code == 404


def test_a_learner_opens_their_own_case_by_id(app):
    learner, client = _learner_client(app)
    case = make_case(Stage.STUDYING, learner=learner)
    db.session.commit()
    assert client.get(f"/degrees/my/{case.id}").status_code == 200


@pytest.mark.parametrize("url", ["/degrees/", "/degrees/cases", "/degrees/cases.xlsx", "/degrees/programmes",
                                 "/degrees/key-dates", "/degrees/import", "/degrees/cases/new"])
def test_learners_cannot_reach_the_admin_pages(app, url):
    _, client = _learner_client(app)
    assert client.get(url).status_code == 403


def test_the_learners_unread_notices_show_on_their_page_until_read(app):
    learner, client = _learner_client(app)
    make_case(Stage.STUDYING, learner=learner)
    db.session.add(Notice(user_id=learner.id, text="学历提升提醒：申请毕业，11月1日开始。"))
    db.session.commit()
    assert "学历提升提醒：申请毕业" in client.get("/degrees/my").get_data(as_text=True)
    post(client, "/degrees/notices/read")
    assert "学历提升提醒：申请毕业" not in client.get("/degrees/my").get_data(as_text=True)


# --- admin ---------------------------------------------------------------------------------

def test_the_board_counts_cases_per_stage_and_route(client, admin):
    make_case(Stage.STUDYING, route=Route.OPEN_UNIVERSITY)
    make_case(Stage.STUDYING, route=Route.OPEN_UNIVERSITY)
    make_case(Stage.REGISTERED, route=Route.ADULT_EXAM)
    db.session.commit()
    page = client.get("/degrees/").get_data(as_text=True)
    assert "国家开放大学" in page and "成人高考" in page
    assert 'href="/degrees/cases?stage=studying&amp;route=open_university">2</a>' in page
    assert "<strong>3</strong> 人" in page  # learners upgrading their degree


def test_the_list_filters_and_masks_names(client, admin):
    make_case(Stage.STUDYING, learner=make_learner(name="王小磊", district="瑞金市"))
    make_case(Stage.STUDYING, learner=make_learner(name="李大明", district="章贡区"))
    db.session.commit()
    page = client.get("/degrees/cases?district=瑞金市").get_data(as_text=True)
    assert "王*磊" in page and "王小磊" not in page and "李*明" not in page


def test_the_list_shows_overdue_cases_only_when_asked(client, admin):
    today = _today()
    add_key_date(Route.ADULT_EXAM, KeyDateKind.EXAM, today - timedelta(days=10), today - timedelta(days=9))
    make_case(Stage.REGISTERED, learner=make_learner(name="陈迟到"), stage_since=today - timedelta(days=40))
    make_case(Stage.STUDYING, learner=make_learner(name="林按时"))
    db.session.commit()
    page = client.get("/degrees/cases?overdue=y").get_data(as_text=True)
    assert "陈*到" in page and "林*时" not in page and "已过期" in page


def test_the_case_page_offers_only_the_allowed_transitions(client, admin):
    case = make_case(Stage.REGISTERED, route=Route.ADULT_EXAM)
    db.session.commit()
    page = client.get(f"/degrees/cases/{case.id}").get_data(as_text=True)
    options = re.findall(r'<option value="(\w+)"', page.split('name="to_stage"')[1].split("</select>")[0])
    assert options == ["exam_taken", "deferred", "dropped"]


def test_an_admin_moves_a_case_and_a_forbidden_move_is_refused(client, admin):
    case = make_case(Stage.REGISTERED, route=Route.ADULT_EXAM, stage_since=_today() - timedelta(days=5))
    db.session.commit()
    post(client, f"/degrees/cases/{case.id}/move", {"to_stage": "enrolled", "on": _today().isoformat()})
    db.session.refresh(case)
    assert case.stage == "registered"
    response = post(client, f"/degrees/cases/{case.id}/move", {"to_stage": "exam_taken", "on": _today().isoformat(),
                                                               "note": "考完了"}, follow_redirects=True)
    assert "阶段已更新" in response.get_data(as_text=True)
    db.session.refresh(case)
    assert case.stage == "exam_taken"


def test_an_admin_saves_the_record_fields(client, admin):
    case = make_case(Stage.ENROLLED, route=Route.OPEN_UNIVERSITY)
    db.session.commit()
    response = post(client, f"/degrees/cases/{case.id}/record", {
        "student_number": "2026001", "enrolled_on": "2026-03-01", "fees_paid": "2800", "subsidy_granted": "1500",
        "subsidy_paid": "0", "credits_earned": "12", "advisor_id": "0", "intake_season": "春季"},
        follow_redirects=True)
    assert "已保存" in response.get_data(as_text=True)
    db.session.refresh(case)
    assert (case.student_number, case.record_expires_on, case.intake_season) == ("2026001", date(2034, 3, 1), "春季")


def test_an_admin_opens_a_case_with_an_override(client, admin):
    learner = make_learner(mobile="13912345678", education="高中")
    programme = make_programme(Route.ADULT_EXAM, Level.DIPLOMA_TO_BACHELOR)
    db.session.commit()
    refused = post(client, "/degrees/cases/new", {"learner": "13912345678", "programme_id": programme.id})
    assert "专升本需要专科" in refused.get_data(as_text=True)
    response = post(client, "/degrees/cases/new", {"learner": "139 1234 5678", "programme_id": programme.id,
                                                   "override_reason": "专科毕业证已在学信网核实"})
    assert response.status_code == 302
    case = db.session.scalar(select(DegreeCase).where(DegreeCase.learner_id == learner.id))
    assert case.entry_override_reason == "专科毕业证已在学信网核实"


def test_an_admin_defines_a_programme_and_its_key_dates(client, admin):
    post(client, "/degrees/programmes/new", {"route": "open_university", "level": "high_to_diploma",
                                             "institution": "江西开放大学赣州分校", "major": "电子商务", "tuition": "5600",
                                             "subsidy": "1500", "is_active": "y"})
    programme = db.session.scalar(select(Programme))
    assert (programme.min_study_months, programme.record_valid_months) == (30, 96)
    post(client, "/degrees/key-dates", {"route": "open_university", "year": "2026", "kind": "enrolment",
                                        "starts_on": "2026-09-01", "ends_on": "2026-09-30", "note": "秋季入学注册"})
    key_date = db.session.scalar(select(KeyDate))
    assert (key_date.starts_on, key_date.ends_on) == (date(2026, 9, 1), date(2026, 9, 30))
    assert "秋季入学注册" in client.get("/degrees/key-dates").get_data(as_text=True)
    post(client, f"/degrees/key-dates/{key_date.id}/delete")
    assert db.session.scalar(select(func.count()).select_from(KeyDate)) == 0


def test_the_export_is_masked_unless_full_is_asked_and_audited(client, admin):
    make_case(Stage.STUDYING, learner=make_learner(name="王小磊", id_number="36070219900101123X"))
    db.session.commit()
    response = client.get("/degrees/cases.xlsx")
    sheet = load_workbook(io.BytesIO(response.data)).worksheets[0]
    header = [c.value for c in sheet[1]]
    row = [c.value for c in sheet[2]]
    assert row[header.index("姓名")] == "王*磊"
    assert row[header.index("身份证号")] == "360702********123X"
    full = load_workbook(io.BytesIO(client.get("/degrees/cases.xlsx?full=1").data)).worksheets[0]
    assert full.cell(row=2, column=2).value == "王小磊"
    assert db.session.scalar(select(AuditEvent).where(AuditEvent.action == "personal_data.unmasked")) is not None


def test_the_ledger_is_imported_through_the_upload_page(client, admin):
    sheet = load_workbook(shared_file("degree-cases.xlsx"), read_only=True).worksheets[0]
    for row in list(sheet.iter_rows(values_only=True))[1:]:
        make_learner(name=row[1], id_number=row[2])
    db.session.commit()
    data = shared_file("degree-cases.xlsx").read_bytes()
    checked = client.post("/degrees/import", data={"csrf_token": _csrf(client), "dry_run": "y",
                                                   "file": (io.BytesIO(data), "degree-cases.xlsx")},
                          content_type="multipart/form-data")
    assert "检查通过" in checked.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(DegreeCase)) == 0
    done = client.post("/degrees/import", data={"csrf_token": _csrf(client),
                                                "file": (io.BytesIO(data), "degree-cases.xlsx")},
                       content_type="multipart/form-data")
    assert "导入完成" in done.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(DegreeCase)) == 52


def test_a_bad_upload_shows_the_problems_by_row(client, admin):
    data = shared_file("degree-cases.xlsx").read_bytes()  # nobody in it is known yet
    page = client.post("/degrees/import", data={"csrf_token": _csrf(client),
                                                "file": (io.BytesIO(data), "degree-cases.xlsx")},
                       content_type="multipart/form-data").get_data(as_text=True)
    assert "没有导入任何个案" in page and "第 2 行，身份证号：系统里没有这个学员" in page


def _csrf(client):
    from tests.conftest import csrf

    return csrf(client)


# --- commands ------------------------------------------------------------------------------

def test_the_remind_command_lists_milestones_and_records_notices_once(app):
    make_admin()
    add_key_date(Route.ADULT_EXAM, KeyDateKind.ADMISSION, date(2026, 12, 10), date(2026, 12, 31))
    case = make_case(Stage.EXAM_TAKEN, stage_since=date(2026, 10, 18), learner=make_learner(name="王小磊"))
    db.session.commit()
    runner = app.test_cli_runner()
    result = runner.invoke(args=["degrees", "remind", "--today", "2026-11-30"])
    assert result.exit_code == 0, result.output
    assert "14 天内有节点 1 个" in result.output and "王*磊" in result.output and "查询录取结果：12月10日开始" in result.output
    assert "新提醒：2 条" in result.output
    again = runner.invoke(args=["degrees", "remind", "--today", "2026-11-30"])
    assert "新提醒：0 条" in again.output
    notice = db.session.scalar(select(Notice).where(Notice.user_id == case.learner_id))
    assert notice.link == f"/degrees/my/{case.id}"


def test_the_import_command_imports_the_ledger_all_or_nothing(app):
    make_admin()
    db.session.commit()
    runner = app.test_cli_runner()
    failed = runner.invoke(args=["import", "degree-cases", str(shared_file("degree-cases.xlsx"))])
    assert failed.exit_code == 1 and "第 2 行，身份证号" in failed.output
    for row in list(load_workbook(shared_file("degree-cases.xlsx"), read_only=True).worksheets[0]
                    .iter_rows(values_only=True))[1:]:
        make_learner(name=row[1], id_number=row[2])
    db.session.commit()
    dry = runner.invoke(args=["import", "degree-cases", str(shared_file("degree-cases.xlsx")), "--dry-run"])
    assert dry.exit_code == 0 and "检查通过（未写入）：52 个个案" in dry.output
    assert db.session.scalar(select(func.count()).select_from(DegreeCase)) == 0
    done = runner.invoke(args=["import", "degree-cases", str(shared_file("degree-cases.xlsx"))])
    assert done.exit_code == 0 and "已导入：52 个个案" in done.output
    assert db.session.scalar(select(func.count()).select_from(DegreeCase)) == 52


# --- no N+1 --------------------------------------------------------------------------------

def _queries(client, url: str) -> int:
    from sqlalchemy import event

    statements = []

    def count(conn, cursor, statement, *args):
        statements.append(statement)

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        assert client.get(url).status_code == 200
    finally:
        event.remove(db.engine, "before_cursor_execute", count)
    return len(statements)


def test_the_board_list_and_export_do_not_query_per_case(client, admin):
    make_case(Stage.STUDYING, route=Route.SELF_STUDY)
    db.session.commit()
    few = [_queries(client, url) for url in ("/degrees/", "/degrees/cases", "/degrees/cases.xlsx")]
    for i in range(12):
        make_case(list(Stage)[i % len(Stage)], route=list(Route)[i % len(Route)])
    db.session.commit()
    many = [_queries(client, url) for url in ("/degrees/", "/degrees/cases", "/degrees/cases.xlsx")]
    assert many == few
