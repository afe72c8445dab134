"""Account pages over HTTP: registration, login, next, remember-me, logout, passwords, activation,
profile, and the administrators' account pages."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from werkzeug.security import check_password_hash

from academy.accounts.models import Role, User
from academy.audit.models import AuditEvent
from academy.extensions import db
from tests.conftest import login, post
from tests.factories import PASSWORD, make_admin, make_instructor, make_learner, valid_id_number

REMEMBER = "remember_token"


def _user(mobile: str) -> User:
    return db.session.scalar(select(User).where(User.mobile == mobile))


def _signed_in(client) -> bool:
    """True when ``client`` is signed in (the learner's page answers instead of sending to login)."""
    return client.get("/enrolment/my").status_code == 200


# --- registration ---------------------------------------------------------------------------

def test_registration_creates_a_learner_signs_in_and_opens_the_catalogue(client):
    response = post(client, "/account/register", {
        "mobile": "13812345678", "name": "王小磊", "password": "abc12345", "password2": "abc12345",
        "id_number": "36072219780919711x", "district": "瑞金市", "occupation_group": "外卖员", "platform": "美团",
    })
    assert response.status_code == 302
    assert response.headers["Location"] == "/courses/"
    user = _user("13812345678")
    assert user.role_set == {Role.LEARNER}
    assert user.id_number == "36072219780919711X"
    assert (user.district, user.occupation_group, user.gender) == ("瑞金市", "外卖员", "男")
    assert _signed_in(client)


def test_registration_follows_a_safe_next(client):
    response = post(client, "/account/register?next=/courses/cohorts/K1",
                    {"mobile": "13812345678", "name": "王磊", "password": "abc12345", "password2": "abc12345"})
    assert response.headers["Location"] == "/courses/cohorts/K1"


def test_registration_shows_each_problem_next_to_its_field(client):
    make_learner(mobile="13812345678")
    page = post(client, "/account/register", {"mobile": "13812345678", "name": "王磊",
                                              "password": "abc12345", "password2": "abc12345"})
    assert page.status_code == 200
    assert "这个手机号已经注册，请直接登录" in page.get_data(as_text=True)
    page = post(client, "/account/register", {"mobile": "13812345679", "name": "王磊",
                                              "password": "abc12345", "password2": "abc12346"})
    assert "两次输入的密码不一致" in page.get_data(as_text=True)
    page = post(client, "/account/register", {"mobile": "13812345679", "name": "王磊",
                                              "password": "abcdefgh", "password2": "abcdefgh"})
    assert "密码需同时包含字母和数字" in page.get_data(as_text=True)
    page = post(client, "/account/register", {"mobile": "13812345679", "name": "王磊", "password": "abc12345",
                                              "password2": "abc12345", "id_number": "360730197207198546"})
    assert "校验位" in page.get_data(as_text=True)
    page = post(client, "/account/register", {"mobile": "13812345679", "name": "王磊", "password": "abc12345",
                                              "password2": "abc12345", "district": "北京市"})
    assert page.status_code == 200
    assert _user("13812345679") is None


def test_registration_refuses_an_id_number_already_used(client):
    number = valid_id_number()
    make_learner(id_number=number)
    db.session.commit()
    page = post(client, "/account/register", {"mobile": "13812345679", "name": "王磊", "password": "abc12345",
                                              "password2": "abc12345", "id_number": number})
    assert "已经注册过账号" in page.get_data(as_text=True)
    assert _user("13812345679") is None


# --- login, next, remember-me, logout ------------------------------------------------------------

def test_login_by_mobile_number_goes_to_the_learners_home(client):
    make_learner(mobile="13812345678")
    db.session.commit()
    response = post(client, "/account/login", {"mobile": "138 1234 5678", "password": PASSWORD})
    assert response.status_code == 302
    assert response.headers["Location"] == "/"
    assert client.get("/").headers["Location"] == "/enrolment/my"
    assert _user("13812345678").last_login_at is not None


def test_a_wrong_password_and_an_unknown_number_show_the_same_message_and_are_audited(client):
    make_learner(mobile="13812345678")
    db.session.commit()
    pages = [post(client, "/account/login", {"mobile": "13812345678", "password": "wrong1234"}),
             post(client, "/account/login", {"mobile": "13900000000", "password": PASSWORD})]
    for page in pages:
        assert page.status_code == 200
        assert "手机号或密码不正确" in page.get_data(as_text=True)
    assert len(db.session.scalars(select(AuditEvent).where(AuditEvent.action == "auth.login_failed")).all()) == 2
    assert not _signed_in(client)


def test_a_deactivated_account_cannot_log_in(client):
    make_learner(mobile="13812345678", is_active_account=False)
    db.session.commit()
    page = post(client, "/account/login", {"mobile": "13812345678", "password": PASSWORD})
    assert "账号已停用" in page.get_data(as_text=True)
    assert not _signed_in(client)


@pytest.mark.parametrize("target", ["//evil.com", "https://evil.com", "/\\evil.com", "javascript:alert(1)",
                                    "http://evil.com/courses/"])
def test_next_after_login_never_leaves_the_site(client, target):
    make_learner(mobile="13812345678")
    db.session.commit()
    response = post(client, "/account/login", {"mobile": "13812345678", "password": PASSWORD, "next": target})
    assert response.status_code == 302
    assert response.headers["Location"] == "/"


def test_next_after_login_follows_a_path_inside_the_site(client):
    make_learner(mobile="13812345678")
    db.session.commit()
    response = post(client, "/account/login?next=/courses/%3Fq%3D电工",
                    {"mobile": "13812345678", "password": PASSWORD})
    assert response.headers["Location"] == "/courses/?q=%E7%94%B5%E5%B7%A5"  # 电工, IRI-encoded


def test_a_protected_page_sends_visitors_to_login_and_back(client):
    learner = make_learner()
    db.session.commit()
    response = client.get("/enrolment/my")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/account/login?next=")
    response = post(client, response.headers["Location"], {"mobile": learner.mobile, "password": PASSWORD})
    assert response.headers["Location"] == "/enrolment/my"


def test_remember_me_keeps_a_person_signed_in_after_the_browser_session(app, client):
    make_learner(mobile="13812345678")
    db.session.commit()
    post(client, "/account/login", {"mobile": "13812345678", "password": PASSWORD, "remember": "y"})
    cookie = client.get_cookie(REMEMBER)
    assert cookie is not None
    fresh = app.test_client()  # a new browser session with only the remember-me cookie
    fresh.set_cookie(REMEMBER, cookie.value)
    assert _signed_in(fresh)


def test_without_remember_me_no_cookie_is_set(client):
    make_learner(mobile="13812345678")
    db.session.commit()
    post(client, "/account/login", {"mobile": "13812345678", "password": PASSWORD})
    assert client.get_cookie(REMEMBER) is None


def test_logout_invalidates_the_remember_me_cookie_of_that_session(app, client):
    make_learner(mobile="13812345678")
    db.session.commit()
    post(client, "/account/login", {"mobile": "13812345678", "password": PASSWORD, "remember": "y"})
    copied = client.get_cookie(REMEMBER).value
    response = post(client, "/account/logout")
    assert response.status_code == 302
    assert not _signed_in(client)
    replay = app.test_client()
    replay.set_cookie(REMEMBER, copied)
    assert not _signed_in(replay)


def test_logout_needs_a_post_with_csrf(client):
    learner = make_learner()
    db.session.commit()
    login(client, learner)
    assert client.get("/account/logout").status_code == 405
    assert client.post("/account/logout").status_code == 400
    assert _signed_in(client)


def test_changing_the_password_ends_other_sessions_and_keeps_this_one(app, client):
    learner = make_learner()
    db.session.commit()
    other_phone = app.test_client()
    login(client, learner)
    login(other_phone, learner)
    response = post(client, "/account/password", {"current": PASSWORD, "new": "newpass123", "new2": "newpass123"})
    assert response.status_code == 302
    assert _signed_in(client)
    assert not _signed_in(other_phone)
    login(other_phone, learner, password="newpass123")


def test_changing_the_password_keeps_this_devices_remember_me(app, client):
    learner = make_learner()
    db.session.commit()
    post(client, "/account/login", {"mobile": learner.mobile, "password": PASSWORD, "remember": "y"})
    old_cookie = client.get_cookie(REMEMBER).value
    post(client, "/account/password", {"current": PASSWORD, "new": "newpass123", "new2": "newpass123"})
    new_cookie = client.get_cookie(REMEMBER).value
    assert new_cookie != old_cookie
    for value, expected in ((new_cookie, True), (old_cookie, False)):
        browser = app.test_client()
        browser.set_cookie(REMEMBER, value)
        assert _signed_in(browser) is expected


def test_a_wrong_current_password_is_shown_on_the_form(client):
    learner = make_learner()
    db.session.commit()
    login(client, learner)
    page = post(client, "/account/password", {"current": "wrong1234", "new": "newpass123", "new2": "newpass123"})
    assert "当前密码不正确" in page.get_data(as_text=True)


# --- activation of imported learners ----------------------------------------------------------

def test_the_login_page_links_to_the_first_sign_in_of_imported_learners(client):
    page = client.get("/account/login").get_data(as_text=True)
    assert "学院导入的学员首次登录" in page
    assert 'href="/account/activate"' in page


def test_an_imported_learner_activates_the_account_and_is_signed_in(client):
    make_learner(mobile="13812345678", password_hash=None, id_number="36072219780919711X")
    db.session.commit()
    assert "激活账号/首次登录" in client.get("/account/activate").get_data(as_text=True)
    response = post(client, "/account/activate", {"mobile": "13812345678", "id_tail": "19711x",
                                                  "password": "newpass123", "password2": "newpass123"})
    assert response.status_code == 302
    assert response.headers["Location"] == "/enrolment/my"
    assert _signed_in(client)
    assert check_password_hash(_user("13812345678").password_hash, "newpass123")


def test_a_wrong_activation_gets_one_neutral_message_and_is_audited(client):
    make_learner(mobile="13812345678", password_hash=None, id_number="36072219780919711X")
    make_learner(mobile="13812345679", id_number=valid_id_number())  # already has a password
    db.session.commit()
    for mobile, tail in (("13812345678", "000000"), ("13900000000", "19711X"), ("13812345679", "19711X")):
        page = post(client, "/account/activate", {"mobile": mobile, "id_tail": tail,
                                                  "password": "newpass123", "password2": "newpass123"})
        assert page.status_code == 200
        assert "手机号与身份证号后6位对不上" in page.get_data(as_text=True)
    failures = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "account.activation_failed")).all()
    assert len(failures) == 3
    assert _user("13812345678").password_hash is None


