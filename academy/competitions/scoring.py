"""Contest arithmetic: aspect marks, component totals, weighted totals, ranks and awards.

Pure functions over ``Decimal`` (never floats), so that every rule is tested without a database.

Exactness. Sums and products of scores are exact in ``Decimal``. The only inexact operations
are the divisions by a number of judges and by 3 (judgement scale), e.g. 26/3. They run in
``SCORE_CONTEXT`` (60 significant digits), whose error (< 1e-50) is removed by ``exact`` —
rounding half-even to 20 decimal places — before any comparison or final rounding. Two values
that are mathematically equal therefore compare equal whatever the order of operations, and a
total that is exactly 92.125 rounds up to 92.13. (Distinct true values here are fractions with
small denominators — 3 × judges × …; they differ by far more than 1e-20.)

Rounding happens once, at the end: ``round_score`` (half-up, ``Edition.precision`` places,
2 by default) is applied to the weighted total and to the figures shown, never to the values a
total is computed from.

Ranking compares the figures as published, so anyone can check a rank from the results sheet:
first the rounded total (descending), then each tie-break in the event's order (component
scores rounded like the total, descending by default; time used ascending, a missing time
last). Contestants equal on every key share a rank (standard competition ranking: 92.5, 92.5,
90.0 → 1, 1, 3) when the event allows shared ranks; otherwise the tie is reported as unresolved
and publication is blocked until the rules break it.

Awards go down the ranking tier by tier (一等奖, 二等奖, …). Each tier has a cumulative cut in
positions: fixed counts add up (1/2/3 + 优胜奖 3 → cuts 1, 3, 6, 9); shares are percentages of the
ranked contestants, cumulated and rounded half-up (四舍五入) to whole places (63 contestants,
10/20/30 % → cuts round(6.3)=6, round(18.9)=19, round(37.8)=38). A contestant with rank r gets
the first tier whose cut is ≥ r. Tied contestants share a rank, so a tie across a boundary
gives every tied contestant the higher award and the next tier has fewer places (as in the
WorldSkills tied-medal rule: two golds, no silver).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_EVEN, ROUND_HALF_UP, Context, Decimal, localcontext

SCORE_CONTEXT = Context(prec=60, rounding=ROUND_HALF_EVEN)
EXACT_QUANTUM = Decimal("1e-20")
JUDGEMENT_SCALE = Decimal(3)  # judgement scores run 0–3
TRIM_MINIMUM = 5  # the trimmed mean needs at least five judges' values
MARK_STEP = Decimal("0.5")  # measurement marks are typed in steps of 0.5
JUDGEMENT_SCORES = (Decimal(0), Decimal(1), Decimal(2), Decimal(3))
TIME_KEY = "time"


def exact(value: Decimal) -> Decimal:
    """Remove the representation error of a divided value (round half-even to 20 places)."""
    with localcontext(SCORE_CONTEXT):
        return value.quantize(EXACT_QUANTUM)


def round_score(value: Decimal, places: int = 2) -> Decimal:
    """Round ``value`` half-up to ``places`` decimal places (the one and only final rounding).

    ``round_score(Decimal("92.125"))`` → ``Decimal("92.13")``.
    """
    with localcontext(SCORE_CONTEXT):
        return exact(value).quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)


def aggregate(values: Sequence[Decimal], method: str = "mean") -> Decimal:
    """Combine the judges' values of one aspect.

    ``method`` is ``"mean"`` or ``"trimmed"``: with at least five values the highest and the
    lowest are dropped (one each) and the rest averaged; with fewer the plain mean is used.
    ``[9.5, 9.0, 8.5, 8.5, 3.0]`` trimmed → mean of 9.0, 8.5, 8.5. Raises ``ValueError`` for
    no values (the aspect is incomplete).
    """
    if not values:
        raise ValueError("no values to aggregate")
    ordered = sorted(Decimal(v) for v in values)
    if method == "trimmed" and len(ordered) >= TRIM_MINIMUM:
        ordered = ordered[1:-1]
    with localcontext(SCORE_CONTEXT):
        return sum(ordered, Decimal(0)) / Decimal(len(ordered))


def aspect_mark(kind: str, max_mark: Decimal, values: Sequence[Decimal], method: str = "mean") -> Decimal:
    """The mark of one aspect for one contestant from the judges' values.

    Measurement (``"M"``): the aggregated mark. Judgement (``"J"``): ``max × aggregate(scores) / 3``
    (WorldSkills: each judge scores 0–3). Unrounded; see ``exact``.
    """
    combined = aggregate(values, method)
    if kind == "J":
        with localcontext(SCORE_CONTEXT):
            return Decimal(max_mark) * combined / JUDGEMENT_SCALE
    return combined


def judgement_spread_too_wide(values: Sequence[Decimal]) -> bool:
    """True when judgement scores differ by more than 1 point (WorldSkills: discuss and re-score)."""
    return len(values) > 1 and max(values) - min(values) > 1


def component_total(marks: Iterable[Decimal]) -> Decimal:
    """Sum of aspect marks: the score of a marking-scheme component (unrounded)."""
    with localcontext(SCORE_CONTEXT):
        return sum((Decimal(m) for m in marks), Decimal(0))


@dataclass(frozen=True)
class Weight:
    """A component's weight in percent and its maximum score."""

    percent: Decimal
    max_score: Decimal = Decimal(100)


