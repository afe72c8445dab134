"""Certificate pages: a cohort's certificates (issue, print), the admin desk (search, batches,
settings, revoke/reissue, recorded level certificates), "my certificates" for learners, and the
public verification page (``verify_bp``: ``/verify`` and ``/verify/<serial>``)."""

from __future__ import annotations

from pathlib import Path

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    send_file,
    url_for,
)
from flask_login import current_user
from sqlalchemy import select

from academy.accounts.permissions import (
    admin_required,
    can_manage_cohort,
    login_required,
    public,
    require_cohort_staff,
    require_owner,
    staff_required,
)
from academy.catalogue.models import Cohort
from academy.certificates import jobs, services
from academy.certificates.forms import (
    ActionForm,
    ExternalLevelForm,
    FileCheckForm,
    IssueForm,
    PrintForm,
    ReissueForm,
    RevokeForm,
    SealForm,
    SelectionForm,
    SettingsForm,
)
from academy.certificates.models import Certificate, PrintJob, PrintJobStatus
from academy.certificates.pdf import safe_filename, startup_check, verification_base_url, verification_url
from academy.certificates.serials import NATIONAL_QUERY_URL, format_code
from academy.common import ratelimit
from academy.errors import DomainError
from academy.extensions import db

bp = Blueprint("certificates", __name__, url_prefix="/certificates")
verify_bp = Blueprint("verify", __name__)
bp.record_once(lambda state: startup_check(state.app))  # say at start-up if the PDF fonts are missing


HISTORY_LABELS = {
    "certificate.issued": "颁发", "certificate.revoked": "作废", "certificate.reissued": "补发新证",
    "certificate.pdf_mismatch": "存档 PDF 与记录不符，已重新生成", "certificate.pdf_rerendered": "重新生成 PDF",
}


def _cohort_or_404(cohort_id: int) -> Cohort:
    return db.session.get(Cohort, cohort_id) or abort(404)


def _certificate_or_404(certificate_id: int) -> Certificate:
    return db.session.get(Certificate, certificate_id) or abort(404)


def _job_or_404(job_id: int) -> PrintJob:
    return db.session.get(PrintJob, job_id) or abort(404)


def _pdf_response(data: bytes, filename: str, *, inline: bool = False) -> Response:
    disposition = "inline" if inline else "attachment"
    return Response(data, mimetype="application/pdf",
                    headers={"Content-Disposition": f'{disposition}; filename="{filename}"',
                             "Cache-Control": "private, no-store"})


# --- a cohort's certificates (staff) ----------------------------------------------------------


@bp.get("/cohorts/<int:cohort_id>")
@staff_required
def cohort_certificates(cohort_id: int):
    """Who in the cohort gets a certificate and why not; issue and print buttons for admins."""
    cohort = _cohort_or_404(cohort_id)
    require_cohort_staff(current_user, cohort)
    form = IssueForm(kind=request.args.get("kind", "completion"))
    settings = services.get_settings()
    form.skill_unit.choices = [(u, u) for u in settings.authorised_units or []]
    rows = services.cohort_eligibility(cohort, kind=form.kind.data, skill_unit=form.skill_unit.data or (
        settings.authorised_units[0] if form.kind.data == "special" and settings.authorised_units else None))
    issued = services.cohort_print_order(cohort)
    recent_jobs = db.session.scalars(select(PrintJob).where(PrintJob.cohort_id == cohort.id)
                                     .order_by(PrintJob.id.desc()).limit(5)).all()
    return render_template("certificates/cohort.html", cohort=cohort, rows=rows, form=form, settings=settings,
                           issued=issued, print_form=PrintForm(), jobs=recent_jobs)


@bp.post("/cohorts/<int:cohort_id>/issue")
@admin_required
def issue(cohort_id: int):
    """Issue certificates to every eligible learner of the cohort, or to one (``learner_id``)."""
    cohort = _cohort_or_404(cohort_id)
    form = IssueForm()
    form.skill_unit.choices = [(u, u) for u in services.get_settings().authorised_units or []]
    if form.validate_on_submit():
        only = [int(form.learner_id.data)] if (form.learner_id.data or "").isdigit() else None
        try:
            report = services.issue_for_cohort(cohort, actor=current_user, kind=form.kind.data,
                                               skill_unit=form.skill_unit.data or None, learner_ids=only)
        except DomainError as exc:
            db.session.rollback()
            flash(str(exc), "error")
        else:
            db.session.commit()
            flash(f"新发证书 {len(report.issued)} 张；已有证书 {len(report.existing)} 人；未发 {len(report.refused)} 人",
                  "success" if report.issued or not report.refused else "warning")
            for learner, reason in report.unprintable:
                flash(f"{learner.name}：{reason}", "error")
    return redirect(url_for("certificates.cohort_certificates", cohort_id=cohort.id, kind=form.kind.data))


