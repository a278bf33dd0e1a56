"""Date arithmetic in SQL agrees with the Python rule on both engines, month ends included."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import Connection, Date, Integer, literal, select

from yilian.kit.sql import add_days, add_months, in_parameter, year_month
from yilian.registry.rules import add_months as python_add_months


@pytest.mark.parametrize(
    ("day", "months"),
    [
        (date(2024, 8, 31), 6),
        (date(2026, 1, 31), 1),
        (date(2024, 2, 29), 12),
        (date(2026, 3, 15), 6),
        (date(2026, 12, 31), 2),
    ],
)
def test_add_months_clamps_like_python(connection: Connection, day: date, months: int) -> None:
    value = connection.scalar(select(add_months(literal(day, Date), months)))
    assert str(value) == python_add_months(day, months).isoformat()


def test_add_days_and_year_month(connection: Connection) -> None:
    assert str(connection.scalar(select(add_days(literal(date(2026, 11, 24), Date), 14)))) == "2026-12-08"
    assert connection.scalar(select(year_month(literal(date(2026, 3, 9), Date)))) == "2026-03"


@pytest.mark.parametrize(("values", "expected"), [([1, 3], True), ([1, 2], False), ([3], True), ([], False)])
def test_in_parameter_matches_a_bound_list_of_any_length(
    connection: Connection, values: list[int], expected: bool
) -> None:
    """One SQL text for every length on PostgreSQL (= ANY of an array), an expanding IN on SQLite."""
    statement = select(in_parameter(literal(3, Integer), "wanted"))
    assert bool(connection.scalar(statement, {"wanted": values})) is expected


def test_in_parameter_names_its_parameter_in_the_cache_key() -> None:
    """Two lists under different names are two statements: a cached one must not answer the other."""
    first = select(in_parameter(literal(3, Integer), "a"))
    second = select(in_parameter(literal(3, Integer), "b"))
    assert first._generate_cache_key() != second._generate_cache_key()
