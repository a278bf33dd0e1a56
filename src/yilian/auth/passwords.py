"""Argon2id password hashing with the cost the settings give (argon2-cffi's defaults, RFC 9106's
low-memory profile, unless configured otherwise)."""

from __future__ import annotations

import secrets
from functools import lru_cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from yilian.config import Settings

# Verifying reads the parameters from the hash itself, so one verifier serves every cost.
_verifier = PasswordHasher()


@lru_cache
def _hasher(time_cost: int, memory_kib: int, parallelism: int) -> PasswordHasher:
    return PasswordHasher(time_cost=time_cost, memory_cost=memory_kib, parallelism=parallelism)


def password_hasher(settings: Settings) -> PasswordHasher:
    """The hasher new passwords get: the settings' argon2id cost."""
    return _hasher(settings.password_time_cost, settings.password_memory_kib, settings.password_parallelism)


def hash_password(password: str, *, settings: Settings) -> str:
    return password_hasher(settings).hash(password)


@lru_cache
def _dummy_hash(hasher: PasswordHasher) -> str:
    return hasher.hash(secrets.token_urlsafe(16))


def dummy_hash(settings: Settings) -> str:
    """What a name that has no account is checked against: a real hash with the cost accounts get,
    made once per cost, so that a wrong name costs the one verify a wrong password does (a hash plus
    a verify per attempt cost twice as much, and told which names exist)."""
    return _dummy_hash(password_hasher(settings))


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return _verifier.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False
