"""Personal-data rules (PIPL, 个人信息保护法): who may see a person's full data, what an export of
one person's data holds, and how an account is anonymised.

* **Unmasking** (``unmask``) — lists and exports mask names, mobiles and ID numbers
  (``common/masking.py``). An administrator, or an instructor for a learner ENROLLED in a cohort
  they teach (to phone an absent learner), may see the full mobile and ID number once; every
  look is written to the audit log as ``personal_data.unmasked`` (PIPL art. 51: access control
  and records of processing).
* **Export** (``personal_data`` / ``export_personal_data``) — everything the academy holds about
  one person, one sheet per kind (PIPL art. 45, the right to copy one's data). An administrator
  gets every record, results not yet published included, and the audit events about the person;
  the person gets their own data with published results only and without the internal audit
  log. Each export is audited (``personal_data.exported``).
* **Anonymisation** (``anonymise``) — PIPL art. 47 deletion, done as anonymisation so that the
  academy's records and the figures it reported stay true: see ``anonymise`` for exactly what
  changes and what stays.

Every function takes the acting person keyword-only, raises ``PermissionDenied`` /
``PrivacyError`` / ``Conflict`` with a Chinese message, flushes and never commits.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

from flask import current_app
from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.orm import joinedload, selectinload

from academy.accounts.models import ROLE_LABELS, Role, User, UserRole
from academy.attendance.models import SOURCE_ZH, STATUS_ZH, AttendanceRecord, LeaveRequest
from academy.audit.models import AuditEvent
from academy.audit.services import record
from academy.catalogue.models import cohort_instructors
from academy.certificates.models import Certificate, ExternalLevelCertificate
from academy.common.masking import mask_name
from academy.common.spreadsheets import build_xlsx
from academy.common.text import clean
from academy.common.timeutil import format_local, now_utc
from academy.competitions.models import Entry, Result
from academy.degrees.models import DegreeCase, Notice
from academy.enrolment.models import Enrolment, EnrolmentStatus
from academy.errors import Conflict, DomainError, PermissionDenied
from academy.exams import outcomes
from academy.exams.models import Assessment, Attempt
from academy.exams.scoring import format_score
from academy.extensions import db

ANONYMISED_MOBILE = re.compile(r"^0\d{10}$")  # never a real mobile (those start with 1)
ANONYMISED_NAME = "已注销用户"
REMOVED_TEXT = "（已删除）"
MIN_REASON = 4


class PrivacyError(DomainError):
    """A privacy request cannot be carried out as asked (e.g. no reason given)."""


# --- unmasking -------------------------------------------------------------------------------


def can_unmask(actor: User, person: User) -> bool:
    """True when ``actor`` may see ``person``'s full mobile and ID number: administrators always;
    instructors for a learner with an ENROLLED seat in a cohort they teach."""
    if not getattr(actor, "is_authenticated", False):
        return False
    if actor.is_admin:
        return True
    if not actor.is_instructor:
        return False
    teaches = (select(Enrolment.id).join(cohort_instructors, cohort_instructors.c.cohort_id == Enrolment.cohort_id)
               .where(Enrolment.learner_id == person.id, Enrolment.status == EnrolmentStatus.ENROLLED,
                      cohort_instructors.c.user_id == actor.id))
    return db.session.scalar(teaches.limit(1)) is not None


@dataclass(frozen=True)
class Unmasked:
    """The full values shown once: ``name``, ``mobile``, ``id_number`` (None when not on file)."""

    name: str
    mobile: str
    id_number: str | None


def unmask(person: User, *, actor: User, reason: str | None = None) -> Unmasked:
    """The person's full name, mobile and ID number for ``actor``, audited as
    ``personal_data.unmasked`` (fields shown, optional reason). Raises ``PermissionDenied`` unless
    ``can_unmask``; ``Conflict`` for an anonymised account (nothing left to show)."""
    if not can_unmask(actor, person):
        raise PermissionDenied("您不能查看此人的完整信息")
    if is_anonymised(person):
        raise Conflict("这个账号已注销，个人信息已删除")
    fields = ["name", "mobile"] + (["id_number"] if person.id_number else [])
    record("personal_data.unmasked", actor=actor, obj=person, fields=fields, reason=clean(reason) or None)
    return Unmasked(person.name, person.mobile, person.id_number)


# --- export ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class DataSheet:
    """One kind of record about the person: ``key`` (JSON), ``title`` (sheet), headers and rows."""

    key: str
    title: str
    headers: list[str]
    rows: list[list]


def _text(value) -> str | int | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return format_local(value, "%Y-%m-%d %H:%M:%S")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, bool):
        return "是" if value else "否"
    return value


def _sheet(key: str, title: str, headers: Sequence[str], rows) -> DataSheet:
    return DataSheet(key, title, list(headers), [[_text(v) for v in row] for row in rows])


def _profile(person: User) -> DataSheet:
    roles = "、".join(str(ROLE_LABELS[Role(r.role)]) for r in person.roles)
    rows = [("姓名", person.name), ("手机号", person.mobile), ("身份证号", person.id_number), ("性别", person.gender),
            ("出生日期", person.birth_date), ("所在县（市、区）", person.district), ("从业类型", person.occupation_group),
            ("平台/企业", person.platform), ("文化程度", person.education), ("政治面貌", person.political_status),
            ("角色", roles), ("账号状态", "正常" if person.is_active_account else "已停用"),
            ("注册时间", person.created_at), ("最近登录", person.last_login_at)]
    return _sheet("profile", "个人资料", ["项目", "内容"], rows)


def _enrolments(person: User) -> DataSheet:
    rows = db.session.scalars(select(Enrolment).where(Enrolment.learner_id == person.id).order_by(Enrolment.applied_at))
    return _sheet("enrolments", "报名", ["班级编号", "班级", "课程", "状态", "申请时间", "报名成功时间", "来源", "审核时间", "审核说明"],
                  [(e.cohort.code, e.cohort.name, e.cohort.course.title, e.status_label, e.applied_at, e.enrolled_at,
                    e.source, e.decided_at, e.decision_reason) for e in rows])


def _attendance(person: User) -> list[DataSheet]:
    records = db.session.scalars(
        select(AttendanceRecord).where(AttendanceRecord.learner_id == person.id)
        .options(joinedload(AttendanceRecord.session)).order_by(AttendanceRecord.id)).all()
    attendance = _sheet("attendance", "考勤", ["班级", "课次日期", "时间", "状态", "方式", "签到时间", "备注"],
                        [(r.session.cohort.name, r.session.day_text, r.session.time_text, STATUS_ZH.get(r.status, r.status),
                          SOURCE_ZH.get(r.source, r.source), r.checked_in_at, r.note) for r in records])
    leave = db.session.scalars(select(LeaveRequest).where(LeaveRequest.learner_id == person.id)
                               .options(joinedload(LeaveRequest.session)).order_by(LeaveRequest.id)).all()
    leave_sheet = _sheet("leave", "请假", ["班级", "课次", "原因", "状态", "申请时间", "审批时间", "审批说明"],
                         [(x.session.cohort.name, x.session.day_text, x.reason, x.status_label, x.requested_at,
                           x.decided_at, x.decision_note) for x in leave])
    return [attendance, leave_sheet]


def _marks_text(result) -> str:
    return "；".join(f"{name} {mark if mark is not None else '未录入'}" for name, mark in result.marks.items())


def _verdict(result) -> str:
    return {True: "合格", False: "不合格", None: "待定"}[result.passed]


def _results(person: User, *, include_unpublished: bool) -> DataSheet:
    headers = ["班级", "考核", "第几次", "各科成绩", "总分", "结果", "是否已公布", "公布时间"]
    rows = []
    if include_unpublished:
        attempts = db.session.scalars(
            select(Attempt).where(Attempt.learner_id == person.id)
            .options(selectinload(Attempt.scores), joinedload(Attempt.assessment).selectinload(Assessment.components))
            .order_by(Attempt.assessment_id)).all()
        for attempt in attempts:
            assessment = attempt.assessment
            result = outcomes.evaluate_attempt(assessment, attempt)
            rows.append((assessment.cohort.name, assessment.title, attempt.attempt_no, _marks_text(result),
                         format_score(result.total), _verdict(result), assessment.is_published, assessment.published_at))
    else:
        for cohort_results in outcomes.learner_results(person):
            for r in cohort_results.results:
                rows.append((cohort_results.cohort.name, r.assessment.title, r.attempt_no, _marks_text(r.result),
                             format_score(r.result.total), _verdict(r.result), True, r.assessment.published_at))
    return _sheet("results", "考核成绩", headers, rows)


def _certificates(person: User) -> list[DataSheet]:
    issued = db.session.scalars(select(Certificate).where(Certificate.learner_id == person.id)
                                .order_by(Certificate.issued_on, Certificate.id)).all()
    external = db.session.scalars(select(ExternalLevelCertificate).where(ExternalLevelCertificate.learner_id == person.id)
                                  .order_by(ExternalLevelCertificate.issued_on)).all()
    return [
        _sheet("certificates", "证书", ["证书编号", "证书", "状态", "持证人", "身份证号（证书上）", "课程", "等级", "发证日期",
                                       "发证单位", "作废日期", "作废原因"],
               [(c.serial, c.title, c.status_label, c.holder_name, c.holder_id_masked, c.course_title, c.level,
                 c.issued_on, c.issuer_name, c.revoked_at, c.revocation_label) for c in issued]),
        _sheet("level_certificates", "登记的等级证书", ["证书编号", "等级", "职业", "发证机构", "发证日期"],
               [(x.number, x.level, x.occupation, x.issuer, x.issued_on) for x in external]),
    ]


def _degrees(person: User) -> list[DataSheet]:
    cases = db.session.scalars(select(DegreeCase).where(DegreeCase.learner_id == person.id)
                               .options(joinedload(DegreeCase.programme), selectinload(DegreeCase.events),
                                        selectinload(DegreeCase.course_results)).order_by(DegreeCase.id)).all()
    case_rows, events, courses = [], [], []
    for case in cases:
        programme = case.programme
        case_rows.append((case.id, case.route_label, case.level_label, programme.institution if programme else None,
                          programme.major if programme else None, case.stage_label, case.stage_since,
                          case.student_number, case.exam_ticket_number, case.exam_score, case.admitted_on,
                          case.enrolled_on, case.credits_earned, case.fees_paid, case.subsidy_granted,
                          case.graduated_on, case.diploma_number))
        events += [(case.id, e.on, e.from_label, e.to_label, e.note) for e in case.events]
        courses += [(case.id, c.course_code, c.course_name, c.credits, c.sitting, c.result_label, c.score)
                    for c in case.course_results]
    return [
        _sheet("degree_cases", "学历提升", ["个案编号", "途径", "层次", "院校", "专业", "阶段", "阶段日期", "学号", "准考证号",
                                           "考试成绩", "录取日期", "入学日期", "已获学分", "已缴学费（元）", "补贴（元）",
                                           "毕业日期", "毕业证编号"], case_rows),
        _sheet("degree_events", "学历提升记录", ["个案编号", "日期", "原阶段", "新阶段", "说明"], events),
        _sheet("degree_courses", "自考课程成绩", ["个案编号", "课程代码", "课程名称", "学分", "考试时间", "结果", "成绩"], courses),
    ]


def _competitions(person: User) -> DataSheet:
    entries = db.session.scalars(select(Entry).where(Entry.learner_id == person.id)
                                 .options(joinedload(Entry.event)).order_by(Entry.applied_at)).all()
    results = {r.entry_id: r for r in db.session.scalars(
        select(Result).where(Result.entry_id.in_([e.id for e in entries])))} if entries else {}
    rows = []
    for e in entries:
        result = results.get(e.id) if e.event.published_at else None  # only what was published
        rows.append((e.event.edition.name, e.event.name, e.status_label, e.number_label or None, e.applied_at,
                     result.rank if result else None, result.total_text if result else None,
                     result.award if result else None))
    return _sheet("competition_entries", "竞赛报名", ["届次", "赛项", "状态", "抽签号", "报名时间", "名次", "总分", "奖项"], rows)


def _audit(person: User) -> DataSheet:
    ids = {
        "Enrolment": select(Enrolment.id).where(Enrolment.learner_id == person.id),
        "Certificate": select(Certificate.id).where(Certificate.learner_id == person.id),
        "DegreeCase": select(DegreeCase.id).where(DegreeCase.learner_id == person.id),
        "Entry": select(Entry.id).where(Entry.learner_id == person.id),
    }
    about = [AuditEvent.actor_id == person.id, (AuditEvent.object_type == "User") & (AuditEvent.object_id == person.id)]
    about += [(AuditEvent.object_type == kind) & AuditEvent.object_id.in_(stmt) for kind, stmt in ids.items()]
    events = db.session.scalars(select(AuditEvent).where(or_(*about)).order_by(AuditEvent.at, AuditEvent.id)).all()
    return _sheet("audit_events", "审计记录", ["时间", "操作", "操作人", "对象", "对象编号", "详情", "IP"],
                  [(e.at, e.action, mask_name(e.actor.name) if e.actor else None, e.object_type, e.object_id,
                    json.dumps(e.details or {}, ensure_ascii=False), e.ip) for e in events])


def personal_data(person: User, *, actor: User | None) -> list[DataSheet]:
    """Every record about ``person``, one ``DataSheet`` per kind: profile, enrolments, attendance,
    leave, results, certificates, recorded level certificates, degree cases (with history and
    自考 course results), competition entries, and — for administrators only — audit events
    about the person (as actor, or on their account, enrolments, certificates, cases, entries).

    Administrators see results of unpublished assessments too; the person sees published
    results only (``exams.outcomes.learner_results``). ``actor`` None is the command line (an
    administrator at the server). Raises ``PermissionDenied`` for anyone else. A constant number
    of queries. Not audited: ``export_personal_data`` is.
    """
    internal = actor is None or actor.is_admin
    if not (internal or actor.id == person.id):
        raise PermissionDenied("只能导出自己的个人信息")
    sheets = [_profile(person), _enrolments(person), *_attendance(person),
              _results(person, include_unpublished=internal), *_certificates(person), *_degrees(person),
              _competitions(person)]
    if internal:
        sheets.append(_audit(person))
    return sheets


EXPORT_FORMATS = ("xlsx", "json")


@dataclass(frozen=True)
class Export:
    """A finished export: the file's bytes, its suggested name and its format ("xlsx" / "json")."""

    data: bytes
    filename: str
    fmt: str


