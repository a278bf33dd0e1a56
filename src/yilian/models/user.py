"""Accounts, the grids a family doctor serves, web sessions and API tokens."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from yilian.kit.db import Base


class User(Base):
    __tablename__ = "app_user"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(64))
    password_hash: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(16))
    # The scope a role reads within: a division (commission), a consortium, an institution.
    region_code: Mapped[str | None] = mapped_column(ForeignKey("admin_division.code"))
    consortium_id: Mapped[int | None] = mapped_column(ForeignKey("consortium.id"))
    institution_id: Mapped[int | None] = mapped_column(ForeignKey("institution.id"))
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    resident_id: Mapped[int | None] = mapped_column(ForeignKey("resident.id"))
    is_active: Mapped[bool] = mapped_column(default=True)
    failed_logins: Mapped[int] = mapped_column(default=0)
    locked_until: Mapped[datetime | None]
    must_change_password: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime]


class LoginFailure(Base):
    """A failed login, kept for the lockout window: counted per address (the address's throttle)
    and per name and address (that name locked from that address only, so that a known name cannot
    be locked out for everyone by a stranger). The name as typed: an unknown one counts the same."""

    __tablename__ = "login_failure"
    __table_args__ = (
        Index("ix_login_failure_address_at", "client_ip", "at"),
        Index("ix_login_failure_name_address", "username", "client_ip"),
        Index("ix_login_failure_at", "at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64))
    client_ip: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime]


class UserGrid(Base):
    __tablename__ = "user_grid"

    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id", ondelete="CASCADE"), primary_key=True)
    grid_id: Mapped[int] = mapped_column(ForeignKey("grid.id"), primary_key=True)


class WebSession(Base):
    """Server-side session: the cookie holds a random token, the table its SHA-256."""

    __tablename__ = "web_session"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id", ondelete="CASCADE"), index=True)
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime]
    last_seen_at: Mapped[datetime]
    ended_at: Mapped[datetime | None]


class ApiToken(Base):
    __tablename__ = "api_token"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]
    # SMART-style scopes for what the client may do through /fhir, e.g. "user/*.read user/Patient.write".
    scopes: Mapped[str] = mapped_column(String(400), default="user/*.*", server_default="user/*.*")
