"""JSON endpoints of unified booking."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Header, Query, Request, Response

from yilian.auth import scoping
from yilian.kit.errors import NotFound, ValidationFailed
from yilian.kit.fields import Day, Id, Offset, Year
from yilian.kit.tabular import XLSX_MEDIA_TYPE
from yilian.registry import repository as registry_repository
from yilian.scheduling import booking, repository, rules, service
from yilian.scheduling.schemas import (
    ArrivalPage,
    BookingIn,
    BookingOut,
    ExtraSlotIn,
    PolicyIn,
    PolicyOut,
    PublishIn,
    ReservedDay,
    ReservedSlot,
    ScheduleIn,
    SchedulePage,
    ScheduleRow,
    SlotOut,
)
from yilian.web.deps import ApiActor, DbSession

router = APIRouter(prefix="/api", tags=["booking"])


def _ceiling_permille(request: Request) -> int:
    """The commission's ceiling of the reserved share (YILIAN_RESERVED_SHARE_CEILING, percent)."""
    return round(request.app.state.settings.reserved_share_ceiling * 10)


@router.put("/booking-policy")
def set_policy(data: PolicyIn, request: Request, actor: ApiActor, session: DbSession) -> dict[str, object]:
    row = service.do_set_policy(session, actor=actor, data=data, ceiling_permille=_ceiling_permille(request))
    return {
        "year": row.year,
        "reserved_share": row.reserved_permille / 10,
        "release_hours": row.release_hours,
        "extra_cap": row.extra_cap,
    }


@router.get("/schedules/departments")
def departments(actor: ApiActor, session: DbSession) -> list[dict[str, object]]:
    """The departments a new schedule may belong to: those of the caller's own institution."""
    return [
        {"id": d.id, "name": d.name}
        for d in repository.departments_of(session, service.own_institution(actor))
    ]


@router.post("/schedules", status_code=201)
def create_schedule(data: ScheduleIn, actor: ApiActor, session: DbSession) -> dict[str, int]:
    return {"id": service.do_create_schedule(session, actor=actor, data=data).id}


@router.post("/schedules/{schedule_id}/sessions", response_model=list[SlotOut], status_code=201)
def publish(schedule_id: Id, data: PublishIn, actor: ApiActor, session: DbSession) -> list[SlotOut]:
    slots = service.do_publish_session(session, actor=actor, schedule_id=schedule_id, data=data)
    now = actor.clock.now()
    return [service.slot_out(s, now, 24) for s in slots]


@router.get("/schedules/{schedule_id}/slots", response_model=list[SlotOut])
def slots(schedule_id: Id, day: Day, actor: ApiActor, session: DbSession) -> list[SlotOut]:
    """A day's slots, with the reserved pool marked (and shown as public once released)."""
    schedule = repository.schedule(session, schedule_id)
    institution = registry_repository.institution(session, schedule.institution_id) if schedule else None
    if schedule is None or institution is None:
        return []
    policy = service.policy_for(session, institution, day.year)
    now = actor.clock.now()
    return [
        service.slot_out(s, now, policy.release_hours) for s in repository.slots_of(session, schedule_id, day)
    ]


@router.get("/booking/reserved-days", response_model=list[ReservedDay])
def reserved_days(
    institution_id: Id, actor: ApiActor, session: DbSession, department_id: Id | None = None
) -> list[ReservedDay]:
    """The referral calendar: per day and department, the reserved places a grassroots doctor can still
    book at a county institution (from the release time of slots starting now to the booking window's end)."""
    return service.reserved_days(
        session, actor=actor, institution_id=institution_id, department_id=department_id
    )


@router.get("/booking/reserved-slots", response_model=list[ReservedSlot])
def reserved_slots(
    institution_id: Id, day: Day, actor: ApiActor, session: DbSession, department_id: Id | None = None
) -> list[ReservedSlot]:
    """One day's free reserved slots at a county institution, in time order."""
    return service.reserved_slots(
        session, actor=actor, institution_id=institution_id, department_id=department_id, day=day
    )


@router.post("/bookings", response_model=BookingOut, status_code=201)
def book(
    data: BookingIn,
    response: Response,
    actor: ApiActor,
    session: DbSession,
    idempotency_key: Annotated[
        str | None,
        Header(
            alias="Idempotency-Key",
            max_length=64,
            description="同一键重试只预约一次 / a retry with the same key books once",
        ),
    ] = None,
) -> BookingOut:
    """Send an Idempotency-Key header: a retried request books once (200 with the same booking)."""
    out = booking.do_book_slot(session, actor=actor, data=data, idempotency_key=idempotency_key)
    if not out.created:
        response.status_code = 200
    return out


