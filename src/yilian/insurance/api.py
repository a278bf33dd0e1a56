"""JSON endpoints: group one case, run a settlement (what-if, nothing saved), save, list and export
settlements, import claims; the DRG screens' groups, cases with their trace, and CMI per institution."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Query, Request, Response, UploadFile
from pydantic import BaseModel, Field

from yilian.config import drg_scheme_dir
from yilian.insurance import claims, service
from yilian.insurance.config import parse_config
from yilian.insurance.drg import service as drg
from yilian.insurance.drg.rules import Case, Grouper
from yilian.insurance.schemas import (
    DrgCasePage,
    DrgGroupPage,
    DrgInstitutions,
    DrgTrace,
    OutlierKind,
    SavedSettlementPage,
    SavedSettlementRow,
)
from yilian.kit.errors import Conflict
from yilian.kit.fields import BigId, Id, Offset, Year, Yuan
from yilian.kit.money import yuan_to_fen
from yilian.kit.tabular import XLSX_MEDIA_TYPE
from yilian.web.deps import ApiActor, DbSession

router = APIRouter(prefix="/api", tags=["insurance"])


class CaseIn(BaseModel):
    case_id: str = ""
    sex: int | str = Field(description="1/男/M or 2/女/F")
    age: int
    age_days: int | None = None
    weight: int | None = Field(default=None, description="birth weight in grams")
    department: str | None = None
    length_of_stay: int | None = None
    leaving_type: str | None = None
    diagnoses: list[str] = Field(min_length=1, description="the first is the principal diagnosis")
    procedures: list[str] = Field(default_factory=list, description="the first is the main procedure")


def shared_grouper(request: Request) -> Grouper:
    """The app's configured grouper (its settings' scheme directory), or a 409 saying how to set one."""
    grouper = service.configured_grouper(request.app.state.settings)
    if grouper is None:
        directory = drg_scheme_dir(request.app.state.settings)
        raise Conflict(
            f"未配置DRG分组方案（{directory}中没有方案），请设置YILIAN_DRG_SCHEME_DIR",
            f"no DRG scheme in {directory}; set YILIAN_DRG_SCHEME_DIR",
        )
    return grouper


SharedGrouper = Annotated[Grouper, Depends(shared_grouper)]


def _scheme_name(request: Request) -> str:
    return drg_scheme_dir(request.app.state.settings).name


@router.post("/drg/group")
def group_case(data: CaseIn, actor: ApiActor, grouper: SharedGrouper) -> dict[str, Any]:
    del actor  # any signed-in user may group; the case carries no identity
    result = grouper.group(Case(**data.model_dump()), trace=True)
    return {
        "case_id": result.case_id,
        "status": result.status,
        "status_key": result.status_key,
        "mdc": result.mdc,
        "adrg": result.adrg,
        "drg": result.drg,
        "drg_name": result.drg_name,
        "unknown_codes": list(result.unknown_codes),
        "trace": list(result.trace),
    }


@router.post("/insurance/consortia/{consortium_id}/settlement")
def what_if(
    consortium_id: Id, request: Request, actor: ApiActor, session: DbSession, terms: dict[str, Any] = Body()
) -> dict[str, Any]:
    """Run the settlement on these terms and return every figure; nothing is saved."""
    consortium = service.access_consortium(session, actor.subject, consortium_id)
    report = service.settlement_report(
        session, consortium=consortium, config=parse_config(terms), scheme=_scheme_name(request)
    )
    return report.to_json()


@router.post("/insurance/claims", status_code=201)
def import_claims(file: UploadFile, actor: ApiActor, session: DbSession) -> dict[str, int]:
    result = claims.do_import_claims(
        session, actor=actor, filename=file.filename or "", data=file.file.read()
    )
    return {"imported": result.imported, "fund_fen": result.fund_fen}


@router.post("/insurance/consortia/{consortium_id}/settlements", status_code=201)
def save_settlement(
    consortium_id: Id, request: Request, actor: ApiActor, session: DbSession, terms: dict[str, Any] = Body()
) -> SavedSettlementRow:
    """Save a run on these terms: the same checks as the what-if; the row and its audit in one go."""
    saved = service.check_save_settlement(
        session, actor=actor, consortium_id=consortium_id, terms=terms, scheme=_scheme_name(request)
    )
    return service.saved_row_of(session, saved)


@router.get("/insurance/settlements", response_model=SavedSettlementPage)
def saved_settlements(
    actor: ApiActor,
    session: DbSession,
    consortium_id: Id | None = None,
    year: Year | None = None,
    offset: Offset = 0,
    limit: int = Query(20, ge=1, le=100),
) -> SavedSettlementPage:
    return service.saved_settlements(
        session, actor=actor, consortium_id=consortium_id, year=year, offset=offset, limit=limit
    )


@router.get("/insurance/settlements/export")
def saved_settlements_export(
    actor: ApiActor, session: DbSession, consortium_id: Id | None = None, year: Year | None = None
) -> Response:
    """Every saved settlement of the filter as Excel."""
    content = service.saved_settlements_export(session, actor=actor, consortium_id=consortium_id, year=year)
    return Response(
        content,
        media_type=XLSX_MEDIA_TYPE,
        headers={"Content-Disposition": "attachment; filename=settlements.xlsx"},
    )


@router.get("/insurance/settlements/{settlement_id}")
def saved_settlement(settlement_id: Id, actor: ApiActor, session: DbSession) -> dict[str, Any]:
    return service.saved_settlement(session, actor=actor, settlement_id=settlement_id)


# ---- DRG screens -------------------------------------------------------------------------------

Code = Query(None, min_length=1, max_length=8, pattern="^[A-Z0-9]+$")


@router.get("/drg/groups", response_model=DrgGroupPage)
def drg_groups(
    actor: ApiActor,
    session: DbSession,
    grouper: SharedGrouper,
    q: str = Query("", max_length=40),
    mdc: str | None = Code,
    standard_year: Year | None = None,
    offset: Offset = 0,
    limit: int = Query(20, ge=1, le=100),
) -> DrgGroupPage:
    return drg.groups(
        session,
        actor=actor,
        grouper=grouper,
        q=q,
        mdc=mdc,
        standard_year=standard_year,
        offset=offset,
        limit=limit,
    )


@router.get("/drg/cases", response_model=DrgCasePage)
def drg_cases(
    actor: ApiActor,
    session: DbSession,
    grouper: SharedGrouper,
    year: Year | None = None,
    standard_year: Year | None = None,
    institution_id: Id | None = None,
    mdc: str | None = Code,
    drg_code: str | None = Query(None, alias="drg", min_length=1, max_length=8, pattern="^[A-Z0-9]+$"),
    outlier: OutlierKind | None = None,
    offset: Offset = 0,
    limit: int = Query(20, ge=1, le=100),
) -> DrgCasePage:
    """The year's grouped discharges at the institutions the caller runs (default: this year)."""
    return drg.cases(
        session,
        actor=actor,
        grouper=grouper,
        year=year or actor.clock.now().year,
        standard_year=standard_year,
        institution_id=institution_id,
        mdc=mdc,
        drg=drg_code,
        outlier=outlier,
        offset=offset,
        limit=limit,
    )


