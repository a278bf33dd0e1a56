"""Every type the CapabilityStatement declares, as served to the commission and to a county doctor
on a county with Synthea's Bundles imported, validates with an R4 validator that is not the
server's own library: fhir.resources' pydantic models of FHIR 4.0.1, run by scripts/fhir-validator
in an environment of its own (issue 24), plus the R4 rules those models let through (no empty
elements, Reference targets R4 allows, no Coding without a system). Pages are sampled (the first,
and one further on) to keep the run short; what a client writes and receives (an Encounter as sent,
vread, an update, the error OperationOutcomes) and the bulk export's NDJSON of every exportable type
are validated too."""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest

from tests.fhir.county import County, synthea_folder
from yilian.config import PROJECT_ROOT
from yilian.fhir.bulk import EXPORTABLE

VALIDATOR = PROJECT_ROOT / "scripts" / "fhir-validator"
PAGE = 100


def run_validator(files: list[Path]) -> tuple[int, dict[str, Any]]:
    done = subprocess.run(
        [str(VALIDATOR), *map(str, files)], capture_output=True, text=True, timeout=600, check=False
    )
    assert done.stdout.strip(), done.stderr[-3000:]
    summary: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return done.returncode, summary


def validate_files(files: list[Path]) -> dict[str, Any]:
    code, summary = run_validator(files)
    assert code == 0, json.dumps(summary["errors"], ensure_ascii=False, indent=1)[:6000]
    return summary


# What the server answered before issue 24's fixes, each refused by the validator: a test that
# passes with it is a test that would have failed then.
REFUSED = {
    "MeasureReport id with `_`": {
        "resourceType": "MeasureReport",
        "id": "grassroots_visit_share.640181.2025",
        "status": "complete",
        "type": "summary",
        "measure": "urn:yilian:indicator:grassroots_visit_share",
        "period": {"start": "2025-01-01", "end": "2025-12-31"},
    },
    "empty specialty": {"resourceType": "PractitionerRole", "id": "r1", "specialty": []},
    "empty reasonCode": {
        "resourceType": "Encounter",
        "id": "1",
        "status": "finished",
        "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "AMB"},
        "reasonCode": [],
    },
    "empty display and text": {
        "resourceType": "Observation",
        "id": "1",
        "status": "final",
        "code": {"coding": [{"system": "http://loinc.org", "code": "2339-0", "display": ""}], "text": ""},
    },
    "Schedule.actor → Organization": {
        "resourceType": "Schedule",
        "id": "s1",
        "actor": [{"reference": "Organization/5"}],
    },
    "Appointment.participant.actor → Organization": {
        "resourceType": "Appointment",
        "id": "1",
        "status": "booked",
        "participant": [{"actor": {"reference": "Organization/5"}, "status": "accepted"}],
    },
    "Coding without a system": {
        "resourceType": "Observation",
        "id": "2",
        "status": "final",
        "code": {"coding": [{"code": "2339-0"}]},
    },
}


def test_the_validator_refuses_what_the_server_used_to_answer(tmp_path: Path) -> None:
    path = tmp_path / "old.ndjson"
    path.write_text("\n".join(json.dumps(r) for r in REFUSED.values()), encoding="utf-8")
    code, summary = run_validator([path])
    assert code == 1 and summary["invalid"] == len(REFUSED), summary
    fine = tmp_path / "fine.json"
    fine.write_text(
        json.dumps({**REFUSED["Schedule.actor → Organization"], "actor": [{"reference": "Location/5"}]})
    )
    assert run_validator([fine])[0] == 0


