"""Registering tells nothing about records outside the registrar's scope (decision 0021).

A number held only by a resident of another county is registered as if new — by the REST endpoint,
a spreadsheet row and a FHIR Patient alike: the same answer as for a number never seen, never the
other record's name, and the other record stays out of sight. The audit trail marks the new record
as a merge candidate for the MPI."""

from __future__ import annotations

from datetime import date
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from tests.conftest import drain_audit
from tests.factories.auth import bearer
from tests.factories.registry import create_institution
from tests.factories.residents import create_resident
from tests.factories.world import build_world
from tests.fhir.test_api import token
from tests.residents.test_api import csv_bytes
from yilian.kit.audit import AuditWriter
from yilian.kit.id_numbers import make_id_number
from yilian.models import AuditLog, Resident


def elsewhere(session: Session, name: str) -> Resident:
    """A resident of another county (贺兰县), whom the township's family doctor does not serve."""
    create_institution(session, name="贺兰县人民医院", type="综合医院", region_code="640122")
    return create_resident(session, name=name, region_code="640122")


def fresh(n: int) -> str:
    return make_id_number("640181", date(1975, 4, 9), 300 + n, "F")


def shape(answer: dict[str, Any]) -> dict[str, Any]:
    """An answer with what differs between any two new records (ids, numbers, names) blanked."""
    resident = {
        k: v for k, v in answer["resident"].items() if k not in ("id", "id_number", "name", "health_card_no")
    }
    resident.pop("birth_date", None)
    resident.pop("age", None)
    resident.pop("sex", None)
    return {"created": answer["created"], "resident": resident}


def test_rest_registration_of_a_number_held_in_another_county(
    client: TestClient, session: Session, audit: AuditWriter
) -> None:
    world = build_world(session)
    headers = bearer(session, world.family_doctor_a)
    same_name, other_name = elsewhere(session, "王秀英"), elsewhere(session, "刘玉兰")
    body = {"phone": "13995112233", "grid_id": world.grid_a.id}
    never_seen = client.post(
        "/api/residents", json={**body, "id_number": fresh(1), "name": "马兰花"}, headers=headers
    )
    assert never_seen.status_code == 201, never_seen.text
    # Today: 409 "registered under another name", and 404 under the same name.
    for held, name in ((other_name, "马兰花"), (same_name, same_name.name)):
        answer = client.post(
            "/api/residents", json={**body, "id_number": held.id_number, "name": name}, headers=headers
        )
        assert answer.status_code == 201, answer.text
        assert shape(answer.json()) == shape(never_seen.json())
        record = answer.json()["resident"]
        assert record["id"] != held.id and record["name"] == name and record["id_number"] == held.id_number
        # The record held elsewhere is unchanged and still not found for this registrar.
        session.refresh(held)
        assert held.grid_id is None and held.region_code == "640122"
        assert client.get(f"/api/residents/{held.id}", headers=headers).status_code == 404
    # Registering again now finds the registrar's own record: idempotent within the scope.
    again = client.post(
        "/api/residents",
        json={**body, "id_number": same_name.id_number, "name": same_name.name},
        headers=headers,
    )
    assert again.status_code == 200 and again.json()["created"] is False
    # The audit trail, not the answer, marks the two new records for the MPI's merge.
    drain_audit(audit, session)
    notes = session.scalars(
        select(AuditLog.detail).where(AuditLog.entity == "resident", AuditLog.action == "create")
    ).all()
    assert sum("merge candidate" in (n or "") for n in notes) == 2


def test_spreadsheet_rows_with_numbers_held_in_another_county(client: TestClient, session: Session) -> None:
    world = build_world(session)
    headers = bearer(session, world.family_doctor_a)
    held = elsewhere(session, "王秀英")
    rows = [f"{held.id_number},马兰花,,{world.grid_a.code}", f"{fresh(2)},赵淑珍,,{world.grid_a.code}"]
    # Today: 422 naming row 2, "ID number registered under another name".
    response = client.post(
        "/api/residents/import", files={"file": ("r.csv", csv_bytes(rows), "text/csv")}, headers=headers
    )
    assert response.status_code == 200, response.text
    assert response.json() == {"created": 2, "already_registered": 0}
    session.refresh(held)
    assert held.name == "王秀英" and held.grid_id is None
    assert client.get(f"/api/residents/{held.id}", headers=headers).status_code == 404
    # A number the importer does read is still matched (and a name that differs still refused).
    known = [f"{world.resident_a.id_number},{world.resident_a.name},,{world.grid_a.code}"]
    response = client.post(
        "/api/residents/import", files={"file": ("k.csv", csv_bytes(known), "text/csv")}, headers=headers
    )
    assert response.json() == {"created": 0, "already_registered": 1}


def test_fhir_patient_with_a_number_held_in_another_county(client: TestClient, session: Session) -> None:
    world = build_world(session)
    headers = token(session, world.family_doctor_a)
    held = elsewhere(session, "王秀英")

    def patient(number: str, name: str) -> dict[str, Any]:
        return {
            "resourceType": "Patient",
            "identifier": [{"system": "urn:yilian:sid:cn-resident-id", "value": number}],
            "name": [{"text": name}],
            "gender": "female",
            "birthDate": "1960-05-17" if number == held.id_number else "1975-04-09",
        }

    never_seen = client.post("/fhir/Patient", json=patient(fresh(3), "马兰花"), headers=headers)
    assert never_seen.status_code == 201, never_seen.text
    # Today: 200 with "Patient already exists".
    answer = client.post("/fhir/Patient", json=patient(held.id_number, "马兰花"), headers=headers)
    assert answer.status_code == 201, answer.text
    assert answer.json()["resourceType"] == "Patient" and answer.json()["name"] == [{"text": "马兰花"}]
    assert not answer.headers["location"].endswith(f"/Patient/{held.id}")
    assert client.get(f"/fhir/Patient/{held.id}", headers=headers).status_code == 404
    session.refresh(held)
    assert held.name == "王秀英"
    # The writer's own record is what a second create matches (FHIR's conditional create).
    again = client.post("/fhir/Patient", json=patient(held.id_number, "马兰花"), headers=headers)
    assert again.status_code == 200 and again.headers["location"] == answer.headers["location"]
