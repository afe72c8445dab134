"""Account pages: login, logout, registration, profile, password; staff and user administration."""

from __future__ import annotations

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_user, logout_user
from sqlalchemy import or_, select
from sqlalchemy.orm import selectinload

from academy.accounts import services
from academy.accounts.forms import (
    ActivationForm,
    LoginForm,
    PasswordChangeForm,
    PasswordResetForm,
    ProfileForm,
    RegisterForm,
    RoleForm,
    StaffCreateForm,
)
from academy.accounts.models import Role, User, UserRole
from academy.accounts.permissions import admin_required, login_required, public
from academy.common.timeutil import now_utc
from academy.common.urls import safe_next
from academy.errors import DomainError
from academy.extensions import db

bp = Blueprint("accounts", __name__, url_prefix="/account")


def _profile_from(form) -> services.Profile:
    return services.Profile(
        id_number=form.id_number.data,
        district=form.district.data,
        occupation_group=form.occupation_group.data,
        platform=form.platform.data,
        education=form.education.data,
        political_status=form.political_status.data,
    )


@bp.route("/login", methods=["GET", "POST"])
@public
def login():
    """Sign in by mobile number; ``next`` is followed only when it points inside the site."""
    next_url = safe_next(request.values.get("next"))
    if current_user.is_authenticated:
        return redirect(next_url or url_for("main.index"))
    form = LoginForm()
    if form.validate_on_submit():
        try:
            user = services.authenticate(form.mobile.data, form.password.data, address=request.remote_addr)
        except DomainError as exc:
            db.session.commit()  # keep the audit row of the failure
            form.password.errors.append(str(exc))
        else:
            user.last_login_at = now_utc()
            db.session.commit()
            login_user(user, remember=form.remember.data)
            return redirect(next_url or url_for("main.index"))
    return render_template("accounts/login.html", form=form, next_url=next_url)


@bp.post("/logout")
@login_required
def logout():
    """Sign out and invalidate remember-me cookies of this account."""
    current_user.session_version += 1
    db.session.commit()
    logout_user()
    flash(_("已退出登录"), "info")
    return redirect(url_for("main.index"))


@bp.route("/register", methods=["GET", "POST"])
@public
def register():
    """Learner self-registration with mobile number, real name and password."""
    next_url = safe_next(request.values.get("next"))
    if current_user.is_authenticated:
        return redirect(next_url or url_for("main.index"))
    form = RegisterForm()
    if form.validate_on_submit():
        try:
            user = services.register_learner(form.mobile.data, form.name.data, form.password.data,
                                             _profile_from(form))
        except DomainError as exc:
            db.session.rollback()
            _field_error(form, exc)
        else:
            db.session.commit()
            login_user(user)
            flash(_("注册成功，欢迎来到学院！"), "success")
            return redirect(next_url or url_for("catalogue.index"))
    return render_template("accounts/register.html", form=form, next_url=next_url)


@bp.route("/activate", methods=["GET", "POST"])
@public
def activate():
    """First sign-in of a learner imported by the academy: mobile, ID tail and a new password."""
    if current_user.is_authenticated:
        return redirect(url_for("main.index"))
    form = ActivationForm()
    if form.validate_on_submit():
        try:
            user = services.activate_account(form.mobile.data, form.id_tail.data, form.password.data)
        except services.ActivationFailed as exc:
            db.session.commit()  # keep the audit row of the failed attempt
            form.form_errors.append(str(exc))
        except DomainError as exc:  # the details matched but the new password breaks a rule
            db.session.rollback()
            form.password.errors.append(str(exc))
        else:
            user.last_login_at = now_utc()
            db.session.commit()
            login_user(user)
            flash(_("账号已激活，欢迎来到学院！"), "success")
            return redirect(url_for("enrolment.my_courses"))
    return render_template("accounts/activate.html", form=form)


def _field_error(form, exc: DomainError) -> None:
    """Attach a service error to the field it is about (by keyword), else to the form."""
    text = str(exc)
    for keyword, field in (("身份证", "id_number"), ("姓名", "name"), ("密码", "password"), ("手机", "mobile"),
                           ("所在县", "district"), ("从业类型", "occupation_group"), ("文化程度", "education"),
                           ("政治面貌", "political_status")):
        if keyword in text and hasattr(form, field):
            getattr(form, field).errors.append(text)
            return
    form.form_errors.append(text)


