"""The one age rule (kit.dates), its edge cases once: birthday today, born on 29 February, leap years."""

from __future__ import annotations

from datetime import date

import pytest

from yilian.kit.dates import age_on, years_before


@pytest.mark.parametrize(
    ("born", "on", "age"),
    [
        (date(1960, 11, 25), date(2026, 11, 25), 66),  # birthday today
        (date(1960, 11, 25), date(2026, 11, 24), 65),  # the day before
        (date(2026, 1, 1), date(2026, 1, 1), 0),  # born today
        (date(2000, 2, 29), date(2001, 2, 28), 0),  # leapling, common year: not yet
        (date(2000, 2, 29), date(2001, 3, 1), 1),
        (date(2000, 2, 29), date(2004, 2, 28), 3),
        (date(2000, 2, 29), date(2004, 2, 29), 4),  # leap year: on the day
        (date(1999, 3, 1), date(2000, 2, 29), 0),
        (date(1999, 2, 28), date(2000, 2, 29), 1),
    ],
)
def test_age_on(born: date, on: date, age: int) -> None:
    assert age_on(born, on) == age


@pytest.mark.parametrize(
    "today", [date(2026, 11, 25), date(2024, 2, 29), date(2025, 2, 28), date(2025, 3, 1), date(2025, 3, 31)]
)
@pytest.mark.parametrize("years", [1, 4, 65, 80])
def test_years_before_selects_exactly_that_age(today: date, years: int) -> None:
    """`birth_date <= years_before(today, n)` (what SQL compares) is `age_on(birth_date, today) >= n`,
    for every birth date around the cut-off, including 29 February."""
    cutoff = years_before(today, years)
    for offset in range(-400, 400):
        born = date.fromordinal(cutoff.toordinal() + offset)
        assert (born <= cutoff) == (age_on(born, today) >= years), (born, today, years)
