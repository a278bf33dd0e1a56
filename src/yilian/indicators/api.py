"""The indicator API (values, drill-down, export) and the figures institutions enter by hand."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from fastapi import APIRouter, Request, UploadFile
from fastapi.responses import Response
from pydantic import BaseModel, Field
from sqlalchemy import select

from yilian.auth import rules as roles
from yilian.auth import scoping
from yilian.indicators import figures, service
from yilian.kit.errors import Forbidden, ValidationFailed
from yilian.kit.fields import Id, Year
from yilian.kit.tabular import XLSX_MEDIA_TYPE, write_xlsx
from yilian.models import User
from yilian.web.deps import ApiActor, DbSession

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


@router.get("/api/indicators/export")
def export(
    request: Request,
    actor: ApiActor,
    session: DbSession,
    period: str,
    level: str = "county",
    county: str | None = None,
    code: str | None = None,
) -> Response:
    """The same values as /api/indicators (one indicator with `code`, else all), as Excel: every unit,
    sorted by indicator and value, with numerator, denominator, target and whether it is met."""
    values = service.compute(
        session, actor=actor, database_url=request.app.state.db.url, period=period, county=county, level=level
    )
    chosen = sorted(
        (v for v in values if code is None or v.code == code),
        key=lambda v: (v.code, -(v.value if v.value is not None else -1)),
    )
    met = {True: "达标", False: "未达标", None: ""}
    rows = (
        [
            v.name,
            v.unit_name,
            v.value,
            v.numerator,
            v.denominator,
            f"{v.direction} {v.target}" if v.target is not None else "",
            met[v.met],
            v.period,
            v.as_of.isoformat(),
            v.source,
        ]
        for v in chosen
    )
    header = ["指标", "单位", "值(%)", "分子", "分母", "目标", "是否达标", "期间", "数据截至", "依据"]
    return Response(
        write_xlsx(header, rows, title="监测指标"),
        media_type=XLSX_MEDIA_TYPE,
        headers={"Content-Disposition": f"attachment; filename=indicators-{period}.xlsx"},
    )


@router.post("/api/figures", status_code=201)
def import_figures(file: UploadFile, actor: ApiActor, session: DbSession) -> dict[str, int]:
    """机构编码, 年度, 项目, 金额(元): all rows or none."""
    return {
        "saved": figures.do_import(session, actor=actor, filename=file.filename or "", data=file.file.read())
    }


@router.get("/api/figures")
def entered_figures(
    actor: ApiActor, session: DbSession, year: Year, institution_id: Id | None = None
) -> dict[str, Any]:
    """An institution's yearly figures (the administrator's own; the commission names one it reads),
    each with who entered it and when."""
    institution = _figures_institution(session, actor, institution_id)
    stored = figures.entered(session, institution_id=institution.id, year=year)
    users = {
        u.id: u.display_name
        for u in session.scalars(
            select(User).where(User.id.in_([f.entered_by for f in stored.values() if f.entered_by]))
        )
    }
    return {
        "institution": {"id": institution.id, "name": institution.name},
        "year": year,
        "items": [
            {
                "code": f.code,
                "name": f.name,
                "unit": f.unit,
                "value": str(stored[f.code].value) if f.code in stored else None,
                "entered_by": users.get(stored[f.code].entered_by or 0, "") if f.code in stored else "",
                "entered_at": stored[f.code].entered_at.strftime("%Y-%m-%d %H:%M") if f.code in stored else "",
            }
            for f in figures.figures()
        ],
    }


class FiguresIn(BaseModel):
    year: Year
    institution_id: Id | None = None
    values: dict[str, str] = Field(max_length=100, description="figure code → amount; blank ones are skipped")


@router.put("/api/figures")
def enter_figures(data: FiguresIn, actor: ApiActor, session: DbSession) -> dict[str, int]:
    """Enter (or correct) an institution's figures for a year: all or none."""
    institution = _figures_institution(session, actor, data.institution_id)
    entries = [
        figures.Entry(institution.code, data.year, code, value)
        for code, value in data.values.items()
        if value.strip()
    ]
    return {"saved": figures.do_enter(session, actor=actor, entries=entries)}


def _figures_institution(session: DbSession, actor: ApiActor, institution_id: int | None) -> Any:
    subject = actor.subject
    if subject.role == roles.INSTITUTION_ADMIN and subject.institution_id is not None:
        institution_id = institution_id or subject.institution_id
        if institution_id != subject.institution_id:
            raise Forbidden("机构管理员只能填报本机构数据", "An institution administrator enters its own figures")
    elif not subject.may(figures.ENTERERS):
        raise Forbidden("本页供机构管理员填报本机构数据", "This page is for institution administrators")
    if institution_id is None:
        raise ValidationFailed.one("institution_id", "请选择机构", "choose an institution")
    return scoping.access_institution(session, subject, institution_id)
