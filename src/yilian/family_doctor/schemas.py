"""Pydantic shapes of teams, packages, contracts and fee distribution."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from pydantic import BaseModel, Field

from yilian.kit.fields import Day, Id, Percent, Yuan


class MemberIn(BaseModel):
    staff_id: Id
    role: str


class TeamIn(BaseModel):
    code: str = Field(min_length=1, max_length=32)
    name: str = Field(min_length=1, max_length=64)
    consortium_id: Id
    institution_id: Id
    members: list[MemberIn]
    grid_ids: list[Id] = []


class TeamOut(BaseModel):
    id: int
    code: str
    name: str
    institution_id: int
    members: list[dict[str, object]]
    grid_ids: list[int]


class PackageIn(BaseModel):
    code: str = Field(min_length=1, max_length=32)
    name: str = Field(min_length=1, max_length=64)
    category: str
    contents: str = ""
    price: Yuan = Field(ge=0)
    insurance_share: Percent = Field(description="percent, e.g. 40 for 40 %")
    public_share: Percent = Field(description="percent paid from public-health funds")
    valid_from: Day
    valid_to: Day | None = None


class PackageOut(BaseModel):
    id: int
    code: str
    name: str
    category: str
    contents: str
    price: str
    insurance_share: str
    public_share: str
    resident_pays: str
    valid_from: date
    valid_to: date | None


class ContractIn(BaseModel):
    resident_id: Id
    team_id: Id
    package_id: Id
    start_on: Day | None = None
    months: int = 12


class ContractOut(BaseModel):
    id: int
    resident_id: int
    team_id: int
    team_name: str
    package_id: int
    package_name: str
    start_on: date
    end_on: date
    fee: str
    status: str
    ended_on: date | None
    end_reason: str | None
    previous_contract_id: int | None


class RenewIn(BaseModel):
    months: int = 12
    package_id: Id | None = None


class ChangeTeamIn(BaseModel):
    team_id: Id
    reason: str = Field(min_length=2, max_length=200)


class TerminateIn(BaseModel):
    reason: str = Field(min_length=2, max_length=200)


class FeeRuleIn(BaseModel):
    team_share: Percent = Field(description="percent of signing fees to the team, ≥ 70")
    role_weights: dict[str, int]
    base: Decimal = Decimal("0.4")
    work: Decimal = Decimal("0.4")
    quality: Decimal = Decimal("0.2")


class DistributionRow(BaseModel):
    team_id: int
    team_name: str
    staff_id: int | None
    staff_name: str
    role: str
    services: int
    controlled_patients: int  # follow-ups at target: shown, not paid on
    improved_patients: int  # signed patients whose health improved: the quality part (002 item 19)
    amount: str


class InstitutionFees(BaseModel):
    """A team institution's signing fees, kept apart from its performance pay (002 item 21): the team
    part is staff pay outside the 绩效工资总额; only the institution's part is its own income."""

    institution_id: int
    institution_name: str
    fees: str
    team_pay: str
    retained: str


class Distribution(BaseModel):
    start: date
    end: date
    team_share: str
    fees: str
    team_pool: str
    institutions: str
    rows: list[DistributionRow]
    by_institution: list[InstitutionFees] = []


class TeamRow(BaseModel):
    """A line of the administrator's team list: names, not ids."""

    id: int
    code: str
    name: str
    institution_name: str
    members: list[dict[str, object]]
    grid_count: int


class TeamPage(BaseModel):
    total: int
    offset: int
    limit: int
    items: list[TeamRow]


class PackagePage(BaseModel):
    total: int
    offset: int
    limit: int
    items: list[PackageOut]
