"""Benchmark: Lighthouse (mobile) on the catalogue, check-in and results pages.

    .venv/bin/python benchmarks/lighthouse.py [--runs 3] [--keep] [--out DIR]

Builds and serves the demo academy exactly like ``benchmarks/page_weight.py`` (throw-away SQLite
database from ``flask demo``, gunicorn with 2 workers on a free port), then runs Lighthouse 12 —
installed on first use into benchmarks/node_modules from benchmarks/package.json with
``npm install --no-audit --no-fund --prefix benchmarks`` — against Debian's Chromium
(``CHROME_PATH=/usr/bin/chromium``; no browser is downloaded) in its default mobile mode
(Moto G Power emulation, simulated slow 4G and 4× CPU slowdown), categories performance,
accessibility and best practices, on:

* **catalogue filtered** – ``/courses/`` with filters, signed out (how a new rider arrives from a link);
* **check-in** – ``/attendance/c/<code>`` as a signed-in learner who has just scanned the QR code
  (the session cookie holds the verified scan: the page shows the one-tap confirm button);
* **results** – ``/exams/my`` of the signed-in demo learner.

The signed-in pages get the learner's session cookie (from the real login form) through
``--extra-headers``. Prints each page's three scores (the median of ``--runs`` runs) and the
titles of the audits that did not pass, with Lighthouse's figures for the performance metrics.
The budgets of issue 9 are shown beside them: performance ≥ 0.95, accessibility 1.00, best
practices ≥ 0.95. The JSON reports are written to a temp directory (``--out`` to choose one).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import page_weight  # noqa: E402 - benchmarks/ is on the path only now

LIGHTHOUSE = HERE / "node_modules" / ".bin" / "lighthouse"
CATEGORIES = ("performance", "accessibility", "best-practices")
BUDGETS = {"performance": 0.95, "accessibility": 1.0, "best-practices": 0.95}
CHROME_FLAGS = ("--headless=new --no-sandbox --disable-gpu --disable-background-networking "
                "--disable-component-update --disable-sync --no-first-run")
METRICS = ("first-contentful-paint", "largest-contentful-paint", "total-blocking-time", "cumulative-layout-shift",
           "speed-index")


def ensure_lighthouse() -> Path:
    """Path of the lighthouse CLI; ``npm install`` it into benchmarks/node_modules when missing.

    Raises ``SystemExit`` when npm is missing or the install fails.
    """
    if not LIGHTHOUSE.exists():
        npm = shutil.which("npm") or sys.exit("npm not found: apt-get install -y npm (node ≥ 18.16)")
        print("installing lighthouse into benchmarks/node_modules …", file=sys.stderr)
        subprocess.run([npm, "install", "--no-audit", "--no-fund", "--prefix", str(HERE)], check=True)
    return LIGHTHOUSE


def run_lighthouse(url: str, report: Path, cookie: str | None = None) -> dict:
    """Run Lighthouse once on ``url`` (mobile); write the JSON report to ``report``; return it parsed."""
    command = [str(ensure_lighthouse()), url, "--output=json", f"--output-path={report}", "--form-factor=mobile",
               f"--only-categories={','.join(CATEGORIES)}", f"--chrome-flags={CHROME_FLAGS}", "--quiet",
               "--no-enable-error-reporting"]
    if cookie:
        command.append("--extra-headers=" + json.dumps({"Cookie": cookie}))
    env = {**os.environ, "CHROME_PATH": page_weight.CHROMIUM}
    result = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    if result.returncode or not report.exists():
        raise SystemExit(f"lighthouse failed on {url}:\n{result.stdout[-2000:]}\n{result.stderr[-2000:]}")
    return json.loads(report.read_text())


def scores(report: dict) -> dict[str, float]:
    """The category scores of a report (0–1)."""
    return {c: report["categories"][c]["score"] for c in CATEGORIES}


def failing_audits(report: dict) -> list[str]:
    """Lines naming the performance metrics, every scored audit below 1 in the measured categories,
    and (on one line) the audits below 1 that do not count towards the score (weight 0)."""
    lines, advice = [], []
    for category in CATEGORIES:
        for ref in report["categories"][category]["auditRefs"]:
            audit = report["audits"][ref["id"]]
            score = audit.get("score")
            if ref["id"] in METRICS:
                lines.append(f"{category}: {audit['title']} {audit.get('displayValue', '')} (score {score})")
            elif score is None or score >= 1 or audit.get("scoreDisplayMode") in ("informative", "notApplicable",
                                                                                 "manual"):
                continue
            elif not ref.get("weight"):
                advice.append(audit["title"] + (f" ({audit['displayValue']})" if audit.get("displayValue") else ""))
            else:
                items = audit.get("details", {}).get("items", [])
                nodes = [i.get("node", {}).get("snippet") for i in items if isinstance(i, dict) and i.get("node")]
                urls = [i.get("url") for i in items if isinstance(i, dict) and i.get("url")]
                where = "; ".join((nodes or urls)[:3])
                lines.append(f"{category}: FAILED {audit['title']} (score {score}, weight {ref['weight']})"
                             + (f": {where}" if where else ""))
    if advice:
        lines.append("not scored (weight 0): " + "; ".join(dict.fromkeys(advice)))
    return lines


def cookie_header(http) -> str:
    """The Cookie header a browser would send with ``http``'s cookies (a ``requests.Session``)."""
    return "; ".join(f"{c.name}={c.value}" for c in http.cookies)


