"""Benchmark: page weight of the learner pages (bytes over the wire, not time).

    .venv/bin/python benchmarks/page_weight.py [--no-browser] [--keep] [--json FILE]

What it does, all in a throw-away directory:

1. builds a SQLite database the way ``make run`` does (``flask db upgrade``, ``flask demo
   --if-empty``) and reads the demo learner's login from ``flask demo --accounts``;
2. adds, when the demo has none, a class session of the learner's running cohort that is open for
   check-in now, and computes its current QR token (``academy.attendance.tokens``);
3. serves the app with gunicorn (``gunicorn.conf.py``, 2 workers) on a free localhost port;
4. signs in through the real login form and measures each learner page in two ways:

   * **HTTP client** (``requests``, ``Accept-Encoding: gzip, deflate, br, zstd`` as Chromium sends):
     the HTML and every same-origin subresource it references (stylesheets, scripts, icons,
     images, and the fonts/images that stylesheets reference), bodies as sent (compressed) and
     raw; "repeat" applies the responses' own cache headers (fresh ``max-age`` → 0 bytes,
     otherwise a conditional request);
   * **Chromium** (Playwright driving /usr/bin/chromium, 390×844 phone, the launch flags of
     tests/e2e/conftest.py): every response of three visits, summed from DevTools'
     ``Network.loadingFinished.encodedDataLength`` (what DevTools shows as "transferred": headers
     + compressed body; 0 for cache hits). Chromium is restarted between visits on the same
     profile, so only its HTTP disk cache carries over: *first* (empty cache), *repeat*, and
     *new cookie* (repeat after the session cookie changed, as it does after any flash message,
     QR scan or sign-in; a static file fetched again then is listed under "again").

Prints one table per method. Flags third-party resources (any origin other than the app's) and
render-blocking ones (stylesheets without a non-matching ``media``, scripts in ``<head>`` without
``async``/``defer``/``type=module``). The budget of issue 9 is 30 KB (30 × 1024 bytes)
transferred per learner page; the column "≤30KB" states whether a page keeps it. Nothing is
downloaded: no browser (PLAYWRIGHT_BROWSERS_PATH=0), no third-party resource.

``benchmarks/lighthouse.py`` reuses ``demo_site()`` from here.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import timedelta
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urlencode, urljoin, urlsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

BIN = Path(sys.executable).parent
SECRET = "page-weight-benchmark-secret"  # noqa: S105 - a throw-away database
BUDGET_BYTES = 30 * 1024
ACCEPT_ENCODING = "gzip, deflate, br, zstd"  # what Chromium sends
USER_AGENT = ("Mozilla/5.0 (Linux; Android 12; M2102J2SC) AppleWebKit/537.36 (KHTML, like Gecko) "
              "Chrome/120.0 Mobile Safari/537.36 MicroMessenger/8.0.47")
CHROMIUM = os.environ.get("ACADEMY_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"]
PHONE = {"width": 390, "height": 844}


# --- the throw-away demo site ---------------------------------------------------------------

@dataclass
class DemoSite:
    """A served demo academy: ``base`` URL, the learner's login, and the pages to measure.

    ``pages`` maps a label to a path; the check-in page's path is built at each use by
    ``checkin_path()`` because its QR token rotates (every ``rotation`` seconds).
    """

    base: str
    workdir: Path
    mobile: str
    password: str
    pages: dict[str, str] = field(default_factory=dict)
    checkin_code: str = ""
    checkin_session_id: int = 0
    rotation: int = 30

    def checkin_path(self, *, with_token: bool = True) -> str:
        """``/attendance/c/<code>?t=<token valid now>`` (what the projector's QR code opens)."""
        from academy.attendance import tokens
        from academy.common.timeutil import now_utc

        path = f"/attendance/c/{self.checkin_code}"
        if not with_token:
            return path
        token = tokens.current_token(self.checkin_session_id, self.rotation, now=now_utc(), secret=SECRET)
        return f"{path}?t={token}"

    def url(self, path: str) -> str:
        """Absolute URL of ``path`` on this site."""
        return self.base + path


def _env(workdir: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "ACADEMY_BASE_URL")}
    env.update({"DATABASE_URL": f"sqlite:///{workdir / 'academy.db'}", "ACADEMY_INSTANCE_PATH": str(workdir),
                "SECRET_KEY": SECRET, "ACADEMY_LOG_LEVEL": "warning", "PYTHONPATH": str(ROOT)}, **extra)
    return env


