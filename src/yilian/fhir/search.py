"""Read and search over the platform's tables and the FHIR store, with the platform's scoping:
a resource about a resident is returned only if the caller may read that resident, and every
resident returned is audited."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import ColumnElement, Select, func, or_, select
from sqlalchemy.orm import Session

from yilian.auth import rules as roles
from yilian.auth.context import Actor
from yilian.auth.scoping import institution_visibility, resident_visibility
from yilian.fhir import mapping
from yilian.fhir.parameters import (
    COMMON,
    DEFAULT_COUNT,
    MAX_COUNT,
    NATIVE,
    Native,
    date_clause,
    int_param,
    patient_ref,
    status_in,
)
from yilian.fhir.rules import (
    AS_SENT,
    INSTITUTION_SYSTEM,
    STORED,
    STORED_PREFIX,
    FhirError,
    as_sent,
    reference_id,
    row_key,
    version_meta,
)
from yilian.models import (
    DiagnosticCentre,
    EncounterDiagnosis,
    ExamOrder,
    FamilyDoctorTeam,
    FhirReceived,
    FhirResource,
    Grid,
    ImagingInstance,
    ImagingSeries,
    Institution,
    Referral,
    Resident,
    ResidentIdentifier,
    Schedule,
    Slot,
    Staff,
    TeamMember,
)


def page_of(params: dict[str, str]) -> tuple[int, int]:
    count = min(int_param(params.get("_count", str(DEFAULT_COUNT)), "_count"), MAX_COUNT)
    offset = int_param(params.get("_offset", "0"), "_offset")
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
        if name == "_lastUpdated":
            statement = statement.where(date_clause(spec.model.row_updated_at)(value))
        elif name == "patient" and spec.resident_column is not None:
            statement = statement.where(patient_ref(spec.resident_column)(value))
        elif name == "date" and spec.date_column is not None:
            statement = statement.where(date_clause(spec.date_column)(value))
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


def _sites(session: Session, ids: set[int]) -> dict[int, tuple[str, str]]:
    """Institutions' (code, name) by id, for the Location a schedule or appointment names."""
    return {
        ident: (code, name)
        for ident, code, name in session.execute(
            select(Institution.id, Institution.code, Institution.name).where(Institution.id.in_(ids))
        ).all()
    }


def with_meta(resource: dict[str, Any], row: Any) -> dict[str, Any]:
    """`meta.versionId` and `meta.lastUpdated` from the row's `kit.db.Versioned` columns."""
    meta = {**(resource.get("meta") or {}), **version_meta(row.row_version, row.row_updated_at)}
    resource["meta"] = meta
    return resource


def to_fhir(session: Session, resource_type: str, rows: list[Any]) -> list[dict[str, Any]]:
    """The rows as resources, each with its version and time of last change, and what another
    system sent kept as it was sent while the row is still the version it became."""
    out = _to_fhir(session, resource_type, rows)
    kept = AS_SENT.get(resource_type)
    if kept is not None and rows:
        received = {
            (local_id, version): json.loads(body)
            for local_id, version, body in session.execute(
                select(FhirReceived.local_id, FhirReceived.row_version, FhirReceived.body).where(
                    FhirReceived.resource_type == resource_type,
                    FhirReceived.local_id.in_([str(r.id) for r in rows]),
                )
            ).all()
        }
        for resource, row in zip(out, rows, strict=True):
            sent = received.get((str(row.id), row.row_version))
            if sent is not None:
                as_sent(resource, sent, kept)
    return [with_meta(r, row) for r, row in zip(out, rows, strict=True)]


