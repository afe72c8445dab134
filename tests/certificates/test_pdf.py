"""Certificate PDFs: the font is the project's (Noto CJK SC, embedded), names come out exactly,
nothing spills onto a second page, the QR code decodes to the verification URL, and a reprint
is byte-identical while an altered copy is detected."""

from __future__ import annotations

import io
import subprocess
from pathlib import Path

import pytest
from fontTools.ttLib import TTFont
from pypdf import PdfReader

from academy.certificates import pdf, services
from academy.certificates.services import SettingsInput
from tests.certificates.builders import NAMES, NOW, graduating_class

BASE = "https://xue.example.cn"


def pdftotext(data: bytes, tmp_path: Path) -> str:
    path = tmp_path / "c.pdf"
    path.write_bytes(data)
    return subprocess.run(["pdftotext", "-layout", str(path), "-"], check=True, capture_output=True,
                          text=True).stdout


def test_weasyprint_finds_harfbuzz_subset():
    """Without libharfbuzz-subset0 a certificate takes 12 s instead of 0.2 s, silently
    (research/perf-setup.md §2): `apt-get install libharfbuzz-subset0` (scripts/sysdeps.sh)."""
    from weasyprint.text.ffi import harfbuzz_subset

    assert harfbuzz_subset is not None, "apt-get install libharfbuzz-subset0"
    assert pdf.check_fonts() == []


def test_the_fonts_are_the_simplified_chinese_faces_taken_from_debian_collections():
    faces = pdf.prepare_fonts()
    names = []
    for _face, path in faces:
        font = TTFont(path, lazy=True)
        names.append(font["name"].getDebugName(6))
        font.close()
    assert names == ["NotoSerifCJKsc-Regular", "NotoSerifCJKsc-Bold", "NotoSansCJKsc-Regular"]
    css = pdf.font_face_css()
    assert 'font-family: "Noto Serif CJK SC"' in css and "file://" in css
    stylesheet = (pdf.STATIC_DIR / "certificate.css").read_text()
    assert '"Noto Serif CJK SC"' in stylesheet and '"Noto Sans CJK SC"' in stylesheet


def test_missing_system_fonts_stop_with_the_install_command(app, tmp_path):
    app.config["CERTIFICATE_SYSTEM_FONT_DIR"] = str(tmp_path)
    app.config["CERTIFICATE_FONT_DIR"] = str(tmp_path / "cache")
    try:
        with pytest.raises(pdf.CertificateFontError, match="fonts-noto-cjk"):
            pdf.check_fonts()
    finally:
        del app.config["CERTIFICATE_SYSTEM_FONT_DIR"], app.config["CERTIFICATE_FONT_DIR"]


def test_glyph_coverage_includes_rare_and_astral_characters_and_names_the_missing_one():
    pdf.check_glyphs([("姓名", name) for name in NAMES])
    with pytest.raises(pdf.UnsupportedCharacter) as raised:
        pdf.check_glyphs([("姓名", "李\U00030001明")])
    assert raised.value.char == "\U00030001" and "U+30001" in str(raised.value)


def test_names_with_middle_dot_compound_surname_rare_and_astral_characters_print_exactly(tmp_path):
    cls = graduating_class(4, names=NAMES)
    certificates = sorted(services.issue_for_cohort(cls.cohort, actor=cls.admin, now=NOW).issued,
                          key=lambda c: c.serial)
    data = pdf.render_document(certificates, base_url=BASE)

    reader = PdfReader(io.BytesIO(data))
    assert len(reader.pages) == 4  # one page each, nothing spills over
    assert all(round(float(p.mediabox.width)) == 842 and round(float(p.mediabox.height)) == 595 for p in reader.pages)
    text = pdftotext(data, tmp_path)
    for name in NAMES:
        assert name in text
    for page, certificate in zip(reader.pages, certificates, strict=True):
        assert certificate.serial in page.extract_text()
        assert certificate.holder_name in page.extract_text()
    path = tmp_path / "c.pdf"
    fonts = subprocess.run(["pdffonts", str(path)], check=True, capture_output=True, text=True).stdout
    embedded = [line.split()[0] for line in fonts.splitlines()[2:]]
    assert any(name.endswith("+Noto-Serif-CJK-SC") for name in embedded)
    assert any(name.endswith("+Noto-Serif-CJK-SC-Bold") for name in embedded)
    assert all(line.split()[-5] == "yes" for line in fonts.splitlines()[2:])  # emb column


