"""Exam pages: assessments, gradebook, import, publication, history, resits for the cohort's
instructors and admins; "我的成绩" for learners (published results only)."""

from __future__ import annotations

from decimal import Decimal

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from academy.accounts.models import User
from academy.accounts.permissions import admin_required, login_required, require_cohort_staff, staff_required
from academy.audit.services import record
from academy.catalogue.models import Cohort
from academy.common.spreadsheets import XLSX_MIMETYPE, build_xlsx
from academy.errors import DomainError, ValidationFailed
from academy.exams import importer, services, stats
from academy.exams.forms import (
    AssessmentForm,
    EligibilityForm,
    GradebookForm,
    PublishForm,
    ResitForm,
    ScoreImportForm,
    UnpublishForm,
    read_cells,
)
from academy.exams.models import Assessment
from academy.exams.scoring import ABSENT_TEXT, format_score
from academy.extensions import db

bp = Blueprint("exams", __name__, url_prefix="/exams")


@bp.app_template_filter("score")
def score_filter(value) -> str:
    """Show a Decimal score or a Mark: 88 / 88.5 / 缺考; None → ""."""
    if value is None:
        return ""
    return format_score(value) if isinstance(value, Decimal) else str(value)


def _cohort(cohort_id: int) -> Cohort:
    cohort = db.session.get(Cohort, cohort_id) or abort(404)
    require_cohort_staff(current_user, cohort)
    return cohort


def _assessment(assessment_id: int) -> Assessment:
    assessment = db.session.get(Assessment, assessment_id) or abort(404)
    require_cohort_staff(current_user, assessment.cohort)
    return assessment


@bp.get("/cohorts/<int:cohort_id>")
@staff_required
def cohort_assessments(cohort_id: int):
    """The cohort's assessments (the original and its resits) with their publication state."""
    cohort = _cohort(cohort_id)
    assessments = services.cohort_assessments(cohort)
    return render_template("exams/cohort_assessments.html", cohort=cohort, assessments=assessments,
                           counts=services.mark_counts(assessments))


@bp.route("/cohorts/<int:cohort_id>/new", methods=["GET", "POST"])
@staff_required
def new_assessment(cohort_id: int):
    """Create the cohort's 结业考核 (default components 理论知识 and 操作技能)."""
    cohort = _cohort(cohort_id)
    form = AssessmentForm()
    if request.method == "GET":
        form.fill_defaults()
    elif form.validate_on_submit():
        try:
            assessment = services.create_assessment(cohort, form.to_settings(), actor=current_user)
        except DomainError as exc:
            db.session.rollback()
            form.form_errors.append(str(exc))
        else:
            db.session.commit()
            flash(_("考核已创建，可以录入成绩了"), "success")
            return redirect(url_for("exams.gradebook", assessment_id=assessment.id))
    return render_template("exams/edit_assessment.html", form=form, cohort=cohort, assessment=None)


@bp.route("/<int:assessment_id>/settings", methods=["GET", "POST"])
@staff_required
def edit_assessment(assessment_id: int):
    """Change an unpublished assessment's components, pass rule and attempt policy."""
    assessment = _assessment(assessment_id)
    form = AssessmentForm(obj=assessment if request.method == "GET" else None)
    if request.method == "GET":
        form.fill_defaults(assessment)
    elif form.validate_on_submit():
        try:
            services.update_assessment(assessment, form.to_settings(), actor=current_user)
        except DomainError as exc:
            db.session.rollback()
            form.form_errors.append(str(exc))
        else:
            db.session.commit()
            flash(_("考核设置已保存"), "success")
            return redirect(url_for("exams.assessment", assessment_id=assessment.id))
    return render_template("exams/edit_assessment.html", form=form, cohort=assessment.cohort, assessment=assessment)


