"""Catalogue pages: the public, phone-first catalogue and cohort page; course and cohort upkeep."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user
from markupsafe import Markup
from sqlalchemy import select

from academy.accounts.models import Role, User, UserRole
from academy.accounts.permissions import admin_required, public
from academy.catalogue import importer, services
from academy.catalogue.forms import CatalogueFilterForm, CohortForm, CourseForm, CourseUploadForm
from academy.catalogue.models import Cohort, Course
from academy.common.spreadsheets import read_upload
from academy.common.timeutil import local_zone, now_utc, to_local
from academy.enrolment import services as enrolment_services
from academy.enrolment.forms import CapacityForm  # noqa: F401 (cohort page)
from academy.errors import DomainError
from academy.extensions import cache, db

bp = Blueprint("catalogue", __name__, url_prefix="/courses")


@bp.get("/")
@public
def index():
    """Search and filter cohorts by keyword, occupation, mode, district and time of day."""
    form = CatalogueFilterForm(request.args)
    occupations, districts = services.filter_choices()
    form.occupation.choices = [("", _("全部工种"))] + [(o, o) for o in occupations]
    form.district.choices = [("", _("全部地区"))] + [(d, _(d)) for d in districts]
    query = services.CatalogueQuery(
        keyword=(form.q.data or "").strip()[:40],
        occupation=form.occupation.data or "",
        delivery_mode=form.mode.data or "",
        district=form.district.data or "",
        time_of_day=form.time.data or "",
        open_only=bool(form.open.data),
        page=request.args.get("page", 1, type=int),
    )
    args = {k: v for k, v in request.args.items() if k != "page"}
    key = services.listing_cache_key({**args, "page": str(query.page)}, str(get_locale()))
    listing = cache.get(key)
    if listing is None:
        now = now_utc()
        pagination = services.search_cohorts(query, now=now)
        open_ids = {c.id for c in pagination.items if services.is_open_for_enrolment(c, now=now)}
        listing = render_template("catalogue/_listing.html", pagination=pagination, open_ids=open_ids,
                                  args=args, now=now)
        cache.set(key, listing, timeout=services.LISTING_CACHE_SECONDS)
    return render_template("catalogue/index.html", form=form, listing=Markup(listing),  # noqa: S704 - our own render
                           filtered=any(args.values()))


@bp.get("/cohorts/<code>")
@public
def cohort(code: str):
    """One cohort: course facts, schedule, place, seats left, and the learner's own status."""
    cohort = db.session.scalar(select(Cohort).where(Cohort.code == code)) or abort(404)
    if not cohort.course.is_published and not current_user.is_staff:
        abort(404)
    now = now_utc()
    mine = position = None
    if current_user.is_authenticated:
        mine = enrolment_services.get_enrolment(current_user.id, cohort.id)
        position = enrolment_services.waitlist_position(mine) if mine else None
    return render_template("catalogue/cohort.html", cohort=cohort, course=cohort.course, mine=mine,
                           position=position, is_open=services.is_open_for_enrolment(cohort, now=now),
                           capacity_form=CapacityForm(capacity=cohort.capacity), now=now)


# --- administration --------------------------------------------------------------------

@bp.get("/manage")
@admin_required
def manage():
    """Administrators see every course with its current cohorts and the latest few others
    (``?course=<id>``: one course with all its cohorts)."""
    course_id = request.args.get("course", type=int)
    overview = services.manage_overview(course_id=course_id)
    if course_id and not overview.courses:
        abort(404)
    return render_template("catalogue/manage.html", overview=overview, course_id=course_id)


def _course_values(form: CourseForm) -> dict:
    return {
        "code": form.code.data, "title": form.title.data.strip(), "occupation": form.occupation.data.strip(),
        "occupation_code": (form.occupation_code.data or "").strip() or None,
        "level": (form.level.data or "").strip() or None, "hours": form.hours.data,
        "delivery_mode": form.delivery_mode.data, "fee": form.fee.data or Decimal(0),
        "subsidy": form.subsidy.data or Decimal(0), "description": form.description.data or None,
        "is_published": form.is_published.data,
    }


