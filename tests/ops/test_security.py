"""Security checks across the application.

* Security headers and cookies (CSP without inline scripts, frame-ancestors, referrer policy,
  nosniff, HSTS on https only; session cookie HttpOnly + SameSite, Secure in production).
* Session invalidation on logout and on a password change (remember-me cookies of an ended
  session stop working) is tested where the behaviour lives, in tests/accounts/test_views.py:
  ``test_logout_invalidates_the_remember_me_cookie_of_that_session``,
  ``test_changing_the_password_ends_other_sessions_and_keeps_this_one`` and
  ``test_changing_the_password_keeps_this_devices_remember_me``; the first test below makes
  sure they stay.
* CSRF on every POST route: tests/test_permissions.py walks ``app.url_map``.
* An authorisation walk over every route whose rule has an argument, with real objects of one
  cohort and one learner: another learner gets 404, another cohort's instructor 403, another
  event's judge is refused; the owners themselves are served (so the objects are real).
* Upload limits and type checks: a body over ``MAX_CONTENT_LENGTH`` gets the 413 page; a text
  file renamed .xlsx is refused by every import page.
* Compression and cache headers of static files.

Dependency and code checks (pip-audit, bandit) run in ``make audit``, part of ``make test``.
"""

from __future__ import annotations

import gzip
import importlib
from dataclasses import dataclass
from datetime import timedelta
from io import BytesIO

import pytest
from flask import url_for
from sqlalchemy import select

from academy import create_app
from academy.accounts.models import Role
from academy.accounts.permissions import LOGGED_IN, PUBLIC
from academy.attendance import services as attendance
from academy.certificates import services as certificates
from academy.competitions.models import Aspect, EventJudge
from academy.config import TestConfig
from academy.degrees.models import KeyDate
from academy.enrolment.models import Enrolment
from academy.exams.models import Assessment
from academy.extensions import db
from academy.security import CSP
from tests.certificates.builders import NOW, graduating_class
from tests.competitions.builders import make_event, make_judge, ready_event
from tests.conftest import CSRF_INPUT, csrf, login, post
from tests.degrees.builders import make_case
from tests.factories import make_admin, make_cohort, make_instructor, make_learner

# --- headers and cookies -----------------------------------------------------------------------


def test_the_session_invalidation_tests_live_in_the_accounts_module():
    module = importlib.import_module("tests.accounts.test_views")
    for name in ("test_logout_invalidates_the_remember_me_cookie_of_that_session",
                 "test_changing_the_password_ends_other_sessions_and_keeps_this_one",
                 "test_changing_the_password_keeps_this_devices_remember_me"):
        assert callable(getattr(module, name, None)), name


def directives(header: str) -> dict[str, str]:
    return {part.strip().split(" ", 1)[0]: part.strip().partition(" ")[2] for part in header.split(";") if part.strip()}


def test_every_page_carries_the_security_headers(client):
    response = client.get("/courses/")
    csp = directives(response.headers["Content-Security-Policy"])
    assert csp["script-src"] == "'self'" and "unsafe-inline" not in csp["script-src"]
    assert "unsafe-eval" not in response.headers["Content-Security-Policy"]
    assert csp["frame-ancestors"] == "'none'" and csp["object-src"] == "'none'" and csp["base-uri"] == "'self'"
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["Referrer-Policy"] == "strict-origin-when-cross-origin"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert "Strict-Transport-Security" not in response.headers  # plain http: no HSTS
    assert client.get("/account/login").headers["Content-Security-Policy"] == CSP  # the login page too


def test_pages_of_a_signed_in_person_are_not_stored_and_public_pages_only_revalidated(client):
    assert client.get("/help").headers["Cache-Control"] == "no-cache"
    learner = make_learner()
    db.session.commit()
    assert login(client, learner).headers["Cache-Control"] == "no-store"
    assert client.get("/help").headers["Cache-Control"] == "no-store"
    assert client.get("/account/profile").headers["Cache-Control"] == "no-store"
    post(client, "/account/logout")
    assert client.get("/help").headers["Cache-Control"] == "no-cache"


def test_hsts_is_sent_on_https_only(client):
    response = client.get("/courses/", base_url="https://localhost")
    assert response.headers["Strict-Transport-Security"].startswith("max-age=31536000")


