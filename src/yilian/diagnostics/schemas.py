"""Pydantic shapes of the shared diagnostic centres."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel, Field

from yilian.kit.fields import Day, Id, Moment


class CentreIn(BaseModel):
    name: str = Field(min_length=2, max_length=64)
    kind: str = Field(pattern="^(imaging|ecg|ultrasound|pathology|laboratory)$")
    host_institution_id: Id
    member_institution_ids: list[Id] = Field(min_length=1)
    turnaround_minutes: dict[str, int] = Field(
        description="target minutes from acquisition to report, per modality read here (e.g. DX: 120)"
    )


class CentreOut(BaseModel):
    id: int
    name: str
    kind: str
    host_institution_id: int
    member_institution_ids: list[int]
    turnaround_minutes: dict[str, int]


class OrderIn(BaseModel):
    resident_id: Id
    item_code: str = Field(min_length=1, max_length=32)
    item_name: str | None = Field(default=None, max_length=64, description="items outside the catalogue")
    modality: str | None = Field(default=None, max_length=8, description="items outside the catalogue")
    centre_id: Id | None = Field(default=None, description="default: the centre serving the orderer")
    body_part: str | None = Field(default=None, max_length=32)
    clinical_note: str = Field(default="", max_length=2000)
    urgent: bool = False
    repeat_reason: str | None = Field(
        default=None, max_length=500, description="required to repeat an exam that has a recognised result"
    )


class ReportIn(BaseModel):
    findings: str = Field(min_length=2, max_length=8000)
    impression: str = Field(min_length=2, max_length=2000)
    is_critical: bool = False
    critical_note: str | None = Field(default=None, max_length=500)


class AcknowledgeIn(BaseModel):
    action_taken: str = Field(min_length=2, max_length=500)


class EcgOut(BaseModel):
    heart_rate: int
    pr_ms: int | None
    qrs_ms: int
    qt_ms: int
    qtc_ms: int
    rhythm: str


class StudyOut(BaseModel):
    study_uid: str
    modality: str
    study_at: datetime | None
    description: str
    series: int
    instances: int
    orthanc_id: str | None


class ReportOut(BaseModel):
    findings: str
    impression: str
    is_critical: bool
    critical_note: str | None
    reported_at: datetime
    reader_user_id: int | None


class AlertOut(BaseModel):
    id: int
    order_id: int
    message: str
    raised_at: datetime
    acknowledged_at: datetime | None
    action_taken: str | None
    resident_id: int | None = None
    resident_name: str | None = None
    item_name: str | None = None


class OrderOut(BaseModel):
    id: int
    accession_number: str
    resident_id: int
    resident_name: str
    ordering_institution_id: int
    centre_id: int
    item_code: str
    item_name: str
    modality: str
    body_part: str | None
    clinical_note: str
    priority: int
    priority_label: str
    status: str
    status_label: str
    price_fen: int
    repeat_reason: str | None
    ordered_at: datetime
    acquired_at: datetime | None
    received_at: datetime | None
    reported_at: datetime | None
    report_read_at: datetime | None
    report: ReportOut | None = None
    studies: list[StudyOut] = []
    ecg: EcgOut | None = None
    alert: AlertOut | None = None


class OrderListItem(OrderOut):
    """A row of the reading worklist or of the orderer's results: the order with who sent it (or which
    centre reads it), how long it has waited against the centre's report-time target, and what the
    caller may do to it."""

    other_party_name: str = Field(description="worklist: the ordering institution; results: the centre")
    waiting_minutes: int | None = Field(
        default=None, description="minutes since acquisition (ordered: since ordering), while waiting"
    )
    target_minutes: int | None = Field(default=None, description="the centre's report-time target")
    may_mark_acquired: bool = False
    may_cancel: bool = False


class OrderPage(BaseModel):
    items: list[OrderListItem]
    total: int
    offset: int
    limit: int


class PriorReportOut(BaseModel):
    order_id: int
    item_name: str
    modality: str
    body_part: str | None
    reported_at: datetime
    findings: str
    impression: str
    is_critical: bool


class RecognisedResult(BaseModel):
    """A recognised, valid result the doctor is shown before an exam may be repeated."""

    prior_order_id: int
    item_code: str
    item_name: str
    reported_at: datetime
    reader_institution_id: int
    impression: str
    valid_until: date
    price_fen: int


class IngestOut(BaseModel):
    received: int
    filed: int
    duplicates: int
    quarantined: int
    studies: int
    orders_acquired: int
    quarantine_ids: list[int]


class QuarantineOut(BaseModel):
    id: int
    original_name: str
    reason_zh: str
    reason_en: str
    patient_id: str | None
    study_uid: str | None
    accession_number: str | None
    received_at: datetime
    resolved_at: datetime | None
    resolution: str | None


class RecognitionItemOut(BaseModel):
    code: str
    name: str
    kind: str
    modality: str
    validity_days: int
    requires_qc: bool
    price_fen: int
    effective_from: date
    effective_until: date | None


class QcIn(BaseModel):
    item_code: str | None = Field(default=None, max_length=32, description="empty: every item of the lab")
    kind: str = Field(pattern="^(internal|external)$")
    checked_on: Day
    valid_until: Day
    passed: bool
    score: float | None = None
    note: str = Field(default="", max_length=500)


class TeleconsultIn(BaseModel):
    resident_id: Id
    kind: str = Field(pattern="^(consult|clinic)$")
    consultant_institution_id: Id
    specialty: str = Field(min_length=1, max_length=32)
    question: str = Field(min_length=4, max_length=4000)


class TeleconsultStepIn(BaseModel):
    status: str
    scheduled_for: Moment | None = None
    opinion: str | None = Field(default=None, max_length=8000)
    rating: int | None = None
    rating_note: str | None = Field(default=None, max_length=500)


class TeleconsultOut(BaseModel):
    id: int
    resident_id: int
    kind: str
    requesting_institution_id: int
    consultant_institution_id: int
    specialty: str
    question: str
    status: str
    status_label: str
    requested_at: datetime
    accepted_at: datetime | None
    scheduled_for: datetime | None
    opinion: str | None
    opinion_at: datetime | None
    rating: int | None
    rating_note: str | None


class QuarantinePage(BaseModel):
    total: int
    offset: int
    limit: int
    items: list[QuarantineOut]


class QcRow(BaseModel):
    """A QC record as the list shows it: the lab and the item by name."""

    id: int
    institution_name: str
    item_name: str | None
    kind: str
    checked_on: date
    valid_until: date
    passed: bool
    score: float | None
    note: str
    recorded_at: datetime


class QcPage(BaseModel):
    total: int
    offset: int
    limit: int
    items: list[QcRow]


class TeleconsultRow(TeleconsultOut):
    """A consultation in a box, with the patient and both institutions named."""

    resident_name: str
    requesting_institution_name: str
    consultant_institution_name: str
    kind_label: str


class TeleconsultPage(BaseModel):
    items: list[TeleconsultRow]
    total: int
    offset: int
    limit: int
