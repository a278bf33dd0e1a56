"""/fhir: every served type read and searched (output validated against R4), create with
validation, transaction Bundles all-or-nothing, scopes and scoping, and Synthea's bundles imported
with their resource counts conserved."""

from __future__ import annotations

import json
from collections import Counter
from datetime import datetime
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import Connection, func, select, update
from sqlalchemy.orm import Session

from tests.conftest import test_database as database_joining
from tests.factories.audit import drain_audit
from tests.factories.auth import create_user
from tests.factories.fhir import entries, platform_data, synthea_dir, token
from tests.factories.scheduling import publish
from tests.factories.world import build_world
from yilian.app import create_app
from yilian.auth import rules as roles
from yilian.config import Settings
from yilian.fhir.validate import validate
from yilian.kit.audit import AuditWriter
from yilian.kit.clock import FixedClock
from yilian.models import (
    ApiToken,
    AuditLog,
    ClinicalObservation,
    Encounter,
    FhirResource,
    Institution,
    Resident,
)

FHIR = "application/fhir+json"


def test_capability_statement(client: TestClient) -> None:
    response = client.get("/fhir/metadata")
    assert response.status_code == 200 and response.headers["content-type"].startswith(FHIR)
    statement = validate(response.json())
    served = {r["type"] for r in statement["rest"][0]["resource"]}
    assert {
        "Patient",
        "Organization",
        "Practitioner",
        "PractitionerRole",
        "CareTeam",
        "Schedule",
        "Slot",
        "Appointment",
        "ServiceRequest",
        "DiagnosticReport",
        "ImagingStudy",
        "Observation",
        "CarePlan",
        "Claim",
        "MeasureReport",
    } <= served
    assert statement["fhirVersion"] == "4.0.1"


def test_every_platform_type_reads_and_searches_as_valid_r4(client: TestClient, session: Session) -> None:
    world = build_world(session)
    data = platform_data(client, session, world)
    county = token(session, world.commission)
    patient_id = world.resident_a.id
    searches = {
        "Patient": f"identifier=urn:yilian:sid:cn-resident-id|{world.resident_a.id_number}",
        "Organization": "name=崇兴",
        "Practitioner": f"organization=Organization/{world.township_a.id}",
        "PractitionerRole": f"organization=Organization/{world.hospital.id}",
        "CareTeam": f"organization=Organization/{world.township_a.id}",
        "Schedule": f"actor=Organization/{world.hospital.id}",
        "Slot": "start=2026-11-26&status=free",
        "Encounter": f"patient=Patient/{patient_id}&date=ge2026-10-01&status=finished",
        "ServiceRequest": f"patient={patient_id}",
        "DiagnosticReport": f"patient={patient_id}",
        "ImagingStudy": f"patient={patient_id}",
        "CarePlan": f"patient={patient_id}",
    }
    found: dict[str, dict[str, Any]] = {}
    for resource_type, query in searches.items():
        response = client.get(f"/fhir/{resource_type}?{query}", headers=county)
        assert response.status_code == 200, (resource_type, response.text)
        bundle = validate(response.json())
        resources = entries(bundle)
        assert resources and bundle["total"] >= len(resources), resource_type
        for resource in resources:
            validate(resource)
        found[resource_type] = resources[0]
        read = client.get(f"/fhir/{resource_type}/{resources[0]['id']}", headers=county)
        assert read.status_code == 200 and read.json() == resources[0], resource_type
    first_identifier = found["Patient"]["identifier"][0]
    assert (first_identifier["system"], first_identifier["value"]) == (
        "urn:yilian:sid:cn-resident-id",
        world.resident_a.id_number,
    )
    assert found["Encounter"]["serviceProvider"] == {"reference": f"Organization/{world.township_a.id}"}
    assert found["CareTeam"]["name"] == data["team"].name and len(found["CareTeam"]["participant"]) == 4
    assert found["DiagnosticReport"]["conclusion"] == "心肺未见异常"
    assert found["ImagingStudy"]["numberOfInstances"] == 2
    assert found["CarePlan"]["title"] == "高血压管理（黄标）"
    assert {
        r["id"].split("-")[0]
        for r in entries(client.get(f"/fhir/ServiceRequest?patient={patient_id}", headers=county).json())
    } == {"exam"}
    # Paging: _count and the next link.
    page = client.get("/fhir/Slot?_count=3", headers=county).json()
    assert len(page["entry"]) == 3 and page["total"] == 10
    assert any(link["relation"] == "next" and "_offset=3" in link["url"] for link in page["link"])


