"""Certificate PDFs with WeasyPrint: fonts, glyph checks, QR codes, one document per batch.

Fonts (research/perf-setup.md §1–2). The certificate CSS names Noto Serif CJK SC and Noto Sans
CJK SC explicitly and loads them with ``@font-face`` from files, never from whatever the
server's fontconfig would substitute. Debian's fonts-noto-cjk (installed by
``scripts/sysdeps.sh``) ships them as ``.ttc`` collections whose face 0 is the *Japanese*
subset: ``src: local("Noto Serif CJK SC")`` or ``url(…/NotoSerifCJK-Regular.ttc)`` both make
WeasyPrint load the whole collection and Pango then picks face 0 (checked: the embedded font
is NotoSerifCJKjp-Regular, with Japanese glyph forms). So ``prepare_fonts`` copies the SC
face (found by its PostScript name, not a hard-coded index) out of each collection once,
byte-for-byte and deterministically, into ``<instance>/fonts/``; the ``@font-face`` rules point
there. ``check_fonts`` fails with a clear message when the Debian files are missing, and warns
when libharfbuzz-subset0 is missing (without it a certificate takes 12 s instead of 0.2 s).

Glyphs. Before anything is issued or rendered, ``check_glyphs`` looks every printed character
up in the font's cmap (fontTools, cached per file) and raises ``UnsupportedCharacter`` naming
the character, instead of printing a blank box. 𠮷 (U+20BB7), 堃, 喆 and the middle dot are in
Noto CJK SC.

Rendering. Any number of certificates render as ONE WeasyPrint document (about 50 ms a page
against 330 ms per separate document); big batches are cut into chunks of at most
``CERTIFICATE_CHUNK_PAGES`` pages, concatenated with pypdf, with ``gc.collect()`` after each
chunk so memory stays bounded. With ``CERTIFICATE_RENDER_PROCESSES`` > 1 the chunks render in
that many worker processes (``concurrent.futures.ProcessPoolExecutor``, ``forkserver`` start
method: the workers never inherit the caller's database connections or threads). A worker
runs ``render_worker.py`` (no Flask, no database) on plain data only: the chunk's HTML, the
``@font-face`` CSS, the folders it may read; the caller renders the HTML, keeps the page
order and merges. Output is deterministic: no creation date but the issue date, a fixed file
identifier derived from the serials, subset font names derived from the font.
"""

from __future__ import annotations

import gc
import hashlib
import io
import logging
import math
import multiprocessing
import os
import re
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from flask import current_app
from markupsafe import Markup

from academy.certificates.render_worker import (
    STATIC_DIR,
    ChunkFailed,
    ChunkJob,
    make_fetcher,
    render_chunk,
    run_chunk,
    worker_start,
    write_pdf,
)
from academy.certificates.serials import NATIONAL_QUERY_URL, ORG_QUERY_URL, format_code
from academy.common.masking import mask_name
from academy.errors import DomainError

log = logging.getLogger(__name__)
_make_fetcher = make_fetcher
_render_chunk = render_chunk  # what the workers run; a test substitutes a failing one

SYSTEM_FONT_DIR = Path("/usr/share/fonts/opentype/noto")
FALLBACK_BASE_URL = "http://127.0.0.1:5000"
DEFAULT_CHUNK_PAGES = 50
PARALLEL_MIN_CHUNKS = 2  # worker processes only for batches of more than this many full chunks
# Modules the fork server imports once, so each worker starts warm (fork of a loaded process).
WORKER_PRELOAD = ["academy.certificates.render_worker", "weasyprint"]


@dataclass(frozen=True)
class FontFace:
    """One face the certificates use: CSS family and weight, Debian source file, PostScript name."""

    family: str
    weight: int
    source: str  # file name under SYSTEM_FONT_DIR
    postscript: str  # face to take out of the collection


