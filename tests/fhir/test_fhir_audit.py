"""The audit of what a FHIR transaction Bundle writes commits with it: there without the audit
writer when the Bundle commits, gone when it rolls back (even after a booking's savepoint inside
it was released)."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tests.factories.audit import drain_audit
from tests.factories.fhir import token
from tests.factories.residents import create_resident
from tests.factories.scheduling import publish
from tests.factories.world import build_world
from yilian.kit.audit import AuditWriter
from yilian.models import AuditLog, Booking


def entry(resource: dict[str, Any], full_url: str | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {
        "resource": resource,
        "request": {"method": "POST", "url": resource["resourceType"]},
    }
    if full_url:
        out["fullUrl"] = full_url
    return out


def observation(subject: str) -> dict[str, Any]:
    return {
        "resourceType": "Observation",
        "status": "final",
        "code": {"coding": [{"system": "http://loinc.org", "code": "8302-2"}]},
        "subject": {"reference": subject},
        "effectiveDateTime": "2020-01-01",
        "valueQuantity": {"value": 170, "unit": "cm"},
    }


def created_rows(session: Session) -> list[tuple[str, str | None]]:
    return [
        (row.entity, row.detail)
        for row in session.execute(
            select(AuditLog.entity, AuditLog.detail).where(AuditLog.action == "create").order_by(AuditLog.id)
        )
    ]


def test_a_committed_bundle_has_its_audit_rows_without_the_writer(
    client: TestClient, session: Session, audit: AuditWriter
) -> None:
    """kill -9 after a committed Bundle lost all its events (they waited in the writer's memory):
    they are now rows of the Bundle's own transaction, there as soon as it has committed."""
    world = build_world(session)
    writer = token(session, world.family_doctor_a)
    bundle = {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            entry(
                {
                    "resourceType": "Patient",
                    "name": [{"family": "Doe", "given": ["Jane"]}],
                    "gender": "female",
                    "birthDate": "1980-01-02",
                    "identifier": [{"system": "urn:mrn", "value": "A1"}],
                },
                "urn:uuid:p1",
            ),
            entry(observation("urn:uuid:p1")),
            entry(observation("urn:uuid:p1")),
        ],
    }
    done = client.post("/fhir", json=bundle, headers=writer)
    assert done.status_code == 200, done.text
    # Not drained: nothing of the change went through the writer's queue.
    rows = created_rows(session)
    assert rows and any(detail and "×2" in detail for _, detail in rows), rows
    assert all(e.action != "create" for _, e in audit._events)


def test_a_booking_rolled_back_with_its_bundle_leaves_no_create_row(
    client: TestClient, session: Session, audit: AuditWriter
) -> None:
    """Two Appointments book two places (on PostgreSQL each in a savepoint, released), then a third
    fails: the Bundle rolls back whole, and so does the first booking's "create" audit row, which
    the release of the second booking's savepoint used to hand to the writer."""
    world = build_world(session)
    _, slots = publish(client, session, world)
    public = [s for s in slots if s["pool"] == "public"]
    second = create_resident(session, grid=world.grid_a)
    doctor = token(session, world.family_doctor_a)
    bookings = session.scalar(select(func.count()).select_from(Booking))

    def appointment(slot_id: object, resident_id: int) -> dict[str, Any]:
        return entry(
            {
                "resourceType": "Appointment",
                "status": "proposed",
                "slot": [{"reference": f"Slot/{slot_id}"}],
                "participant": [{"actor": {"reference": f"Patient/{resident_id}"}, "status": "accepted"}],
            }
        )

    bundle = {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            appointment(public[0]["id"], world.resident_a.id),
            appointment(public[1]["id"], second.id),
            appointment(99_999_999, world.resident_a.id),  # no such slot: the Bundle fails here
        ],
    }
    failed = client.post("/fhir", json=bundle, headers=doctor)
    assert failed.status_code == 400, failed.text
    drain_audit(audit, session)
    assert session.scalar(select(func.count()).select_from(Booking)) == bookings
    assert [entity for entity, _ in created_rows(session) if entity == "booking"] == []
    bundle["entry"] = bundle["entry"][:2]
    done = client.post("/fhir", json=bundle, headers=doctor)
    assert done.status_code == 200, done.text
    assert [entity for entity, _ in created_rows(session) if entity == "booking"] == ["booking", "booking"]
