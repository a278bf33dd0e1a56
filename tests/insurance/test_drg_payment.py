"""Relative weights and point-value payment with outliers, worked by hand (amounts in fen)."""

from __future__ import annotations

from fractions import Fraction

from yilian.insurance.drg.payment import (
    CaseGroup,
    DrgCost,
    OutlierRule,
    capitation_fen,
    pay_by_points,
    standards,
    trim_ranks,
)


def test_trimming_drops_five_percent_by_rank_each_side() -> None:
    assert trim_ranks(20, Fraction(5, 100)) == (2, 19)
    assert trim_ranks(19, Fraction(5, 100)) == (1, 19)  # ⌊0.95⌋ = 0: nothing dropped
    assert trim_ranks(100, Fraction(5, 100)) == (6, 95)


def test_weights_limits_points_and_point_value() -> None:
    overall, table = standards(
        [DrgCost("XX15", 20, 18, 18 * 5_000), DrgCost("YY19", 11, 9, 9 * 20_000)], OutlierRule()
    )
    assert overall == 10_000  # 270,000 / 27
    by_drg = {s.drg: s for s in table}
    assert (by_drg["XX15"].weight, by_drg["YY19"].weight) == (Fraction(1, 2), Fraction(2))
    # weight ≤ 1 → 3 × mean; 1 < weight ≤ 2 → 2.5 × mean; low-cost under 0.4 × mean
    assert (by_drg["XX15"].high_limit_fen, by_drg["XX15"].low_limit_fen) == (15_000, 2_000)
    assert (by_drg["YY19"].high_limit_fen, by_drg["YY19"].low_limit_fen) == (50_000, 8_000)

    groups = [
        CaseGroup("H", "XX15", "normal", 10, 50_000),  # 10 × 50 = 500 points
        CaseGroup("H", "YY19", "high", 1, 70_000),  # 200 + (70,000 − 50,000) / 10,000 × 100 = 400
        CaseGroup("H", "YY19", "low", 1, 4_000),  # 200 × 4,000 / 20,000 = 40
        CaseGroup("H", "ZZ15", "unweighted", 1, 30_000),  # 30,000 / 10,000 × 100 = 300
        CaseGroup("T", "XX15", "normal", 4, 20_000),  # 200
    ]
    payment = pay_by_points(groups, by_drg, overall, budget_fen=1_440_000)
    assert payment.total_points == 1_440
    assert payment.point_value_fen == 1_000
    rows = {r.institution: r for r in payment.institutions}
    assert (rows["H"].points, rows["H"].payment_fen, rows["H"].cases) == (1_240, 1_240_000, 13)
    assert (rows["T"].points, rows["T"].payment_fen) == (200, 200_000)
    # CMI: (10 × 0.5 + 2 × 2) / 12 weighted cases
    assert rows["H"].case_mix_index == Fraction(9, 12)
    assert rows["T"].case_mix_index == Fraction(1, 2)


def test_weight_tiers_are_configurable() -> None:
    rule = OutlierRule(high_tiers=((Fraction(1), Fraction(4)),), high_above=Fraction(3), low=Fraction(1, 2))
    _, table = standards([DrgCost("A", 1, 1, 1_000), DrgCost("B", 1, 1, 3_000)], rule)
    # overall mean 2,000: A weight 0.5 → 4 × 1,000; B weight 1.5 → 3 × 3,000
    assert [(s.high_limit_fen, s.low_limit_fen) for s in table] == [(4_000, 500), (9_000, 1_500)]


def test_capitation_counts_signed_days() -> None:
    # 100 yuan a head; one resident all of 2025 (365 days), one from 1 July (184 days)
    assert capitation_fen(10_000, 365 + 184, 365) == 15_041  # 15,041.09…
    assert capitation_fen(10_000, 365, 365) == 10_000
