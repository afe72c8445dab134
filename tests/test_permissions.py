"""Every route declares who may use it, and the declaration holds for each role.

Walks ``app.url_map``: each endpoint's view carries ``access`` (set by the decorators in
``accounts/permissions.py``); anonymous visitors are sent to the login page for anything not
public, and signed-in people without the role get 403 before any object is loaded (so a
nonexistent id still answers 403, never 404 or 500). A second walk checks that every POST
route refuses a request without a CSRF token.
"""

from __future__ import annotations

import pytest

from academy.accounts.models import Role
from academy.accounts.permissions import LOGGED_IN, PUBLIC
from tests.conftest import csrf, login
from tests.factories import make_user

SAMPLE_VALUES = {"integer": 999999, "default": "no-such-thing", "unicode": "no-such-thing", "path": "no/such"}
ROLES = (Role.LEARNER, Role.INSTRUCTOR, Role.ADMIN, Role.JUDGE)


def _routes(app):
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static":
            continue
        values = {}
        for arg in rule.arguments:
            converter = type(rule._converters[arg]).__name__.replace("Converter", "").lower()
            values[arg] = SAMPLE_VALUES.get(converter, SAMPLE_VALUES["default"])
        with app.test_request_context():
            from flask import url_for

            url = url_for(rule.endpoint, **values)
        for method in sorted(rule.methods & {"GET", "POST"}):
            yield rule.endpoint, method, url, app.view_functions[rule.endpoint]


def test_every_route_declares_its_access(app):
    missing = [endpoint for endpoint, _, _, view in _routes(app) if not hasattr(view, "access")]
    assert missing == [], f"routes without @public/@login_required/@roles_required: {missing}"


def _request(client, method, url):
    if method == "GET":
        return client.get(url)
    return client.post(url, data={"csrf_token": csrf(client)})


def test_anonymous_visitors_are_sent_to_login_except_on_public_routes(app, client):
    for endpoint, method, url, view in _routes(app):
        response = _request(client, method, url)
        assert response.status_code < 500, f"{method} {url} -> {response.status_code}"
        if view.access != PUBLIC:
            assert response.status_code == 302, f"{method} {url} ({endpoint}) answered {response.status_code}"
            assert "/account/login" in response.headers["Location"], f"{endpoint} did not ask for login"


@pytest.mark.parametrize("role", ROLES, ids=str)
def test_each_role_is_refused_exactly_where_it_lacks_the_role(app, role):
    user = make_user(role)
    from academy.extensions import db

    db.session.commit()
    for endpoint, method, url, view in _routes(app):
        client = app.test_client()
        login(client, user)
        response = _request(client, method, url)
        assert response.status_code < 500, f"{role}: {method} {url} -> {response.status_code}"
        if view.access in (PUBLIC, LOGGED_IN):
            assert response.status_code != 403, f"{role} refused on {endpoint}"
        else:
            allowed = str(role) in view.access
            if allowed:
                assert response.status_code != 403, f"{role} refused on {endpoint} ({view.access})"
            else:
                assert response.status_code == 403, f"{role} got {response.status_code} on {endpoint}"


def test_every_post_route_requires_a_csrf_token(app):
    admin = make_user(Role.ADMIN, Role.INSTRUCTOR, Role.LEARNER, Role.JUDGE)
    from academy.extensions import db

    db.session.commit()
    client = app.test_client()
    login(client, admin)
    unprotected = []
    for endpoint, method, url, _ in _routes(app):
        if method != "POST":
            continue
        response = client.post(url, data={})
        if response.status_code != 400:
            unprotected.append(f"{endpoint} -> {response.status_code}")
    assert unprotected == []
