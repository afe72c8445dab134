"""The roster import writes in bulk: a constant number of queries however many rows, with the
same outcome as enrolling row by row (people already known by ID or mobile, duplicates in the
file, a cohort that fills up mid-file, re-applications, audit rows); and ``enrol_many`` applies
``enrol``'s rules in order."""

from __future__ import annotations

from contextlib import contextmanager
from datetime import date

import pytest
from sqlalchemy import event, func, select

from academy.accounts.models import Role, User
from academy.audit.models import AuditEvent
from academy.catalogue.models import Cohort
from academy.enrolment import services
from academy.enrolment.models import Enrolment, EnrolmentStatus
from academy.errors import Conflict
from academy.extensions import db
from tests.enrolment.test_roster import person, run, xlsx
from tests.factories import (
    PASSWORD,
    enrol,
    make_admin,
    make_cohort,
    make_course,
    make_instructor,
    make_learner,
)

D_ID, D_MOBILE = 3, 4  # columns of person(): 身份证号, 手机号


@contextmanager
def count_queries():
    statements: list[str] = []

    def before(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement)

    event.listen(db.engine, "before_cursor_execute", before)
    try:
        yield statements
    finally:
        event.remove(db.engine, "before_cursor_execute", before)


def _count(model, *where) -> int:
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


