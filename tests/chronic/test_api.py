"""Chronic care through the API: visits re-assess, screening feeds the 应签尽签 list, prescriptions."""

from __future__ import annotations

from datetime import date

from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tests.factories.auth import bearer
from tests.factories.encounters import create_encounter
from tests.factories.family_doctor import create_contract, create_drug, create_package, create_team
from tests.factories.world import build_far_county, build_world
from yilian.chronic.repository import refresh_registers_from_diagnoses
from yilian.models import ChronicRegister, ChronicVisit, RiskAssessment


def visit(
    client: TestClient, headers: dict[str, str], resident_id: int, **values: object
) -> dict[str, object]:
    body = {"resident_id": resident_id, "visited_on": "2026-11-24", **values}
    response = client.post("/api/chronic/visits", json=body, headers=headers)
    assert response.status_code == 201, response.text
    return response.json()  # type: ignore[no-any-return]


def test_follow_up_changes_colour_and_next_due(client: TestClient, session: Session) -> None:
    world = build_world(session)
    create_encounter(
        session,
        resident=world.resident_a,
        institution=world.township_a,
        on=date(2026, 5, 1),
        diagnoses=("I10.x00",),
    )
    assert refresh_registers_from_diagnoses(session) == 1
    headers = bearer(session, world.family_doctor_a)
    # 66-year-old woman: age is a risk factor (> 65) → tier 2; 185/112 is grade 3 → high, red, 14 days.
    red = visit(client, headers, world.resident_a.id, sbp=185, dbp=112)["registers"][0]
    assert (red["colour"], red["next_due_on"], red["responsible_role"]) == ("red", "2026-12-08", "专科医生")
    assert "HTN-G3" in red["explanation"] and red["controlled"] is False
    # Back to 150/92 (grade 1, tier 2) → medium, yellow, 30 days.
    yellow = visit(client, headers, world.resident_a.id, sbp=150, dbp=92)["registers"][0]
    assert (yellow["colour"], yellow["next_due_on"]) == ("yellow", "2026-12-24")
    green = visit(client, headers, world.resident_a.id, sbp=128, dbp=78)["registers"][0]
    assert (green["colour"], green["next_due_on"], green["controlled"]) == ("green", "2027-02-22", True)


def test_impossible_vitals_save_nothing(client: TestClient, session: Session) -> None:
    world = build_world(session)
    headers = bearer(session, world.family_doctor_a)
    response = client.post(
        "/api/chronic/visits",
        json={
            "resident_id": world.resident_a.id,
            "visited_on": "2026-11-24",
            "sbp": 400,
            "dbp": 20,
            "fasting_glucose": -1,
        },
        headers=headers,
    )
    assert response.status_code == 422
    assert {f["field"] for f in response.json()["error"]["fields"]} == {"sbp", "dbp", "fasting_glucose"}
    assert session.scalar(select(func.count()).select_from(ChronicVisit)) == 0


def test_screening_positive_joins_register_and_unsigned_worklist(
    client: TestClient, session: Session
) -> None:
    world = build_world(session)
    headers = bearer(session, world.family_doctor_a)
    record = visit(
        client, headers, world.resident_a.id, kind="health_check", sbp=146, dbp=88, fasting_glucose=7.4
    )
    assert sorted(r["disease"] for r in record["registers"]) == ["diabetes", "hypertension"]
    assert {r["source"] for r in record["registers"]} == {"screening"}
    unsigned = client.get("/api/chronic/worklist/unsigned", headers=headers).json()["items"]
    assert {(w["resident_id"], w["disease"]) for w in unsigned} == {
        (world.resident_a.id, "diabetes"),
        (world.resident_a.id, "hypertension"),
    }
    team, members = create_team(session, world)
    package = create_package(session, world)
    world.family_doctor_a.staff_id = members["全科医生"]
    session.flush()
    signed = client.post(
        "/api/contracts",
        json={"resident_id": world.resident_a.id, "team_id": team.id, "package_id": package.id},
        headers=headers,
    )
    assert signed.status_code == 201
    assert client.get("/api/chronic/worklist/unsigned", headers=headers).json()["items"] == []
    # 146/88 is grade 1; diabetes puts her on row 3 of the table → high (red). FPG 7.4 → diabetes yellow.
    red = client.get("/api/chronic/worklist/red", headers=headers).json()["items"]
    assert [(w["resident_id"], w["disease"]) for w in red] == [(world.resident_a.id, "hypertension")]


