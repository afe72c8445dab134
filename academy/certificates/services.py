"""Certificate rules: eligibility, idempotent issuing, awards, revocation and reissue,
verification, stored PDFs, recorded level certificates and the academy's settings.

Sources: BRIEF.md §3 "Certificates", issue 5, research/domain-cn.md §B (kinds, the 22-character
national number, 人社鉴发〔2021〕1号 fields) and §D3 (masking on the verification page).

Concurrency: issuing first calls ``lock_row`` on the cohort (awards: on the settings row) and
only then looks for an existing certificate, so ten simultaneous clicks produce one
certificate; ``issue_key`` is unique as a second line of defence. Serials come from
``serials.next_value`` (a counter row incremented under its lock).

Functions add and flush, never commit; the acting user is keyword-only; ``now`` is a keyword.
"""

from __future__ import annotations

import hashlib
import hmac
import io
import os
import shutil
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

from flask import current_app
from sqlalchemy import func, or_, select
from sqlalchemy.orm import selectinload

from academy.accounts.models import User
from academy.audit.services import record
from academy.catalogue.models import Cohort, CohortStatus
from academy.certificates import pdf as pdf_mod
from academy.certificates import serials
from academy.certificates.models import (
    Certificate,
    CertificateKind,
    CertificateSettings,
    CertificateStatus,
    ExternalLevelCertificate,
    PrintJob,
    PrintJobStatus,
    RevocationReason,
)
from academy.common.masking import mask_id_number
from academy.common.text import clean, to_halfwidth
from academy.common.timeutil import local_today, now_utc
from academy.database import lock_row
from academy.enrolment.models import ENROLMENT_STATUS_LABELS, Enrolment, EnrolmentStatus
from academy.errors import Conflict, DomainError, NotFound, PermissionDenied
from academy.extensions import db


class CertificateError(DomainError):
    """A certificate rule refused the operation."""


class NotEligible(CertificateError):
    """The learner does not (yet) qualify; ``reasons`` lists why."""

    def __init__(self, name: str, reasons: Sequence[str]):
        self.reasons = list(reasons)
        super().__init__(f"{name} 不能发证：" + "；".join(self.reasons))


# --- settings -------------------------------------------------------------------------------

SETTINGS_ID = 1


def get_settings() -> CertificateSettings:
    """The academy's certificate settings (row 1, created with defaults on first use)."""
    settings = db.session.get(CertificateSettings, SETTINGS_ID)
    if settings is None:
        table = CertificateSettings.__table__
        if db.session.get_bind().dialect.name == "postgresql":
            from sqlalchemy.dialects.postgresql import insert
        else:
            from sqlalchemy.dialects.sqlite import insert
        db.session.execute(insert(table).values(
            id=SETTINGS_ID, completion_title="培训合格证书", completion_prefix="JXG", special_prefix="JXZ",
            award_prefix="JXJ", authorised_units=[], is_evaluation_org=False, lock_version=0,
        ).on_conflict_do_nothing(index_elements=["id"]))
        settings = db.session.get(CertificateSettings, SETTINGS_ID)
    return settings


def issuer_name(settings: CertificateSettings | None = None) -> str:
    """The issuing body printed on certificates: the setting, else ``ACADEMY_NAME``."""
    settings = settings or get_settings()
    return settings.issuer_name or current_app.config.get("ACADEMY_NAME", "")


@dataclass
class SettingsInput:
    """What the settings form submits (strings as typed; lists already split)."""

    issuer_name: str = ""
    completion_title: str = "培训合格证书"
    completion_prefix: str = "JXG"
    special_prefix: str = "JXZ"
    award_prefix: str = "JXJ"
    authorised_units: list[str] = field(default_factory=list)
    is_evaluation_org: bool = False
    evaluation_org_name: str = ""
    org_type: str = ""
    org_code: str = ""
    province_code: str = ""
    site_code: str = ""


