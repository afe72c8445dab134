"""Benchmark: a 5,000-row roster import and a gradebook save of 60 learners (not a test; prints figures).

    .venv/bin/python benchmarks/imports.py [--rows 5000] [--repeat 3] [--saves 20]
    .venv/bin/python benchmarks/imports.py --database-url postgresql://postgres@127.0.0.1:5432/postgres

Builds a throw-away database (a SQLite file in a temporary directory by default; with
``--database-url`` PostgreSQL databases ``bench_imports_<pid>_<tag>`` and ``…_snap`` on that
server, dropped at the end) holding ``--background`` other learners, 12 courses with an open cohort each, and the
gradebook cohorts. Then it writes a realistic roster .xlsx in the format the import page takes
(the columns of shared/data/roster.xlsx: GB 11643 ID numbers, unique mobiles, plausible names,
counties, platforms, the course applied for by title). About a fifth of its people are already
in the database: known by ID number (not yet activated: their login mobile is updated), activated
accounts (they keep their login: a warning each), self-registered accounts without an ID number
(matched by mobile and name) and people already in the cohort (a note each). Some cohorts fill
up mid-file, so the rest of their rows go to the waitlist.

Measured side by side in one run:

(a) the floor: openpyxl merely reading the file (``load_workbook(read_only=True)`` and iterating
    every row), median of several reads interleaved with the imports;
(b) the import as an administrator waits for it: one POST of the file to ``/enrolment/import``
    through the Flask test client, signed in as an admin — upload parsing, reading the sheet,
    checking every row, matching people, upserting learners, enrolling (capacity and waitlist),
    the audit rows, the commit and the rendered report page. The database is restored from a
    snapshot before each repeat. A "只检查" (dry run) POST of the same file is shown as well;
(c) a gradebook save: the POST the gradebook page submits for an assessment with 2 components
    and 60 learners (120 marks typed into an empty sheet), through the real view as the cohort's
    instructor, median over ``--saves`` sheets; then re-saving one sheet with every mark changed.
    The ratio is to a static page GET (``/help``, else the login page) measured in the same run.

Prints seconds, rows/s, the ratio (b)/(a) and queries issued per request. ``--profile N`` also
runs one import under cProfile and prints its N most expensive functions.
"""

from __future__ import annotations

import argparse
import io
import os
import random
import re
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

SURNAMES = ("刘陈钟黄李王曾赖谢张杨肖邱温廖罗郭朱胡吴周徐何林邓叶彭宋蓝古袁易许卢郑"
            "曹丁严龚郭魏凌欧阳")
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华建国志红堃喆鑫淼森慧婷鹏睿辉梅兰春燕文斌俊峰"
SPECIAL_NAMES = ("买买提·艾力", "阿依古丽·吐尔逊", "欧阳堃", "司马相如", "热依拉·买买提")
# Region codes of Ganzhou's counties (GB/T 2260) with the county an ID born there names.
REGIONS = {
    "360702": "章贡区", "360703": "南康区", "360704": "赣县区", "360781": "瑞金市", "360783": "龙南市",
    "360722": "信丰县", "360723": "大余县", "360724": "上犹县", "360725": "崇义县", "360726": "安远县",
    "360728": "定南县", "360729": "全南县", "360730": "宁都县", "360731": "于都县", "360732": "兴国县",
    "360733": "会昌县", "360734": "寻乌县", "360735": "石城县",
}
OCCUPATIONS = (("外卖员", ("美团外卖", "饿了么", "美团众包")), ("快递员", ("顺丰速运", "中通快递", "韵达快递", "邮政EMS")),
               ("网约车司机", ("滴滴出行", "T3出行", "曹操出行")), ("货车司机", ("货拉拉", "满帮", "快狗打车")),
               ("网络主播", ("抖音", "快手")), ("网约家政", ("天鹅到家", "58到家")), ("其他", (None,)))
