"""Certificate pages over HTTP: the cohort page, issuing, batch printing with progress, the admin
desk, learners' certificates and downloads, and the public verification page (masking, states,
no enumeration, rate limit, file check)."""

from __future__ import annotations

import io
import re

from pypdf import PdfReader
from sqlalchemy import select

from academy.certificates import services
from academy.certificates.models import Certificate, ExternalLevelCertificate, PrintJob
from academy.common.masking import mask_name
from academy.extensions import db
from tests.certificates.builders import NOW, graduating_class, hold_sessions, make_class, publish_results
from tests.conftest import csrf, login, post
from tests.factories import make_instructor, make_learner


def issued_class(n: int = 2, names=None):
    cls = graduating_class(n, names=names)
    certificates = sorted(services.issue_for_cohort(cls.cohort, actor=cls.admin, now=NOW).issued,
                          key=lambda c: c.serial)
    db.session.commit()
    return cls, certificates


def text(response) -> str:
    return response.get_data(as_text=True)


# --- the cohort page and issuing ----------------------------------------------------------------

def test_the_cohort_page_lists_who_qualifies_and_why_not(client):
    cls = make_class(2, names=["张三丰", "李四光"])
    hold_sessions(cls, 5, {cls.learners[1]: 3})
    publish_results(cls, {cls.learners[0]: ("80", "80")})
    db.session.commit()
    login(client, cls.instructor)
    page = text(client.get(f"/certificates/cohorts/{cls.cohort.id}"))
    assert "张*丰" in page and "李*光" in page and "张三丰" not in page
    assert "出勤率 60.0%，低于要求的 80.0%" in page
    assert "可发证" in page
    assert "给 1 名符合条件的学员发证" not in page  # instructors see, admins issue


def test_an_instructor_of_another_cohort_is_refused(client):
    cls = graduating_class(1)
    stranger = make_instructor()
    db.session.commit()
    login(client, stranger)
    assert client.get(f"/certificates/cohorts/{cls.cohort.id}").status_code == 403


def test_an_admin_issues_for_the_cohort_and_a_second_click_issues_nothing(client):
    cls = graduating_class(2)
    db.session.commit()
    login(client, cls.admin)
    page = text(client.get(f"/certificates/cohorts/{cls.cohort.id}"))
    assert "给 2 名符合条件的学员发证" in page
    response = post(client, f"/certificates/cohorts/{cls.cohort.id}/issue", {"kind": "completion"})
    assert response.status_code == 302
    post(client, f"/certificates/cohorts/{cls.cohort.id}/issue", {"kind": "completion"})
    assert len(db.session.scalars(select(Certificate)).all()) == 2
    page = text(client.get(f"/certificates/cohorts/{cls.cohort.id}", follow_redirects=True))
    assert "JXG-2026-DG01-000001" in page and "JXG-2026-DG01-000002" in page


def test_a_name_the_font_cannot_draw_is_reported_with_the_character(client):
    cls = graduating_class(2, names=["王\U00030000", "王喆"])
    db.session.commit()
    login(client, cls.admin)
    page = text(post(client, f"/certificates/cohorts/{cls.cohort.id}/issue", {"kind": "completion"},
                     follow_redirects=True))
    assert "新发证书 1 张" in page and "U+30000" in page and "无法显示" in page


def test_an_admin_issues_to_one_learner(client):
    cls = graduating_class(2)
    db.session.commit()
    login(client, cls.admin)
    post(client, f"/certificates/cohorts/{cls.cohort.id}/issue",
         {"kind": "completion", "learner_id": str(cls.learners[1].id)})
    assert [c.learner_id for c in db.session.scalars(select(Certificate))] == [cls.learners[1].id]


# --- batch printing -----------------------------------------------------------------------------

