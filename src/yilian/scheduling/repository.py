"""Queries of scheduling. How a booking takes its place (and gives it back) is in `places`."""

from __future__ import annotations

from datetime import date, datetime
from functools import cache
from typing import Any

from sqlalchemy import Select, and_, bindparam, case, exists, extract, func, or_, select, update
from sqlalchemy.orm import Session, aliased

from yilian.auth import scoping
from yilian.auth.rules import Subject
from yilian.models import (
    Booking,
    BookingPolicy,
    ChronicRegister,
    Contract,
    Department,
    Institution,
    Referral,
    Resident,
    Schedule,
    Slot,
    User,
)
from yilian.residents.repository import in_force as contract_in_force
from yilian.scheduling.rules import EXTRA, PUBLIC, RESERVED


def policy(session: Session, institution_id: int, year: int) -> BookingPolicy | None:
    return session.scalar(
        select(BookingPolicy)
        .where(BookingPolicy.institution_id == institution_id, BookingPolicy.year <= year)
        .order_by(BookingPolicy.year.desc())
    )


def policy_trends(session: Session, institution_ids: list[int]) -> dict[int, list[tuple[int, int]]]:
    """institution → [(year, reserved ‰)] of its stored yearly policies, oldest first: one query."""
    out: dict[int, list[tuple[int, int]]] = {}
    for institution_id, year, permille in session.execute(
        select(BookingPolicy.institution_id, BookingPolicy.year, BookingPolicy.reserved_permille)
        .where(BookingPolicy.institution_id.in_(institution_ids))
        .order_by(BookingPolicy.institution_id, BookingPolicy.year)
    ):
        out.setdefault(institution_id, []).append((year, permille))
    return out


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
            exists().where(Contract.resident_id == resident, contract_in_force(today)).label("signed"),
            # 002 items 15, 17: the referral's own resident and direction, and whether the resident is a
            # registered chronic patient — together they make the joint chronic clinic's priority.
            select(Referral.resident_id)
            .where(Referral.id == bindparam("referral_id"))
            .scalar_subquery()
            .label("referral_resident_id"),
            select(Referral.direction)
            .where(Referral.id == bindparam("referral_id"))
            .scalar_subquery()
            .label("referral_direction"),
            exists().where(ChronicRegister.resident_id == resident).label("chronic_registered"),
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
    referral_id: int | None = None,
) -> Any:
    """Everything a booking decides on, one row (None: no such slot). Plain columns, so read on the
    session's connection (Core), not through the ORM."""
    kind, values = scoping.scope_of(subject)
    return session.connection().execute(
        _booking_facts_statement(kind),
        {
            **values,
            "slot_id": slot_id,
            "resident_id": resident_id,
            "today": today,
            "own_institution_id": subject.institution_id,
            "idempotency_key": idempotency_key,
            "referral_id": referral_id,
        },
    ).first()


def arrivals_statement(
    *,
    institution_id: int,
    day: date,
    department_id: int | None = None,
    status: str | None = None,
    schedule_id: int | None = None,
) -> Select[*tuple[Any, ...]]:
    """A day's bookings at an institution in time order, with what the desk needs to receive them:
    department, patient, who sent them (the referring or booking institution) and the referral."""
    start = datetime.combine(day, datetime.min.time())
    end = datetime.combine(day, datetime.max.time())
    booker = aliased(User)
    sender = aliased(Institution)
    referrer = aliased(Institution)
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
            Department.name.label("department_name"),
            Resident.name.label("resident_name"),
            Resident.sex,
            Resident.birth_date,
            func.coalesce(referrer.name, sender.name).label("sender_name"),
            Referral.diagnoses.label("referral_diagnoses"),
            Referral.status.label("referral_status"),
        )
        .join(Slot, Slot.id == Booking.slot_id)
        .join(Schedule, Schedule.id == Slot.schedule_id)
        .outerjoin(Department, Department.id == Schedule.department_id)
        .join(Resident, Resident.id == Booking.resident_id)
        .outerjoin(Referral, Referral.id == Booking.referral_id)
        .outerjoin(referrer, referrer.id == Referral.from_institution_id)
        .outerjoin(booker, booker.id == Booking.booked_by_user_id)
        .outerjoin(sender, sender.id == booker.institution_id)
        .where(Slot.institution_id == institution_id, Slot.starts_at.between(start, end))
        .order_by(Slot.starts_at, Booking.id)
    )
    if status:
        statement = statement.where(Booking.status == status)
    else:
        statement = statement.where(Booking.status != "cancelled")
    if department_id:
        statement = statement.where(Schedule.department_id == department_id)
    if schedule_id:
        statement = statement.where(Schedule.id == schedule_id)
    return statement


def arrivals(
    session: Session,
    *,
    institution_id: int,
    day: date,
    department_id: int | None = None,
    status: str | None = None,
    offset: int = 0,
    limit: int | None = None,
) -> tuple[list[Any], int]:
    """One page of the day's arrivals and the size of the whole filtered day (no limit: all of it)."""
    statement = arrivals_statement(
        institution_id=institution_id, day=day, department_id=department_id, status=status
    )
    total = session.scalar(select(func.count()).select_from(statement.order_by(None).subquery())) or 0
    if limit is not None:
        statement = statement.offset(offset).limit(limit)
    return list(session.execute(statement)), total


