"""Page-weight budget of the learner pages (issue 9).

Each learner page — the catalogue (a full page of cohorts, and filtered), a cohort page, my courses,
my attendance, my results, my certificates, a certificate's verification page and the check-in page
a QR code opens — is fetched through the test client with ``Accept-Encoding: gzip`` as a signed-in
learner with a realistic history (a finished class with results and a certificate, a running class
with a term of sessions, an application to an open class). The page's HTML plus every same-origin
file it references (stylesheets, scripts, icons, images, and what the stylesheets reference), as
sent compressed, must stay within 30 KB (response headers not counted: benchmarks/page_weight.py
measures those with Chromium). No page may reference a resource on another origin, nor hold a
script in ``<head>`` that blocks rendering. Static files must stay cacheable whatever the session
cookie does (no ``Vary: Cookie``).
"""

from __future__ import annotations

import gzip
import re
from datetime import timedelta
from html.parser import HTMLParser
from urllib.parse import urlencode, urljoin, urlsplit

import pytest

from academy.attendance import services as attendance
from academy.attendance import tokens
from academy.catalogue.models import CohortStatus
from academy.certificates import services as certificates
from academy.common.timeutil import now_utc
from tests.certificates.builders import graduating_class
from tests.conftest import login
from tests.factories import enrol, make_cohort, make_course

BUDGET = 30 * 1024  # bytes: HTML + referenced files, compressed, per page
ORIGIN = "http://localhost"  # the test client's origin
CSS_URL = re.compile(r"""url\(\s*['"]?([^'")]+)['"]?\s*\)|@import\s+['"]([^'"]+)['"]""")