def _flask(workdir: Path, *args: str) -> str:
    result = subprocess.run([str(BIN / "flask"), "--app", "academy", *args], cwd=ROOT, env=_env(workdir),
                            capture_output=True, text=True, check=False)
    if result.returncode:
        raise SystemExit(f"flask {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
    return result.stdout


def build_demo(workdir: Path) -> tuple[str, str]:
    """``flask db upgrade`` + ``flask demo --if-empty`` into ``workdir``; return the first demo
    learner's (mobile, password) as ``flask demo --accounts`` lists them (role 学员)."""
    _flask(workdir, "db", "upgrade")
    _flask(workdir, "demo", "--if-empty")
    for line in _flask(workdir, "demo", "--accounts").splitlines():
        match = re.match(r"\s*学员\s+(\d{11})\s+密码\s+(\S+)", line)
        if match:
            return match.group(1), match.group(2)
    raise SystemExit("flask demo --accounts lists no learner (学员)")


def prepare_pages(workdir: Path, mobile: str) -> dict:
    """Pick the learner pages' URLs from the demo data; make sure a session is open for check-in.

    Returns ``{"pages": {label: path}, "checkin_code", "checkin_session_id", "rotation",
    "created_session": bool}``.
    """
    from sqlalchemy import select

    from academy import create_app
    from academy.accounts.models import User
    from academy.attendance import queries, services
    from academy.attendance.models import AttendanceRecord, ClassSession
    from academy.certificates.models import Certificate
    from academy.common.timeutil import now_utc
    from academy.extensions import db

    app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{workdir / 'academy.db'}", "INSTANCE_PATH": workdir,
                      "SECRET_KEY": SECRET, "CACHE_TYPE": "NullCache"})
    with app.app_context():
        learner = db.session.scalar(select(User).where(User.mobile == mobile))
        cohorts = queries.learner_cohorts(learner.id)
        now = now_utc()
        running = [c for c in cohorts if c.start_date <= now.date() <= c.end_date] or cohorts
        cohort = running[0]
        filters = _catalogue_filters(now)
        certificate = db.session.scalar(select(Certificate).where(Certificate.learner_id == learner.id)
                                        .order_by(Certificate.id))
        # a session open for check-in now, that the learner has not checked in to yet
        mine = select(AttendanceRecord.session_id).where(AttendanceRecord.learner_id == learner.id)
        open_now = [s for s in db.session.scalars(
            select(ClassSession).where(ClassSession.cohort_id.in_([c.id for c in cohorts]),
                                       ClassSession.id.not_in(mine)))
            if not s.is_cancelled and s.opens_at <= now < s.closes_at]
        created = not open_now
        if created:
            actor = cohort.instructors[0] if cohort.instructors else db.session.scalar(
                select(User).where(User.mobile == "13800000001"))
            start = now.replace(second=0, microsecond=0) - timedelta(minutes=5)
            lesson = services.create_session(cohort, starts_at=start, ends_at=start + timedelta(hours=2),
                                             topic="页面体积测量", actor=actor)
            db.session.commit()
        else:
            lesson = open_now[0]
        pages = {
            "catalogue": "/courses/",
            "catalogue filtered": "/courses/?" + urlencode(filters),
            "cohort page": f"/courses/cohorts/{cohort.code}",
            "my courses": "/enrolment/my",
            "my attendance": "/attendance/my",
            "my results": "/exams/my",
            "my certificates": "/certificates/my",
            "verification": f"/verify/{certificate.serial}" if certificate else "/verify/",
            "check-in": "<checkin>",
        }
        result = {"pages": pages, "checkin_code": lesson.public_code, "checkin_session_id": lesson.id,
                  "rotation": lesson.rotation_seconds, "created_session": created}
        db.session.remove()
        db.engine.dispose()
    return result


