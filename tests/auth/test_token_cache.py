"""A bearer's account is re-read at most every 10 s per process (decision 0011): the window is real,
bounded, and expiry is checked on every request."""

from __future__ import annotations

from datetime import datetime

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from tests.factories.auth import create_user
from tests.factories.world import build_world
from yilian.auth import rules as roles
from yilian.auth import service
from yilian.auth.service import do_create_api_token
from yilian.kit.clock import FixedClock
from yilian.models import ApiToken


def test_a_deactivated_account_is_refused_once_the_cache_window_ends(
    client: TestClient, session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    world = build_world(session)
    doctor = create_user(session, role=roles.DOCTOR, institution_id=world.hospital.id)
    token = do_create_api_token(session, user=doctor, name="t", now=datetime(2026, 11, 1))
    headers = {"Authorization": f"Bearer {token}"}
    now = [1_000.0]
    monkeypatch.setattr(service.time, "monotonic", lambda: now[0])

    assert client.get("/api/institutions", headers=headers).status_code == 200
    doctor.is_active = False
    session.flush()
    now[0] += service.API_TOKEN_CACHE_SECONDS - 1
    assert client.get("/api/institutions", headers=headers).status_code == 200  # inside the window
    now[0] += 2
    refused = client.get("/api/institutions", headers=headers)
    assert (
        refused.status_code == 401
        and refused.json()["error"]["message_en"] == "API token is invalid or expired"
    )


def test_an_expired_token_is_refused_at_once_even_when_remembered(
    client: TestClient, session: Session, clock: FixedClock
) -> None:
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
    assert client.get("/api/institutions", headers=headers).status_code == 401
