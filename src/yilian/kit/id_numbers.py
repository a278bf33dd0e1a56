"""Citizen ID numbers per GB 11643-1999: region code, birth date, sequence, ISO 7064 check digit.

Pure functions: no database, no web. Errors carry the field name and a message in both languages.
In kit because every layer checks them: the master patient index, the registry's staff, FHIR
Patients, spreadsheets (decision 0030); `kit.masking` masks the same numbers.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from yilian.kit.errors import FieldError, ValidationFailed

WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
CHECK_CHARS = "10X98765432"

# GB/T 2260 provincial-level codes (incl. Taiwan 71, Hong Kong 81, Macao 82).
PROVINCE_CODES = {
    "11": "北京市",
    "12": "天津市",
    "13": "河北省",
    "14": "山西省",
    "15": "内蒙古自治区",
    "21": "辽宁省",
    "22": "吉林省",
    "23": "黑龙江省",
    "31": "上海市",
    "32": "江苏省",
    "33": "浙江省",
    "34": "安徽省",
    "35": "福建省",
    "36": "江西省",
    "37": "山东省",
    "41": "河南省",
    "42": "湖北省",
    "43": "湖南省",
    "44": "广东省",
    "45": "广西壮族自治区",
    "46": "海南省",
    "50": "重庆市",
    "51": "四川省",
    "52": "贵州省",
    "53": "云南省",
    "54": "西藏自治区",
    "61": "陕西省",
    "62": "甘肃省",
    "63": "青海省",
    "64": "宁夏回族自治区",
    "65": "新疆维吾尔自治区",
    "71": "台湾省",
    "81": "香港特别行政区",
    "82": "澳门特别行政区",
}

FIELD = "id_number"


class InvalidIdNumber(ValidationFailed):
    """A 422 that names the `id_number` field, with the reason in both languages."""

    def __init__(self, message_zh: str, message_en: str, field: str = FIELD) -> None:
        error = FieldError(field, message_zh, message_en)
        super().__init__([error], f"身份证号无效：{message_zh}", f"Invalid ID number: {message_en}")


@dataclass(frozen=True)
class IdNumberFacts:
    id_number: str
    region_code: str
    birth_date: date
    sex: str  # "M" | "F"


def check_digit(first17: str) -> str:
    total = sum(int(d) * w for d, w in zip(first17, WEIGHTS, strict=True))
    return CHECK_CHARS[total % 11]


def parse_id_number(raw: str, *, today: date, known_regions: frozenset[str] | None = None) -> IdNumberFacts:
    """Validate an 18-digit resident ID number and derive birth date and sex from it.

    `known_regions`, when given, is the set of 6-digit codes the deployment knows; otherwise the
    region is checked at provincial level (the national table changes yearly and old codes stay
    valid on issued cards).
    """
    value = (raw or "").strip().upper()
    if len(value) != 18:
        raise InvalidIdNumber(
            f"身份证号应为18位，实际为{len(value)}位", f"must have 18 characters, got {len(value)}"
        )
    if not value[:17].isdigit() or not (value[17].isdigit() or value[17] == "X"):
        raise InvalidIdNumber(
            "身份证号前17位须为数字，末位为数字或X", "first 17 must be digits, last a digit or X"
        )
    region = value[:6]
    if region[:2] not in PROVINCE_CODES or region[2:] == "0000":
        raise InvalidIdNumber(f"行政区划代码{region}不存在", f"unknown region code {region}")
    if known_regions is not None and region not in known_regions:
        raise InvalidIdNumber(
            f"行政区划代码{region}不在本系统区划表中", f"region code {region} is not in the registry"
        )
    try:
        born = date(int(value[6:10]), int(value[10:12]), int(value[12:14]))
    except ValueError:
        raise InvalidIdNumber(
            f"出生日期{value[6:14]}不是有效日期", f"birth date {value[6:14]} is not a valid date"
        ) from None
    if born > today or born.year < 1890:
        raise InvalidIdNumber(f"出生日期{value[6:14]}不合理", f"birth date {value[6:14]} is out of range")
    expected = check_digit(value[:17])
    if value[17] != expected:
        raise InvalidIdNumber(f"校验码错误，应为{expected}", f"check digit is wrong, expected {expected}")
    sex = "M" if int(value[16]) % 2 == 1 else "F"
    return IdNumberFacts(id_number=value, region_code=region, birth_date=born, sex=sex)


def make_id_number(region_code: str, born: date, sequence: int, sex: str) -> str:
    """Compose a valid ID number (used by the synthetic county and by tests)."""
    seq = sequence % 500 * 2 + (1 if sex == "M" else 0)  # odd for men, even for women
    first17 = f"{region_code}{born:%Y%m%d}{seq:03d}"
    return first17 + check_digit(first17)
