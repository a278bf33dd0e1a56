"""Pydantic shapes of encounters; money crosses the API in yuan with two decimals."""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel, Field

from yilian.kit.fields import Day, Id, Yuan


class EncounterIn(BaseModel):
    resident_id: Id
    institution_id: Id
    department_id: Id | None = None
    kind: str
    start_date: Day
    end_date: Day | None = None
    diagnoses: list[str] = Field(description="ICD-10 codes; the first is the principal diagnosis")
    procedures: list[str] = Field(
        default_factory=list, description="ICD-9-CM-3 codes; the first is the main procedure"
    )
    total_cost: Yuan
    fund_paid: Yuan
    leaving_type: str | None = Field(default=None, description="离院方式 1/2/3/4/5/9")


class DischargeIn(BaseModel):
    """The closed front page (病案首页) of a stay: final codes and money replace what admission had."""

    end_date: Day
    leaving_type: str = Field(description="离院方式 1/2/3/4/5/9")
    diagnoses: list[str] | None = Field(default=None, description="final ICD-10 codes; omitted: keep")
    procedures: list[str] | None = Field(default=None, description="final ICD-9-CM-3 codes; omitted: keep")
    total_cost: Yuan
    fund_paid: Yuan


class DrgOut(BaseModel):
    scheme: str
    status_key: str
    mdc: str | None
    adrg: str | None
    drg: str | None


class EncounterOut(BaseModel):
    id: int
    resident_id: int
    institution_id: int
    institution_name: str
    kind: str
    start_date: date
    end_date: date | None
    diagnoses: list[str]
    procedures: list[str] = []
    total_cost: str
    fund_paid: str
    out_of_county: bool
    leaving_type: str | None = None
    drg: DrgOut | None = None


class InpatientOut(BaseModel):
    """A patient in a bed now: the stay to discharge."""

    id: int
    resident_id: int
    resident_name: str
    department_name: str | None
    start_date: date
    days: int
    diagnoses: list[str]
    diagnosis_labels: list[str]


class InpatientPage(BaseModel):
    items: list[InpatientOut]
    total: int
    offset: int
    limit: int
