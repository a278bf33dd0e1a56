"""Global-budget settlement, worked by hand (yuan figures below; the code works in fen).

Community: budget B = 10,000,000 yuan; a county hospital (score 90) and two township health
centres (scores 80 and 100, grassroots). Out-of-county fund payments 2,000,000: 150,000 a month,
plus 200,000 more in December. Terms: 5% withheld, 80% of a surplus retained, reasonable overrun
up to 5% of B shared 50/50 with the fund, score 90, grassroots tilt 20%, staff rewards ≤ 60%.
"""

from __future__ import annotations

from fractions import Fraction

from yilian.insurance.budget.rules import (
    Member,
    ScoreBand,
    Spending,
    Terms,
    settle,
)

YUAN = 100


def terms(**overrides: object) -> Terms:
    values: dict[str, object] = {
        "year": 2025,
        "budget_fen": 10_000_000 * YUAN,
        "withheld_share": Fraction(5, 100),
        "retained_share": Fraction(80, 100),
        "overrun_threshold": Fraction(5, 100),
        "overrun_fund_ratio": Fraction(50, 100),
        "assessment_score": Fraction(90),
        "grassroots_tilt": Fraction(20, 100),
        "staff_reward_share": Fraction(60, 100),
    }
    values.update(overrides)
    return Terms(**values)  # type: ignore[arg-type]


def spending(county_yuan: int) -> Spending:
    outside = dict.fromkeys(range(1, 13), 150_000 * YUAN)
    outside[12] += 200_000 * YUAN
    return Spending(
        members=(
            Member("H", "县人民医院", False, county_yuan * YUAN, Fraction(90)),
            Member("A", "甲镇卫生院", True, 1_500_000 * YUAN, Fraction(80)),
            Member("B", "乙镇卫生院", True, 500_000 * YUAN, Fraction(100)),
        ),
        outside_county_fen=2_000_000 * YUAN,
        in_county_non_member_fen=0,
        outside_county_by_month=outside,
    )


def yuan(settlement: object, key: str) -> Fraction:
    return Fraction(settlement.figure(key), YUAN)  # type: ignore[attr-defined]


def test_surplus_is_retained_and_shared_towards_grassroots() -> None:
    result = settle(terms(), spending(5_000_000))  # S = 7,000,000 + 2,000,000
    assert result.outcome == "surplus"
    assert yuan(result, "spending") == 9_000_000
    assert yuan(result, "surplus") == 1_000_000
    assert yuan(result, "retained") == 800_000
    assert yuan(result, "surplus_to_fund") == 200_000
    assert yuan(result, "entitlement") == 7_800_000  # 7,000,000 + 800,000
    assert yuan(result, "prepayment_base") == 8_000_000  # 10,000,000 − 2,000,000
    assert yuan(result, "prepaid") == 7_600_000
    assert yuan(result, "withheld") == 400_000
    assert yuan(result, "withheld_returned") == 360_000  # 90 / 100
    assert yuan(result, "withheld_forfeited") == 40_000
    assert yuan(result, "year_end_payment") == 160_000  # 7,800,000 − 7,600,000 − 40,000
    # Monthly: (833,333.33… − 150,000) × 95% = 649,166.666…; December (− 350,000) 459,166.666…
    # 8 fen left after flooring go to January–August (equal remainders, earlier first).
    assert result.monthly_prepayment_fen == (64_916_667,) * 8 + (64_916_666,) * 3 + (45_916_666,)
    assert sum(result.monthly_prepayment_fen) == result.figure("prepaid")
    # Retained 80,000,000 fen by weights 90 : 96 : 120 (grassroots × 1.2), sum 306.
    shares = {s.code: (s.retained_fen, s.staff_reward_fen) for s in result.shares}
    assert shares == {
        "H": (23_529_412, 14_117_647),  # 23,529,411.76 + the one fen left over
        "A": (25_098_039, 15_058_823),
        "B": (31_372_549, 18_823_529),
    }


def test_small_overrun_is_shared_with_the_fund() -> None:
    result = settle(terms(), spending(6_300_000))  # S = 10,300,000
    assert result.outcome == "overrun"
    assert yuan(result, "overrun") == 300_000
    assert yuan(result, "reasonable_overrun") == 300_000  # under 5% of B = 500,000
    assert yuan(result, "fund_shared_overrun") == 150_000
    assert yuan(result, "community_borne_overrun") == 150_000
    assert yuan(result, "entitlement") == 8_150_000  # 8,300,000 − 150,000
    assert yuan(result, "year_end_payment") == 510_000  # 8,150,000 − 7,600,000 − 40,000
    assert all(s.retained_fen == 0 for s in result.shares)


def test_large_overrun_beyond_the_threshold_is_borne_by_the_community() -> None:
    result = settle(terms(), spending(7_000_000))  # S = 11,000,000
    assert yuan(result, "overrun") == 1_000_000
    assert yuan(result, "reasonable_overrun") == 500_000
    assert yuan(result, "fund_shared_overrun") == 250_000
    assert yuan(result, "community_borne_overrun") == 750_000
    assert yuan(result, "entitlement") == 8_250_000  # = B − outside + fund share
    assert yuan(result, "year_end_payment") == 610_000


def test_zero_score_forfeits_the_whole_withheld_share() -> None:
    result = settle(terms(assessment_score=Fraction(0)), spending(5_000_000))
    assert yuan(result, "withheld_returned") == 0
    assert yuan(result, "withheld_forfeited") == 400_000
    assert yuan(result, "year_end_payment") == -200_000  # the community pays back


def test_score_bands_replace_the_proportional_rule() -> None:
    bands = (
        ScoreBand(Fraction(90), Fraction(1)),
        ScoreBand(Fraction(80), Fraction(8, 10)),
        ScoreBand(Fraction(0), Fraction(0)),
    )
    result = settle(terms(assessment_score=Fraction(85), score_bands=bands), spending(5_000_000))
    assert yuan(result, "withheld_returned") == 320_000  # 400,000 × 80%


def test_outside_spending_not_counted_leaves_the_balance() -> None:
    result = settle(terms(count_outside_county=False), spending(5_000_000))
    assert yuan(result, "spending") == 7_000_000
    assert yuan(result, "surplus") == 3_000_000
    assert yuan(result, "prepayment_base") == 10_000_000


def test_terms_out_of_range_are_named() -> None:
    bad = terms(budget_fen=0, retained_share=Fraction(3, 2), assessment_score=Fraction(101))
    assert [field for field, _, _ in bad.problems()] == ["budget", "retained_share", "assessment_score"]
    assert terms().problems() == []
