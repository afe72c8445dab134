"""Catalogue commands.

* ``flask --app academy import courses FILE [--dry-run] [--skip-invalid]`` — import the course
  catalogue (.xlsx or .csv): every problem is printed as row + column + reason, then a
  summary; the exit code is 1 when errors kept the file out (nothing was written).
"""

from __future__ import annotations

from pathlib import Path

import click
from flask import Flask
from flask.cli import AppGroup, with_appcontext

from academy.catalogue import importer
from academy.errors import DomainError
from academy.extensions import db


def register_commands(app: Flask, groups: dict[str, AppGroup]) -> None:
    """Add ``import courses`` to the ``import`` group."""
    groups["import"].add_command(import_courses_command)


@click.command("courses")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--dry-run", is_flag=True, help="Check and report what would happen; write nothing.")
@click.option("--skip-invalid", is_flag=True, help="Import the valid rows and report the others.")
@with_appcontext
def import_courses_command(file: Path, dry_run: bool, skip_invalid: bool) -> None:
    """Import courses and their first cohorts from FILE (.xlsx or .csv); re-importing updates."""
    try:
        report = importer.import_courses(file, filename=file.name, actor=None, dry_run=dry_run,
                                         skip_invalid=skip_invalid)
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