def test_create_validates_and_projects(client: TestClient, session: Session, audit: AuditWriter) -> None:
    world = build_world(session)
    writer = token(session, world.family_doctor_a)
    observation = {
        "resourceType": "Observation",
        "status": "final",
        "category": [
            {
                "coding": [
                    {
                        "system": "http://terminology.hl7.org/CodeSystem/observation-category",
                        "code": "vital-signs",
                    }
                ]
            }
        ],
        "code": {"coding": [{"system": "http://loinc.org", "code": "2339-0", "display": "Glucose"}]},
        "subject": {"reference": f"Patient/{world.resident_a.id}"},
        "effectiveDateTime": "2026-11-20T08:10:00+08:00",
        "valueQuantity": {"value": 7.8, "unit": "mmol/L"},
    }
    created = client.post("/fhir/Observation", json=observation, headers=writer)
    assert created.status_code == 201, created.text
    body = validate(created.json())
    assert created.headers["location"].endswith(f"/fhir/Observation/{body['id']}")
    row = session.get(ClinicalObservation, int(body["id"]))
    assert row is not None and (row.value_num, row.unit, row.effective_at) == (
        7.8,
        "mmol/L",
        datetime(2026, 11, 20, 8, 10),
    )
    drain_audit(audit, session)
    audited = select(func.count()).select_from(AuditLog).where(AuditLog.entity == "observation")
    assert session.scalar(audited.where(AuditLog.resident_id == world.resident_a.id)) == 1
    glucose = client.get(
        f"/fhir/Observation?patient={world.resident_a.id}&code=2339-0", headers=writer
    ).json()
    assert glucose["total"] == 1 and glucose["entry"][0]["resource"]["valueQuantity"]["value"] == 7.8

    # Invalid: a number for a date, an element R4 does not have, a missing status.
    bad = {**observation, "effectiveDateTime": 20261120, "colour": "red"}
    del bad["status"]
    refused = client.post("/fhir/Observation", json=bad, headers=writer)
    assert refused.status_code == 400 and refused.json()["resourceType"] == "OperationOutcome"
    expressions = {e for issue in refused.json()["issue"] for e in issue.get("expression", [])}
    assert "Observation.effectiveDateTime" in expressions
    unknown = client.post("/fhir/Spaceship", json={"resourceType": "Spaceship"}, headers=writer)
    assert unknown.status_code == 404 and unknown.json()["issue"][0]["code"] == "not-supported"
    missing = client.post(
        "/fhir/Observation", json={**observation, "subject": {"reference": "Patient/999999"}}, headers=writer
    )
    assert missing.status_code in (400, 404)
    assert session.scalar(select(func.count()).select_from(ClinicalObservation)) == 1

    # A Condition is kept as FHIR and reads back.
    condition = {
        "resourceType": "Condition",
        "clinicalStatus": {
            "coding": [
                {"system": "http://terminology.hl7.org/CodeSystem/condition-clinical", "code": "active"}
            ]
        },
        "code": {"coding": [{"system": "http://hl7.org/fhir/sid/icd-10", "code": "I10"}]},
        "subject": {"reference": f"Patient/{world.resident_a.id}"},
        "onsetDateTime": "2020-05-01",
    }
    kept = client.post("/fhir/Condition", json=condition, headers=writer)
    assert kept.status_code == 201, kept.text
    ident = kept.json()["id"]
    assert ident.startswith("s")
    back = client.get(f"/fhir/Condition/{ident}", headers=writer).json()
    assert back["code"] == condition["code"] and back["subject"] == condition["subject"]

    # Patient create: a resident ID is checked; the resident appears in the registry.
    patient = {
        "resourceType": "Patient",
        "identifier": [{"system": "urn:yilian:sid:cn-resident-id", "value": "64018119900307451X"}],
        "name": [{"family": "马", "given": ["志强"]}],
        "gender": "male",
        "birthDate": "1990-03-07",
    }
    wrong = client.post(
        "/fhir/Patient",
        json={
            **patient,
            "identifier": [{"system": "urn:yilian:sid:cn-resident-id", "value": "640181199003074511"}],
        },
        headers=writer,
    )
    assert wrong.status_code == 400 and "check digit" in wrong.json()["issue"][0]["diagnostics"]
    made = client.post("/fhir/Patient", json=patient, headers=writer)
    assert made.status_code == 201, made.text
    assert session.scalar(select(Resident.name).where(Resident.id_number == "64018119900307451X")) == "马志强"
    again = client.post("/fhir/Patient", json=patient, headers=writer)
    assert (
        again.status_code == 200 and again.headers["location"] == made.headers["location"]
    )  # conditional create


