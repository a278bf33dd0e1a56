"""Amounts in yuan from outside (a claims file, settlement terms) are read by kit.money: an amount that
is not one is a 422 naming the field, never a 500."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session
from tests.factories.auth import bearer
from tests.factories.insurance import CLAIMS_HEADER as HEADER
from tests.factories.insurance import SETTLEMENT_TERMS as TERMS
from tests.factories.world import build_world


def test_a_claim_of_infinite_yuan_is_a_422_naming_row_and_field(client: TestClient, session: Session) -> None:
    # int(Decimal("Infinity") * 100) raised OverflowError: a 500.
    world = build_world(session)
    a = world.resident_a.id_number
    csv = HEADER + f"C1,{a},{world.township_a.code},,门诊,2025-03-01,Infinity,1e30,否,\n"
    response = client.post(
        "/api/insurance/claims",
        files={"file": ("claims.csv", csv.encode())},
        headers=bearer(session, world.insurance),
    )
    assert response.status_code == 422, response.text
    fields = {(e["row"], e["field"]) for e in response.json()["error"]["fields"]}
    assert fields == {(2, "total_yuan"), (2, "fund_yuan")}


def test_settlement_terms_of_infinite_yuan_or_share_are_a_422(client: TestClient, session: Session) -> None:
    # Fraction(Decimal("Infinity")) raised OverflowError: a 500.
    world = build_world(session)
    response = client.post(
        f"/api/insurance/consortia/{world.consortium.id}/settlement",
        json={**TERMS, "budget_yuan": "Infinity", "retained_share": "Infinity%"},
        headers=bearer(session, world.insurance),
    )
    assert response.status_code == 422, response.text
    assert {e["field"] for e in response.json()["error"]["fields"]} == {"budget_yuan", "retained_share"}
