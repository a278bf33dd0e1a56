"""HTML pages of the registry: institutions and consortia."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import func, select

from yilian.auth import scoping
from yilian.kit.fields import Id
from yilian.models import Consortium, ConsortiumMember, Grid, Institution
from yilian.registry import repository
from yilian.web.deps import DbSession, PageActor
from yilian.web.templating import render

router = APIRouter()


@router.get("/institutions", response_class=HTMLResponse)
def institutions(request: Request, actor: PageActor, session: DbSession, type: str = "") -> Response:
    statement = scoping.readable_institutions(actor.subject)
    if type:
        statement = statement.where(Institution.type == type)
    rows = session.scalars(statement.order_by(Institution.level, Institution.code).limit(500)).all()
    types = session.scalars(
        select(Institution.type)
        .where(
            Institution.id.in_(scoping.readable_institutions(actor.subject).with_only_columns(Institution.id))
        )
        .distinct()
    ).all()
    return render(request, "institutions.html", institutions=rows, types=sorted(types), selected=type)


@router.get("/institutions/{institution_id}", response_class=HTMLResponse)
def institution(request: Request, institution_id: Id, actor: PageActor, session: DbSession) -> Response:
    found = scoping.access_institution(session, actor.subject, institution_id)
    staff = repository.staff_of_institution(session, found.id, limit=100)
    consortia = session.execute(
        select(Consortium, ConsortiumMember.role)
        .join(ConsortiumMember, ConsortiumMember.consortium_id == Consortium.id)
        .where(ConsortiumMember.institution_id == found.id)
    ).all()
    grids = session.scalars(select(Grid).where(Grid.institution_id == found.id).order_by(Grid.code)).all()
    parent = repository.institution(session, found.parent_id) if found.parent_id else None
    return render(
        request,
        "institution.html",
        institution=found,
        staff=staff,
        consortia=consortia,
        grids=grids,
        parent=parent,
    )


@router.get("/consortia", response_class=HTMLResponse)
def consortia(request: Request, actor: PageActor, session: DbSession) -> Response:
    rows = session.scalars(scoping.readable_consortia(actor.subject)).all()
    sizes = dict(
        session.execute(
            select(ConsortiumMember.consortium_id, func.count())
            .where(ConsortiumMember.consortium_id.in_([c.id for c in rows]))
            .group_by(ConsortiumMember.consortium_id)
        ).all()
    )
    return render(request, "consortia.html", consortia=rows, sizes=sizes)


@router.get("/consortia/{consortium_id}", response_class=HTMLResponse)
def consortium(request: Request, consortium_id: Id, actor: PageActor, session: DbSession) -> Response:
    found = scoping.access_consortium(session, actor.subject, consortium_id)
    members = repository.members_of(session, found.id)
    lead = repository.institution(session, found.lead_institution_id)
    return render(
        request,
        "consortium.html",
        consortium=found,
        members=members,
        lead=lead,
        grid_count=repository.grid_count(session, found.id),
    )
