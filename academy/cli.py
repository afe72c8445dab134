"""Command-line interface: ``flask --app academy <command>``.

Top-level groups are created here; each module adds its own commands in ``<module>/cli.py``
through ``register_commands(groups)``.
"""

from __future__ import annotations

import importlib

import click
from flask import Flask
from flask.cli import AppGroup, with_appcontext

# Modules that contribute commands: each has cli.py with register_commands(groups: dict[str, AppGroup]).
CLI_MODULES = (
    "academy.demo.cli",
    "academy.catalogue.cli",
    "academy.enrolment.cli",
    "academy.attendance.cli",
    "academy.exams.cli",
    "academy.certificates.cli",
    "academy.degrees.cli",
    "academy.competitions.cli",
    "academy.ops.cli",
    "academy.reports.cli",
    "academy.privacy.cli",
)

import_group = AppGroup("import", help="Import spreadsheets (.xlsx / .csv): courses, roster …")


def init_cli(app: Flask) -> None:
    """Register the command groups and every module's commands."""
    groups = {"import": import_group}
    app.cli.add_command(import_group)
    app.cli.add_command(create_admin)
    for name in CLI_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name != name:
                raise
            continue
        module.register_commands(app, groups)


@click.command("create-admin")
@click.option("--mobile", required=True, help="11-digit mobile number (the login)")
@click.option("--name", required=True, help="Real name")
@click.password_option(help="Initial password (≥ 8 characters, letters and digits)")
@with_appcontext
def create_admin(mobile: str, name: str, password: str) -> None:
    """Create an administrator account (or give an existing account the admin role)."""
    from sqlalchemy import select
    from werkzeug.security import generate_password_hash

    from academy.accounts.models import Role, User, UserRole
    from academy.accounts.services import AccountError, check_password_rules, validate_name
    from academy.common.ids import InvalidMobile, normalise_mobile
    from academy.extensions import db

    try:
        mobile = normalise_mobile(mobile)
        check_password_rules(password, mobile=mobile)
        name = validate_name(name)
    except (InvalidMobile, AccountError) as exc:
        raise click.ClickException(str(exc)) from None
    user = db.session.scalar(select(User).where(User.mobile == mobile))
    if user is None:
        user = User(mobile=mobile, name=name, password_hash=generate_password_hash(password))
        db.session.add(user)
    if not user.has_role(Role.ADMIN):
        user.roles.append(UserRole(role=Role.ADMIN))
    db.session.commit()
    click.echo(f"管理员账号已就绪：{user.name} {user.mobile}")
