"""Readable rows for the acting subject: privacy is enforced here, once, for every list and read."""

from __future__ import annotations

from sqlalchemy import ColumnElement, Select, and_, exists, false, or_, select

from yilian.auth import rules
from yilian.auth.rules import Subject
from yilian.models import Booking, Consortium, Encounter, Grid, Institution, Referral, Resident, Slot


def _served_by_institution(institution_id: int) -> ColumnElement[bool]:
    grid_ids = select(Grid.id).where(
        or_(Grid.institution_id == institution_id, Grid.clinic_id == institution_id)
    )
    cared_for = exists().where(
        and_(Encounter.resident_id == Resident.id, Encounter.institution_id == institution_id)
    )
    # A referral to or from the institution opens the record to it: the receiving department must
    # read the summary and results before the patient's first visit.
    referred = exists().where(
        and_(
            Referral.resident_id == Resident.id,
            or_(Referral.to_institution_id == institution_id, Referral.from_institution_id == institution_id),
        )
    )
    # A live booking is registration in advance: the desk that will receive the patient reads the
    # record to check them in (an encounter then keeps it open, as for any patient seen there).
    booked = exists().where(
        and_(
            Booking.resident_id == Resident.id,
            Booking.status.in_(("booked", "checked_in")),
            Booking.slot_id == Slot.id,
            Slot.institution_id == institution_id,
        )
    )
    return or_(Resident.grid_id.in_(grid_ids), cared_for, referred, booked)


def resident_visibility(subject: Subject) -> ColumnElement[bool]:
    """A WHERE clause on Resident limiting rows to those the subject serves."""
    role = subject.role
    if role in (rules.COMMISSION, rules.INSURANCE) and subject.region_code:
        low, high = rules.region_range(subject.region_code)
        return Resident.region_code.between(low, high)
    if role == rules.CONSORTIUM_ADMIN and subject.consortium_id:
        return Resident.grid_id.in_(select(Grid.id).where(Grid.consortium_id == subject.consortium_id))
    if role in (rules.INSTITUTION_ADMIN, rules.DOCTOR) and subject.institution_id:
        return _served_by_institution(subject.institution_id)
    if role == rules.FAMILY_DOCTOR:
        return Resident.grid_id.in_(subject.grid_ids) if subject.grid_ids else false()
    if role == rules.RESIDENT and subject.resident_id:
        return Resident.id == subject.resident_id
    return false()


def readable_residents(subject: Subject) -> Select[Resident]:
    return select(Resident).where(resident_visibility(subject))


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
