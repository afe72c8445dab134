"""Exact score arithmetic: parsing marks, totals, pass/fail, statistics. Pure functions, no database.

Rules (BRIEF.md §3 "Assessment"): scores are decimals in steps of 0.5, never floats; totals are
rounded half-up to one decimal (``Decimal.quantize(Decimal("0.1"), ROUND_HALF_UP)``); 缺考
(absent) is a mark of its own, not zero; a missing mark leaves the result pending. Pass/fail is
always decided on the same quantized values that are shown, so what a person reads can never
disagree with the verdict (59.95 is shown as 60 and passes; it is never "60 but failed").
"""

from __future__ import annotations

import enum
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import ROUND_FLOOR, ROUND_HALF_UP, Decimal, InvalidOperation

from academy.common.text import clean, to_halfwidth

ONE_DECIMAL = Decimal("0.1")
STEP = Decimal("0.5")
HUNDRED = Decimal("100")
ABSENT_TEXT = "缺考"
# What a person may type for an absence: 缺考, 缺, or the letter Q on a keyboard without Chinese input.
ABSENT_SPELLINGS = frozenset({"缺考", "缺", "缺席", "q"})
_NUMBER = re.compile(r"^\d{1,4}(\.\d+)?$")


class PassRule(enum.StrEnum):
    """How an attempt passes: every component reaches its pass mark (default, as Chinese skill
    assessments work) or the weighted total reaches the assessment's pass mark."""

    ALL_COMPONENTS = "all_components"
    WEIGHTED_TOTAL = "weighted_total"


PASS_RULE_LABELS = {PassRule.ALL_COMPONENTS: "各科均及格", PassRule.WEIGHTED_TOTAL: "加权总分及格"}


class AttemptPolicy(enum.StrEnum):
    """Which attempt counts when a learner sat a resit (补考): the best one or the latest one."""

    BEST = "best"
    LATEST = "latest"


ATTEMPT_POLICY_LABELS = {AttemptPolicy.BEST: "取最好一次", AttemptPolicy.LATEST: "取最后一次"}


class MarkError(ValueError):
    """A typed or imported mark is not acceptable; ``str()`` is a short Chinese reason."""


@dataclass(frozen=True)
class Mark:
    """One recorded mark: ``points`` (Decimal, one decimal place) or ``absent`` (缺考), never both."""

    points: Decimal | None = None
    absent: bool = False

    def __post_init__(self):
        if self.absent == (self.points is not None):
            raise ValueError("a mark is either points or absent")

    def __str__(self) -> str:
        return ABSENT_TEXT if self.absent else format_score(self.points)


ABSENT = Mark(absent=True)


def format_score(value: Decimal | None) -> str:
    """Show a score: one decimal at most, no trailing ``.0`` (88 → "88", 88.5 → "88.5"); None → ""."""
    if value is None:
        return ""
    text = format(value.quantize(ONE_DECIMAL, rounding=ROUND_HALF_UP), "f")
    return text[:-2] if text.endswith(".0") else text


def parse_points(raw: object) -> Decimal:
    """Read a number typed by a person or stored in a spreadsheet as an exact ``Decimal``.

    Accepts int, Decimal, a float cell from openpyxl (converted through its shortest text, so
    52.5 stays 52.5 and 88.30000000000001 stays what it is), full-width digits (``８８．５``), the
    ideographic full stop ``。`` of a Chinese keyboard and a trailing ``分``.
    Raises ``MarkError`` for anything else (text, negative numbers, exponents, NaN).
    """
    if isinstance(raw, bool):
        raise MarkError("不是有效的分数")
    if isinstance(raw, Decimal):
        text = format(raw, "f")
    elif isinstance(raw, int | float):
        text = repr(raw)
    else:
        text = to_halfwidth(clean(raw)).strip().replace("。", ".")
        if text.endswith("分"):
            text = text[:-1]
    if text.startswith("-"):
        raise MarkError("分数不能是负数")
    if not _NUMBER.match(text):
        raise MarkError("请填写数字（如 88 或 88.5）或“缺考”")
    try:
        return Decimal(text)
    except InvalidOperation:  # pragma: no cover - the pattern already guarantees a number
        raise MarkError("不是有效的分数") from None


def parse_mark(raw: object, *, maximum: Decimal) -> Mark | None:
    """Parse one cell: blank → None, 缺考 → ``ABSENT``, else a number in steps of 0.5 within 0…maximum.

    Raises ``MarkError`` with the reason shown beside the cell: "超过满分100", "分数只能是0.5的倍数", …
    """
    if raw is None or (isinstance(raw, str) and clean(raw) == ""):
        return None
    if isinstance(raw, str) and to_halfwidth(clean(raw)).replace(" ", "").lower() in ABSENT_SPELLINGS:
        return ABSENT
    points = parse_points(raw)
    if points > maximum:
        raise MarkError(f"超过满分{format_score(maximum)}")
    if (points / STEP) != (points / STEP).to_integral_value():
        raise MarkError("分数只能是0.5的倍数（如 88 或 88.5）")
    return Mark(points=points.quantize(ONE_DECIMAL))


