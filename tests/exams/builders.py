"""Builders for exam tests: a cohort with an instructor and enrolled learners, an assessment, marks."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from academy.accounts.models import User
from academy.attendance import services as attendance
from academy.catalogue.models import Cohort, CohortStatus
from academy.exams import services
from academy.exams.models import Assessment
from academy.exams.services import AssessmentSettings, ComponentSpec
from tests.factories import enrol, make_admin, make_cohort, make_instructor, make_learner

NOW = datetime(2026, 6, 30, 12, 0, tzinfo=UTC)


@dataclass
class Class:
    """A cohort with its instructor, an admin and enrolled learners (in enrolment order)."""

    cohort: Cohort
    instructor: User
    admin: User
    learners: list[User] = field(default_factory=list)


def make_class(n: int = 3, *, names: list[str] | None = None, **cohort_overrides) -> Class:
    """A RUNNING cohort with one instructor and ``n`` ENROLLED learners (no sessions: all eligible)."""
    instructor = make_instructor()
    cohort_overrides.setdefault("status", CohortStatus.RUNNING)
    cohort = make_cohort(instructors=[instructor], capacity=max(n, 1) + 5, **cohort_overrides)
    learners = []
    for i in range(n):
        extra = {"name": names[i]} if names else {}
        learner = make_learner(**extra)
        enrol(learner, cohort)
        learners.append(learner)
    return Class(cohort, instructor, make_admin(), learners)


def sign_in(app, user: User):
    """A fresh test client signed in as ``user`` (``g`` is emptied per request by conftest)."""
    from tests.conftest import login

    client = app.test_client()
    login(client, user)
    return client


def components(*specs: tuple) -> tuple[ComponentSpec, ...]:
    """``components(("理论知识", 100, 60, 30), ("操作技能", 100, 60, 70))`` → ComponentSpec tuple."""
    return tuple(ComponentSpec(name, Decimal(str(mx)), Decimal(str(pm)), Decimal(str(w))) for name, mx, pm, w in specs)


def make_assessment(cls: Class, **settings) -> Assessment:
    """The cohort's 结业考核 with the default components unless ``components=`` is given."""
    return services.create_assessment(cls.cohort, AssessmentSettings(**settings), actor=cls.instructor)


def component_ids(assessment: Assessment) -> list[int]:
    return [c.id for c in assessment.components]


def set_marks(assessment: Assessment, marks: dict[User, tuple], *, actor: User | None = None,
              reason: str | None = None, now: datetime = NOW) -> int:
    """Record marks through the real service: ``{learner: ("88", "缺考")}`` in component order."""
    ids = component_ids(assessment)
    entries = {(learner.id, cid): value for learner, values in marks.items()
               for cid, value in zip(ids, values, strict=True) if value is not None}
    actor = actor or (assessment.cohort.instructors[0] if assessment.cohort.instructors else None)
    return services.record_scores(assessment, entries, actor=actor, reason=reason, now=now)


def hold_sessions(cls: Class, count: int, *, attended: dict[User, int], now: datetime = NOW) -> None:
    """``count`` ended sessions in the past; each learner in ``attended`` was present at that many
    of them (the others count as absent: an ended session without a status is absent)."""
    sessions = []
    for i in range(count):
        starts = now - timedelta(days=count - i, hours=2)
        sessions.append(attendance.create_session(cls.cohort, starts_at=starts, ends_at=starts + timedelta(hours=2),
                                                  actor=cls.instructor))
    for learner, present in attended.items():
        for session in sessions[:present]:
            attendance.set_status(session, learner.id, "present", actor=cls.instructor, now=now)
