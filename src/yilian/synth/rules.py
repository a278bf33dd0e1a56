"""Distributions of the synthetic county as data, with small samplers over random.Random.

Sources of the shapes (rounded, documented in docs/synthetic-county.md): the 7th national census
(2020) age structure of rural north-west China, the 2023 China Health Statistics Yearbook (visits
per person, admission rate, cost per visit by level), and the targets the seeds set (grassroots
share of visits ≈ 55–60 %, out-of-county ≈ 10 %).
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta

from yilian.kit.dates import years_before

# (first age of band, weight %) — 5-year bands; a rural county, older than the national average.
AGE_BANDS = [
    (0, 5.0),
    (5, 6.0),
    (10, 6.2),
    (15, 5.4),
    (20, 4.8),
    (25, 5.6),
    (30, 7.2),
    (35, 6.8),
    (40, 6.4),
    (45, 7.6),
    (50, 8.6),
    (55, 7.8),
    (60, 6.0),
    (65, 5.6),
    (70, 4.2),
    (75, 2.8),
    (80, 1.8),
    (85, 1.2),
]
MAX_AGE = 100


def male_probability(age: int) -> float:
    """Sex ratio ≈ 105 at birth, falling below 100 after 60 (women live longer)."""
    if age < 60:
        return 0.512
    if age < 80:
        return 0.48
    return 0.42


# Annual outpatient visits per person by age (yearbook 2023: ≈ 6.8 visits/person/yr nationally,
# rural counties lower); scaled in build so the county mean equals VISITS_PER_RESIDENT_YEAR.
VISIT_RATE_BY_AGE = [(0, 5.0), (7, 2.2), (18, 2.6), (45, 4.6), (60, 8.0), (75, 10.0)]
# Before the chronic-patient uplift (×1.5), which brings the county mean to ≈ 5 visits a year.
VISITS_PER_RESIDENT_YEAR = 4.2
# Share of encounters that are admissions, by age (admission rate ≈ 18 % of people a year).
INPATIENT_SHARE_BY_AGE = [(0, 0.03), (18, 0.025), (45, 0.035), (60, 0.05), (75, 0.07)]

# Where care happens, by kind. Grassroots ≈ 57 % of outpatient visits, out-of-county ≈ 9 %.
OUTPATIENT_TIERS = {"village": 0.24, "township": 0.33, "county": 0.34, "outside": 0.09}
INPATIENT_TIERS = {"township": 0.28, "county": 0.55, "outside": 0.17}
COUNTY_HOSPITAL_SPLIT = {"people": 0.66, "tcm": 0.24, "mch": 0.10}

# Cost medians in yuan and log-normal sigma; fund share (城乡居民医保, inside/outside the county).
OUTPATIENT_COST = {"village": (38, 0.55), "township": (85, 0.6), "county": (230, 0.7), "outside": (480, 0.8)}
INPATIENT_COST = {"township": (2300, 0.5), "county": (7600, 0.6), "outside": (19000, 0.7)}
OUTPATIENT_FUND_SHARE = {"village": 0.60, "township": 0.55, "county": 0.45, "outside": 0.30}
INPATIENT_FUND_SHARE = {"township": 0.85, "county": 0.72, "outside": 0.55}
LENGTH_OF_STAY = {"township": (5, 0.4), "county": (8, 0.5), "outside": (10, 0.5)}

# Chronic prevalence among adults by age (China Hypertension Survey; China Diabetes Society).
HYPERTENSION_BY_AGE = [(18, 0.05), (35, 0.12), (45, 0.25), (60, 0.45), (75, 0.55)]
DIABETES_BY_AGE = [(18, 0.02), (35, 0.06), (45, 0.11), (60, 0.18), (75, 0.20)]

ICD_HYPERTENSION = "I10.x00"
ICD_DIABETES = "E11.900"
CHRONIC_CODES = frozenset({ICD_HYPERTENSION, ICD_DIABETES})
# Diagnoses a child does not get in this synthetic county (they would put children on adult registers).
ADULT_CODES = frozenset(
    {
        "E78.500",
        "I25.100",
        "I63.900",
        "I21.900",
        "I50.900",
        "J44.100",
        "M17.900",
        "M81.000",
        "C34.900",
        "C16.900",
        "C22.000",
        "C50.900",
        "K80.100",
        "N18.500",
        "Z50.100",
        "K80.100x001",
        "I25.102",
        "C34.900x001",
        "Z50.101",
    }
)
# Principal diagnoses of acute visits (ICD-10 national clinical version codes), with weights.
OUTPATIENT_DIAGNOSES = [
    ("J06.900", 22),
    ("K29.700", 8),
    ("J20.900", 7),
    ("M54.500", 6),
    ("K52.900", 5),
    ("L30.900", 4),
    ("Z00.000", 6),
    ("R51.x00", 3),
    ("M17.900", 4),
    ("H10.900", 2),
    ("N39.000", 3),
    ("E78.500", 3),
    ("I25.100", 1),
    ("J18.900", 2),
    ("K21.000", 2),
    ("M81.000", 1),
]
INPATIENT_DIAGNOSES = {
    "township": [
        ("J18.900", 25),
        ("J44.100", 15),
        ("J20.900", 12),
        ("K29.700", 8),
        ("I63.900", 10),
        ("N39.000", 6),
        ("I10.x00", 8),
        ("E11.900", 6),
        ("K52.901", 6),
        ("Z50.101", 4),
    ],
    "county": [
        ("I63.900", 14),
        ("I25.102", 10),
        ("J18.900", 12),
        ("O80.000", 8),
        ("K80.100x001", 6),
        ("K35.800x001", 5),
        ("S72.000", 4),
        ("I50.900", 6),
        ("J44.100", 8),
        ("E11.900", 5),
        ("N18.500", 3),
        ("C34.900x001", 2),
        ("I10.x00", 5),
        ("K56.700", 2),
    ],
    "outside": [
        ("C34.900x001", 14),
        ("I21.900", 10),
        ("C16.900", 8),
        ("N18.500", 8),
        ("I63.900", 10),
        ("C22.000", 6),
        ("I25.102", 10),
        ("S06.300x001", 5),
        ("C50.900", 6),
        ("Q21.100", 2),
        ("O80.000", 4),
    ],
}
# Operations of surgical admissions (ICD-9-CM-3, 医保版): principal → (main procedure, share operated).
INPATIENT_PROCEDURES = {
    "K80.100x001": ("51.2300", 0.85),  # 腹腔镜下胆囊切除术
    "K35.800x001": ("47.0100", 0.90),  # 腹腔镜下阑尾切除术
    "S72.000": ("79.3501", 0.75),  # 股骨颈骨折切开复位内固定
    "I25.102": ("36.0700", 0.30),  # 药物洗脱冠状动脉支架置入
    "I21.900": ("36.0700", 0.60),
    "C34.900x001": ("32.4100", 0.40),  # 胸腔镜下肺叶切除术
    "C16.900": ("43.7x00", 0.40),  # 胃部分切除术伴胃空肠吻合术
    "C22.000": ("50.2200", 0.30),  # 部分肝切除术
    "N18.500": ("38.9501", 0.20),  # 为肾透析半永久静脉插管术
}
# Leaving type of the national settlement list: 1 医嘱离院 2 转院 3 转社区/卫生院 4 非医嘱 5 死亡 9 其他.
LEAVING_TYPES = [("1", 90.0), ("2", 3.0), ("3", 2.5), ("4", 3.0), ("5", 0.7), ("9", 0.8)]

# Department (by name) a diagnosis is seen in, when the institution has that department.
DEPARTMENT_OF_CHAPTER = {
    "I": "心血管内科",
    "E": "内分泌科",
    "J": "呼吸内科",
    "K": "消化内科",
    "M": "骨科",
    "S": "骨科",
    "O": "妇产科",
    "N": "肾内科",
    "C": "肿瘤科",
    "L": "皮肤科",
    "H": "眼科",
    "Z": "全科",
    "R": "全科",
    "Q": "儿科",
}

TOWN_SYLLABLES = "东西南北大小新老高白马杨李王张刘陈崖临梧郝宁惠崇泉沙石清水金银红黄青柳河湖山川"
VILLAGE_SYLLABLES = "家庄湾沟坪台堡营寨屯园坡渠滩井源峰岭桥"


def piecewise(table: list[tuple[int, float]], age: int) -> float:
    value = table[0][1]
    for start, v in table:
        if age >= start:
            value = v
    return value


@dataclass(frozen=True)
class WeightedChoice:
    """Pre-computed cumulative weights: `pick` is one random() and a bisect."""

    values: tuple[str, ...]
    cumulative: tuple[float, ...]

    @classmethod
    def of(cls, pairs: Sequence[tuple[str, float]] | dict[str, float]) -> WeightedChoice:
        items = list(pairs.items()) if isinstance(pairs, dict) else pairs
        total, cumulative = 0.0, []
        for _, w in items:
            total += w
            cumulative.append(total)
        return cls(tuple(v for v, _ in items), tuple(c / total for c in cumulative))

    def pick(self, rng: random.Random) -> str:
        from bisect import bisect_left

        return self.values[min(bisect_left(self.cumulative, rng.random()), len(self.values) - 1)]


def sample_age(rng: random.Random) -> int:
    bands = [start for start, _ in AGE_BANDS]
    (start,) = rng.choices(bands, weights=[w for _, w in AGE_BANDS])
    width = 5 if start < 85 else MAX_AGE - 85
    return start + rng.randrange(width)


def birth_date_for(age: int, today: date, rng: random.Random) -> date:
    """A birth date of someone `age` years old today (within the year after their birthday)."""
    return years_before(today, age) - timedelta(days=rng.randrange(365))


def lognormal_fen(rng: random.Random, median_yuan: float, sigma: float) -> int:
    return max(100, int(rng.lognormvariate(math.log(median_yuan), sigma) * 100))


def poisson(rng: random.Random, mean: float) -> int:
    """Knuth for small means, normal approximation above 30 (fast enough for millions of draws)."""
    if mean <= 0:
        return 0
    if mean > 30:
        return max(0, int(rng.gauss(mean, math.sqrt(mean)) + 0.5))
    limit, k, p = math.exp(-mean), 0, 1.0
    while True:
        p *= rng.random()
        if p <= limit:
            return k
        k += 1


def month_weights(start: date, days: int) -> list[float]:
    """Daily weights: winter respiratory season +25 %, Spring Festival week −40 %, weekends −30 %."""
    weights = []
    for offset in range(days):
        day = start + timedelta(days=offset)
        w = 1.25 if day.month in (12, 1, 2) else 1.0
        if day.weekday() >= 5:
            w *= 0.7
        if day.month == 2 and day.day <= 7:
            w *= 0.6
        weights.append(w)
    return weights


def mobile_number(rng: random.Random) -> str:
    prefix = rng.choice(
        (
            "139",
            "138",
            "137",
            "136",
            "135",
            "150",
            "151",
            "152",
            "158",
            "187",
            "188",
            "130",
            "131",
            "132",
            "155",
            "156",
            "185",
            "186",
            "133",
            "153",
            "180",
            "181",
            "189",
            "177",
            "199",
        )
    )
    return prefix + f"{rng.randrange(10**8):08d}"
