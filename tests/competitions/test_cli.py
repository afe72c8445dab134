"""Competition commands: award certificates as one PDF, draw verification, imports."""

from __future__ import annotations

from decimal import Decimal

from academy.competitions import judging, results, services
from academy.competitions.models import Entry
from academy.extensions import db
from tests.competitions.builders import NOW, make_event, ready_event, score_everything
from tests.conftest import shared_file
from tests.factories import make_admin


def test_certificates_command_writes_the_winners_pdf(app, tmp_path):
    event, admin, team, entries = ready_event(contestants=2, awards=[services.AwardSpec("一等奖", 1)])
    score_everything(event, team, entries, admin, theory={entries[0].id: Decimal(99)})
    judging.lock_scores(event, actor=team[0], now=NOW)
    results.publish(event, actor=admin, now=NOW)
    db.session.commit()
    output = tmp_path / "awards.pdf"
    result = app.test_cli_runner().invoke(args=["competitions", "certificates", "--event", str(event.id),
                                                "--output", str(output)])
    assert result.exit_code == 0, result.output
    assert output.read_bytes().startswith(b"%PDF")
    assert "已写入" in result.output


def test_certificates_command_refuses_an_unpublished_event(app, tmp_path):
    event, admin, team, entries = ready_event(contestants=1)
    db.session.commit()
    result = app.test_cli_runner().invoke(args=["competitions", "certificates", "--event", str(event.id),
                                                "--output", str(tmp_path / "x.pdf")])
    assert result.exit_code != 0 and "成绩公布后才能发放获奖证书" in result.output


def test_verify_draw_recomputes_the_numbers_from_the_seed(app):
    event, admin, team, entries = ready_event(contestants=4)
    db.session.commit()
    runner = app.test_cli_runner()
    result = runner.invoke(args=["competitions", "verify-draw", "--event", str(event.id)])
    assert result.exit_code == 0 and "4 个抽签号全部一致" in result.output
    entries[0].number = 100  # someone edited a number after the draw
    db.session.commit()
    result = runner.invoke(args=["competitions", "verify-draw", "--event", str(event.id)])
    assert result.exit_code != 0 and "不一致" in result.output


def test_import_commands_load_the_registration_list_and_the_scheme(app):
    admin = make_admin()
    event = make_event(admin=admin)
    db.session.commit()
    runner = app.test_cli_runner()
    result = runner.invoke(args=["import", "contest-registrations", "--event", str(event.id), "--theory", "theory",
                                 "--occupation-group", "外卖员", str(shared_file("contest-rider-registrations.xlsx"))])
    assert result.exit_code == 0, result.output
    assert "63 行：新建学员 63，新增报名 63" in result.output
    result = runner.invoke(args=["import", "contest-scheme", "--event", str(event.id),
                                 str(shared_file("contest-rider-marking-scheme.xlsx"))])
    assert result.exit_code == 0 and "19 个评分项" in result.output
    assert db.session.query(Entry).count() == 63