FACES = (
    FontFace("Noto Serif CJK SC", 400, "NotoSerifCJK-Regular.ttc", "NotoSerifCJKsc-Regular"),
    FontFace("Noto Serif CJK SC", 700, "NotoSerifCJK-Bold.ttc", "NotoSerifCJKsc-Bold"),
    FontFace("Noto Sans CJK SC", 400, "NotoSansCJK-Regular.ttc", "NotoSansCJKsc-Regular"),
)
FONT_PACKAGE_HINT = "请以 root 运行 scripts/sysdeps.sh（apt-get install fonts-noto-cjk libharfbuzz-subset0）"


class CertificateFontError(DomainError):
    """The certificate fonts are not installed or cannot be prepared."""


class CertificateRenderError(DomainError):
    """Part of a batch could not be rendered; the message names the pages and the cause."""


class UnsupportedCharacter(DomainError):
    """A printed value holds a character the certificate font cannot draw."""

    def __init__(self, field: str, value: str, char: str):
        self.field, self.value, self.char = field, value, char
        super().__init__(
            f"{field}“{value}”中的“{char}”（U+{ord(char):04X}）证书字体 Noto Serif CJK SC 无法显示，"
            f"印出来会是空白方框，因此不能发证。请核对{field}，或联系管理员处理。"
        )


# --- fonts --------------------------------------------------------------------------------


def font_cache_dir() -> Path:
    """Where the extracted SC faces live: ``CERTIFICATE_FONT_DIR`` or ``<instance>/fonts``."""
    configured = current_app.config.get("CERTIFICATE_FONT_DIR")
    if configured:
        return Path(configured)
    return Path(current_app.config.get("INSTANCE_PATH") or current_app.instance_path) / "fonts"


def harfbuzz_subset_available() -> bool:
    """True when WeasyPrint found libharfbuzz-subset (fast font subsetting)."""
    from weasyprint.text.ffi import harfbuzz_subset

    return harfbuzz_subset is not None


_prepare_lock = threading.Lock()


@lru_cache(maxsize=4)
def _prepared(cache_dir: str, system_dir: str) -> tuple[tuple[FontFace, str], ...]:
    from fontTools.ttLib import TTCollection, TTFont

    out = []
    target_dir = Path(cache_dir)
    for face in FACES:
        source = Path(system_dir) / face.source
        if not source.exists():
            raise CertificateFontError(f"证书字体文件缺失：{source}。{FONT_PACKAGE_HINT}")
        target = target_dir / f"{face.postscript}.otf"
        stamp = f"{source.stat().st_size}"
        marker = target.with_suffix(".src")
        if not target.exists() or not marker.exists() or marker.read_text() != stamp:
            target_dir.mkdir(parents=True, exist_ok=True)
            collection = TTCollection(str(source), lazy=True)
            index = next((i for i, f in enumerate(collection.fonts)
                          if f["name"].getDebugName(6) == face.postscript), None)
            collection.close()
            if index is None:
                raise CertificateFontError(f"{source} 中没有 {face.postscript} 字形。{FONT_PACKAGE_HINT}")
            font = TTFont(str(source), fontNumber=index, lazy=True, recalcTimestamp=False, recalcBBoxes=False)
            tmp = target.with_suffix(f".tmp{os.getpid()}-{threading.get_ident()}")
            font.save(str(tmp))
            font.close()
            os.replace(tmp, target)
            marker.write_text(stamp)
        out.append((face, str(target)))
    return tuple(out)


def prepare_fonts() -> tuple[tuple[FontFace, str], ...]:
    """Check the Debian font files and extract the SC faces once; return (face, path) pairs.

    Raises ``CertificateFontError`` (with the install command) when fonts-noto-cjk is missing.
    """
    system_dir = current_app.config.get("CERTIFICATE_SYSTEM_FONT_DIR") or str(SYSTEM_FONT_DIR)
    with _prepare_lock:
        faces = _prepared(str(font_cache_dir()), str(system_dir))
        if not all(os.path.exists(path) for _, path in faces):  # extracted copies deleted meanwhile
            _prepared.cache_clear()
            faces = _prepared(str(font_cache_dir()), str(system_dir))
        return faces


