"""Pydantic shapes of encounters; money crosses the API in yuan with two decimals."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from pydantic import BaseModel, Field


class EncounterIn(BaseModel):
    resident_id: int
    institution_id: int
    department_id: int | None = None
    kind: str
    start_date: date
    end_date: date | None = None
    diagnoses: list[str] = Field(description="ICD-10 codes; the first is the principal diagnosis")
    total_cost: Decimal = Field(decimal_places=2)
    fund_paid: Decimal = Field(decimal_places=2)
    leaving_type: str | None = None


class EncounterOut(BaseModel):
    id: int
    resident_id: int
    institution_id: int
    institution_name: str
    kind: str
    start_date: date
    end_date: date | None
    diagnoses: list[str]
    total_cost: str
    fund_paid: str
    out_of_county: bool
