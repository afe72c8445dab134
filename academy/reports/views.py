"""The administrators' dashboard and its .xlsx exports (HTTP only; figures in services.py)."""

from __future__ import annotations

from flask import Blueprint, Response, abort, flash, render_template, request

from academy.accounts.permissions import admin_required
from academy.common.spreadsheets import XLSX_MIMETYPE, build_xlsx
from academy.common.timeutil import now_utc
from academy.reports import charts, exports, services
from academy.reports.forms import ReportFilterForm

bp = Blueprint("reports", __name__, url_prefix="/reports")


def _fresh() -> bool:
    """``?fresh=1`` (the 重新统计 button): recompute instead of using the ten-minute copy."""
    return request.args.get("fresh") == "1"


def _filters() -> tuple[ReportFilterForm, services.ReportFilter]:
    """The filter form bound to the query string, and the filters it gives (defaults on error)."""
    form = ReportFilterForm(request.args)
    form.fill_choices(services.filter_choices(fresh=_fresh()))
    form.validate()
    try:
        filters = services.report_filter(
            date_from=form.date_from.data, date_to=form.date_to.data, now=now_utc(), course_id=form.course_id(),
            occupation=form.occupation.data, district=form.district.data,
            occupation_group=form.occupation_group.data, platform=form.platform.data)
    except services.ReportError as exc:
        flash(str(exc), "error")
        filters = services.report_filter(now=now_utc())
    return form, filters


@bp.get("/")
@admin_required
def dashboard():
    """Headline figures, monthly trends (SVG) and breakdowns for the chosen period and filters."""
    form, filters = _filters()
    report, computed_at = services.cached_report(filters, now=now_utc(), fresh=_fresh())
    return render_template("reports/dashboard.html", form=form, report=report, args=filters.as_dict(),
                           computed_at=computed_at, cache_minutes=services.REPORT_CACHE_SECONDS // 60,
                           charts=charts.trend_charts(report.trends), figures=services.FIGURES,
                           dimensions=services.DIMENSIONS, tables=exports.TABLES)


@bp.get("/export/<table>.xlsx")
@admin_required
def export(table: str):
    """One table of the report (or ``all`` of them, one sheet each) as .xlsx, same filters as the page."""
    if table != "all" and table not in exports.TABLES:
        abort(404)
    _form, filters = _filters()
    report, _computed_at = services.cached_report(filters, now=now_utc(), fresh=_fresh())
    body = build_xlsx(exports.report_sheets(report, None if table == "all" else [table]))
    name = f"report-{table}-{filters.date_from:%Y%m%d}-{filters.date_to:%Y%m%d}.xlsx"
    return Response(body, mimetype=XLSX_MIMETYPE, headers={"Content-Disposition": f"attachment; filename={name}"})