@bp.get("/<int:assessment_id>")
@staff_required
def assessment(assessment_id: int):
    """One assessment: state, statistics with histograms, publication, resits and tools."""
    assessment = _assessment(assessment_id)
    rows = services.gradebook(assessment)
    summary = stats.statistics(assessment, rows)
    chain = services.cohort_assessments(assessment.cohort)
    return render_template("exams/assessment.html", assessment=assessment, stats=summary, chain=chain,
                           publish_form=PublishForm(), unpublish_form=UnpublishForm(),
                           log=services.publication_log(assessment),
                           has_candidates=assessment.is_published and bool(services.resit_candidates(assessment)))


def _render_gradebook(assessment: Assessment, form: GradebookForm, *, entered=None, shown=None, errors=None,
                      conflicts=frozenset()):
    order = request.args.get("order", "roster")
    rows = services.gradebook(assessment, order=order)
    return render_template("exams/gradebook.html", assessment=assessment, rows=rows, form=form, order=order,
                           entered=entered or {}, shown=shown or {}, errors=errors or {}, conflicts=conflicts,
                           absent_text=ABSENT_TEXT)


@bp.get("/<int:assessment_id>/gradebook")
@staff_required
def gradebook(assessment_id: int):
    """The sheet: every learner with an input per component (Tab/Enter go down the column)."""
    return _render_gradebook(_assessment(assessment_id), GradebookForm())


@bp.post("/<int:assessment_id>/gradebook")
@staff_required
def save_gradebook(assessment_id: int):
    """Save the whole sheet in one request; any wrong cell keeps everything as typed, nothing saved."""
    assessment = _assessment(assessment_id)
    form = GradebookForm()
    entered, shown = read_cells(request.form)
    if not form.validate_on_submit():
        return _render_gradebook(assessment, form, entered=entered, shown=shown)
    try:
        changed = services.record_scores(assessment, entered, shown=shown, actor=current_user,
                                         reason=form.reason.data)
    except services.SheetInvalid as exc:  # the sheet shows the count and each cell's reason
        db.session.rollback()
        return _render_gradebook(assessment, form, entered=entered, shown=shown, errors=exc.cells,
                                 conflicts=exc.conflicts)
    except DomainError as exc:
        db.session.rollback()
        form.reason.errors = [*form.reason.errors, str(exc)]
        return _render_gradebook(assessment, form, entered=entered, shown=shown)
    db.session.commit()
    flash(_("已保存，%(n)s 个成绩有变动", n=changed), "success")
    return redirect(url_for("exams.gradebook", assessment_id=assessment.id, order=request.args.get("order")))


@bp.post("/<int:assessment_id>/publish")
@staff_required
def publish(assessment_id: int):
    """Publish the results to the learners (manual; logged)."""
    assessment = _assessment(assessment_id)
    form = PublishForm()
    if form.validate_on_submit():
        try:
            services.publish(assessment, actor=current_user, allow_incomplete=form.allow_incomplete.data)
        except DomainError as exc:
            db.session.rollback()
            flash(str(exc), "error")
        else:
            db.session.commit()
            flash(_("成绩已发布，学员现在可以在“我的成绩”里看到"), "success")
    return redirect(url_for("exams.assessment", assessment_id=assessment.id))


@bp.post("/<int:assessment_id>/unpublish")
@staff_required
def unpublish(assessment_id: int):
    """Withdraw published results with a reason (logged)."""
    assessment = _assessment(assessment_id)
    form = UnpublishForm()
    if form.validate_on_submit():
        try:
            services.unpublish(assessment, form.reason.data, actor=current_user)
        except DomainError as exc:
            db.session.rollback()
            flash(str(exc), "error")
        else:
            db.session.commit()
            flash(_("已撤回发布，学员暂时看不到这次成绩"), "info")
    else:
        flash(_("请填写撤回原因"), "error")
    return redirect(url_for("exams.assessment", assessment_id=assessment.id))


@bp.get("/<int:assessment_id>/history")
@staff_required
def history(assessment_id: int):
    """The append-only history of marks (who, when, old → new, why) and of publication."""
    assessment = _assessment(assessment_id)
    learner_id = request.args.get("learner", type=int)
    return render_template("exams/history.html", assessment=assessment, learner_id=learner_id,
                           changes=services.history(assessment, learner_id=learner_id),
                           log=services.publication_log(assessment))


