"""A FHIR write passes the checks of the REST endpoint for the same change: who may register a
resident, who may record a visit and where. Matching a Patient on an identifier grants nothing
(decision 0021). Each refusal is an OperationOutcome and leaves no row behind."""

from __future__ import annotations

from datetime import date
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tests.factories.auth import create_user
from tests.factories.encounters import create_encounter
from tests.factories.registry import create_institution
from tests.factories.residents import create_resident
from tests.factories.world import World, build_world
from tests.fhir.test_api import token
from yilian.auth import rules as roles
from yilian.kit.id_numbers import make_id_number
from yilian.models import CareRelation, Encounter, Resident, VisitSummary

ID_CARD = "urn:yilian:sid:cn-resident-id"


def patient_entry(resident_id_number: str, name: str, sex: str = "female") -> dict[str, Any]:
    return {
        "fullUrl": "urn:uuid:patient-1",
        "resource": {
            "resourceType": "Patient",
            "identifier": [{"system": ID_CARD, "value": resident_id_number}],
            "name": [{"text": name}],
            "gender": sex,
            "birthDate": "1960-05-17",
        },
        "request": {"method": "POST", "url": "Patient"},
    }


def encounter_entry(subject: str, institution_id: int) -> dict[str, Any]:
    return {
        "fullUrl": "urn:uuid:encounter-1",
        "resource": {
            "resourceType": "Encounter",
            "status": "finished",
            "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "AMB"},
            "subject": {"reference": subject},
            "serviceProvider": {"reference": f"Organization/{institution_id}"},
            "period": {"start": "2026-11-20T09:00:00+08:00", "end": "2026-11-20T09:30:00+08:00"},
        },
        "request": {"method": "POST", "url": "Encounter"},
    }


def bundle(*entries: dict[str, Any]) -> dict[str, Any]:
    return {"resourceType": "Bundle", "type": "transaction", "entry": list(entries)}


def counts(session: Session) -> tuple[int, int, int, int]:
    """Residents, encounters, care relations and summed visits: what a refused Bundle must not change."""
    return (
        session.scalar(select(func.count()).select_from(Resident)) or 0,
        session.scalar(select(func.count()).select_from(Encounter)) or 0,
        session.scalar(select(func.count()).select_from(CareRelation)) or 0,
        session.scalar(select(func.coalesce(func.sum(VisitSummary.visits), 0))) or 0,
    )


def encounters_of(session: Session, resident_id: int) -> int:
    return (
        session.scalar(
            select(func.count()).select_from(Encounter).where(Encounter.resident_id == resident_id)
        )
        or 0
    )


def refused(response: Any, status: int) -> None:
    assert response.status_code == status, response.text
    assert response.json()["resourceType"] == "OperationOutcome"


def far_resident(session: Session) -> Resident:
    """A resident of another county (贺兰县), seen at its own hospital only."""
    hospital = create_institution(session, name="贺兰县人民医院", type="综合医院", region_code="640122")
    resident = create_resident(session, name="王秀英", region_code="640122")
    create_encounter(session, resident=resident, institution=hospital, on=date(2026, 6, 1))
    return resident


def test_a_matched_patient_does_not_open_the_record_to_an_institution(
    client: TestClient, session: Session
) -> None:
    """Today: an institution admin posts resident A's ID number with an Encounter at its own hospital
    and then reads A's whole record. Now the Patient outside its scope is as if absent: the Bundle
    registers a record of the admin's own (answered exactly as for a number never seen), and A stays
    not found, with no visit added to A."""
    world = build_world(session)
    admin = create_user(session, role=roles.INSTITUTION_ADMIN, institution_id=world.hospital.id)
    headers = token(session, admin)
    victim = world.resident_a
    assert client.get(f"/fhir/Patient/{victim.id}", headers=headers).status_code == 404
    assert client.get(f"/api/residents/{victim.id}", headers=headers).status_code == 404

    response = client.post(
        "/fhir",
        json=bundle(
            patient_entry(victim.id_number, victim.name),
            encounter_entry("urn:uuid:patient-1", world.hospital.id),
        ),
        headers=headers,
    )
    assert client.get(f"/fhir/Patient/{victim.id}", headers=headers).status_code == 404
    assert client.get(f"/api/residents/{victim.id}", headers=headers).status_code == 404
    assert client.get(f"/fhir/Encounter?patient={victim.id}", headers=headers).json()["total"] == 0
    assert encounters_of(session, victim.id) == 0
    # The answer is the one a number never registered gets: nothing tells that A exists.
    fresh = make_id_number("640181", date(1960, 5, 17), 477, "F")
    unknown = client.post(
        "/fhir",
        json=bundle(patient_entry(fresh, "赵淑珍"), encounter_entry("urn:uuid:patient-1", world.hospital.id)),
        headers=headers,
    )
    assert response.status_code == unknown.status_code == 200, response.text
    statuses = [[e["response"]["status"] for e in r.json()["entry"]] for r in (response, unknown)]
    assert statuses[0] == statuses[1] == ["201 Created", "201 Created"]
    assert not response.json()["entry"][0]["response"]["location"].endswith(f"/fhir/Patient/{victim.id}")


