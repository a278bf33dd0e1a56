"""Pages of referral: a department's incoming referrals with their actions."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from yilian.kit.errors import AppError
from yilian.kit.fields import Id
from yilian.referral import rules, service
from yilian.web.deps import DbSession, PageActor, check_csrf
from yilian.web.templating import render

router = APIRouter()
NEXT_STEPS = {rules.REQUESTED: [rules.ACCEPTED, rules.REJECTED], rules.ACCEPTED: [rules.ARRIVED]}


@router.get("/referrals", response_class=HTMLResponse)
def referrals_page(
    request: Request, actor: PageActor, session: DbSession, box: str = "incoming", error: str = ""
) -> Response:
    box = "outgoing" if box == "outgoing" else "incoming"
    rows = [service.referral_out(session, r) for r in service.inbox(session, actor=actor, box=box)]
    return render(
        request,
        "referrals.html",
        rows=rows,
        box=box,
        labels=rules.LABELS,
        error=error,
        next_steps=NEXT_STEPS if box == "incoming" else {},
    )


@router.post("/referrals/{referral_id}/transition")
def transition(
    request: Request,
    referral_id: Id,
    actor: PageActor,
    session: DbSession,
    csrf: Annotated[str, Form()],
    status: Annotated[str, Form()],
    reason: Annotated[str, Form()] = "",
) -> Response:
    check_csrf(request, csrf)
    try:
        with session.begin_nested():
            referral = service.do_transition(
                session, actor=actor, referral_id=referral_id, target=status, reason=reason or None
            )
            if status == rules.ARRIVED:
                closing = rules.COMPLETED if referral.direction == rules.UP else rules.FOLLOWED_UP
                service.do_transition(
                    session, actor=actor, referral_id=referral_id, target=closing, reason=None
                )
    except AppError as error:
        message = error.message_for_page()
        return referrals_page(request, actor, session, error=message)
    return RedirectResponse("/referrals", status_code=303)