def test_no_page_has_an_inline_script(app, client):
    admin = make_admin()
    db.session.commit()
    login(client, admin)
    for url in ("/courses/", "/staff", "/reports/", "/audit/", "/account/login"):
        html = client.get(url, follow_redirects=True).get_data(as_text=True)
        for tag in html.split("<script")[1:]:
            assert tag.lstrip().startswith("src=") or " src=" in tag.split(">")[0], f"inline script on {url}"


def set_cookie_headers(response) -> list[str]:
    return response.headers.getlist("Set-Cookie")


def test_the_session_cookie_is_httponly_and_samesite_and_not_secure_on_plain_http(client):
    learner = make_learner()
    db.session.commit()
    response = post(client, "/account/login", {"mobile": learner.mobile, "password": "Passw0rd!", "remember": "y"})
    cookies = {c.split("=", 1)[0]: c for c in set_cookie_headers(response)}
    for name in ("session", "remember_token"):
        assert "HttpOnly" in cookies[name] and "SameSite=Lax" in cookies[name], cookies[name]
        assert "Secure" not in cookies[name]


def test_cookies_are_secure_when_academy_secure_cookies_is_set(monkeypatch, database_url, instance_dir):
    monkeypatch.setenv("ACADEMY_SECURE_COOKIES", "1")

    class Config(TestConfig):
        SQLALCHEMY_DATABASE_URI = database_url
        INSTANCE_PATH = instance_dir

    secure_app = create_app(Config)
    assert secure_app.config["SESSION_COOKIE_SECURE"] and secure_app.config["REMEMBER_COOKIE_SECURE"]
    learner = make_learner()
    db.session.commit()
    with secure_app.app_context():
        client = secure_app.test_client()
        page = client.get("/account/login", base_url="https://localhost").get_data(as_text=True)
        token = CSRF_INPUT.search(page)
        response = client.post("/account/login", base_url="https://localhost",
                               headers={"Referer": "https://localhost/account/login"},  # Flask-WTF checks it on https
                               data={"csrf_token": token.group(1) or token.group(2), "mobile": learner.mobile,
                                     "password": "Passw0rd!", "remember": "y"})
        assert response.status_code == 302
        cookies = {c.split("=", 1)[0]: c for c in set_cookie_headers(response)}
        for name in ("session", "remember_token"):
            assert "Secure" in cookies[name] and "HttpOnly" in cookies[name] and "SameSite=Lax" in cookies[name]
        db.session.remove()


# --- the authorisation walk --------------------------------------------------------------------


@dataclass
class World:
    """Real objects of one cohort (its instructor, learner, session, leave, assessment,
    certificate, print job, enrolment), one degree case and one competition event (its judge and a
    contestant's entry), plus the outsiders: another learner, another cohort's instructor, another
    event's judge."""

    admin: object
    instructor: object
    learner: object
    contestant: object
    judge: object
    values: dict
    other_learner: object
    other_instructor: object
    other_judge: object


def build_world() -> World:
    cls = graduating_class(2)
    learner = cls.learners[0]
    cohort = cls.cohort
    session = attendance.create_session(cohort, starts_at=NOW + timedelta(days=3),
                                        ends_at=NOW + timedelta(days=3, hours=2), actor=cls.instructor)
    leave = attendance.request_leave(session, learner, "家里有事", now=NOW)
    assessment = db.session.scalar(select(Assessment).where(Assessment.cohort_id == cohort.id))
    report = certificates.issue_for_cohort(cohort, actor=cls.admin, now=NOW)
    certificate = next(c for c in report.issued if c.learner_id == learner.id)
    job = certificates.create_print_job([certificate], actor=cls.admin, cohort=cohort)
    case = make_case(learner=learner)
    event, _admin, (judge,), entries = ready_event(contestants=2, judges=1, admin=cls.admin)
    entry = entries[0]
    assignment = db.session.scalar(select(EventJudge).where(EventJudge.event_id == event.id))
    aspect = db.session.scalar(select(Aspect).where(Aspect.event_id == event.id))
    key_date = KeyDate(route="adult_exam", year=2026, kind="registration", starts_on=NOW.date())
    db.session.add(key_date)
    enrolment = db.session.scalar(select(Enrolment).where(Enrolment.learner_id == learner.id,
                                                          Enrolment.cohort_id == cohort.id))
    other_instructor = make_instructor()
    make_cohort(instructors=[other_instructor])
    world = World(
        admin=cls.admin, instructor=cls.instructor, learner=learner, contestant=entry.learner, judge=judge,
        values={
            "cohort_id": cohort.id, "session_id": session.id, "leave_id": leave.id, "learner_id": learner.id,
            "assessment_id": assessment.id, "certificate_id": certificate.id, "job_id": job.id, "case_id": case.id,
            "programme_id": case.programme_id, "enrolment_id": enrolment.id, "event_id": event.id,
            "entry_id": entry.id, "edition_id": event.edition_id, "assignment_id": assignment.id,
            "aspect_id": aspect.id, "key_date_id": key_date.id, "course_id": cohort.course_id, "user_id": learner.id,
            "serial": certificate.serial, "table": "summary",
            # ``code`` names a different object on each route
            "code:attendance": session.public_code, "code:catalogue": cohort.code,
            "code:competitions.event": event.public_code, "code:competitions.entry": entry.code,
            "code:competitions.component": next(c.code for c in event.components if c.source == "entered"),
        },
        other_learner=make_learner(), other_instructor=other_instructor, other_judge=make_judge())
    db.session.commit()
    return world