@bp.post("/cohorts/<int:cohort_id>/print")
@admin_required
def print_cohort(cohort_id: int):
    """Start a background print of the cohort's valid certificates (one PDF or a ZIP)."""
    cohort = _cohort_or_404(cohort_id)
    form = PrintForm()
    if not form.validate_on_submit():
        return redirect(url_for("certificates.cohort_certificates", cohort_id=cohort.id))
    try:
        job = services.create_print_job(services.cohort_print_order(cohort), actor=current_user,
                                        output=form.output.data, label=cohort.name, cohort=cohort)
    except DomainError as exc:
        db.session.rollback()
        flash(str(exc), "error")
        return redirect(url_for("certificates.cohort_certificates", cohort_id=cohort.id))
    db.session.commit()
    jobs.enqueue(job)
    return redirect(url_for("certificates.job", job_id=job.id))


# --- admin desk --------------------------------------------------------------------------------


@bp.get("/manage")
@admin_required
def manage():
    """Search certificates, print a selection, recent batches, record outside level certificates."""
    query = request.args.get("q", "")
    results = services.search(query, limit=current_app.config.get("PAGE_SIZE", 20))
    recent_jobs = db.session.scalars(select(PrintJob).order_by(PrintJob.id.desc()).limit(10)).all()
    return render_template("certificates/manage.html", query=query, results=results, jobs=recent_jobs,
                           counts=services.counts_by_status(), selection_form=SelectionForm(),
                           external_form=ExternalLevelForm(), settings=services.get_settings())


@bp.post("/print")
@admin_required
def print_selection():
    """Start a background print of the ticked certificates, in the order they were listed."""
    form = SelectionForm()
    ids = [int(i) for i in request.form.getlist("certificate_id") if i.isdigit()]
    if not form.validate_on_submit() or not ids:
        flash("请先勾选要打印的证书", "error")
        return redirect(url_for("certificates.manage"))
    try:
        job = services.create_print_job(services.certificates_in_order(ids), actor=current_user,
                                        output=form.output.data, label=f"选中的 {len(ids)} 张证书")
    except DomainError as exc:
        db.session.rollback()
        flash(str(exc), "error")
        return redirect(url_for("certificates.manage"))
    db.session.commit()
    jobs.enqueue(job)
    return redirect(url_for("certificates.job", job_id=job.id))


@bp.route("/settings", methods=["GET", "POST"])
@admin_required
def settings():
    """Issuer name, serial prefixes, authorised skill units, evaluation-organisation codes, seal."""
    current = services.get_settings()
    form = SettingsForm(obj=current)
    if request.method == "GET":
        form.authorised_units.data = "\n".join(current.authorised_units or [])
    elif form.validate_on_submit():
        data = services.SettingsInput(**{k: form[k].data or "" for k in (
            "issuer_name", "completion_title", "completion_prefix", "special_prefix", "award_prefix",
            "evaluation_org_name", "org_type", "org_code", "province_code", "site_code")},
            authorised_units=(form.authorised_units.data or "").splitlines(),
            is_evaluation_org=form.is_evaluation_org.data)
        try:
            services.update_settings(data, actor=current_user)
        except DomainError as exc:
            db.session.rollback()
            flash(str(exc), "error")
        else:
            db.session.commit()
            flash("证书设置已保存", "success")
            return redirect(url_for("certificates.settings"))
    return render_template("certificates/settings.html", form=form, settings=current, seal_form=SealForm(),
                           remove_form=ActionForm(), default_issuer=current_app.config["ACADEMY_NAME"])


@bp.post("/settings/seal")
@admin_required
def upload_seal():
    """Upload the seal image printed over the issuer's name on new renders."""
    form = SealForm()
    if form.validate_on_submit():
        try:
            services.save_seal(form.seal.data.read(), actor=current_user)
        except DomainError as exc:
            db.session.rollback()
            flash(str(exc), "error")
        else:
            db.session.commit()
            flash("印章已更新；之后生成的证书会印上新印章", "success")
    else:
        flash("请选择印章图片", "error")
    return redirect(url_for("certificates.settings"))


