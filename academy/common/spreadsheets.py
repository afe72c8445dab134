"""Reading .xlsx/.csv imports and writing .xlsx exports (openpyxl).

Exports write identity numbers and phone numbers as text (never as numbers, which Excel
would round to 3.60702E+17) and neutralise cells starting with ``= + - @`` (and tab/CR) so
that a name such as ``=HYPERLINK(…)`` is shown, never executed (CSV/formula injection, OWASP).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter

from academy.common.text import clean, to_halfwidth
from academy.errors import ValidationFailed

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
XLSX_MIMETYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def neutralise(value: object) -> object:
    """Return ``value`` safe for a spreadsheet cell.

    Strings starting with a formula prefix get a leading apostrophe-like quote (``'``) so
    Excel and WPS show them as text; numbers and dates pass through unchanged.
    """
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


def build_xlsx(sheets: Sequence[tuple[str, Sequence[str], Iterable[Sequence[object]]]], *,
               text_columns: Iterable[str] = ()) -> bytes:
    """Build a workbook and return its bytes.

    ``sheets`` is a list of ``(title, headers, rows)``. Columns whose header is in
    ``text_columns`` (e.g. 身份证号, 手机号) are stored as text with the ``@`` number format.
    Every string cell is neutralised. The header row is bold and frozen.
    """
    text_columns = set(text_columns)
    wb = Workbook()
    wb.remove(wb.active)
    for title, headers, rows in sheets:
        ws = wb.create_sheet(title=title[:31])
        ws.append(list(headers))
        for cell in ws[1]:
            cell.font = Font(bold=True)
            cell.fill = PatternFill("solid", fgColor="F2E6D9")
            cell.alignment = Alignment(vertical="center")
        text_idx = {i for i, h in enumerate(headers) if h in text_columns}
        widths = [max(len(str(h)) * 2, 8) for h in headers]
        for row in rows:
            values = []
            for i, value in enumerate(row):
                if i in text_idx and value is not None and not isinstance(value, str):
                    value = str(value)
                values.append(neutralise(value))
                if value is not None:
                    widths[i] = min(max(widths[i], len(str(value)) + 2), 40)
            ws.append(values)
            if text_idx:
                for i in text_idx:
                    ws.cell(row=ws.max_row, column=i + 1).number_format = "@"
        for i, width in enumerate(widths, start=1):
            ws.column_dimensions[get_column_letter(i)].width = width
        ws.freeze_panes = "A2"
    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()


# --- reading ------------------------------------------------------------------------------

HEADER_SEARCH_ROWS = 10  # a title row (or several) may stand above the header
MAX_ROWS = 100_000


def normalise_header(value: object) -> str:
    """Header text for matching: half-width, no spaces, no bracketed notes, lower case.

    ``"理论知识（满分100）"`` → ``"理论知识"``, ``" 手机号 "`` → ``"手机号"``.
    """
    text = to_halfwidth(clean(value)).replace(" ", "").lower()
    for open_, close in (("(", ")"), ("[", "]")):
        while open_ in text and close in text.split(open_, 1)[1]:
            before, rest = text.split(open_, 1)
            text = before + rest.split(close, 1)[1]
    return text


@dataclass
class Row:
    """One data row: ``number`` is the 1-based row number as the spreadsheet shows it."""

    number: int
    values: dict[str, object]

    def get(self, key: str, default: object = None) -> object:
        return self.values.get(key, default)


@dataclass
class Table:
    """A parsed sheet: canonical column keys → cells, with the header row number and labels."""

    rows: list[Row]
    header_row: int
    labels: dict[str, str] = field(default_factory=dict)  # canonical key → header as written


def read_table(source: str | Path | BinaryIO | bytes, *, filename: str, columns: dict[str, tuple[str, ...]],
               required: tuple[str, ...] = ()) -> Table:
    """Read the first sheet of an .xlsx file or a .csv file into rows keyed by canonical column.

    ``columns`` maps a canonical key to the header spellings that mean it, e.g.
    ``{"id_number": ("身份证号", "身份证号码", "公民身份号码")}`` (compared after
    ``normalise_header``). The header is the first row among the first ten that contains every
    ``required`` column, so title rows above it are skipped. CSV files may be UTF-8 (with or
    without BOM) or GB18030 as saved by Chinese Excel. Empty rows are dropped. Cell values are
    returned as openpyxl gives them (str, int, float, datetime) or as strings for CSV.

    Raises ``ValidationFailed`` when the file type is not .xlsx/.csv, the file cannot be read,
    or the header (with its required columns) is not found — naming the missing columns.
    """
    name = filename.lower()
    data = _as_bytes(source)
    if name.endswith(".xlsx") or name.endswith(".xlsm"):
        raw_rows = _xlsx_rows(data)
    elif name.endswith(".csv"):
        raw_rows = _csv_rows(data)
    elif name.endswith(".xls"):
        raise ValidationFailed("不支持旧版 .xls 文件，请在 Excel/WPS 中“另存为” .xlsx 后再上传")
    else:
        raise ValidationFailed("只支持 .xlsx 或 .csv 文件")
    wanted = {key: {normalise_header(s) for s in spellings} for key, spellings in columns.items()}
    for index, raw in enumerate(raw_rows[:HEADER_SEARCH_ROWS]):
        mapping: dict[int, str] = {}
        labels: dict[str, str] = {}
        for col, cell in enumerate(raw):
            header = normalise_header(cell)
            for key, spellings in wanted.items():
                if header and header in spellings and key not in labels:
                    mapping[col] = key
                    labels[key] = clean(cell)
        if all(key in labels for key in required) and labels:
            rows = []
            for offset, values in enumerate(raw_rows[index + 1:], start=index + 2):
                if all(clean(v) == "" for v in values):
                    continue
                rows.append(Row(offset, {key: (values[col] if col < len(values) else None)
                                         for col, key in mapping.items()}))
            if len(rows) > MAX_ROWS:
                raise ValidationFailed(f"文件超过 {MAX_ROWS} 行，请分批导入")
            return Table(rows=rows, header_row=index + 1, labels=labels)
    missing = "、".join(columns[k][0] for k in required)
    raise ValidationFailed(f"没有找到表头：前{HEADER_SEARCH_ROWS}行中应有这些列：{missing}")


def _as_bytes(source: str | Path | BinaryIO | bytes) -> bytes:
    if isinstance(source, bytes):
        return source
    if isinstance(source, (str, Path)):
        return Path(source).read_bytes()
    return source.read()


def _xlsx_rows(data: bytes) -> list[list[object]]:
    from openpyxl import load_workbook

    try:
        wb = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # noqa: BLE001 - openpyxl raises many types for a bad file
        raise ValidationFailed("无法读取这个 Excel 文件，请确认是 .xlsx 格式且没有损坏") from exc
    try:
        ws = wb.worksheets[0]
        return [list(r) for r in ws.iter_rows(values_only=True)]
    finally:
        wb.close()


def _csv_rows(data: bytes) -> list[list[object]]:
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            text = data.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:  # pragma: no cover - gb18030 decodes any byte string
        raise ValidationFailed("无法识别 CSV 文件的编码，请另存为 UTF-8 或 .xlsx")
    try:
        dialect = csv.Sniffer().sniff(text[:4096], delimiters=",\t;")
    except csv.Error:
        dialect = csv.excel
    return [list(r) for r in csv.reader(io.StringIO(text), dialect)]
