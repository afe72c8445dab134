"""Pages of the attendance module.

Staff (the cohort's instructors and admins): sessions, projector, register (roll call), leave
decisions, rates, exports. Learners: the check-in page reached from the QR code, the 6-digit
code page, their own attendance and leave requests.
"""

from __future__ import annotations

from datetime import UTC, datetime

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask import session as browser_session
from flask_babel import gettext as _
from flask_login import current_user

from academy.accounts.permissions import (
    login_required,
    public,
    require_cohort_staff,
    require_owner,
    staff_required,
)
from academy.attendance import exports, queries, services
from academy.attendance.forms import (
    ActionForm,
    CancelForm,
    CodeForm,
    GenerateForm,
    LeaveDecisionForm,
    LeaveForm,
    MarkForm,
    RulesForm,
    SessionForm,
)
from academy.attendance.models import (
    STATUS_CODES,
    STATUS_LABELS,
    AttendanceStatus,
    ClassSession,
    LeaveRequest,
    RecordSource,
)
from academy.attendance.projector import projector_state
from academy.audit.services import record
from academy.catalogue.models import Cohort
from academy.common.spreadsheets import XLSX_MIMETYPE
from academy.common.timeutil import WEEKDAYS_ZH, now_utc, to_local
from academy.errors import DomainError
from academy.extensions import db

bp = Blueprint("attendance", __name__, url_prefix="/attendance")

SCAN_KEY = "attendance_scan"  # the verified scan kept in the signed session cookie


@bp.context_processor
def _labels():
    return {"STATUS_LABELS": STATUS_LABELS, "STATUS_CODES": STATUS_CODES, "STATUSES": list(AttendanceStatus),
            "WEEKDAYS": WEEKDAYS_ZH}


# --- loading helpers --------------------------------------------------------------------------

def _cohort_for_staff(cohort_id: int) -> Cohort:
    cohort = db.session.get(Cohort, cohort_id) or abort(404)
    require_cohort_staff(current_user, cohort)
    return cohort


def _session_for_staff(session_id: int) -> ClassSession:
    lesson = db.session.get(ClassSession, session_id) or abort(404)
    require_cohort_staff(current_user, lesson.cohort)
    return lesson


def _session_for_learner(session_id: int) -> ClassSession:
    """A session of a cohort the signed-in learner is enrolled in; anything else is 404."""
    lesson = db.session.get(ClassSession, session_id) or abort(404)
    if not services.is_enrolled(current_user.id, lesson.cohort_id):
        abort(404)
    return lesson


def _remember_scan(scan: services.ScanPass) -> None:
    browser_session[SCAN_KEY] = {"sid": scan.session_id, "at": scan.scanned_at.timestamp(), "src": scan.source}


def _scan_for(lesson: ClassSession) -> services.ScanPass | None:
    data = browser_session.get(SCAN_KEY)
    if not isinstance(data, dict) or data.get("sid") != lesson.id:
        return None
    return services.ScanPass(lesson.id, datetime.fromtimestamp(data["at"], UTC), RecordSource(data["src"]))


def _checkin_url(lesson: ClassSession):
    """Build the absolute check-in URL for a token: ACADEMY_BASE_URL when set, else this request's root."""
    base = current_app.config.get("ACADEMY_BASE_URL")

    def build(token: str) -> str:
        """The absolute check-in URL carrying ``token``."""
        if base:
            return base.rstrip("/") + url_for(".checkin", code=lesson.public_code, t=token)
        return url_for(".checkin", code=lesson.public_code, t=token, _external=True)

    return build


def _xlsx(body: bytes, filename: str) -> Response:
    return Response(body, mimetype=XLSX_MIMETYPE, headers={"Content-Disposition": f"attachment; filename={filename}"})


def _full_export(obj) -> bool:
    """Unmasked export only for admins asking with full=1, and audited."""
    full = request.args.get("full") == "1" and current_user.is_admin
    if full:
        record("personal_data.unmasked", actor=current_user, obj=obj, what="attendance_export")
        db.session.commit()
    return full


# --- sessions (staff) -----------------------------------------------------------------------