@router.get("/drg/cases/export")
def drg_cases_export(
    actor: ApiActor,
    session: DbSession,
    grouper: SharedGrouper,
    year: Year | None = None,
    standard_year: Year | None = None,
    institution_id: Id | None = None,
    mdc: str | None = Code,
    drg_code: str | None = Query(None, alias="drg", min_length=1, max_length=8, pattern="^[A-Z0-9]+$"),
    outlier: OutlierKind | None = None,
) -> Response:
    content = drg.cases_export(
        session,
        actor=actor,
        grouper=grouper,
        year=year or actor.clock.now().year,
        standard_year=standard_year,
        institution_id=institution_id,
        mdc=mdc,
        drg=drg_code,
        outlier=outlier,
    )
    return Response(
        content,
        media_type=XLSX_MEDIA_TYPE,
        headers={"Content-Disposition": "attachment; filename=drg-cases.xlsx"},
    )


@router.get("/drg/cases/{encounter_id}/trace", response_model=DrgTrace)
def drg_trace(
    encounter_id: BigId,
    actor: ApiActor,
    session: DbSession,
    grouper: SharedGrouper,
    standard_year: Year | None = None,
) -> DrgTrace:
    """Why the case went to its group: the grouper run again with its reasons written down."""
    return drg.trace(
        session, actor=actor, grouper=grouper, encounter_id=encounter_id, standard_year=standard_year
    )


@router.get("/drg/institutions", response_model=DrgInstitutions)
def drg_institutions(
    actor: ApiActor,
    session: DbSession,
    grouper: SharedGrouper,
    year: Year | None = None,
    standard_year: Year | None = None,
    budget_yuan: Yuan | None = None,
) -> DrgInstitutions:
    """CMI, points and payment by points per institution; without a budget, the year's inpatient fund."""
    return drg.institutions(
        session,
        actor=actor,
        grouper=grouper,
        year=year or actor.clock.now().year,
        standard_year=standard_year,
        budget_fen=yuan_to_fen(budget_yuan) if budget_yuan is not None else None,
    )
