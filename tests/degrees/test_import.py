"""Importing the academy's degree-upgrade ledger: the real sample file, bad rows, all or nothing."""

from __future__ import annotations

import io
from datetime import date

import pytest
from openpyxl import Workbook, load_workbook
from sqlalchemy import func, select

from academy.accounts.models import User
from academy.degrees.imports import IMPORT_OVERRIDE, import_cases
from academy.degrees.models import DegreeCase, Programme
from academy.degrees.services import count_upgrading, pipeline_counts
from academy.degrees.stages import Stage
from academy.errors import ValidationFailed
from academy.extensions import db
from tests.conftest import shared_file
from tests.degrees.builders import noon
from tests.factories import make_admin, make_learner, valid_id_number

NOW = noon(date(2026, 6, 1))
HEADER = ["序号", "姓名", "身份证号", "途径", "层次", "院校", "专业", "入学年份", "当前阶段", "学号", "已获学分",
          "所需学分", "补贴（元）", "备注"]


def _ledger_rows():
    sheet = load_workbook(shared_file("degree-cases.xlsx"), read_only=True).worksheets[0]
    return list(sheet.iter_rows(values_only=True))[1:]


def _learners_of_the_ledger():
    for row in _ledger_rows():
        make_learner(name=row[1], id_number=row[2], education="大专" if row[4] == "专升本" else "高中")


def _count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def _xlsx(rows, header=HEADER) -> bytes:
    wb = Workbook()
    ws = wb.active
    ws.append(["学历提升台账（2026年）"])  # a title row above the header, as real files have
    ws.append(header)
    for row in rows:
        ws.append(row)
    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()


def _row(n, name, id_number, route="成人高考", level="高起专", stage="已报名", **extra):
    values = [n, name, id_number, route, level, "江西理工大学", "物流管理", 2026, stage, None, 0, 76, 1500, None]
    for key, value in extra.items():
        values[HEADER.index(key)] = value
    return values


@pytest.fixture
def admin():
    return make_admin()


def test_the_academys_ledger_imports_all_52_cases_with_their_stages(admin):
    _learners_of_the_ledger()
    report = import_cases(shared_file("degree-cases.xlsx").read_bytes(), filename="degree-cases.xlsx", actor=admin,
                          now=NOW)
    assert (report.rows, report.cases_created, report.learners_matched, report.learners_created) == (52, 52, 52, 0)
    assert report.programmes_created == 24 == _count(Programme)
    assert dict(report.by_stage) == {
        "registered": 13, "exam_taken": 1, "admitted": 2, "enrolled": 7, "studying": 3, "graduation_applied": 4,
        "graduated": 7, "deferred": 4, "dropped": 9, "interested": 2}
    # 已参加考试 / 已录取 on routes without an entrance exam come in as 已报名, each with a note
    assert len(report.notes) == 6
    assert all("没有入学考试" in str(n) for n in report.notes)
    counts = pipeline_counts()
    assert sum(counts.values()) == 52
    assert count_upgrading() == 13 + 1 + 2 + 7 + 3 + 4


def test_imported_cases_keep_the_ledgers_details(admin):
    _learners_of_the_ledger()
    import_cases(shared_file("degree-cases.xlsx").read_bytes(), filename="degree-cases.xlsx", actor=admin, now=NOW)
    wang = db.session.scalar(select(DegreeCase).join(User, DegreeCase.learner_id == User.id)
                             .where(User.id_number == "360702197602249693"))
    assert (wang.route, wang.level, wang.programme.institution, wang.programme.major) == (
        "self_study", "diploma_to_bachelor", "江西财经大学（主考）", "工商企业管理")
    assert (wang.stage, wang.student_number, wang.credits_earned, wang.subsidy_granted, wang.intake_year) == (
        Stage.ENROLLED, "202678245316", 3, 1500, 2026)
    assert wang.programme.credits_required == 70 and wang.programme.min_study_months is None
    deferred = db.session.scalar(select(DegreeCase).where(DegreeCase.stage == Stage.DEFERRED).limit(1))
    assert deferred.resume_stage == Stage.REGISTERED
    assert wang.events[0].kind == "imported" and "第 3 行" in wang.events[0].note


