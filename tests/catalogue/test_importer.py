"""Importing the course catalogue: the shared courses.xlsx through the CLI and the upload page,
re-import, every validation rule, all-or-nothing, --skip-invalid and --dry-run."""

from __future__ import annotations

import io
from datetime import date, time
from decimal import Decimal

from openpyxl import Workbook
from sqlalchemy import func, select

from academy.audit.models import AuditEvent
from academy.catalogue import importer
from academy.catalogue.models import Cohort, CohortStatus, Course
from academy.extensions import db
from tests.conftest import login, post, shared_file
from tests.factories import enrol, make_admin, make_cohort, make_course, make_instructor, make_learner

HEADER = ["课程编号", "课程名称", "职业（工种）", "职业编码", "培训等级", "课时", "培训方式", "费用（元）", "上课时间",
          "上课地点", "招生名额", "授课教师", "开班日期", "结业日期"]


def course_row(code: str = "JXG-DG-01", **overrides) -> list[object]:
    values = {"课程编号": code, "课程名称": "电工（五级/初级工）技能培训", "职业（工种）": "电工", "职业编码": "6-31-01-03",
              "培训等级": "五级/初级工", "课时": 120, "培训方式": "线下", "费用（元）": 0,
              "上课时间": "周一至周五 19:30-21:30", "上课地点": "瑞金市职业技能实训基地 2号实训楼", "招生名额": 40,
              "授课教师": "钟建华", "开班日期": "2026-12-07", "结业日期": "2027-03-01"}
    values.update(overrides)
    return [values[h] for h in HEADER]


def xlsx(rows: list[list[object]], *, title: str | None = None) -> bytes:
    wb = Workbook()
    if title:
        wb.active.append([title])
    wb.active.append(HEADER)
    for row in rows:
        wb.active.append(row)
    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()


def run(data: bytes, **kwargs):
    kwargs.setdefault("actor", None)
    return importer.import_courses(data, filename=kwargs.pop("filename", "courses.xlsx"), **kwargs)


def _count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def _cli(app, *args):
    return app.test_cli_runner().invoke(args=["import", "courses", *map(str, args)])


# --- the shared file ------------------------------------------------------------------------

def test_the_shared_catalogue_imports_through_the_cli_with_its_first_cohorts(app):
    result = _cli(app, shared_file("courses.xlsx"))
    assert result.exit_code == 0, result.output
    assert "新建课程 12 · 更新课程 0 · 新建班级 12 · 更新班级 0 · 跳过的行 0" in result.output
    assert "导入完成：共 12 行。" in result.output
    assert "提醒 第2行，授课教师：没有找到名为“钟建华”的教师账号" in result.output
    assert _count(Course) == 12 and _count(Cohort) == 12
    cohort = db.session.scalar(select(Cohort).where(Cohort.code == "JXG-DG-01-202612"))
    assert cohort.name == "2026年12月 电工（五级/初级工）技能培训班"
    assert cohort.status == CohortStatus.OPEN and cohort.capacity == 40
    assert (cohort.start_date, cohort.end_date) == (date(2026, 12, 7), date(2027, 3, 1))
    assert cohort.district == "瑞金市" and cohort.place == "瑞金市职业技能实训基地 2号实训楼"
    assert [(m.weekday, m.start_time, m.end_time) for m in cohort.meetings] == [
        (d, time(19, 30), time(21, 30)) for d in range(5)]
    course = cohort.course
    assert (course.occupation, course.occupation_code, course.level, course.hours) == ("电工", "6-31-01-03",
                                                                                       "五级/初级工", 120)
    assert course.delivery_mode == "线下" and course.fee == Decimal("0")
    online = db.session.scalar(select(Course).where(Course.code == "JXG-AQ-01"))
    assert online.occupation_code is None and online.cohorts[0].district is None
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "courses.imported"))
    assert event.actor_id is None and event.details["created"] == 12


def test_reimporting_updates_and_never_duplicates_and_matches_instructors(app):
    assert _cli(app, shared_file("courses.xlsx")).exit_code == 0
    teacher = make_instructor(name="钟建华")
    db.session.commit()
    result = _cli(app, shared_file("courses.xlsx"))
    assert result.exit_code == 0, result.output
    assert "新建课程 0 · 更新课程 12 · 新建班级 0 · 更新班级 12" in result.output
    assert "钟建华" not in result.output  # matched now: no warning
    assert _count(Course) == 12 and _count(Cohort) == 12
    cohorts = db.session.scalars(select(Cohort).where(Cohort.code.like("JXG-DG-%"))).all()
    assert all(c.instructors == [teacher] for c in cohorts)