def update_settings(data: SettingsInput, *, actor: User) -> CertificateSettings:
    """Save the certificate settings (administrators only), audited with the old and new values.

    Prefixes are 2–6 upper-case letters and must differ per kind (each kind its own numbering).
    Turning on "filed evaluation organisation" needs the organisation name and valid codes
    (Y|S, 4 + 2 + 6 digits), so a level-certificate number can never be made up.
    Raises ``PermissionDenied`` or ``CertificateError`` (with the field to fix).
    """
    if not actor.is_admin:
        raise PermissionDenied("只有管理员可以修改证书设置")
    settings = get_settings()
    lock_row(db.session, CertificateSettings, settings.id)
    prefixes = [to_halfwidth(p).strip().upper() for p in (data.completion_prefix, data.special_prefix, data.award_prefix)]
    for p in prefixes:
        if not (2 <= len(p) <= 6 and p.isascii() and p.isalpha()):
            raise CertificateError(f"证书编号前缀“{p}”应为 2–6 个英文字母")
    if len(set(prefixes)) != 3:
        raise CertificateError("三种证书的编号前缀不能相同")
    title = clean(data.completion_title)
    if title not in ("培训合格证书", "结业证书"):
        raise CertificateError("结业类证书名称只能是“培训合格证书”或“结业证书”")
    units = []
    for unit in data.authorised_units:
        unit = clean(unit)
        if unit and unit not in units:
            if unit[-1] in "工员师":
                raise CertificateError(f"专项职业能力“{unit}”应写成“产品/服务+动词”，如“拉面制作”，不以工、员、师结尾")
            units.append(unit)
    org = {"org_type": to_halfwidth(data.org_type).strip().upper(), "org_code": to_halfwidth(data.org_code).strip(),
           "province_code": to_halfwidth(data.province_code).strip(), "site_code": to_halfwidth(data.site_code).strip()}
    if data.is_evaluation_org:
        if not clean(data.evaluation_org_name):
            raise CertificateError("请填写备案的评价机构名称（与备案一致）")
        serials.build_national_number(org["org_type"], org["org_code"], org["province_code"], org["site_code"],
                                      2000, 5, 1)  # raises SerialError naming the bad code
    old = {"issuer_name": settings.issuer_name, "prefixes": [settings.completion_prefix, settings.special_prefix,
                                                             settings.award_prefix],
           "authorised_units": settings.authorised_units, "is_evaluation_org": settings.is_evaluation_org}
    settings.issuer_name = clean(data.issuer_name) or None
    settings.completion_title = title
    settings.completion_prefix, settings.special_prefix, settings.award_prefix = prefixes
    settings.authorised_units = units
    settings.is_evaluation_org = bool(data.is_evaluation_org)
    settings.evaluation_org_name = clean(data.evaluation_org_name) or None
    for key, value in org.items():
        setattr(settings, key, value or None)
    settings.updated_by_id = actor.id
    pdf_mod.check_glyphs([("发证单位", settings.issuer_name), ("评价机构名称", settings.evaluation_org_name),
                          *(("专项职业能力", u) for u in units)])
    db.session.flush()
    record("certificate.settings_changed", actor=actor, obj=settings, old=old,
           new={"issuer_name": settings.issuer_name, "prefixes": prefixes, "authorised_units": units,
                "is_evaluation_org": settings.is_evaluation_org})
    return settings


SEAL_MAX_BYTES = 2 * 1024 * 1024
SEAL_MAX_PIXELS = 4000 * 4000


def save_seal(data: bytes, *, actor: User) -> CertificateSettings:
    """Store an uploaded seal image (PNG or JPEG, ≤ 2 MB, ≥ 200×200 px) and use it on new renders.

    The image is re-encoded as PNG (keeping transparency) under ``STORAGE_PATH/certificates/``
    with its hash in the name; the previous file stays for certificates already rendered.
    Raises ``CertificateError`` for anything that is not such an image.
    """
    from PIL import Image, UnidentifiedImageError

    if not actor.is_admin:
        raise PermissionDenied("只有管理员可以上传印章")
    if not data or len(data) > SEAL_MAX_BYTES:
        raise CertificateError("印章图片应为 2 MB 以内的 PNG 或 JPG 文件")
    try:
        image = Image.open(io.BytesIO(data))  # reads the header only
        if image.format not in ("PNG", "JPEG"):
            raise CertificateError("印章图片应为 PNG 或 JPG 格式")
        if image.width * image.height > SEAL_MAX_PIXELS:  # checked before decoding (decompression bombs)
            raise CertificateError("印章图片尺寸太大，请上传 4000×4000 像素以内的图片")
        image.load()
    except (UnidentifiedImageError, OSError, Image.DecompressionBombError) as exc:
        raise CertificateError("无法读取这张图片，请上传 PNG 或 JPG 格式的印章") from exc
    if min(image.size) < 200:
        raise CertificateError("印章图片太小，请上传至少 200×200 像素的图片（最好是透明背景的 PNG）")
    image = image.convert("RGBA")
    image.thumbnail((800, 800))
    out = io.BytesIO()
    image.save(out, format="PNG", optimize=True)
    body = out.getvalue()
    relative = f"certificates/seals/seal-{hashlib.sha256(body).hexdigest()[:16]}.png"
    _write_storage(relative, body)
    settings = get_settings()
    old = settings.seal_path
    settings.seal_path = relative
    settings.updated_by_id = actor.id
    db.session.flush()
    record("certificate.seal_uploaded", actor=actor, obj=settings, old=old, new=relative)
    return settings


def remove_seal(*, actor: User) -> CertificateSettings:
    """Stop printing a seal on new renders (the file stays for certificates already rendered)."""
    if not actor.is_admin:
        raise PermissionDenied("只有管理员可以修改印章")
    settings = get_settings()
    old, settings.seal_path = settings.seal_path, None
    db.session.flush()
    record("certificate.seal_removed", actor=actor, obj=settings, old=old)
    return settings


# --- eligibility ------------------------------------------------------------------------------


@dataclass
class EligibilityRow:
    """One learner of a cohort against the certificate rule.

    ``eligible`` – enrolled, attendance at or above the cohort threshold and the published
    assessment passed; ``reasons`` says why not (Chinese). ``rate`` is the attendance rate as
    a fraction, ``outcome`` the exams module's ``Outcome``; ``certificate`` the learner's
    current certificate of the kind for this cohort, if any.
    """

    learner: User
    eligible: bool
    reasons: list[str]
    rate: Decimal | None = None
    outcome: object | None = None
    certificate: Certificate | None = None


def _percent(value: Decimal | None) -> str:
    if value is None:
        return "—"
    return f"{(Decimal(value) * 100).quantize(Decimal('0.1'), rounding=ROUND_HALF_UP)}%"


def _marks_text(outcome) -> str:
    """Each component's mark and the total, e.g. "理论知识 52.5、操作技能 83；总评 72.8", so the
    reason shows which component failed (a passing-looking total can hide a failed component)."""
    absent = getattr(outcome, "absent", frozenset())
    parts = [f"{name} {'缺考' if name in absent else ('—' if mark is None else mark)}"
             for name, mark in (outcome.components or {}).items()]
    total = f"总评 {outcome.total}" if outcome.total is not None else ""
    return "；".join(p for p in ("、".join(parts), total) if p)


