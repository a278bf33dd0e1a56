"""DRG relative weights and point-value payment (DRG 点数法), exact until the final fen.

Relative weight (docs/decisions/0010-drg-payment.md): within each DRG the base year's cases are
ranked by cost and the lowest and highest `trim_share` (5% by default) by rank are dropped; the
DRG's weight is its trimmed mean cost over the trimmed mean cost of all cases.

Case points: base points = weight × 100; a high-cost outlier (cost above the DRG's mean × the high
multiplier of its weight tier) earns base + (cost − that limit) / overall mean × 100; a low-cost
case (cost under the mean × the low multiplier) earns base × cost / DRG mean; a case in a DRG with
no base-year weight earns cost / overall mean × 100. Point value = inpatient fund budget / total
points; an institution's payment = its points × point value.

Because every formula is linear in cost within its class, the database hands over only counts and
cost sums per institution, DRG and class — the case rows never leave SQL.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from fractions import Fraction

from yilian.kit.money import apportion, round_fen

# Common local practice (city DRG 点数法 rules differ; the national spec leaves it to them):
# weight ≤ 1 → 3×, 1 < weight ≤ 2 → 2.5×, weight > 2 → 2× the DRG mean is a high-cost case;
# under 0.4× the mean is a low-cost case.
DEFAULT_HIGH_TIERS: tuple[tuple[Fraction, Fraction], ...] = (
    (Fraction(1), Fraction(3)),
    (Fraction(2), Fraction(5, 2)),
)
DEFAULT_HIGH_ABOVE = Fraction(2)
DEFAULT_LOW = Fraction(2, 5)
DEFAULT_TRIM = Fraction(5, 100)


@dataclass(frozen=True)
class OutlierRule:
    high_tiers: tuple[tuple[Fraction, Fraction], ...] = DEFAULT_HIGH_TIERS  # (weight up to, multiplier)
    high_above: Fraction = DEFAULT_HIGH_ABOVE  # multiplier for weights above the last tier
    low: Fraction = DEFAULT_LOW

    def high_multiplier(self, weight: Fraction) -> Fraction:
        for upper, multiplier in self.high_tiers:
            if weight <= upper:
                return multiplier
        return self.high_above


@dataclass(frozen=True)
class DrgCost:
    """A DRG's base-year cases after trimming (from SQL): counts and the cost sum in fen."""

    drg: str
    cases: int
    trimmed_cases: int
    trimmed_sum_fen: int


@dataclass(frozen=True)
class Standard:
    """A DRG's payment standard for a year: weight, mean and the outlier limits in whole fen."""

    drg: str
    cases: int
    mean_fen: Fraction
    weight: Fraction
    high_limit_fen: int  # a case costing more is a high-cost outlier
    low_limit_fen: int  # a case costing less is a low-cost case


def trim_ranks(n: int, trim_share: Fraction) -> tuple[int, int]:
    """1-based ranks kept after trimming n cases: (first, last)."""
    cut = math.floor(n * trim_share)
    return cut + 1, n - cut


def standards(costs: Iterable[DrgCost], rule: OutlierRule = OutlierRule()) -> tuple[Fraction, list[Standard]]:
    """The overall trimmed mean and each DRG's standard."""
    costs = [c for c in costs if c.trimmed_cases > 0]
    total_cases = sum(c.trimmed_cases for c in costs)
    if not total_cases:
        return Fraction(0), []
    overall = Fraction(sum(c.trimmed_sum_fen for c in costs), total_cases)
    result = []
    for c in sorted(costs, key=lambda c: c.drg):
        mean = Fraction(c.trimmed_sum_fen, c.trimmed_cases)
        weight = mean / overall
        result.append(
            Standard(
                drg=c.drg,
                cases=c.cases,
                mean_fen=mean,
                weight=weight,
                # Integer costs: cost > x ⇔ cost > ⌊x⌋, and cost < y ⇔ cost < ⌈y⌉ — exact limits.
                high_limit_fen=math.floor(mean * rule.high_multiplier(weight)),
                low_limit_fen=math.ceil(mean * rule.low),
            )
        )
    return overall, result


@dataclass(frozen=True)
class CaseGroup:
    """Cases of one institution in one DRG and one class (normal, high, low, unweighted)."""

    institution: str
    drg: str
    kind: str
    cases: int
    cost_fen: int


def points(group: CaseGroup, standard: Standard | None, overall_mean: Fraction) -> Fraction:
    if standard is None or group.kind == "unweighted":
        return Fraction(group.cost_fen) / overall_mean * 100
    base = standard.weight * 100
    if group.kind == "high":
        return (
            group.cases * base + (group.cost_fen - group.cases * standard.high_limit_fen) / overall_mean * 100
        )
    if group.kind == "low":
        return base * group.cost_fen / standard.mean_fen
    return group.cases * base


@dataclass(frozen=True)
class InstitutionPoints:
    institution: str
    cases: int
    points: Fraction
    case_mix_index: Fraction  # base points / 100 / cases: the mean weight of its cases
    payment_fen: int


@dataclass(frozen=True)
class PointPayment:
    budget_fen: int
    total_points: Fraction
    point_value_fen: Fraction
    institutions: tuple[InstitutionPoints, ...]


def pay_by_points(
    groups: Sequence[CaseGroup],
    standards_by_drg: dict[str, Standard],
    overall_mean: Fraction,
    budget_fen: int,
) -> PointPayment:
    by_institution: dict[str, list[CaseGroup]] = {}
    for group in groups:
        by_institution.setdefault(group.institution, []).append(group)
    names = sorted(by_institution)
    totals = [
        sum((points(g, standards_by_drg.get(g.drg), overall_mean) for g in by_institution[n]), Fraction(0))
        for n in names
    ]
    total_points = sum(totals, Fraction(0))
    point_value = Fraction(budget_fen) / total_points if total_points else Fraction(0)
    payments = apportion(budget_fen if total_points else 0, totals)
    rows = []
    for name, institution_points, payment in zip(names, totals, payments, strict=True):
        weighted = [g for g in by_institution[name] if g.drg in standards_by_drg and g.kind != "unweighted"]
        weighted_cases = sum(g.cases for g in weighted)
        weight_sum = sum((standards_by_drg[g.drg].weight * g.cases for g in weighted), Fraction(0))
        rows.append(
            InstitutionPoints(
                institution=name,
                cases=sum(g.cases for g in by_institution[name]),
                points=institution_points,
                case_mix_index=weight_sum / weighted_cases if weighted_cases else Fraction(0),
                payment_fen=payment,
            )
        )
    return PointPayment(
        budget_fen=budget_fen,
        total_points=total_points,
        point_value_fen=point_value,
        institutions=tuple(rows),
    )


def capitation_fen(per_capita_fen: int, covered_days: int, days_in_year: int) -> int:
    """Outpatient capitation for an institution: per capita × signed person-days / days in the year.

    A resident who signs on 1 July or whose contract ends on 30 June counts for the days covered
    (000 §2 names the per-head payment; the pro-rata rule is ours, docs/decisions/0010).
    """
    return round_fen(Fraction(per_capita_fen * covered_days, days_in_year))