def test_appointment_books_the_slot(client: TestClient, session: Session) -> None:
    world = build_world(session)
    _, slots = publish(client, session, world)
    public = next(s for s in slots if s["pool"] == "public")
    resident = token(session, world.resident_user_a)
    appointment = {
        "resourceType": "Appointment",
        "status": "proposed",
        "slot": [{"reference": f"Slot/{public['id']}"}],
        "participant": [{"actor": {"reference": f"Patient/{world.resident_a.id}"}, "status": "accepted"}],
    }
    made = client.post("/fhir/Appointment", json=appointment, headers=resident)
    # Residents do not write FHIR (their portal books); a family doctor does.
    assert made.status_code == 403
    doctor = token(session, world.family_doctor_a)
    made = client.post("/fhir/Appointment", json=appointment, headers=doctor)
    assert made.status_code == 201, made.text
    assert made.json()["status"] == "booked"
    twice = client.post("/fhir/Appointment", json=appointment, headers=doctor)
    assert twice.status_code in (400, 409) and twice.json()["resourceType"] == "OperationOutcome"


def test_transaction_failing_halfway_leaves_nothing(client: TestClient, session: Session) -> None:
    world = build_world(session)
    writer = token(session, world.family_doctor_a)
    residents = session.scalar(select(func.count()).select_from(Resident))
    bundle = {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            {
                "fullUrl": "urn:uuid:p1",
                "resource": {
                    "resourceType": "Patient",
                    "name": [{"family": "Doe", "given": ["Jane"]}],
                    "gender": "female",
                    "birthDate": "1980-01-02",
                    "identifier": [{"system": "urn:mrn", "value": "A1"}],
                },
                "request": {"method": "POST", "url": "Patient"},
            },
            {
                "fullUrl": "urn:uuid:o1",
                "resource": {
                    "resourceType": "Observation",
                    "status": "final",
                    "code": {"coding": [{"system": "http://loinc.org", "code": "8302-2"}]},
                    "subject": {"reference": "urn:uuid:p1"},
                    "effectiveDateTime": "2020-01-01",
                },
                "request": {"method": "POST", "url": "Observation"},
            },
            {
                "fullUrl": "urn:uuid:o2",
                "resource": {
                    "resourceType": "Observation",
                    "status": "final",
                    "code": {"coding": [{"system": "http://loinc.org", "code": "8302-2"}]},
                    "subject": {"reference": "urn:uuid:nobody"},
                    "effectiveDateTime": "2020-01-01",
                },
                "request": {"method": "POST", "url": "Observation"},
            },
        ],
    }
    failed = client.post("/fhir", json=bundle, headers=writer)
    assert failed.status_code == 400, failed.text
    assert "entry 2" in failed.json()["issue"][0]["diagnostics"]
    assert session.scalar(select(func.count()).select_from(Resident)) == residents
    assert session.scalar(select(func.count()).select_from(ClinicalObservation)) == 0
    bundle["entry"] = bundle["entry"][:2]
    done = client.post("/fhir", json=bundle, headers=writer)
    assert done.status_code == 200, done.text
    assert [e["response"]["status"] for e in done.json()["entry"]] == ["201 Created", "201 Created"]
    assert session.scalar(select(func.count()).select_from(Resident)) == residents + 1


def test_scopes_and_scoping(client: TestClient, session: Session, audit: AuditWriter) -> None:
    world = build_world(session)
    reader = token(session, world.family_doctor_a, scopes="user/*.read")
    refused = client.post("/fhir/Observation", json={"resourceType": "Observation"}, headers=reader)
    assert refused.status_code == 403 and refused.json()["issue"][0]["code"] == "forbidden"
    only_patients = token(session, world.family_doctor_a, scopes="user/Patient.read")
    assert client.get("/fhir/Encounter", headers=only_patients).status_code == 403
    assert client.get(f"/fhir/Patient/{world.resident_a.id}", headers=only_patients).status_code == 200
    # A resident reads their own Patient, not another's; a family doctor reads only their grid.
    resident = token(session, world.resident_user_a)
    assert client.get(f"/fhir/Patient/{world.resident_a.id}", headers=resident).status_code == 200
    assert client.get(f"/fhir/Patient/{world.resident_b.id}", headers=resident).status_code == 404
    everyone = client.get("/fhir/Patient", headers=reader).json()
    assert [r["id"] for r in entries(everyone)] == [str(world.resident_a.id)]
    assert (
        client.get("/fhir/Patient?birthdate=lt1900-13", headers=reader).json()["issue"][0]["code"]
        == "invalid"
    )
    assert client.get("/fhir/Patient?colour=red", headers=reader).status_code == 400
    assert client.get("/fhir/Patient").status_code == 401
    drain_audit(audit, session)
    assert (
        session.scalar(
            select(func.count())
            .select_from(AuditLog)
            .where(AuditLog.entity == "fhir:Patient", AuditLog.resident_id == world.resident_a.id)
        )
        >= 3
    )


