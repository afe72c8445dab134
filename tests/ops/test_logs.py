"""Structured logs: JSON lines with the request's context."""

from __future__ import annotations

import json
import logging

from flask import current_app

from academy.logs import JsonFormatter


def test_a_log_record_in_a_request_is_one_json_line_with_method_path_and_user(app):
    formatter = JsonFormatter()
    with app.test_request_context("/courses/?q=电工", method="GET", environ_base={"REMOTE_ADDR": "10.1.2.3"}):
        record = logging.LogRecord("academy", logging.WARNING, __file__, 1, "导入失败：%s", ("第17行",), None)
        line = formatter.format(record)
    entry = json.loads(line)
    assert entry["level"] == "WARNING" and entry["message"] == "导入失败：第17行"
    assert entry["method"] == "GET" and entry["path"] == "/courses/" and entry["remote"] == "10.1.2.3"
    assert entry["user_id"] is None
    assert entry["time"].endswith("+00:00")


def test_json_logging_is_switched_on_by_the_environment(monkeypatch, tmp_path):
    from academy import create_app
    from academy.config import TestConfig

    class Config(TestConfig):
        INSTANCE_PATH = tmp_path
        SQLALCHEMY_DATABASE_URI = f"sqlite:///{tmp_path / 'x.db'}"

    root = logging.getLogger()
    saved = (root.handlers[:], root.level)
    monkeypatch.setenv("ACADEMY_LOG_FORMAT", "json")
    try:
        app = create_app(Config)
        assert any(isinstance(h.formatter, JsonFormatter) for h in root.handlers)
        assert app.logger.propagate is True
    finally:
        root.handlers, root.level = saved
    assert current_app  # the test's own app context is untouched
