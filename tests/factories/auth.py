from __future__ import annotations

import itertools
from datetime import datetime

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from yilian.auth.context import Actor
from yilian.auth.service import do_create_api_token, do_create_user, subject_of
from yilian.config import Settings
from yilian.kit.audit import DEMO_CHAIN_KEY, AuditWriter
from yilian.kit.clock import FixedClock
from yilian.models import User

PASSWORD = "Test-Pass-2026!"
# The tests' settings hash passwords with argon2id's cheapest cost (a login verifies with the
# parameters stored in the hash): well under a millisecond instead of ~0.1 s, over ~850 accounts a
# pass. The `settings` fixture, the synthetic counties the tests build and these factories take
# them; tests/auth/test_passwords.py checks that production's settings keep the production cost.
CHEAP_PASSWORDS: dict[str, int] = {
    "password_time_cost": 1,
    "password_memory_kib": 8,
    "password_parallelism": 1,
}
CHEAP_SETTINGS = Settings(**CHEAP_PASSWORDS)  # type: ignore[arg-type]
_seq = itertools.count(1)


def create_user(session: Session, *, role: str, username: str | None = None, **scope: object) -> User:
    return do_create_user(
        session,
        username=username or f"user{next(_seq)}",
        password=PASSWORD,
        role=role,
        now=datetime(2026, 1, 1),
        settings=CHEAP_SETTINGS,
        **scope,
    )  # type: ignore[arg-type]


def bearer(session: Session, user: User) -> dict[str, str]:
    token = do_create_api_token(session, user=user, name="test", now=datetime(2026, 11, 1))
    return {"Authorization": f"Bearer {token}"}


def headers_for(session: Session, *, role: str, **scope: object) -> dict[str, str]:
    """A new account of `role` with `scope` (institution_id=…, region_code=…), signed in by token."""
    return bearer(session, create_user(session, role=role, **scope))


def actor_for(session: Session, user: User, *, now: datetime = datetime(2026, 11, 24, 9, 30)) -> Actor:
    """`user` acting on a service directly (no request): their subject, no audit thread, a fixed clock."""
    return Actor(
        subject=subject_of(session, user),
        endpoint="test",
        audit=AuditWriter(engine=None, key=DEMO_CHAIN_KEY),
        clock=FixedClock(now),
    )


def login(client: TestClient, username: str, password: str) -> int:
    """Signs the test client in as the staff front end does: JSON to /api/auth/session (200 when
    signed in; the session cookie is then the client's)."""
    response = client.post("/api/auth/session", json={"username": username, "password": password})
    return response.status_code
