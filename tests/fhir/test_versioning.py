"""Versioning (issue 24): every resource served carries `meta.versionId` and `meta.lastUpdated`, a
read answers ETag and Last-Modified, a change through any path bumps both, and `_lastUpdated`
finds what changed since a moment."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime

from fastapi.testclient import TestClient
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from tests.factories.fhir import OBSERVATION, entries, platform_data, token
from tests.factories.world import build_world
from yilian.fhir.rules import SUPPORTED
from yilian.kit.db import local_now
from yilian.models import Resident

FHIR = "application/fhir+json"


def test_every_served_resource_has_version_and_last_updated(client: TestClient, session: Session) -> None:
    world = build_world(session)
    platform_data(client, session, world)
    county = token(session, world.commission)
    seen = 0
    for resource_type in SUPPORTED:
        if resource_type == "MeasureReport":  # computed in the indicators' process: test_measures
            continue
        bundle = client.get(f"/fhir/{resource_type}?_count=20", headers=county).json()
        for resource in entries(bundle):
            meta = resource.get("meta") or {}
            assert meta.get("versionId"), (resource_type, resource["id"])
            assert datetime.fromisoformat(meta["lastUpdated"]).tzinfo is not None, resource_type
            seen += 1
    assert seen > 20


def test_read_has_etag_and_last_modified_and_updates_bump_them(client: TestClient, session: Session) -> None:
    world = build_world(session)
    county = token(session, world.commission)
    resident_id = world.resident_a.id
    first = client.get(f"/fhir/Patient/{resident_id}", headers=county)
    assert first.status_code == 200
    version = first.json()["meta"]["versionId"]
    assert first.headers["etag"] == f'W/"{version}"'
    modified = parsedate_to_datetime(first.headers["last-modified"])
    stated = datetime.fromisoformat(first.json()["meta"]["lastUpdated"])
    assert abs(modified - stated) < timedelta(seconds=1)
    # An ORM change (as the residents service makes) bumps the version …
    resident = session.get(Resident, resident_id)
    assert resident is not None
    resident.phone = "13900000001"
    session.flush()
    second = client.get(f"/fhir/Patient/{resident_id}", headers=county).json()
    assert int(second["meta"]["versionId"]) == int(version) + 1
    assert second["meta"]["lastUpdated"] >= first.json()["meta"]["lastUpdated"]
    # … and so does a Core bulk UPDATE (as a merge moves encounters), without naming the columns.
    session.execute(update(Resident).where(Resident.id == resident_id).values(address="新地址"))
    third = client.get(f"/fhir/Patient/{resident_id}", headers=county)
    assert third.headers["etag"] == f'W/"{int(version) + 2}"'


def test_last_updated_search(client: TestClient, session: Session) -> None:
    world = build_world(session)
    county = token(session, world.commission)
    before = session.scalar(select(local_now()))
    assert before is not None
    created = client.post(
        "/fhir/Observation",
        json={**OBSERVATION, "subject": {"reference": f"Patient/{world.resident_a.id}"}},
        headers={**county, "Content-Type": FHIR},
    )
    assert created.status_code == 201, created.text
    since = (before - timedelta(milliseconds=1)).isoformat() + "+08:00"
    found = client.get("/fhir/Observation", params={"_lastUpdated": f"ge{since}"}, headers=county).json()
    assert [r["id"] for r in entries(found)] == [created.json()["id"]]
    # The same instant in UTC finds the same; nothing is newer than a moment from now.
    in_utc = (before - timedelta(hours=8, milliseconds=1)).replace(tzinfo=UTC).isoformat()
    again = client.get("/fhir/Observation", params={"_lastUpdated": f"gt{in_utc}"}, headers=county).json()
    assert again["total"] == 1
    later = (before + timedelta(hours=1)).isoformat()
    assert client.get(f"/fhir/Observation?_lastUpdated=ge{later}", headers=county).json()["total"] == 0
    assert client.get(f"/fhir/Observation?_lastUpdated=lt{later}", headers=county).json()["total"] >= 1
    patients = client.get(f"/fhir/Patient?_lastUpdated=le{later}", headers=county).json()
    assert patients["total"] >= 2
    statement = client.get("/fhir/metadata").json()
    for resource in statement["rest"][0]["resource"]:
        if resource["type"] != "MeasureReport":
            assert {"name": "_lastUpdated", "type": "date"} in resource["searchParam"], resource["type"]