def test_printing_a_cohort_makes_one_pdf_in_serial_order_with_progress(client, app, monkeypatch):
    monkeypatch.setitem(app.config, "CERTIFICATE_JOBS_INLINE", True)
    cls, certificates = issued_class(3, names=["甲一", "乙二", "丙三"])
    login(client, cls.admin)
    response = post(client, f"/certificates/cohorts/{cls.cohort.id}/print", {"output": "pdf"})
    job = db.session.scalar(select(PrintJob))
    assert response.headers["Location"].endswith(f"/certificates/jobs/{job.id}")
    page = text(client.get(f"/certificates/jobs/{job.id}"))
    assert "已完成" in page and "batch-progress.js" in page
    status = client.get(f"/certificates/jobs/{job.id}/status.json").get_json()
    assert status["status"] == "done" and status["percent"] == 100 and status["done"] == 3
    download = client.get(status["download_url"])
    assert download.mimetype == "application/pdf"
    pages = PdfReader(io.BytesIO(download.data)).pages
    assert [c.serial in p.extract_text() for p, c in zip(pages, certificates, strict=True)] == [True] * 3


def test_a_running_job_page_offers_a_refresh_button_without_javascript(client, app):
    cls, certificates = issued_class(1)
    job = services.create_print_job(certificates, actor=cls.admin, label="test")
    db.session.commit()
    login(client, cls.admin)
    page = text(client.get(f"/certificates/jobs/{job.id}"))
    assert "排队中" in page and "刷新进度" in page and 'id="job-download"' in page and " hidden" in page
    assert client.get(f"/certificates/jobs/{job.id}/download").status_code == 404


def test_printing_a_selection_as_a_zip_of_individual_files(client, app, monkeypatch):
    import zipfile

    monkeypatch.setitem(app.config, "CERTIFICATE_JOBS_INLINE", True)
    cls, certificates = issued_class(2)
    login(client, cls.admin)
    ids = [str(c.id) for c in reversed(certificates)]
    response = client.post("/certificates/print", data={"certificate_id": ids, "output": "zip",
                                                        "csrf_token": csrf(client)})
    job = db.session.scalar(select(PrintJob))
    assert response.status_code == 302 and job.output == "zip" and job.status == "done"
    archive = zipfile.ZipFile(io.BytesIO(client.get(f"/certificates/jobs/{job.id}/download").data))
    assert [n.split("-", 1)[1] for n in archive.namelist()] == [f"{c.serial}.pdf" for c in reversed(certificates)]
    for certificate in certificates:
        db.session.refresh(certificate)
        member = next(n for n in archive.namelist() if certificate.serial in n)
        assert services.check_pdf_file(archive.read(member)).certificate.id == certificate.id


# --- admin desk -------------------------------------------------------------------------------

def test_the_admin_desk_searches_and_shows_masked_names(client):
    cls, certificates = issued_class(2, names=["欧阳堃", "王喆"])
    login(client, cls.admin)
    page = text(client.get("/certificates/manage?q=欧阳"))
    assert certificates[0].serial in page or certificates[1].serial in page
    assert mask_name("欧阳堃") in page and mask_name("王喆") not in page


def test_revoke_and_reissue_through_the_detail_page(client):
    cls, certificates = issued_class(2)
    first, second = certificates
    login(client, cls.admin)
    post(client, f"/certificates/{first.id}/revoke", {"reason": "issued_in_error", "note": "名单核对有误"})
    response = post(client, f"/certificates/{second.id}/reissue", {"note": "遗失补发"})
    db.session.expire_all()
    new = db.session.get(Certificate, db.session.get(Certificate, second.id).replaced_by_id)
    assert response.headers["Location"].endswith(f"/certificates/{new.id}")
    assert db.session.get(Certificate, first.id).status == "revoked"
    page = text(client.get(f"/certificates/{second.id}"))
    assert "已补发新证" in page and new.serial in page and "补发新证" in page and "certificate.reissued" not in page


