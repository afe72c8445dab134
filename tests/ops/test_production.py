"""Production shape: gunicorn with two workers on PostgreSQL and Redis.

Runs in the PostgreSQL pass of ``make test`` (marked ``production``; the SQLite pass
deselects it explicitly). Starts a real gunicorn from gunicorn.conf.py, upgrades a fresh
database with the migrations, signs in on one worker and makes a CSRF-protected POST that
lands on another, and runs a certificate batch through an RQ worker (``flask --app academy
worker --burst``): the web process enqueues the job on Redis, the worker renders it, the web
process serves the finished PDF. Static files come compressed and cacheable.

Redis: ``TEST_REDIS_URL`` when set, else a private redis-server on a free port (so that a worker
never takes another test run's jobs from a shared queue).
"""

from __future__ import annotations

import gzip
import http.cookiejar
import io
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

pytestmark = pytest.mark.production
ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _get(url: str, opener=None, **kwargs):
    """GET (or POST with ``data=``) a URL of the local test server."""
    request = urllib.request.Request(url, **kwargs)  # noqa: S310 - http://127.0.0.1 of this test only
    return (opener or urllib.request.build_opener()).open(request, timeout=30)


@pytest.fixture(scope="module")
def redis_url(tmp_path_factory):
    """TEST_REDIS_URL, or a private redis-server on a free port (stopped afterwards)."""
    if os.environ.get("TEST_REDIS_URL"):
        yield os.environ["TEST_REDIS_URL"]
        return
    server = shutil.which("redis-server")
    assert server, "redis-server not found: apt-get install redis-server (make test installs it)"
    port = _free_port()
    process = subprocess.Popen([server, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                                "--dir", str(tmp_path_factory.mktemp("redis"))], stdout=subprocess.DEVNULL)
    try:
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.05)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        process.terminate()
        process.wait(timeout=10)


@pytest.fixture(scope="module")
def production(tmp_path_factory, redis_url):
    server = os.environ.get("TEST_DATABASE_URL")
    assert server, "the production test runs in the PostgreSQL pass (TEST_DATABASE_URL)"
    from tests.conftest import _postgres_database

    url, drop = _postgres_database(server)
    tmp = tmp_path_factory.mktemp("prod")
    env = {**os.environ, "DATABASE_URL": url, "REDIS_URL": redis_url,
           "SECRET_KEY": "production-test-secret", "ACADEMY_INSTANCE_PATH": str(tmp),
           "ACADEMY_STORAGE_PATH": str(tmp / "storage"), "ACADEMY_BASE_URL": "https://xue.example.cn",
           "ACADEMY_WORKERS": "2", "ACADEMY_LOG_LEVEL": "warning",
           # the test talks plain http to gunicorn (nginx terminates TLS in production): cookies
           # marked Secure would never come back, so switch that off here only
           "ACADEMY_SECURE_COOKIES": "0"}
    flask = [str(BIN / "flask"), "--app", "academy"]
    subprocess.run([*flask, "db", "upgrade"], env=env, cwd=ROOT, check=True, capture_output=True)
    subprocess.run([*flask, "create-admin", "--mobile", "13800009999", "--name", "运维管理员", "--password",
                    "Prod2026ok"], env=env, cwd=ROOT, check=True, capture_output=True)
    port = _free_port()
    env["ACADEMY_BIND"] = f"127.0.0.1:{port}"
    gunicorn = subprocess.Popen([str(BIN / "gunicorn"), "-c", "gunicorn.conf.py", "academy:create_app()"],
                                env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    for _ in range(100):
        try:
            _get(base + "/readyz")
            break
        except OSError:
            time.sleep(0.1)
    else:
        gunicorn.kill()
        pytest.fail("gunicorn did not start: " + gunicorn.stdout.read().decode()[-2000:])
    yield {"base": base, "env": env, "flask": flask}
    gunicorn.send_signal(signal.SIGTERM)
    gunicorn.wait(timeout=30)
    drop()


def _opener():
    jar = http.cookiejar.CookieJar()
    return urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))


def _csrf(html: str) -> str:
    match = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html)
    assert match, "no CSRF token in the page"
    return match.group(1)


