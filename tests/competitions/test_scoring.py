"""The contest arithmetic (academy/competitions/scoring.py): pure functions over Decimal."""

from __future__ import annotations

from decimal import Decimal as D

import pytest

from academy.competitions import scoring
from academy.competitions.scoring import Standing, TieBreak, Tier

DEFAULT_TB = [TieBreak.parse(t) for t in scoring.DEFAULT_TIE_BREAKS]


def test_judgement_mark_is_max_times_mean_score_over_three():
    # three judges score 2, 3, 2 on a 6-mark aspect: 6 × (7/3) / 3 = 14/3
    mark = scoring.aspect_mark("J", D(6), [D(2), D(3), D(2)])
    assert scoring.round_score(mark) == D("4.67")
    assert scoring.exact(mark) == scoring.exact(D(6) * D(7) / D(9))
    assert scoring.aspect_mark("J", D(4), [D(3), D(3), D(3)]) == D(4)
    assert scoring.aspect_mark("J", D(4), [D(0), D(0), D(0)]) == D(0)


def test_trimmed_mean_with_five_judges_drops_the_highest_and_the_lowest():
    values = [D("9.5"), D("9.0"), D("8.5"), D("8.5"), D("3.0")]
    trimmed = scoring.aggregate(values, "trimmed")
    assert scoring.exact(trimmed) == scoring.exact((D("9.0") + D("8.5") + D("8.5")) / 3)
    assert scoring.round_score(trimmed) == D("8.67")
    # the plain mean keeps the outlier
    assert scoring.aggregate(values, "mean") == D("7.7")


def test_trimmed_mean_with_fewer_than_five_judges_is_the_plain_mean():
    values = [D(10), D(2), D(6), D(6)]
    assert scoring.aggregate(values, "trimmed") == scoring.aggregate(values, "mean") == D(6)


def test_trimmed_judgement_aspect_drops_one_high_and_one_low_score():
    mark = scoring.aspect_mark("J", D(9), [D(3), D(3), D(2), D(1), D(0)], "trimmed")
    assert mark == D(9) * D(2) / D(3)  # mean of 3, 2, 1 = 2 → 6


def test_aggregate_refuses_an_aspect_without_values():
    with pytest.raises(ValueError):
        scoring.aggregate([])


def test_thirds_add_up_exactly_so_equal_totals_compare_equal():
    # 1/3 + 1/3 + 1/3 computed through different aspects equals 1 exactly after exact()
    marks = [scoring.aspect_mark("J", D(1), [D(1), D(1), D(1)]) for _ in range(3)]
    assert scoring.exact(scoring.component_total(marks)) == D(1)


def test_decimal_sums_tie_where_floats_would_not():
    assert 0.1 + 0.2 != 0.3  # the float trap this module avoids
    a = Standing("a", scoring.weighted_total({"theory": D("0.1") + D("0.2"), "practical": D(90)},
                                             {"theory": scoring.Weight(D(30)), "practical": scoring.Weight(D(70))}),
                 {"theory": D("0.1") + D("0.2"), "practical": D(90)})
    b = Standing("b", scoring.weighted_total({"theory": D("0.3"), "practical": D(90)},
                                             {"theory": scoring.Weight(D(30)), "practical": scoring.Weight(D(70))}),
                 {"theory": D("0.3"), "practical": D(90)})
    ranking = scoring.rank([a, b], DEFAULT_TB)
    assert ranking.ranks == {"a": 1, "b": 1}


def test_weighted_total_uses_percent_weights_and_each_components_maximum():
    weights = {"theory": scoring.Weight(D(30)), "practical": scoring.Weight(D(70))}
    assert scoring.weighted_total({"theory": D(84), "practical": D("90.5")}, weights) == D("88.55")
    # a component out of 50 counts as its share of 50
    weights = {"theory": scoring.Weight(D(30), D(50)), "practical": scoring.Weight(D(70))}
    assert scoring.weighted_total({"theory": D(40), "practical": D(80)}, weights) == D(80)


def test_rounding_is_half_up_at_the_end_only():
    assert scoring.round_score(D("92.125")) == D("92.13")
    assert scoring.round_score(D("92.124999")) == D("92.12")
    assert scoring.round_score(D("88.555"), 1) == D("88.6")
    # practical 90.005 counts as is: 24 + 63.0035 = 87.0035 → 87.00 (rounding it to 90.01 first would give 87.01)
    total = scoring.weighted_total({"theory": D(80), "practical": D("90.005")},
                                   {"theory": scoring.Weight(D(30)), "practical": scoring.Weight(D(70))})
    assert scoring.round_score(total) == D("87.00")


def test_shared_ranks_give_one_one_three():
    standings = [Standing("x", D("90.0")), Standing("a", D("92.5")), Standing("b", D("92.5"))]
    ranking = scoring.rank(standings, [], shared_ranks=True)
    assert ranking.ranks == {"a": 1, "b": 1, "x": 3}
    assert ranking.order == ["a", "b", "x"]
    assert ranking.unresolved == []


def test_without_shared_ranks_a_full_tie_is_reported_unresolved():
    standings = [Standing("a", D("92.5")), Standing("b", D("92.5")), Standing("x", D(90))]
    ranking = scoring.rank(standings, [], shared_ranks=False)
    assert ranking.ranks == {"a": 1, "b": 2, "x": 3}
    assert ranking.unresolved == [["a", "b"]]


