"""Competition pages for contestants, the public and judges.

Administrators' pages are in ``admin_views.py`` (same blueprint). Judges' pages pass only
drawn numbers and opaque entry codes to their templates — never an ``Entry`` or a contestant's
``User`` — so no name, ID or platform can reach a judge before publication.
"""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from academy.accounts.models import Role
from academy.accounts.permissions import login_required, public, require_owner, roles_required
from academy.common.timeutil import now_utc
from academy.competitions import judging, marking, registration, results, services
from academy.competitions.forms import ActionForm, ReasonForm, RecusalForm
from academy.competitions.models import Entry, Event
from academy.errors import DomainError
from academy.extensions import db

bp = Blueprint("competitions", __name__, url_prefix="/competitions")


def _event_by_code(code: str) -> Event:
    return services.get_event_by_public_code(code) or abort(404)


def _judge_event(event_id: int, *, chief: bool = False) -> Event:
    """Load the event or 404; 403 unless the signed-in judge is assigned (and chief if asked).

    Administrators pass where a view also admits them (the chief judge's pages)."""
    event = db.session.get(Event, event_id) or abort(404)
    assignment = services.assignment_of(event, current_user)
    if current_user.is_admin and chief:
        return event
    if assignment is None or (chief and not assignment.is_chief):
        abort(403)
    return event


def _entry_code(event: Event, code: str) -> Entry:
    try:
        return judging.entry_by_code(event, code)
    except DomainError:
        abort(404)


# --- staff, judges and contestants ----------------------------------------------------------

@bp.get("/")
@roles_required(Role.ADMIN, Role.INSTRUCTOR, Role.JUDGE)
def index():
    """Staff see every edition and its events; judges see only the events they are assigned to."""
    if current_user.is_staff:
        return render_template("competitions/index.html", editions=services.list_editions(), judged=[])
    return render_template("competitions/index.html", editions=[],
                           judged=services.events_for_judge(current_user))


@bp.get("/my")
@login_required
def my_entries():
    """The learner's registrations, their results once published, and events open for registration."""
    entries = registration.entries_for_learner(current_user)
    mine = {e.event_id for e in entries}
    open_events = [e for e in registration.open_events(now=now_utc()) if e.id not in mine]
    return render_template("competitions/my_entries.html", entries=entries, open_events=open_events,
                           results=results.results_by_entry([e.id for e in entries]), form=ActionForm())


@bp.get("/events/<code>")
@public
def event(code: str):
    """An event's public page: rules, dates, places left, and registration for the signed-in learner."""
    event = _event_by_code(code)
    if event.status == "setup" and not (current_user.is_authenticated and current_user.is_admin):
        abort(404)
    now = now_utc()
    mine = problems = None
    if current_user.is_authenticated:
        mine = registration.get_entry(event, current_user)
        problems = registration.eligibility_problems(current_user, event, now=now)
    return render_template("competitions/event.html", event=event, mine=mine, problems=problems,
                           is_open=registration.is_registration_open(event, now=now),
                           places_left=registration.places_left(event), form=ActionForm())


@bp.post("/events/<code>/register")
@login_required
def register(code: str):
    """The signed-in learner registers for the event (eligibility reasons are shown if refused)."""
    event = _event_by_code(code)
    if ActionForm().validate_on_submit():
        try:
            entry = registration.register(current_user, event)
        except DomainError as exc:
            db.session.rollback()
            flash(str(exc), "error")
            return redirect(url_for("competitions.event", code=event.public_code))
        db.session.commit()
        flash(_("报名成功，请等待审核。") if entry.status == "pending" else _("报名成功！"), "success")
    return redirect(url_for("competitions.my_entries"))


@bp.post("/entries/<code>/withdraw")
@login_required
def withdraw(code: str):
    """The contestant withdraws their own registration (an administrator may do it for them)."""
    entry = db.session.scalar(select(Entry).where(Entry.code == code)) or abort(404)
    if not current_user.is_admin:
        require_owner(current_user, entry.learner_id)
    form = ReasonForm()
    if form.validate_on_submit():
        try:
            registration.withdraw_entry(entry, actor=current_user, reason=form.reason.data or "")
        except DomainError as exc:
            db.session.rollback()
            flash(str(exc), "error")
        else:
            db.session.commit()
            flash(_("已退赛"), "info")
    if current_user.is_admin and entry.learner_id != current_user.id:
        return redirect(url_for("competitions.entries", event_id=entry.event_id))
    return redirect(url_for("competitions.my_entries"))


@bp.get("/events/<code>/results")
@public
def board(code: str):
    """The public results board (phone-first): rank, number, masked name, platform, total, award."""
    event = _event_by_code(code)
    if event.status == "setup":
        abort(404)
    return render_template("competitions/board.html", event=event, rows=results.board_rows(event))


# --- judges ---------------------------------------------------------------------------------

@bp.get("/judge/events/<int:event_id>")
@roles_required(Role.JUDGE)
def judge_event(event_id: int):
    """A judge's list of contestants, by drawn number only, with the state of their own sheets."""
    event = _judge_event(event_id)
    rows = judging.judge_board(event, current_user)
    assignment = services.assignment_of(event, current_user)
    return render_template("competitions/judge_event.html", event=event, rows=rows, assignment=assignment,
                           problems=marking.scheme_problems(event))


def _render_sheet(event: Event, entry: Entry, *, errors: dict | None = None, typed: dict | None = None):
    """The score sheet page (numbers only), or back to the list when the judge may not mark."""
    try:
        sheet = judging.open_sheet(event, current_user, entry)
    except DomainError as exc:
        db.session.rollback()
        flash(str(exc), "error")
        return redirect(url_for("competitions.judge_event", event_id=event.id))
    return render_template("competitions/score_sheet.html", event=event, sheet=sheet, errors=errors or {},
                           typed=typed, locked=bool(event.locked_at), recusal_form=RecusalForm()), \
        422 if errors else 200


