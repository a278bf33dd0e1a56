"""Queries of scheduling. A booking takes its place by one conditional UPDATE: no double booking, ever."""

from __future__ import annotations

from datetime import date, datetime
from functools import cache
from typing import Any

from sqlalchemy import and_, bindparam, delete, exists, extract, func, insert, literal, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from yilian.auth import scoping
from yilian.auth.rules import Subject
from yilian.models import (
    Booking,
    BookingEvent,
    BookingPolicy,
    Contract,
    Institution,
    Referral,
    Resident,
    Schedule,
    Slot,
)
from yilian.scheduling.rules import EXTRA, PUBLIC, RESERVED


def policy(session: Session, institution_id: int, year: int) -> BookingPolicy | None:
    return session.scalar(
        select(BookingPolicy)
        .where(BookingPolicy.institution_id == institution_id, BookingPolicy.year <= year)
        .order_by(BookingPolicy.year.desc())
    )


def schedule(session: Session, schedule_id: int) -> Schedule | None:
    return session.get(Schedule, schedule_id)


def slot(session: Session, slot_id: int) -> Slot | None:
    return session.get(Slot, slot_id)


@cache
def _booking_facts_statement(scope_kind: str) -> Any:
    """Everything a booking decides on, in one round trip: the slot with its schedule and institution,
    the institution's policy for the slot's year, whether the booker may see the resident (the same
    scope clause as every other read), the resident's status, age and contract, the booker's own
    institution, and an earlier booking under the same idempotency key. Built once per kind of
    scope; a request only fills in the parameters."""
    year = extract("year", Slot.starts_at)

    def policy(column: Any) -> Any:
        return (
            select(column)
            .where(BookingPolicy.institution_id == Slot.institution_id, BookingPolicy.year <= year)
            .order_by(BookingPolicy.year.desc())
            .limit(1)
            .scalar_subquery()
        )

    resident: Any = bindparam("resident_id")
    today: Any = bindparam("today")
    return (
        select(
            Slot.id,
            Slot.schedule_id,
            Slot.institution_id,
            Slot.starts_at,
            Slot.pool,
            Slot.capacity,
            Slot.booked,
            Slot.published,
            Schedule.department_id,
            Institution.level.label("institution_level"),
            policy(BookingPolicy.reserved_permille).label("reserved_permille"),
            policy(BookingPolicy.release_hours).label("release_hours"),
            policy(BookingPolicy.extra_cap).label("extra_cap"),
            select(Resident.id)
            .where(Resident.id == resident, scoping.scope_clause(scope_kind, scoping.scope_parameter))
            .scalar_subquery()
            .label("visible_resident_id"),
            select(Resident.status).where(Resident.id == resident).scalar_subquery().label("resident_status"),
            select(Resident.birth_date).where(Resident.id == resident).scalar_subquery().label("birth_date"),
            exists()
            .where(
                Contract.resident_id == resident,
                Contract.status == "active",
                Contract.start_on <= today,
                Contract.end_on >= today,
            )
            .label("signed"),
            select(Institution.is_grassroots)
            .where(Institution.id == bindparam("own_institution_id"))
            .scalar_subquery()
            .label("own_grassroots"),
            select(Booking.id)
            .where(Booking.idempotency_key == bindparam("idempotency_key"))
            .scalar_subquery()
            .label("earlier_booking_id"),
        )
        .join(Schedule, Schedule.id == Slot.schedule_id)
        .join(Institution, Institution.id == Slot.institution_id)
        .where(Slot.id == bindparam("slot_id"))
    )


def booking_facts(
    session: Session,
    *,
    subject: Subject,
    slot_id: int,
    resident_id: int,
    idempotency_key: str | None,
    today: date,
) -> Any:
    kind, values = scoping.scope_of(subject)
    return session.execute(
        _booking_facts_statement(kind),
        {
            **values,
            "slot_id": slot_id,
            "resident_id": resident_id,
            "today": today,
            "own_institution_id": subject.institution_id,
            "idempotency_key": idempotency_key,
        },
    ).one_or_none()


class PlaceTaken(Exception):
    """No place left in a pool this booker may use (someone else took the last one)."""


class AlreadyBooked(Exception):
    """The resident has a live booking in this department and session, or the idempotency key is
    taken (a retry of an earlier request)."""


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
    return or_(usable, Slot.pool.in_((RESERVED, EXTRA))) if via_grassroots else usable


def _has_place() -> Any:
    return and_(Slot.id == bindparam("slot_id"), Slot.booked < Slot.capacity, Slot.published.is_(True))


