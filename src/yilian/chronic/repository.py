"""Queries of chronic care: registers, visits, work lists, figures. Lists start from readable residents."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import ColumnElement, Integer, and_, exists, func, insert, literal, or_, select, true
from sqlalchemy.orm import Session
from sqlalchemy.sql import Select

from yilian.auth.rules import Subject
from yilian.auth.scoping import resident_visibility
from yilian.chronic import rules
from yilian.chronic.assessment import code_in, years_before
from yilian.models import (
    ChronicRegister,
    ChronicVisit,
    Contract,
    Drug,
    Encounter,
    EncounterDiagnosis,
    Grid,
    Resident,
    RiskAssessment,
    TeamGrid,
)
from yilian.residents.repository import in_force as contract_in_force


def served_residents(subject: Subject) -> Select[Any]:
    """The ids of the residents the subject serves: what a batch run by them may touch."""
    return select(Resident.id).where(resident_visibility(subject))


def refresh_registers_from_diagnoses(session: Session, residents: Select[Any] | None = None) -> int:
    """Put everyone with a 三高 diagnosis on its register (set-based; existing entries are kept); only
    the residents `residents` selects (their ids), if given."""
    added = 0
    for disease, prefixes in rules.REGISTER_ICD_PREFIXES.items():
        already = exists().where(
            ChronicRegister.resident_id == Encounter.resident_id, ChronicRegister.disease == disease
        )
        first_seen = (
            select(Encounter.resident_id, func.min(Encounter.start_date))
            .join(EncounterDiagnosis, EncounterDiagnosis.encounter_id == Encounter.id)
            .where(code_in(EncounterDiagnosis.icd10_code, prefixes), ~already)
            .group_by(Encounter.resident_id)
        )
        if residents is not None:
            first_seen = first_seen.where(Encounter.resident_id.in_(residents))
        sub = first_seen.subquery()
        result = session.connection().execute(
            insert(ChronicRegister)
            .from_select(
                ["resident_id", "disease", "source", "registered_on"],
                select(sub.c.resident_id, literal(disease), literal("diagnosis"), sub.c[1]),
            )
            .returning(ChronicRegister.id)
        )
        # RETURNING, because psycopg reports no rowcount for INSERT … SELECT.
        added += len(result.all())
    return added


def registers_of(session: Session, resident_id: int) -> list[ChronicRegister]:
    return list(
        session.scalars(
            select(ChronicRegister)
            .where(ChronicRegister.resident_id == resident_id)
            .order_by(ChronicRegister.disease)
        )
    )


def register(session: Session, resident_id: int, disease: str) -> ChronicRegister | None:
    return session.scalar(
        select(ChronicRegister).where(
            ChronicRegister.resident_id == resident_id, ChronicRegister.disease == disease
        )
    )


def latest_explanations(session: Session, resident_id: int) -> dict[str, str]:
    out: dict[str, str] = {}
    rows = session.execute(
        select(RiskAssessment.disease, RiskAssessment.explanation)
        .where(RiskAssessment.resident_id == resident_id)
        .order_by(RiskAssessment.id)
    )
    for disease, explanation in rows:
        out[disease] = explanation
    return out


def visits_of(session: Session, resident_id: int, limit: int = 100) -> list[ChronicVisit]:
    return list(
        session.scalars(
            select(ChronicVisit)
            .where(ChronicVisit.resident_id == resident_id)
            .order_by(ChronicVisit.visited_on.desc(), ChronicVisit.id.desc())
            .limit(limit)
        )
    )


def _active_on(day: date) -> Any:
    """Signed on `day`, as a correlated EXISTS: a work list's filter (`NOT IN` over the county's
    contracts made the unsigned list 40 times slower)."""
    return exists().where(Contract.resident_id == Resident.id, contract_in_force(day))


def _signed_on(day: date) -> Any:
    """Signed on `day`, as an IN over the day's contracts: for a figure over every readable resident,
    where PostgreSQL then hashes the ~120,000 contracts once instead of probing the index for each
    of 300,000 residents (SQLite builds one temporary index the same way)."""
    return Resident.id.in_(select(Contract.resident_id).where(contract_in_force(day)))


def _worklist_base(
    subject: Subject, *, kind: str, today: date, grid_id: int | None = None, disease: str | None = None
) -> Any:
    """The rows of a work list before columns are chosen: the subject's active residents on a register
    (unsigned: not signed today, 应签尽签; overdue: follow-up past due; red), optionally one village's
    (grid) or one disease's."""
    statement = (
        select(Resident.id)
        .join(ChronicRegister, ChronicRegister.resident_id == Resident.id)
        .where(resident_visibility(subject), Resident.status == "active")
    )
    if kind == "unsigned":
        statement = statement.where(~_active_on(today))
    elif kind == "overdue":
        statement = statement.where(ChronicRegister.next_due_on < today)
    else:
        statement = statement.where(ChronicRegister.colour == "red")
    if grid_id is not None:
        statement = statement.where(Resident.grid_id == grid_id)
    if disease is not None:
        statement = statement.where(ChronicRegister.disease == disease)
    return statement