@bp.get("/cohorts/<int:cohort_id>/sessions")
@staff_required
def cohort_sessions(cohort_id: int):
    """The cohort's sessions with check-in counts, for its instructors and admins."""
    cohort = _cohort_for_staff(cohort_id)
    summaries = queries.session_summaries(cohort.id)
    enrolled = len(services.enrolled_learners(cohort.id))
    pending = len(queries.pending_leave(cohort.id))
    return render_template("attendance/cohort_sessions.html", cohort=cohort, summaries=summaries, enrolled=enrolled,
                           pending=pending, rules=services.cohort_rules(cohort), now=now_utc(),
                           cancel_form=CancelForm(), action_form=ActionForm())


@bp.route("/cohorts/<int:cohort_id>/sessions/new", methods=["GET", "POST"])
@staff_required
def new_session(cohort_id: int):
    """Add one session (times in Asia/Shanghai; 22:30–00:30 with "次日结束")."""
    cohort = _cohort_for_staff(cohort_id)
    form = SessionForm()
    if request.method == "GET":
        form.fill_rules(services.cohort_rules(cohort))
        form.place.data = cohort.place
    if form.validate_on_submit():
        try:
            starts_at, ends_at = services.session_times(form.day.data, form.start.data, form.end.data,
                                                        ends_next_day=form.ends_next_day.data)
            services.create_session(cohort, starts_at=starts_at, ends_at=ends_at, place=form.place.data,
                                    topic=form.topic.data, rules=form.rules(), actor=current_user)
        except DomainError as exc:
            db.session.rollback()
            form.form_errors.append(str(exc))
        else:
            db.session.commit()
            flash(_("课次已添加"), "success")
            return redirect(url_for(".cohort_sessions", cohort_id=cohort.id))
    return render_template("attendance/edit_session.html", form=form, cohort=cohort, lesson=None)


@bp.route("/cohorts/<int:cohort_id>/sessions/generate", methods=["GET", "POST"])
@staff_required
def generate_sessions(cohort_id: int):
    """Create sessions from the cohort's weekly pattern between two days, skipping chosen days."""
    cohort = _cohort_for_staff(cohort_id)
    form = GenerateForm()
    if request.method == "GET":
        form.first_day.data, form.last_day.data = cohort.start_date, cohort.end_date
    if form.validate_on_submit():
        try:
            result = services.generate_sessions(cohort, form.first_day.data, form.last_day.data,
                                                skip=form.skip_dates, topic=form.topic.data, actor=current_user)
        except DomainError as exc:
            db.session.rollback()
            form.form_errors.append(str(exc))
        else:
            db.session.commit()
            flash(_("已生成 %(n)s 次课；跳过 %(s)s 天；已有课次的 %(e)s 天未重复生成", n=len(result.created),
                    s=len(result.skipped), e=len(result.existing)), "success")
            return redirect(url_for(".cohort_sessions", cohort_id=cohort.id))
    return render_template("attendance/generate.html", form=form, cohort=cohort)


@bp.route("/sessions/<int:session_id>/edit", methods=["GET", "POST"])
@staff_required
def edit_session(session_id: int):
    """Change a session's times, place, topic and check-in settings."""
    lesson = _session_for_staff(session_id)
    form = SessionForm(obj=lesson)
    if request.method == "GET":
        form.day.data, form.start.data = lesson.local_day, to_local(lesson.starts_at).time()
        form.end.data, form.ends_next_day.data = to_local(lesson.ends_at).time(), lesson.ends_next_day
    if form.validate_on_submit():
        try:
            starts_at, ends_at = services.session_times(form.day.data, form.start.data, form.end.data,
                                                        ends_next_day=form.ends_next_day.data)
            services.update_session(lesson, starts_at=starts_at, ends_at=ends_at, place=form.place.data,
                                    topic=form.topic.data, rules=form.rules(), actor=current_user)
        except DomainError as exc:
            db.session.rollback()
            form.form_errors.append(str(exc))
        else:
            db.session.commit()
            flash(_("课次已保存"), "success")
            return redirect(url_for(".cohort_sessions", cohort_id=lesson.cohort_id))
    return render_template("attendance/edit_session.html", form=form, cohort=lesson.cohort, lesson=lesson)