def check_fonts() -> list[str]:
    """Pre-render check: fonts present and prepared; returns warnings (e.g. no HarfBuzz-Subset).

    Raises ``CertificateFontError`` when the fonts cannot be used at all.
    """
    prepare_fonts()
    warnings = []
    if not harfbuzz_subset_available():
        warnings.append("缺少 libharfbuzz-subset0：每张证书会慢到约 12 秒。" + FONT_PACKAGE_HINT)
    return warnings


def startup_check(app) -> None:
    """At start-up, log an error naming the install command when the Debian font files are missing.

    Cheap (three ``stat`` calls, no WeasyPrint import); the full check runs before each render.
    """
    system_dir = Path(app.config.get("CERTIFICATE_SYSTEM_FONT_DIR") or SYSTEM_FONT_DIR)
    missing = [face.source for face in FACES if not (system_dir / face.source).exists()]
    if missing:
        app.logger.error("certificate fonts missing in %s: %s. %s", system_dir, ", ".join(missing),
                         FONT_PACKAGE_HINT)


def font_face_css() -> str:
    """The ``@font-face`` rules naming each face's extracted file (``file://`` URL)."""
    rules = []
    for face, path in prepare_fonts():
        rules.append(
            f'@font-face {{ font-family: "{face.family}"; font-weight: {face.weight}; font-style: normal; '
            f'src: url("{Path(path).as_uri()}"); }}'
        )
    return "\n".join(rules)


@lru_cache(maxsize=8)
def _coverage(path: str) -> frozenset[int]:
    from fontTools.ttLib import TTFont

    font = TTFont(path, lazy=True)
    try:
        return frozenset(font["cmap"].getBestCmap())
    finally:
        font.close()


def covered_codepoints() -> frozenset[int]:
    """Code points every certificate face can draw (intersection of their cmaps; cached)."""
    sets = [_coverage(path) for face, path in prepare_fonts() if face.family.startswith("Noto Serif")]
    return frozenset.intersection(*sets)


def check_glyphs(fields: Iterable[tuple[str, str | None]]) -> None:
    """Raise ``UnsupportedCharacter`` for the first character of any (label, value) the font lacks.

    Spaces are ignored; everything else, including astral-plane characters such as 𠮷, is
    looked up as a whole code point.
    """
    covered = covered_codepoints()
    for label, value in fields:
        for ch in value or "":
            if not ch.isspace() and ord(ch) not in covered:
                raise UnsupportedCharacter(label, value, ch)


# --- URLs and resources --------------------------------------------------------------------


def verification_base_url() -> str:
    """Origin for QR codes: ``ACADEMY_BASE_URL``, else the request's origin, else 127.0.0.1:5000.

    The last case (a CLI or background job without ``ACADEMY_BASE_URL``) logs a warning:
    printed QR codes would point at this machine only.
    """
    from flask import has_request_context, request

    configured = (current_app.config.get("ACADEMY_BASE_URL") or "").rstrip("/")
    if configured:
        return configured
    if has_request_context():
        return request.host_url.rstrip("/")
    log.warning("ACADEMY_BASE_URL is not set: QR codes point to %s", FALLBACK_BASE_URL)
    return FALLBACK_BASE_URL


def verification_url(certificate, base_url: str) -> str:
    """The URL the QR code opens: ``<base>/verify/<serial>?code=<verification code>``."""
    return f"{base_url}/verify/{certificate.serial}?code={certificate.verification_code}"


def qr_svg(url: str) -> Markup:
    """A QR code (error correction M, 2-module quiet zone) as inline SVG markup (segno)."""
    import segno

    svg = segno.make(url, error="m", micro=False).svg_inline(omitsize=True, border=2, light="#ffffff")
    return Markup(svg)  # noqa: S704 - segno's SVG holds only path data, never the URL's text


def storage_root() -> Path:
    return Path(current_app.config["STORAGE_PATH"])


