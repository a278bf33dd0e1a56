"""The institution administrator's schedule list, a schedule's week of slots and the policy in force."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from tests.factories.auth import bearer
from tests.factories.scheduling import hospital_admin, open_schedule, publish_session
from tests.factories.world import build_far_county, build_world


def test_schedule_list_is_the_institutions_own_and_the_week_shows_pools(
    client: TestClient, session: Session
) -> None:
    world = build_world(session)
    admin = hospital_admin(session, world)
    created = open_schedule(client, admin, world.hospital.id, kind="clinic", name="心内科王医生")
    for day in ("2026-11-26", "2026-11-27", "2026-12-03"):
        publish_session(client, admin, created["id"], day=day, start="08:00", minutes=10, count=10)
    page = client.get("/api/schedules", params={"kind": "clinic"}, headers=admin).json()
    assert page["total"] == 1
    assert page["items"][0] | {"id": 0} == {
        "id": 0,
        "name": "心内科王医生",
        "kind": "clinic",
        "institution_name": world.hospital.name,
        "department_name": None,
        "staff_name": None,
        "equipment": None,
    }
    assert client.get("/api/schedules", params={"q": "眼科"}, headers=admin).json()["total"] == 0
    # Seven days from the 23rd: the 26th and 27th, not the 3rd of December.
    week = client.get(f"/api/schedules/{created['id']}/week", params={"start": "2026-11-23"}, headers=admin)
    assert week.status_code == 200
    slots = week.json()
    assert len(slots) == 20 and {s["starts_at"][:10] for s in slots} == {"2026-11-26", "2026-11-27"}
    assert sum(s["pool"] == "reserved" for s in slots) == 4  # 20 % of each session
    # Another county's administrator neither lists nor opens this schedule.
    far = build_far_county(session)
    outsider = bearer(session, far.institution_admin)
    assert client.get("/api/schedules", headers=outsider).json()["total"] == 0
    assert (
        client.get(
            f"/api/schedules/{created['id']}/week", params={"start": "2026-11-23"}, headers=outsider
        ).status_code
        == 404
    )


def test_policy_in_force_then_a_higher_share_saved(client: TestClient, session: Session) -> None:
    world = build_world(session)
    admin = hospital_admin(session, world)
    default = client.get("/api/booking-policy", params={"year": 2026}, headers=admin).json()
    assert default["reserved_share"] == 20 and default["stored"] is False
    assert default["minimum_share"] == 20 and default["ceiling_share"] >= 20
    saved = client.put(
        "/api/booking-policy",
        json={"year": 2026, "reserved_share": 30, "release_hours": 48, "extra_cap": 3},
        headers=admin,
    )
    assert saved.status_code == 200, saved.text
    now = client.get("/api/booking-policy", params={"year": 2026}, headers=admin).json()
    assert (now["reserved_share"], now["release_hours"], now["extra_cap"], now["stored"]) == (30, 48, 3, True)
    # A doctor does not keep the policy.
    assert (
        client.get(
            "/api/booking-policy", params={"year": 2026}, headers=bearer(session, world.doctor)
        ).status_code
        == 403
    )


def test_departments_of_the_own_institution(client: TestClient, session: Session) -> None:
    from yilian.models import Department

    world = build_world(session)
    session.add(Department(institution_id=world.hospital.id, code="D01", name="心血管内科"))
    session.add(Department(institution_id=world.township_a.id, code="D01", name="全科"))
    session.flush()
    admin = hospital_admin(session, world)
    assert [d["name"] for d in client.get("/api/schedules/departments", headers=admin).json()] == [
        "心血管内科"
    ]