@bp.post("/settings/seal/remove")
@admin_required
def remove_seal():
    """Stop printing a seal image."""
    if ActionForm().validate_on_submit():
        services.remove_seal(actor=current_user)
        db.session.commit()
        flash("已取消印章", "info")
    return redirect(url_for("certificates.settings"))


@bp.get("/settings/seal.png")
@admin_required
def seal_image():
    """The current seal image (preview on the settings page)."""
    relative = services.get_settings().seal_path
    path = Path(current_app.config["STORAGE_PATH"]) / relative if relative else None
    if path is None or not path.is_file():
        abort(404)
    return send_file(path, mimetype="image/png", max_age=0)


@bp.get("/<int:certificate_id>")
@admin_required
def detail(certificate_id: int):
    """One certificate for an administrator: snapshot, state, links, revoke and reissue."""
    certificate = _certificate_or_404(certificate_id)
    from academy.audit.models import AuditEvent

    history = db.session.scalars(select(AuditEvent).where(
        AuditEvent.object_type == "Certificate", AuditEvent.object_id == certificate.id).order_by(AuditEvent.id)).all()
    return render_template("certificates/detail.html", c=certificate, history=history, history_labels=HISTORY_LABELS,
                           revoke_form=RevokeForm(),
                           reissue_form=ReissueForm(), code=format_code(certificate.verification_code),
                           verify_link=verification_url(certificate, verification_base_url()))


@bp.post("/<int:certificate_id>/revoke")
@admin_required
def revoke(certificate_id: int):
    """Revoke a certificate with a reason category and a note; the verify page shows it at once."""
    certificate = _certificate_or_404(certificate_id)
    form = RevokeForm()
    if form.validate_on_submit():
        try:
            services.revoke(certificate, reason=form.reason.data, note=form.note.data, actor=current_user)
        except DomainError as exc:
            db.session.rollback()
            flash(str(exc), "error")
        else:
            db.session.commit()
            flash(f"证书 {certificate.serial} 已作废", "success")
    else:
        flash("请选择作废原因并填写说明", "error")
    return redirect(url_for("certificates.detail", certificate_id=certificate.id))


@bp.post("/<int:certificate_id>/reissue")
@admin_required
def reissue(certificate_id: int):
    """Reissue: a new certificate with a new serial; the old one is marked replaced."""
    certificate = _certificate_or_404(certificate_id)
    form = ReissueForm()
    if form.validate_on_submit():
        try:
            new = services.reissue(certificate, note=form.note.data or "", actor=current_user)
        except DomainError as exc:
            db.session.rollback()
            flash(str(exc), "error")
        else:
            db.session.commit()
            flash(f"已补发新证 {new.serial}；原证书 {certificate.serial} 标记为已补发", "success")
            return redirect(url_for("certificates.detail", certificate_id=new.id))
    return redirect(url_for("certificates.detail", certificate_id=certificate.id))


@bp.post("/external")
@admin_required
def record_external():
    """Record a skill level certificate a learner obtained from an evaluation organisation elsewhere."""
    form = ExternalLevelForm()
    if form.validate_on_submit():
        try:
            learner = services.find_learner(form.learner.data)
            entry = services.record_external_level(
                learner, number=form.number.data, level=form.level.data, occupation=form.occupation.data,
                issuer=form.issuer.data, issued_on=form.issued_on.data, note=form.note.data or "",
                actor=current_user)
        except DomainError as exc:
            db.session.rollback()
            flash(str(exc), "error")
        else:
            db.session.commit()
            flash(f"已登记 {learner.name} 的等级证书 {entry.number}", "success")
    else:
        for errors in form.errors.values():
            for error in errors:
                flash(error, "error")
    return redirect(url_for("certificates.manage"))


# --- print jobs ---------------------------------------------------------------------------------


@bp.get("/jobs/<int:job_id>")
@admin_required
def job(job_id: int):
    """Progress of a batch print (a JS progress bar; without JS a refresh button)."""
    print_job = _job_or_404(job_id)
    return render_template("certificates/job.html", job=print_job, stale=jobs.is_stale(print_job),
                           retry_form=ActionForm())


@bp.get("/jobs/<int:job_id>/status.json")
@admin_required
def job_status(job_id: int):
    """The job's state as JSON for the progress bar (polled by static/js/batch-progress.js)."""
    print_job = _job_or_404(job_id)
    done = print_job.status == PrintJobStatus.DONE
    return jsonify(status=print_job.status, label=print_job.status_label, done=print_job.done, total=print_job.total,
                   percent=print_job.percent, stale=jobs.is_stale(print_job), error=print_job.error,
                   download_url=url_for("certificates.job_download", job_id=print_job.id) if done else None)