# Routes open to every signed-in learner for any object of their kind (no owner to protect), and why.
OPEN_TO_EVERY_LEARNER = {
    "enrolment.enrol": "any learner may apply for any cohort",
    "competitions.register": "any learner may register for any open event",
    "attendance.confirm_checkin": "checking in answers with a refusal page when not enrolled",
}
EVENT_CODE_ENDPOINTS = {"competitions.event", "competitions.register", "competitions.board"}
COMPONENT_CODE_ENDPOINTS = {"competitions.component_scores", "competitions.save_component_scores"}
# GET routes that answer 404 to their owner too while the object is not in the state they need.
NOT_READY = {"certificates.job_download": "the print job is still queued: nothing to download yet"}


def route_values(rule, world: World) -> dict:
    values = {}
    for arg in rule.arguments:
        if arg == "code":
            module = rule.endpoint.split(".")[0]
            if rule.endpoint in EVENT_CODE_ENDPOINTS:
                key = "code:competitions.event"
            elif rule.endpoint in COMPONENT_CODE_ENDPOINTS:
                key = "code:competitions.component"
            elif module == "competitions":
                key = "code:competitions.entry"
            else:
                key = f"code:{module}"
            values[arg] = world.values[key]
        else:
            assert arg in world.values, f"{rule.endpoint}: no real object for <{arg}>; add one to build_world()"
            values[arg] = world.values[arg]
    return values


def object_routes(app, world: World):
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static" or not rule.arguments:
            continue
        view = app.view_functions[rule.endpoint]
        with app.test_request_context():
            url = url_for(rule.endpoint, **route_values(rule, world))
        for method in sorted(rule.methods & {"GET", "POST"}):
            yield rule.endpoint, method, url, view.access


def call(app, user, method: str, url: str):
    client = app.test_client()
    login(client, user)
    if method == "GET":
        return client.get(url)
    return client.post(url, data={"csrf_token": csrf(client)})


def test_every_object_route_refuses_other_learners_other_instructors_and_other_judges(app):
    world = build_world()
    checked, problems = 0, []
    for endpoint, method, url, access in object_routes(app, world):
        if access == PUBLIC:
            continue
        checked += 1
        if access == LOGGED_IN:
            if endpoint in OPEN_TO_EVERY_LEARNER:
                continue
            for outsider in (world.other_learner, world.other_instructor):
                code = call(app, outsider, method, url).status_code
                if code != 404:
                    problems.append(f"{method} {url} ({endpoint}) gave {code} to another person, expected 404")
        elif str(Role.INSTRUCTOR) in access:
            code = call(app, world.other_instructor, method, url).status_code
            if code != 403:
                problems.append(f"{method} {url} ({endpoint}) gave {code} to another cohort's instructor, expected 403")
        elif str(Role.JUDGE) in access:
            code = call(app, world.other_judge, method, url).status_code
            if code not in (403, 404):
                problems.append(f"{method} {url} ({endpoint}) gave {code} to another event's judge")
        else:  # administrators only
            for outsider in (world.other_learner, world.other_instructor):
                code = call(app, outsider, method, url).status_code
                if code != 403:
                    problems.append(f"{method} {url} ({endpoint}) gave {code} to a non-admin, expected 403")
    assert problems == []
    assert checked > 80


