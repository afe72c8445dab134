"""Importing a learner roster: the shared roster.xlsx/roster.csv through the CLI and the upload
page, matching by ID number, every messy-file case, enrolment and the waitlist, all-or-nothing,
--skip-invalid and --dry-run."""

from __future__ import annotations

import csv
import io
from datetime import date, timedelta

import pytest
from openpyxl import Workbook
from sqlalchemy import func, select

from academy.accounts.models import Role, User
from academy.audit.models import AuditEvent
from academy.catalogue.importer import import_courses
from academy.catalogue.models import Cohort, CohortStatus
from academy.common.timeutil import now_utc
from academy.enrolment import roster
from academy.enrolment.models import Enrolment, EnrolmentStatus
from academy.errors import ValidationFailed
from academy.extensions import db
from tests.conftest import login, post, shared_file
from tests.factories import enrol, make_admin, make_cohort, make_course, make_learner, valid_id_number

HEADER = ["序号", "姓名", "性别", "身份证号", "手机号", "所在县（市、区）", "从业类型", "所属平台/企业", "政治面貌",
          "文化程度", "报名课程", "备注"]
COURSE = "电工（五级/初级工）技能培训"


def person(n: int, **overrides) -> list[object]:
    """A valid roster line for person ``n`` (male, born 1990), as a list in HEADER order."""
    values = {"序号": n, "姓名": "王李张刘陈杨黄赵吴周"[n % 10] + "伟芳娜敏静丽强磊军洋"[n // 10 % 10] + "甲乙丙丁戊己庚辛壬癸"[n % 10],
              "性别": "男",
              "身份证号": valid_id_number(5000 + n, born="19900101"), "手机号": f"137{n:08d}",
              "所在县（市、区）": "瑞金市", "从业类型": "外卖员", "所属平台/企业": "美团", "政治面貌": "群众",
              "文化程度": "高中", "报名课程": COURSE, "备注": None}
    values.update(overrides)
    return [values[h] for h in HEADER]


def xlsx(rows: list[list[object]], *, title: str | None = None, header: list[str] = HEADER,
         number_cells: tuple[str, ...] = ()) -> bytes:
    """An .xlsx with ``rows`` under ``header`` (and a title row above it when given).

    ``number_cells`` (e.g. ``("D4",)``) are stored as exact integer number cells, the way some
    tools write an 18-digit ID (openpyxl itself would write a Python int that large as a float).
    """
    wb = Workbook()
    if title:
        wb.active.append([title])
    wb.active.append(header)
    for row in rows:
        wb.active.append(row)
    for ref in number_cells:
        cell = wb.active[ref]
        cell.value, cell.data_type = str(cell.value), "n"
    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()


def to_fullwidth(text: str) -> str:
    return "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in text)


def csv_bytes(rows: list[list[object]], encoding: str) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(HEADER)
    writer.writerows(["" if v is None else v for v in row] for row in rows)
    return buffer.getvalue().encode(encoding)


def run(data: bytes, filename: str = "roster.xlsx", **kwargs):
    kwargs.setdefault("actor", None)
    return roster.import_roster(data, filename=filename, **kwargs)


def _count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def _problems(report) -> dict[tuple[int, str], str]:
    return {(e.row, e.column): e.message for e in report.errors}


def _cli(app, *args):
    return app.test_cli_runner().invoke(args=["import", "roster", *map(str, args)])


@pytest.fixture
def course_cohort():
    """An open cohort of the course named in ``person()`` rows (capacity 30)."""
    cohort = make_cohort(make_course(title=COURSE, code="JXG-DG-01"), code="JXG-DG-01-202612", capacity=30)
    db.session.commit()
    return cohort


def _import_shared_courses():
    report = import_courses(shared_file("courses.xlsx"), filename="courses.xlsx", actor=None)
    assert report.written
    db.session.commit()


# --- the shared files -----------------------------------------------------------------------

def test_the_shared_roster_is_refused_whole_for_its_duplicate_line(app):
    _import_shared_courses()
    result = _cli(app, shared_file("roster.xlsx"))
    assert result.exit_code == 1
    assert "第202行，身份证号：与第12行是同一个身份证号，同一个人只能出现一次" in result.output
    assert "第202行，手机号：与第13行的手机号相同，但不是同一个人" in result.output
    assert "没有导入：发现 2 处问题（1 行）" in result.output
    assert _count(User) == 0 and _count(Enrolment) == 0


def test_the_shared_roster_imports_with_skip_invalid_and_reimports_without_duplicates(app):
    _import_shared_courses()
    result = _cli(app, shared_file("roster.xlsx"), "--skip-invalid")
    assert result.exit_code == 0, result.output
    assert "新建学员 320 · 更新学员 0 · 报名成功 316 · 进入候补 4 · 已在班级 0 · 未能报名 0 · 跳过的行 1" in result.output
    assert _count(User) == 320
    statuses = dict(db.session.execute(select(Enrolment.status, func.count()).group_by(Enrolment.status)).all())
    assert statuses == {EnrolmentStatus.ENROLLED: 316, EnrolmentStatus.WAITLISTED: 4}
    full = db.session.scalar(select(Cohort).where(Cohort.code == "JXG-DG-02-202612"))
    assert (full.capacity, full.seats_taken) == (30, 30)
    first = db.session.scalar(select(User).where(User.id_number == "36072219780919711X"))  # lower-case x in the file
    assert first.name == "邱辉" and first.password_hash is None and first.has_role(Role.LEARNER)
    assert (first.gender, first.birth_date, first.district, first.education) == ("男", date(1978, 9, 19), "信丰县", "大专")
    assert db.session.scalar(select(User).where(User.id_number == "360724197811166155")).name == "郭军鹏"  # trailing space
    assert db.session.scalar(select(User).where(User.mobile == "15590776927")).name == "叶伟"  # phone stored as a number

    again = _cli(app, shared_file("roster.xlsx"), "--skip-invalid")
    assert again.exit_code == 0, again.output
    assert "新建学员 0 · 更新学员 320 · 报名成功 0 · 进入候补 0 · 已在班级 320" in again.output
    assert "说明 第2行，报名课程：已在班级 JXG-DG-02-202612 中，保持不变" in again.output
    assert _count(User) == 320 and _count(Enrolment) == 320
    event = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "roster.imported").order_by(AuditEvent.id)).first()
    assert event.actor_id is None and event.details["created"] == 320 and event.details["waitlisted"] == 4


