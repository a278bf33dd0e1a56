"""Shapes shared by the synthetic-county builder: the report, id counters, names, plans."""

from __future__ import annotations

import itertools
import random
from dataclasses import dataclass, field
from datetime import date, datetime

from faker.providers.person.zh_CN import Provider as NameData

from yilian.kit.errors import AppError
from yilian.synth import rules as dist


class DatabaseNotEmpty(AppError):
    def __init__(self) -> None:
        super().__init__(
            "数据库中已有机构数据，请使用新数据库生成模拟县",
            "The database already holds institutions; build the synthetic county into a fresh database",
            409,
        )


@dataclass
class SynthReport:
    counties: int = 0
    institutions: int = 0
    staff: int = 0
    residents: int = 0
    encounters: int = 0
    diagnoses: int = 0
    seconds: float = 0.0
    logins: list[tuple[str, str, str]] = field(default_factory=list)

    @property
    def rows(self) -> int:
        return self.institutions + self.staff + self.residents + self.encounters + self.diagnoses

    def summary(self) -> str:
        lines = [
            f"counties={self.counties} institutions={self.institutions} staff={self.staff} "
            f"residents={self.residents} encounters={self.encounters} diagnoses={self.diagnoses}",
            f"{self.rows} rows in {self.seconds:.1f} s = {self.rows / max(self.seconds, 1e-9):,.0f} rows/s",
        ]
        if self.logins:
            lines.append(f"演示账号 / demo accounts (password for all: {self.logins[0][2]}):")
            lines += [f"  {username:<10} {role}" for username, role, _ in self.logins]
        return "\n".join(lines)


class Ids:
    """Explicit ids per table, so child rows can reference parents without reading them back."""

    def __init__(self) -> None:
        self._next: dict[str, itertools.count[int]] = {}

    def __call__(self, table: str) -> int:
        return next(self._next.setdefault(table, itertools.count(1)))


class NameMaker:
    def __init__(self) -> None:
        self.surnames = dist.WeightedChoice.of(list(NameData.last_names.items()))
        self.male = list(NameData.first_names_male)
        self.female = list(NameData.first_names_female)
        self.male_single = [c for c in self.male if len(c) == 1]
        self.female_single = [c for c in self.female if len(c) == 1]

    def make(self, rng: random.Random, sex: str) -> str:
        pool = self.male if sex == "M" else self.female
        given = rng.choice(pool)
        if len(given) == 1 and rng.random() < 0.62:
            given += rng.choice(self.male_single if sex == "M" else self.female_single)
        return self.surnames.pick(rng) + given


@dataclass
class CountyPlace:
    """What residents of one county can be cared at, by tier (ids)."""

    code: str
    people: int = 0
    tcm: int = 0
    mch: int = 0
    townships: list[int] = field(default_factory=list)
    departments: dict[int, dict[str, int]] = field(default_factory=dict)


@dataclass(frozen=True)
class CountyAccounts:
    """Ids the demo accounts of one county are scoped to."""

    consortium_id: int
    people: int
    township: int
    grid_ids: tuple[int, ...]
    family_doctor_staff_id: int


@dataclass
class GridPlan:
    id: int
    code: str
    name: str
    township_name: str
    institution_id: int  # township or community centre
    clinic_id: int | None
    rural: bool


class BuilderState:
    """What the builder's parts share; Builder sets the attributes and defines the two helpers."""

    ids: Ids
    seed: int
    names: NameMaker
    report: SynthReport
    today: date
    now: datetime
    days: int
    period_start: date
    provincial_hospitals: list[int]

    def random_day(self, rng: random.Random) -> date:
        raise NotImplementedError

    def new_id_number(self, rng: random.Random, region: str, born: date, sex: str) -> str:
        raise NotImplementedError
