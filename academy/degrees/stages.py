"""The degree-upgrade state machine, its date arithmetic and the next-milestone planner.

Pure functions and constants only (no database), so every rule here is unit-tested directly.

Sources (shared/research/domain-cn.md §C, shared/BRIEF.md §3 "Degree upgrade"):

* 成人高考 — register Aug–Sep, national exam in October, admission in December, enrolment
  (学籍 on 学信网) about March of the NEXT year; minimum study 2.5 years (高起专, 专升本) or
  5 years (高起本).
* 高等教育自学考试 — no entrance exam; course by course at the April and October sittings;
  graduation once every course of the plan is passed (e.g. 专升本 ≥ 70 credits / 13 courses).
* 国家开放大学 — no entrance exam; intakes in March and September; the student record is valid
  for 8 years from registration; minimum study 2.5 years (专科, 专升本) or 5 years (高起本).
* 网络教育 — being folded into the unified system (教职成〔2022〕2号); kept for existing records.

The stage path is interested → registered → (exam_taken → admitted, 成人高考 only) → enrolled →
studying → graduation_applied → graduated; a case may also be deferred (and later resume the
stage it left), dropped, or its record may expire. ``TRANSITIONS`` is the explicit table.
"""

from __future__ import annotations

import calendar
import enum
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import date, timedelta


class Route(enum.StrEnum):
    """How a learner upgrades their degree (途径)."""

    ADULT_EXAM = "adult_exam"  # 成人高考
    SELF_STUDY = "self_study"  # 高等教育自学考试
    OPEN_UNIVERSITY = "open_university"  # 国家开放大学
    ONLINE = "online"  # 网络教育 (legacy records only)


ROUTE_LABELS = {
    Route.ADULT_EXAM: "成人高考",
    Route.SELF_STUDY: "自学考试",
    Route.OPEN_UNIVERSITY: "国家开放大学",
    Route.ONLINE: "网络教育（存量）",
}


class Level(enum.StrEnum):
    """The qualification level of a programme (层次)."""

    HIGH_TO_DIPLOMA = "high_to_diploma"  # 高起专: upper secondary → 专科
    HIGH_TO_BACHELOR = "high_to_bachelor"  # 高起本: upper secondary → 本科
    DIPLOMA_TO_BACHELOR = "diploma_to_bachelor"  # 专升本: 专科 → 本科


LEVEL_LABELS = {
    Level.HIGH_TO_DIPLOMA: "高起专",
    Level.HIGH_TO_BACHELOR: "高起本",
    Level.DIPLOMA_TO_BACHELOR: "专升本",
}


class Stage(enum.StrEnum):
    """Where a degree-upgrade case stands."""

    INTERESTED = "interested"
    REGISTERED = "registered"
    EXAM_TAKEN = "exam_taken"
    ADMITTED = "admitted"
    ENROLLED = "enrolled"
    STUDYING = "studying"
    GRADUATION_APPLIED = "graduation_applied"
    GRADUATED = "graduated"
    DEFERRED = "deferred"
    DROPPED = "dropped"
    RECORD_EXPIRED = "record_expired"


STAGE_LABELS = {
    Stage.INTERESTED: "有意向",
    Stage.REGISTERED: "已报名",
    Stage.EXAM_TAKEN: "已参加考试",
    Stage.ADMITTED: "已录取",
    Stage.ENROLLED: "已注册学籍",
    Stage.STUDYING: "在读",
    Stage.GRADUATION_APPLIED: "已申请毕业",
    Stage.GRADUATED: "已毕业",
    Stage.DEFERRED: "暂缓",
    Stage.DROPPED: "已退出",
    Stage.RECORD_EXPIRED: "学籍已过期",
}

# The verb shown on the button that moves a case into the stage.
STAGE_ACTIONS = {
    Stage.REGISTERED: "已报名",
    Stage.EXAM_TAKEN: "已参加考试",
    Stage.ADMITTED: "已录取",
    Stage.ENROLLED: "已注册学籍",
    Stage.STUDYING: "开始在读",
    Stage.GRADUATION_APPLIED: "已申请毕业",
    Stage.GRADUATED: "已毕业",
    Stage.DEFERRED: "暂缓",
    Stage.DROPPED: "退出",
    Stage.RECORD_EXPIRED: "学籍过期",
    Stage.INTERESTED: "恢复为有意向",
}

