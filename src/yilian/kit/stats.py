"""Percentiles the way a person checks them by hand: nearest rank, from a list or from counts."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping


def nearest_rank(n: int, share: float) -> int:
    """The 1-based rank ⌈share × n⌉ (at least 1) whose value is the nearest-rank percentile of n values.
    The same double-precision product as PostgreSQL's percentile_disc, so a query that picks the row
    at this rank returns what `percentile` does."""
    return max(1, math.ceil(share * n))


def median_ranks(n: int) -> tuple[int, ...]:
    """The 1-based ranks the median of n values is made of: the middle one, or the middle two."""
    return (n // 2 + 1,) if n % 2 else (n // 2, n // 2 + 1)


def median_of_ranked(value_at: Mapping[int, float], n: int) -> float:
    """The median from the values at `median_ranks(n)`, with `statistics.median`'s arithmetic."""
    ranks = median_ranks(n)
    if len(ranks) == 1:
        return value_at[ranks[0]]
    return (value_at[ranks[0]] + value_at[ranks[1]]) / 2


def percentile(values: list[float], share: float) -> float | None:
    """Nearest-rank percentile (the value at rank ⌈share × n⌉): reproducible by hand from a list."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[nearest_rank(len(ordered), share) - 1]


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