OCCUPATION_VARIANTS = {"外卖员": ("外卖员", "外卖骑手", "骑手"), "快递员": ("快递员", "快递小哥")}
EDUCATION = ("初中", "初中", "高中", "中专", "中专", "技校", "职高", "大专", "大专", "大学专科", "本科")
POLITICAL = ("群众",) * 8 + ("中共党员", "共青团员", "党员")
# (code, title, capacity factor) — a factor below 1 fills the cohort mid-file (waitlist after that).
COURSES = (
    ("JXG-DG-01", "电工（五级/初级工）技能培训", 0.8), ("JXG-DG-02", "电工（四级/中级工）技能提升", 1.3),
    ("JXG-PS-01", "网约配送员职业技能培训", 0.9), ("JXG-KD-01", "快递员职业技能培训", 1.3),
    ("JXG-PR-01", "中式烹调师（初级）", 1.3), ("JXG-ZB-01", "互联网营销师（直播销售员）", 1.3),
    ("JXG-JZ-01", "家政服务员（初级）", 1.3), ("JXG-YY-01", "育婴员（初级）", 0.7),
    ("JXG-QC-01", "汽车维修工（电动汽车方向）", 1.3), ("JXG-AQ-01", "网约车安全驾驶与应急处置", 1.3),
    ("JXG-DS-01", "电子商务师（助理）", 1.3), ("JXG-YL-01", "养老护理员（初级）", 1.3),
)
HEADER = ["序号", "姓名", "性别", "身份证号", "手机号", "所在县（市、区）", "从业类型", "所属平台/企业", "政治面貌",
          "文化程度", "报名课程", "备注"]
PASSWORD = "Bench-passw0rd"  # noqa: S105 - a throw-away database
GRADEBOOK_LEARNERS = 60


# --- people ---------------------------------------------------------------------------------

class People:
    """Unique, valid identities: GB 11643 ID numbers, mobile numbers, names."""

    def __init__(self, seed: int = 2026):
        self.rng = random.Random(seed)
        self.ids: set[str] = set()
        self.mobiles: set[str] = set()

    def name(self) -> str:
        rng = self.rng
        if rng.random() < 0.004:
            return rng.choice(SPECIAL_NAMES)
        return rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.choice((1, 2, 2, 2))))

    def id_number(self, male: bool) -> tuple[str, str, date]:
        from academy.common.ids import check_character

        rng = self.rng
        while True:
            region = rng.choice(tuple(REGIONS))
            born = date(1966, 1, 1) + timedelta(days=rng.randrange(40 * 365))
            seq = rng.randrange(0, 500) * 2 + (1 if male else 0)
            first17 = f"{region}{born:%Y%m%d}{seq:03d}"
            value = first17 + check_character(first17)
            if value not in self.ids:
                self.ids.add(value)
                return value, region, born

    def mobile(self) -> str:
        rng = self.rng
        while True:
            value = rng.choice(("13", "15", "17", "18", "19")) + str(rng.randrange(10)) + f"{rng.randrange(10 ** 8):08d}"
            if value not in self.mobiles:
                self.mobiles.add(value)
                return value

    def person(self) -> dict:
        rng = self.rng
        male = rng.random() < 0.7
        id_number, region, born = self.id_number(male)
        occupation, platforms = rng.choice(OCCUPATIONS)
        return {"name": self.name(), "male": male, "id_number": id_number, "district": REGIONS[region],
                "birth_date": born, "mobile": self.mobile(), "occupation": occupation,
                "platform": rng.choice(platforms), "education": rng.choice(EDUCATION),
                "political": rng.choice(POLITICAL)}


def kind_of(index: int) -> str:
    """Who row ``index`` of the roster is: new, or already known in one of four ways (≈18 %)."""
    if index % 10 == 1:
        return "known_by_id"  # not activated; the file's mobile becomes the login
    if index % 25 == 2:
        return "activated"  # keeps the login mobile: a warning
    if index % 50 == 3:
        return "self_registered"  # no ID number on file: matched by mobile and name
    if index % 50 == 4:
        return "already_enrolled"  # a note: left as is
    return "new"


