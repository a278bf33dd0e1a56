"""Scoring schemes, a unit's score, ranking and the yearly dynamic adjustment — pure rules.

A scheme is data: sections of items, each item worth its weight in points and scored one of three
ways: entered by an evaluator (with evidence), computed from an indicator value against a target
("full marks at target, proportional below"), or a bonus item (points per event, or a ladder of
thresholds), the bonus section capped (002 annex 1: 1000 points in 9 sections of 39 items; bonus
items 40–42, at most 100 points).

Rounding: each item's points are rounded half up to 0.01; subtotals and totals are sums of those.
Ranking (the documented tie-break): total, then the base score without bonus, then the section
subtotals in the scheme's order, then the unit code — each higher first except the code.
Dynamic adjustment (002 §1): each year the two lowest-ranked pilot units get a yellow card with a
rectification deadline; a unit carded this year and the year before is disqualified and replaced by
the best-ranked candidate unit (候补) not yet used.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from yilian.kit.errors import FieldError, ValidationFailed

EVALUATOR, INDICATOR, BONUS = "evaluator", "indicator", "bonus"
METHODS = (EVALUATOR, INDICATOR, BONUS)
CENT = Decimal("0.01")


def points(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


@dataclass(frozen=True)
class EventTier:
    """A kind of event worth `points` each time it happens (e.g. 国家主流媒体报道 +20 per report)."""

    label: str
    points: Decimal


@dataclass(frozen=True)
class Step:
    """A ladder step: a count from `low` to `high` (None: and above) is worth `points`."""

    low: int
    high: int | None
    points: Decimal


@dataclass(frozen=True)
class Item:
    number: int
    text: str
    weight: Decimal  # the item's full marks; for a bonus item, 0 (it adds, within the section cap)
    method: str = EVALUATOR
    target: Decimal | None = None  # INDICATOR: the value that earns full marks
    higher_is_better: bool = True
    indicator: str | None = None  # INDICATOR: the catalogue's indicator that supplies the value
    events: tuple[EventTier, ...] = ()  # BONUS per event
    ladder: tuple[Step, ...] = ()  # BONUS by threshold


@dataclass(frozen=True)
class Section:
    name: str
    weight: Decimal  # for the bonus section: its cap
    items: tuple[Item, ...]
    bonus: bool = False


@dataclass(frozen=True)
class Scheme:
    code: str
    name: str
    version: str
    sections: tuple[Section, ...]

    @property
    def total(self) -> Decimal:
        return sum((s.weight for s in self.sections if not s.bonus), Decimal(0))

    @property
    def bonus_cap(self) -> Decimal:
        return sum((s.weight for s in self.sections if s.bonus), Decimal(0))

    @property
    def items(self) -> tuple[Item, ...]:
        return tuple(i for s in self.sections for i in s.items)

    def item(self, number: int) -> Item | None:
        return next((i for i in self.items if i.number == number), None)


def check_scheme(scheme: Scheme) -> None:
    """Each section's weight is the sum of its items' weights; numbers are unique; rules are complete."""
    errors: list[FieldError] = []
    seen: set[int] = set()
    for section in scheme.sections:
        if not section.bonus:
            items_sum = sum((i.weight for i in section.items), Decimal(0))
            if items_sum != section.weight:
                errors.append(
                    FieldError(
                        section.name,
                        f"“{section.name}”分值{section.weight}与各项权重之和{items_sum}不一致",
                        f"section '{section.name}' is worth {section.weight} but its items add up to {items_sum}",
                    )
                )
        for item in section.items:
            if item.number in seen:
                errors.append(
                    FieldError(
                        f"item {item.number}", f"序号{item.number}重复", f"item {item.number} appears twice"
                    )
                )
            seen.add(item.number)
            if item.method == BONUS and not (item.events or item.ladder):
                errors.append(
                    FieldError(
                        f"item {item.number}",
                        f"加分项{item.number}没有可识别的加分规则（如“每次加20分”“10-19个,加30分”）",
                        f"bonus item {item.number} has no recognisable rule (e.g. 每次加20分)",
                    )
                )
            if item.method == INDICATOR and (item.target is None or item.target <= 0):
                errors.append(
                    FieldError(
                        f"item {item.number}",
                        f"指标项{item.number}需要大于0的目标值",
                        f"indicator item {item.number} needs a target above 0",
                    )
                )
    if errors:
        raise ValidationFailed(errors, "评价方案有误", "Invalid scoring scheme")


@dataclass(frozen=True)
class Entry:
    """What is known of one item for one unit and year: an evaluator's points, an indicator's
    value, or a bonus item's event counts (or the counted quantity for a ladder)."""

    number: int
    given: Decimal | None = None
    value: Decimal | None = None
    events: Mapping[str, int] = field(default_factory=dict)
    count: int | None = None
    evidence: str = ""


def indicator_points(item: Item, value: Decimal) -> Decimal:
    """Full marks at the target, proportional below it (or above it, when lower is better)."""
    assert item.target is not None
    if value <= 0:
        share = Decimal(0) if item.higher_is_better else Decimal(1)
    elif item.higher_is_better:
        share = min(Decimal(1), value / item.target)
    else:
        share = min(Decimal(1), item.target / value)
    return points(item.weight * share)


def bonus_points(item: Item, entry: Entry) -> Decimal:
    total = Decimal(0)
    for tier in item.events:
        total += tier.points * entry.events.get(tier.label, 0)
    if item.ladder and entry.count is not None:
        total += next(
            (
                s.points
                for s in item.ladder
                if entry.count >= s.low and (s.high is None or entry.count <= s.high)
            ),
            Decimal(0),
        )
    return points(total)


