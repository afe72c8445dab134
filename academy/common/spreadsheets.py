"""Reading .xlsx/.csv imports and writing .xlsx exports (openpyxl).

Exports write identity numbers and phone numbers as text (never as numbers, which Excel
would round to 3.60702E+17) and neutralise cells starting with ``= + - @`` (and tab/CR) so
that a name such as ``=HYPERLINK(…)`` is shown, never executed (CSV/formula injection, OWASP).
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import BinaryIO

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter

from academy.common.text import clean, to_halfwidth
from academy.errors import RowError, ValidationFailed

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

    CSV files starting with a UTF-16 byte-order mark (Excel's "Unicode text") are read too.

    Raises ``ValidationFailed`` when the file type is not .xlsx/.csv (an old .xls gets its own
    message), when the content does not match the extension (an .xls renamed to .xlsx, an Excel
    file renamed to .csv, a binary file), when the file cannot be read, or when the header (with
    its required columns) is not found — naming the missing columns.
    """
    name = filename.lower()
    data = _as_bytes(source)
    if name.endswith(".xlsx") or name.endswith(".xlsm"):
        _check_xlsx_bytes(data)
        raw_rows = _xlsx_rows(data)
    elif name.endswith(".csv"):
        _check_csv_bytes(data)
        raw_rows = _csv_rows(data)
    elif name.endswith(".xls"):
        raise ValidationFailed(OLD_XLS_MESSAGE)
    else:
        raise ValidationFailed("只支持 .xlsx 或 .csv 文件（Excel/WPS 里“另存为”可以选这两种格式）")
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


ZIP_MAGIC = b"PK\x03\x04"  # .xlsx is a zip archive
OLE_MAGIC = b"\xd0\xcf\x11\xe0"  # old .xls (and .doc) compound files
OLD_XLS_MESSAGE = "不支持旧版 .xls 文件，请在 Excel/WPS 中“另存为” .xlsx 后再上传"


def _check_xlsx_bytes(data: bytes) -> None:
    if data.startswith(ZIP_MAGIC):
        return
    if data.startswith(OLE_MAGIC):
        raise ValidationFailed("这是旧版 .xls 文件（只改了扩展名），请在 Excel/WPS 中“另存为” .xlsx 后再上传")
    raise ValidationFailed("这个文件不是 .xlsx 格式，请在 Excel/WPS 中“另存为” .xlsx 后再上传")


def _check_csv_bytes(data: bytes) -> None:
    if data.startswith(ZIP_MAGIC) or data.startswith(OLE_MAGIC):
        raise ValidationFailed("这是 Excel 文件，不是 CSV：请把扩展名改回 .xlsx 再上传")
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return  # UTF-16 text has NUL bytes by design
    if b"\x00" in data[:4096]:
        raise ValidationFailed("这个文件不是文本格式的 CSV，请上传 .xlsx 或另存为 CSV")


def _csv_rows(data: bytes) -> list[list[object]]:
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return _csv_split(data.decode("utf-16"))
        except UnicodeDecodeError as exc:
            raise ValidationFailed("无法识别 CSV 文件的编码，请另存为 UTF-8 或 .xlsx") from exc
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            text = data.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:  # pragma: no cover - gb18030 decodes any byte string
        raise ValidationFailed("无法识别 CSV 文件的编码，请另存为 UTF-8 或 .xlsx")
    return _csv_split(text)


def _csv_split(text: str) -> list[list[object]]:
    try:
        dialect = csv.Sniffer().sniff(text[:4096], delimiters=",\t;")
    except csv.Error:
        dialect = csv.excel
    return [list(r) for r in csv.reader(io.StringIO(text), dialect)]


# --- uploads and cells ----------------------------------------------------------------------

UPLOAD_MAX_BYTES = 5 * 1024 * 1024  # an .xlsx roster of 10,000 people is about 1 MB
UPLOAD_EXTENSIONS = (".xlsx", ".csv")


def read_upload(stream: BinaryIO, filename: str, *, max_bytes: int = UPLOAD_MAX_BYTES) -> bytes:
    """Return the bytes of an uploaded spreadsheet after checking its name and size.

    ``stream`` is the upload's file object (werkzeug ``FileStorage.stream``); at most
    ``max_bytes + 1`` bytes are read, so a huge upload is never held in memory. Nothing is kept
    anywhere (not in the session, not on disk). Raises ``ValidationFailed`` for a file that is
    not .xlsx/.csv (an old .xls is told to "save as .xlsx"), an empty file, or one larger than
    ``max_bytes``.
    """
    name = (filename or "").lower()
    if name.endswith(".xls"):
        raise ValidationFailed(OLD_XLS_MESSAGE)
    if not name.endswith(UPLOAD_EXTENSIONS):
        raise ValidationFailed("只支持 .xlsx 或 .csv 文件（Excel/WPS 里“另存为”可以选这两种格式）")
    data = stream.read(max_bytes + 1)
    if not data:
        raise ValidationFailed("文件是空的，请重新选择")
    if len(data) > max_bytes:
        raise ValidationFailed(f"文件超过 {max_bytes // (1024 * 1024)} MB，请分成几个文件导入")
    return data


