"""Read and search over the platform's tables and the FHIR store, with the platform's scoping:
a resource about a resident is returned only if the caller may read that resident, and every
resident returned is audited."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, false, func, or_, select, true
from sqlalchemy.orm import Session

from yilian.auth import rules as roles
from yilian.auth.context import Actor
from yilian.auth.scoping import institution_visibility, resident_visibility
from yilian.fhir import mapping
from yilian.fhir.rules import (
    HEALTH_CARD_SYSTEM,
    ID_CARD_SYSTEM,
    STORED,
    STORED_PREFIX,
    FhirError,
    parse_date_param,
    reference_id,
)
from yilian.models import (
    Booking,
    ChronicRegister,
    Claim,
    ClinicalObservation,
    DiagnosticCentre,
    Encounter,
    EncounterDiagnosis,
    ExamOrder,
    ExamReport,
    FamilyDoctorTeam,
    FhirResource,
    Grid,
    ImagingInstance,
    ImagingSeries,
    ImagingStudy,
    Institution,
    Referral,
    Resident,
    ResidentIdentifier,
    Schedule,
    Slot,
    Staff,
    TeamMember,
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
    id_of: Callable[[str], int | None] = lambda raw: int(raw) if raw.isdigit() else None


def _int(raw: str) -> int:
    if not raw.lstrip("-").isdigit():
        raise FhirError(400, "invalid", f"'{raw}' is not a number")
    return int(raw)


def _date_clause(column: Any) -> Callable[[str], ColumnElement[bool]]:
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


def _patient_ref(column: Any) -> Callable[[str], ColumnElement[bool]]:
    def clause(value: str) -> ColumnElement[bool]:
        ident = reference_id(value, "Patient") if "/" in value else value
        if ident is None or not ident.isdigit():
            return false()
        return column == int(ident)

    return clause


def _ref(column: Any, resource_type: str) -> Callable[[str], ColumnElement[bool]]:
    def clause(value: str) -> ColumnElement[bool]:
        ident = reference_id(value, resource_type) if "/" in value else value
        return column == int(ident) if ident and ident.isdigit() else false()

    return clause


def _patient_identifier(value: str) -> ColumnElement[bool]:
    system, _, code = value.rpartition("|")
    if system == ID_CARD_SYSTEM or (not system and len(code) == 18):
        return Resident.id_number == code.upper()
    if system == HEALTH_CARD_SYSTEM:
        return Resident.health_card_no == code
    other = select(ResidentIdentifier.resident_id).where(ResidentIdentifier.value == code)
    if system:
        other = other.where(ResidentIdentifier.system == system)
    return Resident.id.in_(other)


def _status_in(column: Any, mapping_: dict[str, str]) -> Callable[[str], ColumnElement[bool]]:
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
            "identifier": _patient_identifier,
            "name": lambda v: Resident.name.contains(v),
            "birthdate": _date_clause(Resident.birth_date),
            "gender": lambda v: Resident.sex == mapping.SEX.get(v, "?"),
            "organization": lambda v: Resident.grid_id.in_(
                select(Grid.id).where(
                    or_(
                        Grid.institution_id == _int(v.rpartition("/")[2]),
                        Grid.clinic_id == _int(v.rpartition("/")[2]),
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
            "partof": _ref(Institution.parent_id, "Organization"),
        },
    ),
    "Practitioner": Native(
        Staff,
        None,
        None,
        {
            "name": lambda v: Staff.name.contains(v),
            "organization": _ref(Staff.home_institution_id, "Organization"),
        },
    ),
    "PractitionerRole": Native(
        Staff,
        None,
        None,
        {
            "practitioner": _ref(Staff.id, "Practitioner"),
            "organization": _ref(Staff.home_institution_id, "Organization"),
        },
    ),
    "CareTeam": Native(
        FamilyDoctorTeam, None, None, {"organization": _ref(FamilyDoctorTeam.institution_id, "Organization")}
    ),
    "Schedule": Native(
        Schedule,
        None,
        None,
        {
            "actor": lambda v: or_(
                _ref(Schedule.institution_id, "Organization")(v), _ref(Schedule.staff_id, "Practitioner")(v)
            )
        },
    ),
    "Slot": Native(
        Slot,
        None,
        Slot.starts_at,
        {
            "schedule": _ref(Slot.schedule_id, "Schedule"),
            "start": _date_clause(Slot.starts_at),
            "status": lambda v: (
                (Slot.booked < Slot.capacity) if v == "free" else (Slot.booked >= Slot.capacity)
            ),
        },
    ),
    "Appointment": Native(
        Booking,
        Booking.resident_id,
        Slot.starts_at,
        {"status": _status_in(Booking.status, mapping.BOOKING_STATUS), "slot": _ref(Booking.slot_id, "Slot")},
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
        {"started": _date_clause(ImagingStudy.study_at)},
    ),
    "Observation": Native(
        ClinicalObservation,
        ClinicalObservation.resident_id,
        ClinicalObservation.effective_at,
        {
            "code": lambda v: ClinicalObservation.code == v.rpartition("|")[2],
            "category": lambda v: ClinicalObservation.category == v.rpartition("|")[2],
            "encounter": _ref(ClinicalObservation.encounter_id, "Encounter"),
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
            "created": _date_clause(Claim.settled_on),
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
            "service-provider": _ref(Encounter.institution_id, "Organization"),
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


def page_of(params: dict[str, str]) -> tuple[int, int]:
    count = min(_int(params.get("_count", str(DEFAULT_COUNT))), MAX_COUNT)
    offset = _int(params.get("_offset", "0"))
    if count < 0 or offset < 0:
        raise FhirError(400, "invalid", "_count and _offset must not be negative")
    return count, offset


def _patient_scope(actor: Actor, statement: Select[Any], resident_column: Any) -> Select[Any]:
    """Only rows about residents the caller may read (the same clause as every other list), as a
    join: the row's resident is found by key, then checked — never the county's readable set first."""
    if resident_column is Resident.id:
        return statement.where(resident_visibility(actor.subject))
    return statement.join(Resident, Resident.id == resident_column).where(resident_visibility(actor.subject))


def _registry_scope(actor: Actor, spec: Native, statement: Select[Any]) -> Select[Any]:
    """Registry data (institutions, staff, schedules) is not personal: the caller's county."""
    if actor.subject.role == roles.RESIDENT:
        return statement
    institution_column = {
        Institution: Institution.id,
        Staff: Staff.home_institution_id,
        FamilyDoctorTeam: FamilyDoctorTeam.institution_id,
        Schedule: Schedule.institution_id,
        Slot: Slot.institution_id,
    }[spec.model]
    visible = select(Institution.id).where(institution_visibility(actor.subject))
    return statement.where(institution_column.in_(visible))