def export_personal_data(person: User, *, actor: User | None, fmt: str = "xlsx",
                         now: datetime | None = None) -> Export:
    """``personal_data`` as one .xlsx (a sheet per kind; ID and phone columns as text) or one JSON
    object (kind → list of {header: value}), audited as ``personal_data.exported``. Raises
    ``PrivacyError`` for an unknown format and what ``personal_data`` raises."""
    if fmt not in EXPORT_FORMATS:
        raise PrivacyError("请选择 Excel 或 JSON 格式")
    now = now or now_utc()
    sheets = personal_data(person, actor=actor)
    if fmt == "json":
        payload = {"exported_at": format_local(now, "%Y-%m-%d %H:%M:%S"), "person_id": person.id,
                   **{s.key: [dict(zip(s.headers, row, strict=True)) for row in s.rows] for s in sheets}}
        data = json.dumps(payload, ensure_ascii=False, indent=2).encode()
    else:
        data = build_xlsx([(s.title, s.headers, s.rows) for s in sheets],
                          text_columns=("手机号", "身份证号", "内容", "证书编号", "学号", "准考证号", "毕业证编号"))
    record("personal_data.exported", actor=actor, obj=person, format=fmt,
           by_self=actor is not None and actor.id == person.id,
           kinds=[s.key for s in sheets])
    return Export(data, f"personal-data-{person.id}-{format_local(now, '%Y%m%d')}.{fmt}", fmt)


