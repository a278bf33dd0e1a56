"""Build synthetic counties into an empty database, streaming rows in chunks with progress bars.

Deterministic: each county draws from its own random stream seeded from (seed, county index), so
adding counties never changes the first one. Rows are generated in Python and bulk-loaded (COPY on
PostgreSQL); nothing here loops over rows already in the database.
"""

from __future__ import annotations

import random
import secrets
import time
from bisect import bisect_left
from collections.abc import Sequence
from datetime import date, datetime, timedelta
from fractions import Fraction
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from sqlalchemy import func, select

from yilian.auth import rules as roles
from yilian.auth.service import do_create_user
from yilian.kit.bulk import BulkLoader
from yilian.kit.db import make_engine
from yilian.kit.errors import AppError
from yilian.models import Institution
from yilian.residents.rules import make_id_number
from yilian.synth import geography
from yilian.synth import rules as dist
from yilian.synth.diagnostics import build_diagnostics_demo
from yilian.synth.evaluation import build_evaluation_demo
from yilian.synth.family_doctor import build_family_doctor_care
from yilian.synth.model import (
    CountyAccounts,
    CountyPlace,
    DatabaseNotEmpty,
    GridPlan,
    Ids,
    NameMaker,
    SynthReport,
)
from yilian.synth.population import PopulationMixin
from yilian.synth.scheduling import build_schedules
from yilian.synth.workforce import WorkforceMixin

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


class Builder(WorkforceMixin, PopulationMixin):
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
        build_schedules(
            loader=loader,
            ids=self.ids,
            today=self.today,
            hospitals={i: place.departments[i] for i in (place.people, place.tcm, place.mch)},
        )
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
        self.insurance_data(progress_console=self.console)
        build_evaluation_demo(self.engine, now=self.now, seed=self.seed, console=self.console)
        build_diagnostics_demo(self.engine, now=self.now, seed=self.seed, console=self.console)
        loader.reset_sequences(
            [
                "institution",
                "department",
                "consortium",
                "consortium_member",
                "grid",
                "staff",
                "posting",
                "schedule",
                "slot",
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

    def insurance_data(self, progress_console: Console) -> None:
        """Operations of surgical admissions, one claim per paid encounter, and DRG groups (set-based)."""
        from sqlalchemy import case, insert, literal, select
        from sqlalchemy.orm import Session

        from yilian.config import drg_scheme_dir, get_settings
        from yilian.insurance import repository as insurance
        from yilian.insurance.service import compute_standards, configured_grouper, group_discharges
        from yilian.models import Encounter, EncounterDiagnosis, EncounterProcedure, Institution

        plan = dist.INPATIENT_PROCEDURES
        principal = EncounterDiagnosis.icd10_code
        procedure = case({dx: proc for dx, (proc, _) in plan.items()}, value=principal)
        percent = case({dx: int(share * 100) for dx, (_, share) in plan.items()}, value=principal)
        with (
            progress_console.status("手术操作、医保结算与DRG分组 / operations, claims and DRG groups"),
            Session(self.engine) as session,
        ):
            session.execute(
                insert(EncounterProcedure).from_select(
                    ["encounter_id", "seq", "icd9_code"],
                    select(EncounterDiagnosis.encounter_id, literal(0), procedure)
                    .join(Encounter, Encounter.id == EncounterDiagnosis.encounter_id)
                    .where(
                        EncounterDiagnosis.seq == 0,
                        principal.in_(list(plan)),
                        Encounter.kind == "inpatient",
                        # deterministic "share operated": the encounter id's last two digits
                        Encounter.id % 100 < percent,
                    ),
                )
            )
            insurance.claims_from_encounters(session, since=self.period_start)
            grouper = configured_grouper()
            if grouper is not None:
                in_county = list(
                    session.scalars(
                        select(Institution.id).where(Institution.region_code != geography.PROVINCE[0])
                    )
                )
                group_discharges(session, grouper=grouper, institution_ids=in_county, now=self.now)
                compute_standards(
                    session,
                    scheme=grouper.scheme.name,
                    year=self.today.year - 1,
                    institution_ids=in_county,
                    trim=Fraction(5, 100),
                )
            else:
                directory = drg_scheme_dir(get_settings())
                progress_console.print(
                    f"[yellow]未找到DRG分组方案 {directory}：跳过分组 / no DRG scheme, not grouped[/yellow]"
                )
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
