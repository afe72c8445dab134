"""Privacy pages: the unmask button, the exports (admin and one's own), the anonymisation page."""

from __future__ import annotations

import io
import json

from openpyxl import load_workbook
from sqlalchemy import select

from academy.accounts.models import User
from academy.audit.models import AuditEvent
from academy.extensions import db
from tests.conftest import login, post
from tests.factories import make_admin, make_cohort, make_instructor, make_learner, valid_id_number
from tests.privacy.builders import person_everywhere


def signed_in(app, user):
    client = app.test_client()
    login(client, user)
    return client


def actions(action: str) -> list[AuditEvent]:
    return list(db.session.scalars(select(AuditEvent).where(AuditEvent.action == action)))


def test_the_admins_user_page_masks_and_the_button_shows_the_full_values_once(app):
    admin = make_admin()
    learner = make_learner(name="王小磊", mobile="13812341234", id_number=valid_id_number())
    db.session.commit()
    client = signed_in(app, admin)
    page = client.get(f"/account/users/{learner.id}").get_data(as_text=True)
    assert "138****1234" in page and learner.id_number not in page and "查看完整信息" in page
    response = post(client, f"/privacy/people/{learner.id}/unmask")
    shown = response.get_data(as_text=True)
    assert response.status_code == 200 and response.headers["Cache-Control"] == "no-store"
    assert "13812341234" in shown and learner.id_number in shown and "王小磊" in shown
    [event] = actions("personal_data.unmasked")
    assert event.actor_id == admin.id and event.object_id == learner.id
    assert "138****1234" in client.get(f"/account/users/{learner.id}").get_data(as_text=True)  # masked again


def test_an_instructor_may_unmask_only_learners_of_their_own_cohorts(app):
    mine, theirs = make_instructor(), make_instructor()
    cohort = make_cohort(instructors=[mine])
    make_cohort(instructors=[theirs])
    learner = make_learner()
    from tests.factories import enrol

    enrol(learner, cohort)
    db.session.commit()
    assert post(signed_in(app, theirs), f"/privacy/people/{learner.id}/unmask").status_code == 403
    assert learner.mobile in post(signed_in(app, mine), f"/privacy/people/{learner.id}/unmask").get_data(as_text=True)
    assert post(signed_in(app, mine), "/privacy/people/999999/unmask").status_code == 404


def test_the_admin_exports_one_persons_data_as_xlsx_or_json(app):
    p = person_everywhere()
    client = signed_in(app, p.cls.admin)
    response = post(client, f"/privacy/people/{p.learner.id}/export", {"fmt": "xlsx"})
    assert response.status_code == 200 and "attachment" in response.headers["Content-Disposition"]
    assert response.headers["Cache-Control"] == "no-store"
    book = load_workbook(io.BytesIO(response.data))
    assert {"个人资料", "报名", "考勤", "请假", "考核成绩", "证书", "学历提升", "竞赛报名", "审计记录"} <= set(book.sheetnames)
    payload = json.loads(post(client, f"/privacy/people/{p.learner.id}/export", {"fmt": "json"}).data)
    assert {row["是否已公布"] for row in payload["results"]} == {"是", "否"}
    assert len(actions("personal_data.exported")) == 2


def test_a_learner_downloads_their_own_data_from_the_profile_page(app):
    p = person_everywhere()
    client = signed_in(app, p.learner)
    page = client.get("/account/profile").get_data(as_text=True)
    assert "我的个人信息" in page and "/privacy/my/export" in page
    payload = json.loads(post(client, "/privacy/my/export", {"fmt": "json"}).data)
    assert payload["person_id"] == p.learner.id and "audit_events" not in payload
    assert [row["是否已公布"] for row in payload["results"]] == ["是"]
    book = load_workbook(io.BytesIO(post(client, "/privacy/my/export", {"fmt": "xlsx"}).data))
    assert "审计记录" not in book.sheetnames
    # a learner cannot export someone else
    assert post(client, f"/privacy/people/{p.cls.learners[1].id}/export", {"fmt": "json"}).status_code == 403


def test_the_anonymisation_page_needs_a_reason_and_a_confirmation(app):
    p = person_everywhere()
    client = signed_in(app, p.cls.admin)
    url = f"/privacy/people/{p.learner.id}/anonymise"
    page = client.get(url).get_data(as_text=True)
    assert "会删除" in page and "会保留" in page and "注销原因" in page
    refused = post(client, url, {"reason": "本人申请删除"}).get_data(as_text=True)
    assert "请勾选确认" in refused
    response = post(client, url, {"reason": "本人书面申请删除个人信息", "confirm": "y"})
    assert response.status_code == 302 and response.headers["Location"].endswith(f"/account/users/{p.learner.id}")
    db.session.expire_all()
    person = db.session.get(User, p.learner.id)
    assert person.name.startswith("已注销用户")
    detail = client.get(f"/account/users/{person.id}").get_data(as_text=True)
    assert "账号已注销" in detail
    assert "已经注销" in client.get(url).get_data(as_text=True)
    # the certificate's public page still answers, with the masked name it always showed
    c = p.certificate
    verify = client.get(f"/verify/{c.serial}?code={c.verification_code}").get_data(as_text=True)
    assert "王*磊" in verify and "有效" in verify


def test_a_signed_in_browser_of_the_anonymised_person_is_signed_out(app):
    p = person_everywhere()
    learner_client = signed_in(app, p.learner)
    assert learner_client.get("/account/profile").status_code == 200
    post(signed_in(app, p.cls.admin), f"/privacy/people/{p.learner.id}/anonymise",
         {"reason": "本人书面申请删除个人信息", "confirm": "y"})
    response = learner_client.get("/account/profile")
    assert response.status_code == 302 and "/account/login" in response.headers["Location"]
