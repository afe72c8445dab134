"""``flask --app academy certificates issue|print|verify|check-fonts`` and ``worker``."""

from __future__ import annotations

from pathlib import Path

from pypdf import PdfReader
from sqlalchemy import select

from academy.certificates import services
from academy.certificates.models import Certificate
from academy.extensions import db
from tests.certificates.builders import graduating_class, make_class


def test_issue_print_and_verify_a_cohort_from_the_command_line(app, tmp_path):
    cls = graduating_class(2, names=["买买提·艾力", "王喆"])
    outsider = make_class(0)  # noqa: F841 - a second cohort that must not be touched
    db.session.commit()
    runner = app.test_cli_runner()

    result = runner.invoke(args=["certificates", "issue", "--cohort", cls.cohort.code])
    assert result.exit_code == 0, result.output
    assert "新发 2 张" in result.output and "JXG-" in result.output
    again = runner.invoke(args=["certificates", "issue", "--cohort", cls.cohort.code])
    assert "新发 0 张，已有 2 人" in again.output

    output = tmp_path / "batch.pdf"
    result = runner.invoke(args=["certificates", "print", "--cohort", cls.cohort.code, "--output", str(output)])
    assert result.exit_code == 0, result.output
    assert len(PdfReader(output).pages) == 2
    assert "ACADEMY_BASE_URL" in result.output  # the warning about QR codes pointing at 127.0.0.1

    serial = db.session.scalars(select(Certificate.serial).order_by(Certificate.serial)).first()
    result = runner.invoke(args=["certificates", "verify", serial])
    assert result.exit_code == 0 and "有效" in result.output and "买" in result.output


def test_verify_exits_non_zero_for_unknown_revoked_or_altered(app, tmp_path):
    cls = graduating_class(1)
    certificate = services.issue_for_cohort(cls.cohort, actor=cls.admin).issued[0]
    data = services.ensure_pdf(certificate, base_url="https://xue.example.cn")
    db.session.commit()
    runner = app.test_cli_runner()
    assert runner.invoke(args=["certificates", "verify", "JXG-2099-X-000001"]).exit_code == 1
    good, bad = tmp_path / "good.pdf", tmp_path / "bad.pdf"
    good.write_bytes(data)
    bad.write_bytes(data[:-10] + b"tampered\n")
    assert runner.invoke(args=["certificates", "verify", certificate.serial, "--file", str(good)]).exit_code == 0
    result = runner.invoke(args=["certificates", "verify", certificate.serial, "--file", str(bad)])
    assert result.exit_code == 1 and "不一致" in result.output
    result = runner.invoke(args=["certificates", "verify", certificate.serial, "--code", "WRONGCODE0"])
    assert result.exit_code == 1 and "unknown" in result.output


def test_unknown_cohort_and_fonts_check(app):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["certificates", "issue", "--cohort", "NOPE"])
    assert result.exit_code != 0 and "没有班级编号 NOPE" in result.output
    result = runner.invoke(args=["certificates", "check-fonts"])
    assert result.exit_code == 0 and "NotoSerifCJKsc-Regular.otf" in result.output
    assert Path(result.output.split(": ", 1)[1].splitlines()[0]).is_file()


def test_the_worker_command_needs_redis(app):
    result = app.test_cli_runner().invoke(args=["worker", "--burst"])
    assert result.exit_code != 0 and "REDIS_URL" in result.output
