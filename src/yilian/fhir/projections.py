"""FHIR resources written into the platform's own tables: Patient → resident (with a derived ID
number when it has none), Organization → institution, Encounter → encounter (and the monthly
summary), Observation → clinical observation, Appointment → a booking of its Slot."""

from __future__ import annotations

import json
from datetime import date
from typing import Any

from sqlalchemy import insert, select, tuple_
from sqlalchemy.orm import Session

from yilian.encounters.repository import add_to_summaries
from yilian.encounters.service import check_may_record_at, check_may_record_encounters
from yilian.fhir import mapping
from yilian.fhir.references import (
    CJK,
    IDENTIFIER_KEY,
    INPATIENT_CLASSES,
    Context,
    Created,
    by_identifier,
    first_coding,
    identified,
    identifier_value,
    institution_code,
    known_sources,
    local_id,
    record_sources,
    resident_of,
)
from yilian.fhir.rules import (
    DERIVED_ID_SYSTEM,
    HEALTH_CARD_SYSTEM,
    ID_CARD_SYSTEMS,
    FhirError,
    derived_id_number,
    is_foreign_code,
    issue,
    parse_instant,
)
from yilian.kit.db import insert_rows
from yilian.kit.errors import AppError
from yilian.kit.id_numbers import InvalidIdNumber, parse_id_number
from yilian.models import (
    AdminDivision,
    ClinicalObservation,
    Encounter,
    EncounterDiagnosis,
    FhirReceived,
    Institution,
    Resident,
    ResidentIdentifier,
)
from yilian.residents.service import check_may_register

UNKNOWN_SEX = "U"  # a Patient sent with gender other / unknown and no resident ID number
RECEIVED = "_received"  # in an observation's row values: the resource as sent (not a column)
NOTES = "_notes"  # and what the projection could not keep


def human_name(resource: dict[str, Any]) -> str:
    names = resource.get("name") or [{}]
    human = names[0]
    if human.get("text"):
        return str(human["text"])[:32]
    family = str(human.get("family", ""))
    given = " ".join(human.get("given") or [])
    full = f"{family}{given}" if CJK.search(family + given) else f"{given} {family}".strip()
    return full[:32] or "未知"


