"""Queries over encounters: a resident's history and the county's monthly volumes (set-based)."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import case, delete, func, insert, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from yilian.kit.sql import year_month
from yilian.models import (
    Consortium,
    ConsortiumMember,
    Department,
    DrgGrouping,
    Encounter,
    EncounterDiagnosis,
    EncounterProcedure,
    Institution,
    Resident,
    VisitSummary,
)


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
    return _codes_of(session, EncounterDiagnosis, EncounterDiagnosis.icd10_code, encounter_ids)


def procedures_of(session: Session, encounter_ids: list[int]) -> dict[int, list[str]]:
    return _codes_of(session, EncounterProcedure, EncounterProcedure.icd9_code, encounter_ids)


def _codes_of(session: Session, table: Any, code: Any, encounter_ids: list[int]) -> dict[int, list[str]]:
    """Each encounter's codes in order (principal first); every asked id is a key."""
    out: dict[int, list[str]] = {i: [] for i in encounter_ids}
    if not encounter_ids:
        return out
    rows = session.execute(
        select(table.encounter_id, code)
        .where(table.encounter_id.in_(encounter_ids))
        .order_by(table.encounter_id, table.seq)
    )
    for encounter_id, value in rows:
        out[encounter_id].append(value)
    return out


def replace_codes(
    session: Session, *, encounter_id: int, diagnoses: list[str], procedures: list[str]
) -> None:
    session.execute(delete(EncounterDiagnosis).where(EncounterDiagnosis.encounter_id == encounter_id))
    session.execute(delete(EncounterProcedure).where(EncounterProcedure.encounter_id == encounter_id))
    session.add_all(
        EncounterDiagnosis(encounter_id=encounter_id, seq=i, icd10_code=c) for i, c in enumerate(diagnoses)
    )
    session.add_all(
        EncounterProcedure(encounter_id=encounter_id, seq=i, icd9_code=c) for i, c in enumerate(procedures)
    )


def groupings_of(session: Session, encounter_ids: list[int]) -> list[DrgGrouping]:
    if not encounter_ids:
        return []
    return list(session.scalars(select(DrgGrouping).where(DrgGrouping.encounter_id.in_(encounter_ids))))


def is_member_of_consortium_in_county(session: Session, institution_id: int, county_code: str) -> bool:
    """Care counts as in-county when the institution is a member of a consortium of the resident's county."""
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
    """(month, tier, visits) of the region's residents, tier = 基层 / 县级 / 县外, from the summary."""
    tier = case(
        (VisitSummary.out_of_county.is_(True), "县外"),
        (Institution.is_grassroots.is_(True), "基层"),
        else_="县级",
    )
    rows = session.execute(
        select(VisitSummary.month, tier, func.sum(VisitSummary.visits))
        .join(Institution, Institution.id == VisitSummary.institution_id)
        .where(
            VisitSummary.resident_region_code.between(*region_range),
            VisitSummary.month >= f"{start:%Y-%m}",
            VisitSummary.month <= f"{end:%Y-%m}",
        )
        .group_by(VisitSummary.month, tier)
        .order_by(VisitSummary.month)
    )
    return [(m, t, int(c)) for m, t, c in rows]


def visits_at_institutions(session: Session, *, region_range: tuple[str, str], since: date) -> int:
    """Visits at the region's institutions since a month's start (whoever the patient)."""
    in_region = select(Institution.id).where(Institution.region_code.between(*region_range))
    total = session.scalar(
        select(func.sum(VisitSummary.visits)).where(
            VisitSummary.institution_id.in_(in_region), VisitSummary.month >= f"{since:%Y-%m}"
        )
    )
    return int(total or 0)


