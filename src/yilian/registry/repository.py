"""Queries of the registry; lists start from what the subject may see."""

from __future__ import annotations

from datetime import date

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from yilian.kit.sql import add_months
from yilian.models import AdminDivision, Consortium, ConsortiumMember, Grid, Institution, Posting, Staff
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