_EXCEL_EPOCH = date(1899, 12, 30)
_DATE_TEXT = re.compile(r"^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?$")
_SCIENTIFIC = re.compile(r"^\d(\.\d+)?E\+?\d+$", re.IGNORECASE)


def cell_date(value: object) -> date | None:
    """A date from a cell: a date/datetime, an Excel serial number, or text such as
    ``2026-12-07``, ``2026/12/7``, ``2026.12.7`` or ``2026年12月7日`` (full-width digits too).

    Returns None for an empty cell; raises ``ValueError`` with a Chinese reason otherwise.
    """
    if value is None or (isinstance(value, str) and not clean(value)):
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if 20000 <= value <= 80000:  # 1954 … 2119 as Excel day numbers
            return _EXCEL_EPOCH + timedelta(days=int(value))
        raise ValueError(f"“{value}”不是日期，请写成如 2026-12-07")
    text = re.sub(r"\s+\d{1,2}:\d{2}(:\d{2})?$", "", to_halfwidth(clean(value)))
    match = _DATE_TEXT.match(text)
    if not match:
        raise ValueError(f"“{clean(value)}”不是日期，请写成如 2026-12-07")
    try:
        return date(*(int(g) for g in match.groups()))
    except ValueError:
        raise ValueError(f"日期“{clean(value)}”不存在") from None


def cell_int(value: object) -> int | None:
    """A whole number from a cell (``40``, ``40.0``, ``"４０"``, ``"40人"``, ``"1,200"``).

    Returns None for an empty cell; raises ``ValueError`` with a Chinese reason for text that is
    not a whole number.
    """
    if value is None or (isinstance(value, str) and not clean(value)):
        return None
    if isinstance(value, bool):
        raise ValueError("应填写整数")
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        if value.is_integer():
            return int(value)
        raise ValueError(f"“{value}”不是整数")
    text = to_halfwidth(clean(value)).replace(",", "").replace(" ", "")
    text = re.sub(r"(人|个|课时|学时|小时|名)$", "", text)
    if re.fullmatch(r"-?\d+(\.0+)?", text):
        return int(Decimal(text))
    raise ValueError(f"“{clean(value)}”不是整数")


def cell_decimal(value: object, *, zero_words: tuple[str, ...] = ("免费", "无", "0元")) -> Decimal | None:
    """An amount (yuan) from a cell as ``Decimal`` (never float): ``1200``, ``1,200.50``, ``"1200元"``,
    ``"￥1200"``; ``zero_words`` such as 免费 mean 0.

    Floats from Excel cells are converted through their shortest text form (``0.1`` → ``0.1``).
    Returns None for an empty cell; raises ``ValueError`` with a Chinese reason otherwise.
    """
    if value is None or (isinstance(value, str) and not clean(value)):
        return None
    if isinstance(value, bool):
        raise ValueError("应填写金额")
    if isinstance(value, (int, float)):
        return Decimal(repr(value)) if isinstance(value, float) else Decimal(value)
    text = to_halfwidth(clean(value)).replace(",", "").replace(" ", "")
    if text in zero_words:
        return Decimal("0")
    text = text.lstrip("¥￥").removesuffix("元")  # noqa: RUF001 - both yen signs occur
    try:
        amount = Decimal(text)
    except InvalidOperation:
        raise ValueError(f"“{clean(value)}”不是金额，请只填数字（元）") from None
    if not amount.is_finite():
        raise ValueError(f"“{clean(value)}”不是金额，请只填数字（元）")
    return amount


def looks_scientific(value: object) -> bool:
    """True for text such as ``3.60722E+17``: a long number that Excel showed in scientific
    notation and saved that way into a CSV, losing its last digits."""
    return isinstance(value, str) and bool(_SCIENTIFIC.match(to_halfwidth(clean(value)).replace(" ", "")))


# --- import reports -------------------------------------------------------------------------