# Placeholder in TRANSITIONS: "back to the stage the case left when it was deferred".
RESUME = "resume"

TRANSITIONS: dict[Stage, tuple[Stage | str, ...]] = {
    Stage.INTERESTED: (Stage.REGISTERED, Stage.DEFERRED, Stage.DROPPED),
    Stage.REGISTERED: (Stage.EXAM_TAKEN, Stage.ENROLLED, Stage.DEFERRED, Stage.DROPPED),
    # not admitted → register again for next year's exam
    Stage.EXAM_TAKEN: (Stage.ADMITTED, Stage.REGISTERED, Stage.DEFERRED, Stage.DROPPED),
    Stage.ADMITTED: (Stage.ENROLLED, Stage.DEFERRED, Stage.DROPPED),
    Stage.ENROLLED: (Stage.STUDYING, Stage.DEFERRED, Stage.DROPPED, Stage.RECORD_EXPIRED),
    Stage.STUDYING: (Stage.GRADUATION_APPLIED, Stage.DEFERRED, Stage.DROPPED, Stage.RECORD_EXPIRED),
    # graduation refused (credits missing …) → back to studying
    Stage.GRADUATION_APPLIED: (Stage.GRADUATED, Stage.STUDYING, Stage.DROPPED, Stage.RECORD_EXPIRED),
    Stage.DEFERRED: (RESUME, Stage.DROPPED, Stage.RECORD_EXPIRED),
    Stage.GRADUATED: (),
    Stage.DROPPED: (),
    Stage.RECORD_EXPIRED: (),
}

EXAM_STAGES = frozenset({Stage.EXAM_TAKEN, Stage.ADMITTED})  # 成人高考 only
ROUTES_WITH_EXAM = frozenset({Route.ADULT_EXAM})
TERMINAL_STAGES = frozenset({Stage.GRADUATED, Stage.DROPPED, Stage.RECORD_EXPIRED})
# Stages at which the learner holds a student record (学籍) that can expire.
RECORD_STAGES = frozenset({Stage.ENROLLED, Stage.STUDYING, Stage.GRADUATION_APPLIED})
# "Upgrading their degree": registered … graduation applied. Not interest only, not deferred
# (on hold), not dropped, expired or graduated. Used by services.count_upgrading.
UPGRADING_STAGES = (Stage.REGISTERED, Stage.EXAM_TAKEN, Stage.ADMITTED, Stage.ENROLLED, Stage.STUDYING,
                    Stage.GRADUATION_APPLIED)
OPEN_STAGES = tuple(s for s in Stage if s not in TERMINAL_STAGES)


def stage_path(route: Route | str | None) -> tuple[Stage, ...]:
    """The main path of a route, from interest to graduation (for the learner's timeline)."""
    path = [Stage.INTERESTED, Stage.REGISTERED]
    if route in ROUTES_WITH_EXAM:
        path += [Stage.EXAM_TAKEN, Stage.ADMITTED]
    return (*path, Stage.ENROLLED, Stage.STUDYING, Stage.GRADUATION_APPLIED, Stage.GRADUATED)


def allowed_targets(stage: Stage | str, route: Route | str | None, *,
                    resume_to: Stage | str | None = None) -> tuple[Stage, ...]:
    """Stages a case at ``stage`` on ``route`` may move to, in the order of ``TRANSITIONS``.

    Route rules: exam_taken and admitted exist only for 成人高考, whose registered cases must
    sit the exam (registered → enrolled is for the routes without an entrance exam). A case
    without a route (interest only) cannot register until a programme is chosen. A deferred
    case resumes to ``resume_to`` (the stage it left); it can only expire if it held a record.
    """
    stage = Stage(stage)
    out: list[Stage] = []
    for target in TRANSITIONS[stage]:
        if target == RESUME:
            if resume_to:
                out.append(Stage(resume_to))
            continue
        target = Stage(target)
        if target in EXAM_STAGES and route not in ROUTES_WITH_EXAM:
            continue
        if stage == Stage.REGISTERED and target == Stage.ENROLLED and route in ROUTES_WITH_EXAM:
            continue
        if stage == Stage.INTERESTED and target == Stage.REGISTERED and not route:
            continue
        if stage == Stage.DEFERRED and target == Stage.RECORD_EXPIRED and resume_to not in RECORD_STAGES:
            continue
        out.append(target)
    return tuple(out)


