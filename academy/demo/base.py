"""First demo step: staff, courses, cohorts at every stage, ~300 learners and their enrolments.

Courses and cohorts come from ``catalogue.json`` beside this file, the lists for making up
people from ``people.json``. Everything goes through the real services (``save_course``,
``save_cohort``, ``enrolment.services.enrol``/``decide``/``withdraw``), so seats, waitlists and
the audit log are exactly what the product would have produced.

For later steps: ``make_name`` and ``make_id_number`` make more people (pass
``ctx.extra["demo.base.id_numbers"]``, the set of ID numbers already used, as ``taken``);
``ctx.demo_learner`` is 邱志明 (13800000003), enrolled in a finished, a running and an open cohort.
"""

from __future__ import annotations

import json
from collections import Counter
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from functools import cache
from importlib import resources

from academy.accounts.models import Role, User, UserRole
from academy.catalogue import services as catalogue
from academy.catalogue.models import Cohort, CohortStatus
from academy.common.ids import check_character, parse_id_number
from academy.common.timeutil import local_datetime
from academy.demo.loader import DEMO_PASSWORD, DemoAccount, DemoContext
from academy.enrolment import services as enrolment
from academy.enrolment.models import EnrolmentStatus
from academy.extensions import db

LEARNER_COUNT = 300  # including the fixed demo learners

# Fixed accounts: mobile, name, roles.
STAFF = (
    ("13800000001", "周晓梅", (Role.ADMIN,)),
    ("13800000006", "谢文斌", (Role.ADMIN,)),
    ("13800000002", "刘建华", (Role.INSTRUCTOR,)),
    ("13800000011", "曾国平", (Role.INSTRUCTOR,)),
    ("13800000012", "温晓雯", (Role.INSTRUCTOR,)),
    ("13800000013", "钟丽萍", (Role.INSTRUCTOR,)),
    ("13800000014", "赖志强", (Role.INSTRUCTOR,)),
    ("13800000004", "钟卫东", (Role.JUDGE,)),
)
# Fixed learners: mobile, name, gender, birth date, district, occupation group, platform, education,
# political status. Their cohorts are named in catalogue.json ("demo_learners").
FIXED_LEARNERS = (
    ("13800000003", "邱志明", "男", date(1991, 4, 16), "瑞金市", "外卖员", "美团", "初中", "群众"),
    ("13800000005", "曾小燕", "女", date(1998, 9, 3), "章贡区", "网络主播", "抖音", "高中", "共青团员"),
)
REJECTION_REASON = "未提供驾驶证或汽修从业经历，请在“我的资料”里补充后再报名"

ACCOUNTS = (
    DemoAccount("13800000001", DEMO_PASSWORD, "管理员", "周晓梅",
                "工作台：审核新能源汽车维修班的报名；调整名额；查看、导出班级名单；导入课程和学员名单"),
    DemoAccount("13800000002", DEMO_PASSWORD, "教师", "刘建华",
                "工作台：自己的电工班（开课中、招生中、已结业）和班级名单；新能源汽车维修班"),
    DemoAccount("13800000003", DEMO_PASSWORD, "学员", "邱志明",
                "“我的”：开课中的电工晚班、招生中的电子商务师线上班、已结业的网约配送员班；再去“找课程”报一门"),
    DemoAccount("13800000005", DEMO_PASSWORD, "学员", "曾小燕",
                "直播销售员班已满，她是候补第 3 位；有人退出会自动补上"),
    DemoAccount("13800000004", DEMO_PASSWORD, "裁判", "钟卫东", "虔能杯赛项的评分（竞赛模块提供）"),
)


@cache
def _data(name: str) -> dict:
    return json.loads(resources.files("academy.demo").joinpath(name).read_text(encoding="utf-8"))


def catalogue_data() -> dict:
    """The demo catalogue (``catalogue.json``): ``courses`` and ``cohorts`` specifications."""
    return _data("catalogue.json")


def people_data() -> dict:
    """The lists for making up people (``people.json``)."""
    return _data("people.json")


