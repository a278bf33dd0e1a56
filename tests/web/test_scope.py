"""Pages of another county's institution or consortium read as unknown ids (404, decision 0022)."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from tests.auth.test_web_login import login
from tests.factories.auth import PASSWORD
from tests.factories.world import build_far_county, build_world

MISSING = 987654


def test_another_countys_registry_pages_are_not_found(client: TestClient, session: Session) -> None:
    world = build_world(session)
    far = build_far_county(session)
    assert login(client, world.commission.username, PASSWORD) == 303
    for path, far_id in (("institutions", far.hospital.id), ("consortia", far.consortium.id)):
        hidden = client.get(f"/{path}/{far_id}")
        missing = client.get(f"/{path}/{MISSING}")
        assert hidden.status_code == missing.status_code == 404, path
        assert far.hospital.name not in hidden.text
    home = client.get("/")
    assert home.status_code == 200 and far.hospital.name not in home.text