@bp.get("/jobs/<int:job_id>/download")
@admin_required
def job_download(job_id: int):
    """The finished batch: one PDF (print in this order) or a ZIP of individual PDFs."""
    print_job = _job_or_404(job_id)
    if print_job.status != PrintJobStatus.DONE or not print_job.output_path:
        abort(404)
    path = Path(current_app.config["STORAGE_PATH"]) / print_job.output_path
    if not path.is_file():
        abort(404)
    mimetype = "application/zip" if print_job.output == "zip" else "application/pdf"
    return send_file(path, mimetype=mimetype, as_attachment=True,
                     download_name=f"certificates-job-{print_job.id}.{print_job.output}")


@bp.post("/jobs/<int:job_id>/retry")
@admin_required
def job_retry(job_id: int):
    """Start a failed or stalled job again."""
    print_job = _job_or_404(job_id)
    if ActionForm().validate_on_submit() and (print_job.status == PrintJobStatus.FAILED or jobs.is_stale(print_job)):
        print_job.status, print_job.done, print_job.error = PrintJobStatus.QUEUED, 0, None
        db.session.commit()
        jobs.enqueue(print_job)
        flash("已重新开始", "info")
    return redirect(url_for("certificates.job", job_id=print_job.id))


# --- learners and downloads -------------------------------------------------------------------


@bp.get("/my")
@login_required
def my_certificates():
    """The signed-in learner's certificates (and level certificates recorded for them)."""
    certificates = services.learner_certificates(current_user)
    links = {c.id: verification_url(c, verification_base_url()) for c in certificates}
    return render_template("certificates/my_list.html", certificates=certificates, links=links,
                           external=services.external_levels(current_user), national_query=NATIONAL_QUERY_URL)


@bp.get("/my/<int:certificate_id>")
@login_required
def my_certificate(certificate_id: int):
    """One of the learner's certificates: what it says, download, copy or share the verification link."""
    certificate = _certificate_or_404(certificate_id)
    require_owner(current_user, certificate.learner_id)
    return render_template("certificates/my_detail.html", c=certificate, code=format_code(certificate.verification_code),
                           link=verification_url(certificate, verification_base_url()))


@bp.get("/<int:certificate_id>/pdf")
@login_required
def download(certificate_id: int):
    """The certificate's PDF (the stored original; rendered and stored on first download).

    The holder, administrators and the cohort's staff may download it; another learner gets 404.
    """
    certificate = _certificate_or_404(certificate_id)
    if not (current_user.is_admin or (certificate.cohort and can_manage_cohort(current_user, certificate.cohort))):
        require_owner(current_user, certificate.learner_id)
    data = services.ensure_pdf(certificate)
    db.session.commit()
    return _pdf_response(data, f"{safe_filename(certificate.serial)}.pdf", inline=request.args.get("view") == "1")


# --- public verification ----------------------------------------------------------------------


def _limit_verification() -> None:
    """Fixed-window limit per client IP (``CERTIFICATE_VERIFY_LIMIT`` per minute, default 30): 429 beyond."""
    count = int(current_app.config.get("CERTIFICATE_VERIFY_LIMIT", 30))
    if not ratelimit.hit(f"verify:{request.remote_addr}", ratelimit.Limit(count, 60)):
        abort(429)


@verify_bp.get("/verify")
@public
def verify_form():
    """Type a serial and a verification code (a GET form: what you type is what the QR carries)."""
    serial = request.args.get("serial", "").strip()
    if serial:
        return redirect(url_for("verify.verify", serial=serial[:40], code=request.args.get("code", "")[:20] or None))
    return render_template("certificates/verify_form.html", file_form=FileCheckForm())


@verify_bp.get("/verify/<serial>")
@public
def verify(serial: str):
    """What the QR code opens: the certificate's state with masked personal data, given its code."""
    _limit_verification()
    result = services.verify(serial, request.args.get("code"))
    return render_template("certificates/verify_result.html", result=result, national_query=NATIONAL_QUERY_URL,
                           file_form=FileCheckForm())


@verify_bp.post("/verify/file")
@public
def verify_file():
    """Check an uploaded PDF against the stored originals (an altered copy matches nothing)."""
    _limit_verification()
    form = FileCheckForm()
    check = None
    if form.validate_on_submit():
        try:
            check = services.check_pdf_file(form.file.data.read(12 * 1024 * 1024))
        except DomainError as exc:
            form.file.errors.append(str(exc))
    return render_template("certificates/verify_file.html", form=form, check=check)