def worklist(
    session: Session,
    subject: Subject,
    *,
    kind: str,
    today: date,
    grid_id: int | None = None,
    disease: str | None = None,
    offset: int = 0,
    limit: int | None = 200,
) -> list[Any]:
    """One page of a work list (all of it with limit=None, for the export), most urgent first."""
    statement = (
        _worklist_base(subject, kind=kind, today=today, grid_id=grid_id, disease=disease)
        .with_only_columns(
            Resident.id,
            Resident.name,
            Resident.birth_date,
            Grid.name,
            ChronicRegister.disease,
            ChronicRegister.colour,
            ChronicRegister.next_due_on,
        )
        .outerjoin(Grid, Grid.id == Resident.grid_id)
    )
    if kind == "unsigned":
        statement = statement.order_by(
            ChronicRegister.registered_on.desc(), Resident.id, ChronicRegister.disease
        )
    else:
        statement = statement.order_by(ChronicRegister.next_due_on, Resident.id, ChronicRegister.disease)
    return list(session.execute(statement.offset(offset).limit(limit)))


def count_worklist(
    session: Session,
    subject: Subject,
    *,
    kind: str,
    today: date,
    grid_id: int | None = None,
    disease: str | None = None,
) -> int:
    base = _worklist_base(subject, kind=kind, today=today, grid_id=grid_id, disease=disease)
    return session.scalar(base.with_only_columns(func.count()).select_from(Resident)) or 0


def worklist_grids(session: Session, subject: Subject, *, kind: str, today: date) -> list[Any]:
    """The villages (grids) a work list spans, with how many of its rows each holds: the filter's choices."""
    base = _worklist_base(subject, kind=kind, today=today)
    statement = (
        base.with_only_columns(Grid.id, Grid.name, func.count())
        .join(Grid, Grid.id == Resident.grid_id)
        .group_by(Grid.id, Grid.name)
        .order_by(Grid.name)
    )
    return list(session.execute(statement))


