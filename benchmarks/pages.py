"""Benchmark: page latency and queries per page at city scale (not a test; prints figures).

    .venv/bin/python benchmarks/pages.py --manifest benchmarks/data/city-sqlite.json \
        [--manifest benchmarks/data/city-postgres.json] [--repeats 60]

Each manifest comes from ``benchmarks/generate.py`` (it names the database and the learner,
instructor, cohort, session, assessment and certificate to look at). For every database the app
is built with the production settings (CSRF on, compression on, SimpleCache since no Redis is
given) and requests go through Flask's test client in this process, so the figure is the app's
own time: routing, session, queries, templates, compression — not the network.

Pages are requested round-robin, each followed by the static template page ``/help`` requested
by the same client (same session, same user loading), so every page and its baseline are
measured side by side under the same machine load. Printed per page: median and p95 in ms,
p95 ÷ static p95 (budget: learner pages ≤ 6×), SQL statements per request (budget ≤ 12) and
compressed bytes of the HTML.
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import sys
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

STATIC_PATH = "/help"
LEARNER_BUDGET = 6.0  # p95 ÷ static p95
QUERY_BUDGET = 12


@dataclass(frozen=True)
class Page:
    """One page to measure: ``who`` is the manifest account that requests it (or ``anonymous``)."""

    name: str
    who: str
    path: str
    learner: bool


def pages(manifest: dict) -> list[Page]:
    """The pages of issue 9, filled in from a generator manifest."""
    f = manifest["catalogue_filters"]
    from urllib.parse import urlencode

    filters = urlencode({"q": f.get("q", ""), "occupation": f.get("occupation", ""), "district": f.get("district", "")})
    cohort, learner_pages = manifest["cohort"], []
    learner_pages = [
        Page("catalogue (filters)", "learner", f"/courses/?{filters}", True),
        Page("catalogue (first page)", "anonymous", "/courses/", True),
        Page("cohort page", "learner", f"/courses/cohorts/{cohort['code']}", True),
        Page("my courses", "learner", "/enrolment/my", True),
        Page("my attendance", "learner", "/attendance/my", True),
        Page("my results", "learner", "/exams/my", True),
        Page("my certificates", "learner", "/certificates/my", True),
        Page("verification", "anonymous", f"/verify/{manifest['certificate_serial']}", True),
    ]
    staff_pages = [
        Page("register (60)", "instructor", f"/attendance/sessions/{manifest['session_id']}/register", False),
        Page("gradebook (60)", "instructor", f"/exams/{manifest['assessment_id']}/gradebook", False),
        Page("class list (60)", "instructor", f"/enrolment/cohorts/{cohort['id']}/class-list", False),
        Page("dashboard", "admin", "/reports/", False),
    ]
    return learner_pages + staff_pages


def bench_app(database_url: str, workdir: Path, *, cache_type: str = "SimpleCache"):
    """The app with production settings against ``database_url`` (a generated database), with
    the per-process SimpleCache (what a deployment without Redis has)."""
    from benchmarks.generate import create_bench_app

    # The public verification page allows 30 lookups a minute per address; the benchmark asks
    # hundreds from one address, so the limit is lifted (the limiter's cost stays in the figure).
    return create_bench_app(database_url, workdir, REDIS_URL="", CACHE_TYPE=cache_type,
                            CERTIFICATE_VERIFY_LIMIT=10**9)


def sign_in(app, mobile: str | None, password: str):
    """A test client signed in through the real login form (``mobile`` None: anonymous)."""
    client = app.test_client()
    if mobile is None:
        return client
    page = client.get("/account/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page) or re.search(
        r'name="csrf_token" value="([^"]+)"', page)
    response = client.post("/account/login", data={"mobile": mobile, "password": password,
                                                   "csrf_token": token.group(1) if token else ""})
    if response.status_code != 302:
        raise SystemExit(f"login as {mobile} failed ({response.status_code})")
    return client


class QueryCounter:
    """Counts SQL statements sent through ``engine`` while active (``with counter: ...``)."""

    def __init__(self, engine):
        self.engine, self.count = engine, 0

    def _on_execute(self, *args):
        self.count += 1

    def __enter__(self):
        from sqlalchemy import event

        self.count = 0
        event.listen(self.engine, "before_cursor_execute", self._on_execute)
        return self

    def __exit__(self, *exc):
        from sqlalchemy import event

        event.remove(self.engine, "before_cursor_execute", self._on_execute)


def fetch(client, path: str):
    """GET ``path`` the way Chromium does (compressed); raise on anything but 200."""
    response = client.get(path, headers={"Accept-Encoding": "gzip, br"})
    if response.status_code != 200:
        raise SystemExit(f"GET {path} answered {response.status_code}")
    return response


def count_queries(app, manifest: dict) -> dict[str, int]:
    """SQL statements per request for every page (after one warm-up request each)."""
    from academy.extensions import db

    clients = {who: sign_in(app, _mobile(manifest, who), manifest["password"])
               for who in ("anonymous", "learner", "instructor", "admin")}
    counts = {}
    with app.app_context():
        engine = db.engine
    for page in pages(manifest) + [Page("static /help", "learner", STATIC_PATH, True)]:
        fetch(clients[page.who], page.path)
        with QueryCounter(engine) as counter:
            fetch(clients[page.who], page.path)
        counts[page.name] = counter.count
    return counts


def _mobile(manifest: dict, who: str) -> str | None:
    return None if who == "anonymous" else manifest[who]["mobile"]


def _p95(samples: list[float]) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def measure(app, manifest: dict, repeats: int) -> list[dict]:
    """Latency of every page and of the static page right after it, ``repeats`` rounds."""
    from academy.extensions import db

    clients = {who: sign_in(app, _mobile(manifest, who), manifest["password"])
               for who in ("anonymous", "learner", "instructor", "admin")}
    with app.app_context():
        engine = db.engine
    todo = pages(manifest)
    samples = {p.name: [] for p in todo}
    static = {p.name: [] for p in todo}
    queries, sizes = {}, {}
    for page in todo:  # warm caches, templates and connections
        for _ in range(3):
            fetch(clients[page.who], page.path)
            fetch(clients[page.who], STATIC_PATH)
    for _ in range(repeats):
        for page in todo:
            client = clients[page.who]
            with QueryCounter(engine) as counter:
                start = time.perf_counter()
                response = fetch(client, page.path)
                samples[page.name].append((time.perf_counter() - start) * 1000)
            queries[page.name] = counter.count
            sizes[page.name] = len(response.data)
            start = time.perf_counter()
            fetch(client, STATIC_PATH)
            static[page.name].append((time.perf_counter() - start) * 1000)
    rows = []
    for page in todo:
        s, b = samples[page.name], static[page.name]
        rows.append({"page": page.name, "learner": page.learner, "median_ms": statistics.median(s),
                     "p95_ms": _p95(s), "static_median_ms": statistics.median(b), "static_p95_ms": _p95(b),
                     "ratio_p95": _p95(s) / _p95(b), "queries": queries[page.name], "bytes": sizes[page.name]})
    return rows


def print_rows(label: str, rows: list[dict]) -> None:
    print(f"\n{label}")
    print(f"{'page':24} {'median':>8} {'p95':>8} {'static p95':>10} {'ratio':>6} {'budget':>7} {'queries':>7} {'bytes':>7}")
    for r in rows:
        budget = f"≤{LEARNER_BUDGET:g}×" if r["learner"] else "—"
        mark = "" if not r["learner"] or r["ratio_p95"] <= LEARNER_BUDGET else "  MISSES"
        qmark = "" if r["queries"] <= QUERY_BUDGET else " !"
        print(f"{r['page']:24} {r['median_ms']:7.2f}ms {r['p95_ms']:7.2f}ms {r['static_p95_ms']:9.2f}ms "
              f"{r['ratio_p95']:5.1f}× {budget:>7} {r['queries']:7d}{qmark} {r['bytes']:7d}{mark}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--manifest", action="append", required=True,
                        help="a manifest written by benchmarks/generate.py (repeat for each database)")
    parser.add_argument("--repeats", type=int, default=60, help="requests per page (default 60)")
    parser.add_argument("--json", help="also write the figures to this JSON file")
    parser.add_argument("--no-app-cache", action="store_true",
                        help="run with NullCache: every catalogue listing and dashboard recomputed on each request")
    args = parser.parse_args(argv)
    import tempfile

    results = {}
    for path in args.manifest:
        manifest = json.loads(Path(path).read_text())
        with tempfile.TemporaryDirectory(prefix="academy-bench-pages-") as tmp:
            app = bench_app(manifest["database_url"], Path(tmp),
                            cache_type="NullCache" if args.no_app_cache else "SimpleCache")
            rows = measure(app, manifest, args.repeats)
            with app.app_context():
                from academy.extensions import db

                db.engine.dispose()
        label = f"{manifest.get('dialect', manifest['database_url'].split(':')[0])} at scale {manifest['scale']:g} " \
                f"({manifest['counts'].get('users', '?')} users) — {args.repeats} requests per page" \
                f"{', app cache off' if args.no_app_cache else ''}"
        print_rows(label, rows)
        results[path] = rows
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
