"""Pages of the shared centres: ordering (with the recognition prompt). The results, uploads, reading
worklist, report editor and dashboard are screens of the staff front end (frontend/src/staff)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import select

from yilian.auth.context import Actor
from yilian.diagnostics import recognition, service
from yilian.diagnostics.schemas import OrderIn
from yilian.kit.errors import AppError
from yilian.kit.fields import Id
from yilian.models import Institution
from yilian.residents.service import access_resident
from yilian.web.deps import DbSession, PageActor, check_csrf
from yilian.web.templating import render

router = APIRouter(prefix="/diagnostics")


def _institution_names(session: DbSession, ids: set[int]) -> dict[int, str]:
    return dict(
        session.execute(select(Institution.id, Institution.name).where(Institution.id.in_(ids))).all()
    )  # type: ignore[arg-type]


@router.get("/order", response_class=HTMLResponse)
def order_form(request: Request, actor: PageActor, session: DbSession, resident_id: Id) -> Response:
    return _order_form(request, actor, session, resident_id)


def _order_form(
    request: Request,
    actor: Actor,
    session: DbSession,
    resident_id: Id,
    error: str = "",
    prompt: dict[str, object] | None = None,
    chosen: dict[str, str] | None = None,
) -> Response:
    resident = access_resident(session, actor, resident_id)
    consortium_id = service.orderer_consortium(session, actor)
    return render(
        request,
        "diagnostics_order.html",
        resident=resident,
        items=recognition.catalogue(session, consortium_id),
        error=error,
        prompt=prompt,
        chosen=chosen or {},
    )


@router.post("/order")
def order(
    request: Request,
    actor: PageActor,
    session: DbSession,
    csrf: Annotated[str, Form()],
    resident_id: Annotated[Id, Form()],
    item_code: Annotated[str, Form()],
    clinical_note: Annotated[str, Form()] = "",
    urgent: Annotated[bool, Form()] = False,
    repeat_reason: Annotated[str, Form()] = "",
) -> Response:
    check_csrf(request, csrf)
    chosen = {"item_code": item_code, "clinical_note": clinical_note}
    try:
        with session.begin_nested():
            placed = service.do_order_exam(
                session,
                actor=actor,
                data=OrderIn(
                    resident_id=resident_id,
                    item_code=item_code,
                    clinical_note=clinical_note,
                    urgent=urgent,
                    repeat_reason=repeat_reason or None,
                ),
            )
    except service.RecognisedResultExists as exists:
        return _order_form(request, actor, session, resident_id, prompt=exists.result, chosen=chosen)
    except AppError as error:
        return _order_form(
            request, actor, session, resident_id, error=error.message_for_page(fields=True), chosen=chosen
        )
    return RedirectResponse(f"/app/print/exam-report/{placed.id}", status_code=303)


@router.post("/reuse")
def reuse(
    request: Request,
    actor: PageActor,
    session: DbSession,
    csrf: Annotated[str, Form()],
    resident_id: Annotated[Id, Form()],
    item_code: Annotated[str, Form()],
) -> Response:
    """The doctor takes the recognised result: back to the results with the repeat avoided."""
    check_csrf(request, csrf)
    consortium_id = service.orderer_consortium(session, actor)
    access_resident(session, actor, resident_id)
    event = recognition.do_reuse(
        session, actor=actor, consortium_id=consortium_id, resident_id=resident_id, item_code=item_code
    )
    return RedirectResponse(f"/app/print/exam-report/{event.prior_order_id}", status_code=303)