def _catalogue_filters(now) -> dict[str, str]:
    """The narrowest catalogue filter (district, time of day, open only) that still lists at least
    two cohorts of the demo, so that the filtered page shows cards and not "no match"."""
    from sqlalchemy import func, select

    from academy.catalogue import services
    from academy.catalogue.models import Cohort
    from academy.extensions import db

    districts = [d for d, _ in db.session.execute(
        select(Cohort.district, func.count()).where(Cohort.district.is_not(None))
        .group_by(Cohort.district).order_by(func.count().desc(), Cohort.district))]
    candidates = [{"district": d, "time": t, "open": "y"} for d in districts for t in ("evening", "weekend")]
    candidates += [{"district": d, "open": "y"} for d in districts] + [{"district": d} for d in districts]
    for filters in candidates:
        query = services.CatalogueQuery(district=filters["district"], time_of_day=filters.get("time", ""),
                                        open_only="open" in filters)
        if services.search_cohorts(query, now=now).total >= 2:
            return filters
    return {"open": "y"}


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def serve(workdir: Path, port: int):
    """Run gunicorn (gunicorn.conf.py, 2 sync workers) on ``port``; yield the base URL; stop it."""
    import requests

    log = open(workdir / "gunicorn.log", "w")  # noqa: SIM115 - closed below
    proc = subprocess.Popen([str(BIN / "gunicorn"), "-c", str(ROOT / "gunicorn.conf.py"), "academy:create_app()"],
                            cwd=ROOT, env=_env(workdir, ACADEMY_BIND=f"127.0.0.1:{port}", ACADEMY_WORKERS="2"),
                            stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            if proc.poll() is not None:
                raise SystemExit(f"gunicorn exited: see {workdir / 'gunicorn.log'}")
            try:
                if requests.get(base + "/courses/", timeout=10).status_code == 200:
                    break
            except requests.RequestException:
                pass
            if time.monotonic() > deadline:
                raise SystemExit("gunicorn did not answer within 60 s")
            time.sleep(0.1)
        for _ in range(4):  # warm both workers (imports, templates) before anything is measured
            requests.get(base + "/courses/", timeout=30)
        yield base
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


@contextlib.contextmanager
def demo_site(keep: bool = False):
    """Build, prepare and serve the demo academy in a temp directory; yield a ``DemoSite``."""
    workdir = Path(tempfile.mkdtemp(prefix="academy-pageweight-"))
    try:
        started = time.perf_counter()
        mobile, password = build_demo(workdir)
        info = prepare_pages(workdir, mobile)
        print(f"demo database built in {time.perf_counter() - started:.1f} s ({workdir}); learner {mobile}; "
              f"check-in session {'created' if info['created_session'] else 'from the demo'} "
              f"({info['checkin_code']})", file=sys.stderr)
        with serve(workdir, free_port()) as base:
            yield DemoSite(base=base, workdir=workdir, mobile=mobile, password=password, pages=info["pages"],
                           checkin_code=info["checkin_code"], checkin_session_id=info["checkin_session_id"],
                           rotation=info["rotation"])
    finally:
        if keep:
            print(f"kept {workdir}", file=sys.stderr)
        else:
            shutil.rmtree(workdir, ignore_errors=True)


def login_session(site: DemoSite):
    """A ``requests.Session`` signed in as the demo learner through the real login form."""
    import requests

    http = requests.Session()
    http.headers.update({"User-Agent": USER_AGENT, "Accept-Encoding": ACCEPT_ENCODING,
                         "Accept-Language": "zh-CN,zh;q=0.9"})
    form = http.get(site.url("/account/login"), timeout=10).text
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', form).group(1)
    response = http.post(site.url("/account/login"), data={"csrf_token": token, "mobile": site.mobile,
                                                          "password": site.password}, allow_redirects=False,
                         timeout=10)
    if response.status_code != 302:
        raise SystemExit(f"login failed: HTTP {response.status_code}")
    return http


def page_path(site: DemoSite, path: str) -> str:
    """Resolve the ``<checkin>`` placeholder to a check-in URL with a token valid now."""
    return site.checkin_path() if path == "<checkin>" else path


# --- what a page references -----------------------------------------------------------------

@dataclass
class Reference:
    """A subresource named by a page: URL, kind and whether it blocks the first render."""

    url: str
    kind: str
    render_blocking: bool = False


class _RefParser(HTMLParser):
    """Collects the subresources of an HTML page, with the render-blocking ones marked."""

    def __init__(self, base: str):
        super().__init__(convert_charrefs=True)
        self.base = base
        self.in_head = True
        self.refs: list[Reference] = []

    def handle_starttag(self, tag, attrs):
        a = {k: (v or "") for k, v in attrs}
        if tag == "body":
            self.in_head = False
        if tag == "link" and a.get("href"):
            rel = a.get("rel", "").lower().split()
            if "stylesheet" in rel:
                media = a.get("media", "all").strip().lower()
                blocking = media in ("", "all", "screen") and "disabled" not in a
                self.refs.append(Reference(urljoin(self.base, a["href"]), "css", blocking))
            elif "icon" in rel or "apple-touch-icon" in rel:
                self.refs.append(Reference(urljoin(self.base, a["href"]), "icon"))
            elif "preload" in rel or "modulepreload" in rel:
                self.refs.append(Reference(urljoin(self.base, a["href"]), a.get("as", "preload")))
            elif "manifest" in rel:
                self.refs.append(Reference(urljoin(self.base, a["href"]), "manifest"))
        elif tag == "script" and a.get("src"):
            deferred = "async" in a or "defer" in a or a.get("type") == "module"
            self.refs.append(Reference(urljoin(self.base, a["src"]), "js", self.in_head and not deferred))
        elif tag in ("img", "source", "video", "audio", "iframe", "embed") and (a.get("src") or a.get("poster")):
            self.refs.append(Reference(urljoin(self.base, a.get("src") or a["poster"]), tag))
        elif tag == "object" and a.get("data"):
            self.refs.append(Reference(urljoin(self.base, a["data"]), tag))

    def handle_endtag(self, tag):
        if tag == "head":
            self.in_head = False


CSS_URL = re.compile(r"""url\(\s*['"]?([^'")]+)['"]?\s*\)|@import\s+['"]([^'"]+)['"]""")


def html_references(html: str, base: str) -> list[Reference]:
    """Subresources an HTML page references (in document order, duplicates kept once)."""
    parser = _RefParser(base)
    parser.feed(html)
    seen, refs = set(), []
    for ref in parser.refs:
        if ref.url not in seen:
            seen.add(ref.url)
            refs.append(ref)
    return refs


def css_references(css: str, base: str) -> list[Reference]:
    """Fonts, images and imported stylesheets that a stylesheet references (``data:`` skipped)."""
    refs = []
    for match in CSS_URL.finditer(css):
        target = (match.group(1) or match.group(2)).strip()
        if not target.startswith("data:"):
            refs.append(Reference(urljoin(base, target), "css" if match.group(2) else "css-url"))
    return refs


def same_origin(url: str, base: str) -> bool:
    """True when ``url`` has the scheme, host and port of ``base``."""
    a, b = urlsplit(url), urlsplit(base)
    return (a.scheme, a.netloc) == (b.scheme, b.netloc)


# --- method 1: HTTP client ------------------------------------------------------------------

@dataclass
class Fetched:
    """One response: compressed (as sent) and raw body bytes, headers bytes, encoding, cache policy."""

    url: str
    status: int
    sent: int
    raw: int
    header_bytes: int
    encoding: str
    cache_control: str
    etag: str | None
    location: str | None
    body: bytes


def fetch(http, url: str, headers: dict | None = None) -> Fetched:
    """GET ``url`` without following redirects; bodies measured as sent on the wire."""
    response = http.get(url, headers=headers or {}, stream=True, allow_redirects=False, timeout=20)
    sent_body = response.raw.read(decode_content=False)
    encoding = response.headers.get("Content-Encoding", "")
    body = _decode(sent_body, encoding)
    header_bytes = len(f"HTTP/1.1 {response.status_code} {response.reason}\r\n") + sum(
        len(k) + len(v) + 4 for k, v in response.raw.headers.items()) + 2
    return Fetched(url, response.status_code, len(sent_body), len(body), header_bytes, encoding,
                   response.headers.get("Cache-Control", ""), response.headers.get("ETag"),
                   response.headers.get("Location"), body)


def _decode(data: bytes, encoding: str) -> bytes:
    import gzip
    import zlib

    if encoding == "gzip":
        return gzip.decompress(data)
    if encoding == "br":
        import brotli

        return brotli.decompress(data)
    if encoding == "deflate":
        return zlib.decompress(data)
    if encoding == "zstd":
        import zstandard  # only if the server ever sends zstd

        return zstandard.ZstdDecompressor().decompress(data)
    return data


def _max_age(cache_control: str) -> int:
    match = re.search(r"max-age=(\d+)", cache_control)
    return int(match.group(1)) if match and "no-store" not in cache_control and "no-cache" not in cache_control else 0


@dataclass
class PageWeight:
    """The weight of one page by one method (bytes; ``first``/``repeat`` include headers)."""

    label: str
    path: str
    status: int = 0
    html_raw: int = 0
    html_sent: int = 0
    sub_sent: int = 0
    sub_count: int = 0
    first: int = 0
    repeat: int = 0
    third_party: list[str] = field(default_factory=list)
    render_blocking: list[str] = field(default_factory=list)
    resources: list[dict] = field(default_factory=list)
    repeat_resources: list[dict] = field(default_factory=list)
    repeat_new_cookie: int = 0
    revalidated: list[str] = field(default_factory=list)


def measure_http(site: DemoSite, http) -> list[PageWeight]:
    """Method 1: fetch each page and its same-origin subresources with ``requests``."""
    results = []
    for label, path in site.pages.items():
        url = site.url(page_path(site, path))
        weight = PageWeight(label, path if path != "<checkin>" else site.checkin_path(with_token=False) + "?t=…")
        hops = []
        for _ in range(5):  # follow redirects by hand, counting each hop
            doc = fetch(http, url)
            hops.append(doc)
            if doc.status in (301, 302, 303, 307, 308):
                url = urljoin(url, doc.location)
                continue
            break
        weight.status = doc.status
        weight.html_raw, weight.html_sent = doc.raw, doc.sent
        redirect_bytes = sum(h.sent + h.header_bytes for h in hops[:-1])
        first = redirect_bytes + doc.sent + doc.header_bytes
        repeat = redirect_bytes + doc.sent + doc.header_bytes  # HTML is no-store / no-cache
        refs = html_references(doc.body.decode("utf-8", "replace"), url)
        queue, seen = list(refs), set()
        while queue:
            ref = queue.pop(0)
            if ref.url in seen:
                continue
            seen.add(ref.url)
            if ref.render_blocking:
                weight.render_blocking.append(_short(ref.url, site.base))
            if not same_origin(ref.url, site.base):
                weight.third_party.append(ref.url)
                continue
            res = fetch(http, ref.url)
            weight.sub_sent += res.sent
            weight.sub_count += 1
            first += res.sent + res.header_bytes
            if _max_age(res.cache_control) == 0:  # revalidate: 304 with headers only when the ETag matches
                again = fetch(http, ref.url, {"If-None-Match": res.etag} if res.etag else None)
                repeat += again.sent + again.header_bytes
            weight.resources.append({"url": _short(ref.url, site.base), "kind": ref.kind, "status": res.status,
                                     "sent": res.sent, "raw": res.raw, "encoding": res.encoding,
                                     "cache_control": res.cache_control})
            if ref.kind == "css" and res.status == 200:
                queue.extend(css_references(res.body.decode("utf-8", "replace"), ref.url))
        weight.first, weight.repeat = first, repeat
        results.append(weight)
    return results


def _short(url: str, base: str) -> str:
    return url[len(base):] if url.startswith(base) else url


# --- method 2: Chromium ----------------------------------------------------------------------

class _Recorder:
    """Records one navigation's responses through the DevTools protocol."""

    def __init__(self, cdp):
        self.requests: dict[str, dict] = {}
        cdp.on("Network.requestWillBeSent", self._sent)
        cdp.on("Network.responseReceived", self._response)
        cdp.on("Network.loadingFinished", self._finished)
        cdp.on("Network.requestServedFromCache", self._cached)
        cdp.send("Network.enable")

    def _sent(self, event):
        entry = self.requests.setdefault(event["requestId"], {"bytes": 0, "cached": False, "hops": 0})
        if event.get("redirectResponse"):  # the same id goes on after a redirect
            entry["bytes"] += event["redirectResponse"].get("encodedDataLength", 0)
            entry["hops"] += 1
        entry.update(url=event["request"]["url"], type=event.get("type", ""))

    def _response(self, event):
        entry = self.requests.setdefault(event["requestId"], {"bytes": 0, "cached": False, "hops": 0})
        response = event["response"]
        entry.update(status=response["status"], encoding=_header(response.get("headers", {}), "content-encoding"),
                     cached=entry["cached"] or response.get("fromDiskCache", False))

    def _finished(self, event):
        entry = self.requests.setdefault(event["requestId"], {"bytes": 0, "cached": False, "hops": 0})
        entry["bytes"] += event.get("encodedDataLength", 0)
        entry["done"] = True

    def _cached(self, event):
        self.requests.setdefault(event["requestId"], {"bytes": 0, "cached": False, "hops": 0})["cached"] = True

    def reset(self):
        self.requests = {}


def _header(headers: dict, name: str) -> str:
    return next((v for k, v in headers.items() if k.lower() == name), "")


def _visit(pw, profile: Path, cookies: list[dict], url: str, *, change_cookie_first: str | None = None):
    """Start Chromium on ``profile`` (its disk cache survives between visits; the session cookie,
    which has no expiry, is put back by hand), load ``url``, close the browser.

    ``change_cookie_first``: a URL fetched before the visit, through the browser's own cookie jar
    but not its HTTP cache, so that the session cookie changes (as after any flash message).
    Returns (requests recorded, main response status, console errors, cookies afterwards).
    """
    context = pw.chromium.launch_persistent_context(
        str(profile), executable_path=CHROMIUM, args=CHROMIUM_ARGS, viewport=PHONE, device_scale_factor=2,
        is_mobile=True, has_touch=True, locale="zh-CN", user_agent=USER_AGENT)
    try:
        context.clear_cookies()
        context.add_cookies(cookies)
        if change_cookie_first:
            context.request.get(change_cookie_first, max_redirects=0)
        page = context.pages[0] if context.pages else context.new_page()
        errors: list[str] = []
        page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
        recorder = _Recorder(context.new_cdp_session(page))
        response = page.goto(url, wait_until="load")
        page.wait_for_load_state("networkidle")
        return dict(recorder.requests), (response.status if response else 0), errors, context.cookies()
    finally:
        context.close()


def _entries(requests: dict) -> list[dict]:
    return [e for e in requests.values() if "url" in e and not e["url"].startswith("data:")]


def _transferred(requests: dict) -> int:
    return sum(e["bytes"] for e in _entries(requests) if not e.get("cached"))


def measure_chromium(site: DemoSite) -> list[PageWeight]:
    """Method 2: Chromium loads each page three times, restarting between loads with its profile kept:
    empty cache (first visit); again (repeat); again after the session cookie changed (repeat, new
    cookie: what follows any flash message, a scan or a language switch)."""
    os.environ.setdefault("PLAYWRIGHT_BROWSERS_PATH", "0")
    os.environ.setdefault("PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD", "1")
    from playwright.sync_api import sync_playwright

    results = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            context = browser.new_context(viewport=PHONE, is_mobile=True, locale="zh-CN", user_agent=USER_AGENT)
            page = context.new_page()
            page.goto(site.url("/account/login"))
            page.fill("input[name=mobile]", site.mobile)
            page.fill("input[name=password]", site.password)
            with page.expect_navigation():
                page.click("form button[type=submit]")
            signed_in = context.cookies()
            context.close()
        finally:
            browser.close()
        for label, path in site.pages.items():
            with tempfile.TemporaryDirectory(prefix="academy-chromium-") as profile:
                first, status, errors, cookies = _visit(pw, Path(profile), signed_in, site.url(page_path(site, path)))
                repeat, _, more, cookies = _visit(pw, Path(profile), cookies, site.url(page_path(site, path)))
                changed, _, most, _ = _visit(pw, Path(profile), cookies, site.url(page_path(site, path)),
                                             change_cookie_first=site.url(site.checkin_path()))
            shown = path if path != "<checkin>" else site.checkin_path(with_token=False) + "?t=…"
            weight = PageWeight(label, shown, status=status)
            for entry in _entries(first):
                if not same_origin(entry["url"], site.base):
                    weight.third_party.append(entry["url"])
                if entry.get("type") != "Document":
                    weight.sub_count += 1
                weight.resources.append({"url": _short(entry["url"], site.base), "type": entry.get("type"),
                                         "status": entry.get("status"), "transferred": entry["bytes"],
                                         "encoding": entry.get("encoding", ""), "redirects": entry["hops"]})
            for visit, entries in (("repeat", repeat), ("new cookie", changed)):
                for entry in _entries(entries):
                    weight.repeat_resources.append({
                        "visit": visit, "url": _short(entry["url"], site.base), "status": entry.get("status"),
                        "transferred": 0 if entry.get("cached") else entry["bytes"],
                        "from_cache": bool(entry.get("cached"))})
            weight.first, weight.repeat, weight.repeat_new_cookie = (
                _transferred(first), _transferred(repeat), _transferred(changed))
            weight.revalidated = sorted({_short(e["url"], site.base) for e in _entries(changed)
                                         if e.get("type") != "Document" and not e.get("cached")})
            weight.render_blocking = [f"console error: {e}" for e in errors + more + most]
            results.append(weight)
    return results


# --- report ---------------------------------------------------------------------------------

def kb(n: int) -> str:
    """Bytes as KB (1 KB = 1024 bytes) with one decimal."""
    return f"{n / 1024:.1f}"


def print_http_table(rows: list[PageWeight]) -> None:
    """The HTTP client's table (bodies as sent; first/repeat include response headers)."""
    print("\nHTTP client (requests, Accept-Encoding: gzip, deflate, br, zstd) — KB = 1024 bytes")
    print(f"{'page':<20}{'status':>7}{'HTML raw':>10}{'HTML sent':>11}{'sub sent (n)':>14}"
          f"{'first visit':>13}{'repeat':>8}{'≤30KB':>7}  third-party / render-blocking (same origin unless 3rd)")
    for r in rows:
        flags = ", ".join([f"3rd: {u}" for u in r.third_party] + [f"blocking: {u}" for u in r.render_blocking])
        flags = ("3rd-party: none; " if not r.third_party else "") + flags
        print(f"{r.label:<20}{r.status:>7}{kb(r.html_raw):>10}{kb(r.html_sent):>11}"
              f"{kb(r.sub_sent) + f' ({r.sub_count})':>14}{kb(r.first):>13}{kb(r.repeat):>8}"
              f"{'yes' if r.first <= BUDGET_BYTES else 'NO':>7}  {flags or '-'}")
    print("  sent = body bytes as compressed on the wire; first/repeat = headers + bodies of every response "
          "(repeat: the HTML again, fresh static files from the cache)")


def print_chromium_table(rows: list[PageWeight]) -> None:
    """Chromium's table (DevTools transferred bytes)."""
    print("\nChromium (DevTools encodedDataLength: headers + compressed body) — KB = 1024 bytes")
    print(f"{'page':<20}{'status':>7}{'requests':>10}{'first visit':>13}{'repeat':>8}{'new cookie':>12}{'≤30KB':>7}"
          "  third-party / fetched again after the cookie changed / console errors")
    for r in rows:
        flags = ", ".join([f"3rd: {u}" for u in r.third_party] + [f"again: {u}" for u in r.revalidated]
                          + r.render_blocking)
        print(f"{r.label:<20}{r.status:>7}{len(r.resources):>10}{kb(r.first):>13}{kb(r.repeat):>8}"
              f"{kb(r.repeat_new_cookie):>12}{'yes' if r.first <= BUDGET_BYTES else 'NO':>7}  {flags or '-'}")
    print("  first = empty cache; repeat = browser restarted, same profile (disk cache; static files: "
          "Cache-Control max-age 1 week); new cookie = the same after the session cookie changed")


def main(argv: list[str] | None = None) -> None:
    """Parse the options, build and serve the demo, print both tables."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--no-browser", action="store_true", help="only the HTTP-client measurement")
    parser.add_argument("--keep", action="store_true", help="keep the temp directory (database, gunicorn.log)")
    parser.add_argument("--json", type=Path, help="also write every figure (and each resource) to this file")
    parser.add_argument("--resources", action="store_true", help="list each page's resources")
    args = parser.parse_args(argv)
    with demo_site(keep=args.keep) as site:
        http_rows = measure_http(site, login_session(site))
        browser_rows = [] if args.no_browser else measure_chromium(site)
    print_http_table(http_rows)
    if browser_rows:
        print_chromium_table(browser_rows)
    if args.resources:
        for rows, name in ((http_rows, "HTTP client"), (browser_rows, "Chromium")):
            for r in rows:
                print(f"\n[{name}] {r.label} {r.path}")
                for res in r.resources:
                    print("   ", json.dumps(res, ensure_ascii=False))
                for res in r.repeat_resources:
                    print("    repeat:", json.dumps(res, ensure_ascii=False))
    if args.json:
        from dataclasses import asdict

        args.json.write_text(json.dumps({"budget_bytes": BUDGET_BYTES, "http": [asdict(r) for r in http_rows],
                                         "chromium": [asdict(r) for r in browser_rows]}, ensure_ascii=False,
                                        indent=1))


if __name__ == "__main__":
    main()