def write_patient(session: Session, context: Context, resource: dict[str, Any]) -> Created:
    identifiers = [
        (str(i.get("system", "")), str(i.get("value", "")))
        for i in resource.get("identifier") or []
        if i.get("value")
    ]
    card = next((v for s, v in identifiers if s in ID_CARD_SYSTEMS), None)
    check_may_register(context.actor)  # who may register, as POST /api/residents
    # Matched among the residents the writer reads only, and granting nothing: a resident outside
    # is as if absent (decision 0021).
    for system, value in identifiers:
        existing = by_identifier(session, context.actor.subject, "Patient", system, value)
        if existing is not None:
            return Created("Patient", existing, resource, created=False)
    # Or one this writer created itself with the same identifier (FHIR's conditional create), though
    # it may not read it: it lies outside every grid, say. Telling a writer what it wrote leaks nothing.
    keys = {("Patient", f"{IDENTIFIER_KEY}{s}|{v}"[:200]) for s, v in identifiers}
    mine = known_sources(session, context.owner, keys)
    if mine:
        return Created("Patient", sorted(mine.values())[0], resource, created=False)
    notes: list[dict[str, Any]] = []
    gender = resource.get("gender")
    facts = None
    if card is not None:
        try:
            facts = parse_id_number(card, today=context.now.date())
        except InvalidIdNumber as error:
            raise FhirError(
                400, "invalid", f"resident ID: {error.message_en}", ["Patient.identifier"]
            ) from None
    born = facts.birth_date if facts else partial_date(resource.get("birthDate"))
    if born is None:
        raise FhirError(
            400,
            "required",
            "Patient.birthDate (or a resident ID number) is required to register a resident",
            ["Patient.birthDate"],
        )
    if facts is None and len(str(resource["birthDate"])) < 10:
        notes.append(
            issue(
                "warning",
                "informational",
                f"Patient.birthDate '{resource['birthDate']}' is kept and served as sent; the resident's "
                f"record, which needs a full date, holds {born.isoformat()}",
                ["Patient.birthDate"],
            )
        )
    sex = facts.sex if facts else mapping.SEX.get(str(gender), UNKNOWN_SEX)
    if sex == UNKNOWN_SEX:
        notes.append(
            issue(
                "warning",
                "informational",
                f"Patient.gender '{gender or '(absent)'}' is kept and served as sent; the resident's "
                "record holds the sex as unknown",
                ["Patient.gender"],
            )
        )
    if facts is not None:
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
        notes.append(
            issue(
                "information",
                "informational",
                f"no resident ID number was sent: the resident's record holds the derived number {id_number} "
                f"(identifier system {DERIVED_ID_SYSTEM})",
                ["Patient.identifier"],
            )
        )
    if session.get(AdminDivision, region) is None:
        raise FhirError(400, "invalid", f"region {region} is not a known division", ["Patient.identifier"])
    telecom = next(
        (t.get("value") for t in resource.get("telecom") or [] if t.get("system") == "phone"), None
    )
    address = (resource.get("address") or [{}])[0]
    resident = Resident(
        id_number=id_number,
        name=human_name(resource),
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
    context.identified.update((("Patient", s, v), str(resident.id)) for s, v in identifiers)
    kept = [
        (s[:200], v[:100])
        for s, v in dict.fromkeys(identifiers)
        if s not in (*ID_CARD_SYSTEMS, HEALTH_CARD_SYSTEM)
    ]
    # An identifier another record already holds (one this writer does not read) stays with it.
    taken: set[tuple[str, str]] = set()
    if kept:
        pairs = tuple_(ResidentIdentifier.system, ResidentIdentifier.value).in_(kept)
        taken = {
            (a, b)
            for a, b in session.execute(
                select(ResidentIdentifier.system, ResidentIdentifier.value).where(pairs)
            )
        }
    session.add_all(
        ResidentIdentifier(resident_id=resident.id, system=s, value=v) for s, v in kept if (s, v) not in taken
    )
    record_sources(session, context.owner, [(t, key, str(resident.id)) for t, key in sorted(keys)])
    context.written(resident.id, "resident", resident.id)
    session.flush()  # the health card number's update is this resident's version 2
    version = session.scalar(select(Resident.row_version).where(Resident.id == resident.id)) or 1
    keep_received(session, "Patient", [(str(resident.id), resource)], version)
    return Created("Patient", str(resident.id), resource, notes=notes)


def keep_received(
    session: Session, resource_type: str, written: list[tuple[str, dict[str, Any]]], version: int = 1
) -> None:
    """The resources as sent (references already local), beside the rows they became (at `version`)."""
    if not written:
        return
    session.connection().execute(
        insert(FhirReceived),
        [
            {
                "resource_type": resource_type,
                "local_id": ident,
                "row_version": version,
                "body": json.dumps(
                    {k: v for k, v in body.items() if k not in ("id", "meta")},
                    ensure_ascii=False,
                    separators=(",", ":"),
                ),
            }
            for ident, body in written
        ],
    )


def partial_date(value: object) -> date | None:
    """An R4 date ("1999", "1999-05", "1999-05-17") as the first day it may be."""
    text = str(value or "")
    try:
        if len(text) == 4:
            return date(int(text), 1, 1)
        if len(text) == 7:
            return date(int(text[:4]), int(text[5:7]), 1)
        return date.fromisoformat(text[:10]) if text else None
    except ValueError:
        raise FhirError(
            400, "invalid", f"Patient.birthDate '{text[:20]}' is not a date", ["Patient.birthDate"]
        ) from None


def write_organization(session: Session, context: Context, resource: dict[str, Any]) -> Created:
    system, code = identifier_value(resource) or ("", "")
    if not code:
        raise FhirError(400, "required", "Organization.identifier is required", ["Organization.identifier"])
    existing = identified(session, context, "Organization", system, code)
    if existing is not None:
        return Created("Organization", existing, resource, created=False)
    institution = Institution(
        code=institution_code(system, code),
        name=str(resource.get("name") or code)[:128],
        level="未定级",
        type="综合医院",
        region_code=context.region_code,
        is_grassroots=False,
    )
    session.add(institution)
    session.flush()
    context.identified["Organization", system, code] = str(institution.id)
    return Created("Organization", str(institution.id), resource)


def check_place(session: Session, context: Context, institution_id: int) -> None:
    """Who may record a visit where, as POST /api/encounters: an encounter recorder, at their own
    institution (a visit there opens the resident's record to it). History from another system may
    also name that system's provider: an institution made from a foreign Organization identifier,
    which is no member of the platform (decision 0021)."""
    if institution_id in context.places:
        return
    check_may_record_encounters(context.actor)
    code = session.scalar(select(Institution.code).where(Institution.id == institution_id))
    if code is None or not is_foreign_code(code):
        check_may_record_at(session, actor=context.actor, institution_id=institution_id)
    context.places.add(institution_id)


def encounter_values(session: Session, context: Context, resource: dict[str, Any]) -> dict[str, Any]:
    """The encounter row of an Encounter (and under `diagnoses` its ICD-10 reason codes)."""
    resident_id = resident_of(session, context, (resource.get("subject") or {}).get("reference"))
    institution_id = local_id((resource.get("serviceProvider") or {}).get("reference"), "Organization")
    if institution_id is None:
        raise FhirError(
            400,
            "required",
            "Encounter.serviceProvider must name an Organization",
            ["Encounter.serviceProvider"],
        )
    check_place(session, context, institution_id)
    period = resource.get("period") or {}
    start = parse_instant(period.get("start"))
    if start is None:
        raise FhirError(400, "required", "Encounter.period.start is required", ["Encounter.period.start"])
    end = parse_instant(period.get("end"))
    inpatient = (resource.get("class") or {}).get("code") in INPATIENT_CLASSES
    return {
        "resident_id": resident_id,
        "institution_id": institution_id,
        "kind": "inpatient" if inpatient else "outpatient",
        "start_date": start.date(),
        "end_date": end.date() if (inpatient and end) else None,
        "total_fen": 0,
        "fund_fen": 0,
        "out_of_county": False,
        "diagnoses": [
            c["code"]
            for concept in resource.get("reasonCode") or []
            for c in concept.get("coding") or []
            if c.get("system") == mapping.ICD10_SYSTEM and c.get("code")
        ],
        RECEIVED: resource,
    }


def write_encounters(session: Session, context: Context, rows: list[dict[str, Any]]) -> list[int]:
    """Encounters with their diagnoses, and the dashboards' monthly summary counted as the
    encounters service counts a visit: a few statements for the lot, not a few per encounter."""
    if not rows:
        return []
    ids = insert_rows(
        session,
        Encounter,
        [{k: v for k, v in row.items() if k not in ("diagnoses", RECEIVED)} for row in rows],
    )
    diagnoses = [
        {"encounter_id": ident, "seq": seq, "icd10_code": code}
        for row, ident in zip(rows, ids, strict=True)
        for seq, code in enumerate(row["diagnoses"], start=1)
    ]
    if diagnoses:
        session.connection().execute(insert(EncounterDiagnosis), diagnoses)
    regions = dict(
        session.execute(
            select(Resident.id, Resident.region_code).where(Resident.id.in_({r["resident_id"] for r in rows}))
        ).all()
    )
    add_to_summaries(
        session,
        [
            {
                "month": f"{row['start_date']:%Y-%m}",
                "institution_id": row["institution_id"],
                "resident_region_code": regions.get(row["resident_id"]) or context.region_code,
                "kind": row["kind"],
                "out_of_county": row["out_of_county"],
                "visits": 1,
                "total_fen": 0,
                "fund_fen": 0,
            }
            for row in rows
        ],
    )
    for row, ident in zip(rows, ids, strict=True):
        context.written(row["resident_id"], "encounter", ident)
    # Kept as sent at the version each became once its diagnoses were written (they bump it).
    versions = dict(
        session.execute(select(Encounter.id, Encounter.row_version).where(Encounter.id.in_(ids))).all()
    )
    by_version: dict[int, list[tuple[str, dict[str, Any]]]] = {}
    for row, ident in zip(rows, ids, strict=True):
        if RECEIVED in row:
            by_version.setdefault(versions[ident], []).append((str(ident), row[RECEIVED]))
    for version, written in by_version.items():
        keep_received(session, "Encounter", written, version)
    return ids


def write_encounter(session: Session, context: Context, resource: dict[str, Any]) -> Created:
    (ident,) = write_encounters(session, context, [encounter_values(session, context, resource)])
    return Created("Encounter", str(ident), resource)


def observation_values(session: Session, context: Context, resource: dict[str, Any]) -> dict[str, Any]:
    coding = first_coding(resource.get("code"))
    if not coding.get("code"):
        raise FhirError(400, "required", "Observation.code needs a coding with a code", ["Observation.code"])
    effective = parse_instant(
        resource.get("effectiveDateTime")
        or resource.get("effectiveInstant")
        or (resource.get("effectivePeriod") or {}).get("start")
        or resource.get("issued")
    )
    notes = []
    if effective is None:
        effective = context.now
        notes.append(
            issue(
                "warning",
                "informational",
                "Observation has no effective[x]: it is kept and served as sent; the platform's record "
                "dates it at its receipt",
                ["Observation.effective"],
            )
        )
    quantity = resource.get("valueQuantity") or {}
    text = None
    if "valueCodeableConcept" in resource:
        concept = resource["valueCodeableConcept"]
        text = concept.get("text") or first_coding(concept).get("display")
    elif "valueString" in resource:
        text = resource["valueString"]
    return {
        "resident_id": resident_of(session, context, (resource.get("subject") or {}).get("reference")),
        "encounter_id": local_id((resource.get("encounter") or {}).get("reference"), "Encounter"),
        "status": resource["status"],
        "category": first_coding((resource.get("category") or [{}])[0]).get("code", "") or "",
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
        RECEIVED: resource,
        NOTES: notes,
    }


def write_observations(session: Session, context: Context, rows: list[dict[str, Any]]) -> list[int]:
    """Clinical observations in one statement."""
    if not rows:
        return []
    ids = insert_rows(
        session,
        ClinicalObservation,
        [{k: v for k, v in r.items() if k not in (RECEIVED, NOTES)} for r in rows],
    )
    for row, ident in zip(rows, ids, strict=True):
        context.written(row["resident_id"], "observation", ident)
    keep_received(
        session,
        "Observation",
        [(str(i), r[RECEIVED]) for r, i in zip(rows, ids, strict=True) if RECEIVED in r],
    )
    return ids


def write_observation(session: Session, context: Context, resource: dict[str, Any]) -> Created:
    values = observation_values(session, context, resource)
    (ident,) = write_observations(session, context, [values])
    return Created("Observation", str(ident), resource, notes=values[NOTES])


def write_appointment(session: Session, context: Context, resource: dict[str, Any]) -> Created:
    """Booking through FHIR: a proposed/booked Appointment naming a Slot and a Patient takes the slot."""
    from yilian.scheduling.booking import do_book_slot
    from yilian.scheduling.schemas import BookingIn

    slot_id = next((local_id(s.get("reference"), "Slot") for s in resource.get("slot") or []), None)
    resident_id = next(
        (
            local_id((p.get("actor") or {}).get("reference"), "Patient")
            for p in resource.get("participant") or []
            if local_id((p.get("actor") or {}).get("reference"), "Patient")
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
