"""Benchmark: a check-in burst against gunicorn + PostgreSQL (not a test; prints figures).

    .venv/bin/python benchmarks/checkin_burst.py [--database-url URL] [--learners 300]
        [--concurrency 50] [--spread 10] [--workers 2] [--threads N] [--redis-url URL] [--keep]

What a classroom does when the projector shows the QR code: ``--learners`` (300) enrolled
learners of one cohort each do what their phone does after scanning —

1. ``GET /attendance/c/<code>?t=<current token>``  → 302 (token verified, kept in the session)
2. ``GET /attendance/c/<code>``                    → 200, the confirm page with its CSRF token
3. ``POST /attendance/c/<code>`` (CSRF)            → 302 (the record is written)
4. ``GET /attendance/c/<code>``                    → 200, says 签到成功 / 已签到

Learner *i* starts at ``i × spread / learners`` seconds (300 over 10 s by default) on a pool of
``--concurrency`` (50) threads, so at most 50 are in flight at a time; ``--spread 0`` starts all
of them at once (the pool then keeps 50 in flight until everyone is done). Each learner uses
its own connection and cookies (plain ``http.client``). The learners are signed in by minting
their session cookies with the app's own session serializer (user id and session version as
``academy.accounts.auth`` expects, the Flask-Login ``_id`` of this client, a CSRF secret) —
as a phone that logged in earlier would be; 300 logins from one address would only meet the
login rate limit, and the burst is about check-in.

Then, in the same run and with the same schedule, the same number of "visitors" (signed in
with the same cookies) each GET the static page ``/help`` four times: the baseline. Prints
per-request p50/p90/p99/max of both, per step, per learner end to end, the errors (non-2xx/3xx,
exceptions, timeouts, wrong page, a learner without a record), the number of attendance records
written (checked in the database: must be exactly ``--learners``), and the ratio
check-in p99 / static p99 against the budget (≤ 20×). Both latencies include queueing: with
2 sync workers and up to 50 requests in flight, a phase the server cannot keep up with is
dominated by its queue, so each phase also prints how long it took against its schedule, the
requests per second and the CPU milliseconds per request of the gunicorn workers, of their
PostgreSQL backends (both read from /proc, so they measure work rather than waiting for CPUs
that other processes hold) and of this client. It also counts the SQL statements and
transactions of each step in-process (Flask test client, one extra learner on a separate
warm-up session). It never exits non-zero on timing; it fails only when the run could not be
carried out.

The server is gunicorn started from the repository's ``gunicorn.conf.py`` (sync workers,
``ACADEMY_WORKERS`` = ``--workers``; ``--threads N`` > 1 overrides it into gthread workers, for
comparison) on a free port, with ``ACADEMY_LOG_FORMAT=json``, its logs
in a temporary file (5xx and tracebacks are counted from it), Redis for the cache and the rate
limiter on a free database number of ``--redis-url``'s server (its keys are deleted afterwards).

Database: by default a throw-away PostgreSQL database ``bench_burst_<pid>`` is created on
``--server-url`` (postgresql://postgres@127.0.0.1:5432/postgres), given the schema, and dropped
at the end. With ``--database-url`` pointing at an existing, populated database (e.g. the
city-scale ``bench_city`` of benchmarks/generate.py) the burst adds its own course, cohort,
learners (mobiles ``100…``, names 压测学员…, course code ``BENCH-BURST-<pid>``) and sessions
to it and deletes them afterwards (``--keep`` leaves them).
"""

from __future__ import annotations

import argparse
import hashlib
import http.client
import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from http.cookies import SimpleCookie
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
BIN = Path(sys.executable).parent

USER_AGENT = "Mozilla/5.0 (Linux; Android 14; checkin-burst) AppleWebKit/537.36 Mobile Safari/537.36"
SERVER_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
BUDGET_RATIO = 20.0
STEPS = ("scan", "confirm_page", "confirm_post", "result_page")
CSRF_RE = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')
TIMEOUT = 30.0  # seconds per request


# --- the database -----------------------------------------------------------------------------

def _admin_connect(server_url: str):
    import psycopg

    return psycopg.connect(server_url.replace("postgresql+psycopg://", "postgresql://"), autocommit=True)


def create_database(server_url: str, name: str) -> None:
    """Create the empty database ``name`` on the server of ``server_url``."""
    with _admin_connect(server_url) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')


