"""The demo academy (``flask --app academy demo``): what it loads, that it is consistent, that the
demo accounts work, and that the loader is extensible, transactional and idempotent with --if-empty."""

from __future__ import annotations

import random
import sys
import types
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from academy.accounts.models import (
    DISTRICTS,
    EDUCATION_LEVELS,
    OCCUPATION_GROUPS,
    POLITICAL_STATUSES,
    Role,
    User,
    UserRole,
)
from academy.accounts.services import validate_name
from academy.catalogue.models import Cohort, CohortStatus
from academy.catalogue.services import CatalogueQuery, is_open_for_enrolment, search_cohorts
from academy.common.ids import MOBILE_RE, parse_id_number
from academy.common.timeutil import now_utc
from academy.demo import base
from academy.demo.loader import (
    DEMO_PASSWORD,
    STAGES,
    database_is_empty,
    demo_accounts,
    import_step,
    load_demo,
)
from academy.enrolment.models import SEAT_HOLDING, Enrolment, EnrolmentStatus
from academy.enrolment.services import waitlist_position
from tests.conftest import post
from tests.factories import make_admin

BASE = ("academy.demo.base",)


@pytest.fixture
def demo(db):
    """The base step of the demo loaded into the (empty) test database.

    The feature modules' steps are left out here (they test their own part); the whole demo,
    every step, is loaded by the command in ``test_if_empty_loads_the_whole_demo_once_…``.
    """
    return load_demo(now=now_utc(), steps=BASE)


def _enrolments(cohort: Cohort) -> list[Enrolment]:
    from academy.extensions import db

    return list(db.session.scalars(select(Enrolment).where(Enrolment.cohort_id == cohort.id)))


# --- what is loaded --------------------------------------------------------------------------

def test_demo_creates_courses_cohorts_at_every_stage_staff_and_300_learners(demo, db):
    assert 8 <= len(demo.courses) <= 10
    assert all(demo.cohorts[stage] for stage in STAGES), {s: len(c) for s, c in demo.cohorts.items()}
    learners = db.session.scalar(select(func.count()).select_from(UserRole).where(UserRole.role == Role.LEARNER))
    assert learners == len(demo.learners) == base.LEARNER_COUNT
    assert 4 <= len(demo.instructors) <= 6
    assert 1 <= len(demo.admins) <= 2 and demo.admin in demo.admins
    assert demo.judges and all(j.has_role(Role.JUDGE) for j in demo.judges)
    assert db.session.scalar(select(func.count()).select_from(Enrolment)) > 250
    assert demo.extra["steps"][0] == "academy.demo.base"
    _check_courses(demo)
    _check_stages(demo)
    _check_schedules(demo)


def _check_courses(demo):
    """Courses carry national occupation codes, levels, hours, free fees with subsidies."""
    for course in demo.courses.values():
        assert course.occupation_code and course.occupation_code.count("-") == 3, course.occupation_code
        assert course.hours >= 40 and course.level
        assert course.fee == 0 and course.subsidy > 0
        assert len(course.description) > 40
    assert demo.courses["DG-04"].occupation_code == "6-31-01-03"
    assert demo.courses["PS-05"].occupation_code == "4-02-07-10"


def _check_stages(demo):
    """Each stage matches the cohorts' status, dates and enrolment window."""
    today, now = demo.today, demo.now
    for cohort in demo.cohorts["finished"]:
        assert cohort.status == CohortStatus.FINISHED and cohort.end_date < today
    for cohort in demo.cohorts["running"]:
        assert cohort.status == CohortStatus.RUNNING and cohort.start_date <= today <= cohort.end_date
    for cohort in demo.cohorts_in("open", "full", "approval"):
        assert is_open_for_enrolment(cohort, now=now) and cohort.start_date > today
    assert all(c.seats_left > 0 for c in demo.cohorts["open"])
    for cohort in demo.cohorts["planned"]:
        assert cohort.status == CohortStatus.PLANNED and not is_open_for_enrolment(cohort, now=now)
        assert cohort.enrolment_opens_at > now and _enrolments(cohort) == []


def test_demo_enrolments_respect_capacity_keep_waitlists_in_order_and_record_decisions(demo):
    _check_capacity(demo)
    _check_waitlists(demo)
    _check_approvals(demo)


def _check_capacity(demo):
    """No cohort is over capacity; the seat counters match the enrolments."""
    for cohort in demo.cohorts_in():
        held = sum(1 for e in _enrolments(cohort) if e.status in SEAT_HOLDING)
        assert held <= cohort.capacity, cohort.code
        assert cohort.seats_taken == held, cohort.code


