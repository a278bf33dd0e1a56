"""The residents' portal, mobile first: log in with a phone code, the health card, the whole record
(own and wards'), public slots to book and cancel, and who looked at the record."""

from __future__ import annotations

import secrets
from datetime import date, datetime, time, timedelta
from typing import Annotated

import qrcode
import qrcode.image.svg
from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import ColumnElement, func, select

from yilian.auth.context import Actor
from yilian.chronic.repository import registers_of
from yilian.diagnostics import repository as diagnostics_repository
from yilian.encounters import repository as encounters_repository
from yilian.family_doctor import repository as family_doctor_repository
from yilian.family_doctor import rules as family_doctor_rules
from yilian.kit.errors import AppError
from yilian.kit.fields import Day, Id
from yilian.kit.masking import mask_id_number
from yilian.kit.tokens import same_token
from yilian.models import Booking, Institution, Referral, Schedule, Slot
from yilian.portal import service
from yilian.scheduling import booking as scheduling_booking
from yilian.scheduling import repository as scheduling_repository
from yilian.scheduling import service as scheduling_service
from yilian.scheduling.schemas import BookingIn
from yilian.web.deps import DbSession, PageActor, check_csrf, set_session_cookie
from yilian.web.templating import render

router = APIRouter(prefix="/portal")
LOGIN_COOKIE = "yl_portal_csrf"
DISEASES = {"hypertension": "高血压", "diabetes": "糖尿病", "hyperlipidaemia": "高血脂"}
COLOURS = {"green": "绿", "yellow": "黄", "red": "红"}


def _login_page(
    request: Request, *, phone: str = "", sent: bool = False, error: str = "", status: int = 200
) -> Response:
    token = request.cookies.get(LOGIN_COOKIE) or secrets.token_hex(16)
    response = render(
        request,
        "portal_login.html",
        status_code=status,
        login_csrf=token,
        phone=phone,
        sent=sent,
        error=error,
    )
    response.set_cookie(
        LOGIN_COOKIE,
        token,
        httponly=True,
        samesite="strict",
        secure=request.app.state.settings.secure_cookies,
    )
    return response


def _check_login_csrf(request: Request, csrf: str) -> bool:
    cookie = request.cookies.get(LOGIN_COOKIE, "")
    return bool(cookie) and same_token(cookie, csrf)


@router.get("/login", response_class=HTMLResponse)
def login_form(request: Request) -> Response:
    return _login_page(request)


@router.post("/login/code", response_class=HTMLResponse)
def send_code(
    request: Request, session: DbSession, csrf: Annotated[str, Form()], phone: Annotated[str, Form()]
) -> Response:
    if not _check_login_csrf(request, csrf):
        return _login_page(request, error="表单已失效，请刷新后重试", status=403)
    state = request.app.state
    try:
        with session.begin_nested():
            service.do_send_code(
                session, phone=phone, now=state.clock.now(), settings=state.settings, sender=state.sms
            )
    except AppError as error:
        return _login_page(request, phone=phone, error=error.message_zh, status=error.status)
    return _login_page(request, phone=phone, sent=True)


@router.post("/login", response_class=HTMLResponse)
def login(
    request: Request,
    session: DbSession,
    csrf: Annotated[str, Form()],
    phone: Annotated[str, Form()],
    code: Annotated[str, Form()],
    id_number: Annotated[str, Form()],
) -> Response:
    if not _check_login_csrf(request, csrf):
        return _login_page(request, error="表单已失效，请刷新后重试", status=403)
    state = request.app.state
    try:
        result = service.do_portal_login(
            session,
            phone=phone,
            code=code,
            id_number=id_number,
            now=state.clock.now(),
            settings=state.settings,
        )
    except AppError as error:
        # A normal page response: the request commits, so the failed attempt is counted.
        return _login_page(request, phone=phone, sent=True, error=error.message_zh, status=error.status)
    response = RedirectResponse("/portal", status_code=303)
    set_session_cookie(response, result.session_token, secure=state.settings.secure_cookies)
    response.delete_cookie(LOGIN_COOKIE)
    return response


