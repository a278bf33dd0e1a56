"""Shared diagnostic centres: orders read at the county, DICOM studies, reports and critical values,
mutual recognition of results with lab quality control, and teleconsultation."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from yilian.kit.db import Base, Versioned


class DiagnosticCentre(Base):
    """An open, shared centre (影像/心电/超声/病理/检验) hosted by one member and serving a list of members."""

    __tablename__ = "diagnostic_centre"

    id: Mapped[int] = mapped_column(primary_key=True)
    consortium_id: Mapped[int] = mapped_column(ForeignKey("consortium.id"), index=True)
    host_institution_id: Mapped[int] = mapped_column(ForeignKey("institution.id"))
    kind: Mapped[str] = mapped_column(String(12))  # imaging | ecg | ultrasound | pathology | laboratory
    name: Mapped[str] = mapped_column(String(64))
    is_active: Mapped[bool] = mapped_column(default=True)


class CentreMember(Base):
    __tablename__ = "centre_member"
    __table_args__ = (UniqueConstraint("centre_id", "institution_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    centre_id: Mapped[int] = mapped_column(ForeignKey("diagnostic_centre.id", ondelete="CASCADE"))
    institution_id: Mapped[int] = mapped_column(ForeignKey("institution.id"), index=True)


class CentreModality(Base):
    """What a centre reads and the turnaround it promises (acquired → reported), per modality."""

    __tablename__ = "centre_modality"
    __table_args__ = (UniqueConstraint("centre_id", "modality"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    centre_id: Mapped[int] = mapped_column(ForeignKey("diagnostic_centre.id", ondelete="CASCADE"))
    modality: Mapped[str] = mapped_column(String(8))
    target_minutes: Mapped[int]


class Equipment(Base):
    """A device at an institution: whether a township can take X-rays or a station an ECG is read here."""

    __tablename__ = "equipment"

    id: Mapped[int] = mapped_column(primary_key=True)
    institution_id: Mapped[int] = mapped_column(ForeignKey("institution.id"), index=True)
    modality: Mapped[str] = mapped_column(String(8))
    name: Mapped[str] = mapped_column(String(64))
    installed_on: Mapped[date]
    is_active: Mapped[bool] = mapped_column(default=True)


class ExamOrder(Versioned, Base):
    __tablename__ = "exam_order"
    __table_args__ = (
        Index("ix_exam_order_worklist", "centre_id", "status", "priority", "ordered_at"),
        Index("ix_exam_order_ordering", "ordering_institution_id", "ordered_at"),
        Index("ix_exam_order_resident_item", "resident_id", "item_code"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    accession_number: Mapped[str] = mapped_column(String(16), unique=True)
    resident_id: Mapped[int] = mapped_column(ForeignKey("resident.id"))
    ordering_institution_id: Mapped[int] = mapped_column(ForeignKey("institution.id"))
    ordering_user_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    centre_id: Mapped[int] = mapped_column(ForeignKey("diagnostic_centre.id"))
    item_code: Mapped[str] = mapped_column(String(32))
    item_name: Mapped[str] = mapped_column(String(64))
    modality: Mapped[str] = mapped_column(String(8))
    body_part: Mapped[str | None] = mapped_column(String(32))
    clinical_note: Mapped[str] = mapped_column(Text, default="")
    priority: Mapped[int]  # 0 critical, 1 signed or chronic patient, 2 routine
    status: Mapped[str] = mapped_column(String(10))
    price_fen: Mapped[int] = mapped_column(default=0)
    repeat_reason: Mapped[str | None] = mapped_column(Text)  # ordered again despite a recognised result
    ordered_at: Mapped[datetime]
    acquired_at: Mapped[datetime | None]
    received_at: Mapped[datetime | None]
    reported_at: Mapped[datetime | None]
    report_read_at: Mapped[datetime | None]
    cancelled_at: Mapped[datetime | None]


class ExamOrderEvent(Base):
    __tablename__ = "exam_order_event"

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("exam_order.id", ondelete="CASCADE"), index=True)
    at: Mapped[datetime]
    from_status: Mapped[str | None] = mapped_column(String(10))
    to_status: Mapped[str] = mapped_column(String(10))
    user_id: Mapped[int | None]
    note: Mapped[str | None] = mapped_column(Text)


class ExamReport(Versioned, Base):
    __tablename__ = "exam_report"

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("exam_order.id"), unique=True)
    reader_user_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    reader_institution_id: Mapped[int] = mapped_column(ForeignKey("institution.id"))
    findings: Mapped[str] = mapped_column(Text)
    impression: Mapped[str] = mapped_column(Text)
    is_critical: Mapped[bool] = mapped_column(default=False)
    critical_note: Mapped[str | None] = mapped_column(Text)
    reported_at: Mapped[datetime]


class EcgMeasurement(Base):
    """The cart's measurements, kept as numbers so they can be read, compared and charted."""

    __tablename__ = "ecg_measurement"

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("exam_order.id"), unique=True)
    heart_rate: Mapped[int]
    pr_ms: Mapped[int | None]
    qrs_ms: Mapped[int]
    qt_ms: Mapped[int]
    qtc_ms: Mapped[int]
    rhythm: Mapped[str] = mapped_column(String(32), default="")
    source_file: Mapped[str] = mapped_column(String(200), default="")


