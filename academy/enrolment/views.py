"""Enrolment pages: enrol, withdraw, my courses; class lists, approvals, seats for staff."""

from __future__ import annotations

from urllib.parse import quote

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from academy.accounts.permissions import (
    admin_required,
    login_required,
    require_cohort_staff,
    require_owner,
    staff_required,
)
from academy.audit.services import record
from academy.catalogue.models import Cohort
from academy.common.masking import mask_id_number, mask_name, mask_phone
from academy.common.spreadsheets import XLSX_MIMETYPE, build_xlsx, read_upload
from academy.common.timeutil import format_local
from academy.enrolment import roster, services
from academy.enrolment.forms import ActionForm, CapacityForm, DecisionForm, RemovalForm, RosterUploadForm
from academy.enrolment.models import Enrolment, EnrolmentStatus
from academy.errors import DomainError
from academy.extensions import db

bp = Blueprint("enrolment", __name__, url_prefix="/enrolment")


def _cohort_or_404(cohort_id: int) -> Cohort:
    return db.session.get(Cohort, cohort_id) or abort(404)


@bp.post("/cohorts/<int:cohort_id>/enrol")
@login_required
def enrol(cohort_id: int):
    """The signed-in learner applies for a cohort: a seat, a pending approval or the waitlist."""
    cohort = _cohort_or_404(cohort_id)
    if ActionForm().validate_on_submit():
        try:
            enrolment = services.enrol(current_user, cohort)
        except DomainError as exc:
            db.session.rollback()
            flash(str(exc), "error")
        else:
            db.session.commit()
            messages = {
                EnrolmentStatus.ENROLLED: (_("报名成功！开课前会在“我的课程”里看到上课安排。"), "success"),
                EnrolmentStatus.PENDING: (_("已提交报名，学院审核后会通知您。"), "success"),
                EnrolmentStatus.WAITLISTED: (_("名额已满，您已进入候补，有空位会自动为您补上。"), "info"),
            }
            flash(*messages[EnrolmentStatus(enrolment.status)])
    return redirect(url_for("catalogue.cohort", code=cohort.code))


@bp.post("/<int:enrolment_id>/withdraw")
@login_required
def withdraw(enrolment_id: int):
    """The learner withdraws their own application (another learner's id gives 404)."""
    enrolment = db.session.get(Enrolment, enrolment_id) or abort(404)
    if not current_user.is_admin:
        require_owner(current_user, enrolment.learner_id)
    if ActionForm().validate_on_submit():
        try:
            services.withdraw(enrolment, actor=current_user)
        except DomainError as exc:
            db.session.rollback()
            flash(str(exc), "error")
        else:
            db.session.commit()
            flash(_("已退出报名"), "info")
    return redirect(request.form.get("back") == "cohort" and url_for("catalogue.cohort", code=enrolment.cohort.code)
                    or url_for("enrolment.my_courses"))


@bp.get("/my")
@login_required
def my_courses():
    """The learner's own applications: seats, pending approvals, waitlist places."""
    enrolments = services.list_for_learner(current_user)
    positions = {e.id: services.waitlist_position(e) for e in enrolments
                 if e.status == EnrolmentStatus.WAITLISTED}
    return render_template("enrolment/my_courses.html", enrolments=enrolments, positions=positions,
                           form=ActionForm())


@bp.get("/cohorts/<int:cohort_id>/class-list")
@staff_required
def class_list(cohort_id: int):
    """The cohort's class list for its instructors and admins (personal data masked)."""
    cohort = _cohort_or_404(cohort_id)
    require_cohort_staff(current_user, cohort)
    rows = services.class_list(cohort)
    positions = {e.id: i for i, e in enumerate((r for r in rows if not r.holds_seat), start=1)}
    return render_template("enrolment/class_list.html", cohort=cohort, rows=rows, positions=positions,
                           decision_form=DecisionForm(), removal_form=RemovalForm(),
                           capacity_form=CapacityForm(capacity=cohort.capacity))