def test_activation_checks_the_two_passwords_and_the_password_rules(client):
    make_learner(mobile="13812345678", password_hash=None, id_number="36072219780919711X")
    db.session.commit()
    page = post(client, "/account/activate", {"mobile": "13812345678", "id_tail": "19711X",
                                              "password": "newpass123", "password2": "newpass124"})
    assert "两次输入的密码不一致" in page.get_data(as_text=True)
    page = post(client, "/account/activate", {"mobile": "13812345678", "id_tail": "19711X",
                                              "password": "short", "password2": "short"})
    assert "密码至少8位" in page.get_data(as_text=True)
    assert _user("13812345678").password_hash is None


# --- profile ----------------------------------------------------------------------------------

def test_the_profile_page_masks_the_id_number_and_saves_choices(client):
    learner = make_learner(mobile="13812345678", id_number="36072219780919711X")
    db.session.commit()
    login(client, learner)
    page = client.get("/account/profile").get_data(as_text=True)
    assert "360722********711X" in page
    assert "36072219780919711X" not in page
    assert "138****5678" in page
    response = post(client, "/account/profile", {"district": "于都县", "occupation_group": "快递员",
                                                 "education": "初中", "political_status": "群众", "platform": "顺丰"})
    assert response.status_code == 302
    user = _user("13812345678")
    assert (user.district, user.occupation_group, user.platform) == ("于都县", "快递员", "顺丰")
    assert user.id_number == "36072219780919711X"