def drop_database(server_url: str, name: str) -> None:
    """Drop the database ``name`` (closing whatever still holds a connection to it)."""
    with _admin_connect(server_url) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def make_app(database_url: str, secret: str, workdir: Path, redis_url: str = ""):
    """The app of this process (set-up, cookies, checks): no cache, the server's secret."""
    import warnings

    from academy import create_app

    warnings.filterwarnings("ignore", message="Flask-Caching: CACHE_TYPE is set to NullCache")

    return create_app({"SQLALCHEMY_DATABASE_URI": database_url, "SECRET_KEY": secret, "INSTANCE_PATH": workdir,
                       "STORAGE_PATH": str(workdir / "storage"), "CACHE_TYPE": "NullCache",
                       "REDIS_URL": redis_url})


@dataclass
class Fixture:
    """What the burst created: ids to clean up and what the clients need."""

    label: str
    course_id: int
    cohort_id: int
    session_id: int
    public_code: str
    rotation_seconds: int
    warmup_session_id: int
    warmup_code: str
    learner_ids: list[int]
    warmup_ids: list[int]
    cookies: dict[int, str] = field(default_factory=dict)  # user id -> session cookie value


def create_fixture(app, learners: int, warmups: int, label: str) -> Fixture:
    """One course, one RUNNING cohort of ``learners`` + ``warmups`` enrolled learners, and two
    sessions whose check-in window is open now (the burst's and a warm-up one)."""
    from sqlalchemy import func, insert, select
    from werkzeug.security import generate_password_hash

    from academy.accounts.models import Role, User, UserRole
    from academy.attendance.models import ClassSession
    from academy.catalogue.models import Cohort, CohortStatus, Course
    from academy.enrolment.models import Enrolment, EnrolmentStatus
    from academy.extensions import db

    with app.app_context():
        pid = os.getpid() % 10_000
        prefix = f"100{pid:04d}"
        taken = db.session.scalar(select(func.count()).select_from(User).where(User.mobile.like(prefix + "%")))
        if taken:
            raise SystemExit(f"users with mobiles {prefix}… exist already (an earlier run kept them?)")
        password_hash = generate_password_hash(secrets.token_hex(8))  # one shared hash: nobody logs in
        today = date.today()
        course = Course(code=label, title="网约配送员（外卖）签到压测", occupation="网约配送员", level="五级/初级工",
                        hours=40, description=f"benchmarks/checkin_burst.py 建立的压测数据（{label}），运行结束后删除")
        db.session.add(course)
        db.session.flush()
        total = learners + warmups
        cohort = Cohort(code=label, course_id=course.id, name=f"签到压测班 {label}", start_date=today - timedelta(days=7),
                        end_date=today + timedelta(days=60), capacity=total, seats_taken=total,
                        status=CohortStatus.RUNNING, district="章贡区", place="章贡区职业技能实训基地")
        db.session.add(cohort)
        db.session.flush()
        now = datetime.now(UTC).replace(microsecond=0)
        rows = [{"mobile": f"{prefix}{i:04d}", "name": f"压测学员{i + 1:03d}", "password_hash": password_hash,
                 "district": "章贡区", "occupation_group": "外卖员", "is_active_account": True, "session_version": 1,
                 "created_at": now, "updated_at": now} for i in range(total)]
        ids = list(db.session.scalars(insert(User).returning(User.id, sort_by_parameter_order=True), rows))
        db.session.execute(insert(UserRole), [{"user_id": uid, "role": Role.LEARNER.value} for uid in ids])
        db.session.execute(insert(Enrolment), [
            {"learner_id": uid, "cohort_id": cohort.id, "status": EnrolmentStatus.ENROLLED.value, "applied_at": now,
             "enrolled_at": now, "source": "admin"} for uid in ids])
        # Check-in opened 10 minutes ago and runs until the end: every check-in counts as present.
        lesson = ClassSession(cohort_id=cohort.id, starts_at=now + timedelta(minutes=5),
                              ends_at=now + timedelta(minutes=125), place="302 教室", topic="签到压测")
        warm = ClassSession(cohort_id=cohort.id, starts_at=now + timedelta(minutes=6),
                            ends_at=now + timedelta(minutes=126), place="302 教室", topic="预热")
        db.session.add_all([lesson, warm])
        db.session.commit()
        return Fixture(label=label, course_id=course.id, cohort_id=cohort.id, session_id=lesson.id,
                       public_code=lesson.public_code, rotation_seconds=lesson.rotation_seconds,
                       warmup_session_id=warm.id, warmup_code=warm.public_code,
                       learner_ids=ids[:learners], warmup_ids=ids[learners:])


