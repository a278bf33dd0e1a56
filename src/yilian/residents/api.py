"""JSON endpoints of the master patient index."""

from __future__ import annotations

from fastapi import APIRouter, Query, Response, UploadFile

from yilian.kit.fields import Id, Offset
from yilian.kit.tabular import XLSX_MEDIA_TYPE
from yilian.residents import service, spreadsheets
from yilian.residents.schemas import (
    ImportResult,
    MergeCandidatePage,
    RegistrationOut,
    ResidentIn,
    ResidentOut,
    ResidentPage,
)
from yilian.web.deps import ApiActor, DbSession

router = APIRouter(prefix="/api/residents", tags=["residents"])


@router.get("", response_model=ResidentPage)
def search(
    actor: ApiActor,
    session: DbSession,
    q: str = "",
    offset: Offset = 0,
    limit: int = Query(20, ge=1, le=100),
) -> ResidentPage:
    return service.search_residents(session, actor=actor, query=q, offset=offset, limit=limit)


@router.post("", response_model=RegistrationOut, status_code=201)
def register(data: ResidentIn, actor: ApiActor, session: DbSession, response: Response) -> RegistrationOut:
    """Idempotent: registering the same person again returns 200 with the existing record."""
    resident, created = service.do_register_resident(session, actor=actor, data=data)
    if not created:
        response.status_code = 200
    return RegistrationOut(
        created=created, resident=service.read_resident(session, actor=actor, resident_id=resident.id)
    )


@router.get("/export")
def export(
    actor: ApiActor, session: DbSession, q: str = "", format: str = Query("xlsx", pattern="^(xlsx|csv)$")
) -> Response:
    """The whole search result as a spreadsheet, or a 422 naming the limit when it is longer (never
    cut short); masked as in lists; audited as an export."""
    content = spreadsheets.export_residents(session, actor=actor, query=q, file_format=format)
    media = "text/csv; charset=utf-8" if format == "csv" else XLSX_MEDIA_TYPE
    return Response(
        content, media_type=media, headers={"Content-Disposition": f"attachment; filename=residents.{format}"}
    )


@router.get("/merge-candidates", response_model=MergeCandidatePage)
def merge_candidates(
    actor: ApiActor, session: DbSession, offset: Offset = 0, limit: int = Query(20, ge=1, le=100)
) -> MergeCandidatePage:
    """Records of the caller's scope that hold the same ID number, grouped (for the merge)."""
    return service.merge_candidates(session, actor=actor, offset=offset, limit=limit)


@router.get("/{resident_id}", response_model=ResidentOut)
def read(resident_id: Id, actor: ApiActor, session: DbSession) -> ResidentOut:
    return service.read_resident(session, actor=actor, resident_id=resident_id)


@router.post("/import", response_model=ImportResult)
def import_file(file: UploadFile, actor: ApiActor, session: DbSession) -> ImportResult:
    """CSV or Excel; all rows are written or none."""
    return spreadsheets.do_import_residents(
        session, actor=actor, filename=file.filename or "", data=file.file.read()
    )
