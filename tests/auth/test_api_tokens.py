"""A bearer token's account is read on every request: a deactivated account, a revoked or an expired
token is refused at once (decision 0011 had a 10-second per-process cache, removed)."""

from __future__ import annotations

from datetime import datetime

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from tests.factories.auth import create_user
from tests.factories.world import build_world
from yilian.auth import rules as roles
from yilian.auth.service import do_create_api_token
from yilian.kit.clock import FixedClock
from yilian.models import ApiToken


def refused(response: object) -> bool:
    return bool(
        response.status_code == 401  # type: ignore[attr-defined]
        and response.json()["error"]["message_en"] == "API token is invalid or expired"  # type: ignore[attr-defined]
    )


def test_a_deactivated_account_and_a_revoked_token_are_refused_at_once(
    client: TestClient, session: Session, clock: FixedClock
) -> None:
    world = build_world(session)
    doctor = create_user(session, role=roles.DOCTOR, institution_id=world.hospital.id)
    colleague = create_user(session, role=roles.DOCTOR, institution_id=world.hospital.id)
    headers, other = (
        {
            "Authorization": f"Bearer {do_create_api_token(session, user=u, name='t', now=datetime(2026, 11, 1))}"
        }
        for u in (doctor, colleague)
    )
    assert client.get("/api/institutions", headers=headers).status_code == 200
    assert client.get("/api/institutions", headers=other).status_code == 200
    doctor.is_active = False
    session.scalars(select(ApiToken).where(ApiToken.user_id == colleague.id)).one().revoked_at = clock.now()
    session.flush()
    assert refused(client.get("/api/institutions", headers=headers))
    assert refused(client.get("/api/institutions", headers=other))


def test_an_expired_token_is_refused_at_once(client: TestClient, session: Session, clock: FixedClock) -> None:
    world = build_world(session)
    doctor = create_user(session, role=roles.DOCTOR, institution_id=world.hospital.id)
    # The test clock reads 2026-11-24 09:30; this token ends at 09:31.
    token = do_create_api_token(session, user=doctor, name="t", now=datetime(2026, 11, 1))
    stored = session.scalars(select(ApiToken).where(ApiToken.user_id == doctor.id)).one()
    stored.expires_at = datetime(2026, 11, 24, 9, 31)
    session.flush()
    headers = {"Authorization": f"Bearer {token}"}
    assert client.get("/api/institutions", headers=headers).status_code == 200
    clock.advance(minutes=2)
    assert refused(client.get("/api/institutions", headers=headers))
