"""``flask --app academy report summary``: the dashboard's headline figures on the command line."""

from __future__ import annotations

import json
from datetime import date

import click
from flask.cli import AppGroup
from sqlalchemy import select

report_group = AppGroup("report", help="Reports: the headline figures of the dashboard.")


def register_commands(app, groups) -> None:
    """Add the ``report`` group."""
    app.cli.add_command(report_group)


def _day(ctx, param, value: str | None) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise click.BadParameter("日期格式应为 2026-03-31") from None


@report_group.command("summary")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@click.option("--from", "date_from", callback=_day, help="first day, YYYY-MM-DD (default: 1 January this year)")
@click.option("--to", "date_to", callback=_day, help="last day, YYYY-MM-DD (default: today, Asia/Shanghai)")
@click.option("--course", "course_code", default=None, help="course code (课程编号)")
@click.option("--occupation", default=None, help="course occupation (工种), e.g. 电工")
@click.option("--district", default=None, help="learner district (县（市、区）), e.g. 瑞金市")
@click.option("--occupation-group", default=None, help="learner occupation group, e.g. 外卖员")
@click.option("--platform", default=None, help="learner platform, e.g. 美团")
def summary_command(fmt: str, date_from: date | None, date_to: date | None, course_code: str | None,
                    occupation: str | None, district: str | None, occupation_group: str | None,
                    platform: str | None) -> None:
    """Print the headline figures (the same service as the dashboard: reports.services.build_report)."""
    from academy.catalogue.models import Course
    from academy.common.timeutil import now_utc
    from academy.extensions import db
    from academy.reports import exports, services

    course_id = None
    if course_code:
        course_id = db.session.scalar(select(Course.id).where(Course.code == course_code))
        if course_id is None:
            raise click.ClickException(f"没有课程编号 {course_code}")
    try:
        filters = services.report_filter(date_from=date_from, date_to=date_to, now=now_utc(), course_id=course_id,
                                         occupation=occupation, district=district,
                                         occupation_group=occupation_group, platform=platform)
    except services.ReportError as exc:
        raise click.ClickException(str(exc)) from None
    report = services.build_report(filters)
    if fmt == "json":
        click.echo(json.dumps(report.as_dict(), ensure_ascii=False, indent=2))
    else:
        for line in exports.summary_lines(report):
            click.echo(line)