def _assess(learner: User, enrolment_status: str | None, rate, meets: bool, outcome,
            cohort: Cohort, *, now: datetime | None = None) -> EligibilityRow:
    """Apply the rule to one learner; the inputs come from enrolment, attendance and exams.

    A completion certificate says the course was completed, so the cohort must have ended:
    status FINISHED, or its end date reached (Asia/Shanghai).
    """
    reasons = []
    if cohort.status != CohortStatus.FINISHED and local_today(now) < cohort.end_date:
        reasons.append(f"班级尚未结业（结业日期 {cohort.end_date:%Y-%m-%d}）")
    if enrolment_status != EnrolmentStatus.ENROLLED:
        label = ENROLMENT_STATUS_LABELS.get(enrolment_status, "") if enrolment_status else ""
        reasons.append(f"不在本班名单中（{label}）" if label else "不在本班名单中")
    rate_value = getattr(rate, "rate", None)
    if not meets:
        threshold = _percent(cohort.attendance_threshold)
        reasons.append(f"出勤率 {_percent(rate_value)}，低于要求的 {threshold}" if rate_value is not None
                       else f"没有出勤记录，出勤率要求 {threshold}")
    if outcome is None:
        reasons.append("还没有已发布的考核成绩")
    elif outcome.passed is None:
        reasons.append("考核结果待定（缺考或成绩未录完）")
    elif not outcome.passed:
        reasons.append(f"考核不合格（{_marks_text(outcome)}）")
    return EligibilityRow(learner, not reasons, reasons, rate_value, outcome)


def _issue_key(kind: str, cohort_id: int, learner_id: int, skill_unit: str | None = None) -> str:
    if kind == CertificateKind.SPECIAL:
        unit = hashlib.sha256((skill_unit or "").encode()).hexdigest()[:16]
        return f"special:{cohort_id}:{learner_id}:{unit}"
    return f"{kind}:{cohort_id}:{learner_id}"


def _current_certificates(cohort: Cohort, kind: str, skill_unit: str | None) -> dict[int, Certificate]:
    """Current (not replaced) certificates of ``kind`` in ``cohort``, by learner id."""
    rows = db.session.scalars(
        select(Certificate).where(Certificate.cohort_id == cohort.id, Certificate.kind == kind,
                                  Certificate.issue_key.is_not(None))
    ).all()
    if kind == CertificateKind.SPECIAL:
        rows = [c for c in rows if (c.details or {}).get("skill_unit") == skill_unit]
    return {c.learner_id: c for c in rows}


def cohort_eligibility(cohort: Cohort, *, kind: str = CertificateKind.COMPLETION, skill_unit: str | None = None,
                       now: datetime | None = None) -> list[EligibilityRow]:
    """Every learner enrolled in ``cohort`` (and anyone already holding its certificate), by name,
    with the certificate rule applied: enrolled, attendance ≥ ``cohort.attendance_threshold``
    (``attendance.services.cohort_attendance_rates``), published assessment passed
    (``exams.services.cohort_outcomes``). A constant number of queries for any cohort size.
    """
    from academy.attendance.services import cohort_attendance_rates, meets_attendance_threshold
    from academy.exams.services import cohort_outcomes

    enrolments = {e.learner_id: e for e in db.session.scalars(
        select(Enrolment).options(selectinload(Enrolment.learner)).where(Enrolment.cohort_id == cohort.id))}
    current = _current_certificates(cohort, kind, skill_unit)
    ids = {lid for lid, e in enrolments.items() if e.status == EnrolmentStatus.ENROLLED} | set(current)
    people = {u.id: u for u in db.session.scalars(select(User).where(User.id.in_(ids)))} if ids else {}
    rates = cohort_attendance_rates(cohort, now=now)
    outcomes = cohort_outcomes(cohort)
    rows = []
    for lid in ids:
        enrolment = enrolments.get(lid)
        rate = rates.get(lid)
        meets = rate.meets_threshold if rate is not None else meets_attendance_threshold(lid, cohort, now=now)
        row = _assess(people[lid], enrolment.status if enrolment else None, rate, meets, outcomes.get(lid), cohort,
                      now=now)
        row.certificate = current.get(lid)
        rows.append(row)
    return sorted(rows, key=lambda r: (r.learner.name, r.learner.id))


def learner_eligibility(learner: User, cohort: Cohort, *, now: datetime | None = None) -> EligibilityRow:
    """The certificate rule for one learner (see ``cohort_eligibility``), using
    ``attendance.services.meets_attendance_threshold`` and ``exams.services.learner_outcome``."""
    from academy.attendance.services import cohort_attendance_rates, meets_attendance_threshold
    from academy.exams.services import learner_outcome

    enrolment = db.session.scalar(select(Enrolment).where(Enrolment.learner_id == learner.id,
                                                          Enrolment.cohort_id == cohort.id))
    rate = cohort_attendance_rates(cohort, now=now).get(learner.id)
    meets = meets_attendance_threshold(learner.id, cohort, now=now)
    return _assess(learner, enrolment.status if enrolment else None, rate, meets,
                   learner_outcome(learner.id, cohort), cohort, now=now)


# --- issuing ----------------------------------------------------------------------------------