def test_a_roster_naming_courses_needs_the_catalogue_first(app):
    result = _cli(app, shared_file("roster.xlsx"))
    assert result.exit_code == 1
    assert "系统里还没有课程，无法按“报名课程”报名：请先导入课程目录" in result.output
    assert _count(User) == 0


def test_the_shared_csv_imports_through_the_cli(app):
    result = _cli(app, shared_file("roster.csv"))
    assert result.exit_code == 0, result.output
    assert "新建学员 50 · 更新学员 0 · 报名成功 0" in result.output
    assert _count(User) == 50 and _count(Enrolment) == 0


def test_the_shared_roster_imports_through_the_upload_page(client):
    _import_shared_courses()
    admin = make_admin()
    db.session.commit()
    login(client, admin)
    with shared_file("roster.xlsx").open("rb") as fh:
        response = post(client, "/enrolment/import", {"file": (fh, "roster.xlsx"), "skip_invalid": "y"},
                        content_type="multipart/form-data")
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "已导入正确的行，跳过了 1 行" in page
    for label, n in (("新建学员", 320), ("报名成功", 316), ("进入候补", 4), ("跳过的行", 1)):
        assert f"{label}</dt><dd>{n}</dd>" in page
    assert "<strong>第 202 行</strong>，身份证号：与第12行是同一个身份证号" in page
    assert "<strong>第 202 行</strong>，手机号：与第13行的手机号相同，但不是同一个人" in page
    assert _count(User) == 321  # the admin and 320 learners
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "roster.imported"))
    assert event.actor_id == admin.id


def test_the_shared_csv_imports_through_the_upload_page_into_a_cohort(client, course_cohort):
    login(client, make_admin())
    db.session.commit()
    with shared_file("roster.csv").open("rb") as fh:
        response = post(client, "/enrolment/import", {"file": (fh, "roster.csv"), "cohort_code": "jxg-dg-01-202612"},
                        content_type="multipart/form-data")
    page = response.get_data(as_text=True)
    assert "导入完成" in page and "新建学员</dt><dd>50</dd>" in page
    assert "报名成功</dt><dd>30</dd>" in page and "进入候补</dt><dd>20</dd>" in page
    assert course_cohort.seats_taken == 30


# --- upload page ----------------------------------------------------------------------------