def native_rows(
    session: Session, actor: Actor, resource_type: str, params: dict[str, str]
) -> tuple[list[Any], int]:
    spec = NATIVE[resource_type]
    statement = spec.base(select(spec.model))
    for name, value in params.items():
        if name in COMMON or not value:
            continue
        if name == "_id":
            continue
        if name == "patient" and spec.resident_column is not None:
            statement = statement.where(_patient_ref(spec.resident_column)(value))
        elif name == "date" and spec.date_column is not None:
            statement = statement.where(_date_clause(spec.date_column)(value))
        elif name in spec.params:
            statement = statement.where(spec.params[name](value))
        else:
            raise FhirError(
                400, "not-supported", f"search parameter '{name}' is not supported on {resource_type}"
            )
    if "_id" in params:
        ident = spec.id_of(params["_id"])
        statement = statement.where(spec.model.id == (ident if ident is not None else -1))
    if spec.resident_column is not None:
        statement = _patient_scope(actor, statement, spec.resident_column)
    else:
        statement = _registry_scope(actor, spec, statement)
    count, offset = page_of(params)
    rows = list(session.scalars(statement.order_by(spec.model.id).limit(count).offset(offset)))
    if "_id" in params:  # a read: the page is the total
        return rows, len(rows)
    total = int(session.scalar(select(func.count()).select_from(statement.order_by(None).subquery())) or 0)
    return rows, total