@dataclass
class IssueReport:
    """What ``issue_for_cohort`` did: newly ``issued``, ``existing`` (already had one, unchanged)
    and ``refused`` as (learner, reason) pairs; ``unprintable`` are the refused ones whose
    name (or another printed value) holds a character the font cannot draw — eligible, but
    needing a correction before they can be issued."""

    issued: list[Certificate] = field(default_factory=list)
    existing: list[Certificate] = field(default_factory=list)
    refused: list[tuple[User, str]] = field(default_factory=list)
    unprintable: list[tuple[User, str]] = field(default_factory=list)


def _check_kind(kind: str, skill_unit: str | None, settings: CertificateSettings, cohort: Cohort) -> None:
    if kind == CertificateKind.SPECIAL:
        if not skill_unit:
            raise CertificateError("请选择专项职业能力（技能单元）")
        if skill_unit not in (settings.authorised_units or []):
            raise CertificateError(f"学院没有“{skill_unit}”专项职业能力的考核发证授权（在证书设置里配置）")
    elif kind == CertificateKind.LEVEL:
        if not settings.is_evaluation_org:
            raise CertificateError("学院不是备案的评价机构，不能颁发职业技能等级证书；可在学员名下记录其在别处取得的等级证书")
        serials.level_digit(cohort.course.level)
    elif kind != CertificateKind.COMPLETION:
        raise CertificateError("这种证书不能按班级颁发")


def _copy_photo(learner: User, serial: str) -> str | None:
    """Copy the learner's photo into the certificate's own storage (the paper keeps it)."""
    if not learner.photo_path:
        return None
    root = Path(current_app.config["STORAGE_PATH"]).resolve()
    source = (root / learner.photo_path).resolve()
    if not source.is_file() or not source.is_relative_to(root):
        return None
    relative = f"certificates/photos/{pdf_mod.safe_filename(serial)}{source.suffix.lower() or '.jpg'}"
    target = root / relative
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(source, target)
    return relative


def _allocate_serial(kind: str, settings: CertificateSettings, year: int, cohort: Cohort | None) -> str:
    if kind == CertificateKind.LEVEL:
        level = serials.level_digit(cohort.course.level)
        probe = serials.build_national_number(settings.org_type, settings.org_code, settings.province_code,
                                              settings.site_code, year, level, 1)
        seq = serials.next_value(db.session, f"NAT-{probe[:16]}")
        return serials.build_national_number(settings.org_type, settings.org_code, settings.province_code,
                                             settings.site_code, year, level, seq)
    if kind == CertificateKind.AWARD:
        key = f"{settings.award_prefix}-{year}"
        return serials.format_serial(settings.award_prefix, year, serials.next_value(db.session, key))
    prefix = settings.special_prefix if kind == CertificateKind.SPECIAL else settings.completion_prefix
    segment = serials.course_segment(cohort.course.code)
    seq = serials.next_value(db.session, f"{prefix}-{year}-{segment}")
    return serials.format_serial(prefix, year, seq, cohort.course.code)


def _snapshot(learner: User, cohort: Cohort, kind: str, settings: CertificateSettings, issued_on: date,
              skill_unit: str | None) -> dict:
    course = cohort.course
    details: dict = {"cohort_name": cohort.name, "course_code": course.code}
    issuer = issuer_name(settings)
    if kind == CertificateKind.COMPLETION:
        details["title"] = settings.completion_title
    elif kind == CertificateKind.SPECIAL:
        details.update(title="专项职业能力证书", skill_unit=skill_unit)
    elif kind == CertificateKind.LEVEL:
        digit = serials.level_digit(course.level)
        details.update(title="职业技能等级证书", level_digit=digit, occupation_code=course.occupation_code,
                       work_type=None)
        issuer = settings.evaluation_org_name or issuer
    level = serials.LEVEL_LABELS[serials.level_digit(course.level)] if kind == CertificateKind.LEVEL else course.level
    return {
        "holder_name": learner.name, "holder_id_masked": mask_id_number(learner.id_number) or None,
        "course_title": course.title, "occupation": course.occupation, "hours": course.hours or None,
        "start_date": cohort.start_date, "end_date": cohort.end_date, "level": level,
        "issuer_name": issuer, "issued_on": issued_on, "details": details,
    }


def _printed_fields(snapshot: dict) -> list[tuple[str, str | None]]:
    details = snapshot.get("details") or {}
    return [("姓名", snapshot["holder_name"]), ("课程名称", snapshot.get("course_title")),
            ("职业", snapshot.get("occupation")), ("等级", snapshot.get("level")),
            ("发证单位", snapshot.get("issuer_name")),
            *((label, details.get(key)) for key, label in (
                ("skill_unit", "专项职业能力"), ("edition_name", "竞赛名称"), ("event_name", "赛项"),
                ("award", "奖项"), ("honour_title", "荣誉称号"), ("level_note", "等级说明")))]


def _create(learner: User, *, kind: str, snapshot: dict, issue_key: str, serial: str,
            cohort: Cohort | None, actor: User | None, replaces: Certificate | None = None) -> Certificate:
    certificate = Certificate(
        kind=kind, serial=serial, verification_code=serials.new_verification_code(), issue_key=issue_key,
        learner_id=learner.id, cohort_id=cohort.id if cohort else None,
        course_id=cohort.course_id if cohort else None, status=CertificateStatus.VALID,
        issued_by_id=getattr(actor, "id", None), replaces_id=replaces.id if replaces else None, **snapshot,
    )
    certificate.photo_path = _copy_photo(learner, serial)
    db.session.add(certificate)
    db.session.flush()
    return certificate


