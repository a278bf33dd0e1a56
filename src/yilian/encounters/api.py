"""JSON endpoints of encounters."""

from __future__ import annotations

from fastapi import APIRouter

from yilian.encounters import service
from yilian.encounters.schemas import DischargeIn, EncounterIn, EncounterOut
from yilian.kit.fields import BigId, Id
from yilian.web.deps import ApiActor, DbSession

router = APIRouter(prefix="/api", tags=["encounters"])


@router.post("/encounters", response_model=EncounterOut, status_code=201)
def record(data: EncounterIn, actor: ApiActor, session: DbSession) -> EncounterOut:
    return service.do_record_encounter(session, actor=actor, data=data)


@router.post("/encounters/{encounter_id}/discharge", response_model=EncounterOut)
def discharge(encounter_id: BigId, data: DischargeIn, actor: ApiActor, session: DbSession) -> EncounterOut:
    """Close an inpatient stay with its front page; the response carries the DRG it was grouped into."""
    return service.do_discharge(session, actor=actor, encounter_id=encounter_id, data=data)


@router.get("/residents/{resident_id}/encounters", response_model=list[EncounterOut])
def of_resident(resident_id: Id, actor: ApiActor, session: DbSession) -> list[EncounterOut]:
    return service.list_encounters(session, actor=actor, resident_id=resident_id)
