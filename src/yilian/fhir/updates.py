"""FHIR update (PUT /fhir/{type}/{id}) of the resources the platform takes writes for: the same
checks and projection as a create, applied to the row the writer reads, only if the row is still
the version the client read (`If-Match`), and kept as received like a create (decision 0036)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy import insert, select, tuple_
from sqlalchemy.orm import Session

from yilian.fhir import mapping
from yilian.fhir.ingest import check_writer
from yilian.fhir.projections import (
    NOTES,
    RECEIVED,
    UNKNOWN_SEX,
    human_name,
    keep_received,
    observation_values,
    partial_date,
)
from yilian.fhir.references import Context, rewrite
from yilian.fhir.rules import (
    DERIVED_ID_SYSTEM,
    HEALTH_CARD_SYSTEM,
    ID_CARD_SYSTEMS,
    FhirError,
    issue,
    row_key,
)
from yilian.models import ClinicalObservation, FhirReceived, Resident, ResidentIdentifier
from yilian.residents.service import check_may_register

# Types a client may update: those whose create is projected into a table the platform changes.
UPDATABLE = ("Patient", "Observation")


@dataclass
class Updated:
    version: int
    notes: list[dict[str, Any]] = field(default_factory=list)


def stale(resource_type: str, ident: str, expected: int) -> FhirError:
    return FhirError(
        412,
        "conflict",
        f"{resource_type}/{ident} is no longer version {expected}: read it again and apply your change to "
        "the current version",
    )


def _changed(session: Session, model: Any, key: int, expected: int, values: dict[str, Any]) -> None:
    """The row's UPDATE, made only if it is still the version the client read: a change committed
    between the client's read (or this request's check) and this statement is never overwritten."""
    done = session.execute(
        sa.update(model).where(model.id == key, model.row_version == expected).values(**values)
    )
    if done.rowcount != 1:  # type: ignore[attr-defined]
        raise stale(model.__name__, str(key), expected)


def _version(session: Session, model: Any, key: int) -> int:
    return int(session.scalar(select(model.row_version).where(model.id == key)) or 1)


def _received(session: Session, resource_type: str, key: int, version: int, resource: dict[str, Any]) -> None:
    """What the update sent replaces what was received before (one kept per row)."""
    session.execute(
        sa.delete(FhirReceived).where(
            FhirReceived.resource_type == resource_type, FhirReceived.local_id == str(key)
        )
    )
    keep_received(session, resource_type, [(str(key), resource)], version)


def update_patient(
    session: Session, context: Context, key: int, expected: int, resource: dict[str, Any]
) -> Updated:
    """The resident's record from the Patient, by the rules of a create (write_patient). The ID
    number is the record's key and stays; a real number's birth date and sex stay the number's."""
    check_may_register(context.actor)  # who may register residents may correct them
    resident = session.get(Resident, key)
    if resident is None:
        raise FhirError(404, "not-found", f"Patient/{key} does not exist or is not visible to you")
    if resident.status == "merged":
        raise FhirError(
            422,
            "business-rule",
            f"Patient/{key} was merged into Patient/{resident.merged_into_id}: update that one",
        )
    identifiers = [
        (str(i.get("system", "")), str(i.get("value", "")))
        for i in resource.get("identifier") or []
        if i.get("value")
    ]
    card = next((v for s, v in identifiers if s in ID_CARD_SYSTEMS), None)
    if card is not None and card.upper() != resident.id_number.upper():
        raise FhirError(
            422,
            "business-rule",
            "Patient.identifier: the resident ID number is the record's key and is not changed by an update "
            "(register the person with their number, then merge the records on screen)",
            ["Patient.identifier"],
        )
    derived = (
        session.scalar(
            select(ResidentIdentifier.id).where(
                ResidentIdentifier.resident_id == key,
                ResidentIdentifier.system == DERIVED_ID_SYSTEM,
                ResidentIdentifier.value == resident.id_number,
            )
        )
        is not None
    )
    notes: list[dict[str, Any]] = []
    values: dict[str, Any] = {"name": human_name(resource)}
    born = partial_date(resource.get("birthDate")) if resource.get("birthDate") else None
    sex = mapping.SEX.get(str(resource.get("gender")), UNKNOWN_SEX)
    if derived:  # the platform's number was made from what was sent: what is sent now holds
        if born is not None:
            values["birth_date"] = born
        values["sex"] = sex
    elif (born is not None and born != resident.birth_date) or sex != resident.sex:
        notes.append(
            issue(
                "warning",
                "informational",
                "Patient.gender and Patient.birthDate are kept and served as sent; the resident's record "
                "holds the sex and birth date of the resident ID number",
                ["Patient.birthDate"],
            )
        )
    telecom = next(
        (t.get("value") for t in resource.get("telecom") or [] if t.get("system") == "phone"), None
    )
    values["phone"] = str(telecom)[:20] if telecom else None
    address = (resource.get("address") or [{}])[0]
    values["address"] = (
        " ".join(address.get("line") or []) + (f" {address.get('city', '')}" if address.get("city") else "")
    ) or None
    if resident.status in ("active", "deceased"):
        deceased = bool(resource.get("deceasedDateTime") or resource.get("deceasedBoolean"))
        values["status"] = "deceased" if deceased else "active"
    values["updated_at"] = context.now
    _changed(session, Resident, key, expected, values)
    # Identifiers not held yet are added (none is taken away: another system's may still match on
    # it); one another record holds stays with that record, as in a create.
    wanted = [
        (s[:200], v[:100])
        for s, v in dict.fromkeys(identifiers)
        if s not in (*ID_CARD_SYSTEMS, HEALTH_CARD_SYSTEM, DERIVED_ID_SYSTEM)
    ]
    if wanted:
        taken = {
            (system, value)
            for system, value in session.execute(
                select(ResidentIdentifier.system, ResidentIdentifier.value).where(
                    tuple_(ResidentIdentifier.system, ResidentIdentifier.value).in_(wanted)
                )
            )
        }
        new = [{"resident_id": key, "system": s, "value": v} for s, v in wanted if (s, v) not in taken]
        if new:
            session.execute(insert(ResidentIdentifier), new)
    context.written(key, "resident", key)
    version = _version(session, Resident, key)
    _received(session, "Patient", key, version, resource)
    return Updated(version, notes)


def update_observation(
    session: Session, context: Context, key: int, expected: int, resource: dict[str, Any]
) -> Updated:
    """The observation's row from the Observation, by the projection of a create: its Patient is
    one the writer reads."""
    values = observation_values(session, context, rewrite(session, context, resource))
    received, notes = values.pop(RECEIVED), values.pop(NOTES)
    _changed(session, ClinicalObservation, key, expected, values)
    context.written(values["resident_id"], "observation", key)
    version = _version(session, ClinicalObservation, key)
    _received(session, "Observation", key, version, received)
    return Updated(version, notes)


UPDATERS = {"Patient": update_patient, "Observation": update_observation}


def update(
    session: Session,
    context: Context,
    resource_type: str,
    ident: str,
    expected: int,
    resource: dict[str, Any],
) -> Updated:
    """Project an updated resource (validated, its id the URL's, its row read by the writer at
    version `expected`) onto the platform's row; the audit is the caller's (`context.audit`)."""
    check_writer(context.actor)
    key = row_key(ident)
    if key is None:
        raise FhirError(404, "not-found", f"{resource_type}/{ident} does not exist or is not visible to you")
    return UPDATERS[resource_type](session, context, key, expected, resource)
