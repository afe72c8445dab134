"""Certificate rules through the services: eligibility boundaries, idempotent issuing, serials,
snapshots, kinds, awards, revoke and reissue, verification, recorded level certificates, settings."""

from __future__ import annotations

import io
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from PIL import Image
from sqlalchemy import func, select

from academy.audit.models import AuditEvent
from academy.certificates import services
from academy.certificates.models import (
    Certificate,
    CertificateStatus,
    ExternalLevelCertificate,
    ImmutableSnapshot,
)
from academy.certificates.pdf import UnsupportedCharacter
from academy.certificates.serials import SerialError
from academy.certificates.services import CertificateError, NotEligible, SettingsInput
from academy.enrolment import services as enrolment
from academy.errors import Conflict, PermissionDenied
from academy.extensions import db
from tests.certificates.builders import NOW, graduating_class, hold_sessions, make_class, publish_results
from tests.factories import make_admin, make_instructor, make_learner


def count_certificates() -> int:
    return db.session.scalar(select(func.count()).select_from(Certificate))


def configure(admin, **changes) -> None:
    settings = services.get_settings()
    data = SettingsInput(issuer_name=settings.issuer_name or "", authorised_units=list(settings.authorised_units or []))
    for key, value in changes.items():
        setattr(data, key, value)
    services.update_settings(data, actor=admin)


# --- eligibility at the boundaries -----------------------------------------------------------

def test_attendance_exactly_at_the_threshold_qualifies_and_one_session_less_does_not():
    cls = make_class(2)
    at, below = cls.learners
    hold_sessions(cls, 5, {at: 4, below: 3})  # 80 % and 60 % against the default 80 %
    publish_results(cls, {at: ("80", "80")})  # the one below may not even sit the exam

    rows = {r.learner.id: r for r in services.cohort_eligibility(cls.cohort, now=NOW)}

    assert rows[at.id].eligible and rows[at.id].reasons == []
    assert not rows[below.id].eligible
    assert "出勤率 60.0%，低于要求的 80.0%" in rows[below.id].reasons
    report = services.issue_for_cohort(cls.cohort, actor=cls.admin, now=NOW)
    assert [c.learner_id for c in report.issued] == [at.id]
    assert [learner.id for learner, _ in report.refused] == [below.id]


def test_a_threshold_of_75_percent_is_met_by_three_sessions_of_four():
    cls = make_class(1, attendance_threshold=Decimal("0.750"))
    hold_sessions(cls, 4, {cls.learners[0]: 3})
    publish_results(cls, {cls.learners[0]: ("60", "60")})
    assert services.learner_eligibility(cls.learners[0], cls.cohort, now=NOW).eligible


def test_exactly_the_pass_mark_passes_and_half_a_point_below_fails():
    cls = make_class(2)
    passing, failing = cls.learners
    hold_sessions(cls, 5, {})
    publish_results(cls, {passing: ("60", "60"), failing: ("59.5", "95")})

    assert services.learner_eligibility(passing, cls.cohort, now=NOW).eligible
    row = services.learner_eligibility(failing, cls.cohort, now=NOW)
    assert not row.eligible and row.reasons[0].startswith("考核不合格")
    with pytest.raises(NotEligible, match="考核不合格"):
        services.issue_certificate(failing, cls.cohort, actor=cls.admin, now=NOW)


def test_unpublished_or_pending_results_are_reasons_not_passes():
    cls = make_class(2)
    hold_sessions(cls, 3, {})
    row = services.learner_eligibility(cls.learners[0], cls.cohort, now=NOW)
    assert row.reasons == ["还没有已发布的考核成绩"]
    publish_results(cls, {cls.learners[0]: ("70", "70")})  # the second learner has no marks
    row = services.learner_eligibility(cls.learners[1], cls.cohort, now=NOW)
    assert row.reasons == ["考核结果待定（缺考或成绩未录完）"]


def test_a_learner_who_withdrew_is_not_eligible_even_with_good_results():
    cls = graduating_class(2)
    enrolment.withdraw(enrolment.get_enrolment(cls.learners[0].id, cls.cohort.id), actor=cls.learners[0])
    report = services.issue_for_cohort(cls.cohort, actor=cls.admin, now=NOW)
    assert [c.learner_id for c in report.issued] == [cls.learners[1].id]
    rows = services.cohort_eligibility(cls.cohort, now=NOW)
    assert cls.learners[0].id not in {r.learner.id for r in rows}


# --- issuing -----------------------------------------------------------------------------------

