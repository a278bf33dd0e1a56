"""Pages of booking: a doctor books for a patient, the reserved pool shown apart from the public one."""

from __future__ import annotations

import secrets
from datetime import date, timedelta
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import select

from yilian.auth import scoping
from yilian.family_doctor.repository import is_signed
from yilian.kit.errors import AppError
from yilian.kit.fields import Day, Id
from yilian.models import ChronicRegister, Institution, Schedule
from yilian.registry import repository as registry_repository
from yilian.residents import service as residents_service
from yilian.residents.rules import age_on
from yilian.scheduling import booking, repository, service
from yilian.scheduling.rules import GREEN_CHANNEL_AGE
from yilian.scheduling.schemas import BookingIn
from yilian.web.deps import DbSession, PageActor, check_csrf
from yilian.web.templating import render

router = APIRouter()


@router.get("/booking", response_class=HTMLResponse)
def booking_page(
    request: Request,
    actor: PageActor,
    session: DbSession,
    resident_id: Id,
    schedule_id: Id = 0,
    day: Day | None = None,
    error: str = "",
    done: str = "",
) -> Response:
    resident = residents_service.access_resident(session, actor, resident_id)
    today = actor.clock.now().date()
    day = day or today + timedelta(days=1)
    own = registry_repository.institution(session, actor.subject.institution_id or 0)
    schedules = session.execute(
        select(Schedule, Institution.name)
        .join(Institution, Institution.id == Schedule.institution_id)
        .where(Schedule.is_active.is_(True), scoping.institution_visibility(actor.subject))
        .order_by(Institution.name, Schedule.name)
    ).all()
    slots = []
    if schedule_id:
        schedule = repository.schedule(session, schedule_id)
        institution = registry_repository.institution(session, schedule.institution_id) if schedule else None
        if schedule and institution:
            policy = service.policy_for(session, institution, day.year)
            now = actor.clock.now()
            slots = [
                service.slot_out(s, now, policy.release_hours)
                for s in repository.slots_of(session, schedule_id, day)
            ]
    reserved = [s for s in slots if s.effective_pool in ("reserved", "extra")]
    public = [s for s in slots if s.effective_pool == "public"]
    return render(
        request,
        "booking.html",
        resident=resident,
        schedules=schedules,
        schedule_id=schedule_id,
        day=day,
        reserved=reserved,
        public=public,
        grassroots=bool(own and own.is_grassroots),
        priority=priority_of(session, resident.id, resident.birth_date, today),
        error=error,
        done=done,
        key=secrets.token_hex(12),
    )


@router.post("/booking")
def book(
    request: Request,
    actor: PageActor,
    session: DbSession,
    csrf: Annotated[str, Form()],
    resident_id: Annotated[Id, Form()],
    slot_id: Annotated[Id, Form()],
    schedule_id: Annotated[Id, Form()],
    day: Annotated[date, Form()],
    key: Annotated[str, Form()],
) -> Response:
    """The form carries an idempotency key: a double click or a resubmitted page books once."""
    check_csrf(request, csrf)
    try:
        with session.begin_nested():
            out = booking.do_book_slot(
                session,
                actor=actor,
                data=BookingIn(slot_id=slot_id, resident_id=resident_id),
                idempotency_key=key,
            )
    except AppError as error:
        message = error.message_for_page()
        return booking_page(request, actor, session, resident_id, schedule_id, day, error=message)
    return RedirectResponse(
        f"/booking?resident_id={resident_id}&schedule_id={schedule_id}&day={day}&done={out.starts_at:%H:%M}",
        status_code=303,
    )


def priority_of(session: DbSession, resident_id: int, born: date, today: date) -> list[str]:
    """Why this patient is booked first (002 items 15, 17; 000 §9), shown to the booking doctor."""
    from sqlalchemy import func

    reasons = []
    if is_signed(session, resident_id, today):
        reasons.append("签约居民：优先就诊、检查、住院")
    registered = (
        session.scalar(
            select(func.count())
            .select_from(ChronicRegister)
            .where(ChronicRegister.resident_id == resident_id)
        )
        or 0
    )
    if registered:
        reasons.append("慢病患者：慢病联合门诊优先")
    if age_on(born, today) >= GREEN_CHANNEL_AGE:
        reasons.append(f"{GREEN_CHANNEL_AGE}岁以上老年人：绿色通道")
    return reasons