def test_a_dry_run_reports_and_writes_nothing(admin):
    _learners_of_the_ledger()
    report = import_cases(shared_file("degree-cases.xlsx").read_bytes(), filename="degree-cases.xlsx", actor=admin,
                          dry_run=True, now=NOW)
    assert report.dry_run and report.cases_created == 52
    assert _count(DegreeCase) == 0 and _count(Programme) == 0


def test_bad_rows_are_reported_by_row_and_column_and_nothing_is_imported(admin):
    known = make_learner(name="王斌", id_number=valid_id_number(1))
    other = make_learner(name="李华", id_number=valid_id_number(2))
    data = _xlsx([
        _row(1, "王斌", known.id_number),
        _row(2, "李华", other.id_number, route="函授大专"),
        _row(3, "张三", "360702199001011234"),
        _row(4, "李华", other.id_number, stage="考完了"),
        _row(5, "王斌", known.id_number),
        _row(6, "赵六", valid_id_number(3)),
        _row(7, "李四", other.id_number, level="高升硕"),
    ])
    with pytest.raises(ValidationFailed) as failure:
        import_cases(data, filename="bad.xlsx", actor=admin, now=NOW)
    messages = [str(e) for e in failure.value.errors]
    assert any(m.startswith("第 4 行，途径：不认识“函授大专”") for m in messages)
    assert any(m.startswith("第 5 行，身份证号：360702199001011234：身份证号校验位不正确") for m in messages)
    assert any(m.startswith("第 6 行，当前阶段：不认识“考完了”") for m in messages)
    assert "第 7 行，身份证号：与第 3 行是同一个人，每人只能有一行" in messages
    assert any(m.startswith("第 8 行，身份证号：系统里没有这个学员") for m in messages)
    assert any(m.startswith("第 9 行，层次：不认识“高升硕”") for m in messages)
    assert any(m.startswith("第 9 行，姓名：与系统中这个身份证号的学员（李*）不一致") for m in messages)
    assert _count(DegreeCase) == 0 and _count(Programme) == 0


def test_a_learner_already_in_the_pipeline_is_not_imported_twice(admin):
    _learners_of_the_ledger()
    import_cases(shared_file("degree-cases.xlsx").read_bytes(), filename="degree-cases.xlsx", actor=admin, now=NOW)
    with pytest.raises(ValidationFailed) as failure:
        import_cases(shared_file("degree-cases.xlsx").read_bytes(), filename="degree-cases.xlsx", actor=admin,
                     now=NOW)
    assert len(failure.value.errors) == 52
    assert "不要重复导入" in str(failure.value.errors[0])
    assert _count(DegreeCase) == 52


def test_an_unknown_learner_with_a_mobile_number_gets_an_account_without_password(admin):
    id_number = valid_id_number(7, born="19880512", male=False)
    data = _xlsx([_row(1, "钟慧", id_number, level="专升本", stage="在读") + ["139 0797 1234"]],
                 header=[*HEADER, "手机号"])
    report = import_cases(data, filename="with-mobile.xlsx", actor=admin, now=NOW)
    assert report.learners_created == 1
    learner = db.session.scalar(select(User).where(User.id_number == id_number))
    assert (learner.name, learner.mobile, learner.password_hash, learner.gender, learner.is_learner) == (
        "钟慧", "13907971234", None, "女", True)
    case = db.session.scalar(select(DegreeCase).where(DegreeCase.learner_id == learner.id))
    assert case.entry_override_reason == IMPORT_OVERRIDE


def test_a_file_without_the_required_columns_is_refused(admin):
    with pytest.raises(ValidationFailed, match="没有找到表头"):
        import_cases(_xlsx([["王斌", "x"]], header=["姓名", "电话"]), filename="x.xlsx", actor=admin, now=NOW)
