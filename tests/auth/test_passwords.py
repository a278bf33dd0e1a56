"""Accounts are hashed with the argon2id cost the settings give. Production's settings give RFC 9106's
low-memory profile; the tests' settings give the cheapest cost (tests/factories/auth.py). This is the
one place that checks what a real account gets, through the function the CLI, the portal and the
demo build call."""

from __future__ import annotations

from datetime import datetime

from argon2 import Type, extract_parameters
from argon2.profiles import RFC_9106_LOW_MEMORY
from sqlalchemy.orm import Session

from tests.factories.auth import CHEAP_SETTINGS
from tests.factories.world import build_world
from yilian.auth import rules as roles
from yilian.auth.passwords import dummy_hash, verify_password
from yilian.auth.service import do_create_user
from yilian.config import Settings


def test_production_settings_hash_with_rfc_9106_low_memory_and_the_hash_verifies(session: Session) -> None:
    production = Settings()
    world = build_world(session)
    user = do_create_user(
        session,
        username="prod-params",
        password="Prod-Pass-2026!",
        role=roles.DOCTOR,
        now=datetime(2026, 11, 24),
        institution_id=world.hospital.id,
        settings=production,
    )
    stored = extract_parameters(user.password_hash)
    assert stored.type is Type.ID
    assert (stored.time_cost, stored.memory_cost, stored.parallelism) == (
        RFC_9106_LOW_MEMORY.time_cost,
        RFC_9106_LOW_MEMORY.memory_cost,
        RFC_9106_LOW_MEMORY.parallelism,
    )
    assert stored.memory_cost >= 65536 and stored.time_cost >= 3
    assert verify_password(user.password_hash, "Prod-Pass-2026!")
    assert not verify_password(user.password_hash, "Prod-Pass-2027!")
    # An unknown name is checked against a stand-in of the same cost, so it costs what a real one does.
    assert extract_parameters(dummy_hash(production)) == stored


def test_the_tests_settings_are_cheap_and_their_hashes_verify_too(session: Session) -> None:
    world = build_world(session)
    user = do_create_user(
        session,
        username="cheap-params",
        password="Test-Pass-2026!",
        role=roles.DOCTOR,
        now=datetime(2026, 11, 24),
        institution_id=world.hospital.id,
        settings=CHEAP_SETTINGS,
    )
    stored = extract_parameters(user.password_hash)
    assert (stored.time_cost, stored.memory_cost, stored.parallelism) == (1, 8, 1)
    assert verify_password(user.password_hash, "Test-Pass-2026!")
