"""Insurance queries: settlement spending by payer, the claims summary, capitation days, claims from
encounters (the DRG queries are in `drg.repository`).

Each is one set-based statement; what leaves the database is a few hundred aggregate rows.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import case, cast, delete, func, insert, literal, select
from sqlalchemy.orm import Session

from yilian.kit.sql import days_between, year_month
from yilian.models import (
    Claim,
    ClaimSummary,
    Consortium,
    ConsortiumMember,
    Contract,
    Encounter,
    FamilyDoctorTeam,
    Institution,
    Resident,
    Settlement,
    User,
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


# ---- saved settlements -------------------------------------------------------------------------


def saved_settlements(consortia: Any, *, consortium_id: int | None, year: int | None) -> Any:
    """Saved settlements of the consortia the caller runs (`consortia`: a WHERE clause on Consortium),
    newest first, with the consortium's name and who saved it."""
    statement = (
        select(Settlement, Consortium.name.label("consortium_name"), User.display_name.label("by"))
        .join(Consortium, Consortium.id == Settlement.consortium_id)
        .outerjoin(User, User.id == Settlement.created_by)
        .where(consortia)
    )
    if consortium_id is not None:
        statement = statement.where(Settlement.consortium_id == consortium_id)
    if year is not None:
        statement = statement.where(Settlement.year == year)
    return statement


def count_rows(session: Session, statement: Any) -> int:
    return int(session.scalar(select(func.count()).select_from(statement.order_by(None).subquery())) or 0)


def settlements_page(session: Session, statement: Any, *, offset: int, limit: int | None) -> list[Any]:
    ordered = statement.order_by(Settlement.created_at.desc(), Settlement.id.desc()).offset(offset)
    return list(session.execute(ordered if limit is None else ordered.limit(limit)))
