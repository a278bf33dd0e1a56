"""Every insurance query: settlement spending, DRG costs and case classes, capitation days, claims.

Each is one set-based statement; what leaves the database is a few hundred aggregate rows.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from fractions import Fraction
from typing import Any

from sqlalchemy import Integer, and_, case, cast, delete, func, insert, literal, or_, select
from sqlalchemy.orm import Session

from yilian.encounters import repository as encounters
from yilian.insurance.drg.payment import CaseGroup, DrgCost, Standard
from yilian.kit.sql import days_between, year_month
from yilian.models import (
    Claim,
    ClaimSummary,
    Consortium,
    ConsortiumMember,
    Contract,
    DrgGrouping,
    DrgStandard,
    Encounter,
    FamilyDoctorTeam,
    Institution,
    Resident,
)


@dataclass(frozen=True)
class MemberRow:
    id: int
    code: str
    name: str
    grassroots: bool


def members(session: Session, consortium_id: int) -> list[MemberRow]:
    rows = session.execute(
        select(Institution.id, Institution.code, Institution.name, Institution.is_grassroots)
        .join(ConsortiumMember, ConsortiumMember.institution_id == Institution.id)
        .where(ConsortiumMember.consortium_id == consortium_id)
        .order_by(Institution.is_grassroots, Institution.code)
    )
    return [MemberRow(*row) for row in rows]


def year_bounds(year: int) -> tuple[date, date]:
    return date(year, 1, 1), date(year, 12, 31)


def fund_by_payer(
    session: Session, *, region_code: str, year: int
) -> list[tuple[int | None, bool, str, int]]:
    """(institution, out of county, 'YYYY-MM', fund fen) for the county's insured in a year."""
    statement = (
        select(
            ClaimSummary.institution_id,
            ClaimSummary.out_of_county,
            ClaimSummary.month,
            func.sum(ClaimSummary.fund_fen),
        )
        .where(
            ClaimSummary.insured_region_code == region_code,
            ClaimSummary.month.between(f"{year:04d}-01", f"{year:04d}-12"),
        )
        .group_by(ClaimSummary.institution_id, ClaimSummary.out_of_county, ClaimSummary.month)
    )
    return [(i, bool(o), m, int(f)) for i, o, m, f in session.execute(statement)]


