"""Catalogue rules: weekly schedules, search and filters, enrolment windows, course and cohort upkeep."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from academy.audit.models import AuditEvent
from academy.catalogue import services
from academy.catalogue.models import Cohort, CohortStatus
from academy.catalogue.services import CatalogueError, CatalogueQuery, Slot, parse_weekly_schedule
from academy.errors import PermissionDenied
from academy.extensions import db
from tests.factories import make_admin, make_cohort, make_course, make_instructor, make_learner

SHANGHAI = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 12, 1, 4, 0, tzinfo=UTC)  # 12:00 in Ganzhou


def _t(text: str) -> time:
    return time.fromisoformat(text)


def _slots(text: str) -> list[tuple[int, str, str]]:
    return [(s.weekday, s.start.strftime("%H:%M"), s.end.strftime("%H:%M")) for s in parse_weekly_schedule(text)]


# --- weekly schedules -----------------------------------------------------------------------

def test_weekday_evenings():
    assert _slots("周一至周五 19:30-21:30") == [(d, "19:30", "21:30") for d in range(5)]


def test_both_weekend_days_all_day():
    assert _slots("周六、周日 09:00-17:00") == [(5, "09:00", "17:00"), (6, "09:00", "17:00")]


def test_a_list_that_names_the_week_once():
    assert _slots("周一、三、五 15:00-17:30") == [(0, "15:00", "17:30"), (2, "15:00", "17:30"), (4, "15:00", "17:30")]


def test_off_peak_afternoons_with_a_note_in_brackets():
    assert _slots("周二、周四 14:30-16:30（错峰）") == [(1, "14:30", "16:30"), (3, "14:30", "16:30")]


def test_working_days_and_weekend_words():
    assert _slots("工作日 19:00-21:00") == [(d, "19:00", "21:00") for d in range(5)]
    assert _slots("周末 08:30-17:30") == [(5, "08:30", "17:30"), (6, "08:30", "17:30")]
    assert _slots("每天 06:00-07:00") == [(d, "06:00", "07:00") for d in range(7)]


def test_a_session_that_crosses_midnight_keeps_its_end_after_midnight():
    slot = parse_weekly_schedule("周五 22:30-00:30")[0]
    assert slot == Slot(4, _t("22:30"), _t("00:30"))
    assert slot.end < slot.start


def test_full_width_digits_xingqi_and_several_parts():
    assert _slots("星期六 ０９：００－１２：００；礼拜日 14:00～17:00") == [(5, "09:00", "12:00"),
                                                                         (6, "14:00", "17:00")]
    assert _slots("周一至周五 19:30-21:30，周六 09:00-12:00") == (
        [(d, "19:30", "21:30") for d in range(5)] + [(5, "09:00", "12:00")])
    assert _slots("周六 09:00-12:00 14:00-17:00") == [(5, "09:00", "12:00"), (5, "14:00", "17:00")]


def test_a_range_of_days_may_wrap_round_the_week():
    assert _slots("周六至周一 08:00-09:00") == [(0, "08:00", "09:00"), (5, "08:00", "09:00"), (6, "08:00", "09:00")]


def test_once_a_week_is_not_monday_and_a_single_time_is_a_one_hour_meeting():
    assert _slots("随到随学（线上课程，每周一次线下答疑 周日 10:00）") == [(6, "10:00", "11:00")]


def test_a_self_paced_course_has_no_weekly_meeting():
    assert parse_weekly_schedule("随到随学") == []


@pytest.mark.parametrize(("text", "message"), [
    ("", "请填写上课时间"),
    ("   ", "请填写上课时间"),
    ("随时可以来", "看不懂上课时间"),
    ("晚上七点半", "看不懂上课时间"),
    ("19:30-21:30", "没有写星期几"),
    ("周一 25:00-26:00", "不是有效的时间"),
    ("周一 19:60-21:00", "不是有效的时间"),
    ("周一 19:00-24:30", "不是有效的时间"),
    ("周一 19:00-19:00", "开始和结束相同"),
])
def test_garbage_gets_a_clear_error(text, message):
    with pytest.raises(CatalogueError, match=message):
        parse_weekly_schedule(text)


# --- enrolment window -----------------------------------------------------------------------

def test_a_cohort_is_open_only_with_status_open_inside_its_window():
    cohort = make_cohort(enrolment_opens_at=datetime(2026, 12, 1, 0, 0, tzinfo=SHANGHAI),
                         enrolment_closes_at=datetime(2026, 12, 8, 0, 0, tzinfo=SHANGHAI))
    assert services.is_open_for_enrolment(cohort, now=datetime(2026, 11, 30, 15, 59, tzinfo=UTC)) is False
    assert services.is_open_for_enrolment(cohort, now=datetime(2026, 11, 30, 16, 0, tzinfo=UTC)) is True
    assert services.is_open_for_enrolment(cohort, now=datetime(2026, 12, 7, 23, 59, tzinfo=SHANGHAI)) is True
    assert services.is_open_for_enrolment(cohort, now=datetime(2026, 12, 7, 16, 0, tzinfo=UTC)) is False
    cohort.status = CohortStatus.PLANNED
    assert services.is_open_for_enrolment(cohort, now=datetime(2026, 12, 3, tzinfo=UTC)) is False


# --- search ---------------------------------------------------------------------------------

def _codes(query: CatalogueQuery, now: datetime = NOW) -> list[str]:
    return [c.code for c in services.search_cohorts(query, now=now).items]


def test_keyword_matches_course_title_occupation_code_cohort_name_and_place():
    electric = make_cohort(make_course(title="电工（五级）技能培训", occupation="电工", code="JXG-DG-01"), code="DG1",
                           name="2026年第3期电工班", place="瑞金市职业技能实训基地")
    cooking = make_cohort(make_course(title="中式烹调师", occupation="中式烹调师", code="JXG-PR-01"), code="PR1",
                          name="烹调一班", place="瑞金市技工学校 烹饪实训室")
    assert _codes(CatalogueQuery(keyword="电工")) == [electric.code]
    assert _codes(CatalogueQuery(keyword="jxg-pr")) == [cooking.code]
    assert _codes(CatalogueQuery(keyword="实训")) == [electric.code, cooking.code]
    assert _codes(CatalogueQuery(keyword="技工学校")) == [cooking.code]
    assert _codes(CatalogueQuery(keyword=" 烹调一班 ")) == [cooking.code]


def test_like_wildcards_in_a_keyword_match_themselves():
    make_cohort(make_course(title="电工培训"))
    assert _codes(CatalogueQuery(keyword="%")) == []
    assert _codes(CatalogueQuery(keyword="_")) == []
    hundred = make_cohort(make_course(title="100%就业班"))
    assert _codes(CatalogueQuery(keyword="%")) == [hundred.code]


def test_filters_by_occupation_delivery_mode_and_district():
    a = make_cohort(make_course(occupation="电工", delivery_mode="线下"), district="瑞金市")
    b = make_cohort(make_course(occupation="网约配送员", delivery_mode="线上线下结合"), district="章贡区",
                    place="象湖镇党群服务中心")
    c = make_cohort(make_course(occupation="电工", delivery_mode="线上"), district=None, place="于都县 线上答疑室")
    assert _codes(CatalogueQuery(occupation="电工")) == [a.code, c.code]
    assert _codes(CatalogueQuery(delivery_mode="线上线下结合")) == [b.code]
    assert _codes(CatalogueQuery(district="章贡区")) == [b.code]
    assert _codes(CatalogueQuery(district="于都县")) == [c.code]  # by place when no district is set
    assert _codes(CatalogueQuery(occupation="电工", delivery_mode="线下", district="瑞金市")) == [a.code]


def test_time_of_day_follows_the_start_of_the_cohorts_meeting_slots():
    morning = make_cohort(meetings=((0, _t("09:00"), _t("11:30")),))
    afternoon = make_cohort(meetings=((1, _t("14:30"), _t("16:30")), (3, _t("14:30"), _t("16:30"))))
    evening = make_cohort(meetings=((2, _t("19:30"), _t("21:30")),))
    late = make_cohort(meetings=((4, _t("22:30"), _t("00:30")),))
    weekend = make_cohort(meetings=((5, _t("09:00"), _t("17:00")), (6, _t("09:00"), _t("17:00"))))
    mixed = make_cohort(meetings=((0, _t("19:00"), _t("21:00")), (6, _t("14:00"), _t("16:00"))))
    assert set(_codes(CatalogueQuery(time_of_day="morning"))) == {morning.code, weekend.code}
    assert set(_codes(CatalogueQuery(time_of_day="afternoon"))) == {afternoon.code, mixed.code}
    assert set(_codes(CatalogueQuery(time_of_day="evening"))) == {evening.code, late.code, mixed.code}
    assert set(_codes(CatalogueQuery(time_of_day="weekend"))) == {weekend.code, mixed.code}
    assert len(_codes(CatalogueQuery(time_of_day="whenever"))) == 6  # unknown value: no filter


def test_open_only_compares_the_window_in_utc_whatever_the_zone_of_now():
    # The window closes at midnight at the start of 1 December in Ganzhou = 30 November 16:00 UTC.
    closes = datetime(2026, 12, 1, 0, 0, tzinfo=SHANGHAI)
    closing = make_cohort(enrolment_closes_at=closes)
    later = make_cohort(enrolment_opens_at=datetime(2026, 12, 1, 8, 0, tzinfo=SHANGHAI))
    always = make_cohort()
    planned = make_cohort(status=CohortStatus.PLANNED)
    before = datetime(2026, 11, 30, 23, 30, tzinfo=SHANGHAI)  # 15:30 UTC: still open
    after = datetime(2026, 11, 30, 16, 30, tzinfo=UTC)  # 00:30 on 1 Dec in Ganzhou: closed
    assert set(_codes(CatalogueQuery(open_only=True), now=before)) == {closing.code, always.code}
    assert set(_codes(CatalogueQuery(open_only=True), now=after)) == {always.code}
    assert set(_codes(CatalogueQuery(open_only=True), now=datetime(2026, 12, 1, 0, 0, tzinfo=UTC))) == {
        always.code, later.code}
    assert planned.code in _codes(CatalogueQuery(), now=after)


def test_open_cohorts_come_first_then_by_start_date():
    full_later = make_cohort(start_date=date(2027, 3, 1))
    closed_early = make_cohort(start_date=date(2026, 12, 7), enrolment_closes_at=datetime(2026, 11, 1, tzinfo=UTC))
    open_early = make_cohort(start_date=date(2026, 12, 14))
    assert _codes(CatalogueQuery()) == [open_early.code, full_later.code, closed_early.code]


def test_unpublished_courses_cancelled_and_finished_cohorts_are_hidden():
    shown = make_cohort(make_course(title="电工A"))
    make_cohort(make_course(title="电工B", is_published=False))
    make_cohort(make_course(title="电工C"), status=CohortStatus.CANCELLED)
    finished = make_cohort(make_course(title="电工D"), status=CohortStatus.FINISHED)
    assert _codes(CatalogueQuery()) == [shown.code]
    assert set(_codes(CatalogueQuery(keyword="电工"))) == {shown.code, finished.code}


def test_results_are_paginated():
    for _ in range(5):
        make_cohort()
    first = services.search_cohorts(CatalogueQuery(per_page=2), now=NOW)
    third = services.search_cohorts(CatalogueQuery(per_page=2, page=3), now=NOW)
    beyond = services.search_cohorts(CatalogueQuery(per_page=2, page=9), now=NOW)
    assert (first.total, first.pages, len(first.items)) == (5, 3, 2)
    assert len(third.items) == 1
    assert beyond.items == []
    assert len(services.search_cohorts(CatalogueQuery(per_page=2, page=0), now=NOW).items) == 2


def test_filter_lists_come_from_published_courses_and_cohorts():
    make_cohort(make_course(occupation="电工"), district="瑞金市")
    make_cohort(make_course(occupation="育婴员"), district="章贡区")
    make_course(occupation="秘密工种", is_published=False)
    assert services.list_occupations() == sorted(["电工", "育婴员"])
    assert set(services.list_districts()) == {"瑞金市", "章贡区"}


def test_seats_left_never_goes_below_zero():
    cohort = make_cohort(capacity=2)
    cohort.seats_taken = 3
    assert cohort.seats_left == 0


# --- course upkeep --------------------------------------------------------------------------

def _course_values(**overrides) -> dict:
    values = {"code": "jxg-dg-01", "title": "电工（五级/初级工）技能培训", "occupation": "电工",
              "occupation_code": "6-31-01-03", "level": "五级/初级工", "hours": 120, "delivery_mode": "线下",
              "fee": Decimal("1200"), "subsidy": Decimal("800"), "description": None, "is_published": True}
    values.update(overrides)
    return values


def test_an_admin_creates_and_updates_a_course():
    admin = make_admin()
    course = services.save_course(None, _course_values(), actor=admin)
    assert course.code == "JXG-DG-01"
    assert course.fee == Decimal("1200.00") and course.subsidy == Decimal("800.00")
    services.save_course(course, {"title": "电工培训（新）", "hours": 100}, actor=admin)
    assert (course.title, course.hours, course.occupation) == ("电工培训（新）", 100, "电工")
    actions = [e.action for e in db.session.scalars(select(AuditEvent).order_by(AuditEvent.id))]
    assert actions == ["course.created", "course.updated"]


@pytest.mark.parametrize(("overrides", "message"), [
    ({"code": " "}, "课程编号"),
    ({"title": ""}, "课程名称"),
    ({"occupation": " "}, "职业"),
    ({"delivery_mode": "函授"}, "培训方式"),
    ({"hours": -1}, "课时"),
    ({"fee": Decimal("-1")}, "负数"),
    ({"subsidy": Decimal("-0.01")}, "负数"),
    ({"fee": Decimal("500"), "subsidy": Decimal("800")}, "补贴不能高于费用"),
])
def test_course_values_are_validated(overrides, message):
    with pytest.raises(CatalogueError, match=message):
        services.save_course(None, _course_values(**overrides), actor=make_admin())


def test_a_free_course_may_carry_a_subsidy():
    course = services.save_course(None, _course_values(fee=Decimal("0"), subsidy=Decimal("800")), actor=make_admin())
    assert course.subsidy == Decimal("800")


def test_a_course_code_is_unique():
    admin = make_admin()
    make_course(code="JXG-DG-01")
    with pytest.raises(CatalogueError, match="已存在"):
        services.save_course(None, _course_values(code="jxg-dg-01"), actor=admin)


@pytest.mark.parametrize("maker", [make_learner, make_instructor])
def test_only_admins_edit_courses_and_cohorts(maker):
    person = maker()
    with pytest.raises(PermissionDenied):
        services.save_course(None, _course_values(), actor=person)
    with pytest.raises(PermissionDenied):
        services.save_cohort(None, _cohort_values(), actor=person, course=make_course())


# --- cohort upkeep --------------------------------------------------------------------------

def _cohort_values(**overrides) -> dict:
    values = {"code": "dg-2026-03", "name": "2026年第3期电工班", "start_date": date(2026, 12, 7),
              "end_date": date(2027, 3, 1), "place": "瑞金市职业技能实训基地", "district": "瑞金市", "capacity": 40,
              "enrolment_opens_at": datetime(2026, 11, 20, 9, 0, tzinfo=SHANGHAI),
              "enrolment_closes_at": datetime(2026, 12, 5, 18, 0, tzinfo=SHANGHAI),
              "approval_required": False, "status": "open", "attendance_threshold": Decimal("0.8"),
              "excused_policy": "exclude"}
    values.update(overrides)
    return values


def test_an_admin_creates_a_cohort_with_its_weekly_schedule_and_instructors():
    admin, teacher = make_admin(), make_instructor()
    cohort = services.save_cohort(None, _cohort_values(), actor=admin, course=make_course(), instructors=[teacher],
                                  schedule="周一至周五 19:30-21:30")
    assert cohort.code == "DG-2026-03"
    assert cohort.schedule_text == "周一至周五 19:30-21:30"
    assert [(m.weekday, m.start_time) for m in cohort.meetings] == [(d, _t("19:30")) for d in range(5)]
    assert cohort.instructors == [teacher]
    db.session.commit()
    db.session.expire_all()
    stored = db.session.get(Cohort, cohort.id)
    assert stored.enrolment_closes_at == datetime(2026, 12, 5, 10, 0, tzinfo=UTC)


def test_a_new_schedule_replaces_the_meetings_and_optional_fields_can_be_cleared():
    admin = make_admin()
    cohort = services.save_cohort(None, _cohort_values(), actor=admin, course=make_course(),
                                  schedule="周六 09:00-12:00")
    services.save_cohort(cohort, {"place": None, "enrolment_closes_at": None}, actor=admin,
                         schedule="周六 09:00-12:00；周日 09:00-12:00")
    assert [(m.weekday, m.start_time) for m in cohort.meetings] == [(5, _t("09:00")), (6, _t("09:00"))]
    assert cohort.place is None and cohort.enrolment_closes_at is None
    assert cohort.name == "2026年第3期电工班"  # a key left out keeps its value


@pytest.mark.parametrize(("overrides", "message"), [
    ({"code": ""}, "班级编号"),
    ({"name": " "}, "班级名称"),
    ({"start_date": None}, "开班日期"),
    ({"end_date": date(2026, 12, 1)}, "结业日期不能早于开班日期"),
    ({"enrolment_closes_at": datetime(2026, 11, 20, 9, 0, tzinfo=SHANGHAI)}, "报名截止时间必须晚于开始时间"),
    ({"attendance_threshold": Decimal("1.2")}, "出勤率要求"),
    ({"capacity": 0}, "名额至少为1"),
    ({"status": "archived"}, "班级状态"),
    ({"excused_policy": "half"}, "请假"),
    ({"district": "南昌市"}, "县（市、区）"),
])
def test_cohort_values_are_validated(overrides, message):
    with pytest.raises(CatalogueError, match=message):
        services.save_cohort(None, _cohort_values(**overrides), actor=make_admin(), course=make_course(),
                             schedule="周一 19:00-21:00")


def test_a_cohort_needs_a_course_a_unique_code_and_a_readable_schedule():
    admin = make_admin()
    with pytest.raises(CatalogueError, match="请选择课程"):
        services.save_cohort(None, _cohort_values(), actor=admin)
    make_cohort(code="DG-2026-03")
    with pytest.raises(CatalogueError, match="已存在"):
        services.save_cohort(None, _cohort_values(), actor=admin, course=make_course())
    with pytest.raises(CatalogueError, match="看不懂"):
        services.save_cohort(None, _cohort_values(code="X1"), actor=admin, course=make_course(), schedule="晚上")
    assert db.session.scalar(select(Cohort).where(Cohort.code == "X1")) is None


def test_capacity_is_changed_elsewhere_and_instructors_must_teach():
    admin = make_admin()
    cohort = make_cohort(capacity=30)
    with pytest.raises(CatalogueError, match="调整名额"):
        services.save_cohort(cohort, {"capacity": 40}, actor=admin)
    services.save_cohort(cohort, {"capacity": 30}, actor=admin)  # unchanged: fine
    with pytest.raises(CatalogueError, match="不是教师"):
        services.save_cohort(cohort, {}, actor=admin, instructors=[make_learner()])


def test_cohort_changes_are_audited():
    admin = make_admin()
    cohort = services.save_cohort(None, _cohort_values(), actor=admin, course=make_course(), schedule="周一 19:00-21:00")
    services.save_cohort(cohort, {"name": "改名"}, actor=admin)
    actions = [e.action for e in db.session.scalars(select(AuditEvent).order_by(AuditEvent.id))]
    assert actions == ["cohort.created", "cohort.updated"]


def test_cohorts_are_counted_by_status():
    make_cohort()
    make_cohort()
    make_cohort(status=CohortStatus.FINISHED)
    assert services.count_cohorts_by_status() == {"open": 2, "finished": 1}