def load(ctx: DemoContext) -> None:
    """Create staff, learners, courses and cohorts, then the enrolments of every cohort."""
    _create_staff(ctx)
    fixed = _create_fixed_learners(ctx)
    _create_learners(ctx, LEARNER_COUNT - len(fixed))
    _create_courses(ctx)
    _create_cohorts(ctx, fixed)


# --- people ---------------------------------------------------------------------------------

def _new_user(ctx: DemoContext, mobile: str, name: str, roles: tuple[Role, ...]) -> User:
    user = User(mobile=mobile, name=name, password_hash=ctx.password_hash)
    for role in roles:
        user.roles.append(UserRole(role=role))
    db.session.add(user)
    return user


def _create_staff(ctx: DemoContext) -> None:
    for mobile, name, roles in STAFF:
        user = _new_user(ctx, mobile, name, roles)
        if Role.ADMIN in roles:
            ctx.admins.append(user)
        if Role.INSTRUCTOR in roles:
            ctx.instructors.append(user)
        if Role.JUDGE in roles:
            ctx.judges.append(user)
    ctx.admin = ctx.admins[0]
    db.session.flush()


def _weighted(rng, weights: dict[str, float]) -> str:
    keys = list(weights)
    return rng.choices(keys, weights=[weights[k] for k in keys])[0]


def make_id_number(rng, region: str, born: date, gender: str, taken: set[str]) -> str:
    """A GB 11643-1999 ID number for ``region`` (6 digits), birth date and gender ("男"/"女"),
    not in ``taken`` (which it joins). The 17th digit is odd for men, even for women."""
    while True:
        seq = rng.randrange(1, 500) * 2 - (1 if gender == "男" else 0)  # 1…997 odd / 2…998 even
        first17 = f"{region}{born:%Y%m%d}{seq:03d}"
        value = first17 + check_character(first17)
        if value not in taken:
            taken.add(value)
            return value


def make_name(rng, gender: str) -> tuple[str, bool]:
    """A plausible name for ``gender``; returns (name, is a Uyghur-style name with a middle dot)."""
    people = people_data()
    if rng.random() < 0.02:
        minority = people["minority"]
        return f"{rng.choice(minority[gender])}·{rng.choice(minority['father'])}", True
    chars = people["given_male"] if gender == "男" else people["given_female"]
    given = "".join(rng.choice(chars) for _ in range(1 if rng.random() < 0.25 else 2))
    if rng.random() < 0.04:  # characters outside GB 2312 now and then: 堃, 喆
        given = given[:-1] + rng.choice(people["rare_given"][gender])
    return _weighted(rng, people["surnames"]) + given, False


def _make_mobile(rng, taken: set[str]) -> str:
    prefixes = people_data()["mobile_prefixes"]
    while True:
        value = rng.choice(prefixes) + f"{rng.randrange(10**8):08d}"
        if value not in taken and not value.startswith("1380000"):
            taken.add(value)
            return value


def _apply_identity(user: User, id_number: str, today: date) -> None:
    parsed = parse_id_number(id_number, today=today)  # the product's own rule, as registration applies it
    user.id_number, user.birth_date, user.gender = parsed.value, parsed.birth_date, parsed.gender


def _create_fixed_learners(ctx: DemoContext) -> dict[str, User]:
    codes = people_data()["district_codes"]
    taken: set[str] = ctx.extra.setdefault("demo.base.id_numbers", set())
    fixed = {}
    for mobile, name, gender, born, district, group, platform, education, political in FIXED_LEARNERS:
        user = _new_user(ctx, mobile, name, (Role.LEARNER,))
        _apply_identity(user, make_id_number(ctx.rng, codes[district], born, gender, taken), ctx.today)
        user.district, user.occupation_group, user.platform = district, group, platform
        user.education, user.political_status = education, political
        fixed[mobile] = user
        ctx.learners.append(user)
    ctx.demo_learner = fixed[FIXED_LEARNERS[0][0]]
    return fixed


