"""Resident ID numbers under the national OID (issue 24): a real 居民身份证 number is also given as
`urn:oid:2.16.156.10011.1.3` with type NNCHN and found by either system; a number the platform
derived for a patient sent without one is typed as derived and never carries the national OID."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from tests.factories.fhir import entries, token
from tests.factories.world import build_world
from yilian.fhir.rules import DERIVED_ID_SYSTEM, ID_CARD_SYSTEM, NATIONAL_ID_SYSTEM

FHIR = "application/fhir+json"


def test_real_numbers_carry_the_national_oid_and_are_found_by_either_system(
    client: TestClient, session: Session
) -> None:
    world = build_world(session)
    county = token(session, world.commission)
    number = world.resident_a.id_number
    patient = client.get(f"/fhir/Patient/{world.resident_a.id}", headers=county).json()
    national = [i for i in patient["identifier"] if i["system"] == NATIONAL_ID_SYSTEM]
    assert len(national) == 1 and national[0]["value"] == number
    assert national[0]["type"]["coding"][0]["code"] == "NNCHN"
    for system in (NATIONAL_ID_SYSTEM, ID_CARD_SYSTEM):
        found = client.get(f"/fhir/Patient?identifier={system}|{number}", headers=county).json()
        assert [r["id"] for r in entries(found)] == [str(world.resident_a.id)], system


def test_a_derived_number_is_typed_as_derived_and_not_national(client: TestClient, session: Session) -> None:
    world = build_world(session)
    writer = token(session, world.family_doctor_a)
    county = token(session, world.commission)
    created = client.post(
        "/fhir/Patient",
        json={
            "resourceType": "Patient",
            "identifier": [{"system": "urn:example:mrn", "value": "MRN-9"}],
            "name": [{"family": "Mills", "given": ["Clarence"]}],
            "gender": "male",
            "birthDate": "1980-02-03",
        },
        headers={**writer, "Content-Type": FHIR},
    )
    assert created.status_code == 201, created.text
    ident = created.headers["location"].rpartition("/")[2]
    patient = client.get(f"/fhir/Patient/{ident}", headers=county).json()
    systems = {i["system"]: i for i in patient["identifier"]}
    assert NATIONAL_ID_SYSTEM not in systems
    derived = systems[ID_CARD_SYSTEM]
    assert "derived-resident-id" in {c["code"] for c in derived["type"]["coding"]}
    assert systems[DERIVED_ID_SYSTEM]["value"] == derived["value"]
    by_oid = client.get(f"/fhir/Patient?identifier={NATIONAL_ID_SYSTEM}|{derived['value']}", headers=county)
    assert by_oid.json()["total"] == 0
    by_platform = client.get(f"/fhir/Patient?identifier={ID_CARD_SYSTEM}|{derived['value']}", headers=county)
    assert by_platform.json()["total"] == 1


def test_a_patient_sent_with_the_national_oid_is_matched_by_it(client: TestClient, session: Session) -> None:
    world = build_world(session)
    writer = token(session, world.family_doctor_a)
    sent = {
        "resourceType": "Patient",
        "identifier": [{"system": NATIONAL_ID_SYSTEM, "value": world.resident_a.id_number}],
        "name": [{"text": "张桂兰"}],
        "gender": "female",
        "birthDate": world.resident_a.birth_date.isoformat(),
    }
    answered = client.post("/fhir/Patient", json=sent, headers={**writer, "Content-Type": FHIR})
    assert answered.status_code == 200, answered.text  # already there: matched, not created
    assert answered.headers["location"].endswith(f"/Patient/{world.resident_a.id}")