def test_tie_break_cascade_practical_then_time_then_theory():
    # all four have the same total 88.00
    same = D(88)
    standings = [
        Standing("theory_decides_low", same, {"practical": D(90), "theory": D("83.3")}, 600),
        Standing("practical_wins", same, {"practical": D(91), "theory": D(80)}, 900),
        Standing("time_decides", same, {"practical": D(90), "theory": D(80)}, 590),
        Standing("theory_decides_high", same, {"practical": D(90), "theory": D("83.4")}, 600),
    ]
    ranking = scoring.rank(standings, DEFAULT_TB, shared_ranks=False)
    assert ranking.order == ["practical_wins", "time_decides", "theory_decides_high", "theory_decides_low"]
    assert [ranking.ranks[k] for k in ranking.order] == [1, 2, 3, 4]
    assert ranking.unresolved == []


def test_tie_breaks_compare_published_figures_and_a_missing_time_sorts_last():
    standings = [Standing("no_time", D(80), {"practical": D("85.001")}, None),
                 Standing("timed", D(80), {"practical": D("84.999")}, 700)]
    ranking = scoring.rank(standings, DEFAULT_TB, shared_ranks=True)
    # 85.001 and 84.999 are both published as 85.00, so time decides; no time counts as slowest
    assert ranking.order == ["timed", "no_time"]


def test_totals_equal_once_rounded_then_go_to_the_tie_breaks():
    standings = [Standing("a", D("92.504"), {"practical": D(90)}), Standing("b", D("92.496"), {"practical": D(95)})]
    ranking = scoring.rank(standings, DEFAULT_TB)
    assert ranking.order == ["b", "a"]
    assert ranking.ranks == {"b": 1, "a": 2}


def test_award_counts_one_two_three_and_three_honourable_mentions():
    tiers = [Tier("一等奖", 1), Tier("二等奖", 2), Tier("三等奖", 3), Tier("优胜奖", 3)]
    ranks = {k: k for k in range(1, 64)}
    awards = scoring.assign_awards(ranks, tiers, "counts")
    counts = [sum(1 for v in awards.values() if v == i) for i in range(4)]
    assert counts == [1, 2, 3, 3]
    assert awards[1] == 0 and awards[3] == 1 and awards[6] == 2 and awards[9] == 3 and 10 not in awards


def test_award_counts_with_a_tie_at_the_boundary_give_everyone_tied_the_higher_award():
    tiers = [Tier("一等奖", 1), Tier("二等奖", 2), Tier("三等奖", 3)]
    # positions 2, 3 and 4 are tied for second: all three get 二等奖, 三等奖 keeps positions 5–6
    ranks = {"a": 1, "b": 2, "c": 2, "d": 2, "e": 5, "f": 6, "g": 7}
    awards = scoring.assign_awards(ranks, tiers, "counts")
    assert awards == {"a": 0, "b": 1, "c": 1, "d": 1, "e": 2, "f": 2}


def test_two_tied_firsts_take_the_second_prize_place():
    tiers = [Tier("一等奖", 1), Tier("二等奖", 2), Tier("三等奖", 3)]
    awards = scoring.assign_awards({"a": 1, "b": 1, "c": 3, "d": 4}, tiers, "counts")
    assert awards == {"a": 0, "b": 0, "c": 1, "d": 2}


def test_award_shares_round_cumulative_counts_half_up():
    tiers = [Tier("一等奖", share=D(10)), Tier("二等奖", share=D(20)), Tier("三等奖", share=D(30))]
    assert scoring.award_cuts(tiers, 63, "shares") == [6, 19, 38]  # 6.3, 18.9, 37.8
    assert scoring.award_cuts(tiers, 25, "shares") == [3, 8, 15]  # 2.5 → 3, 7.5 → 8, 15
    assert scoring.award_cuts(tiers, 4, "shares") == [0, 1, 2]  # 0.4, 1.2, 2.4
    ranks = {k: k for k in range(1, 64)}
    awards = scoring.assign_awards(ranks, tiers, "shares")
    assert [sum(1 for v in awards.values() if v == i) for i in range(3)] == [6, 13, 19]


def test_award_shares_with_a_tie_at_the_boundary():
    tiers = [Tier("一等奖", share=D(10)), Tier("二等奖", share=D(20))]
    # 20 contestants: cuts 2 and 6; positions 2 and 3 tie at rank 2, both get 一等奖
    ranks = {k: k for k in range(1, 21)}
    ranks[3] = 2
    awards = scoring.assign_awards(ranks, tiers, "shares")
    assert [k for k, v in awards.items() if v == 0] == [1, 2, 3]
    assert [k for k, v in awards.items() if v == 1] == [4, 5, 6]


def test_measurement_values_are_checked_for_range_step_and_partial_marks():
    assert scoring.validate_judge_value("M", D(10), D("9.5")) is None
    assert scoring.validate_judge_value("M", D(10), D("10.5")) == "应在 0 到 10 分之间"
    assert scoring.validate_judge_value("M", D(10), D("9.3")) == "分数以 0.5 分为单位"
    assert scoring.validate_judge_value("M", D(3), D(2), [D(0), D("1.5"), D(3)]) == "只能选 0、1.5、3 分"
    assert scoring.validate_judge_value("M", D(3), D("1.5"), [D(0), D("1.5"), D(3)]) is None
    assert scoring.validate_judge_value("J", D(6), D(3)) is None
    assert scoring.validate_judge_value("J", D(6), D("2.5")) == "评价分只能是 0、1、2、3"
    assert scoring.validate_judge_value("J", D(6), D(4)) == "评价分只能是 0、1、2、3"


def test_judgement_spread_over_one_point_is_flagged():
    assert scoring.judgement_spread_too_wide([D(1), D(3), D(2)])
    assert not scoring.judgement_spread_too_wide([D(2), D(3), D(2)])
