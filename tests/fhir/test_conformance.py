"""FHIR R4 conformance an R4 client relies on (issue 24): paging within the cap, no empty
elements, reference targets R4 allows, errors as OperationOutcomes with FHIR's codes, formats and
content types, required value sets on the way in, and a CapabilityStatement whose search
parameters have R4's types."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tests.factories.world import build_world
from tests.fhir.test_api import entries, platform_data, token
from yilian.fhir import search
from yilian.fhir.validate import validate
from yilian.models import ClinicalObservation

OBSERVATION: dict[str, Any] = {
    "resourceType": "Observation",
    "status": "final",
    "code": {"coding": [{"system": "http://loinc.org", "code": "2339-0", "display": "Glucose"}]},
    "effectiveDateTime": "2026-11-20T08:10:00+08:00",
    "valueQuantity": {"value": 7.8, "unit": "mmol/L"},
}


def link(bundle: dict[str, Any], relation: str) -> dict[str, list[str]] | None:
    for one in bundle["link"]:
        if one["relation"] == relation:
            return parse_qs(urlparse(one["url"]).query)
    return None


def test_paging_past_the_cap_skips_nothing(
    client: TestClient, session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A `_count` over the cap is served at the cap: self and next say the size served, and
    following next reaches every record once (the cap lowered to 4 so that 10 slots exceed it)."""
    world = build_world(session)
    platform_data(client, session, world)
    county = token(session, world.commission)
    monkeypatch.setattr(search, "MAX_COUNT", 4)
    page = client.get("/fhir/Slot?_count=8", headers=county).json()
    assert page["total"] == 10 and len(page["entry"]) == 4
    assert link(page, "self")["_count"] == ["4"]  # type: ignore[index]
    following = link(page, "next")
    assert following is not None and following["_offset"] == ["4"] and following["_count"] == ["4"]
    seen = [r["id"] for r in entries(page)]
    while following is not None:
        page = client.get("/fhir/Slot", params={k: v[0] for k, v in following.items()}, headers=county).json()
        seen += [r["id"] for r in entries(page)]
        following = link(page, "next")
    assert len(seen) == 10 and len(set(seen)) == 10


def empties(value: Any, path: str = "") -> list[str]:
    """Paths of empty arrays, objects and strings anywhere in a JSON value."""
    if value == [] or value == {} or value == "":
        return [path]
    if isinstance(value, dict):
        return [p for key, item in value.items() for p in empties(item, f"{path}.{key}")]
    if isinstance(value, list):
        return [p for i, item in enumerate(value) for p in empties(item, f"{path}[{i}]")]
    return []


def test_no_empty_elements_and_only_reference_targets_r4_allows(client: TestClient, session: Session) -> None:
    world = build_world(session)
    data = platform_data(client, session, world)
    doctor = token(session, world.family_doctor_a)
    public = next(s for s in data["slots"] if s["pool"] == "public")
    booked = client.post(
        "/fhir/Appointment",
        json={
            "resourceType": "Appointment",
            "status": "proposed",
            "slot": [{"reference": f"Slot/{public['id']}"}],
            "participant": [{"actor": {"reference": f"Patient/{world.resident_a.id}"}, "status": "accepted"}],
        },
        headers=doctor,
    )
    assert booked.status_code == 201, booked.text
    county = token(session, world.commission)
    seen: dict[str, list[dict[str, Any]]] = {}
    for resource_type in (
        "PractitionerRole",
        "Practitioner",
        "Organization",
        "Schedule",
        "Slot",
        "Appointment",
        "Encounter",
        "CareTeam",
        "ServiceRequest",
        "DiagnosticReport",
        "ImagingStudy",
        "CarePlan",
    ):
        response = client.get(f"/fhir/{resource_type}?_count=100", headers=county)
        assert response.status_code == 200, (resource_type, response.text)
        bundle = response.json()
        assert empties(bundle) == [], (resource_type, empties(bundle)[:5])
        seen[resource_type] = entries(bundle)
        for resource in seen[resource_type]:
            validate(resource)
    assert seen["PractitionerRole"] and seen["Encounter"] and seen["Appointment"] and seen["Schedule"]
    # Schedule.actor and Appointment.participant.actor: R4 does not allow an Organization.
    for schedule in seen["Schedule"]:
        assert schedule["actor"]
        assert not any(a.get("reference", "").startswith("Organization/") for a in schedule["actor"])
    hospital_site = {
        "type": "Location",
        "identifier": {"system": "urn:yilian:sid:institution", "value": world.hospital.code},
    }
    assert any(
        {k: a.get(k) for k in ("type", "identifier")} == hospital_site
        for s in seen["Schedule"]
        for a in s["actor"]
    )
    for appointment in seen["Appointment"]:
        actors = [p["actor"] for p in appointment["participant"]]
        assert not any(a.get("reference", "").startswith("Organization/") for a in actors)
        assert {"reference": f"Patient/{world.resident_a.id}"} in actors
        assert any(a.get("type") == "Location" and a.get("display") for a in actors)