# --- administration -----------------------------------------------------------------------------

def test_an_admin_creates_an_instructor_account(client):
    admin = make_admin()
    db.session.commit()
    login(client, admin)
    response = post(client, "/account/users/new", {"mobile": "13700000001", "name": "钟建华",
                                                   "password": "teach1234", "roles": ["instructor", "judge"]})
    assert response.status_code == 302
    teacher = _user("13700000001")
    assert teacher.role_set == {Role.INSTRUCTOR, Role.JUDGE}
    assert response.headers["Location"] == f"/account/users/{teacher.id}"


def test_creating_staff_with_problems_flashes_them(client):
    admin = make_admin()
    db.session.commit()
    login(client, admin)
    response = post(client, "/account/users/new", {"mobile": "13700000001", "name": "钟建华", "password": "x"},
                    follow_redirects=True)
    text = response.get_data(as_text=True)
    assert "至少选择一个角色" in text
    assert _user("13700000001") is None


@pytest.mark.parametrize("maker", [make_learner, make_instructor])
def test_non_admins_cannot_create_staff_or_reset_passwords(client, maker):
    person, target = maker(), make_learner()
    db.session.commit()
    login(client, person)
    assert post(client, "/account/users/new", {"mobile": "13700000001", "name": "钟建华",
                                               "password": "teach1234", "roles": ["admin"]}).status_code == 403
    assert post(client, f"/account/users/{target.id}/password", {"password": "reset1234"}).status_code == 403
    assert _user("13700000001") is None


