"""The audit log for administrators: filter and export."""

from __future__ import annotations

import json
from datetime import date

from flask import Blueprint, Response, render_template, request

from academy.accounts.permissions import admin_required
from academy.audit.queries import ACTION_GROUPS, AuditFilter, action_label
from academy.common.masking import mask_name, mask_phone
from academy.common.spreadsheets import XLSX_MIMETYPE, build_xlsx
from academy.common.timeutil import format_local
from academy.extensions import db

bp = Blueprint("audit", __name__, url_prefix="/audit")
bp.add_app_template_filter(action_label, "action_label")


def _filter_from_request() -> AuditFilter:
    def day(name: str) -> date | None:
        try:
            return date.fromisoformat(request.args.get(name, ""))
        except ValueError:
            return None

    group = request.args.get("group", "")
    return AuditFilter(group=group if group in ACTION_GROUPS else "", actor=request.args.get("actor", "").strip(),
                       date_from=day("from"), date_to=day("to"))


@bp.get("/")
@admin_required
def index():
    """Security- and data-relevant events, newest first, filterable by kind, person and dates."""
    filters = _filter_from_request()
    page = max(request.args.get("page", 1, type=int), 1)
    pagination = db.paginate(filters.statement(), page=page, per_page=50, error_out=False)
    args = {k: v for k, v in request.args.items() if k != "page"}
    return render_template("audit/index.html", pagination=pagination, groups=ACTION_GROUPS, filters=filters,
                           args=args)


@bp.get("/export.xlsx")
@admin_required
def export():
    """The filtered audit log as .xlsx (at most 100,000 rows)."""
    filters = _filter_from_request()
    events = db.session.scalars(filters.statement().limit(100_000)).unique().all()
    data = [[format_local(e.at, "%Y-%m-%d %H:%M:%S"), e.action, mask_name(e.actor.name) if e.actor else "",
             mask_phone(e.actor.mobile) if e.actor else "", e.object_type or "", e.object_id or "",
             json.dumps(e.details or {}, ensure_ascii=False), e.ip or "", action_label(e.action)] for e in events]
    body = build_xlsx([("审计日志", ["时间", "操作", "操作人", "手机号", "对象", "对象编号", "详情", "IP", "说明"], data)],
                      text_columns=("手机号",))
    return Response(body, mimetype=XLSX_MIMETYPE, headers={"Content-Disposition": "attachment; filename=audit-log.xlsx"})
