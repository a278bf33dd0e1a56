"""The residents' portal: one-time login codes, guardianship of family members, and the
electronic health card's issues (a new version revokes the old QR code)."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from yilian.kit.db import Base


class OtpChallenge(Base):
    """A code sent to a phone: kept as a hash, short-lived, a few attempts."""

    __tablename__ = "otp_challenge"
    __table_args__ = (Index("ix_otp_challenge_phone_created", "phone", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    phone: Mapped[str] = mapped_column(String(20))
    code_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    attempts: Mapped[int] = mapped_column(default=0)
    consumed_at: Mapped[datetime | None]


class Guardianship(Base):
    """A resident who manages another's record and bookings (a child, an elderly parent)."""

    __tablename__ = "guardianship"
    __table_args__ = (UniqueConstraint("guardian_resident_id", "ward_resident_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    guardian_resident_id: Mapped[int] = mapped_column(ForeignKey("resident.id"), index=True)
    ward_resident_id: Mapped[int] = mapped_column(ForeignKey("resident.id"), index=True)
    relation: Mapped[str] = mapped_column(String(8))
    since: Mapped[date]
    until: Mapped[date | None]
    registered_by: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    registered_at: Mapped[datetime]


class HealthCardIssue(Base):
    """One version of a resident's card; the QR code names the version, so reissuing revokes the old."""

    __tablename__ = "health_card_issue"
    __table_args__ = (UniqueConstraint("resident_id", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    resident_id: Mapped[int] = mapped_column(ForeignKey("resident.id"), index=True)
    version: Mapped[int]
    issued_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]
    revoked_reason: Mapped[str | None] = mapped_column(String(100))
