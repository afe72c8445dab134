"""The dashboard, its exports and ``flask --app academy report summary`` show the same figures,
and the page needs the same number of queries for ten times the data."""

from __future__ import annotations

import io
import json
from contextlib import contextmanager
from datetime import date

from openpyxl import load_workbook
from sqlalchemy import event

from academy.extensions import db
from academy.reports import services
from tests.conftest import login
from tests.factories import make_admin
from tests.reports.builders import EXPECTED, EXPECTED_RUIJIN, NOW, city

PERIOD = "date_from=2026-01-01&date_to=2026-06-30"


def admin_client(app):
    admin = make_admin()
    db.session.commit()
    client = app.test_client()
    login(client, admin)
    return client


def page_figures(html: str) -> dict[str, str]:
    import re

    return dict(re.findall(r'data-figure="(\w+)">([^<]*)<', html))


def workbook(response):
    assert response.status_code == 200
    assert response.mimetype == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    return load_workbook(io.BytesIO(response.data))


def test_the_dashboard_shows_the_figures_of_the_records(app):
    city()
    client = admin_client(app)
    html = client.get(f"/reports/?{PERIOD}").get_data(as_text=True)
    shown = page_figures(html)
    assert shown == {"learners_trained": "5", "certificates_issued": "2", "level_certificates": "1",
                     "upgrading": "2", "attendance_rate": "75%", "pass_rate": "33.3%", "entrants": "3"}
    assert "出勤 6 / 应出勤 8 人次" in html and "合格 1 / 有结果 3 人" in html
    # three accessible SVG charts and the same numbers as a table
    assert html.count('<svg class="chart"') == 3 and html.count('role="img"') >= 3
    assert '<title id="chart-enrolments-title">每月报名</title>' in html
    assert "<th scope=\"row\">2026-03</th><td class=\"num\">0</td><td class=\"num\">0</td><td class=\"num\">4</td>" in html
    assert "<script" not in html.split("</main>")[0]


def test_filters_in_the_query_string_narrow_the_page(app):
    city()
    client = admin_client(app)
    html = client.get(f"/reports/?{PERIOD}&district=瑞金市").get_data(as_text=True)
    shown = page_figures(html)
    assert shown["learners_trained"] == str(EXPECTED_RUIJIN["learners_trained"]) and shown["attendance_rate"] == "100%"
    assert "县（市、区）：瑞金市" in html


def test_a_reversed_period_is_explained_and_the_default_period_shown(app):
    client = admin_client(app)
    html = client.get("/reports/?date_from=2026-05-01&date_to=2026-04-01").get_data(as_text=True)
    assert "结束日期不能早于开始日期" in html and "统计期间" in html


def test_the_page_the_export_and_the_cli_agree(app):
    city()
    client = admin_client(app)
    shown = page_figures(client.get(f"/reports/?{PERIOD}").get_data(as_text=True))
    book = workbook(client.get(f"/reports/export/all.xlsx?{PERIOD}"))
    assert book.sheetnames == ["汇总", "按月趋势", "按县（市、区）", "按从业类型", "按平台（企业）", "按课程"]
    summary = {row[0]: row[1] for row in book["汇总"].iter_rows(min_row=2, values_only=True)}
    labels = {key: label for key, (label, _d) in services.FIGURES.items()}
    assert {key: summary[labels[key]] for key in shown} == shown
    district = {row[0]: row[1:] for row in book["按县（市、区）"].iter_rows(min_row=2, values_only=True)}
    assert district["瑞金市"][0] == 3 and district["合计"][0] == 5 and district["合计"][4] == "75%"
    result = app.test_cli_runner().invoke(args=["report", "summary", "--format", "json", "--from", "2026-01-01",
                                                "--to", "2026-06-30"])
    assert result.exit_code == 0, result.output
    figures = json.loads(result.output)["figures"]
    assert {k: figures[k] for k in ("learners_trained", "certificates_issued", "level_certificates", "upgrading",
                                    "entrants")} == {k: EXPECTED[k] for k in ("learners_trained", "certificates_issued",
                                                                               "level_certificates", "upgrading", "entrants")}
    assert figures["attendance"] == {"attended": 6, "held": 8} and figures["attendance_rate"] == "0.7500"
    assert figures["results"] == {"passed": 1, "with_result": 3}
    text = app.test_cli_runner().invoke(args=["report", "summary", "--from", "2026-01-01", "--to", "2026-06-30",
                                              "--district", "瑞金市"]).output
    assert "培训人数\t3" in text and "出勤率\t100%（4/4）" in text and "筛选：县（市、区）\t瑞金市" in text


