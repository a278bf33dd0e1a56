"""Residents, households and two years of encounters, generated in chunks and bulk-loaded."""

from __future__ import annotations

import random
from datetime import date, timedelta
from typing import Any

from rich.progress import Progress

from yilian.kit.bulk import BulkLoader, sqlite_datetime
from yilian.synth import geography
from yilian.synth import rules as dist
from yilian.synth.family_doctor import Person
from yilian.synth.model import BuilderState, CountyPlace, GridPlan

RURAL_SHARE = 0.75
CHUNK_RESIDENTS = 5_000


class PopulationMixin(BuilderState):
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
            elif principal in dist.CHRONIC_CODES and principal not in chronic:
                # A hypertension or diabetes admission is for someone who has the disease.
                principal = "J18.900"
            elif principal in dist.ADULT_CODES and age < 18:
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
                if principal in dist.ADULT_CODES and age < 18:
                    principal = "J06.900"
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