def roster_xlsx(people: list[dict], courses: list[str], rng: random.Random) -> bytes:
    """The roster as the academy receives it (text cells, a few numbers and variants as in real files)."""
    from openpyxl import Workbook

    wb = Workbook()  # a normal workbook, as Excel/WPS save it (with its <dimension>)
    ws = wb.active
    ws.title = "花名册"
    ws.append(HEADER)
    for n, p in enumerate(people, start=1):
        id_text = p["id_number"].lower() if rng.random() < 0.3 else p["id_number"]
        mobile = int(p["mobile"]) if rng.random() < 0.1 else p["mobile"]  # some sheets keep phones as numbers
        occupation = rng.choice(OCCUPATION_VARIANTS.get(p["occupation"], (p["occupation"],)))
        district = p["district"] if rng.random() < 0.9 else "赣州市" + p["district"]
        ws.append([n, p["name"], "男" if p["male"] else "女", id_text, mobile, district, occupation, p["platform"],
                   p["political"], p["education"], courses[n - 1], None])
        ws.cell(row=n + 1, column=4).number_format = "@"  # ID numbers kept as text
    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()


# --- the database ---------------------------------------------------------------------------

class Database:
    """The run database, its snapshot and how to restore it (SQLite file copy / PostgreSQL template)."""

    def __init__(self, server_url: str | None, workdir: Path):
        self.server_url = server_url
        self.workdir = workdir
        if server_url:
            from sqlalchemy import create_engine
            from sqlalchemy.engine import make_url

            url = make_url(server_url).set(drivername="postgresql+psycopg")
            tag = f"{os.getpid()}_{uuid.uuid4().hex[:6]}"
            self.run_name, self.snap_name = f"bench_imports_{tag}", f"bench_imports_{tag}_snap"
            self.admin = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
            self._sql(f'CREATE DATABASE "{self.run_name}"')
            self.url = url.set(database=self.run_name).render_as_string(hide_password=False)
        else:
            self.run_path, self.snap_path = workdir / "run.db", workdir / "snapshot.db"
            self.url = f"sqlite:///{self.run_path}"

    @property
    def kind(self) -> str:
        return "PostgreSQL" if self.server_url else "SQLite"

    def _sql(self, statement: str) -> None:
        from sqlalchemy import text

        with self.admin.connect() as conn:
            conn.execute(text(statement))

    def _release(self, app) -> None:
        from sqlalchemy import text

        from academy.extensions import db

        with app.app_context():
            if not self.server_url:
                with db.engine.connect() as conn:
                    conn.execute(text("PRAGMA wal_checkpoint(TRUNCATE)"))
            db.session.remove()
            db.engine.dispose()

    def snapshot(self, app) -> None:
        self._release(app)
        if self.server_url:
            self._sql(f'CREATE DATABASE "{self.snap_name}" TEMPLATE "{self.run_name}"')
        else:
            shutil.copyfile(self.run_path, self.snap_path)

    def restore(self, app) -> None:
        self._release(app)
        if self.server_url:
            self._sql(f'DROP DATABASE "{self.run_name}" WITH (FORCE)')
            self._sql(f'CREATE DATABASE "{self.run_name}" TEMPLATE "{self.snap_name}"')
        else:
            for suffix in ("-wal", "-shm"):
                Path(f"{self.run_path}{suffix}").unlink(missing_ok=True)
            shutil.copyfile(self.snap_path, self.run_path)

    def drop(self) -> None:
        if self.server_url:
            for name in (self.run_name, self.snap_name):
                self._sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            self.admin.dispose()


def make_app(database: Database):
    from academy import create_app

    return create_app({"SQLALCHEMY_DATABASE_URI": database.url, "INSTANCE_PATH": database.workdir,
                       "STORAGE_PATH": str(database.workdir / "storage"), "SECRET_KEY": "bench-imports",
                       "ACADEMY_BASE_URL": "https://xue.example.cn", "CACHE_TYPE": "SimpleCache"})