def refresh_claim_summary(session: Session, *, region_codes: Sequence[str], first: date, last: date) -> None:
    """Rebuild these counties' summary for the whole months from first to last (one DELETE, one INSERT)."""
    if not region_codes:
        return
    month_first, month_last = f"{first:%Y-%m}", f"{last:%Y-%m}"
    session.execute(
        delete(ClaimSummary).where(
            ClaimSummary.insured_region_code.in_(region_codes),
            ClaimSummary.month.between(month_first, month_last),
        )
    )
    month = year_month(Claim.settled_on)
    after = date(last.year + last.month // 12, last.month % 12 + 1, 1)
    grouped = (
        select(
            Claim.insured_region_code,
            month,
            Claim.institution_id,
            Claim.out_of_county,
            Claim.kind,
            func.count(),
            func.sum(Claim.total_fen),
            func.sum(Claim.fund_fen),
        )
        .where(
            Claim.insured_region_code.in_(region_codes),
            Claim.settled_on >= date(first.year, first.month, 1),
            Claim.settled_on < after,
        )
        .group_by(Claim.insured_region_code, month, Claim.institution_id, Claim.out_of_county, Claim.kind)
    )
    columns = [
        "insured_region_code",
        "month",
        "institution_id",
        "out_of_county",
        "kind",
        "claims",
        "total_fen",
        "fund_fen",
    ]
    session.execute(insert(ClaimSummary).from_select(columns, grouped))


def consortium(session: Session, consortium_id: int) -> Consortium | None:
    return session.get(Consortium, consortium_id)


# ---- DRG ---------------------------------------------------------------------------------------


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


# ---- capitation --------------------------------------------------------------------------------


def signed_days(session: Session, *, consortium_id: int, year: int) -> dict[int, tuple[int, int]]:
    """Institution → (signed residents, signed person-days within the year) from every contract row.

    A contract's days are its overlap with the year; a contract ended early counts to its end.
    """
    first, last = year_bounds(year)
    ends = func.coalesce(Contract.ended_on, Contract.end_on)
    start = case((Contract.start_on > first, Contract.start_on), else_=first)
    end = case((ends < last, ends), else_=last)
    statement = (
        select(
            FamilyDoctorTeam.institution_id,
            func.count(func.distinct(Contract.resident_id)),
            func.sum(days_between(start, end) + 1),
        )
        .join(FamilyDoctorTeam, FamilyDoctorTeam.id == Contract.team_id)
        .where(
            Contract.consortium_id == consortium_id,
            Contract.start_on <= last,
            ends >= first,
            ends >= Contract.start_on,
        )
        .group_by(FamilyDoctorTeam.institution_id)
    )
    return {
        institution: (int(residents), int(days))
        for institution, residents, days in session.execute(statement)
    }


# ---- claims ------------------------------------------------------------------------------------


def existing_claim_numbers(session: Session, numbers: Sequence[str]) -> set[str]:
    found: set[str] = set()
    for start in range(0, len(numbers), 500):
        found.update(
            session.scalars(select(Claim.claim_no).where(Claim.claim_no.in_(numbers[start : start + 500])))
        )
    return found


def claimed_encounters(session: Session, encounter_ids: Sequence[int]) -> set[int]:
    found: set[int] = set()
    for start in range(0, len(encounter_ids), 500):
        found.update(
            session.scalars(
                select(Claim.encounter_id).where(Claim.encounter_id.in_(encounter_ids[start : start + 500]))
            )
        )
    return found


def claims_from_encounters(session: Session, *, since: date) -> None:
    """One INSERT … SELECT: a claim for every finished encounter with a fund payment and none yet."""
    has_claim = select(Claim.id).where(Claim.encounter_id == Encounter.id)
    source = (
        select(
            literal("E") + cast(Encounter.id, type_=Claim.claim_no.type),
            Encounter.id,
            Encounter.resident_id,
            func.substr(Resident.region_code, 1, 6),
            Encounter.institution_id,
            Encounter.kind,
            func.coalesce(Encounter.end_date, Encounter.start_date),
            Encounter.total_fen,
            Encounter.fund_fen,
            Encounter.out_of_county,
        )
        .join(Resident, Resident.id == Encounter.resident_id)
        .where(
            Encounter.fund_fen > 0,
            Encounter.end_date.is_not(None),
            Encounter.start_date >= since,
            ~has_claim.exists(),
        )
    )
    session.execute(
        insert(Claim).from_select(
            [
                "claim_no",
                "encounter_id",
                "resident_id",
                "insured_region_code",
                "institution_id",
                "kind",
                "settled_on",
                "total_fen",
                "fund_fen",
                "out_of_county",
            ],
            source,
        )
    )
    spans = session.execute(
        select(Claim.insured_region_code, func.min(Claim.settled_on), func.max(Claim.settled_on))
        .where(Claim.settled_on >= since)
        .group_by(Claim.insured_region_code)
    ).all()
    if spans:
        refresh_claim_summary(
            session,
            region_codes=[code for code, _, _ in spans],
            first=min(first for _, first, _ in spans),
            last=max(last for _, _, last in spans),
        )


def consortium_by_code(session: Session, code: str | None) -> Consortium | None:
    """By code; without one, the first county medical community (the demo's)."""
    statement = select(Consortium)
    statement = (
        statement.where(Consortium.code == code)
        if code
        else statement.where(Consortium.kind == "县域医共体").order_by(Consortium.id)
    )
    return session.scalars(statement.limit(1)).first()
