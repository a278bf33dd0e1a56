"""Queries of teams, packages and contracts; every list starts from what the subject may see."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, case, func, or_, select, update
from sqlalchemy.orm import Session

from yilian.auth import scoping
from yilian.auth.rules import Subject
from yilian.family_doctor import rules
from yilian.models import (
    ChronicVisit,
    Contract,
    FamilyDoctorTeam,
    FeeRule,
    Institution,
    RiskAssessment,
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


def open_contract(session: Session, resident_id: int, consortium_id: int, today: date) -> Contract | None:
    """The contract the resident holds (or will hold, once renewed) in the consortium on `today`:
    no act has ended it and its end has not passed. A lapsed one is not open, whatever its status."""
    return session.scalar(
        select(Contract).where(
            Contract.resident_id == resident_id,
            Contract.consortium_id == consortium_id,
            Contract.status == "active",
            Contract.end_on >= today,
        )
    )


def close_lapsed(session: Session, *, resident_id: int, consortium_id: int, today: date) -> int:
    """Record as expired the resident's contract that lapsed by date, before a new one is signed:
    the one-open-contract index counts stored statuses, so the lapsed row must leave it first.
    Readers never depend on this write (they test dates: `in_force`)."""
    result = session.execute(
        update(Contract)
        .where(
            Contract.resident_id == resident_id,
            Contract.consortium_id == consortium_id,
            Contract.status == "active",
            Contract.end_on < today,
        )
        .values(status="expired", ended_on=Contract.end_on, end_reason="到期")
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def contracts_of_resident(session: Session, resident_id: int) -> list[tuple[Contract, str, str]]:
    rows = session.execute(
        select(Contract, FamilyDoctorTeam.name, ServicePackage.name)
        .join(FamilyDoctorTeam, FamilyDoctorTeam.id == Contract.team_id)
        .join(ServicePackage, ServicePackage.id == Contract.package_id)
        .where(Contract.resident_id == resident_id)
        .order_by(Contract.start_on.desc(), Contract.id.desc())
    )
    return [(c, t, p) for c, t, p in rows]


def institution_names(session: Session, institution_ids: list[int]) -> dict[int, str]:
    return dict(
        session.execute(
            select(Institution.id, Institution.name).where(Institution.id.in_(institution_ids))
        ).all()
    )


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


def _at_target() -> Any:
    """A follow-up's control: BP < 140/90 when measured, else fasting glucose < 7.0; None: neither."""
    return case(
        (
            ChronicVisit.sbp.is_not(None),
            case((and_(ChronicVisit.sbp < 140, ChronicVisit.dbp < 90), 1), else_=0),
        ),
        (ChronicVisit.fasting_glucose.is_not(None), case((ChronicVisit.fasting_glucose < 7.0, 1), else_=0)),
        else_=None,
    )


