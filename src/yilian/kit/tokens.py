"""Random tokens and their stored digests (the database never holds a usable token)."""

from __future__ import annotations

import hashlib
import hmac
import secrets


def new_token(nbytes: int = 32) -> str:
    return secrets.token_urlsafe(nbytes)


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def same_token(known: str, supplied: str) -> bool:
    """Whether a supplied token (a CSRF field, a cookie, a signature) equals the known one, in
    constant time. Compared as bytes: `hmac.compare_digest` raises TypeError on a str with a
    non-ASCII character, which anyone can put in a form field or cookie (a 500, not a refusal)."""
    return hmac.compare_digest(
        known.encode("utf-8", "surrogatepass"), supplied.encode("utf-8", "surrogatepass")
    )
