"""Schedules and extra slots of an institution outside the caller's county are "not found", in the
same words as ones that do not exist (decision 0022); inside the county but not theirs, 403."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tests.factories.auth import bearer
from tests.factories.scheduling import hospital_admin, open_schedule
from tests.factories.world import build_far_county, build_world
from yilian.models import Schedule, Slot

MISSING = 987654


def test_schedules_are_kept_for_the_admins_own_institution(client: TestClient, session: Session) -> None:
    world = build_world(session)
    far = build_far_county(session)
    admin = hospital_admin(session, world)
    body = {"kind": "clinic", "name": "心内科"}
    hidden = client.post("/api/schedules", json={**body, "institution_id": far.hospital.id}, headers=admin)
    missing = client.post("/api/schedules", json={**body, "institution_id": MISSING}, headers=admin)
    assert hidden.status_code == missing.status_code == 422
    assert hidden.json()["error"]["fields"][0]["field"] == "institution_id"
    neighbour = client.post(
        "/api/schedules", json={**body, "institution_id": world.township_a.id}, headers=admin
    )
    assert neighbour.status_code == 403
    assert session.scalar(select(func.count()).select_from(Schedule)) == 0


def test_an_extra_slot_on_another_countys_schedule_is_refused_as_unknown(
    client: TestClient, session: Session
) -> None:
    world = build_world(session)
    far = build_far_county(session)
    far_schedule = open_schedule(
        client, bearer(session, far.institution_admin), far.hospital.id, kind="clinic", name="心内科"
    )
    doctor = bearer(session, world.family_doctor_a)
    hidden = client.post(
        "/api/slots/extra",
        json={"schedule_id": far_schedule["id"], "starts_at": "2026-11-24T16:00"},
        headers=doctor,
    )
    missing = client.post(
        "/api/slots/extra", json={"schedule_id": MISSING, "starts_at": "2026-11-24T16:00"}, headers=doctor
    )
    assert hidden.status_code == missing.status_code == 422 and hidden.json() == missing.json()
    assert session.scalar(select(func.count()).select_from(Slot)) == 0
