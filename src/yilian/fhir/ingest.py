"""FHIR in: create one resource, or a transaction Bundle that is written whole or not at all.

Patients become residents, Organizations institutions, Encounters encounters, Observations
clinical observations (and an Appointment books its Slot); other types are kept as FHIR JSON.
References inside a Bundle (`urn:uuid:…`, or conditional `Type?identifier=system|value`) are
rewritten to the platform's ids. Patients, Organizations and Practitioners are created only if no
resource with the same identifier exists (FHIR's conditional create), so re-importing a folder, or
the same hospital named in several bundles, does not duplicate them.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from yilian.auth import rules as roles
from yilian.auth.context import Actor
from yilian.auth.scoping import readable_by_id
from yilian.encounters.repository import count_visit
from yilian.fhir import mapping
from yilian.fhir.rules import (
    DERIVED_ID_SYSTEM,
    HEALTH_CARD_SYSTEM,
    ID_CARD_SYSTEM,
    INSTITUTION_SYSTEM,
    PROJECTED,
    STORED,
    STORED_PREFIX,
    FhirError,
    derived_id_number,
    parse_instant,
)
from yilian.fhir.validate import validate
from yilian.kit.errors import AppError
from yilian.models import (
    AdminDivision,
    ClinicalObservation,
    Encounter,
    EncounterDiagnosis,
    FhirResource,
    Institution,
    Resident,
    ResidentIdentifier,
)
from yilian.residents.rules import InvalidIdNumber, parse_id_number

# Re-importing a patient who already exists lets an importer attach new data to them (a county's
# data office loading another system's records); a clinician must already serve the resident.
IMPORTERS = frozenset({roles.INSTITUTION_ADMIN, roles.CONSORTIUM_ADMIN, roles.COMMISSION})
WRITERS = frozenset(
    {roles.INSTITUTION_ADMIN, roles.DOCTOR, roles.FAMILY_DOCTOR, roles.CONSORTIUM_ADMIN, roles.COMMISSION}
)
CJK = re.compile(r"[\u4e00-\u9fff]")
INPATIENT_CLASSES = {"IMP", "ACUTE", "NONAC", "PRENC"}
# The date a stored resource is searched by, in order of preference.
DATE_FIELDS = (
    "effectiveDateTime",
    "onsetDateTime",
    "occurrenceDateTime",
    "performedDateTime",
    "authoredOn",
    "recordedDate",
    "issued",
    "created",
    "date",
)


@dataclass
class Created:
    resource_type: str
    ident: str
    resource: dict[str, Any]
    created: bool = True


@dataclass
class Context:
    """What a write needs: who, the region new residents and institutions belong to, the references made so far."""

    actor: Actor
    region_code: str
    now: datetime
    references: dict[str, str] = field(default_factory=dict)
    created_residents: set[int] = field(default_factory=set)
    # Audit of what was written, per resident and kind: one event each with the ids, not one per row.
    pending_audit: dict[tuple[int, str], list[str]] = field(default_factory=dict)

    def written(self, resident_id: int, entity: str, ident: object) -> None:
        self.pending_audit.setdefault((resident_id, entity[:32]), []).append(str(ident))

    def audit(self, session: Session) -> None:
        """Queue the audit events (they are written when the transaction commits)."""
        for (resident_id, entity), ids in self.pending_audit.items():
            self.actor.record_change(
                session,
                action="create",
                entity=entity,
                entity_id=ids[0] if len(ids) == 1 else None,
                resident_id=resident_id,
                detail=f"FHIR ×{len(ids)}: {','.join(ids)}",
            )
        self.pending_audit.clear()


def _first_coding(concept: dict[str, Any] | None) -> dict[str, Any]:
    codings = (concept or {}).get("coding") or [{}]
    return dict(codings[0])


def _identifier_value(resource: dict[str, Any]) -> tuple[str, str] | None:
    for identifier in resource.get("identifier") or []:
        if identifier.get("value"):
            return str(identifier.get("system", "")), str(identifier["value"])
    return None


def _resolve(session: Session, context: Context, reference: str) -> str:
    """`urn:uuid:…` from this Bundle, `Type/id`, or `Type?identifier=system|value` → `Type/local-id`."""
    if reference in context.references:
        return context.references[reference]
    if "?" in reference:
        resource_type, _, query = reference.partition("?")
        key, _, value = query.partition("=")
        if key != "identifier":
            raise FhirError(
                400, "not-supported", f"conditional reference '{reference}' must search by identifier"
            )
        system, _, code = value.rpartition("|")
        found = _by_identifier(session, resource_type, system, code)
        if found is None:
            raise FhirError(400, "not-found", f"reference '{reference}' matches no resource", [reference])
        context.references[reference] = f"{resource_type}/{found}"
        return context.references[reference]
    if reference.startswith("urn:"):
        raise FhirError(
            400, "not-found", f"reference '{reference}' is to no entry of this Bundle", [reference]
        )
    return reference


def _rewrite(session: Session, context: Context, value: Any) -> Any:
    if isinstance(value, dict):
        out = {k: _rewrite(session, context, v) for k, v in value.items()}
        if isinstance(out.get("reference"), str):
            out["reference"] = _resolve(session, context, out["reference"])
        return out
    if isinstance(value, list):
        return [_rewrite(session, context, v) for v in value]
    return value


def _by_identifier(session: Session, resource_type: str, system: str, code: str) -> str | None:
    if resource_type == "Patient":
        if system == ID_CARD_SYSTEM:
            found = session.scalar(select(Resident.id).where(Resident.id_number == code))
        else:
            found = session.scalar(
                select(ResidentIdentifier.resident_id).where(
                    ResidentIdentifier.system == system, ResidentIdentifier.value == code
                )
            )
        return None if found is None else str(found)
    if resource_type == "Organization":
        found = session.scalar(
            select(Institution.id).where(Institution.code == _institution_code(system, code))
        )
        return None if found is None else str(found)
    found = session.scalar(
        select(FhirResource.id).where(
            FhirResource.resource_type == resource_type, FhirResource.identifier == f"{system}|{code}"
        )
    )
    return None if found is None else f"{STORED_PREFIX}{found}"


def _institution_code(system: str, code: str) -> str:
    if system in ("", INSTITUTION_SYSTEM):
        return code[:32]
    return "X" + hashlib.sha1(f"{system}|{code}".encode()).hexdigest()[:20]


def _resident_id(session: Session, context: Context, reference: str | None) -> int:
    """The resident a resource is about: one created in this Bundle, or one the writer may read."""
    kind, _, ident = (reference or "").partition("/")
    if kind != "Patient" or not ident.isdigit():
        raise FhirError(400, "required", "the resource must refer to a Patient of this platform", ["subject"])
    resident_id = int(ident)
    if (
        resident_id not in context.created_residents
        and readable_by_id(session, context.actor.subject, resident_id) is None
    ):
        raise FhirError(
            404, "not-found", f"Patient/{resident_id} does not exist or is not visible to you", ["subject"]
        )
    return resident_id


def _local_id(reference: str | None, resource_type: str) -> int | None:
    kind, _, ident = (reference or "").partition("/")
    return int(ident) if kind == resource_type and ident.isdigit() else None


# --- projections into the platform's tables --------------------------------------------------------


def _name(resource: dict[str, Any]) -> str:
    names = resource.get("name") or [{}]
    human = names[0]
    if human.get("text"):
        return str(human["text"])[:32]
    family = str(human.get("family", ""))
    given = " ".join(human.get("given") or [])
    full = f"{family}{given}" if CJK.search(family + given) else f"{given} {family}".strip()
    return full[:32] or "未知"


def _patient(session: Session, context: Context, resource: dict[str, Any]) -> Created:
    identifiers = [
        (str(i.get("system", "")), str(i.get("value", "")))
        for i in resource.get("identifier") or []
        if i.get("value")
    ]
    card = next((v for s, v in identifiers if s == ID_CARD_SYSTEM), None)
    for system, value in identifiers:
        existing = _by_identifier(session, "Patient", system, value)
        if existing is not None:
            if context.actor.subject.may(IMPORTERS):
                context.created_residents.add(int(existing))
            return Created("Patient", existing, resource, created=False)
    gender = resource.get("gender")
    if gender not in ("male", "female"):
        raise FhirError(400, "required", "Patient.gender must be male or female", ["Patient.gender"])
    if not resource.get("birthDate"):
        raise FhirError(400, "required", "Patient.birthDate is required", ["Patient.birthDate"])
    try:
        born = date.fromisoformat(str(resource["birthDate"])[:10])
    except ValueError:
        raise FhirError(
            400, "invalid", "Patient.birthDate must be a full date", ["Patient.birthDate"]
        ) from None
    sex = mapping.SEX[gender]
    if card is not None:
        try:
            facts = parse_id_number(card, today=context.now.date())
        except InvalidIdNumber as error:
            raise FhirError(
                400, "invalid", f"resident ID: {error.message_en}", ["Patient.identifier"]
            ) from None
        id_number, region = facts.id_number, facts.region_code
    else:
        source = next(
            (f"{s}|{v}" for s, v in identifiers), json.dumps(resource.get("name"), sort_keys=True) + str(born)
        )
        region = context.region_code
        for attempt in range(500):
            id_number = derived_id_number(
                region_code=region, born=born, sex=sex, source_key=source, attempt=attempt
            )
            if session.scalar(select(Resident.id).where(Resident.id_number == id_number)) is None:
                break
        identifiers.append((DERIVED_ID_SYSTEM, id_number))
    if session.get(AdminDivision, region) is None:
        raise FhirError(400, "invalid", f"region {region} is not a known division", ["Patient.identifier"])
    telecom = next(
        (t.get("value") for t in resource.get("telecom") or [] if t.get("system") == "phone"), None
    )
    address = (resource.get("address") or [{}])[0]
    resident = Resident(
        id_number=id_number,
        name=_name(resource),
        sex=sex,
        birth_date=born,
        phone=str(telecom)[:20] if telecom else None,
        address=" ".join(address.get("line") or [])
        + (f" {address.get('city', '')}" if address.get("city") else "")
        or None,
        region_code=region,
        health_card_no="pending",
        status="active" if not resource.get("deceasedDateTime") else "deceased",
        created_at=context.now,
        updated_at=context.now,
    )
    session.add(resident)
    session.flush()
    resident.health_card_no = f"FH{resident.id:030d}"
    context.created_residents.add(resident.id)
    session.add_all(
        ResidentIdentifier(resident_id=resident.id, system=s[:200], value=v[:100])
        for s, v in dict.fromkeys(identifiers)
        if s not in (ID_CARD_SYSTEM, HEALTH_CARD_SYSTEM)
    )
    context.written(resident.id, "resident", resident.id)
    return Created("Patient", str(resident.id), resource)


def _organization(session: Session, context: Context, resource: dict[str, Any]) -> Created:
    system, code = _identifier_value(resource) or ("", "")
    if not code:
        raise FhirError(400, "required", "Organization.identifier is required", ["Organization.identifier"])
    existing = _by_identifier(session, "Organization", system, code)
    if existing is not None:
        return Created("Organization", existing, resource, created=False)
    institution = Institution(
        code=_institution_code(system, code),
        name=str(resource.get("name") or code)[:128],
        level="未定级",
        type="综合医院",
        region_code=context.region_code,
        is_grassroots=False,
    )
    session.add(institution)
    session.flush()
    return Created("Organization", str(institution.id), resource)


def _encounter(session: Session, context: Context, resource: dict[str, Any]) -> Created:
    resident_id = _resident_id(session, context, (resource.get("subject") or {}).get("reference"))
    institution_id = _local_id((resource.get("serviceProvider") or {}).get("reference"), "Organization")
    if institution_id is None:
        raise FhirError(
            400,
            "required",
            "Encounter.serviceProvider must name an Organization",
            ["Encounter.serviceProvider"],
        )
    period = resource.get("period") or {}
    start = parse_instant(period.get("start"))
    if start is None:
        raise FhirError(400, "required", "Encounter.period.start is required", ["Encounter.period.start"])
    end = parse_instant(period.get("end"))
    inpatient = (resource.get("class") or {}).get("code") in INPATIENT_CLASSES
    encounter = Encounter(
        resident_id=resident_id,
        institution_id=institution_id,
        kind="inpatient" if inpatient else "outpatient",
        start_date=start.date(),
        end_date=end.date() if (inpatient and end) else None,
        total_fen=0,
        fund_fen=0,
        out_of_county=False,
    )
    session.add(encounter)
    session.flush()
    codes = [
        c["code"]
        for concept in resource.get("reasonCode") or []
        for c in concept.get("coding") or []
        if c.get("system") == mapping.ICD10_SYSTEM and c.get("code")
    ]
    session.add_all(
        EncounterDiagnosis(encounter_id=encounter.id, seq=n, icd10_code=c)
        for n, c in enumerate(codes, start=1)
    )
    resident_region = (
        session.scalar(select(Resident.region_code).where(Resident.id == resident_id)) or context.region_code
    )
    # The dashboards' monthly summary takes the visit as the encounters service does: one upsert.
    count_visit(
        session, encounter=encounter, resident_region_code=resident_region, visits=1, total_fen=0, fund_fen=0
    )
    context.written(resident_id, "encounter", encounter.id)
    return Created("Encounter", str(encounter.id), resource)


def _observation_values(session: Session, context: Context, resource: dict[str, Any]) -> dict[str, Any]:
    coding = _first_coding(resource.get("code"))
    if not coding.get("code"):
        raise FhirError(400, "required", "Observation.code needs a coding with a code", ["Observation.code"])
    effective = parse_instant(resource.get("effectiveDateTime") or resource.get("issued"))
    if effective is None:
        raise FhirError(
            400, "required", "Observation.effectiveDateTime is required", ["Observation.effective"]
        )
    quantity = resource.get("valueQuantity") or {}
    text = None
    if "valueCodeableConcept" in resource:
        concept = resource["valueCodeableConcept"]
        text = concept.get("text") or _first_coding(concept).get("display")
    elif "valueString" in resource:
        text = resource["valueString"]
    return {
        "resident_id": _resident_id(session, context, (resource.get("subject") or {}).get("reference")),
        "encounter_id": _local_id((resource.get("encounter") or {}).get("reference"), "Encounter"),
        "status": resource["status"],
        "category": _first_coding((resource.get("category") or [{}])[0]).get("code", "") or "",
        "code_system": str(coding.get("system", ""))[:100],
        "code": str(coding["code"])[:64],
        "display": str(coding.get("display") or (resource.get("code") or {}).get("text") or "")[:200],
        "value_num": float(quantity["value"]) if "value" in quantity else None,
        "value_text": str(text)[:200] if text is not None else None,
        "unit": str(quantity.get("unit") or quantity.get("code") or "")[:32] or None,
        "components_json": json.dumps(resource["component"], ensure_ascii=False)
        if resource.get("component")
        else None,
        "effective_at": effective,
        "recorded_at": effective,
    }


def _observation(session: Session, context: Context, resource: dict[str, Any]) -> Created:
    values = _observation_values(session, context, resource)
    ident = session.scalar(insert(ClinicalObservation).returning(ClinicalObservation.id), values)
    context.written(values["resident_id"], "observation", ident)
    return Created("Observation", str(ident), resource)


def _appointment(session: Session, context: Context, resource: dict[str, Any]) -> Created:
    """Booking through FHIR: a proposed/booked Appointment naming a Slot and a Patient takes the slot."""
    from yilian.scheduling.schemas import BookingIn
    from yilian.scheduling.service import do_book_slot

    slot_id = next((_local_id(s.get("reference"), "Slot") for s in resource.get("slot") or []), None)
    resident_id = next(
        (
            _local_id((p.get("actor") or {}).get("reference"), "Patient")
            for p in resource.get("participant") or []
            if _local_id((p.get("actor") or {}).get("reference"), "Patient")
        ),
        None,
    )
    if slot_id is None or resident_id is None:
        raise FhirError(
            400, "required", "an Appointment names one Slot and one Patient participant", ["Appointment.slot"]
        )
    try:
        booked = do_book_slot(
            session,
            actor=context.actor,
            data=BookingIn(slot_id=slot_id, resident_id=resident_id),
            idempotency_key=None,
        )
    except AppError as error:
        raise FhirError(
            error.status if error.status != 422 else 400,
            "business-rule",
            f"{error.message_en} / {error.message_zh}",
        ) from None
    return Created("Appointment", str(booked.id), resource)


def _stored_date(resource: dict[str, Any]) -> datetime | None:
    for name in DATE_FIELDS:
        if resource.get(name):
            return parse_instant(str(resource[name]))
    for name in ("period", "billablePeriod", "performedPeriod", "effectivePeriod"):
        if (resource.get(name) or {}).get("start"):
            return parse_instant(resource[name]["start"])
    return None


def _stored_values(session: Session, context: Context, resource: dict[str, Any]) -> dict[str, Any]:
    """The row of a resource kept as FHIR: its search columns and its JSON."""
    resource_type = resource["resourceType"]
    identifier = _identifier_value(resource)
    subject = (resource.get("subject") or resource.get("patient") or {}).get("reference")
    code = _first_coding(resource.get("code") or resource.get("vaccineCode") or resource.get("type")).get(
        "code"
    )
    body = {k: v for k, v in resource.items() if k not in ("id", "meta")}
    return {
        "resource_type": resource_type,
        "resident_id": _resident_id(session, context, subject) if subject else None,
        "status": str(resource.get("status") or "")[:32] or None,
        "date_at": _stored_date(resource),
        "code": str(code)[:64] if code else None,
        "identifier": f"{identifier[0]}|{identifier[1]}"[:200] if identifier else None,
        "body": json.dumps(body, ensure_ascii=False, separators=(",", ":")),
        "created_at": context.now,
        "created_by": context.actor.subject.user_id or None,
    }


def _insert_stored(session: Session, context: Context, rows: list[dict[str, Any]]) -> list[int]:
    ids = list(
        session.scalars(insert(FhirResource).returning(FhirResource.id, sort_by_parameter_order=True), rows)
    )
    for row, ident in zip(rows, ids, strict=True):
        if row["resident_id"] is not None:
            context.written(row["resident_id"], row["resource_type"].lower(), ident)
    return ids


def _stored(session: Session, context: Context, resource: dict[str, Any]) -> Created:
    resource_type = resource["resourceType"]
    identifier = _identifier_value(resource)
    if resource_type == "Practitioner" and identifier:
        existing = _by_identifier(session, "Practitioner", *identifier)
        if existing is not None:
            return Created("Practitioner", existing, resource, created=False)
    (ident,) = _insert_stored(session, context, [_stored_values(session, context, resource)])
    return Created(resource_type, f"{STORED_PREFIX}{ident}", resource)


def _references(value: Any, found: set[str]) -> set[str]:
    if isinstance(value, dict):
        if isinstance(value.get("reference"), str):
            found.add(value["reference"])
        for inner in value.values():
            _references(inner, found)
    elif isinstance(value, list):
        for inner in value:
            _references(inner, found)
    return found


WRITERS_BY_TYPE: dict[str, Callable[[Session, Context, dict[str, Any]], Created]] = {
    "Patient": _patient,
    "Organization": _organization,
    "Encounter": _encounter,
    "Observation": _observation,
    "Appointment": _appointment,
}
# Written in this order within a Bundle so that references point backwards.
ORDER = {"Organization": 0, "Practitioner": 1, "Patient": 2, "Encounter": 3, "Observation": 4}


def check_writer(actor: Actor) -> None:
    if not actor.subject.may(WRITERS):
        raise FhirError(403, "forbidden", "this account cannot write FHIR resources")


def create(
    session: Session,
    context: Context,
    resource: dict[str, Any],
    expected_type: str | None = None,
    *,
    validated: bool = False,
) -> Created:
    """Validate, rewrite references, write (projected or stored)."""
    check_writer(context.actor)
    if not validated:
        validate(resource, expected_type)
    resource_type = resource["resourceType"]
    if resource_type not in PROJECTED and resource_type not in STORED:
        raise FhirError(400, "not-supported", f"{resource_type} cannot be created here")
    rewritten = _rewrite(session, context, resource)
    writer = WRITERS_BY_TYPE.get(resource_type, _stored)
    return writer(session, context, rewritten)


def _entry_error(error: FhirError, number: int, resource_type: object) -> FhirError:
    for item in error.issues:
        item["diagnostics"] = f"entry {number} ({resource_type}): {item['diagnostics']}"
        item.setdefault("expression", [f"Bundle.entry[{number}]"])
    return error


def check_bundle(bundle: Any) -> list[dict[str, Any]]:
    """The whole Bundle checked before anything is written (no database work): its shape, and every
    entry valid R4. Returns the entries."""
    if (
        not isinstance(bundle, dict)
        or bundle.get("resourceType") != "Bundle"
        or bundle.get("type") not in ("transaction", "batch")
    ):
        raise FhirError(400, "invalid", "POST /fhir takes a Bundle of type transaction")
    entries: list[dict[str, Any]] = bundle.get("entry") or []
    for number, entry in enumerate(entries):
        request = (entry or {}).get("request") or {}
        if request.get("method", "POST") != "POST":
            raise FhirError(
                400,
                "not-supported",
                f"entry {number}: only POST is supported in a transaction",
                [f"Bundle.entry[{number}].request.method"],
            )
        if not isinstance(entry.get("resource"), dict):
            raise FhirError(
                400, "required", f"entry {number} has no resource", [f"Bundle.entry[{number}].resource"]
            )
        try:
            validate(entry["resource"])
        except FhirError as error:
            raise _entry_error(error, number, entry["resource"].get("resourceType")) from None
    return entries


def transaction(
    session: Session, context: Context, bundle: dict[str, Any], *, checked: list[dict[str, Any]] | None = None
) -> list[tuple[int, Created]]:
    """Every entry or none (the caller's transaction is rolled back on any error). Observations are
    written together in one statement. Returns the entries' results in the Bundle's order."""
    entries = checked if checked is not None else check_bundle(bundle)
    order = sorted(
        range(len(entries)), key=lambda n: (ORDER.get(entries[n]["resource"].get("resourceType"), 9), n)
    )
    results: dict[int, Created] = {}
    observations: list[tuple[int, dict[str, Any]]] = []

    def write_observations() -> None:
        if not observations:
            return
        ids = list(
            session.scalars(
                insert(ClinicalObservation).returning(ClinicalObservation.id, sort_by_parameter_order=True),
                [values for _, values in observations],
            )
        )
        for (number, values), ident in zip(observations, ids, strict=True):
            context.written(values["resident_id"], "observation", ident)
            results[number] = Created("Observation", str(ident), entries[number]["resource"])
            if entries[number].get("fullUrl"):
                context.references[entries[number]["fullUrl"]] = f"Observation/{ident}"
        observations.clear()

    check_writer(context.actor)
    # Resources kept as FHIR (not Practitioners: those are matched on their identifier) are written
    # in waves: each wave is every such entry whose in-Bundle references are already written.
    batched = [
        n
        for n in order
        if entries[n]["resource"].get("resourceType") in STORED
        and entries[n]["resource"].get("resourceType") not in PROJECTED
        and entries[n]["resource"].get("resourceType") != "Practitioner"
    ]
    batched_set = set(batched)
    for number in order:
        if number in batched_set:
            continue
        entry = entries[number]
        resource = entry["resource"]
        try:
            if resource.get("resourceType") == "Observation":
                observations.append(
                    (number, _observation_values(session, context, _rewrite(session, context, resource)))
                )
                continue
            write_observations()
            created = create(session, context, resource, validated=True)
        except FhirError as error:
            raise _entry_error(error, number, resource.get("resourceType")) from None
        if entry.get("fullUrl"):
            context.references[entry["fullUrl"]] = f"{created.resource_type}/{created.ident}"
        results[number] = created
    write_observations()
    wanted = {
        n: {r for r in _references(entries[n]["resource"], set()) if r.startswith("urn:")} for n in batched
    }
    while batched:
        wave = [n for n in batched if wanted[n] <= context.references.keys()] or batched[:1]
        rows = []
        for number in wave:
            resource = entries[number]["resource"]
            try:
                rows.append(_stored_values(session, context, _rewrite(session, context, resource)))
            except FhirError as error:
                raise _entry_error(error, number, resource.get("resourceType")) from None
        for number, ident in zip(wave, _insert_stored(session, context, rows), strict=True):
            resource = entries[number]["resource"]
            results[number] = Created(resource["resourceType"], f"{STORED_PREFIX}{ident}", resource)
            if entries[number].get("fullUrl"):
                context.references[entries[number]["fullUrl"]] = (
                    f"{resource['resourceType']}/{STORED_PREFIX}{ident}"
                )
        done = set(wave)
        batched = [n for n in batched if n not in done]
    context.audit(session)
    return [(n, results[n]) for n in range(len(entries))]
