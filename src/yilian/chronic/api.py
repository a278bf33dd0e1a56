"""JSON endpoints of chronic care."""

from __future__ import annotations

from fastapi import APIRouter, Query, Response

from yilian.chronic import service
from yilian.chronic.schemas import (
    ChronicRecord,
    DrugPage,
    Figures,
    PrescriptionIn,
    PrescriptionOut,
    VisitIn,
    WorkPage,
)
from yilian.kit.fields import Day, Id
from yilian.kit.tabular import XLSX_MEDIA_TYPE
from yilian.web.deps import ApiActor, DbSession

router = APIRouter(prefix="/api", tags=["chronic care"])


@router.post("/chronic/visits", response_model=ChronicRecord, status_code=201)
def record_visit(data: VisitIn, actor: ApiActor, session: DbSession) -> ChronicRecord:
    return service.do_record_visit(session, actor=actor, data=data)


@router.get("/residents/{resident_id}/chronic", response_model=ChronicRecord)
def record(resident_id: Id, actor: ApiActor, session: DbSession) -> ChronicRecord:
    return service.read_record(session, actor=actor, resident_id=resident_id)


@router.get("/chronic/worklist/{kind}", response_model=WorkPage)
def worklist(
    kind: str,
    actor: ApiActor,
    session: DbSession,
    grid_id: Id | None = None,
    disease: str | None = None,
    offset: int = Query(0, ge=0, le=10_000_000),
    limit: int = Query(20, ge=1, le=200),
) -> WorkPage:
    """The family doctor's work list (red, overdue, unsigned) one page at a time, filtered by village
    (grid) and disease; `total` counts the whole filtered list."""
    return service.worklist_page(
        session, actor=actor, kind=kind, grid_id=grid_id, disease=disease, offset=offset, limit=limit
    )


@router.get("/chronic/worklist/{kind}/export")
def worklist_export(
    kind: str, actor: ApiActor, session: DbSession, grid_id: Id | None = None, disease: str | None = None
) -> Response:
    """The whole filtered work list as Excel."""
    content = service.worklist_export(session, actor=actor, kind=kind, grid_id=grid_id, disease=disease)
    return Response(
        content,
        media_type=XLSX_MEDIA_TYPE,
        headers={"Content-Disposition": f"attachment; filename=worklist-{kind}.xlsx"},
    )


@router.get("/chronic/figures", response_model=Figures)
def figures(
    actor: ApiActor,
    session: DbSession,
    as_of: Day | None = None,
    team_id: Id | None = None,
    grid_id: Id | None = None,
    institution_id: Id | None = None,
) -> Figures:
    """Per institution, grid or team (default: everyone the caller may see); signing as of a date."""
    return service.figures(
        session, actor=actor, as_of=as_of, team_id=team_id, grid_id=grid_id, institution_id=institution_id
    )


@router.post("/chronic/assess")
def assess(actor: ApiActor, session: DbSession) -> dict[str, int]:
    return service.do_assess_county(session, actor=actor)


@router.post("/prescriptions", response_model=PrescriptionOut, status_code=201)
def prescribe(data: PrescriptionIn, actor: ApiActor, session: DbSession) -> PrescriptionOut:
    return service.do_prescribe(session, actor=actor, data=data)


@router.get("/drugs", response_model=DrugPage)
def drugs(
    actor: ApiActor,
    session: DbSession,
    q: str = Query("", max_length=32),
    offset: int = Query(0, ge=0, le=10_000_000),
    limit: int = Query(20, ge=1, le=200),
) -> DrugPage:
    """The prescriber's consortium catalogue, searched by name, one page at a time."""
    return service.drugs_page(session, actor=actor, q=q, offset=offset, limit=limit)