def mint_cookies(app, fixture: Fixture) -> None:
    """Sign a session cookie for every learner as login would leave it (user id:session version,
    fresh, the Flask-Login identifier of this client, a CSRF secret)."""
    from flask_login.utils import _create_identifier

    serializer = app.session_interface.get_signing_serializer(app)
    with app.test_request_context(environ_base={"REMOTE_ADDR": "127.0.0.1"}, headers={"User-Agent": USER_AGENT}):
        ident = _create_identifier()
    for uid in fixture.learner_ids + fixture.warmup_ids:
        fixture.cookies[uid] = serializer.dumps({"_user_id": f"{uid}:1", "_fresh": True, "_id": ident,
                                                 "csrf_token": hashlib.sha1(os.urandom(64)).hexdigest()})  # noqa: S324


def count_records(app, session_id: int, learner_ids: list[int]) -> tuple[int, int, int]:
    """(records of the session, of them by the given learners, history rows of the session)."""
    from sqlalchemy import func, select

    from academy.attendance.models import AttendanceChange, AttendanceRecord
    from academy.extensions import db

    with app.app_context():
        total = db.session.scalar(select(func.count()).select_from(AttendanceRecord)
                                  .where(AttendanceRecord.session_id == session_id))
        mine = db.session.scalar(select(func.count()).select_from(AttendanceRecord)
                                 .where(AttendanceRecord.session_id == session_id,
                                        AttendanceRecord.learner_id.in_(learner_ids)))
        history = db.session.scalar(select(func.count()).select_from(AttendanceChange)
                                    .where(AttendanceChange.session_id == session_id))
        return total, mine, history


def remove_fixture(app, fixture: Fixture) -> bool:
    """Delete everything the burst added to an existing database; False when its users had to
    stay (something else refers to them; they keep their 压测学员 names and ``100…`` mobiles).

    PostgreSQL checks each foreign key to ``users`` row by row when a user is deleted; at city
    scale several of those columns (``marked_by_id``, ``changed_by_id`` …) are unindexed on
    million-row tables, which makes deleting 310 users take minutes. So every referencing column
    is checked once for the burst's users, set-based, and when none refers to them the users are
    deleted with the row-by-row checks switched off for this transaction
    (``session_replication_role = replica``, superuser only; otherwise the slow way).
    """
    from sqlalchemy import delete, exists, select, text

    from academy.accounts.models import User, UserRole
    from academy.attendance.models import AttendanceChange, AttendanceRecord, CheckInSettings, ClassSession
    from academy.audit.models import AuditEvent
    from academy.catalogue.models import Cohort, CohortMeeting, Course, cohort_instructors
    from academy.enrolment.models import Enrolment
    from academy.extensions import db

    ids = fixture.learner_ids + fixture.warmup_ids
    sessions = [fixture.session_id, fixture.warmup_session_id]
    with app.app_context():
        db.session.execute(delete(AttendanceChange).where(AttendanceChange.session_id.in_(sessions)))
        db.session.execute(delete(AttendanceRecord).where(AttendanceRecord.session_id.in_(sessions)))
        db.session.execute(delete(ClassSession).where(ClassSession.id.in_(sessions)))
        db.session.execute(delete(CheckInSettings).where(CheckInSettings.cohort_id == fixture.cohort_id))
        db.session.execute(delete(Enrolment).where(Enrolment.cohort_id == fixture.cohort_id))
        db.session.execute(delete(CohortMeeting).where(CohortMeeting.cohort_id == fixture.cohort_id))
        db.session.execute(delete(cohort_instructors).where(cohort_instructors.c.cohort_id == fixture.cohort_id))
        db.session.execute(delete(Cohort).where(Cohort.id == fixture.cohort_id))
        db.session.execute(delete(Course).where(Course.id == fixture.course_id))
        db.session.execute(delete(AuditEvent).where(AuditEvent.actor_id.in_(ids)))
        db.session.execute(delete(UserRole).where(UserRole.user_id.in_(ids)))
        db.session.commit()
        users = User.__table__
        still = [f"{fk.parent.table.name}.{fk.parent.name}" for table in db.metadata.tables.values()
                 for fk in table.foreign_keys if fk.column.table is users
                 if db.session.scalar(select(exists().where(fk.parent.in_(ids))))]
        if still:
            db.session.rollback()
            print(f"kept the burst's users (referred to by {', '.join(still)})")
            return False
        if db.session.get_bind().dialect.name == "postgresql" and db.session.scalar(
                text("SELECT rolsuper FROM pg_roles WHERE rolname = current_user")):
            db.session.execute(text("SET LOCAL session_replication_role = replica"))
        db.session.execute(delete(User).where(User.id.in_(ids)))
        db.session.commit()
        return True


