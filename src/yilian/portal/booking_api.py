"""Booking from the phone: hospital → department → day (with the places left each day) → time, then
the person's bookings, upcoming first. Booking and cancelling go through the one booking API
(`POST /api/bookings`, `POST /api/bookings/{id}/cancel`) with its checks; these endpoints only read."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Query

from yilian.kit.errors import NotFound
from yilian.kit.fields import Day, Id, Offset
from yilian.models import Schedule, Slot
from yilian.portal import repository, rules, service
from yilian.portal.schemas import (
    PortalBookingOut,
    PortalBookingPage,
    PortalDayOut,
    PortalDepartmentDays,
    PortalDepartmentOut,
    PortalHospitalOut,
    PortalSlotOut,
)
from yilian.scheduling.rules import PRIORITY_WINDOW_DAYS
from yilian.web.deps import ApiActor, DbSession

router = APIRouter(prefix="/api/portal", tags=["portal"])


@router.get("/hospitals", response_model=list[PortalHospitalOut])
def hospitals(actor: ApiActor, session: DbSession, person: Id | None = None) -> list[PortalHospitalOut]:
    """The county's institutions with clinics, each with its places left in the person's window."""
    resident = service.portal_person(session, actor, person)
    now = actor.clock.now()
    window = service.booking_window_days(session, resident=resident, today=now.date())
    rows = repository.clinic_institutions(session, resident.region_code)
    hours = service.release_hours(session, [r.id for r in rows], now.year)
    places = repository.places_by(
        session,
        key=Slot.institution_id,
        where=[Slot.institution_id.in_(list(hours)), Schedule.department_id.is_not(None)],
        now=now,
        until=repository.start_of(now.date() + timedelta(days=window + 1)),
        release_hours=hours,
    )
    out = [
        PortalHospitalOut(
            id=r.id, name=r.name, level=r.level, departments=r.departments, places=places.get(r.id, 0)
        )
        for r in rows
    ]
    return sorted(out, key=lambda h: (h.places == 0, h.level != "三级", h.level != "二级", h.name))


@router.get("/hospitals/{institution_id}/departments", response_model=list[PortalDepartmentOut])
def departments(
    institution_id: Id, actor: ApiActor, session: DbSession, person: Id | None = None
) -> list[PortalDepartmentOut]:
    """Every department of the hospital with a clinic — none left out — with its places left."""
    resident = service.portal_person(session, actor, person)
    now = actor.clock.now()
    window = service.booking_window_days(session, resident=resident, today=now.date())
    hours = service.release_hours(session, [institution_id], now.year)
    places = repository.places_by(
        session,
        key=Schedule.department_id,
        where=[Slot.institution_id == institution_id],
        now=now,
        until=repository.start_of(now.date() + timedelta(days=window + 1)),
        release_hours=hours,
    )
    return [
        PortalDepartmentOut(id=d.id, name=d.name, places=places.get(d.id, 0))
        for d in repository.clinic_departments(session, institution_id)
    ]


def _department(session: DbSession, institution_id: int, department_id: int) -> tuple[str, str]:
    found = repository.department(session, institution_id, department_id)
    if found is None:
        raise NotFound("科室", "Department")
    return found[0], found[1]


@router.get(
    "/hospitals/{institution_id}/departments/{department_id}/days", response_model=PortalDepartmentDays
)
def days(
    institution_id: Id, department_id: Id, actor: ApiActor, session: DbSession, person: Id | None = None
) -> PortalDepartmentDays:
    """The next two weeks day by day, with the places left; days past the person's window are shown
    but not bookable (signed and 65+ residents may book further ahead)."""
    resident = service.portal_person(session, actor, person)
    institution, department = _department(session, institution_id, department_id)
    now = actor.clock.now()
    window = service.booking_window_days(session, resident=resident, today=now.date())
    shown = max(window, PRIORITY_WINDOW_DAYS)
    places = repository.places_by_day(
        session,
        institution_id=institution_id,
        department_id=department_id,
        now=now,
        until=repository.start_of(now.date() + timedelta(days=shown + 1)),
        release_hours=service.release_hours(session, [institution_id], now.year),
    )
    today = now.date()
    return PortalDepartmentDays(
        institution=institution,
        department=department,
        window_days=window,
        days=[
            PortalDayOut(
                day=today + timedelta(days=n),
                places=places.get(today + timedelta(days=n), 0),
                bookable=n <= window,
            )
            for n in range(0, shown + 1)
        ],
    )


@router.get(
    "/hospitals/{institution_id}/departments/{department_id}/slots", response_model=list[PortalSlotOut]
)
def slots(
    institution_id: Id,
    department_id: Id,
    day: Day,
    actor: ApiActor,
    session: DbSession,
    person: Id | None = None,
) -> list[PortalSlotOut]:
    """The chosen day's times in the department, and only that day's (a full one shows as full)."""
    service.portal_person(session, actor, person)
    _department(session, institution_id, department_id)
    now = actor.clock.now()
    rows = repository.day_slots(
        session,
        institution_id=institution_id,
        department_id=department_id,
        day=day,
        now=now,
        release_hours=service.release_hours(session, [institution_id], day.year),
    )
    return [
        PortalSlotOut(
            id=slot.id,
            starts_at=slot.starts_at,
            ends_at=slot.ends_at,
            clinic=clinic,
            doctor=doctor,
            places=max(0, slot.capacity - slot.booked),
        )
        for slot, clinic, doctor in rows
    ]


def _booking_out(row: object) -> PortalBookingOut:
    b = row.Booking  # type: ignore[attr-defined]
    return PortalBookingOut(
        id=b.id,
        status=b.status,
        status_label=rules.BOOKING_STATUS.get(b.status, "其他"),
        upcoming=bool(row.upcoming),  # type: ignore[attr-defined]
        starts_at=row.starts_at,  # type: ignore[attr-defined]
        ends_at=row.ends_at,  # type: ignore[attr-defined]
        institution=row.institution,  # type: ignore[attr-defined]
        department=row.department,  # type: ignore[attr-defined]
        clinic=row.clinic,  # type: ignore[attr-defined]
        doctor=row.doctor,  # type: ignore[attr-defined]
        person=row.person,  # type: ignore[attr-defined]
        booked_at=b.created_at,
    )


@router.get("/bookings", response_model=PortalBookingPage)
def my_bookings(
    actor: ApiActor,
    session: DbSession,
    person: Id | None = None,
    offset: Offset = 0,
    limit: Annotated[int, Query(ge=1, le=50)] = 10,
) -> PortalBookingPage:
    """The person's bookings: those still ahead first (soonest first, each may be cancelled), then the
    rest, newest first."""
    resident = service.portal_person(session, actor, person)
    total, ahead, rows = repository.bookings(session, resident.id, actor.clock.now(), offset, limit)
    actor.record_read(entity="booking", resident_ids=[resident.id], action="list", detail="portal")
    return PortalBookingPage(
        total=total, upcoming=ahead, offset=offset, limit=limit, items=[_booking_out(r) for r in rows]
    )


@router.get("/bookings/{booking_id}", response_model=PortalBookingOut)
def booking_slip(booking_id: Id, actor: ApiActor, session: DbSession) -> PortalBookingOut:
    """One booking, for its slip (time, place, department): the account's own or a ward's only."""
    row = repository.booking(session, booking_id, actor.clock.now())
    if row is None:
        raise NotFound("预约", "Booking")
    service.portal_person(session, actor, row.Booking.resident_id)  # 404 for anyone else's
    actor.record_read(entity="booking", resident_ids=[row.Booking.resident_id], detail="portal slip")
    return _booking_out(row)
