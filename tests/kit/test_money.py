"""kit.money: the one reading and showing of yuan, the one rounding to the fen, the one largest remainder."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

import pytest

from yilian.family_doctor.rules import largest_remainder
from yilian.kit.errors import ValidationFailed
from yilian.kit.money import apportion, fen_to_yuan, parse_yuan, round_fen, yuan_figure, yuan_to_fen


@pytest.mark.parametrize(
    ("value", "fen"),
    [
        (Fraction(1, 2), 1),
        (Fraction(-1, 2), -1),
        (Fraction(5, 2), 3),
        (Fraction(249, 100), 2),
        (Fraction(7), 7),
    ],
)
def test_rounding_is_half_up_once(value: Fraction, fen: int) -> None:
    assert round_fen(value) == fen


def test_yuan_to_fen_and_back() -> None:
    assert yuan_to_fen("0.1") + yuan_to_fen("0.2") == yuan_to_fen("0.3") == 30
    assert yuan_to_fen("12.345") == 1235 and yuan_to_fen(Decimal("-12.345")) == -1235  # half away from 0
    assert fen_to_yuan(8650) == "86.50" and fen_to_yuan(-5) == "-0.05" and fen_to_yuan(0) == "0.00"
    assert fen_to_yuan(123456789, grouped=True) == "1,234,567.89"
    assert fen_to_yuan(Fraction(1, 2)) == "0.01"  # a Fraction of fen is rounded once, half up
    # Exact at any size: the float division shown "1e+16"-like or lost the last fen.
    assert fen_to_yuan(9_007_199_254_740_993) == "90071992547409.93"
    assert yuan_figure(8650) == 86.5 and yuan_figure(Fraction(12345, 1), 4) == 123.45


@pytest.mark.parametrize("text", ["86.5", " 1,200 ", "0", "100000000", 12])
def test_parse_yuan_reads_amounts(text: object) -> None:
    assert parse_yuan(text, "price") == int(Decimal(str(text).strip().replace(",", "")) * 100)


@pytest.mark.parametrize(
    ("text", "zh"),
    [
        ("Infinity", "不是金额"),
        ("NaN", "不是金额"),
        ("一百", "不是金额"),
        ("", "不是金额"),
        ("1e30", "超出范围"),
        ("100000000.01", "超出范围"),
        ("1.005", "两位小数"),
        ("-1", "不能为负数"),
    ],
)
def test_parse_yuan_refuses_with_the_field_named(text: str, zh: str) -> None:
    with pytest.raises(ValidationFailed) as refused:
        parse_yuan(text, "total_yuan", row=3)
    (error,) = refused.value.errors
    assert (error.field, error.row, refused.value.status) == ("total_yuan", 3, 422)
    assert zh in error.message_zh and error.message_en


def test_apportion_adds_up_and_is_stable() -> None:
    assert apportion(100, [Fraction(1), Fraction(1), Fraction(1)]) == [34, 33, 33]
    assert apportion(-100, [Fraction(1), Fraction(1), Fraction(1)]) == [-34, -33, -33]
    assert sum(apportion(999_999, [Fraction(3), Fraction(-1), Fraction(5)])) == 999_999
    assert apportion(5, [Fraction(0), Fraction(0)]) == [0, 0]


# The signing-fee split's and the settlement's cases, each run through the other's door: one rule.
CASES = [
    (100, [Fraction(1), Fraction(1), Fraction(1)], [34, 33, 33]),
    (
        70_000,
        [Fraction(4, 10), Fraction(3, 10), Fraction(2, 10), Fraction(1, 10)],
        [28_000, 21_000, 14_000, 7_000],
    ),
    (10, [Fraction(1, 3), Fraction(1, 3), Fraction(1, 3)], [4, 3, 3]),
    (7, [Fraction(2), Fraction(1), Fraction(2), Fraction(1)], [3, 1, 2, 1]),
    (1_000_001, [Fraction(5, 12)] * 12, [83_334] * 5 + [83_333] * 7),
]


@pytest.mark.parametrize(("total", "weights", "parts"), CASES)
def test_fee_split_and_budget_apportion_agree(total: int, weights: list[Fraction], parts: list[int]) -> None:
    assert apportion(total, weights) == parts
    by_staff = largest_remainder(total, {staff_id: w for staff_id, w in enumerate(weights, start=1)})
    assert list(by_staff.values()) == parts
    assert sum(parts) == total


def test_fee_split_ties_go_to_the_smaller_staff_id_in_any_order() -> None:
    assert largest_remainder(2, {9: Fraction(1), 3: Fraction(1), 5: Fraction(1)}) == {9: 0, 3: 1, 5: 1}
    assert largest_remainder(5, {1: Fraction(0), 2: Fraction(0)}) == {1: 3, 2: 2}  # nobody earned: evenly
