"""What the insurance screens send and read: saved settlements, DRG groups, cases, traces, CMI."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel

OutlierKind = Literal["high", "low", "normal", "unweighted"]


class SavedSettlementRow(BaseModel):
    id: int
    consortium_id: int
    consortium_name: str
    year: int
    created_at: datetime
    created_by: str
    budget_fen: int | None
    outcome: str
    retained_fen: int | None  # the consortium's retained surplus (结余留用), when it had one
    overrun_fund_fen: int | None  # the fund's share of a reasonable overrun (合理超支分担)
    point_value_fen: float | None


class SavedSettlementPage(BaseModel):
    total: int
    offset: int
    limit: int
    items: list[SavedSettlementRow]


class CodeName(BaseModel):
    code: str
    name: str


class DrgGroupRow(BaseModel):
    drg: str
    name: str
    mdc: str
    mdc_name: str
    adrg: str
    cases: int | None  # base-year cases; None when the group has no weight that year
    weight: float | None
    mean_yuan: float | None
    high_limit_yuan: float | None
    low_limit_yuan: float | None


class DrgGroupPage(BaseModel):
    total: int
    offset: int
    limit: int
    scheme: str
    standard_year: int | None  # the base year of the weights shown (None: no weights computed yet)
    years: list[int]  # base years that have weights
    mdcs: list[CodeName]  # every major diagnostic category, for the filters
    items: list[DrgGroupRow]


class DrgCaseRow(BaseModel):
    encounter_id: int
    resident_name: str
    sex: str
    age: int
    institution_name: str
    admitted_on: date
    discharged_on: date
    length_of_stay: int
    principal_diagnosis: str  # code and name
    status: str  # the grouper's status in words
    mdc: str
    mdc_name: str
    drg: str
    drg_name: str
    total_yuan: float
    fund_yuan: float
    outlier: OutlierKind


class DrgCasePage(BaseModel):
    total: int
    offset: int
    limit: int
    year: int
    standard_year: int
    items: list[DrgCaseRow]


class DrgTrace(BaseModel):
    encounter_id: int
    resident_name: str
    institution_name: str
    sex: str
    age: int
    length_of_stay: int
    diagnoses: list[CodeName]
    procedures: list[CodeName]
    status: str
    mdc: str
    mdc_name: str
    adrg: str
    drg: str
    drg_name: str
    trace: list[str]  # the grouper's reasons, in order: codes read, MDC entry, ADRG rule, CC/MCC
    stored_drg: str | None  # the group saved at discharge, if it differs the scheme has changed
    total_yuan: float
    outlier: OutlierKind
    high_limit_yuan: float | None
    low_limit_yuan: float | None


class DrgInstitutionRow(BaseModel):
    institution_id: int
    institution_name: str
    cases: int
    high_cases: int
    low_cases: int
    points: float
    cmi: float
    payment_yuan: float


class DrgInstitutions(BaseModel):
    year: int
    standard_year: int
    budget_yuan: float
    budget_source: Literal["given", "inpatient_fund"]
    total_points: float
    point_value_yuan: float | None  # yuan per point
    items: list[DrgInstitutionRow]
