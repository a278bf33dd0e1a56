"""Citizen ID numbers (GB 11643-1999), checked by every layer (moved from tests/residents/test_rules.py)."""

from datetime import date

import pytest

from yilian.kit.errors import ValidationFailed
from yilian.kit.id_numbers import check_digit, make_id_number, parse_id_number

TODAY = date(2026, 11, 24)


def test_published_sample_number_is_valid_and_yields_birth_date_and_sex() -> None:
    # The example in GB 11643-1999 Annex A: 11010519491231002X, a woman born 1949-12-31 in Beijing 朝阳区.
    facts = parse_id_number("11010519491231002x", today=TODAY)
    assert facts.id_number == "11010519491231002X"
    assert facts.region_code == "110105"
    assert facts.birth_date == date(1949, 12, 31)
    assert facts.sex == "F"


def test_check_digit_follows_iso_7064_mod_11_2() -> None:
    # Σ(digit × weight) for 11010519491231002 is 167; 167 mod 11 = 2 → 'X'.
    assert check_digit("11010519491231002") == "X"
    assert check_digit("64018119600517024") == "5"


def test_odd_sequence_is_male() -> None:
    number = make_id_number("640181", date(1980, 2, 29), 7, "M")
    facts = parse_id_number(number, today=TODAY)
    assert facts.sex == "M" and facts.birth_date == date(1980, 2, 29)


@pytest.mark.parametrize(
    ("value", "fragment"),
    [
        ("11010519491231002", "18"),  # too short
        ("1101051949123100AX", "数字"),  # letters inside
        ("110105194912310021", "校验码"),  # wrong check digit
        ("110105194902300028", "出生日期"),  # 30 February
        ("110105203001010020", "出生日期"),  # born in the future
        ("990105194912310020", "行政区划"),  # no province 99
        ("640000194912310020", "行政区划"),  # province level only
    ],
)
def test_invalid_numbers_are_refused_naming_the_field(value: str, fragment: str) -> None:
    with pytest.raises(ValidationFailed) as caught:
        parse_id_number(value, today=TODAY)
    error = caught.value
    assert error.status == 422
    assert error.errors[0].field == "id_number"
    assert fragment in error.errors[0].message_zh
    assert error.errors[0].message_en


def test_known_regions_narrow_the_check() -> None:
    number = make_id_number("640181", date(1990, 1, 1), 3, "F")
    assert parse_id_number(number, today=TODAY, known_regions=frozenset({"640181"})).region_code == "640181"
    with pytest.raises(ValidationFailed):
        parse_id_number(number, today=TODAY, known_regions=frozenset({"640121"}))
