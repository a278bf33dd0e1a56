"""How a booking takes its place, and gives it back: one conditional UPDATE, so no slot is ever
booked beyond its capacity, whatever the concurrency (decision 0008)."""

from __future__ import annotations

from contextlib import nullcontext
from datetime import datetime
from functools import cache
from typing import Any

from sqlalchemy import (
    Connection,
    and_,
    bindparam,
    case,
    delete,
    exists,
    func,
    insert,
    literal,
    or_,
    select,
    update,
)
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from yilian.kit.db import Prebuilt
from yilian.models import Booking, BookingEvent, Slot
from yilian.scheduling.rules import EXTRA, PUBLIC, RESERVED


class PlaceTaken(Exception):
    """No place left in a pool this booker may use (someone else took the last one)."""


class AlreadyBooked(Exception):
    """The resident has a live booking in this department and session, or the idempotency key is
    taken (a retry of an earlier request)."""


ABORTED = "YL001"  # the SQLSTATE of yilian_abort() (migration 0014)
PLACE_LOST = "place_taken"

BOOKING_COLUMNS = (
    "slot_id",
    "resident_id",
    "booked_by_user_id",
    "channel",
    "pool",
    "status",
    "resource_key",
    "session_date",
    "session_half",
    "idempotency_key",
    "referral_id",
    "created_at",
    "updated_at",
)


def _usable(via_grassroots: bool) -> Any:
    """The pools a booker may take a place from: public, reserved past its release time, and for a
    grassroots booker also reserved and same-day extra places."""
    usable = or_(
        Slot.pool == PUBLIC, and_(Slot.pool == RESERVED, Slot.starts_at <= bindparam("released_before"))
    )
    # Equalities, not IN (…): a literal list is an expanding parameter, re-rendered into the SQL on
    # every execution (and then not run as a prepared statement, kit.db.Prebuilt).
    return or_(usable, Slot.pool == RESERVED, Slot.pool == EXTRA) if via_grassroots else usable


def _has_place() -> Any:
    return and_(Slot.id == bindparam("slot_id"), Slot.booked < Slot.capacity, Slot.published.is_(True))


@cache
def _booking_write(via_grassroots: bool) -> Prebuilt:
    return Prebuilt(_book_in_one_statement(via_grassroots))


def _book_in_one_statement(via_grassroots: bool) -> Any:
    """PostgreSQL: the booking, its place and its first event in one statement, one round trip.

    The booking is inserted unless it conflicts (ON CONFLICT DO NOTHING: no error, so no savepoint);
    the place is taken only if the booking went in, by the conditional UPDATE, which PostgreSQL
    re-checks on the latest row under its lock; the event only if the place was taken. If the
    booking went in but the place was gone, `yilian_abort` fails the statement and PostgreSQL undoes
    all of it: the statement is atomic by itself, so it needs no transaction around it."""
    new_booking = (
        pg_insert(Booking)
        .values({column: bindparam(f"new_{column}") for column in BOOKING_COLUMNS})
        .on_conflict_do_nothing()
        .returning(Booking.id)
        .cte("new_booking")
    )
    place = (
        update(Slot)
        .where(_has_place(), _usable(via_grassroots), exists(select(new_booking.c.id)))
        .values(booked=Slot.booked + 1)
        .returning(Slot.id)
        .cte("place")
    )
    event = (
        insert(BookingEvent)
        .from_select(
            ["booking_id", "at", "status", "user_id"],
            select(
                new_booking.c.id,
                bindparam("new_created_at"),
                literal("booked"),
                bindparam("new_booked_by_user_id"),
            ).where(exists(select(place.c.id))),
        )
        .cte("event")
    )
    booking_id = select(new_booking.c.id).scalar_subquery()
    return select(
        booking_id.label("booking_id"),
        # A booking that went in without its place must not stand: the statement is undone whole.
        case(
            (and_(booking_id.is_not(None), ~exists(select(place.c.id))), func.yilian_abort(PLACE_LOST))
        ).label("aborted"),
    ).add_cte(event)


_INSERT_BOOKING = sqlite_insert(Booking).on_conflict_do_nothing().returning(Booking.id)
_INSERT_EVENT = insert(BookingEvent)


@cache
def _take_place_statement(via_grassroots: bool) -> Any:
    return update(Slot).where(_has_place(), _usable(via_grassroots)).values(booked=Slot.booked + 1)


def book_place(
    session: Session, values: dict[str, Any], *, via_grassroots: bool, released_before: datetime
) -> int:
    """Insert the booking, take its place and write its first event; the booking's id.

    Raises AlreadyBooked or PlaceTaken, with nothing written. The place is taken by a conditional
    UPDATE (`booked < capacity`), so no slot is ever booked beyond its capacity (decision 0008).
    `released_before`: reserved slots starting before it are past their release time (public now)."""
    connection = session.connection()
    if connection.dialect.name == "postgresql":
        # The booking's values are named new_…: a parameter named like a slot column would be SET.
        parameters = {f"new_{k}": v for k, v in values.items()}
        parameters |= {"slot_id": values["slot_id"], "released_before": released_before}
        statement = _booking_write(via_grassroots)
        # A caller inside a transaction (a referral, a FHIR Bundle, a page) may carry on after a
        # refusal: the failed statement is undone to a savepoint, not the caller's whole transaction.
        with nullcontext() if _statement_by_statement(connection) else session.begin_nested():
            try:  # session.connection(): the savepoint is begun when the connection is asked for
                row = statement.first(session.connection(), parameters)
            except DBAPIError as error:
                if getattr(error.orig, "sqlstate", None) == ABORTED and PLACE_LOST in str(error.orig):
                    raise PlaceTaken() from None
                raise
        if row is None or row.booking_id is None:
            raise AlreadyBooked()
        return int(row.booking_id)
    # SQLite: one writer at a time, statements are calls into the library, not round trips
    booking_id = connection.execute(_INSERT_BOOKING, values).scalar()
    placed = booking_id is not None and bool(
        connection.execute(
            # Only these two: an UPDATE's other parameters named like columns would be SET.
            _take_place_statement(via_grassroots),
            {"slot_id": values["slot_id"], "released_before": released_before},
        ).rowcount  # type: ignore[attr-defined]
    )
    if placed:
        connection.execute(
            _INSERT_EVENT,
            {
                "booking_id": booking_id,
                "at": values["created_at"],
                "status": "booked",
                "user_id": values["booked_by_user_id"],
            },
        )
    if booking_id is None:
        raise AlreadyBooked()
    if not placed:
        connection.execute(delete(Booking).where(Booking.id == booking_id))
        raise PlaceTaken()
    return int(booking_id)


def _statement_by_statement(connection: Connection) -> bool:
    return connection.get_execution_options().get("isolation_level") == "AUTOCOMMIT"


def give_back_place(session: Session, slot_id: int) -> None:
    session.connection().execute(
        update(Slot).where(Slot.id == slot_id, Slot.booked > 0).values(booked=Slot.booked - 1)
    )
