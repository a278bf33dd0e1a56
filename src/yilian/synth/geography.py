"""Real GB/T 2260 codes of Ningxia (宁夏回族自治区), where the synthetic counties are placed."""

from __future__ import annotations

PROVINCE = ("640000", "宁夏回族自治区")
CITIES = [
    ("640100", "银川市"),
    ("640200", "石嘴山市"),
    ("640300", "吴忠市"),
    ("640400", "固原市"),
    ("640500", "中卫市"),
]
# Counties in the order synth uses them: 灵武市 first (seed 004 is its notice).
COUNTIES = [
    ("640181", "灵武市"),
    ("640121", "永宁县"),
    ("640122", "贺兰县"),
    ("640323", "盐池县"),
    ("640324", "同心县"),
    ("640381", "青铜峡市"),
    ("640302", "利通区"),
    ("640303", "红寺堡区"),
    ("640422", "西吉县"),
    ("640423", "隆德县"),
    ("640424", "泾源县"),
    ("640425", "彭阳县"),
    ("640402", "原州区"),
    ("640502", "沙坡头区"),
    ("640521", "中宁县"),
    ("640522", "海原县"),
    ("640202", "大武口区"),
    ("640205", "惠农区"),
    ("640221", "平罗县"),
    ("640104", "兴庆区"),
    ("640105", "西夏区"),
    ("640106", "金凤区"),
]
# Where residents outside Ningxia were born (a few neighbouring provinces' capitals).
OTHER_BIRTH_REGIONS = ["620102", "610113", "150302", "410105", "130102", "370102"]
# Tertiary hospitals in the provincial capital: the "outside the county" care.
PROVINCIAL_HOSPITALS = [
    ("宁夏医科大学总医院", "综合医院"),
    ("宁夏回族自治区人民医院", "综合医院"),
    ("宁夏回族自治区中医医院", "中医医院"),
]
PROVINCIAL_SEAT = "640104"


def city_of(county_code: str) -> str:
    return county_code[:4] + "00"