def _insert(model, rows: list[dict]) -> None:
    from sqlalchemy import insert

    from academy.extensions import db

    for start in range(0, len(rows), 2000):
        db.session.execute(insert(model), rows[start:start + 2000])


def build(app, args, people: People) -> dict:
    """Fill the database: background learners, the import's catalogue and known people, the
    gradebook cohorts. Returns what the measurements need (the roster, ids)."""
    from sqlalchemy import select
    from werkzeug.security import generate_password_hash

    from academy.accounts.models import Role, User, UserRole
    from academy.attendance.models import AttendanceRecord, ClassSession
    from academy.catalogue.models import Cohort, CohortStatus, Course, cohort_instructors
    from academy.common.timeutil import now_utc
    from academy.enrolment.models import Enrolment
    from academy.exams.models import Assessment, AssessmentComponent
    from academy.extensions import db

    rng = people.rng
    now = now_utc()
    today = date.today()
    password_hash = generate_password_hash(PASSWORD, method="pbkdf2:sha256:1000")
    with app.app_context():
        db.create_all()
        admin = User(mobile="13900000001", name="管理员", password_hash=password_hash)
        admin.roles.append(UserRole(role=Role.ADMIN))
        instructor = User(mobile="13900000002", name="钟建华", password_hash=password_hash)
        instructor.roles.append(UserRole(role=Role.INSTRUCTOR))
        db.session.add_all([admin, instructor])
        people.mobiles.update({admin.mobile, instructor.mobile})

        # The roster's people and the course each applies for.
        roster = [people.person() for _ in range(args.rows)]
        weights = [rng.uniform(0.5, 1.5) for _ in COURSES]
        picks = rng.choices(range(len(COURSES)), weights=weights, k=args.rows)
        per_course = [picks.count(i) for i in range(len(COURSES))]
        cohorts = []
        for i, (code, title, factor) in enumerate(COURSES):
            course = Course(code=code, title=title, occupation=title[:4], hours=60, delivery_mode="线下",
                            fee=Decimal("0"), subsidy=Decimal("0"))
            opens = today + timedelta(days=7 + i)
            cohort = Cohort(course=course, code=f"{code}-202612", name=f"2026年第1期{title}", start_date=opens,
                            end_date=opens + timedelta(days=60), capacity=max(30, int(per_course[i] * factor)),
                            status=CohortStatus.OPEN, district="瑞金市", place="瑞金市职业技能实训基地")
            later = Cohort(course=course, code=f"{code}-202703", name=f"2027年第1期{title}",
                           start_date=opens + timedelta(days=90), end_date=opens + timedelta(days=150),
                           capacity=40, status=CohortStatus.PLANNED, district="瑞金市")
            db.session.add_all([cohort, later])
            cohorts.append(cohort)
        db.session.flush()

        # Background learners (not in the file): the city's other learners.
        background = [people.person() for _ in range(args.background)]
        user_rows = [_user_row(p, password_hash if rng.random() < 0.6 else None, now) for p in background]
        # The roster's known people, each in the state their kind describes.
        known: list[tuple[int, dict]] = []
        for index, p in enumerate(roster):
            kind = kind_of(index)
            if kind == "new":
                continue
            row = _user_row(p, None, now)
            if kind == "known_by_id":
                row["mobile"] = people.mobile()
                row["district"] = None
            elif kind == "activated":
                row["mobile"], row["password_hash"] = people.mobile(), password_hash
            elif kind == "self_registered":
                row.update(id_number=None, gender=None, birth_date=None, district=None, occupation_group=None)
            user_rows.append(row)
            known.append((index, p))
        _insert(User, user_rows)
        ids = dict(db.session.execute(select(User.mobile, User.id)).all())
        _insert(UserRole, [{"user_id": ids[r["mobile"]], "role": Role.LEARNER} for r in user_rows])

        # People already in the cohort their row names.
        taken = [0] * len(COURSES)
        enrolments = []
        for index, p in known:
            if kind_of(index) == "already_enrolled":
                c = picks[index]
                taken[c] += 1
                enrolments.append({"learner_id": ids[p["mobile"]], "cohort_id": cohorts[c].id, "status": "enrolled",
                                   "applied_at": now - timedelta(days=3), "enrolled_at": now - timedelta(days=3),
                                   "source": "self"})
        for c, cohort in enumerate(cohorts):
            cohort.seats_taken = taken[c]

        # Gradebook cohorts: 60 enrolled learners each, 8 held sessions with attendance, one assessment.
        gb_course = Course(code="JXG-GB-01", title="电工（三级/高级工）技能提升", occupation="电工", hours=160,
                           delivery_mode="线下", fee=Decimal("0"), subsidy=Decimal("0"))
        db.session.add(gb_course)
        learner_ids = [ids[r["mobile"]] for r in user_rows[:args.background]]
        rng.shuffle(learner_ids)
        assessments = []
        for s in range(args.saves + 1):
            start = today - timedelta(days=70)
            cohort = Cohort(course=gb_course, code=f"JXG-GB-01-2026{s:02d}", name=f"2026年第{s + 1}期高级电工班",
                            start_date=start, end_date=today - timedelta(days=1), capacity=GRADEBOOK_LEARNERS,
                            status=CohortStatus.RUNNING, district="章贡区", seats_taken=GRADEBOOK_LEARNERS)
            db.session.add(cohort)
            db.session.flush()
            db.session.execute(cohort_instructors.insert().values(cohort_id=cohort.id, user_id=instructor.id))
            members = learner_ids[s * GRADEBOOK_LEARNERS:(s + 1) * GRADEBOOK_LEARNERS]
            assert len(members) == GRADEBOOK_LEARNERS, "--background too small for the gradebook cohorts"
            for k, lid in enumerate(members):
                enrolments.append({"learner_id": lid, "cohort_id": cohort.id, "status": "enrolled",
                                   "applied_at": now - timedelta(days=80, minutes=k),
                                   "enrolled_at": now - timedelta(days=80, minutes=k), "source": "import"})
            sessions = []
            for w in range(8):
                starts = datetime.combine(start + timedelta(days=7 * w), datetime.min.time()).replace(
                    tzinfo=now.tzinfo) + timedelta(hours=11, minutes=30)
                sessions.append(ClassSession(cohort_id=cohort.id, starts_at=starts, ends_at=starts + timedelta(hours=2),
                                             place="章贡区实训基地"))
            db.session.add_all(sessions)
            db.session.flush()
            _insert(AttendanceRecord, [
                {"session_id": session.id, "learner_id": lid,
                 "status": rng.choices(("present", "late", "excused"), weights=(93, 5, 2))[0],
                 "source": "self", "checked_in_at": session.starts_at, "marked_at": session.starts_at}
                for session in sessions for lid in members])
            assessment = Assessment(cohort_id=cohort.id, title="结业考核", created_by_id=instructor.id)
            assessment.components = [AssessmentComponent(name="理论知识", position=0),
                                     AssessmentComponent(name="操作技能", position=1)]
            db.session.add(assessment)
            db.session.flush()
            assessments.append(assessment.id)
        _insert(Enrolment, enrolments)
        db.session.commit()
        return {"admin": admin.mobile, "instructor": instructor.mobile, "roster": roster,
                "courses": [COURSES[i][1] for i in picks], "assessments": assessments,
                "known": len(known), "capacity": sum(c.capacity for c in cohorts)}


