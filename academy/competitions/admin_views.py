"""Administrators' competition pages: editions, events, registrations, imports, the marking
scheme, judges, the draw, check-in, results, publication, export and certificates.

Routes are added to the blueprint of ``views.py``. Administrators see contestants' names
(their role needs them); ID numbers stay masked on lists and exports unless asked (audited).
"""

from __future__ import annotations

from flask import Response, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from academy.accounts.models import User
from academy.accounts.permissions import admin_required
from academy.audit.services import record
from academy.common.spreadsheets import XLSX_MIMETYPE
from academy.competitions import imports, judging, marking, registration, results, services
from academy.competitions.forms import (
    ActionForm,
    AdminRecusalForm,
    AspectForm,
    CheckInForm,
    DrawForm,
    EditionForm,
    EventForm,
    JudgeAssignForm,
    ReasonForm,
    RegistrationImportForm,
    ScoreImportForm,
    StatusForm,
    event_form_input,
    load_event_form,
    set_tie_break_choices,
)
from academy.competitions.models import (
    Aspect,
    ComponentSource,
    Edition,
    Entry,
    EntryStatus,
    Event,
    EventJudge,
    plain_decimal,
)
from academy.competitions.views import bp
from academy.errors import DomainError, ValidationFailed
from academy.extensions import db


def _event(event_id: int) -> Event:
    return db.session.get(Event, event_id) or abort(404)


def _back(event: Event, endpoint: str = "competitions.manage_event"):
    return redirect(url_for(endpoint, event_id=event.id))


def _run(action, success: str, category: str = "success") -> bool:
    """Call ``action()``; commit and flash ``success``, or roll back and flash the refusal."""
    try:
        action()
    except DomainError as exc:
        db.session.rollback()
        flash(str(exc), "error")
        for item in getattr(exc, "errors", [])[:30]:
            flash(str(item), "error")
        return False
    db.session.commit()
    flash(success, category)
    return True


# --- editions and events --------------------------------------------------------------------

@bp.route("/manage/editions/new", methods=["GET", "POST"])
@bp.route("/manage/editions/<int:edition_id>", methods=["GET", "POST"])
@admin_required
def edit_edition(edition_id: int | None = None):
    """Create or edit an edition (届)."""
    edition = (db.session.get(Edition, edition_id) or abort(404)) if edition_id else None
    form = EditionForm(obj=edition)
    if form.validate_on_submit():
        values = services.EditionValues(**{k: getattr(form, k).data for k in (
            "name", "year", "organisers", "starts_on", "ends_on", "place", "rules", "precision")})
        try:
            services.save_edition(edition, values, actor=current_user)
        except DomainError as exc:
            db.session.rollback()
            form.form_errors.append(str(exc))
        else:
            db.session.commit()
            flash(_("届次已保存"), "success")
            return redirect(url_for("competitions.index"))
    return render_template("competitions/edit_edition.html", form=form, edition=edition)


@bp.route("/manage/editions/<int:edition_id>/events/new", methods=["GET", "POST"])
@bp.route("/manage/events/<int:event_id>/edit", methods=["GET", "POST"])
@admin_required
def edit_event(edition_id: int | None = None, event_id: int | None = None):
    """Create or edit an event: components and weights, eligibility, ranking and award rules."""
    event = _event(event_id) if event_id else None
    edition = event.edition if event else (db.session.get(Edition, edition_id) or abort(404))
    form = EventForm(obj=event)
    if request.method == "GET":
        load_event_form(form, event)
    set_tie_break_choices(form)
    if form.validate_on_submit():
        values, components, awards = event_form_input(form)
        try:
            event = services.save_event(event, values, components, awards, edition=edition, actor=current_user)
        except DomainError as exc:
            db.session.rollback()
            form.form_errors.append(str(exc))
        else:
            db.session.commit()
            flash(_("赛项已保存"), "success")
            return _back(event)
    return render_template("competitions/edit_event.html", form=form, event=event, edition=edition)


@bp.get("/manage/events/<int:event_id>")
@admin_required
def manage_event(event_id: int):
    """An event's control room: phase, registrations, scheme, judges, draw, check-in, results."""
    event = _event(event_id)
    counts = {s: 0 for s in EntryStatus}
    for entry in registration.event_entries(event):
        counts[EntryStatus(entry.status)] += 1
    checked_in = len(judging.present_entries(event)) if event.drawn_at else 0
    return render_template("competitions/manage_event.html", event=event, counts=counts, checked_in=checked_in,
                           scheme_problems=marking.scheme_problems(event), status_form=StatusForm(status=event.status),
                           draw_form=DrawForm(), form=ActionForm(), reason_form=ReasonForm())


