"""Pydantic shapes of schedules, slots and bookings."""

from __future__ import annotations

from datetime import date, datetime, time

from pydantic import BaseModel, Field

from yilian.kit.fields import Count, Day, Id, Moment, Year


class ScheduleIn(BaseModel):
    institution_id: Id
    department_id: Id | None = None
    kind: str = Field(pattern="^(clinic|exam|bed)$")
    name: str = Field(min_length=1, max_length=64)
    staff_id: Id | None = None
    equipment: str | None = None


class PublishIn(BaseModel):
    """Publish a session: `count` slots of `minutes` each from `start` on `day`."""

    day: Day
    start: time
    minutes: int = Field(gt=0, le=480)
    count: int = Field(gt=0, le=200)
    capacity: int = Field(default=1, gt=0, le=100)


class SlotOut(BaseModel):
    id: int
    schedule_id: int
    starts_at: datetime
    ends_at: datetime
    pool: str
    effective_pool: str
    capacity: int
    booked: int


class BookingIn(BaseModel):
    slot_id: Id
    resident_id: Id
    referral_id: Id | None = None


class BookingOut(BaseModel):
    id: int
    slot_id: int
    resident_id: int
    status: str
    channel: str
    pool: str
    starts_at: datetime
    created: bool = True


class ExtraSlotIn(BaseModel):
    schedule_id: Id
    starts_at: Moment
    minutes: int = Field(default=10, gt=0, le=120)


class PolicyIn(BaseModel):
    year: Year
    reserved_share: float = Field(description="percent, ≥ 20")
    release_hours: Count = 24
    extra_cap: Count = 5


class ReservedDay(BaseModel):
    """One day of a county institution's reserved pool: the places grassroots referrals may still book."""

    day: date
    department_id: int | None
    department_name: str | None
    free: int


class ReservedSlot(BaseModel):
    id: int
    starts_at: datetime
    ends_at: datetime
    department_id: int | None
    department_name: str | None
    schedule_name: str
    free: int


class ScheduleRow(BaseModel):
    id: int
    name: str
    kind: str
    institution_name: str
    department_name: str | None
    staff_name: str | None
    equipment: str | None


class SchedulePage(BaseModel):
    total: int
    offset: int
    limit: int
    items: list[ScheduleRow]


class PolicyOut(BaseModel):
    """The year's booking policy in force, with the bounds the form must keep to."""

    year: int
    reserved_share: float
    release_hours: int
    extra_cap: int
    minimum_share: float
    ceiling_share: float
    stored: bool


class ArrivalOut(BaseModel):
    """One booked patient of the desk's day, in words."""

    id: int
    resident_id: int
    resident_name: str
    sex: str
    age: int | None
    starts_at: datetime
    department_name: str
    schedule_name: str
    schedule_kind_label: str
    sender_name: str | None = Field(description="the referring institution, else the booking one")
    channel_label: str
    reserved: bool
    referral_id: int | None
    diagnosis_labels: list[str]
    status: str
    status_label: str
    check_in_refusal: str | None = Field(description="why check-in is not open now; None: it is")
    may_no_show: bool


class DepartmentOption(BaseModel):
    id: int
    name: str


class ArrivalPage(BaseModel):
    items: list[ArrivalOut]
    total: int
    offset: int
    limit: int
    departments: list[DepartmentOption]
