"""JSON endpoints of the registry."""

from __future__ import annotations

from fastapi import APIRouter, Query
from sqlalchemy import func, select

from yilian.auth import rules as roles
from yilian.auth import scoping
from yilian.kit.fields import Day, Id, Offset
from yilian.kit.masking import shown_identifiers
from yilian.models import Institution
from yilian.registry import repository, service
from yilian.registry.schemas import (
    ConsortiumDetail,
    ConsortiumIn,
    ConsortiumOut,
    GridIn,
    InstitutionIn,
    InstitutionOut,
    MemberIn,
    MemberOut,
    PostingIn,
    PostingSummary,
    StaffIn,
    StaffOut,
)
from yilian.web.deps import ApiActor, DbSession

router = APIRouter(prefix="/api", tags=["registry"])


@router.get("/institutions")
def list_institutions(
    actor: ApiActor,
    session: DbSession,
    type: str | None = None,
    level: str | None = None,
    offset: Offset = 0,
    limit: int = Query(50, ge=1, le=500),
) -> dict[str, object]:
    statement = scoping.readable_institutions(actor.subject)
    if type:
        statement = statement.where(Institution.type == type)
    if level:
        statement = statement.where(Institution.level == level)
    total = session.scalar(select(func.count()).select_from(statement.subquery())) or 0
    items = session.scalars(statement.order_by(Institution.code).offset(offset).limit(limit))
    return {"total": total, "items": [InstitutionOut.model_validate(i) for i in items]}


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


@router.get("/consortia", response_model=list[ConsortiumOut])
def list_consortia(actor: ApiActor, session: DbSession) -> list[ConsortiumOut]:
    return [
        ConsortiumOut.model_validate(c) for c in session.scalars(scoping.readable_consortia(actor.subject))
    ]


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
