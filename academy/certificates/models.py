"""Certificates: issued certificates (immutable snapshots), serial sequences, the academy's
certificate settings, level certificates recorded from elsewhere, and batch print jobs.

Kinds (BRIEF §3 "Certificates", research/domain-cn.md §B) are never confused: each has its
own template (``templates/certificates/pdf/<kind>.html``) and its own numbering
(``certificates/serials.py``).
"""

from __future__ import annotations

import enum
from datetime import date, datetime

from sqlalchemy import JSON, Date, ForeignKey, Index, String, Text, UniqueConstraint, event, inspect
from sqlalchemy.orm import Mapped, mapped_column, relationship

from academy.accounts.models import User
from academy.catalogue.models import Cohort, Course
from academy.database import LockableMixin, TimestampMixin, UTCDateTime
from academy.extensions import db


class CertificateKind(enum.StrEnum):
    """What a certificate attests."""

    COMPLETION = "completion"  # 培训合格证书 / 结业证书: issued by the academy in its own name
    SPECIAL = "special"  # 专项职业能力证书: only for skill units the academy is authorised for
    LEVEL = "level"  # 职业技能等级证书: only when the academy is a filed evaluation organisation
    AWARD = "award"  # 获奖证书: competition awards (虔能杯)


KIND_LABELS = {
    CertificateKind.COMPLETION: "培训合格证书",
    CertificateKind.SPECIAL: "专项职业能力证书",
    CertificateKind.LEVEL: "职业技能等级证书",
    CertificateKind.AWARD: "获奖证书",
}


class CertificateStatus(enum.StrEnum):
    """Where a certificate stands; shown on the public verification page."""

    VALID = "valid"  # 有效
    REVOKED = "revoked"  # 已作废
    REPLACED = "replaced"  # 已补发（被新证书取代）


STATUS_LABELS = {
    CertificateStatus.VALID: "有效",
    CertificateStatus.REVOKED: "已作废",
    CertificateStatus.REPLACED: "已补发新证",
}


class RevocationReason(enum.StrEnum):
    """Why a certificate was revoked (the category is public; the note is not)."""

    ISSUED_IN_ERROR = "issued_in_error"
    DATA_ERROR = "data_error"
    RESULT_VOIDED = "result_voided"
    MISCONDUCT = "misconduct"
    OTHER = "other"


REVOCATION_LABELS = {
    RevocationReason.ISSUED_IN_ERROR: "误发",
    RevocationReason.DATA_ERROR: "证书信息有误",
    RevocationReason.RESULT_VOIDED: "考核成绩被撤销",
    RevocationReason.MISCONDUCT: "弄虚作假",
    RevocationReason.OTHER: "其他原因",
}


