"""JSON endpoints of two-way referral."""

from __future__ import annotations

from fastapi import APIRouter, Header, Query

from yilian.kit.fields import Day, Id
from yilian.referral import service, slip
from yilian.referral.schemas import (
    DiagnosisOption,
    ReferralFigures,
    ReferralIn,
    ReferralOut,
    ReferralPage,
    ReferralSlip,
    ReferralTarget,
    TransitionIn,
)
from yilian.web.deps import ApiActor, DbSession

router = APIRouter(prefix="/api", tags=["referral"])


@router.post("/referrals", response_model=ReferralOut, status_code=201)
def request_referral(
    data: ReferralIn,
    actor: ApiActor,
    session: DbSession,
    idempotency_key: str | None = Header(default=None, max_length=64),
) -> ReferralOut:
    referral = service.do_request_referral(session, actor=actor, data=data, idempotency_key=idempotency_key)
    return service.referral_out(session, referral)


@router.get("/referrals/targets", response_model=list[ReferralTarget])
def targets(actor: ApiActor, session: DbSession) -> list[ReferralTarget]:
    """County institutions of the caller's consortia and their clinic departments (upward referral)."""
    return slip.targets(session, actor=actor)


@router.get("/referrals/diagnoses", response_model=list[DiagnosisOption])
def diagnoses(actor: ApiActor, q: str = Query("", max_length=32)) -> list[DiagnosisOption]:
    """Diagnoses by words or code, for the referral form."""
    return slip.diagnoses(q)


@router.get("/referrals/{referral_id}/slip", response_model=ReferralSlip)
def referral_slip(referral_id: Id, actor: ApiActor, session: DbSession) -> ReferralSlip:
    """The 双向转诊单 to print: the referral, the patient with the ID number masked, the doctor."""
    return slip.slip(session, actor=actor, referral_id=referral_id)


@router.post("/referrals/{referral_id}/transition", response_model=ReferralOut)
def transition(referral_id: Id, data: TransitionIn, actor: ApiActor, session: DbSession) -> ReferralOut:
    referral = service.do_transition(
        session, actor=actor, referral_id=referral_id, target=data.status, reason=data.reason
    )
    return service.referral_out(session, referral)


@router.get("/referrals", response_model=ReferralPage)
def referrals(
    actor: ApiActor,
    session: DbSession,
    box: str = Query("incoming", pattern="^(incoming|outgoing)$"),
    status: str | None = None,
    offset: int = Query(0, ge=0, le=10_000_000),
    limit: int = Query(20, ge=1, le=200),
) -> ReferralPage:
    """One page of the institution's incoming or outgoing referrals, newest first, filtered by
    status; `total` counts the whole filtered box."""
    total, rows = service.inbox_page(session, actor=actor, box=box, status=status, offset=offset, limit=limit)
    return ReferralPage(items=service.referrals_out(session, rows), total=total, offset=offset, limit=limit)


@router.get("/residents/{resident_id}/referrals", response_model=list[ReferralOut])
def history(resident_id: Id, actor: ApiActor, session: DbSession) -> list[ReferralOut]:
    """The resident's referrals, newest first."""
    _, rows = service.resident_referrals(session, actor=actor, resident_id=resident_id)
    return service.referrals_out(session, rows)


@router.get("/referrals/figures", response_model=ReferralFigures)
def figures(
    actor: ApiActor,
    session: DbSession,
    start: Day,
    end: Day,
    institution_id: Id | None = None,
    decision_target_hours: float = Query(default=24.0, gt=0, le=24 * 30),
) -> ReferralFigures:
    """Counts, acceptance, timeliness (median and 90th-percentile hours to a decision, the share
    decided within the target, hours from acceptance to arrival, overdue downward follow-ups)."""
    return service.figures(
        session,
        actor=actor,
        start=start,
        end=end,
        institution_id=institution_id,
        decision_target_hours=decision_target_hours,
    )
