"""Chronic registers and follow-up visits: a register from a diagnosis (as the nightly refresh finds
it), a register row as it stands, and a visit recorded through the API (which re-assesses)."""

from __future__ import annotations

from datetime import date
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from tests.factories.encounters import create_encounter
from yilian.chronic.repository import refresh_registers_from_diagnoses
from yilian.models import ChronicRegister, Institution, Resident


def diagnosed(
    session: Session,
    *,
    resident: Resident,
    institution: Institution,
    codes: tuple[str, ...] = ("I10.x00",),
    on: date = date(2026, 5, 1),
) -> int:
    """An outpatient visit with `codes`, then the registers refreshed from diagnoses; the number of
    register entries the refresh added."""
    create_encounter(session, resident=resident, institution=institution, on=on, diagnoses=codes)
    return refresh_registers_from_diagnoses(session)


def create_register(
    session: Session,
    *,
    resident: Resident,
    disease: str = "hypertension",
    source: str = "diagnosis",
    registered_on: date = date(2026, 1, 5),
    **assessed: object,
) -> ChronicRegister:
    """A register entry as it stands: not yet assessed, unless `assessed` gives what an assessment
    left (colour=…, next_due_on=…)."""
    register = ChronicRegister(
        resident_id=resident.id, disease=disease, source=source, registered_on=registered_on, **assessed
    )
    session.add(register)
    session.flush()
    return register


def visit(client: TestClient, headers: dict[str, str], resident_id: int, **values: object) -> dict[str, Any]:
    """POST /api/chronic/visits on 2026-11-24 unless `values` say otherwise; must be recorded (201)."""
    body = {"resident_id": resident_id, "visited_on": "2026-11-24", **values}
    response = client.post("/api/chronic/visits", json=body, headers=headers)
    assert response.status_code == 201, response.text
    return dict(response.json())