def test_issuing_twice_gives_the_same_certificate():
    cls = graduating_class(1)
    first = services.issue_certificate(cls.learners[0], cls.cohort, actor=cls.admin, now=NOW)
    again = services.issue_certificate(cls.learners[0], cls.cohort, actor=cls.admin, now=NOW)
    report = services.issue_for_cohort(cls.cohort, actor=cls.admin, now=NOW)
    assert again.id == first.id
    assert report.issued == [] and [c.id for c in report.existing] == [first.id]
    assert count_certificates() == 1


def test_serials_are_prefix_year_course_code_and_a_sequence_in_name_order():
    cls = graduating_class(3, names=["张三", "李四", "王五"], course_code="DG01")
    report = services.issue_for_cohort(cls.cohort, actor=cls.admin, now=NOW)
    by_serial = sorted(report.issued, key=lambda c: c.serial)
    assert [c.serial for c in by_serial] == ["JXG-2026-DG01-000001", "JXG-2026-DG01-000002", "JXG-2026-DG01-000003"]
    assert [c.holder_name for c in by_serial] == sorted(["张三", "李四", "王五"])
    codes = {c.verification_code for c in report.issued}
    assert len(codes) == 3 and all(len(code) == 10 and code.isalnum() and code.isupper() for code in codes)


def test_a_second_cohort_of_the_same_course_continues_the_sequence():
    first = graduating_class(1, course_code="DG01")
    services.issue_for_cohort(first.cohort, actor=first.admin, now=NOW)
    second = make_class(1)
    second.cohort.course = first.cohort.course
    db.session.flush()
    hold_sessions(second, 2, {})
    publish_results(second, {second.learners[0]: ("90", "90")})
    report = services.issue_for_cohort(second.cohort, actor=second.admin, now=NOW)
    assert report.issued[0].serial == "JXG-2026-DG01-000002"


def test_the_snapshot_keeps_what_was_printed_when_the_profile_changes():
    cls = graduating_class(1, names=["欧阳堃"])
    learner = cls.learners[0]
    certificate = services.issue_certificate(learner, cls.cohort, actor=cls.admin, now=NOW)
    course = cls.cohort.course
    learner.name, learner.id_number, course.title, course.hours = "欧阳坤", None, "改过的课程名", 99
    db.session.flush()
    db.session.expire_all()
    certificate = db.session.get(Certificate, certificate.id)
    assert certificate.holder_name == "欧阳堃"
    assert certificate.holder_id_masked is not None and "*" * 8 in certificate.holder_id_masked
    assert certificate.course_title != "改过的课程名" and certificate.hours == 40
    assert certificate.issued_on == date(2026, 6, 30) and certificate.issuer_name == "金小哥学院"
    assert certificate.start_date == cls.cohort.start_date and certificate.title == "培训合格证书"


def test_a_name_with_a_character_the_font_cannot_draw_is_refused_naming_it():
    cls = graduating_class(2, names=["王\U00030000", "王喆"])
    report = services.issue_for_cohort(cls.cohort, actor=cls.admin, now=NOW)
    assert [c.holder_name for c in report.issued] == ["王喆"]
    (learner, reason), = report.refused
    assert report.unprintable == report.refused
    assert "\U00030000" in reason and "U+30000" in reason and "空白方框" in reason
    with pytest.raises(UnsupportedCharacter) as raised:
        services.issue_certificate(learner, cls.cohort, actor=cls.admin, now=NOW)
    assert raised.value.char == "\U00030000"
    assert count_certificates() == 1


def test_names_outside_gb2312_and_beyond_the_bmp_are_issued_exactly():
    names = ["买买提·艾力", "欧阳堃", "王喆", "𠮷田丽"]
    cls = graduating_class(4, names=names)
    report = services.issue_for_cohort(cls.cohort, actor=cls.admin, now=NOW)
    assert sorted(c.holder_name for c in report.issued) == sorted(names)


def test_only_admins_or_the_system_issue():
    cls = graduating_class(1)
    with pytest.raises(PermissionDenied):
        services.issue_for_cohort(cls.cohort, actor=cls.instructor, now=NOW)
    assert services.issue_for_cohort(cls.cohort, actor=None, now=NOW).issued


def test_issuing_is_audited():
    cls = graduating_class(1)
    certificate = services.issue_certificate(cls.learners[0], cls.cohort, actor=cls.admin, now=NOW)
    actions = db.session.scalars(select(AuditEvent.action).where(AuditEvent.object_type == "Certificate",
                                                                 AuditEvent.object_id == certificate.id)).all()
    assert actions == ["certificate.issued"]


