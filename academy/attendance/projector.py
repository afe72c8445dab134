"""What the instructor's projector page shows at a moment: the QR code (inline SVG, made on the
server with segno), the 6-digit code, the live count and the state of the check-in window."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import datetime

import segno
from markupsafe import Markup

from academy.attendance import tokens
from academy.attendance.models import ClassSession
from academy.attendance.services import checked_in_count
from academy.common.timeutil import format_local
from academy.enrolment.services import enrolled_learner_ids


@dataclass(frozen=True)
class ProjectorState:
    """One frame of the projector: ``state`` is ``open``, ``not_open``, ``closed`` or ``cancelled``;
    ``url``/``svg``/``code`` are empty unless open; ``seconds_left`` until the next rotation."""

    state: str
    message: str
    url: str
    svg: str
    code: str
    checked_in: int
    enrolled: int
    seconds_left: int
    rotation_seconds: int
    server_time: str

    def as_json(self) -> dict:
        """The frame as a JSON-ready dict (what ``projector.json`` returns)."""
        return asdict(self)

    @property
    def svg_markup(self) -> Markup:
        """The SVG made by segno from our own URL (no user input), safe to embed."""
        return Markup(self.svg)  # noqa: S704 - generated server-side from a URL we built


def qr_svg(url: str) -> str:
    """An inline SVG QR code of ``url`` (error correction M, 4-module quiet zone, scalable)."""
    qr = segno.make(url, error="m", micro=False)
    return qr.svg_inline(scale=1, border=4, omitsize=True, dark="#000", light="#fff", svgclass="qr",
                         title="签到二维码")


def projector_state(session: ClassSession, *, now: datetime, checkin_url: Callable[[str], str]) -> ProjectorState:
    """The projector frame of ``session`` at ``now``; ``checkin_url(token)`` builds the absolute
    check-in URL (``ACADEMY_BASE_URL`` or the request root + the check-in path)."""
    rotation = session.rotation_seconds
    url = svg = code = ""
    if session.is_cancelled:
        state, message = "cancelled", "本次课已取消"
    elif now < session.opens_at:
        state, message = "not_open", f"签到将于 {format_local(session.opens_at, '%H:%M')} 开放"
    elif now >= session.closes_at:
        state, message = "closed", f"签到已于 {format_local(session.closes_at, '%H:%M')} 结束"
    else:
        state = "open"
        late = now >= session.late_at
        message = ("现在签到记为迟到" if late else
                   f"{format_local(session.late_at, '%H:%M')} 以后签到记为迟到")
        url = checkin_url(tokens.current_token(session.id, rotation, now=now))
        svg = qr_svg(url)
        code = tokens.current_code(session.id, rotation, now=now)
    return ProjectorState(state=state, message=message, url=url, svg=svg, code=code,
                          checked_in=checked_in_count(session.id), enrolled=len(enrolled_learner_ids(session.cohort_id)),
                          seconds_left=tokens.seconds_left(now, rotation), rotation_seconds=rotation,
                          server_time=format_local(now, "%H:%M:%S"))
