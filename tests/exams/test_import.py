"""Importing a score sheet (.xlsx) through the service, the upload page and the command line."""

from __future__ import annotations

import io
from decimal import Decimal

import pytest
from openpyxl import Workbook, load_workbook
from sqlalchemy import select

from academy.common.text import clean_name
from academy.errors import ValidationFailed
from academy.exams import importer, services, stats
from academy.exams.models import ExamScore, ExamScoreChange
from academy.extensions import db
from tests.conftest import post, shared_file
from tests.exams.builders import NOW, make_assessment, make_class, set_marks, sign_in
from tests.factories import enrol, make_learner

D = Decimal
SHEET = "scores-electrician.xlsx"


def _sheet_people() -> list[tuple[str, str]]:
    ws = load_workbook(shared_file(SHEET), read_only=True).worksheets[0]
    return [(clean_name(r[1]), str(r[2]).upper()) for r in ws.iter_rows(min_row=2, values_only=True) if r[1]]


def _electrician_class():
    """The cohort of the shared sheet: its 26 learners enrolled (created from the sheet's ID numbers)."""
    cls = make_class(0)
    cls.cohort.capacity = 40
    for i, (name, id_number) in enumerate(_sheet_people()):
        learner = make_learner(name=name, id_number=id_number, mobile=f"1370000{i:04d}")
        enrol(learner, cls.cohort)
        cls.learners.append(learner)
    assessment = make_assessment(cls)
    db.session.commit()
    return cls, assessment


def _xlsx(rows: list[list], header=("序号", "姓名", "身份证号", "理论知识（满分100）", "操作技能（满分100）", "备注"),
          title: str | None = None) -> bytes:
    wb = Workbook()
    ws = wb.active
    if title:
        ws.append([title])
    ws.append(list(header))
    for row in rows:
        ws.append(row)
    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()


def _by_name(assessment) -> dict[str, dict[str, object]]:
    out = {}
    for row in services.gradebook(assessment, now=NOW):
        out[row.learner.name] = {c.name: row.marks.get(c.id) for c in assessment.components} | {"result": row.result}
    return out


def test_the_shared_electrician_sheet_imports_every_mark_exactly():
    cls, assessment = _electrician_class()
    report = importer.import_scores(assessment, shared_file(SHEET), filename=SHEET, actor=cls.instructor, now=NOW)
    assert (report.rows, report.changed, report.missing) == (26, 52, [])
    marks = _by_name(assessment)
    assert marks["郭军鹏"]["理论知识"].points == D("52.5") and marks["郭军鹏"]["操作技能"].points == D("83")
    assert marks["赖勇杰"]["理论知识"].points == D("100")
    assert marks["胡翀"]["理论知识"].points == D("99.5")
    assert marks["朱华强"]["理论知识"].absent and marks["朱华强"]["操作技能"].absent
    assert marks["朱华强"]["result"].passed is False and marks["朱华强"]["result"].total is None
    assert marks["郭军鹏"]["result"].passed is False  # theory 52.5 < 60
    assert marks["赖国华"]["result"].passed is False  # theory 59.5: half a point short
    assert marks["周华"]["result"].passed is True and marks["周华"]["result"].total == D("84.3")  # 84.25
    assert all(isinstance(p, Decimal) for p in db.session.scalars(select(ExamScore.points)) if p is not None)
    sources = set(db.session.scalars(select(ExamScoreChange.source)))
    assert sources == {"import"}
    summary = stats.statistics(assessment, services.gradebook(assessment, now=NOW))
    assert (summary.passed, summary.failed) == (18, 8)
    # importing the same file again changes nothing
    again = importer.import_scores(assessment, shared_file(SHEET), filename=SHEET, actor=cls.instructor, now=NOW)
    assert (again.changed, again.unchanged) == (0, 52)


def test_broken_rows_are_all_reported_and_nothing_is_imported():
    cls, assessment = _electrician_class()
    people = _sheet_people()
    rows = [
        [1, people[0][0], people[0][1], 80, 70, None],
        [2, people[1][0], people[1][1], 61.5, 120, None],  # row 3: over the maximum
        [3, people[2][0], people[2][1], "七十", 66.3, None],  # row 4: malformed and off-step
        [4, "张冒名", people[3][1], 80, 80, None],  # row 5: name does not match the ID
        [5, "查无此人", "11010519491231002X", 80, 80, None],  # row 6: not in the cohort
        [6, people[4][0], "360724197811166154", 80, 80, None],  # row 7: wrong check character
        [7, people[0][0], people[0][1], 80, 70, None],  # row 8: duplicate of row 2
        [8, people[5][0], people[5][1], -3, "缺考", None],  # row 9: negative
    ]
    with pytest.raises(ValidationFailed) as err:
        importer.import_scores(assessment, _xlsx(rows), filename="scores.xlsx", actor=cls.instructor, now=NOW)
    messages = [f"第 {e.row} 行，{e.column}：{e.message}" for e in err.value.errors]
    assert "第 3 行，操作技能：超过满分100" in messages
    assert "第 4 行，理论知识：请填写数字（如 88 或 88.5）或“缺考”" in messages
    assert "第 4 行，操作技能：分数只能是0.5的倍数（如 88 或 88.5）" in messages
    assert any(m.startswith("第 5 行，姓名：姓名与身份证号不符") for m in messages)
    assert any(m.startswith("第 6 行，身份证号：本成绩单上没有身份证号为110105") for m in messages)
    assert "第 7 行，身份证号：身份证号校验位不正确，请核对是否输错" in messages
    assert "第 8 行，姓名：与第2行是同一名学员" in messages
    assert "第 9 行，理论知识：分数不能是负数" in messages
    assert len(messages) == 8
    db.session.rollback()
    assert db.session.scalar(select(ExamScore.id)) is None


