"""The residents' phone pages (frontend/src/portal, served at /m/): sign in with a phone code, the
people the account may act for, the health card, and the record — visits, reports, prescriptions,
referrals — in words, page by page."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response
from pydantic import BaseModel

from yilian.chronic.repository import registers_of
from yilian.diagnostics.rules import ORDER_LABELS
from yilian.encounters import icd10
from yilian.encounters import repository as encounters_repository
from yilian.encounters.rules import KIND_LABELS
from yilian.family_doctor import repository as family_doctor_repository
from yilian.family_doctor import rules as family_doctor_rules
from yilian.kit.errors import ValidationFailed
from yilian.kit.fields import Id, Offset
from yilian.models import Resident
from yilian.portal import repository, rules, service
from yilian.portal.schemas import (
    PortalCardOut,
    PortalChronicOut,
    PortalCodeIn,
    PortalContractOut,
    PortalDrugOut,
    PortalFamilyOut,
    PortalLoginIn,
    PortalPersonOut,
    PortalPrescriptionOut,
    PortalPrescriptionPage,
    PortalReferralOut,
    PortalReferralPage,
    PortalReportOut,
    PortalReportPage,
    PortalVisitOut,
    PortalVisitPage,
)
from yilian.referral import repository as referral_repository
from yilian.referral.rules import LABELS as REFERRAL_LABELS
from yilian.residents.rules import age_on
from yilian.web.auth_api import SessionOut
from yilian.web.deps import ApiActor, DbSession, set_session_cookie

router = APIRouter(prefix="/api/portal", tags=["portal"])
Limit = Annotated[int, Query(ge=1, le=50)]


def _json_only(request: Request) -> None:
    """A cross-site form cannot post JSON without the browser asking first (CORS), so a JSON-only
    login endpoint needs no separate login CSRF token (as /api/auth/session, decision 0026)."""
    if "application/json" not in request.headers.get("content-type", ""):
        raise ValidationFailed.one("body", "请以JSON提交", "send the request as JSON")


class CodeSent(BaseModel):
    resend_after_seconds: int
    valid_minutes: int


@router.post("/login/code", response_model=CodeSent)
def send_code(data: PortalCodeIn, request: Request, session: DbSession) -> CodeSent:
    """Text a six-digit code to the phone (after commit): one a minute, five an hour per phone, sent
    whether or not a resident has the number."""
    _json_only(request)
    state = request.app.state
    service.do_send_code(
        session, phone=data.phone, now=state.clock.now(), settings=state.settings, sender=state.sms
    )
    return CodeSent(
        resend_after_seconds=int(rules.RESEND_AFTER.total_seconds()),
        valid_minutes=int(rules.CODE_TTL.total_seconds() // 60),
    )


@router.post("/session", response_model=SessionOut)
def open_session(data: PortalLoginIn, request: Request, response: Response, session: DbSession) -> SessionOut:
    """Sign in: the code proves the phone, the ID number binds it to the resident registered with it.
    A wrong code counts (five and the code is spent); the session is the staff one's, HttpOnly."""
    _json_only(request)
    state = request.app.state
    result = service.do_portal_login(
        session,
        phone=data.phone,
        code=data.code,
        id_number=data.id_number,
        now=state.clock.now(),
        settings=state.settings,
    )
    set_session_cookie(response, result.session_token, secure=state.settings.secure_cookies)
    user = result.user
    return SessionOut(
        username=user.username,
        display_name=user.display_name,
        role=user.role,
        institution_id=None,
        consortium_id=None,
        region_code=None,
        resident_id=user.resident_id,
        csrf_token=result.csrf_token,
    )


def _person(resident: Resident, relation: str, today: date) -> PortalPersonOut:
    return PortalPersonOut(
        id=resident.id,
        name=resident.name,
        relation=relation,
        masked_id_number=service.masked(resident),
        sex="男" if resident.sex == "M" else "女",
        age=age_on(resident.birth_date, today),
    )


@router.get("/family", response_model=PortalFamilyOut)
def family(actor: ApiActor, session: DbSession) -> PortalFamilyOut:
    """The account's own person and the family members it acts for (guardianships the clinic registered)."""
    me = service.portal_person(session, actor, None)
    today = actor.clock.now().date()
    own = _person(me, "本人", today)
    wards = [
        _person(r, rules.ward_seen_as(relation), today) for r, relation in service.wards_of(session, me.id)
    ]
    return PortalFamilyOut(me=own, people=[own, *wards])


def _relation(session: DbSession, actor: ApiActor, resident: Resident) -> str:
    if resident.id == actor.subject.resident_id:
        return "本人"
    return next(
        (
            rules.ward_seen_as(rel)
            for r, rel in service.wards_of(session, actor.subject.resident_id or 0)
            if r.id == resident.id
        ),
        "",
    )


@router.get("/card", response_model=PortalCardOut)
def card(request: Request, actor: ApiActor, session: DbSession, person: Id | None = None) -> PortalCardOut:
    """The home page: the health card's QR code, the family doctor, chronic care, bookings ahead."""
    resident = service.portal_person(session, actor, person)
    now = actor.clock.now()
    issued = service.current_card(session, resident=resident, now=now)
    payload = service.card_payload(session, resident=resident, now=now, settings=request.app.state.settings)
    contract = None
    for c, team, package in family_doctor_repository.contracts_of_resident(session, resident.id):
        if family_doctor_rules.in_force(c.start_on, c.end_on, c.ended_on, now.date()):
            members = family_doctor_repository.members_of(session, [c.team_id])
            contract = PortalContractOut(
                team=team,
                package=package,
                start_on=c.start_on,
                end_on=c.end_on,
                members=[f"{name}（{role}）" for _, _, name, role in members],
            )
            break
    _, ahead, _ = repository.bookings(session, resident.id, now, 0, 1)
    actor.record_read(entity="health_card", resident_ids=[resident.id], detail="portal")
    return PortalCardOut(
        person=_person(resident, _relation(session, actor, resident), now.date()),
        version=issued.version,
        payload=payload,
        qr=service.qr_svg_data_url(payload),
        card_no=resident.health_card_no,
        contract=contract,
        chronic=[
            PortalChronicOut(
                disease=rules.DISEASES.get(r.disease, "慢病"),
                colour=r.colour,
                colour_label=rules.COLOURS.get(r.colour or "", "未评估"),
                next_due_on=r.next_due_on,
            )
            for r in registers_of(session, resident.id)
        ],
        upcoming_bookings=ahead,
    )