@bp.post("/manage/events/<int:event_id>/status")
@admin_required
def set_status(event_id: int):
    """Open registration, close it (比赛中), or go back while nothing depends on it."""
    event = _event(event_id)
    form = StatusForm()
    if form.validate_on_submit():
        _run(lambda: services.set_status(event, form.status.data, actor=current_user), _("阶段已更新"))
    return _back(event)


# --- registrations --------------------------------------------------------------------------

@bp.get("/manage/events/<int:event_id>/entries")
@admin_required
def entries(event_id: int):
    """Registrations of the event with approve / reject / withdraw."""
    event = _event(event_id)
    return render_template("competitions/entries.html", event=event, rows=registration.event_entries(event),
                           form=ReasonForm())


@bp.post("/manage/entries/<int:entry_id>/decide")
@admin_required
def decide_entry(entry_id: int):
    """Approve (``approve=1``) or reject a pending registration (a rejection needs a reason)."""
    entry = db.session.get(Entry, entry_id) or abort(404)
    form = ReasonForm()
    if form.validate_on_submit():
        approve = request.form.get("approve") == "1"
        _run(lambda: registration.decide_entry(entry, approve, form.reason.data or "", actor=current_user),
             _("已通过") if approve else _("已拒绝"))
    return redirect(url_for("competitions.entries", event_id=entry.event_id))


@bp.route("/manage/events/<int:event_id>/import", methods=["GET", "POST"])
@admin_required
def import_entries(event_id: int):
    """Import the organisers' registration list (.xlsx), optionally with the theory scores."""
    event = _event(event_id)
    form = RegistrationImportForm()
    form.component.choices = [(c.code, c.name) for c in event.components if c.source == ComponentSource.ENTERED]
    report, errors = None, []
    if form.validate_on_submit():
        upload = form.file.data
        component = event.component(form.component.data) if form.with_scores.data else None
        try:
            report = imports.import_registrations(event, upload.stream, upload.filename, actor=current_user,
                                                  score_component=component,
                                                  occupation_group=form.occupation_group.data or None)
        except ValidationFailed as exc:
            db.session.rollback()
            errors = [str(exc)] + [str(e) for e in exc.errors]
        except DomainError as exc:
            db.session.rollback()
            errors = [str(exc)]
        else:
            if form.dry_run.data:
                db.session.rollback()
            else:
                db.session.commit()
    return render_template("competitions/import_entries.html", event=event, form=form, report=report,
                           errors=errors)


# --- entered component scores ---------------------------------------------------------------

def _render_component_scores(event: Event, component, errors: dict | None = None):
    rows = registration.event_entries(event, (EntryStatus.APPROVED,))
    return render_template("competitions/component_scores.html", event=event, component=component, rows=rows,
                           stored=judging.entered_scores(component), errors=errors or {},
                           import_form=ScoreImportForm()), 422 if errors else 200


@bp.get("/manage/events/<int:event_id>/scores/<code>")
@admin_required
def component_scores(event_id: int, code: str):
    """An entered component's scores (理论知识) for every approved contestant, as a form."""
    event = _event(event_id)
    return _render_component_scores(event, event.component(code) or abort(404))


@bp.post("/manage/events/<int:event_id>/scores/<code>")
@admin_required
def save_component_scores(event_id: int, code: str):
    """Save the typed scores (``s-<entry id>``; 缺考 for absence); nothing is saved if one is wrong."""
    event = _event(event_id)
    component = event.component(code) or abort(404)
    typed = {int(k[2:]): v for k, v in request.form.items() if k.startswith("s-") and k[2:].isdigit()}
    try:
        changed = judging.record_component_scores(event, component, typed, actor=current_user)
    except judging.InvalidScores as exc:
        db.session.rollback()
        flash(str(exc), "error")
        return _render_component_scores(event, component, exc.errors)
    except DomainError as exc:
        db.session.rollback()
        flash(str(exc), "error")
    else:
        db.session.commit()
        flash(_("已保存 %(n)s 个成绩", n=changed), "success")
    return redirect(url_for("competitions.component_scores", event_id=event.id, code=code))


@bp.post("/manage/events/<int:event_id>/scores-import")
@admin_required
def import_scores(event_id: int):
    """Import an entered component's scores from the exam system's export (.xlsx) by ID number."""
    event = _event(event_id)
    form = ScoreImportForm()
    component = event.component(form.component.data or "") or abort(404)
    if form.validate_on_submit():
        upload = form.file.data
        _run(lambda: imports.import_component_scores(event, component, upload.stream, upload.filename,
                                                     actor=current_user), _("成绩已导入"))
    else:
        flash(_("请选择文件"), "error")
    return redirect(url_for("competitions.component_scores", event_id=event.id, code=component.code))


# --- marking scheme -------------------------------------------------------------------------

