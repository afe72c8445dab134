"""Exact score arithmetic: parsing, rounding half-up, totals, pass/fail, statistics."""

from __future__ import annotations

import re
from decimal import Decimal
from pathlib import Path

import pytest

from academy.exams import scoring
from academy.exams.scoring import ABSENT, ComponentRule, Mark, MarkError, PassRule, evaluate, parse_mark

D = Decimal


@pytest.fixture(autouse=True)
def db():
    """Pure arithmetic: no database, so the suite's per-test table clean-up is skipped here."""
    yield None


HUNDRED = D("100")
THEORY = ComponentRule("理论知识", HUNDRED, D("60"), D("50"))
PRACTICAL = ComponentRule("操作技能", HUNDRED, D("60"), D("50"))


def pts(text: str) -> Mark:
    return Mark(points=D(text))


def rules(w_theory: str, w_practical: str) -> list[ComponentRule]:
    return [ComponentRule("理论知识", HUNDRED, D("60"), D(w_theory)),
            ComponentRule("操作技能", HUNDRED, D("60"), D(w_practical))]


def weighted(theory: str, practical: str, w_theory: str = "10", w_practical: str = "90"):
    return evaluate(rules(w_theory, w_practical), {"理论知识": pts(theory), "操作技能": pts(practical)},
                    pass_rule=PassRule.WEIGHTED_TOTAL, pass_mark=D("60"))


# --- parsing ---------------------------------------------------------------------------------

@pytest.mark.parametrize(("raw", "expected"), [
    ("88", D("88.0")), ("88.5", D("88.5")), ("88.50", D("88.5")), (" 88.5 ", D("88.5")), ("0", D("0")),
    ("100", D("100")), ("８８．５", D("88.5")), ("８８", D("88")), ("88。5", D("88.5")), ("88分", D("88")),
    (88, D("88")), (52.5, D("52.5")), (D("61.5"), D("61.5")), ("0.5", D("0.5")),
])
def test_marks_are_read_as_exact_decimals_including_full_width_input(raw, expected):
    mark = parse_mark(raw, maximum=HUNDRED)
    assert mark == Mark(points=expected)
    assert isinstance(mark.points, Decimal)


def test_full_width_88_point_5_is_read_as_88_5():
    assert parse_mark("８８．５", maximum=HUNDRED).points == D("88.5")


@pytest.mark.parametrize("raw", ["缺考", " 缺考 ", "缺", "Q", "q", "ｑ"])
def test_absent_is_its_own_mark_not_zero(raw):
    mark = parse_mark(raw, maximum=HUNDRED)
    assert mark is ABSENT and mark.absent and mark.points is None
    assert mark != parse_mark("0", maximum=HUNDRED)
    assert str(mark) == "缺考"


@pytest.mark.parametrize("raw", [None, "", "   ", "\u3000"])
def test_a_blank_cell_is_no_mark(raw):
    assert parse_mark(raw, maximum=HUNDRED) is None


@pytest.mark.parametrize(("raw", "message"), [
    ("100.5", "超过满分100"), ("101", "超过满分100"), (120, "超过满分100"),
    ("88.3", "0.5的倍数"), ("88.25", "0.5的倍数"), (88.30000000000001, "0.5的倍数"),
    ("-1", "负数"), ("abc", "请填写数字"), ("8 8", "请填写数字"), ("88.5.1", "请填写数字"),
    ("1e2", "请填写数字"), ("NaN", "请填写数字"), ("Infinity", "请填写数字"), ("八十", "请填写数字"),
    (True, "不是有效的分数"), ("0x10", "请填写数字"),
])
def test_malformed_out_of_range_and_off_step_marks_are_refused_with_a_reason(raw, message):
    with pytest.raises(MarkError) as err:
        parse_mark(raw, maximum=HUNDRED)
    assert message in str(err.value)


def test_the_maximum_of_the_component_bounds_the_mark():
    assert parse_mark("50", maximum=D("50")).points == D("50")
    with pytest.raises(MarkError, match="超过满分50"):
        parse_mark("50.5", maximum=D("50"))


def test_scores_are_shown_without_a_trailing_zero():
    assert scoring.format_score(D("88.0")) == "88"
    assert scoring.format_score(D("88.5")) == "88.5"
    assert scoring.format_score(D("60.00")) == "60"
    assert scoring.format_score(None) == ""


# --- rounding and totals -------------------------------------------------------------------

@pytest.mark.parametrize(("value", "expected"), [
    ("59.95", "60.0"), ("59.94", "59.9"), ("59.25", "59.3"), ("59.35", "59.4"), ("0.05", "0.1"),
    ("60.00", "60.0"), ("72.45", "72.5"), ("72.449999", "72.4"),
])
def test_totals_round_half_up_to_one_decimal(value, expected):
    assert str(scoring.quantize_total(D(value))) == expected


def test_a_half_at_the_second_decimal_rounds_up_not_to_even():
    # 0.1 × 57 + 0.9 × 59.5 = 59.25 exactly: half-up gives 59.3 (banker's rounding would give 59.2,
    # and binary floats give 59.25000000000001 or 59.24999…).
    result = weighted("57", "59.5")
    assert result.total == D("59.3")


def test_a_weighted_total_of_59_95_is_shown_as_60_and_passes():
    # 0.1 × 59.5 + 0.9 × 60 = 59.95 → shown 60.0 → passed, so the verdict agrees with the number shown.
    result = weighted("59.5", "60")
    assert result.total == D("60.0")
    assert result.passed is True