def arrival_departments(session: Session, *, institution_id: int) -> list[tuple[int, str]]:
    """The institution's departments that publish schedules: the desk's department filter."""
    return [
        (i, n)
        for i, n in session.execute(
            select(Department.id, Department.name)
            .where(
                Department.institution_id == institution_id,
                exists().where(Schedule.department_id == Department.id, Schedule.is_active.is_(True)),
            )
            .order_by(Department.name)
        )
    ]


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
    # EXISTS stops at a slot's first grassroots booking; a count read all of them, slot by slot
    grassroots_used = exists().where(
        Booking.slot_id == Slot.id,
        Booking.channel == "grassroots",
        or_(Booking.status == "booked", Booking.status == "checked_in", Booking.status == "no_show"),
    )

    rows = session.execute(
        select(
            Slot.institution_id,
            func.count(),
            func.sum(case((was_reserved, 1), else_=0)),
            func.sum(case((and_(was_reserved, grassroots_used), 1), else_=0)),
            func.sum(case((Slot.released_at.is_not(None), 1), else_=0)),
        )
        .where(
            Slot.institution_id.in_(institution_ids), Slot.starts_at.between(low, high), Slot.pool != EXTRA
        )
        .group_by(Slot.institution_id)
    )
    return [(i, int(n), int(r or 0), int(u or 0), int(x or 0)) for i, n, r, u, x in rows]


def _reserved_free(institution_id: int, department_id: int | None, start: datetime, end: datetime) -> Any:
    """Reserved clinic places still free, published, not released, starting in [start, end)."""
    statement = (
        select(Slot, Schedule.department_id, Schedule.name)
        .join(Schedule, Schedule.id == Slot.schedule_id)
        .where(
            Slot.institution_id == institution_id,
            Schedule.kind == "clinic",
            Schedule.is_active.is_(True),
            Slot.pool == RESERVED,
            Slot.published.is_(True),
            Slot.released_at.is_(None),
            Slot.booked < Slot.capacity,
            Slot.starts_at >= start,
            Slot.starts_at < end,
        )
    )
    if department_id is not None:
        statement = statement.where(Schedule.department_id == department_id)
    return statement


def reserved_days(
    session: Session, *, institution_id: int, department_id: int | None, start: datetime, end: datetime
) -> list[tuple[date, int | None, int]]:
    """Per day and department, the reserved places left (one grouped query)."""
    free = _reserved_free(institution_id, department_id, start, end).subquery()
    day = func.date(free.c.starts_at)
    rows = session.execute(
        select(day, free.c.department_id, func.sum(free.c.capacity - free.c.booked))
        .group_by(day, free.c.department_id)
        .order_by(day)
    ).all()
    # SQLite's date() is text, PostgreSQL's a date.
    return [(d if isinstance(d, date) else date.fromisoformat(d), dep, int(n)) for d, dep, n in rows]


def reserved_slots(
    session: Session, *, institution_id: int, department_id: int | None, start: datetime, end: datetime
) -> list[Any]:
    """The free reserved slots of a period, in time order, with their schedule's department and name."""
    statement = _reserved_free(institution_id, department_id, start, end).order_by(Slot.starts_at, Slot.id)
    return list(session.execute(statement).all())


def department_names(session: Session, ids: set[int]) -> dict[int | None, str]:
    if not ids:
        return {}
    return {
        i: n for i, n in session.execute(select(Department.id, Department.name).where(Department.id.in_(ids)))
    }


def schedule_rows(subject: Subject, *, kind: str = "", q: str = "") -> Any:
    """Schedules of the institutions the subject runs, with department, doctor and institution names."""
    from yilian.models import Department, Staff

    statement = (
        select(Schedule, Department.name, Staff.name, Institution.name)
        .join(Institution, Institution.id == Schedule.institution_id)
        .outerjoin(Department, Department.id == Schedule.department_id)
        .outerjoin(Staff, Staff.id == Schedule.staff_id)
        .where(scoping.institution_charge(subject), Schedule.is_active.is_(True))
    )
    if kind:
        statement = statement.where(Schedule.kind == kind)
    if q:
        like = f"%{q}%"
        statement = statement.where(
            or_(Schedule.name.like(like), Department.name.like(like), Staff.name.like(like))
        )
    return statement.order_by(Institution.name, Department.name, Schedule.name, Schedule.id)


def count_rows(session: Session, statement: Any) -> int:
    return session.scalar(select(func.count()).select_from(statement.order_by(None).subquery())) or 0


def slots_between(session: Session, schedule_id: int, first: date, last: date) -> list[Slot]:
    """A schedule's slots from the first day to the last, in time order: the week view, one query."""
    return list(
        session.scalars(
            select(Slot)
            .where(
                Slot.schedule_id == schedule_id,
                Slot.starts_at.between(
                    datetime.combine(first, datetime.min.time()), datetime.combine(last, datetime.max.time())
                ),
            )
            .order_by(Slot.starts_at, Slot.id)
        )
    )


def departments_of(session: Session, institution_id: int) -> list[Any]:
    from yilian.models import Department

    return list(
        session.scalars(
            select(Department).where(Department.institution_id == institution_id).order_by(Department.code)
        )
    )
