"""Every type the CapabilityStatement declares, as served to the commission and to a county doctor
on a county with Synthea's Bundles imported, validates with an R4 validator that is not the
server's own library: fhir.resources' pydantic models of FHIR 4.0.1, run by scripts/fhir-validator
in an environment of its own (issue 24). Pages are sampled (the first, and one further on) to keep
the run short; the bulk export's NDJSON is validated too."""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path

import pytest

from tests.fhir.county import County
from yilian.config import PROJECT_ROOT

VALIDATOR = PROJECT_ROOT / "scripts" / "fhir-validator"
PAGE = 100


def validate_files(files: list[Path]) -> dict[str, object]:
    done = subprocess.run(
        [str(VALIDATOR), *map(str, files)], capture_output=True, text=True, timeout=600, check=False
    )
    summary: dict[str, object] = json.loads(done.stdout.strip().splitlines()[-1])
    assert done.returncode == 0, json.dumps(summary["errors"], ensure_ascii=False, indent=1)[:6000]
    return summary


@pytest.mark.parametrize("reader", ["commission", "doctor"])
def test_every_declared_type_validates_as_r4(county: County, reader: str, tmp_path: Path) -> None:
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


def test_bulk_export_ndjson_validates_as_r4(county: County, tmp_path: Path) -> None:
    client = county.client
    headers = county.commission
    kicked = client.get(
        "/fhir/$export?_type=Patient,Encounter,Observation,Condition,Claim",
        headers={**headers, "Prefer": "respond-async"},
    )
    assert kicked.status_code == 202
    for _ in range(600):
        polled = client.get(kicked.headers["content-location"], headers=headers)
        if polled.status_code == 200:
            break
        time.sleep(0.1)
    files = []
    for output in polled.json()["output"]:
        path = tmp_path / f"{output['type']}.ndjson"
        path.write_text(client.get(output["url"], headers=headers).text, encoding="utf-8")
        files.append(path)
    summary = validate_files(files)
    validated = summary["validated"]
    assert isinstance(validated, dict) and {"Patient", "Encounter", "Observation"} <= set(validated)
