"""A patient arrives: the desk checks the booking in, a referred patient's referral moves to 到诊,
and a bed booking becomes an admission (an inpatient encounter, later discharged and DRG-grouped).

A journey across three domains (scheduling, referral, encounters): `referral.service` books through
`scheduling.booking`, so the composition sits above both, in pathways (decision 0030).
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from yilian.auth.context import Actor
from yilian.encounters.schemas import EncounterIn
from yilian.encounters.service import do_record_encounter
from yilian.kit.errors import ValidationFailed
from yilian.models import Referral, Schedule, Slot
from yilian.referral import rules as referral_rules
from yilian.referral.service import do_transition
from yilian.scheduling.booking import do_change_booking


class CheckInIn(BaseModel):
    diagnoses: list[str] | None = Field(
        default=None,
        description="admitting ICD-10 codes for a bed booking; omitted: the referral's diagnoses",
    )


class CheckInOut(BaseModel):
    id: int
    status: str
    referral_status: str | None = None
    encounter_id: int | None = None


def do_check_in(
    session: Session, *, actor: Actor, booking_id: int, data: CheckInIn, arrival_grace_days: int = 0
) -> CheckInOut:
    booking = do_change_booking(
        session, actor=actor, booking_id=booking_id, action="check_in", arrival_grace_days=arrival_grace_days
    )
    referral = session.get(Referral, booking.referral_id) if booking.referral_id else None
    if referral is not None and referral.status == referral_rules.ACCEPTED:
        do_transition(
            session, actor=actor, referral_id=referral.id, target=referral_rules.ARRIVED, reason=None
        )
    slot = session.get(Slot, booking.slot_id)
    schedule = session.get(Schedule, slot.schedule_id) if slot else None
    encounter_id = None
    if slot is not None and schedule is not None and schedule.kind == "bed":
        encounter_id = _admit(session, actor, booking.resident_id, slot, schedule, data, referral)
    return CheckInOut(
        id=booking.id,
        status=booking.status,
        referral_status=referral.status if referral else None,
        encounter_id=encounter_id,
    )


def _admit(
    session: Session,
    actor: Actor,
    resident_id: int,
    slot: Slot,
    schedule: Schedule,
    data: CheckInIn,
    referral: Referral | None,
) -> int:
    diagnoses = data.diagnoses or ([c for c in referral.diagnoses.split(",") if c] if referral else [])
    if not diagnoses:
        raise ValidationFailed.one(
            "diagnoses", "床位预约入院须填写入院诊断", "an admission needs the admitting diagnoses"
        )
    today: date = actor.clock.now().date()
    encounter = do_record_encounter(
        session,
        actor=actor,
        data=EncounterIn(
            resident_id=resident_id,
            institution_id=slot.institution_id,
            department_id=schedule.department_id,
            kind="inpatient",
            start_date=today,
            diagnoses=diagnoses,
            total_cost=Decimal("0.00"),  # the bill is known at discharge
            fund_paid=Decimal("0.00"),
        ),
    )
    return encounter.id