def test_learners_are_matched_by_name_and_mobile_when_there_is_no_id_column():
    cls = make_class(2, names=["刘一", "陈二"])
    assessment = make_assessment(cls)
    a, b = cls.learners
    body = _xlsx([[1, "刘一", a.mobile, "８８．５", "缺考"], [2, "陈二", b.mobile, 60, 61]],
                 header=("序号", "姓名", "手机号", "理论知识", "操作技能"), title="2026年第3期电工班 结业考核成绩")
    report = importer.import_scores(assessment, body, filename="s.xlsx", actor=cls.instructor, now=NOW)
    assert report.changed == 4
    marks = _by_name(assessment)
    assert marks["刘一"]["理论知识"].points == D("88.5") and marks["刘一"]["操作技能"].absent


def test_a_sheet_without_component_columns_is_refused():
    cls = make_class(1)
    assessment = make_assessment(cls)
    with pytest.raises(ValidationFailed, match="没有找到科目列"):
        importer.import_scores(assessment, _xlsx([[1, "x", "y"]], header=("序号", "姓名", "身份证号")),
                               filename="s.xlsx", actor=cls.instructor, now=NOW)


def test_blank_cells_leave_existing_marks_alone():
    cls = make_class(1, names=["刘一"])
    (a,) = cls.learners
    assessment = make_assessment(cls)
    set_marks(assessment, {a: ("70", "71")})
    body = _xlsx([[1, "刘一", a.mobile, None, 75]], header=("序号", "姓名", "手机号", "理论知识", "操作技能"))
    assert importer.import_scores(assessment, body, filename="s.xlsx", actor=cls.instructor, now=NOW).changed == 1
    marks = _by_name(assessment)
    assert marks["刘一"]["理论知识"].points == D("70") and marks["刘一"]["操作技能"].points == D("75")


def test_the_upload_page_imports_and_reports_row_errors(client):
    cls, assessment = _electrician_class()
    client = sign_in(client.application, cls.instructor)
    people = _sheet_people()
    bad = _xlsx([[1, people[0][0], people[0][1], 80, 100.5, None]])
    response = post(client, f"/exams/{assessment.id}/import",
                    {"file": (io.BytesIO(bad), "scores.xlsx")}, content_type="multipart/form-data")
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and "第 2 行，操作技能：超过满分100" in page
    with open(shared_file(SHEET), "rb") as fh:
        response = post(client, f"/exams/{assessment.id}/import", {"file": (fh, SHEET)},
                        content_type="multipart/form-data")
    assert response.status_code == 302
    assert db.session.scalar(select(ExamScore.id).limit(1)) is not None


def test_the_command_line_imports_the_shared_sheet(app):
    cls, assessment = _electrician_class()
    runner = app.test_cli_runner()
    result = runner.invoke(args=["import", "scores", str(shared_file(SHEET)), "--assessment", str(assessment.id),
                                 "--by", cls.instructor.mobile])
    assert result.exit_code == 0, result.output
    assert "26 行，52 个成绩有变动" in result.output
    db.session.expire_all()
    assert _by_name(assessment)["胡翀"]["理论知识"].points == D("99.5")
    change = db.session.scalars(select(ExamScoreChange)).first()
    assert change.source == "cli" and change.changed_by_id == cls.instructor.id


def test_the_command_line_reports_broken_rows_and_fails(app, tmp_path):
    cls, assessment = _electrician_class()
    people = _sheet_people()
    path = tmp_path / "bad.xlsx"
    path.write_bytes(_xlsx([[1, people[0][0], people[0][1], 80, 70, None],
                            [2, people[1][0], people[1][1], 80, 101, None]]))
    result = app.test_cli_runner().invoke(args=["import", "scores", str(path), "--assessment", str(assessment.id)])
    assert result.exit_code != 0
    assert "第3行，操作技能：超过满分100" in result.output
    db.session.expire_all()
    assert db.session.scalar(select(ExamScore.id)) is None


def test_after_publication_an_import_needs_a_reason():
    cls, assessment = _electrician_class()
    importer.import_scores(assessment, shared_file(SHEET), filename=SHEET, actor=cls.instructor, now=NOW)
    services.publish(assessment, actor=cls.instructor, now=NOW)
    people = _sheet_people()
    body = _xlsx([[1, people[0][0], people[0][1], 60, 83, None]])
    with pytest.raises(services.ReasonRequired):
        importer.import_scores(assessment, body, filename="s.xlsx", actor=cls.instructor, now=NOW)
    report = importer.import_scores(assessment, body, filename="s.xlsx", actor=cls.instructor, now=NOW,
                                    reason="理论试卷复核")
    assert report.changed == 1
