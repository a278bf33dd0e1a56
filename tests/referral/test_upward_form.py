"""What the upward-referral form reads: county targets with departments, diagnoses by words, the
reserved pool by day and its slots, and the 双向转诊单 with the ID number masked."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from tests.factories.auth import bearer
from tests.factories.referral import cardiology_clinic
from tests.factories.world import build_world
from yilian.models import Department


def test_reserved_calendar_booking_and_slip(client: TestClient, session: Session) -> None:
    world = build_world(session)
    department = cardiology_clinic(client, session, world, "2026-11-26")
    clinic_tomorrow = Department(institution_id=world.hospital.id, code="X2", name="神经内科")
    session.add(clinic_tomorrow)
    session.flush()
    doctor = bearer(session, world.family_doctor_a)

    targets = client.get("/api/referrals/targets", headers=doctor).json()
    assert [(t["name"], [d["name"] for d in t["departments"]]) for t in targets] == [
        (world.hospital.name, ["心血管内科"])  # 神经内科 runs no clinic: not offered
    ]
    found = client.get("/api/referrals/diagnoses", params={"q": "高血压"}, headers=doctor).json()
    assert found == [{"code": "I10.x00", "label": "高血压（I10.x00）"}]

    days = client.get(
        "/api/booking/reserved-days",
        params={"institution_id": world.hospital.id, "department_id": department.id},
        headers=doctor,
    ).json()
    assert days == [
        {"day": "2026-11-26", "department_id": department.id, "department_name": "心血管内科", "free": 2}
    ]
    slots = client.get(
        "/api/booking/reserved-slots",
        params={"institution_id": world.hospital.id, "department_id": department.id, "day": "2026-11-26"},
        headers=doctor,
    ).json()
    assert [s["starts_at"] for s in slots] == ["2026-11-26T08:20:00", "2026-11-26T09:10:00"]

    created = client.post(
        "/api/referrals",
        json={
            "resident_id": world.resident_a.id,
            "direction": "up",
            "to_institution_id": world.hospital.id,
            "to_department_id": department.id,
            "diagnoses": ["I10.x00"],
            "summary": "血压控制不满意，请上级诊治",
            "urgency": "urgent",
            "slot_id": slots[0]["id"],
        },
        headers=doctor,
    )
    assert created.status_code == 201, created.text
    assert created.json()["urgency_label"] == "紧急"
    after = client.get(
        "/api/booking/reserved-days", params={"institution_id": world.hospital.id}, headers=doctor
    ).json()
    assert [d["free"] for d in after] == [1]

    slip = client.get(f"/api/referrals/{created.json()['id']}/slip", headers=doctor).json()
    number = world.resident_a.id_number
    assert slip["resident_id_number"] == number[:6] + "********" + number[-4:]
    assert slip["referral"]["booked_at"] == "2026-11-26T08:20:00"
    assert slip["referral"]["to_department_name"] == "心血管内科"
    assert slip["doctor_name"] and slip["resident_sex"] == "女"


def test_the_pool_is_not_for_residents_and_unknown_places_are_not_found(
    client: TestClient, session: Session
) -> None:
    world = build_world(session)
    params = {"institution_id": world.hospital.id}
    assert (
        client.get(
            "/api/booking/reserved-days", params=params, headers=bearer(session, world.resident_user_a)
        ).status_code
        == 403
    )
    doctor = bearer(session, world.family_doctor_a)
    assert (
        client.get(
            "/api/booking/reserved-days", params={"institution_id": 999999}, headers=doctor
        ).status_code
        == 404
    )
    assert client.get("/api/referrals/99999/slip", headers=doctor).status_code == 404
    assert client.get("/api/booking/reserved-days", params=params, headers=doctor).json() == []
