"""Queries for accounts, sessions and tokens."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from yilian.models import ApiToken, LoginFailure, User, UserGrid, WebSession


def user_by_username(session: Session, username: str) -> User | None:
    return session.scalar(select(User).where(User.username == username))


def user_by_id(session: Session, user_id: int) -> User | None:
    return session.get(User, user_id)


def grid_ids_of(session: Session, user_id: int) -> tuple[int, ...]:
    return tuple(session.scalars(select(UserGrid.grid_id).where(UserGrid.user_id == user_id)))


def web_session_by_token_hash(session: Session, token_hash: str) -> WebSession | None:
    return session.scalar(select(WebSession).where(WebSession.token_hash == token_hash))


def api_token_and_user(session: Session, token_hash: str) -> tuple[ApiToken, User] | None:
    """A bearer token and its account in one query (every API request asks)."""
    row = session.execute(
        select(ApiToken, User)
        .join(User, User.id == ApiToken.user_id)
        .where(ApiToken.token_hash == token_hash)
    ).first()
    return None if row is None else (row[0], row[1])


def login_failures(
    session: Session, *, client_ip: str, username: str, since: datetime, limit: int
) -> list[tuple[datetime, bool]]:
    """An address's latest failed logins since `since`, newest first: (when, for this name?)."""
    rows = session.execute(
        select(LoginFailure.at, LoginFailure.username == username)
        .where(LoginFailure.client_ip == client_ip, LoginFailure.at > since)
        .order_by(LoginFailure.at.desc())
        .limit(limit)
    )
    return [(at, bool(same)) for at, same in rows]


def add_login_failure(
    session: Session, *, client_ip: str, username: str, at: datetime, forget_before: datetime
) -> None:
    """Keep a failure; failures that have left every window are deleted on the way."""
    session.execute(delete(LoginFailure).where(LoginFailure.at <= forget_before))
    session.add(LoginFailure(client_ip=client_ip, username=username, at=at))
    session.flush()


def clear_login_failures(session: Session, *, client_ip: str, username: str) -> None:
    """A success from an address ends that name's run of failures from it."""
    session.execute(
        delete(LoginFailure).where(LoginFailure.username == username, LoginFailure.client_ip == client_ip)
    )