@dataclass
class ImportReport:
    """What an import did — or, in a dry run, would do — row by row.

    ``counts`` maps a key (``created``, ``enrolled`` …) to a number; ``labels`` gives each key
    its Chinese label (marked with ``N_`` so templates translate them) in display order.
    ``errors`` are problems that keep a row out (row + column + reason); ``warnings`` are
    problems that let the row in but need a look (a teacher not found, no cohort to join);
    ``notes`` are facts worth knowing (already enrolled, left as it was).

    All-or-nothing: with any error and ``skip_invalid`` off nothing is written. ``written``
    says whether the import wrote to the session (the caller then commits once).
    """

    filename: str
    labels: dict[str, str]
    rows: int = 0
    dry_run: bool = False
    skip_invalid: bool = False
    written: bool = False
    counts: dict[str, int] = field(default_factory=dict)
    errors: list[RowError] = field(default_factory=list)
    warnings: list[RowError] = field(default_factory=list)
    notes: list[RowError] = field(default_factory=list)

    def add(self, key: str, n: int = 1) -> None:
        """Add ``n`` to the count ``key``."""
        self.counts[key] = self.counts.get(key, 0) + n

    @property
    def invalid_rows(self) -> list[int]:
        """Row numbers with at least one error, in order."""
        return sorted({e.row for e in self.errors})

    @property
    def valid_rows(self) -> int:
        return self.rows - len(self.invalid_rows)

    @property
    def blocked(self) -> bool:
        """True when errors keep the whole file out (all-or-nothing, or no valid row to keep)."""
        return bool(self.errors) and (not self.skip_invalid or self.valid_rows == 0)

    @property
    def outcome(self) -> str:
        """``refused`` (errors, nothing written), ``checked`` (dry run without errors),
        ``checked_with_errors``, ``partial`` (valid rows written, the rest skipped) or ``done``."""
        if self.dry_run:
            return "checked_with_errors" if self.errors else "checked"
        if self.blocked or not self.written:
            return "refused"
        return "partial" if self.errors else "done"

    @property
    def exit_code(self) -> int:
        """For the CLI: 1 when errors keep the file out (nothing was or would be written), else 0."""
        return 1 if self.blocked else 0

    @staticmethod
    def grouped(items: list[RowError]) -> list[tuple[list[int], str, str]]:
        """``(rows, column, message)`` with the rows that share a column and a message put
        together (321 rows naming the same unknown course become one line), ordered by their
        first row; every row is kept."""
        groups: dict[tuple[str, str], list[int]] = {}
        for item in items:
            groups.setdefault((item.column, item.message), []).append(item.row)
        return sorted(((sorted(rows), column, message) for (column, message), rows in groups.items()),
                      key=lambda group: group[0][0])

    def summary(self) -> list[tuple[str, int]]:
        """``(label, number)`` pairs in display order, every label listed (zeros too)."""
        return [(label, self.counts.get(key, 0)) for key, label in self.labels.items()]

    def headline(self) -> str:
        """One plain Chinese sentence for the CLI (templates word it themselves, translated)."""
        problems = len(self.errors)
        return {
            "refused": f"没有导入：发现 {problems} 处问题（{len(self.invalid_rows)} 行）。请改正后重新导入，"
                       "或选择“跳过有问题的行”只导入正确的行。",
            "checked": f"检查通过：{self.rows} 行都可以导入（只检查，没有写入）。",
            "checked_with_errors": f"检查发现 {problems} 处问题（{len(self.invalid_rows)} 行）；只检查，没有写入。",
            "partial": f"已导入 {self.valid_rows} 行，跳过有问题的 {len(self.invalid_rows)} 行。",
            "done": f"导入完成：共 {self.rows} 行。",
        }[self.outcome]

    def lines(self) -> list[str]:
        """The whole report as plain text lines (for the CLI): problems, warnings, notes, summary."""
        out = [f"第{e.row}行，{e.column}：{e.message}" for e in self.errors]
        out += [f"提醒 第{e.row}行，{e.column}：{e.message}" for e in self.warnings]
        out += [f"说明 第{e.row}行，{e.column}：{e.message}" for e in self.notes]
        prefix = "（预演）" if self.dry_run else ""
        out.append(prefix + " · ".join(f"{label} {n}" for label, n in self.summary()))
        out.append(self.headline())
        return out


def row_problem(row: int, column: str, message: str) -> RowError:
    """A ``RowError`` whose message does not repeat the column name
    (``身份证号：身份证号校验位不正确`` → ``身份证号：校验位不正确``)."""
    for prefix in (column, normalise_header(column)):
        if prefix and message.startswith(prefix) and len(message) > len(prefix):
            message = message[len(prefix):].lstrip("：:，, ")
            break
    return RowError(row, column, message)
