"""The first minutes of an evening class: hundreds of riders check in at once.

Each check-in runs in its own thread, app context, database session and transaction, on
SQLite and on PostgreSQL (``TEST_DATABASE_URL``). 300 distinct learners give exactly 300
records and no error; the same learner several times at once gives one record, one history
row, and "already checked in" for the others — never an error page.
"""

from __future__ import annotations

import threading
import time
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from academy.accounts.models import User
from academy.attendance import services
from academy.attendance.models import AttendanceChange, AttendanceRecord, ClassSession
from academy.common.timeutil import now_utc
from academy.extensions import db
from tests.attendance.builders import bulk_class, local, make_session, token_at
from tests.conftest import csrf, login

pytestmark = pytest.mark.concurrency


def _race(app, jobs) -> list[BaseException]:
    """Run each ``job()`` in its own thread inside its own app context, all released together."""
    barrier = threading.Barrier(len(jobs))
    errors: list[BaseException] = []

    def run(job):
        with app.app_context():
            try:
                barrier.wait(timeout=60)
                job()
            except BaseException as exc:  # noqa: BLE001 - collected and asserted by the test
                db.session.rollback()
                errors.append(exc)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=run, args=(job,)) for job in jobs]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not any(t.is_alive() for t in threads), "a check-in thread hung"
    return errors


def _check_in_job(session_id: int, learner_id: int, token: str, at, results: list):
    def job():
        session = db.session.get(ClassSession, session_id)
        learner = db.session.get(User, learner_id)
        results.append(services.record_check_in(session, learner, token, now=at))
        db.session.commit()

    return job


def _count(model, **where) -> int:
    stmt = select(func.count()).select_from(model)
    for key, value in where.items():
        stmt = stmt.where(getattr(model, key) == value)
    return db.session.scalar(stmt)


def test_three_hundred_learners_check_in_to_one_session_at_once(app):
    cohort, _, learners = bulk_class(300)
    session = make_session(cohort, "2026-03-02 19:30", "2026-03-02 21:30")
    db.session.commit()
    session_id, learner_ids = session.id, [u.id for u in learners]
    at = local("2026-03-02 19:31:00")
    token = token_at(session, at)
    db.session.remove()

    results: list = []
    started = time.perf_counter()
    errors = _race(app, [_check_in_job(session_id, i, token, at, results) for i in learner_ids])
    elapsed = time.perf_counter() - started

    assert errors == []
    assert len(results) == 300 and all(r.created for r in results)
    assert _count(AttendanceRecord, session_id=session_id) == 300
    assert db.session.scalar(select(func.count(func.distinct(AttendanceRecord.learner_id)))) == 300
    assert _count(AttendanceChange, session_id=session_id) == 300
    assert services.checked_in_count(session_id) == 300
    assert elapsed < 20, f"300 check-ins took {elapsed:.1f}s"


def test_the_same_learner_checking_in_several_times_at_once_gets_one_record(app):
    cohort, _, (learner,) = bulk_class(1)
    session = make_session(cohort, "2026-03-02 19:30", "2026-03-02 21:30")
    db.session.commit()
    session_id, learner_id = session.id, learner.id
    at = local("2026-03-02 19:31:00")
    token = token_at(session, at)
    db.session.remove()

    results: list = []
    errors = _race(app, [_check_in_job(session_id, learner_id, token, at, results) for _ in range(8)])

    assert errors == []
    assert sorted(r.created for r in results) == [False] * 7 + [True]
    assert _count(AttendanceRecord, session_id=session_id) == 1
    assert _count(AttendanceChange, session_id=session_id) == 1


def test_a_double_tap_on_confirm_from_two_tabs_answers_both_without_an_error(app):
    """Over HTTP: the same learner confirms from several tabs at the same moment."""
    cohort, _, (learner,) = bulk_class(1)
    now = now_utc()
    session = make_session(cohort, now - timedelta(minutes=5), now + timedelta(hours=2))
    db.session.commit()
    code, session_id = session.public_code, session.id
    clients = []
    for _ in range(4):
        client = app.test_client()
        login(client, learner)
        assert client.get(f"/attendance/c/{code}?t={token_at(session, now_utc())}").status_code == 302
        clients.append((client, csrf(client)))
    db.session.remove()

    statuses: list[int] = []

    def tap(client, token):
        def job():
            statuses.append(client.post(f"/attendance/c/{code}", data={"csrf_token": token}).status_code)
        return job

    errors = _race(app, [tap(c, t) for c, t in clients])

    assert errors == []
    assert statuses == [302] * 4
    assert _count(AttendanceRecord, session_id=session_id) == 1
    assert _count(AttendanceChange, session_id=session_id) == 1