class Certificate(LockableMixin, TimestampMixin, db.Model):
    """One issued certificate: a snapshot of exactly what it prints, frozen at issue.

    * ``serial`` – the readable number printed on the paper (``JXG-2026-DG01-000123``; for
      level certificates the 22-character national number). Unique.
    * ``verification_code`` – 10 characters from ``secrets``; required to see details on the
      public verification page and carried by the QR code.
    * ``issue_key`` – what makes issuing idempotent: ``completion:<cohort>:<learner>``,
      ``award:<learner>:<edition>:<event>`` …; unique, and moved to the new certificate on
      reissue (NULL on the replaced one).
    * Snapshot columns (``holder_name`` … ``issued_on``) and ``details`` (JSON, kind-specific:
      skill unit, award, rank …) never change after issue; later profile edits do not reach them.
    * ``pdf_path`` is relative to ``STORAGE_PATH``; ``pdf_sha256`` is the hash of the first
      rendering, so a reprint can be checked byte for byte and an altered copy detected.
    """

    __tablename__ = "certificates"
    __table_args__ = (
        Index("ix_certificates_cohort_kind", "cohort_id", "kind"),
        Index("ix_certificates_learner_status", "learner_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(20), index=True)
    serial: Mapped[str] = mapped_column(String(40), unique=True)
    verification_code: Mapped[str] = mapped_column(String(16))
    issue_key: Mapped[str | None] = mapped_column(String(200), unique=True)
    learner_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    cohort_id: Mapped[int | None] = mapped_column(ForeignKey("cohorts.id"))
    course_id: Mapped[int | None] = mapped_column(ForeignKey("courses.id"), index=True)

    # --- snapshot: what the paper says --------------------------------------------------
    holder_name: Mapped[str] = mapped_column(String(60))
    holder_id_masked: Mapped[str | None] = mapped_column(String(24))
    course_title: Mapped[str | None] = mapped_column(String(160))
    occupation: Mapped[str | None] = mapped_column(String(60))
    hours: Mapped[int | None]
    start_date: Mapped[date | None] = mapped_column(Date)
    end_date: Mapped[date | None] = mapped_column(Date)
    level: Mapped[str | None] = mapped_column(String(30))
    issuer_name: Mapped[str] = mapped_column(String(120))
    issued_on: Mapped[date] = mapped_column(Date, index=True)
    details: Mapped[dict] = mapped_column(JSON, default=dict)
    photo_path: Mapped[str | None] = mapped_column(String(255))

    # --- life cycle --------------------------------------------------------------------
    status: Mapped[str] = mapped_column(String(20), default=CertificateStatus.VALID, index=True)
    issued_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    revocation_reason: Mapped[str | None] = mapped_column(String(30))
    revocation_note: Mapped[str | None] = mapped_column(Text)
    replaced_by_id: Mapped[int | None] = mapped_column(ForeignKey("certificates.id"))
    replaces_id: Mapped[int | None] = mapped_column(ForeignKey("certificates.id"), index=True)
    replaced_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    # --- stored file -------------------------------------------------------------------
    pdf_path: Mapped[str | None] = mapped_column(String(255))
    pdf_sha256: Mapped[str | None] = mapped_column(String(64), index=True)
    pdf_rendered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    learner: Mapped[User] = relationship(foreign_keys=[learner_id])
    cohort: Mapped[Cohort | None] = relationship()
    course: Mapped[Course | None] = relationship()
    replaced_by: Mapped[Certificate | None] = relationship(
        foreign_keys=[replaced_by_id], remote_side="Certificate.id"
    )
    replaces: Mapped[Certificate | None] = relationship(
        foreign_keys=[replaces_id], remote_side="Certificate.id"
    )

    @property
    def kind_label(self) -> str:
        return KIND_LABELS[CertificateKind(self.kind)]

    @property
    def status_label(self) -> str:
        return STATUS_LABELS[CertificateStatus(self.status)]

    @property
    def revocation_label(self) -> str:
        return REVOCATION_LABELS.get(self.revocation_reason, "") if self.revocation_reason else ""

    @property
    def title(self) -> str:
        """The title printed on the paper (a completion certificate may be titled 结业证书)."""
        return self.details.get("title") or self.kind_label

    @property
    def is_valid(self) -> bool:
        return self.status == CertificateStatus.VALID


SNAPSHOT_FIELDS = ("kind", "serial", "verification_code", "learner_id", "cohort_id", "course_id", "holder_name",
                   "holder_id_masked", "course_title", "occupation", "hours", "start_date", "end_date", "level",
                   "issuer_name", "issued_on", "details", "photo_path")


class ImmutableSnapshot(Exception):
    """Code tried to change what an issued certificate prints (revoke or reissue instead)."""


@event.listens_for(Certificate, "before_update")
def _snapshot_is_immutable(mapper, connection, target: Certificate) -> None:
    """Refuse any UPDATE that would change a printed value of an issued certificate."""
    state = inspect(target)
    changed = [name for name in SNAPSHOT_FIELDS if state.attrs[name].history.has_changes()]
    if changed:
        raise ImmutableSnapshot(f"certificate {target.serial}: {', '.join(changed)} cannot change after issue")


class CertificateSequence(db.Model):
    """A counter per numbering key (``JXG-2026-DG01`` …), incremented under its row lock."""

    __tablename__ = "certificate_sequences"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(60), unique=True)
    last_value: Mapped[int] = mapped_column(default=0)


class CertificateSettings(LockableMixin, TimestampMixin, db.Model):
    """The academy's certificate settings: one row (id 1), edited by administrators.

    * ``issuer_name`` – printed as the issuing body (defaults to ``ACADEMY_NAME``).
    * ``completion_title`` – 培训合格证书 or 结业证书.
    * ``*_prefix`` – the first block of each kind's serial (``JXG``-2026-DG01-000123).
    * ``authorised_units`` – skill units (专项职业能力) the academy may certify, e.g. ["网约配送"].
    * ``is_evaluation_org`` and the codes – only then may the academy issue 职业技能等级证书;
      ``org_type`` Y (employer) or S (social training-evaluation organisation), ``org_code``
      4 digits from MOHRSS (0000 if filed only in the province), ``province_code`` 2 digits,
      ``site_code`` 6 digits (人社鉴发〔2019〕2号 coding rule).
    * ``seal_path`` – the uploaded seal image, relative to ``STORAGE_PATH``.
    """

    __tablename__ = "certificate_settings"

    id: Mapped[int] = mapped_column(primary_key=True)
    issuer_name: Mapped[str | None] = mapped_column(String(120))
    completion_title: Mapped[str] = mapped_column(String(20), default="培训合格证书")
    completion_prefix: Mapped[str] = mapped_column(String(8), default="JXG")
    special_prefix: Mapped[str] = mapped_column(String(8), default="JXZ")
    award_prefix: Mapped[str] = mapped_column(String(8), default="JXJ")
    authorised_units: Mapped[list] = mapped_column(JSON, default=list)
    is_evaluation_org: Mapped[bool] = mapped_column(default=False)
    evaluation_org_name: Mapped[str | None] = mapped_column(String(120))
    org_type: Mapped[str | None] = mapped_column(String(1))
    org_code: Mapped[str | None] = mapped_column(String(4))
    province_code: Mapped[str | None] = mapped_column(String(2))
    site_code: Mapped[str | None] = mapped_column(String(6))
    seal_path: Mapped[str | None] = mapped_column(String(255))
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))


