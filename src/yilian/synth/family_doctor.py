"""Family-doctor teams, packages, contracts and chronic follow-ups of a synthetic county.

Shapes: signing ≈ 75 % of people 65+ and of chronic patients, ≈ 25 % of others (the 2023 national
figure is ≈ 45 % overall and ≈ 75 % for key populations); 1–4 follow-ups in the last year per
chronic patient, about 55 % of them at target (China Hypertension Survey control among treated).
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from yilian.kit.bulk import BulkLoader, sqlite_datetime
from yilian.registry.rules import add_months
from yilian.synth import rules as dist

PACKAGES = [
    ("JC", "基础公共卫生服务包", "基础包", "健康档案、健康教育、预防接种、年度随访", 0, 0, 0),
    ("GXY", "高血压管理服务包", "高血压", "每季度随访血压、用药指导、年度并发症筛查", 12000, 400, 300),
    (
        "TNB",
        "糖尿病管理服务包",
        "糖尿病",
        "每季度血糖监测、用药指导、年度眼底与尿微量白蛋白检查",
        15000,
        400,
        300,
    ),
    ("LNR", "老年人健康服务包", "老年人", "年度体检、中医体质辨识、慢病风险评估", 8000, 300, 500),
]
DRUGS = [
    ("Y001", "苯磺酸氨氯地平片", "5mg×28片", "盒", 420, True),
    ("Y002", "硝苯地平控释片", "30mg×14片", "盒", 1150, True),
    ("Y003", "厄贝沙坦片", "150mg×28片", "盒", 980, True),
    ("Y004", "盐酸二甲双胍片", "0.5g×60片", "盒", 560, True),
    ("Y005", "格列美脲片", "2mg×30片", "盒", 650, True),
    ("Y006", "阿托伐他汀钙片", "20mg×28片", "盒", 760, True),
    ("Y007", "阿司匹林肠溶片", "100mg×30片", "盒", 320, False),
]


@dataclass
class Person:
    resident_id: int
    grid_id: int
    age: int
    chronic: tuple[str, ...]


def build_family_doctor_care(
    *,
    loader: BulkLoader,
    rng: random.Random,
    ids: Callable[[str], int],
    today: date,
    now: datetime,
    consortium_id: int,
    county_code: str,
    teams_by_grid_institution: dict[int, list[int]],
    grids: list[tuple[int, int, int | None]],
    staff: list[tuple[Any, ...]],
    people: list[Person],
    specialists: list[int],
) -> dict[int, int]:
    """Teams per township/community centre; returns grid_id → team_id and team → GP staff id via ids."""
    package_ids = {}
    rows = []
    for code, name, category, contents, price, insurance, public in PACKAGES:
        package_ids[category] = ids("service_package")
        rows.append(
            (
                package_ids[category],
                consortium_id,
                f"{county_code}{code}",
                name,
                category,
                contents,
                price,
                insurance,
                public,
                date(today.year - 2, 1, 1).isoformat(),
                None,
            )
        )
    loader.insert(
        "service_package",
        [
            "id",
            "consortium_id",
            "code",
            "name",
            "category",
            "contents",
            "price_fen",
            "insurance_permille",
            "public_permille",
            "valid_from",
            "valid_to",
        ],
        rows,
    )
    loader.insert(
        "drug",
        ["id", "consortium_id", "code", "name", "specification", "unit", "price_fen", "is_vbp"],
        [(ids("drug"), consortium_id, *d) for d in DRUGS],
    )
    loader.insert(
        "fee_rule",
        ["id", "consortium_id", "team_permille", "member_split_json", "updated_at"],
        [
            (
                ids("fee_rule"),
                consortium_id,
                750,
                '{"role_weights": {"全科医生": 4, "村医": 3, "专科医生": 2, "健康管理师": 1}, '
                '"base": "0.4", "work": "0.4", "quality": "0.2"}',
                sqlite_datetime(now),
            )
        ],
    )
    home = {row[0]: row[10] for row in staff}
    by_institution: dict[int, list[tuple[Any, ...]]] = {}
    for row in staff:
        by_institution.setdefault(int(row[10]), []).append(row)
    grid_team: dict[int, int] = {}
    team_rows, member_rows, team_grid_rows = [], [], []
    team_staff: dict[int, dict[str, int]] = {}
    for institution_id, grid_list in teams_by_grid_institution.items():
        team_id = ids("family_doctor_team")
        workers = by_institution.get(institution_id, [])
        doctors = [s for s in workers if s[6] in ("执业医师", "执业助理医师")]
        gp = doctors[0]
        nurse = next((s for s in workers if s[6] == "护士"), None)
        clinic_ids = [c for _, i, c in grids if i == institution_id and c is not None]
        # A community centre has no village clinic: its second doctor takes the village doctor's place.
        village = next(
            (by_institution[c][0] for c in clinic_ids if by_institution.get(c)),
            doctors[1] if len(doctors) > 1 else None,
        )
        specialist = rng.choice(specialists)
        team_rows.append(
            (
                team_id,
                f"{county_code}TD{team_id:03d}",
                f"{gp[2]}家庭医生团队",
                consortium_id,
                institution_id,
                True,
            )
        )
        members = {"全科医生": int(gp[0]), "专科医生": specialist}
        if village is not None:
            members["村医"] = int(village[0])
        if nurse is not None:
            members["健康管理师"] = int(nurse[0])
        team_staff[team_id] = members
        member_rows += [(ids("team_member"), team_id, staff_id, role) for role, staff_id in members.items()]
        for grid_id in grid_list:
            grid_team[grid_id] = team_id
            team_grid_rows.append((team_id, grid_id))
    loader.insert(
        "family_doctor_team",
        ["id", "code", "name", "consortium_id", "institution_id", "is_active"],
        team_rows,
    )
    loader.insert("team_member", ["id", "team_id", "staff_id", "role"], member_rows)
    loader.insert("team_grid", ["team_id", "grid_id"], team_grid_rows)

    contracts, visits = [], []
    signed_at = sqlite_datetime(now)
    for person in people:
        team_id = grid_team[person.grid_id]
        members = team_staff[team_id]
        key = person.age >= 65 or bool(person.chronic)
        if rng.random() < (0.75 if key else 0.25):
            start = today - timedelta(days=rng.randrange(365))
            end = add_months(start, 12) - timedelta(days=1)
            category = (
                "高血压"
                if dist.ICD_HYPERTENSION in person.chronic
                else "糖尿病"
                if dist.ICD_DIABETES in person.chronic
                else "老年人"
                if person.age >= 65
                else "基础包"
            )
            price = next(p[4] for p in PACKAGES if p[2] == category)
            contracts.append(
                (
                    ids("contract"),
                    person.resident_id,
                    team_id,
                    package_ids[category],
                    consortium_id,
                    start.isoformat(),
                    end.isoformat(),
                    price,
                    "active",
                    members["全科医生"],
                    signed_at,
                )
            )
        # Follow-ups roughly quarterly, the latest within the last four months for most patients.
        latest = today - timedelta(days=rng.randrange(120) if rng.random() < 0.8 else rng.randrange(120, 365))
        for number in range(rng.randint(1, 4) if person.chronic else 0):
            on = latest - timedelta(days=number * rng.randint(75, 100))
            sbp = dbp = glucose = None
            if dist.ICD_HYPERTENSION in person.chronic:
                sbp = max(95, min(230, int(rng.gauss(135, 15))))
                dbp = max(55, min(130, min(sbp - 25, int(rng.gauss(82, 9)))))
            if dist.ICD_DIABETES in person.chronic:
                glucose = round(min(25.0, max(3.0, rng.lognormvariate(math.log(7.1), 0.22))), 1)
            staff_id = members.get("村医", members["全科医生"]) if rng.random() < 0.6 else members["全科医生"]
            weight = round(rng.gauss(68, 11), 1) if rng.random() < 0.3 else None
            visits.append(
                (
                    ids("chronic_visit"),
                    person.resident_id,
                    "follow_up",
                    None,
                    on.isoformat(),
                    staff_id,
                    sbp,
                    dbp,
                    glucose,
                    weight,
                    round(rng.gauss(163, 8), 1) if weight else None,
                    rng.random() < 0.22,
                    rng.choice(("规律", "规律", "规律", "间断", "不服药")),
                    signed_at,
                )
            )
    loader.insert(
        "contract",
        [
            "id",
            "resident_id",
            "team_id",
            "package_id",
            "consortium_id",
            "start_on",
            "end_on",
            "fee_fen",
            "status",
            "signed_by_staff_id",
            "signed_at",
        ],
        contracts,
    )
    loader.insert(
        "chronic_visit",
        [
            "id",
            "resident_id",
            "kind",
            "disease",
            "visited_on",
            "staff_id",
            "sbp",
            "dbp",
            "fasting_glucose",
            "weight_kg",
            "height_cm",
            "smoker",
            "adherence",
            "recorded_at",
            "institution_id",
        ],
        [(*v, home[v[5]]) for v in visits],
    )
    return {team: members["全科医生"] for team, members in team_staff.items()}