def to_fhir(session: Session, resource_type: str, rows: list[Any]) -> list[dict[str, Any]]:
    """Batch the extra reads a page needs (no query per row)."""
    if resource_type == "Patient":
        ids = [r.id for r in rows]
        others: dict[int, list[tuple[str, str]]] = {}
        for link in session.scalars(
            select(ResidentIdentifier).where(ResidentIdentifier.resident_id.in_(ids))
        ):
            others.setdefault(link.resident_id, []).append((link.system, link.value))
        managing = dict(
            session.execute(
                select(Grid.id, Grid.institution_id).where(
                    Grid.id.in_({r.grid_id for r in rows if r.grid_id})
                )
            ).all()
        )
        return [
            mapping.patient(
                r, identifiers=tuple(others.get(r.id, [])), organization_id=managing.get(r.grid_id)
            )
            for r in rows
        ]
    if resource_type == "Organization":
        return [mapping.organization(r) for r in rows]
    if resource_type == "Practitioner":
        return [mapping.practitioner(r) for r in rows]
    if resource_type == "PractitionerRole":
        return [mapping.practitioner_role(r) for r in rows]
    if resource_type == "CareTeam":
        members: dict[int, list[tuple[int, str, str]]] = {}
        for team_id, staff_id, name, role in session.execute(
            select(TeamMember.team_id, Staff.id, Staff.name, TeamMember.role)
            .join(Staff, Staff.id == TeamMember.staff_id)
            .where(TeamMember.team_id.in_([r.id for r in rows]))
        ).all():
            members.setdefault(team_id, []).append((staff_id, name, role))
        return [mapping.care_team(r, members.get(r.id, [])) for r in rows]
    if resource_type == "Schedule":
        return [mapping.schedule(r) for r in rows]
    if resource_type == "Slot":
        return [mapping.slot(r) for r in rows]
    if resource_type == "Appointment":
        slots = {s.id: s for s in session.scalars(select(Slot).where(Slot.id.in_({r.slot_id for r in rows})))}
        return [mapping.appointment(r, slots[r.slot_id]) for r in rows]
    if resource_type == "DiagnosticReport":
        orders = {
            o.id: o
            for o in session.scalars(select(ExamOrder).where(ExamOrder.id.in_({r.order_id for r in rows})))
        }
        return [mapping.diagnostic_report(orders[r.order_id], r) for r in rows]
    if resource_type == "ImagingStudy":
        counts = {
            study_id: (int(series), int(instances))
            for study_id, series, instances in session.execute(
                select(
                    ImagingSeries.study_id,
                    func.count(func.distinct(ImagingSeries.id)),
                    func.count(ImagingInstance.id),
                )
                .outerjoin(ImagingInstance, ImagingInstance.series_id == ImagingSeries.id)
                .where(ImagingSeries.study_id.in_([r.id for r in rows]))
                .group_by(ImagingSeries.study_id)
            ).all()
        }
        return [mapping.imaging_study(r, *counts.get(r.id, (0, 0))) for r in rows]
    if resource_type == "Observation":
        return [mapping.observation(r) for r in rows]
    if resource_type == "CarePlan":
        return [mapping.care_plan(r) for r in rows]
    if resource_type == "Claim":
        return [mapping.claim(r) for r in rows]
    if resource_type == "Encounter":
        codes: dict[int, list[str]] = {}
        for encounter_id, code in session.execute(
            select(EncounterDiagnosis.encounter_id, EncounterDiagnosis.icd10_code)
            .where(EncounterDiagnosis.encounter_id.in_([r.id for r in rows]))
            .order_by(EncounterDiagnosis.encounter_id, EncounterDiagnosis.seq)
        ).all():
            codes.setdefault(encounter_id, []).append(code)
        return [mapping.encounter(r, codes.get(r.id, [])) for r in rows]
    raise FhirError(404, "not-supported", f"{resource_type} is not served")


# --- service requests: referrals and exam orders --------------------------------------------------


def service_requests(
    session: Session, actor: Actor, params: dict[str, str]
) -> tuple[list[dict[str, Any]], int]:
    """Referrals (`referral-N`) then exam orders (`exam-N`), each scoped to readable residents."""
    clauses_r: list[ColumnElement[bool]] = []
    clauses_o: list[ColumnElement[bool]] = []
    for name, value in params.items():
        if name in COMMON:
            continue
        if name == "patient":
            clauses_r.append(_patient_ref(Referral.resident_id)(value))
            clauses_o.append(_patient_ref(ExamOrder.resident_id)(value))
        elif name in ("date", "authored"):
            clauses_r.append(_date_clause(Referral.requested_at)(value))
            clauses_o.append(_date_clause(ExamOrder.ordered_at)(value))
        elif name == "status":
            clauses_r.append(_status_in(Referral.status, mapping.REFERRAL_STATUS)(value))
            clauses_o.append(_status_in(ExamOrder.status, mapping.ORDER_STATUS)(value))
        else:
            raise FhirError(
                400, "not-supported", f"search parameter '{name}' is not supported on ServiceRequest"
            )
    if "_id" in params:
        kind, _, number = params["_id"].partition("-")
        ident = int(number) if number.isdigit() else -1
        clauses_r.append(Referral.id == (ident if kind == "referral" else -1))
        clauses_o.append(ExamOrder.id == (ident if kind == "exam" else -1))
    referrals = _patient_scope(actor, select(Referral).where(*clauses_r), Referral.resident_id)
    orders = _patient_scope(actor, select(ExamOrder).where(*clauses_o), ExamOrder.resident_id)
    count, offset = page_of(params)
    n_referrals = int(session.scalar(select(func.count()).select_from(referrals.subquery())) or 0)
    n_orders = int(session.scalar(select(func.count()).select_from(orders.subquery())) or 0)
    out = [
        mapping.service_request_of_referral(r)
        for r in session.scalars(referrals.order_by(Referral.id).limit(count).offset(offset))
    ]
    if len(out) < count:
        page = list(
            session.scalars(
                orders.order_by(ExamOrder.id).limit(count - len(out)).offset(max(0, offset - n_referrals))
            )
        )
        hosts = dict(
            session.execute(
                select(DiagnosticCentre.id, DiagnosticCentre.host_institution_id).where(
                    DiagnosticCentre.id.in_({o.centre_id for o in page})
                )
            ).all()
        )
        out += [mapping.service_request_of_order(o, hosts[o.centre_id]) for o in page]
    return out, n_referrals + n_orders


