"""No unpublished result reaches a learner: every page, export and JSON answer a learner may GET.

Walks ``app.url_map`` (every module's routes, not only the exams module) for the routes a learner
may GET, fills each route's arguments with every id of the scenario and its codes, fetches it as
the learner (following one redirect) as HTML and as JSON, and counts the marks, totals and verdict
words in the answer — in text and inside .xlsx exports. The walk is done once before any mark is
recorded (the baseline: static copy such as "结业考核合格后发证" is allowed) and again after
marks are recorded but not published: nothing may appear or grow. A control run after
publication proves the walk does see published results.
"""

from __future__ import annotations

import io
import itertools
import re
import zipfile
from collections import Counter

import pytest
from flask import url_for

from academy.accounts.permissions import LOGGED_IN, PUBLIC
from academy.exams import services
from academy.extensions import db
from tests.exams.builders import NOW, make_assessment, make_class, set_marks, sign_in

# The learner's marks (87.5 + 93.5 → 90.5) and a classmate's (缺考, 41.5): none of them is an
# everyday number of other pages. Verdict words: 合格 (also inside 不合格), 缺考, 名次.
SECRET_NUMBERS = ("87.5", "93.5", "90.5", "41.5")
SECRET_WORDS = ("缺考", "名次", "排名")
INTS = list(range(1, 11))  # ids restart at 1 in every test (tables are emptied): these cover every object


def _learner_routes(app):
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static" or "GET" not in rule.methods:
            continue
        access = getattr(app.view_functions[rule.endpoint], "access", None)
        if access in (PUBLIC, LOGGED_IN) or (isinstance(access, tuple) and "learner" in access):
            yield rule


def _urls(app, rule, ints: list[int], strings: list[str]):
    choices = []
    for arg in sorted(rule.arguments):
        converter = type(rule._converters[arg]).__name__
        choices.append([(arg, v) for v in (ints if converter == "IntegerConverter" else strings)])
    for combo in itertools.product(*choices):
        with app.test_request_context():
            yield url_for(rule.endpoint, **dict(combo))


def _text(response) -> str:
    data = response.data
    if data[:2] == b"PK":  # .xlsx (a zip of XML parts)
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            return " ".join(archive.read(name).decode("utf-8", "replace") for name in archive.namelist()
                            if name.endswith(".xml"))
    return data.decode("utf-8", "replace")


def _counts(text: str) -> Counter:
    counts = Counter({s: text.count(s) for s in SECRET_NUMBERS + SECRET_WORDS})
    counts["合格"] = text.count("合格") - text.count("合格证")  # 培训合格证书 names a certificate
    return +counts


def _walk(app, client, cls) -> dict[str, Counter]:
    """Counts of the secret strings per fetched URL (and the page it redirects to)."""
    seen: dict[str, Counter] = {}
    for rule in _learner_routes(app):
        for url in _urls(app, rule, INTS, [cls.cohort.code, cls.cohort.course.code, "my", "no-such-thing"]):
            for headers in ({}, {"Accept": "application/json"}):
                response = client.get(url, headers=headers)
                assert response.status_code < 500, f"{url} -> {response.status_code}"
                counts = _counts(_text(response))
                location = response.headers.get("Location", "")
                if response.status_code in (301, 302, 303) and location.startswith("/"):
                    counts += _counts(_text(client.get(location, headers=headers)))
                seen[f"{url} {headers}"] = counts
    assert len(seen) > 20
    return seen


def _increase(before: dict[str, Counter], after: dict[str, Counter]) -> dict[str, Counter]:
    """What appeared (or appeared more often) on each URL since the baseline walk."""
    out = {}
    for url, counts in after.items():
        grown = counts - before.get(url, Counter())
        if grown:
            out[url] = grown
    return out




@pytest.fixture
def scenario(app):
    """A learner and a classmate in a running cohort with an assessment; the learner's baseline walk
    (no marks yet) is taken, then marks are recorded and NOT published."""
    cls = make_class(2, names=["邱志明", "曾小燕"])
    me, classmate = cls.learners
    assessment = make_assessment(cls)
    db.session.commit()
    client = sign_in(app, me)
    baseline = _walk(app, client, cls)
    set_marks(assessment, {me: ("87.5", "93.5"), classmate: ("41.5", "缺考")})
    db.session.commit()
    return cls, assessment, client, baseline


def test_no_page_export_or_json_reveals_an_unpublished_result_to_a_learner(app, scenario):
    cls, assessment, client, baseline = scenario
    assert _increase(baseline, _walk(app, client, cls)) == {}


def test_the_walk_does_see_results_once_they_are_published(app, scenario):
    cls, assessment, client, baseline = scenario
    services.publish(assessment, actor=cls.instructor, now=NOW)
    db.session.commit()
    grown = _increase(baseline, _walk(app, client, cls))
    mine = grown["/exams/my {}"]
    assert {"87.5", "93.5", "90.5", "合格"} <= set(mine)
    assert all("41.5" not in counts and "缺考" not in counts for counts in grown.values())  # the classmate's


def test_an_unpublished_resit_stays_hidden_while_the_original_is_published(app):
    cls = make_class(1, names=["邱志明"])
    (me,) = cls.learners
    original = make_assessment(cls)
    set_marks(original, {me: ("52", "70")})
    services.publish(original, actor=cls.instructor, now=NOW)
    resit = services.arrange_resit(original, [me.id], actor=cls.instructor)
    db.session.commit()
    client = sign_in(app, me)
    baseline = _walk(app, client, cls)
    set_marks(resit, {me: ("87.5", "93.5")})
    db.session.commit()
    assert _increase(baseline, _walk(app, client, cls)) == {}
    page = client.get("/exams/my").get_data(as_text=True)
    assert "52" in page and "不合格" in page and "第2次" not in page
    assert re.search(r"合格(?!证)", page.replace("不合格", "")) is None  # the hidden resit passed