@bp.post("/sessions/<int:session_id>/cancel")
@staff_required
def cancel_session(session_id: int):
    """Cancel a session with a reason (it stops counting in rates)."""
    lesson = _session_for_staff(session_id)
    form = CancelForm()
    try:
        if not form.validate_on_submit():
            raise services.AttendanceError(_("请填写取消原因"))
        services.cancel_session(lesson, form.reason.data, actor=current_user)
    except DomainError as exc:
        db.session.rollback()
        flash(str(exc), "error")
    else:
        db.session.commit()
        flash(_("已取消这次课"), "success")
    return redirect(url_for(".cohort_sessions", cohort_id=lesson.cohort_id))


@bp.post("/sessions/<int:session_id>/restore")
@staff_required
def restore_session(session_id: int):
    """Undo the cancellation of a session."""
    lesson = _session_for_staff(session_id)
    try:
        services.restore_session(lesson, actor=current_user)
    except DomainError as exc:
        db.session.rollback()
        flash(str(exc), "error")
    else:
        db.session.commit()
        flash(_("已恢复这次课"), "success")
    return redirect(url_for(".cohort_sessions", cohort_id=lesson.cohort_id))


@bp.route("/cohorts/<int:cohort_id>/settings", methods=["GET", "POST"])
@staff_required
def cohort_settings(cohort_id: int):
    """The cohort's check-in defaults (window minutes, QR rotation seconds)."""
    cohort = _cohort_for_staff(cohort_id)
    form = RulesForm()
    if request.method == "GET":
        form.fill_rules(services.cohort_rules(cohort))
    if form.validate_on_submit():
        try:
            changed = services.save_cohort_rules(cohort, form.rules(), actor=current_user, now=now_utc(),
                                                 apply_to_upcoming=form.apply_to_upcoming.data)
        except DomainError as exc:
            db.session.rollback()
            form.form_errors.append(str(exc))
        else:
            db.session.commit()
            flash(_("签到设置已保存；%(n)s 次未开始的课已同步修改", n=changed), "success")
            return redirect(url_for(".cohort_sessions", cohort_id=cohort.id))
    return render_template("attendance/settings.html", form=form, cohort=cohort)


# --- projector (staff) ---------------------------------------------------------------------

@bp.get("/sessions/<int:session_id>/projector")
@staff_required
def projector(session_id: int):
    """The page to put on the projector: a large rotating QR code, the 6-digit code, the count."""
    lesson = _session_for_staff(session_id)
    state = projector_state(lesson, now=now_utc(), checkin_url=_checkin_url(lesson))
    return render_template("attendance/projector.html", lesson=lesson, state=state)


@bp.get("/sessions/<int:session_id>/projector.json")
@staff_required
def projector_json(session_id: int):
    """The current projector frame as JSON, fetched by static/js/checkin-projector.js."""
    lesson = _session_for_staff(session_id)
    state = projector_state(lesson, now=now_utc(), checkin_url=_checkin_url(lesson))
    response = current_app.json.response(state.as_json())
    response.headers["Cache-Control"] = "no-store"
    return response


# --- register / roll call (staff) -----------------------------------------------------------

@bp.get("/sessions/<int:session_id>/register")
@staff_required
def register(session_id: int):
    """Roll call: every enrolled learner with one-tap status buttons and a note."""
    lesson = _session_for_staff(session_id)
    numbers = services.session_numbers(services.list_sessions(lesson.cohort_id))
    return render_template("attendance/register.html", lesson=lesson, number=numbers.get(lesson.id),
                           register=queries.session_register(lesson), form=MarkForm(), action_form=ActionForm())


@bp.post("/sessions/<int:session_id>/register/<int:learner_id>")
@staff_required
def mark(session_id: int, learner_id: int):
    """Set one learner's status (the tapped button) and note; kept in the change history."""
    lesson = _session_for_staff(session_id)
    form = MarkForm()
    try:
        if not form.validate_on_submit():
            raise services.AttendanceError(_("请选择状态"))
        services.set_status(lesson, learner_id, form.status.data, form.note.data, actor=current_user, now=now_utc())
    except DomainError as exc:
        db.session.rollback()
        flash(str(exc), "error")
    else:
        db.session.commit()
    return redirect(url_for(".register", session_id=lesson.id, _anchor=f"l{learner_id}"))