def scanned(site: page_weight.DemoSite, http) -> str:
    """Scan the check-in QR code now (a fresh token) with the signed-in ``http`` session and return
    its Cookie header, which then holds the verified scan (kept 10 minutes)."""
    http.get(site.url(site.checkin_path()), allow_redirects=False, timeout=10)
    return cookie_header(http)


def main(argv: list[str] | None = None) -> None:
    """Parse the options, serve the demo, run Lighthouse on the three pages and print the scores."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=1, help="runs per page; the median score is shown (default 1)")
    parser.add_argument("--out", type=Path, help="directory for the JSON reports (default: a new temp directory)")
    parser.add_argument("--all", action="store_true",
                        help="also every other learner page of page_weight.py, the signed-out check-in page "
                             "and the login page")
    parser.add_argument("--keep", action="store_true", help="keep the demo's temp directory")
    args = parser.parse_args(argv)
    ensure_lighthouse()
    out = args.out or Path(tempfile.mkdtemp(prefix="academy-lighthouse-"))
    out.mkdir(parents=True, exist_ok=True)
    results = []
    with page_weight.demo_site(keep=args.keep) as site:
        http = page_weight.login_session(site)  # the learner, signed in through the login form
        plain = cookie_header(http)
        pages = [("catalogue filtered", site.pages["catalogue filtered"], None),
                 ("check-in", site.checkin_path(with_token=False), "scanned"),
                 ("results", "/exams/my", "learner")]
        if args.all:
            pages += [(label, path, "learner") for label, path in site.pages.items()
                      if label not in ("catalogue filtered", "check-in", "my results")]
            pages += [("check-in, signed out", site.checkin_path(with_token=False), None),
                      ("login", "/account/login", None)]
        for label, path, who in pages:
            runs = []
            for n in range(args.runs):
                # a fresh scan for each run of the check-in page (a scan is kept 10 minutes)
                cookie = scanned(site, http) if who == "scanned" else plain if who else None
                name = label.replace(", ", "-").replace(" ", "-")
                runs.append(run_lighthouse(site.url(path), out / f"{name}-{n + 1}.json", cookie))
            median = {c: statistics.median(scores(r)[c] for r in runs) for c in CATEGORIES}
            worst = min(runs, key=lambda r: sum(scores(r).values()))
            results.append((label, path, median, [scores(r) for r in runs], failing_audits(worst),
                            worst.get("finalDisplayedUrl")))
    print(f"\nLighthouse {runs[0]['lighthouseVersion']} (mobile), Chromium {runs[0]['environment']['hostUserAgent']}")
    print(f"median of {args.runs} run(s); budgets (! = missed): "
          + ", ".join(f"{c} ≥ {v:.2f}" for c, v in BUDGETS.items()))
    print(f"{'page':<22}{'performance':>13}{'accessibility':>15}{'best-practices':>16}  path")
    for label, path, median, _, _, _ in results:
        cells = "".join(f"{median[c]:.2f}{' ' if median[c] >= BUDGETS[c] else '!'}".rjust(w)
                        for c, w in zip(CATEGORIES, (13, 15, 16), strict=True))
        print(f"{label:<22}{cells}  {path}")
    for label, _, _, every, lines, final_url in results:
        print(f"\n{label} ({final_url}); runs: "
              + " | ".join("/".join(f"{s[c]:.2f}" for c in CATEGORIES) for s in every))
        for line in lines:
            print("   ", line)
    print(f"\nreports: {out}")


if __name__ == "__main__":
    main()
