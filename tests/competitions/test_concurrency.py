"""Simultaneous requests: registration never exceeds the capacity; a double-tapped submit makes
one score sheet. Runs on SQLite and on PostgreSQL (each thread has its own session)."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import func, select

from academy.competitions import judging, registration
from academy.competitions.models import Entry, EntryStatus, ScoreSheet
from academy.extensions import db
from tests.competitions.builders import NOW, full_marks, make_event, make_rider, ready_event

pytestmark = pytest.mark.concurrency


def _race(app, jobs) -> list[BaseException]:
    """Run each job (a function of no argument) in its own thread, app context and transaction."""
    barrier = threading.Barrier(len(jobs))
    errors: list[BaseException] = []

    def worker(job) -> None:
        with app.app_context():
            try:
                barrier.wait(timeout=30)
                job()
                db.session.commit()
            except BaseException as exc:  # noqa: BLE001 - collected and asserted below
                db.session.rollback()
                errors.append(exc)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=worker, args=(job,)) for job in jobs]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    return errors


def test_twelve_simultaneous_registrations_for_the_last_three_places(app):
    from academy.accounts.models import User
    from academy.competitions.models import Event

    event = make_event(capacity=5, approval_required=False)
    for _ in range(2):
        registration.register(make_rider(), event, now=NOW)
    racers = [make_rider().id for _ in range(12)]
    db.session.commit()
    event_id = event.id
    db.session.remove()

    def register(learner_id):
        return lambda: registration.register(db.session.get(User, learner_id), db.session.get(Event, event_id), now=NOW)

    errors = _race(app, [register(i) for i in racers])
    assert len(errors) == 9 and all("名额已满" in str(e) for e in errors)
    approved = db.session.scalar(select(func.count()).select_from(Entry).where(
        Entry.event_id == event_id, Entry.status == EntryStatus.APPROVED))
    assert approved == 5


def test_a_double_tapped_submit_makes_one_sheet(app):
    from academy.accounts.models import User
    from academy.competitions.models import Event

    event, admin, team, entries = ready_event(contestants=1)
    values = full_marks(event)
    db.session.commit()
    ids = (event.id, team[0].id, entries[0].id)
    db.session.remove()

    def submit():
        event = db.session.get(Event, ids[0])
        judging.save_sheet(event, db.session.get(User, ids[1]), db.session.get(Entry, ids[2]), values, submit=True)

    assert _race(app, [submit, submit]) == []
    assert db.session.scalar(select(func.count()).select_from(ScoreSheet)) == 1