def refresh_visit_summary(session: Session, *, start: date, end: date) -> None:
    """Rebuild the summary for whole months from start to end: one DELETE and one INSERT … SELECT."""
    first = date(start.year, start.month, 1)
    after = date(end.year + end.month // 12, end.month % 12 + 1, 1)
    session.execute(
        delete(VisitSummary).where(
            VisitSummary.month >= f"{first:%Y-%m}", VisitSummary.month < f"{after:%Y-%m}"
        )
    )
    month = year_month(Encounter.start_date)
    grouped = (
        select(
            month,
            Encounter.institution_id,
            Resident.region_code,
            Encounter.kind,
            Encounter.out_of_county,
            func.count(),
            func.sum(Encounter.total_fen),
            func.sum(Encounter.fund_fen),
        )
        .join(Resident, Resident.id == Encounter.resident_id)
        .where(Encounter.start_date >= first, Encounter.start_date < after)
        .group_by(
            month, Encounter.institution_id, Resident.region_code, Encounter.kind, Encounter.out_of_county
        )
    )
    columns = [
        "month",
        "institution_id",
        "resident_region_code",
        "kind",
        "out_of_county",
        "visits",
        "total_fen",
        "fund_fen",
    ]
    session.execute(insert(VisitSummary).from_select(columns, grouped))


def count_visit(
    session: Session,
    *,
    encounter: Encounter,
    resident_region_code: str,
    visits: int,
    total_fen: int,
    fund_fen: int,
) -> None:
    """Add to the encounter's summary row (an upsert, safe under concurrent recording).

    A new encounter adds one visit and its money; a discharge adds no visit and the change in money.
    """
    add_to_summaries(
        session,
        [
            {
                "month": f"{encounter.start_date:%Y-%m}",
                "institution_id": encounter.institution_id,
                "resident_region_code": resident_region_code,
                "kind": encounter.kind,
                "out_of_county": encounter.out_of_county,
                "visits": visits,
                "total_fen": total_fen,
                "fund_fen": fund_fen,
            }
        ],
    )


SUMMARY_KEY = ("month", "institution_id", "resident_region_code", "kind", "out_of_county")


def add_to_summaries(session: Session, deltas: list[dict[str, Any]]) -> None:
    """Add each delta (month, institution, resident region, kind, out of county → visits and money)
    to its summary row: one upsert statement for them all."""
    summed: dict[tuple[Any, ...], dict[str, Any]] = {}
    for delta in deltas:
        key = tuple(delta[k] for k in SUMMARY_KEY)
        if key in summed:
            for column in ("visits", "total_fen", "fund_fen"):
                summed[key][column] += delta[column]
        else:
            summed[key] = dict(delta)
    if not summed:
        return
    dialect_insert = sqlite_insert if session.get_bind().dialect.name == "sqlite" else pg_insert
    statement = dialect_insert(VisitSummary)
    statement = statement.on_conflict_do_update(
        index_elements=list(SUMMARY_KEY),
        set_={
            "visits": VisitSummary.visits + statement.excluded.visits,
            "total_fen": VisitSummary.total_fen + statement.excluded.total_fen,
            "fund_fen": VisitSummary.fund_fen + statement.excluded.fund_fen,
        },
    )
    session.execute(statement, list(summed.values()))


def month_span_of(session: Session, *, resident_id: int) -> tuple[date | None, date | None]:
    first, last = session.execute(
        select(func.min(Encounter.start_date), func.max(Encounter.start_date)).where(
            Encounter.resident_id == resident_id
        )
    ).one()
    return first, last


def inpatients(
    session: Session, *, institution_id: int, offset: int = 0, limit: int | None = None
) -> tuple[list[tuple[Encounter, str, str | None]], int]:
    """The institution's patients in a bed now (inpatient stays not yet discharged), longest stay first,
    with the patient's and the department's names; one page and the whole count."""
    statement = (
        select(Encounter, Resident.name, Department.name)
        .join(Resident, Resident.id == Encounter.resident_id)
        .outerjoin(Department, Department.id == Encounter.department_id)
        .where(
            Encounter.institution_id == institution_id,
            Encounter.kind == "inpatient",
            Encounter.end_date.is_(None),
        )
    )
    total = session.scalar(select(func.count()).select_from(statement.subquery())) or 0
    rows = session.execute(statement.order_by(Encounter.start_date, Encounter.id).offset(offset).limit(limit))
    return [(e, name, department) for e, name, department in rows], total
