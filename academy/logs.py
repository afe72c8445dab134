"""Structured logs: one JSON object per line on stderr, for journald or a log shipper.

Enabled with ``ACADEMY_LOG_FORMAT=json`` (the production units set it); the development server
keeps Flask's readable default. Each request-time record carries the method, path, the signed-in
user's id and the client address, so a line can be traced to a person and an action.
"""

from __future__ import annotations

import json
import logging
import os
from datetime import UTC, datetime

from flask import Flask, has_request_context, request


class JsonFormatter(logging.Formatter):
    """Format a record as one JSON line: time (UTC, ISO 8601), level, logger, message, request."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if has_request_context():
            from flask_login import current_user

            entry.update(method=request.method, path=request.path, remote=request.remote_addr,
                         user_id=getattr(current_user, "id", None))
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


def init_logging(app: Flask) -> None:
    """Send the app's and the libraries' logs as JSON lines when ``ACADEMY_LOG_FORMAT=json``."""
    if os.environ.get("ACADEMY_LOG_FORMAT", app.config.get("LOG_FORMAT", "")) != "json":
        return
    handler = logging.StreamHandler()
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers = [handler]
    root.setLevel(os.environ.get("ACADEMY_LOG_LEVEL", "INFO").upper())
    app.logger.handlers = []
    app.logger.propagate = True
