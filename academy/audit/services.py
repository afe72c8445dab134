"""Writing audit events. Services call ``record`` in the same transaction as the change."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from flask import has_request_context, request
from sqlalchemy import insert

from academy.audit.models import AuditEvent
from academy.database import utcnow
from academy.extensions import db


def record(action: str, *, actor=None, obj: Any = None, **details: Any) -> AuditEvent:
    """Add an audit event for ``action`` done by ``actor`` (a User or None) on ``obj``.

    ``obj`` is any model with an ``id``; its class name is stored as ``object_type``.
    ``details`` must be JSON-serialisable. The row is added to the session, not committed.
    The client IP is taken from the current request when there is one (the only request
    access allowed in a service helper, since the audit log is about who acted from where).
    """
    event = AuditEvent(
        action=action,
        actor_id=getattr(actor, "id", None),
        object_type=type(obj).__name__ if obj is not None else None,
        object_id=getattr(obj, "id", None),
        details={k: v for k, v in details.items() if v is not None},
        ip=request.remote_addr if has_request_context() else None,
    )
    db.session.add(event)
    return event


def record_many(action: str, events: Iterable[tuple[Any, str | None, int | None, dict[str, Any]]]) -> int:
    """Add one audit event for ``action`` per ``(actor, object_type, object_id, details)``, as
    ``record`` would (``object_type`` is the model's class name, e.g. ``"Enrolment"``), in one
    bulk INSERT — for imports of thousands of rows. Returns the number of events; nothing is committed.
    """
    ip = request.remote_addr if has_request_context() else None
    rows = [{"action": action, "actor_id": getattr(actor, "id", None), "object_type": object_type,
             "object_id": object_id, "details": {k: v for k, v in details.items() if v is not None}, "ip": ip,
             "at": utcnow()}
            for actor, object_type, object_id, details in events]
    if rows:
        db.session.execute(insert(AuditEvent.__table__), rows)  # one executemany
    return len(rows)
