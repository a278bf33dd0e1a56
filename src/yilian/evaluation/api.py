"""JSON endpoints of evaluation: import a scheme version, units and scores; run a year; read results."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Form, Request, UploadFile
from fastapi.responses import Response

from yilian.evaluation import intake, service
from yilian.evaluation.outputs import results_pdf, results_workbook
from yilian.kit.fields import Day, Year
from yilian.kit.tabular import XLSX_MEDIA_TYPE
from yilian.web.deps import ApiActor, DbSession

router = APIRouter(prefix="/api/evaluation", tags=["evaluation"])


@router.post("/schemes", status_code=201)
def import_scheme(
    file: UploadFile,
    code: Annotated[str, Form()],
    name: Annotated[str, Form()],
    version: Annotated[str, Form()],
    actor: ApiActor,
    session: DbSession,
) -> dict[str, Any]:
    """A sheet laid out like 002 annex 1 (序号, 监测评价内容, 权重; section rows; bonus rules in the text)."""
    row = intake.do_import_scheme(
        session,
        actor=actor,
        filename=file.filename or "",
        data=file.file.read(),
        code=code,
        name=name,
        version=version,
    )
    return {
        "code": row.code,
        "version": row.version,
        "total": str(row.total_points),
        "bonus_cap": str(row.bonus_cap),
    }


@router.post("/{code}/units", status_code=201)
def register_units(
    code: str, year: Year, file: UploadFile, actor: ApiActor, session: DbSession
) -> dict[str, int]:
    count = intake.do_register_units(
        session, actor=actor, programme=code, filename=file.filename or "", data=file.file.read(), year=year
    )
    return {"units": count}


@router.post("/{code}/scores", status_code=201)
def import_scores(
    code: str, year: Year, file: UploadFile, actor: ApiActor, session: DbSession, version: str | None = None
) -> dict[str, int]:
    count = intake.do_import_scores(
        session,
        actor=actor,
        code=code,
        version=version,
        year=year,
        filename=file.filename or "",
        data=file.file.read(),
    )
    return {"entries": count}


@router.post("/{code}/run")
def run_year(
    request: Request,
    code: str,
    year: Year,
    deadline: Day,
    actor: ApiActor,
    session: DbSession,
    version: str | None = None,
) -> dict[str, Any]:
    """Rank the year, card the last two pilots, disqualify and replace; returns the results."""
    service.do_evaluate_year(
        session,
        actor=actor,
        code=code,
        version=version,
        year=year,
        deadline=deadline,
        database_url=request.app.state.db.url,
    )
    return service.results(session, actor=actor, code=code, year=year)


@router.get("/{code}/results")
def results(code: str, year: Year, actor: ApiActor, session: DbSession) -> dict[str, Any]:
    return service.results(session, actor=actor, code=code, year=year)


@router.get("/schemes")
def list_schemes(actor: ApiActor, session: DbSession) -> list[dict[str, Any]]:
    """The programmes with their newest version's name and the years already evaluated."""
    return service.schemes(session, actor=actor)


@router.get("/{code}/units/{unit_code}")
def unit_detail(code: str, unit_code: str, year: Year, actor: ApiActor, session: DbSession) -> dict[str, Any]:
    """One unit's year item by item, grouped by section."""
    return service.unit_detail(session, actor=actor, code=code, year=year, unit_code=unit_code)


@router.get("/{code}/export")
def export(code: str, year: Year, actor: ApiActor, session: DbSession) -> Response:
    """The year's evaluation as an Excel workbook to file."""
    data = service.results(session, actor=actor, code=code, year=year)
    return Response(
        results_workbook(data),
        media_type=XLSX_MEDIA_TYPE,
        headers={"Content-Disposition": f"attachment; filename*=UTF-8''{quote(f'{code}-{year}-评价结果.xlsx')}"},
    )


@router.get("/{code}/export.pdf")
def export_pdf(code: str, year: Year, actor: ApiActor, session: DbSession) -> Response:
    """The year's evaluation as a PDF to print, sign and file."""
    data = service.results(session, actor=actor, code=code, year=year)
    return Response(
        results_pdf(data),
        media_type="application/pdf",
        headers={"Content-Disposition": f"attachment; filename*=UTF-8''{quote(f'{code}-{year}-评价结果.pdf')}"},
    )
