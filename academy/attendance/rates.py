"""Attendance rates and the threshold gate (split from services.py, which re-exports them).

Rule (BRIEF §3 Attendance): rate = (present + late) / sessions held; excused sessions count as the
cohort's ``excused_policy`` says (default: left out of both sides); cancelled sessions never
count; an ended session without a status is absent. The cohort's ``attendance_threshold``
(default 80 %) gates exams and certificates through ``meets_attendance_threshold`` only.
Learners are warned before it is too late: ``can_still_miss`` projects the rate to the end of the
course (the "maximum possible" maths Moodle declined, research/lms-anchors.md §2).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_FLOOR, ROUND_HALF_UP, Decimal

from sqlalchemy import select

from academy.attendance.models import AttendanceRecord, AttendanceStatus, ClassSession, SessionStatus
from academy.catalogue.models import Cohort, ExcusedPolicy
from academy.common.timeutil import now_utc
from academy.extensions import db

DEFAULT_THRESHOLD = Decimal("0.800")
RATE_PLACES = Decimal("0.0001")


def enrolled_ids(cohort_id: int) -> list[int]:
    """Ids of the cohort's ENROLLED learners (``enrolment.services.enrolled_learner_ids``)."""
    from academy.enrolment.services import enrolled_learner_ids

    return enrolled_learner_ids(cohort_id)


# --- rates --------------------------------------------------------------------------------

@dataclass(frozen=True)
class AttendanceRate:
    """A learner's attendance in one cohort at a moment.

    ``held``: sessions counted so far in the denominator — scheduled (not cancelled) sessions
    that have ended, or in progress with a status already set — without excused ones when the
    cohort's ``excused_policy`` is EXCLUDE. ``present``/``late``/``excused``/``absent``: counts
    over those sessions (an ended session without a status is absent; ``excused`` is reported
    even when left out of ``held``). ``rate``: attended / held as a fraction 0–1 with 4 places,
    where attended = present + late (+ excused under PRESENT); None when nothing is held yet.
    ``threshold``: the cohort's ``attendance_threshold``. ``meets_threshold``: rate ≥ threshold,
    exactly (True while nothing is held). ``can_still_miss``: how many of the remaining planned
    sessions the learner may still miss and end at or above the threshold (0 when even full
    attendance cannot reach it; None when the cohort has no sessions at all). ``remaining``:
    scheduled sessions still to come (extra field, default 0); ``reachable``: whether full
    attendance from now on reaches the threshold.
    """

    held: int
    present: int
    late: int
    excused: int
    absent: int
    rate: Decimal | None
    threshold: Decimal
    meets_threshold: bool
    can_still_miss: int | None
    remaining: int = 0
    reachable: bool = True

    @property
    def attended(self) -> int:
        """The numerator of the rate."""
        if self.rate is None:
            return 0
        return int((self.rate * self.held).to_integral_value(ROUND_HALF_UP))

    @property
    def at_risk(self) -> bool:
        """Below the threshold now, or unable to miss one more remaining session."""
        return (self.rate is not None and not self.meets_threshold) or (
            self.can_still_miss == 0 and self.remaining > 0)

    @property
    def rate_text(self) -> str:
        """The rate for people: '85.7%' (or '—' before any session)."""
        return percent(self.rate)

    @property
    def threshold_text(self) -> str:
        """The threshold for people: '80%'."""
        return percent(self.threshold)

    @property
    def misses_to_fall_below(self) -> int | None:
        """再缺 N 次就低于门槛: can_still_miss + 1 (None when not computable or unreachable)."""
        if self.can_still_miss is None or not self.reachable or self.remaining == 0:
            return None
        return self.can_still_miss + 1


@dataclass(frozen=True)
class _SessionFacts:
    id: int
    starts_at: datetime
    ends_at: datetime


def _threshold(cohort: Cohort) -> Decimal:
    value = cohort.attendance_threshold
    return Decimal(value) if value is not None else DEFAULT_THRESHOLD


def _tally(sessions: Sequence[_SessionFacts], statuses: dict[int, str], policy: str, threshold: Decimal,
           now: datetime) -> AttendanceRate:
    """Compute an ``AttendanceRate`` from the scheduled sessions and one learner's statuses."""
    counts: Counter[str] = Counter()
    remaining_open = remaining_excused = 0
    for s in sessions:
        status = statuses.get(s.id)
        counted = s.ends_at <= now or status in (AttendanceStatus.PRESENT, AttendanceStatus.LATE,
                                                 AttendanceStatus.ABSENT)
        if counted:
            counts[status or AttendanceStatus.ABSENT] += 1
        elif status == AttendanceStatus.EXCUSED:
            remaining_excused += 1
        else:
            remaining_open += 1
    present, late = counts[AttendanceStatus.PRESENT], counts[AttendanceStatus.LATE]
    excused, absent = counts[AttendanceStatus.EXCUSED], counts[AttendanceStatus.ABSENT]
    policy = ExcusedPolicy(policy or ExcusedPolicy.EXCLUDE)
    attended = present + late + (excused if policy == ExcusedPolicy.PRESENT else 0)
    held = present + late + absent + (0 if policy == ExcusedPolicy.EXCLUDE else excused)
    rate = (Decimal(attended) / Decimal(held)).quantize(RATE_PLACES, ROUND_HALF_UP) if held else None
    meets = held == 0 or Decimal(attended) >= threshold * held
    # Projection to the end of the course: every remaining open session counts; remaining excused
    # ones count as the policy says.
    final_held = held + remaining_open + (0 if policy == ExcusedPolicy.EXCLUDE else remaining_excused)
    best = attended + remaining_open + (remaining_excused if policy == ExcusedPolicy.PRESENT else 0)
    can_still_miss: int | None
    reachable = True
    if final_held == 0:
        can_still_miss = None
    else:
        slack = Decimal(best) - threshold * final_held
        reachable = slack >= 0
        can_still_miss = min(int(slack.to_integral_value(ROUND_FLOOR)), remaining_open) if reachable else 0
    return AttendanceRate(held=held, present=present, late=late, excused=excused, absent=absent, rate=rate,
                          threshold=threshold, meets_threshold=meets, can_still_miss=can_still_miss,
                          remaining=remaining_open + remaining_excused, reachable=reachable)


