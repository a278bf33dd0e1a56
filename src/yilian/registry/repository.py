"""Queries of the registry; lists start from what the subject may see."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any, cast

from sqlalchemy import Select, and_, case, func, or_, select
from sqlalchemy.orm import Session, aliased

from yilian.kit.sql import add_months
from yilian.models import (
    AdminDivision,
    Consortium,
    ConsortiumMember,
    Grid,
    Institution,
    Posting,
    Staff,
    StaffBlacklisting,
)
from yilian.registry.rules import LONG_DISPATCH_MONTHS


def division_codes(session: Session) -> frozenset[str]:
    return frozenset(session.scalars(select(AdminDivision.code)))


def division(session: Session, code: str) -> AdminDivision | None:
    return session.get(AdminDivision, code)


def institution(session: Session, institution_id: int) -> Institution | None:
    return session.get(Institution, institution_id)


def institution_by_code(session: Session, code: str) -> Institution | None:
    return session.scalar(select(Institution).where(Institution.code == code))


def consortium(session: Session, consortium_id: int) -> Consortium | None:
    return session.get(Consortium, consortium_id)


def consortium_by_code(session: Session, code: str) -> Consortium | None:
    return session.scalar(select(Consortium).where(Consortium.code == code))


def grid_code_taken(session: Session, code: str) -> bool:
    return session.scalar(select(Grid.id).where(Grid.code == code)) is not None


def staff_taken(session: Session, *, code: str, id_number: str | None) -> str | None:
    """Which unique field of a new staff member is already registered: "code", "id_number" or None."""
    if session.scalar(select(Staff.id).where(Staff.code == code)) is not None:
        return "code"
    if id_number and session.scalar(select(Staff.id).where(Staff.id_number == id_number)) is not None:
        return "id_number"
    return None


def members_of(session: Session, consortium_id: int) -> list[tuple[ConsortiumMember, Institution]]:
    rows = session.execute(
        select(ConsortiumMember, Institution)
        .join(Institution, Institution.id == ConsortiumMember.institution_id)
        .where(ConsortiumMember.consortium_id == consortium_id, ConsortiumMember.left_on.is_(None))
        .order_by(Institution.level.desc(), Institution.code)
    )
    return [(m, i) for m, i in rows]


def membership(session: Session, consortium_id: int, institution_id: int) -> ConsortiumMember | None:
    return session.scalar(
        select(ConsortiumMember).where(
            ConsortiumMember.consortium_id == consortium_id, ConsortiumMember.institution_id == institution_id
        )
    )


def grid_count(session: Session, consortium_id: int) -> int:
    return (
        session.scalar(select(func.count()).select_from(Grid).where(Grid.consortium_id == consortium_id)) or 0
    )


def grid(session: Session, grid_id: int) -> Grid | None:
    return session.get(Grid, grid_id)


def staff(session: Session, staff_id: int) -> Staff | None:
    return session.get(Staff, staff_id)


def blacklisted_staff(session: Session, staff_ids: Sequence[int], today: date) -> set[int]:
    """Which of these staff members stand on the bad-practice blacklist today: the periods evaluation
    records with their points (`evaluation.conduct_service.record_blacklistings`)."""
    on_list = and_(
        StaffBlacklisting.starts_on <= today,
        or_(StaffBlacklisting.ends_before.is_(None), StaffBlacklisting.ends_before > today),
    )
    return set(
        session.scalars(
            select(StaffBlacklisting.staff_id).where(StaffBlacklisting.staff_id.in_(staff_ids), on_list)
        )
    )


def staff_of_institution(session: Session, institution_id: int, limit: int = 200) -> list[Staff]:
    return list(
        session.scalars(
            select(Staff).where(Staff.home_institution_id == institution_id).order_by(Staff.code).limit(limit)
        )
    )


def long_dispatch_counts(
    session: Session, *, region_code_range: tuple[str, str], as_of: date
) -> dict[str, int]:
    """Postings that have lasted six months by `as_of`, per kind, inside a region (one query)."""
    # A posting still open, or ending after as_of, is measured up to as_of.
    until = case((Posting.end_on.is_not(None) & (Posting.end_on < as_of), Posting.end_on), else_=as_of)
    receiving = select(Institution.id).where(Institution.region_code.between(*region_code_range))
    rows = session.execute(
        select(Posting.kind, func.count())
        .where(
            Posting.institution_id.in_(receiving),
            Posting.start_on <= as_of,
            add_months(Posting.start_on, LONG_DISPATCH_MONTHS) <= until,
        )
        .group_by(Posting.kind)
    )
    return {kind: count for kind, count in rows}


# ---- Lists of the registry screens: filtered, sorted, paged; the export runs the same statement ----

INSTITUTION_SORTS = {
    "code": Institution.code,
    "name": Institution.name,
    "level": Institution.level,
    "type": Institution.type,
    "township": Institution.township,
}
STAFF_SORTS = {"code": Staff.code, "name": Staff.name, "practitioner_type": Staff.practitioner_type}


def _ordered(statement: Select[Any], sorts: dict[str, Any], sort: str, tiebreak: Any) -> Select[Any]:
    column = sorts[sort.lstrip("-")]
    return statement.order_by(column.desc() if sort.startswith("-") else column.asc(), tiebreak)


def institutions_statement(
    readable: Select[Any], *, q: str, type: str | None, level: str | None, township: str | None, sort: str
) -> Select[Any]:
    """The readable institutions matching the filters, each with its parent's name."""
    parent = aliased(Institution)
    statement = readable.add_columns(parent.name).outerjoin(parent, parent.id == Institution.parent_id)
    if q:
        statement = statement.where(or_(Institution.name.contains(q), Institution.code.contains(q)))
    if type:
        statement = statement.where(Institution.type == type)
    if level:
        statement = statement.where(Institution.level == level)
    if township:
        statement = statement.where(Institution.township == township)
    return _ordered(statement, INSTITUTION_SORTS, sort, Institution.id)


