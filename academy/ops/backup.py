"""Backups that restore: the database and the stored files (certificate PDFs, seals, photos).

A backup is one ``.tar.gz`` holding ``manifest.json``, the database (``database.sqlite3`` made
with SQLite's online backup API, or ``database.pgdump`` made by ``pg_dump --format=custom``)
and ``storage/`` (a copy of ``STORAGE_PATH``).
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import tarfile
import tempfile
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy.engine import make_url

FORMAT_VERSION = 1


class BackupError(RuntimeError):
    """A backup or restore could not be completed; the message says why."""


def _tool(name: str) -> str:
    """Full path of a PostgreSQL client program, or ``BackupError`` naming the package to install."""
    path = shutil.which(name)
    if path is None:
        raise BackupError(f"{name} not found: install the PostgreSQL client (apt-get install postgresql-client)")
    return path


def _pg_env(url) -> tuple[list[str], dict[str, str]]:
    env = dict(os.environ)
    if url.password:
        env["PGPASSWORD"] = url.password
    args = ["-h", url.host or "127.0.0.1", "-p", str(url.port or 5432), "-U", url.username or "postgres"]
    return args, env


def backup(database_uri: str, storage_path: str | Path, output: str | Path) -> dict:
    """Write a backup of ``database_uri`` and ``storage_path`` to ``output`` (.tar.gz).

    SQLite is copied with the online backup API (safe while the app runs); PostgreSQL with
    ``pg_dump --format=custom``. Returns the manifest. Raises ``BackupError``.
    """
    url = make_url(database_uri)
    output = Path(output)
    with tempfile.TemporaryDirectory(prefix="academy-backup-") as tmp:
        tmp_path = Path(tmp)
        if url.get_backend_name() == "sqlite":
            db_file = tmp_path / "database.sqlite3"
            source = sqlite3.connect(url.database)
            target = sqlite3.connect(db_file)
            try:
                source.backup(target)
            finally:
                target.close()
                source.close()
            kind = "sqlite"
        elif url.get_backend_name() == "postgresql":
            db_file = tmp_path / "database.pgdump"
            args, env = _pg_env(url)
            result = subprocess.run([_tool("pg_dump"), "--format=custom", "--no-owner", *args, "-f", str(db_file),  # noqa: S603 - arguments come from the configured DATABASE_URL, no shell
                                     url.database], env=env, capture_output=True, text=True)
            if result.returncode != 0:
                raise BackupError(f"pg_dump failed: {result.stderr.strip()}")
            kind = "postgresql"
        else:
            raise BackupError(f"unsupported database: {url.get_backend_name()}")
        storage = Path(storage_path)
        files = sorted(p for p in storage.rglob("*") if p.is_file()) if storage.exists() else []
        manifest = {"format": FORMAT_VERSION, "database": kind, "created_at": datetime.now(UTC).isoformat(),
                    "files": len(files)}
        (tmp_path / "manifest.json").write_text(json.dumps(manifest))
        output.parent.mkdir(parents=True, exist_ok=True)
        with tarfile.open(output, "w:gz") as tar:
            tar.add(tmp_path / "manifest.json", arcname="manifest.json")
            tar.add(db_file, arcname=db_file.name)
            for path in files:
                tar.add(path, arcname=f"storage/{path.relative_to(storage)}")
    return manifest


def restore(archive: str | Path, database_uri: str, storage_path: str | Path) -> dict:
    """Restore a backup made by ``backup`` into ``database_uri`` and ``storage_path``.

    The target database's tables are replaced (SQLite: the file is replaced; PostgreSQL:
    ``pg_restore --clean --if-exists``). Stored files are replaced. Returns the manifest.
    Raises ``BackupError`` for an unreadable archive, a database kind that does not match,
    or a failing ``pg_restore``.
    """
    url = make_url(database_uri)
    with tempfile.TemporaryDirectory(prefix="academy-restore-") as tmp:
        tmp_path = Path(tmp)
        try:
            with tarfile.open(archive, "r:gz") as tar:
                tar.extractall(tmp_path, filter="data")
        except (tarfile.TarError, OSError) as exc:
            raise BackupError(f"cannot read backup: {exc}") from exc
        manifest_file = tmp_path / "manifest.json"
        if not manifest_file.exists():
            raise BackupError("not an academy backup (no manifest.json)")
        manifest = json.loads(manifest_file.read_text())
        kind = url.get_backend_name()
        if manifest.get("database") != kind:
            raise BackupError(f"backup holds a {manifest.get('database')} database, target is {kind}")
        if kind == "sqlite":
            source = sqlite3.connect(tmp_path / "database.sqlite3")
            target = sqlite3.connect(url.database)
            try:
                source.backup(target)
            finally:
                target.close()
                source.close()
        else:
            args, env = _pg_env(url)
            result = subprocess.run([_tool("pg_restore"), "--clean", "--if-exists", "--no-owner", *args, "-d",  # noqa: S603 - as above
                                     url.database, str(tmp_path / "database.pgdump")],
                                    env=env, capture_output=True, text=True)
            if result.returncode != 0:
                raise BackupError(f"pg_restore failed: {result.stderr.strip()}")
        storage = Path(storage_path)
        if storage.exists():
            shutil.rmtree(storage)
        restored = tmp_path / "storage"
        if restored.exists():
            shutil.copytree(restored, storage)
        else:
            storage.mkdir(parents=True, exist_ok=True)
    return manifest