def _session_facts(cohort_ids: Sequence[int]) -> dict[int, list[_SessionFacts]]:
    rows = db.session.execute(
        select(ClassSession.id, ClassSession.cohort_id, ClassSession.starts_at, ClassSession.ends_at)
        .where(ClassSession.cohort_id.in_(cohort_ids), ClassSession.status == SessionStatus.SCHEDULED)
    ).all()
    out: dict[int, list[_SessionFacts]] = {c: [] for c in cohort_ids}
    for sid, cid, starts_at, ends_at in rows:
        out[cid].append(_SessionFacts(sid, starts_at, ends_at))
    return out


def learner_attendance_rates(learner_id: int, cohorts: Sequence[Cohort], *,
                             now: datetime | None = None) -> dict[int, AttendanceRate]:
    """``AttendanceRate`` of one learner in each of ``cohorts`` (two queries), by cohort id."""
    now = now or now_utc()
    if not cohorts:
        return {}
    ids = [c.id for c in cohorts]
    facts = _session_facts(ids)
    statuses: dict[int, str] = dict(db.session.execute(
        select(AttendanceRecord.session_id, AttendanceRecord.status)
        .join(ClassSession, AttendanceRecord.session_id == ClassSession.id)
        .where(AttendanceRecord.learner_id == learner_id, ClassSession.cohort_id.in_(ids))
    ).all())
    return {c.id: _tally(facts[c.id], statuses, c.excused_policy, _threshold(c), now) for c in cohorts}


def attendance_rate(learner_id: int, cohort: Cohort, *, now: datetime | None = None) -> AttendanceRate:
    """The learner's ``AttendanceRate`` in ``cohort`` at ``now`` (default: the current time).

    Rule (BRIEF §3 Attendance): rate = (present + late) / sessions held, excused sessions counted
    as the cohort's ``excused_policy`` says (default: left out of both sides); cancelled sessions
    never count; an ended session without a status is absent. Two queries.
    """
    return learner_attendance_rates(learner_id, [cohort], now=now)[cohort.id]


def cohort_attendance_rates(cohort: Cohort, *, now: datetime | None = None) -> dict[int, AttendanceRate]:
    """``AttendanceRate`` of every ENROLLED learner of ``cohort``, by learner id.

    Three queries whatever the class size (enrolled ids, sessions, records) — safe for
    gradebooks and certificate batches of 300.
    """
    now = now or now_utc()
    learner_ids = enrolled_ids(cohort.id)
    facts = _session_facts([cohort.id])[cohort.id]
    by_learner: dict[int, dict[int, str]] = {i: {} for i in learner_ids}
    if learner_ids:
        rows = db.session.execute(
            select(AttendanceRecord.learner_id, AttendanceRecord.session_id, AttendanceRecord.status)
            .join(ClassSession, AttendanceRecord.session_id == ClassSession.id)
            .where(ClassSession.cohort_id == cohort.id, ClassSession.status == SessionStatus.SCHEDULED)
        ).all()
        for learner_id, session_id, status in rows:
            if learner_id in by_learner:
                by_learner[learner_id][session_id] = status
    threshold = _threshold(cohort)
    return {i: _tally(facts, by_learner[i], cohort.excused_policy, threshold, now) for i in learner_ids}


def meets_attendance_threshold(learner_id: int, cohort: Cohort, *, now: datetime | None = None) -> bool:
    """True when the learner's attendance rate in ``cohort`` is at or above its threshold.

    The one function exam and certificate eligibility read. A cohort where nothing has been held
    (no sessions recorded in the system) does not block: there is nothing to measure.
    """
    return attendance_rate(learner_id, cohort, now=now).meets_threshold


def percent(value: Decimal | None) -> str:
    """A fraction as a percentage for people: Decimal('0.8') → '80%', Decimal('0.8571') → '85.7%'."""
    if value is None:
        return "—"
    pct = (value * 100).quantize(Decimal("0.1"), ROUND_HALF_UP)
    text = f"{pct:f}".rstrip("0").rstrip(".")
    return f"{text}%"
