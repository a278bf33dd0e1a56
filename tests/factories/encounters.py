from __future__ import annotations

from datetime import date

from sqlalchemy.orm import Session

from yilian.models import Encounter, EncounterDiagnosis, Institution, Resident


def create_encounter(
    session: Session,
    *,
    resident: Resident,
    institution: Institution,
    on: date,
    total_fen: int = 8000,
    fund_fen: int = 4000,
    kind: str = "outpatient",
    diagnoses: tuple[str, ...] = ("J06.900",),
    out_of_county: bool = False,
) -> Encounter:
    encounter = Encounter(
        resident_id=resident.id,
        institution_id=institution.id,
        kind=kind,
        start_date=on,
        end_date=on if kind == "outpatient" else None,
        total_fen=total_fen,
        fund_fen=fund_fen,
        out_of_county=out_of_county,
    )
    session.add(encounter)
    session.flush()
    session.add_all(
        EncounterDiagnosis(encounter_id=encounter.id, seq=i, icd10_code=c) for i, c in enumerate(diagnoses)
    )
    session.flush()
    return encounter
