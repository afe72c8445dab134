"""Competition commands.

* ``flask --app academy competitions certificates --event ID --output FILE.pdf`` — issue the
  winners' award certificates of a published event and write them as one PDF.
* ``flask --app academy competitions verify-draw --event ID`` — re-run the draw from the recorded
  seed and compare it with the stored numbers.
* ``flask --app academy import contest-registrations --event ID FILE`` and
  ``flask --app academy import contest-scheme --event ID FILE``.
"""

from __future__ import annotations

from pathlib import Path

import click
from flask import Flask
from flask.cli import AppGroup, with_appcontext

competitions_group = AppGroup("competitions", help="虔能杯: award certificates, draw verification.")


def _admin(mobile: str | None):
    from sqlalchemy import select

    from academy.accounts.models import Role, User, UserRole
    from academy.extensions import db

    stmt = select(User).join(UserRole).where(UserRole.role == Role.ADMIN)
    if mobile:
        stmt = stmt.where(User.mobile == mobile)
    user = db.session.scalars(stmt.order_by(User.id)).first()
    if user is None:
        raise click.ClickException("没有找到管理员账号（用 --actor 指定管理员手机号）")
    return user


def _event(event_id: int):
    from academy.competitions.models import Event
    from academy.extensions import db

    event = db.session.get(Event, event_id)
    if event is None:
        raise click.ClickException(f"没有编号为 {event_id} 的赛项")
    return event


@competitions_group.command("certificates")
@click.option("--event", "event_id", type=int, required=True, help="Event id")
@click.option("--output", type=click.Path(dir_okay=False, path_type=Path), required=True, help="PDF file to write")
@click.option("--actor", default=None, help="Mobile number of the administrator issuing (default: first admin)")
@with_appcontext
def certificates(event_id: int, output: Path, actor: str | None) -> None:
    """Issue the winners' award certificates (idempotent) and write one batch PDF."""
    from academy.competitions import results
    from academy.errors import DomainError
    from academy.extensions import db

    event = _event(event_id)
    try:
        pdf = results.award_certificates_pdf(event, actor=_admin(actor))
    except DomainError as exc:
        db.session.rollback()
        raise click.ClickException(str(exc)) from None
    db.session.commit()
    output.write_bytes(pdf)
    click.echo(f"已写入 {output}（{len(pdf) // 1024} KB）")


@competitions_group.command("verify-draw")
@click.option("--event", "event_id", type=int, required=True, help="Event id")
@with_appcontext
def verify_draw(event_id: int) -> None:
    """Re-run the draw from the recorded seed and compare it with the stored numbers."""
    from sqlalchemy import select

    from academy.competitions.draw import draw_numbers
    from academy.competitions.models import Entry
    from academy.extensions import db

    event = _event(event_id)
    if not event.draw_seed:
        raise click.ClickException("该赛项还没有抽签")
    entries = db.session.scalars(select(Entry).where(Entry.event_id == event.id, Entry.number.is_not(None))).all()
    expected = draw_numbers(event.draw_seed, [e.id for e in entries])
    wrong = [e for e in entries if expected.get(e.id) != e.number]
    if wrong:
        raise click.ClickException(f"{len(wrong)} 个抽签号与种子 {event.draw_seed} 的结果不一致")
    click.echo(f"抽签可复核：种子 {event.draw_seed}，{len(entries)} 个抽签号全部一致")


def _import(kind: str, event_id: int, path: Path, actor: str | None, **kwargs) -> None:
    from academy.competitions import imports
    from academy.errors import DomainError, ValidationFailed
    from academy.extensions import db

    event = _event(event_id)
    try:
        if kind == "registrations":
            component = event.component(kwargs["theory"]) if kwargs.get("theory") else None
            report = imports.import_registrations(event, path, path.name, actor=_admin(actor),
                                                  score_component=component,
                                                  occupation_group=kwargs.get("occupation_group"))
            message = (f"{report.rows} 行：新建学员 {report.created_learners}，新增报名 {report.new_entries}，"
                       f"已报名 {report.existing_entries}，成绩 {report.scores_set}")
        else:
            aspects = imports.import_scheme(event, path, path.name, actor=_admin(actor))
            message = f"评分标准已导入：{len(aspects)} 个评分项"
    except ValidationFailed as exc:
        db.session.rollback()
        for error in exc.errors:
            click.echo(str(error), err=True)
        raise click.ClickException(str(exc)) from None
    except DomainError as exc:
        db.session.rollback()
        raise click.ClickException(str(exc)) from None
    db.session.commit()
    click.echo(message)


def register_commands(app: Flask, groups: dict[str, AppGroup]) -> None:
    """Add the ``competitions`` group and the contest imports to ``flask --app academy``."""
    app.cli.add_command(competitions_group)

    @groups["import"].command("contest-registrations")
    @click.option("--event", "event_id", type=int, required=True, help="Event id")
    @click.option("--theory", default=None, help="Also import 理论知识成绩 into this component code (e.g. theory)")
    @click.option("--occupation-group", default=None, help="Occupation group of new learners (e.g. 外卖员)")
    @click.option("--actor", default=None, help="Mobile number of the administrator (default: first admin)")
    @click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
    @with_appcontext
    def contest_registrations(event_id: int, theory: str | None, occupation_group: str | None, actor: str | None,
                              path: Path) -> None:
        """Import a contest registration list (.xlsx/.csv), all or nothing."""
        _import("registrations", event_id, path, actor, theory=theory, occupation_group=occupation_group)

    @groups["import"].command("contest-scheme")
    @click.option("--event", "event_id", type=int, required=True, help="Event id")
    @click.option("--actor", default=None, help="Mobile number of the administrator (default: first admin)")
    @click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
    @with_appcontext
    def contest_scheme(event_id: int, actor: str | None, path: Path) -> None:
        """Import a practical marking scheme (.xlsx/.csv), replacing the current one."""
        _import("scheme", event_id, path, actor)