def test_long_names_and_course_titles_stay_on_one_page(tmp_path):
    cls = graduating_class(2, names=["阿卜杜热合曼·买买提依明·艾则孜·吐尔逊", "王喆"])
    cls.cohort.course.title = ("赣州市新就业形态劳动者（快递员、外卖员、网约车司机、货车司机）职业技能提升暨安全生产"
                               "与法律法规知识综合培训班（第三期，线上线下结合）")
    certificates = services.issue_for_cohort(cls.cohort, actor=cls.admin, now=NOW).issued
    data = pdf.render_document(certificates, base_url=BASE)
    assert len(PdfReader(io.BytesIO(data)).pages) == 2
    assert "阿卜杜热合曼·买买提依明·艾则孜·吐尔逊" in pdftotext(data, tmp_path)


def test_the_qr_code_on_the_page_opens_the_verification_url(tmp_path):
    cls = graduating_class(1, names=["欧阳堃"])
    cls.cohort.course.title, cls.cohort.course.level = "中式烹调师（四级/中级工）培训", "四级/中级工"
    certificate = services.issue_certificate(cls.learners[0], cls.cohort, actor=cls.admin, now=NOW)
    data = pdf.render_document([certificate], base_url=BASE)
    flat = "".join(pdftotext(data, tmp_path).split())
    assert "参加中式烹调师（四级/中级工）培训，完成全部40课时的学习" in flat  # no 培训培训, no level twice
    subprocess.run(["pdftoppm", "-png", "-r", "150", "-f", "1", "-l", "1", str(tmp_path / "c.pdf"),
                    str(tmp_path / "page")], check=True)
    png = next(tmp_path.glob("page*.png"))
    decoded = subprocess.run(["zbarimg", "-q", "--raw", str(png)], check=True, capture_output=True,
                             text=True).stdout.strip()
    assert decoded == f"{BASE}/verify/{certificate.serial}?code={certificate.verification_code}"


def test_level_certificates_are_portrait_and_carry_the_national_query_site(tmp_path):
    cls = graduating_class(1, names=["王喆"])
    services.update_settings(SettingsInput(is_evaluation_org=True, evaluation_org_name="瑞金市金小哥职业技能评价中心",
                                           org_type="S", org_code="0001", province_code="36", site_code="000123"),
                             actor=cls.admin)
    certificate = services.issue_for_cohort(cls.cohort, actor=cls.admin, kind="level", now=NOW).issued[0]
    data = pdf.render_document([certificate], base_url=BASE)
    page = PdfReader(io.BytesIO(data)).pages[0]
    assert round(float(page.mediabox.width)) == 595 and round(float(page.mediabox.height)) == 842
    text = pdftotext(data, tmp_path)
    assert certificate.serial in text and "jndj.osta.org.cn" in text and "五级/初级工" in text


def test_a_reprint_is_byte_identical_and_the_stored_file_is_served(app):
    cls = graduating_class(1, names=["买买提·艾力"])
    certificate = services.issue_certificate(cls.learners[0], cls.cohort, actor=cls.admin, now=NOW)
    stored = services.ensure_pdf(certificate, base_url=BASE)
    assert certificate.pdf_sha256 == pdf.sha256_hex(stored)
    assert (Path(app.config["STORAGE_PATH"]) / certificate.pdf_path).read_bytes() == stored
    assert services.render_certificate(certificate, base_url=BASE) == stored  # reprint: same bytes
    assert services.ensure_pdf(certificate, base_url="https://elsewhere.example") == stored  # served, not redrawn
    meta = PdfReader(io.BytesIO(stored)).metadata
    assert meta["/CreationDate"].startswith("D:20260630")