# --- the FHIR store -------------------------------------------------------------------------------


def stored_rows(
    session: Session, actor: Actor, resource_type: str, params: dict[str, str]
) -> tuple[list[FhirResource], int]:
    statement = select(FhirResource).where(FhirResource.resource_type == resource_type)
    for name, value in params.items():
        if name in COMMON:
            continue
        if name in ("patient", "subject"):
            ident = reference_id(value, "Patient") if "/" in value else value
            statement = statement.where(
                FhirResource.resident_id == (int(ident) if ident and ident.isdigit() else -1)
            )
        elif name in ("date", "created", "authored", "started", "period"):
            statement = statement.where(_date_clause(FhirResource.date_at)(value))
        elif name == "status":
            statement = statement.where(FhirResource.status.in_(value.split(",")))
        elif name == "code":
            statement = statement.where(FhirResource.code == value.rpartition("|")[2])
        elif name == "identifier":
            statement = statement.where(FhirResource.identifier == value.rpartition("|")[2])
        else:
            raise FhirError(
                400, "not-supported", f"search parameter '{name}' is not supported on {resource_type}"
            )
    if "_id" in params:
        raw = params["_id"]
        statement = statement.where(
            FhirResource.id == (int(raw[1:]) if raw[1:].isdigit() and raw[:1] == STORED_PREFIX else -1)
        )
    # A resource about nobody in particular (an imported practitioner) is registry data.
    statement = statement.outerjoin(Resident, Resident.id == FhirResource.resident_id).where(
        or_(FhirResource.resident_id.is_(None), resident_visibility(actor.subject))
    )
    count, offset = page_of(params)
    total = int(session.scalar(select(func.count()).select_from(statement.subquery())) or 0)
    rows = list(session.scalars(statement.order_by(FhirResource.id).limit(count).offset(offset)))
    return rows, total


def stored_json(row: FhirResource) -> dict[str, Any]:
    body: dict[str, Any] = json.loads(row.body)
    body["id"] = f"{STORED_PREFIX}{row.id}"
    body.setdefault("meta", {})["versionId"] = "1"
    return body


def search(
    session: Session, actor: Actor, resource_type: str, params: dict[str, str]
) -> tuple[list[dict[str, Any]], int]:
    """A page of resources and the total, from the platform's tables, then from the store."""
    if resource_type == "ServiceRequest":
        native, native_total = service_requests(session, actor, params)
    elif resource_type in NATIVE:
        try:
            rows, native_total = native_rows(session, actor, resource_type, params)
        except FhirError:
            if resource_type not in STORED:
                raise
            rows, native_total = [], 0
        native = to_fhir(session, resource_type, rows)
    elif resource_type in STORED:
        native, native_total = [], 0
    else:
        raise FhirError(404, "not-supported", f"resource type {resource_type} is not served")
    out = list(native)
    total = native_total
    if resource_type in STORED:
        count, offset = page_of(params)
        stored_params = {
            **params,
            "_offset": str(max(0, offset - native_total)),
            "_count": str(max(0, count - len(out))),
        }
        try:
            stored, stored_total = stored_rows(session, actor, resource_type, stored_params)
        except FhirError:
            if not native_total:
                raise
            stored, stored_total = [], 0
        out += [stored_json(r) for r in stored]
        total += stored_total
    return out, total


def patients_of(resources: list[dict[str, Any]]) -> list[int]:
    """The residents a page is about, for the audit log."""
    found: set[int] = set()
    for resource in resources:
        if resource["resourceType"] == "Patient":
            found.add(int(resource["id"]))
            continue
        for key in ("subject", "patient"):
            ident = reference_id((resource.get(key) or {}).get("reference"), "Patient")
            if ident and ident.isdigit():
                found.add(int(ident))
        for participant in resource.get("participant", []) or []:
            ident = reference_id((participant.get("actor") or {}).get("reference"), "Patient")
            if ident and ident.isdigit():
                found.add(int(ident))
    return sorted(found)