class _References(HTMLParser):
    """Subresources of a page (what a browser fetches to show it) and the render-blocking scripts."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.urls: list[str] = []
        self.blocking_scripts: list[str] = []
        self.in_head = True

    def handle_starttag(self, tag, attrs):
        a = {k: v or "" for k, v in attrs}
        if tag == "body":
            self.in_head = False
        if tag == "link" and a.get("href") and set(a.get("rel", "").lower().split()) & {
                "stylesheet", "icon", "apple-touch-icon", "preload", "modulepreload", "manifest"}:
            self.urls.append(a["href"])
        elif tag == "script" and a.get("src"):
            self.urls.append(a["src"])
            if self.in_head and not ({"async", "defer"} & a.keys() or a.get("type") == "module"):
                self.blocking_scripts.append(a["src"])
        elif tag in ("img", "source", "video", "audio", "iframe", "embed", "input") and a.get("src"):
            self.urls.append(a["src"])
        if a.get("srcset"):
            self.urls += [part.strip().split()[0] for part in a["srcset"].split(",") if part.strip()]
        if a.get("style"):
            self.urls += [m.group(1) for m in CSS_URL.finditer(a["style"]) if m.group(1)]

    def handle_endtag(self, tag):
        if tag == "head":
            self.in_head = False


def references(html: str, page_url: str) -> tuple[list[str], list[str]]:
    """(absolute URLs of the subresources ``html`` references, render-blocking scripts)."""
    parser = _References()
    parser.feed(html)
    for style in re.findall(r"<style[^>]*>(.*?)</style>", html, re.S | re.I):
        parser.urls += [m.group(1) or m.group(2) for m in CSS_URL.finditer(style)]
    urls = [urljoin(page_url, u) for u in parser.urls if not u.startswith("data:")]
    return list(dict.fromkeys(urls)), parser.blocking_scripts


def _body(response) -> bytes:
    return gzip.decompress(response.data) if response.headers.get("Content-Encoding") == "gzip" else response.data


def page_weight(client, path: str) -> dict:
    """What a browser with an empty cache downloads for ``path``: bytes as sent (gzip), per URL.

    Redirects are followed (their bodies count too). Returns ``{"bytes": total, "files": {url:
    bytes}, "third_party": [...], "blocking_scripts": [...], "html": decoded text, "status": int}``.
    """
    headers = {"Accept-Encoding": "gzip"}
    url = urljoin(ORIGIN, path)
    files: dict[str, int] = {}
    for _ in range(5):
        response = client.get(url, headers=headers)
        files[url] = len(response.data)
        if response.status_code not in (301, 302, 303, 307, 308):
            break
        url = urljoin(url, response.headers["Location"])
    html = _body(response).decode()
    queue, blocking = references(html, url)
    third_party = []
    while queue:
        ref = queue.pop(0)
        if ref in files or ref in third_party:
            continue
        if (urlsplit(ref).scheme, urlsplit(ref).netloc) != (urlsplit(ORIGIN).scheme, urlsplit(ORIGIN).netloc):
            third_party.append(ref)
            continue
        sub = client.get(ref, headers=headers)
        assert sub.status_code == 200, f"{path} references {ref}: HTTP {sub.status_code}"
        files[ref] = len(sub.data)
        if sub.mimetype == "text/css":
            queue += [urljoin(ref, m.group(1) or m.group(2)) for m in CSS_URL.finditer(_body(sub).decode())
                      if not (m.group(1) or m.group(2)).startswith("data:")]
    return {"bytes": sum(files.values()), "files": files, "third_party": third_party, "blocking_scripts": blocking,
            "html": html, "status": response.status_code}


# --- the measure itself ---------------------------------------------------------------------

def test_the_measure_counts_every_referenced_file_and_catches_other_origins():
    html = ('<html><head><link rel="stylesheet" href="/static/css/site.css"><script src="/static/js/a.js"></script>'
            '<link rel="icon" href="https://cdn.example.com/i.svg"><style>b{background:url(/static/img/x.png)}</style>'
            '</head><body><img src="//img.example.com/p.jpg" srcset="/static/img/p2.jpg 2x">'
            '<script src="/static/js/b.js" defer></script><img src="data:image/png;base64,AAAA"></body></html>')
    urls, blocking = references(html, "http://localhost/courses/")
    assert urls == ["http://localhost/static/css/site.css", "http://localhost/static/js/a.js",
                    "https://cdn.example.com/i.svg", "http://img.example.com/p.jpg", "http://localhost/static/img/p2.jpg",
                    "http://localhost/static/js/b.js", "http://localhost/static/img/x.png"]
    assert blocking == ["/static/js/a.js"]


def test_the_measure_adds_the_stylesheet_and_what_it_references(client):
    weight = page_weight(client, "/account/login")
    css = [u for u in weight["files"] if "/static/css/site.css" in u]
    assert css and weight["files"][css[0]] > 1000  # sent compressed, but there
    assert weight["bytes"] == sum(weight["files"].values()) > weight["files"][css[0]]


# --- the budget ----------------------------------------------------------------------------

@pytest.fixture
def learner_pages(app, db):
    """A learner with a realistic history and the paths of every learner page (check-in: with a token)."""
    now = now_utc()
    for i in range(app.config["PAGE_SIZE"] + 4):  # more than a full catalogue page, long titles
        course = make_course(title=f"网约配送员（五级/初级工）职业技能培训——夜班实操强化{i}",
                             occupation="网约配送员" if i % 2 else "电工")
        make_cohort(course, name=f"2026年第{i + 1}期网约配送员晚班（章贡区水南街道实训点）", district="章贡区")
    finished = graduating_class(3, sessions=8)  # results published, all attended
    learner = finished.learners[0]
    certificate = certificates.issue_certificate(learner, finished.cohort, actor=finished.admin)
    running = make_cohort(make_course(title="电工（四级/中级工）技能培训"), instructors=[finished.instructor],
                          status=CohortStatus.RUNNING, start_date=(now - timedelta(days=40)).date(),
                          end_date=(now + timedelta(days=40)).date())
    enrol(learner, running)
    for week in range(6, 0, -1):
        starts = now - timedelta(weeks=week)
        held = attendance.create_session(running, starts_at=starts, ends_at=starts + timedelta(hours=2),
                                         actor=finished.instructor)
        attendance.set_status(held, learner.id, "present" if week % 3 else "late", actor=finished.instructor, now=now)
    for week in range(1, 7):
        starts = now + timedelta(weeks=week)
        attendance.create_session(running, starts_at=starts, ends_at=starts + timedelta(hours=2),
                                  actor=finished.instructor)
    starts = now.replace(microsecond=0) - timedelta(minutes=5)
    today = attendance.create_session(running, starts_at=starts, ends_at=starts + timedelta(hours=2),
                                      actor=finished.instructor)
    open_cohort = make_cohort(make_course(title="电子商务师（四级）线上班"))
    enrol(learner, open_cohort, source="self")
    db.session.commit()
    token = tokens.current_token(today.id, today.rotation_seconds, now=now_utc())
    return learner, {
        "catalogue": "/courses/",
        "catalogue filtered": "/courses/?" + urlencode({"q": "配送", "district": "章贡区", "time": "evening",
                                                        "open": "y"}),
        "cohort page": f"/courses/cohorts/{running.code}",
        "my courses": "/enrolment/my",
        "my attendance": "/attendance/my",
        "my results": "/exams/my",
        "my certificates": "/certificates/my",
        "verification": f"/verify/{certificate.serial}",
        "check-in": f"/attendance/c/{today.public_code}?t={token}",
    }


def test_every_learner_page_stays_within_30_kb_and_uses_only_this_site(app, learner_pages):
    learner, pages = learner_pages
    client = app.test_client()
    login(client, learner)
    weights = {label: page_weight(client, path) for label, path in pages.items()}
    report = {label: (w["bytes"], w["status"]) for label, w in weights.items()}
    for label, weight in weights.items():
        assert weight["status"] == 200, (label, report)
        assert weight["bytes"] <= BUDGET, f"{label}: {weight['bytes']} bytes > {BUDGET}: {weight['files']}"
        assert weight["third_party"] == [], f"{label} references other origins: {weight['third_party']}"
        assert weight["blocking_scripts"] == [], f"{label}: scripts block rendering: {weight['blocking_scripts']}"
        assert any("/static/css/" in url for url in weight["files"]), f"{label}: stylesheet not measured"
    # the pages measured are the full ones, not empty states
    assert weights["catalogue"]["html"].count("/courses/cohorts/") >= app.config["PAGE_SIZE"]
    assert "/courses/cohorts/" in weights["catalogue filtered"]["html"]
    assert "电工（四级/中级工）技能培训" in weights["my courses"]["html"]
    assert "确认签到" in weights["check-in"]["html"]
    assert learner.name in weights["verification"]["html"] or "有效" in weights["verification"]["html"]


def test_static_files_stay_cached_when_the_session_cookie_changes(app, learner_pages):
    learner, _ = learner_pages
    client = app.test_client()
    login(client, learner)
    response = client.get("/static/css/site.css", headers={"Accept-Encoding": "gzip"})
    assert response.status_code == 200
    assert "Cookie" not in response.headers.get("Vary", ""), response.headers.get("Vary")
    assert "Set-Cookie" not in response.headers
    assert response.cache_control.max_age >= 7 * 24 * 3600
    page = client.get("/enrolment/my")
    assert "Cookie" in page.headers.get("Vary", "")  # pages still vary with the session
