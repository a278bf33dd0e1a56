"""HTML pages of residents: search and the resident page (both audited)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from yilian.encounters import service as encounters_service
from yilian.kit.fields import Id, Offset
from yilian.models import Referral
from yilian.referral.service import referral_out
from yilian.residents import service
from yilian.web.deps import DbSession, PageActor
from yilian.web.templating import render

router = APIRouter()


@router.get("/residents", response_class=HTMLResponse)
def search(
    request: Request, actor: PageActor, session: DbSession, q: str = "", offset: Offset = 0
) -> Response:
    # An empty query lists the residents the user serves ("my residents"), a page at a time.
    page = service.search_residents(session, actor=actor, query=q, offset=offset, limit=20)
    return render(request, "residents.html", q=q, page=page)


@router.get("/residents/{resident_id}", response_class=HTMLResponse)
def resident(request: Request, resident_id: Id, actor: PageActor, session: DbSession) -> Response:
    resident = service.access_resident(session, actor, resident_id)
    return render(
        request,
        "resident.html",
        resident=service.present_resident(session, actor=actor, resident=resident),
        encounters=encounters_service.history(session, resident=resident),
        referrals=referral_history(session, resident.id),
    )


def referral_history(session: DbSession, resident_id: int) -> list[object]:
    """A resident's referrals (call only for a resident opened through `access_resident`)."""
    from sqlalchemy import select

    rows = session.scalars(
        select(Referral).where(Referral.resident_id == resident_id).order_by(Referral.requested_at.desc())
    )
    return [referral_out(session, r) for r in rows]