@cache
def _book_in_one_statement(via_grassroots: bool) -> Any:
    """PostgreSQL: the booking, its place and its first event in one statement, one round trip.

    The booking is inserted unless it conflicts (ON CONFLICT DO NOTHING: no error, so no savepoint);
    the place is taken only if the booking went in, by the conditional UPDATE, which PostgreSQL
    re-checks on the latest row under its lock; the event only if the place was taken."""
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
    return select(
        select(new_booking.c.id).scalar_subquery().label("booking_id"),
        exists(select(place.c.id)).label("placed"),
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
        row = connection.execute(_book_in_one_statement(via_grassroots), parameters).one()
        booking_id, placed = row.booking_id, row.placed
    else:  # SQLite: one writer at a time, statements are calls into the library, not round trips
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


def arrivals(session: Session, *, institution_id: int, day: date, schedule_id: int | None) -> list[Any]:
    """A day's bookings at an institution in time order, with what the desk needs to receive them."""
    start = datetime.combine(day, datetime.min.time())
    end = datetime.combine(day, datetime.max.time())
    statement = (
        select(
            Booking.id,
            Booking.status,
            Booking.channel,
            Booking.pool,
            Booking.referral_id,
            Booking.resident_id,
            Slot.starts_at,
            Schedule.id.label("schedule_id"),
            Schedule.name.label("schedule_name"),
            Schedule.kind.label("schedule_kind"),
            Resident.name.label("resident_name"),
            Resident.sex,
            Resident.birth_date,
            Referral.diagnoses.label("referral_diagnoses"),
            Referral.status.label("referral_status"),
        )
        .join(Slot, Slot.id == Booking.slot_id)
        .join(Schedule, Schedule.id == Slot.schedule_id)
        .join(Resident, Resident.id == Booking.resident_id)
        .outerjoin(Referral, Referral.id == Booking.referral_id)
        .where(
            Slot.institution_id == institution_id,
            Slot.starts_at.between(start, end),
            Booking.status != "cancelled",
        )
        .order_by(Slot.starts_at, Booking.id)
    )
    if schedule_id:
        statement = statement.where(Schedule.id == schedule_id)
    return list(session.execute(statement))


def slots_of(session: Session, schedule_id: int, day: date) -> list[Slot]:
    start = datetime.combine(day, datetime.min.time())
    end = datetime.combine(day, datetime.max.time())
    return list(
        session.scalars(
            select(Slot)
            .where(Slot.schedule_id == schedule_id, Slot.starts_at.between(start, end))
            .order_by(Slot.starts_at, Slot.id)
        )
    )


def extra_slots_on(session: Session, schedule_id: int, day: date) -> int:
    start = datetime.combine(day, datetime.min.time())
    end = datetime.combine(day, datetime.max.time())
    return (
        session.scalar(
            select(func.count())
            .select_from(Slot)
            .where(Slot.schedule_id == schedule_id, Slot.pool == EXTRA, Slot.starts_at.between(start, end))
        )
        or 0
    )


def give_back_place(session: Session, slot_id: int) -> None:
    session.connection().execute(
        update(Slot).where(Slot.id == slot_id, Slot.booked > 0).values(booked=Slot.booked - 1)
    )


def booking_by_key(session: Session, key: str) -> Any:
    """What a replayed request answers with (a plain row: read on every booking, kept light)."""
    return session.execute(
        select(
            Booking.id, Booking.slot_id, Booking.resident_id, Booking.status, Booking.channel, Booking.pool
        ).where(Booking.idempotency_key == key)
    ).one_or_none()


def booking(session: Session, booking_id: int) -> Booking | None:
    return session.get(Booking, booking_id)


def release_reserved(session: Session, *, now: datetime, release_hours_by_institution: dict[int, int]) -> int:
    """Set-based: free reserved slots past their release time go to the public pool (recorded)."""
    from datetime import timedelta

    released = 0
    for institution_id, hours in release_hours_by_institution.items():
        result = session.connection().execute(
            update(Slot)
            .where(
                Slot.institution_id == institution_id,
                Slot.pool == RESERVED,
                Slot.booked == 0,
                Slot.starts_at <= now + timedelta(hours=hours),
                Slot.starts_at > now,
            )
            .values(pool=PUBLIC, released_at=now)
        )
        released += int(result.rowcount or 0)  # type: ignore[attr-defined]
    return released


def schedule_for_update(session: Session, schedule_id: int) -> Schedule | None:
    """Lock the schedule row (PostgreSQL) so concurrent same-day extras respect the cap."""
    return session.scalar(select(Schedule).where(Schedule.id == schedule_id).with_for_update())


def quota_use(
    session: Session, *, institution_ids: list[int], start: date, end: date
) -> list[tuple[int, int, int, int, int]]:
    """(institution, slots, reserved as published, reserved booked via grassroots, released) per institution.

    A released slot keeps `released_at`: it was reserved when published. One grouped query."""
    low, high = datetime.combine(start, datetime.min.time()), datetime.combine(end, datetime.max.time())
    was_reserved = or_(Slot.pool == RESERVED, Slot.released_at.is_not(None))
    grassroots_used = (
        select(func.count())
        .select_from(Booking)
        .where(
            Booking.slot_id == Slot.id,
            Booking.channel == "grassroots",
            Booking.status.in_(("booked", "checked_in", "no_show")),
        )
        .scalar_subquery()
    )
    from sqlalchemy import case

    rows = session.execute(
        select(
            Slot.institution_id,
            func.count(),
            func.sum(case((was_reserved, 1), else_=0)),
            func.sum(case((and_(was_reserved, grassroots_used > 0), 1), else_=0)),
            func.sum(case((Slot.released_at.is_not(None), 1), else_=0)),
        )
        .where(
            Slot.institution_id.in_(institution_ids), Slot.starts_at.between(low, high), Slot.pool != EXTRA
        )
        .group_by(Slot.institution_id)
    )
    return [(i, int(n), int(r or 0), int(u or 0), int(x or 0)) for i, n, r, u, x in rows]
