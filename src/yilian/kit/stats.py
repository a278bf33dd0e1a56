"""Percentiles the way a person checks them by hand: nearest rank, from a list or from counts."""

from __future__ import annotations

import math
from collections.abc import Iterable


def percentile(values: list[float], share: float) -> float | None:
    """Nearest-rank percentile (the value at rank ⌈share × n⌉): reproducible by hand from a list."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(share * len(ordered)))
    return ordered[rank - 1]


def histogram_percentile(counts: Iterable[tuple[float, int]], share: float) -> float | None:
    """The same nearest-rank percentile from (value, how many) pairs, as a GROUP BY returns them:
    a county's year of exams is summed by the database, not shipped row by row."""
    ordered = sorted((value, count) for value, count in counts if count > 0)
    total = sum(count for _, count in ordered)
    if not total:
        return None
    rank = max(1, math.ceil(share * total))
    seen = 0
    for value, count in ordered:
        seen += count
        if seen >= rank:
            return value
    return ordered[-1][0]
