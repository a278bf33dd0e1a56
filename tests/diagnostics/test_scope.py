"""Shared-centre figures of a consortium outside the caller's division are "not found" in the same
words as an unknown id; a consortium of the county that is none of the caller's is 403 (decision 0022)."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from tests.factories.auth import bearer, create_user
from tests.factories.registry import create_consortium, create_institution
from tests.factories.world import build_far_county, build_world
from yilian.auth import rules as roles

MISSING = 987654


def test_centre_figures_of_another_countys_consortium_are_not_found(
    client: TestClient, session: Session
) -> None:
    world = build_world(session)
    far = build_far_county(session)

    def figures(consortium_id: int, headers: dict[str, str]) -> tuple[int, object]:
        response = client.get(
            "/api/diagnostics/figures",
            params={"consortium_id": consortium_id, "start": "2026-01-01", "end": "2026-12-31"},
            headers=headers,
        )
        return response.status_code, response.json()

    township_admin = create_user(session, role=roles.INSTITUTION_ADMIN, institution_id=world.township_a.id)
    for user in (world.commission, world.consortium_admin, world.doctor, township_admin):
        headers = bearer(session, user)
        hidden, missing = figures(far.consortium.id, headers), figures(MISSING, headers)
        assert hidden[0] == 404 and hidden == missing, user.role
        assert figures(world.consortium.id, headers)[0] == 200, user.role
    # A specialist alliance of the same county that the township is not in: visible, not theirs.
    alliance = create_consortium(
        session, lead=create_institution(session, name="灵武市中医医院", level="二级"), kind="专科联盟"
    )
    assert figures(alliance.id, bearer(session, township_admin))[0] == 403
    assert figures(alliance.id, bearer(session, world.consortium_admin))[0] == 403
