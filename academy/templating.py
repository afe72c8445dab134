"""Jinja filters and globals shared by all templates."""

from __future__ import annotations

from decimal import Decimal

from flask import Flask, current_app, url_for
from flask_babel import get_locale, gettext
from werkzeug.routing import BuildError

from academy.accounts.models import ROLE_LABELS
from academy.catalogue.models import COHORT_STATUS_LABELS, DELIVERY_MODE_LABELS
from academy.common.masking import mask_id_number, mask_name, mask_phone
from academy.common.timeutil import format_local


def yuan(value: Decimal | int | None) -> str:
    """Format an amount in yuan: 1200 → '1,200 元', 1200.50 → '1,200.5 元', 0 → '免费' (translated)."""
    if value is None:
        return ""
    value = Decimal(value)
    if value == 0:
        return gettext("免费")
    text = f"{value:,.2f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return gettext("%(amount)s 元", amount=text)


def _label(labels: dict, value: str | None) -> str:
    """The display label of a stored enum value, in the current language; unknown values as they are."""
    if not value:
        return ""
    for key, label in labels.items():
        if key == value:
            return str(label)
    return str(value)


def role_label(role: str | None) -> str:
    """学员 / 教师 / 管理员 / 裁判 for a stored role value (``learner``…)."""
    return _label(ROLE_LABELS, role)


def cohort_status_label(status: str | None) -> str:
    """筹备中 / 招生中 / 开课中 / 已结业 / 已取消 for a stored cohort status."""
    return _label(COHORT_STATUS_LABELS, status)


def delivery_mode_label(mode: str | None) -> str:
    """线下 / 线上 / 线上线下结合 in the current language (the stored value is Chinese)."""
    return _label(DELIVERY_MODE_LABELS, mode)


def nav_url(endpoint: str, **values) -> str | None:
    """``url_for`` that returns None for an endpoint not registered (a module switched off)."""
    try:
        return url_for(endpoint, **values)
    except BuildError:
        return None


def init_templating(app: Flask) -> None:
    """Register filters and globals."""
    app.jinja_env.filters.update(
        mask_name=mask_name,
        mask_phone=mask_phone,
        mask_id=mask_id_number,
        local=format_local,
        yuan=yuan,
    )
    app.jinja_env.globals.update(nav_url=nav_url, role_label=role_label, cohort_status_label=cohort_status_label,
                                 delivery_mode_label=delivery_mode_label)
    app.jinja_env.trim_blocks = True
    app.jinja_env.lstrip_blocks = True

    @app.context_processor
    def inject_common():
        return {
            "academy_name": current_app.config["ACADEMY_NAME"],
            "languages": current_app.config["LANGUAGES"],
            "current_lang": str(get_locale() or current_app.config["BABEL_DEFAULT_LOCALE"]),
        }