def test_errors_are_operation_outcomes_with_fhir_codes(client: TestClient, session: Session) -> None:
    world = build_world(session)
    writer = token(session, world.family_doctor_a)
    observation = {**OBSERVATION, "subject": {"reference": f"Patient/{world.resident_a.id}"}}

    for method, path in (("PUT", "/fhir/Organization/1"), ("DELETE", f"/fhir/Patient/{world.resident_a.id}")):
        answer = client.request(method, path, headers=writer, json={})
        assert answer.status_code == 405, method
        assert answer.headers["content-type"].startswith("application/fhir+json")
        assert answer.json()["resourceType"] == "OperationOutcome"
        assert answer.json()["issue"][0]["code"] == "not-supported"

    missing = client.post(
        "/fhir/Observation", json={k: v for k, v in observation.items() if k != "status"}, headers=writer
    )
    assert missing.status_code == 400
    problem = missing.json()["issue"][0]
    assert problem["expression"] == ["Observation.status"] and problem["code"] == "required"
    assert " object at 0x" not in missing.text

    bogus = client.post("/fhir/Observation", json={**observation, "status": "bogus"}, headers=writer)
    assert bogus.status_code == 400, bogus.text
    assert bogus.json()["issue"][0]["code"] == "code-invalid"
    assert bogus.json()["issue"][0]["expression"] == ["Observation.status"]
    assert session.scalar(select(func.count()).select_from(ClinicalObservation)) == 0

    # A resident's token may not write FHIR, whatever the resource: forbidden, not business-rule.
    resident = token(session, world.resident_user_a)
    refused = client.post("/fhir/Observation", json=observation, headers=resident)
    assert refused.status_code == 403 and refused.json()["issue"][0]["code"] == "forbidden"
    read_only = token(session, world.family_doctor_a, scopes="user/*.read")
    refused = client.post("/fhir/Observation", json=observation, headers=read_only)
    assert refused.status_code == 403 and refused.json()["issue"][0]["code"] == "forbidden"

    anonymous = client.get(f"/fhir/Patient/{world.resident_a.id}")
    assert anonymous.status_code == 401 and anonymous.headers["www-authenticate"].startswith("Bearer")
    assert anonymous.json()["resourceType"] == "OperationOutcome"

    for query, headers in (
        ("?_format=xml", writer),
        ("?_format=application/fhir%2Bxml", writer),
        ("", {**writer, "Accept": "application/fhir+xml"}),
    ):
        answer = client.get(f"/fhir/Patient/{world.resident_a.id}{query}", headers=headers)
        assert answer.status_code == 406, (query, headers)
        assert answer.json()["resourceType"] == "OperationOutcome"
    assert client.get("/fhir/metadata?_format=xml").status_code == 406
    assert client.get("/fhir/metadata?_format=json").status_code == 200
    assert client.get(f"/fhir/Patient/{world.resident_a.id}?_format=json", headers=writer).status_code == 200
    browser = {**writer, "Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}
    assert client.get(f"/fhir/Patient/{world.resident_a.id}", headers=browser).status_code == 200

    import json

    plain = client.post(
        "/fhir/Observation",
        content=json.dumps(observation),
        headers={**writer, "Content-Type": "text/plain"},
    )
    assert plain.status_code == 415 and plain.json()["resourceType"] == "OperationOutcome"
    assert session.scalar(select(func.count()).select_from(ClinicalObservation)) == 0
    made = client.post(
        "/fhir/Observation",
        content=json.dumps(observation),
        headers={**writer, "Content-Type": "application/fhir+json; charset=utf-8"},
    )
    assert made.status_code == 201, made.text


def test_capability_statement_search_parameters_have_r4_types(client: TestClient) -> None:
    statement = validate(client.get("/fhir/metadata").json())
    declared = {
        r["type"]: {p["name"]: p["type"] for p in r.get("searchParam", [])}
        for r in statement["rest"][0]["resource"]
    }
    patient = declared["Patient"]
    assert "patient" not in patient and "date" not in patient
    assert (patient["identifier"], patient["birthdate"], patient["gender"], patient["name"]) == (
        "token",
        "date",
        "token",
        "string",
    )
    assert patient["organization"] == "reference"
    assert (declared["Observation"]["status"], declared["Observation"]["code"]) == ("token", "token")
    assert declared["Observation"]["encounter"] == "reference"
    assert declared["Encounter"]["date"] == "date" and declared["Encounter"]["class"] == "token"
    assert declared["Encounter"]["service-provider"] == "reference"
    assert declared["Slot"]["start"] == "date" and declared["Claim"]["created"] == "date"
    assert declared["Claim"]["identifier"] == "token"