def stored_file_uri(relative: str | None) -> str | None:
    """``file://`` URL of a stored file (seal, photo) when it exists, else None."""
    if not relative:
        return None
    path = (storage_root() / relative).resolve()
    if not path.is_file() or not path.is_relative_to(storage_root().resolve()):
        return None
    return path.as_uri()


# --- page contents -----------------------------------------------------------------------


def size_class(text: str | None, steps: Sequence[int]) -> str:
    """``s0`` … ``sN``: how many of ``steps`` (character counts) ``text`` exceeds; CSS shrinks by class."""
    n = len(text or "")
    return f"s{sum(1 for step in steps if n > step)}"


def _zh_date(value) -> str:
    return f"{value.year}年{value.month}月{value.day}日" if value else ""


def page_context(certificate, base_url: str, seal_uri: str | None) -> dict:
    """Everything one page of ``certificate`` prints (from its snapshot only)."""
    url = verification_url(certificate, base_url)
    return {
        "c": certificate,
        "kind": certificate.kind,
        "details": certificate.details or {},
        "qr": qr_svg(url),
        "verify_url": url,
        "verify_origin": f"{base_url}/verify",
        "seal_uri": seal_uri,
        "photo_uri": stored_file_uri(certificate.photo_path),
        "name_class": size_class(certificate.holder_name, (4, 7, 11, 16)),
        "title_class": size_class(certificate.course_title, (14, 22, 32, 46)),
        "issued_on": _zh_date(certificate.issued_on),
        "start_date": _zh_date(certificate.start_date),
        "end_date": _zh_date(certificate.end_date),
        "masked_name": mask_name(certificate.holder_name),
        "code": format_code(certificate.verification_code),
        # "参加电工技能培训" – no second 培训 after a title that already ends in 培训/班
        "training_word": "" if (certificate.course_title or "").endswith(("培训", "班", "培训班")) else "培训",
        "national_query": NATIONAL_QUERY_URL,
        "org_query": ORG_QUERY_URL,
    }


def render_html(certificates: Sequence, base_url: str, seal_path: str | None) -> str:
    """The HTML of one document holding one page per certificate, in the given order."""
    env = current_app.jinja_env
    seal_uri = stored_file_uri(seal_path)
    pages = [page_context(c, base_url, seal_uri) for c in certificates]
    created = max((c.issued_on for c in certificates), default=None)
    return env.get_template("certificates/pdf/document.html").render(
        pages=pages, created=created.isoformat() if created else None,
        title=certificates[0].serial if len(certificates) == 1 else f"{len(certificates)} 张证书",
    )


def _document_id(certificates: Sequence) -> bytes:
    digest = hashlib.sha256("|".join(c.serial for c in certificates).encode()).hexdigest()
    return digest[:32].encode()


def _readable_roots() -> tuple[str, ...]:
    """The folders a certificate document may read: extracted fonts, storage, static images."""
    return str(font_cache_dir()), str(storage_root()), str(STATIC_DIR)


def render_document(certificates: Sequence, *, base_url: str | None = None,
                    seal_path: str | None = None) -> bytes:
    """Render ``certificates`` as ONE WeasyPrint document (one page each) and return the PDF.

    Renders are serialised per process and followed by ``gc.collect()`` (``render_worker.write_pdf``).
    Raises ``CertificateFontError`` when the fonts are missing.
    """
    if not certificates:
        raise ValueError("no certificates to render")
    base_url = base_url or verification_base_url()
    if seal_path is None:
        from academy.certificates.services import get_settings

        seal_path = get_settings().seal_path
    html = render_html(certificates, base_url, seal_path)
    return write_pdf(html, font_face_css(), _readable_roots(), _document_id(certificates))


# --- batches ---------------------------------------------------------------------------------


def render_processes() -> int:
    """How many worker processes a batch may use: ``CERTIFICATE_RENDER_PROCESSES`` (at least 1)."""
    return max(1, int(current_app.config.get("CERTIFICATE_RENDER_PROCESSES") or 1))