# --- kinds ----------------------------------------------------------------------------------------

def test_special_ability_certificates_need_an_authorised_skill_unit_and_have_their_own_numbering():
    cls = graduating_class(1)
    with pytest.raises(CertificateError, match="没有“网约配送”专项职业能力的考核发证授权"):
        services.issue_for_cohort(cls.cohort, actor=cls.admin, kind="special", skill_unit="网约配送", now=NOW)
    configure(cls.admin, authorised_units=["网约配送"])
    special = services.issue_for_cohort(cls.cohort, actor=cls.admin, kind="special", skill_unit="网约配送",
                                        now=NOW).issued[0]
    completion = services.issue_for_cohort(cls.cohort, actor=cls.admin, now=NOW).issued[0]
    assert special.serial == "JXZ-2026-DG01-000001" and special.details["skill_unit"] == "网约配送"
    assert completion.serial == "JXG-2026-DG01-000001"
    assert special.title == "专项职业能力证书"


def test_level_certificates_are_refused_unless_the_academy_is_a_filed_evaluation_organisation():
    cls = graduating_class(1)
    with pytest.raises(CertificateError, match="不是备案的评价机构"):
        services.issue_for_cohort(cls.cohort, actor=cls.admin, kind="level", now=NOW)


def test_a_filed_academy_issues_level_certificates_with_the_22_character_national_number():
    cls = graduating_class(2)  # course level 五级/初级工
    configure(cls.admin, is_evaluation_org=True, evaluation_org_name="瑞金市金小哥职业技能评价中心", org_type="S",
              org_code="0001", province_code="36", site_code="000123")
    issued = sorted(services.issue_for_cohort(cls.cohort, actor=cls.admin, kind="level", now=NOW).issued,
                    key=lambda c: c.serial)
    assert [c.serial for c in issued] == ["S000136000123265000001", "S000136000123265000002"]
    assert all(len(c.serial) == 22 for c in issued)
    assert issued[0].level == "五级/初级工" and issued[0].issuer_name == "瑞金市金小哥职业技能评价中心"
    assert issued[0].title == "职业技能等级证书"


def test_settings_refuse_bad_evaluation_codes_so_no_number_is_made_up():
    admin = graduating_class(0).admin
    with pytest.raises(SerialError, match="机构代码应为 4 位数字"):
        configure(admin, is_evaluation_org=True, evaluation_org_name="某评价中心", org_type="S", org_code="12",
                  province_code="36", site_code="000123")
    with pytest.raises(CertificateError, match="前缀不能相同"):
        configure(admin, special_prefix="JXG")
    with pytest.raises(CertificateError, match="不以工、员、师结尾"):
        configure(admin, authorised_units=["电工"])
    with pytest.raises(PermissionDenied):
        configure(make_instructor())


# --- awards ---------------------------------------------------------------------------------------

def award(learner, **overrides):
    values = {"edition_name": "2026年赣州市“虔能杯”职业技能竞赛", "event_name": "网约配送员", "award": "一等奖",
              "rank": 1, "title": "赣州市技术能手", "level_note": None, "issued_on": date(2026, 11, 20), "actor": None}
    values.update(overrides)
    return services.issue_award_certificate(learner, **values)


def test_award_certificates_are_idempotent_per_learner_edition_and_event():
    learner = make_learner(name="王喆")
    first = award(learner)
    assert award(learner, award="二等奖").id == first.id  # the printed award is not silently changed
    other_event = award(learner, event_name="快递员")
    assert first.serial == "JXJ-2026-000001" and other_event.serial == "JXJ-2026-000002"
    assert first.details["award"] == "一等奖" and first.details["honour_title"] == "赣州市技术能手"
    assert first.kind == "award" and first.cohort_id is None and first.title == "获奖证书"


def test_an_award_needs_edition_event_and_prize():
    with pytest.raises(CertificateError):
        award(make_learner(), award=" ")


# --- revoke and reissue -----------------------------------------------------------------------

