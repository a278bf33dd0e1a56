"""Queries for accounts, sessions and tokens."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from yilian.models import ApiToken, User, UserGrid, WebSession


def user_by_username(session: Session, username: str) -> User | None:
    return session.scalar(select(User).where(User.username == username))


def user_by_id(session: Session, user_id: int) -> User | None:
    return session.get(User, user_id)


def grid_ids_of(session: Session, user_id: int) -> tuple[int, ...]:
    return tuple(session.scalars(select(UserGrid.grid_id).where(UserGrid.user_id == user_id)))


def web_session_by_token_hash(session: Session, token_hash: str) -> WebSession | None:
    return session.scalar(select(WebSession).where(WebSession.token_hash == token_hash))


def api_token_by_hash(session: Session, token_hash: str) -> ApiToken | None:
    return session.scalar(select(ApiToken).where(ApiToken.token_hash == token_hash))
