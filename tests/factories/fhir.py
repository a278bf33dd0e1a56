"""FHIR: tokens with SMART scopes, a Bundle's resources, Synthea's sample Bundles, a standard
Observation, and a bit of everything the platform holds about one resident."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from tests.factories.chronic import create_register
from tests.factories.diagnostics import open_centres, study_files, upload
from tests.factories.encounters import create_encounter
from tests.factories.family_doctor import create_team
from tests.factories.scheduling import publish
from tests.factories.world import World
from yilian.auth.service import do_create_api_token

OBSERVATION: dict[str, Any] = {
    "resourceType": "Observation",
    "status": "final",
    "code": {"coding": [{"system": "http://loinc.org", "code": "2339-0", "display": "Glucose"}]},
    "effectiveDateTime": "2026-11-20T08:10:00+08:00",
    "valueQuantity": {"value": 7.8, "unit": "mmol/L"},
}


def synthea_dir(shared_root: Path) -> Path:
    folder = shared_root / "fhir-samples" / "synthea-r4"
    if not folder.is_dir():
        pytest.fail(f"no Synthea samples at {folder}: set YILIAN_SHARED_DIR")
    return folder


def token(session: Session, user: Any, scopes: str = "user/*.*") -> dict[str, str]:
    return {
        "Authorization": "Bearer "
        + do_create_api_token(session, user=user, name="fhir", now=datetime(2026, 11, 1), scopes=scopes)
    }


def entries(bundle: dict[str, Any]) -> list[dict[str, Any]]:
    return [e["resource"] for e in bundle.get("entry", [])]


def platform_data(client: TestClient, session: Session, world: World) -> dict[str, Any]:
    """A bit of everything the platform holds about resident A."""
    team, _ = create_team(session, world)
    encounter = create_encounter(
        session,
        resident=world.resident_a,
        institution=world.township_a,
        on=date(2026, 10, 3),
        total_fen=5000,
        fund_fen=2500,
    )
    create_register(
        session,
        resident=world.resident_a,
        disease="hypertension",
        source="diagnosis",
        registered_on=date(2026, 3, 1),
        colour="yellow",
        next_due_on=date(2026, 12, 1),
    )
    _, slots = publish(client, session, world)
    centres = open_centres(client, session, world)
    ordered = client.post(
        "/api/diagnostics/orders",
        json={"resident_id": world.resident_a.id, "item_code": "DR-CHEST"},
        headers=centres.township_doctor,
    ).json()
    upload(
        client,
        centres.township_doctor,
        study_files(patient_id=world.resident_a.id_number, accession=ordered["accession_number"]),
    )
    client.post(
        f"/api/diagnostics/orders/{ordered['id']}/report",
        json={"findings": "双肺纹理清晰", "impression": "心肺未见异常"},
        headers=centres.reader,
    )
    return {"team": team, "encounter": encounter, "slots": slots, "order": ordered, "centres": centres}