def _user_row(p: dict, password_hash: str | None, now: datetime) -> dict:
    return {"mobile": p["mobile"], "name": p["name"], "password_hash": password_hash, "id_number": p["id_number"],
            "gender": "男" if p["male"] else "女", "birth_date": p["birth_date"], "district": p["district"],
            "occupation_group": p["occupation"], "platform": p["platform"], "education": None,
            "political_status": None, "is_active_account": True, "session_version": 1,
            "created_at": now, "updated_at": now}


# --- measuring ------------------------------------------------------------------------------

class QueryCounter:
    """Counts statements sent to the database (``before_cursor_execute``)."""

    def __init__(self, engine):
        from sqlalchemy import event

        self.count = 0
        event.listen(engine, "before_cursor_execute", self._note)

    def _note(self, *args, **kwargs) -> None:
        self.count += 1


_CSRF = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')


def csrf_token(client, url: str) -> str:
    page = client.get(url).get_data(as_text=True)
    match = _CSRF.search(page)
    assert match, f"no CSRF token on {url}"
    return match.group(1)


def sign_in(client, mobile: str) -> None:
    response = client.post("/account/login", data={"csrf_token": csrf_token(client, "/account/login"),
                                                   "mobile": mobile, "password": PASSWORD})
    assert response.status_code == 302, response.get_data(as_text=True)[:300]