def _issue_one(learner: User, cohort: Cohort, row: EligibilityRow, *, kind: str, skill_unit: str | None,
               settings: CertificateSettings, issued_on: date, actor: User | None) -> Certificate:
    if not row.eligible:
        raise NotEligible(learner.name, row.reasons)
    snapshot = _snapshot(learner, cohort, kind, settings, issued_on, skill_unit)
    pdf_mod.check_glyphs(_printed_fields(snapshot))
    serial = _allocate_serial(kind, settings, issued_on.year, cohort)
    certificate = _create(learner, kind=kind, snapshot=snapshot, serial=serial, cohort=cohort, actor=actor,
                          issue_key=_issue_key(kind, cohort.id, learner.id, skill_unit))
    record("certificate.issued", actor=actor, obj=certificate, serial=serial, kind=kind, cohort=cohort.code,
           learner_id=learner.id)
    return certificate


def _require_issuer(actor: User | None) -> None:
    if actor is not None and not actor.is_admin:
        raise PermissionDenied("只有管理员可以颁发证书")


def issue_certificate(learner: User, cohort: Cohort, *, actor: User | None, kind: str = CertificateKind.COMPLETION,
                      skill_unit: str | None = None, now: datetime | None = None) -> Certificate:
    """Issue ``learner``'s certificate of ``kind`` for ``cohort``, or return the one already issued.

    Idempotent under concurrency: takes the cohort lock before looking for an existing
    certificate. Raises ``NotEligible`` (with every reason), ``UnsupportedCharacter`` (naming the
    character the font cannot draw), ``CertificateError`` for a kind the academy may not issue,
    ``PermissionDenied`` for a non-admin actor (``actor=None`` is the system, e.g. the CLI).
    """
    _require_issuer(actor)
    now = now or now_utc()
    settings = get_settings()
    _check_kind(kind, skill_unit, settings, cohort)
    lock_row(db.session, Cohort, cohort.id)
    existing = db.session.scalar(select(Certificate).where(
        Certificate.issue_key == _issue_key(kind, cohort.id, learner.id, skill_unit)))
    if existing is not None:
        return existing
    row = learner_eligibility(learner, cohort, now=now)
    return _issue_one(learner, cohort, row, kind=kind, skill_unit=skill_unit, settings=settings,
                      issued_on=local_today(now), actor=actor)


def issue_for_cohort(cohort: Cohort, *, actor: User | None, kind: str = CertificateKind.COMPLETION,
                     skill_unit: str | None = None, learner_ids: Iterable[int] | None = None,
                     now: datetime | None = None) -> IssueReport:
    """Issue certificates to every eligible learner of ``cohort`` (or of ``learner_ids``).

    Learners who already hold one are reported as ``existing``; the others are ``refused``
    with the reason (not enrolled, attendance below the threshold with the rate, assessment
    not passed or pending, a character of the name the font cannot draw). Idempotent: run it
    twice, or twice at once, and nobody gets two certificates. Serials follow name order.
    """
    _require_issuer(actor)
    now = now or now_utc()
    settings = get_settings()
    _check_kind(kind, skill_unit, settings, cohort)
    lock_row(db.session, Cohort, cohort.id)
    wanted = set(learner_ids) if learner_ids is not None else None
    report = IssueReport()
    issued_on = local_today(now)
    for row in cohort_eligibility(cohort, kind=kind, skill_unit=skill_unit, now=now):
        if wanted is not None and row.learner.id not in wanted:
            continue
        if row.certificate is not None:
            report.existing.append(row.certificate)
            continue
        if not row.eligible:
            report.refused.append((row.learner, "；".join(row.reasons)))
            continue
        try:
            report.issued.append(_issue_one(row.learner, cohort, row, kind=kind, skill_unit=skill_unit,
                                            settings=settings, issued_on=issued_on, actor=actor))
        except pdf_mod.UnsupportedCharacter as exc:
            report.refused.append((row.learner, str(exc)))
            report.unprintable.append((row.learner, str(exc)))
    if report.issued:
        record("certificate.cohort_issued", actor=actor, obj=cohort, kind=kind, issued=len(report.issued),
               refused=len(report.refused))
    return report


def _award_key(learner_id: int, edition_name: str, event_name: str) -> str:
    digest = hashlib.sha256(f"{edition_name}\x1f{event_name}".encode()).hexdigest()[:32]
    return f"award:{learner_id}:{digest}"