@bp.route("/profile", methods=["GET", "POST"])
@login_required
def profile():
    """A person edits their own profile."""
    form = ProfileForm(obj=current_user)
    if request.method == "GET":
        form.id_number.data = None  # never echo the full ID number into the page
    if form.validate_on_submit():
        try:
            services.apply_profile(current_user, _profile_from(form))
        except DomainError as exc:
            db.session.rollback()
            _field_error(form, exc)
        else:
            db.session.commit()
            flash(_("资料已保存"), "success")
            return redirect(url_for("accounts.profile"))
    return render_template("accounts/profile.html", form=form)


@bp.route("/password", methods=["GET", "POST"])
@login_required
def change_password():
    """Change one's own password; other sessions and remember-me cookies stop working."""
    form = PasswordChangeForm()
    if form.validate_on_submit():
        try:
            services.change_password(current_user, form.current.data, form.new.data)
        except DomainError as exc:
            db.session.rollback()
            (form.current if "当前" in str(exc) else form.new).errors.append(str(exc))
        else:
            db.session.commit()
            # re-issue this browser's session (and its remember-me cookie, if it had one) with the new version
            had_cookie = current_app.config.get("REMEMBER_COOKIE_NAME", "remember_token") in request.cookies
            login_user(current_user._get_current_object(), remember=had_cookie)  # the user, not the proxy
            flash(_("密码已修改，其他设备上的登录已退出"), "success")
            return redirect(url_for("accounts.profile"))
    return render_template("accounts/password.html", form=form)


# --- administration ----------------------------------------------------------------

@bp.get("/users")
@admin_required
def users():
    """Administrators list people by role, searchable by name or mobile number."""
    role = request.args.get("role", "")
    q = request.args.get("q", "").strip()
    page = max(request.args.get("page", 1, type=int), 1)
    stmt = select(User).options(selectinload(User.roles)).order_by(User.id.desc())
    if role in {r.value for r in Role}:
        stmt = stmt.where(User.id.in_(select(UserRole.user_id).where(UserRole.role == role)))
    if q:
        stmt = stmt.where(or_(User.name.contains(q, autoescape=True), User.mobile.contains(q, autoescape=True),
                              User.id_number == q.upper()))
    pagination = db.paginate(stmt, page=page, per_page=50, error_out=False)
    return render_template("accounts/users.html", pagination=pagination, role=role, q=q,
                           create_form=StaffCreateForm())


@bp.post("/users/new")
@admin_required
def create_staff():
    """Create an instructor, administrator or judge account."""
    form = StaffCreateForm()
    if form.validate_on_submit():
        try:
            user = services.create_staff(form.mobile.data, form.name.data, form.password.data,
                                         [Role(r) for r in form.roles.data], actor=current_user)
        except DomainError as exc:
            db.session.rollback()
            flash(str(exc), "error")
        else:
            db.session.commit()
            flash(_("已创建账号：%(name)s", name=user.name), "success")
            return redirect(url_for("accounts.user_detail", user_id=user.id))
    else:
        for errors in form.errors.values():
            for e in errors:
                flash(str(e), "error")
    return redirect(url_for("accounts.users"))


@bp.get("/users/<int:user_id>")
@admin_required
def user_detail(user_id: int):
    """One person's account for an administrator: roles, password reset."""
    user = db.session.get(User, user_id) or abort(404)
    return render_template("accounts/user_detail.html", user=user, reset_form=PasswordResetForm(),
                           role_form=RoleForm())


@bp.post("/users/<int:user_id>/password")
@admin_required
def reset_password(user_id: int):
    """An administrator sets a new password for the person."""
    user = db.session.get(User, user_id) or abort(404)
    form = PasswordResetForm()
    if form.validate_on_submit():
        try:
            services.reset_password(user, form.password.data, actor=current_user)
        except DomainError as exc:
            db.session.rollback()
            flash(str(exc), "error")
        else:
            db.session.commit()
            flash(_("密码已重置，请把新密码告诉本人"), "success")
    return redirect(url_for("accounts.user_detail", user_id=user.id))


@bp.post("/users/<int:user_id>/roles")
@admin_required
def change_role(user_id: int):
    """Grant or revoke one role."""
    user = db.session.get(User, user_id) or abort(404)
    form = RoleForm()
    if form.validate_on_submit():
        try:
            if form.grant.data:
                services.grant_role(user, Role(form.role.data), actor=current_user)
            else:
                services.revoke_role(user, Role(form.role.data), actor=current_user)
        except DomainError as exc:
            db.session.rollback()
            flash(str(exc), "error")
        else:
            db.session.commit()
            flash(_("角色已更新"), "success")
    return redirect(url_for("accounts.user_detail", user_id=user.id))