def _qr_svg(payload: str) -> str:
    image = qrcode.make(payload, image_factory=qrcode.image.svg.SvgPathImage, box_size=8, border=2)
    svg: bytes = image.to_string()
    return svg.decode()


@router.get("", response_class=HTMLResponse)
def home(request: Request, actor: PageActor, session: DbSession, person: Id | None = None) -> Response:
    resident = service.portal_person(session, actor, person)
    today = actor.clock.now().date()
    payload = service.card_payload(
        session, resident=resident, now=actor.clock.now(), settings=request.app.state.settings
    )
    return render(
        request,
        "portal_home.html",
        resident=resident,
        masked_id=mask_id_number(resident.id_number),
        card_svg=_qr_svg(payload),
        card_payload=payload,
        wards=service.wards_of(session, actor.subject.resident_id or 0),
        me=actor.subject.resident_id,
        registers=[
            {
                "disease": DISEASES.get(r.disease, r.disease),
                "colour": r.colour,
                "colour_label": COLOURS.get(r.colour or "", "未评估"),
                "next_due_on": r.next_due_on,
            }
            for r in registers_of(session, resident.id)
        ],
        contract=_live_contract(session, resident.id, today),
        bookings=_bookings(session, resident.id, actor),
    )


def _live_contract(session: DbSession, resident_id: int, today: date) -> dict[str, object] | None:
    for contract, team_name, package_name in family_doctor_repository.contracts_of_resident(
        session, resident_id
    ):
        if family_doctor_rules.in_force(contract.start_on, contract.end_on, contract.ended_on, today):
            members = family_doctor_repository.members_of(session, [contract.team_id])
            return {
                "team": team_name,
                "package": package_name,
                "start_on": contract.start_on,
                "end_on": contract.end_on,
                "members": [(name, role) for _, _, name, role in members],
            }
    return None


def _bookings(session: DbSession, resident_id: int, actor: Actor) -> list[dict[str, object]]:
    rows = session.execute(
        select(Booking.id, Booking.status, Slot.starts_at, Schedule.name, Institution.name)
        .join(Slot, Slot.id == Booking.slot_id)
        .join(Schedule, Schedule.id == Slot.schedule_id)
        .join(Institution, Institution.id == Slot.institution_id)
        .where(Booking.resident_id == resident_id, Slot.starts_at >= actor.clock.now() - timedelta(days=30))
        .order_by(Slot.starts_at)
    ).all()
    return [
        {"id": i, "status": status, "starts_at": at, "schedule": schedule, "institution": institution}
        for i, status, at, schedule, institution in rows
    ]


@router.get("/record", response_class=HTMLResponse)
def record(request: Request, actor: PageActor, session: DbSession, person: Id | None = None) -> Response:
    """002 item 39: the whole record is open to the resident — visits, results, referrals."""
    resident = service.portal_person(session, actor, person)
    encounters = encounters_repository.of_resident(session, resident.id, limit=100)
    diagnoses = encounters_repository.diagnoses_of(session, [e.id for e, _ in encounters])
    exams = []
    for order in diagnostics_repository.orders_of_resident(session, resident.id):
        report = diagnostics_repository.report_of(session, order.id)
        exams.append({"order": order, "report": report})
    referrals = session.scalars(
        select(Referral).where(Referral.resident_id == resident.id).order_by(Referral.requested_at.desc())
    ).all()
    actor.record_read(entity="record", resident_ids=[resident.id], detail="portal")
    return render(
        request,
        "portal_record.html",
        resident=resident,
        encounters=[(e, name, diagnoses.get(e.id, [])) for e, name in encounters],
        exams=exams,
        referrals=referrals,
    )