def issue_award_certificate(learner: User, *, edition_name: str, event_name: str, award: str, rank: int | None,
                            title: str | None, level_note: str | None, issued_on: date,
                            actor: User | None) -> Certificate:
    """Issue a competition award certificate (获奖证书), or return the one already issued.

    Idempotent per learner + edition + event (under the settings-row lock): a second call
    returns the first certificate unchanged — to change a printed award, revoke or reissue it.
    ``award`` is the prize (一等奖, 优胜奖 …), ``rank`` the place (None when not printed),
    ``title`` an honour title (技术能手) or None, ``level_note`` e.g. "晋升一级职业技能等级" or None.
    Raises ``CertificateError`` for missing names, ``UnsupportedCharacter`` for a character the
    font cannot draw. Used by the competitions module.
    """
    edition_name, event_name, award = clean(edition_name), clean(event_name), clean(award)
    if not (edition_name and event_name and award):
        raise CertificateError("获奖证书需要竞赛名称、赛项和奖项")
    settings = get_settings()
    lock_row(db.session, CertificateSettings, settings.id)
    key = _award_key(learner.id, edition_name, event_name)
    existing = db.session.scalar(select(Certificate).where(Certificate.issue_key == key))
    if existing is not None:
        return existing
    snapshot = {
        "holder_name": learner.name, "holder_id_masked": mask_id_number(learner.id_number) or None,
        "course_title": None, "occupation": event_name, "hours": None, "start_date": None, "end_date": None,
        "level": None, "issuer_name": issuer_name(settings), "issued_on": issued_on,
        "details": {"title": "获奖证书", "edition_name": edition_name, "event_name": event_name, "award": award,
                    "rank": rank, "honour_title": clean(title) or None, "level_note": clean(level_note) or None},
    }
    pdf_mod.check_glyphs(_printed_fields(snapshot))
    serial = _allocate_serial(CertificateKind.AWARD, settings, issued_on.year, None)
    certificate = _create(learner, kind=CertificateKind.AWARD, snapshot=snapshot, issue_key=key, serial=serial,
                          cohort=None, actor=actor)
    record("certificate.issued", actor=actor, obj=certificate, serial=serial, kind=CertificateKind.AWARD,
           edition=edition_name, event=event_name, award=award, learner_id=learner.id)
    return certificate


# --- revoke and reissue -----------------------------------------------------------------------


def revoke(certificate: Certificate, *, reason: str, note: str, actor: User,
           now: datetime | None = None) -> Certificate:
    """Revoke a valid certificate with a reason category (public) and a note (internal).

    Shown at once on the verification page (state, date, category). Raises
    ``PermissionDenied`` for non-admins, ``CertificateError`` for a missing note or unknown
    category, ``Conflict`` when the certificate is no longer valid.
    """
    if not actor.is_admin:
        raise PermissionDenied("只有管理员可以作废证书")
    if reason not in set(RevocationReason):
        raise CertificateError("请选择作废原因")
    note = clean(note)
    if not note:
        raise CertificateError("请填写作废说明")
    lock_row(db.session, Certificate, certificate.id)
    db.session.refresh(certificate)
    if certificate.status != CertificateStatus.VALID:
        raise Conflict(f"这张证书已是“{certificate.status_label}”状态，不能再作废")
    certificate.status = CertificateStatus.REVOKED
    certificate.revoked_at = now or now_utc()
    certificate.revoked_by_id = actor.id
    certificate.revocation_reason = reason
    certificate.revocation_note = note
    db.session.flush()
    record("certificate.revoked", actor=actor, obj=certificate, serial=certificate.serial, reason=reason, note=note)
    return certificate


def reissue(certificate: Certificate, *, actor: User, note: str = "", now: datetime | None = None) -> Certificate:
    """Replace a certificate (valid or revoked) with a new one: new serial, new verification code,
    snapshot refreshed from the learner's current profile (e.g. a corrected name), same course,
    dates and kind. The old one becomes "replaced" and links to the new one. Audited.

    Raises ``PermissionDenied`` for non-admins, ``Conflict`` if it was already replaced,
    ``UnsupportedCharacter`` when the current name cannot be printed.
    """
    if not actor.is_admin:
        raise PermissionDenied("只有管理员可以补发证书")
    now = now or now_utc()
    lock_row(db.session, Certificate, certificate.id)
    db.session.refresh(certificate)
    if certificate.status == CertificateStatus.REPLACED:
        raise Conflict("这张证书已经补发过新证")
    settings = get_settings()
    learner = certificate.learner
    issued_on = local_today(now)
    snapshot = {
        "holder_name": learner.name, "holder_id_masked": mask_id_number(learner.id_number) or None,
        "course_title": certificate.course_title, "occupation": certificate.occupation, "hours": certificate.hours,
        "start_date": certificate.start_date, "end_date": certificate.end_date, "level": certificate.level,
        "issuer_name": certificate.issuer_name, "issued_on": issued_on,
        "details": {**(certificate.details or {}), "reissue_of": certificate.serial},
    }
    pdf_mod.check_glyphs(_printed_fields(snapshot))
    serial = _allocate_serial(certificate.kind, settings, issued_on.year, certificate.cohort)
    key = certificate.issue_key or f"reissue:{certificate.id}"
    certificate.issue_key = None
    db.session.flush()
    new = _create(learner, kind=certificate.kind, snapshot=snapshot, issue_key=key, serial=serial,
                  cohort=certificate.cohort, actor=actor, replaces=certificate)
    certificate.status = CertificateStatus.REPLACED
    certificate.replaced_by_id = new.id
    certificate.replaced_at = now
    db.session.flush()
    record("certificate.reissued", actor=actor, obj=certificate, old_serial=certificate.serial, new_serial=serial,
           note=clean(note) or None)
    return new


# --- verification -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Verification:
    """Answer of the public verification page.

    ``state``: ``need_code`` (no code given), ``unknown`` (no such serial *or* wrong code — the
    same answer, so serials cannot be enumerated), ``valid``, ``revoked`` or ``replaced``.
    ``current`` is the certificate that replaced this one (end of the chain), if any.
    """

    state: str
    serial: str
    certificate: Certificate | None = None
    current: Certificate | None = None


_DUMMY_CODE = "0" * serials.CODE_LENGTH