def can_move(stage: Stage | str, target: Stage | str, route: Route | str | None, *,
             resume_to: Stage | str | None = None) -> bool:
    """True when ``allowed_targets`` lists ``target``."""
    return Stage(target) in allowed_targets(stage, route, resume_to=resume_to)


# --- date arithmetic -----------------------------------------------------------------------

def add_months(day: date, months: int) -> date:
    """``day`` plus ``months`` calendar months, clamping to the month's last day.

    2026-08-31 + 30 months = 2029-02-28; 2027-08-31 + 6 months = 2028-02-29 (leap year).
    """
    index = day.year * 12 + (day.month - 1) + months
    year, month = divmod(index, 12)
    month += 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


MIN_STUDY_MONTHS = {Level.HIGH_TO_DIPLOMA: 30, Level.DIPLOMA_TO_BACHELOR: 30, Level.HIGH_TO_BACHELOR: 60}
OPEN_UNIVERSITY_RECORD_MONTHS = 96  # 8 years (国家开放大学 学籍有效期)


def default_min_study_months(route: Route | str, level: Level | str) -> int | None:
    """Minimum study length in months: 30 (2.5 years) for 高起专/专升本, 60 (5 years) for 高起本.

    自学考试 has no minimum length (graduation when every course is passed): None.
    """
    if Route(route) == Route.SELF_STUDY:
        return None
    return MIN_STUDY_MONTHS[Level(level)]


def default_record_valid_months(route: Route | str) -> int | None:
    """How long the student record stays valid, in months: 96 for 国家开放大学, else None."""
    return OPEN_UNIVERSITY_RECORD_MONTHS if Route(route) == Route.OPEN_UNIVERSITY else None


def earliest_graduation(enrolled_on: date | None, min_study_months: int | None) -> date | None:
    """Enrolment date + minimum study length (months, month-end clamped), or None if unknown."""
    if enrolled_on is None or not min_study_months:
        return None
    return add_months(enrolled_on, min_study_months)


def record_expiry(enrolled_on: date | None, record_valid_months: int | None) -> date | None:
    """Enrolment date + record validity (国开: 96 months), or None when the route has none."""
    if enrolled_on is None or not record_valid_months:
        return None
    return add_months(enrolled_on, record_valid_months)


# --- key dates and the next milestone --------------------------------------------------------

class KeyDateKind(enum.StrEnum):
    """The kinds of yearly key dates a route publishes."""

    REGISTRATION = "registration"  # 报名
    EXAM = "exam"  # 考试
    ADMISSION = "admission"  # 录取
    ENROLMENT = "enrolment"  # 入学注册
    GRADUATION_APPLICATION = "graduation_application"  # 毕业申请
    GRADUATION = "graduation"  # 毕业（发证）


KEY_DATE_LABELS = {
    KeyDateKind.REGISTRATION: "报名",
    KeyDateKind.EXAM: "考试",
    KeyDateKind.ADMISSION: "录取",
    KeyDateKind.ENROLMENT: "入学注册",
    KeyDateKind.GRADUATION_APPLICATION: "毕业申请",
    KeyDateKind.GRADUATION: "毕业发证",
}


@dataclass(frozen=True)
class Window:
    """A key date or window of one route: ``starts_on`` … ``ends_on`` (inclusive; None = one day).

    ``estimated`` windows come from ``TYPICAL_CALENDAR`` when the academy has not entered the
    real dates yet; they are shown as "预计".
    """

    route: str
    kind: str
    starts_on: date
    ends_on: date | None = None
    note: str = ""
    estimated: bool = False

    @property
    def last_day(self) -> date:
        """The window's last day (its only day for a one-day date)."""
        return self.ends_on or self.starts_on