def quantize_total(value: Decimal) -> Decimal:
    """Round a total half-up to one decimal place (59.95 → 60.0, 59.25 → 59.3)."""
    return value.quantize(ONE_DECIMAL, rounding=ROUND_HALF_UP)


@dataclass(frozen=True)
class ComponentRule:
    """A component (科目) as the arithmetic needs it: maximum, pass mark (both in points) and a
    relative weight (30 and 70, or 0.3 and 0.7, mean the same)."""

    name: str
    max_points: Decimal
    pass_mark: Decimal
    weight: Decimal


@dataclass(frozen=True)
class Result:
    """The result of one attempt.

    ``passed`` is None while any component is missing (pending). ``total`` is the weighted total
    on a 100-point scale, rounded half-up to 0.1; it is None when pending or when any component
    is 缺考 (a total that counted an absence as zero would read as a score the learner never got).
    ``component_passed`` says per component whether its pass mark was reached (None = missing).
    """

    passed: bool | None
    total: Decimal | None
    marks: dict[str, Mark | None]
    component_passed: dict[str, bool | None]

    @property
    def pending(self) -> bool:
        return self.passed is None

    @property
    def absent(self) -> bool:
        return any(m is not None and m.absent for m in self.marks.values())


def weighted_total(rules: Sequence[ComponentRule], marks: Mapping[str, Mark | None]) -> Decimal | None:
    """Σ weightᵢ × pointsᵢ × 100 / maxᵢ ÷ Σ weightᵢ, rounded half-up to 0.1; None if any mark is
    missing or absent, or the weights add up to zero. Decimal arithmetic only."""
    weight_sum = sum((r.weight for r in rules), Decimal(0))
    if not rules or weight_sum <= 0:
        return None
    acc = Decimal(0)
    for rule in rules:
        mark = marks.get(rule.name)
        if mark is None or mark.absent:
            return None
        acc += rule.weight * mark.points * HUNDRED / rule.max_points
    return quantize_total(acc / weight_sum)


def evaluate(rules: Sequence[ComponentRule], marks: Mapping[str, Mark | None], *, pass_rule: str,
             pass_mark: Decimal) -> Result:
    """Decide one attempt from its marks (``marks`` maps component name → Mark or None).

    * Any missing mark → pending (``passed`` None, ``total`` None): never a partial total.
    * 缺考 in any component → failed, that component failed, no total.
    * ``PassRule.ALL_COMPONENTS``: passed when every component's points ≥ its pass mark.
    * ``PassRule.WEIGHTED_TOTAL``: passed when the rounded total (the number shown) ≥ ``pass_mark``.
    """
    marks = {r.name: marks.get(r.name) for r in rules}
    component_passed: dict[str, bool | None] = {}
    for rule in rules:
        mark = marks[rule.name]
        component_passed[rule.name] = None if mark is None else (not mark.absent and mark.points >= rule.pass_mark)
    if any(m is None for m in marks.values()) or not rules:
        return Result(None, None, marks, component_passed)
    total = weighted_total(rules, marks)
    if any(m.absent for m in marks.values()):
        return Result(False, None, marks, component_passed)
    if PassRule(pass_rule) is PassRule.WEIGHTED_TOTAL:
        passed = total is not None and total >= pass_mark
    else:
        passed = all(component_passed.values())
    return Result(passed, total, marks, component_passed)


# --- statistics -----------------------------------------------------------------------------

def mean(values: Sequence[Decimal]) -> Decimal | None:
    """Arithmetic mean, rounded half-up to 0.1; None for no values."""
    if not values:
        return None
    return quantize_total(sum(values, Decimal(0)) / Decimal(len(values)))


def median(values: Sequence[Decimal]) -> Decimal | None:
    """Median (mean of the two middle values for an even count), rounded half-up to 0.1."""
    if not values:
        return None
    ordered = sorted(values)
    mid = len(ordered) // 2
    if len(ordered) % 2:
        return quantize_total(ordered[mid])
    return quantize_total((ordered[mid - 1] + ordered[mid]) / 2)


def percent(part: int, whole: int) -> Decimal | None:
    """``part / whole`` as a percentage rounded half-up to 0.1 (2 of 3 → 66.7); None when whole is 0."""
    if whole == 0:
        return None
    return quantize_total(Decimal(part) * HUNDRED / Decimal(whole))


def histogram(values: Sequence[Decimal], *, maximum: Decimal, bins: int = 10) -> list[int]:
    """Counts per equal-width bin over 0…maximum; the top bin includes the maximum (90–100)."""
    counts = [0] * bins
    for value in values:
        index = (value * bins / maximum).to_integral_value(rounding=ROUND_FLOOR)
        counts[min(max(int(index), 0), bins - 1)] += 1
    return counts