@bp.post("/sessions/<int:session_id>/register/absent")
@staff_required
def mark_absent(session_id: int):
    """Mark every learner still without a status as absent."""
    lesson = _session_for_staff(session_id)
    try:
        count = services.mark_unmarked_absent(lesson, actor=current_user, now=now_utc())
    except DomainError as exc:
        db.session.rollback()
        flash(str(exc), "error")
    else:
        db.session.commit()
        flash(_("已将 %(n)s 名未签到的学员记为缺勤", n=count), "success")
    return redirect(url_for(".register", session_id=lesson.id))


@bp.get("/sessions/<int:session_id>/list.xlsx")
@staff_required
def session_xlsx(session_id: int):
    """The session's list as .xlsx (masked unless an admin asks for full=1, audited)."""
    lesson = _session_for_staff(session_id)
    full = _full_export(lesson)
    number = services.session_numbers(services.list_sessions(lesson.cohort_id)).get(lesson.id)
    body = exports.session_list_xlsx(lesson, number, queries.session_register(lesson, history_limit=0), full=full)
    return _xlsx(body, f"attendance-{lesson.cohort.code}-{lesson.local_day:%Y%m%d}.xlsx")


# --- rates, exports, leave (staff) ------------------------------------------------------------

@bp.get("/cohorts/<int:cohort_id>/rates")
@staff_required
def cohort_rates(cohort_id: int):
    """Every learner's rate, with those at risk (below the threshold or unable to miss one more) first."""
    cohort = _cohort_for_staff(cohort_id)
    grid = queries.cohort_grid(cohort, now=now_utc())
    rows = sorted(((u, grid.rates[u.id]) for u in grid.learners), key=lambda r: (not r[1].at_risk, r[0].name))
    return render_template("attendance/rates.html", cohort=cohort, rows=rows, grid=grid,
                           threshold=services.percent(cohort.attendance_threshold),
                           at_risk=sum(1 for _, r in rows if r.at_risk))


@bp.get("/cohorts/<int:cohort_id>/register.xlsx")
@staff_required
def register_xlsx(cohort_id: int):
    """The cohort register (签到表) as .xlsx: learners × sessions, √ 迟 假 ×, totals and rates."""
    cohort = _cohort_for_staff(cohort_id)
    full = _full_export(cohort)
    body = exports.cohort_register_xlsx(queries.cohort_grid(cohort, now=now_utc()), full=full)
    return _xlsx(body, f"register-{cohort.code}.xlsx")


@bp.get("/cohorts/<int:cohort_id>/leave")
@staff_required
def cohort_leave(cohort_id: int):
    """Pending leave requests to approve or reject, and the latest decisions."""
    cohort = _cohort_for_staff(cohort_id)
    return render_template("attendance/cohort_leave.html", cohort=cohort, pending=queries.pending_leave(cohort.id),
                           recent=queries.recent_leave(cohort.id), form=LeaveDecisionForm())


@bp.post("/leave/<int:leave_id>/decide")
@staff_required
def decide_leave(leave_id: int):
    """Approve (``approve=1``: the session becomes excused) or reject with a reason."""
    leave = db.session.get(LeaveRequest, leave_id) or abort(404)
    require_cohort_staff(current_user, leave.session.cohort)
    form = LeaveDecisionForm()
    approve = request.form.get("approve") == "1"
    try:
        form.validate_on_submit()
        services.decide_leave(leave, approve, form.note.data, actor=current_user, now=now_utc())
    except DomainError as exc:
        db.session.rollback()
        flash(str(exc), "error")
    else:
        db.session.commit()
        flash(_("已批准请假") if approve else _("已驳回请假"), "success")
    return redirect(url_for(".cohort_leave", cohort_id=leave.session.cohort_id))


# --- check-in (learners) ----------------------------------------------------------------------

@bp.get("/c/<code>")
@public
def checkin(code: str):
    """The page a QR code opens. A valid token is verified at once and kept in this browser's
    session (then dropped from the address), so a learner who must log in first comes back here
    and confirms with one tap; a forwarded link is useless once its token has expired."""
    lesson = services.get_session_by_code(code) or abort(404)
    if "t" in request.args:
        try:
            _remember_scan(services.verify_token(lesson, request.args["t"], now=now_utc()))
        except DomainError as exc:
            flash(str(exc), "error")
        return redirect(url_for(".checkin", code=code))
    if not current_user.is_authenticated:
        if _scan_for(lesson) is None:
            return render_template("attendance/checkin.html", lesson=lesson, preview=None, form=None)
        flash(_("请先登录，登录后会回到这里完成签到"), "info")
        return redirect(url_for("accounts.login", next=url_for(".checkin", code=code)))
    preview = services.preview_check_in(lesson, current_user, _scan_for(lesson), now=now_utc())
    return render_template("attendance/checkin.html", lesson=lesson, preview=preview, form=ActionForm())