def _create_learners(ctx: DemoContext, count: int) -> None:
    people = people_data()
    rng, today = ctx.rng, ctx.today
    ids: set[str] = ctx.extra.setdefault("demo.base.id_numbers", set())
    mobiles = {mobile for mobile, *_ in STAFF + FIXED_LEARNERS}
    names = {name for _, name, *_ in STAFF + FIXED_LEARNERS}
    for _ in range(count):
        group = _weighted(rng, people["occupation_groups"])
        gender = "女" if rng.random() < people["female_share"][group] else "男"
        name, minority = make_name(rng, gender)
        while name in names:  # namesakes exist, but a demo list reads better without them
            name, minority = make_name(rng, gender)
        names.add(name)
        age = int(rng.triangular(20, 56, 33))
        born = today - timedelta(days=age * 365 + rng.randrange(365))
        district = _weighted(rng, people["districts"])
        region = (rng.choice(people["minority"]["region_codes"]) if minority
                  else people["district_codes"][district])
        user = _new_user(ctx, _make_mobile(rng, mobiles), name, (Role.LEARNER,))
        _apply_identity(user, make_id_number(rng, region, born, gender, ids), today)
        user.district = district
        user.occupation_group = group
        user.platform = _weighted(rng, people["platforms"][group]) or None
        user.education = _weighted(rng, people["education"])
        user.political_status = _weighted(rng, people["political_status"])
        if user.political_status == "共青团员" and age > 28:  # league members leave at 28
            user.political_status = "群众"
        ctx.learners.append(user)
    db.session.flush()


# --- catalogue ------------------------------------------------------------------------------

COURSE_KEYS = ("title", "occupation", "occupation_code", "level", "hours", "delivery_mode", "description")


def _create_courses(ctx: DemoContext) -> None:
    for spec in catalogue_data()["courses"]:
        values = {key: spec[key] for key in COURSE_KEYS}
        values.update(code=spec["code"], fee=Decimal(spec["fee"]), subsidy=Decimal(spec["subsidy"]),
                      is_published=True)
        ctx.courses[spec["code"]] = catalogue.save_course(None, values, actor=ctx.admin)


def _cohort_plan(ctx: DemoContext) -> list[dict]:
    """Cohort specs with dates, code and name filled in, in start order."""
    plans = []
    for spec in catalogue_data()["cohorts"]:
        start = ctx.today + timedelta(days=spec["start"])
        plans.append({**spec, "start_date": start,
                      "end_date": start + timedelta(weeks=spec["weeks"], days=-1)})
    plans.sort(key=lambda p: (p["start_date"], p["prefix"]))
    numbers: Counter = Counter()
    for plan in plans:
        year = plan["start_date"].year
        numbers[plan["prefix"], year] += 1
        n = numbers[plan["prefix"], year]
        plan["code"] = f"{plan['prefix']}{year % 100:02d}{n:02d}"
        plan["name"] = f"{year}年第{n}期{plan['label']}"
    return plans


def _window(ctx: DemoContext, plan: dict) -> tuple[datetime, datetime]:
    """Enrolment window (UTC): a month before the start for past cohorts, opened two weeks
    ago for cohorts taking applications, three weeks before the start for planned ones."""
    start = plan["start_date"]
    if plan["stage"] in ("finished", "running"):
        opens = start - timedelta(days=30)
    elif plan["stage"] == "planned":
        opens = start - timedelta(days=21)
    else:
        opens = ctx.today - timedelta(days=14)
    return local_datetime(opens, time(9, 0)), local_datetime(start - timedelta(days=1), time(22, 0))


FINAL_STATUS = {"finished": CohortStatus.FINISHED, "running": CohortStatus.RUNNING,
                "planned": CohortStatus.PLANNED}


