"""Pages of the shared centres (ordering with the recognition prompt is the staff app's screen): the
township's results and uploads, the centre's reading worklist and report editor, and the centre dashboard."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import select

from yilian.auth import scoping
from yilian.auth.context import Actor
from yilian.diagnostics import figures, ingest, quarantine, reading, repository, rules, service
from yilian.diagnostics.schemas import ReportIn
from yilian.kit.errors import AppError
from yilian.kit.fields import Day, Id
from yilian.models import Consortium, Institution
from yilian.web.deps import DbSession, PageActor, check_csrf
from yilian.web.templating import render

router = APIRouter(prefix="/diagnostics")


def _institution_names(session: DbSession, ids: set[int]) -> dict[int, str]:
    return dict(
        session.execute(select(Institution.id, Institution.name).where(Institution.id.in_(ids))).all()
    )  # type: ignore[arg-type]


@router.get("/results", response_class=HTMLResponse)
def results_page(
    request: Request,
    actor: PageActor,
    session: DbSession,
    status: str = "",
    notice: str = "",
    error: str = "",
) -> Response:
    rows = reading.results(session, actor=actor, status=status or None)
    alerts = repository.open_alerts(session, actor.subject.institution_id or 0)
    return render(
        request,
        "diagnostics_results.html",
        rows=rows,
        alerts=alerts,
        status=status,
        labels=rules.ORDER_LABELS,
        notice=notice,
        error=error,
        quarantine=quarantine.quarantine_list(session, actor=actor, include_resolved=False),
    )


@router.post("/upload")
def upload(
    request: Request,
    actor: PageActor,
    session: DbSession,
    csrf: Annotated[str, Form()],
    files: Annotated[list[UploadFile], File()],
) -> Response:
    """The township sends the images it took: filed against their orders, or quarantined with the reason."""
    check_csrf(request, csrf)
    incoming = [ingest.IncomingFile(f.filename or "upload.dcm", data=f.file.read()) for f in files]
    result = ingest.ingest(
        session, actor=actor, files=incoming, store_root=Path(request.app.state.settings.dicom_dir)
    )
    notice = (
        f"收到{result.received}个文件：归档{result.filed}个，重复{result.duplicates}个，"
        f"隔离{result.quarantined}个；{result.orders_acquired}张检查单已送达影像中心"
    )
    return results_page(request, actor, session, notice=notice)


@router.get("/worklist", response_class=HTMLResponse)
def worklist_page(
    request: Request, actor: PageActor, session: DbSession, status: str = "acquired"
) -> Response:
    status = status if status in (rules.ORDERED, rules.ACQUIRED) else rules.ACQUIRED
    rows = reading.worklist(session, actor=actor, status=status)
    names = _institution_names(session, {r.ordering_institution_id for r in rows})
    return render(
        request, "diagnostics_worklist.html", rows=rows, status=status, names=names, now=actor.clock.now()
    )


@router.get("/orders/{order_id}", response_class=HTMLResponse)
def order_page(
    request: Request, actor: PageActor, session: DbSession, order_id: Id, error: str = "", reused: int = 0
) -> Response:
    detail = reading.read_order(session, actor=actor, order_id=order_id)
    centre = repository.centre(session, detail.centre_id)
    assert centre is not None
    is_reader = (
        actor.subject.role in service.READERS and actor.subject.institution_id == centre.host_institution_id
    )
    names = _institution_names(session, {detail.ordering_institution_id, centre.host_institution_id})
    return render(
        request,
        "diagnostics_order_detail.html",
        o=detail,
        centre=centre,
        names=names,
        can_report=is_reader and detail.status == rules.ACQUIRED,
        can_acknowledge=actor.subject.institution_id == detail.ordering_institution_id,
        error=error,
        reused=reused,
    )


@router.post("/orders/{order_id}/report")
def report(
    request: Request,
    actor: PageActor,
    session: DbSession,
    order_id: Id,
    csrf: Annotated[str, Form()],
    findings: Annotated[str, Form()],
    impression: Annotated[str, Form()],
    is_critical: Annotated[bool, Form()] = False,
    critical_note: Annotated[str, Form()] = "",
) -> Response:
    check_csrf(request, csrf)
    try:
        with session.begin_nested():
            service.do_report(
                session,
                actor=actor,
                order_id=order_id,
                data=ReportIn(
                    findings=findings,
                    impression=impression,
                    is_critical=is_critical,
                    critical_note=critical_note or None,
                ),
            )
    except AppError as error:
        return order_page(request, actor, session, order_id, error=error.message_for_page(fields=True))
    return RedirectResponse("/diagnostics/worklist", status_code=303)


@router.post("/orders/{order_id}/acquired")
def acquired(
    request: Request, actor: PageActor, session: DbSession, order_id: Id, csrf: Annotated[str, Form()]
) -> Response:
    check_csrf(request, csrf)
    try:
        with session.begin_nested():
            service.do_mark_acquired(session, actor=actor, order_id=order_id)
    except AppError as error:
        return order_page(request, actor, session, order_id, error=error.message_for_page(fields=True))
    return RedirectResponse(f"/diagnostics/orders/{order_id}", status_code=303)


@router.post("/alerts/{alert_id}/acknowledge")
def acknowledge(
    request: Request,
    actor: PageActor,
    session: DbSession,
    alert_id: Id,
    csrf: Annotated[str, Form()],
    action_taken: Annotated[str, Form()],
) -> Response:
    check_csrf(request, csrf)
    try:
        with session.begin_nested():
            alert = service.do_acknowledge(session, actor=actor, alert_id=alert_id, action_taken=action_taken)
    except AppError as error:
        return results_page(request, actor, session, error=error.message_for_page(fields=True))
    return RedirectResponse(f"/diagnostics/orders/{alert.order_id}", status_code=303)


def _default_consortium(session: DbSession, actor: Actor) -> int | None:
    if actor.subject.institution_id:
        return service.orderer_consortium(session, actor)
    return scoping.home_consortium(session, actor.subject)


@router.get("/dashboard", response_class=HTMLResponse)
def dashboard(
    request: Request,
    actor: PageActor,
    session: DbSession,
    consortium_id: Id | None = None,
    start: Day | None = None,
    end: Day | None = None,
) -> Response:
    today = actor.clock.now().date()
    start = start or date(today.year, 1, 1)
    end = end or today
    consortium_id = consortium_id or _default_consortium(session, actor)
    data = (
        figures.centre_figures(session, actor=actor, consortium_id=consortium_id, start=start, end=end)
        if consortium_id
        else None
    )
    consortium = session.get(Consortium, consortium_id) if consortium_id else None
    chart = (
        {
            "coverage": [
                {"name": c.kind_label, "value": round((c.share or 0) * 100, 1)} for c in data.coverage
            ],
            "months": list(data.monthly),
            "volumes": list(data.monthly.values()),
        }
        if data
        else {}
    )
    return render(
        request,
        "diagnostics_dashboard.html",
        data=data,
        consortium=consortium,
        start=start,
        end=end,
        chart=json.dumps(chart, ensure_ascii=False),
        modality_names={k: v[1] for k, v in rules.MODALITIES.items()},
    )
