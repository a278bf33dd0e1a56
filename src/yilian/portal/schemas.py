"""What the residents' phone pages read and send: every code turned into words on the server."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel, Field


class PortalCodeIn(BaseModel):
    phone: str = Field(min_length=1, max_length=20)


class PortalLoginIn(BaseModel):
    phone: str = Field(min_length=1, max_length=20)
    code: str = Field(min_length=1, max_length=10)
    id_number: str = Field(min_length=1, max_length=18)


class PortalPersonOut(BaseModel):
    """A person the account may act for: the resident themself or a ward."""

    id: int
    name: str
    relation: str  # 本人 | 子女 | 父母 | 配偶 | 被监护人: who they are to the account
    masked_id_number: str
    sex: str  # 男 | 女
    age: int


class PortalFamilyOut(BaseModel):
    me: PortalPersonOut
    people: list[PortalPersonOut]


class PortalChronicOut(BaseModel):
    disease: str
    colour: str | None  # green | yellow | red: the dot's colour, never shown as text
    colour_label: str
    next_due_on: date | None


class PortalContractOut(BaseModel):
    team: str
    package: str
    start_on: date
    end_on: date
    members: list[str]


class PortalCardOut(BaseModel):
    """The health card as the phone shows it: the QR code (an SVG data URL) and the code under it."""

    person: PortalPersonOut
    version: int
    payload: str
    qr: str
    card_no: str
    contract: PortalContractOut | None
    chronic: list[PortalChronicOut]
    upcoming_bookings: int


class PortalVisitOut(BaseModel):
    id: int
    day: date
    until: date | None
    kind: str
    institution: str
    department: str | None
    diagnoses: list[str]
    total_yuan: str
    fund_yuan: str


class PortalReportOut(BaseModel):
    id: int
    ordered_at: datetime
    item: str
    status: str
    ordered_by: str
    reported_at: datetime | None
    impression: str | None
    findings: str | None
    critical: bool


class PortalDrugOut(BaseModel):
    name: str
    specification: str
    usage: str
    quantity: str


class PortalPrescriptionOut(BaseModel):
    id: int
    day: date
    institution: str
    diagnosis: str
    days: int
    long_term: bool
    drugs: list[PortalDrugOut]


class PortalReferralOut(BaseModel):
    id: int
    requested_at: datetime
    direction: str
    status: str
    from_institution: str
    to_institution: str
    diagnoses: list[str]
    summary: str


class PortalVisitPage(BaseModel):
    total: int
    offset: int
    limit: int
    items: list[PortalVisitOut]


class PortalReportPage(BaseModel):
    total: int
    offset: int
    limit: int
    items: list[PortalReportOut]


class PortalPrescriptionPage(BaseModel):
    total: int
    offset: int
    limit: int
    items: list[PortalPrescriptionOut]


class PortalReferralPage(BaseModel):
    total: int
    offset: int
    limit: int
    items: list[PortalReferralOut]


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


class PortalHospitalOut(BaseModel):
    id: int
    name: str
    level: str
    departments: int
    places: int


class PortalDepartmentOut(BaseModel):
    id: int
    name: str
    places: int


class PortalDayOut(BaseModel):
    day: date
    places: int
    bookable: bool  # inside the person's booking window


class PortalDepartmentDays(BaseModel):
    institution: str
    department: str
    window_days: int
    days: list[PortalDayOut]


class PortalSlotOut(BaseModel):
    id: int
    starts_at: datetime
    ends_at: datetime
    clinic: str
    doctor: str | None
    places: int


class PortalBookingOut(BaseModel):
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


class PortalBookingPage(BaseModel):
    total: int
    upcoming: int
    offset: int
    limit: int
    items: list[PortalBookingOut]
