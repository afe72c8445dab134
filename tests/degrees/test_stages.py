"""The pure rules of the degree-upgrade pipeline: transition table, date arithmetic, milestone planner."""

from __future__ import annotations

from datetime import date

import pytest

from academy.degrees.stages import (
    STAGE_ALIASES,
    TRANSITIONS,
    CaseFacts,
    KeyDateKind,
    Level,
    Route,
    Stage,
    Window,
    add_months,
    allowed_targets,
    default_min_study_months,
    default_record_valid_months,
    earliest_graduation,
    plan_milestone,
    record_expiry,
    stage_path,
    with_estimates,
)

ADULT = Route.ADULT_EXAM


@pytest.fixture(autouse=True)
def db():
    """These rules are pure: no database (overrides the suite's per-test database fixture)."""
    yield None


# --- transition table ----------------------------------------------------------------------

def test_every_stage_has_a_row_in_the_transition_table():
    assert set(TRANSITIONS) == set(Stage)


def test_the_adult_exam_path_goes_through_the_exam_and_admission():
    assert stage_path(ADULT) == (Stage.INTERESTED, Stage.REGISTERED, Stage.EXAM_TAKEN, Stage.ADMITTED,
                                 Stage.ENROLLED, Stage.STUDYING, Stage.GRADUATION_APPLIED, Stage.GRADUATED)


@pytest.mark.parametrize("route", [Route.SELF_STUDY, Route.OPEN_UNIVERSITY, Route.ONLINE])
def test_routes_without_an_entrance_exam_skip_the_exam_stages(route):
    assert Stage.EXAM_TAKEN not in stage_path(route)
    assert allowed_targets(Stage.REGISTERED, route) == (Stage.ENROLLED, Stage.DEFERRED, Stage.DROPPED)


def test_a_registered_adult_exam_case_must_sit_the_exam_before_enrolling():
    assert allowed_targets(Stage.REGISTERED, ADULT) == (Stage.EXAM_TAKEN, Stage.DEFERRED, Stage.DROPPED)


def test_an_interest_without_a_route_cannot_register():
    assert allowed_targets(Stage.INTERESTED, None) == (Stage.DEFERRED, Stage.DROPPED)


def test_a_deferred_case_resumes_to_the_stage_it_left():
    assert allowed_targets(Stage.DEFERRED, ADULT, resume_to=Stage.ADMITTED) == (Stage.ADMITTED, Stage.DROPPED)
    assert allowed_targets(Stage.DEFERRED, Route.OPEN_UNIVERSITY, resume_to=Stage.STUDYING) == (
        Stage.STUDYING, Stage.DROPPED, Stage.RECORD_EXPIRED)


@pytest.mark.parametrize("stage", [Stage.GRADUATED, Stage.DROPPED, Stage.RECORD_EXPIRED])
def test_closed_cases_go_nowhere(stage):
    assert allowed_targets(stage, ADULT) == ()


def test_every_label_of_the_academy_ledger_maps_to_a_stage():
    for label in ("意向", "已报名", "已参加考试", "已录取", "已注册学籍", "在读", "已申请毕业", "已毕业", "暂缓", "退学"):
        assert label in STAGE_ALIASES


# --- date arithmetic -----------------------------------------------------------------------

@pytest.mark.parametrize(("start", "months", "expected"), [
    (date(2026, 8, 31), 30, date(2029, 2, 28)),  # month end clamped, 2029 not a leap year
    (date(2027, 8, 31), 6, date(2028, 2, 29)),  # leap year
    (date(2026, 3, 1), 30, date(2028, 9, 1)),
    (date(2026, 3, 1), 60, date(2031, 3, 1)),
    (date(2026, 1, 31), 1, date(2026, 2, 28)),
    (date(2026, 12, 15), 1, date(2027, 1, 15)),
    (date(2026, 3, 31), -1, date(2026, 2, 28)),
])
def test_add_months_clamps_to_the_end_of_the_month(start, months, expected):
    assert add_months(start, months) == expected


def test_minimum_study_is_two_and_a_half_years_or_five_for_high_school_to_bachelor():
    assert default_min_study_months(ADULT, Level.HIGH_TO_DIPLOMA) == 30
    assert default_min_study_months(ADULT, Level.DIPLOMA_TO_BACHELOR) == 30
    assert default_min_study_months(Route.OPEN_UNIVERSITY, Level.HIGH_TO_BACHELOR) == 60
    assert default_min_study_months(Route.SELF_STUDY, Level.DIPLOMA_TO_BACHELOR) is None


def test_earliest_graduation_is_enrolment_plus_the_minimum_length():
    assert earliest_graduation(date(2026, 8, 31), 30) == date(2029, 2, 28)
    assert earliest_graduation(None, 30) is None
    assert earliest_graduation(date(2026, 3, 1), None) is None


def test_the_open_university_record_expires_eight_years_after_enrolment():
    assert default_record_valid_months(Route.OPEN_UNIVERSITY) == 96
    assert default_record_valid_months(ADULT) is None
    assert record_expiry(date(2026, 3, 1), 96) == date(2034, 3, 1)
    assert record_expiry(date(2024, 2, 29), 96) == date(2032, 2, 29)


# --- the milestone planner -----------------------------------------------------------------