def test_revoking_records_when_why_and_who_and_cannot_happen_twice():
    cls = graduating_class(1)
    certificate = services.issue_certificate(cls.learners[0], cls.cohort, actor=cls.admin, now=NOW)
    services.revoke(certificate, reason="data_error", note="身份证号录错", actor=cls.admin, now=NOW)
    assert certificate.status == CertificateStatus.REVOKED and certificate.revoked_at == NOW
    assert certificate.revocation_label == "证书信息有误" and certificate.revoked_by_id == cls.admin.id
    with pytest.raises(Conflict):
        services.revoke(certificate, reason="data_error", note="again", actor=cls.admin, now=NOW)
    with pytest.raises(CertificateError, match="作废说明"):
        services.revoke(certificate, reason="other", note=" ", actor=cls.admin)
    with pytest.raises(PermissionDenied):
        services.revoke(certificate, reason="other", note="x", actor=cls.instructor)
    # a revoked learner is not silently given a new one by the next cohort run
    report = services.issue_for_cohort(cls.cohort, actor=cls.admin, now=NOW)
    assert report.issued == [] and [c.id for c in report.existing] == [certificate.id]


def test_reissue_gives_a_new_serial_and_code_with_the_corrected_name_and_links_both_ways():
    cls = graduating_class(1, names=["欧阳坤"])
    old = services.issue_certificate(cls.learners[0], cls.cohort, actor=cls.admin, now=NOW)
    cls.learners[0].name = "欧阳堃"
    new = services.reissue(old, note="姓名用字更正", actor=cls.admin, now=NOW + timedelta(days=1))
    assert new.serial == "JXG-2026-DG01-000002" and new.verification_code != old.verification_code
    assert new.holder_name == "欧阳堃" and old.holder_name == "欧阳坤"
    assert old.status == CertificateStatus.REPLACED and old.replaced_by_id == new.id and new.replaces_id == old.id
    assert old.issue_key is None and new.issue_key.startswith("completion:")
    assert new.issued_on == date(2026, 7, 1) and new.course_title == old.course_title
    with pytest.raises(Conflict):
        services.reissue(old, actor=cls.admin)
    assert services.issue_certificate(cls.learners[0], cls.cohort, actor=cls.admin, now=NOW).id == new.id
    actions = db.session.scalars(select(AuditEvent.action).where(AuditEvent.object_type == "Certificate")).all()
    assert "certificate.reissued" in actions


# --- verification -----------------------------------------------------------------------------

def test_verification_needs_the_code_and_gives_one_answer_for_unknown_serials_and_wrong_codes():
    cls = graduating_class(1)
    certificate = services.issue_certificate(cls.learners[0], cls.cohort, actor=cls.admin, now=NOW)
    assert services.verify(certificate.serial, None).state == "need_code"
    assert services.verify(certificate.serial, None).certificate is None
    wrong = services.verify(certificate.serial, "ABCDEFGHJK")
    unknown = services.verify("JXG-2026-DG01-999999", certificate.verification_code)
    assert (wrong.state, wrong.certificate) == (unknown.state, unknown.certificate) == ("unknown", None)
    typed = services.verify(" jxg-2026-dg01-000001 ", "-".join([certificate.verification_code[:4],
                                                                   certificate.verification_code[4:]]).lower())
    assert typed.state == "valid" and typed.certificate.id == certificate.id


def test_verification_shows_revoked_and_replaced_states_at_once():
    cls = graduating_class(2)
    first, second = (services.issue_certificate(learner, cls.cohort, actor=cls.admin, now=NOW)
                     for learner in cls.learners)
    services.revoke(first, reason="issued_in_error", note="误发", actor=cls.admin, now=NOW)
    new = services.reissue(second, actor=cls.admin, now=NOW)
    assert services.verify(first.serial, first.verification_code).state == "revoked"
    replaced = services.verify(second.serial, second.verification_code)
    assert replaced.state == "replaced" and replaced.current.id == new.id
    assert services.verify(new.serial, new.verification_code).state == "valid"


# --- level certificates recorded from elsewhere -----------------------------------------------

def test_recording_an_outside_level_certificate_checks_number_level_year_and_issuer():
    admin = graduating_class(0).admin
    learner = make_learner()
    good = {"number": "Y000136000123244000017", "level": 4, "occupation": "电工", "issuer": "赣州市某评价中心",
            "issued_on": date(2024, 5, 6), "actor": admin, "now": NOW}
    entry = services.record_external_level(learner, **good)
    assert entry.number == "Y000136000123244000017" and entry.level == 4
    cases = [({"number": "Y00013600012324400001"}, "22 位"),
             ({"number": "X000136000123244000017"}, "Y（用人单位）或 S"),
             ({"number": "Y000136000123244000018", "level": 3}, "与所选等级“三级/高级工”不一致"),
             ({"number": "Y000136000123234000018", "issued_on": date(2024, 5, 6)}, "年份是 23"),
             ({"number": "Y000136000123264000018", "issued_on": date(2026, 12, 1)}, "不能晚于今天"),
             ({"number": "Y000136000123244000019", "issuer": " "}, "评价机构名称")]
    for change, message in cases:
        with pytest.raises((SerialError, CertificateError), match=message):
            services.record_external_level(learner, **{**good, **change})
    with pytest.raises(Conflict):
        services.record_external_level(learner, **good)
    assert db.session.scalar(select(func.count()).select_from(ExternalLevelCertificate)) == 1


