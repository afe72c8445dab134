"""``flask --app academy privacy anonymise|export``: the privacy procedures without the web UI."""

from __future__ import annotations

from pathlib import Path

import click
from flask.cli import AppGroup

privacy_group = AppGroup("privacy", help="Personal data (PIPL): export one person's data, anonymise an account.")


def register_commands(app, groups) -> None:
    """Add the ``privacy`` group."""
    app.cli.add_command(privacy_group)


def _person(user_id: int):
    from academy.privacy import services

    person = services.get_person(user_id)
    if person is None:
        raise click.ClickException(f"没有编号为 {user_id} 的账号")
    return person


@privacy_group.command("anonymise")
@click.option("--user", "user_id", type=int, required=True, help="account id (as on the admin's user page)")
@click.option("--reason", required=True, help="why, e.g. 本人书面申请删除个人信息 (kept in the audit log)")
@click.option("--yes", is_flag=True, help="do not ask for confirmation")
def anonymise_command(user_id: int, reason: str, yes: bool) -> None:
    """Anonymise an account: personal data removed, certificates stay verifiable, figures unchanged."""
    from academy.common.masking import mask_name
    from academy.errors import DomainError
    from academy.extensions import db
    from academy.privacy import services

    person = _person(user_id)
    if not yes:
        click.confirm(f"注销账号 {user_id}（{mask_name(person.name)}）并永久删除其个人信息？", abort=True)
    try:
        report = services.anonymise(person, reason=reason, actor=None)
    except DomainError as exc:
        db.session.rollback()
        raise click.ClickException(str(exc)) from None
    db.session.commit()
    click.echo(f"已注销账号 {user_id}：{report.certificates} 张证书保留可查验，删除文件 {report.files_removed} 个，"
               f"删除通知 {report.notices_deleted} 条")


@privacy_group.command("export")
@click.option("--user", "user_id", type=int, required=True, help="account id")
@click.option("--format", "fmt", type=click.Choice(["xlsx", "json"]), default="json", show_default=True)
@click.option("--output", required=True, type=click.Path(dir_okay=False, writable=True), help="file to write")
def export_command(user_id: int, fmt: str, output: str) -> None:
    """Write everything the academy holds about one person to a file (audited, as by an administrator)."""
    from academy.errors import DomainError
    from academy.extensions import db
    from academy.privacy import services

    person = _person(user_id)
    try:
        result = services.export_personal_data(person, actor=None, fmt=fmt)
    except DomainError as exc:
        db.session.rollback()
        raise click.ClickException(str(exc)) from None
    Path(output).write_bytes(result.data)
    db.session.commit()
    click.echo(f"{output}：{len(result.data)} 字节")
