"""Queries of the residents' phone pages: the record by kind, page by page; what can be booked, by
hospital, department and day; the person's bookings, upcoming first. Callers have already checked
that the account may act for the resident (`service.portal_person`)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import ColumnElement, and_, case, false, func, or_, select
from sqlalchemy.orm import Session

from yilian.models import (
    Booking,
    Department,
    Drug,
    Encounter,
    ExamOrder,
    ExamReport,
    Institution,
    Prescription,
    PrescriptionItem,
    Resident,
    Schedule,
    Slot,
    Staff,
)
from yilian.scheduling.rules import PUBLIC, RESERVED


def _count(session: Session, statement: Any) -> int:
    return int(session.scalar(select(func.count()).select_from(statement.order_by(None).subquery())) or 0)


# --- the record ------------------------------------------------------------------------------------


def visits(session: Session, resident_id: int, offset: int, limit: int) -> tuple[int, list[Any]]:
    statement = (
        select(Encounter, Institution.name.label("institution"), Department.name.label("department"))
        .join(Institution, Institution.id == Encounter.institution_id)
        .outerjoin(Department, Department.id == Encounter.department_id)
        .where(Encounter.resident_id == resident_id)
        .order_by(Encounter.start_date.desc(), Encounter.id.desc())
    )
    return _count(session, statement), list(session.execute(statement.offset(offset).limit(limit)))


def reports(session: Session, resident_id: int, offset: int, limit: int) -> tuple[int, list[Any]]:
    statement = (
        select(ExamOrder, ExamReport, Institution.name.label("institution"))
        .outerjoin(ExamReport, ExamReport.order_id == ExamOrder.id)
        .join(Institution, Institution.id == ExamOrder.ordering_institution_id)
        .where(ExamOrder.resident_id == resident_id)
        .order_by(ExamOrder.ordered_at.desc(), ExamOrder.id.desc())
    )
    return _count(session, statement), list(session.execute(statement.offset(offset).limit(limit)))


def prescriptions(session: Session, resident_id: int, offset: int, limit: int) -> tuple[int, list[Any]]:
    statement = (
        select(Prescription, Institution.name.label("institution"))
        .join(Institution, Institution.id == Prescription.institution_id)
        .where(Prescription.resident_id == resident_id)
        .order_by(Prescription.prescribed_on.desc(), Prescription.id.desc())
    )
    return _count(session, statement), list(session.execute(statement.offset(offset).limit(limit)))


def drugs_of(session: Session, prescription_ids: list[int]) -> dict[int, list[Any]]:
    out: dict[int, list[Any]] = {i: [] for i in prescription_ids}
    if not prescription_ids:
        return out
    rows = session.execute(
        select(PrescriptionItem, Drug)
        .join(Drug, Drug.id == PrescriptionItem.drug_id)
        .where(PrescriptionItem.prescription_id.in_(prescription_ids))
        .order_by(PrescriptionItem.prescription_id, PrescriptionItem.id)
    )
    for item, drug in rows:
        out[item.prescription_id].append((item, drug))
    return out


# --- what can be booked ----------------------------------------------------------------------------


def start_of(day: date) -> datetime:
    return datetime.combine(day, time.min)


def clinic_institutions(session: Session, region_code: str) -> list[Any]:
    """Institutions of the county with an active clinic schedule: (id, name, level, departments)."""
    return list(
        session.execute(
            select(
                Institution.id,
                Institution.name,
                Institution.level,
                func.count(func.distinct(Schedule.department_id)).label("departments"),
            )
            .join(Schedule, Schedule.institution_id == Institution.id)
            .where(
                Institution.region_code == region_code,
                Institution.is_active.is_(True),
                Schedule.kind == "clinic",
                Schedule.is_active.is_(True),
            )
            .group_by(Institution.id, Institution.name, Institution.level)
            .order_by(Institution.level.desc(), Institution.name)
        )
    )


def _open_to_public(now: datetime, release_hours: Mapping[int, int]) -> ColumnElement[bool]:
    """Published, not yet started, and public now: a public slot, or a reserved one past its
    institution's release time (scheduling.rules.effective_pool, as one SQL condition)."""
    released = [
        and_(Slot.institution_id == institution_id, Slot.starts_at <= now + timedelta(hours=hours))
        for institution_id, hours in release_hours.items()
    ]
    return and_(
        Slot.published.is_(True),
        Slot.starts_at > now,
        or_(Slot.pool == PUBLIC, and_(Slot.pool == RESERVED, or_(*released) if released else false())),
    )


