"""Exam commands: ``flask --app academy import scores FILE --assessment ID``."""

from __future__ import annotations

from pathlib import Path

import click
from flask import Flask
from flask.cli import with_appcontext
from sqlalchemy import select


def register_commands(app: Flask, groups: dict) -> None:
    """Add ``scores`` to the ``import`` group."""
    groups["import"].add_command(import_scores_command)


@click.command("scores")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--assessment", "assessment_id", type=int, required=True, help="Assessment id (考核编号)")
@click.option("--reason", default=None, help="Reason for the change (required once results were published)")
@click.option("--by", "by_mobile", default=None, help="Mobile number of the staff member recorded as the author")
@with_appcontext
def import_scores_command(file: Path, assessment_id: int, reason: str | None, by_mobile: str | None) -> None:
    """Import a score sheet (.xlsx/.csv) into an assessment, all or nothing, with a per-row report."""
    from academy.accounts.models import User
    from academy.errors import DomainError, ValidationFailed
    from academy.exams import importer
    from academy.exams.models import Assessment
    from academy.extensions import db

    assessment = db.session.get(Assessment, assessment_id)
    if assessment is None:
        raise click.ClickException(f"没有编号为 {assessment_id} 的考核")
    actor = None
    if by_mobile:
        actor = db.session.scalar(select(User).where(User.mobile == by_mobile.strip()))
        if actor is None:
            raise click.ClickException(f"没有手机号为 {by_mobile} 的账号")
    try:
        report = importer.import_scores(assessment, file, filename=file.name, actor=actor, reason=reason,
                                        source_label="cli")
    except ValidationFailed as exc:
        db.session.rollback()
        for error in exc.errors:  # formatted here: RowError's gettext needs a request (none on the CLI)
            click.echo(f"第{error.row}行，{error.column}：{error.message}", err=True)
        raise click.ClickException(exc.message) from None
    except DomainError as exc:
        db.session.rollback()
        raise click.ClickException(exc.message) from None
    db.session.commit()
    click.echo(f"已导入 {assessment.cohort.name} · {assessment.title}：{report.rows} 行，"
               f"{report.changed} 个成绩有变动，{report.unchanged} 个未变")
    if report.missing:
        click.echo(f"文件中没有这些学员：{'、'.join(report.missing)}")
