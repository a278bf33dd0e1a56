"""Date arithmetic in SQL agrees with the Python rule on both engines, month ends included."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import Connection, Date, literal, select

from yilian.kit.sql import add_days, add_months, year_month
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
