"""Inpatient bed booking (001 §2.1 "住院床位预约"), arrival at the receiving desk, and the desk's day."""

from __future__ import annotations

import io

import openpyxl
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tests.factories.auth import bearer, headers_for
from tests.factories.scheduling import booked, hospital_admin, open_ward
from tests.factories.world import build_world
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
        headers=headers_for(
            session, role=roles.FAMILY_DOCTOR, institution_id=world.township_b.id, grid_ids=(world.grid_b.id,)
        ),
    )
    assert referral.status_code == 201, referral.text
    booking_id = referral.json()["booking_id"]
    doctor = headers_for(session, role=roles.DOCTOR, institution_id=world.hospital.id)
    accepted = client.post(
        f"/api/referrals/{referral.json()['id']}/transition", json={"status": "accepted"}, headers=doctor
    )
    assert accepted.status_code == 200, accepted.text

    # The patient may not check themselves in; the ward's desk does.
    patient = headers_for(session, role=roles.RESIDENT, resident_id=world.resident_b.id)
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

    # The ward's list (GET /api/encounters/inpatients): in a bed now, with the admitting diagnoses.
    clock.advance(days=3)  # type: ignore[attr-defined]
    ward = client.get("/api/encounters/inpatients", headers=doctor).json()
    assert (ward["total"], ward["offset"], ward["limit"]) == (1, 0, 20)
    (bed,) = ward["items"]
    assert (bed["id"], bed["resident_name"], bed["days"]) == (stay.id, world.resident_b.name, 3)
    assert bed["diagnoses"] == REFERRAL["diagnoses"] and len(bed["diagnosis_labels"]) == 3
    township = headers_for(session, role=roles.DOCTOR, institution_id=world.township_b.id)
    assert client.get("/api/encounters/inpatients", headers=township).json()["total"] == 0
    assert client.get("/api/encounters/inpatients", headers=patient).status_code == 403
    exported = client.get("/api/encounters/inpatients/export", headers=doctor)
    sheet = list(openpyxl.load_workbook(io.BytesIO(exported.content)).active.iter_rows(values_only=True))  # type: ignore[union-attr]
    assert sheet[0][0] == "患者" and sheet[1][:2] == (world.resident_b.name, bed["department_name"] or None)

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
    assert client.get("/api/encounters/inpatients", headers=doctor).json()["total"] == 0


def test_a_bed_booking_without_a_referral_needs_admitting_diagnoses(
    client: TestClient, session: Session, clock: object
) -> None:
    world = build_world(session)
    _, slots = open_ward(client, session, world, beds=5)
    public = next(s for s in slots if s["pool"] == "public")
    desk = hospital_admin(session, world)
    family = bearer(session, world.family_doctor_a)
    booking = booked(client, family, public["id"], world.resident_a.id)
    clock.advance(days=2)  # type: ignore[attr-defined]

    refused = client.post(f"/api/bookings/{booking['id']}/check_in", headers=desk)
    assert refused.status_code == 422 and refused.json()["error"]["fields"][0]["field"] == "diagnoses"
    assert session.get(Booking, booking["id"]).status == "booked"  # type: ignore[union-attr]
    assert session.scalar(select(func.count()).select_from(Encounter)) == 0

    admitted = client.post(
        f"/api/bookings/{booking['id']}/check_in", json={"diagnoses": ["I63.900"]}, headers=desk
    )
    assert admitted.status_code == 200 and admitted.json()["encounter_id"] is not None
    assert session.get(Slot, public["id"]).booked == 1  # type: ignore[union-attr]


def test_the_desk_sees_its_day_and_records_arrivals(
    client: TestClient, session: Session, clock: object
) -> None:
    """GET /api/arrivals: the county desk's day one page at a time, in words, with whether each booking
    can be checked in now (not before its day: the reason is given) and the whole day as Excel."""
    world = build_world(session)
    _, slots = open_ward(client, session, world, beds=4)
    family = bearer(session, world.family_doctor_a)
    booking = booked(client, family, slots[0]["id"], world.resident_a.id)
    nurse = headers_for(session, role=roles.DOCTOR, institution_id=world.hospital.id)
    ahead = client.get("/api/arrivals", params={"day": "2026-11-26"}, headers=nurse).json()
    (row,) = ahead["items"]
    assert row["check_in_refusal"] == "预约就诊日为2026-11-26，当天才能登记到诊"
    assert client.get("/api/arrivals", headers=nurse).json()["total"] == 0  # today (11-24): nobody

    clock.advance(days=2)  # type: ignore[attr-defined]
    day = client.get("/api/arrivals", headers=nurse).json()
    assert day["total"] == 1 and (day["offset"], day["limit"]) == (0, 20)
    (row,) = day["items"]
    assert (row["resident_name"], row["channel_label"], row["status_label"]) == (
        "张桂兰",
        "基层预约",
        "待到诊",
    )
    assert row["reserved"] and row["check_in_refusal"] is None and row["schedule_kind_label"] == "住院床位"
    assert row["sender_name"] == world.township_a.name
    done = client.post(
        f"/api/bookings/{booking['id']}/check_in", json={"diagnoses": ["I63.900"]}, headers=nurse
    )
    assert done.status_code == 200, done.text
    checked = client.get("/api/arrivals", params={"status": "checked_in"}, headers=nurse).json()
    assert [r["status_label"] for r in checked["items"]] == ["已到诊"]
    assert client.get("/api/arrivals", params={"status": "no_show"}, headers=nurse).json()["total"] == 0
    paged = client.get("/api/arrivals", params={"limit": 1, "offset": 1}, headers=nurse).json()
    assert paged["items"] == [] and paged["total"] == 1
    exported = client.get("/api/arrivals/export", headers=nurse)
    assert exported.status_code == 200
    sheet = openpyxl.load_workbook(io.BytesIO(exported.content)).active
    rows = list(sheet.iter_rows(values_only=True))  # type: ignore[union-attr]
    assert rows[0][0] == "预约时间" and rows[1][3] == "张桂兰" and rows[1][-1] == "已到诊"

    township_doctor = headers_for(session, role=roles.FAMILY_DOCTOR, institution_id=world.township_a.id)
    assert client.get("/api/arrivals", headers=township_doctor).status_code == 403
    bad = client.get("/api/arrivals", params={"status": "lost"}, headers=nurse)
    assert bad.status_code == 422


def test_a_live_booking_opens_the_record_to_the_receiving_institution_only_while_live(
    client: TestClient, session: Session
) -> None:
    world = build_world(session)
    _, slots = open_ward(client, session, world, beds=4)
    desk = headers_for(session, role=roles.DOCTOR, institution_id=world.hospital.id)
    other = headers_for(session, role=roles.DOCTOR, institution_id=world.township_b.id)
    record = f"/api/residents/{world.resident_a.id}"
    assert client.get(record, headers=desk).status_code == 404
    booking = booked(client, bearer(session, world.family_doctor_a), slots[1]["id"], world.resident_a.id)
    assert client.get(record, headers=desk).status_code == 200
    assert client.get(record, headers=other).status_code == 404
    cancelled = client.post(
        f"/api/bookings/{booking['id']}/cancel", headers=bearer(session, world.family_doctor_a)
    )
    assert cancelled.status_code == 200
    assert client.get(record, headers=desk).status_code == 404
