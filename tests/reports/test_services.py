"""The report figures agree with the records: each definition on known data, the filters, the
breakdowns and the monthly trends (the query count is checked in test_views.py, with the page)."""

from __future__ import annotations

from datetime import date

import pytest

from academy.catalogue.models import Cohort
from academy.degrees.services import count_upgrading
from academy.exams.outcomes import cohort_outcomes
from academy.extensions import db
from academy.reports import charts, exports, queries, services
from tests.reports.builders import EXPECTED, EXPECTED_RUIJIN, EXPECTED_TRENDS, NOW, city

FIELDS = list(EXPECTED)


def figures_of(report) -> dict:
    return {name: getattr(report.figures, name) for name in FIELDS}


def report(**filters):
    return services.build_report(services.report_filter(now=NOW, **filters))


def test_every_headline_figure_matches_the_known_records():
    city()
    result = report()
    assert result.filters.date_from == date(2026, 1, 1) and result.filters.date_to == date(2026, 6, 30)
    assert figures_of(result) == EXPECTED
    assert str(result.figures.attendance_rate) == "0.7500" and result.figures.attendance_text == "75%"
    assert str(result.figures.pass_rate) == "0.3333" and result.figures.pass_text == "33.3%"


def test_learner_filters_narrow_every_figure():
    city()
    assert figures_of(report(district="瑞金市")) == EXPECTED_RUIJIN


def test_a_course_filter_narrows_cohort_figures_and_uses_its_occupation_for_the_others():
    town = city()
    result = report(course_id=town.courses["B"].id).figures
    assert result.learners_trained == 2  # L1 and L6
    assert result.certificates_issued == 0  # L6's chain ends revoked
    assert (result.attended, result.held) == (2, 3)
    assert (result.passed, result.with_result) == (0, 0)  # B1 ends in August
    assert result.level_certificates == 0  # the only one is an electrician's
    assert result.entrants == 2  # the 网约配送员 event
    assert result.upgrading == 2  # a current count, not tied to a course


def test_the_occupation_filter_matches_courses_events_and_level_certificates():
    city()
    result = report(occupation="电工").figures
    assert (result.learners_trained, result.certificates_issued, result.level_certificates, result.entrants) == (4, 2, 1, 1)


def test_the_period_decides_what_counts():
    city()
    march = report(date_from=date(2026, 3, 1), date_to=date(2026, 3, 31)).figures
    assert march.learners_trained == 3  # A1 starts on 2 March
    assert (march.attended, march.held) == (4, 5)
    assert march.certificates_issued == 0  # the reissue in March does not count as a new certificate
    july = report(date_from=date(2026, 7, 1), date_to=date(2026, 7, 31)).figures
    assert (july.attended, july.held) == (1, 1)  # the session at 00:30 on 1 July, local time


def test_a_reissue_counts_once_and_revoked_or_award_certificates_never():
    town = city()
    assert report().figures.certificates_issued == 2
    services_before = report().breakdowns["course"]
    assert {row.label.split("（")[0]: row.figures.certificates_issued for row in services_before} == {
        "电工技能培训": 2, "网约配送员培训": 0}
    # revoking the current certificate of a chain removes the chain
    town.certificates["C4"].status = "revoked"
    db.session.commit()
    assert report().figures.certificates_issued == 1


def test_upgrading_is_the_degrees_modules_count():
    city()
    assert report().figures.upgrading == count_upgrading() == 2
    assert report(district="章贡区").figures.upgrading == count_upgrading(district="章贡区") == 1


def test_the_pass_rate_agrees_with_the_exams_modules_outcomes():
    town = city()
    expected = {"passed": 0, "with_result": 0}
    for name in ("A1", "A2", "D"):
        for outcome in cohort_outcomes(db.session.get(Cohort, town.cohorts[name].id)).values():
            if outcome.passed is not None:
                expected["with_result"] += 1
                expected["passed"] += int(outcome.passed)
    result = report().figures
    assert {"passed": result.passed, "with_result": result.with_result} == expected == {"passed": 1, "with_result": 3}


def test_breakdowns_add_up_to_the_headline_figures():
    city()
    result = report()
    for dim in ("district", "occupation_group", "platform"):
        rows = result.breakdowns[dim]
        for name in FIELDS:
            assert sum(getattr(r.figures, name) for r in rows) == getattr(result.figures, name), (dim, name)
    districts = {r.label: r.figures.learners_trained for r in result.breakdowns["district"]}
    assert districts == {"瑞金市": 3, "章贡区": 1, "未填写": 1}
    assert result.breakdowns["district"][0].label == "瑞金市"  # largest first
    by_course = {r.label.split("（")[0]: r.figures for r in result.breakdowns["course"]}
    assert by_course["电工技能培训"].learners_trained == 4 and by_course["网约配送员培训"].learners_trained == 2
    assert by_course["电工技能培训"].upgrading is None  # not tied to a course
    courses = result.breakdowns["course"]
    for name in ("certificates_issued", "attended", "held", "passed", "with_result"):
        assert sum(getattr(r.figures, name) for r in courses) == getattr(result.figures, name)


def test_trends_count_by_local_month():
    city()
    points = {p.month: (p.enrolments, p.certificates, p.check_ins) for p in report().trends}
    assert points == EXPECTED_TRENDS


def test_a_period_that_ends_before_it_starts_is_refused():
    with pytest.raises(services.ReportError, match="结束日期不能早于开始日期"):
        services.report_filter(date_from=date(2026, 5, 1), date_to=date(2026, 4, 1), now=NOW)


def test_the_default_period_is_this_year_to_date_in_shanghai():
    f = services.report_filter(now=NOW)
    assert (f.date_from, f.date_to) == (date(2026, 1, 1), date(2026, 6, 30))
    assert queries.months(f) == ["2026-01", "2026-02", "2026-03", "2026-04", "2026-05", "2026-06"]


def test_an_empty_academy_reports_zeros_and_no_rates():
    result = report()
    assert result.figures.learners_trained == 0 and result.figures.attendance_rate is None
    assert result.figures.attendance_text == "—" and all(not rows for rows in result.breakdowns.values())


def test_the_summary_sheet_and_text_lines_show_the_same_figures():
    city()
    result = report(district="瑞金市")
    summary = exports.report_sheets(result, ["summary"])[0]
    values = {row[0]: row[1] for row in summary[2]}
    assert values["培训人数"] == "3" and values["出勤率"] == "100%" and values["考核合格率"] == "50%"
    assert values["筛选：县（市、区）"] == "瑞金市"
    lines = exports.summary_lines(result)
    assert "培训人数\t3" in lines and "考核合格率\t50%（1/2）" in lines


def test_an_unknown_table_is_refused():
    with pytest.raises(services.ReportError):
        exports.report_sheets(report(), ["salaries"])


def test_charts_are_accessible_svg_with_every_value_in_the_description():
    svg = str(charts.bar_chart([("2026-01", 3), ("2026-02", 0), ("2026-03", 12)], title="每月报名",
                               desc="<报名>", chart_id="c1"))
    assert svg.startswith('<svg class="chart"') and 'role="img"' in svg
    assert 'aria-labelledby="c1-title c1-desc"' in svg
    assert '<title id="c1-title">每月报名</title>' in svg
    assert "&lt;报名&gt;。2026-01：3；2026-02：0；2026-03：12</desc>" in svg  # escaped, with the values
    assert svg.count('class="chart-bar"') == 3 and "<script" not in svg and "style=" not in svg
