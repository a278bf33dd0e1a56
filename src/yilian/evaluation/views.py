"""The evaluation page: a year's ranking with section subtotals, a chart, and the card history."""

from __future__ import annotations

import json
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import select

from yilian.evaluation import service
from yilian.evaluation.outputs import results_pdf, results_workbook
from yilian.kit.fields import Year
from yilian.models import ScoringScheme
from yilian.web.deps import DbSession, PageActor
from yilian.web.templating import render

router = APIRouter()


@router.get("/evaluation", response_class=HTMLResponse)
def evaluation_page(
    request: Request, actor: PageActor, session: DbSession, code: str = "", year: int = 0
) -> Response:
    codes = sorted(set(session.scalars(select(ScoringScheme.code))))
    code = code or (codes[0] if codes else "")
    year = year or actor.clock.now().year - 1
    data = service.results(session, actor=actor, code=code, year=year) if code else None
    pilots = [r for r in data["ranking"] if r["group"] == "试点"] if data else []
    carded = {c["code"] for c in data["cards"] if c["year"] == year} if data else set()
    chart = {
        "names": [r["name"] for r in pilots],
        "totals": [float(r["total"]) for r in pilots],
        "carded": [r["code"] in carded for r in pilots],
    }
    return render(
        request,
        "evaluation.html",
        codes=codes,
        code=code,
        year=year,
        data=data,
        carded=carded,
        chart=json.dumps(chart, ensure_ascii=False),
    )


@router.get("/evaluation/export.pdf")
def export_pdf(actor: PageActor, session: DbSession, code: str, year: Year) -> Response:
    """The year's evaluation as a PDF to print, sign and file."""
    data = service.results(session, actor=actor, code=code, year=year)
    return Response(
        results_pdf(data),
        media_type="application/pdf",
        headers={
            "Content-Disposition": f"attachment; filename*=UTF-8''{quote(f'{code}-{year}-评价结果.pdf')}"
        },
    )


@router.get("/evaluation/export")
def export(actor: PageActor, session: DbSession, code: str, year: Year) -> Response:
    """The year's evaluation as an Excel workbook to file."""
    data = service.results(session, actor=actor, code=code, year=year)
    return Response(
        results_workbook(data),
        media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        headers={
            "Content-Disposition": f"attachment; filename*=UTF-8''{quote(f'{code}-{year}-评价结果.xlsx')}"
        },
    )