def test_a_weighted_total_just_below_59_95_fails_and_is_shown_below_60():
    # weights 1 and 99: 0.01 × 55 + 0.99 × 60 = 59.95 → 60.0; 0.01 × 50 + 0.99 × 60 = 59.9 → fails.
    assert weighted("55", "60", "1", "99").total == D("60.0")
    failed = weighted("50", "60", "1", "99")
    assert failed.total == D("59.9") and failed.passed is False


def test_a_total_of_exactly_60_passes_the_weighted_rule():
    result = weighted("60", "60")
    assert result.total == D("60.0") and result.passed is True


@pytest.mark.parametrize(("theory", "practical", "w_t", "w_p", "total"), [
    ("80", "90", "30", "70", "87.0"),
    ("80", "90", "0.3", "0.7", "87.0"),
    ("88.5", "71", "50", "50", "79.8"),  # 79.75 → 79.8
    ("33.5", "66.5", "1", "2", "55.5"),  # (33.5 + 133) / 3 = 55.5
    ("100", "0", "1", "2", "33.3"),  # 33.333… → 33.3
    ("0", "100", "1", "2", "66.7"),  # 66.666… → 66.7
])
def test_weighted_totals_are_exact_decimal_arithmetic(theory, practical, w_t, w_p, total):
    result = weighted(theory, practical, w_t, w_p)
    assert result.total == D(total)
    assert isinstance(result.total, Decimal)


def test_a_component_out_of_50_counts_by_its_percentage():
    rules_ = [ComponentRule("理论知识", D("50"), D("30"), D("50")), ComponentRule("操作技能", HUNDRED, D("60"), D("50"))]
    result = evaluate(rules_, {"理论知识": pts("40"), "操作技能": pts("70")}, pass_rule=PassRule.WEIGHTED_TOTAL,
                      pass_mark=D("60"))
    assert result.total == D("75.0")  # (80 % + 70 %) / 2


# --- pass/fail -------------------------------------------------------------------------------

def test_every_component_must_pass_under_the_default_rule():
    marks = {"理论知识": pts("100"), "操作技能": pts("59.5")}
    result = evaluate([THEORY, PRACTICAL], marks, pass_rule=PassRule.ALL_COMPONENTS, pass_mark=D("60"))
    assert result.total == D("79.8")  # 79.75
    assert result.passed is False
    assert result.component_passed == {"理论知识": True, "操作技能": False}


def test_exactly_the_pass_mark_passes_a_component():
    marks = {"理论知识": pts("60"), "操作技能": pts("60")}
    assert evaluate([THEORY, PRACTICAL], marks, pass_rule=PassRule.ALL_COMPONENTS, pass_mark=D("60")).passed is True


def test_an_absent_component_fails_and_gives_no_total():
    marks = {"理论知识": pts("100"), "操作技能": ABSENT}
    for rule in PassRule:
        result = evaluate([THEORY, PRACTICAL], marks, pass_rule=rule, pass_mark=D("60"))
        assert result.passed is False
        assert result.total is None
        assert result.absent
        assert result.component_passed["操作技能"] is False


def test_zero_is_a_mark_and_gives_a_total():
    marks = {"理论知识": pts("100"), "操作技能": pts("0")}
    result = evaluate([THEORY, PRACTICAL], marks, pass_rule=PassRule.WEIGHTED_TOTAL, pass_mark=D("60"))
    assert result.total == D("50.0") and result.passed is False and not result.absent


def test_a_missing_component_leaves_the_result_pending_without_a_partial_total():
    for marks in ({"理论知识": pts("90")}, {"理论知识": pts("90"), "操作技能": None}, {"理论知识": ABSENT}, {}):
        result = evaluate([THEORY, PRACTICAL], marks, pass_rule=PassRule.ALL_COMPONENTS, pass_mark=D("60"))
        assert result.passed is None and result.total is None and result.pending


# --- statistics ------------------------------------------------------------------------------

def test_mean_median_and_percent_are_decimals_rounded_half_up():
    values = [D("52.5"), D("61.5"), D("75.5"), D("74.5")]
    assert scoring.mean(values) == D("66.0")
    assert scoring.median(values) == D("68.0")  # (61.5 + 74.5) / 2
    assert scoring.median(values[:3]) == D("61.5")
    assert scoring.mean([D("1"), D("2"), D("2")]) == D("1.7")
    assert scoring.percent(2, 3) == D("66.7")
    assert scoring.percent(1, 8) == D("12.5")
    assert scoring.mean([]) is None and scoring.median([]) is None and scoring.percent(1, 0) is None


def test_the_histogram_has_ten_bins_and_the_top_one_includes_the_maximum():
    counts = scoring.histogram([D("0"), D("9.5"), D("10"), D("59.5"), D("60"), D("99.5"), D("100")], maximum=HUNDRED)
    assert counts == [2, 1, 0, 0, 0, 1, 1, 0, 0, 2]


# --- no float and no round() on scores anywhere in the module -----------------------------

def test_the_exams_module_never_uses_float_or_round():
    root = Path(__file__).resolve().parents[2] / "academy" / "exams"
    offenders = []
    for path in sorted(root.rglob("*.py")):
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            code = line.split("#", 1)[0]
            if re.search(r"\bfloat\(|\bround\(", code):
                offenders.append(f"{path.name}:{number}: {line.strip()}")
    assert offenders == []