def weighted_total(scores: Mapping[str, Decimal], weights: Mapping[str, Weight]) -> Decimal:
    """Σ score / max × weight over the components: a total out of 100 when weights add to 100.

    Theory 84 (30 %) and practical 90.5 (70 %) → 25.2 + 63.35 = 88.55. Unrounded. Raises
    ``KeyError`` when a component's score is missing.
    """
    with localcontext(SCORE_CONTEXT):
        total = Decimal(0)
        for code, weight in weights.items():
            total += Decimal(scores[code]) / weight.max_score * weight.percent
        return total


def validate_judge_value(kind: str, max_mark: Decimal, value: Decimal,
                         partial_marks: Sequence[Decimal] | None = None) -> str | None:
    """Why ``value`` is not an acceptable judge's value for the aspect, or None if it is.

    Judgement: 0, 1, 2 or 3. Measurement: one of ``partial_marks`` when defined, else from 0 to
    ``max_mark`` in steps of 0.5.
    """
    if kind == "J":
        return None if value in JUDGEMENT_SCORES else "评价分只能是 0、1、2、3"
    if partial_marks:
        allowed = sorted(Decimal(p) for p in partial_marks)
        if value not in allowed:
            return "只能选 " + "、".join(_plain(p) for p in allowed) + " 分"
        return None
    if value < 0 or value > max_mark:
        return f"应在 0 到 {_plain(max_mark)} 分之间"
    if value % MARK_STEP != 0:
        return "分数以 0.5 分为单位"
    return None


def _plain(value: Decimal) -> str:
    text = format(Decimal(value).normalize(), "f")
    return text


# --- ranking --------------------------------------------------------------------------------

@dataclass(frozen=True)
class TieBreak:
    """One tie-break key: a component code or ``"time"``, and its direction."""

    key: str
    descending: bool = True

    @classmethod
    def parse(cls, text: str) -> TieBreak:
        """``"practical:desc"`` → TieBreak("practical", True); ``"time:asc"`` → ascending."""
        key, _, direction = text.partition(":")
        return cls(key=key, descending=(direction or ("asc" if key == TIME_KEY else "desc")) == "desc")

    def __str__(self) -> str:
        return f"{self.key}:{'desc' if self.descending else 'asc'}"


DEFAULT_TIE_BREAKS = ("practical:desc", "time:asc", "theory:desc")


@dataclass
class Standing:
    """What a contestant is ranked on: ``total`` (unrounded), component scores, time used (s)."""

    key: object
    total: Decimal
    components: Mapping[str, Decimal] = field(default_factory=dict)
    time_used: int | None = None


