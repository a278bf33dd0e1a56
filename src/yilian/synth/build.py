"""Build synthetic counties into an empty database, streaming rows in chunks with progress bars.

Deterministic: each county draws from its own random stream seeded from (seed, county index), so
adding counties never changes the first one. Rows are generated in Python and bulk-loaded (COPY on
PostgreSQL); nothing here loops over rows already in the database.
"""

from __future__ import annotations

import itertools
import random
import secrets
import time
from bisect import bisect_left
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from faker.providers.person.zh_CN import Provider as NameData
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from sqlalchemy import func, select

from yilian.auth import rules as roles
from yilian.auth.service import do_create_user
from yilian.kit.bulk import BulkLoader, sqlite_datetime
from yilian.kit.db import make_engine
from yilian.kit.errors import AppError
from yilian.models import Institution
from yilian.residents.rules import make_id_number
from yilian.synth import geography
from yilian.synth import rules as dist
from yilian.synth.family_doctor import Person, build_family_doctor_care

HOSPITAL_DEPARTMENTS = [
    "全科",
    "心血管内科",
    "内分泌科",
    "呼吸内科",
    "消化内科",
    "肾内科",
    "神经内科",
    "普通外科",
    "骨科",
    "妇产科",
    "儿科",
    "急诊科",
    "肿瘤科",
    "皮肤科",
    "眼科",
    "康复医学科",
    "中医科",
    "医学影像科",
    "检验科",
]
TCM_DEPARTMENTS = [
    "中医内科",
    "针灸推拿科",
    "骨伤科",
    "康复医学科",
    "心血管内科",
    "呼吸内科",
    "消化内科",
    "医学影像科",
    "检验科",
]
MCH_DEPARTMENTS = ["妇产科", "儿科", "妇女保健科", "儿童保健科", "医学影像科", "检验科"]
TOWNSHIP_DEPARTMENTS = ["全科", "中医科", "公共卫生科", "康复医学科", "医学影像科", "检验科"]
# The county-level institutions: code suffix, name, grade, type, departments, staff, staffing mix.
COUNTY_LEVEL_INSTITUTIONS = [
    ("H01", "人民医院", "甲等", "综合医院", HOSPITAL_DEPARTMENTS, 380, "hospital"),
    ("H02", "中医医院", "甲等", "中医医院", TCM_DEPARTMENTS, 150, "hospital"),
    ("H03", "妇幼保健院", None, "妇幼保健院", MCH_DEPARTMENTS, 70, "hospital"),
    ("D01", "疾病预防控制中心", None, "疾控中心", [], 25, "township"),
]
RURAL_SHARE = 0.75
CHUNK_RESIDENTS = 5_000


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