def test_the_owners_themselves_are_served_so_the_walked_objects_are_real(app):
    world = build_world()
    owner_by_access = {LOGGED_IN: world.learner, str(Role.INSTRUCTOR): world.instructor,
                       str(Role.JUDGE): world.judge, str(Role.ADMIN): world.admin}
    contestant_routes = {"competitions.withdraw"}
    problems = []
    for endpoint, method, url, access in object_routes(app, world):
        if method != "GET" or access == PUBLIC or endpoint in NOT_READY:
            continue
        if access == LOGGED_IN:
            owner = world.contestant if endpoint in contestant_routes else world.learner
        else:
            owner = next(owner_by_access[r] for r in (str(Role.INSTRUCTOR), str(Role.JUDGE), str(Role.ADMIN))
                         if r in access)
        code = call(app, owner, method, url).status_code
        if code not in (200, 302):
            problems.append(f"GET {url} ({endpoint}) gave {code} to its owner")
    assert problems == [], "\n".join(problems)


# --- uploads -----------------------------------------------------------------------------------


def test_a_request_over_the_upload_limit_gets_the_413_page(app, client):
    admin = make_admin()
    db.session.commit()
    login(client, admin)
    limit = app.config["MAX_CONTENT_LENGTH"]
    assert limit == 10 * 1024 * 1024
    big = BytesIO(b"0" * (limit + 1))
    response = client.post("/courses/manage/import", data={"csrf_token": csrf(client), "file": (big, "courses.xlsx")},
                           content_type="multipart/form-data")
    assert response.status_code == 413
    assert "文件太大" in response.get_data(as_text=True)


@pytest.fixture
def import_pages():
    """(url, extra form data) of every spreadsheet import page, with the objects they need."""
    world = build_world()
    values = world.values
    open_event = make_event(admin=world.admin)  # registrations import only before the draw
    db.session.commit()
    return world, [
        ("/courses/manage/import", {}),
        ("/enrolment/import", {}),
        ("/degrees/import", {}),
        (f"/exams/{values['assessment_id']}/import", {}),
        (f"/competitions/manage/events/{open_event.id}/import", {}),
        (f"/competitions/manage/events/{values['event_id']}/scheme/import", {}),
        (f"/competitions/manage/events/{values['event_id']}/scores-import", {"component": "theory"}),
    ]


def test_every_import_page_refuses_a_text_file_renamed_xlsx(app, import_pages):
    world, pages = import_pages
    client = app.test_client()
    login(client, world.admin)
    import_rules = {r.rule for r in app.url_map.iter_rules() if "import" in r.rule and "POST" in r.methods}
    assert len(import_rules) == len(pages), sorted(import_rules)
    for url, extra in pages:
        fake = BytesIO("姓名,手机号\n张三,13800001111\n".encode())
        response = client.post(url, data={"csrf_token": csrf(client), "file": (fake, "名单.xlsx"), **extra},
                               content_type="multipart/form-data", follow_redirects=True)
        text = response.get_data(as_text=True)
        assert response.status_code in (200, 400), f"{url}: {response.status_code}"
        assert "不是 .xlsx 格式" in text, f"{url} did not refuse the renamed text file"


# --- transport: compression and caching ---------------------------------------------------------


def test_text_responses_are_compressed_and_static_files_cached_for_a_week_with_versioned_urls(client):
    css = client.get("/static/css/site.css", headers={"Accept-Encoding": "gzip"})
    assert css.headers["Content-Encoding"] == "gzip" and "Accept-Encoding" in css.headers["Vary"]
    assert css.headers["Cache-Control"] == "public, max-age=604800"
    plain = client.get("/static/css/site.css")
    assert "Content-Encoding" not in plain.headers
    assert gzip.decompress(css.data) == plain.data and len(css.data) < len(plain.data) // 2
    page = client.get("/courses/", headers={"Accept-Encoding": "br, gzip"})
    assert page.headers["Content-Encoding"] == "br"
    assert '/static/css/site.css?v=' in client.get("/courses/").get_data(as_text=True)  # a deploy busts the cache
    small = client.get("/healthz", headers={"Accept-Encoding": "gzip"})
    assert "Content-Encoding" not in small.headers  # under 1 KB: not worth it


def test_a_cached_static_file_is_revalidated_without_a_body(client):
    first = client.get("/static/css/site.css", headers={"Accept-Encoding": "gzip"})
    etag = first.headers["ETag"]
    again = client.get("/static/css/site.css", headers={"Accept-Encoding": "gzip", "If-None-Match": etag})
    assert again.status_code == 304 and again.data == b""