def _roster_with_known_people(first: int, n: int, tag: str) -> tuple[bytes, list[Cohort]]:
    """``n`` rows from person ``first`` on, alternating between two courses whose cohorts hold a
    quarter of the rows each (so both fill up mid-file); a fifth of the people are already known:
    by ID number, activated, self-registered without ID, and already in their cohort."""
    cohorts = [make_cohort(make_course(title=f"批量导入课程{tag}{k}"), code=f"BATCH-{tag}-{k}", capacity=n // 4)
               for k in (1, 2)]
    rows = []
    for i, number in enumerate(range(first, first + n)):
        row = person(number, 报名课程=f"批量导入课程{tag}{i % 2 + 1}")
        name, id_number, mobile = row[1], row[D_ID], row[D_MOBILE]
        kind = i % 20
        if kind == 1:
            make_learner(name=name, id_number=id_number, mobile=f"136{number:08d}", password_hash=None)
        elif kind == 2:
            make_learner(name=name, id_number=id_number, mobile=f"135{number:08d}")  # activated
        elif kind == 3:
            make_learner(name=name, mobile=mobile)  # self-registered, no ID number
        elif kind == 4:
            enrol(make_learner(name=name, id_number=id_number, mobile=mobile, password_hash=None), cohorts[i % 2])
        rows.append(row)
    db.session.commit()
    return xlsx(rows), cohorts


@pytest.mark.parametrize("dry_run", [False, True], ids=["import", "dry-run"])
def test_the_number_of_queries_does_not_grow_with_the_number_of_rows(dry_run):
    def measure(first: int, n: int, tag: str) -> tuple[int, dict]:
        data, _ = _roster_with_known_people(first, n, tag)
        with count_queries() as statements:
            report = run(data, dry_run=dry_run)
        assert report.errors == [], report.errors[:3]
        db.session.rollback()
        return len(statements), report.counts

    small, small_counts = measure(1, 100, "S")
    large, large_counts = measure(1001, 500, "L")
    assert large_counts == {"created": 400, "updated": 100, "enrolled": 225, "waitlisted": 250, "already": 25}
    assert small_counts == {"created": 80, "updated": 20, "enrolled": 45, "waitlisted": 50, "already": 5}
    assert large - small <= 2, (small, large)
    assert large <= 30, large  # row by row it was about 11 per row (5,500 here)


def test_known_people_are_updated_in_the_database_and_new_ones_created_without_password():
    cohort = make_cohort(code="BULK-1", capacity=10)
    by_id = make_learner(name=person(1)[1], id_number=person(1)[D_ID], mobile="13600000001", password_hash=None,
                         district="章贡区", platform="饿了么")
    activated = make_learner(name=person(2)[1], id_number=person(2)[D_ID], mobile="13500000002")
    by_mobile = make_learner(name=person(3)[1], mobile=person(3)[D_MOBILE])
    unchanged = make_learner(name=person(4)[1], id_number=person(4)[D_ID], mobile=person(4)[D_MOBILE],
                             password_hash=None, gender="男", district="瑞金市", occupation_group="外卖员",
                             platform="美团", political_status="群众", education="高中")
    unchanged.birth_date = date(1990, 1, 1)
    staff = make_instructor(name=person(5)[1], id_number=person(5)[D_ID], mobile=person(5)[D_MOBILE])
    db.session.commit()
    stamp = unchanged.updated_at
    rows = [person(1, **{"所在县（市、区）": None, "所属平台/企业": None}), person(2), person(3), person(4), person(5),
            person(6)]
    report = run(xlsx(rows), cohort_code=cohort.code)
    db.session.commit()
    assert report.counts == {"created": 1, "updated": 5, "enrolled": 6}
    db.session.expire_all()  # read what was written, not the session's copies
    assert (by_id.mobile, by_id.district, by_id.platform, by_id.occupation_group) == (
        person(1)[D_MOBILE], "章贡区", "饿了么", "外卖员")  # blank cells keep stored values
    assert activated.mobile == "13500000002" and activated.password_hash is not None
    assert (by_mobile.id_number, by_mobile.gender, by_mobile.birth_date.year) == (person(3)[D_ID], "男", 1990)
    assert unchanged.updated_at == stamp  # nothing to change: not rewritten
    assert staff.role_set == {Role.INSTRUCTOR, Role.LEARNER}
    new = db.session.scalar(select(User).where(User.id_number == person(6)[D_ID]))
    assert new.password_hash is None and new.role_set == {Role.LEARNER} and new.is_active_account
    assert new.mobile == person(6)[D_MOBILE] and new.district == "瑞金市" and new.education == "高中"
    assert _count(User) == 6 and _count(Enrolment, Enrolment.cohort_id == cohort.id) == 6


def test_a_person_twice_in_the_file_is_imported_once_with_skip_invalid():
    cohort = make_cohort(code="BULK-2", capacity=10)
    db.session.commit()
    again = person(1, 序号=3)
    report = run(xlsx([person(1), person(2), again]), cohort_code=cohort.code, skip_invalid=True)
    db.session.commit()
    assert [(e.row, e.column) for e in report.errors] == [(4, "身份证号")]
    assert report.counts == {"created": 2, "enrolled": 2, "skipped": 1}
    assert _count(User) == 2 and _count(Enrolment) == 2


def test_a_full_cohort_queues_rows_after_those_waiting_and_reuses_a_withdrawn_application():
    cohort = make_cohort(code="BULK-3", capacity=2)
    for learner in (make_learner(), make_learner()):
        enrol(learner, cohort)
    waiting = make_learner()
    assert enrol(waiting, cohort).waitlist_seq == 1
    back_row = person(3)
    back = make_learner(name=back_row[1], id_number=back_row[D_ID], mobile=back_row[D_MOBILE], password_hash=None)
    earlier = enrol(back, cohort)
    services.withdraw(earlier, actor=back)
    db.session.commit()
    rows = [person(1), person(2), back_row, person(4)]
    report = run(xlsx(rows), cohort_code=cohort.code)
    db.session.commit()
    assert report.counts == {"created": 3, "updated": 1, "waitlisted": 4}
    queue = db.session.scalars(select(Enrolment).where(Enrolment.cohort_id == cohort.id,
                                                       Enrolment.status == EnrolmentStatus.WAITLISTED)
                               .order_by(Enrolment.waitlist_seq)).all()
    assert [(e.learner.mobile, e.waitlist_seq) for e in queue] == [
        (waiting.mobile, 1), (rows[0][D_MOBILE], 2), (rows[1][D_MOBILE], 3), (back.mobile, 4), (rows[3][D_MOBILE], 5)]
    assert queue[3].id == earlier.id and queue[3].source == "import"  # the same row joined again
    db.session.refresh(cohort)
    assert cohort.seats_taken == 2


def test_seats_go_in_file_order_and_the_rest_wait_across_two_cohorts():
    small = make_cohort(make_course(title="批量A"), code="BULK-4A", capacity=2)
    large = make_cohort(make_course(title="批量B"), code="BULK-4B", capacity=5)
    db.session.commit()
    rows = [person(n, 报名课程="批量A" if n % 2 else "批量B") for n in range(1, 9)]
    report = run(xlsx(rows))
    db.session.commit()
    assert report.counts == {"created": 8, "enrolled": 6, "waitlisted": 2}
    status = {e.learner.mobile: (e.cohort.code, e.status, e.waitlist_seq) for e in db.session.scalars(select(Enrolment))}
    assert [status[r[D_MOBILE]] for r in rows] == [
        ("BULK-4A", "enrolled", None), ("BULK-4B", "enrolled", None), ("BULK-4A", "enrolled", None),
        ("BULK-4B", "enrolled", None), ("BULK-4A", "waitlisted", 1), ("BULK-4B", "enrolled", None),
        ("BULK-4A", "waitlisted", 2), ("BULK-4B", "enrolled", None)]
    assert (small.seats_taken, large.seats_taken) == (2, 4)


def test_every_enrolment_is_audited_with_the_admin_as_actor_and_one_import_record():
    cohort = make_cohort(code="BULK-5", capacity=1)
    admin = make_admin()
    db.session.commit()
    report = run(xlsx([person(1), person(2)]), cohort_code=cohort.code, actor=admin)
    db.session.commit()
    assert report.counts == {"created": 2, "enrolled": 1, "waitlisted": 1}
    events = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "enrolment.applied")
                                .order_by(AuditEvent.id)).all()
    enrolments = {e.id: e for e in db.session.scalars(select(Enrolment))}
    assert [(e.actor_id, e.object_type, enrolments[e.object_id].learner.mobile, e.details) for e in events] == [
        (admin.id, "Enrolment", person(1)[D_MOBILE], {"status": "enrolled", "cohort": "BULK-5"}),
        (admin.id, "Enrolment", person(2)[D_MOBILE], {"status": "waitlisted", "cohort": "BULK-5"})]
    assert _count(AuditEvent, AuditEvent.action == "roster.imported") == 1


