"""The insurance officer's screens over the API: settlements saved with the what-if's checks, listed
and exported; DRG groups with weights, the year's cases with their outlier class and grouping trace,
CMI and points per institution — each limited to what the caller runs, case reads audited."""

from __future__ import annotations

import io

from fastapi.testclient import TestClient
from openpyxl import load_workbook
from sqlalchemy import select
from sqlalchemy.orm import Session
from tests.factories.audit import drain_audit
from tests.factories.auth import bearer
from tests.factories.insurance import SETTLEMENT_TERMS, appendicitis_year
from tests.factories.world import build_far_county, build_world

from yilian.kit.audit import AuditWriter
from yilian.models import AuditLog, Settlement


def test_a_settlement_is_saved_with_the_what_ifs_checks_listed_and_exported(
    client: TestClient, session: Session
) -> None:
    world = build_world(session)
    headers = bearer(session, world.insurance)
    url = f"/api/insurance/consortia/{world.consortium.id}/settlements"

    bad = client.post(url, json={**SETTLEMENT_TERMS, "retained_share": "150%", "budget_yuan": "0"}, headers=headers)
    assert bad.status_code == 422
    assert {e["field"] for e in bad.json()["error"]["fields"]} == {"retained_share", "budget_yuan"}
    assert client.post(url, json=SETTLEMENT_TERMS, headers=bearer(session, world.doctor)).status_code == 403
    far = build_far_county(session)
    hidden = client.post(
        f"/api/insurance/consortia/{far.consortium.id}/settlements", json=SETTLEMENT_TERMS, headers=headers
    )
    assert hidden.status_code == 404
    assert session.scalars(select(Settlement)).all() == []

    saved = client.post(url, json=SETTLEMENT_TERMS, headers=headers)
    assert saved.status_code == 201, saved.text
    row = saved.json()
    assert (row["consortium_name"], row["year"], row["budget_fen"], row["outcome"]) == (
        world.consortium.name,
        2025,
        100_000,
        "结余",
    )
    client.post(url, json={**SETTLEMENT_TERMS, "year": 2024}, headers=headers)

    page = client.get("/api/insurance/settlements", params={"limit": 1}, headers=headers).json()
    assert (page["total"], len(page["items"])) == (2, 1)
    only_2025 = client.get("/api/insurance/settlements", params={"year": 2025}, headers=headers).json()
    assert [r["id"] for r in only_2025["items"]] == [row["id"]]
    # Another county's officer sees none of them.
    assert (
        client.get("/api/insurance/settlements", headers=bearer(session, far.commission)).json()["total"] == 0
    )

    one = client.get(f"/api/insurance/settlements/{row['id']}", headers=headers).json()
    assert one["terms"] == SETTLEMENT_TERMS and one["result"]["lines"][0]["fen"] == 100_000

    export = client.get("/api/insurance/settlements/export", headers=headers)
    assert export.status_code == 200
    sheet = load_workbook(io.BytesIO(export.content)).active
    values = [[c.value for c in r] for r in sheet.iter_rows()]  # type: ignore[union-attr]
    assert values[0][:2] == ["医共体", "年度"] and len(values) == 3
    assert {v[1] for v in values[1:]} == {2025, 2024} and values[1][0] == world.consortium.name


def test_drg_cases_their_trace_outliers_and_cmi_per_institution(
    client: TestClient, session: Session, drg_scheme: object, audit: AuditWriter
) -> None:
    world = build_world(session)
    stays = appendicitis_year(session, world, drg_scheme)
    headers = bearer(session, world.insurance)
    query = {"year": 2025, "standard_year": 2025}

    page = client.get("/api/drg/cases", params={**query, "limit": 5}, headers=headers)
    assert page.status_code == 200, page.text
    body = page.json()
    assert (body["total"], len(body["items"])) == (20, 5)
    first = body["items"][0]
    assert first["institution_name"] == world.hospital.name and first["status"] == "分组成功"
    assert first["drg"] and first["drg_name"] and first["mdc_name"]
    high = client.get("/api/drg/cases", params={**query, "outlier": "high"}, headers=headers).json()
    low = client.get("/api/drg/cases", params={**query, "outlier": "low"}, headers=headers).json()
    assert [r["total_yuan"] for r in high["items"]] == [50_000.0]
    assert [r["total_yuan"] for r in low["items"]] == [1_000.0]
    other = client.get(
        "/api/drg/cases", params={**query, "institution_id": world.township_a.id}, headers=headers
    )
    assert other.json()["total"] == 0

    trace = client.get(f"/api/drg/cases/{stays[0].id}/trace", params=query, headers=headers).json()
    assert trace["drg"] == first["drg"] == trace["stored_drg"]
    assert any(line.startswith("符合MDC") for line in trace["trace"])
    assert any(line.startswith(f"符合{trace['adrg']}入组条件") for line in trace["trace"])
    assert trace["diagnoses"][0]["code"] == "K35.800x001" and trace["outlier"] == "normal"
    # Each case shown is a read of the resident's record: the two residents of the page, the one traced.
    assert drain_audit(audit, session) >= 3
    assert session.scalars(select(AuditLog.action).where(AuditLog.entity == "drg_case")).all()

    export = client.get("/api/drg/cases/export", params={**query, "outlier": "high"}, headers=headers)
    rows = list(load_workbook(io.BytesIO(export.content)).active.iter_rows(values_only=True))  # type: ignore[union-attr]
    assert len(rows) == 2 and rows[1][-1] == "高倍率"

    cmi = client.get(
        "/api/drg/institutions", params={**query, "budget_yuan": "100000"}, headers=headers
    ).json()
    assert [r["institution_name"] for r in cmi["items"]] == [world.hospital.name]
    hospital = cmi["items"][0]
    assert (hospital["cases"], hospital["high_cases"], hospital["low_cases"]) == (20, 1, 1)
    assert hospital["cmi"] == 1.0 and hospital["payment_yuan"] == 100_000.0
    assert cmi["point_value_yuan"] and cmi["budget_source"] == "given"
    actual = client.get("/api/drg/institutions", params=query, headers=headers).json()
    assert actual["budget_source"] == "inpatient_fund"
    bad = client.get("/api/drg/institutions", params={**query, "budget_yuan": "-1"}, headers=headers)
    assert bad.status_code == 422

    groups = client.get("/api/drg/groups", params={"q": first["drg"]}, headers=headers).json()
    assert groups["standard_year"] == 2025 and groups["items"][0]["weight"] == 1.0
    everything = client.get("/api/drg/groups", params={"limit": 100}, headers=headers).json()
    assert everything["total"] > 600 and len(everything["items"]) == 100


def test_drg_lists_are_for_those_who_settle_and_a_case_elsewhere_is_not_found(
    client: TestClient, session: Session, drg_scheme: object
) -> None:
    world = build_world(session)
    stays = appendicitis_year(session, world, drg_scheme)
    doctor = bearer(session, world.doctor)
    assert client.get("/api/drg/cases", headers=doctor).status_code == 403
    assert client.get("/api/drg/groups", headers=doctor).status_code == 403
    far = build_far_county(session)
    officer = bearer(session, far.commission)
    assert client.get("/api/drg/cases", params={"year": 2025}, headers=officer).json()["total"] == 0
    assert client.get(f"/api/drg/cases/{stays[0].id}/trace", headers=officer).status_code == 404