def count_of(session: Session, statement: Select[Any]) -> int:
    return session.scalar(select(func.count()).select_from(statement.order_by(None).subquery())) or 0


def page_of(session: Session, statement: Select[Any], *, offset: int, limit: int | None) -> list[Any]:
    return list(session.execute(statement.offset(offset).limit(limit)).all())


def consortia_statement(readable: Select[Any], *, q: str, kind: str | None) -> Select[Any]:
    """The readable consortia matching the filters, with the lead's name and the current member count."""
    lead = aliased(Institution)
    members = (
        select(func.count())
        .where(ConsortiumMember.consortium_id == Consortium.id, ConsortiumMember.left_on.is_(None))
        .correlate(Consortium)
        .scalar_subquery()
    )
    grids = (
        select(func.count())
        .where(Grid.consortium_id == Consortium.id)
        .correlate(Consortium)
        .scalar_subquery()
    )
    statement = (
        readable.order_by(None)
        .add_columns(lead.name, members, grids)
        .join(lead, lead.id == Consortium.lead_institution_id)
    )
    if q:
        statement = statement.where(or_(Consortium.name.contains(q), Consortium.code.contains(q)))
    if kind:
        statement = statement.where(Consortium.kind == kind)
    return statement.order_by(Consortium.name, Consortium.id)


def grids_statement(consortium_id: int | None, *, q: str, where: Any = None) -> Select[Any]:
    """Grids (a consortium's, or those `where` selects) with the serving institution's and the
    village clinic's names."""
    clinic = aliased(Institution)
    statement = (
        select(Grid, Institution.name, clinic.name)
        .join(Institution, Institution.id == Grid.institution_id)
        .outerjoin(clinic, clinic.id == Grid.clinic_id)
    )
    if consortium_id is not None:
        statement = statement.where(Grid.consortium_id == consortium_id)
    if where is not None:
        statement = statement.where(where)
    if q:
        statement = statement.where(or_(Grid.name.contains(q), Grid.code.contains(q)))
    return cast("Select[Any]", statement.order_by(Grid.code))


def staff_statement(
    readable: Select[Any],
    *,
    q: str,
    institution_id: int | None,
    practitioner_type: str | None,
    sort: str,
) -> Select[Any]:
    """Staff whose home institution the subject may read, with its name and their open postings."""
    home_ids = readable.with_only_columns(Institution.id).order_by(None)
    open_postings = (
        select(func.count())
        .where(Posting.staff_id == Staff.id, Posting.end_on.is_(None))
        .correlate(Staff)
        .scalar_subquery()
    )
    statement = (
        select(Staff, Institution.name, open_postings)
        .join(Institution, Institution.id == Staff.home_institution_id)
        .where(Staff.home_institution_id.in_(home_ids))
    )
    if q:
        statement = statement.where(or_(Staff.name.contains(q), Staff.code.contains(q)))
    if institution_id is not None:
        statement = statement.where(Staff.home_institution_id == institution_id)
    if practitioner_type:
        statement = statement.where(Staff.practitioner_type == practitioner_type)
    return _ordered(statement, STAFF_SORTS, sort, Staff.id)


def postings_of(session: Session, staff_id: int) -> list[tuple[Posting, str]]:
    rows = session.execute(
        select(Posting, Institution.name)
        .join(Institution, Institution.id == Posting.institution_id)
        .where(Posting.staff_id == staff_id)
        .order_by(Posting.start_on.desc(), Posting.id.desc())
    )
    return [(p, name) for p, name in rows]
