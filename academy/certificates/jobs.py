"""Background batch printing: one merged PDF (or a ZIP of the individual files) per print job.

Where a job runs:

* embedded default (no ``REDIS_URL``): a single worker thread inside the app process takes job
  ids from an in-process queue — one render at a time, so memory stays bounded;
* with ``REDIS_URL``: the job is put on the RQ queue ``certificates`` and run by
  ``flask --app academy worker`` (``certificates/cli.py``);
* ``CERTIFICATE_JOBS_INLINE = True`` (tests, CLI): run at once in the caller.

The job row (``PrintJob``) holds the state and the progress, so the progress page survives a
reload; ``heartbeat_at`` moves after every chunk, so a job whose worker died can be seen as
stale and restarted. Each job commits its own progress in its own session.

A PDF job's chunks render in ``CERTIFICATE_RENDER_PROCESSES`` worker processes (default 2, see
``pdf.render_batch``): started per job from a clean fork server, they receive only HTML text,
never the job's database session; the job process merges the chunks in order and records the
progress. Each RQ worker (or the embedded thread) still runs one job at a time, so memory
stays bounded: the job's process plus about one chunk's worth per render process.
"""

from __future__ import annotations

import logging
import queue
import threading
import zipfile
from datetime import timedelta
from pathlib import Path

from flask import Flask, current_app, has_app_context
from sqlalchemy import update

from academy.certificates import pdf as pdf_mod
from academy.certificates.models import PrintJob, PrintJobStatus
from academy.common.timeutil import now_utc
from academy.extensions import db

log = logging.getLogger(__name__)

QUEUE_NAME = "certificates"
STALE_AFTER = timedelta(minutes=10)


def is_stale(job: PrintJob, *, now=None) -> bool:
    """True when a job has not moved for ``STALE_AFTER``: running without progress (its worker
    died) or still queued (the process holding the in-memory queue restarted)."""
    now = now or now_utc()
    beat = job.heartbeat_at or job.started_at or job.created_at
    waiting = job.status in (PrintJobStatus.RUNNING, PrintJobStatus.QUEUED)
    return waiting and beat is not None and now - beat > STALE_AFTER


def _progress(job_id: int, done: int) -> None:
    """Record progress in its own short transaction (the job's session and objects are untouched)."""
    with db.engine.begin() as conn:
        conn.execute(update(PrintJob).where(PrintJob.id == job_id).values(done=done, heartbeat_at=now_utc()))


def _output_path(job: PrintJob) -> str:
    return f"certificates/batches/job-{job.id}.{job.output}"


def run_print_job(job_id: int) -> None:
    """Render print job ``job_id`` (queued or restarted) and store its output; commits as it goes.

    PDF: the certificates, in the job's order, as whole WeasyPrint documents of at most
    ``CERTIFICATE_CHUNK_PAGES`` pages (rendered in ``CERTIFICATE_RENDER_PROCESSES`` worker
    processes) concatenated with pypdf; a chunk that fails names its pages in the job's error.
    ZIP: each certificate's stored PDF (rendered and stored on first use, byte-identical
    afterwards). Any error marks the job FAILED with the message; nothing is raised.
    """
    from academy.certificates import services

    job = db.session.get(PrintJob, job_id)
    if job is None or job.status in (PrintJobStatus.DONE,):
        return
    job.status, job.started_at, job.heartbeat_at, job.done, job.error = (
        PrintJobStatus.RUNNING, now_utc(), now_utc(), 0, None)
    db.session.commit()
    try:
        certificates = services.certificates_in_order(job.certificate_ids)
        relative = _output_path(job)
        target = Path(current_app.config["STORAGE_PATH"]) / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        base_url = pdf_mod.verification_base_url()
        if job.output == "zip":
            tmp = target.with_name(target.name + ".tmp")
            with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_STORED) as archive:
                for n, certificate in enumerate(certificates, start=1):
                    data = services.ensure_pdf(certificate, base_url=base_url)
                    archive.writestr(f"{n:04d}-{pdf_mod.safe_filename(certificate.serial)}.pdf", data)
                    db.session.commit()
                    _progress(job.id, n)
            tmp.replace(target)
        else:
            data = pdf_mod.render_batch(certificates, base_url=base_url, progress=lambda n: _progress(job.id, n))
            tmp = target.with_name(target.name + ".tmp")
            tmp.write_bytes(data)
            tmp.replace(target)
        digest = pdf_mod.sha256_hex(target.read_bytes())
        db.session.refresh(job)
        job.output_path, job.output_sha256 = relative, digest
        job.status, job.done, job.finished_at = PrintJobStatus.DONE, len(certificates), now_utc()
        db.session.commit()
    except Exception as exc:  # noqa: BLE001 - a failed job is recorded, never lost
        log.exception("certificate print job %s failed", job_id)
        db.session.rollback()
        job = db.session.get(PrintJob, job_id)
        job.status, job.error, job.finished_at = PrintJobStatus.FAILED, str(exc)[:1000], now_utc()
        db.session.commit()


def run_print_job_rq(job_id: int) -> None:
    """Entry point for the RQ worker (``flask --app academy worker``).

    The worker command pushes an app context before forking its work-horse; the horse drops
    the connections it inherited and runs the job. Without a context (another RQ set-up) an
    app is created from the environment.
    """
    if has_app_context():
        db.engine.dispose(close=False)
        run_print_job(job_id)
        db.session.remove()
        return
    from academy import create_app

    with create_app().app_context():
        run_print_job(job_id)


class EmbeddedWorker:
    """One daemon thread per app that runs queued print jobs one after another."""

    def __init__(self, app: Flask):
        self.app = app
        self.queue: queue.Queue[int] = queue.Queue()
        self.thread = threading.Thread(target=self._loop, name="certificate-jobs", daemon=True)
        self.thread.start()

    def _loop(self) -> None:
        while True:
            job_id = self.queue.get()
            try:
                with self.app.app_context():
                    run_print_job(job_id)
                    db.session.remove()
            except Exception:  # noqa: BLE001 - keep the worker alive for the next job
                log.exception("embedded certificate worker: job %s", job_id)
            finally:
                self.queue.task_done()

    def join(self) -> None:
        """Wait until every queued job has finished (tests)."""
        self.queue.join()


_workers_lock = threading.Lock()


def embedded_worker(app: Flask) -> EmbeddedWorker:
    """The app's embedded worker thread (started on first use)."""
    with _workers_lock:
        worker = app.extensions.get("certificate_worker")
        if worker is None:
            worker = app.extensions["certificate_worker"] = EmbeddedWorker(app)
        return worker


def enqueue(job: PrintJob) -> str:
    """Start ``job`` (already committed) where jobs run; returns "rq", "inline" or "thread"."""
    app = current_app._get_current_object()
    if app.config.get("REDIS_URL"):
        from redis import Redis
        from rq import Queue

        Queue(QUEUE_NAME, connection=Redis.from_url(app.config["REDIS_URL"])).enqueue(
            run_print_job_rq, job.id, job_timeout=3600, description=f"certificate print job {job.id}")
        return "rq"
    if app.config.get("CERTIFICATE_JOBS_INLINE"):
        run_print_job(job.id)
        return "inline"
    embedded_worker(app).queue.put(job.id)
    return "thread"
