"""One county as the builder lays it out: the county-level hospitals and the CDC, twelve townships
with their village clinics, four community centres, the grids they serve, the medical community
(医共体) over them all, then its staff, residents, family-doctor care and schedules."""

from __future__ import annotations

import random
from collections.abc import Sequence
from datetime import date
from typing import Any

from rich.progress import Progress

from yilian.kit.bulk import BulkLoader
from yilian.synth import geography
from yilian.synth import rules as dist
from yilian.synth.family_doctor import build_family_doctor_care
from yilian.synth.model import CountyAccounts, CountyPlace, GridPlan
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


class CountyMixin(WorkforceMixin, PopulationMixin):
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