@bp.get("/manage/events/<int:event_id>/scheme")
@admin_required
def scheme(event_id: int):
    """The marking scheme by sub-criterion, its total against the practical maximum, and import."""
    event = _event(event_id)
    scheme = marking.load_scheme(event)
    aspects = [a for sub in scheme for a in sub.aspects]
    return render_template("competitions/scheme.html", event=event, scheme=scheme,
                           total=plain_decimal(marking.scheme_total(aspects)) or "0", problems=marking.scheme_problems(event, aspects),
                           editable=not services.has_scores(event) and not event.locked_at,
                           upload_form=ScoreImportForm(), form=ActionForm())


@bp.post("/manage/events/<int:event_id>/scheme/import")
@admin_required
def import_scheme(event_id: int):
    """Replace the marking scheme with an .xlsx file (子模块 评分项 类型 分值 评分说明)."""
    event = _event(event_id)
    form = ScoreImportForm()
    if form.validate_on_submit():
        upload = form.file.data
        _run(lambda: imports.import_scheme(event, upload.stream, upload.filename, actor=current_user),
             _("评分标准已导入"))
    else:
        flash(_("请选择文件"), "error")
    return redirect(url_for("competitions.scheme", event_id=event.id))


@bp.route("/manage/events/<int:event_id>/aspects/new", methods=["GET", "POST"])
@bp.route("/manage/aspects/<int:aspect_id>", methods=["GET", "POST"])
@admin_required
def edit_aspect(event_id: int | None = None, aspect_id: int | None = None):
    """Add or edit one aspect (type, maximum, aggregation, partial marks)."""
    aspect = (db.session.get(Aspect, aspect_id) or abort(404)) if aspect_id else None
    event = _event(aspect.event_id if aspect else event_id)
    form = AspectForm(obj=aspect)
    if request.method == "GET" and aspect is not None:
        form.sub_criterion.data = aspect.sub_criterion.name
        form.partial_marks.data = ", ".join(aspect.partial_marks or [])
    if form.validate_on_submit():
        try:
            spec = marking.AspectSpec(form.sub_criterion.data, form.name.data, form.kind.data, form.max_mark.data,
                                      form.aggregation.data, marking.parse_partial_marks(form.partial_marks.data),
                                      form.notes.data)
            marking.save_aspect(event, aspect, spec, actor=current_user)
        except DomainError as exc:
            db.session.rollback()
            form.form_errors.append(str(exc))
        else:
            db.session.commit()
            flash(_("评分项已保存"), "success")
            return redirect(url_for("competitions.scheme", event_id=event.id))
    return render_template("competitions/edit_aspect.html", form=form, event=event, aspect=aspect)


@bp.post("/manage/aspects/<int:aspect_id>/delete")
@admin_required
def delete_aspect(aspect_id: int):
    """Remove an aspect (only before judging starts)."""
    aspect = db.session.get(Aspect, aspect_id) or abort(404)
    event_id = aspect.event_id
    if ActionForm().validate_on_submit():
        _run(lambda: marking.delete_aspect(aspect, actor=current_user), _("评分项已删除"))
    return redirect(url_for("competitions.scheme", event_id=event_id))


# --- judges ---------------------------------------------------------------------------------

@bp.route("/manage/events/<int:event_id>/judges", methods=["GET", "POST"])
@admin_required
def judges(event_id: int):
    """Judges of the event (assign, chief judge, remove) and recusals."""
    event = _event(event_id)
    form = JudgeAssignForm()
    form.judge_id.choices = [(u.id, f"{u.name} {u.mobile[-4:]}") for u in services.judge_candidates()]
    if form.validate_on_submit():
        judge = db.session.get(User, form.judge_id.data) or abort(404)
        if _run(lambda: services.assign_judge(event, judge, is_chief=form.is_chief.data, marks=form.marks.data,
                                              actor=current_user), _("裁判已指派")):
            return redirect(url_for("competitions.judges", event_id=event.id))
    recusal_form = AdminRecusalForm()
    recusal_form.judge_id.choices = [(j.judge_id, j.judge.name) for j in event.judges]
    recusal_form.entry_id.choices = [(e.id, f"{e.number_label or '—'} {e.learner.name}")
                                     for e in registration.event_entries(event, (EntryStatus.APPROVED,))]
    return render_template("competitions/judges.html", event=event, form=form, recusal_form=recusal_form,
                           recusals=services.recusals(event), action_form=ActionForm())


@bp.post("/manage/judges/<int:assignment_id>/remove")
@admin_required
def remove_judge(assignment_id: int):
    """Take a judge off the event (only before they have scored)."""
    assignment = db.session.get(EventJudge, assignment_id) or abort(404)
    event_id = assignment.event_id
    if ActionForm().validate_on_submit():
        _run(lambda: services.remove_judge(assignment, actor=current_user), _("已移除"))
    return redirect(url_for("competitions.judges", event_id=event_id))


