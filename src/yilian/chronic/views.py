"""Pages of the family doctor: work lists, a resident's chronic-care page with trends, the follow-up form."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from yilian.chronic import repository, rules, service
from yilian.chronic.schemas import VisitIn
from yilian.family_doctor import repository as contracts
from yilian.family_doctor import rules as contract_rules
from yilian.kit.errors import AppError
from yilian.kit.fields import Id
from yilian.residents import service as residents_service
from yilian.web.deps import DbSession, PageActor, check_csrf
from yilian.web.templating import render

router = APIRouter()
LIST_TITLES = {"red": "红色（高危）患者", "overdue": "随访逾期", "unsigned": "应签未签（应签尽签）"}


@router.get("/family-doctor", response_class=HTMLResponse)
def workbench(request: Request, actor: PageActor, session: DbSession, list: str = "red") -> Response:
    kind = list if list in LIST_TITLES else "red"
    today = actor.clock.now().date()
    counts = {k: repository.count_worklist(session, actor.subject, kind=k, today=today) for k in LIST_TITLES}
    items = service.worklist(session, actor=actor, kind=kind)
    return render(
        request,
        "family_doctor.html",
        kind=kind,
        titles=LIST_TITLES,
        counts=counts,
        items=items,
        figures=service.figures(session, actor=actor),
        labels=rules.DISEASE_LABELS,
        colour_labels=rules.COLOUR_LABELS,
    )


@router.get("/residents/{resident_id}/chronic", response_class=HTMLResponse)
def chronic_page(
    request: Request, resident_id: Id, actor: PageActor, session: DbSession, error: str = ""
) -> Response:
    resident = residents_service.access_resident(session, actor, resident_id)
    record = service.record_of(session, resident=resident, today=actor.clock.now().date())
    trend = sorted(record.visits, key=lambda v: (v.visited_on, v.id))
    history = contracts.contracts_of_resident(session, resident.id)
    trend_rows = [
        {"d": v.visited_on.isoformat(), "s": v.sbp, "p": v.dbp, "g": v.fasting_glucose} for v in trend
    ]
    return render(
        request,
        "chronic.html",
        resident=resident,
        record=record,
        trend_rows=trend_rows,
        contracts=history,
        # A contract shows expired once its end has passed, whatever its stored status.
        contract_states={
            c.id: contract_rules.contract_state(c.status, c.end_on, actor.clock.now().date())
            for c, _, _ in history
        },
        labels=rules.DISEASE_LABELS,
        colour_labels=rules.COLOUR_LABELS,
        level_labels=rules.LEVEL_LABELS,
        today=actor.clock.now().date(),
        error=error,
    )


def _number(value: str) -> float | None:
    value = value.strip()
    return float(value) if value else None


def _whole(value: str) -> int | None:
    number = _number(value)
    return None if number is None else int(round(number))


@router.post("/residents/{resident_id}/chronic/visits")
def record_visit(
    request: Request,
    resident_id: Id,
    actor: PageActor,
    session: DbSession,
    csrf: Annotated[str, Form()],
    visited_on: Annotated[date, Form()],
    sbp: Annotated[str, Form()] = "",
    dbp: Annotated[str, Form()] = "",
    fasting_glucose: Annotated[str, Form()] = "",
    weight_kg: Annotated[str, Form()] = "",
    adherence: Annotated[str, Form()] = "规律",
) -> Response:
    check_csrf(request, csrf)
    try:
        data = VisitIn(
            resident_id=resident_id,
            visited_on=visited_on,
            sbp=_whole(sbp),
            dbp=_whole(dbp),
            fasting_glucose=_number(fasting_glucose),
            weight_kg=_number(weight_kg),
            adherence=adherence,
        )
        with session.begin_nested():
            service.do_record_visit(session, actor=actor, data=data)
    except AppError as error:
        details = error.message_for_page()
        return chronic_page(request, resident_id, actor, session, error=details)
    except ValueError:
        return chronic_page(
            request, resident_id, actor, session, error="测量值须为数字 / measurements must be numbers"
        )
    return RedirectResponse(f"/residents/{resident_id}/chronic", status_code=303)