def _create_cohorts(ctx: DemoContext, fixed: dict[str, User]) -> None:
    instructors = {u.mobile: u for u in ctx.instructors}
    audience = {spec["code"]: set(spec["audience"]) for spec in catalogue_data()["courses"]}
    members: dict[int, set[int]] = {}  # course id -> learners who applied to one of its cohorts
    applications: Counter = Counter()  # learner id -> number of applications, to spread them
    for plan in _cohort_plan(ctx):
        course = ctx.courses[plan["course"]]
        opens, closes = _window(ctx, plan)
        cohort = catalogue.save_cohort(None, {
            "code": plan["code"], "name": plan["name"], "start_date": plan["start_date"],
            "end_date": plan["end_date"], "place": plan["place"], "district": plan["district"],
            "capacity": plan["capacity"], "enrolment_opens_at": opens, "enrolment_closes_at": closes,
            "approval_required": plan["stage"] == "approval", "status": CohortStatus.OPEN,
            "attendance_threshold": Decimal("0.800"),
        }, actor=ctx.admin, course=course, instructors=[instructors[m] for m in plan["instructors"]],
            schedule=plan["schedule"])
        taken = members.setdefault(course.id, set())
        applicants = _pick_applicants(ctx, plan, audience[plan["course"]], taken, applications, fixed)
        _apply(ctx, cohort, plan, applicants, opens, min(closes, ctx.now - timedelta(minutes=30)),
               keep={u.id for u in fixed.values()})
        taken.update(u.id for u in applicants)
        applications.update(u.id for u in applicants)
        if plan["stage"] in FINAL_STATUS:
            catalogue.save_cohort(cohort, {"status": FINAL_STATUS[plan["stage"]]}, actor=ctx.admin)
        ctx.cohorts[plan["stage"]].append(cohort)


def _pick_applicants(ctx: DemoContext, plan: dict, audience: set[str], taken: set[int],
                     applications: Counter, fixed: dict[str, User]) -> list[User]:
    """The cohort's applicants in order of application: mostly the course's audience and
    people from the cohort's district, never someone already in another cohort of the course;
    the fixed demo learners at the places catalogue.json gives."""
    rng = ctx.rng
    placed = plan.get("demo_learners", {})
    fixed_ids = {u.id for u in fixed.values()}
    count = plan["applicants"] - len(placed)
    if count <= 0 and not placed:
        return []

    def score(user: User) -> float:
        return ((2.0 if user.occupation_group in audience else 0.0)
                + (1.0 if plan["district"] and user.district == plan["district"] else 0.0)
                - 0.8 * applications[user.id] + 2.0 * rng.random())

    pool = [u for u in ctx.learners if u.id not in taken and u.id not in fixed_ids]
    chosen = sorted(pool, key=score, reverse=True)[:count]
    rng.shuffle(chosen)
    for mobile, index in sorted(placed.items(), key=lambda item: item[1]):
        chosen.insert(index, fixed[mobile])
    return chosen


def _apply(ctx: DemoContext, cohort: Cohort, plan: dict, applicants: list[User], opens: datetime,
           last: datetime, *, keep: set[int]) -> None:
    """Enrol ``applicants`` in order at increasing times between ``opens`` and ``last``; then
    decide the first applications (``approved``, ``rejected``) of an approval cohort and let the
    last ``withdrawn`` seated learners (never those in ``keep``) withdraw two days after applying."""
    if not applicants:
        return
    span = (last - opens).total_seconds()
    moments = sorted(opens + timedelta(seconds=ctx.rng.uniform(0, span)) for _ in applicants)
    enrolments = [enrolment.enrol(learner, cohort, now=moment, source="self")
                  for learner, moment in zip(applicants, moments, strict=True)]
    approved, rejected = plan.get("approved", 0), plan.get("rejected", 0)
    for i, entry in enumerate(enrolments[: approved + rejected]):
        when = min(entry.applied_at + timedelta(hours=ctx.rng.uniform(2, 48)), ctx.now - timedelta(minutes=5))
        enrolment.decide(entry, i < approved, "" if i < approved else REJECTION_REASON, actor=ctx.admin, now=when)
    withdrawn = plan.get("withdrawn", 0)
    seated = [e for e in enrolments if e.status == EnrolmentStatus.ENROLLED and e.learner_id not in keep]
    for entry in seated[len(seated) - withdrawn:] if withdrawn else []:
        when = min(entry.applied_at + timedelta(days=2), ctx.now - timedelta(minutes=5))
        enrolment.withdraw(entry, actor=entry.learner, now=when)
