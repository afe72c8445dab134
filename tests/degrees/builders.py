"""Builders for degree-upgrade tests: programmes, key dates and cases at any stage."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, time
from decimal import Decimal

from academy.degrees.models import CaseEvent, DegreeCase, KeyDate, Programme
from academy.degrees.stages import (
    KeyDateKind,
    Level,
    Route,
    Stage,
    default_min_study_months,
    default_record_valid_months,
    earliest_graduation,
    record_expiry,
)
from academy.extensions import db
from tests.factories import make_learner

_seq = itertools.count(1)


def noon(day: date) -> datetime:
    """12:00 Asia/Shanghai on ``day`` as an aware UTC datetime (04:00 UTC)."""
    return datetime.combine(day, time(4, 0), tzinfo=UTC)


def make_programme(route: Route = Route.ADULT_EXAM, level: Level = Level.HIGH_TO_DIPLOMA, **overrides) -> Programme:
    """A programme with the default lengths of its route and level."""
    n = next(_seq)
    values = {"route": route, "level": level, "institution": "江西理工大学", "major": f"物流管理{n}",
              "min_study_months": default_min_study_months(route, level),
              "record_valid_months": default_record_valid_months(route), "credits_required": 76,
              "tuition": Decimal("7500"), "subsidy": Decimal("1500"), "is_active": True}
    values.update(overrides)
    programme = Programme(**values)
    db.session.add(programme)
    db.session.flush()
    return programme


def make_case(stage: Stage = Stage.INTERESTED, *, programme: Programme | None = None, learner=None,
              route: Route | None = None, stage_since: date = date(2026, 1, 5), resume_stage: Stage | None = None,
              enrolled_on: date | None = None, no_programme: bool = False, **overrides) -> DegreeCase:
    """A case placed directly at ``stage`` (with one history entry), bypassing the transitions."""
    if not no_programme and programme is None:
        programme = make_programme(route or Route.ADULT_EXAM)
    learner = learner or make_learner(education="高中")
    case = DegreeCase(learner_id=learner.id, programme=programme, route=programme.route if programme else route,
                      level=programme.level if programme else None, stage=stage, stage_since=stage_since,
                      resume_stage=resume_stage, enrolled_on=enrolled_on, **overrides)
    if programme is not None:
        case.earliest_graduation_on = earliest_graduation(enrolled_on, programme.min_study_months)
        case.record_expires_on = record_expiry(enrolled_on, programme.record_valid_months)
    db.session.add(case)
    db.session.add(CaseEvent(case=case, kind="opened", to_stage=stage, on=stage_since, created_at=noon(stage_since)))
    db.session.flush()
    return case


def add_key_date(route: Route, kind: KeyDateKind, starts_on: date, ends_on: date | None = None,
                 year: int | None = None, note: str | None = None) -> KeyDate:
    """A key date row (``year`` defaults to the start's year)."""
    key_date = KeyDate(route=route, kind=kind, year=year or starts_on.year, starts_on=starts_on, ends_on=ends_on,
                       note=note)
    db.session.add(key_date)
    db.session.flush()
    return key_date


def adult_exam_cycle(year: int) -> None:
    """成人高考 key dates of the ``year`` cycle: registration 8/20–9/5, exam 10/17–18, admission
    12/10–31, enrolment 3/1–31 of the next year."""
    add_key_date(Route.ADULT_EXAM, KeyDateKind.REGISTRATION, date(year, 8, 20), date(year, 9, 5), year)
    add_key_date(Route.ADULT_EXAM, KeyDateKind.EXAM, date(year, 10, 17), date(year, 10, 18), year)
    add_key_date(Route.ADULT_EXAM, KeyDateKind.ADMISSION, date(year, 12, 10), date(year, 12, 31), year)
    add_key_date(Route.ADULT_EXAM, KeyDateKind.ENROLMENT, date(year + 1, 3, 1), date(year + 1, 3, 31), year)
