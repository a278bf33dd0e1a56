"""Schedules, published sessions and bookings: through the API where a test reads what the API
answers (the pools it spreads, the ids it gives), as rows where a test needs a place as it stands."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from tests.factories.auth import headers_for
from tests.factories.world import World
from yilian.auth import rules as roles
from yilian.models import Schedule, Slot

Slots = list[dict[str, Any]]


def hospital_admin(session: Session, world: World) -> dict[str, str]:
    """A new administrator of the county hospital, signed in."""
    return headers_for(session, role=roles.INSTITUTION_ADMIN, institution_id=world.hospital.id)


def open_schedule(
    client: TestClient,
    headers: dict[str, str],
    institution_id: int,
    *,
    kind: str = "clinic",
    name: str = "心内科王医生",
    **extra: object,
) -> dict[str, Any]:
    """POST /api/schedules (`extra`: department_id, staff_id, equipment)."""
    response = client.post(
        "/api/schedules",
        json={"institution_id": institution_id, "kind": kind, "name": name, **extra},
        headers=headers,
    )
    assert response.status_code == 201, response.text
    return dict(response.json())


def publish_session(
    client: TestClient,
    headers: dict[str, str],
    schedule_id: int,
    *,
    day: str = "2026-11-26",
    start: str = "08:00",
    minutes: int = 10,
    count: int = 10,
) -> Slots:
    """POST /api/schedules/{id}/sessions: `count` places of `minutes` from `start`; the slots made."""
    response = client.post(
        f"/api/schedules/{schedule_id}/sessions",
        json={"day": day, "start": start, "minutes": minutes, "count": count},
        headers=headers,
    )
    assert response.status_code == 201, response.text
    return list(response.json())


def publish(
    client: TestClient,
    session: Session,
    world: World,
    *,
    count: int = 10,
    day: str = "2026-11-26",
    start: str = "08:00",
    minutes: int = 10,
    kind: str = "clinic",
    name: str = "心内科王医生",
    **extra: object,
) -> tuple[dict[str, str], Slots]:
    """A new hospital administrator opens a schedule at the county hospital and publishes one session
    of it; (the administrator's headers, the slots)."""
    admin = hospital_admin(session, world)
    schedule = open_schedule(client, admin, world.hospital.id, kind=kind, name=name, **extra)
    return admin, publish_session(
        client, admin, schedule["id"], day=day, start=start, minutes=minutes, count=count
    )


def open_ward(client: TestClient, session: Session, world: World, beds: int) -> tuple[dict[str, str], Slots]:
    """The county hospital's surgical ward: `beds` beds for admission on 2026-11-26."""
    return publish(
        client, session, world, kind="bed", name="普外科病区床位", day="2026-11-26", minutes=240, count=beds
    )


def ct_slot(
    session: Session,
    hospital_id: int,
    *,
    capacity: int,
    booked: int,
    starts_at: datetime = datetime(2026, 11, 26, 9),
) -> Slot:
    """A published public CT slot of an hour (26 November 2026, 09:00 unless `starts_at` says), with
    its schedule (rows, as they stand)."""
    schedule = Schedule(institution_id=hospital_id, kind="exam", name="CT", equipment="CT")
    session.add(schedule)
    session.flush()
    slot = Slot(
        schedule_id=schedule.id,
        institution_id=hospital_id,
        starts_at=starts_at,
        ends_at=starts_at + timedelta(hours=1),
        pool="public",
        capacity=capacity,
        booked=booked,
        published=True,
    )
    session.add(slot)
    session.flush()
    return slot


def book(
    client: TestClient, headers: dict[str, str], slot_id: object, resident_id: int, **extra: object
) -> Any:
    """POST /api/bookings; the response, unchecked (tests assert what they expect of it)."""
    return client.post(
        "/api/bookings", json={"slot_id": slot_id, "resident_id": resident_id, **extra}, headers=headers
    )


def booked(client: TestClient, headers: dict[str, str], slot_id: object, resident_id: int) -> dict[str, Any]:
    """A booking that must succeed (201); its body."""
    response = book(client, headers, slot_id, resident_id)
    assert response.status_code == 201, response.text
    return dict(response.json())
