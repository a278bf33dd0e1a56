"""How a booking takes its place, and gives it back: one conditional UPDATE, so no slot is ever
booked beyond its capacity, whatever the concurrency (decision 0008)."""

from __future__ import annotations

from datetime import datetime
from functools import cache
from typing import Any

from sqlalchemy import and_, bindparam, delete, insert, or_, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from yilian.models import Booking, BookingEvent, Slot
from yilian.scheduling.rules import EXTRA, PUBLIC, RESERVED


class PlaceTaken(Exception):
    """No place left in a pool this booker may use (someone else took the last one)."""


class AlreadyBooked(Exception):
    """The resident has a live booking in this department and session, or the idempotency key is
    taken (a retry of an earlier request)."""


def _usable(via_grassroots: bool) -> Any:
    """The pools a booker may take a place from: public, reserved past its release time, and for a
    grassroots booker also reserved and same-day extra places."""
    usable = or_(
        Slot.pool == PUBLIC, and_(Slot.pool == RESERVED, Slot.starts_at <= bindparam("released_before"))
    )
    return or_(usable, Slot.pool.in_((RESERVED, EXTRA))) if via_grassroots else usable


@cache
def _take_place_statement(via_grassroots: bool) -> Any:
    return (
        update(Slot)
        .where(
            Slot.id == bindparam("slot_id"),
            Slot.booked < Slot.capacity,
            Slot.published.is_(True),
            _usable(via_grassroots),
        )
        .values(booked=Slot.booked + 1)
    )


@cache
def _insert_booking(dialect_name: str) -> Any:
    """INSERT … ON CONFLICT DO NOTHING RETURNING id: a duplicate (the partial unique index of a
    department and half-day, or a taken idempotency key) gives no row and no error."""
    dialect_insert = pg_insert if dialect_name == "postgresql" else sqlite_insert
    return dialect_insert(Booking).on_conflict_do_nothing().returning(Booking.id)


_INSERT_EVENT = insert(BookingEvent)


def book_place(
    session: Session, values: dict[str, Any], *, via_grassroots: bool, released_before: datetime
) -> int:
    """Insert the booking, take its place and write its first event, in the caller's transaction;
    the booking's id.

    Raises AlreadyBooked or PlaceTaken, with nothing written. The place is taken by a conditional
    UPDATE (`booked < capacity`), which PostgreSQL re-checks on the latest row under its lock and
    SQLite runs as the one writer, so no slot is ever booked beyond its capacity (decision 0008).
    `released_before`: reserved slots starting before it are past their release time (public now)."""
    connection = session.connection()
    booking_id = connection.execute(_insert_booking(connection.dialect.name), values).scalar()
    if booking_id is None:
        raise AlreadyBooked()
    taken = connection.execute(
        # Only these two: an UPDATE's other parameters named like columns would be SET.
        _take_place_statement(via_grassroots),
        {"slot_id": values["slot_id"], "released_before": released_before},
    )
    if not taken.rowcount:  # type: ignore[attr-defined]
        # A concurrent booker took the last place: the row goes again, so a caller that carries on
        # (a referral, a FHIR Bundle) keeps no orphan booking.
        connection.execute(delete(Booking).where(Booking.id == booking_id))
        raise PlaceTaken()
    connection.execute(
        _INSERT_EVENT,
        {
            "booking_id": booking_id,
            "at": values["created_at"],
            "status": "booked",
            "user_id": values["booked_by_user_id"],
        },
    )
    return int(booking_id)


def give_back_place(session: Session, slot_id: int) -> None:
    session.connection().execute(
        update(Slot).where(Slot.id == slot_id, Slot.booked > 0).values(booked=Slot.booked - 1)
    )
