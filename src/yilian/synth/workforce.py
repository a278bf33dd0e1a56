"""Staff of each institution and their postings (县管乡用)."""

from __future__ import annotations

import random
from datetime import date, timedelta
from typing import Any

from yilian.kit.bulk import BulkLoader
from yilian.synth import rules as dist
from yilian.synth.model import BuilderState, CountyPlace


class WorkforceMixin(BuilderState):
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
