"""Degree-upgrade services: entry rules, every transition, records, milestones, figures, reminders."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from academy.audit.models import AuditEvent
from academy.degrees import services
from academy.degrees.models import CaseEvent, Notice
from academy.degrees.services import (
    CourseValues,
    DegreeError,
    EntryRuleError,
    ProgrammeValues,
    RecordValues,
    TransitionError,
)
from academy.degrees.stages import Level, Route, Stage, allowed_targets
from academy.errors import Conflict, PermissionDenied
from academy.extensions import db
from tests.degrees.builders import adult_exam_cycle, make_case, make_programme, noon
from tests.factories import make_admin, make_instructor, make_learner

TODAY = date(2026, 6, 1)
NOW = noon(TODAY)


@pytest.fixture
def admin():
    return make_admin(name="周晓梅")


# --- programmes ----------------------------------------------------------------------------

def test_a_programme_takes_the_minimum_length_of_its_level_when_left_blank(admin):
    p = services.save_programme(None, ProgrammeValues(Route.OPEN_UNIVERSITY, Level.HIGH_TO_BACHELOR, "江西开放大学赣州分校",
                                                      "行政管理", tuition="6400.005", subsidy=1500), actor=admin)
    assert (p.min_study_months, p.record_valid_months) == (60, 96)
    assert p.tuition == Decimal("6400.01") and p.subsidy == Decimal("1500.00")


def test_the_same_programme_cannot_be_defined_twice(admin):
    values = ProgrammeValues(Route.ADULT_EXAM, Level.HIGH_TO_DIPLOMA, "江西理工大学", "物流管理")
    services.save_programme(None, values, actor=admin)
    with pytest.raises(Conflict):
        services.save_programme(None, values, actor=admin)


def test_only_admins_define_programmes():
    with pytest.raises(PermissionDenied):
        services.save_programme(None, ProgrammeValues(Route.ADULT_EXAM, Level.HIGH_TO_DIPLOMA, "某大学", "某专业"),
                                actor=make_instructor())


def test_changing_a_programmes_length_recomputes_its_cases_dates(admin):
    programme = make_programme(Route.ADULT_EXAM)
    case = make_case(Stage.STUDYING, programme=programme, enrolled_on=date(2026, 8, 31))
    assert case.earliest_graduation_on == date(2029, 2, 28)
    values = ProgrammeValues(programme.route, programme.level, programme.institution, programme.major,
                             min_study_months=36)
    services.save_programme(programme, values, actor=admin)
    assert case.earliest_graduation_on == date(2029, 8, 31)


def test_a_key_date_window_must_end_after_it_starts(admin):
    with pytest.raises(DegreeError, match="结束日期"):
        services.add_key_date(Route.ADULT_EXAM, 2026, "exam", date(2026, 10, 18), date(2026, 10, 1), actor=admin)
    kd = services.add_key_date(Route.ADULT_EXAM, 2026, "exam", date(2026, 10, 17), date(2026, 10, 18), actor=admin)
    with pytest.raises(Conflict):
        services.add_key_date(Route.ADULT_EXAM, 2026, "exam", date(2026, 10, 17), actor=admin)
    services.delete_key_date(kd, actor=admin)
    assert services.list_key_dates() == []


# --- entry rules ---------------------------------------------------------------------------

ENTRY_CASES = [
    ("大专", Level.DIPLOMA_TO_BACHELOR, True),
    ("本科", Level.DIPLOMA_TO_BACHELOR, True),
    ("高中", Level.DIPLOMA_TO_BACHELOR, False),
    ("中专", Level.DIPLOMA_TO_BACHELOR, False),
    ("高中", Level.HIGH_TO_DIPLOMA, True),
    ("技校", Level.HIGH_TO_BACHELOR, True),
    ("职高", Level.HIGH_TO_DIPLOMA, True),
    ("初中", Level.HIGH_TO_DIPLOMA, False),
    ("小学", Level.HIGH_TO_BACHELOR, False),
    (None, Level.HIGH_TO_DIPLOMA, False),
    (None, Level.DIPLOMA_TO_BACHELOR, False),
]


def test_bachelor_top_up_needs_a_diploma_and_the_others_upper_secondary():
    for education, level, ok in ENTRY_CASES:
        learner = make_learner(education=education)
        assert (services.entry_problem(learner, level) is None) is ok, (education, level)


def test_upgrading_to_a_bachelor_without_a_diploma_is_refused_without_an_override(admin):
    learner = make_learner(education="高中")
    programme = make_programme(Route.ADULT_EXAM, Level.DIPLOMA_TO_BACHELOR)
    with pytest.raises(EntryRuleError, match="专升本需要专科"):
        services.open_case(learner, programme, actor=admin, now=NOW)
    assert services.open_case_of(learner) is None


def test_an_override_records_who_allowed_it_and_why(admin):
    learner = make_learner(education="初中")
    programme = make_programme(Route.OPEN_UNIVERSITY, Level.HIGH_TO_DIPLOMA)
    case = services.open_case(learner, programme, actor=admin, now=NOW, override_reason="已取得高中同等学力证明")
    assert case.entry_override_reason == "已取得高中同等学力证明"
    assert case.entry_override_by_id == admin.id
    assert "入学条件特批" in case.events[0].note
    assert db.session.scalar(select(AuditEvent).where(AuditEvent.action == "degree.entry_override")) is not None


def test_an_eligible_learner_needs_no_override(admin):
    case = services.open_case(make_learner(education="大专"), make_programme(level=Level.DIPLOMA_TO_BACHELOR),
                              actor=admin, now=NOW)
    assert case.entry_override_reason is None
    assert (case.stage, case.stage_since) == (Stage.INTERESTED, TODAY)


# --- interest and opening ------------------------------------------------------------------

def test_a_learner_expresses_interest_once(admin):
    learner = make_learner(education="高中")
    case = services.express_interest(learner, route="adult_exam", now=NOW)
    assert (case.stage, case.programme_id, case.route, case.source) == (Stage.INTERESTED, None, "adult_exam", "self")
    with pytest.raises(Conflict):
        services.express_interest(learner, now=NOW)


def test_opening_a_case_for_a_learner_who_expressed_interest_attaches_the_programme(admin):
    learner = make_learner(education="高中")
    interest = services.express_interest(learner, now=NOW)
    case = services.open_case(learner, make_programme(Route.OPEN_UNIVERSITY), actor=admin, now=NOW)
    assert case.id == interest.id
    assert case.route == Route.OPEN_UNIVERSITY
    assert [e.kind for e in case.events] == ["opened", "programme"]


def test_a_learner_has_one_open_case_at_a_time(admin):
    learner = make_learner(education="高中")
    services.open_case(learner, make_programme(), actor=admin, now=NOW)
    with pytest.raises(Conflict, match="已有进行中"):
        services.open_case(learner, make_programme(), actor=admin, now=NOW)


def test_an_interest_only_case_cannot_register_before_a_programme_is_chosen(admin):
    case = services.express_interest(make_learner(), route="adult_exam", now=NOW)
    assert services.targets_for(case) == (Stage.DEFERRED, Stage.DROPPED)
    with pytest.raises(TransitionError, match="请先为个案指定"):
        services.move(case, Stage.REGISTERED, actor=admin, now=NOW)


def test_an_enrolled_case_cannot_change_institution(admin):
    case = make_case(Stage.STUDYING, enrolled_on=date(2026, 3, 1))
    with pytest.raises(DegreeError, match="已注册学籍"):
        services.assign_programme(case, make_programme(), actor=admin, now=NOW)


# --- every transition ----------------------------------------------------------------------

def _allowed():
    out = []
    for route in Route:
        for stage in Stage:
            resumes = [None]
            if stage == Stage.DEFERRED:
                resumes = [s for s in Stage if Stage.DEFERRED in allowed_targets(s, route)]
            for resume in resumes:
                for target in allowed_targets(stage, route, resume_to=resume):
                    out.append((route, stage, resume, target))
    return out


ALLOWED = _allowed()


def test_every_allowed_transition_is_recorded_in_the_history(admin):
    assert len(ALLOWED) > 80
    for route, stage, resume, target in ALLOWED:
        case = make_case(stage, route=route, resume_stage=resume, stage_since=date(2026, 5, 1),
                         enrolled_on=date(2026, 3, 1) if stage in (Stage.ENROLLED, Stage.STUDYING) else None)
        event = services.move(case, target, actor=admin, on=date(2026, 5, 20), note="按学院记录", now=NOW)
        label = f"{route}: {stage}({resume}) -> {target}"
        assert case.stage == target and case.stage_since == date(2026, 5, 20), label
        assert (event.from_stage, event.to_stage, event.on, event.actor_id, event.note) == (
            stage, target, date(2026, 5, 20), admin.id, "按学院记录"), label
        assert case.resume_stage == (stage if target == Stage.DEFERRED else None), label
        assert [e.kind for e in case.events] == ["opened", "transition"], label


def test_the_table_covers_the_whole_path_of_every_route():
    pairs = {(r, s, t) for r, s, _, t in ALLOWED}
    for route, path in ((Route.ADULT_EXAM, [Stage.INTERESTED, Stage.REGISTERED, Stage.EXAM_TAKEN, Stage.ADMITTED,
                                            Stage.ENROLLED]),
                        (Route.OPEN_UNIVERSITY, [Stage.INTERESTED, Stage.REGISTERED, Stage.ENROLLED])):
        for a, b in zip([*path, Stage.STUDYING, Stage.GRADUATION_APPLIED],
                        [*path[1:], Stage.STUDYING, Stage.GRADUATION_APPLIED, Stage.GRADUATED], strict=True):
            assert (route, a, b) in pairs


FORBIDDEN = [
    (Route.ADULT_EXAM, Stage.INTERESTED, Stage.ENROLLED),
    (Route.ADULT_EXAM, Stage.REGISTERED, Stage.ENROLLED),
    (Route.ADULT_EXAM, Stage.REGISTERED, Stage.GRADUATED),
    (Route.ADULT_EXAM, Stage.ADMITTED, Stage.STUDYING),
    (Route.OPEN_UNIVERSITY, Stage.REGISTERED, Stage.EXAM_TAKEN),
    (Route.SELF_STUDY, Stage.REGISTERED, Stage.ADMITTED),
    (Route.SELF_STUDY, Stage.STUDYING, Stage.REGISTERED),
    (Route.OPEN_UNIVERSITY, Stage.STUDYING, Stage.GRADUATED),
    (Route.ADULT_EXAM, Stage.GRADUATED, Stage.STUDYING),
    (Route.ADULT_EXAM, Stage.DROPPED, Stage.REGISTERED),
    (Route.OPEN_UNIVERSITY, Stage.RECORD_EXPIRED, Stage.STUDYING),
    (Route.OPEN_UNIVERSITY, Stage.INTERESTED, Stage.RECORD_EXPIRED),
]


def test_forbidden_transitions_are_refused_and_leave_the_case_as_it_was(admin):
    for route, stage, target in FORBIDDEN:
        case = make_case(stage, route=route, stage_since=date(2026, 5, 1))
        with pytest.raises(TransitionError, match="不能从"):
            services.move(case, target, actor=admin, on=date(2026, 5, 20), note="x", now=NOW)
        assert case.stage == stage and len(case.events) == 1, (route, stage, target)


def test_a_deferred_case_resumes_only_to_the_stage_it_left(admin):
    case = make_case(Stage.ADMITTED, stage_since=date(2026, 1, 5))
    services.move(case, Stage.DEFERRED, actor=admin, on=date(2026, 2, 1), note="家里有事", now=NOW)
    assert case.resume_stage == Stage.ADMITTED
    with pytest.raises(TransitionError):
        services.move(case, Stage.ENROLLED, actor=admin, on=date(2026, 3, 1), now=NOW)
    services.move(case, Stage.ADMITTED, actor=admin, on=date(2026, 3, 1), now=NOW)
    assert (case.stage, case.resume_stage) == (Stage.ADMITTED, None)


def test_a_transition_cannot_be_dated_in_the_future_or_before_the_current_stage(admin):
    case = make_case(Stage.REGISTERED, route=Route.OPEN_UNIVERSITY, stage_since=date(2026, 5, 1))
    with pytest.raises(TransitionError, match="晚于今天"):
        services.move(case, Stage.ENROLLED, actor=admin, on=date(2026, 6, 2), now=NOW)
    with pytest.raises(TransitionError, match="早于"):
        services.move(case, Stage.ENROLLED, actor=admin, on=date(2026, 4, 30), now=NOW)


@pytest.mark.parametrize("target", [Stage.DEFERRED, Stage.DROPPED])
def test_deferring_or_dropping_needs_a_reason(admin, target):
    case = make_case(Stage.REGISTERED, stage_since=date(2026, 5, 1))
    with pytest.raises(TransitionError, match="原因"):
        services.move(case, target, actor=admin, now=NOW)


def test_going_back_after_a_refused_graduation_needs_a_reason(admin):
    case = make_case(Stage.GRADUATION_APPLIED, stage_since=date(2026, 5, 1))
    with pytest.raises(TransitionError, match="原因"):
        services.move(case, Stage.STUDYING, actor=admin, now=NOW)


def test_the_history_is_append_only(admin):
    case = make_case(Stage.REGISTERED, route=Route.OPEN_UNIVERSITY, stage_since=date(2026, 5, 1))
    event = services.move(case, Stage.ENROLLED, actor=admin, now=NOW)
    db.session.flush()
    event.note = "改写"
    with pytest.raises(ValueError, match="只能追加"):
        db.session.flush()
    db.session.rollback()


def test_only_admins_move_cases():
    case = make_case(Stage.REGISTERED, route=Route.OPEN_UNIVERSITY)
    with pytest.raises(PermissionDenied):
        services.move(case, Stage.ENROLLED, actor=case.learner, now=NOW)


# --- dates derived at enrolment ------------------------------------------------------------

def test_enrolment_sets_the_earliest_graduation_with_month_end_clamping(admin):
    case = make_case(Stage.ADMITTED, stage_since=date(2026, 8, 1))
    services.move(case, Stage.ENROLLED, actor=admin, on=date(2026, 8, 31), now=noon(date(2026, 9, 1)))
    assert case.enrolled_on == date(2026, 8, 31)
    assert case.earliest_graduation_on == date(2029, 2, 28)
    assert case.record_expires_on is None


def test_open_university_enrolment_sets_the_record_expiry_eight_years_later(admin):
    case = make_case(Stage.REGISTERED, route=Route.OPEN_UNIVERSITY, stage_since=date(2026, 2, 1))
    services.move(case, Stage.ENROLLED, actor=admin, on=date(2026, 3, 1), now=NOW)
    assert (case.earliest_graduation_on, case.record_expires_on) == (date(2028, 9, 1), date(2034, 3, 1))


def test_admission_and_graduation_dates_are_filled_by_the_transitions(admin):
    case = make_case(Stage.EXAM_TAKEN, stage_since=date(2026, 5, 1))
    services.move(case, Stage.ADMITTED, actor=admin, on=date(2026, 5, 10), now=NOW)
    assert case.admitted_on == date(2026, 5, 10)
    late = make_case(Stage.GRADUATION_APPLIED, stage_since=date(2026, 5, 1))
    services.move(late, Stage.GRADUATED, actor=admin, on=date(2026, 5, 30), now=NOW)
    assert late.graduated_on == date(2026, 5, 30)


# --- record fields and courses -------------------------------------------------------------

def test_record_changes_are_listed_in_the_history(admin):
    case = make_case(Stage.STUDYING, route=Route.OPEN_UNIVERSITY)
    changed = services.update_record(case, RecordValues(student_number="2026001", enrolled_on=date(2026, 3, 1),
                                                        fees_paid="2800", subsidy_granted="1500", subsidy_paid="0"),
                                     actor=admin, now=NOW)
    assert changed == ["学号", "入学日期", "已缴学费", "批准补贴"]
    assert case.record_expires_on == date(2034, 3, 1)
    assert "学号：— → 2026001" in case.events[-1].note
    assert services.update_record(case, RecordValues(student_number="2026001", enrolled_on=date(2026, 3, 1),
                                                     fees_paid="2800.00", subsidy_granted="1500"),
                                  actor=admin, now=NOW) == []


def test_the_subsidy_paid_cannot_exceed_the_subsidy_granted(admin):
    case = make_case(Stage.STUDYING)
    with pytest.raises(DegreeError, match="已发补贴"):
        services.update_record(case, RecordValues(subsidy_granted="1500", subsidy_paid="3000"), actor=admin, now=NOW)


def test_self_study_credits_are_the_sum_of_distinct_courses_passed(admin):
    programme = make_programme(Route.SELF_STUDY, Level.DIPLOMA_TO_BACHELOR, credits_required=None, courses_required=3)
    case = make_case(Stage.STUDYING, programme=programme)
    services.record_course_result(case, CourseValues("00015", "英语（二）", 14, "2026-04", "failed", "52"), actor=admin,
                                  now=NOW)
    services.record_course_result(case, CourseValues("00015", "英语（二）", 14, "2026年10月", "passed", "71"),
                                  actor=admin, now=NOW)
    services.record_course_result(case, CourseValues("03708", "中国近现代史纲要", 2, "2026.4", "passed"), actor=admin,
                                  now=NOW)
    services.record_course_result(case, CourseValues("03708", "中国近现代史纲要", 2, "2026年4月", "exempted"),
                                  actor=admin, now=NOW)
    assert len(case.course_results) == 3
    assert case.credits_earned == Decimal("16.0")
    assert services.courses_passed(case) == 2 and not services.credits_complete(case)
    services.record_course_result(case, CourseValues("02628", "管理经济学", 6, "2026年10月", "passed"), actor=admin,
                                  now=NOW)
    assert services.credits_complete(case)


def test_course_results_belong_to_self_study_only(admin):
    with pytest.raises(DegreeError, match="自学考试"):
        services.record_course_result(make_case(Stage.STUDYING), CourseValues("1", "x", 2, "2026年4月", "passed"),
                                      actor=admin, now=NOW)


def test_a_sitting_must_read_like_a_month():
    assert services.normalise_sitting("2026/10") == "2026年10月"
    with pytest.raises(DegreeError):
        services.normalise_sitting("明年春天")


# --- milestones through the database -------------------------------------------------------

def test_next_milestone_uses_the_key_dates_across_the_year_boundary(admin):
    adult_exam_cycle(2026)
    case = make_case(Stage.EXAM_TAKEN, stage_since=date(2026, 10, 18))
    m = services.next_milestone(case, today=date(2026, 10, 20))
    assert (m.title, m.starts_on, m.estimated) == ("查询录取结果", date(2026, 12, 10), False)
    services.move(case, Stage.ADMITTED, actor=admin, on=date(2026, 12, 15), now=noon(date(2026, 12, 20)))
    m = services.next_milestone(case, today=date(2026, 12, 20))
    assert (m.title, m.starts_on) == ("入学注册", date(2027, 3, 1))
    assert m.when_text(date(2026, 12, 20)) == "2027年3月1日开始"


def test_the_timeline_shows_done_current_and_future_stages(admin):
    case = make_case(Stage.REGISTERED, stage_since=date(2026, 5, 1))
    services.move(case, Stage.EXAM_TAKEN, actor=admin, on=date(2026, 5, 20), now=NOW)
    items = services.timeline(case)
    assert [(i.stage, i.status) for i in items[:4]] == [
        ("interested", "done"), ("registered", "done"), ("exam_taken", "current"), ("admitted", "future")]
    assert items[2].on == date(2026, 5, 20)


def test_a_dropped_case_shows_where_it_stopped(admin):
    case = make_case(Stage.STUDYING, route=Route.OPEN_UNIVERSITY, stage_since=date(2026, 5, 1))
    services.move(case, Stage.DROPPED, actor=admin, on=date(2026, 5, 2), note="工作调动", now=NOW)
    statuses = [(i.stage, i.status) for i in services.timeline(case)]
    assert statuses[-2:] == [("studying", "done"), ("dropped", "closed")]


# --- lists and figures ---------------------------------------------------------------------

def test_count_upgrading_counts_learners_from_registration_to_graduation_applied():
    counted = [Stage.REGISTERED, Stage.EXAM_TAKEN, Stage.ADMITTED, Stage.ENROLLED, Stage.STUDYING,
               Stage.GRADUATION_APPLIED]
    for stage in Stage:
        make_case(stage, learner=make_learner(district="瑞金市" if stage == Stage.STUDYING else "章贡区",
                                              occupation_group="外卖员", platform="美团"))
    assert services.count_upgrading() == len(counted)
    assert services.count_upgrading(district="瑞金市") == 1
    assert services.count_upgrading(occupation_group="外卖员", platform="美团") == len(counted)
    assert services.count_upgrading(platform="饿了么") == 0


def test_a_learner_with_an_old_dropped_case_and_a_new_one_counts_once():
    learner = make_learner()
    make_case(Stage.DROPPED, learner=learner)
    make_case(Stage.STUDYING, learner=learner)
    assert services.count_upgrading() == 1


def test_pipeline_counts_add_up_to_every_case():
    make_case(Stage.STUDYING, route=Route.OPEN_UNIVERSITY)
    make_case(Stage.STUDYING, route=Route.OPEN_UNIVERSITY)
    make_case(Stage.REGISTERED, route=Route.ADULT_EXAM)
    make_case(Stage.INTERESTED, no_programme=True)
    counts = services.pipeline_counts()
    assert counts == {("studying", "open_university"): 2, ("registered", "adult_exam"): 1,
                      ("interested", "undecided"): 1}
    routes, rows, totals = services.board_table(counts)
    assert sum(totals) == 4 == sum(total for _, _, total in rows)


def test_the_list_filters_by_institution_district_and_overdue():
    adult_exam_cycle(2026)
    late = make_case(Stage.REGISTERED, stage_since=date(2026, 9, 1),
                     programme=make_programme(institution="赣南师范大学"),
                     learner=make_learner(district="瑞金市"))
    make_case(Stage.EXAM_TAKEN, stage_since=date(2026, 10, 18), learner=make_learner(district="章贡区"))
    today = date(2026, 10, 25)
    assert [r.case.id for r in services.case_rows(services.CaseFilter(overdue=True), today=today)] == [late.id]
    assert len(services.case_rows(services.CaseFilter(district="瑞金市"), today=today)) == 1
    assert len(services.case_rows(services.CaseFilter(institution="赣南师范大学"), today=today)) == 1
    page = services.list_cases(services.CaseFilter(per_page=1, page=2), today=today)
    assert (page.total, page.pages, len(page.items), page.has_prev, page.has_next) == (2, 2, 1, True, False)


def test_upcoming_lists_steps_due_within_the_days():
    adult_exam_cycle(2026)
    soon = make_case(Stage.EXAM_TAKEN, stage_since=date(2026, 10, 18))
    make_case(Stage.ADMITTED, stage_since=date(2026, 12, 12))
    assert [r.case.id for r in services.upcoming(today=date(2026, 11, 30), days=14)] == [soon.id]


# --- notices and reminders -----------------------------------------------------------------

def test_reminders_are_recorded_once_per_milestone_however_often_they_run(admin):
    adult_exam_cycle(2026)
    case = make_case(Stage.EXAM_TAKEN, stage_since=date(2026, 10, 18))
    make_case(Stage.REGISTERED, stage_since=date(2026, 9, 1))  # overdue: in the staff digest only
    first = services.remind(today=date(2026, 11, 30), days=14, now=NOW, learner_link=lambda c: f"/degrees/my/{c.id}",
                            staff_link="/degrees/cases")
    assert (len(first.upcoming), len(first.overdue), first.notices_created) == (1, 1, 2)
    again = services.remind(today=date(2026, 11, 30), days=14, now=NOW)
    assert again.notices_created == 0
    learner_notice = db.session.scalar(select(Notice).where(Notice.user_id == case.learner_id))
    assert learner_notice.text.startswith("学历提升提醒：查询录取结果，12月10日开始。")
    assert learner_notice.link == f"/degrees/my/{case.id}"
    digest = db.session.scalar(select(Notice).where(Notice.user_id == admin.id))
    assert digest.text == "学历提升：1 个个案在 14 天内有节点，1 个已逾期"
    next_day = services.remind(today=date(2026, 12, 1), days=14, now=NOW)
    assert next_day.notices_created == 1  # the staff digest of the new day; the learner is not told twice
    assert db.session.scalar(select(func.count()).select_from(Notice)) == 3


def test_a_case_with_an_adviser_reminds_the_adviser_instead_of_every_admin(admin):
    adult_exam_cycle(2026)
    adviser = make_instructor()
    make_case(Stage.EXAM_TAKEN, stage_since=date(2026, 10, 18), advisor_id=adviser.id)
    services.remind(today=date(2026, 11, 30), days=14, now=NOW)
    assert db.session.scalar(select(Notice).where(Notice.user_id == adviser.id)) is not None
    assert db.session.scalar(select(Notice).where(Notice.user_id == admin.id)) is None


def test_notices_are_marked_read():
    learner = make_learner()
    db.session.add(Notice(user_id=learner.id, text="提醒", created_at=NOW))
    db.session.flush()
    assert len(services.unread_notices(learner)) == 1
    assert services.mark_notices_read(learner, now=NOW) == 1
    assert services.unread_notices(learner) == []


def test_the_history_keeps_every_change(admin):
    case = services.open_case(make_learner(education="高中"), make_programme(Route.OPEN_UNIVERSITY), actor=admin,
                              now=noon(date(2026, 2, 1)))
    services.move(case, Stage.REGISTERED, actor=admin, on=date(2026, 2, 10), now=NOW)
    services.move(case, Stage.ENROLLED, actor=admin, on=date(2026, 3, 1), now=NOW)
    services.update_record(case, RecordValues(student_number="X1", enrolled_on=date(2026, 3, 1)), actor=admin,
                           now=NOW)
    kinds = [e.kind for e in db.session.scalars(select(CaseEvent).where(CaseEvent.case_id == case.id)
                                                .order_by(CaseEvent.id))]
    assert kinds == ["opened", "transition", "transition", "record"]
