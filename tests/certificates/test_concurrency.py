"""Ten simultaneous clicks give one certificate; simultaneous runs never share a serial.
Real threads, each with its own session and transaction, on SQLite and PostgreSQL."""

from __future__ import annotations

import threading
from datetime import date

import pytest
from sqlalchemy import func, select

from academy.accounts.models import User
from academy.catalogue.models import Cohort
from academy.certificates import services
from academy.certificates.models import Certificate
from academy.extensions import db
from tests.certificates.builders import NOW, graduating_class, hold_sessions, make_class, publish_results

pytestmark = pytest.mark.concurrency


def race(app, work, count: int) -> tuple[list, list[BaseException]]:
    """Run ``work(i)`` in ``count`` threads started together; each commits its own transaction."""
    barrier = threading.Barrier(count)
    results, errors = [], []

    def runner(i: int) -> None:
        with app.app_context():
            try:
                barrier.wait(timeout=30)
                results.append(work(i))
                db.session.commit()
            except BaseException as exc:  # noqa: BLE001 - asserted below
                db.session.rollback()
                errors.append(exc)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=runner, args=(i,)) for i in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    return results, errors


def test_ten_simultaneous_issue_clicks_give_one_certificate(app):
    cls = graduating_class(1)
    services.get_settings()  # exists already, as in production: only the cohort lock serialises
    db.session.commit()
    learner_id, cohort_id, admin_id = cls.learners[0].id, cls.cohort.id, cls.admin.id
    db.session.remove()

    def click(_):
        certificate = services.issue_certificate(db.session.get(User, learner_id), db.session.get(Cohort, cohort_id),
                                                 actor=db.session.get(User, admin_id), now=NOW)
        return certificate.serial

    serials, errors = race(app, click, 10)

    assert errors == []
    assert len(serials) == 10 and len(set(serials)) == 1
    assert db.session.scalar(select(func.count()).select_from(Certificate)) == 1


def test_simultaneous_cohort_runs_issue_each_learner_once(app):
    cls = graduating_class(6)
    services.get_settings()
    db.session.commit()
    cohort_id, admin_id = cls.cohort.id, cls.admin.id
    db.session.remove()

    def run(_):
        report = services.issue_for_cohort(db.session.get(Cohort, cohort_id), actor=db.session.get(User, admin_id),
                                           now=NOW)
        return len(report.issued)

    counts, errors = race(app, run, 5)

    assert errors == []
    assert sorted(counts) == [0, 0, 0, 0, 6]
    serials = db.session.scalars(select(Certificate.serial).order_by(Certificate.serial)).all()
    assert serials == [f"JXG-2026-DG01-{n:06d}" for n in range(1, 7)]


def test_two_cohorts_of_one_course_issuing_at_once_never_share_a_serial(app):
    first = graduating_class(4, course_code="DG02")
    second = make_class(4)
    second.cohort.course = first.cohort.course
    db.session.flush()
    hold_sessions(second, 2, {})
    publish_results(second, {learner: ("70", "70") for learner in second.learners})
    services.get_settings()
    db.session.commit()
    cohort_ids, admin_id = [first.cohort.id, second.cohort.id], first.admin.id
    db.session.remove()

    def run(i):
        return len(services.issue_for_cohort(db.session.get(Cohort, cohort_ids[i % 2]),
                                             actor=db.session.get(User, admin_id), now=NOW).issued)

    counts, errors = race(app, run, 4)

    assert errors == []
    assert sum(counts) == 8
    serials = db.session.scalars(select(Certificate.serial)).all()
    assert sorted(serials) == [f"JXG-2026-DG02-{n:06d}" for n in range(1, 9)]


def test_simultaneous_award_calls_give_one_award_certificate(app):
    cls = graduating_class(1)
    services.get_settings()
    db.session.commit()
    learner_id = cls.learners[0].id
    db.session.remove()

    def call(_):
        return services.issue_award_certificate(
            db.session.get(User, learner_id), edition_name="2026年“虔能杯”", event_name="电工", award="二等奖",
            rank=2, title=None, level_note=None, issued_on=date(2026, 11, 20), actor=None).serial

    serials, errors = race(app, call, 8)

    assert errors == []
    assert set(serials) == {"JXJ-2026-000001"}
    assert db.session.scalar(select(func.count()).select_from(Certificate)) == 1
