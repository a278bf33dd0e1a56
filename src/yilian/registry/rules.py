"""Vocabularies of the registry and the posting rules (县管乡用, dispatch of six months or more)."""

from __future__ import annotations

from datetime import date

from yilian.kit.errors import ValidationFailed

INSTITUTION_LEVELS = ("三级", "二级", "一级", "未定级")
# County-level (二级 and above): they keep a reserved share for the grassroots and receive upward referrals.
COUNTY_LEVELS = frozenset({"三级", "二级"})
INSTITUTION_GRADES = ("甲等", "乙等", "丙等")
INSTITUTION_TYPES = (
    "综合医院",
    "中医医院",
    "中西医结合医院",
    "专科医院",
    "妇幼保健院",
    "乡镇卫生院",
    "社区卫生服务中心",
    "社区卫生服务站",
    "村卫生室",
    "疾控中心",
    "卫生监督所",
    "急救中心",
)
GRASSROOTS_TYPES = frozenset({"乡镇卫生院", "社区卫生服务中心", "社区卫生服务站", "村卫生室"})
CONSORTIUM_KINDS = ("县域医共体", "城市医疗集团", "专科联盟", "远程医疗协作网")
MEMBER_ROLES = ("牵头", "次中心", "成员")
PRACTITIONER_TYPES = ("执业医师", "执业助理医师", "乡村医生", "护士", "药师", "技师")
TITLES = (
    "主任医师",
    "副主任医师",
    "主治医师",
    "医师",
    "医士",
    "主任护师",
    "副主任护师",
    "主管护师",
    "护师",
    "护士",
    "主任药师",
    "副主任药师",
    "主管药师",
    "药师",
    "主管技师",
    "技师",
    "技士",
)
POSTING_KINDS = ("县管乡用", "乡聘村用", "派驻", "对口支援")
LONG_DISPATCH_MONTHS = 6


def check_choice(field: str, value: str, allowed: tuple[str, ...], label_zh: str) -> str:
    if value not in allowed:
        raise ValidationFailed.one(
            field,
            f"{label_zh}“{value}”无效，可选：{'、'.join(allowed)}",
            f"'{value}' is not one of {', '.join(allowed)}",
        )
    return value


def check_region_code(field: str, code: str) -> str:
    if len(code) != 6 or not code.isdigit():
        raise ValidationFailed.one(field, "行政区划代码应为6位数字", "region code must be 6 digits")
    return code


def is_grassroots(institution_type: str) -> bool:
    return institution_type in GRASSROOTS_TYPES


def add_months(day: date, months: int) -> date:
    """Calendar months, clamped to the month's last day (Jan 31 + 1 month = Feb 28/29)."""
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    for candidate in (day.day, 30, 29, 28):
        try:
            return date(year, month, min(day.day, candidate))
        except ValueError:
            continue
    raise AssertionError("unreachable")


def is_long_dispatch(start_on: date, end_on: date | None, as_of: date) -> bool:
    """A posting counts as a long dispatch once it has lasted six calendar months."""
    until = min(end_on, as_of) if end_on else as_of
    return add_months(start_on, LONG_DISPATCH_MONTHS) <= until


def check_posting_dates(start_on: date, end_on: date | None) -> None:
    if end_on is not None and end_on < start_on:
        raise ValidationFailed.one("end_on", "结束日期不能早于开始日期", "end date is before start date")
