"""Writing .xlsx exports (openpyxl).

Exports write identity numbers and phone numbers as text (never as numbers, which Excel
would round to 3.60702E+17) and neutralise cells starting with ``= + - @`` (and tab/CR) so
that a name such as ``=HYPERLINK(…)`` is shown, never executed (CSV/formula injection, OWASP).
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Sequence

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter

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
