"""A settlement of a consortium outside the caller's division is "not found" in the same words as an
unknown id; a consortium of the same county that is not the caller's is 403 (decision 0022)."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session
from tests.factories.auth import bearer, headers_for
from tests.factories.insurance import SETTLEMENT_TERMS
from tests.factories.registry import create_consortium, create_institution
from tests.factories.world import build_far_county, build_world

from yilian.auth import rules as roles

MISSING = 987654
def test_settlement_of_another_countys_consortium_is_not_found(client: TestClient, session: Session) -> None:
    world = build_world(session)
    far = build_far_county(session)

    def settle(consortium_id: int, headers: dict[str, str]) -> tuple[int, object]:
        response = client.post(
            f"/api/insurance/consortia/{consortium_id}/settlement", json=SETTLEMENT_TERMS, headers=headers
        )
        return response.status_code, response.json()

    for user in (world.insurance, world.commission, world.consortium_admin):
        headers = bearer(session, user)
        hidden, missing = settle(far.consortium.id, headers), settle(MISSING, headers)
        assert hidden[0] == 404 and hidden == missing
    # The county's other medical group is in the registry the consortium admin reads: not theirs, 403.
    other = create_consortium(session, lead=create_institution(session, name="灵武市中医医院", level="二级"))
    assert settle(other.id, bearer(session, world.consortium_admin))[0] == 403
    assert settle(other.id, bearer(session, world.insurance))[0] == 200
    far_officer = headers_for(session, role=roles.INSURANCE, region_code="640121")
    assert settle(far.consortium.id, far_officer)[0] == 200