@bp.post("/manage/events/<int:event_id>/recusals")
@admin_required
def admin_recusal(event_id: int):
    """Record a recusal for a judge and a contestant (the judge told the organisers)."""
    event = _event(event_id)
    form = AdminRecusalForm()
    form.judge_id.choices = [(j.judge_id, "") for j in event.judges]
    form.entry_id.choices = [(e.id, "") for e in registration.event_entries(event)]
    if form.validate_on_submit():
        judge = db.session.get(User, form.judge_id.data)
        entry = db.session.get(Entry, form.entry_id.data)
        _run(lambda: services.declare_recusal(event, judge, entry, form.relation.data, form.reason.data,
                                              actor=current_user), _("回避已登记"))
    else:
        flash(_("请选择裁判和选手，并写明回避理由"), "error")
    return redirect(url_for("competitions.judges", event_id=event.id))


# --- draw and check-in ----------------------------------------------------------------------

@bp.post("/manage/events/<int:event_id>/draw")
@admin_required
def draw(event_id: int):
    """Draw the contestant numbers (抽签); the seed is recorded and shown."""
    event = _event(event_id)
    form = DrawForm()
    if form.validate_on_submit():
        _run(lambda: registration.draw(event, actor=current_user, seed=form.seed.data),
             _("抽签完成，请记录随机种子以便复核"))
    return _back(event)


@bp.route("/manage/events/<int:event_id>/check-in", methods=["GET", "POST"])
@admin_required
def check_in(event_id: int):
    """检录: type the last 6 characters (or all) of the contestant's ID number."""
    event = _event(event_id)
    form = CheckInForm()
    checked = None
    if form.validate_on_submit():
        try:
            checked = registration.check_in(event, form.id_number.data, actor=current_user)
        except DomainError as exc:
            db.session.rollback()
            flash(str(exc), "error")
        else:
            db.session.commit()
            form.id_number.data = ""
    rows = registration.event_entries(event, (EntryStatus.APPROVED,))
    return render_template("competitions/check_in.html", event=event, form=form, checked=checked, rows=rows)


# --- results --------------------------------------------------------------------------------

@bp.get("/manage/events/<int:event_id>/results")
@admin_required
def results_preview(event_id: int):
    """Computed results with names (administrators), what blocks publication, publish buttons."""
    event = _event(event_id)
    return render_template("competitions/results.html", event=event, computed=results.compute_results(event),
                           form=ActionForm(), reason_form=ReasonForm())


@bp.post("/manage/events/<int:event_id>/publish")
@admin_required
def publish(event_id: int):
    """Publish the results to the public board (refused with the list of blockers)."""
    event = _event(event_id)
    if ActionForm().validate_on_submit():
        _run(lambda: results.publish(event, actor=current_user), _("成绩已公布"))
    return redirect(url_for("competitions.results_preview", event_id=event.id))


@bp.post("/manage/events/<int:event_id>/unpublish")
@admin_required
def withdraw_publication(event_id: int):
    """Take published results back with a reason (e.g. an appeal upheld)."""
    event = _event(event_id)
    form = ReasonForm()
    if form.validate_on_submit():
        _run(lambda: results.withdraw_publication(event, form.reason.data or "", actor=current_user),
             _("已撤回公布"), "warning")
    return redirect(url_for("competitions.results_preview", event_id=event.id))


@bp.get("/manage/events/<int:event_id>/export.xlsx")
@admin_required
def export(event_id: int):
    """The appeals workbook: every judge's value per aspect; ID numbers masked unless ``full=1`` (audited)."""
    event = _event(event_id)
    full = request.args.get("full") == "1"
    if full:
        record("personal_data.unmasked", actor=current_user, obj=event, what="competition_export")
        db.session.commit()
    body = results.export_workbook(event, full=full)
    return Response(body, mimetype=XLSX_MIMETYPE,
                    headers={"Content-Disposition": f"attachment; filename=competition-{event.id}-scores.xlsx"})


@bp.post("/manage/events/<int:event_id>/certificates")
@admin_required
def certificates(event_id: int):
    """Issue the winners' award certificates and download them as one PDF."""
    event = _event(event_id)
    if not ActionForm().validate_on_submit():
        abort(400)
    try:
        pdf = results.award_certificates_pdf(event, actor=current_user)
    except DomainError as exc:
        db.session.rollback()
        flash(str(exc), "error")
        return redirect(url_for("competitions.results_preview", event_id=event.id))
    db.session.commit()
    return Response(pdf, mimetype="application/pdf",
                    headers={"Content-Disposition": f"attachment; filename=competition-{event.id}-awards.pdf"})
