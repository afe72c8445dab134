"""Privacy rules: who may unmask, what an export holds (and for whom), and anonymisation that
keeps certificates verifiable and the reported figures unchanged."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest
from flask import current_app
from openpyxl import load_workbook
from sqlalchemy import select

from academy.accounts import services as accounts
from academy.accounts.models import User, UserRole
from academy.attendance.models import LeaveRequest
from academy.audit.models import AuditEvent
from academy.certificates import services as certificates
from academy.certificates.models import Certificate, ExternalLevelCertificate
from academy.degrees.models import DegreeCase, Notice
from academy.errors import Conflict, DomainError, PermissionDenied
from academy.extensions import db
from academy.privacy import services
from academy.reports import services as reports
from tests.factories import make_admin, make_cohort, make_instructor, make_learner
from tests.privacy.builders import person_everywhere


def events(action: str) -> list[AuditEvent]:
    return list(db.session.scalars(select(AuditEvent).where(AuditEvent.action == action)))


# --- unmasking -----------------------------------------------------------------------------


def test_admins_and_the_learners_own_instructors_may_unmask_others_may_not():
    p = person_everywhere()
    stranger_teacher = make_instructor()
    make_cohort(instructors=[stranger_teacher])
    assert services.can_unmask(p.cls.admin, p.learner)
    assert services.can_unmask(p.cls.instructor, p.learner)
    assert not services.can_unmask(stranger_teacher, p.learner)
    assert not services.can_unmask(p.cls.learners[1], p.learner)
    with pytest.raises(PermissionDenied):
        services.unmask(p.learner, actor=stranger_teacher)


def test_unmasking_returns_the_full_values_and_is_audited():
    p = person_everywhere()
    shown = services.unmask(p.learner, actor=p.cls.admin, reason="核对补贴名单")
    assert (shown.name, shown.mobile, shown.id_number) == (p.learner.name, p.learner.mobile, p.learner.id_number)
    [event] = events("personal_data.unmasked")
    assert event.actor_id == p.cls.admin.id and (event.object_type, event.object_id) == ("User", p.learner.id)
    assert event.details == {"fields": ["name", "mobile", "id_number"], "reason": "核对补贴名单"}


# --- export --------------------------------------------------------------------------------


def sheets_by_key(person, actor):
    return {s.key: s for s in services.personal_data(person, actor=actor)}


def test_the_admins_export_holds_every_kind_of_record_including_unpublished_results():
    p = person_everywhere()
    sheets = sheets_by_key(p.learner, p.cls.admin)
    assert list(sheets) == ["profile", "enrolments", "attendance", "leave", "results", "certificates",
                            "level_certificates", "degree_cases", "degree_events", "degree_courses",
                            "competition_entries", "audit_events"]
    profile = dict(sheets["profile"].rows)
    assert profile["身份证号"] == p.learner.id_number and profile["手机号"] == p.learner.mobile
    assert len(sheets["enrolments"].rows) == 2 and len(sheets["attendance"].rows) == 5
    assert sheets["leave"].rows[0][2] == "孩子发烧去医院"
    published = {row[1]: row for row in sheets["results"].rows}
    assert {row[6] for row in sheets["results"].rows} == {"是", "否"}  # published and not
    assert any("41" in row[3] for row in sheets["results"].rows)
    assert published and sheets["certificates"].rows[0][0] == p.certificate.serial
    assert sheets["degree_cases"].rows[0][7] == "2026JX0001"
    assert sheets["competition_entries"].rows[0][2] == "已通过"
    assert any(row[1] == "certificate.issued" for row in sheets["audit_events"].rows)


def test_the_learners_own_export_has_published_results_only_and_no_audit_log():
    p = person_everywhere()
    sheets = sheets_by_key(p.learner, p.learner)
    assert "audit_events" not in sheets
    assert [row[6] for row in sheets["results"].rows] == ["是"]
    assert not any("41" in row[3] for row in sheets["results"].rows)


def test_nobody_else_may_export_a_persons_data():
    p = person_everywhere()
    with pytest.raises(PermissionDenied):
        services.personal_data(p.learner, actor=p.cls.learners[1])
    with pytest.raises(PermissionDenied):
        services.personal_data(p.learner, actor=p.cls.instructor)


def test_exports_are_json_or_xlsx_with_one_sheet_per_kind_and_are_audited(app):
    p = person_everywhere()
    as_json = services.export_personal_data(p.learner, actor=p.learner, fmt="json")
    payload = json.loads(as_json.data)
    assert payload["person_id"] == p.learner.id and payload["profile"][0] == {"项目": "姓名", "内容": "王小磊"}
    assert payload["certificates"][0]["证书编号"] == p.certificate.serial
    as_xlsx = services.export_personal_data(p.learner, actor=p.cls.admin, fmt="xlsx")
    import io

    book = load_workbook(io.BytesIO(as_xlsx.data))
    assert book.sheetnames[:3] == ["个人资料", "报名", "考勤"] and "审计记录" in book.sheetnames
    assert as_xlsx.filename.startswith(f"personal-data-{p.learner.id}-") and as_xlsx.filename.endswith(".xlsx")
    exported = events("personal_data.exported")
    assert [(e.actor_id, e.details["format"], e.details["by_self"]) for e in exported] == [
        (p.learner.id, "json", True), (p.cls.admin.id, "xlsx", False)]
    with pytest.raises(services.PrivacyError):
        services.export_personal_data(p.learner, actor=p.cls.admin, fmt="pdf")


# --- anonymisation -------------------------------------------------------------------------


def snapshot(report):
    return (report.figures, {k: [(r.key, r.figures) for r in rows] for k, rows in report.breakdowns.items()},
            report.trends)


def test_anonymising_removes_personal_data_but_keeps_records_figures_and_certificates(app):
    p = person_everywhere()
    learner, certificate = p.learner, p.certificate
    pdf = certificates.ensure_pdf(certificate)
    db.session.commit()
    masked_id, old_name, old_mobile = certificate.holder_id_masked, learner.name, learner.mobile
    before = snapshot(reports.build_report(reports.report_filter(date_from=date(2020, 1, 1), date_to=date(2030, 12, 31))))
    profile_photo = Path(current_app.config["STORAGE_PATH"]) / learner.photo_path
    cert_photo = Path(current_app.config["STORAGE_PATH"]) / certificate.photo_path

    report = services.anonymise(learner, reason="本人书面申请删除个人信息", actor=p.cls.admin)
    db.session.commit()
    db.session.expire_all()

    person = db.session.get(User, learner.id)
    assert person.name == f"已注销用户{person.id}" and person.mobile == f"0{person.id:010d}"
    assert person.id_number is None and person.gender is None and person.education is None
    assert person.political_status is None and person.photo_path is None and person.password_hash is None
    assert not person.is_active_account and not db.session.scalars(select(UserRole).where(UserRole.user_id == person.id)).all()
    assert (person.district, person.occupation_group, person.platform) == ("瑞金市", "外卖员", "美团")
    assert services.is_anonymised(person)
    assert db.session.scalar(select(LeaveRequest.reason).where(LeaveRequest.learner_id == person.id)) == "（已删除）"
    case = db.session.scalar(select(DegreeCase).where(DegreeCase.learner_id == person.id))
    assert case.student_number is None and case.note is None and case.stage == "studying"
    assert not db.session.scalars(select(Notice).where(Notice.user_id == person.id)).all()
    level = db.session.scalar(select(ExternalLevelCertificate).where(ExternalLevelCertificate.learner_id == person.id))
    assert level.number.startswith("已注销")
    assert not profile_photo.exists() and report.files_removed == 1
    # the certificate is the register of what was issued: unchanged, still verifiable by code and by file
    cert = db.session.get(Certificate, certificate.id)
    assert cert.holder_name == "王小磊" and cert.holder_id_masked == masked_id and cert.status == "valid"
    assert cert_photo.exists() and report.certificates == 1
    result = certificates.verify(cert.serial, cert.verification_code)
    assert result.state == "valid" and result.certificate.id == cert.id
    assert certificates.check_pdf_file(pdf).certificate.id == cert.id
    # nothing identifies the person any more
    assert db.session.scalar(select(User).where(User.mobile == old_mobile)) is None
    assert db.session.scalar(select(User).where(User.name == old_name)) is None
    assert old_name not in json.dumps([row for s in services.personal_data(person, actor=p.cls.admin)
                                       if s.key == "profile" for row in s.rows], ensure_ascii=False)
    # the figures the academy reported stay the same
    after = snapshot(reports.build_report(reports.report_filter(date_from=date(2020, 1, 1), date_to=date(2030, 12, 31))))
    assert after == before
    [event] = events("personal_data.anonymised")
    assert event.actor_id == p.cls.admin.id and event.details["reason"] == "本人书面申请删除个人信息"
    assert old_name not in json.dumps(event.details, ensure_ascii=False)


def test_an_anonymised_person_can_no_longer_sign_in_or_be_unmasked():
    p = person_everywhere()
    mobile = p.learner.mobile
    services.anonymise(p.learner, reason="本人申请注销账号", actor=p.cls.admin)
    db.session.commit()
    with pytest.raises(DomainError):
        accounts.authenticate(mobile, "Passw0rd!")
    with pytest.raises(Conflict):
        services.unmask(p.learner, actor=p.cls.admin)
    with pytest.raises(Conflict, match="已经注销"):
        services.anonymise(p.learner, reason="再来一次试试", actor=p.cls.admin)


def test_anonymising_needs_an_admin_a_reason_and_someone_else():
    learner, admin, teacher = make_learner(), make_admin(), make_instructor()
    with pytest.raises(PermissionDenied):
        services.anonymise(learner, reason="本人申请注销账号", actor=teacher)
    with pytest.raises(services.PrivacyError, match="注销原因"):
        services.anonymise(learner, reason=" 注销 ", actor=admin)
    with pytest.raises(services.PrivacyError, match="自己"):
        services.anonymise(admin, reason="本人申请注销账号", actor=admin)


def test_the_cli_anonymises_and_exports(app, tmp_path):
    learner = make_learner(name="赵钱孙")
    db.session.commit()
    runner = app.test_cli_runner()
    out = tmp_path / "data.json"
    result = runner.invoke(args=["privacy", "export", "--user", str(learner.id), "--output", str(out)])
    assert result.exit_code == 0, result.output
    assert json.loads(out.read_text())["profile"][0]["内容"] == "赵钱孙"
    result = runner.invoke(args=["privacy", "anonymise", "--user", str(learner.id), "--reason", "本人电话申请删除",
                                 "--yes"])
    assert result.exit_code == 0, result.output
    db.session.expire_all()
    assert db.session.get(User, learner.id).name == f"已注销用户{learner.id}"
    [event] = events("personal_data.anonymised")
    assert event.actor_id is None and event.details["reason"] == "本人电话申请删除"
    again = runner.invoke(args=["privacy", "anonymise", "--user", str(learner.id), "--reason", "本人电话申请删除", "--yes"])
    assert again.exit_code != 0 and "已经注销" in again.output
    assert "没有编号为 999999 的账号" in runner.invoke(args=["privacy", "export", "--user", "999999", "--output",
                                                          str(out)]).output