def figures(
    session: Session,
    subject: Subject,
    *,
    today: date,
    key_age_cutoff: date,
    unit: ColumnElement[bool] | None = None,
) -> dict[str, Any]:
    """Signing rate, key-population signing, registered, on-time, controlled, colours — grouped queries.

    `unit` narrows the subject's residents to a team's, a grid's or an institution's."""
    visible = resident_visibility(subject)
    active = and_(visible, Resident.status == "active", unit if unit is not None else true())
    residents, signed = session.execute(
        select(func.count(), func.sum(func.cast(_signed_on(today), Integer)))
        .select_from(Resident)
        .where(active)
    ).one()
    key = or_(
        Resident.birth_date <= key_age_cutoff, exists().where(ChronicRegister.resident_id == Resident.id)
    )
    key_total, key_signed = session.execute(
        select(func.count(), func.sum(func.cast(_signed_on(today), Integer)))
        .select_from(Resident)
        .where(active, key)
    ).one()
    per_disease = session.execute(
        select(
            ChronicRegister.disease,
            ChronicRegister.colour,
            func.count(),
            func.sum(func.cast(ChronicRegister.next_due_on >= today, Integer)),
            func.sum(func.cast(ChronicRegister.controlled.is_(True), Integer)),
        )
        .join(Resident, Resident.id == ChronicRegister.resident_id)
        .where(active)
        .group_by(ChronicRegister.disease, ChronicRegister.colour)
    ).all()
    return {
        "residents": int(residents or 0),
        "signed": int(signed or 0),
        "key": int(key_total or 0),
        "key_signed": int(key_signed or 0),
        "per_disease": per_disease,
    }


def drug(session: Session, drug_id: int) -> Drug | None:
    return session.get(Drug, drug_id)


def drugs_page(
    session: Session, *, consortium_id: int, q: str, offset: int, limit: int
) -> tuple[int, list[Drug]]:
    """One page of a consortium's catalogue, matched by name, in name order; and the matching total."""
    from sqlalchemy import func

    statement = select(Drug).where(Drug.consortium_id == consortium_id)
    if q:
        statement = statement.where(Drug.name.contains(q, autoescape=True))
    total = session.scalar(select(func.count()).select_from(statement.subquery())) or 0
    rows = session.scalars(statement.order_by(Drug.name, Drug.id).offset(offset).limit(limit))
    return total, list(rows)


def refresh_control(session: Session, *, today: date) -> None:
    """Each register entry's last visit and whether its latest measurement met the target (set-based)."""
    from sqlalchemy import case, update

    last_visit = (
        select(func.max(ChronicVisit.visited_on))
        .where(ChronicVisit.resident_id == ChronicRegister.resident_id)
        .scalar_subquery()
    )
    session.execute(update(ChronicRegister).values(last_visit_on=last_visit))

    def latest(column: Any, having: Any) -> Any:
        return (
            select(column)
            .where(ChronicVisit.resident_id == ChronicRegister.resident_id, having)
            .order_by(ChronicVisit.visited_on.desc(), ChronicVisit.id.desc())
            .limit(1)
            .scalar_subquery()
        )

    sbp = latest(ChronicVisit.sbp, ChronicVisit.sbp.is_not(None))
    dbp = latest(ChronicVisit.dbp, ChronicVisit.sbp.is_not(None))
    glucose = latest(ChronicVisit.fasting_glucose, ChronicVisit.fasting_glucose.is_not(None))
    born = select(Resident.birth_date).where(Resident.id == ChronicRegister.resident_id).scalar_subquery()
    limit = case((born <= years_before(today, 80), 150), else_=140)
    session.execute(
        update(ChronicRegister)
        .where(ChronicRegister.disease == rules.HYPERTENSION)
        .values(controlled=case((sbp.is_(None), None), else_=and_(sbp < limit, dbp < 90)))
    )
    session.execute(
        update(ChronicRegister)
        .where(ChronicRegister.disease == rules.DIABETES)
        .values(controlled=case((glucose.is_(None), None), else_=glucose < 7.0))
    )


def unit_clause(
    *, team_id: int | None, grid_id: int | None, institution_id: int | None
) -> ColumnElement[bool] | None:
    """Residents of a team's grids, of one grid, or of the grids an institution serves."""
    if team_id is not None:
        return Resident.grid_id.in_(select(TeamGrid.grid_id).where(TeamGrid.team_id == team_id))
    if grid_id is not None:
        return Resident.grid_id == grid_id
    if institution_id is not None:
        served = select(Grid.id).where(
            or_(Grid.institution_id == institution_id, Grid.clinic_id == institution_id)
        )
        return Resident.grid_id.in_(served)
    return None
