"""Degree-upgrade pages: the learner's timeline on a phone; the admin's board, lists, case pages,
programmes, key dates, import and export."""

from __future__ import annotations

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select

from academy.accounts.models import DISTRICTS, Role, User, UserRole
from academy.accounts.permissions import admin_required, login_required, require_owner, roles_required
from academy.audit.services import record
from academy.common.spreadsheets import XLSX_MIMETYPE
from academy.common.timeutil import local_today, now_utc
from academy.degrees import imports, services
from academy.degrees.forms import (
    ActionForm,
    CaseFilterForm,
    CourseResultForm,
    ImportForm,
    InterestForm,
    KeyDateForm,
    MoveForm,
    OpenCaseForm,
    ProgrammeChoiceForm,
    ProgrammeForm,
    RecordForm,
)
from academy.degrees.models import DegreeCase, KeyDate, Programme
from academy.degrees.stages import STAGE_ACTIONS, STAGE_LABELS, Stage
from academy.errors import DomainError, ValidationFailed
from academy.extensions import db

bp = Blueprint("degrees", __name__, url_prefix="/degrees")


def _case_or_404(case_id: int) -> DegreeCase:
    return services.get_case(case_id) or abort(404)


def _back_to_case(case_id: int):
    return redirect(url_for("degrees.case", case_id=case_id))


def _run(action, success: str) -> bool:
    """Call ``action()``; commit and flash ``success``, or roll back and flash the rule's message."""
    try:
        action()
    except DomainError as exc:
        db.session.rollback()
        flash(str(exc), "error")
        return False
    db.session.commit()
    flash(success, "success")
    return True


# --- learner --------------------------------------------------------------------------------

def _timeline_page(case: DegreeCase | None, others: list[DegreeCase]):
    today = local_today()
    own = case is None or case.learner_id == current_user.id
    has_open = any(c.is_open for c in [case, *others] if c)
    return render_template(
        "degrees/my_case.html", case=case, others=others, today=today,
        milestone=services.next_milestone(case, today=today) if case else None,
        items=services.timeline(case) if case else [], notices=services.unread_notices(current_user) if own else [],
        interest_form=None if has_open or not own else InterestForm(), form=ActionForm())


@bp.get("/my")
@login_required
def my_case():
    """我的学历提升: the learner's current case as a timeline, or the routes explained and "我有兴趣"."""
    cases = services.cases_of(current_user)
    return _timeline_page(cases[0] if cases else None, cases[1:])


@bp.get("/my/<int:case_id>")
@login_required
def timeline(case_id: int):
    """One case as the learner sees it (another learner's case answers 404; admins may look)."""
    case = _case_or_404(case_id)
    if not current_user.is_admin:
        require_owner(current_user, case.learner_id)
    others = [c for c in services.cases_of(case.learner) if c.id != case.id] if case.learner_id == current_user.id else []
    return _timeline_page(case, others)


@bp.post("/my/interest")
@roles_required(Role.LEARNER)
def express_interest():
    """The learner taps "我有兴趣": an interest-only case for an adviser to follow up."""
    form = InterestForm()
    if form.validate_on_submit():
        _run(lambda: services.express_interest(current_user, route=form.route.data or None,
                                               level=form.level.data or None, note=form.note.data or ""),
             "已登记！学院老师会在几天内和您联系，帮您选择合适的途径和专业。")
    return redirect(url_for("degrees.my_case"))


@bp.post("/notices/read")
@login_required
def read_notices():
    """Mark the signed-in person's notices read, then go back to their case or the board."""
    if ActionForm().validate_on_submit():
        services.mark_notices_read(current_user)
        db.session.commit()
    return redirect(url_for("degrees.board") if request.form.get("back") == "board" else url_for("degrees.my_case"))


# --- admin: board, lists, export -----------------------------------------------------------

@bp.get("/")
@admin_required
def board():
    """The pipeline board: cases per stage and route, steps due in 14 days, overdue count."""
    today = local_today()
    routes, rows, totals = services.board_table(services.pipeline_counts())
    soon, overdue = services.milestone_summary(today=today, days=14)
    return render_template("degrees/board.html", routes=routes, rows=rows, totals=totals, soon=soon,
                           overdue=overdue, today=today, route_label=services.route_label,
                           stage_labels=STAGE_LABELS, notices=services.unread_notices(current_user),
                           upgrading=services.count_upgrading(), form=ActionForm())


def _filters() -> tuple[CaseFilterForm, services.CaseFilter]:
    form = CaseFilterForm(request.args)
    form.institution.choices += [(i, i) for i in services.institutions()]
    form.district.choices += [(d, d) for d in DISTRICTS]
    filters = services.CaseFilter(
        stage=form.stage.data or "", route=form.route.data or "", institution=form.institution.data or "",
        district=form.district.data or "", overdue=bool(form.overdue.data),
        upcoming_days=14 if form.upcoming.data else None, page=request.args.get("page", 1, type=int))
    return form, filters