@bp.get("/judge/events/<int:event_id>/sheets/<code>")
@roles_required(Role.JUDGE)
def score_sheet(event_id: int, code: str):
    """One contestant's score sheet, by drawn number: every aspect of the marking scheme."""
    event = _judge_event(event_id)
    return _render_sheet(event, _entry_code(event, code))


@bp.post("/judge/events/<int:event_id>/sheets/<code>")
@roles_required(Role.JUDGE)
def save_sheet(event_id: int, code: str):
    """Save the marks as a draft (``action=draft``) or submit them (``action=submit``)."""
    event = _judge_event(event_id)
    entry = _entry_code(event, code)
    typed = {a.id: request.form.get(f"a-{a.id}", "") for a in marking.scheme_aspects(event)}
    submit = request.form.get("action") == "submit"
    try:
        judging.save_sheet(event, current_user, entry, typed, submit=submit)
    except judging.InvalidScores as exc:
        db.session.rollback()
        flash(str(exc), "error")
        return _render_sheet(event, entry, errors=exc.errors, typed=typed)
    except DomainError as exc:
        db.session.rollback()
        flash(str(exc), "error")
        return redirect(url_for("competitions.judge_event", event_id=event.id))
    db.session.commit()
    flash(_("%(n)s号评分已提交", n=entry.number_label) if submit else _("草稿已保存"), "success")
    return redirect(url_for("competitions.judge_event", event_id=event.id) if submit
                    else url_for("competitions.score_sheet", event_id=event.id, code=code))


@bp.post("/judge/events/<int:event_id>/sheets/<code>/recuse")
@roles_required(Role.JUDGE)
def recuse(event_id: int, code: str):
    """The judge declares a recusal for the contestant with this number (relation and reason)."""
    event = _judge_event(event_id)
    entry = _entry_code(event, code)
    form = RecusalForm()
    if form.validate_on_submit():
        try:
            services.declare_recusal(event, current_user, entry, form.relation.data, form.reason.data,
                                     actor=current_user)
        except DomainError as exc:
            db.session.rollback()
            flash(str(exc), "error")
        else:
            db.session.commit()
            flash(_("已登记回避：您不再为%(n)s号选手评分", n=entry.number_label), "success")
    else:
        flash(_("请写明回避理由"), "error")
    return redirect(url_for("competitions.judge_event", event_id=event.id))


@bp.get("/judge/events/<int:event_id>/progress")
@roles_required(Role.JUDGE, Role.ADMIN)
def progress(event_id: int):
    """The chief judge's check: completeness per number × judge × aspect, wide spreads, lock."""
    event = _judge_event(event_id, chief=True)
    return render_template("competitions/progress.html", event=event, state=judging.progress(event),
                           is_chief=services.is_chief(event, current_user), form=ActionForm(),
                           reason_form=ReasonForm())


@bp.post("/judge/events/<int:event_id>/lock")
@roles_required(Role.JUDGE)
def lock(event_id: int):
    """The chief judge locks the event's scores (refused with the list of what is missing)."""
    event = _judge_event(event_id, chief=True)
    if ActionForm().validate_on_submit():
        try:
            judging.lock_scores(event, actor=current_user)
        except DomainError as exc:
            db.session.rollback()
            flash(str(exc), "error")
        else:
            db.session.commit()
            flash(_("成绩已锁定"), "success")
    return redirect(url_for("competitions.progress", event_id=event.id))


@bp.post("/judge/events/<int:event_id>/unlock")
@roles_required(Role.JUDGE)
def unlock(event_id: int):
    """The chief judge unlocks the scores with a written reason (logged)."""
    event = _judge_event(event_id, chief=True)
    form = ReasonForm()
    if form.validate_on_submit():
        try:
            judging.unlock_scores(event, form.reason.data or "", actor=current_user)
        except DomainError as exc:
            db.session.rollback()
            flash(str(exc), "error")
        else:
            db.session.commit()
            flash(_("成绩已解锁，修改后请重新锁定"), "warning")
    return redirect(url_for("competitions.progress", event_id=event.id))


def _render_times(event: Event, errors: dict | None = None):
    rows = [{"code": e.code, "number": e.number_label, "seconds": e.time_used_seconds}
            for e in judging.present_entries(event)]
    return render_template("competitions/times.html", event=event, rows=rows, errors=errors or {}), \
        422 if errors else 200


@bp.get("/judge/events/<int:event_id>/times")
@roles_required(Role.JUDGE, Role.ADMIN)
def times(event_id: int):
    """The chief judge's table of time used (用时) by drawn number."""
    return _render_times(_judge_event(event_id, chief=True))


@bp.post("/judge/events/<int:event_id>/times")
@roles_required(Role.JUDGE, Role.ADMIN)
def save_times(event_id: int):
    """Save the times typed as 分:秒 (``t-<code>`` fields); nothing is saved if one is malformed."""
    event = _judge_event(event_id, chief=True)
    typed = {k[2:]: v for k, v in request.form.items() if k.startswith("t-")}
    try:
        changed = judging.record_times(event, typed, actor=current_user)
    except judging.InvalidScores as exc:
        db.session.rollback()
        flash(str(exc), "error")
        return _render_times(event, exc.errors)
    except DomainError as exc:
        db.session.rollback()
        flash(str(exc), "error")
    else:
        db.session.commit()
        flash(_("已保存 %(n)s 个用时", n=changed), "success")
    return redirect(url_for("competitions.times", event_id=event.id))


from academy.competitions import admin_views  # noqa: E402,F401  (registers the administrators' pages)