def test_a_tokens_scopes_are_remembered_by_its_app_only(
    client: TestClient,
    connection: Connection,
    session: Session,
    clock: FixedClock,
    audit: AuditWriter,
    settings: Settings,
) -> None:
    """The scopes cache is the app's, not the process's: a second app on the same database (a restart,
    another test) reads a token's scopes as they are now, not as the first app remembered them."""
    world = build_world(session)
    headers = token(session, world.family_doctor_a, scopes="user/Patient.read")
    assert client.get("/fhir/Encounter", headers=headers).status_code == 403  # remembered by `client`'s app
    session.execute(
        update(ApiToken).where(ApiToken.scopes == "user/Patient.read").values(scopes="user/*.read")
    )
    session.flush()
    second = create_app(settings, database=database_joining(connection), clock=clock, audit=audit)
    with TestClient(second) as other:
        assert other.get("/fhir/Encounter", headers=headers).status_code == 200
    assert client.get("/fhir/Encounter", headers=headers).status_code == 403  # the first still remembers


def test_synthea_bundles_import_and_read_back_with_counts_conserved(
    client: TestClient, session: Session, shared_root: Path
) -> None:
    world = build_world(session)
    importer = token(
        session, create_user(session, role=roles.INSTITUTION_ADMIN, institution_id=world.hospital.id)
    )
    expected: Counter[str] = Counter()
    identities: dict[str, set[str]] = {"Organization": set(), "Practitioner": set()}
    for path in sorted(synthea_dir(shared_root).glob("*.json")):
        bundle = json.loads(path.read_text(encoding="utf-8"))
        for entry in bundle["entry"]:
            resource = entry["resource"]
            if resource["resourceType"] in identities:
                identities[resource["resourceType"]].add(resource["identifier"][0]["value"])
            else:
                expected[resource["resourceType"]] += 1
        response = client.post("/fhir", json=bundle, headers=importer)
        assert response.status_code == 200, (path.name, response.text[:500])
    expected["Organization"] = len(identities["Organization"])
    expected["Practitioner"] = len(identities["Practitioner"])
    county = token(session, world.commission)
    institutions_before = 4  # the world's own
    for resource_type, count in expected.items():
        bundle = client.get(f"/fhir/{resource_type}?_count=1", headers=county).json()
        total = bundle["total"] - (institutions_before if resource_type == "Organization" else 0)
        total -= 2 if resource_type == "Patient" else 0  # the world's two residents
        assert total == count, (resource_type, total, count)
    assert (expected["Patient"], expected["Observation"], expected["Encounter"]) == (11, 503, 80)
    # Patients became residents of the county with a derived, valid ID number and their Synthea id kept.
    imported = session.scalars(select(Resident).where(Resident.health_card_no.like("FH%"))).all()
    assert len(imported) == 11 and all(r.region_code == "640181" for r in imported)
    one = client.get(f"/fhir/Patient/{imported[0].id}", headers=county).json()
    systems = {i["system"] for i in one["identifier"]}
    assert {
        "urn:yilian:sid:cn-resident-id",
        "urn:yilian:sid:derived-resident-id",
        "https://github.com/synthetichealth/synthea",
    } <= systems
    # Encounters landed as encounters at the imported hospitals; observations as observations.
    assert (
        session.scalar(
            select(func.count())
            .select_from(Encounter)
            .join(Institution, Institution.id == Encounter.institution_id)
            .where(Institution.code.like("X%"))
        )
        == 80
    )
    heights = client.get(f"/fhir/Observation?patient={imported[0].id}&code=8302-2", headers=county).json()
    assert heights["total"] >= 1 and heights["entry"][0]["resource"]["valueQuantity"]["unit"] == "cm"
    assert (
        session.scalar(
            select(func.count())
            .select_from(FhirResource)
            .where(FhirResource.resource_type == "ExplanationOfBenefit")
        )
        == 80
    )
    # Importing the same folder again creates no second patient or hospital.
    first = sorted(synthea_dir(shared_root).glob("*.json"))[0]
    again = client.post("/fhir", json=json.loads(first.read_text(encoding="utf-8")), headers=importer)
    assert again.status_code == 200
    assert (
        session.scalar(select(func.count()).select_from(Resident).where(Resident.health_card_no.like("FH%")))
        == 11
    )