@pytest.mark.parametrize(("name", "message"), [
    ("roster.txt", "只支持 .xlsx 或 .csv 文件"),
    ("roster.xls", "不支持旧版 .xls 文件，请在 Excel/WPS 中“另存为” .xlsx 后再上传"),
])
def test_the_upload_page_refuses_other_file_types_with_a_clear_message(client, name, message):
    login(client, make_admin())
    db.session.commit()
    response = post(client, "/enrolment/import", {"file": (io.BytesIO(b"\xd0\xcf\x11\xe0data"), name)},
                    content_type="multipart/form-data")
    assert response.status_code == 200
    assert message in response.get_data(as_text=True)
    assert _count(User) == 1


def test_the_upload_page_refuses_an_unknown_cohort_code(client):
    login(client, make_admin())
    db.session.commit()
    response = post(client, "/enrolment/import", {"file": (io.BytesIO(xlsx([person(1)])), "r.xlsx"),
                                                  "cohort_code": "NOPE"}, content_type="multipart/form-data")
    assert "没有编号为 NOPE 的班级" in response.get_data(as_text=True)
    assert _count(User) == 1


def test_the_upload_page_shows_every_problem_and_writes_nothing(client, course_cohort):
    login(client, make_admin())
    db.session.commit()
    data = xlsx([person(1), person(2, 身份证号="360702199001011235"), person(3, 性别="女")])
    response = post(client, "/enrolment/import", {"file": (io.BytesIO(data), "r.xlsx")},
                    content_type="multipart/form-data")
    page = response.get_data(as_text=True)
    assert "没有导入：发现 2 处问题" in page and "一行都没有写入" in page
    assert "<strong>第 3 行</strong>，身份证号：校验位不正确，请核对是否输错" in page
    assert "<strong>第 4 行</strong>，性别：与身份证号不符（身份证号显示为男）" in page
    assert _count(User) == 1 and _count(Enrolment) == 0


# --- messy files ----------------------------------------------------------------------------

def test_messy_cells_are_cleaned_up(course_cohort):
    id_x = next(i for i in (valid_id_number(n, born="19850505") for n in range(7001, 7100)) if i.endswith("X"))
    numeric = valid_id_number(7100, born="19880808")
    rows = [
        person(1, 姓名=" 买买提・艾力\u3000", 身份证号=id_x.lower()),
        person(2, 姓名="阿依古丽•吐尔逊", 身份证号=numeric, 手机号=13700000002),
        person(3, 姓名="热依拉‧买买提", 身份证号=to_fullwidth(valid_id_number(5003, born="19900101")),
               手机号="１３７ ０００ ０００ ０３", 文化程度="大学专科", 政治面貌="党员", **{"所在县（市、区）": "赣州市章贡区"}),
        person(4, 手机号=13700000004.0, 从业类型="外卖骑手"),
    ]
    report = run(xlsx(rows, title="金小哥学院2026年12月学员花名册", number_cells=("D4",)))
    assert report.errors == [], report.errors
    names = {u.id_number: u for u in db.session.scalars(select(User))}
    assert names[id_x].name == "买买提·艾力"
    assert names[numeric].name == "阿依古丽·吐尔逊" and names[numeric].mobile == "13700000002"
    third = names[valid_id_number(5003, born="19900101")]
    assert (third.name, third.mobile, third.education, third.political_status, third.district) == (
        "热依拉·买买提", "13700000003", "大专", "中共党员", "章贡区")
    fourth = db.session.scalar(select(User).where(User.mobile == "13700000004"))
    assert fourth.occupation_group == "外卖员"
    assert report.counts["enrolled"] == 4


def test_an_id_number_stored_as_a_float_is_reported_as_lost_digits(course_cohort):
    report = run(xlsx([person(1, 身份证号=float(valid_id_number(5001, born="19900101")))]))
    assert [(e.row, e.column, e.message) for e in report.errors] == [
        (2, "身份证号", "被表格存成了数字，后几位已经丢失，请把这一列设为“文本”后重新填写")]


@pytest.mark.parametrize("encoding", ["gb18030", "utf-8-sig"])
def test_csv_files_from_chinese_excel_are_read(encoding, course_cohort):
    data = csv_bytes([person(1, 姓名="买买提·艾力"), person(2, 姓名="王堃")], encoding)
    report = run(data, filename="花名册.csv")
    assert report.errors == [] and report.counts["created"] == 2
    assert sorted(db.session.scalars(select(User.name))) == ["买买提·艾力", "王堃"]


