"""What every FHIR write shares: who writes and into which county, the references made so far in
a Bundle, and how a reference (`urn:uuid:…`, `Type/id`, `Type?identifier=…`) becomes a platform id."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from yilian.auth import rules as roles
from yilian.auth.context import Actor
from yilian.auth.rules import Subject
from yilian.auth.scoping import readable_by_id, resident_visibility
from yilian.fhir.rules import (
    ID_CARD_SYSTEMS,
    INSTITUTION_SYSTEM,
    STORED_PREFIX,
    FhirError,
    foreign_code,
    row_key,
    source_owner,
)
from yilian.kit.db import insert_rows
from yilian.models import (
    FhirResource,
    FhirSource,
    Institution,
    Resident,
    ResidentIdentifier,
)

WRITERS = frozenset(
    {roles.INSTITUTION_ADMIN, roles.DOCTOR, roles.FAMILY_DOCTOR, roles.CONSORTIUM_ADMIN, roles.COMMISSION}
)
# Source ids of the Patients a writer created, by identifier (beside resources' own ids).
IDENTIFIER_KEY = "identifier:"
CJK = re.compile(r"[\u4e00-\u9fff]")
INPATIENT_CLASSES = {"IMP", "ACUTE", "NONAC", "PRENC"}


@dataclass
class Created:
    resource_type: str
    ident: str
    resource: dict[str, Any]
    created: bool = True
    # What was kept as sent and what the platform's tables hold instead (OperationOutcome issues).
    notes: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class Context:
    """What a write needs: who, the region new residents and institutions belong to, the references made so far."""

    actor: Actor
    region_code: str
    now: datetime
    references: dict[str, str] = field(default_factory=dict)
    # Residents created by this write (a Bundle may refer to them before the writer can read them).
    # A Patient matched on an identifier is never added: matching grants nothing (decision 0021).
    created_residents: set[int] = field(default_factory=set)
    # Institutions this write may record encounters at, checked once each.
    places: set[int] = field(default_factory=set)
    # Resources looked up by identifier (Type, system, value) → local id or None: asked once each.
    identified: dict[tuple[str, str, str], str | None] = field(default_factory=dict)
    # Audit of what was written, per resident and kind: one event each with the ids, not one per row.
    pending_audit: dict[tuple[int, str], list[str]] = field(default_factory=dict)
    # The audit action of what is written: a create, or an update (PUT) of what was there.
    action: str = "create"

    @property
    def owner(self) -> str:
        return source_owner(self.actor.subject)

    def written(self, resident_id: int, entity: str, ident: object) -> None:
        self.pending_audit.setdefault((resident_id, entity[:32]), []).append(str(ident))

    def audit(self, session: Session) -> None:
        """Audit what was written (the rows are written in the transaction, before it commits)."""
        for (resident_id, entity), ids in self.pending_audit.items():
            self.actor.record_change(
                session,
                action=self.action,
                entity=entity,
                entity_id=ids[0] if len(ids) == 1 else None,
                resident_id=resident_id,
                detail=f"FHIR ×{len(ids)}: {','.join(ids)}",
            )
        self.pending_audit.clear()


def known_sources(session: Session, owner: str, keys: set[tuple[str, str]]) -> dict[tuple[str, str], str]:
    """(type, source id) → local id, for those the owner has sent before (chunked, one query each)."""
    found: dict[tuple[str, str], str] = {}
    by_type: dict[str, list[str]] = {}
    for resource_type, key in keys:
        by_type.setdefault(resource_type, []).append(key)
    for resource_type, ids in by_type.items():
        for start in range(0, len(ids), 900):
            rows = session.execute(
                select(FhirSource.source_id, FhirSource.local_id).where(
                    FhirSource.owner == owner,
                    FhirSource.resource_type == resource_type,
                    FhirSource.source_id.in_(ids[start : start + 900]),
                )
            )
            found.update(((resource_type, key), local) for key, local in rows)
    return found


def record_sources(session: Session, owner: str, created: list[tuple[str, str, str]]) -> None:
    """Remember what each source id became (the first of a source id repeated in one Bundle)."""
    rows = {(resource_type, key): local for resource_type, key, local in created}
    insert_rows(
        session,
        FhirSource,
        [
            {"owner": owner, "resource_type": t, "source_id": k, "local_id": local}
            for (t, k), local in rows.items()
        ],
    )


def first_coding(concept: dict[str, Any] | None) -> dict[str, Any]:
    codings = (concept or {}).get("coding") or [{}]
    return dict(codings[0])


def identifier_value(resource: dict[str, Any]) -> tuple[str, str] | None:
    for identifier in resource.get("identifier") or []:
        if identifier.get("value"):
            return str(identifier.get("system", "")), str(identifier["value"])
    return None


def resolve(session: Session, context: Context, reference: str) -> str:
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
        found = identified(session, context, resource_type, system, code)
        if found is None:
            raise FhirError(400, "not-found", f"reference '{reference}' matches no resource", [reference])
        context.references[reference] = f"{resource_type}/{found}"
        return context.references[reference]
    if reference.startswith("urn:"):
        raise FhirError(
            400, "not-found", f"reference '{reference}' is to no entry of this Bundle", [reference]
        )
    return reference


def rewrite(session: Session, context: Context, value: Any) -> Any:
    """The value with every `reference` resolved. Copy on write: the input is never changed, and
    only the objects on the way to a changed reference are copied."""
    if isinstance(value, dict):
        out = None
        for key, inner in value.items():
            if key == "reference" and isinstance(inner, str):
                changed: Any = resolve(session, context, inner)
            elif isinstance(inner, (dict, list)):
                changed = rewrite(session, context, inner)
            else:
                continue
            if changed is not inner and changed != inner:
                out = out if out is not None else dict(value)
                out[key] = changed
        return value if out is None else out
    if isinstance(value, list):
        items = [rewrite(session, context, inner) for inner in value]
        return value if all(a is b for a, b in zip(items, value, strict=True)) else items
    return value


def identified(session: Session, context: Context, resource_type: str, system: str, code: str) -> str | None:
    """`by_identifier`, remembered for the rest of the import (a writer records what it creates)."""
    key = (resource_type, system, code)
    if key not in context.identified:
        context.identified[key] = by_identifier(session, context.actor.subject, resource_type, system, code)
    return context.identified[key]


def look_up_identifiers(session: Session, context: Context, resources: list[dict[str, Any]]) -> None:
    """The Bundle's Organizations and Practitioners looked up together (two queries, not one each):
    a hospital or doctor named in many Bundles is matched, not created again."""
    wanted: dict[str, set[tuple[str, str]]] = {"Organization": set(), "Practitioner": set()}
    for resource in resources:
        identifier = identifier_value(resource)
        resource_type = resource.get("resourceType")
        if (
            resource_type in wanted
            and identifier is not None
            and (resource_type, *identifier) not in context.identified
        ):
            wanted[resource_type].add(identifier)
    if wanted["Organization"]:
        by_code = {institution_code(*pair): pair for pair in wanted["Organization"]}
        institutions = dict(
            session.execute(
                select(Institution.code, Institution.id).where(Institution.code.in_(by_code))
            ).all()
        )
        for code, (system, value) in by_code.items():
            context.identified["Organization", system, value] = (
                str(institutions[code]) if code in institutions else None
            )
    if wanted["Practitioner"]:
        by_identifier_text = {
            f"{system}|{value}": (system, value) for system, value in wanted["Practitioner"]
        }
        practitioners = dict(
            session.execute(
                select(FhirResource.identifier, FhirResource.id).where(
                    FhirResource.resource_type == "Practitioner",
                    FhirResource.identifier.in_(by_identifier_text),
                )
            ).all()
        )
        for text, (system, value) in by_identifier_text.items():
            context.identified["Practitioner", system, value] = (
                f"{STORED_PREFIX}{practitioners[text]}" if text in practitioners else None
            )


def by_identifier(
    session: Session, subject: Subject, resource_type: str, system: str, code: str
) -> str | None:
    """The local id of the resource with this identifier. A Patient is looked for among the
    residents the subject may read only: one outside is not found, so that a write neither learns
    that it exists nor reaches it (decision 0021)."""
    if resource_type == "Patient":
        readable = resident_visibility(subject)
        if system in ID_CARD_SYSTEMS:
            statement = select(Resident.id).where(Resident.id_number == code, readable)
        else:
            statement = (
                select(ResidentIdentifier.resident_id)
                .join(Resident, Resident.id == ResidentIdentifier.resident_id)
                .where(ResidentIdentifier.system == system, ResidentIdentifier.value == code, readable)
            )
        found = session.scalar(statement.order_by(Resident.id).limit(1))
        return None if found is None else str(found)
    if resource_type == "Organization":
        found = session.scalar(
            select(Institution.id).where(Institution.code == institution_code(system, code))
        )
        return None if found is None else str(found)
    found = session.scalar(
        select(FhirResource.id).where(
            FhirResource.resource_type == resource_type, FhirResource.identifier == f"{system}|{code}"
        )
    )
    return None if found is None else f"{STORED_PREFIX}{found}"


def institution_code(system: str, code: str) -> str:
    if system in ("", INSTITUTION_SYSTEM):
        return code[:32]
    return foreign_code(system, code)


def resident_of(session: Session, context: Context, reference: str | None) -> int:
    """The resident a resource is about: one created in this Bundle, or one the writer may read."""
    kind, _, ident = (reference or "").partition("/")
    key = row_key(ident)
    if kind != "Patient" or key is None:
        raise FhirError(400, "required", "the resource must refer to a Patient of this platform", ["subject"])
    resident_id = key
    if (
        resident_id not in context.created_residents
        and readable_by_id(session, context.actor.subject, resident_id) is None
    ):
        raise FhirError(
            404, "not-found", f"Patient/{resident_id} does not exist or is not visible to you", ["subject"]
        )
    return resident_id


def local_id(reference: str | None, resource_type: str) -> int | None:
    kind, _, ident = (reference or "").partition("/")
    return row_key(ident) if kind == resource_type else None
