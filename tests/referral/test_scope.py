"""Referral figures of one institution: outside the caller's county it is "not found" in the same
words as an unknown id; inside the county but not the caller's, 403 (decision 0022)."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from tests.factories.auth import bearer, headers_for
from tests.factories.world import build_far_county, build_world
from yilian.auth import rules as roles

MISSING = 987654
SPAN = {"start": "2026-11-01", "end": "2026-11-30"}


def test_one_institutions_figures_answer_404_outside_the_county_and_403_outside_the_charge(
    client: TestClient, session: Session
) -> None:
    world = build_world(session)
    far = build_far_county(session)
    commission = bearer(session, world.commission)

    def figures(institution_id: int, headers: dict[str, str]) -> tuple[int, object]:
        response = client.get(
            "/api/referrals/figures", params={**SPAN, "institution_id": institution_id}, headers=headers
        )
        return response.status_code, response.json()

    hidden, missing = figures(far.hospital.id, commission), figures(MISSING, commission)
    assert hidden[0] == 404 and hidden == missing
    assert figures(world.hospital.id, commission)[0] == 200
    township_admin = headers_for(session, role=roles.INSTITUTION_ADMIN, institution_id=world.township_a.id)
    assert figures(world.hospital.id, township_admin)[0] == 403
    assert figures(world.township_a.id, township_admin)[0] == 200
