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
from datetime import date, datetime, timedelta
from fractions import Fraction

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from sqlalchemy import func, select

from yilian.auth import rules as roles
from yilian.auth.service import do_create_user
from yilian.config import Settings
from yilian.kit.bulk import BulkLoader
from yilian.kit.db import make_engine
from yilian.kit.errors import AppError
from yilian.kit.id_numbers import make_id_number
from yilian.models import Institution
from yilian.synth import geography
from yilian.synth import rules as dist
from yilian.synth.county import HOSPITAL_DEPARTMENTS, CountyMixin
from yilian.synth.diagnostics import build_diagnostics_demo
from yilian.synth.evaluation import build_evaluation_demo
from yilian.synth.model import (
    CountyAccounts,
    DatabaseNotEmpty,
    Ids,
    NameMaker,
    SynthReport,
)


class Builder(CountyMixin):
    def __init__(
        self, url: str, *, seed: int, years: int, today: date, console: Console, settings: Settings
    ) -> None:
        self.engine = make_engine(url)
        self.settings = settings
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
        build_evaluation_demo(
            self.engine, now=self.now, seed=self.seed, console=self.console, settings=self.settings
        )
        build_diagnostics_demo(
            self.engine, now=self.now, seed=self.seed, console=self.console, settings=self.settings
        )
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

        from yilian.config import drg_scheme_dir
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
            grouper = configured_grouper(self.settings)
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
                directory = drg_scheme_dir(self.settings)
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
                settings=self.settings,
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
                        settings=self.settings,
                        **scope,
                    )  # type: ignore[arg-type]
                    logins.append((username, f"{role}（{name}）", password))
        return logins


def build_synthetic_region(
    url: str,
    *,
    today: date,
    residents_per_county: int,
    counties: int = 1,
    seed: int = 2026,
    years: int = 2,
    demo_password: str | None = None,
    console: Console | None = None,
    settings: Settings,
) -> SynthReport:
    """The county as it stands on `today`: the caller's clock (the CLI's and the benches' real day,
    a test's fixed day) — the builder never reads the wall clock itself. `settings` are the caller's
    too (the CLI's, a bench's, a test's), never read here: they name the DRG scheme, the shared seeds,
    the audit key and the demo accounts' password hashing cost."""
    builder = Builder(
        url,
        seed=seed,
        years=years,
        today=today,
        console=console or Console(),
        settings=settings,
    )
    return builder.build(counties, residents_per_county, demo_password)