def _check_waitlists(demo):
    """Waitlists are first come, first served; the full cohort has one, with 曾小燕 third."""
    for cohort in demo.cohorts_in():
        waiting = sorted((e for e in _enrolments(cohort) if e.status == EnrolmentStatus.WAITLISTED),
                         key=lambda e: e.waitlist_seq)
        assert [e.applied_at for e in waiting] == sorted(e.applied_at for e in waiting), cohort.code
        seated = [e for e in _enrolments(cohort) if e.status in SEAT_HOLDING]
        if waiting:
            assert max(e.applied_at for e in seated) < waiting[0].applied_at, cohort.code
    (full,) = demo.cohorts["full"]
    assert full.seats_left == 0 and len([e for e in _enrolments(full) if e.waitlist_seq]) >= 5
    zeng = next(e for e in _enrolments(full) if e.learner.mobile == "13800000005")
    assert waitlist_position(zeng) == 3


def _check_approvals(demo):
    """The approval cohort has pending, approved and rejected applications with who, when and why."""
    (cohort,) = demo.cohorts["approval"]
    assert cohort.approval_required
    by_status: dict[str, list[Enrolment]] = {}
    for e in _enrolments(cohort):
        by_status.setdefault(e.status, []).append(e)
    assert len(by_status[EnrolmentStatus.PENDING]) >= 3
    assert all(e.decided_by_id is None for e in by_status[EnrolmentStatus.PENDING])
    for e in by_status[EnrolmentStatus.ENROLLED] + by_status[EnrolmentStatus.REJECTED]:
        assert e.decided_by_id == demo.admin.id and e.applied_at < e.decided_at <= demo.now
    assert all(e.decision_reason for e in by_status[EnrolmentStatus.REJECTED])


def _check_schedules(demo):
    """Every cohort has instructors and a weekly schedule; evenings, weekends and afternoons exist."""
    for cohort in demo.cohorts_in():
        assert cohort.instructors and cohort.meetings, cohort.code
    for time_of_day in ("evening", "weekend", "afternoon"):
        found = search_cohorts(CatalogueQuery(time_of_day=time_of_day, open_only=True), now=demo.now)
        assert found.total >= 1, time_of_day
    districts = {c.district for c in demo.cohorts_in() if c.district}
    assert {"瑞金市", "章贡区", "南康区", "于都县"} <= districts


# --- the people ---------------------------------------------------------------------------

def test_every_demo_learner_has_a_valid_id_number_mobile_profile_and_the_shared_password(demo, db):
    assert set(db.session.scalars(select(User.password_hash))) == {demo.password_hash}, "hashed once"
    mobiles = set()
    for user in demo.learners:
        parsed = parse_id_number(user.id_number, today=demo.today)
        assert (parsed.gender, parsed.birth_date) == (user.gender, user.birth_date)
        assert 19 <= (demo.today - user.birth_date).days // 365 <= 56
        assert MOBILE_RE.match(user.mobile) and user.mobile not in mobiles
        mobiles.add(user.mobile)
        assert validate_name(user.name) == user.name
        assert user.district in DISTRICTS and user.occupation_group in OCCUPATION_GROUPS
        assert user.education in EDUCATION_LEVELS and user.political_status in POLITICAL_STATUSES
    names = [u.name for u in demo.learners]
    assert any("·" in n for n in names), "some Uyghur-style names with a middle dot"
    assert any(ch in n for n in names for ch in "堃喆"), "some characters outside GB 2312"
    assert {u.platform for u in demo.learners} >= {"美团", "饿了么", "顺丰", "滴滴出行", "货拉拉", "抖音"}


def test_made_up_id_numbers_are_valid_and_encode_birth_date_and_gender():
    rng, taken = random.Random(7), set()
    born = now_utc().date() - timedelta(days=30 * 365)
    for i in range(500):
        gender = "男" if i % 2 else "女"
        parsed = parse_id_number(base.make_id_number(rng, "360781", born, gender, taken))
        assert (parsed.birth_date, parsed.gender, parsed.region_code) == (born, gender, "360781")
    assert len(taken) == 500


def test_made_up_names_are_the_same_for_the_same_seed():
    first = [base.make_name(random.Random(11), "女") for _ in range(3)]
    again = [base.make_name(random.Random(11), "女") for _ in range(3)]
    assert first == again


# --- the demo accounts ----------------------------------------------------------------------

def _page_as(app, mobile: str, url: str) -> str:
    """Sign in as ``mobile`` with the demo password on a fresh client and return the page at ``url``.

    A fresh app context per person: Flask-Login caches the signed-in user on ``g``.
    """
    with app.app_context():
        client = app.test_client()
        response = post(client, "/account/login", {"mobile": mobile, "password": DEMO_PASSWORD})
        assert response.status_code == 302, mobile
        page = client.get(url)
        assert page.status_code == 200, (mobile, url)
        return page.get_data(as_text=True)


def test_demo_accounts_log_in_with_the_published_password_and_find_their_cohorts(app, demo):
    for account in demo_accounts(BASE):
        assert account.name in _page_as(app, account.mobile, "/account/profile")
    _check_demo_learner(app, demo)
    _check_waitlisted_learner(app)
    _check_demo_instructor(app, demo)


