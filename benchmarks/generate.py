"""City-scale data generator: fills an EMPTY SQLite or PostgreSQL database with realistic data.

    .venv/bin/python benchmarks/generate.py --database-url sqlite:////tmp/bench/city.db [--scale 1.0]
        [--seed 2026] [--manifest PATH] [--reset]

At ``--scale 1.0`` (issue 9): 155,000 learners, 2,000 cohorts of 120 courses, 100,000 enrolments,
1,000,000 attendance records (each with its first history row), 200,000 exam scores (each with its
history row), 50,000 certificates, 20 competition events with 5 judges each (entries, score sheets,
judges' scores, published results), plus instructors and administrators. Every count shrinks with
the scale (at least one of each structure), so ``--scale 0.001`` builds in a second or two.

The rows are the ones the services write (seat counters, check-in history, certificate serials and
their sequences, attempt numbers …), written in chunks of 10,000: on SQLite as Core
``exec_driver_sql`` executemany with values already in the text formats SQLAlchemy's SQLite types
store (its per-value bind processing was 3/4 of the load time), foreign keys checked on every
insert; on PostgreSQL with ``COPY`` through psycopg, without the per-row foreign-key triggers
(``SET LOCAL session_replication_role = replica`` when the role may; 3× faster) and then every
foreign key checked with one anti-join. The competition events are set up, locked and published
through the competitions services, so their published results are the module's own computation.
ID numbers are valid GB 11643-1999 numbers for Ganzhou's 18 county codes (3607xx; the few
Uyghur-style names carry Xinjiang codes, as in the demo data) agreeing with the stored birth date
and gender; names, districts, occupation groups and platforms follow ``academy/demo/people.json``.
Every account has the password ``PASSWORD`` (Passw0rd!), hashed once with the app's own hashing.

Some records are always generated with the same shape, whatever the scale, so that the queries a
page makes can be compared across scales: they are in the manifest (``generate`` returns it, the
CLI writes it as JSON):

* ``cohort``: a running cohort of exactly 60 enrolled learners, 24 sessions of which 22 held (every
  learner has a status at each), an unpublished assessment of 2 components with 60 attempts
  (``assessment_id``) and ``session_id`` (its latest held session, for the register page);
* ``learner``: one of the 60, also enrolled in a finished cohort (published results, certificate
  ``certificate_serial``) and in an open one; ``instructor`` teaches the three; ``admin``;
* ``catalogue_filters`` (district, occupation, q) that match the open cohort; ``event_code``: the
  public code of a competition event with published results (30 contestants, 5 judges).

The manifest also holds ``password``, ``counts`` (rows per table), ``roles``, ``targets`` and
``actual`` (the issue's figures), ``timings`` and ``certificate_verification_code``.

The issue's figures fix the mix: 100,000 enrolments hold 1,000,000 attendance records and 200,000
scores, so most cohorts are finished (≈12 held sessions of ≈50 learners each) and assessments have
2, 3 or 4 components (≈2.4 on average). The CLI prints the counts and the seconds per phase and per
table; it refuses (exit 2) a database that already has data unless ``--reset`` is given.
"""

from __future__ import annotations

import argparse
import base64
import bisect
import itertools
import json
import math
import random
import sys
import tempfile
import time as clock
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from operator import itemgetter
from pathlib import Path

from sqlalchemy import JSON

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

PASSWORD = "Passw0rd!"  # noqa: S105 - shared password of every generated account (benchmark data)
BASE = {  # scale 1.0
    "learners": 155_000, "cohorts": 2_000, "courses": 120, "enrolments": 100_000,
    "attendance_records": 1_000_000, "exam_scores": 200_000, "certificates": 50_000,
    "competition_events": 20, "instructors": 240, "admins": 12,
}
JUDGES_PER_EVENT = 5
CST = timedelta(hours=8)  # Asia/Shanghai has had no daylight saving time since 1991
CHUNK = 10_000

# The fixed-shape records (same at every scale).
SPECIAL_RUN_LEARNERS, SPECIAL_RUN_SESSIONS, SPECIAL_RUN_HELD = 60, 24, 22
SPECIAL_FIN_LEARNERS, SPECIAL_FIN_SESSIONS = 40, 12
SPECIAL_OPEN_LEARNERS, SPECIAL_OPEN_SESSIONS = 30, 16
SPECIAL_EVENT_ENTRIES = 30

# --- people -------------------------------------------------------------------------------------

DISTRICT_WEIGHTS = {  # where learners live (Ganzhou's 18 counties; the academy's base is 瑞金)
    "章贡区": 18, "瑞金市": 14, "南康区": 11, "于都县": 10, "赣县区": 7, "兴国县": 7, "宁都县": 7, "信丰县": 6,
    "会昌县": 4, "石城县": 3, "龙南市": 3, "寻乌县": 3, "安远县": 3, "上犹县": 2, "大余县": 2, "崇义县": 2,
    "定南县": 2, "全南县": 2,
}
STAFF_SURNAMES = "刘陈钟黄李王曾赖谢张杨肖邱温廖罗郭朱胡吴周徐何林邓叶彭宋"

# --- catalogue ----------------------------------------------------------------------------------

LEVELS = {5: "五级/初级工", 4: "四级/中级工", 3: "三级/高级工"}
LEVEL_HOURS = {5: (40, 48, 64), 4: (80, 96, 120), 3: (120, 160)}
LEVEL_SUBSIDY = {5: Decimal("1200"), 4: Decimal("1500"), 3: Decimal("2000")}
# prefix, class label, occupation, occupation code, audience (occupation groups), levels, delivery modes
OCCUPATIONS = (
    ("DG", "电工", "电工", "6-31-01-03", ("外卖员", "快递员", "网约车司机", "货车司机", "其他"), (4, 5, 3), ("线下",)),
    ("PS", "网约配送员", "网约配送员", "4-02-07-10", ("外卖员",), (5, 4, 3), ("线上线下结合", "线下")),
    ("ZB", "直播销售员", "互联网营销师", "4-01-02-07", ("网络主播", "其他", "网络作家"), (5, 4, 3),
     ("线上线下结合", "线上")),
    ("KD", "快递员", "快递员", "4-02-07-08", ("快递员",), (5, 4), ("线下", "线上线下结合")),
    ("PR", "中式烹调师", "中式烹调师", "4-03-02-01", ("外卖员", "快递员", "其他", "网约家政"), (4, 5, 3), ("线下",)),
    ("JZ", "家政服务员", "家政服务员", "4-10-01-06", ("网约家政",), (5, 4), ("线下",)),
    ("YL", "养老护理员", "养老护理员", "4-10-01-05", ("网约家政", "其他"), (4, 5, 3), ("线下",)),
    ("QC", "汽车维修工", "汽车维修工", "4-12-01-01", ("网约车司机", "货车司机"), (4, 5, 3), ("线下",)),
    ("DS", "电子商务师", "电子商务师", "4-01-02-02", ("网络主播", "网络作家", "其他", "网约家政"), (4, 5, 3),
     ("线上", "线上线下结合")),
    ("MD", "中式面点师", "中式面点师", "4-03-02-02", ("外卖员", "网约家政", "其他"), (5, 4), ("线下",)),
    ("YY", "育婴员", "育婴员", "4-10-01-02", ("网约家政", "其他"), (5, 4), ("线下",)),
    ("BY", "保育师", "保育师", "4-10-01-03", ("网约家政",), (5, 4), ("线下",)),
    ("WC", "网约车驾驶员", "道路客运汽车驾驶员", "4-02-02-01", ("网约车司机",), (5, 4), ("线上线下结合", "线下")),
    ("HY", "货运驾驶员", "道路货运汽车驾驶员", "4-02-02-02", ("货车司机",), (5, 4), ("线下",)),
    ("CC", "叉车司机", "装卸搬运工", "4-02-06-02", ("货车司机", "快递员", "其他"), (5, 4), ("线下",)),
    ("CK", "仓储管理员", "仓储管理员", "4-02-06-01", ("快递员", "货车司机", "其他"), (5, 4), ("线下", "线上线下结合")),
    ("WL", "物流服务师", "物流服务师", "4-02-06-03", ("快递员", "货车司机"), (4, 3), ("线上线下结合",)),
    ("CY", "茶艺师", "茶艺师", "4-03-02-07", ("其他", "网络主播"), (5, 4), ("线下",)),
    ("XM", "西式面点师", "西式面点师", "4-03-02-04", ("外卖员", "网约家政", "其他"), (5, 4), ("线下",)),
    ("MR", "美容师", "美容师", "4-10-03-01", ("网约家政", "网络主播", "其他"), (5, 4), ("线下",)),
    ("MF", "美发师", "美发师", "4-10-03-02", ("其他", "网约家政"), (5, 4), ("线下",)),
    ("BJ", "保健按摩师", "保健按摩师", "4-10-04-02", ("网约家政", "其他"), (5, 4), ("线下",)),
    ("HJ", "焊工", "焊工", "6-18-02-04", ("货车司机", "其他"), (5, 4, 3), ("线下",)),
    ("ZL", "制冷空调维修工", "制冷空调系统安装维修工", "6-29-03-03", ("快递员", "外卖员", "其他"), (5, 4), ("线下",)),
    ("JD", "家电维修工", "家用电器产品维修工", "4-12-02-01", ("外卖员", "快递员", "其他"), (5, 4), ("线下",)),
    ("WR", "无人机驾驶员", "民用无人机驾驶员", "4-99-00-00", ("其他", "快递员", "外卖员"), (5, 4), ("线下",)),
    ("AI", "人工智能训练师", "人工智能训练师", "4-04-05-05", ("网络作家", "网络主播", "其他"), (5, 4),
     ("线上", "线上线下结合")),
    ("SY", "摄影摄像师", "摄影师", "4-08-08-02", ("网络主播", "网络作家", "其他"), (5, 4), ("线下",)),
    ("JK", "健康管理师", "健康管理师", "4-14-02-02", ("网约家政", "其他"), (4, 3), ("线上线下结合",)),
    ("XF", "消防设施操作员", "消防设施操作员", "4-07-05-04", ("外卖员", "快递员", "其他"), (5, 4), ("线下",)),
)
MODE_SUFFIX = {"线下": "D", "线上线下结合": "H", "线上": "X"}  # for a course's second delivery mode
PROGRAMMES = ("企业订单班", "乡村振兴专项", "以工代训", "退役军人专项")
# Weekly patterns: text, weekdays, start, end, class label (线上 courses use the last one).
PATTERNS = (
    ("周一、三、五 19:30-21:30", (0, 2, 4), time(19, 30), time(21, 30), "晚班"),
    ("周二、周四 19:30-21:30", (1, 3), time(19, 30), time(21, 30), "晚班"),
    ("周二、周四 14:30-16:30", (1, 3), time(14, 30), time(16, 30), "错峰班"),
    ("周六、周日 09:00-12:00", (5, 6), time(9, 0), time(12, 0), "周末班"),
    ("周日 08:30-11:30", (6,), time(8, 30), time(11, 30), "周日班"),
    ("周一至周五 14:00-16:30", (0, 1, 2, 3, 4), time(14, 0), time(16, 30), "日班"),
    ("周一、周三 20:00-22:00", (0, 2), time(20, 0), time(22, 0), "晚班"),
)
ONLINE_PATTERN = ("周二、周四 20:00-21:30", (1, 3), time(20, 0), time(21, 30), "线上班")
VENUES = ("职业技能培训中心 {room}", "新就业群体服务中心 {room}", "小哥驿站 培训室", "总工会职工学校 {room}")
ROOMS = ("2楼教室", "3楼教室", "实训室", "多功能厅", "101教室", "实训楼201")
STATUS_SHARES = (("finished", 0.78), ("running", 0.08), ("open", 0.08), ("planned", 0.04), ("cancelled", 0.02))
ENROLMENT_WEIGHT = {"finished": 1.0, "running": 1.0, "open": 0.8, "planned": 0.25, "cancelled": 0.0}
HISTORY_DAYS = 1_100  # finished cohorts ended within the last three years
CANCEL_REASON = "实训室设备检修，本次课顺延"
WITHDRAWAL_NOTE = "班级取消"