@dataclass
class Ranking:
    """Ranks by standing key, in order; ``unresolved`` lists groups of keys tied on everything
    when shared ranks are not allowed (each group is in a provisional order)."""

    order: list[object]
    ranks: dict[object, int]
    unresolved: list[list[object]]


def _sort_key(standing: Standing, tie_breaks: Sequence[TieBreak], places: int) -> tuple:
    parts: list = [-round_score(standing.total, places)]
    for tb in tie_breaks:
        if tb.key == TIME_KEY:
            value = standing.time_used
            missing = value is None
            number = Decimal(value) if value is not None else Decimal(0)
        else:
            raw = standing.components.get(tb.key)
            missing = raw is None
            number = round_score(raw, places) if raw is not None else Decimal(0)
        # a missing value sorts after every present one, whatever the direction
        parts.append((missing, -number if tb.descending else number))
    return tuple(parts)


def rank(standings: Sequence[Standing], tie_breaks: Sequence[TieBreak], *, shared_ranks: bool = True,
         places: int = 2) -> Ranking:
    """Order contestants and give ranks (see the module notes for the comparison rules).

    ``standings`` in any order; ties that remain after every tie-break keep their input order
    (callers pass them by drawn number). Returns ``Ranking``: with ``shared_ranks`` tied
    contestants share the better rank (1, 1, 3); without, they get consecutive ranks and are
    listed in ``unresolved``.
    """
    keyed = [(_sort_key(s, tie_breaks, places), i, s) for i, s in enumerate(standings)]
    keyed.sort(key=lambda item: (item[0], item[1]))
    order: list[object] = []
    ranks: dict[object, int] = {}
    unresolved: list[list[object]] = []
    previous_key = None
    group: list[object] = []
    for position, (sort_key, _, standing) in enumerate(keyed, start=1):
        if sort_key == previous_key:
            group.append(standing.key)
            ranks[standing.key] = ranks[group[0]] if shared_ranks else position
        else:
            if len(group) > 1 and not shared_ranks:
                unresolved.append(group)
            group = [standing.key]
            ranks[standing.key] = position
        previous_key = sort_key
        order.append(standing.key)
    if len(group) > 1 and not shared_ranks:
        unresolved.append(group)
    return Ranking(order=order, ranks=ranks, unresolved=unresolved)


# --- awards ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class Tier:
    """An award tier for the computation: a fixed ``count`` or a ``share`` in percent."""

    name: str
    count: int | None = None
    share: Decimal | None = None


def award_cuts(tiers: Sequence[Tier], ranked: int, mode: str) -> list[int]:
    """Cumulative cut (last position) of each tier, best tier first.

    ``mode`` ``"counts"`` adds the fixed counts; ``"shares"`` rounds ``ranked × Σ shares / 100``
    half-up at each tier. A cut never exceeds ``ranked``.
    """
    cuts: list[int] = []
    running_count = 0
    running_share = Decimal(0)
    for tier in tiers:
        if mode == "shares":
            running_share += Decimal(tier.share or 0)
            with localcontext(SCORE_CONTEXT):
                cut = int((Decimal(ranked) * running_share / 100).quantize(Decimal(1), rounding=ROUND_HALF_UP))
        else:
            running_count += int(tier.count or 0)
            cut = running_count
        cuts.append(min(cut, ranked))
    return cuts


def assign_awards(ranks: Mapping[object, int], tiers: Sequence[Tier], mode: str) -> dict[object, int]:
    """Award tier index (0 = best) per contestant key; keys without an award are left out.

    A contestant with rank r gets the first tier whose cumulative cut is ≥ r, so contestants
    tied across a boundary all get the higher award (see the module notes).
    """
    cuts = award_cuts(tiers, len(ranks), mode)
    awards: dict[object, int] = {}
    for key, r in ranks.items():
        for index, cut in enumerate(cuts):
            if r <= cut:
                awards[key] = index
                break
    return awards
