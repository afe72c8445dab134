"""benchmarks/generate.py (the city-scale data generator) at scale 0.001 in the test database.

Counts in proportion to the issue's figures, valid ID numbers, the manifest's fixed-shape records
(the 60-learner cohort, the typical learner, the published competition event …), and pages that
render for the manifest's learner and instructor.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest
from sqlalchemy import func, select

from academy.accounts.models import Role, User, UserRole
from academy.attendance.models import AttendanceRecord, ClassSession
from academy.catalogue.models import Cohort, cohort_instructors
from academy.catalogue.services import CatalogueQuery, search_cohorts
from academy.certificates.models import Certificate
from academy.common.ids import normalise_mobile, parse_id_number
from academy.common.timeutil import now_utc
from academy.competitions.models import Event, EventJudge
from academy.enrolment.models import Enrolment
from academy.exams.models import Assessment, AssessmentComponent, Attempt, ExamScore
from tests.conftest import login

_PATH = Path(__file__).resolve().parents[1] / "benchmarks" / "generate.py"
_spec = importlib.util.spec_from_file_location("benchmarks_generate", _PATH)
generator = sys.modules[_spec.name] = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(generator)

SCALE = 0.001


@pytest.fixture
def manifest(app, db):
    """Generate scale 0.001; afterwards empty every table (PostgreSQL COPY is not seen by the
    conftest's insert listener, so its per-test cleanup would miss those tables)."""
    result = generator.generate(scale=SCALE, seed=7)
    yield result
    db.session.rollback()
    for table in reversed(db.metadata.sorted_tables):
        db.session.execute(table.delete())
    db.session.commit()


def test_targets_scale_in_proportion():
    big, small = generator.targets(1.0), generator.targets(0.1)
    assert big["users_learners"] == 155_000 and big["attendance_records"] == 1_000_000
    assert big["certificates"] == 50_000 and big["competition_event_judges"] == 100
    for key in ("users_learners", "cohorts", "enrolments", "attendance_records", "exam_scores", "certificates"):
        assert small[key] * 10 == big[key]
    with pytest.raises(generator.GeneratorError):
        generator.targets(0)


def test_generate_small_city(manifest, db, client):
    # --- counts: the figures × 0.001 (never below the fixed-shape records) ----------------
    targets, actual = manifest["targets"], manifest["actual"]
    for key in ("users_learners", "cohorts", "courses", "enrolments", "attendance_records", "exam_scores",
                "competition_events", "competition_event_judges"):
        assert actual[key] == targets[key], key
    assert abs(actual["certificates"] - targets["certificates"]) <= 0.2 * targets["certificates"]
    learners = db.session.scalar(select(func.count()).select_from(UserRole).where(UserRole.role == Role.LEARNER))
    assert learners == targets["users_learners"] == 155
    assert manifest["counts"]["attendance_changes"] >= manifest["counts"]["attendance_records"]
    assert manifest["counts"]["exam_score_changes"] == manifest["counts"]["exam_scores"]

    # --- every ID number passes the app's validator and agrees with the stored birth date/gender ---
    people = db.session.execute(select(User.id_number, User.birth_date, User.gender, User.mobile)).all()
    assert len(people) == sum(manifest["roles"].values())
    for id_number, born, gender, mobile in people:
        parsed = parse_id_number(id_number)
        assert (parsed.birth_date, parsed.gender) == (born, gender)
        assert parsed.region_code.startswith(("3607", "65"))
        assert normalise_mobile(mobile) == mobile

    # --- the fixed-shape cohort: running, 60 enrolled, ≥ 20 sessions with attendance, 2 × 60 marks --
    cohort = db.session.get(Cohort, manifest["cohort"]["id"])
    assert (cohort.code, cohort.status, cohort.seats_taken) == (manifest["cohort"]["code"], "running", 60)
    enrolled = db.session.scalar(select(func.count()).select_from(Enrolment).where(
        Enrolment.cohort_id == cohort.id, Enrolment.status == "enrolled"))
    assert enrolled == 60
    with_attendance = db.session.scalar(
        select(func.count(func.distinct(AttendanceRecord.session_id))).join(ClassSession)
        .where(ClassSession.cohort_id == cohort.id))
    assert with_attendance >= 20
    session = db.session.get(ClassSession, manifest["session_id"])
    assert session.cohort_id == cohort.id and session.ends_at < now_utc()
    assert db.session.scalar(select(func.count()).select_from(AttendanceRecord)
                             .where(AttendanceRecord.session_id == session.id)) == 60
    assessment = db.session.get(Assessment, manifest["assessment_id"])
    assert assessment.cohort_id == cohort.id and assessment.published_at is None
    assert db.session.scalar(select(func.count()).select_from(AssessmentComponent)
                             .where(AssessmentComponent.assessment_id == assessment.id)) == 2
    assert db.session.scalar(select(func.count()).select_from(Attempt)
                             .where(Attempt.assessment_id == assessment.id)) == 60
    assert db.session.scalar(select(func.count()).select_from(ExamScore).join(Attempt)
                             .where(Attempt.assessment_id == assessment.id)) == 120
    teachers = set(db.session.scalars(select(cohort_instructors.c.user_id)
                                      .where(cohort_instructors.c.cohort_id == cohort.id)))
    assert manifest["instructor"]["id"] in teachers
    assert db.session.get(User, manifest["admin"]["id"]).is_admin

    # --- the typical learner: running (with attendance), finished (results, certificate), open ----
    learner = db.session.get(User, manifest["learner"]["id"])
    assert learner.mobile == manifest["learner"]["mobile"] and learner.is_learner
    statuses = dict(db.session.execute(select(Cohort.status, func.count()).join(Enrolment)
                                       .where(Enrolment.learner_id == learner.id).group_by(Cohort.status)).all())
    assert statuses == {"running": 1, "finished": 1, "open": 1}
    assert db.session.scalar(select(func.count()).select_from(AttendanceRecord).join(ClassSession).where(
        AttendanceRecord.learner_id == learner.id, ClassSession.cohort_id == cohort.id)) == 22
    finished = db.session.get(Cohort, manifest["finished_cohort"]["id"])
    assert db.session.scalar(select(Assessment.published_at).where(Assessment.cohort_id == finished.id))
    certificate = db.session.scalar(select(Certificate).where(Certificate.serial == manifest["certificate_serial"]))
    assert (certificate.learner_id, certificate.cohort_id, certificate.status) == (learner.id, finished.id, "valid")

    # --- catalogue filters match; the competition event has published results and 5 judges ------
    filters = manifest["catalogue_filters"]
    found = search_cohorts(CatalogueQuery(keyword=filters["q"], occupation=filters["occupation"],
                                          district=filters["district"]), now=now_utc())
    assert manifest["open_cohort"]["id"] in {c.id for c in found.items}
    event = db.session.scalar(select(Event).where(Event.public_code == manifest["event_code"]))
    assert event.published_at is not None
    assert db.session.scalar(select(func.count()).select_from(EventJudge).where(EventJudge.event_id == event.id)) == 5

    # --- a second run refuses the filled database ------------------------------------------------
    with pytest.raises(generator.GeneratorError, match="already has data"):
        generator.generate(scale=SCALE)

    # --- pages render for the learner and the instructor ------------------------------------------
    login(client, learner, manifest["password"])
    pages = {"/enrolment/my": cohort.name, "/exams/my": finished.name, "/attendance/my": cohort.name,
             "/certificates/my": certificate.serial}
    for url, text in pages.items():
        response = client.get(url)
        assert response.status_code == 200, url
        assert text in response.get_data(as_text=True), url
    staff = client.application.test_client()
    login(staff, db.session.get(User, manifest["instructor"]["id"]), manifest["password"])
    for url in (f"/attendance/sessions/{session.id}/register", f"/exams/{assessment.id}/gradebook"):
        assert staff.get(url).status_code == 200, url
