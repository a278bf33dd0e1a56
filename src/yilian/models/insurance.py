"""Medical-insurance data: claims (fund payments), DRG grouping results, payment standards, settlements."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from yilian.kit.db import Base, Versioned


class Claim(Versioned, Base):
    """One fund settlement (结算单) of the medical-insurance bureau; at most one per encounter."""

    __tablename__ = "claim"
    __table_args__ = (
        # Covers the settlement's one aggregate: a county-year of claims without touching the table.
        Index(
            "ix_claim_region_settled",
            "insured_region_code",
            "settled_on",
            "institution_id",
            "out_of_county",
            "fund_fen",
        ),
        UniqueConstraint("encounter_id", name="uq_claim_encounter"),
    )

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    claim_no: Mapped[str] = mapped_column(String(40), unique=True)
    encounter_id: Mapped[int | None] = mapped_column(ForeignKey("encounter.id"))
    resident_id: Mapped[int] = mapped_column(ForeignKey("resident.id"), index=True)
    # 参保地: the county whose fund pays (GB/T 2260 code); settlement counts its insured.
    insured_region_code: Mapped[str] = mapped_column(String(12))
    # The paying institution on the platform; None for a provider outside it (out of county).
    institution_id: Mapped[int | None] = mapped_column(ForeignKey("institution.id"))
    provider_name: Mapped[str | None] = mapped_column(String(128))
    kind: Mapped[str] = mapped_column(String(12))  # outpatient | inpatient
    settled_on: Mapped[date]
    total_fen: Mapped[int] = mapped_column(BigInteger)
    fund_fen: Mapped[int] = mapped_column(BigInteger)
    out_of_county: Mapped[bool] = mapped_column(default=False)


class ClaimSummary(Base):
    """Fund payments per insured county, month, paying institution and place: what settlement reads.

    A county-year is 1.5 million claims and a few thousand summary rows. Every write path (claims
    import, claims made from encounters) rebuilds the months it touched with one INSERT … SELECT.
    """

    __tablename__ = "claim_summary"
    __table_args__ = (Index("ix_claim_summary_region_month", "insured_region_code", "month"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    insured_region_code: Mapped[str] = mapped_column(String(12))
    month: Mapped[str] = mapped_column(String(7))  # YYYY-MM of settled_on
    institution_id: Mapped[int | None] = mapped_column(ForeignKey("institution.id"))
    out_of_county: Mapped[bool]
    kind: Mapped[str] = mapped_column(String(12))
    claims: Mapped[int] = mapped_column(BigInteger)
    total_fen: Mapped[int] = mapped_column(BigInteger)
    fund_fen: Mapped[int] = mapped_column(BigInteger)


class DrgGrouping(Base):
    """The DRG an inpatient encounter was grouped into at discharge, under a named scheme."""

    __tablename__ = "drg_grouping"
    __table_args__ = (Index("ix_drg_grouping_drg", "scheme", "drg"),)

    encounter_id: Mapped[int] = mapped_column(
        ForeignKey("encounter.id", ondelete="CASCADE"), primary_key=True
    )
    scheme: Mapped[str] = mapped_column(String(64))
    status_key: Mapped[str] = mapped_column(String(20))
    mdc: Mapped[str] = mapped_column(String(4))
    adrg: Mapped[str] = mapped_column(String(3))
    drg: Mapped[str] = mapped_column(String(4))
    grouped_at: Mapped[datetime]


class DrgStandard(Base):
    """A DRG's payment standard for a year: base-year cases after trimming and the outlier limits."""

    __tablename__ = "drg_standard"
    __table_args__ = (UniqueConstraint("year", "scheme", "drg"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    year: Mapped[int]
    scheme: Mapped[str] = mapped_column(String(64))
    drg: Mapped[str] = mapped_column(String(4))
    cases: Mapped[int]
    trimmed_cases: Mapped[int]
    trimmed_sum_fen: Mapped[int] = mapped_column(BigInteger)
    high_limit_fen: Mapped[int] = mapped_column(BigInteger)
    low_limit_fen: Mapped[int] = mapped_column(BigInteger)


class Settlement(Base):
    """A saved year-end settlement: the terms and every figure, written in one transaction."""

    __tablename__ = "settlement"

    id: Mapped[int] = mapped_column(primary_key=True)
    consortium_id: Mapped[int] = mapped_column(ForeignKey("consortium.id"), index=True)
    year: Mapped[int]
    terms_json: Mapped[str] = mapped_column(Text)
    result_json: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime]
    created_by: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
