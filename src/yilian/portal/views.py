"""The registration desk's card scan on the staff residents' page (a Jinja page until it is replaced).

The residents' own pages moved to the phone app (frontend/src/portal, served at /m/ by web/frontend.py;
old /portal addresses redirect there)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from yilian.kit.errors import AppError
from yilian.portal import service
from yilian.web.deps import DbSession, PageActor, check_csrf
from yilian.web.templating import render

# The registration desk: staff scan a resident's health card (or type the code under it).
desk = APIRouter()


@desk.post("/health-card/scan")
def desk_scan(
    request: Request,
    actor: PageActor,
    session: DbSession,
    csrf: Annotated[str, Form()],
    payload: Annotated[str, Form()],
    purpose: Annotated[str, Form()] = "registration",
) -> Response:
    check_csrf(request, csrf)
    try:
        resident = service.do_scan_card(
            session, actor=actor, payload=payload, purpose=purpose, settings=request.app.state.settings
        )
    except AppError as error:
        return render(
            request, "residents.html", q="", page=None, scan_error=error.message_zh, status_code=error.status
        )
    return RedirectResponse(f"/residents/{resident.id}", status_code=303)