class CriticalAlert(Base):
    """A critical value (危急值) pushed to the ordering doctor; its acknowledgement closes the loop."""

    __tablename__ = "critical_alert"
    __table_args__ = (Index("ix_critical_alert_open", "institution_id", "acknowledged_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("exam_order.id"), unique=True)
    institution_id: Mapped[int] = mapped_column(ForeignKey("institution.id"))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    message: Mapped[str] = mapped_column(Text)
    raised_at: Mapped[datetime]
    acknowledged_at: Mapped[datetime | None]
    acknowledged_by: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    action_taken: Mapped[str | None] = mapped_column(Text)


class ImagingStudy(Versioned, Base):
    __tablename__ = "imaging_study"

    id: Mapped[int] = mapped_column(primary_key=True)
    study_uid: Mapped[str] = mapped_column(String(64), unique=True)
    order_id: Mapped[int | None] = mapped_column(ForeignKey("exam_order.id"), index=True)
    resident_id: Mapped[int] = mapped_column(ForeignKey("resident.id"), index=True)
    accession_number: Mapped[str | None] = mapped_column(String(16))
    patient_id: Mapped[str] = mapped_column(String(64))
    modality: Mapped[str] = mapped_column(String(8))
    study_at: Mapped[datetime | None]
    description: Mapped[str] = mapped_column(String(64), default="")
    source_institution: Mapped[str] = mapped_column(String(64), default="")
    orthanc_id: Mapped[str | None] = mapped_column(String(64))
    received_at: Mapped[datetime]


class ImagingSeries(Base):
    __tablename__ = "imaging_series"

    id: Mapped[int] = mapped_column(primary_key=True)
    study_id: Mapped[int] = mapped_column(ForeignKey("imaging_study.id", ondelete="CASCADE"), index=True)
    series_uid: Mapped[str] = mapped_column(String(64), unique=True)
    modality: Mapped[str] = mapped_column(String(8))
    number: Mapped[int | None]
    description: Mapped[str] = mapped_column(String(64), default="")
    body_part: Mapped[str] = mapped_column(String(32), default="")


class ImagingInstance(Base):
    __tablename__ = "imaging_instance"

    id: Mapped[int] = mapped_column(primary_key=True)
    series_id: Mapped[int] = mapped_column(ForeignKey("imaging_series.id", ondelete="CASCADE"), index=True)
    sop_uid: Mapped[str] = mapped_column(String(64), unique=True)
    sop_class_uid: Mapped[str] = mapped_column(String(64))
    number: Mapped[int | None]
    path: Mapped[str] = mapped_column(String(300))  # under the DICOM store
    size_bytes: Mapped[int]


class DicomQuarantine(Base):
    """A file that could not be filed: kept, with why, until a person resolves it."""

    __tablename__ = "dicom_quarantine"

    id: Mapped[int] = mapped_column(primary_key=True)
    path: Mapped[str] = mapped_column(String(300))
    original_name: Mapped[str] = mapped_column(String(200))
    reason_zh: Mapped[str] = mapped_column(Text)
    reason_en: Mapped[str] = mapped_column(Text)
    patient_id: Mapped[str | None] = mapped_column(String(64))
    study_uid: Mapped[str | None] = mapped_column(String(64))
    accession_number: Mapped[str | None] = mapped_column(String(16))
    received_at: Mapped[datetime]
    received_by: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    resolved_at: Mapped[datetime | None]
    resolved_by: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    resolution: Mapped[str | None] = mapped_column(Text)


class RecognitionItem(Base):
    """An item of the consortium's mutual-recognition catalogue (检查检验结果互认目录)."""

    __tablename__ = "recognition_item"
    __table_args__ = (UniqueConstraint("consortium_id", "code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    consortium_id: Mapped[int] = mapped_column(ForeignKey("consortium.id"))
    code: Mapped[str] = mapped_column(String(32))
    name: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(12))  # the centre kind that produces it
    modality: Mapped[str] = mapped_column(String(8))
    validity_days: Mapped[int]
    requires_qc: Mapped[bool] = mapped_column(default=True)
    price_fen: Mapped[int]
    effective_from: Mapped[date]
    effective_until: Mapped[date | None]


class RecognitionEvent(Base):
    """What happened when an order met a recognised result: reused (a repeat avoided) or repeated with a reason."""

    __tablename__ = "recognition_event"
    __table_args__ = (Index("ix_recognition_event_institution_at", "institution_id", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    resident_id: Mapped[int] = mapped_column(ForeignKey("resident.id"), index=True)
    item_code: Mapped[str] = mapped_column(String(32))
    prior_order_id: Mapped[int] = mapped_column(ForeignKey("exam_order.id"))
    order_id: Mapped[int | None] = mapped_column(ForeignKey("exam_order.id"))
    outcome: Mapped[str] = mapped_column(String(8))  # reused | repeated
    reason: Mapped[str | None] = mapped_column(Text)
    price_fen: Mapped[int]
    institution_id: Mapped[int] = mapped_column(ForeignKey("institution.id"))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    at: Mapped[datetime]


class QcRecord(Base):
    """Internal quality control (室内质控) or external quality assessment (室间质评) of a lab."""

    __tablename__ = "qc_record"
    __table_args__ = (Index("ix_qc_record_institution_checked", "institution_id", "checked_on"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    institution_id: Mapped[int] = mapped_column(ForeignKey("institution.id"))
    item_code: Mapped[str | None] = mapped_column(String(32))  # None: every item of the lab
    kind: Mapped[str] = mapped_column(String(8))  # internal | external
    checked_on: Mapped[date]
    valid_until: Mapped[date]
    passed: Mapped[bool]
    score: Mapped[float | None]
    note: Mapped[str] = mapped_column(Text, default="")
    recorded_by: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    recorded_at: Mapped[datetime]


class RemoteSpecialty(Base):
    __tablename__ = "remote_specialty"
    __table_args__ = (UniqueConstraint("institution_id", "specialty"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    institution_id: Mapped[int] = mapped_column(ForeignKey("institution.id"))
    specialty: Mapped[str] = mapped_column(String(32))
    is_active: Mapped[bool] = mapped_column(default=True)


class Teleconsult(Base):
    """远程会诊 / 远程门诊: request → accept → schedule → opinion → rating."""

    __tablename__ = "teleconsult"
    __table_args__ = (
        Index("ix_teleconsult_consultant_status", "consultant_institution_id", "status"),
        Index("ix_teleconsult_requesting", "requesting_institution_id", "requested_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    resident_id: Mapped[int] = mapped_column(ForeignKey("resident.id"), index=True)
    kind: Mapped[str] = mapped_column(String(8))  # consult | clinic
    requesting_institution_id: Mapped[int] = mapped_column(ForeignKey("institution.id"))
    requested_by: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    consultant_institution_id: Mapped[int] = mapped_column(ForeignKey("institution.id"))
    specialty: Mapped[str] = mapped_column(String(32))
    question: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(10))
    requested_at: Mapped[datetime]
    accepted_at: Mapped[datetime | None]
    scheduled_for: Mapped[datetime | None]
    opinion: Mapped[str | None] = mapped_column(Text)
    opinion_by: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    opinion_at: Mapped[datetime | None]
    rating: Mapped[int | None]
    rating_note: Mapped[str | None] = mapped_column(Text)
    closed_at: Mapped[datetime | None]
