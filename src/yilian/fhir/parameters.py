"""FHIR search parameters over the platform's tables: for each type served from a table, the
table, the resident it is about, its date, and how each parameter becomes a WHERE clause."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, false, or_, select, true

from yilian.fhir import mapping
from yilian.fhir.rules import (
    DERIVED_ID_SYSTEM,
    HEALTH_CARD_SYSTEM,
    ID_CARD_SYSTEM,
    NATIONAL_ID_SYSTEM,
    FhirError,
    parse_date_param,
    reference_id,
    row_key,
)
from yilian.models import (
    Booking,
    ChronicRegister,
    Claim,
    ClinicalObservation,
    Encounter,
    ExamOrder,
    ExamReport,
    FamilyDoctorTeam,
    Grid,
    ImagingStudy,
    Institution,
    Resident,
    ResidentIdentifier,
    Schedule,
    Slot,
    Staff,
)

MAX_COUNT = 500
DEFAULT_COUNT = 50
COMMON = {"_count", "_offset", "_id", "_format"}


@dataclass
class Native:
    """How one FHIR type is read from a platform table."""

    model: Any
    resident_column: Any | None  # the patient compartment; None for registry data
    date_column: Any | None
    params: dict[str, Callable[[str], ColumnElement[bool]]] = field(default_factory=dict)
    base: Callable[[Select[Any]], Select[Any]] = lambda s: s
    id_of: Callable[[str], int | None] = row_key


def int_param(raw: str, name: str) -> int:
    """A whole-number search parameter (`_count`, `_offset`) that a query can use."""
    if row_key(raw.removeprefix("-")) is None:
        raise FhirError(
            400,
            "invalid",
            f"{name}：“{raw[:40]}”不是有效的整数 / {name} '{raw[:40]}' is not a number in range",
            [name],
        )
    return int(raw)


def date_clause(column: Any) -> Callable[[str], ColumnElement[bool]]:
    def clause(value: str) -> ColumnElement[bool]:
        bound = parse_date_param(value)
        parts = []
        is_date = getattr(column.type, "python_type", None) is date
        if bound.low is not None:
            parts.append(column >= (bound.low.date() if is_date else bound.low))
        if bound.high is not None:
            parts.append(
                column
                < (
                    bound.high.date()
                    if is_date and bound.high.time().isoformat() == "00:00:00"
                    else bound.high
                )
            )
        return and_(*parts) if parts else true()

    return clause


def patient_ref(column: Any) -> Callable[[str], ColumnElement[bool]]:
    def clause(value: str) -> ColumnElement[bool]:
        key = row_key(reference_id(value, "Patient") if "/" in value else value)
        return false() if key is None else column == key

    return clause


def ref_clause(column: Any, resource_type: str) -> Callable[[str], ColumnElement[bool]]:
    def clause(value: str) -> ColumnElement[bool]:
        key = row_key(reference_id(value, resource_type) if "/" in value else value)
        return false() if key is None else column == key

    return clause


def patient_identifier(value: str) -> ColumnElement[bool]:
    system, _, code = value.rpartition("|")
    if system == ID_CARD_SYSTEM or (not system and len(code) == 18):
        return Resident.id_number == code.upper()
    if system == NATIONAL_ID_SYSTEM:  # real 居民身份证 numbers only: not one derived at import
        derived = select(ResidentIdentifier.resident_id).where(
            ResidentIdentifier.system == DERIVED_ID_SYSTEM, ResidentIdentifier.value == code.upper()
        )
        return and_(Resident.id_number == code.upper(), Resident.id.not_in(derived))
    if system == HEALTH_CARD_SYSTEM:
        return Resident.health_card_no == code
    other = select(ResidentIdentifier.resident_id).where(ResidentIdentifier.value == code)
    if system:
        other = other.where(ResidentIdentifier.system == system)
    return Resident.id.in_(other)


def status_in(column: Any, mapping_: dict[str, str]) -> Callable[[str], ColumnElement[bool]]:
    def clause(value: str) -> ColumnElement[bool]:
        wanted = set(value.split(","))
        return column.in_([ours for ours, theirs in mapping_.items() if theirs in wanted])

    return clause


NATIVE: dict[str, Native] = {
    "Patient": Native(
        Resident,
        Resident.id,
        Resident.birth_date,
        {
            "identifier": patient_identifier,
            "name": lambda v: Resident.name.contains(v),
            "birthdate": date_clause(Resident.birth_date),
            "gender": lambda v: Resident.sex == mapping.SEX.get(v, "?"),
            "organization": lambda v: Resident.grid_id.in_(
                select(Grid.id).where(
                    or_(
                        Grid.institution_id == int_param(v.rpartition("/")[2], "organization"),
                        Grid.clinic_id == int_param(v.rpartition("/")[2], "organization"),
                    )
                )
            ),
        },
    ),
    "Organization": Native(
        Institution,
        None,
        None,
        {
            "identifier": lambda v: Institution.code == v.rpartition("|")[2],
            "name": lambda v: Institution.name.contains(v),
            "partof": ref_clause(Institution.parent_id, "Organization"),
        },
    ),
    "Practitioner": Native(
        Staff,
        None,
        None,
        {
            "name": lambda v: Staff.name.contains(v),
            "organization": ref_clause(Staff.home_institution_id, "Organization"),
        },
    ),
    "PractitionerRole": Native(
        Staff,
        None,
        None,
        {
            "practitioner": ref_clause(Staff.id, "Practitioner"),
            "organization": ref_clause(Staff.home_institution_id, "Organization"),
        },
    ),
    "CareTeam": Native(
        FamilyDoctorTeam,
        None,
        None,
        {"organization": ref_clause(FamilyDoctorTeam.institution_id, "Organization")},
    ),
    "Schedule": Native(
        Schedule,
        None,
        None,
        {
            "actor": lambda v: or_(
                ref_clause(Schedule.institution_id, "Organization")(v),
                ref_clause(Schedule.staff_id, "Practitioner")(v),
            )
        },
    ),
    "Slot": Native(
        Slot,
        None,
        Slot.starts_at,
        {
            "schedule": ref_clause(Slot.schedule_id, "Schedule"),
            "start": date_clause(Slot.starts_at),
            "status": lambda v: (
                (Slot.booked < Slot.capacity) if v == "free" else (Slot.booked >= Slot.capacity)
            ),
        },
    ),
    "Appointment": Native(
        Booking,
        Booking.resident_id,
        Slot.starts_at,
        {
            "status": status_in(Booking.status, mapping.BOOKING_STATUS),
            "slot": ref_clause(Booking.slot_id, "Slot"),
        },
        base=lambda s: s.join(Slot, Slot.id == Booking.slot_id),
    ),
    "DiagnosticReport": Native(
        ExamReport,
        ExamOrder.resident_id,
        ExamReport.reported_at,
        {"code": lambda v: ExamOrder.item_code == v.rpartition("|")[2]},
        base=lambda s: s.join(ExamOrder, ExamOrder.id == ExamReport.order_id),
    ),
    "ImagingStudy": Native(
        ImagingStudy,
        ImagingStudy.resident_id,
        ImagingStudy.study_at,
        {"started": date_clause(ImagingStudy.study_at)},
    ),
    "Observation": Native(
        ClinicalObservation,
        ClinicalObservation.resident_id,
        ClinicalObservation.effective_at,
        {
            "code": lambda v: ClinicalObservation.code == v.rpartition("|")[2],
            "category": lambda v: ClinicalObservation.category == v.rpartition("|")[2],
            "encounter": ref_clause(ClinicalObservation.encounter_id, "Encounter"),
            "status": lambda v: ClinicalObservation.status.in_(v.split(",")),
        },
    ),
    "CarePlan": Native(
        ChronicRegister,
        ChronicRegister.resident_id,
        ChronicRegister.registered_on,
        {"status": lambda v: true() if "active" in v else false()},
    ),
    "Claim": Native(
        Claim,
        Claim.resident_id,
        Claim.settled_on,
        {
            "created": date_clause(Claim.settled_on),
            "identifier": lambda v: Claim.claim_no == v.rpartition("|")[2],
        },
    ),
    "Encounter": Native(
        Encounter,
        Encounter.resident_id,
        Encounter.start_date,
        {
            "class": lambda v: (
                Encounter.kind == ("inpatient" if v.rpartition("|")[2] == "IMP" else "outpatient")
            ),
            "service-provider": ref_clause(Encounter.institution_id, "Organization"),
            "status": lambda v: or_(
                *(
                    {
                        "finished": or_(Encounter.kind != "inpatient", Encounter.end_date.is_not(None)),
                        "in-progress": and_(Encounter.kind == "inpatient", Encounter.end_date.is_(None)),
                    }.get(one, false())
                    for one in v.split(",")
                )
            ),
        },
    ),
}
# ServiceRequest has two sources on the platform (referrals and exam orders) and MeasureReport is
# computed: both are handled apart.
