"""Chinese is the source language; English is a complete translation catalogue.

The catalogue tests are meant to be re-run whenever a module adds strings: they name every
string that is marked for translation but missing from academy/translations/en, or present but
untranslated, so the fix is ``make translations-update`` and filling in the listed msgstr.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

from academy.config import PROJECT_ROOT
from academy.extensions import db
from tests.conftest import login
from tests.factories import make_cohort, make_course, make_learner

TRANSLATIONS = PROJECT_ROOT / "academy" / "translations"
EN_PO = TRANSLATIONS / "en" / "LC_MESSAGES" / "messages.po"
ZH_PO = TRANSLATIONS / "zh_CN" / "LC_MESSAGES" / "messages.po"
KEYWORDS = {**DEFAULT_KEYWORDS, "_l": None, "lazy_gettext": None}
PLACEHOLDER = re.compile(r"%\((\w+)\)[sd]")


def _catalog(path: Path):
    with path.open("rb") as fh:
        return read_po(fh)


def _msgid(message) -> str:
    return message.id[0] if isinstance(message.id, tuple) else message.id


@pytest.fixture
def english(app):
    """Compile the .po catalogues to .mo when missing or stale (as ``make translations`` does)."""
    for po in TRANSLATIONS.glob("*/LC_MESSAGES/messages.po"):
        mo = po.with_suffix(".mo")
        if not mo.exists() or mo.stat().st_mtime < po.stat().st_mtime:
            with mo.open("wb") as fh:
                write_mo(fh, _catalog(po))
    from flask_babel import get_domain

    get_domain().cache.clear()  # forget translations loaded before the compile
    client = app.test_client()
    client.set_cookie("lang", "en")
    return client


# --- pages in English ----------------------------------------------------------------------

def test_the_login_page_is_in_english_with_the_lang_cookie(english):
    page = english.get("/account/login").get_data(as_text=True)
    assert '<html lang="en">' in page
    for text in ("Log in", "Mobile number", "Password", "Remember me", "Register with your mobile number",
                 "First sign-in for learners registered by the academy", "Find a course"):
        assert text in page, text
    assert "手机号" not in page and "记住我" not in page


def test_the_catalogue_is_in_english_and_the_data_stays_as_entered(english):
    make_cohort(make_course(title="电工（五级/初级工）技能培训", delivery_mode="线上线下结合"), capacity=30)
    db.session.commit()
    page = english.get("/courses/").get_data(as_text=True)
    for text in ("Find a course that fits your hours", "Evening", "Weekend", "Open for enrolment only",
                 "30 places left", "Online and in person", "Search"):
        assert text in page, text
    assert "电工（五级/初级工）技能培训" in page  # course data is not translated
    assert "找一门适合你时间的课" not in page


def test_form_errors_and_flashes_follow_the_language(english):
    learner = make_learner()
    db.session.commit()
    page = english.get("/enrolment/my", follow_redirects=True).get_data(as_text=True)
    assert "Please log in first" in page  # Flask-Login's message goes through gettext too
    page = english.post("/account/login", data={"mobile": "", "password": ""}).get_data(as_text=True)
    assert "Bad request" in page or "Page expired" in page  # no CSRF token: the error page is English too
    login(english, learner)
    page = english.get("/enrolment/my").get_data(as_text=True)
    assert "My courses" in page and "Log out" in page


def test_without_the_cookie_the_site_speaks_chinese(client, english):
    page = client.get("/account/login").get_data(as_text=True)
    assert '<html lang="zh-CN">' in page
    assert "登录" in page and "Log in" not in page


def test_an_unknown_language_cookie_falls_back_to_chinese(client):
    client.set_cookie("lang", "xx")
    assert "登录" in client.get("/account/login").get_data(as_text=True)


# --- the catalogues ------------------------------------------------------------------------

def test_every_english_msgid_has_a_translation():
    missing = [m for m in _catalog(EN_PO)
               if m.id and (not m.string or (isinstance(m.string, tuple) and not all(m.string)) or m.fuzzy)]
    listing = "\n".join(f"  msgid {m.id!r}  ({', '.join(sorted({f for f, _ in m.locations}))})" for m in missing)
    assert not missing, f"{len(missing)} msgid(s) without an English translation in {EN_PO}:\n{listing}"


def test_every_string_marked_in_the_code_is_in_the_english_catalogue():
    with (PROJECT_ROOT / "babel.cfg").open() as fh:
        method_map, options_map = parse_mapping_cfg(fh, "babel.cfg")
    marked: dict[str, str] = {}
    for filename, _lineno, message, _comments, _context in extract_from_dir(
            PROJECT_ROOT, method_map, options_map, keywords=KEYWORDS,
            directory_filter=lambda path: not Path(path).name.startswith(".")):  # templates/_macros too
        text = message[0] if isinstance(message, tuple) else message
        if text:
            marked.setdefault(text, filename)
    known = {_msgid(m) for m in _catalog(EN_PO) if m.id}
    missing = sorted(f"  {text!r} ({filename})" for text, filename in marked.items() if text not in known)
    listing = "\n".join(missing)
    assert not missing, (f"{len(missing)} string(s) not in the catalogue; run `make translations-update` "
                         f"and translate them:\n{listing}")


def test_translations_keep_the_placeholders_of_their_msgid():
    wrong = []
    for m in _catalog(EN_PO):
        if m.id and m.string and not isinstance(m.id, tuple):
            if sorted(PLACEHOLDER.findall(m.id)) != sorted(PLACEHOLDER.findall(m.string)):
                wrong.append((m.id, m.string))
    assert wrong == []


def test_the_chinese_catalogue_is_an_identity():
    different = [(m.id, m.string) for m in _catalog(ZH_PO) if m.id and m.string and m.string != m.id]
    assert different == []