CYCLE_2026 = [
    Window(ADULT, KeyDateKind.REGISTRATION, date(2026, 8, 20), date(2026, 9, 5)),
    Window(ADULT, KeyDateKind.EXAM, date(2026, 10, 17), date(2026, 10, 18)),
    Window(ADULT, KeyDateKind.ADMISSION, date(2026, 12, 10), date(2026, 12, 31)),
    Window(ADULT, KeyDateKind.ENROLMENT, date(2027, 3, 1), date(2027, 3, 31)),
]


def _plan(stage, since, today, route=ADULT, windows=CYCLE_2026, **facts):
    return plan_milestone(CaseFacts(route=route, stage=stage, stage_since=since, **facts), windows, today)


def test_an_interested_learner_is_told_when_registration_opens():
    m = _plan(Stage.INTERESTED, date(2026, 5, 2), date(2026, 6, 1))
    assert (m.title, m.when_text(date(2026, 6, 1))) == ("成人高考报名", "8月20日开始")
    assert not m.overdue
    assert "身份证原件" in m.checklist


def test_an_open_window_shows_its_closing_day():
    m = _plan(Stage.INTERESTED, date(2026, 5, 2), date(2026, 8, 25))
    assert m.when_text(date(2026, 8, 25)) == "进行中，9月5日截止"


def test_after_the_october_exam_comes_admission_then_enrolment_in_march_of_the_next_year():
    after_exam = _plan(Stage.EXAM_TAKEN, date(2026, 10, 18), date(2026, 10, 20))
    assert (after_exam.title, after_exam.starts_on) == ("查询录取结果", date(2026, 12, 10))
    admitted = _plan(Stage.ADMITTED, date(2026, 12, 15), date(2026, 12, 20))
    assert (admitted.title, admitted.starts_on) == ("入学注册", date(2027, 3, 1))
    assert admitted.when_text(date(2026, 12, 20)) == "2027年3月1日开始"
    assert not admitted.overdue


def test_a_missed_exam_is_overdue():
    m = _plan(Stage.REGISTERED, date(2026, 9, 1), date(2026, 10, 25))
    assert m.overdue
    assert m.when_text(date(2026, 10, 25)) == "已过期（10月18日）"
    assert not m.is_upcoming(date(2026, 10, 25), 14)


def test_a_deferred_case_looks_ahead_to_the_next_chance_and_is_never_overdue():
    m = _plan(Stage.DEFERRED, date(2026, 2, 1), date(2026, 11, 1), resume_to=Stage.REGISTERED,
              windows=with_estimates(ADULT, CYCLE_2026, range(2026, 2029)))
    assert m.deferred and not m.overdue
    assert m.starts_on == date(2027, 10, 18)  # next year's exam (estimated)
    assert m.estimated


def test_studying_shows_the_earliest_graduation_then_the_graduation_window():
    windows = [Window(ADULT, KeyDateKind.GRADUATION_APPLICATION, date(2029, 11, 1), date(2029, 11, 30))]
    before = _plan(Stage.STUDYING, date(2026, 9, 1), date(2027, 1, 1), windows=windows,
                   earliest_graduation_on=date(2029, 2, 28))
    assert (before.code, before.starts_on) == ("earliest_graduation", date(2029, 2, 28))
    after = _plan(Stage.STUDYING, date(2026, 9, 1), date(2029, 3, 5), windows=windows,
                  earliest_graduation_on=date(2029, 2, 28))
    assert (after.code, after.starts_on) == ("graduation_application", date(2029, 11, 1))


def test_self_study_sits_the_next_exam_until_every_course_is_passed():
    windows = [Window(Route.SELF_STUDY, KeyDateKind.EXAM, date(2026, 4, 11), date(2026, 4, 12)),
               Window(Route.SELF_STUDY, KeyDateKind.EXAM, date(2026, 10, 24), date(2026, 10, 25)),
               Window(Route.SELF_STUDY, KeyDateKind.GRADUATION_APPLICATION, date(2026, 11, 1), date(2026, 11, 15))]
    studying = _plan(Stage.STUDYING, date(2025, 5, 1), date(2026, 6, 1), route=Route.SELF_STUDY, windows=windows)
    assert (studying.title, studying.starts_on) == ("参加下一次自学考试", date(2026, 10, 24))
    done = _plan(Stage.STUDYING, date(2025, 5, 1), date(2026, 6, 1), route=Route.SELF_STUDY, windows=windows,
                 credits_complete=True)
    assert (done.title, done.starts_on) == ("申请毕业", date(2026, 11, 1))


def test_an_expired_record_is_flagged():
    m = _plan(Stage.STUDYING, date(2026, 3, 1), date(2034, 3, 2), route=Route.OPEN_UNIVERSITY, windows=[],
              record_expires_on=date(2034, 3, 1))
    assert m.code == "record_expired" and m.overdue


def test_closed_cases_have_no_next_step():
    assert _plan(Stage.GRADUATED, date(2026, 1, 1), date(2026, 2, 1)) is None


def test_estimates_fill_years_without_real_dates_and_yield_to_real_ones():
    windows = with_estimates(ADULT, CYCLE_2026, range(2026, 2028))
    exams = [w for w in windows if w.kind == KeyDateKind.EXAM]
    assert [(w.starts_on, w.estimated) for w in exams] == [(date(2026, 10, 17), False), (date(2027, 10, 18), True)]


def test_without_any_key_date_the_step_has_no_date():
    m = _plan(Stage.REGISTERED, date(2026, 9, 1), date(2026, 9, 2), windows=[])
    assert m.starts_on is None and m.when_text(date(2026, 9, 2)) == "日期以学校通知为准"
