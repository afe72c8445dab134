"""The report as .xlsx sheets and as text lines (the exports and the CLI read the same ``Report``)."""

from __future__ import annotations

from collections.abc import Iterable

from academy.reports.queries import DIMENSIONS
from academy.reports.services import FIGURES, Figures, Report, ReportError

# Sheet names (Excel refuses / \\ ? * [ ] : in them).
TABLES = {"summary": "汇总", "trends": "按月趋势", "district": "按县（市、区）", "occupation_group": "按从业类型",
          "platform": "按平台（企业）", "course": "按课程"}
BREAKDOWN_HEADERS = ["培训人数", "发放证书", "登记等级证书", "学历提升在读", "出勤率", "出勤人次", "应出勤人次",
                     "考核合格率", "合格人数", "有结果人数", "竞赛参赛人次"]


def _breakdown_cells(fig: Figures) -> list:
    def n(value):
        return "—" if value is None else value

    return [fig.learners_trained, fig.certificates_issued, n(fig.level_certificates), n(fig.upgrading),
            fig.attendance_text, fig.attended, fig.held, fig.pass_text, fig.passed, fig.with_result, n(fig.entrants)]


def report_sheets(report: Report, tables: Iterable[str] | None = None) -> list[tuple[str, list[str], list[list]]]:
    """The report's tables as ``build_xlsx`` sheets: ``summary`` (figure, value, definition, period
    and filters), ``trends`` and one per breakdown dimension; ``tables`` picks some (default all).
    Raises ``ReportError`` for an unknown table name."""
    tables = list(tables or TABLES)
    unknown = [t for t in tables if t not in TABLES]
    if unknown:
        raise ReportError(f"没有这个报表：{'、'.join(unknown)}")
    sheets = []
    for table in tables:
        if table == "summary":
            rows = [[label, report.figures.display(key), definition] for key, (label, definition) in FIGURES.items()]
            rows += [["统计期间", f"{report.filters.date_from} 至 {report.filters.date_to}", "北京时间，含首尾两天"]]
            rows += [[f"筛选：{label}", value, ""] for label, value in report.filter_labels]
            sheets.append((TABLES[table], ["指标", "数值", "口径"], rows))
        elif table == "trends":
            rows = [[p.month, p.enrolments, p.certificates, p.check_ins] for p in report.trends]
            sheets.append((TABLES[table], ["月份", "报名（已报名）", "发放证书", "出勤人次（出勤＋迟到）"], rows))
        else:
            rows = [[row.label, *_breakdown_cells(row.figures)] for row in report.breakdowns[table]]
            rows.append(["合计", *_breakdown_cells(report.figures)])
            sheets.append((TABLES[table], [DIMENSIONS[table], *BREAKDOWN_HEADERS], rows))
    return sheets


def summary_lines(report: Report) -> list[str]:
    """The headline figures as text lines ("培训人数\t12"), after the period and the filters."""
    lines = [f"统计期间\t{report.filters.date_from} 至 {report.filters.date_to}"]
    lines += [f"筛选：{label}\t{value}" for label, value in report.filter_labels]
    fig = report.figures
    for key, (label, _definition) in FIGURES.items():
        extra = ""
        if key == "attendance_rate":
            extra = f"（{fig.attended}/{fig.held}）"
        elif key == "pass_rate":
            extra = f"（{fig.passed}/{fig.with_result}）"
        lines.append(f"{label}\t{fig.display(key)}{extra}")
    return lines