class Builder:
    def __init__(self, url: str, *, seed: int, years: int, today: date, console: Console) -> None:
        self.engine = make_engine(url)
        self.seed = seed
        self.years = years
        self.today = today
        self.now = datetime.combine(today, datetime.min.time()).replace(hour=8)
        self.console = console
        self.ids = Ids()
        self.names = NameMaker()
        self.report = SynthReport()
        self.used_id_numbers: set[str] = set()
        self.provincial_hospitals: list[int] = []
        self.period_start = (
            date(today.year - years, today.month, 1) if today.day > 1 else date(today.year - years, 1, 1)
        )
        self.days = (today - self.period_start).days + 1
        weights = dist.month_weights(self.period_start, self.days)
        total, cumulative = 0.0, []
        for w in weights:
            total += w
            cumulative.append(total)
        self.day_cumulative = [c / total for c in cumulative]

    # -- helpers -------------------------------------------------------------------------------
    def random_day(self, rng: random.Random) -> date:
        return self.period_start + timedelta(
            days=min(bisect_left(self.day_cumulative, rng.random()), self.days - 1)
        )

    def new_id_number(self, rng: random.Random, region: str, born: date, sex: str) -> str:
        for attempt in range(1000):
            candidate = make_id_number(region, born, rng.randrange(500) + attempt, sex)
            if candidate not in self.used_id_numbers:
                self.used_id_numbers.add(candidate)
                return candidate
        raise RuntimeError("ID sequence space exhausted")

    def institution(
        self,
        loader: BulkLoader,
        *,
        code: str,
        name: str,
        level: str,
        grade: str | None,
        type_: str,
        region: str,
        township: str | None = None,
        parent: int | None = None,
        departments: Sequence[str] = (),
    ) -> tuple[int, dict[str, int]]:
        institution_id = self.ids("institution")
        grassroots = type_ in ("乡镇卫生院", "社区卫生服务中心", "社区卫生服务站", "村卫生室")
        loader.insert(
            "institution",
            [
                "id",
                "code",
                "name",
                "level",
                "grade",
                "type",
                "region_code",
                "township",
                "parent_id",
                "is_grassroots",
                "is_active",
            ],
            [(institution_id, code, name, level, grade, type_, region, township, parent, grassroots, True)],
        )
        depts = {}
        rows = []
        for n, dept in enumerate(departments, start=1):
            dept_id = self.ids("department")
            depts[dept] = dept_id
            rows.append((dept_id, institution_id, f"{code}-{n:02d}", dept))
        if rows:
            loader.insert("department", ["id", "institution_id", "code", "name"], rows)
        self.report.institutions += 1
        return institution_id, depts

    def consortium(
        self,
        loader: BulkLoader,
        *,
        code: str,
        name: str,
        kind: str,
        region: str,
        lead: int,
        members: list[tuple[int, str]],
    ) -> int:
        consortium_id = self.ids("consortium")
        established = date(2019, 1, 1)
        loader.insert(
            "consortium",
            ["id", "code", "name", "kind", "region_code", "lead_institution_id", "established_on"],
            [(consortium_id, code, name, kind, region, lead, established.isoformat())],
        )
        loader.insert(
            "consortium_member",
            ["id", "consortium_id", "institution_id", "role", "joined_on"],
            [
                (self.ids("consortium_member"), consortium_id, inst, role, established.isoformat())
                for inst, role in [(lead, "牵头"), *members]
            ],
        )
        return consortium_id

    # -- staff -----------------------------------------------------------------------------------
    def staff_rows(
        self,
        rng: random.Random,
        institution_id: int,
        code_prefix: str,
        count: int,
        kind: str,
        region: str,
        departments: dict[str, int],
    ) -> list[tuple[Any, ...]]:
        mixes = {
            "hospital": [("执业医师", 40), ("执业助理医师", 4), ("护士", 42), ("药师", 6), ("技师", 8)],
            "township": [("执业医师", 32), ("执业助理医师", 16), ("护士", 34), ("药师", 8), ("技师", 10)],
            "village": [("乡村医生", 75), ("执业助理医师", 20), ("执业医师", 5)],
        }
        titles = {
            "执业医师": [("主任医师", 5), ("副主任医师", 15), ("主治医师", 35), ("医师", 45)],
            "执业助理医师": [("医士", 1)],
            "乡村医生": [("医士", 1)],
            "护士": [("主任护师", 2), ("副主任护师", 8), ("主管护师", 35), ("护师", 35), ("护士", 20)],
            "药师": [("主管药师", 40), ("药师", 60)],
            "技师": [("主管技师", 40), ("技师", 40), ("技士", 20)],
        }
        mix = dist.WeightedChoice.of(mixes[kind])
        dept_ids = list(departments.values())
        rows: list[tuple[Any, ...]] = []
        for n in range(count):
            practitioner = mix.pick(rng)
            sex = "F" if rng.random() < (0.9 if practitioner == "护士" else 0.45) else "M"
            age = rng.randint(24, 59)
            born = dist.birth_date_for(age, self.today, rng)
            title = dist.WeightedChoice.of(titles[practitioner]).pick(rng)
            licensed = practitioner != "乡村医生" or rng.random() < 0.7
            hired = date(max(1990, self.today.year - (age - 22)), rng.randint(1, 12), 1)
            rows.append(
                (
                    self.ids("staff"),
                    f"{code_prefix}{n + 1:04d}",
                    self.names.make(rng, sex),
                    sex,
                    self.new_id_number(rng, region, born, sex),
                    dist.mobile_number(rng),
                    practitioner,
                    title,
                    None,
                    licensed,
                    institution_id,
                    rng.choice(dept_ids) if dept_ids else None,
                    hired.isoformat(),
                )
            )
        self.report.staff += len(rows)
        return rows

    # -- one county ----------------------------------------------------------------------------
    def build_county(
        self, loader: BulkLoader, progress: Progress, index: int, residents: int
    ) -> CountyAccounts:
        code, county_name = geography.COUNTIES[index]
        rng = random.Random(self.seed * 1_000 + index)
        place = CountyPlace(code=code)
        staff_cols = [
            "id",
            "code",
            "name",
            "sex",
            "id_number",
            "phone",
            "practitioner_type",
            "title",
            "specialty",
            "licensed",
            "home_institution_id",
            "department_id",
            "hired_on",
        ]
        staff: list[tuple[Any, ...]] = []
        county_level = {}
        for suffix, name, grade, type_, departments, headcount, mix in COUNTY_LEVEL_INSTITUTIONS:
            level = "未定级" if type_ == "疾控中心" else "二级"
            institution_id, depts = self.institution(
                loader,
                code=f"{code}{suffix}",
                name=f"{county_name}{name}",
                level=level,
                grade=grade,
                type_=type_,
                region=code,
                departments=departments,
            )
            place.departments[institution_id] = depts
            staff += self.staff_rows(rng, institution_id, f"{code}{suffix}", headcount, mix, code, depts)
            county_level[type_] = institution_id
        place.people, place.tcm, place.mch = (county_level[t] for t in ("综合医院", "中医医院", "妇幼保健院"))

        members: list[tuple[int, str]] = [(place.tcm, "成员"), (place.mch, "成员")]
        town_names = self.place_names(rng, 12, dist.TOWN_SYLLABLES, ("镇", "乡"))
        grids: list[GridPlan] = []
        clinics_per_town = self.split(rng, 150, 12)
        for t, town in enumerate(town_names):
            hub = t < 2
            township_id, depts = self.institution(
                loader,
                code=f"{code}T{t + 1:02d}",
                name=f"{county_name}{town}{'中心' if hub else ''}卫生院",
                level="一级",
                grade="甲等" if hub else None,
                type_="乡镇卫生院",
                region=code,
                township=town,
                departments=TOWNSHIP_DEPARTMENTS,
            )
            place.townships.append(township_id)
            place.departments[township_id] = depts
            members.append((township_id, "次中心" if hub else "成员"))
            staff += self.staff_rows(
                rng, township_id, f"{code}T{t + 1:02d}", 34 if hub else 22, "township", code, depts
            )
            villages = self.place_names(rng, clinics_per_town[t], dist.VILLAGE_SYLLABLES, ("村",))
            for v, village in enumerate(villages):
                clinic_code = f"{code}T{t + 1:02d}V{v + 1:02d}"
                clinic_id, _ = self.institution(
                    loader,
                    code=clinic_code,
                    name=f"{town}{village}卫生室",
                    level="未定级",
                    grade=None,
                    type_="村卫生室",
                    region=code,
                    township=town,
                    parent=township_id,
                )
                members.append((clinic_id, "成员"))
                staff += self.staff_rows(
                    rng, clinic_id, clinic_code, 1 + (rng.random() < 0.35), "village", code, {}
                )
                grids.append(
                    GridPlan(
                        self.ids("grid"),
                        f"{clinic_code}G",
                        f"{town}{village}",
                        town,
                        township_id,
                        clinic_id,
                        True,
                    )
                )
        for c, community in enumerate(self.place_names(rng, 4, dist.TOWN_SYLLABLES, ("街道",))):
            centre_id, depts = self.institution(
                loader,
                code=f"{code}C{c + 1:02d}",
                name=f"{county_name}{community}社区卫生服务中心",
                level="一级",
                grade=None,
                type_="社区卫生服务中心",
                region=code,
                township=community,
                departments=TOWNSHIP_DEPARTMENTS[:4],
            )
            place.departments[centre_id] = depts
            members.append((centre_id, "成员"))
            staff += self.staff_rows(rng, centre_id, f"{code}C{c + 1:02d}", 16, "township", code, depts)
            for g in range(3):
                grids.append(
                    GridPlan(
                        self.ids("grid"),
                        f"{code}C{c + 1:02d}G{g + 1}",
                        f"{community}第{g + 1}社区",
                        community,
                        centre_id,
                        None,
                        False,
                    )
                )
        loader.insert("staff", staff_cols, staff)
        consortium_id = self.consortium(
            loader,
            code=f"{code}YGT",
            name=f"{county_name}医疗健康总院（紧密型县域医共体）",
            kind="县域医共体",
            region=code,
            lead=place.people,
            members=members,
        )
        loader.insert(
            "grid",
            ["id", "code", "name", "region_code", "consortium_id", "institution_id", "clinic_id"],
            [(g.id, g.code, g.name, code, consortium_id, g.institution_id, g.clinic_id) for g in grids],
        )
        self.postings(loader, rng, staff, place)
        people = self.residents_and_encounters(loader, progress, rng, place, grids, residents, county_name)
        teams_by_institution: dict[int, list[int]] = {}
        for plan in grids:
            teams_by_institution.setdefault(plan.institution_id, []).append(plan.id)
        specialists = [
            int(s[0])
            for s in staff
            if s[10] == place.people and s[6] == "执业医师" and s[7] in ("主任医师", "副主任医师", "主治医师")
        ]
        team_gps = build_family_doctor_care(
            loader=loader,
            rng=rng,
            ids=self.ids,
            today=self.today,
            now=self.now,
            consortium_id=consortium_id,
            county_code=code,
            teams_by_grid_institution=teams_by_institution,
            grids=[(g.id, g.institution_id, g.clinic_id) for g in grids],
            staff=staff,
            people=people,
            specialists=specialists,
        )
        first_team_gp = next(iter(team_gps.values()))
        return CountyAccounts(
            consortium_id=consortium_id,
            people=place.people,
            township=place.townships[0],
            grid_ids=tuple(g.id for g in grids if g.institution_id == place.townships[0]),
            family_doctor_staff_id=first_team_gp,
        )

    def place_names(
        self, rng: random.Random, count: int, syllables: str, suffixes: tuple[str, ...]
    ) -> list[str]:
        names: list[str] = []
        while len(names) < count:
            name = rng.choice(dist.TOWN_SYLLABLES) + rng.choice(syllables) + rng.choice(suffixes)
            if name not in names:
                names.append(name)
        return names

    @staticmethod
    def split(rng: random.Random, total: int, parts: int) -> list[int]:
        weights = [rng.uniform(0.6, 1.4) for _ in range(parts)]
        counts = [max(1, int(total * w / sum(weights))) for w in weights]
        counts[0] += total - sum(counts)
        return counts

    def postings(
        self, loader: BulkLoader, rng: random.Random, staff: list[tuple[Any, ...]], place: CountyPlace
    ) -> None:
        """县管乡用: county doctors posted to townships for 3–18 months; 乡聘村用: township doctors to villages."""
        county_doctors = [s for s in staff if s[10] in (place.people, place.tcm) and s[6] == "执业医师"]
        rows = []
        for s in rng.sample(county_doctors, min(30, len(county_doctors))):
            start = self.today - timedelta(days=rng.randint(30, 700))
            months = rng.choice((3, 4, 6, 6, 9, 12, 18))
            end = start + timedelta(days=int(months * 30.4))
            rows.append(
                (
                    self.ids("posting"),
                    s[0],
                    rng.choice(place.townships),
                    "县管乡用",
                    start.isoformat(),
                    end.isoformat() if end < self.today else None,
                )
            )
        loader.insert("posting", ["id", "staff_id", "institution_id", "kind", "start_on", "end_on"], rows)

    def residents_and_encounters(
        self,
        loader: BulkLoader,
        progress: Progress,
        rng: random.Random,
        place: CountyPlace,
        grids: list[GridPlan],
        total: int,
        county_name: str,
    ) -> list[Person]:
        people: list[Person] = []
        rural = [g for g in grids if g.rural]
        urban = [g for g in grids if not g.rural]
        rural_sizes = [rng.uniform(0.5, 1.5) for _ in rural]
        urban_sizes = [rng.uniform(0.8, 1.2) for _ in urban]
        # Village sizes vary; together the villages hold RURAL_SHARE of the people.
        weights = [w * RURAL_SHARE / sum(rural_sizes) for w in rural_sizes] + [
            w * (1 - RURAL_SHARE) / sum(urban_sizes) for w in urban_sizes
        ]
        plan = rural + urban
        counts = [0] * len(plan)
        for i in rng.choices(range(len(plan)), weights=weights, k=total):
            counts[i] += 1
        mean_rate = sum(
            dist.piecewise(dist.VISIT_RATE_BY_AGE, start + 2) * w for start, w in dist.AGE_BANDS
        ) / sum(w for _, w in dist.AGE_BANDS)
        scale = dist.VISITS_PER_RESIDENT_YEAR / mean_rate * self.days / 365.25
        task = progress.add_task(f"{county_name} 居民与就诊", total=total)
        out_tiers = dist.WeightedChoice.of(dist.OUTPATIENT_TIERS)
        in_tiers = dist.WeightedChoice.of(dist.INPATIENT_TIERS)
        acute = dist.WeightedChoice.of(dist.OUTPATIENT_DIAGNOSES)
        inpatient_dx = {
            tier: dist.WeightedChoice.of(pairs) for tier, pairs in dist.INPATIENT_DIAGNOSES.items()
        }
        leaving = dist.WeightedChoice.of(dist.LEAVING_TYPES)
        other_ningxia = [c for c, _ in geography.COUNTIES if c != place.code]
        resident_cols = [
            "id",
            "id_number",
            "name",
            "sex",
            "birth_date",
            "phone",
            "address",
            "region_code",
            "grid_id",
            "household_id",
            "health_card_no",
            "status",
            "created_at",
            "updated_at",
        ]
        encounter_cols = [
            "id",
            "resident_id",
            "institution_id",
            "department_id",
            "kind",
            "start_date",
            "end_date",
            "total_fen",
            "fund_fen",
            "out_of_county",
            "leaving_type",
        ]
        created = sqlite_datetime(self.now)
        residents: list[tuple[Any, ...]] = []
        households: list[tuple[Any, ...]] = []
        encounters: list[tuple[Any, ...]] = []
        diagnoses: list[tuple[Any, ...]] = []

        def flush() -> None:
            loader.insert("household", ["id", "code", "grid_id", "address"], households)
            loader.insert("resident", resident_cols, residents)
            loader.insert("encounter", encounter_cols, encounters)
            loader.insert("encounter_diagnosis", ["encounter_id", "seq", "icd10_code"], diagnoses)
            self.report.residents += len(residents)
            self.report.encounters += len(encounters)
            self.report.diagnoses += len(diagnoses)
            # Commit per chunk: one multi-GB transaction makes SQLite's WAL (and every page lookup) slow.
            loader.commit()
            progress.advance(task, len(residents))
            for rows in (residents, households, encounters, diagnoses):
                rows.clear()

        for grid, count in zip(plan, counts, strict=True):
            household_left, household_id, address = 0, 0, ""
            for _ in range(count):
                if household_left == 0:
                    household_id = self.ids("household")
                    household_left = max(1, min(7, int(rng.gauss(2.9, 1.2) + 0.5)))
                    address = f"{county_name}{grid.name}{rng.randint(1, 12)}组{rng.randint(1, 99)}号"
                    households.append((household_id, f"{place.code}-{household_id:08d}", grid.id, address))
                household_left -= 1
                age = dist.sample_age(rng)
                sex = "M" if rng.random() < dist.male_probability(age) else "F"
                born = dist.birth_date_for(age, self.today, rng)
                roll = rng.random()
                birth_region = (
                    place.code
                    if roll < 0.88
                    else (
                        rng.choice(other_ningxia)
                        if roll < 0.97
                        else rng.choice(geography.OTHER_BIRTH_REGIONS)
                    )
                )
                resident_id = self.ids("resident")
                residents.append(
                    (
                        resident_id,
                        self.new_id_number(rng, birth_region, born, sex),
                        self.names.make(rng, sex),
                        sex,
                        born.isoformat(),
                        dist.mobile_number(rng) if age >= 14 and rng.random() < 0.9 else None,
                        address,
                        place.code,
                        grid.id,
                        household_id,
                        f"{rng.getrandbits(128):032X}",
                        "active",
                        created,
                        created,
                    )
                )
                chronic = []
                if age >= 18:
                    if rng.random() < dist.piecewise(dist.HYPERTENSION_BY_AGE, age):
                        chronic.append(dist.ICD_HYPERTENSION)
                    if rng.random() < dist.piecewise(dist.DIABETES_BY_AGE, age):
                        chronic.append(dist.ICD_DIABETES)
                people.append(Person(resident_id, grid.id, age, tuple(chronic)))
                rate = dist.piecewise(dist.VISIT_RATE_BY_AGE, age) * scale * (1.5 if chronic else 1.0)
                inpatient_share = dist.piecewise(dist.INPATIENT_SHARE_BY_AGE, age)
                for _ in range(dist.poisson(rng, rate)):
                    self.encounter(
                        rng,
                        place,
                        grid,
                        resident_id,
                        age,
                        sex,
                        chronic,
                        inpatient_share,
                        out_tiers,
                        in_tiers,
                        acute,
                        inpatient_dx,
                        leaving,
                        encounters,
                        diagnoses,
                    )
                if len(residents) >= CHUNK_RESIDENTS:
                    flush()
        flush()
        return people

    def encounter(
        self,
        rng: random.Random,
        place: CountyPlace,
        grid: GridPlan,
        resident_id: int,
        age: int,
        sex: str,
        chronic: list[str],
        inpatient_share: float,
        out_tiers: dist.WeightedChoice,
        in_tiers: dist.WeightedChoice,
        acute: dist.WeightedChoice,
        inpatient_dx: dict[str, dist.WeightedChoice],
        leaving: dist.WeightedChoice,
        encounters: list[tuple[Any, ...]],
        diagnoses: list[tuple[Any, ...]],
    ) -> None:
        inpatient = rng.random() < inpatient_share
        tier = (in_tiers if inpatient else out_tiers).pick(rng)
        if tier == "village":
            institution_id = grid.clinic_id or grid.institution_id
        elif tier == "township":
            institution_id = (
                grid.institution_id if rng.random() < 0.85 or not grid.rural else rng.choice(place.townships)
            )
        elif tier == "county":
            mch_bonus = 0.15 if (sex == "F" and 15 <= age <= 49) or age < 14 else 0.0
            roll = rng.random()
            institution_id = (
                place.mch
                if roll < 0.10 + mch_bonus
                else (place.tcm if roll < 0.34 + mch_bonus else place.people)
            )
        else:
            institution_id = rng.choice(self.provincial_hospitals)
        start = self.random_day(rng)
        if inpatient:
            principal = inpatient_dx[tier].pick(rng)
            if principal == "O80.000" and not (sex == "F" and 16 <= age <= 48):
                principal = "J18.900"
            median, sigma = dist.INPATIENT_COST[tier]
            total = dist.lognormal_fen(rng, median, sigma)
            share = dist.INPATIENT_FUND_SHARE[tier]
            los_median, los_sigma = dist.LENGTH_OF_STAY[tier]
            end: date | None = start + timedelta(
                days=max(1, int(rng.lognormvariate(0, los_sigma) * los_median))
            )
            if end is not None and end > self.today:
                end = None  # still in hospital
            leaving_type = leaving.pick(rng) if end else None
        else:
            if chronic and tier in ("village", "township") and rng.random() < 0.55:
                principal = rng.choice(chronic)
            else:
                principal = acute.pick(rng)
            median, sigma = dist.OUTPATIENT_COST[tier]
            total = dist.lognormal_fen(rng, median, sigma)
            share = dist.OUTPATIENT_FUND_SHARE[tier]
            end, leaving_type = start, None
        fund = int(total * min(0.95, max(0.0, share + rng.uniform(-0.05, 0.05))))
        departments = place.departments.get(institution_id)
        department_id = None
        if departments:
            department_id = departments.get(
                dist.DEPARTMENT_OF_CHAPTER.get(principal[0], "全科")
            ) or departments.get("全科")
        encounter_id = self.ids("encounter")
        encounters.append(
            (
                encounter_id,
                resident_id,
                institution_id,
                department_id,
                "inpatient" if inpatient else "outpatient",
                start.isoformat(),
                end.isoformat() if end else None,
                total,
                fund,
                tier == "outside",
                leaving_type,
            )
        )
        diagnoses.append((encounter_id, 0, principal))
        if inpatient:
            for seq, code in enumerate((c for c in chronic if c != principal), start=1):
                diagnoses.append((encounter_id, seq, code))

    # -- the region ------------------------------------------------------------------------------
    def build(self, counties: int, residents_per_county: int, demo_password: str | None) -> SynthReport:
        with self.engine.connect() as connection:
            if connection.scalar(select(func.count()).select_from(Institution)):
                raise DatabaseNotEmpty()
        if not 1 <= counties <= len(geography.COUNTIES):
            raise AppError(
                f"县的数量应在1到{len(geography.COUNTIES)}之间",
                f"counties must be between 1 and {len(geography.COUNTIES)}",
                422,
            )
        started = time.perf_counter()
        loader = BulkLoader(self.engine)
        chosen = geography.COUNTIES[:counties]
        loader.insert(
            "admin_division",
            ["code", "name", "level", "parent_code"],
            [(*geography.PROVINCE, "province", None)],
        )
        loader.insert(
            "admin_division",
            ["code", "name", "level", "parent_code"],
            [(code, name, "city", geography.PROVINCE[0]) for code, name in geography.CITIES],
        )
        loader.insert(
            "admin_division",
            ["code", "name", "level", "parent_code"],
            [(code, name, "county", geography.city_of(code)) for code, name in geography.COUNTIES],
        )
        provincial_depts = HOSPITAL_DEPARTMENTS
        for n, (name, type_) in enumerate(geography.PROVINCIAL_HOSPITALS, start=1):
            hospital_id, _ = self.institution(
                loader,
                code=f"{geography.PROVINCIAL_SEAT}P{n:02d}",
                name=name,
                level="三级",
                grade="甲等",
                type_=type_,
                region=geography.PROVINCIAL_SEAT,
                departments=provincial_depts,
            )
            self.provincial_hospitals.append(hospital_id)
        accounts = []
        columns = [TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn()]
        with Progress(*columns, console=self.console, transient=False) as progress:
            for index in range(counties):
                accounts.append(self.build_county(loader, progress, index, residents_per_county))
                loader.commit()
        # A specialist alliance and a telemedicine network across counties: institutions in several consortia.
        county_hospitals = [(a.people, "成员") for a in accounts]
        self.consortium(
            loader,
            code="640000ZKLM01",
            name="宁夏胸痛专科联盟",
            kind="专科联盟",
            region=geography.PROVINCE[0],
            lead=self.provincial_hospitals[0],
            members=county_hospitals,
        )
        self.consortium(
            loader,
            code="640000YCXZ01",
            name="宁夏远程医疗协作网",
            kind="远程医疗协作网",
            region=geography.PROVINCE[0],
            lead=self.provincial_hospitals[1],
            members=county_hospitals,
        )
        loader.commit()
        loader.close()
        self.summarise_visits(progress_console=self.console)
        self.assess_chronic_patients(progress_console=self.console)
        loader.reset_sequences(
            [
                "institution",
                "department",
                "consortium",
                "consortium_member",
                "grid",
                "staff",
                "posting",
                "household",
                "resident",
                "encounter",
            ]
        )
        self.report.counties = counties
        self.report.logins = self.demo_accounts(chosen, accounts, demo_password)
        self.report.seconds = time.perf_counter() - started
        return self.report

    def summarise_visits(self, progress_console: Console) -> None:
        """Dashboards read the monthly summary: build it once, set-based, after the load."""
        from sqlalchemy.orm import Session

        from yilian.encounters.repository import refresh_visit_summary

        with (
            progress_console.status("汇总月度就诊 / summarising visits by month"),
            Session(self.engine) as session,
        ):
            refresh_visit_summary(session, start=self.period_start, end=self.today)
            session.commit()

    def assess_chronic_patients(self, progress_console: Console) -> None:
        """Registers from diagnoses, control from the latest visits, colours: all set-based."""
        from sqlalchemy.orm import Session

        from yilian.chronic.assessment import active_rule_set, assess_all
        from yilian.chronic.repository import refresh_control, refresh_registers_from_diagnoses
        from yilian.chronic.rules import ASSESSED_DISEASES

        with (
            progress_console.status("慢病登记与风险分层 / registers and risk colours"),
            Session(self.engine) as session,
        ):
            refresh_registers_from_diagnoses(session)
            refresh_control(session, today=self.today)
            for disease in ASSESSED_DISEASES:
                rule_set_id, table = active_rule_set(session, disease)
                assess_all(session, table=table, rule_set_id=rule_set_id, today=self.today)
            session.commit()

    def demo_accounts(
        self, chosen: list[tuple[str, str]], accounts: list[CountyAccounts], demo_password: str | None
    ) -> list[tuple[str, str, str]]:
        """One account per role and county; the password is random unless given (printed once)."""
        from sqlalchemy.orm import Session

        from yilian.models import Resident

        password = demo_password or ("Yl-" + secrets.token_urlsafe(9))
        logins: list[tuple[str, str, str]] = []
        with Session(self.engine) as session, session.begin():
            region = chosen[0][0] if len(chosen) == 1 else geography.PROVINCE[0]
            do_create_user(
                session,
                username="admin",
                password=password,
                role=roles.COMMISSION,
                now=self.now,
                display_name="卫健局管理员",
                region_code=region,
            )
            logins.append(("admin", roles.COMMISSION, password))
            for n, ((code, name), ids) in enumerate(zip(chosen, accounts, strict=True), start=1):
                grid_ids = ids.grid_ids
                resident_id = session.scalar(
                    select(Resident.id).where(Resident.grid_id.in_(grid_ids)).order_by(Resident.id)
                )
                specs = [
                    (f"wjj{n}", roles.COMMISSION, {"region_code": code}),
                    (f"ygt{n}", roles.CONSORTIUM_ADMIN, {"consortium_id": ids.consortium_id}),
                    (f"yy{n}", roles.INSTITUTION_ADMIN, {"institution_id": ids.people}),
                    (f"ys{n}", roles.DOCTOR, {"institution_id": ids.people}),
                    (
                        f"jtys{n}",
                        roles.FAMILY_DOCTOR,
                        {
                            "institution_id": ids.township,
                            "grid_ids": grid_ids,
                            "staff_id": ids.family_doctor_staff_id,
                        },
                    ),
                    (f"yb{n}", roles.INSURANCE, {"region_code": code}),
                ]
                if resident_id is not None:
                    specs.append((f"jm{n}", roles.RESIDENT, {"resident_id": resident_id}))
                for username, role, scope in specs:
                    do_create_user(
                        session,
                        username=username,
                        password=password,
                        role=role,
                        now=self.now,
                        display_name=f"{name}{role}",
                        **scope,
                    )  # type: ignore[arg-type]
                    logins.append((username, f"{role}（{name}）", password))
        return logins


def build_synthetic_region(
    url: str,
    *,
    residents_per_county: int,
    counties: int = 1,
    seed: int = 2026,
    years: int = 2,
    demo_password: str | None = None,
    console: Console | None = None,
    today: date | None = None,
) -> SynthReport:
    builder = Builder(url, seed=seed, years=years, today=today or date.today(), console=console or Console())
    return builder.build(counties, residents_per_county, demo_password)