def read_floor(data: bytes) -> float:
    """Seconds openpyxl takes merely to open the workbook and iterate every row."""
    from openpyxl import load_workbook

    started = time.perf_counter()
    wb = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    rows = sum(1 for _ in wb.worksheets[0].iter_rows(values_only=True))
    wb.close()
    seconds = time.perf_counter() - started
    assert rows > 1
    return seconds


def post_roster(app, counter: QueryCounter, data: bytes, admin: str, *, dry_run: bool) -> tuple[float, int, str]:
    """One upload through the import page; returns (seconds, queries, page)."""
    with app.test_client() as client:
        sign_in(client, admin)
        form = {"csrf_token": csrf_token(client, "/enrolment/import"), "file": (io.BytesIO(data), "花名册.xlsx")}
        if dry_run:
            form["dry_run"] = "y"
        counter.count = 0
        started = time.perf_counter()
        response = client.post("/enrolment/import", data=form, content_type="multipart/form-data")
        seconds = time.perf_counter() - started
        queries = counter.count
    page = response.get_data(as_text=True)
    assert response.status_code == 200, page[:500]
    return seconds, queries, page


def report_counts(page: str) -> str:
    pairs = re.findall(r"<dt>([^<]+)</dt><dd>(\d+)</dd>", page)
    return " · ".join(f"{label} {n}" for label, n in pairs)


def measure_imports(app, database: Database, setup: dict, data: bytes, repeat: int) -> dict:
    from academy.extensions import db

    floors, imports, dry = [], [], []
    with app.app_context():
        counter = QueryCounter(db.engine)
    for _ in range(3):
        floors.append(read_floor(data))
    for r in range(repeat):
        seconds, queries, page = post_roster(app, counter, data, setup["admin"], dry_run=True)
        dry.append((seconds, queries))
        database.restore(app)
        floors.append(read_floor(data))
        seconds, queries, page = post_roster(app, counter, data, setup["admin"], dry_run=False)
        assert "导入完成" in page, re.sub(r"\s+", " ", page)[:2000]
        imports.append((seconds, queries))
        floors.append(read_floor(data))
        if r == 0:
            print(f"  import report: {report_counts(page)}")
        database.restore(app)
    return {"floor": statistics.median(floors), "floors": floors, "import": imports, "dry": dry}


