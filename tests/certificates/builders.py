"""Builders for certificate tests: a finished class with attendance and published results,
built through the real attendance and exams services (no shortcuts into their tables)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from academy.accounts.models import User
from academy.attendance import services as attendance
from academy.catalogue.models import Cohort, CohortStatus
from academy.exams import services as exams
from tests.factories import (
    enrol,
    make_admin,
    make_cohort,
    make_course,
    make_instructor,
    make_learner,
    valid_id_number,
)

NOW = datetime(2026, 6, 30, 12, 0, tzinfo=UTC)
NAMES = ["买买提·艾力", "欧阳堃", "王喆", "𠮷田丽"]


@dataclass
class Class:
    """A cohort with its instructor, an admin and ENROLLED learners (in the given order)."""

    cohort: Cohort
    instructor: User
    admin: User
    learners: list[User] = field(default_factory=list)


def make_class(n: int = 3, *, names: list[str] | None = None, course_code: str | None = None,
               **cohort_overrides) -> Class:
    """A RUNNING cohort (course code ``course_code``) with ``n`` learners who have ID numbers."""
    instructor = make_instructor()
    course = make_course(code=course_code) if course_code else make_course()
    cohort_overrides.setdefault("status", CohortStatus.RUNNING)
    cohort_overrides.setdefault("start_date", (NOW - timedelta(days=90)).date())
    cohort_overrides.setdefault("end_date", (NOW - timedelta(days=2)).date())
    cohort = make_cohort(course, instructors=[instructor], capacity=n + 5, **cohort_overrides)
    learners = []
    for i in range(n):
        extra = {"name": names[i]} if names and i < len(names) else {}
        learner = make_learner(id_number=valid_id_number(), **extra)
        enrol(learner, cohort)
        learners.append(learner)
    return Class(cohort, instructor, make_admin(), learners)


def hold_sessions(cls: Class, count: int, attended: dict[User, int]) -> None:
    """``count`` ended sessions before NOW; each learner in ``attended`` was present at that many
    (the rest of their sessions are absent). Learners not listed attended every session."""
    sessions = []
    for i in range(count):
        starts = NOW - timedelta(days=count - i + 3, hours=2)
        sessions.append(attendance.create_session(cls.cohort, starts_at=starts, ends_at=starts + timedelta(hours=2),
                                                  actor=cls.instructor))
    for learner in cls.learners:
        present = attended.get(learner, count)
        for n, session in enumerate(sessions):
            status = "present" if n < present else "absent"
            attendance.set_status(session, learner.id, status, actor=cls.instructor, now=NOW)


def publish_results(cls: Class, marks: dict[User, tuple[str, str]], *, allow_incomplete: bool = True):
    """The default 结业考核 (理论知识, 操作技能: 100 points, pass mark 60 each, every component must
    pass); ``marks`` gives (theory, practical) per learner; published at NOW."""
    assessment = exams.create_assessment(cls.cohort, actor=cls.instructor)
    ids = [c.id for c in assessment.components]
    entries = {(learner.id, cid): value for learner, values in marks.items() for cid, value in zip(ids, values, strict=True)}
    exams.record_scores(assessment, entries, actor=cls.instructor, now=NOW)
    exams.publish(assessment, actor=cls.instructor, now=NOW, allow_incomplete=allow_incomplete)
    return assessment


def graduating_class(n: int = 3, *, names: list[str] | None = None, course_code: str | None = "DG01",
                     sessions: int = 5) -> Class:
    """A class where everyone attended every session and passed (80 / 75)."""
    cls = make_class(n, names=names, course_code=course_code)
    hold_sessions(cls, sessions, {})
    publish_results(cls, {learner: ("80", "75") for learner in cls.learners})
    return cls
