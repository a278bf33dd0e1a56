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

from tests.factories.fhir import OBSERVATION, entries, platform_data, token
from tests.factories.world import build_world
from yilian.fhir import search
from yilian.fhir.validate import validate
from yilian.models import ClinicalObservation


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


# R4's search parameters (hl7.org/fhir/R4/searchparameter-registry.html) of the types served, besides
# those of every resource (_id, _lastUpdated …): written from the specification, not the server.
R4_SEARCH = {
    "AllergyIntolerance": "asserter category clinical-status code criticality date identifier last-date "
    "manifestation onset patient recorder route severity type verification-status",
    "Appointment": "actor appointment-type based-on date identifier location part-status patient practitioner "
    "reason-code reason-reference service-category service-type slot specialty status supporting-info",
    "CarePlan": "activity-code activity-date activity-reference based-on care-team category condition date "
    "encounter goal identifier instantiates-canonical instantiates-uri intent part-of patient performer "
    "replaces status subject",
    "CareTeam": "category date encounter identifier participant patient status subject",
    "Claim": "care-team created detail-udi encounter enterer facility identifier insurer item-udi patient "
    "payee priority procedure-udi provider status subdetail-udi use",
    "Condition": "abatement-age abatement-date abatement-string asserter body-site category clinical-status "
    "code encounter evidence evidence-detail identifier onset-age onset-date onset-info patient "
    "recorded-date severity stage subject verification-status",
    "DiagnosticReport": "based-on category code conclusion date encounter identifier issued media patient "
    "performer result results-interpreter specimen status subject",
    "Encounter": "account appointment based-on class date diagnosis episode-of-care identifier length "
    "location location-period part-of participant participant-type patient practitioner reason-code "
    "reason-reference service-provider special-arrangement status subject type",
    "ExplanationOfBenefit": "care-team claim coverage created detail-udi disposition encounter enterer "
    "facility identifier item-udi patient payee procedure-udi provider status subdetail-udi",
    "ImagingStudy": "basedon bodysite dicom-class encounter endpoint identifier instance interpreter modality "
    "patient performer reason referrer series started status subject",
    "Immunization": "date identifier location lot-number manufacturer patient performer reaction "
    "reaction-date reason-code reason-reference series status status-reason target-disease vaccine-code",
    "MeasureReport": "date evaluated-resource identifier measure patient period reporter status subject",
    "MedicationRequest": "authoredon category code date encounter identifier intended-dispenser "
    "intended-performer intended-performertype intent medication patient priority requester status subject",
    "Observation": "based-on category code code-value-concept code-value-date code-value-quantity "
    "code-value-string combo-code combo-code-value-concept combo-code-value-quantity combo-data-absent-reason "
    "combo-value-concept combo-value-quantity component-code data-absent-reason date derived-from device "
    "encounter focus has-member identifier method part-of patient performer specimen status subject "
    "value-concept value-date value-quantity value-string",
    "Organization": "active address address-city address-country address-postalcode address-state "
    "address-use endpoint identifier name partof phonetic type",
    "Patient": "active address address-city address-country address-postalcode address-state address-use "
    "birthdate death-date deceased email family gender general-practitioner given identifier language link "
    "name organization phone phonetic telecom",
    "Practitioner": "active address address-city address-country address-postalcode address-state "
    "address-use communication email family gender given identifier name phone phonetic telecom",
    "PractitionerRole": "active date email endpoint identifier location organization phone practitioner role "
    "service specialty telecom",
    "Procedure": "based-on category code date encounter identifier instantiates-canonical instantiates-uri "
    "location part-of patient performer reason-code reason-reference status subject",
    "Schedule": "active actor date identifier service-category service-type specialty",
    "ServiceRequest": "authored based-on body-site category code encounter identifier instantiates-canonical "
    "instantiates-uri intent occurrence patient performer performer-type priority replaces requester "
    "requisition specimen status subject",
    "Slot": "appointment-type identifier schedule service-category service-type specialty start status",
}
EVERY_RESOURCE = {"_id", "_lastUpdated", "_count"}  # _count: R4's result parameter


