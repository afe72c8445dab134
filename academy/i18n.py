"""Language and time-zone selection for Flask-Babel.

Chinese (zh_CN) is the default and the language the templates are written in; English is
available through the language switch (a cookie) or the browser's preference.
"""

from __future__ import annotations

from flask import current_app, request

LANG_COOKIE = "lang"


def select_locale() -> str:
    """The ``lang`` cookie if it names a supported language, else zh_CN."""
    languages = current_app.config["LANGUAGES"]
    chosen = request.cookies.get(LANG_COOKIE)
    if chosen in languages:
        return chosen
    return current_app.config["BABEL_DEFAULT_LOCALE"]


def select_timezone() -> str:
    """Every person sees the academy's time zone (Asia/Shanghai)."""
    return current_app.config["TIMEZONE"]