# --- anonymisation ---------------------------------------------------------------------------


def is_anonymised(person: User) -> bool:
    """True for an account already anonymised (its mobile is the placeholder ``0`` + 10 digits)."""
    return bool(ANONYMISED_MOBILE.match(person.mobile or ""))


@dataclass(frozen=True)
class AnonymisationReport:
    """What ``anonymise`` did: issued certificates kept (verifiable, unchanged), photo files
    removed, notices deleted, recorded level certificates whose number was removed."""

    certificates: int
    files_removed: int
    notices_deleted: int
    level_certificates: int


def _remove_stored(relative: str | None) -> int:
    """Delete a file under STORAGE_PATH (nothing outside it); 1 when a file was removed."""
    if not relative:
        return 0
    root = Path(current_app.config["STORAGE_PATH"]).resolve()
    path = (root / relative).resolve()
    if path.is_relative_to(root) and path.is_file():
        path.unlink()
        return 1
    return 0


def anonymise(person: User, *, reason: str, actor: User | None) -> AnonymisationReport:
    """Anonymise ``person`` (PIPL art. 47 deletion) so that nobody can be identified from the account,
    while the academy's records and reported figures stay true. ``actor`` None means the CLI.

    Changed: the name becomes 已注销用户<id>, the mobile the placeholder ``0`` + 10 digits (never a
    valid mobile, so nobody can log in or re-register with it), the ID number, gender, birth date,
    education, political status and photo are removed (the photo file too), the password and
    every role are removed, the account is deactivated and its sessions and remember-me cookies
    stop working. Free text the person wrote or that may describe them is cleared: leave
    reasons, attendance notes, degree-case student/ticket/diploma numbers and notes, in-app
    notices; recorded level certificates keep their row (so the count stays) without their number.

    Kept, on purpose: district, occupation group and platform (coarse attributes the city's
    figures are broken down by, so every report stays the same); enrolments, attendance,
    results, degree stages and competition entries (the academy's records; no longer linked to
    an identifiable account); append-only histories and the audit log (security records).
    Issued certificates are not touched: a certificate is an immutable snapshot of what the
    academy issued (``certificates.models.SNAPSHOT_FIELDS``), the register an issuer must keep
    (PIPL art. 47 (2): retention required elsewhere — only stored, no longer processed). Its name
    and the masked ID number it was issued with, its serial, verification code, status, stored
    PDF, hash and photo copy stay, so the public verification page (which shows 王*磊 and the
    masked ID only), the QR code and the file check keep working and a reprint is identical.

    Audited as ``personal_data.anonymised`` with the reason (no personal data in the details).
    Raises ``PermissionDenied`` for non-admins, ``PrivacyError`` without a reason (at least four
    characters) or for one's own account, ``Conflict`` when already anonymised.
    """
    if actor is not None and not actor.is_admin:
        raise PermissionDenied("只有管理员可以注销账号并删除个人信息")
    if actor is not None and actor.id == person.id:
        raise PrivacyError("不能注销自己正在使用的账号")
    reason = clean(reason)
    if len(reason) < MIN_REASON:
        raise PrivacyError("请写明注销原因（至少4个字），例如：本人申请删除个人信息")
    if is_anonymised(person):
        raise Conflict("这个账号已经注销过了")
    files = _remove_stored(person.photo_path)
    certificates = db.session.scalar(select(func.count()).select_from(Certificate)
                                     .where(Certificate.learner_id == person.id)) or 0
    person.name = f"{ANONYMISED_NAME}{person.id}"
    person.mobile = f"0{person.id:010d}"
    person.id_number = person.gender = person.birth_date = person.education = person.political_status = None
    person.photo_path = person.password_hash = None
    person.is_active_account = False
    person.session_version += 1
    db.session.execute(delete(UserRole).where(UserRole.user_id == person.id))
    db.session.expire(person, ["roles"])
    db.session.execute(update(LeaveRequest).where(LeaveRequest.learner_id == person.id).values(reason=REMOVED_TEXT))
    db.session.execute(update(AttendanceRecord).where(AttendanceRecord.learner_id == person.id).values(note=None))
    db.session.execute(update(DegreeCase).where(DegreeCase.learner_id == person.id).values(
        student_number=None, exam_ticket_number=None, diploma_number=None, note=None, entry_override_reason=None))
    notices = db.session.execute(delete(Notice).where(Notice.user_id == person.id)).rowcount or 0
    levels = db.session.scalars(select(ExternalLevelCertificate).where(ExternalLevelCertificate.learner_id == person.id)).all()
    for level in levels:
        level.number = f"已注销{level.id}"[:22]
        level.note = None
    db.session.flush()
    record("personal_data.anonymised", actor=actor, obj=person, reason=reason,
           certificates_kept=certificates, files_removed=files, level_certificates=len(levels))
    return AnonymisationReport(certificates, files, notices, len(levels))


def get_person(user_id: int) -> User | None:
    """The account ``user_id`` or None."""
    return db.session.get(User, user_id)