def test_settings_and_seal_upload(client):
    from PIL import Image

    cls = graduating_class(0)
    db.session.commit()
    login(client, cls.admin)
    response = post(client, "/certificates/settings", {
        "issuer_name": "瑞金市金小哥学院", "completion_title": "结业证书", "completion_prefix": "RJX",
        "special_prefix": "RJZ", "award_prefix": "RJJ", "authorised_units": "网约配送\n快递分拣", "org_type": ""})
    assert response.status_code == 302
    settings = services.get_settings()
    assert (settings.issuer_name, settings.completion_title, settings.completion_prefix) == ("瑞金市金小哥学院", "结业证书",
                                                                                              "RJX")
    assert settings.authorised_units == ["网约配送", "快递分拣"]
    image = io.BytesIO()
    Image.new("RGBA", (400, 400), (180, 0, 0, 200)).save(image, format="PNG")
    post(client, "/certificates/settings/seal", {"seal": (io.BytesIO(image.getvalue()), "seal.png")},
         content_type="multipart/form-data")
    assert client.get("/certificates/settings/seal.png").mimetype == "image/png"


def test_recording_an_outside_level_certificate(client):
    cls = graduating_class(0)
    learner = make_learner(mobile="13912345678")
    db.session.commit()
    login(client, cls.admin)
    post(client, "/certificates/external", {"learner": "13912345678", "number": "S000136000123245000003",
                                            "level": "5", "occupation": "网约配送员", "issuer": "某评价中心",
                                            "issued_on": "2024-03-01"})
    entry = db.session.scalar(select(ExternalLevelCertificate))
    assert entry.learner_id == learner.id and entry.level == 5
    response = post(client, "/certificates/external", {"learner": "13912345678", "number": "S0001", "level": "5",
                                                       "occupation": "电工", "issuer": "某评价中心",
                                                       "issued_on": "2024-03-01"}, follow_redirects=True)
    assert "22 位" in text(response)


# --- learners -----------------------------------------------------------------------------------

def test_a_learner_sees_views_and_downloads_their_certificate_with_the_verification_link(client):
    cls, (certificate, _) = issued_class(2, names=["买买提·艾力", "王喆"])
    learner = cls.learners[0] if cls.learners[0].id == certificate.learner_id else cls.learners[1]
    login(client, learner)
    listing = text(client.get("/certificates/my"))
    assert certificate.serial in listing and "培训合格证书" in listing
    detail = text(client.get(f"/certificates/my/{certificate.id}"))
    link = f"/verify/{certificate.serial}?code={certificate.verification_code}"
    assert f'value="http://localhost{link}"' in detail and "certificate-share.js" in detail
    response = client.get(f"/certificates/{certificate.id}/pdf")
    assert response.mimetype == "application/pdf" and "attachment" in response.headers["Content-Disposition"]
    assert client.get(f"/certificates/{certificate.id}/pdf?view=1").headers["Content-Disposition"].startswith("inline")
    db.session.refresh(certificate)
    assert certificate.pdf_sha256 and services.check_pdf_file(response.data).certificate.id == certificate.id


def test_a_learner_cannot_see_or_download_another_learners_certificate(client):
    cls, (certificate, _) = issued_class(2)
    other = make_learner()
    db.session.commit()
    login(client, other)
    assert client.get(f"/certificates/my/{certificate.id}").status_code == 404
    assert client.get(f"/certificates/{certificate.id}/pdf").status_code == 404
    assert certificate.serial not in text(client.get("/certificates/my"))


# --- public verification ------------------------------------------------------------------------

def test_the_qr_link_shows_a_valid_certificate_with_masked_name_and_id(client):
    cls, (certificate, _) = issued_class(2, names=["买买提·艾力", "欧阳堃"])
    page = text(client.get(f"/verify/{certificate.serial}?code={certificate.verification_code}"))
    assert "有效" in page and certificate.serial in page
    assert certificate.holder_name not in page
    assert mask_name(certificate.holder_name) in page
    assert certificate.holder_id_masked in page and re.search(r"\d{6}\*{8}[\dX]{4}", page)
    learner = db.session.get(type(cls.learners[0]), certificate.learner_id)
    assert learner.id_number not in page and learner.mobile not in page


