"""Benchmark: a 300-certificate print batch (not a test; prints figures).

    .venv/bin/python benchmarks/certificate_batch.py [--count 300] [--separate-sample 20]

Each measurement runs in its own fresh process (so peak memory is per phase) against a
throw-away SQLite database holding ``--count`` issued certificates:

* batch     – ``academy.certificates.pdf.render_batch``: what a print job does (whole WeasyPrint
              documents of CERTIFICATE_CHUNK_PAGES pages, concatenated with pypdf, gc after each);
* one-doc   – the same pages rendered as ONE WeasyPrint document (the baseline of the issue);
* separate  – ``--separate-sample`` certificates rendered as separate documents, extrapolated to
              ``--count`` (the slow way that batching avoids; research/perf-setup.md measured ~7×).

Prints wall time, pages per second and peak RSS of each, and the ratios.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

SURNAMES = "刘陈钟黄李王曾赖谢张杨肖邱温廖罗郭朱胡吴周徐何林邓叶彭宋蓝古袁易许卢郑"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华建国志红堃喆鑫淼森"
SPECIAL = ["买买提·艾力", "欧阳堃", "王喆", "𠮷田丽", "阿卜杜热合曼·买买提依明", "司马相如"]


def make_app(workdir: Path, base_url: str = "https://xue.example.cn"):
    from academy import create_app

    return create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{workdir / 'bench.db'}", "INSTANCE_PATH": workdir,
                       "STORAGE_PATH": str(workdir / "storage"), "ACADEMY_BASE_URL": base_url,
                       "SECRET_KEY": "bench"})


def build(workdir: Path, count: int) -> None:
    """Create the schema and ``count`` certificates (a realistic snapshot each), then prepare fonts."""
    from academy.accounts.models import User
    from academy.certificates import pdf, serials
    from academy.certificates.models import Certificate
    from academy.extensions import db

    app = make_app(workdir)
    rng = random.Random(2026)
    with app.app_context():
        db.create_all()
        for i in range(count):
            name = SPECIAL[i] if i < len(SPECIAL) else rng.choice(SURNAMES) + "".join(
                rng.choice(GIVEN) for _ in range(rng.choice((1, 2, 2))))
            user = User(mobile=f"139{i:08d}", name=name, password_hash=None)
            db.session.add(user)
            db.session.flush()
            db.session.add(Certificate(
                kind="completion", serial=serials.format_serial("JXG", 2026, i + 1, "DG01"),
                verification_code=serials.new_verification_code(), issue_key=f"completion:1:{user.id}",
                learner_id=user.id, holder_name=name, holder_id_masked=f"360702********{i:04d}",
                course_title="电工（四级/中级工）技能培训", occupation="电工", hours=120,
                start_date=date(2026, 3, 2), end_date=date(2026, 5, 29), level="四级/中级工",
                issuer_name="瑞金市金小哥学院", issued_on=date(2026, 6, 5), details={"title": "培训合格证书"}))
        db.session.commit()
        pdf.check_fonts()


def phase(workdir: Path, name: str, count: int, sample: int) -> dict:
    """Run one measurement in this (fresh) process and return its figures."""
    import gc

    from sqlalchemy import select

    from academy.certificates import pdf
    from academy.certificates.models import Certificate
    from academy.extensions import db

    app = make_app(workdir)
    with app.app_context():
        certificates = list(db.session.scalars(select(Certificate).order_by(Certificate.serial).limit(count)))
        for c in certificates:  # load everything before timing
            _ = (c.holder_name, c.details)
        pdf.render_document(certificates[:1])  # warm-up: imports, font configuration
        gc.collect()
        started, cpu_started = time.perf_counter(), time.process_time()
        if name == "batch":
            data = pdf.render_batch(certificates)
            pages = len(certificates)
        elif name == "one-doc":
            data = pdf.render_document(certificates)
            pages = len(certificates)
        else:
            data = b"".join(pdf.render_document([c]) for c in certificates[:sample])
            pages = sample
        seconds, cpu = time.perf_counter() - started, time.process_time() - cpu_started
        out = workdir / f"{name}.pdf"
        out.write_bytes(data if name != "separate" else b"")
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {"phase": name, "pages": pages, "seconds": seconds, "cpu": cpu, "peak_mb": peak_kib / 1024,
            "bytes": len(data), "load": os.getloadavg()[0]}


def run_child(workdir: Path, name: str, count: int, sample: int) -> dict:
    out = subprocess.run([sys.executable, __file__, "--phase", name, "--workdir", str(workdir), "--count", str(count),
                          "--separate-sample", str(sample)], check=True, capture_output=True, text=True, cwd=ROOT)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--count", type=int, default=300)
    parser.add_argument("--separate-sample", type=int, default=20)
    parser.add_argument("--phase")
    parser.add_argument("--workdir")
    args = parser.parse_args()
    if args.phase:
        print(json.dumps(phase(Path(args.workdir), args.phase, args.count, args.separate_sample)))
        return

    from weasyprint import __version__ as weasyprint_version
    from weasyprint.text.ffi import harfbuzz_subset

    with tempfile.TemporaryDirectory(prefix="cert-bench-") as tmp:
        workdir = Path(tmp)
        started = time.perf_counter()
        build(workdir, args.count)
        print(f"set-up: {args.count} certificates in SQLite, fonts prepared ({time.perf_counter() - started:.1f} s)")
        print(f"WeasyPrint {weasyprint_version}, HarfBuzz-Subset {'yes' if harfbuzz_subset else 'NO (slow!)'}, "
              f"CPUs {os.cpu_count()}, chunk {os.environ.get('CERTIFICATE_CHUNK_PAGES', 50)} pages")
        results = {name: run_child(workdir, name, args.count, args.separate_sample)
                   for name in ("batch", "one-doc", "separate")}

    batch, one, sep = results["batch"], results["one-doc"], results["separate"]
    scale = args.count / sep["pages"]
    separate_total, separate_cpu = sep["seconds"] * scale, sep["cpu"] * scale
    print()
    print(f"{'what':<46}{'pages':>6}{'wall s':>8}{'CPU s':>8}{'pages/s':>9}{'peak MB':>9}{'MB out':>8}")
    rows = [("batch print job (render_batch, chunks of pages)", batch["pages"], batch["seconds"], batch["cpu"],
             batch["peak_mb"], batch["bytes"]),
            ("one WeasyPrint document (baseline)", one["pages"], one["seconds"], one["cpu"], one["peak_mb"],
             one["bytes"]),
            (f"separate documents ({sep['pages']} run, scaled to {args.count})", args.count, separate_total,
             separate_cpu, sep["peak_mb"], None)]
    for label, pages, seconds, cpu, peak, size in rows:
        out = f"{size / 1e6:8.2f}" if size else f"{'':>8}"
        print(f"{label:<46}{pages:>6}{seconds:>8.2f}{cpu:>8.2f}{pages / seconds:>9.1f}{peak:>9.0f}{out}")
    print()
    print(f"batch / one document    = {batch['seconds'] / one['seconds']:.2f}x wall, "
          f"{batch['cpu'] / one['cpu']:.2f}x CPU, {batch['peak_mb'] / one['peak_mb']:.2f}x peak memory")
    print(f"separate / one document = {separate_total / one['seconds']:.1f}x wall, {separate_cpu / one['cpu']:.1f}x CPU")
    loads = ", ".join(f"{r['load']:.1f}" for r in (batch, one, sep))
    print(f"load average during the runs: {loads} "
          f"(on {os.cpu_count()} CPUs; wall times stretch when the machine is shared)")


if __name__ == "__main__":
    main()
