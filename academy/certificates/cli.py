"""``flask --app academy certificates issue|print|verify|check-fonts`` and ``flask --app academy worker``."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import click
from flask import current_app
from flask.cli import AppGroup, with_appcontext
from sqlalchemy import select

certificates_group = AppGroup("certificates", help="Certificates: issue for a cohort, print a batch, verify a serial.")


def register_commands(app, groups) -> None:
    """Add the ``certificates`` group and the background ``worker`` command."""
    app.cli.add_command(certificates_group)
    app.cli.add_command(worker_command)


def _cohort(code: str):
    from academy.catalogue.models import Cohort
    from academy.extensions import db

    cohort = db.session.scalar(select(Cohort).where(Cohort.code == code))
    if cohort is None:
        raise click.ClickException(f"没有班级编号 {code}")
    return cohort


def _warn_base_url() -> None:
    if not current_app.config.get("ACADEMY_BASE_URL"):
        click.echo("警告：未设置 ACADEMY_BASE_URL，二维码将指向 http://127.0.0.1:5000（只在本机有效）", err=True)


@certificates_group.command("issue")
@click.option("--cohort", "cohort_code", required=True, help="cohort code (班级编号)")
@click.option("--kind", default="completion", type=click.Choice(["completion", "special", "level"]),
              show_default=True, help="certificate kind")
@click.option("--skill-unit", default=None, help="authorised skill unit (special certificates only)")
@click.option("--dry-run", is_flag=True, help="only list who would get one and why not")
def issue_command(cohort_code: str, kind: str, skill_unit: str | None, dry_run: bool) -> None:
    """Issue certificates to every eligible learner of a cohort (idempotent)."""
    from academy.certificates import services
    from academy.errors import DomainError
    from academy.extensions import db

    cohort = _cohort(cohort_code)
    if dry_run:
        for row in services.cohort_eligibility(cohort, kind=kind, skill_unit=skill_unit):
            state = f"已有 {row.certificate.serial}" if row.certificate else ("可发证" if row.eligible else "；".join(row.reasons))
            click.echo(f"{row.learner.name}\t{state}")
        return
    try:
        report = services.issue_for_cohort(cohort, actor=None, kind=kind, skill_unit=skill_unit)
    except DomainError as exc:
        db.session.rollback()
        raise click.ClickException(str(exc)) from None
    db.session.commit()
    for c in report.issued:
        click.echo(f"发证 {c.serial}\t{c.holder_name}")
    for c in report.existing:
        click.echo(f"已有 {c.serial}\t{c.holder_name}")
    for learner, reason in report.refused:
        click.echo(f"未发 {learner.name}\t{reason}")
    click.echo(f"新发 {len(report.issued)} 张，已有 {len(report.existing)} 人，未发 {len(report.refused)} 人")


@certificates_group.command("print")
@click.option("--cohort", "cohort_code", required=True, help="cohort code (班级编号)")
@click.option("--output", required=True, type=click.Path(dir_okay=False, writable=True), help="FILE.pdf to write")
def print_command(cohort_code: str, output: str) -> None:
    """Render the cohort's valid certificates as ONE print-ordered PDF."""
    from academy.certificates import pdf, services
    from academy.errors import DomainError

    cohort = _cohort(cohort_code)
    certificates = services.cohort_print_order(cohort)
    if not certificates:
        raise click.ClickException("这个班级还没有有效证书；先运行 certificates issue")
    _warn_base_url()
    for warning in pdf.check_fonts():
        click.echo(f"警告：{warning}", err=True)
    started = time.perf_counter()
    try:
        data = pdf.render_batch(certificates, progress=lambda n: click.echo(
            f"\r{n}/{len(certificates)}", nl=False, err=True))
    except DomainError as exc:
        raise click.ClickException(str(exc)) from None
    Path(output).write_bytes(data)
    seconds = time.perf_counter() - started
    click.echo("", err=True)
    click.echo(f"{output}: {len(certificates)} 页，{len(data) / 1e6:.2f} MB，{seconds:.1f} 秒，SHA-256 {pdf.sha256_hex(data)}")


@certificates_group.command("verify")
@click.argument("serial")
@click.option("--code", default=None, help="verification code: show exactly what the public page shows")
@click.option("--file", "file_", type=click.Path(exists=True, dir_okay=False), help="check a PDF against the record")
def verify_command(serial: str, code: str | None, file_: str | None) -> None:
    """Show a certificate's status (exit code 0 only when valid and, with --file, unaltered)."""
    from academy.certificates import pdf, serials, services
    from academy.certificates.models import Certificate
    from academy.common.masking import mask_name
    from academy.extensions import db

    if code is not None:
        result = services.verify(serial, code)
        click.echo(f"公开查验结果：{result.state}")
        certificate = result.certificate
    else:
        certificate = db.session.scalar(select(Certificate).where(Certificate.serial == serials.normalise_serial(serial)))
    if certificate is None:
        click.echo("未找到匹配的证书")
        sys.exit(1)
    click.echo(f"{certificate.serial}  {certificate.title}  {certificate.status_label}")
    click.echo(f"持证人 {mask_name(certificate.holder_name)}  身份证号 {certificate.holder_id_masked or '—'}")
    click.echo(f"{certificate.course_title or certificate.details.get('event_name', '')}  {certificate.level or ''}")
    click.echo(f"发证单位 {certificate.issuer_name}  发证日期 {certificate.issued_on}")
    if certificate.revoked_at:
        click.echo(f"作废 {certificate.revoked_at:%Y-%m-%d}  {certificate.revocation_label}")
    if certificate.replaced_by:
        click.echo(f"已补发新证 {certificate.replaced_by.serial}")
    ok = certificate.is_valid
    if file_:
        digest = pdf.sha256_hex(Path(file_).read_bytes())
        same = digest == certificate.pdf_sha256
        click.echo(f"文件 SHA-256 {digest}：{'与原始文件一致' if same else '与原始文件不一致（或尚未生成原始文件）'}")
        ok = ok and same
    sys.exit(0 if ok else 1)


@certificates_group.command("check-fonts")
@with_appcontext
def check_fonts_command() -> None:
    """Check that the certificate fonts and HarfBuzz subsetting are installed."""
    from academy.certificates import pdf

    try:
        warnings = pdf.check_fonts()
    except pdf.CertificateFontError as exc:
        raise click.ClickException(str(exc)) from None
    for face, path in pdf.prepare_fonts():
        click.echo(f"{face.family} {face.weight}: {path}")
    for warning in warnings:
        click.echo(f"警告：{warning}", err=True)
    if warnings:
        sys.exit(1)


@click.command("worker")
@click.option("--burst", is_flag=True, help="exit when the queues are empty")
@click.option("--queue", "queues", multiple=True, default=("certificates", "default"), show_default=True)
@with_appcontext
def worker_command(burst: bool, queues: tuple[str, ...]) -> None:
    """Run background jobs (certificate batches) from Redis with RQ; needs REDIS_URL.

    Without REDIS_URL the web process runs jobs in its own worker thread and no worker is needed.
    """
    url = current_app.config.get("REDIS_URL")
    if not url:
        raise click.ClickException("未设置 REDIS_URL：没有 Redis 时后台任务在网站进程内运行，不需要单独的 worker")
    from redis import Redis
    from rq import Queue, Worker

    connection = Redis.from_url(url)
    worker = Worker([Queue(name, connection=connection) for name in queues], connection=connection)
    worker.work(burst=burst)
