"""Benchmark: SQL statements per page as the data grows ten times (not a test; prints figures).

    .venv/bin/python benchmarks/query_counts.py [--scales 0.01 0.1] [--postgres]

Generates each scale with ``benchmarks/generate.py`` into a throw-away database (SQLite files, or
PostgreSQL databases ``bench_qc_*`` on postgresql://postgres@127.0.0.1:5432 with ``--postgres``),
then requests every page of ``benchmarks/pages.py`` once to warm up and once counted, and prints
the counts side by side. The fixed-shape records of the manifest (the learner, the cohort of 60,
its session and assessment, the certificate) are the same at every scale, so a page whose count
grows with the scale issues queries per row somewhere. Budget: ≤ 12 per page, the same at every
scale. ``tests/test_query_counts.py`` keeps this in the suite at scales 0.001 and 0.01.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

PG_SERVER = "postgresql://postgres@127.0.0.1:5432"


def counts_for(database_url: str, scale: float, workdir: Path) -> tuple[dict[str, int], dict]:
    """Generate ``scale`` into ``database_url`` (empty), then count statements per page."""
    from academy.extensions import cache, db
    from benchmarks.generate import generate
    from benchmarks.pages import QueryCounter, bench_app, fetch, pages, sign_in

    app = bench_app(database_url, workdir)
    with app.app_context():
        db.create_all()
        manifest = generate(scale=scale)
        engine = db.engine
    clients = {who: sign_in(app, None if who == "anonymous" else manifest[who]["mobile"], manifest["password"])
               for who in ("anonymous", "learner", "instructor", "admin")}
    counts = {}
    for page in pages(manifest):
        fetch(clients[page.who], page.path)
        with QueryCounter(engine) as counter:
            fetch(clients[page.who], page.path)
        with app.app_context():
            cache.clear()  # the same visit when the cached listing / report has just expired
        with QueryCounter(engine) as cold:
            fetch(clients[page.who], page.path)
        counts[page.name] = (counter.count, cold.count)
    engine.dispose()
    return counts, manifest


def _postgres_database(name: str, *, drop: bool = False) -> str:
    from sqlalchemy import create_engine, text

    admin = create_engine(f"postgresql+psycopg://{PG_SERVER.split('://', 1)[1]}/postgres", isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        if not drop:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return f"{PG_SERVER}/{name}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--scales", type=float, nargs="+", default=[0.01, 0.1])
    parser.add_argument("--postgres", action="store_true", help="use PostgreSQL instead of SQLite files")
    args = parser.parse_args(argv)
    results, learners = {}, {}
    with tempfile.TemporaryDirectory(prefix="academy-bench-qc-") as tmp:
        for scale in args.scales:
            name = f"bench_qc_{str(scale).replace('.', '_')}"
            url = _postgres_database(name) if args.postgres else f"sqlite:///{tmp}/{name}.db"
            started = time.perf_counter()
            try:
                results[scale], manifest = counts_for(url, scale, Path(tmp) / name)
            finally:
                if args.postgres:
                    _postgres_database(name, drop=True)
            learners[scale] = manifest["counts"].get("users", 0)
            print(f"scale {scale:g}: {learners[scale]:,} users, "
                  f"{manifest['counts'].get('attendance_records', 0):,} attendance records "
                  f"(generated and counted in {time.perf_counter() - started:.1f} s)", flush=True)
    names = list(next(iter(results.values())))
    print("\nstatements per request: a visit served as deployed (app cache on) / the same visit just after "
          "the cached catalogue listing or dashboard figures expired")
    print(f"{'page':24}" + "".join(f"{'scale ' + format(s, 'g'):>14}" for s in args.scales) + "  flat  ≤12")
    for name in names:
        row = [results[s][name] for s in args.scales]
        flat = "yes" if len(set(row)) == 1 else "NO"
        budget = "yes" if max(warm for warm, _cold in row) <= 12 else "NO"
        cold_note = "" if max(cold for _warm, cold in row) <= 12 else "  (recomputing: over 12)"
        print(f"{name:24}" + "".join(f"{f'{w} / {c}':>14}" for w, c in row) + f"  {flat:>4}  {budget:>3}{cold_note}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
