"""Versioning (issue 24): every resource served carries `meta.versionId` and `meta.lastUpdated`, a
read answers ETag and Last-Modified, a change through any path bumps both, and `_lastUpdated`
finds what changed since a moment."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from email.utils import parsedate_to_datetime

from fastapi.testclient import TestClient
from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from tests.factories.encounters import create_encounter
from tests.factories.family_doctor import create_team
from tests.factories.world import build_world
from tests.fhir.test_api import entries, platform_data, token
from tests.fhir.test_conformance import OBSERVATION
from tests.synth.test_build import build
from yilian.encounters.repository import replace_codes
from yilian.fhir.rules import SUPPORTED
from yilian.kit.db import local_now, make_engine
from yilian.models import Encounter, EncounterDiagnosis, Resident, ResidentIdentifier, TeamMember

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


def test_a_change_to_a_child_row_bumps_the_resource(client: TestClient, session: Session) -> None:
    """An Encounter's diagnoses, a Patient's other identifiers, a CareTeam's members are rows of their
    own: changing one changed what the resource says, so its version and lastUpdated move (they did
    not: a client syncing on _lastUpdated never saw a corrected diagnosis)."""
    world = build_world(session)
    county = token(session, world.commission)
    encounter = create_encounter(
        session, resident=world.resident_a, institution=world.township_a, on=date(2026, 11, 2)
    )

    def meta(path: str) -> tuple[int, str]:
        served = client.get(path, headers=county)
        assert served.status_code == 200, served.text
        return int(served.json()["meta"]["versionId"]), served.json()["meta"]["lastUpdated"]

    before = meta(f"/fhir/Encounter/{encounter.id}")
    replace_codes(session, encounter_id=encounter.id, diagnoses=["I10.X00", "E11.900"], procedures=[])
    session.flush()
    after = meta(f"/fhir/Encounter/{encounter.id}")
    assert after[0] > before[0] and after[1] >= before[1]
    codes = client.get(f"/fhir/Encounter/{encounter.id}", headers=county).json()["reasonCode"]
    assert [c["coding"][0]["code"] for c in codes] == ["I10.X00", "E11.900"]
    # A diagnosis taken away (a DELETE alone) bumps it too.
    session.execute(
        delete(EncounterDiagnosis).where(
            EncounterDiagnosis.encounter_id == encounter.id, EncounterDiagnosis.seq == 1
        )
    )
    assert meta(f"/fhir/Encounter/{encounter.id}")[0] > after[0]

    patient = f"/fhir/Patient/{world.resident_a.id}"
    before = meta(patient)
    session.add(ResidentIdentifier(resident_id=world.resident_a.id, system="urn:his:mrn", value="MRN-1"))
    session.flush()
    assert meta(patient)[0] == before[0] + 1

    team, _ = create_team(session, world)
    before = meta(f"/fhir/CareTeam/{team.id}")
    session.execute(
        delete(TeamMember).where(
            TeamMember.id
            == min(m.id for m in session.scalars(select(TeamMember).where(TeamMember.team_id == team.id)))
        )
    )
    assert meta(f"/fhir/CareTeam/{team.id}")[0] == before[0] + 1


def test_a_bulk_load_creates_version_one_and_keeps_the_triggers(fresh_database_url: str) -> None:
    """The synthetic county's raw load writes encounters with their diagnoses: the bump triggers
    stand aside for it (every encounter is version 1, and the load is not slowed by an UPDATE per
    diagnosis), and are there again afterwards."""
    build(fresh_database_url, residents=300)
    engine = make_engine(fresh_database_url)
    with Session(engine) as session:
        versions = session.execute(
            select(Encounter.row_version, func.count()).group_by(Encounter.row_version)
        )
        assert {version for version, _ in versions} == {1}
        encounter_id = session.scalar(select(func.min(EncounterDiagnosis.encounter_id)))
        assert encounter_id is not None
        replace_codes(session, encounter_id=encounter_id, diagnoses=["I10.X00"], procedures=[])
        session.flush()
        assert (session.scalar(select(Encounter.row_version).where(Encounter.id == encounter_id)) or 1) > 1
    engine.dispose()