def measure_gradebook(app, setup: dict, saves: int, static_gets: int) -> dict:
    from sqlalchemy import select

    from academy.enrolment.models import Enrolment, EnrolmentStatus
    from academy.exams.models import Assessment
    from academy.extensions import db

    with app.app_context():
        counter = QueryCounter(db.engine)
        sheets = []
        for aid in setup["assessments"]:
            assessment = db.session.get(Assessment, aid)
            learners = list(db.session.scalars(select(Enrolment.learner_id).where(
                Enrolment.cohort_id == assessment.cohort_id, Enrolment.status == EnrolmentStatus.ENROLLED)))
            sheets.append((aid, learners, [c.id for c in assessment.components]))
        db.session.remove()
    rng = random.Random(7)
    static_url = "/help" if any(r.rule == "/help" for r in app.url_map.iter_rules()) else "/account/login"

    def cells(learners, components, previous):
        form, marks = {}, {}
        for lid in learners:
            for cid in components:
                mark = previous.get((lid, cid))
                while mark == previous.get((lid, cid)):  # every cell changes
                    mark = "缺考" if rng.random() < 0.03 else str(rng.randrange(40, 101)) + rng.choice(("", "", ".5"))
                    mark = mark.replace("100.5", "100")
                form[f"m-{lid}-{cid}"] = marks[(lid, cid)] = mark
                form[f"o-{lid}-{cid}"] = previous.get((lid, cid), "")
        return form, marks

    first, resave, statics = [], [], []
    with app.test_client() as client:  # each request has its own app context, as in production
        sign_in(client, setup["instructor"])
        token = csrf_token(client, f"/exams/{sheets[0][0]}/gradebook")
        for _ in range(20):  # warm up the static page
            client.get(static_url)

        def timed_static(n):
            for _ in range(n):
                started = time.perf_counter()
                response = client.get(static_url)
                statics.append(time.perf_counter() - started)
                assert response.status_code == 200

        def save(aid, form):
            form = {"csrf_token": token, **form}
            counter.count = 0
            started = time.perf_counter()
            response = client.post(f"/exams/{aid}/gradebook", data=form)
            seconds = time.perf_counter() - started
            assert response.status_code == 302, re.sub(r"\s+", " ", response.get_data(as_text=True))[:1500]
            return seconds, counter.count

        # (1) a whole sheet typed into an empty gradebook, once per assessment (the first is a warm-up)
        for i, (aid, learners, components) in enumerate(sheets):
            form, _ = cells(learners, components, {})
            timed_static(static_gets // (2 * len(sheets)) + 1)
            result = save(aid, form)
            if i:
                first.append(result)
        # (2) one sheet saved again and again, every mark changed each time
        aid, learners, components = sheets[-1]
        with app.app_context():
            previous = stored_marks(aid)
        for _ in range(saves):
            form, marks = cells(learners, components, previous)
            timed_static(static_gets // (2 * saves) + 1)
            resave.append(save(aid, form))
            previous = marks
    return {"first": first, "resave": resave, "static": statics, "static_url": static_url}


def stored_marks(assessment_id: int) -> dict[tuple[int, int], str]:
    """The marks of an assessment as its gradebook shows them, by (learner id, component id)."""
    from sqlalchemy import select

    from academy.exams.models import Attempt, ExamScore
    from academy.exams.scoring import format_score
    from academy.extensions import db

    rows = db.session.execute(select(Attempt.learner_id, ExamScore.component_id, ExamScore.points, ExamScore.absent)
                              .join(ExamScore, ExamScore.attempt_id == Attempt.id)
                              .where(Attempt.assessment_id == assessment_id)).all()
    return {(lid, cid): ("缺考" if absent else format_score(points)) for lid, cid, points, absent in rows}


def profile_import(app, database: Database, setup: dict, data: bytes, top: int) -> None:
    """One import POST under cProfile: the ``top`` functions by cumulative and by own time."""
    import cProfile
    import pstats

    from academy.extensions import db

    with app.app_context():
        counter = QueryCounter(db.engine)
    profiler = cProfile.Profile()
    profiler.enable()
    seconds, queries, _ = post_roster(app, counter, data, setup["admin"], dry_run=False)
    profiler.disable()
    database.restore(app)
    print(f"\nprofiled import: {seconds:.2f} s under cProfile, {queries} queries")
    stats = pstats.Stats(profiler, stream=sys.stdout)
    stats.sort_stats("cumulative").print_stats(top)
    stats.sort_stats("tottime").print_stats(top)


def _median(pairs, i=0):
    return statistics.median(p[i] for p in pairs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=5000, help="roster rows (default 5000)")
    parser.add_argument("--background", type=int, default=20000,
                        help="other learners already in the database (default 20000)")
    parser.add_argument("--repeat", type=int, default=3, help="imports measured (default 3)")
    parser.add_argument("--saves", type=int, default=20, help="gradebook saves measured (default 20)")
    parser.add_argument("--database-url", default=None,
                        help="PostgreSQL server URL; a database bench_imports_* is created there and dropped")
    parser.add_argument("--profile", type=int, default=0, metavar="N",
                        help="also run one import under cProfile and print its N most expensive functions")
    parser.add_argument("--skip-gradebook", action="store_true")
    parser.add_argument("--skip-import", action="store_true")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="bench-imports-") as tmp:
        database = Database(args.database_url, Path(tmp))
        try:
            run(args, database)
        finally:
            database.drop()


def run(args, database: Database) -> None:
    app = make_app(database)
    people = People()
    started = time.perf_counter()
    setup = build(app, args, people)
    data = roster_xlsx(setup["roster"], setup["courses"], people.rng)
    database.snapshot(app)
    print(f"{database.kind}: {args.background:,} other learners, {setup['known']:,} of the {args.rows:,} roster people "
          f"already known, 12 open cohorts with {setup['capacity']:,} seats, {len(setup['assessments'])} gradebook "
          f"cohorts of {GRADEBOOK_LEARNERS}; roster file {len(data) / 1024:.0f} KiB "
          f"(set-up {time.perf_counter() - started:.1f} s, load {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs)")

    if not args.skip_import:
        result = measure_imports(app, database, setup, data, args.repeat)
        floor = result["floor"]
        imp, dry = _median(result["import"]), _median(result["dry"])
        print()
        print(f"{'roster import, ' + format(args.rows, ',') + ' rows':<52}{'s':>8}{'rows/s':>10}{'× floor':>9}"
              f"{'queries':>9}")
        print(f"{'(a) openpyxl read_only load + iterate (floor)':<52}{floor:>8.3f}{args.rows / floor:>10.0f}"
              f"{1:>9.2f}{'':>9}")
        print(f"{'(b) import POST (check + write + commit + page)':<52}{imp:>8.3f}{args.rows / imp:>10.0f}"
              f"{imp / floor:>9.2f}{_median(result['import'], 1):>9.0f}")
        print(f"{'    只检查 (dry run) POST':<48}{dry:>8.3f}{args.rows / dry:>10.0f}{dry / floor:>9.2f}"
              f"{_median(result['dry'], 1):>9.0f}")
        print(f"  import runs: {', '.join(f'{s:.2f}' for s, _ in result['import'])} s; "
              f"dry runs: {', '.join(f'{s:.2f}' for s, _ in result['dry'])} s; "
              f"floor reads: {', '.join(f'{s:.3f}' for s in result['floors'])} s")
        print(f"ratio (b)/(a) = {imp / floor:.2f}  (budget: within 5×)")

    if args.profile:
        profile_import(app, database, setup, data, args.profile)

    if not args.skip_gradebook:
        result = measure_gradebook(app, setup, args.saves, static_gets=400)
        static = statistics.median(result["static"])
        first, resave = _median(result["first"]), _median(result["resave"])
        print()
        print(f"{'gradebook save, 60 learners × 2 components':<52}{'median ms':>10}{'p90 ms':>8}{'× static':>10}"
              f"{'queries':>9}")
        for label, runs in ((f"(c) empty sheet → 120 marks ({len(result['first'])} sheets)", result["first"]),
                            (f"    re-save, all 120 marks changed ({len(result['resave'])})", result["resave"])):
            ms = sorted(s for s, _ in runs)
            p90 = ms[min(len(ms) - 1, int(len(ms) * 0.9))]
            print(f"{label:<52}{statistics.median(ms) * 1000:>10.1f}{p90 * 1000:>8.1f}"
                  f"{statistics.median(ms) / static:>10.1f}{_median(runs, 1):>9.0f}")
        print(f"{'    static page GET ' + result['static_url'] + ' (' + str(len(result['static'])) + ')':<52}"
              f"{static * 1000:>10.2f}{'':>8}{1:>10.1f}")
        print(f"ratio save/static = {first / static:.1f} (empty sheet), {resave / static:.1f} (re-save)")


if __name__ == "__main__":
    main()
