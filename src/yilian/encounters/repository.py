"""Queries over encounters: a resident's history and the county's monthly volumes (set-based)."""

from __future__ import annotations

from datetime import date

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from yilian.kit.sql import year_month
from yilian.models import ConsortiumMember, Encounter, EncounterDiagnosis, Institution


def of_resident(session: Session, resident_id: int, limit: int = 200) -> list[tuple[Encounter, str]]:
    rows = session.execute(
        select(Encounter, Institution.name)
        .join(Institution, Institution.id == Encounter.institution_id)
        .where(Encounter.resident_id == resident_id)
        .order_by(Encounter.start_date.desc(), Encounter.id.desc())
        .limit(limit)
    )
    return [(e, n) for e, n in rows]


def diagnoses_of(session: Session, encounter_ids: list[int]) -> dict[int, list[str]]:
    out: dict[int, list[str]] = {i: [] for i in encounter_ids}
    if not encounter_ids:
        return out
    rows = session.execute(
        select(EncounterDiagnosis.encounter_id, EncounterDiagnosis.icd10_code)
        .where(EncounterDiagnosis.encounter_id.in_(encounter_ids))
        .order_by(EncounterDiagnosis.encounter_id, EncounterDiagnosis.seq)
    )
    for encounter_id, code in rows:
        out[encounter_id].append(code)
    return out


def is_member_of_consortium_in_county(session: Session, institution_id: int, county_code: str) -> bool:
    """Care counts as in-county when the institution is a member of a consortium of the resident's county."""
    from yilian.models import Consortium

    found = session.scalar(
        select(func.count())
        .select_from(ConsortiumMember)
        .join(Consortium, Consortium.id == ConsortiumMember.consortium_id)
        .where(ConsortiumMember.institution_id == institution_id, Consortium.region_code == county_code)
    )
    return bool(found)


def monthly_volume(
    session: Session, *, region_range: tuple[str, str], start: date, end: date
) -> list[tuple[str, str, int]]:
    """(month, tier, visits) for residents' care, tier = 基层 / 县级 / 县外. One grouped query."""
    tier = case(
        (Encounter.out_of_county.is_(True), "县外"),
        (Institution.is_grassroots.is_(True), "基层"),
        else_="县级",
    )
    month = year_month(Encounter.start_date)
    rows = session.execute(
        select(month, tier, func.count())
        .select_from(Encounter)
        .join(Institution, Institution.id == Encounter.institution_id)
        .where(Encounter.start_date >= start, Encounter.start_date < end)
        .where(Encounter.resident_id.in_(_residents_in(region_range)))
        .group_by(month, tier)
        .order_by(month)
    )
    return [(m, t, c) for m, t, c in rows]


def _residents_in(region_range: tuple[str, str]):  # type: ignore[no-untyped-def]
    from yilian.models import Resident

    return select(Resident.id).where(Resident.region_code.between(*region_range))
