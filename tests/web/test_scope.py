"""Another county's institution or consortium reads as an unknown id (404, decision 0022), and stays
out of the registry's lists."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from tests.factories.auth import PASSWORD, login
from tests.factories.world import build_far_county, build_world

MISSING = 987654


def test_another_countys_registry_is_not_found_nor_listed(client: TestClient, session: Session) -> None:
    world = build_world(session)
    far = build_far_county(session)
    assert login(client, world.commission.username, PASSWORD) == 200
    for path, far_id in (("institutions", far.hospital.id), ("consortia", far.consortium.id)):
        hidden = client.get(f"/api/{path}/{far_id}")
        missing = client.get(f"/api/{path}/{MISSING}")
        assert hidden.status_code == missing.status_code == 404, path
        assert far.hospital.name not in hidden.text
    for path in ("/api/institutions?limit=500", "/api/consortia", "/api/staff?limit=500"):
        listed = client.get(path)
        assert listed.status_code == 200 and far.hospital.name not in listed.text, path