def chunk_bounds(pages: int, max_pages: int, processes: int = 1) -> list[tuple[int, int]]:
    """Split ``pages`` into (start, stop) index ranges of at most ``max_pages`` pages each.

    The chunks are as even as possible (sizes differ by at most one page) and, with several
    processes, their number is a multiple of ``processes`` so every worker stays busy to the end
    (300 pages, 50 per chunk, 2 processes: 6 chunks of 50; 120 pages: 4 chunks of 30).
    Raises ``ValueError`` when ``max_pages`` or ``processes`` is below 1.
    """
    if max_pages < 1 or processes < 1:
        raise ValueError("max_pages and processes must be at least 1")
    if pages <= 0:
        return []
    count = math.ceil(pages / max_pages)
    if processes > 1 and count > 1:
        count = min(pages, math.ceil(count / processes) * processes)
    size, extra = divmod(pages, count)
    bounds, start = [], 0
    for i in range(count):
        stop = start + size + (1 if i < extra else 0)
        bounds.append((start, stop))
        start = stop
    return bounds


def batch_plan(pages: int, max_pages: int, processes: int) -> tuple[int, list[tuple[int, int]]]:
    """How ``render_batch`` renders ``pages`` pages: (worker processes, chunk bounds).

    Worker processes (``processes`` > 1) are used only for more than ``PARALLEL_MIN_CHUNKS``
    full chunks of pages: starting them costs about a second (the fork server imports
    WeasyPrint, each worker sets up its fonts), which a smaller batch does not win back
    (60 pages in chunks of 15 took 1.3x as long with 2 workers). 0 workers means in-process.
    """
    workers = processes if processes > 1 and pages > PARALLEL_MIN_CHUNKS * max_pages else 0
    return workers, chunk_bounds(pages, max_pages, max(workers, 1))


_context_lock = threading.Lock()


def _worker_context():
    """The ``forkserver`` multiprocessing context, preloading WeasyPrint in the fork server.

    The fork server is a fresh interpreter started with exec: it holds none of the caller's
    database connections, threads or locks, and its forks (the workers) start with WeasyPrint
    already imported. It exits with the process that started it.
    """
    from multiprocessing import forkserver

    with _context_lock:
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload(WORKER_PRELOAD)
        forkserver.ensure_running()  # starts importing now, while the caller renders the first HTML
        return context


def _render_parallel(certificates: Sequence, bounds: list[tuple[int, int]], processes: int, *,
                     base_url: str, seal_path: str | None,
                     progress: Callable[[int], None] | None) -> Iterator[bytes]:
    """Render each chunk in a pool of ``processes`` workers; yield the PDFs in page order, each
    as soon as it and all before it are done (so the caller merges while the workers render).

    The HTML of each chunk is rendered here (app context) and handed over as text. The fork
    server starts first; submitting (which waits for the fork server's imports when it starts a
    worker) happens on a helper thread, so this thread keeps rendering HTML meanwhile.
    ``progress(pages done)`` runs here after each finished chunk. Raises
    ``CertificateRenderError`` naming the pages when a chunk fails or a worker dies; the chunks
    not yet started are cancelled.
    """
    from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, ThreadPoolExecutor, wait
    from concurrent.futures.process import BrokenProcessPool

    context = _worker_context()
    font_css, roots = font_face_css(), _readable_roots()
    render = _render_chunk  # looked up per call, so a test can substitute a module-level function
    jobs: list[ChunkJob] = []
    results: dict[int, bytes] = {}
    pool = ProcessPoolExecutor(max_workers=min(processes, len(bounds)), mp_context=context,
                               initializer=worker_start)
    job = None
    try:
        with ThreadPoolExecutor(1, thread_name_prefix="certificate-submit") as submitter:
            submitted = []
            for start, stop in bounds:
                part = certificates[start:stop]
                job = ChunkJob(start + 1, stop, part[0].serial, part[-1].serial,
                               render_html(part, base_url, seal_path), font_css, roots, _document_id(part))
                jobs.append(job)
                submitted.append(submitter.submit(pool.submit, run_chunk, render, job))
            futures = {outer.result(): index for index, outer in enumerate(submitted)}
        pending, done, next_index = set(futures), 0, 0
        while pending:
            finished, pending = wait(pending, return_when=FIRST_COMPLETED)
            for future in sorted(finished, key=futures.__getitem__):
                job = jobs[futures[future]]
                try:
                    results[futures[future]] = future.result()
                except ChunkFailed as exc:
                    log.error("certificate batch: %s failed in a worker:\n%s", job.describe(), exc.detail)
                    raise CertificateRenderError(f"{job.describe()}生成失败：{exc.message}") from exc
                done += job.pages
                if progress:
                    progress(done)
            while next_index in results:
                yield results.pop(next_index)
                next_index += 1
    except BrokenProcessPool as exc:
        where = job.describe() if job else "证书"
        raise CertificateRenderError(
            f"{where}生成失败：证书渲染进程意外退出（可能是内存不足）。"
            "请减小 CERTIFICATE_CHUNK_PAGES 或 CERTIFICATE_RENDER_PROCESSES 后重试") from exc
    finally:
        # The workers exit (joined by the pool's own thread) while the caller goes on.
        pool.shutdown(wait=False, cancel_futures=True)


