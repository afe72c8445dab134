"""Server-drawn charts: inline SVG, no JavaScript, readable by screen readers.

Each chart carries a ``<title>`` and a ``<desc>`` (named by ``aria-labelledby``) that state what
it shows and every value, each bar has its own ``<title>`` (a tooltip on hover or long press),
and the page puts the same numbers in a table beside it. Colours come from the stylesheet
(classes ``chart-bar`` …), so no inline style is needed (CSP).
"""

from __future__ import annotations

from collections.abc import Sequence

from flask_babel import gettext as _
from markupsafe import Markup, escape

WIDTH = 340
HEIGHT = 170
TOP, BOTTOM, LEFT, RIGHT = 18, 34, 8, 8


def _nice_ceiling(value: int) -> int:
    """The smallest of 1, 2, 5 × 10^n at or above ``value`` (axis maximum); 1 for 0."""
    if value <= 1:
        return 1
    step = 1
    while True:
        for factor in (1, 2, 5):
            if step * factor >= value:
                return step * factor
        step *= 10


def bar_chart(points: Sequence[tuple[str, int]], *, title: str, desc: str, chart_id: str) -> Markup:
    """A bar chart of ``points`` (label such as "2026-03", count ≥ 0) as an inline ``<svg>``.

    ``title`` names the chart, ``desc`` says what is counted; both are escaped, and the values
    are appended to the description ("2026-01：3；2026-02：5"). Values are printed above the bars
    when there are at most 24; month labels show "3月" — every month up to 12 bars, else January,
    April, July and October — with the year under January and under the first bar. ``chart_id`` must be unique on the page (it names the title and desc elements).
    """
    n = max(len(points), 1)
    top = _nice_ceiling(max((v for _, v in points), default=0))
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    slot = plot_w / n
    bar_w = max(slot * 0.7, 1.0)
    values_text = "；".join(f"{label}：{value}" for label, value in points) or "无数据"
    cid = escape(chart_id)
    parts = [
        f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" width="100%" role="img" '
        f'aria-labelledby="{cid}-title {cid}-desc" xmlns="http://www.w3.org/2000/svg">',
        f'<title id="{cid}-title">{escape(title)}</title>',
        f'<desc id="{cid}-desc">{escape(desc)}。{escape(values_text)}</desc>',
        f'<line class="chart-axis" x1="{LEFT}" y1="{TOP + plot_h}" x2="{WIDTH - RIGHT}" y2="{TOP + plot_h}"/>',
        f'<text class="chart-scale" x="{LEFT}" y="{TOP - 6}" text-anchor="start">{top}</text>',
        f'<line class="chart-grid" x1="{LEFT}" y1="{TOP}" x2="{WIDTH - RIGHT}" y2="{TOP}"/>',
    ]
    for i, (label, value) in enumerate(points):
        h = plot_h * value / top
        x = LEFT + i * slot + (slot - bar_w) / 2
        y = TOP + plot_h - h
        centre = x + bar_w / 2
        parts.append(f'<rect class="chart-bar" x="{x:.1f}" y="{y:.1f}" width="{bar_w:.1f}" height="{h:.1f}">'
                     f'<title>{escape(label)}：{value}</title></rect>')
        if len(points) <= 24 and value:
            parts.append(f'<text class="chart-value" x="{centre:.1f}" y="{y - 3:.1f}" text-anchor="middle">{value}</text>')
        year, _, month = label.partition("-")
        if month and (len(points) <= 12 or int(month) % 3 == 1):  # every month, or quarterly
            parts.append(f'<text class="chart-label" x="{centre:.1f}" y="{TOP + plot_h + 13}" '
                         f'text-anchor="middle">{int(month)}月</text>')
            if month == "01" or i == 0:
                parts.append(f'<text class="chart-label" x="{centre:.1f}" y="{TOP + plot_h + 26}" '
                             f'text-anchor="middle">{escape(year)}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 - every text is escaped above; numbers are ours


def trend_charts(trends) -> list[tuple[str, Markup]]:
    """The dashboard's three monthly charts from ``reports.services.Report.trends``: enrolments,
    certificates, check-ins, as (heading, svg) pairs."""
    series = (
        ("enrolments", _("每月报名"), _("每月确认报名（已报名）的人数")),
        ("certificates", _("每月发证"), _("每月首次发放且目前有效的培训类证书张数")),
        ("check_ins", _("每月出勤人次"), _("每月课次中出勤和迟到的签到人次")),
    )
    return [(title, bar_chart([(p.month, getattr(p, key)) for p in trends], title=title, desc=desc,
                              chart_id=f"chart-{key}"))
            for key, title, desc in series]
