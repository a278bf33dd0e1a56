"""What another system sends is kept as sent (issue 24): a Synthea Patient's HumanName, address,
telecom `use`, maritalStatus, communication and extensions read back as they came; R4's gender
`unknown`, a partial birthDate and an Observation without effective[x] are accepted, stored
faithfully and served as sent, with an OperationOutcome saying what the platform's record holds."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from tests.factories.world import build_world
from tests.fhir.test_api import synthea_dir, token
from tests.fhir.test_conformance import OBSERVATION
from yilian.fhir.validate import validate
from yilian.models import ClinicalObservation, Encounter, EncounterDiagnosis, Resident

FHIR = "application/fhir+json"


def first_patient(shared_root: Path) -> dict[str, Any]:
    path = sorted(synthea_dir(shared_root).glob("*.json"))[0]
    bundle = json.loads(path.read_text(encoding="utf-8"))
    return next(e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "Patient")


def test_a_synthea_patient_reads_back_as_sent(
    client: TestClient, session: Session, shared_root: Path
) -> None:
    world = build_world(session)
    writer = token(session, world.family_doctor_a)
    sent = first_patient(shared_root)
    created = client.post("/fhir/Patient", json=sent, headers={**writer, "Content-Type": FHIR})
    assert created.status_code == 201, created.text
    ident = created.headers["location"].rpartition("/")[2]
    county = token(session, world.commission)
    served = validate(client.get(f"/fhir/Patient/{ident}", headers=county).json())
    assert served["name"] == sent["name"]  # "Alberto Atencio", not family "A"
    for element in ("address", "telecom", "maritalStatus", "communication", "extension"):
        assert served[element] == sent[element], element
    # the platform's record: its own name string, a derived ID number marked as derived
    resident = session.get(Resident, int(ident))
    assert resident is not None and resident.name == "Alberto Atencio"
    # A change made by the platform afterwards is what is served from then on.
    resident.name = "阿尔贝托"
    session.flush()
    changed = client.get(f"/fhir/Patient/{ident}", headers=county).json()
    assert changed["name"] == [{"text": "阿尔贝托", "family": "阿", "given": ["尔贝托"]}]


def test_names_split_as_chinese_only_when_chinese(client: TestClient, session: Session) -> None:
    world = build_world(session)
    county = token(session, world.commission)
    world.resident_b.name = "Antonio Castellanos"
    session.flush()
    chinese = client.get(f"/fhir/Patient/{world.resident_a.id}", headers=county).json()
    assert chinese["name"] == [{"text": "张桂兰", "family": "张", "given": ["桂兰"]}]
    other = client.get(f"/fhir/Patient/{world.resident_b.id}", headers=county).json()
    assert other["name"] == [{"text": "Antonio Castellanos"}]


def test_what_r4_accepts_is_accepted_and_kept(client: TestClient, session: Session) -> None:
    world = build_world(session)
    writer = token(session, world.family_doctor_a)
    county = token(session, world.commission)
    patient = {
        "resourceType": "Patient",
        "identifier": [{"system": "urn:example:mrn", "value": "MRN-77"}],
        "name": [{"text": "王小明"}],
        "gender": "unknown",
        "birthDate": "1999",
    }
    created = client.post("/fhir/Patient", json=patient, headers={**writer, "Content-Type": FHIR})
    assert created.status_code == 201, created.text
    outcome = created.json()
    assert outcome["resourceType"] == "OperationOutcome"
    said = {e for issue in outcome["issue"] for e in issue.get("expression", [])}
    assert {"Patient.birthDate", "Patient.gender"} <= said
    assert all(issue["severity"] in ("information", "warning") for issue in outcome["issue"])
    ident = created.headers["location"].rpartition("/")[2]
    served = client.get(f"/fhir/Patient/{ident}", headers=county).json()
    assert (served["gender"], served["birthDate"]) == ("unknown", "1999")
    resident = session.get(Resident, int(ident))
    assert resident is not None and (resident.sex, resident.birth_date) == ("U", date(1999, 1, 1))

    month = client.post(
        "/fhir/Patient",
        json={
            **patient,
            "identifier": [{"system": "urn:example:mrn", "value": "MRN-78"}],
            "gender": "other",
            "birthDate": "1999-05",
        },
        headers={**writer, "Content-Type": FHIR},
    )
    assert month.status_code == 201, month.text
    again = client.get(f"/fhir/Patient/{month.headers['location'].rpartition('/')[2]}", headers=county).json()
    assert (again["gender"], again["birthDate"]) == ("other", "1999-05")

    # An Observation without effective[x], in a transaction: the entry's outcome says so.
    observation = {k: v for k, v in OBSERVATION.items() if k != "effectiveDateTime"}
    bundle = {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            {
                "resource": {**observation, "subject": {"reference": f"Patient/{world.resident_a.id}"}},
                "request": {"method": "POST", "url": "Observation"},
            }
        ],
    }
    answered = client.post("/fhir", json=bundle, headers={**writer, "Content-Type": FHIR})
    assert answered.status_code == 200, answered.text
    response = answered.json()["entry"][0]["response"]
    assert response["outcome"]["issue"][0]["expression"] == ["Observation.effective"]
    observation_id = response["location"].rpartition("/")[2]
    read = client.get(f"/fhir/Observation/{observation_id}", headers=county).json()
    assert not any(key.startswith("effective") for key in read)
    assert read["code"] == OBSERVATION["code"] and read["valueQuantity"] == OBSERVATION["valueQuantity"]
    assert session.get(ClinicalObservation, int(observation_id)) is not None


def test_an_encounter_reads_back_as_sent(client: TestClient, session: Session) -> None:
    """An Encounter was served from the platform's row only: Synthea's SNOMED type and reasons, its
    class display, its identifier and a period's times were lost. Kept as sent, like Patient and
    Observation, while the row is the version it became."""
    world = build_world(session)
    writer = token(session, world.family_doctor_a)
    place = world.family_doctor_a.institution_id
    sent = {
        "resourceType": "Encounter",
        "identifier": [{"system": "urn:his:visit", "value": "V-1"}],
        "status": "finished",
        "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "AMB"},
        "type": [
            {"coding": [{"system": "http://snomed.info/sct", "code": "185349003", "display": "Check up"}]}
        ],
        "subject": {"reference": f"Patient/{world.resident_a.id}"},
        "serviceProvider": {"reference": f"Organization/{place}"},
        "period": {"start": "2026-11-20T09:00:00+08:00", "end": "2026-11-20T09:30:00+08:00"},
        "reasonCode": [
            {
                "coding": [
                    {"system": "http://snomed.info/sct", "code": "444814009", "display": "Viral sinusitis"}
                ]
            },
            {"coding": [{"system": "http://hl7.org/fhir/sid/icd-10", "code": "J01.900"}]},
        ],
    }
    created = client.post("/fhir/Encounter", json=sent, headers={**writer, "Content-Type": FHIR})
    assert created.status_code == 201, created.text
    ident = created.headers["location"].rpartition("/")[2]
    served = validate(client.get(f"/fhir/Encounter/{ident}", headers=writer).json())
    for element in ("identifier", "class", "type", "period", "reasonCode"):
        assert served[element] == sent[element], element
    assert served["subject"] == sent["subject"]  # references are the platform's (the same here)
    # Once the platform changes the row (a diagnosis added on screen), the row is served.
    row = session.get(Encounter, int(ident))
    assert row is not None
    session.add(EncounterDiagnosis(encounter_id=row.id, seq=5, icd10_code="I10.X00"))
    session.flush()
    changed = client.get(f"/fhir/Encounter/{ident}", headers=writer).json()
    assert "type" not in changed and "identifier" not in changed
    assert [c["coding"][0]["code"] for c in changed["reasonCode"]] == ["J01.900", "I10.X00"]