def test_an_admin_resets_a_password_and_the_person_is_signed_out(app, client):
    admin, learner = make_admin(), make_learner()
    db.session.commit()
    learners_phone = app.test_client()
    login(learners_phone, learner)
    login(client, admin)
    response = post(client, f"/account/users/{learner.id}/password", {"password": "reset1234"})
    assert response.status_code == 302
    assert not _signed_in(learners_phone)
    login(learners_phone, learner, password="reset1234")


def test_an_admin_grants_roles_but_cannot_drop_their_own_admin_role(client):
    admin, learner = make_admin(), make_learner()
    db.session.commit()
    login(client, admin)
    post(client, f"/account/users/{learner.id}/roles", {"role": "instructor", "grant": "y"})
    assert db.session.get(User, learner.id).role_set == {Role.LEARNER, Role.INSTRUCTOR}
    response = post(client, f"/account/users/{admin.id}/roles", {"role": "admin"}, follow_redirects=True)
    assert "不能取消自己的管理员身份" in response.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(User, admin.id).is_admin


def test_the_account_list_masks_personal_data_and_searches(client):
    admin = make_admin()
    make_learner(name="王小磊", mobile="13812345678")
    make_learner(name="刘芳", mobile="13912345678")
    db.session.commit()
    login(client, admin)
    page = client.get("/account/users?q=王小").get_data(as_text=True)
    assert "王*磊" in page and "138****5678" in page
    assert "王小磊" not in page and "刘*" not in page
    assert "没有找到" in client.get("/account/users?q=%25").get_data(as_text=True)
    learners = client.get("/account/users?role=learner").get_data(as_text=True)
    assert "刘*" in learners and "学员" in learners


def test_the_account_page_shows_role_labels_and_an_unactivated_account(client):
    admin = make_admin()
    imported = make_learner(password_hash=None, name="赖红兰")
    db.session.commit()
    login(client, admin)
    page = client.get(f"/account/users/{imported.id}").get_data(as_text=True)
    assert "赖*兰" in page and "赖红兰" not in page
    assert "未激活" in page
    assert ">学员<" in page


def test_a_wrong_id_number_opens_the_optional_section_so_the_error_is_seen(client):
    response = post(client, "/account/register", {
        "mobile": "13912345678", "name": "王小磊", "password": "Rider2026x", "password2": "Rider2026x",
        "id_number": "360702199001011235"})
    page = response.get_data(as_text=True)
    assert "校验位不正确" in page
    assert "<details open>" in page
