"""Language and time-zone selection for Flask-Babel.

Chinese (zh_CN) is the default and the language the templates are written in; English is
available through the language switch (the ``lang`` cookie). The browser's Accept-Language is
deliberately not used: many phones and test browsers announce English while their owners read
Chinese, so the academy speaks Chinese until the person chooses otherwise.
"""

from __future__ import annotations

from flask import current_app, has_request_context, request

LANG_COOKIE = "lang"


def N_(message: str) -> str:
    """Mark ``message`` for extraction by pybabel without translating it now.

    For strings that are translated later by a library (e.g. Flask-Login's ``login_message``
    through ``localize_callback``) or that must stay Chinese where they are stored.
    """
    return message


def select_locale() -> str:
    """The ``lang`` cookie if it names a supported language, else zh_CN.

    Outside a request (CLI commands, background jobs, services called from tests) the default
    language is used.
    """
    if not has_request_context():
        return current_app.config["BABEL_DEFAULT_LOCALE"]
    languages = current_app.config["LANGUAGES"]
    chosen = request.cookies.get(LANG_COOKIE)
    if chosen in languages:
        return chosen
    return current_app.config["BABEL_DEFAULT_LOCALE"]


def select_timezone() -> str:
    """Every person sees the academy's time zone (Asia/Shanghai)."""
    return current_app.config["TIMEZONE"]


def fill_identity_catalogue(po_path: str) -> int:
    """Make the zh_CN catalogue an identity: every empty ``msgstr`` becomes its ``msgid``.

    Chinese is the source language, so zh_CN needs no translation; the identity catalogue keeps
    tools (and translators) from reporting it as untranslated. Returns the number of entries
    filled. Used by ``make translations-update``.
    """
    from babel.messages.pofile import read_po, write_po

    with open(po_path, "rb") as fh:
        catalog = read_po(fh)
    filled = 0
    for message in catalog:
        if not message.id:
            continue
        if isinstance(message.id, tuple):  # plural forms
            if not any(message.string or ()):
                message.string = (message.id[0],) + (message.id[1],) * (max(catalog.num_plurals, 1) - 1)
                filled += 1
        elif not message.string:
            message.string = message.id
            filled += 1
        message.flags.discard("fuzzy")
    with open(po_path, "wb") as fh:
        write_po(fh, catalog, width=0, include_previous=False)
    return filled


if __name__ == "__main__":  # python -m academy.i18n identity PATH
    import sys

    if len(sys.argv) == 3 and sys.argv[1] == "identity":
        print(f"{fill_identity_catalogue(sys.argv[2])} zh_CN entries filled")
    else:
        sys.exit("usage: python -m academy.i18n identity academy/translations/zh_CN/LC_MESSAGES/messages.po")
