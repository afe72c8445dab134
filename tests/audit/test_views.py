"""The audit log page: filters and export, admins only."""

from __future__ import annotations

import io

from openpyxl import load_workbook

from academy.audit.services import record
from academy.extensions import db
from tests.conftest import login, post
from tests.factories import make_admin, make_learner


def test_failed_logins_appear_in_the_audit_log_and_filter_by_group(client):
    admin = make_admin(name="管理员甲")
    learner = make_learner()
    db.session.commit()
    response = post(client, "/account/login", {"mobile": learner.mobile, "password": "wrong-pass1"})
    assert response.status_code == 200
    record("certificate.revoked", actor=admin, reason="test")
    db.session.commit()
    login(client, admin)
    page = client.get("/audit/?group=auth").get_data(as_text=True)
    assert "auth.login_failed" in page
    assert "certificate.revoked" not in page
    page = client.get("/audit/?group=certificate").get_data(as_text=True)
    assert "certificate.revoked" in page


def test_audit_export_is_an_xlsx_with_masked_actors(client):
    admin = make_admin(name="欧阳堃")
    record("personal_data.unmasked", actor=admin, what="class_list_export")
    db.session.commit()
    login(client, admin)
    response = client.get("/audit/export.xlsx?group=personal_data")
    assert response.status_code == 200
    ws = load_workbook(io.BytesIO(response.data)).active
    rows = list(ws.iter_rows(values_only=True))
    assert rows[0][:3] == ("时间", "操作", "操作人")
    assert rows[1][1] == "personal_data.unmasked"
    assert rows[1][2] == "欧*堃"


def test_learners_cannot_read_the_audit_log(client):
    learner = make_learner()
    db.session.commit()
    login(client, learner)
    assert client.get("/audit/").status_code == 403
    assert client.get("/audit/export.xlsx").status_code == 403


def test_the_audit_log_reads_in_words_with_the_code_beside(client):
    admin = make_admin()
    learner = make_learner()
    db.session.commit()
    post(client, "/account/login", {"mobile": learner.mobile, "password": "wrong-pass1"})
    login(client, admin)
    page = client.get("/audit/?group=auth").get_data(as_text=True)
    assert "登录失败" in page and "auth.login_failed" in page
    ws = load_workbook(io.BytesIO(client.get("/audit/export.xlsx?group=auth").data)).active
    rows = list(ws.iter_rows(values_only=True))
    assert rows[0][-1] == "说明" and "登录失败" in [r[-1] for r in rows[1:]]
