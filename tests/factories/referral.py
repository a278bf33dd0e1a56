"""Referrals: sent and moved through the API as the desks do, or a row in a given state."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from tests.factories.auth import headers_for
from tests.factories.scheduling import open_schedule, publish_session
from tests.factories.world import World
from yilian.auth import rules as roles
from yilian.models import Department, Referral

UP_BODY = {
    "direction": "up",
    "diagnoses": ["I10.x00", "I63.900"],
    "summary": "血压控制不佳伴头晕，疑脑梗，请上级诊治",
}


def hospital_doctor(session: Session, world: World) -> dict[str, str]:
    """A new doctor of the county hospital (the receiving side of an upward referral), signed in."""
    return headers_for(session, role=roles.DOCTOR, institution_id=world.hospital.id)


def send(client: TestClient, headers: dict[str, str], **body: object) -> Any:
    """POST /api/referrals with UP_BODY under `body`; the response, unchecked."""
    return client.post("/api/referrals", json={**UP_BODY, **body}, headers=headers)


def refer_up(
    client: TestClient,
    headers: dict[str, str],
    world: World,
    *,
    resident_id: int | None = None,
    **body: object,
) -> dict[str, Any]:
    """An upward referral to the county hospital that must be accepted for sending (201); its body."""
    response = send(
        client,
        headers,
        resident_id=resident_id if resident_id is not None else world.resident_a.id,
        to_institution_id=world.hospital.id,
        **body,
    )
    assert response.status_code == 201, response.text
    return dict(response.json())


def move(client: TestClient, headers: dict[str, str], referral_id: int, status: str, **body: object) -> Any:
    """POST /api/referrals/{id}/transition; the response, unchecked."""
    return client.post(
        f"/api/referrals/{referral_id}/transition", json={"status": status, **body}, headers=headers
    )


def walk(client: TestClient, headers: dict[str, str], referral_id: int, *statuses: str) -> Any:
    """Each transition in turn, each answered 200; the last response."""
    step = None
    for status in statuses:
        step = move(client, headers, referral_id, status)
        assert step.status_code == 200, step.text
    return step


def create_referral(
    session: Session,
    *,
    resident_id: int,
    from_institution_id: int,
    to_institution_id: int,
    status: str = "accepted",
    direction: str = "up",
    diagnoses: str = "I10",
    summary: str = "血压控制不佳，上转心内科",
    requested_at: datetime = datetime(2026, 11, 23, 10, 0),
    decided_at: datetime | None = None,
    arrived_at: datetime | None = None,
) -> Referral:
    """A referral row already in `status` (no desk walked it there)."""
    referral = Referral(
        resident_id=resident_id,
        direction=direction,
        from_institution_id=from_institution_id,
        to_institution_id=to_institution_id,
        status=status,
        inside_consortium=True,
        diagnoses=diagnoses,
        summary=summary,
        requested_at=requested_at,
        decided_at=decided_at,
        arrived_at=arrived_at,
    )
    session.add(referral)
    session.flush()
    return referral


def cardiology_clinic(client: TestClient, session: Session, world: World, day: str) -> Department:
    """The county hospital's 心血管内科 with one published clinic session on `day` (10 places)."""
    department = Department(institution_id=world.hospital.id, code="XNK", name="心血管内科")
    session.add(department)
    session.flush()
    admin = headers_for(session, role=roles.INSTITUTION_ADMIN, institution_id=world.hospital.id)
    schedule = open_schedule(
        client, admin, world.hospital.id, kind="clinic", name="心内科门诊", department_id=department.id
    )
    publish_session(client, admin, schedule["id"], day=day)
    return department
