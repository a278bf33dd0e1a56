"""Indicator values for a year at county level, and drill-down to the institutions of one county,
each value shown with its numerator and denominator, against its target."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from functools import cache

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from yilian.auth import rules as roles
from yilian.auth import scoping
from yilian.auth.context import Actor
from yilian.indicators.catalogue import (
    DEFAULT_CATALOGUE,
    LEVELS,
    Indicator,
    Period,
    Target,
    compile_queries,
    load_catalogue,
    load_targets,
    parse_period,
)
from yilian.indicators.engine import suite_counts
from yilian.kit.errors import Forbidden, ValidationFailed
from yilian.models import AdminDivision, Consortium, Institution

READERS = frozenset({roles.COMMISSION, roles.CONSORTIUM_ADMIN})


@cache
def catalogue() -> tuple[Indicator, ...]:
    return tuple(load_catalogue(DEFAULT_CATALOGUE.read_text(encoding="utf-8")))


@cache
def targets() -> dict[str, Target]:
    """Targets of figures computed elsewhere (the referral-booking share), with their clauses."""
    return {t.code: t for t in load_targets(DEFAULT_CATALOGUE.read_text(encoding="utf-8"))}


@dataclass(frozen=True)
class IndicatorValue:
    code: str
    name: str
    unit_code: str
    unit_name: str
    numerator: Decimal
    denominator: Decimal
    value: Decimal | None  # percent, 2 decimals
    target: Decimal | None
    direction: str
    met: bool | None
    source: str
    target_max: Decimal | None
    # The period the value is for (2025, 2025-Q3, 2025-07), its first and last day, and the day the
    # data run to: today for a period still running. Shown wherever the value is.
    period: str
    period_start: date
    period_end: date
    as_of: date


def percent(numerator: Decimal, denominator: Decimal) -> Decimal | None:
    if not denominator:
        return None
    return (Decimal(numerator) * 100 / Decimal(denominator)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def as_of(span: Period, today: date) -> date:
    """The last day a period's figures cover: its last day, or today while it runs."""
    return min(span.last, today)


def _value(
    indicator: Indicator,
    unit: str,
    unit_name: str,
    numerator: Decimal,
    denominator: Decimal,
    span: Period,
    today: date,
) -> IndicatorValue:
    value = percent(numerator, denominator)
    return IndicatorValue(
        indicator.code,
        indicator.name,
        unit,
        unit_name,
        numerator,
        denominator,
        value,
        indicator.target,
        indicator.direction,
        indicator.met(value),
        indicator.source,
        indicator.target_max,
        span.label,
        span.first,
        span.last,
        as_of(span, today),
    )


# The headline figures of the home page: the catalogue's own definitions, computed as the indicator
# page computes them (issue 21: the home page had its own 基层就诊占比 over other visits and months).
HOME_FIGURES = ("grassroots_visit_share", "in_county_visit_rate")


def division_figures(
    *,
    database_url: str,
    region_code: str,
    today: date,
    period: str | None = None,
    codes: tuple[str, ...] = HOME_FIGURES,
) -> list[IndicatorValue]:
    """Indicators for one division as a whole, for `period` (default: the year so far): a county's
    own county-level value, or for a city or province its counties' counts added up (every term is
    a count or a sum, so the total is exact). Aggregate counts, no personal data: any staff member
    sees them for the division they work in."""
    span = parse_period(period or str(today.year))
    wanted = [i for i in catalogue() if i.code in codes]
    low, high = roles.region_range(region_code)
    totals: dict[str, tuple[Decimal, Decimal]] = {}
    queries = compile_queries(wanted, ("county",))
    for c in suite_counts(database_url, queries, span, today=today):
        if c.level == "county" and low <= c.unit <= high:
            n, d = totals.get(c.code, (Decimal(0), Decimal(0)))
            totals[c.code] = (n + c.numerator, d + c.denominator)
    return [
        _value(i, region_code, "", *totals.get(i.code, (Decimal(0), Decimal(0))), span, today) for i in wanted
    ]


def _counties_in_scope(session: Session, actor: Actor) -> set[str]:
    subject = actor.subject
    if not subject.may(READERS):
        raise Forbidden(
            "只有卫健局和医共体管理员可以查看监测指标", "Indicators are for the commission and consortia"
        )
    # The counties of the subject's division (a consortium's is its own); a division that is itself
    # the region of a consortium (a city's urban medical group) counts as one.
    region = scoping.subject_region(session, subject)
    low, high = roles.region_range(region)
    return set(
        session.scalars(
            select(AdminDivision.code).where(
                or_(AdminDivision.level == "county", AdminDivision.code == region),
                AdminDivision.code.between(low, high),
            )
        )
    )


def compute(
    session: Session,
    *,
    actor: Actor,
    database_url: str,
    year: int | None = None,
    period: str | None = None,
    county: str | None = None,
    level: str = "county",
) -> list[IndicatorValue]:
    """For a year (or `period`: 2025, 2025-Q3, 2025-07): county level for the counties the actor
    oversees, consortium level for their medical communities, or with `county` that county's
    institutions."""
    span = parse_period(period or str(year))
    counties = _counties_in_scope(session, actor)
    if county is not None and county not in counties:
        raise ValidationFailed.one(
            "county", f"县（市、区）{county}不在您的管辖范围", f"county {county} is outside your scope"
        )
    level = "institution" if county else level
    if level not in LEVELS:
        raise ValidationFailed.one(
            "level", "层级应为county、consortium或institution", "level is county, consortium or institution"
        )
    indicators = catalogue()
    queries = compile_queries(indicators, (level,))
    counts = [
        c
        for c in suite_counts(database_url, queries, span, today=actor.clock.now().date())
        if c.level == level
    ]
    if level == "consortium":
        consortia = select(Consortium.code, Consortium.name).where(
            Consortium.kind.in_(("县域医共体", "城市医疗集团")),
            func.substr(Consortium.region_code, 1, 6).in_(counties),
        )
        consortia = consortia.where(scoping.consortium_charge(actor.subject))
        names = {code: name for code, name in session.execute(consortia)}
        wanted = set(names)
    elif level == "county":
        names = {
            c: n
            for c, n in session.execute(
                select(AdminDivision.code, AdminDivision.name).where(AdminDivision.code.in_(counties))
            )
        }
        wanted = set(names)
    else:
        rows = session.execute(
            select(Institution.code, Institution.name).where(Institution.region_code.like(f"{county}%"))
        ).all()
        names = {code: name for code, name in rows}
        wanted = set(names)
    by_code = {i.code: i for i in indicators}
    today = actor.clock.now().date()
    values = [
        _value(by_code[c.code], c.unit, names[c.unit], c.numerator, c.denominator, span, today)
        for c in counts
        if c.unit in wanted
    ]
    order = {i.code: n for n, i in enumerate(indicators)}
    return sorted(values, key=lambda v: (order[v.code], v.unit_code))
