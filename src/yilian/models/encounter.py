"""Outpatient and inpatient encounters: the raw material for referral, settlement and indicators."""

from __future__ import annotations

from datetime import date

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from yilian.kit.db import Base, Versioned


class Encounter(Versioned, Base):
    __tablename__ = "encounter"
    __table_args__ = (
        Index("ix_encounter_institution_start", "institution_id", "start_date"),
        Index("ix_encounter_resident_start", "resident_id", "start_date"),
    )

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    resident_id: Mapped[int] = mapped_column(ForeignKey("resident.id"))
    institution_id: Mapped[int] = mapped_column(ForeignKey("institution.id"))
    department_id: Mapped[int | None] = mapped_column(ForeignKey("department.id"))
    kind: Mapped[str] = mapped_column(String(12))  # outpatient | inpatient
    start_date: Mapped[date]
    end_date: Mapped[date | None]  # discharge date for inpatients
    # Money in fen (1/100 yuan), integers: exact sums on every engine.
    total_fen: Mapped[int] = mapped_column(BigInteger)
    fund_fen: Mapped[int] = mapped_column(BigInteger)
    out_of_county: Mapped[bool] = mapped_column(default=False)
    leaving_type: Mapped[str | None] = mapped_column(String(2))


class EncounterDiagnosis(Base):
    """ICD-10 diagnoses of an encounter; seq 0 is the principal diagnosis."""

    __tablename__ = "encounter_diagnosis"

    encounter_id: Mapped[int] = mapped_column(
        ForeignKey("encounter.id", ondelete="CASCADE"), primary_key=True
    )
    seq: Mapped[int] = mapped_column(primary_key=True)
    icd10_code: Mapped[str] = mapped_column(String(16), index=True)


class EncounterProcedure(Base):
    """ICD-9-CM-3 procedures of an encounter; seq 0 is the main procedure (DRG grouping reads it)."""

    __tablename__ = "encounter_procedure"

    encounter_id: Mapped[int] = mapped_column(
        ForeignKey("encounter.id", ondelete="CASCADE"), primary_key=True
    )
    seq: Mapped[int] = mapped_column(primary_key=True)
    icd9_code: Mapped[str] = mapped_column(String(20))


class VisitSummary(Base):
    """Visits and money per month, institution and residents' county: what dashboards read.

    Kept exact: recording an encounter increments its row; bulk loads and merges rebuild the
    months they touch with one INSERT … SELECT … GROUP BY.
    """

    __tablename__ = "visit_summary"
    __table_args__ = (
        UniqueConstraint("month", "institution_id", "resident_region_code", "kind", "out_of_county"),
        Index("ix_visit_summary_region_month", "resident_region_code", "month"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    month: Mapped[str] = mapped_column(String(7))  # YYYY-MM
    institution_id: Mapped[int] = mapped_column(ForeignKey("institution.id"), index=True)
    resident_region_code: Mapped[str] = mapped_column(String(6))
    kind: Mapped[str] = mapped_column(String(12))
    out_of_county: Mapped[bool]
    visits: Mapped[int] = mapped_column(BigInteger)
    total_fen: Mapped[int] = mapped_column(BigInteger)
    fund_fen: Mapped[int] = mapped_column(BigInteger)


class CareRelation(Base):
    """The institutions a resident has been seen at, and how many encounters each: the privacy
    scope's "cared for here" test (auth.scoping) as one probe of this primary key, instead of a
    search through the resident's encounters (decision 0017).

    Kept exact by the database itself: triggers on `encounter` (migration 0015) count every insert,
    move, and delete, however the encounter was written — the API, an import, a FHIR bundle, a bulk
    COPY, a merge of two records. Nothing in the application writes it.
    """

    __tablename__ = "care_relation"

    institution_id: Mapped[int] = mapped_column(ForeignKey("institution.id"), primary_key=True)
    resident_id: Mapped[int] = mapped_column(ForeignKey("resident.id"), primary_key=True)
    encounters: Mapped[int] = mapped_column(BigInteger)