@bp.route("/manage/courses/new", methods=["GET", "POST"])
@bp.route("/manage/courses/<int:course_id>", methods=["GET", "POST"])
@admin_required
def edit_course(course_id: int | None = None):
    """Create or edit a course."""
    course = (db.session.get(Course, course_id) or abort(404)) if course_id else None
    form = CourseForm(obj=course)
    if form.validate_on_submit():
        try:
            course = services.save_course(course, _course_values(form), actor=current_user)
        except DomainError as exc:
            db.session.rollback()
            form.form_errors.append(str(exc))
        else:
            db.session.commit()
            flash(_("课程已保存"), "success")
            return redirect(url_for("catalogue.manage"))
    return render_template("catalogue/edit_course.html", form=form, course=course)


def _instructor_choices() -> list[tuple[int, str]]:
    rows = db.session.scalars(
        select(User).join(UserRole).where(UserRole.role == Role.INSTRUCTOR).order_by(User.name)
    ).all()
    return [(u.id, u.name) for u in rows]


def _aware(value: datetime | None) -> datetime | None:
    return value.replace(tzinfo=local_zone()) if value else None


@bp.route("/manage/cohorts/new", methods=["GET", "POST"])
@bp.route("/manage/cohorts/<int:cohort_id>", methods=["GET", "POST"])
@admin_required
def edit_cohort(cohort_id: int | None = None):
    """Create or edit a cohort (times entered in Asia/Shanghai)."""
    cohort = (db.session.get(Cohort, cohort_id) or abort(404)) if cohort_id else None
    form = CohortForm(obj=cohort)
    form.course_id.choices = [(c.id, f"{c.code} {c.title}") for c in
                              db.session.scalars(select(Course).order_by(Course.code))]
    form.instructor_ids.choices = _instructor_choices()
    if request.method == "GET":
        if cohort:
            form.schedule.data = cohort.schedule_text
            form.instructor_ids.data = [i.id for i in cohort.instructors]
            form.attendance_threshold.data = int(cohort.attendance_threshold * 100)
            for name in ("enrolment_opens_at", "enrolment_closes_at"):
                value = getattr(cohort, name)
                getattr(form, name).data = to_local(value).replace(tzinfo=None) if value else None
        elif request.args.get("course_id", type=int):
            form.course_id.data = request.args.get("course_id", type=int)
    if cohort:
        form.capacity.render_kw = {"readonly": True}
    if form.validate_on_submit():
        values = {
            "code": form.code.data, "name": form.name.data.strip(), "start_date": form.start_date.data,
            "end_date": form.end_date.data, "place": (form.place.data or "").strip() or None,
            "district": form.district.data or None, "approval_required": form.approval_required.data,
            "status": form.status.data, "excused_policy": form.excused_policy.data,
            "attendance_threshold": Decimal(form.attendance_threshold.data) / 100,
            "enrolment_opens_at": _aware(form.enrolment_opens_at.data),
            "enrolment_closes_at": _aware(form.enrolment_closes_at.data),
        }
        if cohort is None:
            values["capacity"] = form.capacity.data
        instructors = [db.session.get(User, i) for i in form.instructor_ids.data]
        try:
            course = db.session.get(Course, form.course_id.data) if cohort is None else None
            cohort = services.save_cohort(cohort, values, actor=current_user, course=course,
                                          instructors=[i for i in instructors if i], schedule=form.schedule.data)
        except DomainError as exc:
            db.session.rollback()
            form.form_errors.append(str(exc))
        else:
            db.session.commit()
            flash(_("班级已保存"), "success")
            return redirect(url_for("catalogue.cohort", code=cohort.code))
    return render_template("catalogue/edit_cohort.html", form=form, cohort=cohort)


# --- import ----------------------------------------------------------------------------

@bp.route("/manage/import", methods=["GET", "POST"])
@admin_required
def import_courses():
    """Upload the course catalogue (.xlsx/.csv): every row is checked and reported; nothing is
    written when a row fails unless "skip invalid rows" is ticked; "check only" writes nothing.
    The file is read from the request and dropped (never kept in the session or on disk)."""
    form = CourseUploadForm()
    report = None
    if form.validate_on_submit():
        upload = form.file.data
        try:
            data = read_upload(upload.stream, upload.filename)
            report = importer.import_courses(data, filename=upload.filename, actor=current_user,
                                             dry_run=form.dry_run.data, skip_invalid=form.skip_invalid.data)
        except DomainError as exc:
            db.session.rollback()
            form.file.errors = [*form.file.errors, str(exc)]
        else:
            if report.written:
                db.session.commit()
            else:  # refused or a dry run: nothing to keep
                db.session.rollback()
    return render_template("catalogue/import_courses.html", form=form, report=report)
