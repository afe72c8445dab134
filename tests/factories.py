"""Test data builders: plain functions with sensible defaults and counters."""

from __future__ import annotations

import itertools
from datetime import date, time, timedelta
from decimal import Decimal

from werkzeug.security import generate_password_hash

from academy.accounts.models import Role, User, UserRole
from academy.catalogue.models import Cohort, CohortMeeting, CohortStatus, Course
from academy.common.ids import check_character
from academy.enrolment import services as enrolment_services
from academy.extensions import db

PASSWORD = "Passw0rd!"
_PASSWORD_HASH = generate_password_hash(PASSWORD, method="pbkdf2:sha256:1000")
_seq = itertools.count(1)


def valid_id_number(n: int | None = None, *, born: str = "19900101", male: bool = True) -> str:
    """A GB 11643-valid ID number, unique per ``n``."""
    n = next(_seq) if n is None else n
    seq = (n % 499) * 2 + (1 if male else 0)
    # vary the region code so numbers stay unique beyond 499
    first17 = f"{360702 + n // 499:06d}{born}{seq:03d}"
    return first17 + check_character(first17)


def make_user(*roles: Role, **overrides) -> User:
    """A person with ``roles`` (default learner) and the password ``PASSWORD``."""
    n = next(_seq)
    values = {"mobile": f"139{n:08d}", "name": f"学员{n}", "password_hash": _PASSWORD_HASH}
    values.update(overrides)
    user = User(**values)
    for role in roles or (Role.LEARNER,):
        user.roles.append(UserRole(role=role))
    db.session.add(user)
    db.session.flush()
    return user


def make_learner(**overrides) -> User:
    return make_user(Role.LEARNER, **overrides)


def make_instructor(**overrides) -> User:
    return make_user(Role.INSTRUCTOR, **overrides)


def make_admin(**overrides) -> User:
    return make_user(Role.ADMIN, **overrides)


def make_course(**overrides) -> Course:
    n = next(_seq)
    values = {"code": f"C{n:04d}", "title": f"电工技能培训{n}", "occupation": "电工", "occupation_code": "6-31-01-03",
              "level": "五级/初级工", "hours": 40, "delivery_mode": "线下", "fee": Decimal("0"),
              "subsidy": Decimal("0")}
    values.update(overrides)
    course = Course(**values)
    db.session.add(course)
    db.session.flush()
    return course


def make_cohort(course: Course | None = None, *, instructors=(), meetings=((0, time(19, 30), time(21, 30)),),
                **overrides) -> Cohort:
    """An OPEN cohort starting in a week, by default meeting Mondays 19:30–21:30."""
    n = next(_seq)
    start = overrides.pop("start_date", date.today() + timedelta(days=7))
    values = {"code": f"K{n:04d}", "name": f"2026年第{n}期电工班", "start_date": start,
              "end_date": overrides.pop("end_date", start + timedelta(days=60)), "capacity": 30,
              "status": CohortStatus.OPEN, "place": "瑞金市职业技能实训基地", "district": "瑞金市",
              "schedule_text": "周一 19:30-21:30"}
    values.update(overrides)
    cohort = Cohort(course=course or make_course(), **values)
    cohort.instructors = list(instructors)
    for weekday, start_time, end_time in meetings:
        cohort.meetings.append(CohortMeeting(weekday=weekday, start_time=start_time, end_time=end_time))
    db.session.add(cohort)
    db.session.flush()
    return cohort


def enrol(learner: User, cohort: Cohort, **kwargs):
    """Enrol through the real service (bypassing the window), returning the enrolment."""
    kwargs.setdefault("source", "admin")
    kwargs.setdefault("check_window", False)
    return enrolment_services.enrol(learner, cohort, **kwargs)