def test_figures_count_signing_control_and_colours(client: TestClient, session: Session) -> None:
    world = build_world(session)
    headers = bearer(session, world.family_doctor_a)
    visit(client, headers, world.resident_a.id, kind="health_check", sbp=128, dbp=80)  # nothing positive
    create_encounter(
        session,
        resident=world.resident_a,
        institution=world.township_a,
        on=date(2026, 5, 1),
        diagnoses=("I10.x00",),
    )
    refresh_registers_from_diagnoses(session)
    visit(client, headers, world.resident_a.id, sbp=132, dbp=82)
    figures = client.get("/api/chronic/figures", headers=bearer(session, world.commission)).json()
    assert (figures["residents"], figures["signed"], figures["signing_rate"]) == (2, 0, 0.0)
    assert figures["registered"] == {"hypertension": 1}
    assert figures["controlled"] == {"hypertension": 1} and figures["control_rate"] == {"hypertension": 1.0}
    assert figures["colours"] == {"hypertension": {"green": 1}}
    assert figures["key_population"] == 2  # both residents were born in 1960: 66, a key population


def test_long_prescription_limits(client: TestClient, session: Session) -> None:
    world = build_world(session)
    headers = bearer(session, world.family_doctor_a)
    create_encounter(
        session,
        resident=world.resident_a,
        institution=world.township_a,
        on=date(2026, 5, 1),
        diagnoses=("I10.x00",),
    )
    refresh_registers_from_diagnoses(session)
    visit(client, headers, world.resident_a.id, sbp=128, dbp=78)  # green
    drug = create_drug(session, world)
    body = {
        "resident_id": world.resident_a.id,
        "diagnosis": "I10.x00",
        "days": 84,
        "items": [{"drug_id": drug.id, "daily_dose": 1}],
    }
    unsigned = client.post("/api/prescriptions", json=body, headers=headers)
    assert unsigned.status_code == 422 and "签约" in unsigned.json()["error"]["fields"][0]["message_zh"]
    team, _ = create_team(session, world)
    package = create_package(session, world)

    create_contract(
        session,
        world,
        resident=world.resident_a,
        team=team,
        package=package,
        start=date(2026, 1, 1),
        end=date(2026, 12, 31),
        fee_fen=0,
    )
    session.flush()
    twelve_weeks = client.post("/api/prescriptions", json=body, headers=headers)
    assert twelve_weeks.status_code == 201, twelve_weeks.text
    assert twelve_weeks.json()["is_long"] is True and twelve_weeks.json()["items"][0]["quantity"] == 84
    too_long = client.post("/api/prescriptions", json={**body, "days": 91}, headers=headers)
    assert too_long.status_code == 422 and "12周" in too_long.json()["error"]["fields"][0]["message_zh"]
    off_list = client.post(
        "/api/prescriptions", json={**body, "items": [{"drug_id": 99999, "daily_dose": 1}]}, headers=headers
    )
    assert (
        off_list.status_code == 422 and off_list.json()["error"]["fields"][0]["field"] == "items[0].drug_id"
    )


def test_register_entries_are_unique(session: Session) -> None:
    world = build_world(session)
    for day in (date(2026, 1, 1), date(2026, 2, 1)):
        create_encounter(
            session,
            resident=world.resident_a,
            institution=world.township_a,
            on=day,
            diagnoses=("E11.900", "I10.x00"),
        )
    assert refresh_registers_from_diagnoses(session) == 2
    assert refresh_registers_from_diagnoses(session) == 0
    first = session.scalar(select(ChronicRegister.registered_on).where(ChronicRegister.disease == "diabetes"))
    assert first == date(2026, 1, 1)


def test_workbench_lists_count_red_overdue_and_unsigned(client: TestClient, session: Session) -> None:
    """The workbench's three lists (the screen shows their totals): a patient just seen at 186/100 is
    red and unsigned (on the register, no contract), not overdue (the next visit is ahead)."""
    world = build_world(session)
    headers = bearer(session, world.family_doctor_a)
    visit(client, headers, world.resident_a.id, kind="health_check", sbp=186, dbp=100)
    totals = {
        kind: client.get(f"/api/chronic/worklist/{kind}", headers=headers).json()["total"]
        for kind in ("red", "overdue", "unsigned")
    }
    assert totals == {"red": 1, "overdue": 0, "unsigned": 1}
    (row,) = client.get("/api/chronic/worklist/red", headers=headers).json()["items"]
    assert row["name"] == "张桂兰"
    chronic = client.get(f"/api/residents/{world.resident_a.id}/chronic", headers=headers).json()
    assert any(r["disease"] == "hypertension" and r["colour"] == "red" for r in chronic["registers"])


