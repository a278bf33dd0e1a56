"""JSON endpoints of encounters."""

from __future__ import annotations

from fastapi import APIRouter, Query, Response

from yilian.encounters import service
from yilian.encounters.schemas import EncounterOut, InpatientPage
from yilian.kit.fields import Id
from yilian.kit.tabular import XLSX_MEDIA_TYPE
from yilian.web.deps import ApiActor, DbSession

router = APIRouter(prefix="/api", tags=["encounters"])


@router.get("/encounters/inpatients", response_model=InpatientPage)
def inpatients(
    actor: ApiActor,
    session: DbSession,
    offset: int = Query(0, ge=0, le=10_000_000),
    limit: int = Query(20, ge=1, le=200),
) -> InpatientPage:
    """Who is in a bed at the caller's institution now (admitted by a bed booking's check-in or recorded),
    longest stay first, one page at a time."""
    return service.inpatients_page(session, actor=actor, offset=offset, limit=limit)


@router.get("/encounters/inpatients/export")
def inpatients_export(actor: ApiActor, session: DbSession) -> Response:
    """The whole ward's list as Excel."""
    page = service.inpatients_page(session, actor=actor, limit=None, action="export")
    return Response(
        service.inpatients_workbook(page),
        media_type=XLSX_MEDIA_TYPE,
        headers={"Content-Disposition": "attachment; filename=inpatients.xlsx"},
    )


@router.get("/residents/{resident_id}/encounters", response_model=list[EncounterOut])
def of_resident(resident_id: Id, actor: ApiActor, session: DbSession) -> list[EncounterOut]:
    return service.list_encounters(session, actor=actor, resident_id=resident_id)
