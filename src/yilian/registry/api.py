"""JSON endpoints of the registry."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Response

from yilian.auth import rules as roles
from yilian.auth import scoping
from yilian.kit.fields import Day, Id, Offset
from yilian.kit.masking import shown_identifiers
from yilian.kit.tabular import XLSX_MEDIA_TYPE
from yilian.registry import lists, repository, service
from yilian.registry.schemas import (
    ConsortiumDetail,
    ConsortiumIn,
    ConsortiumOut,
    ConsortiumPage,
    GridIn,
    GridPage,
    InstitutionIn,
    InstitutionOut,
    InstitutionPage,
    MemberIn,
    MemberOut,
    PostingIn,
    PostingOut,
    PostingSummary,
    StaffIn,
    StaffOut,
    StaffPage,
)
from yilian.web.deps import ApiActor, DbSession

router = APIRouter(prefix="/api", tags=["registry"])


# Annotated, so that each parameter gets its own copy of the Query (a shared default instance would not).
InstitutionSort = Annotated[str, Query(pattern="^-?(code|name|level|type|township)$")]
StaffSort = Annotated[str, Query(pattern="^-?(code|name|practitioner_type)$")]
Search = Annotated[str, Query(max_length=64)]
Choice = Annotated[str | None, Query(max_length=32)]


def _xlsx(content: bytes, name: str) -> Response:
    return Response(
        content,
        media_type=XLSX_MEDIA_TYPE,
        headers={"Content-Disposition": f"attachment; filename={name}.xlsx"},
    )


@router.get("/institutions", response_model=InstitutionPage)
def list_institutions(
    actor: ApiActor,
    session: DbSession,
    q: Search = "",
    type: Choice = None,
    level: Choice = None,
    township: Choice = None,
    sort: InstitutionSort = "code",
    offset: Offset = 0,
    limit: int = Query(50, ge=1, le=500),
) -> InstitutionPage:
    """The institutions of the caller's county, filtered, sorted and paged (sort: a column, `-` for descending)."""
    statement = repository.institutions_statement(
        scoping.readable_institutions(actor.subject),
        q=q,
        type=type,
        level=level,
        township=township,
        sort=sort,
    )
    return InstitutionPage(
        total=repository.count_of(session, statement),
        offset=offset,
        limit=limit,
        items=lists.institution_rows(session, statement, offset=offset, limit=limit),
    )


@router.get("/institutions/export")
def export_institutions(
    actor: ApiActor,
    session: DbSession,
    q: Search = "",
    type: Choice = None,
    level: Choice = None,
    township: Choice = None,
    sort: InstitutionSort = "code",
) -> Response:
    """The whole filtered list of institutions as Excel."""
    statement = repository.institutions_statement(
        scoping.readable_institutions(actor.subject),
        q=q,
        type=type,
        level=level,
        township=township,
        sort=sort,
    )
    return _xlsx(lists.institutions_export(session, statement), "institutions")


@router.post("/institutions", response_model=InstitutionOut, status_code=201)
def create_institution(data: InstitutionIn, actor: ApiActor, session: DbSession) -> InstitutionOut:
    return InstitutionOut.model_validate(
        service.do_create_institution(session, subject=actor.subject, data=data)
    )


@router.get("/institutions/{institution_id}", response_model=InstitutionOut)
def get_institution(institution_id: Id, actor: ApiActor, session: DbSession) -> InstitutionOut:
    return InstitutionOut.model_validate(scoping.access_institution(session, actor.subject, institution_id))


@router.get("/institutions/{institution_id}/staff", response_model=list[StaffOut])
def institution_staff(institution_id: Id, actor: ApiActor, session: DbSession) -> list[StaffOut]:
    institution = scoping.access_institution(session, actor.subject, institution_id)
    full = actor.subject.may(roles.FULL_IDENTIFIERS_IN_LISTS)
    out = []
    for s in repository.staff_of_institution(session, institution.id):
        id_number, phone = shown_identifiers(s.id_number, s.phone, full=full)
        out.append(
            StaffOut(
                id=s.id,
                code=s.code,
                name=s.name,
                sex=s.sex,
                id_number=id_number,
                phone=phone,
                practitioner_type=s.practitioner_type,
                title=s.title,
                home_institution_id=s.home_institution_id,
            )
        )
    return out


@router.get("/consortia", response_model=ConsortiumPage)
def list_consortia(
    actor: ApiActor,
    session: DbSession,
    q: Search = "",
    kind: Choice = None,
    offset: Offset = 0,
    limit: int = Query(50, ge=1, le=500),
) -> ConsortiumPage:
    """Consortia led in the caller's county, with their lead, member and grid counts."""
    statement = repository.consortia_statement(scoping.readable_consortia(actor.subject), q=q, kind=kind)
    return ConsortiumPage(
        total=repository.count_of(session, statement),
        offset=offset,
        limit=limit,
        items=lists.consortium_rows(session, statement, offset=offset, limit=limit),
    )


@router.get("/consortia/export")
def export_consortia(actor: ApiActor, session: DbSession, q: Search = "", kind: Choice = None) -> Response:
    """The whole filtered list of consortia as Excel."""
    statement = repository.consortia_statement(scoping.readable_consortia(actor.subject), q=q, kind=kind)
    return _xlsx(lists.consortia_export(session, statement), "consortia")