def test_every_declared_search_parameter_is_r4s_or_defined_as_the_servers_own(client: TestClient) -> None:
    """The CapabilityStatement declared `date` on Slot, Claim, Condition, ServiceRequest, ImagingStudy,
    `status` on Condition and AllergyIntolerance (which have no status element), `code` on Immunization,
    `organization` on Practitioner and CareTeam: names R4 does not define there, without a definition,
    so a client took them for R4's. A name R4 defines on the type is declared as such; any other carries a
    `definition` of the server's own and says what it searches."""
    statement = client.get("/fhir/metadata").json()
    for resource in statement["rest"][0]["resource"]:
        r4 = set(R4_SEARCH[resource["type"]].split()) | EVERY_RESOURCE
        for param in resource.get("searchParam", []):
            if param["name"] in r4:
                assert not param.get("definition", "").startswith("urn:yilian:"), (resource["type"], param)
            else:
                assert param.get("definition", "").startswith("urn:yilian:searchparameter:"), (
                    resource["type"],
                    param,
                )
                assert param.get("documentation"), (resource["type"], param)
    declared = {
        r["type"]: {p["name"] for p in r.get("searchParam", [])} for r in statement["rest"][0]["resource"]
    }
    # R4's names for what was declared under other names; none for an element the type lacks
    assert "status" not in declared["Condition"] and "status" not in declared["AllergyIntolerance"]
    assert "vaccine-code" in declared["Immunization"] and "code" not in declared["Immunization"]
    assert "authored" in declared["ServiceRequest"] and "created" in declared["ExplanationOfBenefit"]
    assert "authoredon" in declared["MedicationRequest"]
    assert "date" not in declared["Slot"] and "date" not in declared["Claim"]


def test_every_declared_search_parameter_searches(client: TestClient, session: Session) -> None:
    """Each parameter the CapabilityStatement declares is one the search takes (not a 400)."""
    world = build_world(session)
    county = token(session, world.commission)
    samples = {"token": "x", "date": "ge2026-01-01", "reference": "1", "number": "1", "string": "x"}
    statement = client.get("/fhir/metadata").json()
    for resource in statement["rest"][0]["resource"]:
        if resource["type"] == "MeasureReport":  # its own: tests/indicators
            continue
        for param in resource["searchParam"]:
            value = samples[param["type"]]
            answer = client.get(f"/fhir/{resource['type']}", params={param["name"]: value}, headers=county)
            assert answer.status_code == 200, (resource["type"], param["name"], answer.text[:300])
    # One that neither the platform's tables nor the kept-as-FHIR store take is still refused.
    for resource_type in ("CareTeam", "ServiceRequest", "Condition", "Patient"):
        refused = client.get(f"/fhir/{resource_type}?no-such-parameter=1", headers=county)
        assert refused.status_code == 400 and refused.json()["issue"][0]["code"] == "not-supported"


def test_required_codes_are_enforced_on_every_type_that_has_them(
    client: TestClient, session: Session
) -> None:
    """Not only Observation.status: each required-bound code element coming in is checked."""
    world = build_world(session)
    writer = token(session, world.family_doctor_a)
    patient = {"reference": f"Patient/{world.resident_a.id}"}
    wrong = {
        "Patient.gender": {"resourceType": "Patient", "name": [{"text": "王五"}], "gender": "M"},
        "Encounter.status": {
            "resourceType": "Encounter",
            "status": "done",
            "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "AMB"},
            "subject": patient,
        },
        "Appointment.status": {
            "resourceType": "Appointment",
            "status": "confirmed",
            "participant": [{"actor": patient, "status": "accepted"}],
        },
        "Immunization.status": {
            "resourceType": "Immunization",
            "status": "done",
            "vaccineCode": {"coding": [{"system": "http://hl7.org/fhir/sid/cvx", "code": "140"}]},
            "patient": patient,
            "occurrenceDateTime": "2026-10-01",
        },
        "MedicationRequest.intent": {
            "resourceType": "MedicationRequest",
            "status": "active",
            "intent": "prescription",
            "medicationCodeableConcept": {"text": "二甲双胍"},
            "subject": patient,
        },
        "Claim.use": {
            "resourceType": "Claim",
            "status": "active",
            "type": {
                "coding": [
                    {"system": "http://terminology.hl7.org/CodeSystem/claim-type", "code": "professional"}
                ]
            },
            "use": "bill",
            "patient": patient,
            "created": "2026-10-01",
            "provider": {"display": "x"},
            "priority": {
                "coding": [
                    {"system": "http://terminology.hl7.org/CodeSystem/processpriority", "code": "normal"}
                ]
            },
            "insurance": [{"sequence": 1, "focal": True, "coverage": {"display": "新农合"}}],
        },
    }
    for path, body in wrong.items():
        answer = client.post(f"/fhir/{body['resourceType']}", json=body, headers=writer)
        assert answer.status_code == 400, (path, answer.status_code, answer.text[:300])
        problem = answer.json()["issue"][0]
        assert (problem["code"], problem["expression"]) == ("code-invalid", [path]), (path, problem)
