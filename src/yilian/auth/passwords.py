"""Argon2id password hashing (argon2-cffi defaults: RFC 9106 low-memory profile)."""

from __future__ import annotations

import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

_hasher = PasswordHasher()
# What a name that has no account is checked against: a real hash with the same parameters, made
# once at start, so that a wrong name costs the one verify a wrong password does (a hash plus a
# verify per attempt cost twice as much, and told which names exist).
DUMMY_HASH = _hasher.hash(secrets.token_urlsafe(16))


def hash_password(password: str, hasher: PasswordHasher | None = None) -> str:
    """An argon2id hash with production parameters, unless the caller brings its own hasher (the
    tests' factories do, with cheap parameters: verification reads the parameters from the hash)."""
    return (hasher or _hasher).hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False
