"""JSON endpoints of the portal: the health card (show, scan, revoke), guardianship, who looked at the
record. The phone pages' own endpoints are in `phone_api` (login, family, record) and `booking_api`."""

from __future__ import annotations

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, Field

from yilian.kit.fields import Day, Id, Offset
from yilian.portal import service
from yilian.portal.schemas import AccessOut, AccessPage
from yilian.residents.schemas import ResidentOut
from yilian.residents.service import present_resident
from yilian.web.deps import ApiActor, DbSession

router = APIRouter(prefix="/api", tags=["portal"])


class CardOut(BaseModel):
    resident_id: int
    version: int
    payload: str


@router.get("/health-card", response_model=CardOut)
def my_card(request: Request, actor: ApiActor, session: DbSession, person: Id | None = None) -> CardOut:
    """The QR payload of the resident's (or a ward's) live card."""
    resident = service.portal_person(session, actor, person)
    card = service.current_card(session, resident=resident, now=actor.clock.now())
    payload = service.card_payload(
        session, resident=resident, now=actor.clock.now(), settings=request.app.state.settings
    )
    return CardOut(resident_id=resident.id, version=card.version, payload=payload)


class ScanIn(BaseModel):
    payload: str = Field(max_length=200)
    purpose: str = Field(description="registration | booking | exam | payment")


@router.post("/health-card/scan", response_model=ResidentOut)
def scan(data: ScanIn, request: Request, actor: ApiActor, session: DbSession) -> ResidentOut:
    """Staff scan a card: a genuine, live card opens its resident if the scanner may see them."""
    resident = service.do_scan_card(
        session, actor=actor, payload=data.payload, purpose=data.purpose, settings=request.app.state.settings
    )
    return present_resident(session, actor=actor, resident=resident)


class RevokeIn(BaseModel):
    reason: str = Field(min_length=2, max_length=100)


@router.post("/residents/{resident_id}/health-card/revoke")
def revoke(resident_id: Id, data: RevokeIn, actor: ApiActor, session: DbSession) -> dict[str, object]:
    card = service.do_revoke_card(session, actor=actor, resident_id=resident_id, reason=data.reason)
    return {"version": card.version, "revoked_at": card.revoked_at}


class GuardianIn(BaseModel):
    guardian_resident_id: Id
    relation: str
    since: Day


@router.post("/residents/{resident_id}/guardians", status_code=201)
def add_guardian(resident_id: Id, data: GuardianIn, actor: ApiActor, session: DbSession) -> dict[str, int]:
    link = service.do_add_guardian(
        session,
        actor=actor,
        ward_id=resident_id,
        guardian_id=data.guardian_resident_id,
        relation=data.relation,
        since=data.since,
    )
    return {"id": link.id}


@router.get("/portal/access", response_model=AccessPage)
def accesses(
    actor: ApiActor,
    session: DbSession,
    person: Id | None = None,
    offset: Offset = 0,
    limit: int = Query(20, ge=1, le=100),
) -> AccessPage:
    """Who looked at the record (the resident's own, or a ward's), newest first, page by page."""
    resident = service.portal_person(session, actor, person)
    total, rows = service.accesses_of(
        session, actor=actor, resident_id=resident.id, offset=offset, limit=limit
    )
    return AccessPage(total=total, offset=offset, limit=limit, items=[AccessOut(**a.__dict__) for a in rows])
