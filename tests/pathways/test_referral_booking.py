"""The referral with a booked place (pathways.referral_booking): the slot is checked by the journey,
and a refused slot leaves neither a referral nor a booking behind (decision 0030)."""

from __future__ import annotations

from datetime import date

from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tests.factories.auth import bearer, create_user
from tests.factories.encounters import create_encounter
from tests.factories.referral import UP_BODY
from tests.factories.registry import create_institution
from tests.factories.scheduling import publish
from tests.factories.world import build_world
from yilian.auth import rules as roles
from yilian.models import Booking, Referral


def _nothing_recorded(session: Session) -> bool:
    referrals = session.scalar(select(func.count()).select_from(Referral))
    bookings = session.scalar(select(func.count()).select_from(Booking))
    return (referrals, bookings) == (0, 0)


def test_a_downward_referral_books_no_slot(client: TestClient, session: Session) -> None:
    world = build_world(session)
    _, slots = publish(client, session, world)
    # The hospital treated the resident, so its doctor may open the record and refer them back down.
    create_encounter(
        session,
        resident=world.resident_a,
        institution=world.hospital,
        on=date(2026, 11, 10),
        kind="inpatient",
    )
    doctor = bearer(session, create_user(session, role=roles.DOCTOR, institution_id=world.hospital.id))
    body = {
        "direction": "down",
        "diagnoses": ["I10.x00"],
        "summary": "【诊断】高血压【康复/治疗方案】规律服药",
        "resident_id": world.resident_a.id,
        "to_institution_id": world.township_a.id,
        "slot_id": slots[0]["id"],
    }
    refused = client.post("/api/referrals", json=body, headers=doctor)
    assert refused.status_code == 422, refused.text
    assert refused.json()["error"]["fields"][0]["field"] == "slot_id"
    assert _nothing_recorded(session)


def test_the_slot_must_be_at_the_receiving_institution(client: TestClient, session: Session) -> None:
    world = build_world(session)
    _, slots = publish(client, session, world)
    elsewhere = create_institution(session, name="另一县医院", type="综合医院", level="二级")
    family = bearer(session, world.family_doctor_a)
    for to_institution_id, slot_id in ((elsewhere.id, slots[0]["id"]), (world.hospital.id, 2**31 - 1)):
        body = {
            **UP_BODY,
            "reason": "患者要求",
            "resident_id": world.resident_a.id,
            "to_institution_id": to_institution_id,
            "slot_id": slot_id,
        }
        refused = client.post("/api/referrals", json=body, headers=family)
        assert refused.status_code == 422, refused.text
        assert refused.json()["error"]["fields"][0]["field"] == "slot_id"
    assert _nothing_recorded(session)


def test_the_booking_carries_the_referral_and_the_idempotency_key(
    client: TestClient, session: Session
) -> None:
    world = build_world(session)
    _, slots = publish(client, session, world)
    reserved = next(s for s in slots if s["pool"] == "reserved")
    body = {
        **UP_BODY,
        "resident_id": world.resident_a.id,
        "to_institution_id": world.hospital.id,
        "slot_id": reserved["id"],
    }
    headers = {**bearer(session, world.family_doctor_a), "Idempotency-Key": "refer-once-0001"}
    created = client.post("/api/referrals", json=body, headers=headers)
    assert created.status_code == 201, created.text
    booking = session.scalar(select(Booking).where(Booking.referral_id == created.json()["id"]))
    assert booking is not None and booking.slot_id == reserved["id"]
    assert booking.idempotency_key == "refer-once-0001"
