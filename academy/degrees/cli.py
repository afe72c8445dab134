"""Degree-upgrade commands.

* ``flask --app academy degrees remind [--days 14] [--today YYYY-MM-DD]`` — list the milestones
  due within the days and the overdue ones, and record in-app notices (idempotent; run daily).
* ``flask --app academy import degree-cases FILE [--dry-run]`` — import the ledger, all or nothing.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import click
from flask import Flask, current_app, url_for
from flask.cli import AppGroup, with_appcontext
from sqlalchemy import select

from academy.accounts.models import Role, User, UserRole
from academy.common.masking import mask_name
from academy.common.timeutil import local_today, now_utc
from academy.errors import DomainError, ValidationFailed
from academy.extensions import db

degrees_group = AppGroup("degrees", help="Degree upgrade (学历提升): reminders.")


@degrees_group.command("remind")
@click.option("--days", default=14, show_default=True, type=click.IntRange(1, 90),
              help="Look this many days ahead.")
@click.option("--today", "today_text", default=None, help="Pretend today is YYYY-MM-DD (Asia/Shanghai).")
@with_appcontext
def remind_command(days: int, today_text: str | None) -> None:
    """List upcoming and overdue milestones and record in-app notices for learners and staff."""
    from academy.degrees import services

    try:
        today = date.fromisoformat(today_text) if today_text else local_today()
    except ValueError:
        raise click.BadParameter("use YYYY-MM-DD", param_hint="--today") from None
    # Links are paths under ACADEMY_BASE_URL's path (if the site is served below a prefix).
    base = current_app.config.get("ACADEMY_BASE_URL") or "http://localhost/"
    with current_app.test_request_context("/", base_url=base):
        report = services.remind(
            today=today, days=days, now=now_utc(), staff_link=url_for("degrees.cases", upcoming="y"),
            learner_link=lambda case: url_for("degrees.timeline", case_id=case.id))
    db.session.commit()
    click.echo(f"{today.isoformat()}：{days} 天内有节点 {len(report.upcoming)} 个，已逾期 {len(report.overdue)} 个")
    for row in report.upcoming:
        m = row.milestone
        click.echo(f"  #{row.case.id} {mask_name(row.case.learner.name)} {row.case.route_label} "
                   f"{row.case.stage_label} → {m.title}：{m.when_text(today)}")
    for row in report.overdue:
        m = row.milestone
        click.echo(f"  逾期 #{row.case.id} {mask_name(row.case.learner.name)} {row.case.route_label} "
                   f"{row.case.stage_label} → {m.title}：{m.when_text(today)}")
    click.echo(f"新提醒：{report.notices_created} 条")


@click.command("degree-cases")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--dry-run", is_flag=True, help="Check every row and report, write nothing.")
@click.option("--admin", "admin_mobile", default=None, help="Mobile of the admin recorded as importer "
              "(default: the first administrator).")
@with_appcontext
def import_degree_cases(file: Path, dry_run: bool, admin_mobile: str | None) -> None:
    """Import degree-upgrade cases from FILE (.xlsx/.csv), all or nothing, with a per-row report."""
    from academy.degrees import imports
    from academy.degrees.stages import STAGE_LABELS

    stmt = select(User).join(UserRole).where(UserRole.role == Role.ADMIN).order_by(User.id)
    if admin_mobile:
        stmt = stmt.where(User.mobile == admin_mobile)
    actor = db.session.scalar(stmt.limit(1))
    if actor is None:
        raise click.ClickException("没有管理员账号：先运行 flask --app academy create-admin")
    try:
        report = imports.import_cases(file.read_bytes(), filename=file.name, actor=actor, dry_run=dry_run)
    except ValidationFailed as exc:
        db.session.rollback()
        click.echo(exc.message, err=True)
        for error in exc.errors:
            click.echo(f"  {error}", err=True)
        raise SystemExit(1) from None
    except DomainError as exc:
        db.session.rollback()
        raise click.ClickException(str(exc)) from None
    if dry_run:
        db.session.rollback()
    else:
        db.session.commit()
    head = "检查通过（未写入）" if dry_run else "已导入"
    click.echo(f"{head}：{report.cases_created} 个个案；已有学员 {report.learners_matched}，新建学员 "
               f"{report.learners_created}，新建项目 {report.programmes_created}")
    click.echo("  " + "，".join(f"{STAGE_LABELS[s]} {n}" for s, n in sorted(report.by_stage.items())))
    for note in report.notes:
        click.echo(f"  提示：{note}")


def register_commands(app: Flask, groups: dict[str, AppGroup]) -> None:
    """Add ``degrees remind`` and ``import degree-cases``."""
    app.cli.add_command(degrees_group)
    groups["import"].add_command(import_degree_cases)
