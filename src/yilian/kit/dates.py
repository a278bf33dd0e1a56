"""Ages and whole years back from a day: one rule for Python and for SQL comparisons.

Someone born on 29 February has a birthday on 1 March in common years (their age changes when the
day after 28 February comes), which is what the civil reckoning of a full year of age does.
"""

from __future__ import annotations

from datetime import date


def age_on(born: date, on: date) -> int:
    """Full years of age on a day (0 before the first birthday)."""
    return on.year - born.year - ((on.month, on.day) < (born.month, born.day))


def years_before(day: date, years: int) -> date:
    """The last birth date of someone at least `years` old on `day`: in SQL, `birth_date <=
    years_before(today, n)` selects exactly those with `age_on(birth_date, today) >= n`."""
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February in a common year
        return day.replace(year=day.year - years, day=28)
