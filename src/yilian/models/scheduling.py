"""Schedules, slots with their pool, bookings with history, and each institution's yearly quota policy."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import ForeignKey, Index, String, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from yilian.kit.db import Base, Versioned


class BookingPolicy(Base):
    __tablename__ = "booking_policy"
    __table_args__ = (UniqueConstraint("institution_id", "year"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    institution_id: Mapped[int] = mapped_column(ForeignKey("institution.id"))
    year: Mapped[int]
    reserved_permille: Mapped[int]
    release_hours: Mapped[int]
    extra_cap: Mapped[int]


class Schedule(Versioned, Base):
    """A bookable resource: a doctor's clinic, an exam device (CT, MRI, ultrasound …) or inpatient beds."""

    __tablename__ = "schedule"

    id: Mapped[int] = mapped_column(primary_key=True)
    institution_id: Mapped[int] = mapped_column(ForeignKey("institution.id"), index=True)
    department_id: Mapped[int | None] = mapped_column(ForeignKey("department.id"))
    kind: Mapped[str] = mapped_column(String(8))  # clinic | exam | bed
    name: Mapped[str] = mapped_column(String(64))
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    equipment: Mapped[str | None] = mapped_column(String(16))
    is_active: Mapped[bool] = mapped_column(default=True)


class Slot(Versioned, Base):
    __tablename__ = "slot"
    __table_args__ = (
        Index("ix_slot_schedule_starts", "schedule_id", "starts_at"),
        Index("ix_slot_institution_starts", "institution_id", "starts_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    schedule_id: Mapped[int] = mapped_column(ForeignKey("schedule.id"))
    institution_id: Mapped[int] = mapped_column(ForeignKey("institution.id"))
    starts_at: Mapped[datetime]
    ends_at: Mapped[datetime]
    pool: Mapped[str] = mapped_column(String(8))  # public | reserved | extra (as published)
    capacity: Mapped[int] = mapped_column(default=1)
    booked: Mapped[int] = mapped_column(default=0)
    published: Mapped[bool] = mapped_column(default=True)
    released_at: Mapped[datetime | None]  # when a free reserved slot went back to the public pool


class Booking(Versioned, Base):
    __tablename__ = "booking"
    __table_args__ = (
        # One live booking per resident, department (or resource) and half-day session.
        Index(
            "uq_booking_resident_session",
            "resident_id",
            "resource_key",
            "session_date",
            "session_half",
            unique=True,
            sqlite_where=text("status IN ('booked', 'checked_in')"),
            postgresql_where=text("status IN ('booked', 'checked_in')"),
        ),
        Index("ix_booking_slot_status", "slot_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    slot_id: Mapped[int] = mapped_column(ForeignKey("slot.id"))
    resident_id: Mapped[int] = mapped_column(ForeignKey("resident.id"), index=True)
    booked_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    channel: Mapped[str] = mapped_column(String(12))  # grassroots | public
    pool: Mapped[str] = mapped_column(String(8))  # the pool the booking used (after any release)
    status: Mapped[str] = mapped_column(String(12))  # booked | cancelled | checked_in | no_show
    resource_key: Mapped[str] = mapped_column(
        String(24)
    )  # department id, or the schedule for devices and beds
    session_date: Mapped[date]
    session_half: Mapped[str] = mapped_column(String(2))  # am | pm
    idempotency_key: Mapped[str | None] = mapped_column(String(64), unique=True)
    referral_id: Mapped[int | None] = mapped_column(ForeignKey("referral.id"))
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class BookingEvent(Base):
    __tablename__ = "booking_event"

    id: Mapped[int] = mapped_column(primary_key=True)
    booking_id: Mapped[int] = mapped_column(ForeignKey("booking.id", ondelete="CASCADE"), index=True)
    at: Mapped[datetime]
    status: Mapped[str] = mapped_column(String(12))
    user_id: Mapped[int | None]
