"""Pydantic shapes of the master patient index."""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel, Field

from yilian.kit.fields import Id


class ResidentIn(BaseModel):
    id_number: str = Field(description="18-digit resident ID number (GB 11643)")
    name: str = Field(min_length=1, max_length=32)
    phone: str | None = None
    address: str | None = Field(default=None, max_length=200)
    grid_id: Id | None = None


class ResidentRow(BaseModel):
    """A resident in a list: identifiers masked unless the viewer's role needs them."""

    id: int
    name: str
    sex: str
    age: int
    id_number: str
    phone: str
    grid_name: str | None
    status: str


class ResidentOut(BaseModel):
    id: int
    id_number: str
    name: str
    sex: str
    birth_date: date
    age: int
    phone: str
    address: str | None
    region_code: str
    grid_id: int | None
    grid_name: str | None
    household_id: int | None
    health_card_no: str
    status: str
    merged_into_id: int | None
    signed: bool = Field(
        default=False, description="has an active family-doctor contract: priority visits, exams, admission"
    )


class RegistrationOut(BaseModel):
    created: bool
    resident: ResidentOut


class ResidentPage(BaseModel):
    total: int
    offset: int
    limit: int
    items: list[ResidentRow]


class MergeIn(BaseModel):
    survivor_id: Id
    merged_id: Id
    reason: str = Field(min_length=2, max_length=200)


class MergeOut(BaseModel):
    survivor_id: int
    merged_id: int
    moved_encounters: int


class ImportResult(BaseModel):
    created: int
    already_registered: int


class MergeCandidate(BaseModel):
    """Records holding the same ID number: the registrar could not see the first when registering."""

    residents: list[ResidentRow]


class MergeCandidatePage(BaseModel):
    total: int
    offset: int
    limit: int
    items: list[MergeCandidate]
