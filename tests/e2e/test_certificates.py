"""Certificates on a phone (390×844): a learner finds, downloads and shares a certificate; an
employer opens the QR link; an administrator issues and prints a cohort's certificates and
watches the progress bar of the background job.

Screenshots go to test-artifacts/certificates-*.png.
"""

from __future__ import annotations

from playwright.sync_api import expect

from academy.certificates import jobs, services
from academy.common.masking import mask_name
from tests.certificates.builders import NOW, graduating_class
from tests.e2e.conftest import assert_fits_phone
from tests.factories import PASSWORD


def _login(page, live_server, mobile: str) -> None:
    page.goto(f"{live_server}/account/login")
    page.fill("#mobile", mobile)
    page.fill("#password", PASSWORD)
    page.get_by_role("button", name="登录").click()
    page.wait_for_url(lambda url: "/account/login" not in url)


def test_a_learner_downloads_and_shares_a_certificate_and_an_employer_checks_it(db, live_server, page, shot):
    cls = graduating_class(2, names=["买买提·艾力", "欧阳堃"])
    certificate = next(c for c in services.issue_for_cohort(cls.cohort, actor=cls.admin, now=NOW).issued
                       if c.holder_name == "买买提·艾力")
    learner = next(x for x in cls.learners if x.id == certificate.learner_id)
    db.session.commit()

    _login(page, live_server, learner.mobile)
    page.goto(f"{live_server}/certificates/my")
    expect(page.locator("ul.cards > li.card")).to_have_count(1)
    expect(page.locator("main")).to_contain_text(certificate.serial)
    assert_fits_phone(page)
    shot("certificates-1-my-certificates")

    page.get_by_role("link", name="查看与分享").click()
    link = page.locator("#verify-link")
    expect(link).to_have_value(f"{live_server}/verify/{certificate.serial}?code={certificate.verification_code}")
    copy = page.get_by_role("button", name="复制链接")
    expect(copy).to_be_visible()  # the JS enhancement is on; without JS the link is still selectable text
    copy.click()
    expect(page.locator("#copy-done")).not_to_be_empty()
    assert_fits_phone(page)
    shot("certificates-2-share")

    with page.expect_download() as download:
        page.get_by_role("link", name="下载 PDF").click()
    assert download.value.suggested_filename == f"{certificate.serial}.pdf"
    with open(download.value.path(), "rb") as fh:
        assert fh.read(5) == b"%PDF-"

    page.context.clear_cookies()
    page.goto(f"{live_server}/verify/{certificate.serial}?code={certificate.verification_code}")
    expect(page.locator("main .tag-ok")).to_have_text("有效")
    expect(page.locator("main")).to_contain_text(mask_name("买买提·艾力"))
    expect(page.locator("main")).not_to_contain_text("买买提·艾力")
    assert_fits_phone(page)
    shot("certificates-3-verify")


def test_an_admin_issues_and_prints_a_cohort_and_the_progress_bar_reaches_the_download(
        db, app, live_server, page, shot, monkeypatch):
    monkeypatch.setitem(app.config, "REDIS_URL", "")  # the embedded worker thread runs the job
    cls = graduating_class(3, names=["张三丰", "李四光", "王喆"])
    db.session.commit()

    _login(page, live_server, cls.admin.mobile)
    page.goto(f"{live_server}/certificates/cohorts/{cls.cohort.id}")
    issue = page.get_by_role("button", name="给 3 名符合条件的学员发证")
    expect(issue).to_be_visible()
    assert_fits_phone(page)
    shot("certificates-4-cohort")
    issue.click()
    expect(page.locator(".flash-success")).to_contain_text("新发证书 3 张")

    page.get_by_role("button", name="开始生成").click()
    expect(page.locator("#job-progress")).to_be_visible()
    download = page.locator("#job-download")
    expect(download).to_be_visible(timeout=30_000)  # the JS poller shows it when the job is done
    expect(page.locator("#job-count")).to_have_text("3 / 3")
    assert_fits_phone(page)
    shot("certificates-5-print-job")
    jobs.embedded_worker(app).join()