def verify(serial: str, code: str | None) -> Verification:
    """Look a certificate up by serial and verification code, without revealing which was wrong.

    The lookup runs whether or not a code was given, and the code is compared in constant time
    against the real one or a dummy, so unknown serials and wrong codes take the same path.
    """
    serial = serials.normalise_serial(serial)
    code = serials.normalise_code(code)
    certificate = db.session.scalar(select(Certificate).where(Certificate.serial == serial)) if serial else None
    matches = hmac.compare_digest((certificate.verification_code if certificate else _DUMMY_CODE).encode(),
                                  (code or "-").encode())
    if not code:
        return Verification("need_code", serial)
    if certificate is None or not matches:
        return Verification("unknown", serial)
    current = certificate
    for _ in range(20):  # follow the replacement chain to the current certificate
        if current.replaced_by is None:
            break
        current = current.replaced_by
    return Verification(certificate.status, serial, certificate, current if current is not certificate else None)


# --- stored PDFs ------------------------------------------------------------------------------


def _storage_root() -> Path:
    return Path(current_app.config["STORAGE_PATH"])


def _write_storage(relative: str, data: bytes) -> Path:
    path = _storage_root() / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)
    return path


def pdf_relative_path(certificate: Certificate) -> str:
    """Where a certificate's PDF is stored, relative to ``STORAGE_PATH``."""
    return f"certificates/pdf/{certificate.issued_on.year}/{pdf_mod.safe_filename(certificate.serial)}.pdf"


def render_certificate(certificate: Certificate, *, base_url: str | None = None) -> bytes:
    """Render one certificate afresh (not stored). Byte-identical for the same snapshot, settings
    and base URL: the creation date is the issue date and the file identifier comes from the serial."""
    return pdf_mod.render_document([certificate], base_url=base_url)


def ensure_pdf(certificate: Certificate, *, base_url: str | None = None, now: datetime | None = None) -> bytes:
    """The certificate's stored PDF, rendering and storing it (with its SHA-256) on first use.

    A stored file whose hash no longer matches the record (altered on disk) is rendered again
    and the event audited (``certificate.pdf_mismatch``). The caller commits.
    """
    root = _storage_root()
    if certificate.pdf_path and (root / certificate.pdf_path).is_file():
        data = (root / certificate.pdf_path).read_bytes()
        if pdf_mod.sha256_hex(data) == certificate.pdf_sha256:
            return data
        record("certificate.pdf_mismatch", obj=certificate, serial=certificate.serial,
               expected=certificate.pdf_sha256, found=pdf_mod.sha256_hex(data))
    data = render_certificate(certificate, base_url=base_url)
    digest = pdf_mod.sha256_hex(data)
    relative = pdf_relative_path(certificate)
    _write_storage(relative, data)
    if certificate.pdf_sha256 and certificate.pdf_sha256 != digest:
        record("certificate.pdf_rerendered", obj=certificate, serial=certificate.serial,
               old=certificate.pdf_sha256, new=digest)
    certificate.pdf_path = relative
    certificate.pdf_sha256 = digest
    certificate.pdf_rendered_at = now or now_utc()
    db.session.flush()
    return data


@dataclass(frozen=True)
class FileCheck:
    """Result of checking a PDF file against the records: ``certificate`` whose original it is
    (None when it matches no issued file), and the file's SHA-256."""

    sha256: str
    certificate: Certificate | None


def check_pdf_file(data: bytes) -> FileCheck:
    """Is ``data`` exactly an original certificate PDF? Compares its SHA-256 with the stored hashes.
    An altered copy (edited name, date …) matches nothing. Raises ``CertificateError`` for an
    empty file or one that is not a PDF at all (so that is not reported as "altered")."""
    if not data:
        raise CertificateError("文件是空的，请选择证书的 PDF 文件")
    if not data.lstrip()[:5] == b"%PDF-":
        raise CertificateError("这不是 PDF 文件，请上传学院发的证书 PDF（图片或照片无法核对）")
    digest = pdf_mod.sha256_hex(data)
    certificate = db.session.scalar(select(Certificate).where(Certificate.pdf_sha256 == digest))
    return FileCheck(digest, certificate)


def render_batch_pdf(certificates: list[Certificate]) -> bytes:
    """One merged, print-ordered PDF of ``certificates`` (one page each, in the given order),
    rendered as whole WeasyPrint documents of up to ``CERTIFICATE_CHUNK_PAGES`` pages. Used by
    the competitions module; large batches should go through a print job instead."""
    if not certificates:
        raise CertificateError("没有要打印的证书")
    return pdf_mod.render_batch(certificates)


# --- print jobs -------------------------------------------------------------------------------


def create_print_job(certificates: Sequence[Certificate], *, actor: User, output: str = "pdf",
                     label: str = "", cohort: Cohort | None = None) -> PrintJob:
    """Queue a batch print of ``certificates`` (in the given order) as one PDF or a ZIP.

    Only valid certificates are printed; revoked or replaced ones are left out. Raises
    ``CertificateError`` when nothing is left, ``PermissionDenied`` for non-admins.
    """
    if not actor.is_admin:
        raise PermissionDenied("只有管理员可以批量打印证书")
    if output not in ("pdf", "zip"):
        raise CertificateError("输出格式只能是 PDF 或 ZIP")
    ids = [c.id for c in certificates if c.status == CertificateStatus.VALID]
    if not ids:
        raise CertificateError("没有可打印的有效证书")
    job = PrintJob(output=output, label=clean(label)[:160] or f"{len(ids)} 张证书", cohort_id=cohort.id if cohort else None,
                   certificate_ids=ids, total=len(ids), done=0, status=PrintJobStatus.QUEUED,
                   created_by_id=actor.id)
    db.session.add(job)
    db.session.flush()
    record("certificate.print_queued", actor=actor, obj=job, count=len(ids), output=output,
           cohort=cohort.code if cohort else None)
    return job