def test_commission_and_consortium_admins_do_not_write_encounters(
    client: TestClient, session: Session
) -> None:
    """Today they write visits into another county's residents by matching the ID number. Neither
    records visits through the REST endpoint, so neither does through FHIR: the Bundle is refused
    whole and the other county's resident keeps its one visit."""
    world = build_world(session)
    far = far_resident(session)
    before = counts(session)
    for user in (world.commission, world.consortium_admin):
        headers = token(session, user)
        response = client.post(
            "/fhir",
            json=bundle(
                patient_entry(far.id_number, far.name),
                encounter_entry("urn:uuid:patient-1", world.hospital.id),
            ),
            headers=headers,
        )
        refused(response, 403)
        assert counts(session) == before and encounters_of(session, far.id) == 1
        # Not even for a resident of their own county, whom they read.
        own = client.post(
            "/fhir",
            json=bundle(encounter_entry(f"Patient/{world.resident_a.id}", world.township_a.id)),
            headers=headers,
        )
        refused(own, 403)
        assert counts(session) == before
        # The REST endpoint says the same.
        rest = client.post(
            "/api/encounters",
            json={
                "resident_id": world.resident_a.id,
                "institution_id": world.township_a.id,
                "kind": "outpatient",
                "start_date": "2026-11-20",
                "diagnoses": ["J06.900"],
                "total_cost": "10.00",
                "fund_paid": "5.00",
            },
            headers=headers,
        )
        assert rest.status_code == 403


def doctor_who_saw(session: Session, world: World) -> tuple[Any, Resident]:
    """A hospital doctor, and resident A seen once at the hospital (so the doctor reads A)."""
    create_encounter(session, resident=world.resident_a, institution=world.hospital, on=date(2026, 10, 1))
    return world.doctor, world.resident_a


def test_a_doctor_records_visits_at_their_own_institution_only(client: TestClient, session: Session) -> None:
    """Today a hospital doctor records a visit "at" township B, which then reads resident A. Now the
    Bundle is refused, as POST /api/encounters refuses it, and township B still does not read A."""
    world = build_world(session)
    doctor, resident = doctor_who_saw(session, world)
    township_b_admin = token(
        session, create_user(session, role=roles.INSTITUTION_ADMIN, institution_id=world.township_b.id)
    )
    assert client.get(f"/fhir/Patient/{resident.id}", headers=township_b_admin).status_code == 404
    headers = token(session, doctor)
    before = counts(session)
    elsewhere = client.post(
        "/fhir", json=bundle(encounter_entry(f"Patient/{resident.id}", world.township_b.id)), headers=headers
    )
    refused(elsewhere, 403)
    assert counts(session) == before
    assert client.get(f"/fhir/Patient/{resident.id}", headers=township_b_admin).status_code == 404
    assert client.get(f"/api/residents/{resident.id}", headers=township_b_admin).status_code == 404
    # A single create too, and a family doctor likewise (at the hospital, not their township).
    single = client.post(
        "/fhir/Encounter",
        json=encounter_entry(f"Patient/{resident.id}", world.township_b.id)["resource"],
        headers=headers,
    )
    refused(single, 403)
    family = client.post(
        "/fhir",
        json=bundle(encounter_entry(f"Patient/{resident.id}", world.hospital.id)),
        headers=token(session, world.family_doctor_a),
    )
    refused(family, 403)
    assert counts(session) == before
    # At their own institution the same write goes through.
    own = client.post(
        "/fhir", json=bundle(encounter_entry(f"Patient/{resident.id}", world.hospital.id)), headers=headers
    )
    assert own.status_code == 200, own.text
    assert encounters_of(session, resident.id) == 2
