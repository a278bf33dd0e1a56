"""FHIR in: create one resource, or a transaction Bundle that is written whole or not at all.

Patients become residents, Organizations institutions, Encounters encounters, Observations
clinical observations (and an Appointment books its Slot); other types are kept as FHIR JSON.
References inside a Bundle (`urn:uuid:…`, or conditional `Type?identifier=system|value`) are
rewritten to the platform's ids. Organizations and Practitioners are created only if no resource
with the same identifier exists (FHIR's conditional create), Patients only if none the writer reads
(or wrote) has it. An entry the writer sent before (the same source id and content, `fhir_source`)
is answered with what it became and not written again, so re-importing a folder adds nothing.
A write passes the REST endpoints' checks (decision 0021).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from yilian.auth.context import Actor
from yilian.fhir.projections import (
    NOTES,
    encounter_values,
    observation_values,
    write_appointment,
    write_encounter,
    write_encounters,
    write_observation,
    write_observations,
    write_organization,
    write_patient,
)
from yilian.fhir.references import (
    WRITERS,
    Context,
    Created,
    first_coding,
    identified,
    identifier_value,
    known_sources,
    look_up_identifiers,
    record_sources,
    resident_of,
    rewrite,
)
from yilian.fhir.rules import (
    PROJECTED,
    STORED,
    STORED_PREFIX,
    FhirError,
    parse_instant,
)
from yilian.fhir.validate import validate
from yilian.kit.bulk import insert_rows
from yilian.kit.errors import AppError
from yilian.models import FhirResource

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
    identifier = identifier_value(resource)
    subject = (resource.get("subject") or resource.get("patient") or {}).get("reference")
    code = first_coding(resource.get("code") or resource.get("vaccineCode") or resource.get("type")).get(
        "code"
    )
    body = {k: v for k, v in resource.items() if k not in ("id", "meta")}
    return {
        "resource_type": resource_type,
        "resident_id": resident_of(session, context, subject) if subject else None,
        "status": str(resource.get("status") or "")[:32] or None,
        "date_at": _stored_date(resource),
        "code": str(code)[:64] if code else None,
        "identifier": f"{identifier[0]}|{identifier[1]}"[:200] if identifier else None,
        "body": json.dumps(body, ensure_ascii=False, separators=(",", ":")),
        "created_at": context.now,
        "created_by": context.actor.subject.user_id or None,
    }


def _insert_stored(session: Session, context: Context, rows: list[dict[str, Any]]) -> list[int]:
    ids = insert_rows(session, FhirResource, rows)
    for row, ident in zip(rows, ids, strict=True):
        if row["resident_id"] is not None:
            context.written(row["resident_id"], row["resource_type"].lower(), ident)
    return ids


def _stored(session: Session, context: Context, resource: dict[str, Any]) -> Created:
    resource_type = resource["resourceType"]
    identifier = identifier_value(resource)
    if resource_type == "Practitioner" and identifier:
        existing = identified(session, context, "Practitioner", *identifier)
        if existing is not None:
            return Created("Practitioner", existing, resource, created=False)
    (ident,) = _insert_stored(session, context, [_stored_values(session, context, resource)])
    if resource_type == "Practitioner" and identifier:
        context.identified["Practitioner", *identifier] = f"{STORED_PREFIX}{ident}"
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
    "Patient": write_patient,
    "Organization": write_organization,
    "Encounter": write_encounter,
    "Observation": write_observation,
    "Appointment": write_appointment,
}
# Types whose entries in a Bundle are written together: the row of one entry, the writer of many.
BATCHES: dict[str, tuple[Callable[[Session, Context, dict[str, Any]], dict[str, Any]], Any]] = {
    "Encounter": (encounter_values, write_encounters),
    "Observation": (observation_values, write_observations),
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
    rewritten = rewrite(session, context, resource)
    writer = WRITERS_BY_TYPE.get(resource_type, _stored)
    return writer(session, context, rewritten)


def source_id(entry: dict[str, Any]) -> str | None:
    """What identifies a resource sent by another system: its id there (with `meta.source` when
    given) and a digest of its content. Ids alone are not enough: a client may reuse "1" in every
    Bundle, and a different resource under a known id must be written, not dropped. A resource
    without an id (FHIR's plain create) is never matched."""
    resource = entry["resource"]
    ident = resource.get("id")
    if not ident:
        return None
    origin = (resource.get("meta") or {}).get("source") or ""
    content = json.dumps(
        {k: v for k, v in resource.items() if k != "meta"},
        sort_keys=True,
        ensure_ascii=False,
        separators=(",", ":"),
    )
    return f"{origin[:100]}#{str(ident)[:64]}#{hashlib.sha256(content.encode()).hexdigest()[:24]}"


def as_fhir_error(error: AppError) -> FhirError:
    """A service's refusal (the same checks as the REST endpoint) as an OperationOutcome."""
    code = "forbidden" if error.status == 403 else "not-found" if error.status == 404 else "processing"
    return FhirError(error.status, code, f"{error.message_en} / {error.message_zh}")


def _entry_error(error: FhirError | AppError, number: int, resource_type: object) -> FhirError:
    if isinstance(error, AppError):
        error = as_fhir_error(error)
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
    """Every entry or none (the caller's transaction is rolled back on any error). Encounters, and
    Observations, are written together; so are the stored resources, in waves. Returns the entries'
    results in the Bundle's order."""
    entries = checked if checked is not None else check_bundle(bundle)
    order = sorted(
        range(len(entries)), key=lambda n: (ORDER.get(entries[n]["resource"].get("resourceType"), 9), n)
    )
    results: dict[int, Created] = {}
    # Rows of the batched type being collected (entries are in type order), written together.
    pending: list[tuple[int, dict[str, Any]]] = []

    def write_pending() -> None:
        if not pending:
            return
        resource_type = entries[pending[0][0]]["resource"]["resourceType"]
        ids = BATCHES[resource_type][1](session, context, [values for _, values in pending])
        for (number, values), ident in zip(pending, ids, strict=True):
            results[number] = Created(
                resource_type, str(ident), entries[number]["resource"], notes=values.get(NOTES, [])
            )
            if entries[number].get("fullUrl"):
                context.references[entries[number]["fullUrl"]] = f"{resource_type}/{ident}"
        pending.clear()

    check_writer(context.actor)
    # Entries this writer sent before (the same source id): answered with what they became, written
    # again never — importing a folder twice adds nothing (decision 0021). A match grants nothing:
    # a new entry that refers to a matched Patient still needs a Patient the writer may read.
    owner = context.owner
    sources = {n: source_id(entries[n]) for n in range(len(entries))}
    known = known_sources(
        session, owner, {(entries[n]["resource"]["resourceType"], key) for n, key in sources.items() if key}
    )
    for number, key in sources.items():
        resource = entries[number]["resource"]
        local = known.get((resource["resourceType"], key)) if key else None
        if local is not None:
            results[number] = Created(resource["resourceType"], local, resource, created=False)
            if entries[number].get("fullUrl"):
                context.references[entries[number]["fullUrl"]] = f"{resource['resourceType']}/{local}"
    order = [n for n in order if n not in results]
    look_up_identifiers(session, context, [entries[n]["resource"] for n in order])
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
            batch = BATCHES.get(resource.get("resourceType", ""))
            if batch is not None:
                if pending and entries[pending[0][0]]["resource"]["resourceType"] != resource["resourceType"]:
                    write_pending()
                pending.append((number, batch[0](session, context, rewrite(session, context, resource))))
                continue
            write_pending()
            created = create(session, context, resource, validated=True)
        except (FhirError, AppError) as error:
            raise _entry_error(error, number, resource.get("resourceType")) from None
        if entry.get("fullUrl"):
            context.references[entry["fullUrl"]] = f"{created.resource_type}/{created.ident}"
        results[number] = created
    write_pending()
    wanted = {
        n: {r for r in _references(entries[n]["resource"], set()) if r.startswith("urn:")} for n in batched
    }
    while batched:
        wave = [n for n in batched if wanted[n] <= context.references.keys()] or batched[:1]
        rows = []
        for number in wave:
            resource = entries[number]["resource"]
            try:
                rows.append(_stored_values(session, context, rewrite(session, context, resource)))
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
    record_sources(
        session,
        owner,
        [
            (created.resource_type, key, created.ident)
            for n, created in results.items()
            if created.created and (key := sources[n]) is not None
        ],
    )
    context.audit(session)
    return [(n, results[n]) for n in range(len(entries))]