def test_the_shared_catalogue_imports_through_the_upload_page(client):
    admin = make_admin()
    db.session.commit()
    login(client, admin)
    with shared_file("courses.xlsx").open("rb") as fh:
        response = post(client, "/courses/manage/import", {"file": (fh, "courses.xlsx")},
                        content_type="multipart/form-data")
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "导入完成" in page and "新建课程</dt><dd>12</dd>" in page and "新建班级</dt><dd>12</dd>" in page
    assert "<strong>第 2、3 行</strong>（共 2 行），授课教师：没有找到名为“钟建华”的教师账号" in page
    assert _count(Course) == 12
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "courses.imported"))
    assert event.actor_id == admin.id


def test_the_upload_page_refuses_other_file_types_with_a_clear_message(client):
    login(client, make_admin())
    db.session.commit()
    for name, message in (("courses.txt", "只支持 .xlsx 或 .csv 文件"), ("courses.xls", "不支持旧版 .xls 文件")):
        response = post(client, "/courses/manage/import", {"file": (io.BytesIO(b"data"), name)},
                        content_type="multipart/form-data")
        assert response.status_code == 200 and message in response.get_data(as_text=True)
    assert _count(Course) == 0


def test_the_upload_page_checks_only_when_asked(client):
    login(client, make_admin())
    db.session.commit()
    response = post(client, "/courses/manage/import", {"file": (io.BytesIO(xlsx([course_row()])), "c.xlsx"),
                                                       "dry_run": "y"}, content_type="multipart/form-data")
    page = response.get_data(as_text=True)
    assert "检查通过，可以导入" in page and "只检查，没有写入" in page and "新建课程</dt><dd>1</dd>" in page
    assert _count(Course) == 0


# --- rules ----------------------------------------------------------------------------------

def test_every_problem_is_reported_with_row_and_column_and_nothing_is_written():
    rows = [
        course_row("JXG-A", 职业编码="63101-03", 培训方式="函授", **{"费用（元）": -5}),
        course_row("JXG-B", 课时="很多", 招生名额=0, 开班日期="2026-12-07", 结业日期="2026-11-01"),
        course_row("JXG-C", 上课时间="看情况"),
        course_row("JXG-A"),
        course_row("JXG D!", 课程名称=""),
        course_row("JXG-E"),
    ]
    report = run(xlsx(rows, title="2026年课程目录"))
    problems = {(e.row, e.column): e.message for e in report.errors}
    assert problems[(3, "职业编码")] == "“63101-03”格式不对，应为“6-31-01-03”这样的格式"
    assert problems[(3, "培训方式")] == "“函授”不是可选的培训方式，可选：线下、线上、线上线下结合"
    assert problems[(3, "费用（元）")] == "不能为负数"
    assert problems[(4, "课时")] == "“很多”不是整数"
    assert problems[(4, "招生名额")] == "应在1到5000之间，现在是0"
    assert problems[(4, "结业日期")] == "不能早于开班日期"
    assert problems[(5, "上课时间")].startswith("看不懂上课时间“看情况”")
    assert problems[(6, "课程编号")] == "与第3行的课程编号重复"
    assert problems[(7, "课程编号")].startswith("“JXGD!”不能做课程编号")
    assert problems[(7, "课程名称")] == "请填写课程名称"
    assert report.invalid_rows == [3, 4, 5, 6, 7]
    assert report.outcome == "refused" and not report.written and report.exit_code == 1
    assert _count(Course) == 0 and _count(Cohort) == 0


def test_variants_of_mode_money_dates_and_codes_are_accepted():
    row = course_row("ｊｘｇ－ps－01", 职业编码="４－02－07－10", 培训方式="线上+线下", 课时="40课时", 招生名额="60人",
                     开班日期="2026年12月21日", 结业日期=date(2027, 1, 18), **{"费用（元）": "免费"})
    report = run(xlsx([row]))
    assert report.errors == []
    course = db.session.scalar(select(Course))
    assert (course.code, course.occupation_code, course.delivery_mode, course.hours, course.fee) == (
        "JXG-PS-01", "4-02-07-10", "线上线下结合", 40, Decimal("0"))
    assert db.session.scalar(select(Cohort)).code == "JXG-PS-01-202612"


def test_skip_invalid_imports_the_valid_rows_and_reports_the_others(app, tmp_path):
    path = tmp_path / "courses.xlsx"
    path.write_bytes(xlsx([course_row("JXG-A"), course_row("JXG-B", 招生名额=0), course_row("JXG-C")]))
    result = _cli(app, path, "--skip-invalid")
    assert result.exit_code == 0, result.output
    assert "第3行，招生名额：应在1到5000之间，现在是0" in result.output
    assert "新建课程 2 · 更新课程 0 · 新建班级 2 · 更新班级 0 · 跳过的行 1" in result.output
    assert "已导入 2 行，跳过有问题的 1 行。" in result.output
    assert sorted(db.session.scalars(select(Course.code))) == ["JXG-A", "JXG-C"]


