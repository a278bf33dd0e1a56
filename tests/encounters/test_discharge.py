"""Admission, discharge with the front page, and DRG grouping at the moment a stay ends."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tests.factories.auth import bearer, create_user
from tests.factories.encounters import create_encounter
from tests.factories.world import World, build_world
from yilian.auth import rules as roles
from yilian.config import Settings
from yilian.models import DrgGrouping, Encounter, EncounterDiagnosis, EncounterProcedure, VisitSummary

# Oesophageal perforation with a pleural complication and respiratory failure, oesophageal repair:
# CHS-DRG 1.1 groups it GC13 (one of OpenDRG's published example cases).
FINAL_DIAGNOSES = ["K22.301", "J94.801", "J96.900x001"]
OPERATION = ["42.0902"]


def hospital_patient(session: Session) -> World:
    """The county hospital has seen 李建国 in its emergency room, which opens his record to it."""
    world = build_world(session)
    create_encounter(session, resident=world.resident_b, institution=world.hospital, on=date(2026, 11, 9))
    return world


def admit(client: TestClient, session: Session, doctor: object, resident_id: int, hospital_id: int) -> int:
    body = {
        "resident_id": resident_id,
        "institution_id": hospital_id,
        "kind": "inpatient",
        "start_date": "2026-11-10",
        "diagnoses": ["K22.301"],
        "total_cost": "0.00",
        "fund_paid": "0.00",
    }
    response = client.post("/api/encounters", json=body, headers=bearer(session, doctor))
    assert response.status_code == 201, response.text
    assert response.json()["drg"] is None  # still in hospital: nothing to group
    return int(response.json()["id"])


def discharge_body(**changes: object) -> dict[str, object]:
    body: dict[str, object] = {
        "end_date": "2026-11-21",
        "leaving_type": "1",
        "diagnoses": FINAL_DIAGNOSES,
        "procedures": OPERATION,
        "total_cost": "41236.70",
        "fund_paid": "28865.69",
    }
    return body | changes


def test_discharge_groups_the_stay_and_moves_the_money_into_the_summary(
    client: TestClient, session: Session, drg_scheme_path: Path
) -> None:
    world = hospital_patient(session)
    stay = admit(client, session, world.doctor, world.resident_b.id, world.hospital.id)

    response = client.post(
        f"/api/encounters/{stay}/discharge", json=discharge_body(), headers=bearer(session, world.doctor)
    )
    assert response.status_code == 200, response.text
    out = response.json()
    assert (out["end_date"], out["leaving_type"], out["total_cost"]) == ("2026-11-21", "1", "41236.70")
    assert out["diagnoses"] == FINAL_DIAGNOSES and out["procedures"] == OPERATION
    assert (out["drg"]["drg"], out["drg"]["adrg"], out["drg"]["mdc"]) == ("GC13", "GC1", "MDCG")

    grouping = session.get(DrgGrouping, stay)
    assert grouping is not None and (grouping.drg, grouping.scheme) == ("GC13", drg_scheme_path.name)
    # The month's summary counts the stay once, with the discharge money (admission had 0).
    summary = session.execute(
        select(VisitSummary.visits, VisitSummary.total_fen, VisitSummary.fund_fen).where(
            VisitSummary.institution_id == world.hospital.id, VisitSummary.kind == "inpatient"
        )
    ).one()
    assert tuple(summary) == (1, 4_123_670, 2_886_569)

    history = client.get(
        f"/api/residents/{world.resident_b.id}/encounters", headers=bearer(session, world.doctor)
    ).json()
    assert history[0]["procedures"] == OPERATION and history[0]["drg"]["drg"] == "GC13"

    again = client.post(
        f"/api/encounters/{stay}/discharge", json=discharge_body(), headers=bearer(session, world.doctor)
    )
    assert again.status_code == 409 and "已于2026-11-21出院" in again.json()["error"]["message_zh"]


def test_a_stay_recorded_after_the_fact_is_grouped_when_recorded(
    client: TestClient, session: Session, drg_scheme_path: Path
) -> None:
    world = hospital_patient(session)
    body = {
        "resident_id": world.resident_b.id,
        "institution_id": world.hospital.id,
        "kind": "inpatient",
        "start_date": "2026-10-02",
        "end_date": "2026-10-09",
        "leaving_type": "1",
        "diagnoses": ["K22.301"],  # no complication: the same ADRG, the lighter DRG
        "procedures": OPERATION,
        "total_cost": "30000.00",
        "fund_paid": "21000.00",
    }
    response = client.post("/api/encounters", json=body, headers=bearer(session, world.doctor))
    assert response.status_code == 201, response.text
    assert response.json()["drg"]["drg"] == "GC15"
    assert session.scalar(select(func.count()).select_from(DrgGrouping)) == 1


def test_bad_discharges_change_nothing(client: TestClient, session: Session) -> None:
    world = hospital_patient(session)
    stay = admit(client, session, world.doctor, world.resident_b.id, world.hospital.id)
    headers = bearer(session, world.doctor)

    bad = client.post(
        f"/api/encounters/{stay}/discharge",
        json=discharge_body(leaving_type="7", procedures=["4209"], end_date="2026-11-01"),
        headers=headers,
    )
    assert bad.status_code == 422
    fields = {f["field"] for f in bad.json()["error"]["fields"]}
    assert fields == {"leaving_type", "procedures[0]", "end_date"}
    assert all(f["message_zh"] and f["message_en"] for f in bad.json()["error"]["fields"])

    future = client.post(
        f"/api/encounters/{stay}/discharge", json=discharge_body(end_date="2026-12-01"), headers=headers
    )
    assert future.status_code == 422 and future.json()["error"]["fields"][0]["field"] == "end_date"

    township_doctor = create_user(session, role=roles.DOCTOR, institution_id=world.township_a.id)
    elsewhere = client.post(
        f"/api/encounters/{stay}/discharge", json=discharge_body(), headers=bearer(session, township_doctor)
    )
    assert elsewhere.status_code == 404

    stored = session.get(Encounter, stay)
    assert stored is not None and (stored.end_date, stored.total_fen, stored.leaving_type) == (None, 0, None)
    assert session.scalars(
        select(EncounterDiagnosis.icd10_code).where(EncounterDiagnosis.encounter_id == stay)
    ).all() == ["K22.301"]
    assert session.scalar(select(func.count()).select_from(EncounterProcedure)) == 0
    assert session.scalar(select(func.count()).select_from(DrgGrouping)) == 0


def test_without_a_scheme_the_discharge_is_kept_and_waits_for_the_batch(
    client: TestClient, session: Session, tmp_path: Path, settings: Settings
) -> None:
    # The app's settings name the scheme directory (an empty one here), whatever the environment says:
    # grouping read get_settings() and found the environment's scheme.
    settings.drg_scheme_dir = str(tmp_path)
    world = hospital_patient(session)
    stay = admit(client, session, world.doctor, world.resident_b.id, world.hospital.id)
    response = client.post(
        f"/api/encounters/{stay}/discharge", json=discharge_body(), headers=bearer(session, world.doctor)
    )
    assert response.status_code == 200, response.text
    assert response.json()["drg"] is None and response.json()["end_date"] == "2026-11-21"
    assert session.scalar(select(func.count()).select_from(DrgGrouping)) == 0


def test_the_grouper_is_the_apps_settings_not_the_environments(
    client: TestClient, session: Session, tmp_path: Path, settings: Settings
) -> None:
    world = hospital_patient(session)
    case = {"sex": "1", "age": 60, "diagnoses": ["K22.301"]}
    headers = bearer(session, world.doctor)
    assert client.post("/api/drg/group", json=case, headers=headers).status_code == 200
    settings.drg_scheme_dir = str(tmp_path)
    refused = client.post("/api/drg/group", json=case, headers=headers)
    assert refused.status_code == 409 and str(tmp_path) in refused.json()["error"]["message_en"]