def test_a_person_twice_in_the_file_is_an_error_naming_the_first_row(course_cohort):
    first = person(1)
    again = person(2, 身份证号=first[3].lower(), 手机号=first[4])
    report = run(xlsx([first, person(3), again]))
    assert [(e.row, e.column, e.message) for e in report.errors] == [
        (4, "身份证号", "与第2行是同一个身份证号，同一个人只能出现一次")]
    assert _count(User) == 0


def test_one_mobile_number_for_two_people_is_an_error_naming_the_other_row(course_cohort):
    report = run(xlsx([person(1), person(2, 手机号="13700000001")]))
    assert _problems(report) == {(3, "手机号"): "与第2行的手机号相同，但不是同一个人"}


def test_every_problem_in_every_row_is_listed_and_nothing_is_written(course_cohort):
    rows = [
        person(1),
        person(2, 身份证号="360702199001011235", 报名课程="无人机驾驶员"),  # bad check digit, unknown course
        person(3, 性别="女"),  # the ID says male
        person(4, 报名课程="无人机驾驶员"),
        person(5, 姓名="", 手机号="12345", **{"所在县（市、区）": "南昌县"}),
        person(6, 政治面貌="无党派人士", 文化程度="大学", 从业类型="程序员", 性别="未知"),
        person(7, 身份证号=None),
    ]
    report = run(xlsx(rows))
    assert _problems(report) == {
        (3, "身份证号"): "校验位不正确，请核对是否输错",
        (3, "报名课程"): "没有名为“无人机驾驶员”的课程，请核对课程名称（或先导入课程目录）",
        (4, "性别"): "与身份证号不符（身份证号显示为男）",
        (5, "报名课程"): "没有名为“无人机驾驶员”的课程，请核对课程名称（或先导入课程目录）",
        (6, "姓名"): "请填写姓名",
        (6, "手机号"): "“12345”不对：手机号应为1开头的11位数字",
        (6, "所在县（市、区）"): "“南昌县”不是可选的值，可选：章贡区、南康区、赣县区、瑞金市、龙南市、信丰县、大余县、上犹县、"
                               "崇义县、安远县、定南县、全南县、宁都县、于都县、兴国县、会昌县、寻乌县、石城县",
        (7, "政治面貌"): "“无党派人士”不是可选的值，可选：群众、中共党员、中共预备党员、共青团员、民主党派",
        (7, "文化程度"): "“大学”不是可选的值，可选：小学、初中、高中、中专、技校、职高、大专、本科、硕士及以上",
        (7, "从业类型"): "“程序员”不是可选的值，可选：货车司机、网约车司机、快递员、外卖员、网络主播、网约家政、网络作家、其他",
        (7, "性别"): "“未知”应为“男”或“女”",
        (8, "身份证号"): "请填写身份证号",
    }
    assert report.outcome == "refused" and not report.written
    assert _count(User) == 0 and _count(Enrolment) == 0 and course_cohort.seats_taken == 0


def test_skip_invalid_imports_only_the_valid_rows(app, tmp_path, course_cohort):
    path = tmp_path / "roster.xlsx"
    path.write_bytes(xlsx([person(1), person(2, 性别="女"), person(3)]))
    result = _cli(app, path, "--skip-invalid")
    assert result.exit_code == 0, result.output
    assert "第3行，性别：与身份证号不符（身份证号显示为男）" in result.output
    assert "新建学员 2 · 更新学员 0 · 报名成功 2 · 进入候补 0 · 已在班级 0 · 未能报名 0 · 跳过的行 1" in result.output
    assert _count(User) == 2


def test_a_dry_run_reports_what_would_happen_and_writes_nothing(app, tmp_path, course_cohort):
    path = tmp_path / "roster.xlsx"
    path.write_bytes(xlsx([person(n) for n in range(1, 4)]))
    result = _cli(app, path, "--dry-run", "--cohort", course_cohort.code)
    assert result.exit_code == 0, result.output
    assert "（预演）新建学员 3 · 更新学员 0 · 报名成功 3" in result.output
    assert "检查通过：3 行都可以导入（只检查，没有写入）。" in result.output
    assert _count(User) == 0 and _count(Enrolment) == 0 and _count(AuditEvent) == 0
    db.session.refresh(course_cohort)
    assert course_cohort.seats_taken == 0


