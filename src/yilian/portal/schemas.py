"""What the residents' phone pages read and send: every code turned into words on the server."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel, Field


class CodeIn(BaseModel):
    phone: str = Field(min_length=1, max_length=20)


class PortalLoginIn(BaseModel):
    phone: str = Field(min_length=1, max_length=20)
    code: str = Field(min_length=1, max_length=10)
    id_number: str = Field(min_length=1, max_length=18)


class PersonOut(BaseModel):
    """A person the account may act for: the resident themself or a ward."""

    id: int
    name: str
    relation: str  # 本人 | 父母 | 子女 | 配偶 | 其他监护人 (the account's relation to them)
    masked_id_number: str
    sex: str  # 男 | 女
    age: int


class FamilyOut(BaseModel):
    me: PersonOut
    people: list[PersonOut]


class ChronicOut(BaseModel):
    disease: str
    colour: str | None  # green | yellow | red: the dot's colour, never shown as text
    colour_label: str
    next_due_on: date | None


class ContractOut(BaseModel):
    team: str
    package: str
    start_on: date
    end_on: date
    members: list[str]


class CardOut(BaseModel):
    """The health card as the phone shows it: the QR code (an SVG data URL) and the code under it."""

    person: PersonOut
    version: int
    payload: str
    qr: str
    card_no: str
    contract: ContractOut | None
    chronic: list[ChronicOut]
    upcoming_bookings: int


class VisitOut(BaseModel):
    id: int
    day: date
    until: date | None
    kind: str
    institution: str
    department: str | None
    diagnoses: list[str]
    total_yuan: str
    fund_yuan: str


class ReportOut(BaseModel):
    id: int
    ordered_at: datetime
    item: str
    status: str
    ordered_by: str
    reported_at: datetime | None
    impression: str | None
    findings: str | None
    critical: bool


class DrugOut(BaseModel):
    name: str
    specification: str
    usage: str
    quantity: str


class PrescriptionOut(BaseModel):
    id: int
    day: date
    institution: str
    diagnosis: str
    days: int
    long_term: bool
    drugs: list[DrugOut]


class ReferralOut(BaseModel):
    id: int
    requested_at: datetime
    direction: str
    status: str
    from_institution: str
    to_institution: str
    diagnoses: list[str]
    summary: str


class VisitPage(BaseModel):
    total: int
    offset: int
    limit: int
    items: list[VisitOut]


class ReportPage(BaseModel):
    total: int
    offset: int
    limit: int
    items: list[ReportOut]


class PrescriptionPage(BaseModel):
    total: int
    offset: int
    limit: int
    items: list[PrescriptionOut]


class ReferralPage(BaseModel):
    total: int
    offset: int
    limit: int
    items: list[ReferralOut]


class AccessOut(BaseModel):
    at: datetime
    who: str
    role: str
    institution: str
    action: str
    what: str


class AccessPage(BaseModel):
    total: int
    offset: int
    limit: int
    items: list[AccessOut]


# --- booking ---------------------------------------------------------------------------------------


class HospitalOut(BaseModel):
    id: int
    name: str
    level: str
    departments: int
    places: int


class DepartmentOut(BaseModel):
    id: int
    name: str
    places: int


class DayOut(BaseModel):
    day: date
    places: int
    bookable: bool  # inside the person's booking window


class DepartmentDays(BaseModel):
    institution: str
    department: str
    window_days: int
    days: list[DayOut]


class SlotOut(BaseModel):
    id: int
    starts_at: datetime
    ends_at: datetime
    clinic: str
    doctor: str | None
    places: int


class BookingOut(BaseModel):
    id: int
    status: str
    status_label: str
    upcoming: bool
    starts_at: datetime
    ends_at: datetime
    institution: str
    department: str | None
    clinic: str
    doctor: str | None
    person: str
    booked_at: datetime


class BookingPage(BaseModel):
    total: int
    upcoming: int
    offset: int
    limit: int
    items: list[BookingOut]
