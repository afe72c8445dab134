"""Login rate limiting and lock-out (issue 8: security)."""

from __future__ import annotations

from academy.audit.models import AuditEvent
from academy.extensions import db
from tests.conftest import post
from tests.factories import PASSWORD, make_learner


def _attempt(client, mobile, password):
    return post(client, "/account/login", {"mobile": mobile, "password": password})


def test_five_wrong_passwords_lock_the_number_even_for_the_right_password(client):
    learner = make_learner()
    db.session.commit()
    for _ in range(5):
        page = _attempt(client, learner.mobile, "wrong-pass1").get_data(as_text=True)
        assert "手机号或密码不正确" in page
    page = _attempt(client, learner.mobile, PASSWORD).get_data(as_text=True)
    assert "15分钟后再试" in page
    with client.session_transaction() as sess:
        assert "_user_id" not in sess
    assert db.session.query(AuditEvent).filter_by(action="auth.login_locked").count() == 1


def test_a_successful_login_clears_the_failures_of_that_number(client):
    learner = make_learner()
    db.session.commit()
    for _ in range(4):
        _attempt(client, learner.mobile, "wrong-pass1")
    assert _attempt(client, learner.mobile, PASSWORD).status_code == 302
    fresh = client.application.test_client()  # a second phone, not signed in
    for _ in range(4):
        assert "手机号或密码不正确" in _attempt(fresh, learner.mobile, "wrong-pass1").get_data(as_text=True)
    assert _attempt(fresh, learner.mobile, PASSWORD).status_code == 302


def test_the_lock_of_one_number_does_not_lock_another(client):
    locked, other = make_learner(), make_learner()
    db.session.commit()
    for _ in range(5):
        _attempt(client, locked.mobile, "wrong-pass1")
    assert _attempt(client, other.mobile, PASSWORD).status_code == 302


def test_first_sign_in_stops_guessing_the_id_tail_after_five_wrong_tries(client):
    """The last six ID characters are guessable; the sixth guess is refused even if right."""
    from academy.accounts.models import User
    from tests.factories import valid_id_number

    id_number = valid_id_number()
    learner = make_learner(id_number=id_number, password_hash=None)
    db.session.commit()
    data = {"mobile": learner.mobile, "password": "NewPass2026", "password2": "NewPass2026"}
    for guess in ("000000", "111111", "222222", "333333", "444444"):
        page = post(client, "/account/activate", {**data, "id_tail": guess}).get_data(as_text=True)
        assert "尝试次数太多" not in page
    page = post(client, "/account/activate", {**data, "id_tail": id_number[-6:]}).get_data(as_text=True)
    assert "尝试次数太多" in page
    db.session.expire_all()
    assert db.session.get(User, learner.id).password_hash is None