def test_the_cli_refuses_an_unknown_cohort_code(app, tmp_path):
    path = tmp_path / "roster.xlsx"
    path.write_bytes(xlsx([person(1)]))
    result = _cli(app, path, "--cohort", "NOPE")
    assert result.exit_code != 0 and "没有编号为 NOPE 的班级" in result.output


# --- people already known -------------------------------------------------------------------

def test_a_known_person_is_updated_not_duplicated_and_blank_cells_keep_values(course_cohort):
    row = person(1)
    known = make_learner(name=row[1], id_number=row[3], mobile="13999999999", password_hash=None, district="章贡区",
                         platform="饿了么")
    db.session.commit()
    report = run(xlsx([person(1, **{"所在县（市、区）": None, "所属平台/企业": " "})]))
    assert report.errors == [] and report.counts["updated"] == 1 and report.counts.get("created", 0) == 0
    assert _count(User) == 1
    assert known.mobile == row[4]  # not activated yet: the roster's number becomes the login
    assert (known.district, known.platform) == ("章贡区", "饿了么")


def test_an_activated_account_keeps_its_login_mobile_with_a_warning(course_cohort):
    row = person(1)
    known = make_learner(name=row[1], id_number=row[3], mobile="13999999999")
    db.session.commit()
    report = run(xlsx([row]))
    assert report.errors == []
    assert [(w.column, w.message) for w in report.warnings] == [
        ("手机号", "此人已激活账号，登录手机号保持为 139****9999，没有改成表中的号码")]
    assert known.mobile == "13999999999" and known.password_hash is not None


def test_a_self_registered_account_without_id_is_the_same_person_when_mobile_and_name_match(course_cohort):
    row = person(1)
    known = make_learner(name=row[1], mobile=row[4])
    db.session.commit()
    report = run(xlsx([row]))
    assert report.errors == [] and report.counts["updated"] == 1
    assert known.id_number == row[3] and _count(User) == 1


def test_a_mobile_number_of_another_person_in_the_database_is_an_error(course_cohort):
    make_learner(name="王小磊", mobile="13700000001")
    db.session.commit()
    report = run(xlsx([person(1)]))
    assert _problems(report) == {(2, "手机号"): "这个手机号已是系统中另一个人（王*磊）的账号，请核对"}


def test_an_id_number_on_file_under_another_name_is_an_error(course_cohort):
    row = person(1)
    make_learner(name="王小磊", id_number=row[3])
    db.session.commit()
    report = run(xlsx([row]))
    assert _problems(report) == {(2, "身份证号"): "这个身份证号在系统中属于“王*磊”，与姓名不符，请核对身份证号"}


# --- enrolment ------------------------------------------------------------------------------

def test_a_full_cohort_waitlists_in_file_order(course_cohort):
    db.session.execute(Cohort.__table__.update().values(capacity=2))
    db.session.commit()
    db.session.refresh(course_cohort)
    report = run(xlsx([person(n) for n in (4, 2, 3, 1)]))
    assert (report.counts["enrolled"], report.counts["waitlisted"]) == (2, 2)
    rows = db.session.scalars(select(Enrolment).order_by(Enrolment.id)).all()
    assert [(e.learner.mobile[-1], e.status, e.waitlist_seq) for e in rows] == [
        ("4", EnrolmentStatus.ENROLLED, None), ("2", EnrolmentStatus.ENROLLED, None),
        ("3", EnrolmentStatus.WAITLISTED, 1), ("1", EnrolmentStatus.WAITLISTED, 2)]
    assert all(e.source == "import" for e in rows)


def test_the_cohort_option_enrols_everyone_there_whatever_the_course_column(course_cohort):
    other = make_cohort(make_course(title="育婴员（初级）"), code="OTHER-1")
    db.session.commit()
    report = run(xlsx([person(1, 报名课程="不存在的课程"), person(2)]), cohort_code=other.code)
    assert report.errors == [] and report.counts["enrolled"] == 2
    assert {e.cohort_id for e in db.session.scalars(select(Enrolment))} == {other.id}


