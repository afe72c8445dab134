"""The catalogue's filter choices come from the app cache (Redis in production)."""

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
