"""Reading messy spreadsheets, cell conversions, upload checks, import reports and exports."""

from __future__ import annotations

import io
from datetime import date, datetime
from decimal import Decimal

import pytest
from openpyxl import Workbook, load_workbook

from academy.common.ids import InvalidIdNumber, parse_id_number
from academy.common.spreadsheets import (
    ImportReport,
    build_xlsx,
    cell_date,
    cell_decimal,
    cell_int,
    looks_scientific,
    read_table,
    read_upload,
    row_problem,
)
from academy.errors import RowError, ValidationFailed

COLUMNS = {"name": ("姓名",), "id_number": ("身份证号", "身份证号码"), "mobile": ("手机号", "手机号码"),
           "fee": ("费用（元）", "费用")}
REQUIRED = ("name", "id_number")


def xlsx(rows: list[list[object]]) -> bytes:
    wb = Workbook()
    for row in rows:
        wb.active.append(row)
    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()


# --- read_table ---------------------------------------------------------------------------

def test_a_title_row_above_the_header_is_skipped_and_rows_keep_their_sheet_numbers():
    data = xlsx([["2026年12月学员花名册"], [], ["姓名", "身份证号", "手机号"], ["王磊", "360702199001011234", 13812345678],
                 [None, None, None], ["李娜", "x", "y"]])
    table = read_table(data, filename="名单.xlsx", columns=COLUMNS, required=REQUIRED)
    assert table.header_row == 3
    assert [r.number for r in table.rows] == [4, 6]  # the empty row 5 is dropped, numbering is kept
    assert table.rows[0].values == {"name": "王磊", "id_number": "360702199001011234", "mobile": 13812345678}
    assert table.labels == {"name": "姓名", "id_number": "身份证号", "mobile": "手机号"}


def test_headers_match_with_notes_in_brackets_full_width_letters_and_spaces():
    data = xlsx([[" 姓 名 ", "身份证号码（18位）", "费用(元)"], ["王磊", "1", 0]])
    table = read_table(data, filename="a.xlsx", columns=COLUMNS, required=REQUIRED)
    assert set(table.rows[0].values) == {"name", "id_number", "fee"}
    assert table.labels["id_number"] == "身份证号码（18位）"


def test_a_missing_required_column_is_named():
    data = xlsx([["姓名", "手机号"], ["王磊", "13812345678"]])
    with pytest.raises(ValidationFailed, match="身份证号"):
        read_table(data, filename="a.xlsx", columns=COLUMNS, required=REQUIRED)


@pytest.mark.parametrize("encoding", ["utf-8-sig", "gb18030", "utf-8", "utf-16"])
def test_csv_files_are_read_in_the_encodings_chinese_excel_saves(encoding):
    text = "花名册\r\n姓名,身份证号,手机号\r\n买买提·艾力,36072219780919711x,13812345678\r\n王堃,1,2\r\n"
    table = read_table(text.encode(encoding), filename="名单.csv", columns=COLUMNS, required=REQUIRED)
    assert table.header_row == 2
    assert [r.get("name") for r in table.rows] == ["买买提·艾力", "王堃"]
    assert table.rows[0].get("id_number") == "36072219780919711x"


def test_a_tab_separated_csv_is_read_too():
    data = "姓名\t身份证号\n王磊\t1\n".encode()
    assert read_table(data, filename="a.csv", columns=COLUMNS, required=REQUIRED).rows[0].get("name") == "王磊"


@pytest.mark.parametrize(("filename", "data", "message"), [
    ("名单.xls", b"\xd0\xcf\x11\xe0 old excel", "旧版 .xls"),
    ("名单.txt", b"hello", "只支持 .xlsx 或 .csv"),
    ("名单.xlsx", b"\xd0\xcf\x11\xe0 renamed", "旧版 .xls 文件（只改了扩展名）"),
    ("名单.xlsx", b"just some text", "不是 .xlsx 格式"),
    ("名单.xlsx", b"PK\x03\x04 broken zip", "无法读取"),
    ("名单.csv", b"PK\x03\x04 an xlsx", "这是 Excel 文件，不是 CSV"),
    ("名单.csv", b"\x00\x01\x02binary", "不是文本格式"),
])
def test_files_of_the_wrong_type_or_content_are_refused_with_a_clear_reason(filename, data, message):
    with pytest.raises(ValidationFailed, match=message):
        read_table(data, filename=filename, columns=COLUMNS, required=REQUIRED)


# --- uploads --------------------------------------------------------------------------------

def test_an_upload_is_read_once_with_its_size_checked():
    assert read_upload(io.BytesIO(b"a,b\n"), "名单.CSV") == b"a,b\n"
    with pytest.raises(ValidationFailed, match="超过 1 MB"):
        read_upload(io.BytesIO(b"x" * (1024 * 1024 + 1)), "a.xlsx", max_bytes=1024 * 1024)
    with pytest.raises(ValidationFailed, match="空的"):
        read_upload(io.BytesIO(b""), "a.xlsx")
    with pytest.raises(ValidationFailed, match="旧版 .xls"):
        read_upload(io.BytesIO(b"x"), "a.xls")
    with pytest.raises(ValidationFailed, match="只支持"):
        read_upload(io.BytesIO(b"x"), "a.txt")


# --- cells ----------------------------------------------------------------------------------