@bp.get("/cases")
@admin_required
def cases():
    """Cases filtered by stage, route, institution, district, overdue or due soon (names masked)."""
    form, filters = _filters()
    today = local_today()
    pagination = services.list_cases(filters, today=today)
    args = {k: v for k, v in request.args.items() if k != "page"}
    return render_template("degrees/cases.html", form=form, pagination=pagination, args=args, today=today)


@bp.get("/cases.xlsx")
@admin_required
def export_cases():
    """The filtered list as .xlsx; masked unless ``full=1`` (recorded in the audit log)."""
    _, filters = _filters()
    full = request.args.get("full") == "1"
    if full:
        record("personal_data.unmasked", actor=current_user, what="degree_cases_export")
        db.session.commit()
    today = local_today()
    body = services.export_xlsx(services.case_rows(filters, today=today), today=today, full=full)
    return Response(body, mimetype=XLSX_MIMETYPE,
                    headers={"Content-Disposition": f"attachment; filename=degree-cases-{today.isoformat()}.xlsx"})


# --- admin: one case -------------------------------------------------------------------------

def _programme_choices(active_only: bool = True) -> list[tuple[int, str]]:
    return [(p.id, p.title) for p in services.list_programmes(active_only=active_only)]


def _staff_choices() -> list[tuple[int, str]]:
    staff = db.session.scalars(select(User).join(UserRole).where(
        UserRole.role.in_((Role.ADMIN, Role.INSTRUCTOR))).distinct().order_by(User.name)).all()
    return [(0, "—")] + [(u.id, u.name) for u in staff]


def _record_form(case: DegreeCase) -> RecordForm:
    form = RecordForm(obj=case) if request.method == "GET" else RecordForm()
    form.advisor_id.choices = _staff_choices()
    if request.method == "GET":
        form.advisor_id.data = case.advisor_id or 0
        form.intake_season.data = case.intake_season or ""
    return form


@bp.get("/cases/<int:case_id>")
@admin_required
def case(case_id: int):
    """A case: record, next step, allowed stage changes, history; forms to edit it."""
    case = _case_or_404(case_id)
    today = local_today()
    move_form = MoveForm(on=today)
    targets = services.targets_for(case)
    move_form.to_stage.choices = [(str(t), STAGE_ACTIONS[Stage(t)]) for t in targets]
    choice_form = ProgrammeChoiceForm(programme_id=case.programme_id)
    choice_form.programme_id.choices = _programme_choices()
    return render_template("degrees/case.html", case=case, today=today, move_form=move_form, targets=targets,
                           milestone=services.next_milestone(case, today=today), record_form=_record_form(case),
                           choice_form=choice_form, course_form=CourseResultForm(),
                           passed=services.courses_passed(case), stage_labels=STAGE_LABELS)


@bp.post("/cases/<int:case_id>/move")
@admin_required
def move(case_id: int):
    """Move the case to another stage (only allowed transitions), with a date and a note."""
    case = _case_or_404(case_id)
    form = MoveForm()
    if form.validate_on_submit():
        _run(lambda: services.move(case, form.to_stage.data, actor=current_user, on=form.on.data,
                                   note=form.note.data or ""), "阶段已更新")
    else:
        flash("请填写日期", "error")
    return _back_to_case(case_id)


@bp.post("/cases/<int:case_id>/record")
@admin_required
def edit_record(case_id: int):
    """Save the record fields (student number, dates, credits, fees, subsidy, diploma…)."""
    case = _case_or_404(case_id)
    form = _record_form(case)
    if form.validate_on_submit():
        values = services.RecordValues(**{name: getattr(form, name).data for name in services.RECORD_LABELS})
        _run(lambda: services.update_record(case, values, actor=current_user), "已保存")
    else:
        flash("；".join(f"{getattr(form, n).label.text}：{e[0]}" for n, e in form.errors.items()), "error")
    return _back_to_case(case_id)


@bp.post("/cases/<int:case_id>/programme")
@admin_required
def choose_programme(case_id: int):
    """Attach or change the case's programme (entry rule checked, override with a reason)."""
    case = _case_or_404(case_id)
    form = ProgrammeChoiceForm()
    programme = db.session.get(Programme, form.programme_id.data or 0) if form.validate_on_submit() else None
    if programme is None:
        flash("请选择项目", "error")
    else:
        _run(lambda: services.assign_programme(case, programme, actor=current_user,
                                               override_reason=form.override_reason.data), "项目已更新")
    return _back_to_case(case_id)