def test_without_skip_invalid_the_cli_fails_and_writes_nothing(app, tmp_path):
    path = tmp_path / "courses.csv"
    path.write_text(",".join(HEADER) + "\n" + ",".join(map(str, course_row("JXG-A", 结业日期="2026-01-01"))) + "\n",
                    encoding="gb18030")
    result = _cli(app, path)
    assert result.exit_code == 1
    assert "第2行，结业日期：不能早于开班日期" in result.output
    assert _count(Course) == 0


def test_a_dry_run_reports_what_would_happen_and_writes_nothing(app, tmp_path):
    path = tmp_path / "courses.xlsx"
    path.write_bytes(xlsx([course_row("JXG-A"), course_row("JXG-B")]))
    result = _cli(app, path, "--dry-run")
    assert result.exit_code == 0, result.output
    assert "（预演）新建课程 2" in result.output and "只检查，没有写入" in result.output
    assert _count(Course) == 0 and _count(Cohort) == 0
    assert db.session.scalar(select(func.count()).select_from(AuditEvent)) == 0


def test_a_file_without_the_catalogue_header_is_refused(app, tmp_path):
    path = tmp_path / "courses.xlsx"
    wb = Workbook()
    wb.active.append(["课程编号", "课程名称"])
    wb.save(path)
    result = _cli(app, path)
    assert result.exit_code != 0 and "没有找到表头" in result.output


def test_a_capacity_change_applies_unless_the_cohort_is_full_or_below_the_seats_taken():
    report = run(xlsx([course_row("JXG-A", 招生名额=2), course_row("JXG-B", 招生名额=3)]))
    assert report.errors == []
    full = db.session.scalar(select(Cohort).where(Cohort.code == "JXG-A-202612"))
    roomy = db.session.scalar(select(Cohort).where(Cohort.code == "JXG-B-202612"))
    for cohort, n in ((full, 2), (roomy, 2)):
        for _ in range(n):
            enrol(make_learner(), cohort)
    db.session.commit()
    report = run(xlsx([course_row("JXG-A", 招生名额=5), course_row("JXG-B", 招生名额=10)]))
    assert report.errors == []
    assert [w.message for w in report.warnings if w.column == "招生名额"] == [
        "班级已满，名额仍为2：请到班级名单页“调整名额”改为5，候补的人会按顺序补上"]
    assert (full.capacity, roomy.capacity) == (2, 10)
    report = run(xlsx([course_row("JXG-B", 招生名额=1, 培训方式="函授")]))
    assert [(e.row, e.column, e.message) for e in report.errors] == [
        (2, "培训方式", "“函授”不是可选的培训方式，可选：线下、线上、线上线下结合"),
        (2, "招生名额", "不能少于已报名人数（2人）")]


def test_a_derived_cohort_code_used_by_another_course_is_an_error():
    make_cohort(make_course(code="OTHER"), code="JXG-A-202612")
    db.session.commit()
    report = run(xlsx([course_row("JXG-A")]))
    assert [(e.column, e.message) for e in report.errors] == [("开班日期", "班级编号 JXG-A-202612 已被另一门课程使用")]


def test_two_instructors_with_the_same_name_are_a_warning_not_a_guess():
    make_instructor(name="黄婷")
    make_instructor(name="黄婷")
    make_instructor(name="刘晓燕")
    db.session.commit()
    report = run(xlsx([course_row("JXG-A", 授课教师="黄婷、刘晓燕")]))
    assert [w.message for w in report.warnings] == ["有2个教师账号都叫“黄婷”，没有自动指定，请在班级页选择"]
    assert [i.name for i in db.session.scalar(select(Cohort)).instructors] == ["刘晓燕"]


def test_the_district_is_guessed_from_the_place():
    assert importer.guess_district("瑞金市职业技能实训基地") == "瑞金市"
    assert importer.guess_district("于都罗坳镇文化站") == "于都县"
    assert importer.guess_district("赣州市章贡区 红旗大道 1 号") == "章贡区"
    assert importer.guess_district("象湖镇党群服务中心") is None
    assert importer.guess_district("振兴国际大厦 3楼") is None  # not 兴国县
    assert importer.guess_district(None) is None


def test_cohort_codes_and_names_follow_the_course_and_start_month():
    assert importer.cohort_code_for("JXG-DG-01", date(2026, 12, 7)) == "JXG-DG-01-202612"
    assert importer.cohort_name_for("中式烹调师（初级）", date(2027, 3, 1)) == "2027年3月 中式烹调师（初级）班"
    assert importer.cohort_name_for("电工夜校班", date(2027, 3, 1)) == "2027年3月 电工夜校班"


def test_only_admins_may_import():
    import pytest

    from academy.errors import PermissionDenied

    with pytest.raises(PermissionDenied):
        run(xlsx([course_row()]), actor=make_instructor())
