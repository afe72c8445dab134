"""Privacy pages: see a person's full data once, export one person's data, anonymise an account
(HTTP only; the rules are in privacy/services.py)."""

from __future__ import annotations

from flask import Blueprint, Response, abort, flash, make_response, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user

from academy.accounts.permissions import admin_required, login_required, staff_required
from academy.common.spreadsheets import XLSX_MIMETYPE
from academy.errors import DomainError
from academy.extensions import db
from academy.privacy import services
from academy.privacy.forms import AnonymiseForm, ExportForm, UnmaskForm

bp = Blueprint("privacy", __name__, url_prefix="/privacy")
MIMETYPES = {"xlsx": XLSX_MIMETYPE, "json": "application/json"}


def _person_or_404(user_id: int):
    return services.get_person(user_id) or abort(404)


def _back(person) -> str:
    if current_user.is_admin:
        return url_for("accounts.user_detail", user_id=person.id)
    return url_for("main.staff_home")


def _download(export: services.Export) -> Response:
    return Response(export.data, mimetype=MIMETYPES[export.fmt], headers={
        "Content-Disposition": f"attachment; filename={export.filename}", "Cache-Control": "no-store"})


@bp.post("/people/<int:user_id>/unmask")
@staff_required
def unmask(user_id: int):
    """Show the person's full name, mobile and ID number once (audited); never cached."""
    person = _person_or_404(user_id)
    if not services.can_unmask(current_user, person):
        abort(403)
    form = UnmaskForm()
    try:
        shown = services.unmask(person, actor=current_user, reason=form.reason.data)
    except DomainError as exc:
        db.session.rollback()
        flash(str(exc), "error")
        return redirect(_back(person))
    db.session.commit()
    response = make_response(render_template("privacy/unmasked.html", person=person, shown=shown,
                                             back=_back(person)))
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.post("/people/<int:user_id>/export")
@admin_required
def export(user_id: int):
    """Everything the academy holds about one person, as .xlsx or JSON (audited)."""
    person = _person_or_404(user_id)
    form = ExportForm()
    if not form.validate_on_submit():
        flash(_("请选择导出格式"), "error")
        return redirect(_back(person))
    result = services.export_personal_data(person, actor=current_user, fmt=form.fmt.data)
    db.session.commit()
    return _download(result)


@bp.post("/my/export")
@login_required
def my_export():
    """The signed-in person downloads their own data (published results only; audited)."""
    form = ExportForm()
    if not form.validate_on_submit():
        flash(_("请选择导出格式"), "error")
        return redirect(url_for("accounts.profile"))
    result = services.export_personal_data(current_user, actor=current_user, fmt=form.fmt.data)
    db.session.commit()
    return _download(result)


@bp.route("/people/<int:user_id>/anonymise", methods=["GET", "POST"])
@admin_required
def anonymise(user_id: int):
    """Confirm and anonymise an account (PIPL deletion): what changes and what stays is on the page."""
    person = _person_or_404(user_id)
    form = AnonymiseForm()
    if form.validate_on_submit():
        try:
            services.anonymise(person, reason=form.reason.data, actor=current_user)
        except DomainError as exc:
            db.session.rollback()
            form.form_errors.append(str(exc))
        else:
            db.session.commit()
            flash(_("账号已注销，个人信息已删除；已发证书仍可查验"), "success")
            return redirect(url_for("accounts.user_detail", user_id=person.id))
    return render_template("privacy/anonymise.html", person=person, form=form,
                           anonymised=services.is_anonymised(person))