def queries_per_step(app, fixture: Fixture) -> dict[str, tuple[int, int]]:
    """(SQL statements, transactions) of each check-in step and of the static page, counted
    in-process with the Flask test client for the first warm-up learner on the warm-up session
    (this also writes that learner's record). On PostgreSQL each transaction adds three round
    trips to its statements: the pool's pre-ping, BEGIN, and COMMIT or ROLLBACK."""
    from sqlalchemy import event

    from academy.attendance import tokens
    from academy.extensions import db

    counts: dict[str, tuple[int, int]] = {}
    current = {"n": 0, "tx": 0}

    def count(*_args, **_kwargs):
        current["n"] += 1

    def begin(*_args, **_kwargs):
        current["tx"] += 1

    with app.app_context():
        engine = db.engine
    client = app.test_client()
    client.environ_base.update({"REMOTE_ADDR": "127.0.0.1", "HTTP_USER_AGENT": USER_AGENT})
    client.set_cookie(app.config.get("SESSION_COOKIE_NAME", "session"), fixture.cookies[fixture.warmup_ids[0]])
    url = f"/attendance/c/{fixture.warmup_code}"
    token = tokens.current_token(fixture.warmup_session_id, fixture.rotation_seconds, now=datetime.now(UTC),
                                 secret=app.config["SECRET_KEY"])
    event.listen(engine, "before_cursor_execute", count)
    event.listen(engine, "begin", begin)
    try:
        def step(name, call):
            current["n"] = current["tx"] = 0
            response = call()
            counts[name] = (current["n"], current["tx"])
            return response

        step("scan", lambda: client.get(url, query_string={"t": token}))
        page = step("confirm_page", lambda: client.get(url)).get_data(as_text=True)
        match = CSRF_RE.search(page)
        step("confirm_post", lambda: client.post(url, data={"csrf_token": match.group(1) if match else ""}))
        step("result_page", lambda: client.get(url))
        step("static /help", lambda: client.get("/help"))
    finally:
        event.remove(engine, "before_cursor_execute", count)
        event.remove(engine, "begin", begin)
    return counts


# --- the server -------------------------------------------------------------------------------

def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def pick_redis_db(redis_url: str) -> str:
    """``redis_url`` with a database number that holds no keys (searching from a pid-based one)."""
    import redis

    parts = urllib.parse.urlsplit(redis_url)
    client = redis.Redis.from_url(urllib.parse.urlunsplit(parts._replace(path="/0")))
    used = {int(k[2:]) for k in client.info("keyspace")}
    start = os.getpid() % 15 + 1
    for offset in range(15):
        number = (start + offset - 1) % 15 + 1
        if number not in used:
            return urllib.parse.urlunsplit(parts._replace(path=f"/{number}"))
    raise SystemExit("no empty Redis database number on " + redis_url)


def clear_redis(redis_url: str) -> int:
    """Delete the cache and rate-limit keys the run left in its Redis database; return how many."""
    import redis

    client = redis.Redis.from_url(redis_url)
    keys = [k for pattern in ("academy:*", "rl:*", "flask_cache_*") for k in client.scan_iter(pattern)]
    if keys:
        client.delete(*keys)
    return len(keys)


