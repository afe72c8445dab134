"""Background print jobs: the embedded worker thread, the RQ path with a real Redis server,
failures recorded on the job, and stalled jobs restarted from the page."""

from __future__ import annotations

import shutil
import signal
import socket
import subprocess
import time
from datetime import timedelta

import pytest
from pypdf import PdfReader
from sqlalchemy import select

from academy.accounts.models import User
from academy.certificates import jobs, services
from academy.certificates.models import Certificate, PrintJob
from academy.common.timeutil import now_utc
from academy.extensions import db
from tests.certificates.builders import NOW, graduating_class
from tests.conftest import login, post


def queued_job(n: int = 2, output: str = "pdf") -> PrintJob:
    cls = graduating_class(n)
    certificates = services.issue_for_cohort(cls.cohort, actor=cls.admin, now=NOW).issued
    job = services.create_print_job(certificates, actor=cls.admin, output=output, label="测试", cohort=cls.cohort)
    db.session.commit()
    return job


def finished(job_id: int) -> PrintJob:
    db.session.expire_all()
    return db.session.get(PrintJob, job_id)


def test_the_embedded_worker_thread_renders_a_queued_job(app):
    job = queued_job(2)
    assert jobs.enqueue(job) == "thread"
    jobs.embedded_worker(app).join()
    job = finished(job.id)
    assert job.status == "done" and job.done == job.total == 2 and job.output_sha256
    path = app.config["STORAGE_PATH"] + "/" + job.output_path
    assert len(PdfReader(path).pages) == 2


def test_a_failing_job_is_marked_failed_with_the_reason(app, tmp_path, monkeypatch):
    job = queued_job(1)
    monkeypatch.setitem(app.config, "CERTIFICATE_SYSTEM_FONT_DIR", str(tmp_path))
    monkeypatch.setitem(app.config, "CERTIFICATE_FONT_DIR", str(tmp_path / "cache"))
    jobs.run_print_job(job.id)
    job = finished(job.id)
    assert job.status == "failed" and "fonts-noto-cjk" in job.error


def render_chunk_failing_on_page_three(job):
    """Stands in for ``pdf._render_chunk`` in the worker processes (importable, so it pickles)."""
    from academy.certificates import pdf, render_worker

    if job.first_page <= 3 <= job.last_page:
        raise pdf.UnsupportedCharacter("姓名", "李\U00030001明", "\U00030001")  # does not pickle as is
    return render_worker.render_chunk(job)


def test_a_chunk_failing_in_a_worker_process_fails_the_job_naming_its_pages(app, monkeypatch):
    from academy.certificates import pdf

    monkeypatch.setitem(app.config, "CERTIFICATE_RENDER_PROCESSES", 2)
    monkeypatch.setitem(app.config, "CERTIFICATE_CHUNK_PAGES", 2)
    monkeypatch.setattr(pdf, "_render_chunk", render_chunk_failing_on_page_three)
    job = queued_job(6)  # chunks of pages 1–2, 3–4, 5, 6
    jobs.run_print_job(job.id)
    job = finished(job.id)
    assert job.status == "failed" and job.output_path is None
    assert job.error.startswith("第 3–4 页（证书 ") and "生成失败：UnsupportedCharacter" in job.error
    assert "U+30001" in job.error


def test_a_stalled_job_can_be_restarted_from_its_page(client, app, monkeypatch):
    monkeypatch.setitem(app.config, "CERTIFICATE_JOBS_INLINE", True)
    job = queued_job(1)
    job.status, job.heartbeat_at = "running", now_utc() - timedelta(minutes=30)
    db.session.commit()
    login(client, db.session.get(User, job.created_by_id))
    page = client.get(f"/certificates/jobs/{job.id}").get_data(as_text=True)
    assert "长时间没有进展" in page and "重新开始" in page
    post(client, f"/certificates/jobs/{job.id}/retry")
    assert finished(job.id).status == "done"


@pytest.fixture
def redis_url(tmp_path):
    """A private redis-server on a free port for this test (stopped afterwards)."""
    server = shutil.which("redis-server")
    assert server, "redis-server not found: apt-get install redis-server"
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    process = subprocess.Popen([server, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                                "--appendonly", "no", "--dir", str(tmp_path)], stdout=subprocess.DEVNULL)
    try:
        for _ in range(100):
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", port)) == 0:
                    break
            time.sleep(0.05)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_with_redis_the_job_goes_to_the_rq_queue_and_a_worker_runs_it(app, redis_url, monkeypatch):
    from redis import Redis
    from rq import Queue, SimpleWorker

    monkeypatch.setitem(app.config, "REDIS_URL", redis_url)
    job = queued_job(2, output="zip")
    assert jobs.enqueue(job) == "rq"
    connection = Redis.from_url(redis_url)
    queue = Queue(jobs.QUEUE_NAME, connection=connection)
    assert queue.count == 1
    job_id = job.id
    # rq installs SIGINT/SIGTERM handlers while it works; put pytest's back afterwards so a later
    # SIGTERM still ends the run instead of raising StopRequested inside another test
    saved = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        SimpleWorker([queue], connection=connection).work(burst=True)
    finally:
        for sig, handler in saved.items():
            signal.signal(sig, handler)
    job = finished(job_id)
    assert job.status == "done" and job.output_path.endswith(".zip")
    stored = db.session.scalars(select(Certificate.pdf_sha256).where(Certificate.id.in_(job.certificate_ids))).all()
    assert len(stored) == 2 and all(stored)