def test_the_course_column_picks_the_open_cohort_else_the_next_planned_one():
    course = make_course(title=COURSE)
    today = date.today()
    make_cohort(course, code="OLD", status=CohortStatus.FINISHED, start_date=today - timedelta(days=90))
    planned_late = make_cohort(course, code="LATE", status=CohortStatus.PLANNED, start_date=today + timedelta(days=60))
    planned_soon = make_cohort(course, code="SOON", status=CohortStatus.PLANNED, start_date=today + timedelta(days=20))
    db.session.commit()
    report = run(xlsx([person(1)]))
    assert report.errors == [] and report.counts["enrolled"] == 1
    assert db.session.scalar(select(Enrolment)).cohort_id == planned_soon.id
    open_cohort = make_cohort(course, code="OPEN", start_date=today + timedelta(days=90))
    db.session.commit()
    assert roster.choose_cohort([planned_late, planned_soon, open_cohort], now=now_utc()) == open_cohort


def test_a_known_course_without_a_cohort_to_join_is_a_warning():
    make_cohort(make_course(title=COURSE), status=CohortStatus.FINISHED)
    db.session.commit()
    report = run(xlsx([person(1)]))
    assert report.errors == [] and report.counts["created"] == 1
    assert [w.message for w in report.warnings] == [f"课程“{COURSE}”现在没有可报名的班级，只导入了学员信息，没有报名"]
    assert _count(Enrolment) == 0


def test_the_course_column_matches_half_width_brackets_and_course_codes(course_cohort):
    report = run(xlsx([person(1, 报名课程="电工(五级/初级工)技能培训"), person(2, 报名课程="jxg-dg-01")]))
    assert report.errors == [] and report.counts["enrolled"] == 2


def test_people_already_in_the_cohort_are_left_as_they_are(course_cohort):
    row = person(1)
    known = make_learner(name=row[1], id_number=row[3], mobile=row[4], password_hash=None)
    enrol(known, course_cohort)
    db.session.commit()
    report = run(xlsx([row, person(2)]))
    assert report.counts["already"] == 1 and report.counts["enrolled"] == 1
    assert [(n.row, n.message) for n in report.notes] == [(2, "已在班级 JXG-DG-01-202612 中，保持不变")]
    assert _count(Enrolment) == 2


def test_an_ineligible_learner_is_a_warning_and_still_imported(course_cohort):
    row = person(1)
    known = make_learner(name=row[1], id_number=row[3], mobile=row[4], password_hash=None)
    enrol(known, make_cohort(course_cohort.course, code="JXG-DG-01-202701"))
    db.session.commit()
    report = run(xlsx([row]), cohort_code=course_cohort.code)
    assert report.counts["not_enrolled"] == 1
    assert [w.message for w in report.warnings] == ["没有报名 JXG-DG-01-202612：不能报名：已在本课程的另一个班级中"]


def test_only_admins_may_import_and_an_empty_file_is_refused():
    from academy.errors import PermissionDenied

    with pytest.raises(PermissionDenied):
        run(xlsx([person(1)]), actor=make_learner())
    with pytest.raises(ValidationFailed, match="没有学员"):
        run(xlsx([]))


def test_normalise_choice_accepts_listed_values_aliases_and_prefixes():
    from academy.accounts.models import DISTRICTS

    assert roster.normalise_choice("瑞金", DISTRICTS, roster.DISTRICT_ALIASES) == "瑞金市"
    assert roster.normalise_choice("江西省赣州市于都县", DISTRICTS, roster.DISTRICT_ALIASES) == "于都县"
    assert roster.normalise_choice(" ", DISTRICTS, roster.DISTRICT_ALIASES) is None
    with pytest.raises(ValueError, match="可选：章贡区"):
        roster.normalise_choice("南昌县", DISTRICTS, roster.DISTRICT_ALIASES)


def test_the_upload_page_refuses_a_file_over_the_size_limit(client):
    login(client, make_admin())
    db.session.commit()
    big = b"PK\x03\x04" + b"0" * (5 * 1024 * 1024)
    response = post(client, "/enrolment/import", {"file": (io.BytesIO(big), "roster.xlsx")},
                    content_type="multipart/form-data")
    assert response.status_code == 200
    assert "文件超过 5 MB，请分成几个文件导入" in response.get_data(as_text=True)


def test_the_upload_page_checks_only_when_asked(client, course_cohort):
    login(client, make_admin())
    db.session.commit()
    response = post(client, "/enrolment/import", {"file": (io.BytesIO(xlsx([person(1), person(2)])), "r.xlsx"),
                                                  "dry_run": "y"}, content_type="multipart/form-data")
    page = response.get_data(as_text=True)
    assert "检查通过，可以导入" in page and "新建学员</dt><dd>2</dd>" in page and "报名成功</dt><dd>2</dd>" in page
    assert _count(User) == 1 and _count(Enrolment) == 0
