"""Pydantic shapes of referrals."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel, Field

from yilian.kit.fields import Id


class ReferralIn(BaseModel):
    resident_id: Id
    direction: str = Field(pattern="^(up|down)$")
    to_institution_id: Id
    to_department_id: Id | None = None
    reason: str | None = Field(default=None, max_length=500)
    diagnoses: list[str] = Field(min_length=1)
    summary: str = Field(min_length=2, max_length=4000)
    attachments: list[str] = []
    slot_id: Id | None = Field(default=None, description="upward: book this (reserved) slot in the same step")
    urgency: str | None = Field(default=None, pattern="^(routine|urgent)$", description="普通 | 紧急")


class TransitionIn(BaseModel):
    status: str
    reason: str | None = Field(default=None, max_length=500)


class ReferralOut(BaseModel):
    id: int
    resident_id: int
    resident_name: str
    direction: str
    from_institution_id: int
    to_institution_id: int
    status: str
    status_label: str
    inside_consortium: bool
    reason: str | None
    diagnoses: list[str]
    summary: str
    requested_at: datetime
    decided_at: datetime | None
    booking_id: int | None = None
    follow_up_due_on: date | None = None
    from_institution_name: str = ""
    to_institution_name: str = ""
    to_department_name: str | None = None
    diagnosis_labels: list[str] = Field(default=[], description="each diagnosis in words with its code")
    booked_at: datetime | None = Field(default=None, description="start of the booked slot, if any")
    urgency: str | None = None
    urgency_label: str | None = None


class ReferralPage(BaseModel):
    """One page of a referral box and the size of the whole filtered box."""

    items: list[ReferralOut]
    total: int
    offset: int
    limit: int


class ReferralFigures(BaseModel):
    start: date
    end: date
    up: int
    down: int
    by_status: dict[str, int]
    acceptance_rate: float | None
    median_hours_to_decision: float | None
    p90_hours_to_decision: float | None = None
    decision_target_hours: float = 24.0
    decided_within_target_share: float | None = None
    median_hours_accepted_to_arrival: float | None = None
    overdue_follow_ups: int = 0
    out_of_consortium_up: int
    out_of_consortium_share: float | None
    county_outpatient_visits: int
    referral_bookings: int  # outpatients who came by a grassroots booking of a clinic place (checked in)
    referral_booking_share: float | None
    # The target (a share, 0.3 = 30 %), whether the share meets it, and the clause it comes from.
    referral_booking_target: float | None = None
    referral_booking_target_met: bool | None = None
    referral_booking_target_source: str = ""


class TargetDepartment(BaseModel):
    id: int
    name: str


class ReferralTarget(BaseModel):
    """A county institution a grassroots doctor may refer up to, with its clinic departments."""

    id: int
    name: str
    level: str
    departments: list[TargetDepartment]


class DiagnosisOption(BaseModel):
    code: str
    label: str


class ReferralSlip(BaseModel):
    """The 双向转诊单 as printed: the referral, the patient (ID number masked) and the referring doctor."""

    referral: ReferralOut
    resident_sex: str
    resident_age: int
    resident_id_number: str
    resident_phone: str
    resident_address: str | None
    doctor_name: str
    from_institution_phone: str | None = None