# Typical yearly calendar per route: (kind, (month, day) start, (month, day) end, year offset).
# Used only where no real key date of that kind lies within 60 days. Sources as in the module
# docstring; the 自考 registration and graduation windows and the 成考 graduation months vary by
# province (general knowledge, research §C2 [K]) — the academy enters the real dates.
TYPICAL_CALENDAR: dict[Route, tuple[tuple[KeyDateKind, tuple[int, int], tuple[int, int] | None, int], ...]] = {
    Route.ADULT_EXAM: (
        (KeyDateKind.REGISTRATION, (8, 20), (9, 10), 0),
        (KeyDateKind.EXAM, (10, 18), (10, 19), 0),
        (KeyDateKind.ADMISSION, (12, 10), (12, 31), 0),
        (KeyDateKind.ENROLMENT, (3, 1), (3, 31), 1),
        (KeyDateKind.GRADUATION_APPLICATION, (11, 1), (11, 30), 0),
        (KeyDateKind.GRADUATION, (1, 10), (1, 31), 0),
    ),
    Route.SELF_STUDY: (
        (KeyDateKind.REGISTRATION, (2, 20), (3, 5), 0),
        (KeyDateKind.REGISTRATION, (8, 20), (9, 5), 0),
        (KeyDateKind.EXAM, (4, 12), (4, 13), 0),
        (KeyDateKind.EXAM, (10, 25), (10, 26), 0),
        (KeyDateKind.GRADUATION_APPLICATION, (5, 1), (5, 15), 0),
        (KeyDateKind.GRADUATION_APPLICATION, (11, 1), (11, 15), 0),
        (KeyDateKind.GRADUATION, (6, 20), (6, 30), 0),
        (KeyDateKind.GRADUATION, (12, 20), (12, 31), 0),
    ),
    Route.OPEN_UNIVERSITY: (
        (KeyDateKind.REGISTRATION, (1, 5), (3, 15), 0),
        (KeyDateKind.REGISTRATION, (6, 1), (9, 15), 0),
        (KeyDateKind.ENROLMENT, (3, 1), (3, 31), 0),
        (KeyDateKind.ENROLMENT, (9, 1), (9, 30), 0),
        (KeyDateKind.GRADUATION_APPLICATION, (5, 1), (5, 31), 0),
        (KeyDateKind.GRADUATION_APPLICATION, (11, 1), (11, 30), 0),
        (KeyDateKind.GRADUATION, (7, 1), (7, 31), 0),
        (KeyDateKind.GRADUATION, (1, 1), (1, 31), 0),
    ),
    Route.ONLINE: (
        (KeyDateKind.GRADUATION_APPLICATION, (5, 1), (5, 31), 0),
        (KeyDateKind.GRADUATION_APPLICATION, (11, 1), (11, 30), 0),
        (KeyDateKind.GRADUATION, (7, 1), (7, 31), 0),
        (KeyDateKind.GRADUATION, (1, 1), (1, 31), 0),
    ),
}
ESTIMATE_SUPPRESS_DAYS = 60  # a real key date within this many days replaces the estimate


def with_estimates(route: Route | str, real: Iterable[Window], years: Iterable[int]) -> list[Window]:
    """The route's real windows plus typical-calendar estimates for ``years``, sorted by date.

    An estimate is dropped when a real window of the same kind starts within 60 days of it,
    whatever year the real one was filed under.
    """
    route = Route(route)
    real = [w for w in real if w.route == route]
    out = list(real)
    for year in years:
        for kind, start, end, offset in TYPICAL_CALENDAR.get(route, ()):
            starts = date(year + offset, *start)
            ends = date(year + offset, *end) if end else None
            if ends and ends < starts:
                ends = date(year + offset + 1, *end)
            if any(w.kind == kind and abs((w.starts_on - starts).days) <= ESTIMATE_SUPPRESS_DAYS for w in real):
                continue
            out.append(Window(route=route, kind=kind, starts_on=starts, ends_on=ends, estimated=True))
    return sorted(out, key=lambda w: (w.starts_on, w.estimated))


