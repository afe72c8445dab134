"""The catalogue's filter choices and rendered listing come from the app cache (Redis in production)."""

from __future__ import annotations

from sqlalchemy import event

from academy.catalogue import services
from academy.extensions import cache, db
from tests.factories import make_admin, make_cohort, make_course


def test_filter_choices_are_cached_and_dropped_when_a_course_is_saved(app, monkeypatch):
    monkeypatch.setitem(app.config, "CACHE_TYPE", "SimpleCache")
    cache.init_app(app)  # re-bind with a real store for this test
    try:
        make_cohort(make_course(occupation="电工"), district="瑞金市")
        db.session.commit()
        statements = []
        listener = lambda *args: statements.append(args[2])  # noqa: E731
        event.listen(db.engine, "before_cursor_execute", listener)
        try:
            first = services.filter_choices()
            after_first = len(statements)
            assert services.filter_choices() == first
            assert len(statements) == after_first  # the second call asked the database nothing
        finally:
            event.remove(db.engine, "before_cursor_execute", listener)
        assert first == (["电工"], ["瑞金市"])
        services.save_course(None, {"code": "KD-01", "title": "快递员职业技能培训", "occupation": "快递员",
                                    "hours": 40}, actor=make_admin())
        assert services.filter_choices()[0] == ["快递员", "电工"]  # the saved course shows at once
    finally:
        cache.clear()
        monkeypatch.setitem(app.config, "CACHE_TYPE", "NullCache")
        cache.init_app(app)


def test_the_listing_is_kept_rendered_and_dropped_when_a_cohort_or_its_seats_change(app, client, monkeypatch):
    from academy.enrolment import services as enrolment_services
    from tests.factories import make_learner

    monkeypatch.setitem(app.config, "CACHE_TYPE", "SimpleCache")
    cache.init_app(app)
    try:
        cohort = make_cohort(make_course(title="网约配送员职业技能培训"), capacity=5)
        db.session.commit()
        first = client.get("/courses/").get_data(as_text=True)
        assert "网约配送员职业技能培训" in first and "余 5 个名额" in first
        statements = []
        listener = lambda *args: statements.append(args[2])  # noqa: E731
        event.listen(db.engine, "before_cursor_execute", listener)
        try:
            assert client.get("/courses/").get_data(as_text=True) == first
        finally:
            event.remove(db.engine, "before_cursor_execute", listener)
        assert not any("FROM cohorts" in s for s in statements)  # served from the cache
        # an enrolment changes the seats: the next visit shows it at once
        enrolment_services.enrol(make_learner(), cohort, check_window=False, source="admin")
        db.session.commit()
        assert "余 4 个名额" in client.get("/courses/").get_data(as_text=True)
        # a renamed cohort too, and other filters or languages are other entries
        cohort.name = "2026年冬季夜班"
        db.session.commit()
        assert "2026年冬季夜班" in client.get("/courses/").get_data(as_text=True)
        assert "2026年冬季夜班" not in client.get("/courses/?q=快递").get_data(as_text=True)
        client.set_cookie("lang", "en")
        assert "4 places left" in client.get("/courses/").get_data(as_text=True)
        # a failed transaction leaves the cached listing alone
        cohort.name = "不会保存的名字"
        db.session.flush()
        db.session.rollback()
        assert "不会保存的名字" not in client.get("/courses/").get_data(as_text=True)
    finally:
        cache.clear()
        monkeypatch.setitem(app.config, "CACHE_TYPE", "NullCache")
        cache.init_app(app)