def _diagnosis(code: str) -> str:
    """The diagnosis in words; a code the catalogue does not name stays as written by the doctor."""
    return icd10.NAMES.get(code.strip(), code.strip())


def _yuan(fen: int) -> str:
    return f"{fen / 100:.2f}"


@router.get("/record/visits", response_model=PortalVisitPage)
def record_visits(
    actor: ApiActor, session: DbSession, person: Id | None = None, offset: Offset = 0, limit: Limit = 10
) -> PortalVisitPage:
    """002 item 39: the whole record is open to the resident. Visits, newest first."""
    resident = service.portal_person(session, actor, person)
    total, rows = repository.visits(session, resident.id, offset, limit)
    diagnoses = encounters_repository.diagnoses_of(session, [e.id for e, _, _ in rows])
    actor.record_read(entity="record", resident_ids=[resident.id], detail="portal visits")
    return PortalVisitPage(
        total=total,
        offset=offset,
        limit=limit,
        items=[
            PortalVisitOut(
                id=e.id,
                day=e.start_date,
                until=e.end_date,
                kind=KIND_LABELS.get(e.kind, "就诊"),
                institution=institution,
                department=department,
                diagnoses=[_diagnosis(c) for c in diagnoses.get(e.id, [])],
                total_yuan=_yuan(e.total_fen),
                fund_yuan=_yuan(e.fund_fen),
            )
            for e, institution, department in rows
        ],
    )


@router.get("/record/reports", response_model=PortalReportPage)
def record_reports(
    actor: ApiActor, session: DbSession, person: Id | None = None, offset: Offset = 0, limit: Limit = 10
) -> PortalReportPage:
    """Exams and tests with their results, newest first."""
    resident = service.portal_person(session, actor, person)
    total, rows = repository.reports(session, resident.id, offset, limit)
    actor.record_read(entity="record", resident_ids=[resident.id], detail="portal reports")
    return PortalReportPage(
        total=total,
        offset=offset,
        limit=limit,
        items=[
            PortalReportOut(
                id=order.id,
                ordered_at=order.ordered_at,
                item=order.item_name,
                status=ORDER_LABELS.get(order.status, "处理中"),
                ordered_by=institution,
                reported_at=report.reported_at if report else None,
                impression=report.impression if report else None,
                findings=report.findings if report else None,
                critical=bool(report and report.is_critical),
            )
            for order, report, institution in rows
        ],
    )


@router.get("/record/prescriptions", response_model=PortalPrescriptionPage)
def record_prescriptions(
    actor: ApiActor, session: DbSession, person: Id | None = None, offset: Offset = 0, limit: Limit = 10
) -> PortalPrescriptionPage:
    """Prescriptions with their drugs and how to take them, newest first."""
    resident = service.portal_person(session, actor, person)
    total, rows = repository.prescriptions(session, resident.id, offset, limit)
    drugs = repository.drugs_of(session, [p.id for p, _ in rows])
    actor.record_read(entity="record", resident_ids=[resident.id], detail="portal prescriptions")
    return PortalPrescriptionPage(
        total=total,
        offset=offset,
        limit=limit,
        items=[
            PortalPrescriptionOut(
                id=p.id,
                day=p.prescribed_on,
                institution=institution,
                diagnosis=_diagnosis(p.diagnosis),
                days=p.days,
                long_term=p.is_long,
                drugs=[
                    PortalDrugOut(
                        name=drug.name,
                        specification=drug.specification,
                        usage=f"每日{item.daily_dose:g}{drug.unit}",
                        quantity=f"{item.quantity}{drug.unit}",
                    )
                    for item, drug in drugs[p.id]
                ],
            )
            for p, institution in rows
        ],
    )


@router.get("/record/referrals", response_model=PortalReferralPage)
def record_referrals(
    actor: ApiActor, session: DbSession, person: Id | None = None, offset: Offset = 0, limit: Limit = 10
) -> PortalReferralPage:
    """Referrals up to the county and back down, newest first."""
    resident = service.portal_person(session, actor, person)
    total, rows = referral_repository.of_resident(
        session, actor.subject, resident.id, offset=offset, limit=limit
    )
    related = referral_repository.related(session, rows)
    actor.record_read(entity="record", resident_ids=[resident.id], detail="portal referrals")
    return PortalReferralPage(
        total=total,
        offset=offset,
        limit=limit,
        items=[
            PortalReferralOut(
                id=r.id,
                requested_at=r.requested_at,
                direction="上转（转往上级医院）" if r.direction == "up" else "下转（回基层康复随访）",
                status=REFERRAL_LABELS.get(r.status, "处理中"),
                from_institution=related[r.id].from_institution_name,
                to_institution=related[r.id].to_institution_name,
                diagnoses=[_diagnosis(c) for c in r.diagnoses.split(",") if c.strip()],
                summary=r.summary,
            )
            for r in rows
        ],
    )