# --- exams, certificates, competitions -----------------------------------------------------------

COMPONENT_SETS = {
    2: (("理论知识", Decimal(50)), ("操作技能", Decimal(50))),
    3: (("理论知识", Decimal(30)), ("操作技能", Decimal(50)), ("职业素养", Decimal(20))),
    4: (("理论知识", Decimal(30)), ("操作技能", Decimal(40)), ("职业素养", Decimal(15)), ("安全规范", Decimal(15))),
}
REVOCATION_NOTES = (("data_error", "身份证号录入有误"), ("issued_in_error", "成绩复核后不符合发证条件"),
                    ("other", "学员申请更正姓名"))
EVENTS = (  # name, occupation, occupation code, eligible occupation groups
    ("网约配送员", "网约配送员", "4-02-07-10", ("外卖员", "快递员")),
    ("快递员", "快递员", "4-02-07-08", ("快递员", "外卖员")),
    ("网约车驾驶员", "道路客运汽车驾驶员", "4-02-02-01", ("网约车司机",)),
    ("互联网营销师（直播销售员）", "互联网营销师", "4-01-02-07", ("网络主播", "网络作家", "其他")),
    ("家政服务员", "家政服务员", "4-10-01-06", ("网约家政",)),
    ("货运驾驶员", "道路货运汽车驾驶员", "4-02-02-02", ("货车司机",)),
    ("中式烹调师", "中式烹调师", "4-03-02-01", ("外卖员", "其他", "网约家政")),
    ("养老护理员", "养老护理员", "4-10-01-05", ("网约家政", "其他")),
    ("电工", "电工", "6-31-01-03", ("外卖员", "快递员", "网约车司机", "货车司机", "其他")),
)
GENERIC_SCHEME = (  # sub-criterion ({occ} is the occupation), aspect, type, marks, partial marks, note
    ("A 职业安全与准备", "A1 个人防护与安全检查", "M", 5, None, "每漏一项扣1分"),
    ("A 职业安全与准备", "A2 工具、设备与材料准备", "M", 5, None, None),
    ("A 职业安全与准备", "A3 仪容仪表与职业形象", "J", 4, None, "0–3分档评价"),
    ("B {occ}核心操作", "B1 操作流程规范", "M", 15, None, "每错一步扣1分"),
    ("B {occ}核心操作", "B2 操作质量（作品或服务效果）", "M", 20, None, None),
    ("B {occ}核心操作", "B3 操作熟练程度", "J", 10, None, "0–3分档评价"),
    ("B {occ}核心操作", "B4 规定时间内完成", "M", 8, ("0", "4", "8"), "超时不得分"),
    ("C 服务与沟通", "C1 文明用语与沟通", "J", 8, None, "0–3分档评价"),
    ("C 服务与沟通", "C2 客户需求确认", "M", 7, None, None),
    ("D 应急处置", "D1 突发情况处置", "J", 10, None, "0–3分档评价"),
    ("D 应急处置", "D2 安全事故报告流程", "M", 8, None, "步骤缺一项扣1分"),
)
RECUSAL = ("同单位", "曾在同一配送站点工作")
REJECTION = "报名表未附平台在岗证明（近3个月接单记录），请补交后参加下届比赛"


class GeneratorError(RuntimeError):
    """The target database cannot be filled (it is not empty, or the scale is not positive)."""


def targets(scale: float) -> dict[str, int]:
    """Row counts ``generate`` aims at for ``scale``: the issue's figures × scale, at least one of
    each structure and never below what the fixed-shape records (see the module doc) hold.

    Keys: users_learners, cohorts, courses, enrolments, attendance_records, exam_scores,
    certificates, competition_events, competition_event_judges. Raises ``GeneratorError`` when
    ``scale`` is not positive.
    """
    if not scale > 0:
        raise GeneratorError("scale must be positive")
    n = {key: max(1, round(value * scale)) for key, value in BASE.items()}
    special_attendance = SPECIAL_RUN_LEARNERS * SPECIAL_RUN_HELD + SPECIAL_FIN_LEARNERS * SPECIAL_FIN_SESSIONS
    return {
        "users_learners": max(n["learners"], SPECIAL_RUN_LEARNERS + SPECIAL_FIN_LEARNERS + SPECIAL_OPEN_LEARNERS),
        "cohorts": max(n["cohorts"], 3),
        "courses": max(n["courses"], 3),
        "enrolments": max(n["enrolments"], SPECIAL_RUN_LEARNERS + SPECIAL_FIN_LEARNERS + SPECIAL_OPEN_LEARNERS),
        "attendance_records": max(n["attendance_records"], special_attendance),
        "exam_scores": max(n["exam_scores"], 2 * (SPECIAL_RUN_LEARNERS + SPECIAL_FIN_LEARNERS)),
        "certificates": max(n["certificates"], SPECIAL_FIN_LEARNERS),
        "competition_events": n["competition_events"],
        "competition_event_judges": n["competition_events"] * JUDGES_PER_EVENT,
    }


