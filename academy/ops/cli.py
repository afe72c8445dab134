"""``flask --app academy backup`` and ``restore``."""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import with_appcontext

from academy.ops.backup import BackupError, backup, restore


def register_commands(app, groups) -> None:
    """Add the backup and restore commands."""
    app.cli.add_command(backup_command)
    app.cli.add_command(restore_command)


@click.command("backup")
@click.option("--output", required=True, type=click.Path(dir_okay=False), help="archive to write (.tar.gz)")
@with_appcontext
def backup_command(output: str) -> None:
    """Back up the database and the stored files into one archive."""
    from academy.extensions import db

    try:
        manifest = backup(str(db.engine.url.render_as_string(hide_password=False)),
                          current_app.config["STORAGE_PATH"], output)
    except BackupError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"backup written: {output} ({manifest['database']}, {manifest['files']} stored files)")


@click.command("restore")
@click.argument("archive", type=click.Path(exists=True, dir_okay=False))
@click.option("--yes", is_flag=True, help="do not ask for confirmation")
@with_appcontext
def restore_command(archive: str, yes: bool) -> None:
    """Replace the database and the stored files with the contents of ARCHIVE."""
    from academy.extensions import db

    if not yes:
        click.confirm("This replaces all current data. Continue?", abort=True)
    db.session.remove()
    url = db.engine.url.render_as_string(hide_password=False)
    db.engine.dispose()
    try:
        manifest = restore(archive, url, current_app.config["STORAGE_PATH"])
    except BackupError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"restored from {archive} (made {manifest['created_at']})")