def cohort_print_order(cohort: Cohort) -> list[Certificate]:
    """The cohort's valid certificates in print order (serial order = name order at issue)."""
    return list(db.session.scalars(
        select(Certificate).where(Certificate.cohort_id == cohort.id, Certificate.status == CertificateStatus.VALID)
        .order_by(Certificate.kind, Certificate.serial)))


def certificates_in_order(ids: Sequence[int]) -> list[Certificate]:
    """Load certificates by id keeping the order of ``ids`` (one query)."""
    rows = {c.id: c for c in db.session.scalars(select(Certificate).where(Certificate.id.in_(list(ids))))}
    return [rows[i] for i in ids if i in rows]


# --- lists ------------------------------------------------------------------------------------


def learner_certificates(learner: User) -> list[Certificate]:
    """The learner's certificates, newest first (replaced ones included: their papers still exist)."""
    return list(db.session.scalars(
        select(Certificate).where(Certificate.learner_id == learner.id)
        .order_by(Certificate.issued_on.desc(), Certificate.id.desc())))


def search(query: str, *, limit: int = 50) -> list[Certificate]:
    """Certificates whose serial, holder name or holder mobile matches ``query`` (staff search)."""
    text = clean(query)
    if not text:
        return list(db.session.scalars(
            select(Certificate).options(selectinload(Certificate.learner))
            .order_by(Certificate.id.desc()).limit(limit)))
    like = f"%{text}%"
    return list(db.session.scalars(
        select(Certificate).join(User, Certificate.learner_id == User.id).options(selectinload(Certificate.learner))
        .where(or_(Certificate.serial.ilike(like), Certificate.holder_name.like(like), User.mobile.like(like)))
        .order_by(Certificate.id.desc()).limit(limit)))


def counts_by_status() -> dict[str, int]:
    """Number of certificates per status (for the admin page)."""
    return dict(db.session.execute(select(Certificate.status, func.count()).group_by(Certificate.status)).all())


def get_certificate(certificate_id: int) -> Certificate:
    """Load a certificate or raise ``NotFound``."""
    certificate = db.session.get(Certificate, certificate_id)
    if certificate is None:
        raise NotFound("没有这张证书")
    return certificate


# --- level certificates obtained elsewhere ----------------------------------------------------


def record_external_level(learner: User, *, number: str, level: int, occupation: str, issuer: str,
                          issued_on: date, note: str = "", actor: User,
                          now: datetime | None = None) -> ExternalLevelCertificate:
    """Record a 职业技能等级证书 the learner obtained from an evaluation organisation elsewhere.

    The number must be the 22-character national number (Y|S + 21 digits); its level digit
    (position 16) must equal ``level`` and its year (positions 14–15) the issue year; the issue
    date may not be in the future; the issuing organisation and occupation are required.
    Nothing is made up: the holder checks it on jndj.osta.org.cn. Raises ``SerialError``/
    ``CertificateError`` naming the problem, ``Conflict`` when the number is already recorded.
    """
    if not actor.is_admin:
        raise PermissionDenied("只有管理员可以登记等级证书")
    parsed = serials.parse_national_number(number)
    if level not in serials.LEVEL_LABELS:
        raise CertificateError("请选择技能等级")
    if parsed.level != level:
        raise CertificateError(f"证书编号第 16 位是 {parsed.level}（{serials.LEVEL_LABELS[parsed.level]}），"
                               f"与所选等级“{serials.LEVEL_LABELS[level]}”不一致")
    if issued_on > local_today(now):
        raise CertificateError("发证日期不能晚于今天")
    if parsed.year != issued_on.year % 100:
        raise CertificateError(f"证书编号第 14–15 位年份是 {parsed.year:02d}，与发证日期 {issued_on.year} 年不一致")
    occupation, issuer = clean(occupation), clean(issuer)
    if not occupation:
        raise CertificateError("请填写职业（工种）名称")
    if not issuer:
        raise CertificateError("请填写发证的评价机构名称")
    if db.session.scalar(select(ExternalLevelCertificate.id).where(ExternalLevelCertificate.number == parsed.value)):
        raise Conflict("这个证书编号已经登记过")
    entry = ExternalLevelCertificate(learner_id=learner.id, number=parsed.value, level=level, occupation=occupation,
                                     issuer=issuer, issued_on=issued_on, note=clean(note) or None,
                                     recorded_by_id=actor.id)
    db.session.add(entry)
    db.session.flush()
    record("certificate.external_level_recorded", actor=actor, obj=entry, learner_id=learner.id, number=parsed.value)
    return entry


def external_levels(learner: User) -> list[ExternalLevelCertificate]:
    """Level certificates recorded for ``learner``, newest first."""
    return list(db.session.scalars(
        select(ExternalLevelCertificate).where(ExternalLevelCertificate.learner_id == learner.id)
        .order_by(ExternalLevelCertificate.issued_on.desc())))


def find_learner(mobile_or_id: str) -> User:
    """Find a person by mobile number or ID number (for the admin forms); ``NotFound`` otherwise."""
    text = to_halfwidth(clean(mobile_or_id)).upper()
    user = db.session.scalar(select(User).where(or_(User.mobile == text, User.id_number == text)))
    if user is None:
        raise NotFound("没有找到这个手机号或身份证号对应的学员")
    return user
