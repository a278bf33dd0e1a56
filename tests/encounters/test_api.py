"""Recording encounters: validation, the out-of-county flag, money in fen, history."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tests.factories.auth import bearer, create_user
from tests.factories.registry import create_institution
from tests.factories.world import build_world
from yilian.auth import rules as roles
from yilian.kit.money import fen_to_yuan, yuan_to_fen
from yilian.models import Encounter, EncounterDiagnosis


def test_money_is_exact_in_fen() -> None:
    assert yuan_to_fen("0.1") + yuan_to_fen("0.2") == yuan_to_fen("0.3") == 30
    assert yuan_to_fen("12.345") == 1235  # half up
    assert fen_to_yuan(123456) == "1234.56"


def test_township_doctor_records_an_in_county_visit(client: TestClient, session: Session) -> None:
    world = build_world(session)
    gp = create_user(session, role=roles.DOCTOR, institution_id=world.township_a.id)
    body = {
        "resident_id": world.resident_a.id,
        "institution_id": world.township_a.id,
        "kind": "outpatient",
        "start_date": "2026-11-20",
        "diagnoses": ["I10.x00", "E11.900"],
        "total_cost": "86.50",
        "fund_paid": "47.58",
    }
    response = client.post("/api/encounters", json=body, headers=bearer(session, gp))
    assert response.status_code == 201, response.text
    out = response.json()
    assert out["out_of_county"] is False and out["end_date"] == "2026-11-20"
    assert out["total_cost"] == "86.50" and out["fund_paid"] == "47.58"
    stored = session.get(Encounter, out["id"])
    assert stored is not None and (stored.total_fen, stored.fund_fen) == (8650, 4758)
    codes = session.scalars(
        select(EncounterDiagnosis.icd10_code)
        .where(EncounterDiagnosis.encounter_id == out["id"])
        .order_by(EncounterDiagnosis.seq)
    ).all()
    assert codes == ["I10.x00", "E11.900"]
    history = client.get(
        f"/api/residents/{world.resident_a.id}/encounters", headers=bearer(session, gp)
    ).json()
    assert [e["id"] for e in history] == [out["id"]]


def test_care_outside_the_consortium_is_flagged(client: TestClient, session: Session) -> None:
    world = build_world(session)
    provincial = create_institution(
        session, name="宁夏医科大学总医院", type="综合医院", level="三级", region_code="640104"
    )
    doctor = create_user(session, role=roles.DOCTOR, institution_id=provincial.id)
    # The provincial doctor may record a visit of a resident who came to them (registration opens the record).
    session.add(
        Encounter(
            resident_id=world.resident_a.id,
            institution_id=provincial.id,
            kind="outpatient",
            start_date=__import__("datetime").date(2026, 10, 1),
            total_fen=100,
            fund_fen=0,
        )
    )
    session.flush()
    body = {
        "resident_id": world.resident_a.id,
        "institution_id": provincial.id,
        "kind": "inpatient",
        "start_date": "2026-11-01",
        "end_date": "2026-11-09",
        "diagnoses": ["C34.900"],
        "total_cost": "23800.00",
        "fund_paid": "13090.00",
    }
    response = client.post("/api/encounters", json=body, headers=bearer(session, doctor))
    assert response.status_code == 201, response.text
    assert response.json()["out_of_county"] is True


def test_bad_encounter_names_each_field_and_writes_nothing(client: TestClient, session: Session) -> None:
    world = build_world(session)
    gp = create_user(session, role=roles.DOCTOR, institution_id=world.township_a.id)
    before = session.scalar(select(func.count()).select_from(Encounter))
    body = {
        "resident_id": world.resident_a.id,
        "institution_id": world.township_a.id,
        "kind": "outpatient",
        "start_date": "2027-01-01",
        "diagnoses": ["高血压"],
        "total_cost": "10.00",
        "fund_paid": "20.00",
    }
    response = client.post("/api/encounters", json=body, headers=bearer(session, gp))
    assert response.status_code == 422
    fields = {f["field"] for f in response.json()["error"]["fields"]}
    assert fields == {"start_date", "diagnoses[0]", "fund_paid"}
    assert session.scalar(select(func.count()).select_from(Encounter)) == before


def test_recording_at_another_institution_is_refused(client: TestClient, session: Session) -> None:
    world = build_world(session)
    gp = create_user(session, role=roles.DOCTOR, institution_id=world.township_a.id)
    body = {
        "resident_id": world.resident_a.id,
        "institution_id": world.hospital.id,
        "kind": "outpatient",
        "start_date": "2026-11-20",
        "diagnoses": ["J06.900"],
        "total_cost": "50",
        "fund_paid": "20",
    }
    assert client.post("/api/encounters", json=body, headers=bearer(session, gp)).status_code == 403


def test_summary_counted_on_recording_equals_the_rebuilt_summary(
    client: TestClient, session: Session
) -> None:
    from datetime import date

    from yilian.encounters.repository import refresh_visit_summary
    from yilian.models import VisitSummary

    world = build_world(session)
    gp = create_user(session, role=roles.DOCTOR, institution_id=world.township_a.id)
    headers = bearer(session, gp)
    for day, cost in (("2026-11-02", "30.00"), ("2026-11-05", "45.50"), ("2026-10-30", "12.00")):
        body = {
            "resident_id": world.resident_a.id,
            "institution_id": world.township_a.id,
            "kind": "outpatient",
            "start_date": day,
            "diagnoses": ["J06.900"],
            "total_cost": cost,
            "fund_paid": "10.00",
        }
        assert client.post("/api/encounters", json=body, headers=headers).status_code == 201

    def summary() -> list[tuple[object, ...]]:
        rows = session.execute(
            select(
                VisitSummary.month, VisitSummary.visits, VisitSummary.total_fen, VisitSummary.fund_fen
            ).order_by(VisitSummary.month)
        )
        return [tuple(r) for r in rows]

    counted = summary()
    assert counted == [("2026-10", 1, 1200, 1000), ("2026-11", 2, 7550, 2000)]
    refresh_visit_summary(session, start=date(2026, 10, 1), end=date(2026, 11, 30))
    assert summary() == counted


def test_unknown_institution_is_named(client: TestClient, session: Session) -> None:
    world = build_world(session)
    gp = create_user(session, role=roles.DOCTOR, institution_id=world.township_a.id)
    body = {
        "resident_id": world.resident_a.id,
        "institution_id": 987654,
        "kind": "outpatient",
        "start_date": "2026-11-20",
        "diagnoses": ["J06.900"],
        "total_cost": "50",
        "fund_paid": "20",
    }
    response = client.post("/api/encounters", json=body, headers=bearer(session, gp))
    assert response.status_code == 422
    assert response.json()["error"]["fields"][0]["field"] == "institution_id"