def test_a_deactivated_account_is_updated_but_not_enrolled():
    cohort = make_cohort(code="BULK-6")
    row = person(1)
    make_learner(name=row[1], id_number=row[D_ID], mobile=row[D_MOBILE], password_hash=None, is_active_account=False)
    db.session.commit()
    report = run(xlsx([row, person(2)]), cohort_code=cohort.code)
    assert report.counts == {"updated": 1, "created": 1, "not_enrolled": 1, "enrolled": 1}
    assert [(w.row, w.message) for w in report.warnings] == [(2, "没有报名 BULK-6：不能报名：账号已停用")]


def test_a_dry_run_leaves_the_session_as_it_was_and_a_real_import_can_follow():
    cohort = make_cohort(code="BULK-7", capacity=5)
    row = person(1)
    known = make_learner(name=row[1], id_number=row[D_ID], mobile="13600000001", password_hash=None)
    db.session.commit()
    data = xlsx([row, person(2), person(3)])
    checked = run(data, cohort_code=cohort.code, dry_run=True)  # the caller does not roll back here
    assert checked.counts == {"created": 2, "updated": 1, "enrolled": 3} and not checked.written
    assert known.mobile == "13600000001" and cohort.seats_taken == 0
    assert _count(User) == 1 and _count(Enrolment) == 0
    done = run(data, cohort_code=cohort.code)
    db.session.commit()
    assert done.counts == checked.counts
    db.session.expire_all()
    assert known.mobile == row[D_MOBILE] and cohort.seats_taken == 3 and _count(User) == 3


# --- enrol_many: enrol's rules, in order ---------------------------------------------------------

def test_enrol_many_refuses_what_enrol_refuses_in_order():
    course = make_course()
    first, second = make_cohort(course, code="MANY-1", capacity=1), make_cohort(course, code="MANY-2", capacity=5)
    other = make_cohort(code="MANY-3", capacity=5)
    a, b, inactive = make_learner(), make_learner(), make_learner(is_active_account=False)
    staff = make_instructor()
    db.session.commit()
    results = services.enrol_many([(a, first), (a, first), (a, second), (b, first), (b, other), (inactive, other),
                                   (staff, other)], source="admin", check_window=False)
    assert results[0] == EnrolmentStatus.ENROLLED
    assert isinstance(results[1], Conflict) and results[1].message == "您已在该班级（已报名）"
    assert results[2].message == "不能报名：已在本课程的另一个班级中"  # the seat given two lines above
    assert results[3] == EnrolmentStatus.WAITLISTED and results[4] == EnrolmentStatus.ENROLLED
    assert results[5].message == "不能报名：账号已停用"
    assert results[6].message == "只有学员账号可以报名"
    assert (first.seats_taken, second.seats_taken, other.seats_taken) == (1, 0, 1)
    assert _count(AuditEvent, AuditEvent.action == "enrolment.applied") == 3
    assert services.get_enrolment(b.id, first.id).waitlist_seq == 1


def test_a_single_enrolment_still_signs_in_and_applies_through_the_page(client):
    from tests.conftest import login, post

    cohort = make_cohort(code="MANY-4", capacity=1)
    learner = make_learner()
    db.session.commit()
    login(client, learner, PASSWORD)
    response = post(client, f"/enrolment/cohorts/{cohort.id}/enrol")
    assert response.status_code == 302
    enrolment = services.get_enrolment(learner.id, cohort.id)
    assert enrolment.status == EnrolmentStatus.ENROLLED and enrolment.source == "self"
    event_ = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "enrolment.applied"))
    assert (event_.actor_id, event_.object_id) == (learner.id, enrolment.id)