def test_session_and_csrf_work_across_two_gunicorn_workers(production):
    base, browser = production["base"], _opener()
    pids: set[int] = set()
    deadline = time.monotonic() + 30  # the second worker may still be importing the app
    while len(pids) < 2 and time.monotonic() < deadline:
        with ThreadPoolExecutor(4) as pool:
            pids.update(pool.map(lambda _: json.load(_get(base + "/healthz"))["pid"], range(8)))
    assert len(pids) >= 2, "gunicorn should run two workers"

    login_page = browser.open(base + "/account/login").read().decode()
    data = urllib.parse.urlencode({"csrf_token": _csrf(login_page), "mobile": "13800009999",
                                   "password": "Prod2026ok"}).encode()
    browser.open(base + "/account/login", data=data)

    def signed_in_round(_):
        response = browser.open(base + "/account/profile")
        assert response.status == 200 and "我的资料" in response.read().decode()
        return json.load(browser.open(base + "/healthz"))["pid"]

    served_by: set[int] = set()
    deadline = time.monotonic() + 30  # which worker accepts a connection is up to the kernel: retry
    while len(served_by) < 2 and time.monotonic() < deadline:
        with ThreadPoolExecutor(4) as pool:  # concurrent requests of one session spread over both workers
            served_by.update(pool.map(signed_in_round, range(24)))
    assert len(served_by) >= 2  # the same session is honoured by every worker
    # a CSRF-protected POST with the token from a page served by whichever worker
    page = browser.open(base + "/account/profile").read().decode()
    form = urllib.parse.urlencode({"csrf_token": _csrf(page), "district": "瑞金市", "platform": "美团"}).encode()
    result = browser.open(base + "/account/profile", data=form)
    assert result.status == 200
    assert "资料已保存" in result.read().decode()
    # and without the token the POST is refused
    try:
        browser.open(base + "/account/profile", data=urllib.parse.urlencode({"district": "章贡区"}).encode())
    except urllib.error.HTTPError as exc:
        assert exc.code == 400
    else:
        pytest.fail("POST without CSRF token was accepted")
    headers = _get(base + "/courses/").headers
    assert "script-src 'self'" in headers["Content-Security-Policy"]


def _login_admin(base: str):
    browser = _opener()
    page = browser.open(base + "/account/login").read().decode()
    data = urllib.parse.urlencode({"csrf_token": _csrf(page), "mobile": "13800009999", "password": "Prod2026ok"})
    browser.open(base + "/account/login", data=data.encode())
    return browser


SEED_CLASS = """
from academy import create_app
from academy.certificates import services
from academy.extensions import db
from tests.certificates.builders import NOW, graduating_class

with create_app().app_context():
    cls = graduating_class(3, names=["买买提·艾力", "欧阳堃", "王喆"])
    issued = services.issue_for_cohort(cls.cohort, actor=cls.admin, now=NOW).issued
    db.session.commit()
    print(cls.cohort.id, len(issued))
"""


def test_a_certificate_batch_runs_through_an_rq_worker(production):
    base, env, flask = production["base"], production["env"], production["flask"]
    seeded = subprocess.run([sys.executable, "-c", SEED_CLASS], env=env, cwd=ROOT, check=True, capture_output=True,
                            text=True)
    cohort_id, issued = map(int, seeded.stdout.split()[-2:])
    assert issued == 3
    browser = _login_admin(base)
    page = browser.open(f"{base}/certificates/cohorts/{cohort_id}").read().decode()
    started = browser.open(f"{base}/certificates/cohorts/{cohort_id}/print",
                           data=urllib.parse.urlencode({"csrf_token": _csrf(page), "output": "pdf"}).encode())
    job_id = int(re.search(r"/certificates/jobs/(\d+)", started.geturl()).group(1))
    status = json.load(browser.open(f"{base}/certificates/jobs/{job_id}/status.json"))
    assert status["status"] == "queued"  # waiting on Redis: the web workers do not render it
    worker = subprocess.run([*flask, "worker", "--burst"], env=env, cwd=ROOT, capture_output=True, text=True,
                            timeout=300)
    assert worker.returncode == 0, worker.stderr[-2000:]
    status = json.load(browser.open(f"{base}/certificates/jobs/{job_id}/status.json"))
    assert status["status"] == "done" and status["done"] == status["total"] == 3, status
    pdf = browser.open(base + status["download_url"]).read()
    from pypdf import PdfReader

    assert pdf.startswith(b"%PDF") and len(PdfReader(io.BytesIO(pdf)).pages) == 3


def test_static_files_are_served_compressed_and_cacheable(production):
    response = _get(production["base"] + "/static/css/site.css", headers={"Accept-Encoding": "gzip"})
    assert response.headers["Content-Encoding"] == "gzip"
    assert response.headers["Cache-Control"] == "public, max-age=604800"
    css = gzip.decompress(response.read()).decode()
    assert ".card" in css
