"""Readable rows for the acting subject: privacy is enforced here, once, for every list and read."""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from typing import Any

from sqlalchemy import ColumnElement, Select, bindparam, false, or_, select
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import BindParameter

from yilian.auth import rules
from yilian.auth.rules import Subject
from yilian.kit.sql import in_parameter
from yilian.models import (
    Booking,
    CareRelation,
    Consortium,
    DiagnosticCentre,
    ExamOrder,
    Grid,
    Guardianship,
    Institution,
    Referral,
    Resident,
    Slot,
    Teleconsult,
)


def _served_by_institution(institution_id: Any) -> ColumnElement[bool]:
    grid_ids = select(Grid.id).where(
        or_(Grid.institution_id == institution_id, Grid.clinic_id == institution_id)
    )
    # Each test correlates on Resident only: embedded in a statement over encounters (FHIR's
    # Encounter search) or referrals, it must not bind to the outer row.
    # Seen there at least once: one probe of care_relation's key, which triggers on encounter keep
    # exact (decision 0017), not a search through the resident's encounters.
    cared_for = (
        select(CareRelation.resident_id)
        .where(CareRelation.institution_id == institution_id, CareRelation.resident_id == Resident.id)
        .correlate(Resident)
        .exists()
    )
    # A referral to or from the institution opens the record to it: the receiving department must
    # read the summary and results before the patient's first visit.
    referred = (
        select(Referral.id)
        .where(
            Referral.resident_id == Resident.id,
            or_(Referral.to_institution_id == institution_id, Referral.from_institution_id == institution_id),
        )
        .correlate(Resident)
        .exists()
    )
    # A live booking is registration in advance: the desk that will receive the patient reads the
    # record to check them in (an encounter then keeps it open, as for any patient seen there).
    # Correlated on Resident only: embedded in a statement that reads a slot, it must not bind to it.
    booked = (
        select(Booking.id)
        .join(Slot, Slot.id == Booking.slot_id)
        .where(
            Booking.resident_id == Resident.id,
            # Two equalities, not IN (…): a literal list is an "expanding" parameter, re-rendered
            # into the SQL text on every execution of every statement that embeds this scope.
            or_(Booking.status == "booked", Booking.status == "checked_in"),
            Slot.institution_id == institution_id,
        )
        .correlate(Resident)
        .exists()
    )
    # An exam sent to a shared centre, or a case put to a remote consultant, opens the record to the
    # county doctors who read it: "乡检查、县诊断" needs the history behind the images.
    read_at_centre = (
        select(ExamOrder.id)
        .join(DiagnosticCentre, DiagnosticCentre.id == ExamOrder.centre_id)
        .where(ExamOrder.resident_id == Resident.id, DiagnosticCentre.host_institution_id == institution_id)
        .correlate(Resident)
        .exists()
    )
    consulted = (
        select(Teleconsult.id)
        .where(
            Teleconsult.resident_id == Resident.id, Teleconsult.consultant_institution_id == institution_id
        )
        .correlate(Resident)
        .exists()
    )
    return or_(Resident.grid_id.in_(grid_ids), cared_for, referred, booked, read_at_centre, consulted)


def scope_of(subject: Subject) -> tuple[str, dict[str, Any]]:
    """Which kind of scope the subject has, and the values that fill it (parameters of
    `scope_clause(kind, scope_parameter)` in a prebuilt statement)."""
    role = subject.role
    if role in (rules.COMMISSION, rules.INSURANCE) and subject.region_code:
        low, high = rules.region_range(subject.region_code)
        return "region", {"scope_low": low, "scope_high": high}
    if role == rules.CONSORTIUM_ADMIN and subject.consortium_id:
        return "consortium", {"scope_consortium": subject.consortium_id}
    if role in (rules.INSTITUTION_ADMIN, rules.DOCTOR) and subject.institution_id:
        return "institution", {"scope_institution": subject.institution_id}
    if role == rules.FAMILY_DOCTOR and subject.grid_ids:
        return "grids", {"scope_grids": list(subject.grid_ids)}
    if role == rules.RESIDENT and subject.resident_id:
        return "self", {"scope_resident": subject.resident_id}
    return "none", {}


def scope_clause(kind: str, value: Callable[[str], Any]) -> ColumnElement[bool]:
    if kind == "region":
        return Resident.region_code.between(value("scope_low"), value("scope_high"))
    if kind == "consortium":
        return Resident.grid_id.in_(select(Grid.id).where(Grid.consortium_id == value("scope_consortium")))
    if kind == "institution":
        return _served_by_institution(value("scope_institution"))
    if kind == "grids":
        grids = value("scope_grids")
        # A bound list (a prebuilt statement) is one array parameter on PostgreSQL (kit.sql)
        return (
            in_parameter(Resident.grid_id, grids.key)
            if isinstance(grids, BindParameter)
            else Resident.grid_id.in_(grids)
        )
    if kind == "self":
        # A resident reads their own record and those of the family members they are guardian of.
        wards = select(Guardianship.ward_resident_id).where(
            Guardianship.guardian_resident_id == value("scope_resident"), Guardianship.until.is_(None)
        )
        return or_(Resident.id == value("scope_resident"), Resident.id.in_(wards))
    return false()


def resident_visibility(subject: Subject) -> ColumnElement[bool]:
    """A WHERE clause on Resident limiting rows to those the subject serves."""
    kind, values = scope_of(subject)
    return scope_clause(kind, values.__getitem__)


def readable_residents(subject: Subject) -> Select[Resident]:
    return select(Resident).where(resident_visibility(subject))


def scope_parameter(name: str) -> Any:
    return bindparam(name)


@cache
def _readable_by_id_template(kind: str) -> Select[Resident]:
    """Built once per kind of scope with bound parameters: a request pays for filling in values,
    not for rebuilding (and re-hashing) the expression tree."""
    return select(Resident).where(
        scope_clause(kind, scope_parameter), Resident.id == bindparam("resident_id")
    )


def readable_by_id(session: Session, subject: Subject, resident_id: int) -> Resident | None:
    """One resident if the subject serves them: the hottest read of the platform, a cached statement."""
    kind, values = scope_of(subject)
    return session.scalar(_readable_by_id_template(kind), {**values, "resident_id": resident_id})


def institution_visibility(subject: Subject) -> ColumnElement[bool]:
    """Registry data is not personal, but a county's users see their county only."""
    if subject.region_code:
        low, high = rules.region_range(subject.region_code)
        return Institution.region_code.between(low, high)
    if subject.institution_id:
        county = select(Institution.region_code).where(Institution.id == subject.institution_id)
        return Institution.region_code.in_(county.scalar_subquery())
    if subject.consortium_id:
        county = select(Consortium.region_code).where(Consortium.id == subject.consortium_id)
        return Institution.region_code.in_(county.scalar_subquery())
    return false()
