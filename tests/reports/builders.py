"""A small city with known figures for the report tests (see ``city`` for the expected values).

Records are written as rows (fast, and exactly the states the definitions talk about); results go
through the real exams services so that outcomes are computed by the exams module itself.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from academy.accounts.models import User
from academy.attendance.models import AttendanceRecord, ClassSession, SessionStatus
from academy.catalogue.models import Cohort, CohortStatus, ExcusedPolicy
from academy.certificates.models import Certificate, CertificateStatus, ExternalLevelCertificate
from academy.common.timeutil import local_zone
from academy.competitions.models import Edition, Entry, EntryStatus, Event
from academy.degrees.stages import Stage
from academy.enrolment.models import Enrolment, EnrolmentStatus
from academy.exams import services as exams
from academy.extensions import db
from tests.degrees.builders import make_case
from tests.factories import make_cohort, make_course, make_instructor, make_learner, valid_id_number

NOW = datetime(2026, 6, 30, 12, 0, tzinfo=UTC)  # the default period is then 2026-01-01 … 2026-06-30
_seq = itertools.count(1)


def local(text: str) -> datetime:
    """``local("2026-03-02 19:30")`` → the aware UTC instant of that Asia/Shanghai wall time."""
    return datetime.fromisoformat(text).replace(tzinfo=local_zone()).astimezone(UTC)


def learner(district: str | None, group: str | None, platform: str | None, **extra) -> User:
    return make_learner(district=district, occupation_group=group, platform=platform, id_number=valid_id_number(),
                        **extra)


def seat(person: User, cohort: Cohort, status: str = EnrolmentStatus.ENROLLED, at: str = "2026-02-20 10:00") -> Enrolment:
    when = local(at)
    enrolment = Enrolment(learner_id=person.id, cohort_id=cohort.id, status=status, applied_at=when,
                          enrolled_at=when if status == EnrolmentStatus.ENROLLED else None, source="admin")
    db.session.add(enrolment)
    return enrolment


def session(cohort: Cohort, starts: str, statuses: dict[User, str], *, cancelled: bool = False) -> ClassSession:
    begin = local(starts)
    s = ClassSession(cohort_id=cohort.id, starts_at=begin, ends_at=begin + timedelta(hours=2),
                     status=SessionStatus.CANCELLED if cancelled else SessionStatus.SCHEDULED)
    db.session.add(s)
    db.session.flush()
    for person, status in statuses.items():
        db.session.add(AttendanceRecord(session_id=s.id, learner_id=person.id, status=status, source="roll_call",
                                        marked_at=begin))
    return s


def results(cohort: Cohort, instructor: User, marks: dict[User, tuple[str, str]], *, publish: bool = True):
    """The default 结业考核 (理论知识 and 操作技能, pass 60 each) with ``marks``, published at NOW."""
    assessment = exams.create_assessment(cohort, actor=instructor)
    ids = [c.id for c in assessment.components]
    entries = {(p.id, cid): value for p, values in marks.items() for cid, value in zip(ids, values, strict=True)}
    if entries:
        exams.record_scores(assessment, entries, actor=instructor, now=NOW)
    if publish:
        exams.publish(assessment, actor=instructor, now=NOW, allow_incomplete=True)
    return assessment


def certificate(person: User, cohort: Cohort | None, issued_on: str, *, status: str = CertificateStatus.VALID,
                kind: str = "completion", replaces: Certificate | None = None) -> Certificate:
    n = next(_seq)
    c = Certificate(kind=kind, serial=f"RPT-{n:06d}", verification_code=f"{n:010d}", learner_id=person.id,
                    cohort_id=cohort.id if cohort else None, course_id=cohort.course_id if cohort else None,
                    holder_name=person.name, holder_id_masked="360702********0011", issuer_name="金小哥学院",
                    issued_on=date.fromisoformat(issued_on), status=status, details={},
                    replaces_id=replaces.id if replaces else None)
    db.session.add(c)
    db.session.flush()
    if replaces is not None:
        replaces.status, replaces.replaced_by_id = CertificateStatus.REPLACED, c.id
    return c


def level_certificate(person: User, issued_on: str, occupation: str = "电工") -> ExternalLevelCertificate:
    n = next(_seq)
    x = ExternalLevelCertificate(learner_id=person.id, number=f"S000036000001265{n:06d}"[:22], level=5,
                                 occupation=occupation, issuer="赣州市某评价机构", issued_on=date.fromisoformat(issued_on))
    db.session.add(x)
    return x


def event(contest: str | None, occupation: str, *, edition_starts: str | None = None) -> Event:
    n = next(_seq)
    edition = Edition(name=f"报表测试竞赛{n}", year=2026,
                      starts_on=date.fromisoformat(edition_starts) if edition_starts else None)
    e = Event(edition=edition, public_code=f"rpt{n:08d}", name=occupation, occupation=occupation,
              contest_date=date.fromisoformat(contest) if contest else None)
    db.session.add(e)
    db.session.flush()
    return e


def entry(person: User, ev: Event, status: str = EntryStatus.APPROVED) -> Entry:
    n = next(_seq)
    x = Entry(event_id=ev.id, learner_id=person.id, code=f"rpt-entry-{n:08d}", status=status)
    db.session.add(x)
    return x


@dataclass
class City:
    """The people and cohorts of ``city``, by the names its docstring uses."""

    people: dict[str, User] = field(default_factory=dict)
    cohorts: dict[str, Cohort] = field(default_factory=dict)
    courses: dict = field(default_factory=dict)
    certificates: dict[str, Certificate] = field(default_factory=dict)


# What ``city()`` must report for the default period (2026-01-01 … 2026-06-30), and filtered.
EXPECTED = {
    "learners_trained": 5, "certificates_issued": 2, "level_certificates": 1, "upgrading": 2,
    "attended": 6, "held": 8, "passed": 1, "with_result": 3, "entrants": 3,
}
EXPECTED_RUIJIN = {
    "learners_trained": 3, "certificates_issued": 1, "level_certificates": 1, "upgrading": 1,
    "attended": 4, "held": 4, "passed": 1, "with_result": 2, "entrants": 1,
}
EXPECTED_TRENDS = {  # month → (enrolments, certificates, check-ins)
    "2026-01": (1, 0, 0), "2026-02": (3, 0, 0), "2026-03": (0, 0, 4), "2026-04": (2, 0, 0),
    "2026-05": (0, 0, 0), "2026-06": (0, 2, 1),
}


def city() -> City:
    """Known records, with what each contributes to the figures of 2026-01-01 … 2026-06-30:

    * Courses A (电工) and B (网约配送员). Cohorts A1 (starts 3 March, ends 31 May, excused left
      out), A2 (started November 2025, ends 28 February), B1 (starts 6 April, ends in August,
      excused counts as attended), D (course A, January–February, results NOT published) and C
      (course B, cancelled).
    * Learners: L1 瑞金市/外卖员/美团 (A1, B1), L2 瑞金市/快递员/顺丰 (A1), L3 章贡区/外卖员/美团 (A1),
      L4 瑞金市 (A1, withdrawn), L5 章贡区/网约车司机/滴滴 (A2), L6 no profile (B1), L7 (B1, pending),
      L8 (C, cancelled), L9 瑞金市/外卖员/美团 (D).
      → trained: L1 L2 L3 L6 L9 = 5 (瑞金市 3, 章贡区 1, 未填写 1; course A 4, course B 2).
    * Certificates: L1 A1 valid (June); L2 A1 revoked; L3 A1 replaced by a reissue (counted once);
      L5 A2 issued December 2025 and reissued in March (original outside the period); L1 an award
      certificate (not training); L6 B1 replaced by a reissue that was then revoked → 2 (June).
    * Level certificates: L2 electrician April 2026 (counts), L5 January 2025 (outside) → 1.
    * Degree cases: L3 studying, L2 registered (count); L1 interested, L6 graduated (not) → 2.
    * Attendance: A1 2 Mar L1 present, L2 late, L3 absent; A1 9 Mar L1 excused (left out), L2 and
      L3 present; A1 16 Mar cancelled (L1 present, ignored); B1 6 Apr L1 excused (attended), L6
      absent; B1 30 Jun 23:30 L6 present (in the period); B1 1 Jul 00:30 L1 present (outside);
      A2 1 Dec 2025 L5 present (outside) → attended 6 / held 8.
    * Results (cohorts ending in the period: A1, A2, D): A1 L1 80/75 passed, L2 50/70 failed, L3
      no marks (pending); A2 L5 缺考/70 failed; D L9 90/90 not published → passed 1 / 3.
    * Competition: E1 (网约配送员, 20 May) L1 and L3 approved, L2 pending, L6 rejected; E2 (no date,
      edition from September) L1 approved (outside); E3 (电工, 1 February) L5 approved → 3.
    """
    out = City()
    teacher = make_instructor()
    a = make_course(occupation="电工", title="电工技能培训")
    b = make_course(occupation="网约配送员", title="网约配送员培训", occupation_code="4-02-07-10")
    out.courses = {"A": a, "B": b}
    cohorts = {
        "A1": make_cohort(a, instructors=[teacher], start_date=date(2026, 3, 2), end_date=date(2026, 5, 31),
                          status=CohortStatus.FINISHED),
        "A2": make_cohort(a, instructors=[teacher], start_date=date(2025, 11, 1), end_date=date(2026, 2, 28),
                          status=CohortStatus.FINISHED),
        "B1": make_cohort(b, instructors=[teacher], start_date=date(2026, 4, 6), end_date=date(2026, 8, 31),
                          status=CohortStatus.RUNNING, excused_policy=ExcusedPolicy.PRESENT),
        "C": make_cohort(b, instructors=[teacher], start_date=date(2026, 2, 1), end_date=date(2026, 3, 1),
                         status=CohortStatus.CANCELLED),
        "D": make_cohort(a, instructors=[teacher], start_date=date(2026, 1, 5), end_date=date(2026, 2, 20),
                         status=CohortStatus.FINISHED),
    }
    out.cohorts = cohorts
    p = out.people
    p["L1"] = learner("瑞金市", "外卖员", "美团")
    p["L2"] = learner("瑞金市", "快递员", "顺丰")
    p["L3"] = learner("章贡区", "外卖员", "美团")
    p["L4"] = learner("瑞金市", "外卖员", "美团")
    p["L5"] = learner("章贡区", "网约车司机", "滴滴")
    p["L6"] = learner(None, None, None)
    p["L7"] = learner("瑞金市", "外卖员", "美团")
    p["L8"] = learner("瑞金市", "外卖员", "美团")
    p["L9"] = learner("瑞金市", "外卖员", "美团")
    for name in ("L1", "L2", "L3"):
        seat(p[name], cohorts["A1"])
    seat(p["L4"], cohorts["A1"], EnrolmentStatus.WITHDRAWN)
    seat(p["L5"], cohorts["A2"], at="2025-10-20 10:00")
    seat(p["L1"], cohorts["B1"], at="2026-04-01 01:00")  # local April, UTC still 31 March
    seat(p["L6"], cohorts["B1"], at="2026-04-01 01:00")
    seat(p["L7"], cohorts["B1"], EnrolmentStatus.PENDING)
    seat(p["L8"], cohorts["C"], at="2026-01-15 10:00")
    seat(p["L9"], cohorts["D"], at="2026-01-02 10:00")
    db.session.flush()

    c = out.certificates
    c["C1"] = certificate(p["L1"], cohorts["A1"], "2026-06-01")
    c["C2"] = certificate(p["L2"], cohorts["A1"], "2026-06-01", status=CertificateStatus.REVOKED)
    c["C3"] = certificate(p["L3"], cohorts["A1"], "2026-06-01")
    c["C4"] = certificate(p["L3"], cohorts["A1"], "2026-06-10", replaces=c["C3"])
    c["C5"] = certificate(p["L5"], cohorts["A2"], "2025-12-20")
    c["C6"] = certificate(p["L5"], cohorts["A2"], "2026-03-01", replaces=c["C5"])
    c["C7"] = certificate(p["L1"], None, "2026-05-01", kind="award")
    c["C8"] = certificate(p["L6"], cohorts["B1"], "2026-06-30")
    c["C9"] = certificate(p["L6"], cohorts["B1"], "2026-06-30", replaces=c["C8"], status=CertificateStatus.REVOKED)

    level_certificate(p["L2"], "2026-04-01")
    level_certificate(p["L5"], "2025-01-01")

    make_case(Stage.STUDYING, learner=p["L3"])
    make_case(Stage.REGISTERED, learner=p["L2"])
    make_case(Stage.INTERESTED, learner=p["L1"])
    make_case(Stage.GRADUATED, learner=p["L6"])

    session(cohorts["A1"], "2026-03-02 19:30", {p["L1"]: "present", p["L2"]: "late", p["L3"]: "absent"})
    session(cohorts["A1"], "2026-03-09 19:30", {p["L1"]: "excused", p["L2"]: "present", p["L3"]: "present"})
    session(cohorts["A1"], "2026-03-16 19:30", {p["L1"]: "present"}, cancelled=True)
    session(cohorts["B1"], "2026-04-06 19:30", {p["L1"]: "excused", p["L6"]: "absent"})
    session(cohorts["B1"], "2026-06-30 23:30", {p["L6"]: "present"})
    session(cohorts["B1"], "2026-07-01 00:30", {p["L1"]: "present"})
    session(cohorts["A2"], "2025-12-01 19:30", {p["L5"]: "present"})

    results(cohorts["A1"], teacher, {p["L1"]: ("80", "75"), p["L2"]: ("50", "70")})
    results(cohorts["A2"], teacher, {p["L5"]: ("缺考", "70")})
    results(cohorts["D"], teacher, {p["L9"]: ("90", "90")}, publish=False)

    e1 = event("2026-05-20", "网约配送员")
    e2 = event(None, "网约配送员", edition_starts="2026-09-01")
    e3 = event("2026-02-01", "电工")
    entry(p["L1"], e1)
    entry(p["L3"], e1)
    entry(p["L2"], e1, EntryStatus.PENDING)
    entry(p["L6"], e1, EntryStatus.REJECTED)
    entry(p["L1"], e2)
    entry(p["L5"], e3)
    db.session.commit()
    return out


def score(value: str) -> Decimal:
    return Decimal(value)