@router.get("/arrivals", response_model=ArrivalPage)
def arrivals(
    request: Request,
    actor: ApiActor,
    session: DbSession,
    day: Day | None = None,
    department_id: Id | None = None,
    status: str | None = Query(None, pattern="^(booked|checked_in|no_show|cancelled)$"),
    offset: int = Query(0, ge=0, le=10_000_000),
    limit: int = Query(20, ge=1, le=200),
) -> ArrivalPage:
    """The receiving desk's day (default today) one page at a time, filtered by department and status
    (default: all but cancelled); each row says whether it can be checked in now and, if not, why."""
    return service.arrivals_page(
        session,
        actor=actor,
        day=day or actor.clock.now().date(),
        department_id=department_id,
        status=status,
        offset=offset,
        limit=limit,
        grace_days=request.app.state.settings.arrival_grace_days,
    )


@router.get("/arrivals/export")
def arrivals_export(
    actor: ApiActor,
    session: DbSession,
    day: Day | None = None,
    department_id: Id | None = None,
    status: str | None = Query(None, pattern="^(booked|checked_in|no_show|cancelled)$"),
) -> Response:
    """The whole filtered day as Excel."""
    day = day or actor.clock.now().date()
    content = service.arrivals_export(
        session, actor=actor, day=day, department_id=department_id, status=status
    )
    return Response(
        content,
        media_type=XLSX_MEDIA_TYPE,
        headers={"Content-Disposition": f"attachment; filename=arrivals-{day}.xlsx"},
    )


@router.post("/bookings/{booking_id}/{action}")
def change(
    request: Request, booking_id: Id, action: str, actor: ApiActor, session: DbSession
) -> dict[str, object]:
    if action not in booking.TRANSITIONS:
        raise ValidationFailed.one(
            "action", "操作应为 cancel、check_in 或 no_show", "action must be cancel, check_in or no_show"
        )
    changed = booking.do_change_booking(
        session,
        actor=actor,
        booking_id=booking_id,
        action=action,
        arrival_grace_days=request.app.state.settings.arrival_grace_days,
    )
    return {"id": changed.id, "status": changed.status}


@router.post("/slots/extra", response_model=SlotOut, status_code=201)
def add_extra(data: ExtraSlotIn, actor: ApiActor, session: DbSession) -> SlotOut:
    slot = service.do_add_extra_slot(session, actor=actor, data=data)
    return service.slot_out(slot, actor.clock.now(), 24)


@router.get("/booking/quota-report")
def quota_report(
    request: Request, actor: ApiActor, session: DbSession, start: Day, end: Day
) -> list[dict[str, object]]:
    """Reserved share, grassroots use of the reserved pool and released capacity per institution, with
    the policy's share year by year and the commission's ceiling."""
    return service.quota_report(
        session, actor=actor, start=start, end=end, ceiling_permille=_ceiling_permille(request)
    )


@router.get("/booking-policy", response_model=PolicyOut)
def get_policy(request: Request, actor: ApiActor, session: DbSession, year: Year) -> PolicyOut:
    """The institution's policy in force for the year (stored or the default) and the form's bounds."""
    institution = registry_repository.institution(session, service.own_institution(actor))
    assert institution is not None
    stored = repository.policy(session, institution.id, year)
    policy = service.policy_for(session, institution, year)
    return PolicyOut(
        year=year,
        reserved_share=policy.reserved_permille / 10,
        release_hours=policy.release_hours,
        extra_cap=policy.extra_cap,
        minimum_share=rules.MIN_RESERVED_PERMILLE / 10,
        ceiling_share=_ceiling_permille(request) / 10,
        stored=stored is not None and stored.year == year,
    )


@router.get("/schedules", response_model=SchedulePage)
def schedule_page(
    actor: ApiActor,
    session: DbSession,
    kind: str = Query("", pattern="^(|clinic|exam|bed)$"),
    q: str = Query("", max_length=64),
    offset: Offset = 0,
    limit: int = Query(20, ge=1, le=500),
) -> SchedulePage:
    """Schedules of the institutions the caller runs, by department and doctor; filtered and paged."""
    statement = repository.schedule_rows(actor.subject, kind=kind, q=q)
    items = [
        ScheduleRow(
            id=s.id,
            name=s.name,
            kind=s.kind,
            institution_name=institution,
            department_name=department,
            staff_name=staff,
            equipment=s.equipment,
        )
        for s, department, staff, institution in session.execute(statement.offset(offset).limit(limit))
    ]
    return SchedulePage(
        total=repository.count_rows(session, statement), offset=offset, limit=limit, items=items
    )


@router.get("/schedules/{schedule_id}/week", response_model=list[SlotOut])
def week(schedule_id: Id, start: Day, actor: ApiActor, session: DbSession) -> list[SlotOut]:
    """Seven days of a schedule's slots from `start`, each with its pool (reserved shown as public once
    released) and fill: the administrator's week view."""
    schedule = repository.schedule(session, schedule_id)
    institution = (
        scoping.readable_institution(session, actor.subject, schedule.institution_id) if schedule else None
    )
    if schedule is None or institution is None:
        raise NotFound("排班", "Schedule")
    release_hours = service.policy_for(session, institution, start.year).release_hours
    now = actor.clock.now()
    return [
        service.slot_out(s, now, release_hours)
        for s in repository.slots_between(session, schedule.id, start, start + timedelta(days=6))
    ]
