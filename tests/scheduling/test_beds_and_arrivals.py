"""Inpatient bed booking (001 §2.1 "住院床位预约"), arrival at the receiving desk, and the desk's day."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tests.auth.test_web_login import login
from tests.factories.auth import PASSWORD, bearer, create_user
from tests.factories.world import World, build_world
from yilian.auth import rules as roles
from yilian.models import Booking, DrgGrouping, Encounter, Referral, Slot
from yilian.scheduling.rules import bed_pools

# Oesophageal perforation with complications (an OpenDRG example case, CHS-DRG 1.1 GC13).
REFERRAL = {
    "direction": "up",
    "diagnoses": ["K22.301", "J94.801", "J96.900x001"],
    "summary": "食管穿孔伴胸膜并发症，请县医院手术",
}


def test_bed_pools_reserve_a_share_of_beds_rounded_up() -> None:
    assert bed_pools(10, 200) == [("reserved", 2), ("public", 8)]
    assert bed_pools(7, 200) == [("reserved", 2), ("public", 5)]  # 1.4 beds → 2
    assert bed_pools(3, 350) == [("reserved", 2), ("public", 1)]
    assert bed_pools(4, 0) == [("public", 4)]
    assert bed_pools(1, 1000) == [("reserved", 1)]


def open_ward(
    client: TestClient, session: Session, world: World, beds: int
) -> tuple[dict[str, str], list[dict]]:
    admin = bearer(
        session, create_user(session, role=roles.INSTITUTION_ADMIN, institution_id=world.hospital.id)
    )
    ward = client.post(
        "/api/schedules",
        json={"institution_id": world.hospital.id, "kind": "bed", "name": "普外科病区床位"},
        headers=admin,
    ).json()
    slots = client.post(
        f"/api/schedules/{ward['id']}/sessions",
        json={"day": "2026-11-26", "start": "08:00", "minutes": 240, "count": beds},
        headers=admin,
    )
    assert slots.status_code == 201, slots.text
    return admin, slots.json()


def test_a_referred_patient_is_admitted_from_a_reserved_bed_and_grouped_at_discharge(
    client: TestClient, session: Session, clock: object, drg_scheme_path: object
) -> None:
    world = build_world(session)
    _, slots = open_ward(client, session, world, beds=10)
    assert [(s["pool"], s["capacity"]) for s in slots] == [("reserved", 2), ("public", 8)]
    reserved = slots[0]
    referral = client.post(
        "/api/referrals",
        json={
            **REFERRAL,
            "resident_id": world.resident_b.id,
            "to_institution_id": world.hospital.id,
            "slot_id": reserved["id"],
        },
        headers=bearer(
            session,
            create_user(
                session,
                role=roles.FAMILY_DOCTOR,
                institution_id=world.township_b.id,
                grid_ids=(world.grid_b.id,),
            ),
        ),
    )
    assert referral.status_code == 201, referral.text
    booking_id = referral.json()["booking_id"]
    doctor = bearer(session, create_user(session, role=roles.DOCTOR, institution_id=world.hospital.id))
    accepted = client.post(
        f"/api/referrals/{referral.json()['id']}/transition", json={"status": "accepted"}, headers=doctor
    )
    assert accepted.status_code == 200, accepted.text

    # The patient may not check themselves in; the ward's desk does.
    patient = bearer(session, create_user(session, role=roles.RESIDENT, resident_id=world.resident_b.id))
    assert client.post(f"/api/bookings/{booking_id}/check_in", headers=patient).status_code == 403

    clock.advance(days=2)  # type: ignore[attr-defined]  # 2026-11-26 09:30, admission day
    arrived = client.post(f"/api/bookings/{booking_id}/check_in", headers=doctor)
    assert arrived.status_code == 200, arrived.text
    out = arrived.json()
    assert (out["status"], out["referral_status"]) == ("checked_in", "arrived")
    stay = session.get(Encounter, out["encounter_id"])
    assert stay is not None and (stay.kind, str(stay.start_date), stay.end_date) == (
        "inpatient",
        "2026-11-26",
        None,
    )
    assert session.scalar(select(Referral.arrived_at).where(Referral.id == referral.json()["id"])) is not None

    discharged = client.post(
        f"/api/encounters/{stay.id}/discharge",
        json={
            "end_date": "2026-11-26",
            "leaving_type": "1",
            "procedures": ["42.0902"],
            "total_cost": "38000.00",
            "fund_paid": "26600.00",
        },
        headers=doctor,
    )
    assert discharged.status_code == 200, discharged.text
    assert discharged.json()["diagnoses"] == REFERRAL["diagnoses"]  # admitted with the referral's codes
    grouping = session.get(DrgGrouping, stay.id)
    assert grouping is not None and grouping.drg == "GC13"


def test_a_bed_booking_without_a_referral_needs_admitting_diagnoses(
    client: TestClient, session: Session, clock: object
) -> None:
    world = build_world(session)
    _, slots = open_ward(client, session, world, beds=5)
    public = next(s for s in slots if s["pool"] == "public")
    desk = bearer(
        session, create_user(session, role=roles.INSTITUTION_ADMIN, institution_id=world.hospital.id)
    )
    family = bearer(session, world.family_doctor_a)
    booked = client.post(
        "/api/bookings", json={"slot_id": public["id"], "resident_id": world.resident_a.id}, headers=family
    )
    assert booked.status_code == 201, booked.text
    clock.advance(days=2)  # type: ignore[attr-defined]

    refused = client.post(f"/api/bookings/{booked.json()['id']}/check_in", headers=desk)
    assert refused.status_code == 422 and refused.json()["error"]["fields"][0]["field"] == "diagnoses"
    assert session.get(Booking, booked.json()["id"]).status == "booked"  # type: ignore[union-attr]
    assert session.scalar(select(func.count()).select_from(Encounter)) == 0

    admitted = client.post(
        f"/api/bookings/{booked.json()['id']}/check_in", json={"diagnoses": ["I63.900"]}, headers=desk
    )
    assert admitted.status_code == 200 and admitted.json()["encounter_id"] is not None
    assert session.get(Slot, public["id"]).booked == 1  # type: ignore[union-attr]


def test_the_desk_sees_its_day_and_records_arrivals(
    client: TestClient, session: Session, clock: object
) -> None:
    world = build_world(session)
    _, slots = open_ward(client, session, world, beds=4)
    family = bearer(session, world.family_doctor_a)
    booked = client.post(
        "/api/bookings", json={"slot_id": slots[0]["id"], "resident_id": world.resident_a.id}, headers=family
    ).json()
    clock.advance(days=2)  # type: ignore[attr-defined]
    nurse = create_user(session, role=roles.DOCTOR, institution_id=world.hospital.id)
    assert login(client, nurse.username, PASSWORD) == 200
    page = client.get("/arrivals")
    assert page.status_code == 200
    assert "张桂兰" in page.text and "基层预约" in page.text and "预留号" in page.text
    assert "共 1 人：待到诊 1 · 已到诊 0 · 爽约 0" in page.text
    token = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)  # type: ignore[union-attr]
    done = client.post(
        f"/arrivals/{booked['id']}/check_in",
        data={"csrf": token, "day": "2026-11-26", "diagnoses": "I63.900"},
        follow_redirects=False,
    )
    assert done.status_code == 303
    assert "已到诊 1" in client.get("/arrivals").text
    assert "今日到诊" in client.get("/arrivals").text
    another_day = client.get("/arrivals?day=2026-11-27").text
    assert "今日到诊" not in another_day and "到诊登记" in another_day
    township_doctor = create_user(session, role=roles.FAMILY_DOCTOR, institution_id=world.township_a.id)
    client.cookies.clear()
    assert login(client, township_doctor.username, PASSWORD) == 200
    assert client.get("/arrivals").status_code == 403


def test_a_live_booking_opens_the_record_to_the_receiving_institution_only_while_live(
    client: TestClient, session: Session
) -> None:
    world = build_world(session)
    _, slots = open_ward(client, session, world, beds=4)
    desk = bearer(session, create_user(session, role=roles.DOCTOR, institution_id=world.hospital.id))
    other = bearer(session, create_user(session, role=roles.DOCTOR, institution_id=world.township_b.id))
    record = f"/api/residents/{world.resident_a.id}"
    assert client.get(record, headers=desk).status_code == 404
    booked = client.post(
        "/api/bookings",
        json={"slot_id": slots[1]["id"], "resident_id": world.resident_a.id},
        headers=bearer(session, world.family_doctor_a),
    ).json()
    assert client.get(record, headers=desk).status_code == 200
    assert client.get(record, headers=other).status_code == 404
    cancelled = client.post(
        f"/api/bookings/{booked['id']}/cancel", headers=bearer(session, world.family_doctor_a)
    )
    assert cancelled.status_code == 200
    assert client.get(record, headers=desk).status_code == 404
