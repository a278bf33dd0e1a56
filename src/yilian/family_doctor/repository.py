"""Queries of teams, packages and contracts; every list starts from what the subject may see."""

from __future__ import annotations

from datetime import date

from sqlalchemy import ColumnElement, Select, and_, case, func, or_, select, update
from sqlalchemy.orm import Session

from yilian.auth import scoping
from yilian.auth.rules import Subject
from yilian.models import (
    ChronicVisit,
    Contract,
    FamilyDoctorTeam,
    FeeRule,
    ServicePackage,
    Staff,
    TeamGrid,
    TeamMember,
)


def team_visibility(subject: Subject) -> ColumnElement[bool]:
    """A division's or consortium's teams by their consortium, an institution's by their institution."""
    return scoping.charge_clause(
        subject, institution=FamilyDoctorTeam.institution_id, consortium=FamilyDoctorTeam.consortium_id
    )


def readable_teams(subject: Subject) -> Select[FamilyDoctorTeam]:
    return select(FamilyDoctorTeam).where(team_visibility(subject)).order_by(FamilyDoctorTeam.code)


def team(session: Session, team_id: int) -> FamilyDoctorTeam | None:
    return session.get(FamilyDoctorTeam, team_id)


def members_of(session: Session, team_ids: list[int]) -> list[tuple[int, int, str, str]]:
    """(team_id, staff_id, staff name, role)."""
    rows = session.execute(
        select(TeamMember.team_id, Staff.id, Staff.name, TeamMember.role)
        .join(Staff, Staff.id == TeamMember.staff_id)
        .where(TeamMember.team_id.in_(team_ids))
        .order_by(TeamMember.team_id, TeamMember.id)
    )
    return [(t, s, n, r) for t, s, n, r in rows]


def grids_of(session: Session, team_ids: list[int]) -> dict[int, list[int]]:
    out: dict[int, list[int]] = {t: [] for t in team_ids}
    for team_id, grid_id in session.execute(
        select(TeamGrid.team_id, TeamGrid.grid_id).where(TeamGrid.team_id.in_(team_ids))
    ):
        out[team_id].append(grid_id)
    return out


def teams_of_staff(session: Session, staff_id: int) -> list[int]:
    return list(session.scalars(select(TeamMember.team_id).where(TeamMember.staff_id == staff_id)))


def package(session: Session, package_id: int) -> ServicePackage | None:
    return session.get(ServicePackage, package_id)


def packages_of(session: Session, consortium_id: int) -> list[ServicePackage]:
    return list(
        session.scalars(
            select(ServicePackage)
            .where(ServicePackage.consortium_id == consortium_id)
            .order_by(ServicePackage.code)
        )
    )


def package_by_code(session: Session, consortium_id: int, code: str) -> ServicePackage | None:
    return session.scalar(
        select(ServicePackage).where(
            ServicePackage.consortium_id == consortium_id, ServicePackage.code == code
        )
    )


def contract(session: Session, contract_id: int) -> Contract | None:
    return session.get(Contract, contract_id)


def active_contract(session: Session, resident_id: int, consortium_id: int) -> Contract | None:
    return session.scalar(
        select(Contract).where(
            Contract.resident_id == resident_id,
            Contract.consortium_id == consortium_id,
            Contract.status == "active",
        )
    )


def contracts_of_resident(session: Session, resident_id: int) -> list[tuple[Contract, str, str]]:
    rows = session.execute(
        select(Contract, FamilyDoctorTeam.name, ServicePackage.name)
        .join(FamilyDoctorTeam, FamilyDoctorTeam.id == Contract.team_id)
        .join(ServicePackage, ServicePackage.id == Contract.package_id)
        .where(Contract.resident_id == resident_id)
        .order_by(Contract.start_on.desc(), Contract.id.desc())
    )
    return [(c, t, p) for c, t, p in rows]


def is_signed(session: Session, resident_id: int, on: date) -> bool:
    """Signed residents get priority everywhere: any active contract covering the day."""
    return bool(
        session.scalar(
            select(func.count())
            .select_from(Contract)
            .where(
                Contract.resident_id == resident_id,
                Contract.status == "active",
                Contract.start_on <= on,
                Contract.end_on >= on,
            )
        )
    )


def signed_clause(resident_id_column: ColumnElement[int], on: date) -> ColumnElement[bool]:
    """For lists: EXISTS an active contract of that resident covering `on`."""
    from sqlalchemy import exists

    return exists().where(
        Contract.resident_id == resident_id_column,
        Contract.status == "active",
        Contract.start_on <= on,
        Contract.end_on >= on,
    )


def expire_contracts(session: Session, *, today: date) -> int:
    """Set-based: every active contract whose end has passed becomes expired."""
    result = session.execute(
        update(Contract)
        .where(Contract.status == "active", Contract.end_on < today)
        .values(status="expired", ended_on=Contract.end_on, end_reason="到期")
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def fee_rule(session: Session, consortium_id: int) -> FeeRule | None:
    return session.scalar(select(FeeRule).where(FeeRule.consortium_id == consortium_id))


def fees_by_team(session: Session, *, team_ids: list[int], start: date, end: date) -> dict[int, int]:
    """Signing fees of contracts that start in the period (fees are paid at signing), per team."""
    rows = session.execute(
        select(Contract.team_id, func.sum(Contract.fee_fen))
        .where(
            Contract.team_id.in_(team_ids),
            Contract.start_on.between(start, end),
            # A contract terminated on its first day was never served: its fee is refunded.
            or_(Contract.ended_on.is_(None), Contract.ended_on > Contract.start_on),
        )
        .group_by(Contract.team_id)
    )
    return {t: int(f or 0) for t, f in rows}


def member_work(
    session: Session, *, staff_ids: list[int], start: date, end: date
) -> dict[int, tuple[int, int]]:
    """staff_id → (services, controlled follow-ups) in the period: one grouped query each."""
    controlled = case(
        (and_(ChronicVisit.sbp.is_not(None), ChronicVisit.sbp < 140, ChronicVisit.dbp < 90), 1),
        (and_(ChronicVisit.sbp.is_(None), ChronicVisit.fasting_glucose < 7.0), 1),
        else_=0,
    )
    visits = dict.fromkeys(staff_ids, (0, 0))
    for staff_id, count, ok in session.execute(
        select(ChronicVisit.staff_id, func.count(), func.sum(controlled))
        .where(ChronicVisit.staff_id.in_(staff_ids), ChronicVisit.visited_on.between(start, end))
        .group_by(ChronicVisit.staff_id)
    ):
        visits[staff_id] = (int(count), int(ok or 0))
    for signer_id, count in session.execute(
        select(Contract.signed_by_staff_id, func.count())
        .where(Contract.signed_by_staff_id.in_(staff_ids), Contract.start_on.between(start, end))
        .group_by(Contract.signed_by_staff_id)
    ):
        if signer_id is not None:
            services, ok = visits[signer_id]
            visits[signer_id] = (services + int(count), ok)
    return visits