class ExternalLevelCertificate(TimestampMixin, db.Model):
    """A 职业技能等级证书 a learner obtained from an evaluation organisation elsewhere.

    The academy only *records* it: the 22-character number is validated for format and
    agrees with ``level`` (position 16) and the issue year (positions 14–15); the holder can
    check it on the national query site (jndj.osta.org.cn).
    """

    __tablename__ = "external_level_certificates"
    __table_args__ = (UniqueConstraint("number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    learner_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    number: Mapped[str] = mapped_column(String(22))
    level: Mapped[int]  # 1 = 一级/高级技师 … 5 = 五级/初级工
    occupation: Mapped[str] = mapped_column(String(60))
    issuer: Mapped[str] = mapped_column(String(120))
    issued_on: Mapped[date] = mapped_column(Date)
    note: Mapped[str | None] = mapped_column(Text)
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))

    learner: Mapped[User] = relationship(foreign_keys=[learner_id])


class PrintJobStatus(enum.StrEnum):
    """Life cycle of a batch print job."""

    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


JOB_STATUS_LABELS = {
    PrintJobStatus.QUEUED: "排队中",
    PrintJobStatus.RUNNING: "生成中",
    PrintJobStatus.DONE: "已完成",
    PrintJobStatus.FAILED: "失败",
}


class PrintJob(TimestampMixin, db.Model):
    """A batch of certificates rendered in the background: one merged PDF or a ZIP of files.

    ``certificate_ids`` is the print order. ``done`` counts rendered certificates (the
    progress bar); ``output_path`` is relative to ``STORAGE_PATH``. The row is the job's
    state, so the progress page survives a reload and a worker restart can be seen
    (``heartbeat_at`` stops moving).
    """

    __tablename__ = "certificate_print_jobs"

    id: Mapped[int] = mapped_column(primary_key=True)
    output: Mapped[str] = mapped_column(String(8), default="pdf")  # pdf | zip
    label: Mapped[str] = mapped_column(String(160))
    cohort_id: Mapped[int | None] = mapped_column(ForeignKey("cohorts.id"), index=True)
    certificate_ids: Mapped[list] = mapped_column(JSON, default=list)
    status: Mapped[str] = mapped_column(String(20), default=PrintJobStatus.QUEUED, index=True)
    total: Mapped[int] = mapped_column(default=0)
    done: Mapped[int] = mapped_column(default=0)
    output_path: Mapped[str | None] = mapped_column(String(255))
    output_sha256: Mapped[str | None] = mapped_column(String(64))
    error: Mapped[str | None] = mapped_column(Text)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    heartbeat_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    cohort: Mapped[Cohort | None] = relationship()

    @property
    def status_label(self) -> str:
        return JOB_STATUS_LABELS[PrintJobStatus(self.status)]

    @property
    def percent(self) -> int:
        return 100 if self.total == 0 else min(100, self.done * 100 // self.total)