@dataclass(frozen=True)
class Step:
    """The next thing a case needs: title, which key date it waits for, what to prepare.

    ``anchor`` "stage": the first window ending on or after the day the case reached its stage
    (missed → overdue); "today": the next window still open today (a yearly chance, never
    overdue). ``kind`` None: no published date.
    """

    code: str
    title: str
    kind: KeyDateKind | None
    anchor: str
    checklist: tuple[str, ...] = ()


_ID = "身份证原件"
_PHOTO = "近期免冠证件照（电子版）"
STEPS: dict[str, Step] = {
    "choose": Step("choose", "和老师确定途径、层次和专业", None, "today",
                   ("想好要读专科还是本科、读什么专业", "带上身份证和最高学历证书", "问清学费和补贴")),
    "adult_register": Step("adult_register", "成人高考报名", KeyDateKind.REGISTRATION, "today",
                           (_ID, "高中/中专毕业证（专升本：专科毕业证，学信网可查）", _PHOTO, "报名费（约数十元）")),
    "adult_exam": Step("adult_exam", "参加成人高考", KeyDateKind.EXAM, "stage",
                       ("打印准考证", _ID, "黑色签字笔、2B铅笔", "提前一天看好考场路线")),
    "adult_admission": Step("adult_admission", "查询录取结果", KeyDateKind.ADMISSION, "stage",
                            ("查询成绩，留意录取线", "保持手机畅通", "确认录取院校和专业")),
    "enrolment": Step("enrolment", "入学注册", KeyDateKind.ENROLMENT, "stage",
                      ("录取通知书或入学通知", "缴纳第一年学费", "到学信网核对学籍信息", "申请学费补贴（如有）")),
    "self_register": Step("self_register", "自学考试报名（报考）", KeyDateKind.REGISTRATION, "today",
                          (_ID, "专科毕业证（专升本）", _PHOTO, "选好首批报考的课程")),
    "self_first_exam": Step("self_first_exam", "参加第一次自学考试", KeyDateKind.EXAM, "stage",
                            ("打印准考证", _ID, "复习所报课程的教材")),
    "open_register": Step("open_register", "国家开放大学报名（免试入学）", KeyDateKind.REGISTRATION, "today",
                          (_ID, "最高学历证书（专升本：专科毕业证）", _PHOTO)),
    "start_study": Step("start_study", "开始上课", None, "today",
                        ("登录学校的学习平台", "确认第一学期的课程", "记下辅导老师的联系方式")),
    "next_sitting": Step("next_sitting", "参加下一次自学考试", KeyDateKind.EXAM, "today",
                         ("在报考时间内报考下一批课程", "打印准考证", _ID)),
    "earliest_graduation": Step("earliest_graduation", "最早可以毕业", None, "stage",
                                ("按学期修够学分", "完成毕业论文或实践环节")),
    "graduation_application": Step("graduation_application", "申请毕业", KeyDateKind.GRADUATION_APPLICATION,
                                   "today", ("确认学分已修满", "完成学信网图像采集（毕业照）", "结清学费")),
    "graduation": Step("graduation", "领取毕业证", KeyDateKind.GRADUATION, "stage",
                       ("核对毕业证上的姓名和身份证号", "毕业后到学信网查询学历", "把毕业证编号告诉学院")),
    "record_expired": Step("record_expired", "学籍到期", None, "stage",
                           ("联系学校确认学籍状态", "和老师商量后续办法")),
}


@dataclass(frozen=True)
class CaseFacts:
    """What the planner needs to know about a case (built by services from a DegreeCase).

    ``credits_complete``: the credits or courses required are all earned (自考 graduation).
    """

    route: str | None
    stage: str
    stage_since: date
    resume_to: str | None = None
    earliest_graduation_on: date | None = None
    record_expires_on: date | None = None
    credits_complete: bool = False


