"""Capacity is never exceeded under simultaneous requests, on SQLite and on PostgreSQL."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import select

from academy.enrolment import services
from academy.enrolment.models import Enrolment, EnrolmentStatus
from academy.extensions import db
from tests.factories import make_cohort, make_learner

pytestmark = pytest.mark.concurrency


def _race(app, cohort_id: int, learner_ids: list[int]) -> list[BaseException]:
    """Run one enrol() per learner, each in its own thread, session and transaction."""
    from academy.accounts.models import User
    from academy.catalogue.models import Cohort

    barrier = threading.Barrier(len(learner_ids))
    errors: list[BaseException] = []

    def worker(learner_id: int) -> None:
        with app.app_context():
            try:
                barrier.wait(timeout=30)  # all start together; connections come from the pool after
                learner = db.session.get(User, learner_id)
                cohort = db.session.get(Cohort, cohort_id)
                services.enrol(learner, cohort)
                db.session.commit()
            except BaseException as exc:  # noqa: BLE001 - collected and asserted below
                db.session.rollback()
                errors.append(exc)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=worker, args=(i,)) for i in learner_ids]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    return errors


def test_twenty_simultaneous_enrolments_for_the_last_two_seats(app):
    cohort = make_cohort(capacity=5)
    early = [make_learner() for _ in range(3)]
    for learner in early:
        services.enrol(learner, cohort)
    racers = [make_learner() for _ in range(20)]
    db.session.commit()
    cohort_id, racer_ids = cohort.id, [r.id for r in racers]
    db.session.remove()

    errors = _race(app, cohort_id, racer_ids)

    assert errors == []
    rows = db.session.scalars(select(Enrolment).where(Enrolment.cohort_id == cohort_id)).all()
    seated = [e for e in rows if e.status == EnrolmentStatus.ENROLLED]
    waiting = sorted((e for e in rows if e.status == EnrolmentStatus.WAITLISTED), key=lambda e: e.waitlist_seq)
    assert len(seated) == 5
    assert len(waiting) == 18
    # the waitlist is a strict FIFO: positions 1..18 without gaps or duplicates, in commit order
    assert [e.waitlist_seq for e in waiting] == list(range(1, 19))
    assert [services.waitlist_position(e) for e in waiting] == list(range(1, 19))
    from academy.catalogue.models import Cohort

    assert db.session.get(Cohort, cohort_id).seats_taken == 5


def test_withdrawals_racing_with_enrolments_keep_capacity(app):
    cohort = make_cohort(capacity=3)
    holders = [make_learner() for _ in range(3)]
    enrolments = [services.enrol(h, cohort) for h in holders]
    newcomers = [make_learner() for _ in range(6)]
    db.session.commit()
    cohort_id = cohort.id
    enrolment_ids = [e.id for e in enrolments]
    newcomer_ids = [n.id for n in newcomers]
    db.session.remove()

    errors: list[BaseException] = []

    def withdraw(enrolment_id):
        with app.app_context():
            try:
                e = db.session.get(Enrolment, enrolment_id)
                services.withdraw(e, actor=e.learner)
                db.session.commit()
            except BaseException as exc:  # noqa: BLE001
                db.session.rollback()
                errors.append(exc)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=withdraw, args=(i,)) for i in enrolment_ids[:2]]
    for t in threads:
        t.start()
    errors += _race(app, cohort_id, newcomer_ids)
    for t in threads:
        t.join(timeout=60)

    assert errors == []
    seated = db.session.scalars(
        select(Enrolment).where(Enrolment.cohort_id == cohort_id, Enrolment.status == EnrolmentStatus.ENROLLED)
    ).all()
    assert len(seated) == 3
