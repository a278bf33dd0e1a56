"""FHIR update (issue 24: "If-Match on update"): PUT /fhir/Patient|Observation/{id} changes the
platform's row through the checks of a create, only with If-Match of the version the client read
(412 otherwise), answers the new version with ETag, Last-Modified and a versioned Location, is
audited, and the current version reads back through vread."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from tests.conftest import drain_audit
from tests.factories.world import build_world
from tests.fhir.test_api import token
from tests.fhir.test_conformance import OBSERVATION
from yilian.fhir.validate import validate
from yilian.kit.audit import AuditWriter
from yilian.models import AuditLog, ClinicalObservation, Resident

FHIR = "application/fhir+json"


def put(client: TestClient, path: str, body: dict[str, Any], headers: dict[str, str], version: str | None):
    extra = {"Content-Type": FHIR, **({"If-Match": f'W/"{version}"'} if version else {})}
    return client.put(path, json=body, headers={**headers, **extra})


def test_patient_update_with_if_match(client: TestClient, session: Session, audit: AuditWriter) -> None:
    world = build_world(session)
    writer = token(session, world.family_doctor_a)
    ident = str(world.resident_a.id)
    read = client.get(f"/fhir/Patient/{ident}", headers=writer)
    patient = read.json()
    version = patient["meta"]["versionId"]
    changed = {
        **{k: v for k, v in patient.items() if k != "meta"},
        "telecom": [{"system": "phone", "value": "13911112222", "use": "mobile"}],
        "address": [{"line": ["幸福路 8 号"], "city": "某县"}],
    }
    # Without If-Match, or with a version that is not the current one: 412, nothing changed.
    for sent in (None, str(int(version) + 5)):
        refused = put(client, f"/fhir/Patient/{ident}", changed, writer, sent)
        assert refused.status_code == 412, refused.text
        assert refused.json()["resourceType"] == "OperationOutcome"
    session.expire_all()
    resident = session.get(Resident, world.resident_a.id)
    assert resident is not None and resident.phone != "13911112222"

    answer = put(client, f"/fhir/Patient/{ident}", changed, writer, version)
    assert answer.status_code == 200, answer.text
    body = validate(answer.json())
    new = body["meta"]["versionId"]
    assert int(new) > int(version)
    assert answer.headers["etag"] == f'W/"{new}"' and answer.headers["last-modified"]
    assert answer.headers["location"].endswith(f"/fhir/Patient/{ident}/_history/{new}")
    assert body["telecom"] == changed["telecom"] and body["address"] == changed["address"]
    session.expire_all()
    resident = session.get(Resident, world.resident_a.id)
    assert resident is not None and resident.phone == "13911112222" and resident.address == "幸福路 8 号 某县"
    drain_audit(audit, session)
    updates = select(AuditLog.entity).where(AuditLog.action == "update", AuditLog.resident_id == int(ident))
    assert session.scalars(updates).all() == ["resident"]

    # The version read before is gone: a second client that read it is refused (no lost update).
    again = put(client, f"/fhir/Patient/{ident}", {**changed, "telecom": []}, writer, version)
    assert again.status_code == 412
    # vread: the current version is served, an older one is not kept.
    current = client.get(f"/fhir/Patient/{ident}/_history/{new}", headers=writer)
    assert current.status_code == 200 and current.json()["meta"]["versionId"] == new
    older = client.get(f"/fhir/Patient/{ident}/_history/{version}", headers=writer)
    assert older.status_code == 404 and older.json()["resourceType"] == "OperationOutcome"


def test_update_checks_like_create(client: TestClient, session: Session) -> None:
    world = build_world(session)
    ident = str(world.resident_a.id)
    county = token(session, world.commission)
    patient = client.get(f"/fhir/Patient/{ident}", headers=county).json()
    version = patient["meta"]["versionId"]
    body = {k: v for k, v in patient.items() if k != "meta"}
    # The commission reads residents but registers none (as POST /api/residents): 403.
    refused = put(client, f"/fhir/Patient/{ident}", body, county, version)
    assert refused.status_code == 403 and refused.json()["issue"][0]["code"] == "forbidden"
    # A read-only token: 403; a resident outside the writer's grids: 404, as a read.
    read_only = token(session, world.family_doctor_a, scopes="user/*.read")
    assert put(client, f"/fhir/Patient/{ident}", body, read_only, version).status_code == 403
    writer = token(session, world.family_doctor_a)
    other = client.get(f"/fhir/Patient/{world.resident_b.id}", headers=county).json()
    outside = put(
        client,
        f"/fhir/Patient/{world.resident_b.id}",
        {k: v for k, v in other.items() if k != "meta"},
        writer,
        other["meta"]["versionId"],
    )
    assert outside.status_code == 404, outside.text
    # The id in the body is the URL's; invalid R4 is 400 naming the path, as a create.
    wrong_id = put(client, f"/fhir/Patient/{ident}", {**body, "id": "999"}, writer, version)
    assert wrong_id.status_code == 400 and wrong_id.json()["issue"][0]["expression"] == ["Patient.id"]
    bogus = put(client, f"/fhir/Patient/{ident}", {**body, "gender": "bogus"}, writer, version)
    assert bogus.status_code == 400 and bogus.json()["issue"][0]["expression"] == ["Patient.gender"]
    # The resident ID number is the record's key: a different one is a 422 naming the identifier.
    identifiers = [
        {**i, "value": "110101199003070011"} if i["system"] == "urn:yilian:sid:cn-resident-id" else i
        for i in body["identifier"]
    ]
    key = put(client, f"/fhir/Patient/{ident}", {**body, "identifier": identifiers}, writer, version)
    assert key.status_code == 422, key.text
    assert key.json()["issue"][0]["expression"] == ["Patient.identifier"]
    # A type the platform takes no updates for: 405 as an OperationOutcome.
    organization = put(
        client, "/fhir/Organization/1", {"resourceType": "Organization", "id": "1"}, writer, "1"
    )
    assert organization.status_code == 405 and organization.json()["resourceType"] == "OperationOutcome"
    statement = client.get("/fhir/metadata").json()["rest"][0]["resource"]
    declared = {r["type"]: r for r in statement}
    for resource_type in ("Patient", "Observation"):
        assert {"code": "update"} in declared[resource_type]["interaction"]
        assert declared[resource_type]["versioning"] == "versioned-update"
        assert declared[resource_type]["updateCreate"] is False
    assert {"code": "update"} not in declared["Organization"]["interaction"]


def test_observation_update_is_kept_as_sent(client: TestClient, session: Session, audit: AuditWriter) -> None:
    world = build_world(session)
    writer = token(session, world.family_doctor_a)
    sent = {**OBSERVATION, "subject": {"reference": f"Patient/{world.resident_a.id}"}}
    created = client.post("/fhir/Observation", json=sent, headers={**writer, "Content-Type": FHIR})
    assert created.status_code == 201, created.text
    ident = created.headers["location"].rpartition("/")[2]
    version = created.headers["etag"].removeprefix('W/"').rstrip('"')
    amended = {
        **sent,
        "id": ident,
        "status": "amended",
        "valueQuantity": {
            "value": 6.1,
            "unit": "mmol/L",
            "system": "http://unitsofmeasure.org",
            "code": "mmol/L",
        },
        "note": [{"text": "复测"}],
    }
    answer = put(client, f"/fhir/Observation/{ident}", amended, writer, version)
    assert answer.status_code == 200, answer.text
    served = validate(client.get(f"/fhir/Observation/{ident}", headers=writer).json())
    assert served["status"] == "amended" and served["valueQuantity"] == amended["valueQuantity"]
    assert served["note"] == [{"text": "复测"}]  # as sent: the platform's row has no notes
    assert served["meta"]["versionId"] == answer.json()["meta"]["versionId"]
    row = session.scalar(select(ClinicalObservation).where(ClinicalObservation.id == int(ident)))
    assert row is not None
    session.refresh(row)
    assert (row.status, row.value_num) == ("amended", 6.1)
    # Moved to a Patient the writer does not read: 404 for that Patient, nothing changed.
    moved = put(
        client,
        f"/fhir/Observation/{ident}",
        {**amended, "subject": {"reference": f"Patient/{world.resident_b.id}"}},
        writer,
        served["meta"]["versionId"],
    )
    assert moved.status_code == 404, moved.text
    session.refresh(row)
    assert row.resident_id == world.resident_a.id
    drain_audit(audit, session)
    audited = select(AuditLog.entity).where(AuditLog.action == "update", AuditLog.entity == "observation")
    assert session.scalars(audited).all() == ["observation"]
