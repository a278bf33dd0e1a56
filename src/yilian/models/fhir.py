"""What FHIR brings that the platform's own tables do not model: observations (vital signs,
glucose, lab values), residents' identifiers from other systems, and the resources kept as FHIR
(conditions, immunizations, other systems' claims and reports …)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from yilian.kit.db import Base, Versioned


class ClinicalObservation(Versioned, Base):
    """One measurement of a resident (FHIR Observation), as numbers where it is a number."""

    __tablename__ = "clinical_observation"
    __table_args__ = (Index("ix_clinical_observation_resident_effective", "resident_id", "effective_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    resident_id: Mapped[int] = mapped_column(ForeignKey("resident.id"))
    encounter_id: Mapped[int | None] = mapped_column(ForeignKey("encounter.id"))
    status: Mapped[str] = mapped_column(String(16))
    category: Mapped[str] = mapped_column(String(32), default="")
    code_system: Mapped[str] = mapped_column(String(100))
    code: Mapped[str] = mapped_column(String(64), index=True)
    display: Mapped[str] = mapped_column(String(200), default="")
    value_num: Mapped[float | None]
    value_text: Mapped[str | None] = mapped_column(String(200))
    unit: Mapped[str | None] = mapped_column(String(32))
    components_json: Mapped[str | None] = mapped_column(Text)  # blood pressure's systolic and diastolic
    effective_at: Mapped[datetime]
    recorded_at: Mapped[datetime]


class ResidentIdentifier(Base):
    """A resident's number in another system (a hospital's MRN, Synthea's id …) for FHIR identifier search."""

    __tablename__ = "resident_identifier"
    __table_args__ = (UniqueConstraint("system", "value"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    resident_id: Mapped[int] = mapped_column(ForeignKey("resident.id"), index=True)
    system: Mapped[str] = mapped_column(String(200))
    value: Mapped[str] = mapped_column(String(100))


class FhirResource(Versioned, Base):
    """A resource kept as FHIR JSON, with the columns searches need."""

    __tablename__ = "fhir_resource"
    __table_args__ = (
        Index("ix_fhir_resource_type_resident_date", "resource_type", "resident_id", "date_at"),
        Index("ix_fhir_resource_type_identifier", "resource_type", "identifier"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    resource_type: Mapped[str] = mapped_column(String(40))
    resident_id: Mapped[int | None] = mapped_column(ForeignKey("resident.id"))
    status: Mapped[str | None] = mapped_column(String(32))
    date_at: Mapped[datetime | None]
    code: Mapped[str | None] = mapped_column(String(64))
    identifier: Mapped[str | None] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime]
    created_by: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))


class FhirSource(Base):
    """A resource another system sent, by its id there, and the row it became here: a folder or
    Bundle imported again matches these and adds nothing. Kept per writer (`owner`: the account's
    institution, consortium or county), so a match never tells one writer what another sent."""

    __tablename__ = "fhir_source"
    __table_args__ = (UniqueConstraint("owner", "resource_type", "source_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    owner: Mapped[str] = mapped_column(String(40))
    resource_type: Mapped[str] = mapped_column(String(40))
    source_id: Mapped[str] = mapped_column(String(200))  # meta.source#id, or the id / urn:uuid
    local_id: Mapped[str] = mapped_column(String(40))  # "12" or "s34", as the resource is served


class FhirReceived(Base):
    """A projected resource (a Patient that became a resident, an Observation that became a clinical
    observation) as it was sent, references rewritten to local ids: served back as sent — names,
    addresses, telecom `use`, maritalStatus, communication, extensions, a partial birthDate, gender
    `unknown`, an Observation without effective[x] — while the row still is the version it was
    projected into (`row_version`); once the platform changes the row, the row is what is served."""

    __tablename__ = "fhir_received"
    __table_args__ = (UniqueConstraint("resource_type", "local_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    resource_type: Mapped[str] = mapped_column(String(40))
    local_id: Mapped[str] = mapped_column(String(40))
    row_version: Mapped[int]
    body: Mapped[str] = mapped_column(Text)


class FhirExport(Base):
    """A bulk export ($export) asked for by an account: its state, and the files it wrote (under
    `fhir_export_dir`/`job`/, names the server made). Only the account that asked may see it."""

    __tablename__ = "fhir_export"

    id: Mapped[int] = mapped_column(primary_key=True)
    job: Mapped[str] = mapped_column(String(32), unique=True)  # random hex, the id in its URLs
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id"), index=True)
    level: Mapped[str] = mapped_column(String(16))  # system | patient
    types: Mapped[str] = mapped_column(String(400))  # comma-separated resource types
    since: Mapped[datetime | None]
    request_url: Mapped[str] = mapped_column(String(1000))
    status: Mapped[str] = mapped_column(String(16))  # in-progress | completed | failed | cancelled
    progress: Mapped[str] = mapped_column(String(200), default="")
    output_json: Mapped[str] = mapped_column(Text, default="[]")  # [{type, file, count}]
    error: Mapped[str | None] = mapped_column(Text)
    requested_at: Mapped[datetime]
    finished_at: Mapped[datetime | None]
    # The server process that runs it (host:pid:life token) and its last sign of life: a job whose
    # process is gone is failed on its status read (decision 0036), not in progress for ever.
    worker: Mapped[str | None] = mapped_column(String(120))
    heartbeat_at: Mapped[datetime | None]