@pytest.mark.parametrize("reader", ["commission", "doctor"])
def test_every_declared_type_validates_as_r4(
    county: County, reader: str, tmp_path: Path, shared_root: Path
) -> None:
    headers = getattr(county, reader)
    client = county.client
    statement = client.get("/fhir/metadata").json()
    (tmp_path / "metadata.json").write_text(json.dumps(statement), encoding="utf-8")
    declared = [r["type"] for r in statement["rest"][0]["resource"]]
    served: dict[str, int] = {}
    for resource_type in declared:
        first = client.get(f"/fhir/{resource_type}?_count={PAGE}", headers=headers)
        if resource_type == "MeasureReport" and reader == "doctor":  # indicators are not a doctor's
            assert first.status_code == 403
            (tmp_path / "forbidden.json").write_text(first.text, encoding="utf-8")
            continue
        assert first.status_code == 200, (resource_type, first.text[:300])
        assert first.headers["content-type"].startswith("application/fhir+json")
        bundle = first.json()
        served[resource_type] = bundle["total"]
        (tmp_path / f"{resource_type}-1.json").write_text(first.text, encoding="utf-8")
        if bundle["total"] > 2 * PAGE:  # one page further on
            later = client.get(
                f"/fhir/{resource_type}?_count={PAGE}&_offset={bundle['total'] // 2}", headers=headers
            )
            (tmp_path / f"{resource_type}-2.json").write_text(later.text, encoding="utf-8")
        for entry in bundle.get("entry", [])[:3]:  # reads, as a client following the links
            resource = entry["resource"]
            read = client.get(f"/fhir/{resource['resourceType']}/{resource['id']}", headers=headers)
            assert read.status_code == 200, (resource_type, resource["id"])
            (tmp_path / f"{resource_type}-read-{resource['id']}.json").write_text(read.text, encoding="utf-8")
    if reader == "commission":  # everything about Synthea's patients, whatever page it falls on
        synthea = 0
        for path in sorted(synthea_folder(shared_root).glob("*.json")):
            sent = json.loads(path.read_text(encoding="utf-8"))["entry"][0]["resource"]
            if sent["resourceType"] != "Patient":  # the hospitals' and practitioners' Bundles
                continue
            family = sent["name"][0]["family"]
            for patient in (
                client.get(f"/fhir/Patient?name={family}", headers=headers).json().get("entry", [])
            ):
                ident = patient["resource"]["id"]
                for resource_type in ("Encounter", "Observation", "Condition", "Claim", "Immunization"):
                    about = client.get(
                        f"/fhir/{resource_type}?patient={ident}&_count={PAGE}", headers=headers
                    )
                    assert about.status_code == 200, (resource_type, about.text[:300])
                    synthea += about.json()["total"]
                    (tmp_path / f"synthea-{ident}-{resource_type}.json").write_text(
                        about.text, encoding="utf-8"
                    )
        assert synthea > 500
    missing = client.get("/fhir/Patient/999999999", headers=headers)
    assert missing.status_code == 404
    (tmp_path / "not-found.json").write_text(missing.text, encoding="utf-8")
    summary = validate_files(sorted(tmp_path.glob("*.json")))
    validated = summary["validated"]
    assert isinstance(validated, dict)
    # Every declared type with something to serve to this reader was validated.
    assert {t for t, n in served.items() if n} <= set(validated), served
    # The commission reads Synthea's imported patients; the doctor the hospital's own.
    assert {"Patient", "Encounter", "Organization"} <= set(validated)
    if reader == "commission":
        assert {"Observation", "Condition", "Claim", "Immunization"} <= set(validated)
    assert sum(validated.values()) > 300