def places_by(
    session: Session,
    *,
    key: Any,
    where: list[ColumnElement[bool]],
    now: datetime,
    until: datetime,
    release_hours: Mapping[int, int],
) -> dict[Any, int]:
    """Places left in public clinic slots from now until `until`, summed by `key`."""
    rows = session.execute(
        select(key, func.sum(Slot.capacity - Slot.booked))
        .join(Schedule, Schedule.id == Slot.schedule_id)
        .where(
            *where,
            Schedule.kind == "clinic",
            Schedule.is_active.is_(True),
            Slot.starts_at < until,
            Slot.booked < Slot.capacity,
            _open_to_public(now, release_hours),
        )
        .group_by(key)
    )
    return {k: int(n or 0) for k, n in rows}


def clinic_departments(session: Session, institution_id: int) -> list[Any]:
    """Every department of the institution with an active clinic schedule: (id, name)."""
    return list(
        session.execute(
            select(Department.id, Department.name)
            .where(
                Department.id.in_(
                    select(Schedule.department_id).where(
                        Schedule.institution_id == institution_id,
                        Schedule.kind == "clinic",
                        Schedule.is_active.is_(True),
                    )
                )
            )
            .order_by(Department.name)
        )
    )


def department(session: Session, institution_id: int, department_id: int) -> Any:
    return session.execute(
        select(Institution.name, Department.name)
        .join(Department, Department.institution_id == Institution.id)
        .where(Institution.id == institution_id, Department.id == department_id)
    ).first()


def places_by_day(
    session: Session,
    *,
    institution_id: int,
    department_id: int,
    now: datetime,
    until: datetime,
    release_hours: Mapping[int, int],
) -> dict[date, int]:
    """Places left per day in one department (its days are few: summed here, on every engine alike)."""
    rows = session.execute(
        select(Slot.starts_at, Slot.capacity - Slot.booked)
        .join(Schedule, Schedule.id == Slot.schedule_id)
        .where(
            Slot.institution_id == institution_id,
            Schedule.department_id == department_id,
            Schedule.kind == "clinic",
            Schedule.is_active.is_(True),
            Slot.starts_at < until,
            Slot.booked < Slot.capacity,
            _open_to_public(now, release_hours),
        )
    )
    out: dict[date, int] = {}
    for starts_at, places in rows:
        out[starts_at.date()] = out.get(starts_at.date(), 0) + int(places)
    return out


def day_slots(
    session: Session,
    *,
    institution_id: int,
    department_id: int,
    day: date,
    now: datetime,
    release_hours: Mapping[int, int],
) -> list[Any]:
    """The day's public slots of one department, full ones included (shown as full)."""
    return list(
        session.execute(
            select(Slot, Schedule.name.label("clinic"), Staff.name.label("doctor"))
            .join(Schedule, Schedule.id == Slot.schedule_id)
            .outerjoin(Staff, Staff.id == Schedule.staff_id)
            .where(
                Slot.institution_id == institution_id,
                Schedule.department_id == department_id,
                Schedule.kind == "clinic",
                Schedule.is_active.is_(True),
                Slot.starts_at >= start_of(day),
                Slot.starts_at < start_of(day + timedelta(days=1)),
                _open_to_public(now, release_hours),
            )
            .order_by(Slot.starts_at, Schedule.name)
        )
    )


# --- the person's bookings -------------------------------------------------------------------------


def _bookings_statement(now: datetime) -> Any:
    upcoming = and_(Booking.status == "booked", Slot.starts_at > now)
    return (
        select(
            Booking,
            Slot.starts_at,
            Slot.ends_at,
            Institution.name.label("institution"),
            Department.name.label("department"),
            Schedule.name.label("clinic"),
            Staff.name.label("doctor"),
            Resident.name.label("person"),
            upcoming.label("upcoming"),
        )
        .join(Slot, Slot.id == Booking.slot_id)
        .join(Schedule, Schedule.id == Slot.schedule_id)
        .join(Institution, Institution.id == Slot.institution_id)
        .join(Resident, Resident.id == Booking.resident_id)
        .outerjoin(Department, Department.id == Schedule.department_id)
        .outerjoin(Staff, Staff.id == Schedule.staff_id)
    ), upcoming


def bookings(
    session: Session, resident_id: int, now: datetime, offset: int, limit: int
) -> tuple[int, int, list[Any]]:
    """(total, upcoming, page): bookings still ahead first, soonest first; then the rest, newest first."""
    statement, upcoming = _bookings_statement(now)
    statement = statement.where(Booking.resident_id == resident_id)
    total = _count(session, statement)
    ahead = _count(session, statement.where(upcoming))
    page = statement.order_by(
        case((upcoming, 0), else_=1),
        case((upcoming, Slot.starts_at)).asc(),
        Slot.starts_at.desc(),
        Booking.id.desc(),
    )
    return total, ahead, list(session.execute(page.offset(offset).limit(limit)))


def booking(session: Session, booking_id: int, now: datetime) -> Any:
    statement, _ = _bookings_statement(now)
    return session.execute(statement.where(Booking.id == booking_id)).first()
