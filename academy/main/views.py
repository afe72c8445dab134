"""Home page, language switch and health endpoints."""

from __future__ import annotations

import os

from flask import Blueprint, current_app, redirect, render_template, request, url_for
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import select, text

from academy.accounts.models import Role
from academy.accounts.permissions import public, staff_required
from academy.catalogue.models import Cohort, CohortStatus, cohort_instructors
from academy.common.urls import safe_next
from academy.extensions import db
from academy.i18n import LANG_COOKIE
from academy.templating import nav_url

bp = Blueprint("main", __name__)

# Per-cohort tools that modules provide (endpoint taking ``cohort_id``, button label).
# A module that is not registered simply has no button (see templating.nav_url).
COHORT_LINKS = (
    {"endpoint": "attendance.cohort_sessions", "label": _l("课次与签到")},
    {"endpoint": "exams.cohort_assessments", "label": _l("考核成绩")},
    {"endpoint": "certificates.cohort_certificates", "label": _l("证书")},
)
# Site-wide staff tools: (endpoint, title, description, button label, admin only).
MODULE_LINKS = (
    ("certificates.manage", _l("证书"), _l("发证、批量打印、作废与补发"), _l("证书管理"), True),
    ("degrees.board", _l("学历提升"), _l("成人高考、自考、国开的学员进度"), _l("学历提升"), True),
    ("competitions.index", _l("虔能杯"), _l("竞赛届次、赛项、裁判与成绩"), _l("竞赛管理"), False),
    ("reports.dashboard", _l("统计报表"), _l("培训人数、出勤率、合格率、证书"), _l("查看报表"), True),
)
ACTIVE_COHORT_STATUSES = (CohortStatus.PLANNED, CohortStatus.OPEN, CohortStatus.RUNNING)


@bp.get("/")
@public
def index():
    """Home: learners go to their courses, staff to their work, visitors to the catalogue."""
    if current_user.is_authenticated:
        if current_user.is_staff:
            return redirect(url_for("main.staff_home"))
        if current_user.has_role(Role.JUDGE) and not current_user.is_learner:
            return redirect(url_for("competitions.index"))
        return redirect(url_for("enrolment.my_courses"))
    return redirect(url_for("catalogue.index"))


@bp.get("/staff")
@staff_required
def staff_home():
    """Landing page for instructors and administrators: their cohorts and each module's tools."""
    stmt = select(Cohort).where(Cohort.status.in_(ACTIVE_COHORT_STATUSES)).order_by(Cohort.start_date)
    if not current_user.is_admin:
        stmt = stmt.join(cohort_instructors).where(cohort_instructors.c.user_id == current_user.id)
    my_cohorts = db.session.scalars(stmt.limit(100)).all()
    staff_links = []
    for endpoint, title, text_, label, admin_only in MODULE_LINKS:
        url = nav_url(endpoint)
        if url and (current_user.is_admin or not admin_only):
            staff_links.append({"url": url, "title": title, "text": text_, "label": label})
    return render_template("main/staff_home.html", my_cohorts=my_cohorts, cohort_links=COHORT_LINKS,
                           staff_links=staff_links)


@bp.get("/help")
@public
def help_page():
    """使用帮助: how to sign in, check in, ask for leave, find results and verify a certificate.

    A pure template (no database query beyond the signed-in user), so benchmarks/pages.py also
    uses it as the static baseline that every page's latency is compared with.
    """
    return render_template("main/help.html")


@bp.post("/language")
@public
def set_language():
    """Switch the interface language (zh_CN / en) with a cookie, then go back."""
    lang = request.form.get("lang", "")
    target = safe_next(request.form.get("next")) or url_for("main.index")
    response = redirect(target)
    if lang in current_app.config["LANGUAGES"]:
        response.set_cookie(LANG_COOKIE, lang, max_age=365 * 24 * 3600, samesite="Lax", httponly=True)
    return response


@bp.get("/healthz")
@public
def healthz():
    """Liveness: the process answers (with its pid, so load tests can see which worker served)."""
    return {"status": "ok", "pid": os.getpid()}


@bp.get("/readyz")
@public
def readyz():
    """Readiness: the database answers."""
    try:
        db.session.execute(text("SELECT 1"))
    except Exception:  # noqa: BLE001 - any failure means not ready
        return {"status": "unavailable"}, 503
    return {"status": "ok"}