def _check_demo_learner(app, demo):
    """The demo learner sees a running and an open cohort in “我的课程”."""
    page = _page_as(app, "13800000003", "/enrolment/my")
    mine = [e.cohort for e in _enrolments_of(demo.demo_learner)]
    assert {c.status for c in mine} >= {CohortStatus.RUNNING, CohortStatus.OPEN}
    for cohort in mine:
        assert cohort.name in page


def _check_waitlisted_learner(app):
    """The waitlisted demo learner sees her place in the queue."""
    page = _page_as(app, "13800000005", "/enrolment/my")
    assert "候补第 3 位" in page


def _check_demo_instructor(app, demo):
    """The demo instructor sees their running cohorts on the staff home."""
    page = _page_as(app, "13800000002", "/staff")
    instructor = next(u for u in demo.instructors if u.mobile == "13800000002")
    running = [c for c in demo.cohorts["running"] if instructor in c.instructors]
    assert running and all(c.name in page for c in running)


def _enrolments_of(user: User) -> list[Enrolment]:
    from academy.extensions import db

    return list(db.session.scalars(select(Enrolment).where(Enrolment.learner_id == user.id)))


# --- the command ------------------------------------------------------------------------------

def test_if_empty_loads_the_whole_demo_once_and_does_nothing_the_second_time(app, db):
    runner = app.test_cli_runner()
    first = runner.invoke(args=["demo", "--if-empty"])
    assert first.exit_code == 0, (first.output, first.exception)
    assert "演示数据已装入" in first.output
    for account in demo_accounts():  # every step's accounts, the base step's first
        assert db.session.scalar(select(User).where(User.mobile == account.mobile)), account
    users = db.session.scalar(select(func.count()).select_from(User))
    second = runner.invoke(args=["demo", "--if-empty"])
    assert second.exit_code == 0 and "不再装入" in second.output
    assert db.session.scalar(select(func.count()).select_from(User)) == users


def test_plain_demo_refuses_a_database_that_already_has_accounts(app, db):
    make_admin()
    db.session.commit()
    result = app.test_cli_runner().invoke(args=["demo"])
    assert result.exit_code == 1 and "空数据库" in result.output
    assert db.session.scalar(select(func.count()).select_from(User)) == 1


def test_accounts_option_prints_the_accounts_and_loads_nothing(app, db):
    result = app.test_cli_runner().invoke(args=["demo", "--accounts"])
    assert result.exit_code == 0
    for mobile in ("13800000001", "13800000002", "13800000003"):
        assert mobile in result.output
    assert DEMO_PASSWORD in result.output and "管理员" in result.output and "学员" in result.output
    assert "还没有这些账号" in result.output
    assert database_is_empty()


# --- the loader -------------------------------------------------------------------------------

def _fake_step(monkeypatch, name: str, load) -> str:
    module = types.ModuleType(name)
    module.load = load
    monkeypatch.setitem(sys.modules, name, module)
    return name


def test_loader_runs_steps_in_order_sharing_the_context_and_skips_missing_modules(db, monkeypatch):
    seen = []

    def first(ctx):
        ctx.admin = User(mobile="13800000001", name="周晓梅", password_hash=ctx.password_hash)
        db.session.add(ctx.admin)
        seen.append("first")

    def second(ctx):
        assert ctx.admin.id is not None, "each step is flushed before the next"
        seen.append(("second", ctx.rng.random() < 1, ctx.now.tzinfo is not None))

    steps = (_fake_step(monkeypatch, "tests.demo.fake_first", first), "academy.no_such_module.demo",
             "academy.demo.no_such_step", _fake_step(monkeypatch, "tests.demo.fake_second", second))
    ctx = load_demo(steps=steps)
    assert seen == ["first", ("second", True, True)]
    assert ctx.extra["steps"] == ["tests.demo.fake_first", "tests.demo.fake_second"]
    assert not database_is_empty()


def test_a_failing_step_rolls_back_the_whole_demo_and_names_the_step(db, monkeypatch):
    def creates(ctx):
        db.session.add(User(mobile="13800000001", name="周晓梅", password_hash=ctx.password_hash))

    def fails(ctx):
        raise RuntimeError("boom")

    steps = (_fake_step(monkeypatch, "tests.demo.fake_creates", creates),
             _fake_step(monkeypatch, "tests.demo.fake_fails", fails))
    with pytest.raises(RuntimeError) as err:
        load_demo(steps=steps)
    assert "in demo step tests.demo.fake_fails" in err.value.__notes__
    assert database_is_empty()


def test_an_import_error_inside_an_existing_step_is_raised_not_skipped():
    assert import_step("academy.no_such_module.demo") is None
    with pytest.raises(ModuleNotFoundError):
        import_step("tests.demo.step_with_broken_import")
