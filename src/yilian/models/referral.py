"""Two-way referrals with their history, and the follow-up tasks downward referrals create."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from yilian.kit.db import Base, Versioned


class Referral(Versioned, Base):
    __tablename__ = "referral"
    __table_args__ = (
        Index("ix_referral_to_status", "to_institution_id", "status"),
        Index("ix_referral_from_status", "from_institution_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    resident_id: Mapped[int] = mapped_column(ForeignKey("resident.id"), index=True)
    direction: Mapped[str] = mapped_column(String(4))  # up | down
    from_institution_id: Mapped[int] = mapped_column(ForeignKey("institution.id"))
    to_institution_id: Mapped[int] = mapped_column(ForeignKey("institution.id"))
    to_department_id: Mapped[int | None] = mapped_column(ForeignKey("department.id"))
    status: Mapped[str] = mapped_column(String(12))
    inside_consortium: Mapped[bool]
    reason: Mapped[str | None] = mapped_column(Text)
    diagnoses: Mapped[str] = mapped_column(String(200))  # ICD-10 codes, comma-separated
    summary: Mapped[str] = mapped_column(Text)
    attachments_json: Mapped[str] = mapped_column(Text, default="[]")
    requested_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    requested_at: Mapped[datetime]
    decided_at: Mapped[datetime | None]
    arrived_at: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]
    urgency: Mapped[str | None] = mapped_column(String(8))  # routine | urgent (None before issue 22)


class ReferralEvent(Base):
    __tablename__ = "referral_event"

    id: Mapped[int] = mapped_column(primary_key=True)
    referral_id: Mapped[int] = mapped_column(ForeignKey("referral.id", ondelete="CASCADE"), index=True)
    at: Mapped[datetime]
    from_status: Mapped[str | None] = mapped_column(String(12))
    to_status: Mapped[str] = mapped_column(String(12))
    user_id: Mapped[int | None]
    note: Mapped[str | None] = mapped_column(Text)


class FollowUpTask(Base):
    """Work for the receiving family doctor after a downward referral (康复随访)."""

    __tablename__ = "follow_up_task"
    __table_args__ = (Index("ix_follow_up_task_institution_due", "institution_id", "due_on"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    resident_id: Mapped[int] = mapped_column(ForeignKey("resident.id"), index=True)
    institution_id: Mapped[int] = mapped_column(ForeignKey("institution.id"))
    referral_id: Mapped[int | None] = mapped_column(ForeignKey("referral.id"))
    due_on: Mapped[date]
    content: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(8), default="open")  # open | done
