"""The indicator API and the commission's dashboard (targets in red where missed, drill-down)."""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import Any

from fastapi import APIRouter, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import select

from yilian.auth import rules as roles
from yilian.indicators import figures, service
from yilian.indicators.catalogue import parse_period
from yilian.kit.errors import AppError, Forbidden, ValidationFailed
from yilian.kit.fields import Year
from yilian.models import Institution, User
from yilian.web.deps import ApiActor, DbSession, PageActor, PostedForm, check_csrf
from yilian.web.templating import render

router = APIRouter(tags=["indicators"])


@router.get("/api/indicators")
def indicators(
    request: Request,
    actor: ApiActor,
    session: DbSession,
    year: Year | None = None,
    period: str | None = None,
    level: str = "county",
    county: str | None = None,
) -> list[dict[str, Any]]:
    """Every indicator of the catalogue for a year or `period` (2025, 2025-Q3, 2025-07), per county in
    scope, per medical community (`level=consortium`), or per institution of `county`, with
    numerator, denominator, target and whether it is met, and the period each value is for
    (`period`, `period_start`, `period_end`, and `as_of`: the last day the data cover)."""
    if year is None and period is None:
        raise ValidationFailed.one("period", "请指定年度或期间", "give a year or a period")
    values = service.compute(
        session,
        actor=actor,
        database_url=request.app.state.db.url,
        year=year,
        period=period,
        county=county,
        level=level,
    )
    return [
        {
            k: (str(v) if v is not None and k in ("value", "target", "target_max") else v)
            for k, v in asdict(x).items()
        }
        for x in values
    ]


@router.get("/indicators", response_class=HTMLResponse)
def dashboard(
    request: Request,
    actor: PageActor,
    session: DbSession,
    period: str = "",
    county: str = "",
    level: str = "county",
) -> Response:
    period = period or str(actor.clock.now().year)  # the year so far; quarters and months by choice
    span = parse_period(period)
    values = service.compute(
        session,
        actor=actor,
        database_url=request.app.state.db.url,
        period=period,
        county=county or None,
        level=level,
    )
    chart = [
        {
            "name": f"{v.name}（{v.unit_name}）",
            "value": float(v.value) if v.value is not None else None,
            "target": float(v.target) if v.target is not None else None,
            "met": v.met,
        }
        for v in values
    ]
    return render(
        request,
        "indicators.html",
        values=values,
        period=period,
        span=span,
        as_of=service.as_of(span, actor.clock.now().date()),
        county=county,
        level=level,
        chart=json.dumps(chart, ensure_ascii=False),
    )


@router.post("/api/figures", status_code=201)
def import_figures(file: UploadFile, actor: ApiActor, session: DbSession) -> dict[str, int]:
    """机构编码, 年度, 项目, 金额(元): all rows or none."""
    return {
        "saved": figures.do_import(session, actor=actor, filename=file.filename or "", data=file.file.read())
    }


@router.get("/figures", response_class=HTMLResponse)
def figures_page(
    request: Request, actor: PageActor, session: DbSession, year: int = 0, error: str = ""
) -> Response:
    """An institution's yearly figures, with who entered each and when."""
    year = year or actor.clock.now().year - 1
    institution_id = actor.subject.institution_id
    if actor.subject.role != roles.INSTITUTION_ADMIN or institution_id is None:
        raise Forbidden("本页供机构管理员填报本机构数据", "This page is for institution administrators")
    institution = session.get(Institution, institution_id)
    stored = figures.entered(session, institution_id=institution_id, year=year)
    users = {
        u.id: u.display_name
        for u in session.scalars(
            select(User).where(User.id.in_([f.entered_by for f in stored.values() if f.entered_by]))
        )
    }
    return render(
        request,
        "figures.html",
        year=year,
        institution=institution,
        catalogue=figures.figures(),
        stored=stored,
        users=users,
        error=error,
    )


@router.post("/figures")
def save_figures(request: Request, actor: PageActor, session: DbSession, form: PostedForm) -> Response:
    check_csrf(request, str(form.get("csrf", "")))
    year = int(str(form.get("year", "0")) or 0)
    institution = session.get(Institution, actor.subject.institution_id or 0)
    entries = [
        figures.Entry(institution.code if institution else "", year, f.code, str(form.get(f.code, "")))
        for f in figures.figures()
        if str(form.get(f.code, "")).strip()
    ]
    try:
        with session.begin_nested():
            figures.do_enter(session, actor=actor, entries=entries)
    except AppError as error:
        message = error.message_for_page()
        return figures_page(request, actor, session, year=year, error=message)
    return RedirectResponse(f"/figures?year={year}", status_code=303)
