"""Issue 9 budget, kept by the suite: every page of ``benchmarks/pages.py`` issues at most 12 SQL
statements, and the same number when the data grows ten times (scale 0.001 → 0.01 of the city:
155 → 1,550 learners, 1,000 → 10,000 attendance records, with the same learner, cohort of 60,
session, assessment and certificate looked at in both). ``benchmarks/query_counts.py`` prints
the same at larger scales."""

from __future__ import annotations

from academy.extensions import cache, db
from benchmarks.generate import generate
from benchmarks.pages import QUERY_BUDGET, QueryCounter, fetch, pages, sign_in

SMALL, LARGE = 0.001, 0.01


def empty_database() -> None:
    db.session.rollback()
    for table in reversed(db.metadata.sorted_tables):
        db.session.execute(table.delete())
    db.session.commit()


def counts_at(app, scale: float) -> dict[str, int]:
    """Statements per request of every page (after one warm-up request) at ``scale``."""
    empty_database()
    manifest = generate(scale=scale, seed=2026)
    db.session.commit()
    cache.clear()
    clients = {who: sign_in(app, None if who == "anonymous" else manifest[who]["mobile"], manifest["password"])
               for who in ("anonymous", "learner", "instructor", "admin")}
    counts = {}
    for page in pages(manifest):
        fetch(clients[page.who], page.path)
        with QueryCounter(db.engine) as counter:
            fetch(clients[page.who], page.path)
        counts[page.name] = counter.count
    return counts


def test_pages_issue_few_queries_and_as_many_for_ten_times_the_data(app, monkeypatch):
    # As deployed: the app cache on (the suite's NullCache would recompute the dashboard's
    # figures on every visit; tests/reports checks that recomputing is constant too).
    monkeypatch.setitem(app.config, "CACHE_TYPE", "SimpleCache")
    cache.init_app(app)
    try:
        small = counts_at(app, SMALL)
        large = counts_at(app, LARGE)
    finally:
        empty_database()
        cache.clear()
        monkeypatch.setitem(app.config, "CACHE_TYPE", "NullCache")
        cache.init_app(app)
    assert set(small) == {p.name for p in pages_names()}
    over = {name: n for name, n in large.items() if n > QUERY_BUDGET}
    assert not over, f"pages over {QUERY_BUDGET} queries: {over}"
    grew = {name: (small[name], large[name]) for name in small if small[name] != large[name]}
    assert not grew, f"queries per page changed with ten times the data (small, large): {grew}"


def pages_names():
    """The page list with placeholder handles (only the names are used)."""
    return pages({"catalogue_filters": {}, "cohort": {"id": 0, "code": "x"}, "certificate_serial": "x",
                  "session_id": 0, "assessment_id": 0})