def test_one_breakdown_exports_alone_and_an_unknown_table_is_404(app):
    city()
    client = admin_client(app)
    book = workbook(client.get(f"/reports/export/course.xlsx?{PERIOD}"))
    assert book.sheetnames == ["按课程"]
    rows = list(book["按课程"].iter_rows(values_only=True))
    assert rows[0][:3] == ("课程", "培训人数", "发放证书") and rows[-1][0] == "合计"
    assert client.get("/reports/export/salaries.xlsx").status_code == 404


def test_the_cli_refuses_an_unknown_course_and_a_bad_date(app):
    runner = app.test_cli_runner()
    assert "没有课程编号 NOPE" in runner.invoke(args=["report", "summary", "--course", "NOPE"]).output
    assert runner.invoke(args=["report", "summary", "--from", "2026-13-01"]).exit_code != 0


@contextmanager
def counted_queries():
    statements: list[str] = []

    def count(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement)

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        event.remove(db.engine, "before_cursor_execute", count)


def test_the_dashboard_needs_as_many_queries_for_ten_times_the_data(app):
    city()
    client = admin_client(app)
    client.get(f"/reports/?{PERIOD}")  # warm up: the first request loads the session user etc.
    with counted_queries() as small:
        one = services.build_report(services.report_filter(now=NOW))
    with counted_queries() as small_page:
        assert client.get(f"/reports/?{PERIOD}").status_code == 200
    for _ in range(9):
        city()
    with counted_queries() as big:
        ten = services.build_report(services.report_filter(now=NOW))
    with counted_queries() as big_page:
        html = client.get(f"/reports/?{PERIOD}").get_data(as_text=True)
    assert ten.figures.learners_trained == 10 * one.figures.learners_trained
    assert (ten.figures.attended, ten.figures.with_result) == (10 * one.figures.attended, 10 * one.figures.with_result)
    assert page_figures(html)["learners_trained"] == "50"
    assert len(big) == len(small) <= 20, (len(small), len(big))
    assert len(big_page) == len(small_page), (len(small_page), len(big_page))


def test_the_dashboard_reuses_its_figures_for_ten_minutes_and_recomputes_on_request(app, monkeypatch):
    from academy.extensions import cache
    from tests.factories import make_cohort, make_course
    from tests.reports.builders import learner, seat

    monkeypatch.setitem(app.config, "CACHE_TYPE", "SimpleCache")
    cache.init_app(app)  # a real store for this test (the suite runs with NullCache)
    try:
        city()
        client = admin_client(app)
        first = client.get(f"/reports/?{PERIOD}").get_data(as_text=True)
        assert "每 10 分钟更新一次" in first and "fresh=1" in first
        with counted_queries() as statements:
            again = client.get(f"/reports/?{PERIOD}").get_data(as_text=True)
        assert len(statements) <= 2  # the signed-in user only: no figure was recomputed
        assert page_figures(again) == page_figures(first)
        # a new enrolment shows only when asked for (重新统计), then the new copy is kept
        seat(learner("瑞金市", "外卖员", "美团"), make_cohort(make_course(), start_date=date(2026, 3, 2)))
        db.session.commit()
        assert page_figures(client.get(f"/reports/?{PERIOD}").get_data(as_text=True)) == page_figures(first)
        fresh = page_figures(client.get(f"/reports/?{PERIOD}&fresh=1").get_data(as_text=True))
        assert int(fresh["learners_trained"]) == int(page_figures(first)["learners_trained"]) + 1
        assert page_figures(client.get(f"/reports/?{PERIOD}").get_data(as_text=True)) == fresh
        # another period is another report
        other = client.get("/reports/?date_from=2026-04-01&date_to=2026-06-30").get_data(as_text=True)
        assert page_figures(other) != fresh
    finally:
        cache.clear()
        monkeypatch.setitem(app.config, "CACHE_TYPE", "NullCache")
        cache.init_app(app)
