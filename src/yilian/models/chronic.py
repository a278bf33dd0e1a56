"""Chronic-disease registers, visits with measurements, risk assessments, prescriptions, drugs."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import BigInteger, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from yilian.kit.db import Base, Versioned


class ChronicRegister(Versioned, Base):
    """A resident on the hypertension, diabetes or hyperlipidaemia register, with the current plan."""

    __tablename__ = "chronic_register"
    __table_args__ = (
        UniqueConstraint("resident_id", "disease"),
        Index("ix_chronic_register_due", "disease", "next_due_on"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    resident_id: Mapped[int] = mapped_column(ForeignKey("resident.id"), index=True)
    disease: Mapped[str] = mapped_column(String(16))  # hypertension | diabetes | hyperlipidaemia
    source: Mapped[str] = mapped_column(String(12))  # diagnosis | screening | manual
    registered_on: Mapped[date]
    # The current assessment (history in risk_assessment): level low|medium|high, colour green|yellow|red.
    risk_level: Mapped[str | None] = mapped_column(String(8))
    colour: Mapped[str | None] = mapped_column(String(8), index=True)
    assessed_on: Mapped[date | None]
    next_due_on: Mapped[date | None]
    responsible_role: Mapped[str | None] = mapped_column(String(8))
    last_visit_on: Mapped[date | None]
    controlled: Mapped[bool | None]


class ChronicVisit(Base):
    """A follow-up or a health check with its measurements."""

    __tablename__ = "chronic_visit"
    __table_args__ = (Index("ix_chronic_visit_resident_on", "resident_id", "visited_on"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    resident_id: Mapped[int] = mapped_column(ForeignKey("resident.id"))
    kind: Mapped[str] = mapped_column(String(12))  # follow_up | health_check
    disease: Mapped[str | None] = mapped_column(String(16))
    visited_on: Mapped[date]
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"), index=True)
    institution_id: Mapped[int] = mapped_column(ForeignKey("institution.id"))
    sbp: Mapped[int | None]
    dbp: Mapped[int | None]
    heart_rate: Mapped[int | None]
    fasting_glucose: Mapped[float | None]  # mmol/L
    hba1c: Mapped[float | None]  # %
    total_cholesterol: Mapped[float | None]  # mmol/L
    ldl: Mapped[float | None]  # mmol/L
    weight_kg: Mapped[float | None]
    height_cm: Mapped[float | None]
    smoker: Mapped[bool | None]
    adherence: Mapped[str | None] = mapped_column(String(8))  # 规律 | 间断 | 不服药
    note: Mapped[str | None] = mapped_column(Text)
    recorded_at: Mapped[datetime]
    # The national follow-up record (高血压/2型糖尿病患者随访服务记录表): way 门诊|家庭|电话, this visit's
    # classification 控制满意|控制不满意|不良反应|并发症, the next date the doctor set, the rest as JSON.
    way: Mapped[str | None] = mapped_column(String(4))
    visit_class: Mapped[str | None] = mapped_column(String(8))
    next_visit_on: Mapped[date | None]
    form_json: Mapped[str | None] = mapped_column(Text)


class RiskRuleSet(Base):
    """A versioned rule table (data, not code) with the publication it comes from."""

    __tablename__ = "risk_rule_set"
    __table_args__ = (UniqueConstraint("code", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32))
    version: Mapped[str] = mapped_column(String(16))
    disease: Mapped[str] = mapped_column(String(16))
    source: Mapped[str] = mapped_column(String(200))
    rules_json: Mapped[str] = mapped_column(Text)
    is_active: Mapped[bool] = mapped_column(default=True)


class RiskAssessment(Base):
    __tablename__ = "risk_assessment"
    __table_args__ = (Index("ix_risk_assessment_resident", "resident_id", "disease", "assessed_on"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    resident_id: Mapped[int] = mapped_column(ForeignKey("resident.id"))
    disease: Mapped[str] = mapped_column(String(16))
    rule_set_id: Mapped[int] = mapped_column(ForeignKey("risk_rule_set.id"))
    rule_id: Mapped[str] = mapped_column(String(32))
    level: Mapped[str] = mapped_column(String(8))
    colour: Mapped[str] = mapped_column(String(8))
    explanation: Mapped[str] = mapped_column(Text)
    assessed_on: Mapped[date]


class Drug(Base):
    """The consortium's unified catalogue (五统一: one list for county, township and village)."""

    __tablename__ = "drug"
    __table_args__ = (UniqueConstraint("consortium_id", "code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    consortium_id: Mapped[int] = mapped_column(ForeignKey("consortium.id"), index=True)
    code: Mapped[str] = mapped_column(String(32))
    name: Mapped[str] = mapped_column(String(64))
    specification: Mapped[str] = mapped_column(String(64))
    unit: Mapped[str] = mapped_column(String(8))
    price_fen: Mapped[int] = mapped_column(BigInteger)
    is_vbp: Mapped[bool] = mapped_column(default=False)  # 国家集采中选


class Prescription(Base):
    __tablename__ = "prescription"

    id: Mapped[int] = mapped_column(primary_key=True)
    resident_id: Mapped[int] = mapped_column(ForeignKey("resident.id"), index=True)
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    institution_id: Mapped[int] = mapped_column(ForeignKey("institution.id"))
    prescribed_on: Mapped[date]
    days: Mapped[int]
    is_long: Mapped[bool]
    diagnosis: Mapped[str] = mapped_column(String(16))


class PrescriptionItem(Base):
    __tablename__ = "prescription_item"

    id: Mapped[int] = mapped_column(primary_key=True)
    prescription_id: Mapped[int] = mapped_column(
        ForeignKey("prescription.id", ondelete="CASCADE"), index=True
    )
    drug_id: Mapped[int] = mapped_column(ForeignKey("drug.id"))
    daily_dose: Mapped[float]
    quantity: Mapped[int]
