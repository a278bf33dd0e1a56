"""Every reference a reader receives resolves for that reader (issue 24): walking a served county
— synthetic, with Synthea's Bundles imported — as the commission and as a county doctor, each
literal reference in each resource read is read back; an institution outside the reader's county
(the provincial hospitals residents are sent to) is a display-only reference, not a 404."""

from __future__ import annotations

from typing import Any

import pytest

from tests.fhir.county import County
from yilian.fhir.rules import INSTITUTION_SYSTEM, SUPPORTED

PAGE = 100


def references(value: Any, found: list[dict[str, Any]]) -> None:
    if isinstance(value, dict):
        if isinstance(value.get("reference"), str):
            found.append(value)
        for inner in value.values():
            references(inner, found)
    elif isinstance(value, list):
        for inner in value:
            references(inner, found)


@pytest.mark.parametrize("reader", ["commission", "doctor"])
def test_every_reference_resolves_for_its_reader(county: County, reader: str) -> None:
    headers = getattr(county, reader)
    client = county.client
    targets: set[str] = set()
    display_only: list[dict[str, Any]] = []
    for resource_type in SUPPORTED:
        if resource_type == "MeasureReport":  # summaries: they reference nothing
            continue
        bundle = client.get(f"/fhir/{resource_type}?_count={PAGE}", headers=headers).json()
        for entry in bundle.get("entry", []):
            resource = entry["resource"]
            found: list[dict[str, Any]] = []
            references(resource, found)
            contained = {c.get("id") for c in resource.get("contained") or []}
            for one in found:
                if one["reference"].startswith("#"):  # a contained resource resolves inside its own
                    assert one["reference"][1:] in contained, (resource_type, one)
                    continue
                assert one["reference"].count("/") == 1 and not one["reference"].startswith("urn:"), one
                targets.add(one["reference"])
        display_only += [one for e in bundle.get("entry", []) for one in _logical(e["resource"])]
    unresolved = [t for t in sorted(targets) if client.get(f"/fhir/{t}", headers=headers).status_code != 200]
    assert not unresolved, (
        f"{reader}: {len(unresolved)} of {len(targets)} references answer no resource: {unresolved[:10]}"
    )
    assert len(targets) > 50
    if reader == "commission":
        # Encounters at the provincial hospitals are there, and name them by identifier and name.
        assert any(o.get("identifier", {}).get("system") == INSTITUTION_SYSTEM for o in display_only)


def _logical(resource: dict[str, Any]) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []

    def walk(value: Any) -> None:
        if isinstance(value, dict):
            if value.get("type") == "Organization" and "identifier" in value and "reference" not in value:
                found.append(value)
            for inner in value.values():
                walk(inner)
        elif isinstance(value, list):
            for inner in value:
                walk(inner)

    walk(resource)
    return found


def test_provincial_hospital_encounters_name_it_without_a_dangling_reference(county: County) -> None:
    """Organization/1–3 are the provincial hospitals: outside the county, so not served to it, and
    an Encounter there names them display-only."""
    client = county.client
    assert client.get("/fhir/Organization/1", headers=county.commission).status_code == 404
    served = client.get("/fhir/Organization?_count=500", headers=county.commission).json()
    assert "1" not in {e["resource"]["id"] for e in served["entry"]}
    # the encounters at them, searched by their real table (service-provider is a reference)
    page = client.get("/fhir/Encounter?_count=500", headers=county.commission).json()
    providers = [e["resource"]["serviceProvider"] for e in page["entry"]]
    outside = [p for p in providers if "reference" not in p]
    assert outside and all(p["display"] and p["identifier"]["value"] for p in outside)
    assert not any(
        p.get("reference") in ("Organization/1", "Organization/2", "Organization/3") for p in providers
    )