def render_batch(certificates: Sequence, *, base_url: str | None = None,
                 chunk_pages: int | None = None, processes: int | None = None,
                 progress: Callable[[int], None] | None = None) -> bytes:
    """One print-ordered PDF for many certificates, rendered in chunks of whole documents.

    Each chunk of at most ``chunk_pages`` (default ``CERTIFICATE_CHUNK_PAGES``, 50) pages is one
    WeasyPrint document (sizes balanced by ``chunk_bounds``); chunks are concatenated with pypdf
    in the given order. With ``processes`` (default ``CERTIFICATE_RENDER_PROCESSES``) above 1
    and more than ``PARALLEL_MIN_CHUNKS`` chunks' worth of pages (``batch_plan``), the chunks
    render in that many worker processes; the pages and their text are the same either way. ``progress(n)`` is called with the number of pages done
    after each chunk. Memory stays near one chunk's worth per process.

    Raises ``CertificateFontError`` when the fonts are missing and ``CertificateRenderError``
    (naming the pages) when a chunk fails in a worker process.
    """
    from pypdf import PdfWriter

    chunk = chunk_pages or int(current_app.config.get("CERTIFICATE_CHUNK_PAGES", DEFAULT_CHUNK_PAGES))
    processes = processes or render_processes()
    base_url = base_url or verification_base_url()
    from academy.certificates.services import get_settings

    seal_path = get_settings().seal_path
    workers, bounds = batch_plan(len(certificates), chunk, processes)
    if len(bounds) <= 1:
        data = render_document(certificates, base_url=base_url, seal_path=seal_path)
        if progress:
            progress(len(certificates))
        return data
    writer = PdfWriter()
    if workers:
        for data in _render_parallel(certificates, bounds, workers, base_url=base_url,
                                     seal_path=seal_path, progress=progress):
            writer.append(io.BytesIO(data))
    else:
        for start, stop in bounds:
            writer.append(io.BytesIO(render_document(certificates[start:stop], base_url=base_url,
                                                     seal_path=seal_path)))
            if progress:
                progress(stop)
    writer.add_metadata({"/Producer": "academy certificates"})
    out = io.BytesIO()
    writer.write(out)
    writer.close()
    gc.collect()
    return out.getvalue()


def sha256_hex(data: bytes) -> str:
    """SHA-256 of ``data`` as 64 hex characters."""
    return hashlib.sha256(data).hexdigest()


_SAFE = re.compile(r"[^0-9A-Za-z._-]")


def safe_filename(serial: str) -> str:
    """File-system-safe name for a serial (ASCII letters, digits, dot, dash, underscore)."""
    return _SAFE.sub("_", serial)