def create_bench_app(database_url: str, workdir: str | Path, **config):
    """Build the academy app for a benchmark database (``database_url``: any SQLAlchemy URL;
    ``postgresql://`` is mapped to psycopg 3), with its instance folder and storage in ``workdir``.

    ``config`` overrides settings (e.g. ``CACHE_TYPE``). The secret key is fixed ("bench") so that
    session cookies signed by one benchmark process are accepted by another.
    """
    from academy import create_app
    from academy.config import normalise_database_url

    workdir = Path(workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    values = {"SQLALCHEMY_DATABASE_URI": normalise_database_url(database_url), "INSTANCE_PATH": workdir,
              "STORAGE_PATH": str(workdir / "storage"), "SECRET_KEY": "bench",
              "ACADEMY_BASE_URL": "https://xue.example.cn"}
    values.update(config)
    return create_app(values)


# --- writing rows -------------------------------------------------------------------------------


class Writer:
    """Buffers rows per table and writes them in chunks: Core ``executemany`` on SQLite, ``COPY``
    on PostgreSQL. A table's buffer is written only after the buffers of every table before it in
    dependency order, so foreign keys always point at rows already written."""

    def __init__(self, conn, tables):
        self.conn = conn
        self.pg = conn.dialect.name == "postgresql"
        self.order = {t.name: i for i, t in enumerate(tables)}
        self.tables = {t.name: t for t in tables}
        self.buffers: dict[str, list[dict]] = {}
        self.rows: Counter = Counter()
        self.seconds: Counter = Counter()
        self._fills: dict[str, dict] = {}

    def add(self, table: str, row: dict) -> None:
        buffer = self.buffers.get(table)
        if buffer is None:
            buffer = self.buffers[table] = []
        buffer.append(row)
        if len(buffer) >= CHUNK:
            self.flush(table)

    def flush(self, table: str | None = None) -> None:
        """Write ``table``'s buffer (after its parents'), or every buffer when ``table`` is None."""
        limit = len(self.order) if table is None else self.order[table]
        for name in sorted(self.buffers, key=self.order.__getitem__):
            if self.order[name] < limit or name == table or table is None:
                self._write(name)

    def _fill(self, table, keys) -> dict:
        """Values for the columns a row leaves out that have a Python-side default (raw inserts and
        COPY do not apply them); a callable default is called once per table."""
        fill = self._fills.get(table.name)
        if fill is None:
            fill = {}
            for column in table.columns:
                default = column.default
                if column.name in keys or default is None or not (default.is_scalar or default.is_callable):
                    continue
                value = default.arg(None) if default.is_callable else default.arg
                fill[column.name] = str(value) if isinstance(value, str) else value
            self._fills[table.name] = fill
        return fill

    def _converters(self, table, keys) -> list | None:
        """SQLite: per column, the function that turns a Python value into what SQLAlchemy's SQLite
        types store (the same text formats, so comparisons with bound parameters behave), or None."""
        from sqlalchemy import Date, DateTime, Numeric, Time

        dialect = self.conn.dialect
        out = []
        for key in keys:
            kind = table.c[key].type
            impl = getattr(kind, "impl_instance", kind)
            if isinstance(impl, DateTime):
                out.append(_sqlite_datetime)
            elif isinstance(impl, Date):
                out.append(date.isoformat)
            elif isinstance(impl, Time):
                out.append(_sqlite_time)
            elif isinstance(impl, Numeric):
                out.append(float)
            elif isinstance(impl, JSON):
                out.append(kind._cached_bind_processor(dialect))
            else:
                out.append(None)
        return out if any(out) else None

    def _write(self, name: str) -> None:
        rows = self.buffers.pop(name, None)
        if not rows:
            return
        table = self.tables[name]
        started = clock.perf_counter()
        if self.pg:
            keys = list(rows[0])
            fill = self._fill(table, set(keys))
            columns = ", ".join(f'"{c}"' for c in keys + list(fill))
            extra = tuple(fill.values())
            json_keys = [k for k in keys if isinstance(table.c[k].type, JSON)]
            getter = itemgetter(*keys) if len(keys) > 1 else (lambda row: (row[keys[0]],))
            cursor = self.conn.connection.driver_connection.cursor()
            with cursor.copy(f'COPY "{name}" ({columns}) FROM STDIN') as copy:
                for row in rows:
                    for k in json_keys:
                        row[k] = None if row[k] is None else json.dumps(row[k], ensure_ascii=False)
                    copy.write_row(getter(row) + extra)
            cursor.close()
        else:
            keys = list(rows[0])
            fill = self._fill(table, set(keys))
            extra = tuple(fill.values())
            columns = keys + list(fill)
            convert = self._converters(table, columns)
            getter = itemgetter(*keys) if len(keys) > 1 else (lambda row: (row[keys[0]],))
            names = ", ".join(f'"{c}"' for c in columns)
            statement = f'INSERT INTO "{name}" ({names}) VALUES ({", ".join("?" * len(columns))})'  # noqa: S608
            if convert:
                slots = [(i, f) for i, f in enumerate(convert) if f is not None]
                values = []
                for row in rows:
                    value = list(getter(row) + extra)
                    for i, f in slots:
                        if value[i] is not None:
                            value[i] = f(value[i])
                    values.append(tuple(value))
            else:
                values = [getter(row) + extra for row in rows]
            self.conn.exec_driver_sql(statement, values)
        self.seconds[name] += clock.perf_counter() - started
        self.rows[name] += len(rows)


# --- small helpers ------------------------------------------------------------------------------


def _utc(day: date, at: time) -> datetime:
    """A local (Asia/Shanghai) day and wall-clock time as an aware UTC datetime."""
    return datetime.combine(day, at, tzinfo=UTC) - CST


def _sqlite_datetime(value: datetime) -> str:
    """An aware datetime as SQLAlchemy's SQLite DateTime stores it: naive UTC, ``YYYY-MM-DD HH:MM:SS.ffffff``."""
    return value.astimezone(UTC).replace(tzinfo=None).isoformat(" ", "microseconds")


def _sqlite_time(value: time) -> str:
    return value.isoformat("microseconds")


def _token(rng: random.Random, nbytes: int = 9) -> str:
    """What ``secrets.token_urlsafe(nbytes)`` returns, from ``rng`` (reproducible)."""
    return base64.urlsafe_b64encode(rng.randbytes(nbytes)).rstrip(b"=").decode()


class Weighted:
    """Fast repeated weighted choice from a mapping of value → weight."""

    def __init__(self, weights: dict):
        self.values = list(weights)
        self.cum = list(itertools.accumulate(weights.values()))

    def pick(self, rng: random.Random):
        return self.values[bisect.bisect_right(self.cum, rng.random() * self.cum[-1])]


def _split(total: int, weights: list[float]) -> list[int]:
    """Integers proportional to ``weights`` adding up to exactly ``total`` (largest remainder)."""
    whole = sum(weights)
    if total <= 0 or whole <= 0:
        return [0] * len(weights)
    raw = [total * w / whole for w in weights]
    parts = [math.floor(r) for r in raw]
    for i in sorted(range(len(raw)), key=lambda i: parts[i] - raw[i])[: total - sum(parts)]:
        parts[i] += 1
    return parts


@dataclass
class Person:
    """One generated account (user id ``id``)."""

    id: int
    name: str
    mobile: str
    gender: str
    born: date
    id_number: str
    district: str | None = None
    group: str | None = None
    platform: str | None = None
    created_at: datetime | None = None


@dataclass
class CohortPlan:
    """One cohort before it is written: schedule, status, enrolment plan and what happened in it."""

    id: int
    course: int  # index into Generator.courses
    status: str
    pattern: tuple
    district: str | None
    place: str | None
    n_enrol: int = 0
    n_sessions: int = 0
    held_share: float = 1.0
    special: str | None = None
    capacity: int = 30
    approval: bool = False
    code: str = ""
    name: str = ""
    start: date | None = None
    end: date | None = None
    slots: list[date] = field(default_factory=list)
    held: int = 0  # sessions that have taken place (attendance recorded)
    instructors: list[int] = field(default_factory=list)
    enrolments: list[tuple] = field(default_factory=list)  # (learner id, status, applied_at, other columns)
    seated: list[int] = field(default_factory=list)
    meets: dict[int, bool] = field(default_factory=dict)  # learner id → attendance at threshold
    session_ids: list[int] = field(default_factory=list)
    passed: set[int] = field(default_factory=set)
    published_on: date | None = None


# --- the generator ------------------------------------------------------------------------------


class Generator:
    """Plans and writes the whole data set; ``run`` returns the manifest."""

    def __init__(self, scale: float, seed: int, progress: Callable | None):
        from academy.common.timeutil import local_today, now_utc
        from academy.demo.base import catalogue_data, people_data

        self.scale, self.seed, self.progress = scale, seed, progress
        self.target = targets(scale)
        self.n = {key: max(1, round(value * scale)) for key, value in BASE.items()}
        self.rng = random.Random(seed)
        self.fixed = random.Random(f"fixed:{seed}")  # the fixed-shape records: independent of the scale
        self.now = now_utc().replace(microsecond=0)
        self.today = local_today(self.now)
        self.people = people_data()
        self.demo_courses = {c["code"]: c for c in catalogue_data()["courses"]}
        self.ids: Counter = Counter()
        self.timings: dict[str, float] = {}
        self.manifest: dict = {}
        self.fk_triggers_on = False

    def next_id(self, table: str) -> int:
        self.ids[table] += 1
        return self.ids[table]

    # --- driver ---------------------------------------------------------------------------------

    def run(self) -> dict:
        from academy.extensions import db

        started = clock.perf_counter()
        self.conn = db.session.connection()
        self._check_empty()
        if self.conn.dialect.name == "sqlite":
            self.conn.exec_driver_sql("PRAGMA cache_size=-262144")  # 256 MB: random index inserts stay in memory
        self.w = Writer(self.conn, db.metadata.sorted_tables)
        from academy.accounts.services import _hash

        self.password_hash = _hash(PASSWORD)
        for name, step in (("people", self.make_people), ("catalogue", self.write_catalogue),
                           ("enrolments", self.write_enrolments), ("attendance", self.make_attendance),
                           ("exams", self.make_exams), ("competitions", self.make_competitions),
                           ("certificates", self.make_certificates), ("finish", self.finish)):
            t0 = clock.perf_counter()
            before = Counter(self.w.rows)
            self._begin_phase()
            step()
            self.w.flush()
            db.session.commit()
            self.conn = db.session.connection()
            self.w.conn = self.conn
            self.timings[name] = round(clock.perf_counter() - t0, 2)
            if self.progress:
                self.progress(name, self.timings[name], dict(Counter(self.w.rows) - before))
        self.analyze()
        counts = table_counts()
        roles = role_counts()
        actual = {key: counts.get(key, 0) for key in self.target}
        actual["users_learners"] = roles.get("learner", 0)
        self.manifest.update(
            scale=self.scale, seed=self.seed, dialect=self.conn.dialect.name, password=PASSWORD,
            generated_at=self.now.isoformat(), today=self.today.isoformat(), counts=counts, roles=roles,
            targets=self.target, actual=actual,
            timings={"phases": self.timings, "insert_seconds": {k: round(v, 2) for k, v in self.w.seconds.items()},
                     "total": round(clock.perf_counter() - started, 2)})
        return self.manifest

    def _begin_phase(self) -> None:
        """PostgreSQL: load this phase's transaction without the per-row foreign-key triggers
        (``SET LOCAL session_replication_role = replica``, superuser only; it ends with the
        transaction); ``check_foreign_keys`` then checks every foreign key with one anti-join each.
        Without the privilege the triggers stay on. SQLite checks foreign keys on every insert."""
        if self.conn.dialect.name != "postgresql" or self.fk_triggers_on:
            return
        try:
            with self.conn.begin_nested():
                self.conn.exec_driver_sql("SET LOCAL session_replication_role = replica")
        except Exception:  # noqa: BLE001 - not a superuser: keep the triggers
            self.fk_triggers_on = True

    def check_foreign_keys(self) -> None:
        """Raise ``GeneratorError`` if any foreign key points at a missing row (PostgreSQL, after
        a load without triggers)."""
        from academy.extensions import db

        if self.conn.dialect.name != "postgresql" or self.fk_triggers_on:
            return
        t0 = clock.perf_counter()
        for table in db.metadata.sorted_tables:
            for fk in table.foreign_key_constraints:
                parent = fk.referred_table.name
                pairs = [(e.parent.name, e.column.name) for e in fk.elements]
                present = " AND ".join(f'c."{c}" IS NOT NULL' for c, _ in pairs)
                match = " AND ".join(f'p."{r}" = c."{c}"' for c, r in pairs)
                statement = (f'SELECT 1 FROM "{table.name}" c WHERE {present} AND NOT EXISTS '  # noqa: S608
                             f'(SELECT 1 FROM "{parent}" p WHERE {match}) LIMIT 1')
                if self.conn.exec_driver_sql(statement).first() is not None:
                    raise GeneratorError(f"foreign key {table.name}.{pairs[0][0]} → {parent} is broken")
        self.timings["check_foreign_keys"] = round(clock.perf_counter() - t0, 2)

    def _check_empty(self) -> None:
        from academy.extensions import db

        for table in db.metadata.sorted_tables:
            if self.conn.execute(table.select().limit(1)).first() is not None:
                raise GeneratorError(f"the database already has data (table {table.name}); use an empty one")

    def analyze(self) -> None:
        """Refresh the planner statistics (ANALYZE; on PostgreSQL VACUUM ANALYZE, which also sets
        the visibility map after the bulk load)."""
        from academy.extensions import db

        t0 = clock.perf_counter()
        if self.conn.dialect.name == "postgresql":
            db.session.commit()
            with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.exec_driver_sql("VACUUM ANALYZE")
        else:
            self.conn.exec_driver_sql("ANALYZE")
            db.session.commit()
        self.timings["analyze"] = round(clock.perf_counter() - t0, 2)
        if self.progress:
            self.progress("analyze", self.timings["analyze"], {})

    # --- people ---------------------------------------------------------------------------------

    def _person_pickers(self):
        p = self.people
        self.pick_surname = Weighted(p["surnames"])
        self.pick_group = Weighted(p["occupation_groups"])
        self.pick_district = Weighted(DISTRICT_WEIGHTS)
        self.pick_education = Weighted(p["education"])
        self.pick_political = Weighted(p["political_status"])
        self.pick_platform = {g: Weighted(w) for g, w in p["platforms"].items()}
        self.taken_ids: set[str] = set()
        self.taken_mobiles: set[str] = set()

    def _name(self, rng, gender: str) -> tuple[str, bool]:
        p = self.people
        if rng.random() < 0.012:
            minority = p["minority"]
            return f"{rng.choice(minority[gender])}·{rng.choice(minority['father'])}", True
        chars = p["given_male"] if gender == "男" else p["given_female"]
        given = rng.choice(chars) if rng.random() < 0.25 else rng.choice(chars) + rng.choice(chars)
        if rng.random() < 0.01:  # characters outside GB 2312 now and then: 堃, 喆
            given = given[:-1] + rng.choice(p["rare_given"][gender])
        return self.pick_surname.pick(rng) + given, False

    def _mobile(self, rng) -> str:
        prefixes = self.people["mobile_prefixes"]
        while True:
            value = f"{rng.choice(prefixes)}{rng.randrange(10 ** 8):08d}"
            if value not in self.taken_mobiles:
                self.taken_mobiles.add(value)
                return value

    def _id_number(self, rng, region: str, born: date, gender: str) -> str:
        from academy.common.ids import check_character

        while True:
            seq = rng.randrange(1, 500) * 2 - (1 if gender == "男" else 0)  # odd for men, even for women
            first17 = f"{region}{born:%Y%m%d}{seq:03d}"
            value = first17 + check_character(first17)
            if value not in self.taken_ids:
                self.taken_ids.add(value)
                return value

    def _person(self, rng, table_id: int, *, group: str | None, ages=(18, 58, 32), gender=None) -> Person:
        codes = self.people["district_codes"]
        if gender is None:
            share = self.people["female_share"].get(group, 0.35) if group else 0.45
            gender = "女" if rng.random() < share else "男"
        name, minority = self._name(rng, gender)
        age = int(rng.triangular(*ages))
        born = self.today - timedelta(days=age * 365 + rng.randrange(365))
        district = self.pick_district.pick(rng)
        if minority:
            region = rng.choice(self.people["minority"]["region_codes"])
        elif rng.random() < 0.9:
            region = codes[district]
        else:  # born in another county of Ganzhou
            region = rng.choice(list(codes.values()))
        return Person(table_id, name, self._mobile(rng), gender, born, self._id_number(rng, region, born, gender),
                      district=district, group=group)

    def make_people(self) -> None:
        """Plan everything that decides who is who (accounts, catalogue, who applied where and when),
        then write the accounts: a learner's registration comes before their first application."""
        self.plan_people()
        self.plan_catalogue()
        self.plan_enrolments()
        self.write_people()

    def plan_people(self) -> None:
        """Staff (admins, instructors, judges; the first of each is a fixed-shape record) and learners
        (the first 200 come from the scale-independent random stream)."""
        self._person_pickers()
        n = self.n
        rng = self.rng
        self.admins = [self._person(self.fixed if i == 0 else rng, self.next_id("users"), group=None,
                                    ages=(28, 55, 40)) for i in range(n["admins"] + 1)]
        self.instructors = [self._person(self.fixed if i == 0 else rng, self.next_id("users"), group=None,
                                         ages=(28, 60, 42)) for i in range(n["instructors"] + 1)]
        events = n["competition_events"]
        pool = JUDGES_PER_EVENT + max(0, math.ceil((events - 1) * JUDGES_PER_EVENT * 0.5))
        self.judges = [self._person(self.fixed if i < JUDGES_PER_EVENT else rng, self.next_id("users"), group=None,
                                    ages=(32, 60, 45)) for i in range(pool)]
        self.learners: list[Person] = []
        for i in range(self.target["users_learners"]):
            r = self.fixed if i < 200 else rng
            group = self.pick_group.pick(r)
            person = self._person(r, self.next_id("users"), group=group)
            person.platform = self.pick_platform[group].pick(r) or None
            self.learners.append(person)
        self.learner_by_id = {person.id: person for person in self.learners}
        self.first_applied: dict[int, datetime] = {}

    def write_people(self) -> None:
        """Write users and roles (after ``plan_enrolments``: registration precedes the first application)."""
        rng = self.rng
        start = self.now - timedelta(days=HISTORY_DAYS + 120)
        span = int((self.now - start).total_seconds())
        staff = [(p, "admin") for p in self.admins] + [(p, "instructor") for p in self.instructors] + \
                [(p, "judge") for p in self.judges]
        for person, role in staff:
            created = start + timedelta(seconds=rng.randrange(span // 3))
            last_login = min(self.now, created + timedelta(days=rng.randrange(HISTORY_DAYS)))
            self._write_user(person, created, last_login, None, None,
                             "本科" if rng.random() < 0.6 else "大专", "中共党员" if rng.random() < 0.4 else "群众")
            self.w.add("user_roles", {"id": self.next_id("user_roles"), "user_id": person.id, "role": role})
        for person in self.learners:
            first = self.first_applied.get(person.id)
            if first is None:  # registered, never applied (yet)
                created = start + timedelta(seconds=rng.randrange(span - 86400))
            else:  # registered shortly (up to a year) before the first application
                created = first - timedelta(minutes=30) - timedelta(seconds=rng.randrange(365 * 86400))
                created = max(created, min(start, first - timedelta(minutes=30)))
            last_login = None
            if first is not None or rng.random() < 0.3:
                last_login = max(created, self.now - timedelta(seconds=rng.randrange(90 * 86400)))
            political = self.pick_political.pick(rng)
            if political == "共青团员" and (self.today - person.born).days > 28 * 365:
                political = "群众"  # league members leave at 28
            self._write_user(person, created, last_login, person.group, person.platform,
                             self.pick_education.pick(rng), political)
            self.w.add("user_roles", {"id": self.next_id("user_roles"), "user_id": person.id, "role": "learner"})

    def _write_user(self, person: Person, created, last_login, group, platform, education, political) -> None:
        person.created_at = created
        self.w.add("users", {
            "id": person.id, "mobile": person.mobile, "name": person.name, "password_hash": self.password_hash,
            "id_number": person.id_number, "gender": person.gender, "birth_date": person.born,
            "district": person.district, "occupation_group": group, "platform": platform, "education": education,
            "political_status": political, "photo_path": None, "is_active_account": True, "session_version": 1,
            "last_login_at": last_login, "created_at": created, "updated_at": last_login or created,
        })

    # --- catalogue ------------------------------------------------------------------------------

    def plan_catalogue(self) -> None:
        """Plan courses and cohorts: statuses, weekly patterns, places, enrolment sizes and the number
        of sessions (tuned so that the attendance records come out at the target)."""
        self._plan_courses()
        self._plan_cohorts()
        self._plan_enrolment_sizes()
        self._plan_sessions()
        self._schedule()

    def _plan_courses(self) -> None:
        """Courses: every occupation at its levels and delivery modes (codes like ``DG-04``,
        ``PS-05H`` for a second mode), then programme runs of the same course (``DG-04-2 …
        （企业订单班）``) until the target is reached."""
        variants = []
        for prefix, label, occupation, occ_code, audience, levels, modes in OCCUPATIONS:
            variants.append([(prefix, label, occupation, occ_code, audience, level, mode, mode != modes[0])
                             for mode in modes for level in levels])
        combos = []
        for round_ in range(max(map(len, variants))):
            combos += [v[round_] for v in variants if round_ < len(v)]
        count = self.target["courses"]
        self.courses = []
        for k in range(count):
            prefix, label, occupation, occ_code, audience, level, mode, suffixed = combos[k % len(combos)]
            run = k // len(combos)
            code = f"{prefix}-{level:02d}" + (MODE_SUFFIX[mode] if suffixed else "") + (f"-{run + 1}" if run else "")
            hours = self.rng.choice(LEVEL_HOURS[level])
            demo = self.demo_courses.get(code)
            title = demo["title"] if demo else f"{occupation}（{LEVELS[level]}）技能培训" + (
                "（线上班）" if mode == "线上" else "")
            if run:
                title += f"（{PROGRAMMES[(run - 1) % len(PROGRAMMES)]}）"
            description = demo["description"] if demo else (
                f"面向新就业形态劳动者的{occupation}{LEVELS[level]}培训，共{hours}课时，"
                f"{'全部线上授课，用手机即可学习' if mode == '线上' else '理论讲解与实操练习结合'}。"
                "结业考核合格颁发培训合格证书，符合条件的可按规定申领职业技能提升补贴。")
            created = self.now - timedelta(days=HISTORY_DAYS + 150 - self.rng.randrange(100))
            self.courses.append({
                "id": self.next_id("courses"), "code": code, "title": title, "occupation": occupation,
                "occupation_code": occ_code, "level": LEVELS[level], "hours": hours, "delivery_mode": mode,
                "fee": Decimal("0"), "subsidy": LEVEL_SUBSIDY[level], "description": description,
                "is_published": True, "created_at": created, "updated_at": created,
                "label": label, "prefix": prefix, "audience": audience,
            })

    def _place(self, rng, district: str | None, mode: str) -> str | None:
        if mode == "线上" or district is None:
            return None
        if district == "瑞金市" and rng.random() < 0.5:
            return f"金小哥学院瑞金校区 {rng.choice(ROOMS)}"
        return district + rng.choice(VENUES).format(room=rng.choice(ROOMS))

    def _pattern(self, rng, mode: str) -> tuple:
        return ONLINE_PATTERN if mode == "线上" else rng.choice(PATTERNS)

    def _plan_cohorts(self) -> None:
        rng = self.rng
        self.cohorts: list[CohortPlan] = []
        f = self.fixed
        for special, course, status, pattern in (("run", 0, "running", PATTERNS[0]),
                                                 ("fin", 1, "finished", PATTERNS[2]),
                                                 ("open", 2, "open", PATTERNS[3])):
            district = "瑞金市" if special != "fin" else "章贡区"
            plan = CohortPlan(self.next_id("cohorts"), course, status, pattern, district,
                              self._place(f, district, "线下"), special=special)
            self.cohorts.append(plan)
        regular = self.target["cohorts"] - 3
        statuses = [s for s, share in zip([s for s, _ in STATUS_SHARES],
                                          _split(regular, [share for _, share in STATUS_SHARES]), strict=True)
                    for _ in range(share)]
        rng.shuffle(statuses)
        popularity = [1.0 + 3.0 * (c["prefix"] in ("PS", "KD", "DG", "ZB", "WC", "JZ")) for c in self.courses]
        pick_course = Weighted(dict(enumerate(popularity)))
        for status in statuses:
            course = pick_course.pick(rng)
            mode = self.courses[course]["delivery_mode"]
            district = None if mode == "线上" else self.pick_district.pick(rng)
            self.cohorts.append(CohortPlan(self.next_id("cohorts"), course, status, self._pattern(rng, mode),
                                           district, self._place(rng, district, mode),
                                           approval=rng.random() < 0.08))
        teachers = self.instructors[1:]
        for plan in self.cohorts:
            if plan.special:
                plan.instructors = [self.instructors[0].id]
            else:
                plan.instructors = [rng.choice(teachers).id] + ([rng.choice(teachers).id] if rng.random() < 0.15 else [])
                plan.instructors = sorted(set(plan.instructors))

    def _plan_enrolment_sizes(self) -> None:
        rng = self.rng
        specials = {"run": SPECIAL_RUN_LEARNERS, "fin": SPECIAL_FIN_LEARNERS, "open": SPECIAL_OPEN_LEARNERS}
        regular = [c for c in self.cohorts if not c.special]
        left = self.target["enrolments"] - sum(specials.values())
        weights = [ENROLMENT_WEIGHT[c.status] * rng.uniform(0.7, 1.3) for c in regular]
        for plan, size in zip(regular, _split(max(0, left), weights), strict=True):
            plan.n_enrol = size
        for plan in self.cohorts:
            if plan.special:
                plan.n_enrol = specials[plan.special]

    def _base_sessions(self, plan: CohortPlan) -> int:
        course = self.courses[plan.course]
        _, days, start, end, _ = plan.pattern
        hours = (datetime.combine(date.min, end) - datetime.combine(date.min, start)).seconds / 3600
        return max(6, min(36, round(course["hours"] / hours / 2)))

    def _plan_sessions(self) -> None:
        """Number of sessions per cohort, tuned to the attendance target: expected records = held
        sessions × applicants × 0.943 (withdrawn, removed and rejected ones do not attend) × 0.978
        (some absences are never marked, a few sessions are cancelled); both factors measured."""
        rng = self.rng
        keep = 0.978
        for plan in self.cohorts:
            if plan.special == "run":
                plan.n_sessions, plan.held = SPECIAL_RUN_SESSIONS, SPECIAL_RUN_HELD
            elif plan.special == "fin":
                plan.n_sessions = plan.held = SPECIAL_FIN_SESSIONS
            elif plan.special == "open":
                plan.n_sessions = SPECIAL_OPEN_SESSIONS
            else:
                plan.n_sessions = self._base_sessions(plan)
                plan.held_share = {"finished": 1.0, "running": rng.uniform(0.15, 0.9)}.get(plan.status, 0.0)
        special = SPECIAL_RUN_LEARNERS * SPECIAL_RUN_HELD + SPECIAL_FIN_LEARNERS * SPECIAL_FIN_SESSIONS
        goal = self.target["attendance_records"] - special
        regular = [c for c in self.cohorts if not c.special and c.status in ("finished", "running")]

        def seated(plan):
            return plan.n_enrol * 0.943

        def held(plan):
            if plan.status == "finished":
                return plan.n_sessions
            return min(plan.n_sessions - 1, max(1, round(plan.n_sessions * plan.held_share)))

        raw = sum(held(c) * seated(c) * keep for c in regular)
        if raw > 0 and goal > 0:
            ratio = goal / raw
            for plan in regular:
                plan.n_sessions = max(4, min(60, round(plan.n_sessions * ratio)))
            diff = goal - sum(held(c) * seated(c) * keep for c in regular)
            finished = [c for c in regular if c.status == "finished" and c.n_enrol > 0]
            for _ in range(200_000 if finished else 0):
                plan = rng.choice(finished)
                step = seated(plan) * keep
                if diff > step / 2 and plan.n_sessions < 60:
                    plan.n_sessions += 1
                    diff -= step
                elif diff < -step / 2 and plan.n_sessions > 4:
                    plan.n_sessions -= 1
                    diff += step
                elif abs(diff) <= step / 2:
                    break
        for plan in regular:
            plan.held = held(plan)

    def _slots(self, days: tuple, first: date, count: int, step: int) -> list[date]:
        out, day = [], first
        while len(out) < count:
            if day.weekday() in days:
                out.append(day)
            day += timedelta(days=step)
        return out if step > 0 else out[::-1]

    def _schedule(self) -> None:
        """Dates: slots of the weekly pattern, placed so that exactly ``held`` sessions are over now."""
        rng = self.rng
        today = self.today
        for plan in self.cohorts:
            _, days, start, end, _ = plan.pattern
            n = max(plan.n_sessions, 1)
            if plan.special == "fin":
                plan.slots = self._slots(days, today - timedelta(days=60), n, -1)
            elif plan.status == "finished":
                back = int(HISTORY_DAYS * (1 - math.sqrt(rng.random())))  # more cohorts recently
                plan.slots = self._slots(days, today - timedelta(days=10 + back), n, -1)
            elif plan.status == "running":
                last = today if _utc(today, end) <= self.now else today - timedelta(days=1)
                past = self._slots(days, last, plan.held, -1)
                first = today if _utc(today, start) > self.now + timedelta(hours=1) else today + timedelta(days=1)
                plan.slots = past + self._slots(days, first, n - plan.held, 1)
            elif plan.status == "open":
                offset = 5 if plan.special else rng.randint(4, 45)
                plan.slots = self._slots(days, today + timedelta(days=offset), n, 1)
            else:  # planned, cancelled: dates only
                offset = rng.randint(40, 120) if plan.status == "planned" else rng.randint(-200, 60)
                plan.slots = self._slots(days, today + timedelta(days=offset), n, 1)
            plan.start, plan.end = plan.slots[0], plan.slots[-1]
            if plan.status in ("planned", "cancelled"):
                plan.slots = []
        # codes and names: numbered per prefix and year in order of start
        numbers: Counter = Counter()
        for plan in sorted(self.cohorts, key=lambda c: (c.start, c.id)):
            course = self.courses[plan.course]
            numbers[course["prefix"], plan.start.year] += 1
            k = numbers[course["prefix"], plan.start.year]
            plan.code = f"{course['prefix']}{plan.start.year % 100:02d}{k:02d}"
            plan.name = f"{plan.start.year}年第{k}期{course['label']}班（{plan.pattern[4]}）"

    def write_catalogue(self) -> None:
        rng = self.rng
        for course in self.courses:
            row = {k: v for k, v in course.items() if k not in ("label", "prefix", "audience")}
            row["updated_at"] = row["created_at"]
            self.w.add("courses", row)
        for plan in self.cohorts:
            opens, closes = self.window(plan)
            seats = sum(1 for _, status, _, _ in plan.enrolments if status in ("pending", "enrolled"))
            created = min(opens - timedelta(days=rng.randint(1, 20)), self.now - timedelta(days=1))
            self.w.add("cohorts", {
                "id": plan.id, "code": plan.code, "course_id": self.courses[plan.course]["id"], "name": plan.name,
                "start_date": plan.start, "end_date": plan.end, "schedule_text": plan.pattern[0], "place": plan.place,
                "district": plan.district, "capacity": plan.capacity, "enrolment_opens_at": opens,
                "enrolment_closes_at": closes, "approval_required": plan.approval, "status": plan.status,
                "attendance_threshold": Decimal("0.800"), "excused_policy": "exclude", "seats_taken": seats,
                "lock_version": len(plan.enrolments), "created_at": created,
                "updated_at": max(created, min(self.now, _utc(plan.end, time(22, 0)))),
            })
            _, days, start, end, _ = plan.pattern
            for weekday in days:
                self.w.add("cohort_meetings", {"id": self.next_id("cohort_meetings"), "cohort_id": plan.id,
                                               "weekday": weekday, "start_time": start, "end_time": end})
            for user_id in plan.instructors:
                self.w.add("cohort_instructors", {"cohort_id": plan.id, "user_id": user_id})

    def window(self, plan: CohortPlan) -> tuple[datetime, datetime]:
        """Enrolment window (UTC): a month before the start, closing the evening before it; for a
        cohort taking applications now it opened within the last two weeks."""
        opens = _utc(plan.start - timedelta(days=30), time(9, 0))
        closes = _utc(plan.start - timedelta(days=1), time(22, 0))
        if plan.status == "open" and opens > self.now:
            opens = _utc(self.today - timedelta(days=1 + plan.id % 14), time(9, 0))
        return opens, closes

    # --- enrolments -----------------------------------------------------------------------------

    def plan_enrolments(self) -> None:
        """Choose each cohort's applicants (the course's audience and the cohort's district first,
        never two cohorts of one course for the same learner, the manifest learner only in the
        fixed-shape cohorts) and decide their statuses and times."""
        learners = self.learners
        by_group: dict[str, list[int]] = defaultdict(list)
        by_group_district: dict[tuple, list[int]] = defaultdict(list)
        for i, person in enumerate(learners):
            by_group[person.group].append(i)
            by_group_district[person.group, person.district].append(i)
        self.taken: set[tuple[int, int]] = set()  # (learner index, course index)
        excluded = {0}  # the manifest learner
        count = len(learners)
        members = {  # the fixed-shape cohorts: learners 0–59; 0 and 60–98; 0 and 99–127
            "run": list(range(SPECIAL_RUN_LEARNERS)),
            "fin": [0] + [(60 + i) % count for i in range(SPECIAL_FIN_LEARNERS - 1)],
            "open": [0] + [(99 + i) % count for i in range(SPECIAL_OPEN_LEARNERS - 1)],
        }
        for plan in self.cohorts:
            for i in members.get(plan.special, ()):
                self.taken.add((i, plan.course))
        for plan in self.cohorts:
            if plan.special:
                chosen = members[plan.special]
            else:
                chosen = self._choose(plan, by_group, by_group_district, excluded)
            self._decide(plan, chosen, self.fixed if plan.special else self.rng)

    def write_enrolments(self) -> None:
        for plan in self.cohorts:
            for learner_id, status, applied, extra in plan.enrolments:
                row = {"id": self.next_id("enrolments"), "learner_id": learner_id, "cohort_id": plan.id,
                       "status": status, "applied_at": applied, "enrolled_at": None, "waitlist_seq": None,
                       "decided_by_id": None, "decided_at": None, "decision_reason": None, "source": "self",
                       "created_at": applied, "updated_at": applied}
                row.update(extra)
                self.w.add("enrolments", row)

    def _choose(self, plan, by_group, by_group_district, excluded) -> list[int]:
        rng = self.rng
        audience = self.courses[plan.course]["audience"]
        chosen: list[int] = []
        inside: set[int] = set()
        everyone = len(self.learners)
        for _ in range(plan.n_enrol):
            for attempt in range(30):
                r = rng.random()
                group = audience[int(rng.random() * len(audience))]
                if attempt < 20 and r < 0.55 and plan.district:
                    pool = by_group_district.get((group, plan.district)) or by_group[group]
                elif attempt < 20 and r < 0.85:
                    pool = by_group[group] or range(everyone)
                else:
                    pool = range(everyone)
                i = pool[int(rng.random() * len(pool))]
                if i not in excluded and i not in inside and (i, plan.course) not in self.taken:
                    break
            else:
                continue
            inside.add(i)
            self.taken.add((i, plan.course))
            chosen.append(i)
        return chosen

    def _decide(self, plan: CohortPlan, chosen: list[int], rng: random.Random) -> None:
        """Statuses and times of the cohort's applications, as the enrolment service leaves them:
        seats in order of application (PENDING while an approval is due), the FIFO waitlist once
        full, some withdrawn two days after applying, a few removed by an administrator."""
        opens, closes = self.window(plan)
        last = min(closes, self.now - timedelta(minutes=30))
        if last <= opens:  # a planned cohort: the administrator imported a list in the last days
            opens, last = self.now - timedelta(days=10), self.now - timedelta(hours=1)
        span = int((last - opens).total_seconds())
        moments = sorted(opens + timedelta(seconds=rng.randrange(span)) for _ in chosen)
        staff = self.admins[1:] or self.admins
        admin = self.admins[0].id if plan.special else staff[plan.id % len(staff)].id
        n = len(chosen)
        if plan.special:
            plan.capacity = {"run": n, "fin": n + 5, "open": n + 10}[plan.special]
        elif plan.status in ("finished", "running"):
            plan.capacity = max(20, math.ceil(n * rng.uniform(1.0, 1.15) / 5) * 5)
        elif plan.status == "open" and n > 10 and rng.random() < 0.12:
            plan.capacity = n - max(1, n // 10)  # full: the last applicants wait
        else:
            plan.capacity = max(20, math.ceil(max(n, 1) * rng.uniform(1.1, 2.0) / 5) * 5)
        seats = waitlist = 0
        for i, applied in zip(chosen, moments, strict=True):
            person = self.learners[i]
            self.first_applied[person.id] = min(self.first_applied.get(person.id, applied), applied)
            extra: dict = {"source": "import" if plan.status == "planned" else "self"}
            status = "enrolled"
            r = 0.5 if plan.special else rng.random()
            if plan.approval:
                decided = min(applied + timedelta(hours=rng.uniform(2, 48)), self.now - timedelta(minutes=5))
                if plan.status == "open" and r > 0.6:
                    status = "pending"
                elif r < 0.03:
                    status = "rejected"
                    extra.update(decided_by_id=admin, decided_at=decided,
                                 decision_reason="未提供从业证明，请在“我的资料”里补充后再报名")
                else:
                    extra.update(decided_by_id=admin, decided_at=decided, enrolled_at=decided)
            else:
                extra["enrolled_at"] = applied
            if status in ("enrolled", "pending"):
                if seats >= plan.capacity:
                    waitlist += 1
                    status = "waitlisted"
                    extra = {"waitlist_seq": waitlist, "source": extra["source"]}
                else:
                    seats += 1
                    if status == "enrolled" and r > 0.965:
                        status = "withdrawn"
                        seats -= 1
                        extra["updated_at"] = min(applied + timedelta(days=2), self.now - timedelta(minutes=5))
                    elif status == "enrolled" and r > 0.955 and plan.status in ("finished", "running"):
                        status = "removed"
                        seats -= 1
                        extra.update(decided_by_id=admin, decision_reason="多次联系不上，本人同意退出",
                                     decided_at=min(applied + timedelta(days=3), self.now - timedelta(minutes=5)))
            if status == "enrolled":
                plan.seated.append(person.id)
            plan.enrolments.append((person.id, status, applied, extra))

    # --- attendance -----------------------------------------------------------------------------

    def make_attendance(self) -> None:
        """Sessions of every scheduled cohort; for each held one the rows ``check_in``, leave
        approval and "mark the unmarked absent" write (a record and its first history row)."""
        from academy.attendance.demo import LEAVE_REASONS, TOPICS

        self.leave_reasons, self.topics = LEAVE_REASONS, TOPICS
        for plan in self.cohorts:
            if plan.slots:
                self._cohort_sessions(plan, self.fixed if plan.special else self.rng)

    def _cohort_sessions(self, plan: CohortPlan, rng: random.Random) -> None:
        w = self.w
        _, _, start_t, end_t, _ = plan.pattern
        teacher = plan.instructors[0]
        n = len(plan.slots)
        cancel_at = rng.randrange(n) if not plan.special and rng.random() < 0.15 and n > 6 else None
        held_sessions = []
        for k, day in enumerate(plan.slots):
            sid = self.next_id("class_sessions")
            starts, ends = _utc(day, start_t), _utc(day, end_t)
            topic = self.topics[0] if k == 0 else ("结业考核准备" if k == n - 1 else
                                                   self.topics[1 + k % (len(self.topics) - 1)])
            cancelled = k == cancel_at
            w.add("class_sessions", {
                "id": sid, "cohort_id": plan.id, "public_code": _token(rng), "starts_at": starts, "ends_at": ends,
                "place": plan.place, "topic": topic, "status": "cancelled" if cancelled else "scheduled",
                "cancel_reason": CANCEL_REASON if cancelled else None, "opens_before_minutes": 15,
                "late_after_minutes": 15, "closes_after_minutes": 0, "rotation_seconds": 30,
                "created_at": min(_utc(plan.start, time(9, 0)) - timedelta(days=7), self.now),
                "updated_at": min(_utc(plan.start, time(9, 0)) - timedelta(days=7), self.now),
            })
            plan.session_ids.append(sid)
            if k < plan.held and not cancelled:
                held_sessions.append((sid, starts, ends))
        if not held_sessions or not plan.seated:
            return
        seated = plan.seated
        reliability = {lid: rng.uniform(0.85, 0.99) for lid in seated}
        if plan.special:
            reliability = {lid: rng.uniform(0.93, 0.99) for lid in seated}
            reliability[self.learners[0].id] = 1.0
        else:
            for lid in rng.sample(seated, min(len(seated) // 20 + 1, len(seated))):
                reliability[lid] = rng.uniform(0.45, 0.7)
        attended = Counter()
        counted = Counter()
        missed = Counter()
        leave_share = 0.02 if plan.special else 0.03
        opens_before = timedelta(minutes=15)
        late_after = timedelta(minutes=15)
        record_id, change_id = self.ids["attendance_records"], self.ids["attendance_changes"]
        random_ = rng.random
        for sid, starts, ends in held_sessions:
            opens, late = starts - opens_before, starts + late_after
            window = int((opens_before + late_after).total_seconds())
            mark_absent = plan.special or random_() < 0.7
            absent_at = ends + timedelta(minutes=5 + int(random_() * 50))
            for lid in seated:
                d = random_()
                r = reliability[lid]
                if plan.special and missed[lid] >= 2:
                    d = 0.0  # the fixed cohorts' learners all stay above the threshold
                if d < r:
                    if random_() < 0.1:
                        at = late + timedelta(seconds=int(random_() * 2400))
                        if at >= ends:
                            at = ends - timedelta(seconds=60)
                    else:
                        at = opens + timedelta(seconds=int(random_() * window))
                    status = "late" if at >= late else "present"
                    source = "code" if random_() < 0.1 else "qr"
                    record_id += 1
                    w.add("attendance_records", {
                        "id": record_id, "session_id": sid, "learner_id": lid, "status": status, "source": source,
                        "checked_in_at": at, "note": None, "marked_by_id": lid, "marked_at": at})
                    change_id += 1
                    w.add("attendance_changes", {
                        "id": change_id, "session_id": sid, "learner_id": lid, "old_status": None,
                        "new_status": status, "note": None, "source": source, "changed_by_id": lid,
                        "changed_at": at})
                    attended[lid] += 1
                    counted[lid] += 1
                elif d < r + leave_share:
                    missed[lid] += 1
                    asked = starts - timedelta(hours=3 + int(random_() * 27))
                    decided = asked + timedelta(hours=1)
                    reason = self.leave_reasons[int(random_() * len(self.leave_reasons))]
                    note = f"请假：{reason}"
                    w.add("leave_requests", {
                        "id": self.next_id("leave_requests"), "session_id": sid, "learner_id": lid,
                        "reason": reason, "status": "approved", "requested_at": asked, "decided_by_id": teacher,
                        "decided_at": decided, "decision_note": None})
                    record_id += 1
                    w.add("attendance_records", {
                        "id": record_id, "session_id": sid, "learner_id": lid, "status": "excused",
                        "source": "leave", "checked_in_at": None, "note": note, "marked_by_id": teacher,
                        "marked_at": decided})
                    change_id += 1
                    w.add("attendance_changes", {
                        "id": change_id, "session_id": sid, "learner_id": lid, "old_status": None,
                        "new_status": "excused", "note": note, "source": "leave", "changed_by_id": teacher,
                        "changed_at": decided})
                else:
                    counted[lid] += 1
                    missed[lid] += 1
                    if mark_absent:
                        record_id += 1
                        w.add("attendance_records", {
                            "id": record_id, "session_id": sid, "learner_id": lid, "status": "absent",
                            "source": "roll_call", "checked_in_at": None, "note": None, "marked_by_id": teacher,
                            "marked_at": absent_at})
                        change_id += 1
                        w.add("attendance_changes", {
                            "id": change_id, "session_id": sid, "learner_id": lid, "old_status": None,
                            "new_status": "absent", "note": None, "source": "roll_call", "changed_by_id": teacher,
                            "changed_at": absent_at})
        self.ids["attendance_records"], self.ids["attendance_changes"] = record_id, change_id
        for lid in seated:  # rate = (present + late) / held, excused left out (the default policy)
            plan.meets[lid] = counted[lid] == 0 or attended[lid] / counted[lid] >= 0.8

    # --- exams ----------------------------------------------------------------------------------

    def make_exams(self) -> None:
        """Assessments (结业考核) with attempts and marks for finished cohorts (published, with 补考 for
        some who failed), the fixed running cohort (entered, not yet published) and the running
        cohorts near their end (created, no marks yet). Components per assessment (2–4) are
        tuned so that the scores come out at the target."""
        rng = self.rng
        plans = []  # (plan, eligible learner ids, outcomes {lid: "pass"|"fail"|"absent"}, resit ids, resit outcomes)
        for plan in self.cohorts:
            if plan.status == "finished" or plan.special == "run":
                r = self.fixed if plan.special else rng
                eligible = [lid for lid in plan.seated if plan.meets.get(lid)]
                outcomes = {}
                for lid in eligible:
                    x = r.random()
                    outcomes[lid] = "pass" if x < 0.9 or plan.special else ("absent" if x > 0.99 else "fail")
                if plan.special == "fin":
                    outcomes[self.learners[0].id] = "pass"
                resit_ids, resit_outcomes = [], {}
                last_day = plan.slots[-1] if plan.slots else plan.end
                if plan.status == "finished" and last_day + timedelta(days=20) < self.today and not plan.special:
                    resit_ids = [lid for lid, o in outcomes.items() if o != "pass" and r.random() < 0.7]
                    resit_outcomes = {lid: "pass" if r.random() < 0.8 else "fail" for lid in resit_ids}
                plans.append([plan, eligible, outcomes, resit_ids, resit_outcomes, 2])
        base = sum(2 * (len(e) + len(rs)) for _, e, _, rs, _, _ in plans)
        goal = self.target["exam_scores"]
        adjustable = [p for p in plans if not p[0].special]
        rng.shuffle(adjustable)
        for width in (3, 4):  # widen assessments while that brings the total closer to the goal
            for p in adjustable:
                grow = len(p[1]) + len(p[3])
                if p[5] == width - 1 and abs(base + grow - goal) < abs(base - goal):
                    p[5] = width
                    base += grow
        for p in adjustable:  # too many scores (small scales): some finished cohorts had no exam
            size = p[5] * (len(p[1]) + len(p[3]))
            if size and abs(base - size - goal) < abs(base - goal):
                base -= size
                p[1], p[3], p[5] = [], [], 0
        for plan, eligible, outcomes, resit_ids, resit_outcomes, width in plans:
            if width:
                self._assessment(plan, eligible, outcomes, resit_ids, resit_outcomes, width,
                                 self.fixed if plan.special else rng)
        for plan in self.cohorts:  # running cohorts close to the end: the assessment is set up
            if plan.status == "running" and not plan.special and plan.n_sessions and \
                    plan.held / plan.n_sessions >= 0.85:
                self._assessment(plan, [], {}, [], {}, 2, rng)

    def _assessment(self, plan, eligible, outcomes, resit_ids, resit_outcomes, width, rng) -> None:
        w = self.w
        teacher = plan.instructors[0]
        admin = self.admins[0].id
        last_day = plan.slots[-1] if plan.slots else plan.end
        if plan.special == "run":
            last_day = plan.slots[plan.held - 1]
        held_on = last_day
        published = plan.status == "finished"
        published_at = _utc(held_on + timedelta(days=2 + rng.randrange(4)), time(10, 0)) if published else None
        if published_at and published_at > self.now:
            published_at = self.now - timedelta(hours=1)
        created = _utc(plan.start, time(9, 0)) + timedelta(days=7)
        aid = self.next_id("assessments")
        if plan.special == "run":
            self.manifest["cohort_assessment_id"] = aid
        w.add("assessments", {
            "id": aid, "cohort_id": plan.id, "title": "结业考核", "held_on": held_on, "pass_rule": "all_components",
            "pass_mark": Decimal(60), "attempt_policy": "best", "resit_of_id": None, "published_at": published_at,
            "published_by_id": admin if published else None, "first_published_at": published_at,
            "created_by_id": teacher, "lock_version": 1 if published else 0, "created_at": min(created, self.now),
            "updated_at": published_at or min(created, self.now)})
        components = self._components(aid, width)
        marks_at = min(_utc(held_on, time(20, 0)) + timedelta(days=1), self.now - timedelta(minutes=10))
        source = "import" if rng.random() < 0.2 else "gradebook"
        for lid in eligible:
            self._attempt(aid, lid, 1, components, outcomes[lid], marks_at, teacher, source, rng)
        if published:
            plan.published_on = (published_at + CST).date()
            plan.passed = {lid for lid, o in outcomes.items() if o == "pass"}
        if resit_ids:
            rid = self.next_id("assessments")
            resit_day = held_on + timedelta(days=14)
            resit_published = _utc(resit_day + timedelta(days=3), time(10, 0))
            w.add("assessments", {
                "id": rid, "cohort_id": plan.id, "title": "补考", "held_on": resit_day, "pass_rule": "all_components",
                "pass_mark": Decimal(60), "attempt_policy": "best", "resit_of_id": aid,
                "published_at": resit_published, "published_by_id": admin, "first_published_at": resit_published,
                "created_by_id": teacher, "lock_version": 1, "created_at": published_at + timedelta(days=1),
                "updated_at": resit_published})
            resit_components = self._components(rid, width)
            at = _utc(resit_day, time(20, 0)) + timedelta(days=1)
            for lid in resit_ids:
                self._attempt(rid, lid, 2, resit_components, resit_outcomes[lid], at, teacher, "gradebook", rng)
            plan.passed |= {lid for lid, o in resit_outcomes.items() if o == "pass"}
            plan.published_on = (resit_published + CST).date()

    def _components(self, assessment_id: int, width: int) -> list[int]:
        ids = []
        for position, (name, weight) in enumerate(COMPONENT_SETS[width]):
            cid = self.next_id("assessment_components")
            self.w.add("assessment_components", {
                "id": cid, "assessment_id": assessment_id, "position": position, "name": name,
                "max_points": Decimal(100), "pass_mark": Decimal(60), "weight": weight})
            ids.append(cid)
        return ids

    def _attempt(self, aid, lid, number, components, outcome, at, teacher, source, rng) -> None:
        w = self.w
        attempt_id = self.next_id("exam_attempts")
        w.add("exam_attempts", {"id": attempt_id, "assessment_id": aid, "learner_id": lid, "attempt_no": number,
                                "created_by_id": teacher, "created_at": at, "updated_at": at})
        ability = rng.gauss(78, 9)
        halves = []
        for _ in components:
            value = int(round(2 * max(0.0, min(100.0, rng.gauss(ability, 7)))))
            if outcome == "pass" and value < 120:
                value = 120 + rng.randrange(40)
            halves.append(value)
        if outcome == "fail":
            worst = min(range(len(halves)), key=halves.__getitem__)
            halves[worst] = min(halves[worst], 70 + rng.randrange(49))
        for component_id, value in zip(components, halves, strict=True):
            points = None if outcome == "absent" else Decimal(value) / 2
            absent = outcome == "absent"
            w.add("exam_scores", {"id": self.next_id("exam_scores"), "attempt_id": attempt_id,
                                  "component_id": component_id, "points": points, "absent": absent,
                                  "updated_at": at, "updated_by_id": teacher})
            w.add("exam_score_changes", {
                "id": self.next_id("exam_score_changes"), "attempt_id": attempt_id, "component_id": component_id,
                "old_points": None, "old_absent": False, "new_points": points, "new_absent": absent,
                "reason": None, "source": source, "changed_by_id": teacher, "changed_at": at})

    # --- competitions ---------------------------------------------------------------------------

    def make_competitions(self) -> None:
        """Editions and events through the competitions services (validation, audit), entries,
        draws, check-ins, the judges' score sheets and theory scores as rows, then the chief judge's
        lock and the publication through the services, which compute the published results."""
        from academy.accounts.models import User
        from academy.competitions import services
        from academy.competitions.demo import EDITION_ORGANISERS, SCHEME
        from academy.competitions.marking import AspectSpec, replace_scheme
        from academy.extensions import db

        self.w.flush()
        self._sync_sequences()
        admin = db.session.get(User, self.admins[0].id)
        self.awards: list[dict] = []
        count = self.n["competition_events"]
        years = [self.today.year - 1] + ([self.today.year - 2, self.today.year] if count > 1 else [])
        editions = {}
        for year in sorted(years):
            editions[year] = services.save_edition(None, services.EditionValues(
                name=f"{year}年“虔能杯”新就业形态劳动者职业技能竞赛", year=year, organisers=EDITION_ORGANISERS,
                starts_on=date(year, 5, 1), ends_on=date(year, 11, 30), place="赣州市章贡区 赣州职工技能实训基地",
                rules="理论知识考试占30%，操作技能比赛占70%，各按100分计；总成绩保留两位小数。"), actor=admin)
        judges = [db.session.get(User, j.id) for j in self.judges]
        regular_judges = judges[JUDGES_PER_EVENT:] or judges
        plans = [("special", self.today.year - 1, EVENTS[0], judges[:JUDGES_PER_EVENT], self.fixed)]
        for k in range(count - 1):
            year = years[k % len(years)]
            spec = EVENTS[(k + 1) % len(EVENTS)]
            panel = self.rng.sample(regular_judges, min(JUDGES_PER_EVENT, len(regular_judges)))
            plans.append((k, year, spec, panel, self.rng))
        used_names: set = set()
        for key, year, spec, panel, rng in plans:
            name, occupation, occ_code, groups = spec
            while (year, name) in used_names:
                name += "（第二赛场）"
            used_names.add((year, name))
            day = self._contest_day(year, rng)
            opens, closes = _utc(day - timedelta(days=45), time(9, 0)), _utc(day - timedelta(days=10), time(18, 0))
            entries = SPECIAL_EVENT_ENTRIES if key == "special" else rng.randint(40, 80)
            event = services.save_event(None, services.EventValues(
                name=name, occupation=occupation, occupation_code=occ_code, level="三级/高级工", contest_date=day,
                place="赣州职工技能实训基地", registration_opens_at=opens, registration_closes_at=closes,
                capacity=entries + 20, eligible_groups=groups, min_age=18, max_age=60),
                list(services.DEFAULT_COMPONENTS),
                [services.AwardSpec("一等奖", 1, title="赣州市技术能手", level_note="符合条件的可晋升二级/技师"),
                 services.AwardSpec("二等奖", 2, title="赣州市技术能手"), services.AwardSpec("三等奖", 3),
                 services.AwardSpec("优胜奖", 3)], edition=editions[year], actor=admin)
            scheme = SCHEME if occupation == "网约配送员" else [
                (sub.format(occ=name), aspect, kind, marks, partial, note)
                for sub, aspect, kind, marks, partial, note in GENERIC_SCHEME]
            replace_scheme(event, [AspectSpec(sub, aspect, kind, Decimal(marks), "trimmed" if kind == "J" else "mean",
                                              [Decimal(p) for p in partial] if partial else None, note)
                                   for sub, aspect, kind, marks, partial, note in scheme], actor=admin)
            services.set_status(event, "registration", actor=admin)
            for i, judge in enumerate(panel):
                services.assign_judge(event, judge, is_chief=i == 0, actor=admin)
            services.set_status(event, "contest", actor=admin)
            publish = key == "special" or rng.random() < 0.85
            self._contest(event, day, entries, groups, panel, admin, rng, publish)
            if key == "special":
                self.manifest["event_code"] = event.public_code

    def _contest_day(self, year: int, rng) -> date:
        last = min(date(year, 11, 20), self.today - timedelta(days=5))
        first = min(date(year, 5, 20), last)
        return first + timedelta(days=rng.randrange((last - first).days + 1))

    def _contest(self, event, day, size, groups, panel, admin, rng, publish) -> None:
        from academy.competitions import judging, results
        from academy.competitions.draw import draw_numbers
        from academy.competitions.marking import scheme_aspects
        from academy.extensions import db

        w = self.w
        if not hasattr(self, "contestants"):  # learners by occupation group (the manifest learner never enters)
            self.contestants = defaultdict(list)
            for person in self.learners[1:]:
                self.contestants[person.group].append(person)
        eligible = [p for g in groups for p in self.contestants[g] if 18 <= (day - p.born).days // 365 <= 60]
        chosen = rng.sample(eligible, min(size + 3, len(eligible)))
        opens, closes = event.registration_opens_at, event.registration_closes_at
        span = int((closes - opens).total_seconds()) - 7200
        approved = []
        for n, person in enumerate(chosen):
            applied = opens + timedelta(seconds=rng.randrange(span))
            decided = applied + timedelta(hours=rng.randint(2, 30))
            status = "approved" if n < size else ("rejected" if n == size else "withdrawn")
            eid = self.next_id("competition_entries")
            row = {"id": eid, "event_id": event.id, "learner_id": person.id, "code": _token(rng), "status": status,
                   "source": "self", "platform": person.platform, "district": person.district, "applied_at": applied,
                   "decided_by_id": admin.id, "decided_at": decided,
                   "decision_reason": REJECTION if status == "rejected" else None, "number": None,
                   "checked_in_at": None, "checked_in_by_id": None, "time_used_seconds": None,
                   "created_at": applied, "updated_at": decided}
            if status == "approved":
                approved.append(row)
            else:
                w.add("competition_entries", row)
        seed = f"{rng.getrandbits(64):016x}"
        numbers = draw_numbers(seed, [r["id"] for r in approved])
        present = []
        for row in approved:
            row["number"] = numbers[row["id"]]
            if rng.random() < 0.96:
                row["checked_in_at"] = _utc(day, time(7, 30)) + timedelta(seconds=rng.randrange(3600))
                row["checked_in_by_id"] = admin.id
                row["time_used_seconds"] = 420 + rng.randrange(300)
                row["updated_at"] = row["checked_in_at"]
                present.append(row)
            w.add("competition_entries", row)
        theory = event.component("theory")
        aspects = scheme_aspects(event)
        recusal = None
        if len(present) > 5 and rng.random() < 0.3:
            recusal = (rng.choice(present)["id"], panel[-1].id)
            w.add("competition_recusals", {
                "id": self.next_id("competition_recusals"), "event_id": event.id, "judge_id": panel[-1].id,
                "entry_id": recusal[0], "relation": RECUSAL[0], "reason": RECUSAL[1], "declared_by_id": panel[-1].id,
                "declared_at": _utc(day, time(8, 50))})
        for n, row in enumerate(sorted(present, key=lambda r: r["number"])):
            level = max(55, min(99, 62 + rng.randint(0, 20) + rng.randint(0, 18)))
            theory_at = _utc(day, time(11, 0))
            absent = rng.random() < 0.01
            value = None if absent else Decimal(max(110, min(200, level * 2 + rng.randint(-16, 12)))) / 2
            w.add("competition_component_scores", {"id": self.next_id("competition_component_scores"),
                                                   "entry_id": row["id"], "component_id": theory.id, "value": value,
                                                   "absent": absent})
            w.add("competition_score_changes", {
                "id": self.next_id("competition_score_changes"), "event_id": event.id, "entry_id": row["id"],
                "judge_id": None, "aspect_id": None, "component_id": theory.id, "old_value": None, "new_value": value,
                "note": "absent" if absent else "import", "actor_id": admin.id, "at": theory_at})
            at = _utc(day, time(9, 0)) + timedelta(minutes=6 * n + 4)
            skill = max(50, min(100, level + rng.randint(-8, 8)))
            for judge in panel:
                if recusal == (row["id"], judge.id):
                    continue
                sheet = self.next_id("competition_score_sheets")
                w.add("competition_score_sheets", {"id": sheet, "event_id": event.id, "entry_id": row["id"],
                                                   "judge_id": judge.id, "status": "submitted", "submitted_at": at,
                                                   "updated_at": at})
                for aspect in aspects:
                    value = _judge_value(rng, aspect, skill)
                    w.add("competition_scores", {"id": self.next_id("competition_scores"), "sheet_id": sheet,
                                                 "aspect_id": aspect.id, "value": value})
                    w.add("competition_score_changes", {
                        "id": self.next_id("competition_score_changes"), "event_id": event.id,
                        "entry_id": row["id"], "judge_id": judge.id, "aspect_id": aspect.id, "component_id": None,
                        "old_value": None, "new_value": value, "note": "submit", "actor_id": judge.id, "at": at})
        w.flush()
        db.session.expire_all()
        event.draw_seed, event.drawn_at, event.drawn_by_id = seed, _utc(day - timedelta(days=3), time(10, 0)), admin.id
        db.session.flush()
        if not publish:
            return
        chief = panel[0]
        judging.lock_scores(event, actor=chief, now=_utc(day, time(17, 30)))
        published = results.publish(event, actor=admin, now=_utc(day + timedelta(days=2), time(10, 0)))
        db.session.flush()
        issued = min(day + timedelta(days=2), self.today)
        for result in published:
            if result.award:
                self.awards.append({"learner_id": result.entry.learner_id, "edition": event.edition.name,
                                    "event": event.name, "award": result.award, "rank": result.rank,
                                    "title": result.title, "level_note": result.level_note, "issued_on": issued})

    # --- certificates ---------------------------------------------------------------------------

    def make_certificates(self) -> None:
        """Completion certificates for eligible learners (enrolled, attendance at the threshold,
        published assessment passed) of finished cohorts, award certificates for the published
        competition winners, a few revoked and a few reissued ones; serials from per-course
        sequences in order of issue, as ``serials.next_value`` would have handed them out."""
        import hashlib

        from flask import current_app

        from academy.common.masking import mask_id_number
        from academy.common.text import clean

        rng = self.rng
        issuer = current_app.config.get("ACADEMY_NAME", "")
        self.w.add("certificate_settings", {
            "id": 1, "issuer_name": None, "completion_title": "培训合格证书", "completion_prefix": "JXG",
            "special_prefix": "JXZ", "award_prefix": "JXJ", "authorised_units": [], "is_evaluation_org": False,
            "evaluation_org_name": None, "org_type": None, "org_code": None, "province_code": None,
            "site_code": None, "seal_path": None, "updated_by_id": None, "lock_version": 0,
            "created_at": self.now, "updated_at": self.now})
        goal = self.target["certificates"]
        reissues = max(0, round(goal * 0.002)) if goal > 200 else 0
        pool = []  # (plan, learner ids)
        special = None
        for plan in self.cohorts:
            if plan.status != "finished" or not plan.passed or plan.published_on is None:
                continue
            ids = [lid for lid in plan.seated if lid in plan.passed and plan.meets.get(lid)]
            if plan.special == "fin":
                special = (plan, ids)
            elif plan.published_on + timedelta(days=3) <= self.today:
                pool.append((plan, ids))
        budget = goal - len(self.awards) - reissues - (len(special[1]) if special else 0)
        rng.shuffle(pool)
        chosen = [special] if special else []
        for plan, ids in pool:
            if budget <= 0:
                break
            take = ids if len(ids) <= budget else sorted(ids)[:budget]
            chosen.append((plan, take))
            budget -= len(take)
        certificates = []
        for plan, ids in chosen:
            course = self.courses[plan.course]
            issued_on = min(plan.published_on + timedelta(days=3 + (0 if plan.special else rng.randrange(10))),
                            self.today)
            for lid in ids:
                person = self.learner_by_id[lid]
                certificates.append({
                    "kind": "completion", "key": f"JXG-{issued_on.year}-{_segment(course['code'])}",
                    "prefix": "JXG", "course_code": course["code"], "issue_key": f"completion:{plan.id}:{lid}",
                    "learner_id": lid, "cohort_id": plan.id, "course_id": course["id"], "holder_name": person.name,
                    "holder_id_masked": mask_id_number(person.id_number) or None, "course_title": course["title"],
                    "occupation": course["occupation"], "hours": course["hours"] or None,
                    "start_date": plan.start, "end_date": plan.end, "level": course["level"], "issuer_name": issuer,
                    "issued_on": issued_on, "details": {"cohort_name": plan.name, "course_code": course["code"],
                                                        "title": "培训合格证书"},
                    "issued_by_id": self.admins[0].id, "special": plan.special == "fin"})
        for award in self.awards:
            person = self.learner_by_id[award["learner_id"]]
            digest = hashlib.sha256(f"{award['edition']}\x1f{award['event']}".encode()).hexdigest()[:32]
            certificates.append({
                "kind": "award", "key": f"JXJ-{award['issued_on'].year}", "prefix": "JXJ", "course_code": None,
                "issue_key": f"award:{person.id}:{digest}", "learner_id": person.id, "cohort_id": None,
                "course_id": None, "holder_name": person.name,
                "holder_id_masked": mask_id_number(person.id_number) or None, "course_title": None,
                "occupation": award["event"], "hours": None, "start_date": None, "end_date": None, "level": None,
                "issuer_name": issuer, "issued_on": award["issued_on"],
                "details": {"title": "获奖证书", "edition_name": award["edition"], "event_name": award["event"],
                            "award": award["award"], "rank": award["rank"],
                            "honour_title": clean(award["title"]) or None,
                            "level_note": clean(award["level_note"]) or None},
                "issued_by_id": self.admins[0].id, "special": False})
        regular = [c for c in certificates if not c["special"] and c["kind"] == "completion"]
        replaced = rng.sample(regular, min(reissues, len(regular)))
        for old in replaced:
            day = min(old["issued_on"] + timedelta(days=rng.randint(20, 200)), self.today)
            new = dict(old, issued_on=day, key=f"JXG-{day.year}-{_segment(old['course_code'])}",
                       details={**old["details"], "reissue_of": None}, replaces=old)
            old["replaced_by"] = new
            certificates.append(new)
        revoked = set(map(id, rng.sample([c for c in regular if "replaced_by" not in c],
                                         min(len(regular) // 300, len(regular)))))
        sequences: Counter = Counter()
        certificates.sort(key=lambda c: (c["issued_on"], c["cohort_id"] or 0, c["holder_name"], c["learner_id"]))
        for c in certificates:
            c["id"] = self.next_id("certificates")
            sequences[c["key"]] += 1
            year = c["issued_on"].year
            c["serial"] = f"{c['prefix']}-{year}-" + (f"{_segment(c['course_code'])}-" if c["course_code"] else "") + \
                f"{sequences[c['key']]:06d}"
        for c in certificates:
            if "replaces" in c:
                c["details"]["reissue_of"] = c["replaces"]["serial"]
        for c in certificates:
            at = _utc(c["issued_on"], time(10, 0))
            row = {
                "id": c["id"], "kind": c["kind"], "serial": c["serial"], "verification_code": _code(rng),
                "issue_key": None if "replaced_by" in c else c["issue_key"], "learner_id": c["learner_id"],
                "cohort_id": c["cohort_id"], "course_id": c["course_id"], "holder_name": c["holder_name"],
                "holder_id_masked": c["holder_id_masked"], "course_title": c["course_title"],
                "occupation": c["occupation"], "hours": c["hours"], "start_date": c["start_date"],
                "end_date": c["end_date"], "level": c["level"], "issuer_name": c["issuer_name"],
                "issued_on": c["issued_on"], "details": c["details"], "photo_path": None, "status": "valid",
                "issued_by_id": c["issued_by_id"], "revoked_at": None, "revoked_by_id": None,
                "revocation_reason": None, "revocation_note": None, "replaced_by_id": None,
                "replaces_id": c["replaces"]["id"] if "replaces" in c else None, "replaced_at": None,
                "pdf_path": None, "pdf_sha256": None, "pdf_rendered_at": None, "lock_version": 0,
                "created_at": at, "updated_at": at}
            if "replaced_by" in c:
                row.update(status="replaced", replaced_at=_utc(c["replaced_by"]["issued_on"], time(10, 0)),
                           updated_at=_utc(c["replaced_by"]["issued_on"], time(10, 0)), lock_version=1)
            elif id(c) in revoked:
                reason, note = rng.choice(REVOCATION_NOTES)
                when = min(at + timedelta(days=rng.randint(5, 120)), self.now - timedelta(hours=1))
                row.update(status="revoked", revoked_at=when, revoked_by_id=self.admins[0].id,
                           revocation_reason=reason, revocation_note=note, updated_at=when, lock_version=1)
            if c["special"] and c["learner_id"] == self.learners[0].id:
                self.manifest["certificate_serial"] = c["serial"]
                self.manifest["certificate_verification_code"] = row["verification_code"]
            self.w.add("certificates", row)
        self.w.flush()
        from academy.certificates.models import Certificate

        table = Certificate.__table__
        for c in certificates:  # the back link, once both rows exist
            if "replaced_by" in c:
                self.conn.execute(table.update().where(table.c.id == c["id"]).values(
                    replaced_by_id=c["replaced_by"]["id"]))
        for key, value in sorted(sequences.items()):
            self.w.add("certificate_sequences", {"id": self.next_id("certificate_sequences"), "key": key,
                                                 "last_value": value})

    # --- finishing ------------------------------------------------------------------------------

    def _sync_sequences(self) -> None:
        """PostgreSQL: move each id sequence past the ids written explicitly."""
        from academy.extensions import db

        if self.conn.dialect.name != "postgresql":
            return
        for table in db.metadata.sorted_tables:
            pk = list(table.primary_key.columns)
            if len(pk) == 1 and pk[0].name == "id" and pk[0].autoincrement in (True, "auto"):
                name = table.name
                statement = (f"SELECT setval(pg_get_serial_sequence('\"{name}\"', 'id'), "  # noqa: S608 - metadata names
                             f"COALESCE(MAX(id), 1), MAX(id) IS NOT NULL) FROM \"{name}\"")
                self.conn.exec_driver_sql(statement)

    def finish(self) -> None:
        """Foreign keys checked, sequences moved, and the manifest's handles on the fixed-shape records."""
        self.check_foreign_keys()
        self._sync_sequences()
        run = next(c for c in self.cohorts if c.special == "run")
        fin = next(c for c in self.cohorts if c.special == "fin")
        opened = next(c for c in self.cohorts if c.special == "open")
        learner = self.learners[0]
        course = self.courses[opened.course]
        self.manifest.update(
            learner={"id": learner.id, "mobile": learner.mobile, "name": learner.name},
            instructor={"id": self.instructors[0].id, "mobile": self.instructors[0].mobile},
            admin={"id": self.admins[0].id, "mobile": self.admins[0].mobile},
            cohort={"id": run.id, "code": run.code, "enrolled": len(run.seated), "sessions": len(run.session_ids),
                    "held": run.held},
            assessment_id=self.manifest.pop("cohort_assessment_id"),
            session_id=run.session_ids[run.held - 1],
            finished_cohort={"id": fin.id, "code": fin.code},
            open_cohort={"id": opened.id, "code": opened.code},
            catalogue_filters={"district": opened.district, "occupation": course["occupation"],
                               "q": course["label"][:2]},
        )


def _segment(code: str) -> str:
    from academy.certificates.serials import course_segment

    return course_segment(code)


def _code(rng: random.Random) -> str:
    from academy.certificates.serials import CODE_ALPHABET, CODE_LENGTH

    return "".join(rng.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


def _judge_value(rng: random.Random, aspect, level: int) -> Decimal:
    """One judge's value for an aspect for a contestant at ``level`` percent (as the demo marks)."""
    if aspect.kind == "J":
        base = (level * 3 + 10) // 100
        return Decimal(max(0, min(3, base + rng.choice((-1, 0, 0, 0, 0, 1)))))
    max_halves = int(aspect.max_mark * 2)
    halves = max(0, min(max_halves, max_halves * level // 100 + rng.choice((-1, 0, 0, 0, 1))))
    value = Decimal(halves) / 2
    if aspect.partial_marks:
        return min((Decimal(p) for p in aspect.partial_marks), key=lambda p: (abs(p - value), -p))
    return value


def table_counts() -> dict[str, int]:
    """Rows per table (tables with at least one row), in the current app's database."""
    from sqlalchemy import func, select

    from academy.extensions import db

    counts = {}
    for table in db.metadata.sorted_tables:
        value = db.session.scalar(select(func.count()).select_from(table))
        if value:
            counts[table.name] = value
    return counts


def role_counts() -> dict[str, int]:
    """Accounts per role (learner, instructor, admin, judge)."""
    from sqlalchemy import func, select

    from academy.accounts.models import UserRole
    from academy.extensions import db

    return dict(db.session.execute(select(UserRole.role, func.count()).group_by(UserRole.role)).all())


def generate(*, scale: float = 1.0, seed: int = 2026, progress: Callable | None = None) -> dict:
    """Fill the current app's EMPTY database (``db.session``'s connection) with city-scale data.

    ``scale`` multiplies the issue's figures (1.0 = 155,000 learners …; see ``targets``); ``seed``
    makes the data reproducible (dates are relative to today). ``progress(phase, seconds, rows)``
    is called after each phase with its wall time in seconds and the rows written per table.
    Commits as it goes, then runs ANALYZE (VACUUM ANALYZE on PostgreSQL). Returns the manifest
    (JSON-serialisable): scale, seed, dialect, password, counts, targets, timings and the handles
    on the fixed-shape records (see the module doc). Must run inside an app context. Raises
    ``GeneratorError`` when the database already has data or ``scale`` is not positive.
    """
    return Generator(scale, seed, progress).run()


# --- command line -------------------------------------------------------------------------------


def _default_manifest(url: str) -> Path:
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        name, kind = Path(parsed.database or "memory").stem, "sqlite"
    else:
        name, kind = parsed.database or "postgres", "postgres"
    name = name.removeprefix("bench_")
    return ROOT / "benchmarks" / "data" / f"{name}-{kind}.json"


def _prepare_database(url: str, reset: bool) -> None:
    """Create the PostgreSQL database if missing; with ``reset`` start from nothing."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    from academy.config import normalise_database_url

    parsed = make_url(normalise_database_url(url))
    if parsed.get_backend_name() == "sqlite":
        path = Path(parsed.database or "")
        if reset:
            for suffix in ("", "-wal", "-shm"):
                Path(f"{path}{suffix}").unlink(missing_ok=True)
        path.parent.mkdir(parents=True, exist_ok=True)
        return
    admin = create_engine(parsed.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        exists = conn.scalar(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": parsed.database})
        if exists and reset:
            conn.execute(text(f'DROP DATABASE "{parsed.database}" WITH (FORCE)'))
            exists = False
        if not exists:
            conn.execute(text(f'CREATE DATABASE "{parsed.database}"'))
    admin.dispose()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", required=True, help="sqlite:////path/x.db or postgresql://…/dbname")
    parser.add_argument("--scale", type=float, default=1.0, help="1.0 = the issue's city (155,000 learners …)")
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--manifest", type=Path, help="where to write the manifest JSON "
                                                      "(default benchmarks/data/<name>-<sqlite|postgres>.json)")
    parser.add_argument("--reset", action="store_true", help="drop everything in the target first")
    args = parser.parse_args(argv)
    from academy.extensions import db

    _prepare_database(args.database_url, args.reset)
    with tempfile.TemporaryDirectory(prefix="academy-generate-") as workdir:
        app = create_bench_app(args.database_url, workdir)
        with app.app_context():
            db.create_all()
            started = clock.perf_counter()

            def report(phase, seconds, rows):
                detail = ", ".join(f"{t} {n:,}" for t, n in sorted(rows.items(), key=lambda kv: -kv[1])[:6])
                print(f"  {phase:<13} {seconds:7.1f} s  {detail}", flush=True)

            print(f"generating scale {args.scale} (seed {args.seed}) into {app.config['SQLALCHEMY_DATABASE_URI']}")
            try:
                manifest = generate(scale=args.scale, seed=args.seed, progress=report)
            except GeneratorError as exc:
                print(f"generate.py: {exc} (pass --reset to replace it)", file=sys.stderr)
                return 2
            elapsed = clock.perf_counter() - started
    print(f"\n{'table':<32}{'rows':>12}{'insert s':>10}")
    seconds = manifest["timings"]["insert_seconds"]
    for table, rows in sorted(manifest["counts"].items(), key=lambda kv: -kv[1]):
        print(f"{table:<32}{rows:>12,}{seconds.get(table, 0):>10.2f}")
    print("\nissue figure                     target      actual")
    for key, value in manifest["targets"].items():
        print(f"{key:<28}{value:>11,}{manifest['actual'].get(key, 0):>12,}")
    path = args.manifest or _default_manifest(args.database_url)
    path.parent.mkdir(parents=True, exist_ok=True)
    manifest["database_url"] = args.database_url
    path.write_text(json.dumps(manifest, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    print(f"\ntotal {elapsed:.1f} s; manifest {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
