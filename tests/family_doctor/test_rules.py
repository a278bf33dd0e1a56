"""Signing-fee split worked by hand, the 70 % floor, packages and contract periods."""

from __future__ import annotations

from datetime import date
from fractions import Fraction

import pytest

from yilian.family_doctor.rules import (
    FeeSplitRule,
    MemberRecord,
    check_package,
    contract_end,
    largest_remainder,
    resident_pays_fen,
    split_team_fees,
)
from yilian.kit.errors import ValidationFailed

WEIGHTS = {"全科医生": 4, "村医": 3, "专科医生": 2, "健康管理师": 1}


def test_fee_split_by_hand() -> None:
    # Fees 10,000.00 yuan; team share 80 % → pool 8,000.00. Parts: base 50 %, work 50 %, quality 0.
    # Base pot 4,000 (∝ role weight 4:3:2:1): GP 1,600, village 1,200, specialist 800, manager 400.
    # Work pot 4,000 (∝ weight × services: GP 4×10=40, village 3×20=60, others 0 → 100):
    #   GP 1,600, village 2,400. Totals: GP 3,200, village 3,600, specialist 800, manager 400.
    rule = FeeSplitRule(800, WEIGHTS, Fraction(1, 2), Fraction(1, 2), Fraction(0))
    members = [
        MemberRecord(1, "全科医生", 10, 0),
        MemberRecord(2, "村医", 20, 0),
        MemberRecord(3, "专科医生", 0, 0),
        MemberRecord(4, "健康管理师", 0, 0),
    ]
    split = split_team_fees(rule, 1_000_000, members)
    assert split.team_pool_fen == 800_000 and split.institution_fen == 200_000
    assert split.members_fen == {1: 320_000, 2: 360_000, 3: 80_000, 4: 40_000}


def test_quality_part_rewards_improved_patients() -> None:
    # Pool 700.00 (70 % of 1,000.00) entirely on quality; improved patients GP 2, village 1 → 4×2 : 3×1 = 8 : 3.
    rule = FeeSplitRule(700, WEIGHTS, Fraction(0), Fraction(0), Fraction(1))
    split = split_team_fees(rule, 100_000, [MemberRecord(1, "全科医生", 0, 2), MemberRecord(2, "村医", 0, 1)])
    assert split.members_fen == {
        1: 50_909,
        2: 19_091,
    }  # 70,000 × 8/11 = 50,909.09…, remainder to the larger fraction
    assert sum(split.members_fen.values()) == 70_000


def test_below_the_seventy_percent_floor_is_refused() -> None:
    with pytest.raises(ValidationFailed) as caught:
        FeeSplitRule(690, WEIGHTS, Fraction(1), Fraction(0), Fraction(0)).check()
    assert caught.value.errors[0].field == "team_share" and "70%" in caught.value.errors[0].message_zh


def test_parts_must_add_up() -> None:
    with pytest.raises(ValidationFailed):
        FeeSplitRule(800, WEIGHTS, Fraction(1, 2), Fraction(1, 2), Fraction(1, 10)).check()


def test_largest_remainder_is_exact() -> None:
    assert largest_remainder(100, {1: Fraction(1), 2: Fraction(1), 3: Fraction(1)}) == {1: 34, 2: 33, 3: 33}
    assert largest_remainder(5, {1: Fraction(0), 2: Fraction(0)}) == {1: 3, 2: 2}


def test_package_shares_cannot_exceed_the_price() -> None:
    with pytest.raises(ValidationFailed) as caught:
        check_package(
            price_fen=12000,
            insurance_permille=700,
            public_permille=400,
            valid_from=date(2026, 1, 1),
            valid_to=None,
            category="高血压",
        )
    assert caught.value.errors[0].field == "insurance_share"
    assert resident_pays_fen(12000, 400, 300) == 3600


def test_contract_periods() -> None:
    assert contract_end(date(2026, 3, 1)) == date(2027, 2, 28)
    assert contract_end(date(2026, 1, 31), months=1) == date(2026, 2, 27)
    assert contract_end(date(2026, 11, 24), months=6) == date(2027, 5, 23)
    with pytest.raises(ValidationFailed):
        contract_end(date(2026, 1, 1), months=0)


def test_a_contract_is_in_force_by_its_dates_not_its_stored_status() -> None:
    from yilian.family_doctor.rules import contract_state, in_force

    start, end = date(2026, 3, 1), date(2027, 2, 28)
    assert [in_force(start, end, None, d) for d in (date(2026, 2, 28), start, end, date(2027, 3, 1))] == [
        False,
        True,
        True,
        False,
    ]
    # Terminated on 2026-06-30: it served to that day and not after.
    assert (
        in_force(start, end, date(2026, 6, 30), date(2026, 6, 30)),
        in_force(start, end, date(2026, 6, 30), date(2026, 7, 1)),
    ) == (True, False)
    assert (contract_state("active", end, end), contract_state("active", end, date(2027, 3, 1))) == (
        "active",
        "expired",
    )
    assert contract_state("terminated", end, date(2027, 3, 1)) == "terminated"


def test_improvement_is_a_better_colour_or_control_gained() -> None:
    """002 item 19 rewards teams whose signed patients' health "明显改善": red → yellow, yellow → green,
    or uncontrolled → controlled while the colour holds. Worse, unchanged or one observation: not."""
    from yilian.family_doctor.rules import Course, improved

    assert improved(Course("red", "yellow", None, None)) is True
    assert improved(Course("yellow", "green", True, False)) is True  # the colour decides first
    assert improved(Course(None, None, False, True)) is True
    assert improved(Course("green", "green", False, True)) is True
    assert improved(Course("green", "yellow", False, True)) is False  # control gained, colour worse
    assert improved(Course("yellow", "yellow", True, True)) is False  # controlled all along: no change
    assert improved(Course(None, None, True, True)) is False
    assert improved(Course("red", None, None, False)) is False
