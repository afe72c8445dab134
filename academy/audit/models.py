"""Audit event model."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from academy.database import UTCDateTime, utcnow
from academy.extensions import db


class AuditEvent(db.Model):
    """One security- or data-relevant event (append-only; never updated or deleted by the app).

    ``action`` is a dotted verb such as ``auth.login_failed``, ``roster.imported``,
    ``enrolment.approved``; ``details`` holds a small JSON object.
    """

    __tablename__ = "audit_events"
    __table_args__ = (Index("ix_audit_events_object", "object_type", "object_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), index=True)
    action: Mapped[str] = mapped_column(String(64), index=True)
    object_type: Mapped[str | None] = mapped_column(String(40))
    object_id: Mapped[int | None]
    details: Mapped[dict] = mapped_column(JSON, default=dict)
    ip: Mapped[str | None] = mapped_column(String(45))

    actor = relationship("User", lazy="joined", viewonly=True)