def item_points(item: Item, entry: Entry | None) -> Decimal:
    """Points for one item; a missing entry scores 0 (nothing shown, nothing earned)."""
    if entry is None:
        return Decimal(0)
    if item.method == INDICATOR:
        return Decimal(0) if entry.value is None else indicator_points(item, entry.value)
    if item.method == BONUS:
        return bonus_points(item, entry)
    return points(entry.given or Decimal(0))


def check_entries(scheme: Scheme, entries: Sequence[Entry]) -> None:
    errors: list[FieldError] = []
    for entry in entries:
        item = scheme.item(entry.number)
        where = f"item {entry.number}"
        if item is None:
            errors.append(
                FieldError(where, f"方案中没有序号{entry.number}", f"no item {entry.number} in the scheme")
            )
            continue
        if item.method == EVALUATOR and entry.given is not None and not (0 <= entry.given <= item.weight):
            errors.append(
                FieldError(
                    where,
                    f"第{entry.number}项得分应在0到{item.weight}之间",
                    f"item {entry.number} scores between 0 and {item.weight}",
                )
            )
        if item.method == BONUS:
            unknown = set(entry.events) - {t.label for t in item.events}
            if unknown or any(n < 0 for n in entry.events.values()) or (entry.count or 0) < 0:
                errors.append(
                    FieldError(
                        where,
                        f"加分项{entry.number}的事件类型或次数有误",
                        f"bonus item {entry.number}: unknown event kinds or negative counts",
                    )
                )
    if errors:
        raise ValidationFailed(errors, "评分数据有误", "Invalid scores")


@dataclass(frozen=True)
class UnitScore:
    unit: str
    items: Mapping[int, Decimal]
    sections: tuple[Decimal, ...]  # subtotals in scheme order (the bonus section after its cap)
    base: Decimal
    bonus: Decimal
    bonus_uncapped: Decimal

    @property
    def total(self) -> Decimal:
        return self.base + self.bonus


def score_unit(scheme: Scheme, unit: str, entries: Sequence[Entry]) -> UnitScore:
    by_number = {e.number: e for e in entries}
    items = {i.number: item_points(i, by_number.get(i.number)) for i in scheme.items}
    subtotals = []
    base = bonus = uncapped = Decimal(0)
    for section in scheme.sections:
        subtotal = sum((items[i.number] for i in section.items), Decimal(0))
        if section.bonus:
            uncapped += subtotal
            subtotal = min(subtotal, section.weight)
            bonus += subtotal
        else:
            base += subtotal
        subtotals.append(subtotal)
    return UnitScore(unit, items, tuple(subtotals), base, bonus, uncapped)


def ranking_key(score: UnitScore) -> tuple[object, ...]:
    return (-score.total, -score.base, *(-s for s in score.sections), score.unit)


def rank(scores: Sequence[UnitScore]) -> list[UnitScore]:
    """Best first, ties broken as the module docstring says."""
    return sorted(scores, key=ranking_key)


@dataclass(frozen=True)
class Adjustment:
    year: int
    yellow_cards: tuple[str, ...]  # worst first
    deadline: date
    disqualified: tuple[str, ...]
    replacements: Mapping[str, str]  # disqualified unit → candidate taking its place
    unreplaced: tuple[str, ...]  # disqualified with no candidate left


def dynamic_adjustment(
    *,
    year: int,
    pilots_ranked: Sequence[str],
    candidates_ranked: Sequence[str],
    carded_last_year: set[str],
    deadline: date,
    cards_per_year: int = 2,
) -> Adjustment:
    """亮黄牌 for the last `cards_per_year` pilots; two years running → out, best candidate in."""
    yellow = tuple(reversed(pilots_ranked[-cards_per_year:])) if pilots_ranked else ()
    disqualified = tuple(u for u in yellow if u in carded_last_year)
    available = [c for c in candidates_ranked if c not in pilots_ranked]
    replacements = dict(zip(disqualified, available, strict=False))
    unreplaced = tuple(u for u in disqualified if u not in replacements)
    return Adjustment(year, yellow, deadline, disqualified, replacements, unreplaced)


def scheme_to_dict(scheme: Scheme) -> dict[str, object]:
    """The stored form of a scheme version (decimals as strings, so nothing is lost)."""
    return {
        "code": scheme.code,
        "name": scheme.name,
        "version": scheme.version,
        "sections": [
            {
                "name": s.name,
                "weight": str(s.weight),
                "bonus": s.bonus,
                "items": [
                    {
                        "number": i.number,
                        "text": i.text,
                        "weight": str(i.weight),
                        "method": i.method,
                        "target": None if i.target is None else str(i.target),
                        "higher_is_better": i.higher_is_better,
                        "indicator": i.indicator,
                        "events": [[t.label, str(t.points)] for t in i.events],
                        "ladder": [[st.low, st.high, str(st.points)] for st in i.ladder],
                    }
                    for i in s.items
                ],
            }
            for s in scheme.sections
        ],
    }


def scheme_from_dict(data: Mapping[str, Any]) -> Scheme:
    return Scheme(
        code=data["code"],
        name=data["name"],
        version=data["version"],
        sections=tuple(
            Section(
                name=s["name"],
                weight=Decimal(s["weight"]),
                bonus=s["bonus"],
                items=tuple(
                    Item(
                        number=i["number"],
                        text=i["text"],
                        weight=Decimal(i["weight"]),
                        method=i["method"],
                        target=None if i["target"] is None else Decimal(i["target"]),
                        higher_is_better=i["higher_is_better"],
                        indicator=i.get("indicator"),
                        events=tuple(EventTier(label, Decimal(p)) for label, p in i["events"]),
                        ladder=tuple(Step(low, high, Decimal(p)) for low, high, p in i["ladder"]),
                    )
                    for i in s["items"]
                ),
            )
            for s in data["sections"]
        ),
    )