@dataclass(frozen=True)
class Milestone:
    """The next step of a case with its date (or window) and what to prepare.

    ``due_on`` is the date that matters now: the start of a window not yet open, else its
    last day. ``overdue``: the step's date has passed and the case has not moved on.
    """

    code: str
    title: str
    starts_on: date | None = None
    ends_on: date | None = None
    estimated: bool = False
    overdue: bool = False
    checklist: tuple[str, ...] = ()
    note: str = ""
    deferred: bool = False
    extra: dict = field(default_factory=dict, compare=False)

    def due_on(self, today: date) -> date | None:
        """The start of a window not yet open, else its last day; None without a date."""
        if self.starts_on is None:
            return None
        if today < self.starts_on:
            return self.starts_on
        return self.ends_on or self.starts_on

    def is_upcoming(self, today: date, days: int) -> bool:
        """True when the step's date falls within the next ``days`` days (today included)."""
        due = self.due_on(today)
        return due is not None and not self.overdue and today <= due <= today + timedelta(days=days)

    def when_text(self, today: date) -> str:
        """The date as a rider reads it: "8月20日开始", "进行中，9月10日截止", "已过期（10月18日）"."""
        if self.starts_on is None:
            return "日期以学校通知为准"
        prefix = "预计" if self.estimated else ""
        start = short_date(self.starts_on, today)
        if self.overdue:
            return f"已过期（{short_date(self.ends_on or self.starts_on, today)}）"
        if self.ends_on and self.ends_on != self.starts_on:
            if today < self.starts_on:
                return f"{prefix}{start}开始"
            return f"进行中，{prefix}{short_date(self.ends_on, today)}截止"
        return f"{prefix}{start}"


def short_date(day: date, today: date) -> str:
    """"8月20日" within the current year, "2027年3月1日" otherwise."""
    if day.year == today.year:
        return f"{day.month}月{day.day}日"
    return f"{day.year}年{day.month}月{day.day}日"


def next_step(facts: CaseFacts, today: date) -> Step | None:
    """Which step comes next for a case (None when the case is closed)."""
    stage = Stage(facts.stage)
    route = Route(facts.route) if facts.route else None
    if stage in TERMINAL_STAGES:
        return None
    if stage == Stage.DEFERRED:
        if not facts.resume_to:
            return None
        return next_step(replace(facts, stage=facts.resume_to), today)
    if facts.record_expires_on and stage in RECORD_STAGES and today > facts.record_expires_on:
        return STEPS["record_expired"]
    if route is None:
        return STEPS["choose"]
    if stage == Stage.INTERESTED:
        return {Route.ADULT_EXAM: STEPS["adult_register"], Route.SELF_STUDY: STEPS["self_register"],
                Route.OPEN_UNIVERSITY: STEPS["open_register"]}.get(route, STEPS["choose"])
    if stage == Stage.REGISTERED:
        return {Route.ADULT_EXAM: STEPS["adult_exam"], Route.SELF_STUDY: STEPS["self_first_exam"]}.get(
            route, STEPS["enrolment"])
    if stage == Stage.EXAM_TAKEN:
        return STEPS["adult_admission"]
    if stage == Stage.ADMITTED:
        return STEPS["enrolment"]
    if stage == Stage.ENROLLED:
        return STEPS["start_study"]
    if stage == Stage.STUDYING:
        if route == Route.SELF_STUDY and not facts.credits_complete:
            return STEPS["next_sitting"]
        if facts.earliest_graduation_on and today < facts.earliest_graduation_on:
            return STEPS["earliest_graduation"]
        return STEPS["graduation_application"]
    if stage == Stage.GRADUATION_APPLIED:
        return STEPS["graduation"]
    return None  # pragma: no cover - every stage is handled above


