"""``flask --app academy demo [--if-empty] [--accounts] [--seed N]``."""

from __future__ import annotations

import time

import click
from flask import Flask
from flask.cli import with_appcontext
from sqlalchemy import select

from academy.accounts.models import User
from academy.demo.loader import DEFAULT_SEED, DEMO_PASSWORD, database_is_empty, demo_accounts, load_demo
from academy.extensions import db


def register_commands(app: Flask, groups: dict) -> None:
    """Add the top-level ``demo`` command."""
    app.cli.add_command(demo_command)


@click.command("demo")
@click.option("--if-empty", is_flag=True, help="Load only when the database has no user yet (else do nothing).")
@click.option("--accounts", "accounts_only", is_flag=True,
              help="Only print the demo accounts (mobile, password, role, what to try); load nothing.")
@click.option("--seed", type=int, default=DEFAULT_SEED, show_default=True,
              help="Seed of the made-up people (the same seed gives the same people).")
@with_appcontext
def demo_command(if_empty: bool, accounts_only: bool, seed: int) -> None:
    """Load the demo academy: courses, cohorts at every stage, staff and about 300 learners."""
    if accounts_only:
        print_accounts()
        return
    if not database_is_empty():
        if if_empty:
            click.echo("数据库里已有账号，不再装入演示数据。")
            return
        raise click.ClickException("数据库里已有账号：演示数据只能装入空数据库（加 --if-empty 可跳过）。")
    started = time.perf_counter()
    ctx = load_demo(seed=seed)
    seconds = time.perf_counter() - started
    cohorts = sum(len(v) for v in ctx.cohorts.values())
    click.echo(f"演示数据已装入（{seconds:.1f} 秒）：{len(ctx.courses)} 门课程，{cohorts} 个班级，"
               f"{len(ctx.learners)} 名学员，{len(ctx.instructors)} 名教师，{len(ctx.admins)} 名管理员。")
    click.echo("步骤：" + "，".join(f"{name}（{seconds:.1f} 秒）"
                                  for name, seconds in ctx.extra["step_seconds"].items()))


def print_accounts() -> None:
    """Print every demo account with its password, role and what to try."""
    accounts = demo_accounts()
    click.echo("演示账号（用手机号登录）：")
    grouped: dict[str, list] = {}
    for a in accounts:  # several steps may describe the same account: print it once
        grouped.setdefault(a.mobile, []).append(a)
    for mobile, items in grouped.items():
        first = items[0]
        click.echo(f"  {first.role:<4}\t{mobile}  密码 {first.password}  {first.name}")
        for a in items:
            click.echo(f"        · {a.what_to_try}")
    click.echo(f"  其他演示学员的密码也都是 {DEMO_PASSWORD}。")
    mobiles = [a.mobile for a in accounts]
    if mobiles and not db.session.scalar(select(User.id).where(User.mobile.in_(mobiles)).limit(1)):
        click.echo("  （数据库里还没有这些账号：先运行 flask --app academy demo）")