@bp.post("/cases/<int:case_id>/courses")
@admin_required
def add_course_result(case_id: int):
    """Record a 自学考试 course result (same course and sitting: corrected, not duplicated)."""
    case = _case_or_404(case_id)
    form = CourseResultForm()
    if form.validate_on_submit():
        values = services.CourseValues(form.course_code.data, form.course_name.data, form.credits.data,
                                       form.sitting.data, form.result.data, form.score.data)
        _run(lambda: services.record_course_result(case, values, actor=current_user), "成绩已记录")
    else:
        flash("；".join(e[0] for e in form.errors.values()), "error")
    return _back_to_case(case_id)


@bp.route("/cases/new", methods=["GET", "POST"])
@admin_required
def open_case():
    """Open a case for a learner (by mobile or ID number) on a programme; entry rule checked."""
    form = OpenCaseForm(programme_id=request.args.get("programme_id", type=int))
    form.programme_id.choices = _programme_choices()
    if form.validate_on_submit():
        learner = services.find_learner(form.learner.data)
        programme = db.session.get(Programme, form.programme_id.data or 0)
        if learner is None or programme is None:
            form.learner.errors = ["找不到这个学员"] if learner is None else []
            form.form_errors.append("请选择学员和项目")
        else:
            try:
                case = services.open_case(learner, programme, actor=current_user,
                                          override_reason=form.override_reason.data, note=form.note.data or "")
            except DomainError as exc:
                db.session.rollback()
                form.form_errors.append(str(exc))
            else:
                db.session.commit()
                flash("个案已开立", "success")
                return _back_to_case(case.id)
    return render_template("degrees/open_case.html", form=form)


# --- admin: programmes, key dates, import ---------------------------------------------------

@bp.get("/programmes")
@admin_required
def programmes():
    """Every programme, with its route, level, lengths, credits, tuition and subsidy."""
    return render_template("degrees/programmes.html", programmes=services.list_programmes())


@bp.route("/programmes/new", methods=["GET", "POST"])
@bp.route("/programmes/<int:programme_id>", methods=["GET", "POST"])
@admin_required
def edit_programme(programme_id: int | None = None):
    """Create or edit a programme (blank lengths take the route's and level's defaults)."""
    programme = (db.session.get(Programme, programme_id) or abort(404)) if programme_id else None
    form = ProgrammeForm(obj=programme)
    if form.validate_on_submit():
        values = services.ProgrammeValues(**{name: getattr(form, name).data for name in (
            "route", "level", "institution", "major", "min_study_months", "record_valid_months", "credits_required",
            "courses_required", "intake_seasons", "tuition", "subsidy", "subsidy_source", "is_active", "note")})
        try:
            services.save_programme(programme, values, actor=current_user)
        except DomainError as exc:
            db.session.rollback()
            form.form_errors.append(str(exc))
        else:
            db.session.commit()
            flash("项目已保存", "success")
            return redirect(url_for("degrees.programmes"))
    return render_template("degrees/edit_programme.html", form=form, programme=programme)


@bp.route("/key-dates", methods=["GET", "POST"])
@admin_required
def key_dates():
    """The yearly key dates of each route; add one (a window or a single day)."""
    form = KeyDateForm(year=local_today().year)
    if form.validate_on_submit():
        if _run(lambda: services.add_key_date(form.route.data, form.year.data, form.kind.data, form.starts_on.data,
                                              form.ends_on.data, form.note.data, actor=current_user), "日期已添加"):
            return redirect(url_for("degrees.key_dates"))
    return render_template("degrees/key_dates.html", form=form, key_dates=services.list_key_dates(),
                           delete_form=ActionForm())


@bp.post("/key-dates/<int:key_date_id>/delete")
@admin_required
def delete_key_date(key_date_id: int):
    """Delete a key date entered by mistake."""
    key_date = db.session.get(KeyDate, key_date_id) or abort(404)
    if ActionForm().validate_on_submit():
        _run(lambda: services.delete_key_date(key_date, actor=current_user), "已删除")
    return redirect(url_for("degrees.key_dates"))


@bp.route("/import", methods=["GET", "POST"])
@admin_required
def import_cases():
    """Upload the ledger: check every row, then import all of it or nothing (per-row report)."""
    form = ImportForm()
    report = errors = None
    if form.validate_on_submit():
        upload = form.file.data
        try:
            report = imports.import_cases(upload.read(), filename=upload.filename or "", actor=current_user,
                                          dry_run=form.dry_run.data, now=now_utc())
        except ValidationFailed as exc:
            db.session.rollback()
            errors = exc
        else:
            db.session.commit()
    return render_template("degrees/import.html", form=form, report=report, errors=errors, stage_labels=STAGE_LABELS)
