"""Jinja filters and globals shared by all templates."""

from __future__ import annotations

from decimal import Decimal

from flask import Flask, current_app, request, url_for
from werkzeug.routing import BuildError

from academy.common.masking import mask_id_number, mask_name, mask_phone
from academy.common.timeutil import format_local


def yuan(value: Decimal | int | None) -> str:
    """Format an amount in yuan: 1200 → '1,200 元', 0 → '免费'."""
    if value is None:
        return ""
    value = Decimal(value)
    if value == 0:
        return "免费"
    text = f"{value:,.2f}".rstrip("0").rstrip(".")
    return f"{text} 元"


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
    app.jinja_env.globals.update(nav_url=nav_url)
    app.jinja_env.trim_blocks = True
    app.jinja_env.lstrip_blocks = True

    @app.context_processor
    def inject_common():
        return {
            "academy_name": current_app.config["ACADEMY_NAME"],
            "languages": current_app.config["LANGUAGES"],
            "current_lang": request.cookies.get("lang", current_app.config["BABEL_DEFAULT_LOCALE"]),
        }
