"""JSON endpoints of the journeys that span domains. Their paths and tags are the domains' own (the
screens call the same addresses); the router is matched before the domains' routers, so the booking
check-in is not taken by scheduling's `/bookings/{booking_id}/{action}` (decision 0030)."""

from __future__ import annotations

from fastapi import APIRouter, Request

from yilian.encounters.schemas import DischargeIn, EncounterIn, EncounterOut
from yilian.kit.fields import BigId, Id
from yilian.pathways import discharge as discharges
from yilian.pathways.arrival import CheckInIn, CheckInOut, do_check_in
from yilian.pathways.merging import do_merge_residents
from yilian.residents.schemas import MergeIn, MergeOut
from yilian.web.deps import ApiActor, DbSession

router = APIRouter(prefix="/api")


@router.post("/bookings/{booking_id}/check_in", response_model=CheckInOut, tags=["booking"])
def check_in(
    request: Request, booking_id: Id, actor: ApiActor, session: DbSession, data: CheckInIn | None = None
) -> CheckInOut:
    """The receiving desk records arrival on the appointment's day; a referred patient's referral moves
    to 到诊, and a bed booking opens the inpatient stay (admitting diagnoses from the body or from the
    referral)."""
    return do_check_in(
        session,
        actor=actor,
        booking_id=booking_id,
        data=data or CheckInIn(),
        arrival_grace_days=request.app.state.settings.arrival_grace_days,
    )


@router.post("/encounters", response_model=EncounterOut, status_code=201, tags=["encounters"])
def record(data: EncounterIn, actor: ApiActor, session: DbSession) -> EncounterOut:
    return discharges.do_record_encounter(session, actor=actor, data=data)


@router.post("/encounters/{encounter_id}/discharge", response_model=EncounterOut, tags=["encounters"])
def discharge(encounter_id: BigId, data: DischargeIn, actor: ApiActor, session: DbSession) -> EncounterOut:
    """Close an inpatient stay with its front page; the response carries the DRG it was grouped into."""
    return discharges.do_discharge(session, actor=actor, encounter_id=encounter_id, data=data)


@router.post("/residents/merge", response_model=MergeOut, tags=["residents"])
def merge(data: MergeIn, actor: ApiActor, session: DbSession) -> MergeOut:
    return do_merge_residents(
        session, actor=actor, survivor_id=data.survivor_id, merged_id=data.merged_id, reason=data.reason
    )