def test_without_the_code_only_the_code_is_asked_for(client):
    _, (certificate, _) = issued_class(2)
    page = text(client.get(f"/verify/{certificate.serial}"))
    assert "请输入查验码" in page
    assert certificate.holder_id_masked not in page and "有效" not in page


def test_an_unknown_serial_and_a_wrong_code_get_the_same_answer(client):
    _, (certificate, _) = issued_class(2)
    fake = "JXG-2026-DG01-999999"
    wrong = client.get(f"/verify/{certificate.serial}?code=ABCDEFGHJK")
    unknown = client.get(f"/verify/{fake}?code=ABCDEFGHJK")
    assert wrong.status_code == unknown.status_code == 200
    assert text(wrong).replace(certificate.serial, "X") == text(unknown).replace(fake, "X")
    assert "未找到匹配的证书" in text(wrong)


def test_revoked_and_replaced_certificates_show_their_state_at_once(client):
    cls, (first, second) = issued_class(2)
    services.revoke(first, reason="misconduct", note="冒名顶替", actor=cls.admin, now=NOW)
    new = services.reissue(second, actor=cls.admin, now=NOW)
    db.session.commit()
    revoked = text(client.get(f"/verify/{first.serial}?code={first.verification_code}"))
    assert "已作废" in revoked and "2026-06-30" in revoked and "弄虚作假" in revoked and "冒名顶替" not in revoked
    replaced = text(client.get(f"/verify/{second.serial}?code={second.verification_code}"))
    assert "已补发新证" in replaced and f"/verify/{new.serial}?code={new.verification_code}" in replaced


def test_the_form_sends_serial_and_code_to_the_verification_page(client):
    _, (certificate, _) = issued_class(2)
    response = client.get(f"/verify?serial={certificate.serial}&code={certificate.verification_code}")
    assert response.status_code == 302
    assert text(client.get(response.headers["Location"])).count("有效") >= 1
    assert "证书编号" in text(client.get("/verify"))


def test_verification_is_rate_limited_per_address(client, app, monkeypatch):
    monkeypatch.setitem(app.config, "CERTIFICATE_VERIFY_LIMIT", 3)
    for _ in range(3):
        assert client.get("/verify/JXG-2026-X-000001?code=AAAA").status_code == 200
    response = client.get("/verify/JXG-2026-X-000001?code=AAAA")
    assert response.status_code == 429 and "操作太频繁" in text(response)
    other = app.test_client()
    assert other.get("/verify/JXG-2026-X-000001", environ_base={"REMOTE_ADDR": "10.0.0.9"}).status_code == 200


def test_an_uploaded_pdf_is_checked_against_the_stored_original(client):
    _, (certificate, _) = issued_class(2)
    original = services.ensure_pdf(certificate, base_url="https://xue.example.cn")
    db.session.commit()
    good = post(client, "/verify/file", {"file": (io.BytesIO(original), "c.pdf")}, content_type="multipart/form-data")
    assert "原始文件" in text(good) and certificate.serial in text(good)
    altered = original[:3000] + bytes([original[3000] ^ 1]) + original[3001:]
    bad = post(client, "/verify/file", {"file": (io.BytesIO(altered), "c.pdf")}, content_type="multipart/form-data")
    assert "不一致" in text(bad) and certificate.serial not in text(bad)


def test_a_file_that_is_not_a_pdf_is_called_that_not_an_altered_certificate(client):
    png = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
    response = post(client, "/verify/file", {"file": (io.BytesIO(png), "photo.pdf")},
                    content_type="multipart/form-data")
    assert "这不是 PDF 文件" in text(response) and "不一致" not in text(response)
    empty = post(client, "/verify/file", {"file": (io.BytesIO(b""), "c.pdf")}, content_type="multipart/form-data")
    assert "请选择" in text(empty) or "文件是空的" in text(empty)