def _to_fhir(session: Session, resource_type: str, rows: list[Any]) -> list[dict[str, Any]]:
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
        sites = _sites(session, {r.institution_id for r in rows})
        return [mapping.schedule(r, sites[r.institution_id]) for r in rows]
    if resource_type == "Slot":
        return [mapping.slot(r) for r in rows]
    if resource_type == "Appointment":
        slots = {s.id: s for s in session.scalars(select(Slot).where(Slot.id.in_({r.slot_id for r in rows})))}
        sites = _sites(session, {s.institution_id for s in slots.values()})
        return [
            mapping.appointment(r, slots[r.slot_id], sites[slots[r.slot_id].institution_id]) for r in rows
        ]
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
            clauses_r.append(patient_ref(Referral.resident_id)(value))
            clauses_o.append(patient_ref(ExamOrder.resident_id)(value))
        elif name in ("date", "authored"):
            clauses_r.append(date_clause(Referral.requested_at)(value))
            clauses_o.append(date_clause(ExamOrder.ordered_at)(value))
        elif name == "_lastUpdated":
            clauses_r.append(date_clause(Referral.row_updated_at)(value))
            clauses_o.append(date_clause(ExamOrder.row_updated_at)(value))
        elif name == "status":
            clauses_r.append(status_in(Referral.status, mapping.REFERRAL_STATUS)(value))
            clauses_o.append(status_in(ExamOrder.status, mapping.ORDER_STATUS)(value))
        else:
            raise FhirError(
                400, "not-supported", f"search parameter '{name}' is not supported on ServiceRequest"
            )
    if "_id" in params:
        kind, _, number = params["_id"].partition("-")
        ident = row_key(number) or -1
        clauses_r.append(Referral.id == (ident if kind == "referral" else -1))
        clauses_o.append(ExamOrder.id == (ident if kind == "exam" else -1))
    referrals = _patient_scope(actor, select(Referral).where(*clauses_r), Referral.resident_id)
    orders = _patient_scope(actor, select(ExamOrder).where(*clauses_o), ExamOrder.resident_id)
    count, offset = page_of(params)
    n_referrals = int(session.scalar(select(func.count()).select_from(referrals.subquery())) or 0)
    n_orders = int(session.scalar(select(func.count()).select_from(orders.subquery())) or 0)
    out = [
        with_meta(mapping.service_request_of_referral(r), r)
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
        out += [with_meta(mapping.service_request_of_order(o, hosts[o.centre_id]), o) for o in page]
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
            statement = statement.where(FhirResource.resident_id == (row_key(ident) or -1))
        elif name in ("date", "created", "authored", "authoredon", "started", "period"):
            statement = statement.where(date_clause(FhirResource.date_at)(value))
        elif name == "_lastUpdated":
            statement = statement.where(date_clause(FhirResource.row_updated_at)(value))
        elif name == "status":
            statement = statement.where(FhirResource.status.in_(value.split(",")))
        elif name in ("code", "vaccine-code"):
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
            FhirResource.id == ((row_key(raw[1:]) if raw[:1] == STORED_PREFIX else None) or -1)
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
    return with_meta(body, row)


def search(
    session: Session, actor: Actor, resource_type: str, params: dict[str, str]
) -> tuple[list[dict[str, Any]], int]:
    """A page of resources and the total, from the platform's tables, then from the store. A type
    served from both answers 400 for a parameter neither takes; one only the other takes matches
    nothing on the side that lacks it (`CareTeam?organization=` finds no kept-as-FHIR team)."""
    native_searched = True
    if resource_type == "ServiceRequest":
        try:
            native, native_total = service_requests(session, actor, params)
        except FhirError:  # `code`, `identifier`: the kept-as-FHIR ones only
            native, native_total, native_searched = [], 0, False
    elif resource_type in NATIVE:
        try:
            rows, native_total = native_rows(session, actor, resource_type, params)
        except FhirError:
            if resource_type not in STORED:
                raise
            rows, native_total, native_searched = [], 0, False
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
            if not native_searched or not (resource_type in NATIVE or resource_type == "ServiceRequest"):
                raise
            stored, stored_total = [], 0
        out += [stored_json(r) for r in stored]
        total += stored_total
    return display_only_outside(session, actor, out), total


def _organization_references(value: Any, found: list[dict[str, Any]]) -> None:
    """The objects holding an `Organization/N` reference, at any depth (a stack, not recursion:
    a bulk export walks millions of resources)."""
    stack = [value]
    while stack:
        item = stack.pop()
        if type(item) is dict:
            reference = item.get("reference")
            if type(reference) is str and reference.startswith("Organization/"):
                found.append(item)
            stack.extend(v for v in item.values() if type(v) is dict or type(v) is list)
        elif type(item) is list:
            stack.extend(v for v in item if type(v) is dict or type(v) is list)


def display_only_outside(
    session: Session, actor: Actor, resources: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """Every reference a reader receives resolves for that reader: an Organization outside what the
    reader may read (a provincial hospital a county's resident was sent to, another county's
    hospital) is given by identifier and name, as a display-only reference, not as `Organization/N`
    that would answer 404. One query a page."""
    holders: list[dict[str, Any]] = []
    _organization_references(resources, holders)
    keys = {row_key(h["reference"].partition("/")[2]) for h in holders} - {None}
    if not keys or actor.subject.role == roles.RESIDENT:  # a resident reads the whole registry
        return resources
    outside = {
        ident: (code, name)
        for ident, code, name in session.execute(
            select(Institution.id, Institution.code, Institution.name).where(
                Institution.id.in_(keys), ~institution_visibility(actor.subject)
            )
        ).all()
    }
    for holder in holders:
        site = outside.get(row_key(holder["reference"].partition("/")[2]) or -1)
        if site is not None:
            del holder["reference"]
            holder["type"] = "Organization"
            holder["identifier"] = {"system": INSTITUTION_SYSTEM, "value": site[0]}
            holder.setdefault("display", site[1])
    return resources


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