@pytest.mark.parametrize("value", [date(2026, 12, 7), datetime(2026, 12, 7, 0, 0), "2026-12-07", "2026/12/7",
                                   "2026.12.07", "2026年12月7日", "２０２６－１２－０７", 46363, "2026-12-07 00:00:00"])
def test_dates_are_read_from_cells_as_people_write_them(value):
    assert cell_date(value) == date(2026, 12, 7)


@pytest.mark.parametrize(("value", "message"), [("下周一", "不是日期"), ("2026-02-30", "不存在"), (12, "不是日期")])
def test_a_cell_that_is_not_a_date_says_so(value, message):
    with pytest.raises(ValueError, match=message):
        cell_date(value)


def test_empty_cells_are_none():
    assert cell_date(None) is None and cell_date("  ") is None
    assert cell_int("") is None and cell_decimal(None) is None


def test_whole_numbers_from_cells():
    assert [cell_int(v) for v in (40, 40.0, "40", "４０", "40人", "1,200", " 16 ")] == [40, 40, 40, 40, 40, 1200, 16]
    for bad in ("四十", 40.5, "12.5"):
        with pytest.raises(ValueError, match="不是整数"):
            cell_int(bad)


def test_amounts_from_cells_are_decimals_never_floats():
    assert cell_decimal(0.1) == Decimal("0.1")
    assert cell_decimal("1,200.50") == Decimal("1200.50")
    assert cell_decimal("￥1200元") == Decimal("1200")  # noqa: RUF001 - the full-width yen sign occurs
    assert cell_decimal("免费") == Decimal("0")
    assert cell_decimal(-5) == Decimal("-5")  # the caller decides whether negatives are allowed
    with pytest.raises(ValueError, match="不是金额"):
        cell_decimal("一千")


def test_scientific_notation_text_is_recognised():
    assert looks_scientific("3.60722E+17") and looks_scientific("3.6E17")
    assert not looks_scientific("360722197809197110") and not looks_scientific(3.6e17)


def test_an_id_number_saved_in_scientific_notation_in_a_csv_is_refused_as_lost_digits():
    with pytest.raises(InvalidIdNumber, match="存成了数字"):
        parse_id_number("3.60722E+17")


# --- reports --------------------------------------------------------------------------------

LABELS = {"created": "新建", "skipped": "跳过的行"}


def _report(**kwargs) -> ImportReport:
    return ImportReport(filename="a.xlsx", labels=LABELS, rows=3, **kwargs)


def test_a_report_with_errors_blocks_the_file_unless_invalid_rows_are_skipped():
    errors = [RowError(4, "身份证号", "校验位不正确"), RowError(4, "手机号", "x"), RowError(6, "姓名", "y")]
    refused = _report(errors=list(errors))
    assert refused.invalid_rows == [4, 6] and refused.valid_rows == 1
    assert refused.blocked and refused.outcome == "refused" and refused.exit_code == 1
    partial = _report(errors=list(errors), skip_invalid=True, written=True)
    assert not partial.blocked and partial.outcome == "partial" and partial.exit_code == 0
    nothing_valid = ImportReport(filename="a", labels=LABELS, rows=2, errors=list(errors), skip_invalid=True)
    assert nothing_valid.blocked and nothing_valid.exit_code == 1


def test_a_dry_run_reports_checked_and_fails_only_when_it_would_refuse():
    assert _report(dry_run=True).outcome == "checked"
    with_errors = _report(dry_run=True, errors=[RowError(2, "姓名", "x")])
    assert with_errors.outcome == "checked_with_errors" and with_errors.exit_code == 1


def test_report_lines_give_row_column_reason_and_a_summary():
    report = _report(errors=[RowError(17, "身份证号", "校验位不正确")], warnings=[RowError(3, "授课教师", "没找到")])
    report.add("created", 2)
    lines = report.lines()
    assert lines[0] == "第17行，身份证号：校验位不正确"
    assert lines[1] == "提醒 第3行，授课教师：没找到"
    assert "新建 2 · 跳过的行 0" in lines
    assert lines[-1].startswith("没有导入：发现 1 处问题")


def test_row_problem_does_not_repeat_the_column_name():
    assert row_problem(17, "身份证号", "身份证号校验位不正确").message == "校验位不正确"
    assert row_problem(17, "所在县（市、区）", "所在县“x”不对").message == "“x”不对"
    assert row_problem(17, "身份证号", "请填写身份证号").message == "请填写身份证号"


# --- exports --------------------------------------------------------------------------------

def test_exports_keep_ids_and_phones_as_text_and_neutralise_formulas():
    body = build_xlsx([("名单", ["姓名", "身份证号", "手机号"], [["=HYPERLINK(1)", 360702199001011234, 13812345678]])],
                      text_columns=("身份证号", "手机号"))
    ws = load_workbook(io.BytesIO(body)).active
    assert [c.value for c in ws[2]] == ["'=HYPERLINK(1)", "360702199001011234", "13812345678"]
    assert ws["B2"].number_format == "@"


def test_problems_sharing_a_column_and_reason_are_grouped_by_first_row():
    items = [RowError(5, "报名课程", "没有这门课"), RowError(3, "身份证号", "校验位不正确"), RowError(2, "报名课程", "没有这门课"),
             RowError(9, "报名课程", "没有这门课")]
    assert ImportReport.grouped(items) == [([2, 5, 9], "报名课程", "没有这门课"), ([3], "身份证号", "校验位不正确")]