@router.get("/consortia/{consortium_id}/grids", response_model=GridPage)
def list_grids(
    consortium_id: Id,
    actor: ApiActor,
    session: DbSession,
    q: Search = "",
    offset: Offset = 0,
    limit: int = Query(50, ge=1, le=500),
) -> GridPage:
    """A consortium's grids (the villages its family doctors serve), paged."""
    consortium = scoping.access_consortium(session, actor.subject, consortium_id)
    statement = repository.grids_statement(consortium.id, q=q)
    return GridPage(
        total=repository.count_of(session, statement),
        offset=offset,
        limit=limit,
        items=lists.grid_rows(session, statement, offset=offset, limit=limit),
    )


@router.post("/consortia", response_model=ConsortiumOut, status_code=201)
def create_consortium(data: ConsortiumIn, actor: ApiActor, session: DbSession) -> ConsortiumOut:
    return ConsortiumOut.model_validate(
        service.do_create_consortium(session, subject=actor.subject, data=data)
    )


@router.get("/consortia/{consortium_id}", response_model=ConsortiumDetail)
def get_consortium(consortium_id: Id, actor: ApiActor, session: DbSession) -> ConsortiumDetail:
    consortium = scoping.access_consortium(session, actor.subject, consortium_id)
    members = [
        MemberOut(
            institution_id=i.id, institution_name=i.name, institution_type=i.type, level=i.level, role=m.role
        )
        for m, i in repository.members_of(session, consortium.id)
    ]
    return ConsortiumDetail(
        **ConsortiumOut.model_validate(consortium).model_dump(),
        members=members,
        grid_count=repository.grid_count(session, consortium.id),
    )


@router.post("/consortia/{consortium_id}/members", status_code=201)
def add_member(consortium_id: Id, data: MemberIn, actor: ApiActor, session: DbSession) -> dict[str, int]:
    member = service.do_add_member(session, subject=actor.subject, consortium_id=consortium_id, data=data)
    return {"id": member.id}


@router.post("/consortia/{consortium_id}/grids", status_code=201)
def create_grid(consortium_id: Id, data: GridIn, actor: ApiActor, session: DbSession) -> dict[str, int]:
    grid = service.do_create_grid(session, subject=actor.subject, consortium_id=consortium_id, data=data)
    return {"id": grid.id}


@router.post("/staff", status_code=201)
def create_staff(data: StaffIn, actor: ApiActor, session: DbSession) -> dict[str, int]:
    staff = service.do_create_staff(session, subject=actor.subject, data=data, today=actor.clock.now().date())
    return {"id": staff.id}


@router.get("/grids", response_model=GridPage)
def list_served_grids(
    actor: ApiActor,
    session: DbSession,
    q: Search = "",
    offset: Offset = 0,
    limit: int = Query(50, ge=1, le=500),
) -> GridPage:
    """The grids the caller registers residents in (a family doctor's own, an institution's, …)."""
    statement = lists.served_grids(actor.subject, q=q)
    return GridPage(
        total=repository.count_of(session, statement),
        offset=offset,
        limit=limit,
        items=lists.grid_rows(session, statement, offset=offset, limit=limit),
    )


def _staff_statement(
    actor: ApiActor, q: str, institution_id: int | None, practitioner_type: str | None, sort: str
) -> Any:
    return repository.staff_statement(
        scoping.readable_institutions(actor.subject),
        q=q,
        institution_id=institution_id,
        practitioner_type=practitioner_type,
        sort=sort,
    )


@router.get("/staff", response_model=StaffPage)
def list_staff(
    actor: ApiActor,
    session: DbSession,
    q: Search = "",
    institution_id: Id | None = None,
    practitioner_type: Choice = None,
    sort: StaffSort = "code",
    offset: Offset = 0,
    limit: int = Query(50, ge=1, le=500),
) -> StaffPage:
    """Staff of the institutions the caller may read; identifiers masked as in every list."""
    statement = _staff_statement(actor, q, institution_id, practitioner_type, sort)
    items = lists.staff_rows(session, actor.subject, statement, offset=offset, limit=limit)
    return StaffPage(total=repository.count_of(session, statement), offset=offset, limit=limit, items=items)


@router.get("/staff/export")
def export_staff(
    actor: ApiActor,
    session: DbSession,
    q: Search = "",
    institution_id: Id | None = None,
    practitioner_type: Choice = None,
    sort: StaffSort = "code",
) -> Response:
    """The whole filtered staff list as Excel (identifiers masked as in the list)."""
    statement = _staff_statement(actor, q, institution_id, practitioner_type, sort)
    return _xlsx(lists.staff_export(session, actor.subject, statement), "staff")


@router.get("/staff/{staff_id}/postings", response_model=list[PostingOut])
def staff_postings(staff_id: Id, actor: ApiActor, session: DbSession) -> list[PostingOut]:
    return lists.staff_postings(session, actor.subject, staff_id)


@router.post("/staff/{staff_id}/postings", status_code=201)
def add_posting(staff_id: Id, data: PostingIn, actor: ApiActor, session: DbSession) -> dict[str, int]:
    posting = service.do_add_posting(
        session, subject=actor.subject, staff_id=staff_id, data=data, today=actor.clock.now().date()
    )
    return {"id": posting.id}


@router.get("/postings/summary", response_model=PostingSummary)
def posting_summary(actor: ApiActor, session: DbSession, as_of: Day | None = None) -> PostingSummary:
    """Postings of six months or more into the subject's region (县管乡用 counted separately)."""
    return service.posting_summary(session, subject=actor.subject, as_of=as_of or actor.clock.now().date())