@bp.get("/<int:assessment_id>/results.xlsx")
@staff_required
def export(assessment_id: int):
    """Export the results as .xlsx; names and IDs masked unless ``full=1`` (admins, audited)."""
    assessment = _assessment(assessment_id)
    full = request.args.get("full") == "1" and current_user.is_admin
    if full:
        record("personal_data.unmasked", actor=current_user, obj=assessment, what="exam_results_export")
        db.session.commit()
    headers, data = stats.results_table(assessment, services.gradebook(assessment), full=full)
    body = build_xlsx([("成绩", headers, data)], text_columns=("身份证号",))
    return Response(body, mimetype=XLSX_MIMETYPE, headers={
        "Content-Disposition": f"attachment; filename=results-{assessment.cohort.code}-{assessment.id}.xlsx"})


@bp.route("/<int:assessment_id>/import", methods=["GET", "POST"])
@staff_required
def import_scores(assessment_id: int):
    """Upload a score sheet (.xlsx/.csv); all or nothing, with a per-row report of problems."""
    assessment = _assessment(assessment_id)
    form, problems = ScoreImportForm(), None
    if form.validate_on_submit():
        upload = form.file.data
        try:
            report = importer.import_scores(assessment, upload.stream, filename=upload.filename or "",
                                            actor=current_user, reason=form.reason.data)
        except ValidationFailed as exc:
            db.session.rollback()
            problems = exc
        except DomainError as exc:
            db.session.rollback()
            form.reason.errors = [str(exc)]
        else:
            db.session.commit()
            flash(_("已导入：%(rows)s 行，%(n)s 个成绩有变动", rows=report.rows, n=report.changed), "success")
            if report.missing:
                flash(_("文件中没有这些学员：%(names)s", names="、".join(report.missing)), "warning")
            return redirect(url_for("exams.gradebook", assessment_id=assessment.id))
    return render_template("exams/import.html", assessment=assessment, form=form, problems=problems)


@bp.route("/<int:assessment_id>/resit", methods=["GET", "POST"])
@staff_required
def resit(assessment_id: int):
    """Give failed learners a new attempt (补考): choose them, then record marks in the resit's sheet."""
    assessment = _assessment(assessment_id)
    form = ResitForm()
    if form.validate_on_submit():
        try:
            resit = services.arrange_resit(assessment, request.form.getlist("learner", type=int),
                                           actor=current_user, held_on=form.held_on.data, title=form.title.data)
        except DomainError as exc:
            db.session.rollback()
            flash(str(exc), "error")
        else:
            db.session.commit()
            flash(_("已安排补考"), "success")
            return redirect(url_for("exams.gradebook", assessment_id=resit.id))
    return render_template("exams/resit.html", assessment=assessment, form=form,
                           candidates=services.resit_candidates(assessment))


@bp.route("/cohorts/<int:cohort_id>/eligibility/<int:learner_id>", methods=["GET", "POST"])
@admin_required
def eligibility(cohort_id: int, learner_id: int):
    """An administrator lets a learner below the attendance threshold sit the assessment (reason kept)."""
    cohort = _cohort(cohort_id)
    learner = db.session.get(User, learner_id) or abort(404)
    form = EligibilityForm()
    if form.validate_on_submit():
        try:
            services.override_eligibility(cohort, learner, form.reason.data, actor=current_user)
        except DomainError as exc:
            db.session.rollback()
            form.reason.errors = [str(exc)]
        else:
            db.session.commit()
            flash(_("已特批考试资格"), "success")
            return redirect(url_for("exams.cohort_assessments", cohort_id=cohort.id))
    state = services.eligibility(cohort, [learner.id]).get(learner.id)
    return render_template("exams/eligibility.html", cohort=cohort, learner=learner, form=form, state=state)


@bp.get("/my")
@login_required
def my_results():
    """"我的成绩": the signed-in learner's PUBLISHED results, per cohort and attempt."""
    return render_template("exams/my_results.html", groups=services.learner_results(current_user))