def test_an_altered_copy_is_detected_and_a_tampered_stored_file_is_rendered_again(app):
    cls = graduating_class(1)
    certificate = services.issue_certificate(cls.learners[0], cls.cohort, actor=cls.admin, now=NOW)
    original = services.ensure_pdf(certificate, base_url=BASE)
    assert services.check_pdf_file(original).certificate.id == certificate.id
    altered = original[:2000] + bytes([original[2000] ^ 1]) + original[2001:]
    assert services.check_pdf_file(altered).certificate is None
    (Path(app.config["STORAGE_PATH"]) / certificate.pdf_path).write_bytes(altered)
    assert services.ensure_pdf(certificate, base_url=BASE) == original


def test_a_big_batch_renders_in_chunks_into_one_print_ordered_file(app):
    cls = graduating_class(5, names=["甲一", "乙二", "丙三", "丁四", "戊五"])
    certificates = sorted(services.issue_for_cohort(cls.cohort, actor=cls.admin, now=NOW).issued,
                          key=lambda c: c.serial)
    progress = []
    data = pdf.render_batch(certificates, base_url=BASE, chunk_pages=2, progress=progress.append)
    reader = PdfReader(io.BytesIO(data))
    assert progress == [2, 4, 5]
    assert [p.extract_text().count(c.serial) > 0 for p, c in zip(reader.pages, certificates, strict=True)] == [True] * 5


def test_two_worker_processes_print_the_same_pages_in_the_same_order(app, monkeypatch):
    monkeypatch.setitem(app.config, "CERTIFICATE_CHUNK_PAGES", 2)
    cls = graduating_class(6, names=[*NAMES, "甲一", "乙二"])
    certificates = sorted(services.issue_for_cohort(cls.cohort, actor=cls.admin, now=NOW).issued,
                          key=lambda c: c.serial)
    one = pdf.render_batch(certificates, base_url=BASE, processes=1)
    progress = []
    two = pdf.render_batch(certificates, base_url=BASE, processes=2, progress=progress.append)

    def page_texts(data):
        return [page.extract_text() for page in PdfReader(io.BytesIO(data)).pages]

    assert page_texts(two) == page_texts(one)
    assert len(page_texts(two)) == 6
    for text, certificate in zip(page_texts(two), certificates, strict=True):
        assert certificate.serial in text and certificate.holder_name in text
    assert progress == sorted(progress) and progress[-1] == 6 and len(progress) == 4  # 4 chunks: 2+2+1+1


def test_chunks_are_even_and_a_multiple_of_the_worker_count():
    assert pdf.chunk_bounds(300, 50, 2) == [(i, i + 50) for i in range(0, 300, 50)]
    assert [b - a for a, b in pdf.chunk_bounds(120, 50, 2)] == [30, 30, 30, 30]
    assert [b - a for a, b in pdf.chunk_bounds(120, 50, 1)] == [40, 40, 40]
    assert [b - a for a, b in pdf.chunk_bounds(5, 2, 1)] == [2, 2, 1]
    assert [b - a for a, b in pdf.chunk_bounds(3, 2, 4)] == [1, 1, 1]
    assert pdf.chunk_bounds(40, 50, 2) == [(0, 40)]
    assert pdf.chunk_bounds(0, 50, 2) == []
    # workers only for more than two full chunks: below that, starting them costs what they save
    assert pdf.batch_plan(300, 50, 2) == (2, pdf.chunk_bounds(300, 50, 2))
    assert pdf.batch_plan(101, 50, 2)[0] == 2
    assert pdf.batch_plan(100, 50, 2) == (0, [(0, 50), (50, 100)])
    assert pdf.batch_plan(300, 50, 1) == (0, pdf.chunk_bounds(300, 50, 1))


def test_certificate_pdfs_never_fetch_from_the_network(app):
    fetcher = pdf._make_fetcher([Path(app.config["STORAGE_PATH"])])
    with pytest.raises(ValueError):
        fetcher.fetch("http://169.254.169.254/latest/meta-data")
    with pytest.raises(ValueError):
        fetcher.fetch("file:///etc/passwd")


def test_start_up_logs_the_install_command_when_the_fonts_are_missing(app, tmp_path, caplog, monkeypatch):
    monkeypatch.setitem(app.config, "CERTIFICATE_SYSTEM_FONT_DIR", str(tmp_path))
    pdf.startup_check(app)
    assert "fonts-noto-cjk" in caplog.text and "NotoSerifCJK-Regular.ttc" in caplog.text
