"""Demo step of the competitions module: an edition like the 2024 Ganzhou rider contest.

2026年“虔能杯”网约配送员职业技能竞赛, with two events:

* 网约配送员 — finished: 63 riders from 美团, 饿了么, 顺丰同城 and 达达 registered from their
  phones (two more were withdrawn or turned down), approved, drawn, checked in; theory (30 %) and
  a practical marking scheme of 19 aspects (M and J, 100 marks, 70 %) scored by five judges (one
  recusal), a correction after an unlock with a reason, locked by the chief judge and published:
  1 一等奖, 2 二等奖, 3 三等奖, 3 优胜奖. The demo learner 邱志明 is one of the contestants (a strong
  one: with the default seed he takes a 二等奖 and its award certificate).
* 快递员 — still in registration, with pending and approved registrations.

Everything goes through the module's services (validation, history, audit) with times before
``ctx.now``. Marks are made from ``ctx.rng`` with integer arithmetic on half points.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from decimal import Decimal

from sqlalchemy import select

from academy.accounts.models import Role, User, UserRole
from academy.common.timeutil import local_datetime
from academy.competitions import judging, marking, registration, results, services
from academy.competitions.marking import AspectSpec
from academy.competitions.models import Entry, Event, EventStatus
from academy.demo.loader import DEMO_PASSWORD, DemoAccount, DemoContext
from academy.extensions import db

EDITION_ORGANISERS = "主办：赣州市总工会、赣州市人力资源和社会保障局、共青团赣州市委\n承办：赣州市职工技能竞赛办公室\n协办：金小哥学院"
PLATFORMS = (("美团", 20), ("饿了么", 18), ("顺丰同城", 13), ("达达", 12))  # 63 contestants
JUDGES = (("13800000021", "黄国华"), ("13800000022", "肖丽琴"), ("13800000023", "罗志刚"),
          ("13800000024", "温海燕"))
UNLOCK_REASON = "选手申诉C2绕桩碰桩次数，经复看视频，肖丽琴裁判更正记录"

# 钟卫东 (13800000004, the base demo's judge) is the chief judge of the rider event.
ACCOUNTS = (
    DemoAccount("13800000021", DEMO_PASSWORD, "裁判", "黄国华",
                "虔能杯：按抽签号查看自己打过的分（只见号码，不见姓名；已锁定，只读）"),
)

# The practical marking scheme (操作技能, 100 marks): sub-criterion, aspect, type, marks, aggregation,
# partial marks, marking note. Judgement aspects use the trimmed mean of the five judges.
SCHEME = (
    ("A 安全检查与出车准备", "A1 车辆安全检查（刹车、灯光、轮胎、电量）", "M", 4, None, "每漏检一项扣1分"),
    ("A 安全检查与出车准备", "A2 佩戴安全头盔、穿着工装", "M", 2, ("0", "2"), "未规范佩戴头盔得0分"),
    ("A 安全检查与出车准备", "A3 配送箱清洁与食品安全", "M", 3, None, None),
    ("A 安全检查与出车准备", "A4 仪容仪表与精神面貌", "J", 3, None, "0–3分档评价"),
    ("B 接单与取餐", "B1 订单信息核对（单号、餐品、备注）", "M", 4, None, "每错一项扣1分"),
    ("B 接单与取餐", "B2 食品安全封签检查", "M", 3, ("0", "1.5", "3"), "未检查0分，检查未拍照1.5分"),
    ("B 接单与取餐", "B3 餐品保温与防洒", "M", 4, None, None),
    ("B 接单与取餐", "B4 与商家沟通", "J", 5, None, "0–3分档评价"),
    ("C 骑行技能", "C1 慢骑（10米直线不少于30秒）", "M", 8, None, "每少3秒扣1分，脚着地扣2分"),
    ("C 骑行技能", "C2 绕桩（8桩）", "M", 10, None, "每碰一桩扣2分"),
    ("C 骑行技能", "C3 定点停车", "M", 6, None, "前轮超线每10厘米扣1分"),
    ("C 骑行技能", "C4 窄道通行", "M", 6, None, "压线一次扣2分"),
    ("C 骑行技能", "C5 骑行姿态与平稳性", "J", 6, None, "0–3分档评价"),
    ("D 送达与服务", "D1 规定时间内送达", "M", 8, None, "每超时30秒扣1分"),
    ("D 送达与服务", "D2 电话联系与文明用语", "J", 5, None, "0–3分档评价"),
    ("D 送达与服务", "D3 无接触配送规范", "M", 3, None, None),
    ("D 送达与服务", "D4 异常订单处置（顾客失联、地址错误）", "J", 6, None, "0–3分档评价"),
    ("E 应急处置", "E1 交通事故报警与现场处置", "J", 7, None, "0–3分档评价"),
    ("E 应急处置", "E2 中暑与外伤简单处理", "M", 7, None, "步骤缺一项扣1分"),
)


def load(ctx: DemoContext) -> None:
    """Create the edition, the finished rider event and the courier event in registration."""
    admin = ctx.admin
    contest_day = ctx.today - timedelta(days=20)
    edition = services.save_edition(None, services.EditionValues(
        name=f"{contest_day.year}年“虔能杯”网约配送员职业技能竞赛", year=contest_day.year,
        organisers=EDITION_ORGANISERS, starts_on=contest_day, ends_on=ctx.today + timedelta(days=25),
        place="赣州市章贡区 赣州职工技能实训基地",
        rules="理论知识考试占30%，操作技能比赛占70%，各按100分计；总成绩保留两位小数。\n"
              "总成绩相同时，依次比较操作技能成绩、操作用时、理论知识成绩。\n"
              "网约配送员赛项设一等奖1名、二等奖2名、三等奖3名、优胜奖3名。"), actor=admin)
    judges = _judges(ctx)
    _finished_event(ctx, edition, contest_day, judges)
    _open_event(ctx, edition)


def _at(day: date, hour: int, minute: int = 0) -> datetime:
    return local_datetime(day, time(hour, minute))


def _judges(ctx: DemoContext) -> list[User]:
    chief = ctx.judges[0] if ctx.judges else _new_user(ctx, "13800000004", "钟卫东", Role.JUDGE)
    return [chief] + [_new_user(ctx, mobile, name, Role.JUDGE) for mobile, name in JUDGES]


def _new_user(ctx: DemoContext, mobile: str, name: str, role: Role) -> User:
    user = db.session.scalar(select(User).where(User.mobile == mobile))
    if user is None:
        user = User(mobile=mobile, name=name, password_hash=ctx.password_hash)
        db.session.add(user)
    if not user.has_role(role):
        user.roles.append(UserRole(role=role))
    db.session.flush()
    return user


def _event_values(name: str, day: date, opens: datetime, closes: datetime, **kwargs) -> services.EventValues:
    return services.EventValues(name=name, occupation=kwargs.pop("occupation", name),
                                place="赣州职工技能实训基地", contest_date=day, registration_opens_at=opens,
                                registration_closes_at=closes, min_age=18, max_age=60, **kwargs)


# --- the finished event ---------------------------------------------------------------------

def _finished_event(ctx: DemoContext, edition, day: date, judges: list[User]) -> Event:
    admin = ctx.admin
    opens, closes = _at(day - timedelta(days=45), 9), _at(day - timedelta(days=10), 18)
    event = services.save_event(None, _event_values(
        "网约配送员", day, opens, closes, occupation_code="4-02-07-10", level="三级/高级工", capacity=70,
        eligible_groups=("外卖员", "快递员")), list(services.DEFAULT_COMPONENTS), [
        services.AwardSpec("一等奖", 1, title="赣州市技术能手", level_note="符合条件的可晋升二级/技师"),
        services.AwardSpec("二等奖", 2, title="赣州市技术能手", level_note="符合条件的可晋升三级/高级工"),
        services.AwardSpec("三等奖", 3, level_note="符合条件的可晋升三级/高级工"),
        services.AwardSpec("优胜奖", 3)], edition=edition, actor=admin)
    marking.replace_scheme(event, [
        AspectSpec(sub, name, kind, Decimal(marks), "trimmed" if kind == "J" else "mean",
                   [Decimal(p) for p in partial] if partial else None, note)
        for sub, name, kind, marks, partial, note in SCHEME], actor=admin)
    services.set_status(event, EventStatus.REGISTRATION, actor=admin)
    riders = _riders(ctx)
    entries = _register(ctx, event, riders, opens, closes)
    for i, judge in enumerate(judges):
        services.assign_judge(event, judge, is_chief=i == 0, actor=admin)
    services.set_status(event, EventStatus.CONTEST, actor=admin)
    registration.draw(event, actor=admin, seed=f"{ctx.rng.getrandbits(64):016x}", now=_at(day - timedelta(days=3), 10))
    for minute, entry in enumerate(sorted(entries, key=lambda e: ctx.rng.random())):
        registration.check_in(event, entry.learner.id_number[-6:], actor=admin, now=_at(day, 7, 30 + minute // 3))
    _theory(ctx, event, entries, day)
    _practical(ctx, event, entries, judges, day)
    judging.lock_scores(event, actor=judges[0], now=_at(day, 17, 30))
    _correction(ctx, event, entries, judges, day)
    results.publish(event, actor=admin, now=_at(day + timedelta(days=2), 10))
    _certificates(ctx, event, day)
    return event


def _riders(ctx: DemoContext) -> list[User]:
    """63 riders: learners of the base demo riding for 美团/饿了么 (the demo learner first), then new
    accounts for the platforms the base demo does not have."""
    from academy.demo.base import make_id_number, make_name

    taken_ids: set[str] = ctx.extra.setdefault("demo.base.id_numbers", set())
    pool = [ctx.demo_learner] if ctx.demo_learner is not None else []
    pool += [u for u in ctx.learners if u.occupation_group == "外卖员" and u is not ctx.demo_learner
             and u.id_number and 20 <= (ctx.today.year - u.birth_date.year) <= 55]
    riders: list[User] = []
    names = {u.name for u in ctx.learners}
    serial = 0
    for platform, count in PLATFORMS:
        chosen = [u for u in pool if u.platform == platform][:count]
        while len(chosen) < count:
            serial += 1
            gender = "女" if ctx.rng.random() < 0.12 else "男"
            name, _ = make_name(ctx.rng, gender)
            while name in names:
                name, _ = make_name(ctx.rng, gender)
            names.add(name)
            born = ctx.today - timedelta(days=365 * ctx.rng.randint(21, 48) + ctx.rng.randrange(365))
            user = _new_user(ctx, f"1570797{serial:04d}", name, Role.LEARNER)
            id_number = make_id_number(ctx.rng, ctx.rng.choice(("360702", "360703", "360704", "360781", "360731")),
                                       born, gender, taken_ids)
            user.id_number, user.birth_date, user.gender = id_number, born, gender
            user.occupation_group, user.platform = "外卖员", platform
            user.district = ctx.rng.choice(("章贡区", "南康区", "赣县区", "瑞金市", "于都县"))
            chosen.append(user)
        riders += chosen
    db.session.flush()
    return riders


def _register(ctx: DemoContext, event: Event, riders: list[User], opens: datetime, closes: datetime) -> list[Entry]:
    """Every rider registers from the phone during the window and the admin approves; two more
    learners apply: one is turned down with a reason, one withdraws before the draw."""
    admin = ctx.admin
    span = int((closes - opens).total_seconds()) - 7200
    entries = []
    for rider in riders:
        at = opens + timedelta(seconds=ctx.rng.randrange(span))
        entry = registration.register(rider, event, now=at)
        registration.decide_entry(entry, True, actor=admin, now=at + timedelta(hours=ctx.rng.randint(2, 30)))
        entries.append(entry)
    extras = [u for u in ctx.learners if u.occupation_group == "外卖员" and u not in riders][:2]
    if len(extras) == 2:
        rejected = registration.register(extras[0], event, now=opens + timedelta(days=3))
        registration.decide_entry(rejected, False, "报名表未附平台在岗证明（近3个月接单记录），请补交后参加下届比赛",
                              actor=admin, now=opens + timedelta(days=4))
        withdrawn = registration.register(extras[1], event, now=opens + timedelta(days=5))
        registration.decide_entry(withdrawn, True, actor=admin, now=opens + timedelta(days=5, hours=3))
        registration.withdraw_entry(withdrawn, actor=extras[1], now=closes - timedelta(days=3))
    return entries


def _ability(ctx: DemoContext) -> int:
    """A contestant's level in percent (60–99), most often in the 80s."""
    return max(60, min(99, 62 + ctx.rng.randint(0, 20) + ctx.rng.randint(0, 18)))