def patient_courses(
    session: Session, *, team_ids: list[int], start: date, end: date
) -> list[tuple[int, int | None, rules.Course]]:
    """(resident, staff of the last follow-up, course) for every patient signed with one of the teams
    during the period, per disease: first and last follow-up's control and first and last colour
    assessed in the period. Two windowed queries; the rule (rules.improved) judges the course."""
    signed = select(Contract.resident_id).where(
        Contract.team_id.in_(team_ids),
        Contract.start_on <= end,
        func.coalesce(Contract.ended_on, Contract.end_on) >= start,
    )
    disease = func.coalesce(ChronicVisit.disease, "")
    first = func.row_number().over(
        partition_by=(ChronicVisit.resident_id, disease), order_by=(ChronicVisit.visited_on, ChronicVisit.id)
    )
    last = func.row_number().over(
        partition_by=(ChronicVisit.resident_id, disease),
        order_by=(ChronicVisit.visited_on.desc(), ChronicVisit.id.desc()),
    )
    visits = (
        select(
            ChronicVisit.resident_id,
            disease.label("disease"),
            ChronicVisit.staff_id,
            _at_target().label("ok"),
            first.label("first"),
            last.label("last"),
        )
        .where(
            ChronicVisit.kind == "follow_up",
            ChronicVisit.visited_on.between(start, end),
            ChronicVisit.resident_id.in_(signed),
        )
        .subquery()
    )
    control: dict[tuple[int, str], list[Any]] = {}
    for resident_id, dis, staff_id, ok, is_first, is_last in session.execute(
        select(
            visits.c.resident_id,
            visits.c.disease,
            visits.c.staff_id,
            visits.c.ok,
            visits.c.first,
            visits.c.last,
        ).where(or_(visits.c.first == 1, visits.c.last == 1))
    ):
        entry = control.setdefault((resident_id, dis), [None, None, None])
        if is_first == 1:
            entry[0] = None if ok is None else bool(ok)
        if is_last == 1:
            entry[1], entry[2] = (None if ok is None else bool(ok)), staff_id
    colour_first = func.row_number().over(
        partition_by=(RiskAssessment.resident_id, RiskAssessment.disease),
        order_by=(RiskAssessment.assessed_on, RiskAssessment.id),
    )
    colour_last = func.row_number().over(
        partition_by=(RiskAssessment.resident_id, RiskAssessment.disease),
        order_by=(RiskAssessment.assessed_on.desc(), RiskAssessment.id.desc()),
    )
    assessed = (
        select(
            RiskAssessment.resident_id,
            RiskAssessment.disease,
            RiskAssessment.colour,
            colour_first.label("first"),
            colour_last.label("last"),
        )
        .where(RiskAssessment.assessed_on.between(start, end), RiskAssessment.resident_id.in_(signed))
        .subquery()
    )
    colours: dict[int, dict[str, list[str | None]]] = {}
    for resident_id, dis, colour, is_first, is_last in session.execute(
        select(
            assessed.c.resident_id, assessed.c.disease, assessed.c.colour, assessed.c.first, assessed.c.last
        ).where(or_(assessed.c.first == 1, assessed.c.last == 1))
    ):
        entry_c = colours.setdefault(resident_id, {}).setdefault(dis, [None, None])
        if is_first == 1:
            entry_c[0] = colour
        if is_last == 1:
            entry_c[1] = colour
    # A patient's course is credited to whoever made their last follow-up of the disease in the period;
    # a follow-up that names no disease follows each disease assessed for that resident.
    out = []
    for (resident_id, dis), (first_ok, last_ok, staff_id) in control.items():
        assessed_diseases = colours.get(resident_id, {})
        courses = [assessed_diseases[dis]] if dis in assessed_diseases else []
        if dis == "":
            courses = list(assessed_diseases.values())
        for first_colour, last_colour in courses or [[None, None]]:
            out.append((resident_id, staff_id, rules.Course(first_colour, last_colour, first_ok, last_ok)))
    return out


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


def team_rows(subject: Subject, *, q: str = "", institution_id: int | None = None) -> Any:
    """The administrator's team list: (team, institution name), filtered by name/code and institution."""
    statement = (
        select(FamilyDoctorTeam, Institution.name)
        .join(Institution, Institution.id == FamilyDoctorTeam.institution_id)
        .where(team_visibility(subject))
    )
    if q:
        like = f"%{q}%"
        statement = statement.where(or_(FamilyDoctorTeam.name.like(like), FamilyDoctorTeam.code.like(like)))
    if institution_id:
        statement = statement.where(FamilyDoctorTeam.institution_id == institution_id)
    return statement.order_by(FamilyDoctorTeam.code, FamilyDoctorTeam.id)


def package_rows(consortium_id: int, *, q: str = "", category: str = "") -> Select[Any]:
    """A consortium's packages, filtered by name/code and category."""
    statement = select(ServicePackage).where(ServicePackage.consortium_id == consortium_id)
    if q:
        like = f"%{q}%"
        statement = statement.where(or_(ServicePackage.name.like(like), ServicePackage.code.like(like)))
    if category:
        statement = statement.where(ServicePackage.category == category)
    return statement.order_by(ServicePackage.code)


def count(session: Session, statement: Select[Any]) -> int:
    return session.scalar(select(func.count()).select_from(statement.order_by(None).subquery())) or 0
