from __future__ import annotations

import itertools
from datetime import datetime

from sqlalchemy.orm import Session

from yilian.auth.service import do_create_api_token, do_create_user
from yilian.models import User

PASSWORD = "Test-Pass-2026!"
_seq = itertools.count(1)


def create_user(session: Session, *, role: str, username: str | None = None, **scope: object) -> User:
    return do_create_user(
        session,
        username=username or f"user{next(_seq)}",
        password=PASSWORD,
        role=role,
        now=datetime(2026, 1, 1),
        **scope,
    )  # type: ignore[arg-type]


def bearer(session: Session, user: User) -> dict[str, str]:
    token = do_create_api_token(session, user=user, name="test", now=datetime(2026, 11, 1))
    return {"Authorization": f"Bearer {token}"}