@bp.post("/c/<code>")
@login_required
def confirm_checkin(code: str):
    """The learner's one tap: the server records present or late from the time of the scan."""
    lesson = services.get_session_by_code(code) or abort(404)
    try:
        result = services.check_in(lesson, current_user, _scan_for(lesson), now=now_utc())
    except DomainError as exc:
        db.session.rollback()
        flash(str(exc), "error")
    else:
        db.session.commit()
        browser_session.pop(SCAN_KEY, None)
        flash(result.message, "success" if result.created else "info")
    return redirect(url_for(".checkin", code=code))


@bp.route("/code", methods=["GET", "POST"])
@login_required
def code_checkin():
    """Check in by typing the 6-digit code shown on the projector (for phones that cannot scan)."""
    form = CodeForm()
    if form.validate_on_submit():
        try:
            lesson, result = services.check_in_with_code(current_user, form.code.data, now=now_utc())
        except DomainError as exc:
            db.session.commit() if getattr(exc, "keep_writes", False) else db.session.rollback()
            form.code.errors.append(str(exc))
        else:
            db.session.commit()
            flash(result.message, "success" if result.created else "info")
            return redirect(url_for(".checkin", code=lesson.public_code))
    return render_template("attendance/code.html", form=form)


# --- learners' own attendance -----------------------------------------------------------------

@bp.get("/my")
@login_required
def my_attendance():
    """The learner's attendance in each of their cohorts, with rate and "还可以缺 N 次" warnings."""
    cohorts = queries.learner_cohorts(current_user.id)
    now = now_utc()
    rates = services.learner_attendance_rates(current_user.id, cohorts, now=now)
    return render_template("attendance/my_attendance.html", cohorts=cohorts, rates=rates,
                           upcoming=queries.next_sessions([c.id for c in cohorts], now=now), now=now)


@bp.get("/my/cohorts/<int:cohort_id>")
@login_required
def my_cohort(cohort_id: int):
    """The learner's status at each session of one cohort, and their leave requests."""
    cohort = db.session.get(Cohort, cohort_id) or abort(404)
    if not services.is_enrolled(current_user.id, cohort.id):
        abort(404)
    now = now_utc()
    return render_template("attendance/my_cohort.html", cohort=cohort, now=now,
                           rate=services.attendance_rate(current_user.id, cohort, now=now),
                           rows=queries.my_sessions(current_user.id, cohort.id), form=ActionForm())


@bp.route("/sessions/<int:session_id>/leave", methods=["GET", "POST"])
@login_required
def request_leave(session_id: int):
    """The learner asks for leave from a future session of their cohort, with a reason."""
    lesson = _session_for_learner(session_id)
    form = LeaveForm()
    if form.validate_on_submit():
        try:
            services.request_leave(lesson, current_user, form.reason.data, now=now_utc())
        except DomainError as exc:
            db.session.rollback()
            form.reason.errors.append(str(exc))
        else:
            db.session.commit()
            flash(_("请假已提交，老师批准后这次课记为请假"), "success")
            return redirect(url_for(".my_cohort", cohort_id=lesson.cohort_id))
    return render_template("attendance/leave.html", lesson=lesson, form=form,
                           closed=services.leave_closed_reason(lesson, now=now_utc()))


@bp.post("/leave/<int:leave_id>/withdraw")
@login_required
def withdraw_leave(leave_id: int):
    """The learner withdraws their own pending request (someone else's id is 404)."""
    leave = db.session.get(LeaveRequest, leave_id) or abort(404)
    require_owner(current_user, leave.learner_id)
    try:
        services.withdraw_leave(leave, actor=current_user, now=now_utc())
    except DomainError as exc:
        db.session.rollback()
        flash(str(exc), "error")
    else:
        db.session.commit()
        flash(_("已撤回请假"), "info")
    return redirect(url_for(".my_cohort", cohort_id=leave.session.cohort_id))
