"""The WeasyPrint side of certificate rendering: HTML text in, PDF bytes out, no Flask, no database.

``pdf.py`` renders the HTML (it needs the app: templates, settings, storage) and calls
``write_pdf`` here, in its own process or, for a big batch, in worker processes started from
a ``forkserver`` (``pdf.render_batch``). A worker receives a ``ChunkJob`` (plain, picklable
text and bytes) and runs ``run_chunk``. This module imports only the standard library and,
when rendering, WeasyPrint, so the fork server (which preloads it) starts quickly and the
workers never hold the caller's database connections, sessions or threads.

Fonts: each process makes ONE WeasyPrint ``FontConfiguration``: WeasyPrint copies each
``@font-face`` file (≈ 64 MB for the three faces) into a temporary folder once per
configuration, not once per document. The folder is removed when the process ends (``atexit``
in a normal process, multiprocessing's finalizers in a worker, which skips ``atexit``).
"""

from __future__ import annotations

import atexit
import gc
import multiprocessing
import multiprocessing.util
import os
import shutil
import threading
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit

from academy.config import PROJECT_ROOT

STATIC_DIR = PROJECT_ROOT / "static" / "certificates"

_render_lock = threading.Lock()
_font_config = None


def make_fetcher(roots: Sequence[Path]):
    """A WeasyPrint URL fetcher that reads only data: URLs and files under ``roots`` (no network)."""
    from weasyprint.urls import URLFetcher

    resolved = [r.resolve() for r in roots]

    class LocalOnlyFetcher(URLFetcher):
        def fetch(self, url, headers=None):
            if url.startswith("file:"):
                path = Path(unquote(urlsplit(url).path)).resolve()
                if not any(path.is_relative_to(root) for root in resolved):
                    raise ValueError(f"certificate PDFs may not read {path}")
            elif not url.startswith("data:"):
                raise ValueError(f"certificate PDFs fetch nothing from the network: {url}")
            return super().fetch(url, headers)

    return LocalOnlyFetcher(allowed_protocols={"file", "data"})


def _stylesheets(fetcher, font_css: str):
    from weasyprint import CSS
    from weasyprint.text.fonts import FontConfiguration

    global _font_config
    if _font_config is None:
        _font_config = FontConfiguration()
        atexit.register(drop_font_config)
        multiprocessing.util.Finalize(None, drop_font_config, exitpriority=0)
    css_path = STATIC_DIR / "certificate.css"
    return _font_config, [
        CSS(string=font_css, font_config=_font_config, url_fetcher=fetcher),
        CSS(filename=str(css_path), font_config=_font_config, url_fetcher=fetcher),
    ]


def drop_font_config() -> None:
    """Remove the process's WeasyPrint font folder (a copy of the fonts); called at exit."""
    global _font_config
    folder = getattr(_font_config, "_folder", None)
    _font_config = None
    if folder:
        shutil.rmtree(folder, ignore_errors=True)


def write_pdf(html: str, font_css: str, roots: Sequence[str], identifier: bytes) -> bytes:
    """Render ``html`` (one page per certificate) with the ``@font-face`` rules ``font_css``,
    reading files only under ``roots``; return the PDF with file identifier ``identifier``.

    Renders are serialised per process (Pango's font map is shared). ``gc.collect()`` runs
    afterwards: WeasyPrint keeps font buffers in reference cycles (RSS passes 1 GB in long
    loops otherwise). Raises whatever WeasyPrint raises.
    """
    from weasyprint import HTML

    fetcher = make_fetcher([Path(root) for root in roots])
    with _render_lock:
        try:
            font_config, stylesheets = _stylesheets(fetcher, font_css)
            document = HTML(string=html, base_url=str(STATIC_DIR) + "/", url_fetcher=fetcher)
            return document.write_pdf(stylesheets=stylesheets, font_config=font_config,
                                      pdf_identifier=identifier)
        finally:
            gc.collect()


@dataclass(frozen=True)
class ChunkJob:
    """One document of a batch as plain, picklable data for a worker process.

    ``first_page``/``last_page`` are 1-based page numbers in the whole batch; ``roots`` are the
    folders the document may read; ``identifier`` is the PDF file identifier.
    """

    first_page: int
    last_page: int
    first_serial: str
    last_serial: str
    html: str
    font_css: str
    roots: tuple[str, ...]
    identifier: bytes

    @property
    def pages(self) -> int:
        """Number of pages (certificates) in the chunk."""
        return self.last_page - self.first_page + 1

    def describe(self) -> str:
        """“第 51–100 页（证书 A 至 B）” (or “第 3 页（证书 A）”) for error messages."""
        if self.first_page == self.last_page:
            return f"第 {self.first_page} 页（证书 {self.first_serial}）"
        return f"第 {self.first_page}–{self.last_page} 页（证书 {self.first_serial} 至 {self.last_serial}）"


class ChunkFailed(Exception):  # noqa: N818 - a worker's report; pdf.py re-raises it as CertificateRenderError
    """A worker's failure reduced to text, so it always pickles back: message and traceback."""

    def __init__(self, message: str, detail: str = ""):
        super().__init__(message, detail)
        self.message, self.detail = message, detail

    def __str__(self) -> str:
        return self.message


def render_chunk(job: ChunkJob) -> bytes:
    """Render one chunk to PDF bytes (``gc.collect()`` follows)."""
    return write_pdf(job.html, job.font_css, job.roots, job.identifier)


def run_chunk(render: Callable[[ChunkJob], bytes], job: ChunkJob) -> bytes:
    """Worker entry point: ``render(job)``; any error comes back as a picklable ``ChunkFailed``."""
    try:
        return render(job)
    except Exception as exc:  # noqa: BLE001 - every failure goes back to the caller as text
        raise ChunkFailed(f"{type(exc).__name__}: {exc}", traceback.format_exc()) from None


def worker_start() -> None:
    """Worker initializer: exit at once (removing the font folder) if the process that started
    the pool dies, e.g. a killed job, instead of waiting forever for chunks that never come."""
    from multiprocessing.connection import wait as wait_for

    parent = multiprocessing.parent_process()
    if parent is None or parent.sentinel is None:
        return

    def watch() -> None:
        wait_for([parent.sentinel])
        drop_font_config()  # os._exit skips the finalizers
        os._exit(1)

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()
