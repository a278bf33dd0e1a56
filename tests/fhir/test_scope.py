"""Registry resources (Organization, Practitioner, Schedule) of another county read as unknown ids:
the same status and outcome as an id that does not exist (decision 0022)."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from tests.factories.fhir import token
from tests.factories.registry import create_staff
from tests.factories.world import build_far_county, build_world

MISSING = 987654


def test_another_countys_registry_resources_read_as_unknown(client: TestClient, session: Session) -> None:
    world = build_world(session)
    far = build_far_county(session)
    far_doctor = create_staff(session, institution=far.hospital)
    for user in (world.commission, world.consortium_admin, world.doctor):
        headers = token(session, user)
        for resource_type, far_id, own_id in (
            ("Organization", far.hospital.id, world.hospital.id),
            ("Practitioner", far_doctor.id, create_staff(session, institution=world.hospital).id),
        ):
            hidden = client.get(f"/fhir/{resource_type}/{far_id}", headers=headers)
            missing = client.get(f"/fhir/{resource_type}/{MISSING}", headers=headers)
            assert hidden.status_code == missing.status_code == 404, (user.role, resource_type)
            assert hidden.text.replace(str(far_id), "…") == missing.text.replace(str(MISSING), "…")
            assert client.get(f"/fhir/{resource_type}/{own_id}", headers=headers).status_code == 200
