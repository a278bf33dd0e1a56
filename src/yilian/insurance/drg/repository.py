"""The DRG queries: discharges to group and their codes, groupings saved, a base year's trimmed costs
and the standards made of them, and the payment year's cases by institution, DRG and class.

Each is one set-based statement; what leaves the database is a few hundred aggregate rows.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from fractions import Fraction
from typing import Any

from sqlalchemy import Integer, and_, case, cast, delete, func, insert, literal, or_, select
from sqlalchemy.orm import Session

from yilian.encounters import repository as encounters
from yilian.insurance.drg.payment import CaseGroup, DrgCost, Standard
from yilian.insurance.repository import year_bounds
from yilian.models import (
    ClaimSummary,
    DrgGrouping,
    DrgStandard,
    Encounter,
    EncounterDiagnosis,
    Institution,
    Resident,
)


def _discharged(first: date, last: date, institution_ids: Sequence[int]) -> Any:
    return and_(
        Encounter.kind == "inpatient",
        Encounter.end_date.between(first, last),
        Encounter.institution_id.in_(institution_ids),
    )


def ungrouped_discharges(
    session: Session, *, scheme: str, institution_ids: Sequence[int], limit: int, after_id: int = 0
) -> list[Any]:
    """Discharged inpatients not yet grouped under the scheme, with what the grouper reads, in id
    order after `after_id` (keyset paging: each batch starts where the last ended instead of
    re-reading the grouped ones — at a province's 30 million encounters that was quadratic)."""
    grouped = select(DrgGrouping.encounter_id).where(
        DrgGrouping.encounter_id == Encounter.id, DrgGrouping.scheme == scheme
    )
    statement = (
        select(Encounter.id, Encounter.start_date, Encounter.end_date, Resident.sex, Resident.birth_date)
        .join(Resident, Resident.id == Encounter.resident_id)
        .where(
            Encounter.kind == "inpatient",
            Encounter.end_date.is_not(None),
            Encounter.institution_id.in_(institution_ids),
            Encounter.id > after_id,
            ~grouped.exists(),
        )
        .order_by(Encounter.id)
        .limit(limit)
    )
    return list(session.execute(statement))


def discharge_facts(session: Session, encounter_id: int) -> Any:
    """What the grouper reads of one discharged inpatient, or None if it is not one."""
    return session.execute(
        select(Encounter.id, Encounter.start_date, Encounter.end_date, Resident.sex, Resident.birth_date)
        .join(Resident, Resident.id == Encounter.resident_id)
        .where(Encounter.id == encounter_id, Encounter.kind == "inpatient", Encounter.end_date.is_not(None))
    ).one_or_none()


def replace_grouping(session: Session, row: dict[str, Any]) -> None:
    session.execute(delete(DrgGrouping).where(DrgGrouping.encounter_id == row["encounter_id"]))
    session.execute(insert(DrgGrouping), [row])


def codes_of(session: Session, encounter_ids: list[int]) -> tuple[dict[int, list[str]], dict[int, list[str]]]:
    return encounters.diagnoses_of(session, encounter_ids), encounters.procedures_of(session, encounter_ids)


def save_groupings(session: Session, rows: Sequence[dict[str, Any]]) -> None:
    if rows:
        session.execute(insert(DrgGrouping), list(rows))


def drg_costs(
    session: Session, *, scheme: str, year: int, institution_ids: Sequence[int], trim: Fraction
) -> list[DrgCost]:
    """Per DRG: cases, and count and cost sum after dropping ⌊n × trim⌋ cases by rank at each end."""
    first, last = year_bounds(year)
    ranked = (
        select(
            DrgGrouping.drg,
            Encounter.total_fen,
            func.row_number()
            .over(partition_by=DrgGrouping.drg, order_by=(Encounter.total_fen, Encounter.id))
            .label("rank"),
            func.count().over(partition_by=DrgGrouping.drg).label("n"),
        )
        .join(Encounter, Encounter.id == DrgGrouping.encounter_id)
        .where(
            DrgGrouping.scheme == scheme,
            DrgGrouping.status_key == "SUCCESS",
            _discharged(first, last, institution_ids),
        )
        .subquery()
    )
    cut = cast(ranked.c.n * trim.numerator / trim.denominator, Integer)  # integer division: ⌊n·p/q⌋
    kept = and_(ranked.c.rank > cut, ranked.c.rank <= ranked.c.n - cut)
    statement = select(
        ranked.c.drg,
        func.max(ranked.c.n),
        func.sum(case((kept, 1), else_=0)),
        func.coalesce(func.sum(case((kept, ranked.c.total_fen), else_=0)), 0),
    ).group_by(ranked.c.drg)
    return [DrgCost(drg, int(n), int(k), int(s)) for drg, n, k, s in session.execute(statement)]


def replace_standards(
    session: Session, *, year: int, scheme: str, standards: Sequence[Standard], costs: dict[str, DrgCost]
) -> None:
    session.execute(delete(DrgStandard).where(DrgStandard.year == year, DrgStandard.scheme == scheme))
    if standards:
        session.execute(
            insert(DrgStandard),
            [
                {
                    "year": year,
                    "scheme": scheme,
                    "drg": s.drg,
                    "cases": s.cases,
                    "trimmed_cases": costs[s.drg].trimmed_cases,
                    "trimmed_sum_fen": costs[s.drg].trimmed_sum_fen,
                    "high_limit_fen": s.high_limit_fen,
                    "low_limit_fen": s.low_limit_fen,
                }
                for s in standards
            ],
        )


def stored_costs(
    session: Session, *, year: int, scheme: str
) -> tuple[list[DrgCost], dict[str, tuple[int, int]]]:
    rows = session.execute(
        select(
            DrgStandard.drg,
            DrgStandard.cases,
            DrgStandard.trimmed_cases,
            DrgStandard.trimmed_sum_fen,
            DrgStandard.high_limit_fen,
            DrgStandard.low_limit_fen,
        ).where(DrgStandard.year == year, DrgStandard.scheme == scheme)
    ).all()
    return (
        [DrgCost(r.drg, r.cases, r.trimmed_cases, r.trimmed_sum_fen) for r in rows],
        {r.drg: (r.high_limit_fen, r.low_limit_fen) for r in rows},
    )


def case_groups(
    session: Session, *, scheme: str, standard_year: int, year: int, institution_ids: Sequence[int]
) -> list[CaseGroup]:
    """The payment year's discharges by institution, DRG and class against the stored limits."""
    first, last = year_bounds(year)
    standard = DrgStandard.__table__.alias("standard")
    kind = case(
        (or_(DrgGrouping.status_key != "SUCCESS", standard.c.drg.is_(None)), literal("unweighted")),
        (Encounter.total_fen > standard.c.high_limit_fen, literal("high")),
        (Encounter.total_fen < standard.c.low_limit_fen, literal("low")),
        else_=literal("normal"),
    )
    statement = (
        select(
            Institution.code, DrgGrouping.drg, kind.label("kind"), func.count(), func.sum(Encounter.total_fen)
        )
        .join(Encounter, Encounter.id == DrgGrouping.encounter_id)
        .join(Institution, Institution.id == Encounter.institution_id)
        .outerjoin(
            standard,
            and_(
                standard.c.drg == DrgGrouping.drg,
                standard.c.year == standard_year,
                standard.c.scheme == scheme,
            ),
        )
        .where(DrgGrouping.scheme == scheme, _discharged(first, last, institution_ids))
        .group_by(Institution.code, DrgGrouping.drg, kind)
    )
    return [
        CaseGroup(code, drg, k, int(n), int(cost)) for code, drg, k, n, cost in session.execute(statement)
    ]


# ---- what the DRG screens read -----------------------------------------------------------------


def standard_years(session: Session, *, scheme: str) -> list[int]:
    return list(
        session.scalars(
            select(DrgStandard.year).where(DrgStandard.scheme == scheme).distinct().order_by(DrgStandard.year)
        )
    )


def outlier_kind(standard: Any) -> Any:
    """A case's class against its DRG's stored limits (the same CASE as `case_groups`)."""
    return case(
        (or_(DrgGrouping.status_key != "SUCCESS", standard.c.drg.is_(None)), literal("unweighted")),
        (Encounter.total_fen > standard.c.high_limit_fen, literal("high")),
        (Encounter.total_fen < standard.c.low_limit_fen, literal("low")),
        else_=literal("normal"),
    )


def discharged_cases(
    *,
    scheme: str,
    standard_year: int,
    year: int,
    institutions: Any,
    institution_id: int | None = None,
    mdc: str | None = None,
    drg: str | None = None,
    outlier: str | None = None,
) -> Any:
    """Grouped discharges of a year at the institutions the caller runs (`institutions`: a WHERE
    clause on Institution), with the principal diagnosis and the class against the stored limits."""
    first, last = year_bounds(year)
    standard = DrgStandard.__table__.alias("standard")
    kind = outlier_kind(standard).label("outlier")
    principal = EncounterDiagnosis.__table__.alias("principal")
    statement = (
        select(
            Encounter.id,
            Encounter.resident_id,
            Encounter.start_date,
            Encounter.end_date,
            Encounter.total_fen,
            Encounter.fund_fen,
            Resident.name,
            Resident.sex,
            Resident.birth_date,
            Institution.name.label("institution_name"),
            principal.c.icd10_code.label("principal"),
            DrgGrouping.status_key,
            DrgGrouping.mdc,
            DrgGrouping.drg,
            kind,
        )
        .join(DrgGrouping, and_(DrgGrouping.encounter_id == Encounter.id, DrgGrouping.scheme == scheme))
        .join(Resident, Resident.id == Encounter.resident_id)
        .join(Institution, Institution.id == Encounter.institution_id)
        .outerjoin(principal, and_(principal.c.encounter_id == Encounter.id, principal.c.seq == 0))
        .outerjoin(
            standard,
            and_(
                standard.c.drg == DrgGrouping.drg,
                standard.c.year == standard_year,
                standard.c.scheme == scheme,
            ),
        )
        .where(Encounter.kind == "inpatient", Encounter.end_date.between(first, last), institutions)
    )
    if institution_id is not None:
        statement = statement.where(Encounter.institution_id == institution_id)
    if mdc:
        statement = statement.where(DrgGrouping.mdc == mdc)
    if drg:
        statement = statement.where(DrgGrouping.drg == drg)
    if outlier:
        statement = statement.where(kind == outlier)
    return statement


def count_of(session: Session, statement: Any) -> int:
    return int(session.scalar(select(func.count()).select_from(statement.order_by(None).subquery())) or 0)


def page_of(session: Session, statement: Any, *, offset: int, limit: int | None) -> list[Any]:
    ordered = statement.order_by(Encounter.end_date.desc(), Encounter.id.desc()).offset(offset)
    return list(session.execute(ordered if limit is None else ordered.limit(limit)))


def grouping_of(session: Session, encounter_id: int, scheme: str) -> DrgGrouping | None:
    return session.scalar(
        select(DrgGrouping).where(DrgGrouping.encounter_id == encounter_id, DrgGrouping.scheme == scheme)
    )


def case_in_charge(session: Session, *, encounter_id: int, institutions: Any) -> Any:
    """A discharged inpatient at an institution the caller runs, with what the trace page shows."""
    return session.execute(
        select(
            Encounter.id,
            Encounter.resident_id,
            Encounter.start_date,
            Encounter.end_date,
            Encounter.total_fen,
            Resident.name,
            Resident.sex,
            Resident.birth_date,
            Institution.name.label("institution_name"),
        )
        .join(Resident, Resident.id == Encounter.resident_id)
        .join(Institution, Institution.id == Encounter.institution_id)
        .where(
            Encounter.id == encounter_id,
            Encounter.kind == "inpatient",
            Encounter.end_date.is_not(None),
            institutions,
        )
    ).one_or_none()


def institutions_by_code(session: Session, codes: Sequence[str]) -> dict[str, tuple[int, str]]:
    rows = session.execute(
        select(Institution.code, Institution.id, Institution.name).where(Institution.code.in_(codes))
    )
    return {code: (id_, name) for code, id_, name in rows}


def inpatient_fund_fen(session: Session, *, year: int, institution_ids: Sequence[int]) -> int:
    """The year's inpatient fund payments at these institutions (from the claims summary)."""
    return int(
        session.scalar(
            select(func.coalesce(func.sum(ClaimSummary.fund_fen), 0)).where(
                ClaimSummary.kind == "inpatient",
                ClaimSummary.institution_id.in_(institution_ids),
                ClaimSummary.month.between(f"{year:04d}-01", f"{year:04d}-12"),
            )
        )
        or 0
    )