def test_what_a_client_writes_and_receives_validates_as_r4(county: County, tmp_path: Path) -> None:
    """An Encounter created as sent and read back, its vread, a Patient updated with If-Match and its
    vread, a `_lastUpdated` search, and the error answers (412, 405, 406, 415, 401, 400)."""
    client = county.client
    doctor = county.doctor
    fhir = {"Content-Type": "application/fhir+json"}
    saved: dict[str, Any] = {}
    patient = client.get("/fhir/Patient?_count=1", headers=doctor).json()["entry"][0]["resource"]
    provider = client.get("/fhir/Encounter?_count=1", headers=doctor).json()["entry"][0]["resource"]
    sent = {
        "resourceType": "Encounter",
        "identifier": [{"system": "urn:his:visit", "value": "R4-1"}],
        "status": "finished",
        "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "AMB"},
        "type": [
            {"coding": [{"system": "http://snomed.info/sct", "code": "185349003", "display": "Check up"}]}
        ],
        "subject": {"reference": f"Patient/{patient['id']}"},
        "serviceProvider": provider["serviceProvider"],
        "period": {"start": "2026-11-20T09:00:00+08:00", "end": "2026-11-20T09:30:00+08:00"},
        "reasonCode": [{"coding": [{"system": "http://hl7.org/fhir/sid/icd-10", "code": "J01.900"}]}],
    }
    created = client.post("/fhir/Encounter", json=sent, headers={**doctor, **fhir})
    assert created.status_code == 201, created.text
    saved["encounter-created"] = created.json()
    encounter = client.get(created.headers["location"], headers=doctor).json()
    assert encounter["type"] == sent["type"] and encounter["identifier"] == sent["identifier"]  # as sent
    saved["encounter-read"] = encounter
    vread = client.get(
        f"/fhir/Encounter/{encounter['id']}/_history/{encounter['meta']['versionId']}", headers=doctor
    )
    assert vread.status_code == 200 and vread.headers["etag"] == f'W/"{encounter["meta"]["versionId"]}"'
    saved["encounter-vread"] = vread.json()

    read = client.get(f"/fhir/Patient/{patient['id']}", headers=doctor)
    body = {k: v for k, v in read.json().items() if k != "meta"}
    body["telecom"] = [{"system": "phone", "value": "13900001111", "use": "mobile"}]
    saved["update-without-if-match"] = client.put(
        f"/fhir/Patient/{patient['id']}", json=body, headers={**doctor, **fhir}
    )
    updated = client.put(
        f"/fhir/Patient/{patient['id']}",
        json=body,
        headers={**doctor, **fhir, "If-Match": read.headers["etag"]},
    )
    assert updated.status_code == 200, updated.text
    saved["patient-updated"] = updated.json()
    saved["patient-vread"] = client.get(updated.headers["location"], headers=doctor)
    saved["old-version"] = client.get(
        f"/fhir/Patient/{patient['id']}/_history/{read.json()['meta']['versionId']}", headers=doctor
    )
    since = read.json()["meta"]["lastUpdated"].replace("+", "%2B")
    saved["since"] = client.get(f"/fhir/Patient?_lastUpdated=ge{since}", headers=doctor)
    assert saved["since"].json()["total"] >= 1
    saved["delete"] = client.delete(f"/fhir/Patient/{patient['id']}", headers=doctor)
    saved["xml"] = client.get(f"/fhir/Patient/{patient['id']}?_format=xml", headers=doctor)
    saved["plain"] = client.post(
        "/fhir/Encounter", content=json.dumps(sent), headers={**doctor, "Content-Type": "text/plain"}
    )
    saved["anonymous"] = client.get(f"/fhir/Patient/{patient['id']}")
    saved["bogus"] = client.post(
        "/fhir/Encounter", json={**sent, "status": "bogus"}, headers={**doctor, **fhir}
    )
    expected = {
        "update-without-if-match": 412,
        "patient-vread": 200,
        "old-version": 404,
        "since": 200,
        "delete": 405,
        "xml": 406,
        "plain": 415,
        "anonymous": 401,
        "bogus": 400,
    }
    for name, answer in saved.items():
        if name in expected:
            assert answer.status_code == expected[name], (name, answer.status_code, answer.text[:300])
            answer = answer.json()
        (tmp_path / f"{name}.json").write_text(json.dumps(answer), encoding="utf-8")
    validated = validate_files(sorted(tmp_path.glob("*.json")))["validated"]
    assert {"Encounter", "Patient", "OperationOutcome", "Bundle"} <= set(validated)


def test_bulk_export_ndjson_validates_as_r4(county: County, tmp_path: Path) -> None:
    """Every exportable type, as the commission exports the county; a doctor's patient-level export."""
    client = county.client
    files = []
    for who, url in (
        ("commission", "/fhir/$export"),
        ("doctor", "/fhir/Patient/$export?_type=Patient,Encounter"),
    ):
        headers = getattr(county, who)
        kicked = client.get(url, headers={**headers, "Prefer": "respond-async"})
        assert kicked.status_code == 202, kicked.text
        for _ in range(3000):  # every type: up to 5 minutes on a busy machine
            polled = client.get(kicked.headers["content-location"], headers=headers)
            if polled.status_code == 200:
                break
            time.sleep(0.1)
        assert polled.status_code == 200, polled.text
        for output in polled.json()["output"]:
            path = tmp_path / f"{who}-{output['type']}.ndjson"
            path.write_text(client.get(output["url"], headers=headers).text, encoding="utf-8")
            files.append(path)
    exported = {
        p.name.partition("-")[2].removesuffix(".ndjson") for p in files if p.name.startswith("commission-")
    }
    with_data = {
        t for t in EXPORTABLE if client.get(f"/fhir/{t}?_count=0", headers=county.commission).json()["total"]
    }
    assert exported == with_data
    summary = validate_files(files)
    validated = summary["validated"]
    assert set(validated) == with_data and sum(validated.values()) > 1000, validated