def test_figures_per_team_grid_and_date(client: TestClient, session: Session) -> None:

    world = build_world(session)
    team, _ = create_team(session, world)  # serves grid A only
    package = create_package(session, world)
    create_contract(
        session,
        world,
        resident=world.resident_a,
        team=team,
        package=package,
        start=date(2026, 6, 1),
        end=date(2027, 5, 31),
        fee_fen=0,
    )
    session.flush()
    headers = bearer(session, world.consortium_admin)
    whole = client.get("/api/chronic/figures", headers=headers).json()
    assert (whole["signed"], whole["residents"], whole["signing_rate"]) == (1, 2, 0.5)
    per_team = client.get("/api/chronic/figures", params={"team_id": team.id}, headers=headers).json()
    assert (per_team["signed"], per_team["residents"], per_team["signing_rate"]) == (1, 1, 1.0)
    per_grid = client.get("/api/chronic/figures", params={"grid_id": world.grid_b.id}, headers=headers).json()
    assert (per_grid["signed"], per_grid["residents"]) == (0, 1)
    per_institution = client.get(
        "/api/chronic/figures", params={"institution_id": world.clinic_a.id}, headers=headers
    ).json()
    assert per_institution["residents"] == 1
    before = client.get("/api/chronic/figures", params={"as_of": "2026-05-31"}, headers=headers).json()
    assert before["signed"] == 0


def test_the_work_list_pages_filters_by_village_and_disease_and_exports_all_of_it(
    client: TestClient, session: Session
) -> None:
    """25 unsigned hypertensive residents in 台子村 and 3 diabetic ones in 郝家桥村: pages of 10 say 28 in
    all, the village filter says 25 and 3, the disease filter 3, and the export holds every row."""
    from datetime import date

    from openpyxl import load_workbook

    from tests.factories.residents import create_resident
    from yilian.models import ChronicRegister

    world = build_world(session)
    for n, (grid, disease) in enumerate(
        [(world.grid_a, "hypertension")] * 25 + [(world.grid_b, "diabetes")] * 3
    ):
        resident = create_resident(session, grid=grid, name=f"患者{n}")
        session.add(
            ChronicRegister(
                resident_id=resident.id, disease=disease, source="diagnosis", registered_on=date(2026, 1, 5)
            )
        )
    session.flush()
    office = bearer(session, world.consortium_admin)
    page = client.get(
        "/api/chronic/worklist/unsigned", params={"limit": 10, "offset": 20}, headers=office
    ).json()
    assert (page["total"], len(page["items"])) == (28, 8)
    assert {(g["name"], g["count"]) for g in page["grids"]} == {("台子村", 25), ("郝家桥村", 3)}
    village = client.get(
        "/api/chronic/worklist/unsigned", params={"grid_id": world.grid_b.id}, headers=office
    ).json()
    assert village["total"] == 3 and {w["disease"] for w in village["items"]} == {"diabetes"}
    by_disease = client.get("/api/chronic/worklist/unsigned", params={"disease": "diabetes"}, headers=office)
    assert by_disease.json()["total"] == 3
    bad = client.get("/api/chronic/worklist/unsigned", params={"disease": "flu"}, headers=office)
    assert bad.status_code == 422 and bad.json()["error"]["fields"][0]["field"] == "disease"
    export = client.get("/api/chronic/worklist/unsigned/export", headers=office)
    assert export.status_code == 200
    sheet = load_workbook(__import__("io").BytesIO(export.content)).active
    assert sheet.max_row == 1 + 28 and sheet.cell(1, 4).value == "病种"


def test_the_county_batch_touches_only_the_administrators_own_residents(
    client: TestClient, session: Session
) -> None:
    """POST /api/chronic/assess by a consortium admin used to register and assess every resident in the
    database; it is a write, so it stays inside the caller's scope like every other write."""
    world = build_world(session)
    far = build_far_county(session)
    for resident, institution in ((world.resident_a, world.township_a), (far.resident, far.township)):
        create_encounter(
            session, resident=resident, institution=institution, on=date(2026, 5, 1), diagnoses=("I10.x00",)
        )
    response = client.post("/api/chronic/assess", headers=bearer(session, world.consortium_admin))
    assert response.status_code == 200, response.text
    assert response.json() == {"registered": 1, "hypertension": 1, "diabetes": 0}
    registered = session.execute(select(ChronicRegister.resident_id, ChronicRegister.assessed_on)).all()
    assert registered == [(world.resident_a.id, date(2026, 11, 24))]
    # The neighbouring county's commission runs its own batch: its resident only, ours untouched.
    response = client.post("/api/chronic/assess", headers=bearer(session, far.commission))
    assert response.json() == {"registered": 1, "hypertension": 1, "diabetes": 0}
    assert session.scalar(select(func.count()).select_from(RiskAssessment)) == 2
    assert (
        client.post("/api/chronic/assess", headers=bearer(session, world.family_doctor_a)).status_code == 403
    )
