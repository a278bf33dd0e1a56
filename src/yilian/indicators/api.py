"""The indicator API and the commission's dashboard (targets in red where missed, drill-down)."""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from yilian.indicators import service
from yilian.web.deps import ApiActor, DbSession, PageActor
from yilian.web.templating import render

router = APIRouter(tags=["indicators"])


@router.get("/api/indicators")
def indicators(
    request: Request, actor: ApiActor, session: DbSession, year: int, county: str | None = None
) -> list[dict[str, Any]]:
    """Every indicator of the catalogue for the year, per county in scope (or per institution of
    `county`), with numerator, denominator, target and whether it is met."""
    values = service.compute(
        session, actor=actor, database_url=request.app.state.db.url, year=year, county=county
    )
    return [
        {k: (str(v) if v is not None and k in ("value", "target") else v) for k, v in asdict(x).items()}
        for x in values
    ]


@router.get("/indicators", response_class=HTMLResponse)
def dashboard(
    request: Request, actor: PageActor, session: DbSession, year: int = 0, county: str = ""
) -> Response:
    year = year or actor.clock.now().year - 1
    values = service.compute(
        session, actor=actor, database_url=request.app.state.db.url, year=year, county=county or None
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
        year=year,
        county=county,
        chart=json.dumps(chart, ensure_ascii=False),
    )