@router.get("/booking", response_class=HTMLResponse)
def booking(
    request: Request,
    actor: PageActor,
    session: DbSession,
    person: Id | None = None,
    day: Day | None = None,
    error: str = "",
    done: str = "",
) -> Response:
    """Public slots of the county's institutions for a day; reserved ones are for grassroots referrals."""
    resident = service.portal_person(session, actor, person)
    now = actor.clock.now()
    open_here = _open_clinic_slots(resident.region_code)
    if day is None:
        # The first day from tomorrow with a place left: tomorrow may be a weekend without clinics.
        first = session.scalar(
            select(func.min(Slot.starts_at))
            .join(Schedule, Schedule.id == Slot.schedule_id)
            .join(Institution, Institution.id == Slot.institution_id)
            .where(*open_here, Slot.starts_at >= _start_of(now.date() + timedelta(days=1)))
        )
        day = first.date() if first is not None else now.date() + timedelta(days=1)
    rows = session.execute(
        select(Slot, Schedule.name, Institution.name, Institution.id)
        .join(Schedule, Schedule.id == Slot.schedule_id)
        .join(Institution, Institution.id == Slot.institution_id)
        .where(
            *open_here,
            Slot.starts_at >= max(now, _start_of(day)),
            Slot.starts_at < _start_of(day + timedelta(days=1)),
        )
        .order_by(Institution.name, Schedule.name, Slot.starts_at)
        .limit(300)
    ).all()
    policies: dict[int, int] = {}
    slots = []
    for slot, schedule_name, institution_name, institution_id in rows:
        if institution_id not in policies:
            institution = session.get(Institution, institution_id)
            assert institution is not None
            policies[institution_id] = scheduling_service.policy_for(
                session, institution, day.year
            ).release_hours
        out = scheduling_service.slot_out(slot, now, policies[institution_id])
        if out.effective_pool == "public":
            slots.append({"slot": out, "schedule": schedule_name, "institution": institution_name})
    return render(
        request,
        "portal_booking.html",
        resident=resident,
        day=day,
        slots=slots,
        bookings=_bookings(session, resident.id, actor),
        error=error,
        done=done,
    )


def _open_clinic_slots(region_code: str) -> list[ColumnElement[bool]]:
    """Published clinic slots with a place left at the institutions of the resident's county."""
    return [
        Institution.region_code == region_code,
        Slot.published.is_(True),
        Slot.booked < Slot.capacity,
        Schedule.kind == "clinic",
    ]


def _start_of(day: date) -> datetime:
    return datetime.combine(day, time.min)


@router.post("/booking")
def book(
    request: Request,
    actor: PageActor,
    session: DbSession,
    csrf: Annotated[str, Form()],
    slot_id: Annotated[Id, Form()],
    person: Annotated[Id, Form()],
) -> Response:
    check_csrf(request, csrf)
    resident = service.portal_person(session, actor, person)
    try:
        with session.begin_nested():
            scheduling_booking.do_book_slot(
                session,
                actor=actor,
                data=BookingIn(slot_id=slot_id, resident_id=resident.id),
                idempotency_key=None,
            )
    except AppError as error:
        message = error.message_for_page()
        return booking(request, actor, session, person=resident.id, error=message)
    return RedirectResponse(f"/portal/booking?person={resident.id}&done=1", status_code=303)


@router.post("/bookings/{booking_id}/cancel")
def cancel(
    request: Request, actor: PageActor, session: DbSession, booking_id: Id, csrf: Annotated[str, Form()]
) -> Response:
    check_csrf(request, csrf)
    existing = scheduling_repository.booking(session, booking_id)
    person = existing.resident_id if existing else None
    try:
        with session.begin_nested():
            scheduling_booking.do_change_booking(session, actor=actor, booking_id=booking_id, action="cancel")
    except AppError as error:
        return booking(request, actor, session, person=person, error=error.message_zh)
    return RedirectResponse(f"/portal/booking?person={person}", status_code=303)


@router.get("/access", response_class=HTMLResponse)
def access_log(request: Request, actor: PageActor, session: DbSession, person: Id | None = None) -> Response:
    """谁看过我的档案: every audited read and change, with who and from which institution."""
    resident = service.portal_person(session, actor, person)
    return render(
        request,
        "portal_access.html",
        resident=resident,
        rows=service.accesses_of(session, actor=actor, resident_id=resident.id),
    )


@router.post("/card/revoke")
def revoke_card(
    request: Request,
    actor: PageActor,
    session: DbSession,
    csrf: Annotated[str, Form()],
    person: Annotated[Id, Form()],
) -> Response:
    check_csrf(request, csrf)
    service.do_revoke_card(session, actor=actor, resident_id=person, reason="居民挂失")
    return RedirectResponse(f"/portal?person={person}", status_code=303)