@bp.get("/cohorts/<int:cohort_id>/class-list.xlsx")
@staff_required
def class_list_xlsx(cohort_id: int):
    """Export the class list as .xlsx; IDs and phones are text and masked unless ``full=1`` (admins, audited)."""
    cohort = _cohort_or_404(cohort_id)
    require_cohort_staff(current_user, cohort)
    full = request.args.get("full") == "1" and current_user.is_admin
    if full:
        record("personal_data.unmasked", actor=current_user, obj=cohort, what="class_list_export")
        db.session.commit()
    rows = services.class_list(cohort)
    headers = ["序号", "姓名", "性别", "身份证号", "手机号", "所在县（市、区）", "从业类型", "所属平台/企业", "状态",
               "报名时间"]
    data = []
    for i, e in enumerate(rows, start=1):
        p = e.learner
        data.append([
            i, p.name if full else mask_name(p.name), p.gender or "",
            (p.id_number if full else mask_id_number(p.id_number)) or "",
            p.mobile if full else mask_phone(p.mobile), p.district or "", p.occupation_group or "",
            p.platform or "", e.status_label, format_local(e.applied_at),
        ])
    body = build_xlsx([("班级名单", headers, data)], text_columns=("身份证号", "手机号"))
    filename = quote(f"class-list-{cohort.code}.xlsx")
    return Response(body, mimetype=XLSX_MIMETYPE,
                    headers={"Content-Disposition": f"attachment; filename*=UTF-8''{filename}"})


@bp.get("/pending")
@admin_required
def pending():
    """Applications waiting for an administrator's decision, oldest first."""
    rows = db.session.scalars(
        select(Enrolment).where(Enrolment.status == EnrolmentStatus.PENDING).order_by(Enrolment.applied_at)
    ).all()
    return render_template("enrolment/pending.html", rows=rows, form=DecisionForm())


@bp.post("/<int:enrolment_id>/decide")
@admin_required
def decide(enrolment_id: int):
    """Approve (``approve=1``) or reject a pending application with a reason."""
    enrolment = db.session.get(Enrolment, enrolment_id) or abort(404)
    form = DecisionForm()
    if form.validate_on_submit():
        approve = request.form.get("approve") == "1"
        try:
            services.decide(enrolment, approve, form.reason.data or "", actor=current_user)
        except DomainError as exc:
            db.session.rollback()
            flash(str(exc), "error")
        else:
            db.session.commit()
            flash(_("已通过") if approve else _("已拒绝"), "success")
    return redirect(request.referrer if request.referrer and request.referrer.startswith(request.host_url)
                    else url_for("enrolment.pending"))


@bp.post("/<int:enrolment_id>/remove")
@admin_required
def remove(enrolment_id: int):
    """Remove a learner from a cohort with a reason; the seat goes to the waitlist."""
    enrolment = db.session.get(Enrolment, enrolment_id) or abort(404)
    form = RemovalForm()
    if form.validate_on_submit():
        try:
            promoted = services.remove(enrolment, form.reason.data, actor=current_user)
        except DomainError as exc:
            db.session.rollback()
            flash(str(exc), "error")
        else:
            db.session.commit()
            flash(_("已移出；候补补上 %(n)s 人", n=len(promoted)), "success")
    else:
        flash(_("请填写移出原因"), "error")
    return redirect(url_for("enrolment.class_list", cohort_id=enrolment.cohort_id))


@bp.post("/cohorts/<int:cohort_id>/capacity")
@admin_required
def change_capacity(cohort_id: int):
    """Change the number of seats; added seats are filled from the waitlist at once."""
    cohort = _cohort_or_404(cohort_id)
    form = CapacityForm()
    if form.validate_on_submit():
        try:
            promoted = services.change_capacity(cohort, form.capacity.data, actor=current_user)
        except DomainError as exc:
            db.session.rollback()
            flash(str(exc), "error")
        else:
            db.session.commit()
            flash(_("名额已改为 %(cap)s；候补补上 %(n)s 人", cap=cohort.capacity, n=len(promoted)), "success")
    else:
        for error in form.capacity.errors:
            flash(str(error), "error")
    return redirect(url_for("enrolment.class_list", cohort_id=cohort.id))


# --- roster import ---------------------------------------------------------------------

@bp.route("/import", methods=["GET", "POST"])
@admin_required
def import_roster():
    """Upload a learner roster (.xlsx/.csv): learners upserted by ID number and enrolled (the
    cohort code given, or each row's 报名课程); every row checked and reported; all-or-nothing
    unless "skip invalid rows" is ticked; "check only" writes nothing. The file is read from
    the request and dropped (never kept in the session or on disk)."""
    form = RosterUploadForm()
    report = None
    if form.validate_on_submit():
        upload = form.file.data
        try:
            data = read_upload(upload.stream, upload.filename)
            report = roster.import_roster(data, filename=upload.filename, actor=current_user,
                                          cohort_code=form.cohort_code.data, dry_run=form.dry_run.data,
                                          skip_invalid=form.skip_invalid.data)
        except DomainError as exc:
            db.session.rollback()
            form.file.errors = [*form.file.errors, str(exc)]
        else:
            if report.written:
                db.session.commit()
            else:  # refused or a dry run: nothing to keep
                db.session.rollback()
    return render_template("enrolment/import_roster.html", form=form, report=report)
