"""Backups restore to identical data: record counts and stored file hashes."""

from __future__ import annotations

import hashlib
from pathlib import Path

from sqlalchemy import func, select

from academy.accounts.models import User
from academy.enrolment.models import Enrolment
from academy.extensions import db
from tests.factories import enrol, make_cohort, make_learner


def _counts() -> dict[str, int]:
    return {t.name: db.session.scalar(select(func.count()).select_from(t)) for t in db.metadata.sorted_tables}


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_backup_then_restore_gives_back_the_same_records_and_files(app, tmp_path):
    cohort = make_cohort()
    for _ in range(5):
        enrol(make_learner(), cohort)
    db.session.commit()
    storage = Path(app.config["STORAGE_PATH"])
    stored = storage / "certificates" / "2026" / "sample.pdf"
    stored.parent.mkdir(parents=True, exist_ok=True)
    stored.write_bytes(b"%PDF-1.7 sample certificate bytes")
    before, before_hash = _counts(), _sha(stored)

    runner = app.test_cli_runner()
    archive = tmp_path / "academy-backup.tar.gz"
    result = runner.invoke(args=["backup", "--output", str(archive)])
    assert result.exit_code == 0, result.output
    assert archive.stat().st_size > 0

    # damage: remove records and the stored file
    db.session.execute(Enrolment.__table__.delete())
    db.session.commit()
    stored.unlink()
    assert _counts()["enrolments"] == 0

    result = runner.invoke(args=["restore", str(archive), "--yes"])
    assert result.exit_code == 0, result.output
    db.session.remove()
    assert _counts() == before
    assert _sha(stored) == before_hash
    assert db.session.scalar(select(func.count()).select_from(User)) == before["users"]


def test_a_restored_backup_serves_the_same_certificate_pdf_byte_for_byte(app, tmp_path):
    """Issue a real certificate, render and store its PDF, back up, lose it, restore: same hash."""
    from academy.certificates import services as certificates
    from academy.certificates.models import Certificate
    from tests.certificates.builders import NOW, graduating_class

    cls = graduating_class(1)
    certificate = certificates.issue_for_cohort(cls.cohort, actor=cls.admin, now=NOW).issued[0]
    pdf = certificates.ensure_pdf(certificate, base_url="https://xue.example.cn", now=NOW)
    db.session.commit()
    serial, stored_hash = certificate.serial, certificate.pdf_sha256
    assert hashlib.sha256(pdf).hexdigest() == stored_hash
    stored = Path(app.config["STORAGE_PATH"]) / certificate.pdf_path

    runner = app.test_cli_runner()
    archive = tmp_path / "backup.tar.gz"
    assert runner.invoke(args=["backup", "--output", str(archive)]).exit_code == 0
    db.session.execute(Certificate.__table__.delete())
    db.session.commit()
    stored.unlink()

    result = runner.invoke(args=["restore", str(archive), "--yes"])
    assert result.exit_code == 0, result.output
    db.session.remove()
    restored = db.session.scalar(select(Certificate).where(Certificate.serial == serial))
    assert restored.pdf_sha256 == stored_hash
    assert _sha(stored) == stored_hash
    assert certificates.ensure_pdf(restored) == pdf


def test_restore_refuses_a_file_that_is_not_a_backup(app, tmp_path):
    bogus = tmp_path / "not-a-backup.tar.gz"
    bogus.write_bytes(b"hello")
    result = app.test_cli_runner().invoke(args=["restore", str(bogus), "--yes"])
    assert result.exit_code != 0
    assert "cannot read backup" in result.output