def _theory(ctx: DemoContext, event: Event, entries: list[Entry], day: date) -> None:
    component = event.component("theory")
    ctx.extra["competitions.ability"] = ability = {e.id: _ability(ctx) for e in entries}
    for entry in entries:
        if entry.learner is ctx.demo_learner:
            ability[entry.id] = 95  # 邱志明 trained at the academy: he wins a prize
    for entry in entries:
        halves = max(110, min(200, ability[entry.id] * 2 + ctx.rng.randint(-16, 12)))
        judging.set_component_score(entry, component, Decimal(halves) / 2, actor=ctx.admin, now=_at(day, 11),
                                    note="import")


def _judge_value(ctx: DemoContext, aspect, level: int) -> str:
    """One judge's value for one aspect of a contestant at ``level`` percent."""
    if aspect.kind == "J":
        base = (level * 3 + 10) // 100  # 60–99 % → 1, 2 or 3
        return str(max(0, min(3, base + ctx.rng.choice((-1, 0, 0, 0, 0, 1)))))
    max_halves = int(aspect.max_mark * 2)
    halves = max(0, min(max_halves, max_halves * level // 100 + ctx.rng.choice((-1, 0, 0, 0, 1))))
    if aspect.partial_marks:
        value = Decimal(halves) / 2  # the nearest allowed mark, the higher one on a tie
        return min(aspect.partial_marks, key=lambda p: (abs(Decimal(p) - value), -Decimal(p)))
    return format(Decimal(halves) / 2, "f")


def _practical(ctx: DemoContext, event: Event, entries: list[Entry], judges: list[User], day: date) -> None:
    """Five judges mark every contestant; one recuses himself from a rider of his own station."""
    ability = ctx.extra["competitions.ability"]
    aspects = marking.scheme_aspects(event)
    meituan = next(e for e in sorted(entries, key=lambda e: e.number) if e.platform == "美团")
    services.declare_recusal(event, judges[3], meituan, "同单位", "曾在同一美团配送站点担任站长",
                             actor=judges[3], now=_at(day, 8, 50))
    for n, entry in enumerate(sorted(entries, key=lambda e: e.number)):
        level = max(50, min(100, ability[entry.id] + ctx.rng.randint(-8, 8)))
        at = _at(day, 9) + timedelta(minutes=6 * n)
        for judge in judges:
            if judge.id == judges[3].id and entry.id == meituan.id:
                continue
            values = {a.id: _judge_value(ctx, a, level) for a in aspects}
            if n % 9 == 0:  # some judges save a draft first, then submit
                judging.save_sheet(event, judge, entry, dict(list(values.items())[:8]), submit=False, now=at)
            judging.save_sheet(event, judge, entry, values, submit=True, now=at + timedelta(minutes=4))
    times = {e.code: f"{(520 + ctx.rng.randint(0, 300) - ability[e.id]) // 60}:{ctx.rng.randint(0, 59):02d}"
             for e in entries}
    judging.record_times(event, times, actor=judges[0], now=_at(day, 16))


def _correction(ctx: DemoContext, event: Event, entries: list[Entry], judges: list[User], day: date) -> None:
    """An appeal on the C2 slalom: the chief judge unlocks with a reason, a judge corrects, relock."""
    judging.unlock_scores(event, UNLOCK_REASON, actor=judges[0], now=_at(day, 18, 10))
    aspects = marking.scheme_aspects(event)
    c2 = next(a for a in aspects if a.name.startswith("C2"))
    corrector = judges[2]
    for entry in sorted(entries, key=lambda e: e.number)[11:]:
        sheet = judging.open_sheet(event, corrector, entry)
        if sheet.values[c2.id] < c2.max_mark:
            break
    values = {a.id: sheet.text(a.id) for a in aspects}
    values[c2.id] = format(min(c2.max_mark, sheet.values[c2.id] + 2), "f")
    judging.save_sheet(event, corrector, entry, values, submit=True, now=_at(day, 18, 25))
    judging.lock_scores(event, actor=judges[0], now=_at(day, 18, 40))


def _certificates(ctx: DemoContext, event: Event, day: date) -> None:
    """Award certificates for the winners, when the certificates module offers them."""
    try:
        results.issue_award_certificates(event, actor=ctx.admin, issued_on=day + timedelta(days=2))
    except services.CompetitionError:
        pass  # the certificates module is not switched on


# --- the event in registration --------------------------------------------------------------

def _open_event(ctx: DemoContext, edition) -> Event:
    admin = ctx.admin
    day = ctx.today + timedelta(days=25)
    opens, closes = ctx.now - timedelta(days=6), _at(day - timedelta(days=7), 18)
    event = services.save_event(None, _event_values(
        "快递员", day, opens, closes, occupation_code="4-02-07-08", level="三级/高级工", capacity=60,
        eligible_groups=("快递员", "外卖员")), list(services.DEFAULT_COMPONENTS), [
        services.AwardSpec("一等奖", 1, title="赣州市技术能手"), services.AwardSpec("二等奖", 2),
        services.AwardSpec("三等奖", 3), services.AwardSpec("优胜奖", 3)], edition=edition, actor=admin)
    services.set_status(event, EventStatus.REGISTRATION, actor=admin)
    couriers = [u for u in ctx.learners if u.occupation_group == "快递员" and u.id_number][:14]
    for i, courier in enumerate(couriers):
        at = opens + timedelta(hours=3 + 9 * i)
        entry = registration.register(courier, event, now=min(at, ctx.now))
        if i % 3 != 2:
            registration.decide_entry(entry, True, actor=admin, now=min(at + timedelta(hours=5), ctx.now))
    return event
