"""Queries of the master patient index; every list starts from the subject's readable rows."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, exists, func, select, update
from sqlalchemy.orm import Session

from yilian.auth import scoping
from yilian.auth.rules import Subject
from yilian.auth.scoping import readable_residents, resident_visibility
from yilian.models import Contract, Encounter, Grid, Resident, User


def readable_by_id_number(session: Session, subject: Subject, id_number: str) -> Resident | None:
    """The record of this number that the subject may read, or that was merged into one it may read
    (the oldest first, if a merge is due); None if every record of the number is out of sight."""
    candidates = session.execute(
        select(Resident.id, Resident.merged_into_id)
        .where(Resident.id_number == id_number)
        .order_by(Resident.id)
    ).all()
    for ident, survivor in candidates:
        for target in (ident, survivor):
            if target is not None and scoping.readable_by_id(session, subject, target) is not None:
                return session.get(Resident, ident)
    return None


def held_elsewhere(session: Session, id_numbers: list[str]) -> set[str]:
    """Which numbers any record holds, whoever may read it: for the audit trail's merge candidates
    only, never for an answer (decision 0021)."""
    found: set[str] = set()
    for start in range(0, len(id_numbers), 900):
        chunk = id_numbers[start : start + 900]
        found.update(session.scalars(select(Resident.id_number).where(Resident.id_number.in_(chunk))))
    return found


def readable_by_id_numbers(session: Session, subject: Subject, id_numbers: list[str]) -> dict[str, str]:
    """id_number → name for those registered where the subject may read them (chunked IN lists)."""
    found: dict[str, str] = {}
    for start in range(0, len(id_numbers), 900):
        chunk = id_numbers[start : start + 900]
        rows = session.execute(
            select(Resident.id_number, Resident.name)
            .where(resident_visibility(subject), Resident.id_number.in_(chunk))
            .order_by(Resident.id.desc())
        )
        found.update((number, name) for number, name in rows)
    return found


def readable_by_id(session: Session, subject: Subject, resident_id: int) -> Resident | None:
    return scoping.readable_by_id(session, subject, resident_id)


def search_statement(subject: Subject, query: str) -> Select[Resident]:
    """Exact ID number, exact phone, or name prefix — each served by an index."""
    statement = readable_residents(subject)
    text = query.strip()
    if not text:
        return statement
    if len(text) == 18 and text[:17].isdigit():
        return statement.where(Resident.id_number == text.upper())
    if text.isdigit() and len(text) >= 7:
        return statement.where(Resident.phone == text)
    # Prefix range instead of LIKE: SQLite's LIKE is case-insensitive and skips the index.
    return statement.where(Resident.name >= text, Resident.name < text + "\U0010ffff")


def search_page(
    session: Session, subject: Subject, query: str, *, offset: int, limit: int
) -> tuple[int, list[tuple[Resident, str | None]]]:
    statement = search_statement(subject, query)
    total = session.scalar(select(func.count()).select_from(statement.subquery())) or 0
    page = (
        statement.add_columns(Grid.name)
        .outerjoin(Grid, Grid.id == Resident.grid_id)
        .order_by(Resident.name, Resident.id)
        .offset(offset)
        .limit(limit)
    )
    return total, [(r, g) for r, g in session.execute(page)]


def grid_name(session: Session, grid_id: int | None) -> str | None:
    return None if grid_id is None else session.scalar(select(Grid.name).where(Grid.id == grid_id))


def grids_by_code(session: Session, codes: list[str]) -> dict[str, Grid]:
    return {g.code: g for g in session.scalars(select(Grid).where(Grid.code.in_(codes)))} if codes else {}


def move_encounters(session: Session, *, from_resident_id: int, to_resident_id: int) -> int:
    result = session.execute(
        update(Encounter).where(Encounter.resident_id == from_resident_id).values(resident_id=to_resident_id)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def move_accounts(session: Session, *, from_resident_id: int, to_resident_id: int) -> None:
    session.execute(
        update(User).where(User.resident_id == from_resident_id).values(resident_id=to_resident_id)
    )


def duplicate_numbers_page(
    session: Session, subject: Subject, *, offset: int, limit: int
) -> tuple[int, list[tuple[Resident, str | None]]]:
    """Merge candidates: ID numbers that more than one active record the subject reads holds (a
    registration outside a registrar's sight makes such a pair, decision 0021), a page of numbers
    at a time, with every record that holds them."""
    active = readable_residents(subject).where(Resident.status == "active")
    numbers = (
        active.with_only_columns(Resident.id_number).group_by(Resident.id_number).having(func.count() > 1)
    )
    total = session.scalar(select(func.count()).select_from(numbers.subquery())) or 0
    page = [n for (n,) in session.execute(numbers.order_by(Resident.id_number).offset(offset).limit(limit))]
    if not page:
        return total, []
    rows = session.execute(
        active.add_columns(Grid.name)
        .outerjoin(Grid, Grid.id == Resident.grid_id)
        .where(Resident.id_number.in_(page))
        .order_by(Resident.id_number, Resident.id)
    )
    return total, [(r, g) for r, g in rows]


# A resident's signed state, read by the MPI, scheduling, chronic care and diagnostics: a fact the
# family doctor records as contract rows (its table is in models), read here so that no domain below
# family_doctor has to ask it (decision 0030).
def in_force(on: Any) -> ColumnElement[bool]:
    """A family-doctor contract serves its resident on `on` (a date or a bind parameter): from its
    start to its end, or to the day a change of team or a termination ended it (the SQL of
    `family_doctor.rules.in_force`). Every reader of "signed" uses this, so a contract lapses by
    itself and the signed state is true on any day."""
    return and_(Contract.start_on <= on, func.coalesce(Contract.ended_on, Contract.end_on) >= on)


def is_signed(session: Session, resident_id: int, on: date) -> bool:
    """Signed residents get priority everywhere: any contract in force on the day."""
    return bool(
        session.scalar(
            select(func.count())
            .select_from(Contract)
            .where(Contract.resident_id == resident_id, in_force(on))
        )
    )


def signed_clause(resident_id_column: ColumnElement[int], on: date) -> ColumnElement[bool]:
    """For lists: EXISTS a contract of that resident in force on `on`."""
    return exists().where(Contract.resident_id == resident_id_column, in_force(on))
