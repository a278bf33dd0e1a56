"""Pydantic in/out shapes of the registry."""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel, ConfigDict, Field

from yilian.kit.fields import Day, Id


class InstitutionIn(BaseModel):
    code: str = Field(min_length=1, max_length=32)
    name: str = Field(min_length=1, max_length=128)
    level: str
    grade: str | None = None
    type: str
    region_code: str
    township: str | None = None
    parent_id: Id | None = None


class InstitutionOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    code: str
    name: str
    level: str
    grade: str | None
    type: str
    region_code: str
    township: str | None
    parent_id: int | None
    is_grassroots: bool


class ConsortiumIn(BaseModel):
    code: str = Field(min_length=1, max_length=32)
    name: str = Field(min_length=1, max_length=128)
    kind: str
    region_code: str
    lead_institution_id: Id
    established_on: Day | None = None


class MemberIn(BaseModel):
    institution_id: Id
    role: str = "成员"
    joined_on: Day | None = None


class MemberOut(BaseModel):
    institution_id: int
    institution_name: str
    institution_type: str
    level: str
    role: str


class ConsortiumOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    code: str
    name: str
    kind: str
    region_code: str
    lead_institution_id: int
    established_on: date | None


class ConsortiumDetail(ConsortiumOut):
    members: list[MemberOut]
    grid_count: int


class GridIn(BaseModel):
    code: str
    name: str
    region_code: str
    institution_id: Id
    clinic_id: Id | None = None


class StaffIn(BaseModel):
    code: str
    name: str
    sex: str = Field(pattern="^[MF]$")
    id_number: str | None = None
    phone: str | None = None
    practitioner_type: str
    title: str | None = None
    specialty: str | None = None
    licensed: bool = True
    home_institution_id: Id
    hired_on: Day | None = None


class StaffOut(BaseModel):
    id: int
    code: str
    name: str
    sex: str
    id_number: str
    phone: str
    practitioner_type: str
    title: str | None
    home_institution_id: int


class PostingIn(BaseModel):
    institution_id: Id
    kind: str
    start_on: Day
    end_on: Day | None = None


class PostingSummary(BaseModel):
    """ "县管乡用" and dispatches of six months or more, per receiving institution type."""

    as_of: date
    long_dispatches: int
    county_managed_township_used: int
    by_kind: dict[str, int]


class InstitutionRow(InstitutionOut):
    parent_name: str | None


class InstitutionPage(BaseModel):
    total: int
    offset: int
    limit: int
    items: list[InstitutionRow]


class ConsortiumRow(ConsortiumOut):
    lead_institution_name: str
    member_count: int
    grid_count: int


class ConsortiumPage(BaseModel):
    total: int
    offset: int
    limit: int
    items: list[ConsortiumRow]


class GridRow(BaseModel):
    id: int
    code: str
    name: str
    region_code: str
    institution_id: int
    institution_name: str
    clinic_name: str | None


class GridPage(BaseModel):
    total: int
    offset: int
    limit: int
    items: list[GridRow]


class StaffRow(StaffOut):
    specialty: str | None
    licensed: bool
    home_institution_name: str
    open_postings: int


class StaffPage(BaseModel):
    total: int
    offset: int
    limit: int
    items: list[StaffRow]


class PostingOut(BaseModel):
    id: int
    institution_id: int
    institution_name: str
    kind: str
    start_on: date
    end_on: date | None
