"""Accounts made in production are hashed with argon2id's RFC 9106 low-memory parameters. The tests'
factories use cheap parameters (tests/factories/auth.py); this is the one place that checks what a
real account gets, through the same function the API, the CLI, the portal and the demo build call."""

from __future__ import annotations

from datetime import datetime

from argon2 import PasswordHasher, Type, extract_parameters
from sqlalchemy.orm import Session

from tests.factories.world import build_world
from yilian.auth import rules as roles
from yilian.auth.passwords import verify_password
from yilian.auth.service import do_create_user


def test_an_account_made_without_a_test_hasher_has_production_parameters(session: Session) -> None:
    world = build_world(session)
    user = do_create_user(
        session, username="prod-params", password="Prod-Pass-2026!", role=roles.DOCTOR,
        now=datetime(2026, 11, 24), institution_id=world.hospital.id,
    )
    stored = extract_parameters(user.password_hash)
    production = PasswordHasher()
    assert stored.type is Type.ID
    assert (stored.time_cost, stored.memory_cost, stored.parallelism) == (
        production.time_cost, production.memory_cost, production.parallelism,
    )
    assert stored.memory_cost >= 65536 and stored.time_cost >= 3
    assert verify_password(user.password_hash, "Prod-Pass-2026!")
    assert not verify_password(user.password_hash, "Prod-Pass-2027!")
