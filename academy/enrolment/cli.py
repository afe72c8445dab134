"""Enrolment commands.

* ``flask --app academy import roster FILE [--cohort CODE] [--dry-run] [--skip-invalid]`` —
  import a learner roster (.xlsx or .csv) and enrol the learners: every problem is printed as
  row + column + reason, then a summary; the exit code is 1 when errors kept the file out
  (nothing was written).
"""

from __future__ import annotations

from pathlib import Path

import click
from flask import Flask
from flask.cli import AppGroup, with_appcontext

from academy.enrolment import roster
from academy.errors import DomainError
from academy.extensions import db


def register_commands(app: Flask, groups: dict[str, AppGroup]) -> None:
    """Add ``import roster`` to the ``import`` group."""
    groups["import"].add_command(import_roster_command)


@click.command("roster")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--cohort", "cohort_code", default=None, metavar="CODE",
              help="Enrol every valid row in this cohort (instead of the 报名课程 column).")
@click.option("--dry-run", is_flag=True, help="Check and report what would happen; write nothing.")
@click.option("--skip-invalid", is_flag=True, help="Import the valid rows and report the others.")
@with_appcontext
def import_roster_command(file: Path, cohort_code: str | None, dry_run: bool, skip_invalid: bool) -> None:
    """Import learners from FILE (.xlsx or .csv), matched by ID number, and enrol them."""
    try:
        report = roster.import_roster(file, filename=file.name, actor=None, cohort_code=cohort_code,
                                      dry_run=dry_run, skip_invalid=skip_invalid)
    except DomainError as exc:
        db.session.rollback()
        raise click.ClickException(exc.message) from None
    if report.written:
        db.session.commit()
    else:
        db.session.rollback()
    for line in report.lines():
        click.echo(line)
    if report.exit_code:
        raise SystemExit(report.exit_code)