def start_gunicorn(database_url: str, secret: str, workers: int, redis_url: str, workdir: Path, log_path: Path,
                   threads: int | None = None):
    """gunicorn from gunicorn.conf.py on a free port (``threads``: override its threads, which turns
    sync workers into gthread ones); returns (process, port)."""
    port = free_port()
    env = {**os.environ, "DATABASE_URL": database_url, "SECRET_KEY": secret, "REDIS_URL": redis_url,
           "ACADEMY_BIND": f"127.0.0.1:{port}", "ACADEMY_WORKERS": str(workers), "ACADEMY_LOG_FORMAT": "json",
           "ACADEMY_INSTANCE_PATH": str(workdir), "ACADEMY_STORAGE_PATH": str(workdir / "storage"),
           "ACADEMY_SECURE_COOKIES": "0", "ACADEMY_LOG_LEVEL": "info"}
    env.pop("ACADEMY_BASE_URL", None)
    log = open(log_path, "wb")  # noqa: SIM115 - closed when the process is stopped
    extra = ["--threads", str(threads)] if threads else []
    process = subprocess.Popen([str(BIN / "gunicorn"), "-c", "gunicorn.conf.py", *extra, "academy:create_app()"],
                               env=env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    process.log_file = log
    deadline = time.monotonic() + 60
    pids = set()
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit("gunicorn exited: " + log_path.read_text()[-3000:])
        try:
            status, body, _ = request_once(port, "GET", "/healthz")
            if status == 200:
                pids.add(json.loads(body)["pid"])
                if len(pids) >= workers:
                    break
                continue
        except OSError:
            pass
        time.sleep(0.1)
    else:
        stop_gunicorn(process)
        raise SystemExit("gunicorn did not start: " + log_path.read_text()[-3000:])
    return process, port


def gunicorn_settings(workers: int) -> dict:
    """The values gunicorn.conf.py gives with ``ACADEMY_WORKERS=workers`` (for the report)."""
    import runpy

    previous = os.environ.get("ACADEMY_WORKERS")
    os.environ["ACADEMY_WORKERS"] = str(workers)
    try:
        return runpy.run_path(str(ROOT / "gunicorn.conf.py"))
    finally:
        if previous is None:
            os.environ.pop("ACADEMY_WORKERS")
        else:
            os.environ["ACADEMY_WORKERS"] = previous


def stop_gunicorn(process) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    process.log_file.close()


def request_once(port: int, method: str, path: str):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request(method, path, headers={"User-Agent": USER_AGENT})
        response = conn.getresponse()
        return response.status, response.read(), response
    finally:
        conn.close()


def _cpu_seconds(pid: int) -> float:
    """User + system CPU seconds used so far by process ``pid`` (0 when it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def server_pids(master: int, database_url: str) -> tuple[list[int], list[int]]:
    """(gunicorn worker pids, PostgreSQL backend pids serving ``database_url``'s database)."""
    try:
        workers = [int(p) for p in Path(f"/proc/{master}/task/{master}/children").read_text().split()]
    except OSError:
        workers = []
    backends = []
    try:
        import psycopg

        name = urllib.parse.urlsplit(database_url).path.lstrip("/")
        with psycopg.connect(database_url.replace("postgresql+psycopg://", "postgresql://"), autocommit=True) as conn:
            backends = [row[0] for row in conn.execute(
                "SELECT pid FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()", (name,))]
    except Exception as exc:  # noqa: BLE001 - the CPU figures are extra; the run goes on without them
        print(f"(no PostgreSQL CPU figures: {exc})")
    return workers, backends


class CpuMeter:
    """CPU seconds the gunicorn workers and their PostgreSQL backends spend between start and stop
    (read from /proc, so it measures work, not waiting for the CPUs other processes hold)."""

    def __init__(self, master: int, database_url: str):
        self.workers, self.backends = server_pids(master, database_url)
        self.start = self._read()

    def _read(self) -> tuple[float, float]:
        return (sum(map(_cpu_seconds, self.workers)), sum(map(_cpu_seconds, self.backends)))

    def stop(self) -> tuple[float, float]:
        """(gunicorn, postgres) CPU seconds since the meter was made."""
        end = self._read()
        return end[0] - self.start[0], end[1] - self.start[1]


# --- the clients ------------------------------------------------------------------------------

def _decode(response, body: bytes) -> str:
    encoding = response.getheader("Content-Encoding", "")
    if encoding == "br":
        import brotli

        body = brotli.decompress(body)
    elif encoding == "gzip":
        import gzip

        body = gzip.decompress(body)
    return body.decode("utf-8", "replace")


class Phone:
    """One learner's browser: a connection to the server and a cookie jar (name → value)."""

    def __init__(self, port: int, cookie: str):
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=TIMEOUT)
        self.cookies = {"session": cookie}

    def send(self, method: str, path: str, form: dict | None = None) -> tuple[int, str, str, float]:
        """One request; returns (status, body text, Location, seconds). Raises OSError/HTTPException."""
        headers = {"User-Agent": USER_AGENT, "Accept-Encoding": "br, gzip", "Accept": "text/html",
                   "Cookie": "; ".join(f"{k}={v}" for k, v in self.cookies.items())}
        body = None
        if form is not None:
            body = urllib.parse.urlencode(form)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        started = time.perf_counter()
        try:
            self.conn.request(method, path, body=body, headers=headers)
            response = self.conn.getresponse()
            raw = response.read()
        except (OSError, http.client.HTTPException):
            self.conn.close()  # a fresh connection next time
            raise
        elapsed = time.perf_counter() - started
        for header in response.headers.get_all("Set-Cookie") or ():
            jar = SimpleCookie()
            jar.load(header)
            for name, morsel in jar.items():
                if "1970" in (morsel["expires"] or "") or morsel["max-age"] == "0":
                    self.cookies.pop(name, None)
                else:
                    self.cookies[name] = morsel.value
        return response.status, _decode(response, raw), response.getheader("Location", ""), elapsed

    def close(self) -> None:
        self.conn.close()


@dataclass
class Outcome:
    """One simulated person: per-step latencies (s), end to end (s), start lag (s), error or None."""

    latencies: dict[str, float] = field(default_factory=dict)
    total: float = 0.0
    lag: float = 0.0
    error: str | None = None


def checkin_flow(port: int, cookie: str, code: str, token_for) -> Outcome:
    """The four requests of a phone that scanned the QR code; stops at the first error."""
    outcome, phone = Outcome(), Phone(port, cookie)
    path = f"/attendance/c/{code}"
    started = time.perf_counter()
    try:
        status, _, location, outcome.latencies["scan"] = phone.send("GET", f"{path}?t={token_for()}")
        if status != 302 or not location.endswith(path):
            return _fail(outcome, f"scan: HTTP {status} → {location!r}")
        status, page, _, outcome.latencies["confirm_page"] = phone.send("GET", path)
        match = CSRF_RE.search(page)
        if status != 200 or not match or "确认签到" not in page:
            return _fail(outcome, f"confirm page: HTTP {status}, {_gist(page)}")
        status, _, location, outcome.latencies["confirm_post"] = phone.send("POST", path,
                                                                            {"csrf_token": match.group(1)})
        if status != 302:
            return _fail(outcome, f"confirm: HTTP {status}")
        status, page, _, outcome.latencies["result_page"] = phone.send("GET", path)
        if status != 200 or not ("签到成功" in page or "已签到" in page):
            return _fail(outcome, f"result page: HTTP {status}, {_gist(page)}")
    except TimeoutError:
        return _fail(outcome, "timeout")
    except (OSError, http.client.HTTPException) as exc:
        return _fail(outcome, f"{type(exc).__name__}: {exc}")
    finally:
        phone.close()
        outcome.total = time.perf_counter() - started
    return outcome


def static_flow(port: int, cookie: str, path: str, count: int) -> Outcome:
    """``count`` GETs of the static page by a signed-in visitor."""
    outcome, phone = Outcome(), Phone(port, cookie)
    started = time.perf_counter()
    try:
        for i in range(count):
            status, page, _, outcome.latencies[f"get{i}"] = phone.send("GET", path)
            if status != 200 or "<html" not in page:
                return _fail(outcome, f"static: HTTP {status}")
    except TimeoutError:
        return _fail(outcome, "timeout")
    except (OSError, http.client.HTTPException) as exc:
        return _fail(outcome, f"{type(exc).__name__}: {exc}")
    finally:
        phone.close()
        outcome.total = time.perf_counter() - started
    return outcome


def _fail(outcome: Outcome, message: str) -> Outcome:
    outcome.error = message
    return outcome


def _gist(page: str) -> str:
    alerts = re.findall(r'class="(?:alert|flash|checkin-state)[^"]*"[^>]*>([^<]{0,80})', page)
    return "; ".join(a.strip() for a in alerts) or page[:80].replace("\n", " ")


def run_schedule(people: list, flow, concurrency: int, spread: float) -> tuple[list[Outcome], float, int]:
    """Run ``flow(person)`` for each person, person i starting ``i × spread / n`` s after the start,
    on ``concurrency`` threads. Returns the outcomes, the wall time and the peak in flight."""
    n = len(people)
    in_flight, peak, lock = [0], [0], threading.Lock()
    t0 = time.perf_counter() + 0.2

    def one(i: int, person) -> Outcome:
        due = t0 + (i * spread / n if n else 0)
        pause = due - time.perf_counter()
        if pause > 0:
            time.sleep(pause)
        with lock:
            in_flight[0] += 1
            peak[0] = max(peak[0], in_flight[0])
        try:
            outcome = flow(person)
        finally:
            with lock:
                in_flight[0] -= 1
        outcome.lag = max(0.0, time.perf_counter() - outcome.total - due)
        return outcome

    with ThreadPoolExecutor(concurrency) as pool:
        outcomes = list(pool.map(lambda args: one(*args), enumerate(people)))
    return outcomes, time.perf_counter() - t0, peak[0]


# --- figures ----------------------------------------------------------------------------------

def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (q in 0…100) of ``values``; NaN when empty."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = max(1, -(-len(ordered) * q // 100))
    return ordered[int(rank) - 1]


def describe(values: list[float]) -> str:
    ms = [v * 1000 for v in values]
    return (f"n={len(ms):5d}  p50 {percentile(ms, 50):7.1f}  p90 {percentile(ms, 90):7.1f}  "
            f"p99 {percentile(ms, 99):7.1f}  max {max(ms, default=float('nan')):7.1f} ms")


def cpu_line(cpu: tuple[float, float, float], requests: int, wall: float) -> str:
    """The CPU milliseconds per request of gunicorn, PostgreSQL and this client, and the rate."""
    gunicorn, postgres, client = (seconds / requests * 1000 for seconds in cpu)
    return (f"  CPU per request: gunicorn {gunicorn:.1f} ms + PostgreSQL {postgres:.1f} ms (this client "
            f"{client:.1f} ms); {requests / wall:.0f} requests/s")


def scan_log(log_path: Path) -> tuple[int, int, int]:
    """(access-log lines with a 5xx status, with 429, log lines carrying an exception)."""
    five, limited, tracebacks = 0, 0, 0
    for line in log_path.read_text(errors="replace").splitlines():
        try:
            entry = json.loads(line)
        except ValueError:
            tracebacks += "Traceback" in line
            continue
        if not isinstance(entry, dict):
            continue
        status = entry.get("status")
        if isinstance(status, int):
            five += status >= 500
            limited += status == 429
        if entry.get("exception") or entry.get("level") in ("ERROR", "CRITICAL"):
            tracebacks += 1
    return five, limited, tracebacks


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", help="an existing PostgreSQL database to add the burst to "
                                               "(default: a throw-away bench_burst_<pid>)")
    parser.add_argument("--server-url", default=SERVER_URL, help="where to create the throw-away database")
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/0",
                        help="Redis server (a database number without keys is chosen)")
    parser.add_argument("--learners", type=int, default=300)
    parser.add_argument("--concurrency", type=int, default=50, help="threads = learners in flight at most")
    parser.add_argument("--spread", type=float, default=10.0, help="seconds over which the learners start")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers (ACADEMY_WORKERS)")
    parser.add_argument("--threads", type=int, help="override gunicorn.conf.py's threads per worker "
                                                    "(> 1 makes gunicorn use gthread workers; an experiment)")
    parser.add_argument("--static-path", default="/help", help="the baseline page")
    parser.add_argument("--keep", action="store_true", help="keep the database / the added rows")
    args = parser.parse_args(argv)

    secret = "checkin-burst-" + secrets.token_hex(16)
    label = f"BENCH-BURST-{os.getpid()}"
    created_db = None
    from academy.config import normalise_database_url

    if args.database_url:
        database_url = args.database_url
    else:
        created_db = f"bench_burst_{os.getpid()}"
        parts = urllib.parse.urlsplit(args.server_url)
        database_url = urllib.parse.urlunsplit(parts._replace(path="/" + created_db))
    database_url = normalise_database_url(database_url)
    redis_url = pick_redis_db(args.redis_url)
    workdir = Path(tempfile.mkdtemp(prefix="checkin-burst-"))
    log_path = workdir / "gunicorn.log"
    app = make_app(database_url, secret, workdir)  # before creating anything: an import error stops here
    fixture = gunicorn = None
    if created_db:
        create_database(args.server_url, created_db)
    try:
        if created_db:
            from academy.extensions import db

            with app.app_context():
                db.create_all()
        t = time.perf_counter()
        fixture = create_fixture(app, args.learners, warmups=10, label=label)
        mint_cookies(app, fixture)
        print(f"database: {database_url.split('@')[-1]}  ({'throw-away' if created_db else 'existing'}; "
              f"{label}: {args.learners} learners + 10 warm-up, sessions {fixture.session_id} / "
              f"{fixture.warmup_session_id}, set up in {time.perf_counter() - t:.1f} s)")
        queries = queries_per_step(app, fixture)

        gunicorn, port = start_gunicorn(database_url, secret, args.workers, redis_url, workdir, log_path,
                                        args.threads)
        import gunicorn as gunicorn_pkg

        conf = gunicorn_settings(args.workers)
        threads = args.threads or conf.get("threads", 1)
        worker_class = "gthread" if threads > 1 and conf.get("worker_class", "sync") == "sync" else \
            conf.get("worker_class", "sync")
        print(f"server:   gunicorn {gunicorn_pkg.__version__} from gunicorn.conf.py: worker_class {worker_class}, "
              f"{conf.get('workers')} workers × {threads} threads, port {port}, Redis {redis_url}, "
              f"JSON logs to {log_path.name} (kept when something failed)")

        def token_for(session_id: int):
            from academy.attendance import tokens

            return lambda: tokens.current_token(session_id, fixture.rotation_seconds, now=datetime.now(UTC),
                                                secret=secret)

        # Warm-up: every worker renders both pages and runs the check-in path (warm-up session).
        warm_people = [fixture.cookies[uid] for uid in fixture.warmup_ids[1:]] * 2
        run_schedule(warm_people, lambda c: checkin_flow(port, c, fixture.warmup_code,
                                                         token_for(fixture.warmup_session_id)), 9, 0)
        run_schedule(warm_people * 5, lambda c: static_flow(port, c, args.static_path, 4), 9, 0)

        people = [fixture.cookies[uid] for uid in fixture.learner_ids]
        print(f"\ncheck-in burst: {len(people)} learners over {args.spread:g} s, {args.concurrency} threads")
        meter, client_cpu = CpuMeter(gunicorn.pid, database_url), time.process_time()
        checkin, checkin_wall, checkin_peak = run_schedule(
            people, lambda c: checkin_flow(port, c, fixture.public_code, token_for(fixture.session_id)),
            args.concurrency, args.spread)
        checkin_cpu = (*meter.stop(), time.process_time() - client_cpu)
        meter, client_cpu = CpuMeter(gunicorn.pid, database_url), time.process_time()
        static, static_wall, static_peak = run_schedule(
            people, lambda c: static_flow(port, c, args.static_path, len(STEPS)), args.concurrency, args.spread)
        static_cpu = (*meter.stop(), time.process_time() - client_cpu)
        total, mine, history = count_records(app, fixture.session_id, fixture.learner_ids)
        five, limited, tracebacks = scan_log(log_path)
    finally:
        if gunicorn is not None:
            stop_gunicorn(gunicorn)
        removed = clear_redis(redis_url)
        if fixture is not None and not created_db and not args.keep:
            t = time.perf_counter()
            removed_all = remove_fixture(app, fixture)
            print(f"removed the burst's rows from {database_url.split('/')[-1]} in {time.perf_counter() - t:.1f} s"
                  + ("" if removed_all else f" (all but its users, {label})"))
        if created_db and not args.keep:
            with app.app_context():
                from academy.extensions import db

                db.engine.dispose()
            drop_database(args.server_url, created_db)

    errors = [o.error for o in checkin if o.error]
    static_errors = [o.error for o in static if o.error]
    missing = len(fixture.learner_ids) - mine
    request_times = [v for o in checkin for v in o.latencies.values()]
    static_times = [v for o in static for v in o.latencies.values()]
    print(f"  all {len(checkin)} done {checkin_wall:.2f} s after the first scan (scheduled over {args.spread:g} s), "
          f"peak in flight {checkin_peak}, start delayed by the {args.concurrency}-thread limit: p99 "
          f"{percentile([o.lag for o in checkin], 99) * 1000:.0f} ms")
    print(f"  all check-in requests    {describe(request_times)}")
    print(cpu_line(checkin_cpu, len(request_times), checkin_wall))
    for step in STEPS:
        print(f"    {step:<22} {describe([o.latencies[step] for o in checkin if step in o.latencies])}")
    print(f"  per learner, end to end  {describe([o.total for o in checkin if not o.error])}")
    print(f"  records written: {mine} of {len(fixture.learner_ids)} learners "
          f"(session total {total}, history rows {history})")
    print(f"  errors: {len(errors)} learners failed, {missing} without a record; server log: {five} × 5xx, "
          f"{limited} × 429, {tracebacks} error lines")
    for message in sorted(set(errors))[:10]:
        print(f"    {errors.count(message)} × {message}")
    print(f"\nstatic page {args.static_path} (signed in), same schedule: {len(people)} visitors × {len(STEPS)} GETs")
    print(f"  all {len(static)} done {static_wall:.2f} s after the first request, peak in flight {static_peak}, "
          f"start delayed: p99 {percentile([o.lag for o in static], 99) * 1000:.0f} ms")
    print(f"  all static requests      {describe(static_times)}")
    print(cpu_line(static_cpu, len(static_times), static_wall))
    if static_errors:
        print(f"  errors: {len(static_errors)} ({sorted(set(static_errors))[:3]})")
    print("\nSQL statements / transactions per request (in-process, one learner): "
          + ", ".join(f"{k} {n}/{tx}" for k, (n, tx) in queries.items()))

    p99, static_p99 = percentile(request_times, 99), percentile(static_times, 99)
    p50, static_p50 = percentile(request_times, 50), percentile(static_times, 50)
    ratio = p99 / static_p99 if static_p99 else float("inf")
    failures = len(errors) + missing + five + limited
    print(f"\ncheck-in p50 {p50 * 1000:.1f} ms / static p50 {static_p50 * 1000:.1f} ms = {p50 / static_p50:.1f}×")
    print(f"check-in p99 {p99 * 1000:.1f} ms / static p99 {static_p99 * 1000:.1f} ms = {ratio:.1f}× "
          f"(budget ≤ {BUDGET_RATIO:g}×)")
    verdict = "holds" if failures == 0 and ratio <= BUDGET_RATIO else "MISSED"
    print(f"budget (zero errors, exactly {len(fixture.learner_ids)} records, p99 ratio ≤ {BUDGET_RATIO:g}×): "
          f"{verdict} — errors {failures}, ratio {ratio:.1f}×")
    if failures or tracebacks or args.keep:
        print(f"server log kept: {log_path}")
    else:
        shutil.rmtree(workdir, ignore_errors=True)
    if removed:
        print(f"(deleted {removed} Redis keys of the run)")
    if args.keep:
        print(f"kept: {created_db or label}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