def plan_milestone(facts: CaseFacts, windows: Iterable[Window], today: date) -> Milestone | None:
    """The case's next milestone: step, date from the route's windows, checklist, overdue flag.

    ``windows`` are the route's key dates (real and estimated, see ``with_estimates``). A step
    anchored at the stage takes the first window of its kind whose last day is on or after the
    day the case reached its stage — so after the October exam comes admission in December,
    then enrolment in March of the next year — and is overdue once that day has passed. A step
    anchored today takes the next window still open today and is never overdue. Deferred cases
    show the step they will resume with, anchored today.
    """
    step = next_step(facts, today)
    if step is None:
        return None
    deferred = Stage(facts.stage) == Stage.DEFERRED
    anchor = "today" if deferred else step.anchor
    if step.code == "earliest_graduation":
        return Milestone(step.code, step.title, facts.earliest_graduation_on, None,
                         checklist=step.checklist, deferred=deferred)
    if step.code == "record_expired":
        return Milestone(step.code, step.title, facts.record_expires_on, None, overdue=True,
                         checklist=step.checklist)
    if step.kind is None:
        return Milestone(step.code, step.title, checklist=step.checklist, deferred=deferred)
    since = today if anchor == "today" else facts.stage_since
    candidates = [w for w in windows if w.kind == step.kind and w.last_day >= since]
    if not candidates:
        return Milestone(step.code, step.title, checklist=step.checklist, deferred=deferred)
    window = min(candidates, key=lambda w: (w.starts_on, w.estimated))
    overdue = anchor == "stage" and window.last_day < today
    return Milestone(step.code, step.title, window.starts_on, window.ends_on, window.estimated, overdue,
                     step.checklist, window.note, deferred)


# --- import labels ----------------------------------------------------------------------------

ROUTE_ALIASES = {
    "成人高考": Route.ADULT_EXAM, "成考": Route.ADULT_EXAM, "成人高等教育": Route.ADULT_EXAM,
    "成人高校招生考试": Route.ADULT_EXAM,
    "高等教育自学考试": Route.SELF_STUDY, "自学考试": Route.SELF_STUDY, "自考": Route.SELF_STUDY,
    "国家开放大学": Route.OPEN_UNIVERSITY, "国开": Route.OPEN_UNIVERSITY, "开放大学": Route.OPEN_UNIVERSITY,
    "开放教育": Route.OPEN_UNIVERSITY, "电大": Route.OPEN_UNIVERSITY,
    "网络教育": Route.ONLINE, "远程教育": Route.ONLINE, "网络教育（存量）": Route.ONLINE,
}
LEVEL_ALIASES = {
    "高起专": Level.HIGH_TO_DIPLOMA, "高中起点专科": Level.HIGH_TO_DIPLOMA, "高升专": Level.HIGH_TO_DIPLOMA,
    "高起本": Level.HIGH_TO_BACHELOR, "高中起点本科": Level.HIGH_TO_BACHELOR,
    "专升本": Level.DIPLOMA_TO_BACHELOR, "专科起点本科": Level.DIPLOMA_TO_BACHELOR,
}
# Every label seen in the academy's ledger (shared/data/degree-cases.xlsx: 意向 已报名 已参加考试
# 已录取 已注册学籍 在读 已申请毕业 已毕业 暂缓 退学) and their usual synonyms.
STAGE_ALIASES = {
    "意向": Stage.INTERESTED, "有意向": Stage.INTERESTED, "咨询": Stage.INTERESTED, "已咨询": Stage.INTERESTED,
    "已报名": Stage.REGISTERED, "报名": Stage.REGISTERED,
    "已参加考试": Stage.EXAM_TAKEN, "已考试": Stage.EXAM_TAKEN, "已参考": Stage.EXAM_TAKEN,
    "已录取": Stage.ADMITTED, "录取": Stage.ADMITTED,
    "已注册学籍": Stage.ENROLLED, "注册学籍": Stage.ENROLLED, "已注册": Stage.ENROLLED, "已入学": Stage.ENROLLED,
    "在读": Stage.STUDYING, "学习中": Stage.STUDYING, "在学": Stage.STUDYING,
    "已申请毕业": Stage.GRADUATION_APPLIED, "申请毕业": Stage.GRADUATION_APPLIED,
    "已毕业": Stage.GRADUATED, "毕业": Stage.GRADUATED,
    "暂缓": Stage.DEFERRED, "休学": Stage.DEFERRED, "保留学籍": Stage.DEFERRED,
    "退学": Stage.DROPPED, "已退学": Stage.DROPPED, "放弃": Stage.DROPPED, "已退出": Stage.DROPPED,
    "学籍过期": Stage.RECORD_EXPIRED, "学籍已过期": Stage.RECORD_EXPIRED,
}
