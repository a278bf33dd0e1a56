"""Pydantic shapes of chronic care."""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel, Field

from yilian.kit.fields import Day, Id


class VisitIn(BaseModel):
    resident_id: Id
    kind: str = Field(default="follow_up", pattern="^(follow_up|health_check)$")
    disease: str | None = None
    visited_on: Day
    sbp: int | None = None
    dbp: int | None = None
    heart_rate: int | None = None
    fasting_glucose: float | None = None
    hba1c: float | None = None
    total_cholesterol: float | None = None
    ldl: float | None = None
    weight_kg: float | None = None
    height_cm: float | None = None
    smoker: bool | None = None
    adherence: str | None = Field(default=None, pattern="^(规律|间断|不服药)$")
    note: str | None = Field(default=None, max_length=500)


class RegisterOut(BaseModel):
    disease: str
    disease_label: str
    source: str
    registered_on: date
    risk_level: str | None
    colour: str | None
    assessed_on: date | None
    next_due_on: date | None
    responsible_role: str | None
    last_visit_on: date | None
    controlled: bool | None
    explanation: str | None = None


class VisitOut(BaseModel):
    id: int
    kind: str
    visited_on: date
    sbp: int | None
    dbp: int | None
    fasting_glucose: float | None
    hba1c: float | None
    weight_kg: float | None
    adherence: str | None


class ChronicRecord(BaseModel):
    resident_id: int
    signed: bool
    registers: list[RegisterOut]
    visits: list[VisitOut]


class WorkItem(BaseModel):
    resident_id: int
    name: str
    age: int
    grid_name: str | None
    disease: str | None
    colour: str | None
    next_due_on: date | None
    days_overdue: int | None


class GridCount(BaseModel):
    grid_id: int
    name: str
    count: int


class WorkPage(BaseModel):
    """One page of a work list, its total and the villages it spans (the filter's choices)."""

    kind: str
    total: int
    offset: int
    limit: int
    items: list[WorkItem]
    grids: list[GridCount]


class Figures(BaseModel):
    as_of: date
    residents: int
    signed: int
    signing_rate: float | None
    key_population: int
    key_population_signed: int
    key_population_signing_rate: float | None
    registered: dict[str, int]
    managed_on_time: dict[str, int]
    on_time_rate: dict[str, float | None]
    controlled: dict[str, int]
    control_rate: dict[str, float | None]
    colours: dict[str, dict[str, int]]


class PrescriptionItemIn(BaseModel):
    drug_id: Id
    daily_dose: float = Field(gt=0)


class PrescriptionIn(BaseModel):
    resident_id: Id
    diagnosis: str
    days: int
    items: list[PrescriptionItemIn] = Field(min_length=1)


class PrescriptionOut(BaseModel):
    id: int
    days: int
    is_long: bool
    items: list[dict[str, object]]