# --- settings and seal ----------------------------------------------------------------------

def test_a_seal_image_is_stored_as_png_and_bad_files_are_refused(app):
    admin = graduating_class(0).admin
    image = Image.new("RGBA", (300, 300), (200, 20, 20, 128))
    out = io.BytesIO()
    image.save(out, format="PNG")
    settings = services.save_seal(out.getvalue(), actor=admin)
    stored = Path(app.config["STORAGE_PATH"]) / settings.seal_path
    assert stored.is_file() and stored.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    with pytest.raises(CertificateError, match="PNG 或 JPG"):
        services.save_seal(b"%PDF-1.7 not an image", actor=admin)
    small = io.BytesIO()
    Image.new("RGB", (50, 50)).save(small, format="PNG")
    with pytest.raises(CertificateError, match="太小"):
        services.save_seal(small.getvalue(), actor=admin)


def test_the_learners_photo_is_copied_with_the_certificate(app):
    cls = graduating_class(1)
    photo = Path(app.config["STORAGE_PATH"]) / "photos" / "learner.jpg"
    photo.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", (295, 413), (200, 210, 230)).save(photo, format="JPEG")
    cls.learners[0].photo_path = "photos/learner.jpg"
    certificate = services.issue_certificate(cls.learners[0], cls.cohort, actor=cls.admin, now=NOW)
    photo.unlink()  # a later profile change does not take the photo off the certificate
    kept = Path(app.config["STORAGE_PATH"]) / certificate.photo_path
    assert certificate.photo_path.startswith("certificates/photos/") and kept.is_file()


def test_what_a_certificate_prints_cannot_be_changed_after_issue():
    cls = graduating_class(1)
    certificate = services.issue_certificate(cls.learners[0], cls.cohort, actor=cls.admin, now=NOW)
    db.session.commit()
    certificate.holder_name = "别人"
    with pytest.raises(ImmutableSnapshot, match="holder_name"):
        db.session.flush()
    db.session.rollback()
    certificate.details = {**certificate.details, "title": "结业证书"}
    with pytest.raises(ImmutableSnapshot, match="details"):
        db.session.flush()
    db.session.rollback()


def test_no_completion_certificate_before_the_cohort_has_ended():
    """A certificate says "完成全部课时的学习": a running cohort whose end date is ahead gets none."""
    from academy.certificates import services as certificate_services

    cls = graduating_class(3)
    cls.cohort.end_date = (NOW + timedelta(days=30)).date()  # still running
    report = certificate_services.issue_for_cohort(cls.cohort, actor=cls.admin, now=NOW)
    assert report.issued == []
    assert all("班级尚未结业" in reason for _, reason in report.refused)
    cls.cohort.end_date = (NOW - timedelta(days=1)).date()
    assert len(certificate_services.issue_for_cohort(cls.cohort, actor=cls.admin, now=NOW).issued) > 0


def test_a_seal_image_with_huge_dimensions_is_refused_before_it_is_decoded():
    """A small file can claim enormous dimensions (a decompression bomb): refuse it with a message."""
    from PIL import Image

    from academy.certificates import services as certificate_services

    buffer = io.BytesIO()
    Image.new("1", (5000, 5000)).save(buffer, format="PNG")  # 25 M pixels in a few kB
    with pytest.raises(certificate_services.CertificateError, match="尺寸太大"):
        certificate_services.save_seal(buffer.getvalue(), actor=make_admin())


def test_the_refusal_names_each_components_mark_so_the_failed_one_is_visible():
    """A weighted total of 77.3 looks like a pass; the reason must show 理论知识 59.5."""
    cls = make_class(1)
    (failing,) = cls.learners
    hold_sessions(cls, 5, {})
    publish_results(cls, {failing: ("59.5", "95")})
    reason = services.learner_eligibility(failing, cls.cohort, now=NOW).reasons[0]
    assert "理论知识 59.5" in reason and "操作技能 95" in reason and "总评" in reason
