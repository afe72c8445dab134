"""The degree-upgrade demo step: programmes in Jiangxi, key dates, 52 cases at every stage, one overdue."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import func, select

from academy.accounts.models import User
from academy.degrees import services
from academy.degrees.models import DegreeCase, KeyDate, Programme
from academy.degrees.stages import Route
from academy.demo.loader import load_demo
from academy.extensions import db
from tests.degrees.builders import noon

STEPS = ("academy.demo.base", "academy.degrees.demo")


# Two points of the 成人高考 year: between cycles (before registration) and after the October exam.
@pytest.mark.parametrize("day", [date(2026, 6, 10), date(2026, 11, 5)], ids=str)
def test_the_demo_has_52_cases_across_the_pipeline_with_exactly_one_overdue(day):
    load_demo(now=noon(day), steps=STEPS)
    rows = services.case_rows(services.CaseFilter(), today=day)
    assert len(rows) == 52
    stages = {r.case.stage for r in rows}
    assert {"interested", "registered", "enrolled", "studying", "graduation_applied", "graduated", "deferred",
            "dropped", "record_expired"} <= stages
    overdue = [r for r in rows if r.milestone and r.milestone.overdue]
    assert len(overdue) == 1 and overdue[0].case.route == Route.ADULT_EXAM
    routes = set(db.session.scalars(select(Programme.route)))
    assert routes == set(Route)
    institutions = set(db.session.scalars(select(Programme.institution)))
    assert {"江西开放大学赣州分校", "江西理工大学", "赣南师范大学"} <= institutions
    years = set(db.session.scalars(select(KeyDate.year)))
    assert years == {day.year, day.year + 1}
    assert services.count_upgrading() > 25
    star = db.session.scalar(select(DegreeCase).join(User, DegreeCase.learner_id == User.id)
                             .where(User.mobile == "13800000005"))
    assert star.route == Route.ADULT_EXAM and not services.next_milestone(star, today=day).overdue
    assert db.session.scalar(select(func.count()).select_from(DegreeCase).where(DegreeCase.source == "self")) == 2
